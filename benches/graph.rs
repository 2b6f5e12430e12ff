//! Cost per task of building a graph with Delayed, lowering it and optimizing it, at 10k and 1M
//! tasks. Throughput is in tasks.
//!
//! `cargo bench --bench graph`

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use drask::Collection;
use drask::graph::optimize::Optimizer;

#[path = "common/shapes.rs"]
mod shapes;
use shapes::tree;

fn graph_costs(c: &mut Criterion) {
    for leaves in [5_000_u64, 500_000] {
        let tasks = 2 * leaves - 1;
        let mut group = c.benchmark_group("graph");
        group.throughput(Throughput::Elements(tasks));
        group.sample_size(10);
        group.bench_with_input(BenchmarkId::new("build", tasks), &leaves, |b, &n| {
            b.iter(|| black_box(tree(n)))
        });
        let root = tree(leaves);
        group.bench_with_input(BenchmarkId::new("lower", tasks), &root, |b, r| {
            b.iter(|| black_box(r.graph(false).unwrap()))
        });
        let graph = root.graph(false).unwrap();
        let keys = root.keys();
        group.bench_with_input(BenchmarkId::new("optimize", tasks), &graph, |b, g| {
            b.iter(|| black_box(Optimizer::new().run(g.clone(), &keys)))
        });
        group.finish();
    }
}

criterion_group!(benches, graph_costs);
criterion_main!(benches);
