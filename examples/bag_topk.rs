//! The most frequent values of one field over JSON-lines files, with a Bag: Dask's
//! `db.read_text(pattern).map(json.loads).pluck(field).frequencies().topk(k, key=1)`.
//!
//! ```text
//! cargo run --release --example gen_data -- json          # 32 files × 100,000 records, 155 MB
//! cargo run --release --example bag_topk -- --glob "$TMPDIR/drask-data/json-32x100000/*.jsonl" --field name --k 10
//! ```
//!
//! Prints one JSON line on stdout: `{"records": N, "top": [[value, count], ...], "seconds": S}`
//! (the time to build and compute the bag: globbing, reading, parsing, counting). Details go
//! to stderr.
//!
//! Options:
//! - `--parse field` (default): `ReadJson::field` extracts the field while parsing, skipping the
//!   rest of each record; `--parse full` builds every record as a `serde_json::Value` and then
//!   plucks the field (`read_json(..).pluck_or(field, null)`).
//! - `--compare`: also runs the hand-written serial loop and a rayon loop over the files (same
//!   parsing), best of three each, and prints records per second and the ratios on stderr.
//! - `--generate`: writes the standard data set into its default directory if it is not there
//!   (then `--glob` may be left out).
#![allow(dead_code)]

#[path = "gen_data.rs"]
mod gen_data;

use std::cmp::Reverse;
use std::time::Instant;

use drask::bag::ReadJson;
use drask::prelude::*;
use gen_data::{baseline, data};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Parse {
    Field,
    Full,
}

fn run_bag(
    glob: &str,
    field: &str,
    k: usize,
    parse: Parse,
    blocksize: Option<u64>,
) -> drask::Result<(u64, Vec<(Value, u64)>)> {
    let read = ReadJson::new(glob).blocksize(blocksize);
    let values: Bag<Value> = match parse {
        Parse::Field => read.field(field).build()?,
        Parse::Full => read.build()?.pluck_or(field, Value::Null),
    };
    let counts = values.frequencies();
    // Every record lands in exactly one count, so their sum is the number of records.
    let records = counts.map(|(_, n): (Value, u64)| n).sum();
    // Most frequent first; equal counts in the order of the value's text, as the loops do.
    let top = counts.topk(k, |(v, n): &(Value, u64)| (*n, Reverse(v.to_string())));
    drask::compute((records, top))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut glob: Option<String> = None;
    let mut field = "name".to_string();
    let mut k = 10;
    let mut parse = Parse::Field;
    let mut compare = false;
    let mut blocksize = None;
    let mut generate = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--glob" => glob = Some(args.next().ok_or("--glob PATTERN")?),
            "--field" => field = args.next().ok_or("--field NAME")?,
            "--k" => k = args.next().ok_or("--k K")?.parse()?,
            "--parse" => {
                parse = match args.next().as_deref() {
                    Some("field") => Parse::Field,
                    Some("full") => Parse::Full,
                    _ => return Err("--parse field|full".into()),
                }
            }
            "--compare" => compare = true,
            "--blocksize" => blocksize = Some(args.next().ok_or("--blocksize BYTES")?.parse()?),
            "--generate" => generate = true,
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    let default_dir = data::default_dir("json-32x100000");
    if generate {
        data::ensure_json(&default_dir)?;
    }
    let glob = match glob {
        Some(glob) => glob,
        None if generate => default_dir.join("*.jsonl").to_string_lossy().into_owned(),
        None => return Err("usage: bag_topk --glob PATTERN [--field NAME] [--k K] (or --generate)".into()),
    };

    let start = Instant::now();
    let (records, top) = run_bag(&glob, &field, k, parse, blocksize)?;
    let seconds = start.elapsed().as_secs_f64();
    let line = serde_json::json!({
        "records": records,
        "top": top.iter().map(|(v, n)| serde_json::json!([v, n])).collect::<Vec<_>>(),
        "seconds": seconds,
    });
    println!("{line}");
    let threads = rayon::current_num_threads();
    eprintln!(
        "bag ({parse:?} parse, {threads} threads): {records} records in {seconds:.3} s = {:.2} M records/s",
        records as f64 / seconds / 1e6
    );

    if compare {
        let paths = drask::bag::Source::from(glob.as_str()).paths()?;
        let bytes: u64 = paths.iter().map(|p| std::fs::metadata(p).map_or(0, |m| m.len())).sum();
        let full = parse == Parse::Full;
        let (bag_s, bag_out) = gen_data::best_of(3, || run_bag(&glob, &field, k, parse, blocksize));
        let (serial_s, serial_out) = gen_data::best_of(3, || baseline::topk_serial(&paths, &field, k, full));
        let (rayon_s, rayon_out) = gen_data::best_of(3, || baseline::topk_rayon(&paths, &field, k, full));
        let (bag_out, serial_out, rayon_out) = (bag_out?, serial_out?, rayon_out?);
        assert_eq!(bag_out, serial_out, "the bag and the serial loop disagree");
        assert_eq!(rayon_out, serial_out, "the rayon loop and the serial loop disagree");
        let rate = |s: f64| records as f64 / s / 1e6;
        eprintln!(
            "{} files, {:.1} MB, {threads} threads, best of 3:",
            paths.len(),
            bytes as f64 / 1e6
        );
        eprintln!(
            "  bag          {bag_s:.3} s  {:6.2} M records/s  {:6.0} MB/s",
            rate(bag_s),
            bytes as f64 / bag_s / 1e6
        );
        eprintln!("  serial loop  {serial_s:.3} s  {:6.2} M records/s", rate(serial_s));
        eprintln!("  rayon loop   {rayon_s:.3} s  {:6.2} M records/s", rate(rayon_s));
        eprintln!(
            "  speed-up over the serial loop: bag {:.2}x, rayon loop {:.2}x (ideal {threads}x)",
            serial_s / bag_s,
            serial_s / rayon_s
        );
        eprintln!(
            "  bag overhead: {:+.1}% over the rayon loop, {:+.1}% over serial/{threads}",
            (bag_s / rayon_s - 1.0) * 100.0,
            (bag_s / (serial_s / threads as f64) - 1.0) * 100.0
        );
        eprintln!("  vs dask.bag's 4.0 s on this machine: {:.1}x faster", 4.0 / bag_s);
    }
    Ok(())
}
