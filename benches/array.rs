//! Fused elementwise + reduction chains of the chunked Array, side by side with plain ndarray and
//! with a parallel sum over the same bytes (the machine's read bandwidth, the physical limit).
//!
//! `cargo bench --bench array`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use drask::Collection;
use drask::array::Array;
use drask::array::ndarray::Array2;
use drask::prelude::ComputeOptions;
use rayon::prelude::*;

fn fused_chains(c: &mut Criterion) {
    let (rows, cols, block) = (8192, 8192, 2048);
    let data = Array2::from_shape_fn((rows, cols), |(i, j)| ((i * 31 + j * 7) % 1000) as f64 * 0.001);
    let bytes = (rows * cols * 8) as u64;
    // Persisted blocks: the chain reads memory, not a source array it first copies blocks out of.
    let x = Array::from_array(data.clone(), &[block, block])
        .unwrap()
        .persist(&ComputeOptions::new())
        .unwrap();
    let mut group = c.benchmark_group(format!("array/(x*2+1).sum()/{rows}x{cols}"));
    group.throughput(Throughput::Bytes(bytes));
    group.sample_size(10);
    group.bench_function("drask", |b| {
        b.iter(|| black_box(((&x * 2.0) + 1.0).sum().compute().unwrap()))
    });
    group.bench_function("ndarray-serial", |b| {
        b.iter(|| black_box(data.iter().map(|v| v * 2.0 + 1.0).sum::<f64>()))
    });
    group.bench_function("ndarray-par", |b| {
        b.iter(|| {
            let s = data.as_slice().unwrap();
            black_box(
                s.par_chunks(1 << 16)
                    .map(|c| c.iter().map(|v| v * 2.0 + 1.0).sum::<f64>())
                    .sum::<f64>(),
            )
        })
    });
    group.bench_function("parallel-sum-bandwidth", |b| {
        b.iter(|| {
            let s = data.as_slice().unwrap();
            black_box(s.par_chunks(1 << 16).map(|c| c.iter().sum::<f64>()).sum::<f64>())
        })
    });
    group.finish();

    // Two inputs and a transpose: (x + x.T).mean_axis(0).sum(), dask's tutorial expression.
    let small = Array2::from_shape_fn((4096, 4096), |(i, j)| ((i * 13 + j) % 100) as f64);
    let xs = Array::from_array(small.clone(), &[1024, 1024])
        .unwrap()
        .persist(&ComputeOptions::new())
        .unwrap();
    let mut group = c.benchmark_group("array/(x+x.T).mean(axis=0).sum()/4096x4096");
    group.throughput(Throughput::Bytes((4096 * 4096 * 8) as u64));
    group.sample_size(10);
    group.bench_function("drask", |b| {
        b.iter(|| black_box((&xs + &xs.t()).mean_axis(0).unwrap().sum().compute().unwrap()))
    });
    group.bench_function("ndarray-serial", |b| {
        b.iter(|| {
            black_box(
                (&small + &small.t())
                    .mean_axis(drask::array::ndarray::Axis(0))
                    .unwrap()
                    .sum(),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, fused_chains);
criterion_main!(benches);
