//! Group-by aggregation over CSV files, the contract other tools read:
//!
//! ```text
//! cargo run --release --features frame --example groupby -- --csv GLOB --by COL --agg COL:FUNC[,COL:FUNC...]
//!     [--blocksize BYTES] [--repeat N] [--compare]
//! ```
//!
//! FUNC is one of sum, mean, min, max, std, var, count, n_unique, first, last. Prints one JSON
//! line: `{"groups": G, "checksum": {"COL_FUNC": sum over groups, ...}, "seconds": S}` where S
//! is the best of N runs (build, compute, and collect into one polars frame). With `--compare`
//! the same query also runs on polars' own lazy engine over the same files, and the line gains
//! `"polars_seconds"` and `"ratio"` (drask / polars), with the results checked equal.
//! `--csv generate` writes (once) and reads the standard data set of `gen_csv`. On Linux the line
//! also has `"peak_rss_bytes"`, the process's peak resident memory (VmHWM).

#[path = "gen_csv.rs"]
mod gen_csv;

use std::time::Instant;

use drask::frame::ReadCsv;
use drask::frame::polars::prelude::{self as pl, *};
use drask::prelude::*;
use serde_json::{Map, Value as Json};

fn agg_expr(column: &str, func: &str) -> Result<Expr, String> {
    let c = col(column);
    Ok(match func {
        "sum" => c.sum(),
        "mean" => c.mean(),
        "min" => c.min(),
        "max" => c.max(),
        "std" => c.std(1),
        "var" => c.var(1),
        "count" => c.count(),
        "n_unique" => c.n_unique(),
        "first" => c.first(),
        "last" => c.last(),
        other => return Err(format!("unknown aggregation {other:?}")),
    }
    .alias(format!("{column}_{func}")))
}

/// The sum over groups of every aggregation column, as f64.
fn checksums(out: &pl::DataFrame, names: &[String]) -> Result<Map<String, Json>, Box<dyn std::error::Error>> {
    let mut sums = Map::new();
    for name in names {
        let total = out.column(name)?.cast(&DataType::Float64)?.f64()?.sum().unwrap_or(0.0);
        sums.insert(name.clone(), Json::from(total));
    }
    Ok(sums)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (mut glob, mut by, mut aggs) = (None, None, None);
    let mut blocksize = Some(drask::frame::DEFAULT_CSV_BLOCKSIZE);
    let mut repeat = 1;
    let mut compare = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--csv" => glob = args.next(),
            "--by" => by = args.next(),
            "--agg" => aggs = args.next(),
            "--blocksize" => blocksize = Some(args.next().ok_or("--blocksize BYTES")?.parse()?),
            "--repeat" => repeat = args.next().ok_or("--repeat N")?.parse::<usize>()?.max(1),
            "--compare" => compare = true,
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    let mut glob = glob.ok_or("--csv GLOB is required")?;
    if glob == "generate" {
        let dir = gen_csv::csv_data::default_dir("csv-8x1000000");
        gen_csv::csv_data::ensure_csv(&dir)?;
        glob = dir.join("*.csv").display().to_string();
    }
    let by = by.ok_or("--by COL is required")?;
    let specs = aggs.ok_or("--agg COL:FUNC[,...] is required")?;
    let mut exprs = Vec::new();
    let mut names = Vec::new();
    for spec in specs.split(',') {
        let (column, func) = spec
            .split_once(':')
            .ok_or_else(|| format!("{spec:?} is not COL:FUNC"))?;
        exprs.push(agg_expr(column, func)?);
        names.push(format!("{column}_{func}"));
    }

    let mut best = f64::INFINITY;
    let mut out = None;
    for _ in 0..repeat {
        let start = Instant::now();
        let result = ReadCsv::new(glob.as_str())
            .blocksize(blocksize)
            .build()?
            .group_by([col(by.as_str())])
            .agg(&exprs)?
            .compute()?;
        best = best.min(start.elapsed().as_secs_f64());
        out = Some(result);
    }
    let out = out.expect("at least one run");
    let mut line = serde_json::json!({
        "groups": out.height(),
        "checksum": checksums(&out, &names)?,
        "seconds": best,
    });
    if compare {
        let paths: Vec<PlRefPath> = drask::bag::Source::from(glob.as_str())
            .paths()?
            .iter()
            .map(|p| PlRefPath::new(p.to_string_lossy().as_ref()))
            .collect();
        let mut polars_best = f64::INFINITY;
        let mut theirs = None;
        for _ in 0..repeat {
            let start = Instant::now();
            let result = LazyCsvReader::new_paths(paths.clone().into())
                .finish()?
                .group_by([col(by.as_str())])
                .agg(&exprs)
                .collect()?;
            polars_best = polars_best.min(start.elapsed().as_secs_f64());
            theirs = Some(result);
        }
        let theirs = theirs.expect("at least one run");
        let sort = |df: &pl::DataFrame| df.sort([by.as_str()], Default::default());
        let (ours_sorted, theirs_sorted) = (sort(&out)?, sort(&theirs)?);
        for name in &names {
            let a = ours_sorted.column(name)?.cast(&DataType::Float64)?;
            let b = theirs_sorted.column(name)?.cast(&DataType::Float64)?;
            let close = a.f64()?.iter().zip(b.f64()?.iter()).all(|(x, y)| match (x, y) {
                (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * (1.0 + y.abs()),
                (x, y) => x == y,
            });
            if !close || a.len() != b.len() {
                return Err(format!("{name} differs from polars' result").into());
            }
        }
        line["polars_seconds"] = Json::from(polars_best);
        line["ratio"] = Json::from(best / polars_best);
    }
    if let Some(peak) = peak_rss_bytes() {
        line["peak_rss_bytes"] = Json::from(peak);
    }
    println!("{line}");
    Ok(())
}

/// The process's peak resident set size, from `/proc/self/status` (Linux only).
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
