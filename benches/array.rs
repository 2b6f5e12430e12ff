//! Fused elementwise + reduction chains of the chunked Array, side by side with plain ndarray and
//! with a parallel sum over the same bytes (the machine's read bandwidth, the physical limit); and
//! reductions over a memory-mapped `.npy` file, read in place vs copied block by block.
//!
//! `cargo bench --bench array` (`-- mmap` for the memory-mapped group alone)

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

/// `x.sum()` and `x.std()` over a 256 MiB memory-mapped file (warm in the page cache): read in
/// place (the default), with the pages dropped after each block, and copied out block by block
/// first (`map_blocks(identity)` forces the copy the map used to make), against a plain parallel
/// sum over the mapped bytes and one with eight accumulators (the read bandwidth).
#[cfg(feature = "mmap")]
fn mapped_reductions(c: &mut Criterion) {
    use std::sync::Arc;

    use drask::array::ndarray::Ix2;
    use drask::array::npy::{NpyMap, write_npy};

    let (rows, cols, block) = (8192, 4096, 1024);
    let data = Array2::from_shape_fn((rows, cols), |(i, j)| ((i * 31 + j * 7) % 1000) as f64 * 0.001);
    let path = std::env::temp_dir().join(format!("drask-bench-mmap-{}.npy", std::process::id()));
    write_npy(&path, data.view()).unwrap();
    drop(data);
    let open = |release: bool| {
        // SAFETY: the bench's own temp file is not modified while mapped.
        let map = unsafe { NpyMap::open(&path) }.unwrap();
        Arc::new(map.with_release_after_read(release))
    };
    let (map, dropping) = (open(false), open(true));
    let x = Array::<f64, Ix2>::from_npy_map(map.clone(), &[block, cols]).unwrap();
    let x_dropping = Array::<f64, Ix2>::from_npy_map(dropping, &[block, cols]).unwrap();
    let copied = x.map_blocks(|b| b);
    for (name, zero_copy, release, copy) in [
        ("sum", x.sum(), x_dropping.sum(), copied.sum()),
        ("std", x.std(0), x_dropping.std(0), copied.std(0)),
    ] {
        let mut group = c.benchmark_group(format!("array/mmap/x.{name}()/{rows}x{cols}"));
        group.throughput(Throughput::Bytes((rows * cols * 8) as u64));
        group.sample_size(10);
        group.bench_function("drask-in-place", |b| b.iter(|| black_box(zero_copy.compute().unwrap())));
        group.bench_function("drask-in-place-release", |b| {
            b.iter(|| black_box(release.compute().unwrap()))
        });
        group.bench_function("drask-copy-blocks", |b| b.iter(|| black_box(copy.compute().unwrap())));
        group.bench_function("plain-parallel-sum", |b| {
            b.iter(|| {
                let view = map.view::<f64>().unwrap();
                let s = view.as_slice().unwrap();
                black_box(s.par_chunks(1 << 16).map(|c| c.iter().sum::<f64>()).sum::<f64>())
            })
        });
        // Eight independent accumulators, so the adds do not wait on each other: the read
        // bandwidth of the mapped pages, the physical limit.
        group.bench_function("parallel-sum-8-lanes", |b| {
            b.iter(|| {
                let view = map.view::<f64>().unwrap();
                let s = view.as_slice().unwrap();
                black_box(s.par_chunks(1 << 16).map(sum_8_lanes).sum::<f64>())
            })
        });
        group.finish();
    }
    drop((x, x_dropping, copied, map));
    let _ = std::fs::remove_file(&path);
}

#[cfg(feature = "mmap")]
fn sum_8_lanes(values: &[f64]) -> f64 {
    let mut lanes = [0.0; 8];
    let mut groups = values.chunks_exact(8);
    for group in &mut groups {
        lanes.iter_mut().zip(group).for_each(|(l, v)| *l += v);
    }
    lanes.iter().sum::<f64>() + groups.remainder().iter().sum::<f64>()
}

#[cfg(not(feature = "mmap"))]
fn mapped_reductions(_: &mut Criterion) {}

criterion_group!(benches, fused_chains, mapped_reductions);
criterion_main!(benches);
