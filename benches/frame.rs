//! DataFrame end to end, side by side with polars' own lazy engine on the same data in the same
//! run: groupby-mean over the CSV set of `gen_csv` (8 files × 1,000,000 rows, about 358 MB,
//! written once into `$TMPDIR/drask-data/csv-8x1000000`), a join of 8M rows with 1,000 rows
//! (broadcast) and a join of two 8M-row frames (hash shuffle), both in memory.
//!
//! `cargo bench --features frame --bench frame`

#![allow(dead_code)]

#[path = "../examples/gen_csv.rs"]
mod gen_csv;

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use drask::frame::polars::prelude::{self as pl, *};
use drask::frame::{DataFrame, How, ReadCsv};
use drask::prelude::*;

const ROWS: usize = 8_000_000;

fn groupby_mean(c: &mut Criterion) {
    let dir = gen_csv::csv_data::default_dir("csv-8x1000000");
    let paths = gen_csv::csv_data::ensure_csv(&dir).unwrap();
    let glob = dir.join("*.csv").to_string_lossy().into_owned();
    let ours = || {
        ReadCsv::new(glob.as_str())
            .build()
            .unwrap()
            .group_by([col("name")])
            .agg([col("x").mean()])
            .unwrap()
            .compute()
            .unwrap()
    };
    let pl_paths: Vec<PlRefPath> = paths
        .iter()
        .map(|p| PlRefPath::new(p.to_string_lossy().as_ref()))
        .collect();
    let theirs = || {
        LazyCsvReader::new_paths(pl_paths.clone().into())
            .finish()
            .unwrap()
            .group_by([col("name")])
            .agg([col("x").mean()])
            .collect()
            .unwrap()
    };
    let sort = |df: pl::DataFrame| df.sort(["name"], Default::default()).unwrap();
    let (a, b) = (sort(ours()), sort(theirs()));
    assert_eq!(a.column("name").unwrap(), b.column("name").unwrap());

    let mut group = c.benchmark_group("groupby_mean_csv_8x1M");
    group.sample_size(10);
    group.throughput(Throughput::Elements(ROWS as u64));
    group.bench_function("drask", |bch| bch.iter(|| black_box(ours())));
    group.bench_function("polars_lazy", |bch| bch.iter(|| black_box(theirs())));
    group.finish();
}

/// `rows` rows: a key in `0..keys` (a multiplicative hash of the row number, so every key
/// appears), and two payload columns.
fn table(rows: usize, keys: u64, seed: u64) -> pl::DataFrame {
    let key: Vec<i64> = (0..rows as u64)
        .map(|i| ((i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ seed) % keys) as i64)
        .collect();
    let a: Vec<f64> = (0..rows).map(|i| i as f64 * 0.5).collect();
    let b: Vec<i32> = (0..rows).map(|i| (i % 1000) as i32).collect();
    pl::DataFrame::new(
        rows,
        vec![
            Series::new("key".into(), key).into_column(),
            Series::new(format!("a{seed}").into(), a).into_column(),
            Series::new(format!("b{seed}").into(), b).into_column(),
        ],
    )
    .unwrap()
}

fn join(c: &mut Criterion, name: &str, left: pl::DataFrame, right: pl::DataFrame, right_partitions: usize) {
    let (l, r) = (
        DataFrame::from_polars(left.clone(), 8).unwrap(),
        DataFrame::from_polars(right.clone(), right_partitions).unwrap(),
    );
    let ours = || l.join(&r, &["key"], &["key"], How::Inner).unwrap().compute().unwrap();
    let theirs = || {
        left.clone()
            .lazy()
            .join(
                right.clone().lazy(),
                [col("key")],
                [col("key")],
                JoinArgs::new(JoinType::Inner),
            )
            .collect()
            .unwrap()
    };
    assert_eq!(ours().height(), theirs().height());
    let mut group = c.benchmark_group(name);
    group.sample_size(10);
    group.throughput(Throughput::Elements((left.height() + right.height()) as u64));
    group.bench_function("drask", |bch| bch.iter(|| black_box(ours())));
    group.bench_function("polars_lazy", |bch| bch.iter(|| black_box(theirs())));
    group.finish();
}

fn joins(c: &mut Criterion) {
    let big = table(ROWS, 1000, 1);
    let small = table(1000, 1000, 2);
    join(c, "join_8M_x_1000_broadcast", big.clone(), small, 1);
    let other = table(ROWS, ROWS as u64, 3);
    let big_unique = table(ROWS, ROWS as u64, 4);
    drop(big);
    join(c, "join_8M_x_8M_shuffle", big_unique, other, 8);
}

criterion_group!(benches, groupby_mean, joins);
criterion_main!(benches);
