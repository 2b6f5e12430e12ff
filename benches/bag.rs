//! Bag I/O end to end, side by side with hand-written loops doing the same per-record work:
//! JSON-lines value counts plus top-k (8 files × 50,000 records, about 20 MB, reported in
//! records per second) and letters (read, sort and count the characters of 8 files of 2 MiB,
//! reported in bytes per second). The data is written once into a fresh temp dir at start.
//! `json_field` compares the one-field parse alone on the same records, per line from memory:
//! drask's scanner, serde_json with a struct of the one field (the others skipped as
//! `IgnoredAny`, the approach the scanner replaced), and whole `serde_json::Value`s.
//!
//! `cargo bench --bench bag`

#![allow(dead_code)]

#[path = "../examples/gen_data.rs"]
mod gen_data;

use std::cmp::Reverse;
use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use drask::bag::ReadJson;
use drask::prelude::*;
use gen_data::{baseline, data};
use rayon::prelude::*;
use serde_json::Value;

const FILES: usize = 8;
const RECORDS: usize = 50_000;
const K: usize = 10;

/// Removes the bench's data when the bench ends.
struct Cleanup(PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn bag_topk(value: Bag<Value>) -> (u64, Vec<(Value, u64)>) {
    let counts = value.frequencies();
    let records = counts.map(|(_, n): (Value, u64)| n).sum();
    let top = counts.topk(K, |(v, n): &(Value, u64)| (*n, Reverse(v.to_string())));
    drask::compute((records, top)).unwrap()
}

fn json_topk(c: &mut Criterion, dir: &Path) {
    let (paths, _) = data::write_json(&dir.join("json"), FILES, RECORDS).unwrap();
    let glob = dir.join("json/*.jsonl").to_string_lossy().into_owned();
    let expected = baseline::topk_serial(&paths, "name", K, false).unwrap();
    let field = || bag_topk(ReadJson::new(glob.as_str()).field("name").build().unwrap());
    let full = || bag_topk(Bag::read_json(glob.as_str()).unwrap().pluck_or("name", Value::Null));
    assert_eq!(field(), expected);
    assert_eq!(full(), expected);

    let mut group = c.benchmark_group("json_topk");
    group.sample_size(10);
    group.throughput(Throughput::Elements((FILES * RECORDS) as u64));
    group.bench_function("bag_field", |b| b.iter(|| black_box(field())));
    group.bench_function("serial_loop_field", |b| {
        b.iter(|| black_box(baseline::topk_serial(&paths, "name", K, false).unwrap()))
    });
    group.bench_function("rayon_loop_field", |b| {
        b.iter(|| black_box(baseline::topk_rayon(&paths, "name", K, false).unwrap()))
    });
    group.bench_function("bag_full", |b| b.iter(|| black_box(full())));
    group.bench_function("serial_loop_full", |b| {
        b.iter(|| black_box(baseline::topk_serial(&paths, "name", K, true).unwrap()))
    });
    group.bench_function("rayon_loop_full", |b| {
        b.iter(|| black_box(baseline::topk_rayon(&paths, "name", K, true).unwrap()))
    });
    group.finish();
}

fn letters(c: &mut Criterion, dir: &Path) {
    let (paths, bytes) = data::write_text(&dir.join("text"), FILES, 2 << 20).unwrap();
    let pattern = dir.join("text/*.txt");
    let bag = || {
        let counts = Bag::from_paths(&pattern)
            .unwrap()
            .try_map(|p: PathBuf| baseline::count_letters(&p));
        counts.sum().compute().unwrap()
    };
    assert_eq!(bag(), bytes);

    let mut group = c.benchmark_group("letters");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(bytes));
    group.bench_function("bag", |b| b.iter(|| black_box(bag())));
    group.bench_function("serial_loop", |b| {
        b.iter(|| {
            black_box(
                paths
                    .iter()
                    .map(baseline::count_letters)
                    .sum::<std::io::Result<u64>>()
                    .unwrap(),
            )
        })
    });
    group.bench_function("rayon_loop", |b| {
        b.iter(|| {
            black_box(
                paths
                    .par_iter()
                    .map(baseline::count_letters)
                    .sum::<std::io::Result<u64>>()
                    .unwrap(),
            )
        })
    });
    group.finish();
}

/// Only `name`; serde's derive skips every other field without building it.
#[derive(serde::Deserialize)]
struct NameOnly {
    #[serde(default)]
    name: Value,
}

fn json_field(c: &mut Criterion, dir: &Path) {
    let (paths, _) = data::write_json(&dir.join("json-one"), 1, RECORDS).unwrap();
    let text = std::fs::read_to_string(&paths[0]).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let scanner = || {
        lines
            .iter()
            .map(|l| drask::bag::json_field(l, "name").unwrap())
            .filter(Value::is_string)
            .count()
    };
    let serde_seed = || {
        lines
            .iter()
            .map(|l| serde_json::from_str::<NameOnly>(l).unwrap().name)
            .filter(Value::is_string)
            .count()
    };
    let whole = || {
        lines
            .iter()
            .map(|l| serde_json::from_str::<Value>(l).unwrap()["name"].take())
            .filter(Value::is_string)
            .count()
    };
    assert_eq!(scanner(), lines.len());
    assert_eq!(serde_seed(), lines.len());
    assert_eq!(whole(), lines.len());

    let mut group = c.benchmark_group("json_field");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("drask_scanner", |b| b.iter(|| black_box(scanner())));
    group.bench_function("serde_json_one_field_struct", |b| b.iter(|| black_box(serde_seed())));
    group.bench_function("serde_json_whole_value", |b| b.iter(|| black_box(whole())));
    group.finish();
}

fn benches(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("drask-bench-bag-{}", std::process::id()));
    let _cleanup = Cleanup(dir.clone());
    json_field(c, &dir);
    json_topk(c, &dir);
    letters(c, &dir);
}

criterion_group!(bag, benches);
criterion_main!(bag);
