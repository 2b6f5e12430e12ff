//! Per-task overhead of the executors on wide, deep and tree graphs of no-op-sized tasks.
//! Throughput is reported in tasks, so criterion prints tasks per second; the serial loop that
//! does the same arithmetic runs beside them as the floor.
//!
//! `cargo bench --bench sched`

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use drask::Collection;
use drask::diagnostics::TaskStream;
use drask::graph::Graph;
use drask::prelude::*;

#[path = "common/shapes.rs"]
mod shapes;
use drask::sched::{Executor, Synchronous, Threaded};
use shapes::{chain as deep, tree, wide};

fn bench_shape<C: Collection>(c: &mut Criterion, shape: &str, n: u64, build: impl Fn(u64) -> C) {
    let collection = build(n);
    let keys = collection.keys();
    // Unoptimized, so the executors see every task (fuse would make a chain one task).
    let graph: Graph = collection.graph(false).unwrap();
    let mut group = c.benchmark_group(format!("execute/{shape}"));
    group.throughput(Throughput::Elements(graph.len() as u64));
    group.sample_size(20);
    let executors: Vec<Box<dyn Executor>> = vec![Box::new(Synchronous), Box::new(Threaded::new())];
    for executor in &executors {
        group.bench_with_input(BenchmarkId::new(executor.name(), graph.len()), &graph, |b, g| {
            b.iter(|| black_box(executor.execute(g, &keys, &[]).unwrap()))
        });
    }
    group.finish();
}

fn serial_baseline(c: &mut Criterion) {
    let n = 100_000_u64;
    let mut group = c.benchmark_group("execute/serial-loop");
    group.throughput(Throughput::Elements(2 * n - 1));
    // black_box on every element, or the compiler sums the series in closed form.
    group.bench_function("tree-arithmetic", |b| {
        b.iter(|| (0..n).map(|i| black_box(black_box(i) + 1)).sum::<u64>())
    });
    group.finish();
}

fn executors(c: &mut Criterion) {
    bench_shape(c, "wide", 100_000, wide);
    bench_shape(c, "deep", 100_000, deep);
    bench_shape(c, "tree", 100_000, tree);
    serial_baseline(c);
    task_stream_cost(c);
    // As a user sees it: build, lower, optimize and run.
    let mut group = c.benchmark_group("compute/tree");
    group.throughput(Throughput::Elements(2 * 100_000 - 1));
    group.sample_size(10);
    group.bench_function("threaded-end-to-end", |b| {
        b.iter(|| black_box(tree(100_000).compute().unwrap()))
    });
    group.finish();
}

/// What recording a task stream adds per task: the tree on each executor, with and without a
/// recorder (a new one per run, so records do not pile up).
fn task_stream_cost(c: &mut Criterion) {
    let root = tree(50_000);
    let tasks = root.graph(false).unwrap().len() as u64;
    let mut group = c.benchmark_group("compute/tree-unoptimized");
    group.throughput(Throughput::Elements(tasks));
    group.sample_size(20);
    let executors: Vec<(&str, ComputeOptions)> = vec![
        (
            "synchronous",
            ComputeOptions::new().executor(Synchronous).optimize(false),
        ),
        ("threaded", ComputeOptions::new().optimize(false)),
    ];
    for (name, options) in executors {
        group.bench_function(name, |b| b.iter(|| black_box(root.compute_with(&options).unwrap())));
        group.bench_function(format!("{name}+task-stream"), |b| {
            b.iter(|| {
                let options = options.clone().callback(std::sync::Arc::new(TaskStream::new()));
                black_box(root.compute_with(&options).unwrap())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, executors);
criterion_main!(benches);
