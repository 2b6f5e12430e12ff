//! The Pearson correlation kernel (`drask::array::correlate_ranges`) beside a straightforward
//! ndarray version (center, multiply, sum) and a plain parallel sum over the same bytes, the
//! machine's read bandwidth. Throughput is the bytes of the rows the ranges cover, so criterion
//! prints GB/s for all three; kernel time / sum time is the fraction of bandwidth reached.
//!
//! The case: 2,000 dates x 50,000 series of f32 random-walk prices, target 17, three
//! overlapping ranges whose union is rows 100..1800 (1,700 rows); then f64 at 2,000 x 20,000.
//!
//! `cargo bench --bench correlation`; the benchmark names carry the SIMD level
//! ([`simd_level`]). To compare levels, run it once per level with `DRASK_SIMD=avx512`,
//! `DRASK_SIMD=avx2` or `DRASK_SIMD=portable`; for all levels interleaved in one process, see the
//! ignored test `corr::tests::timing_of_every_level_side_by_side` (command in its doc).

use std::hint::black_box;
use std::ops::Range;
use std::time::Instant;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use drask::array::ndarray::{Array1, Array2, ArrayView2, Axis, NdFloat, s};
use drask::array::{CorrElem, correlate_ranges, simd_level};
use rayon::prelude::*;

const TARGET: usize = 17;
const RANGES: [Range<usize>; 3] = [100..900, 500..1300, 1200..1800];
const UNION: Range<usize> = 100..1800;

/// Seeded random-walk prices near 100 (xorshift; a common factor plus noise per series).
fn prices<A: From<f32> + Copy + Send + Sync>(nrows: usize, ncols: usize) -> Array2<A> {
    let mut state = 0x2545_F491_4F6C_DD1D_u64;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u32 << 24) as f32 - 0.5
    };
    let beta: Vec<f32> = (0..ncols).map(|_| 2.0 * uniform()).collect();
    let mut last: Vec<f32> = (0..ncols).map(|_| 100.0 + 20.0 * uniform()).collect();
    let mut data = Vec::with_capacity(nrows * ncols);
    for _ in 0..nrows {
        let factor = uniform();
        for (p, b) in last.iter_mut().zip(&beta) {
            *p += 0.5 * (b * factor + uniform());
            data.push(A::from(*p));
        }
    }
    Array2::from_shape_vec((nrows, ncols), data).unwrap()
}

/// What a user would write with ndarray alone: per range, center every column on its mean,
/// multiply by the centered target, sum, divide by the norms.
fn naive<A>(data: ArrayView2<'_, A>, target: usize, ranges: &[Range<usize>]) -> Vec<Array1<A>>
where
    A: NdFloat + From<f32>,
{
    ranges
        .iter()
        .map(|r| {
            let x = data.slice(s![r.clone(), ..]);
            let mean = x.sum_axis(Axis(0)) / <A as From<f32>>::from(r.len() as f32);
            let xc = &x - &mean;
            let yc = xc.column(target).to_owned().insert_axis(Axis(1));
            let sxy = (&xc * &yc).sum_axis(Axis(0));
            let sxx = (&xc * &xc).sum_axis(Axis(0));
            let syy = yc.iter().map(|&v| v * v).fold(A::zero(), |a, b| a + b);
            sxy / (sxx.mapv(A::sqrt) * syy.sqrt())
        })
        .collect()
}

/// A parallel sum in the input's own type with 16 independent lanes, so it vectorizes and is
/// bound by memory, not by arithmetic or by the latency of one long chain of additions.
fn parallel_sum<A: NdFloat>(values: &[A]) -> A {
    values
        .par_chunks(1 << 16)
        .map(|chunk| {
            let mut lanes = [A::zero(); 16];
            let mut it = chunk.chunks_exact(16);
            for c in &mut it {
                for (l, &v) in lanes.iter_mut().zip(c) {
                    *l += v;
                }
            }
            lanes.iter().fold(A::zero(), |a, &b| a + b) + it.remainder().iter().fold(A::zero(), |a, &b| a + b)
        })
        .reduce(A::zero, |a, b| a + b)
}

fn bench_case<A>(c: &mut Criterion, name: &str, nrows: usize, ncols: usize)
where
    A: CorrElem + NdFloat + From<f32>,
{
    let data: Array2<A> = prices(nrows, ncols);
    let bytes = UNION.len() * ncols * size_of::<A>();
    let union = &data.as_slice().unwrap()[UNION.start * ncols..UNION.end * ncols];
    let kernel = || correlate_ranges(data.view(), TARGET, &RANGES).unwrap();
    let mut group = c.benchmark_group(format!("correlation/{name}"));
    group.throughput(Throughput::Bytes(bytes as u64));
    group.sample_size(20);
    let id = |what: &str| BenchmarkId::new(what, format!("{nrows}x{ncols}"));
    group.bench_function(id(&format!("drask-{}", simd_level())), |b| {
        b.iter(|| black_box(kernel()))
    });
    group.bench_function(id("parallel-sum"), |b| b.iter(|| black_box(parallel_sum(union))));
    group.sample_size(10);
    group.bench_function(id("naive-ndarray"), |b| {
        b.iter(|| black_box(naive(data.view(), TARGET, &RANGES)))
    });
    group.finish();

    if std::env::args().any(|a| a == "--bench") {
        // Other work on the machine moves all three timings; the ratios are taken from the best
        // of interleaved runs, so that load hits the kernel and its references alike.
        let best = |rounds: usize, f: &mut dyn FnMut()| {
            (0..rounds)
                .map(|_| {
                    let start = Instant::now();
                    f();
                    start.elapsed().as_secs_f64() * 1e3
                })
                .fold(f64::INFINITY, f64::min)
        };
        let (mut k, mut s) = (f64::INFINITY, f64::INFINITY);
        for _ in 0..30 {
            k = k.min(best(1, &mut || {
                black_box(kernel());
            }));
            s = s.min(best(1, &mut || {
                black_box(parallel_sum(union));
            }));
        }
        let n = best(3, &mut || {
            black_box(naive(data.view(), TARGET, &RANGES));
        });
        println!(
            "correlation/{name} {nrows}x{ncols} (best of interleaved runs): kernel {k:.2} ms = {:.1} GB/s, \
             {:.0}% of the parallel sum's {s:.2} ms; {:.1}x faster than naive ndarray ({n:.0} ms)",
            bytes as f64 / k / 1e6,
            100.0 * s / k,
            n / k,
        );
    }
}

fn correlation(c: &mut Criterion) {
    eprintln!(
        "simd level: {}, threads: {}",
        simd_level(),
        rayon::current_num_threads()
    );
    bench_case::<f32>(c, "f32", 2_000, 50_000);
    bench_case::<f64>(c, "f64", 2_000, 20_000);
}

criterion_group!(benches, correlation);
criterion_main!(benches);
