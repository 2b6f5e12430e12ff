//! A query over CSV files, the contract other tools read:
//!
//! ```text
//! cargo run --release --features frame --example frame_query -- --csv GLOB [--repeat N] [--compare]
//! ```
//!
//! Runs: filter `y > 0.5`, add `z = x * y`, group by `name`, aggregate `z` sum and `x` max.
//! Prints one JSON line: `{"groups": G, "checksum": {"z_sum": …, "x_max": …}, "seconds": S}`,
//! S the best of N runs. `explain()` of the query goes to stderr: it shows the filter and the
//! column selection pushed into the CSV scan. With `--compare`, polars' lazy engine runs the
//! same query on the same files and the line gains `"polars_seconds"` and `"ratio"`.
//! `--csv generate` writes (once) and reads the standard data set of `gen_csv`.

#[path = "gen_csv.rs"]
mod gen_csv;

use std::time::Instant;

use drask::frame::polars::prelude::{self as pl, *};
use drask::frame::{DataFrame, ReadCsv};
use drask::prelude::*;
use serde_json::Value as Json;

fn query_on_polars(lf: LazyFrame) -> LazyFrame {
    lf.filter(col("y").gt(lit(0.5)))
        .with_columns([(col("x") * col("y")).alias("z")])
        .group_by([col("name")])
        .agg([col("z").sum().alias("z_sum"), col("x").max().alias("x_max")])
}

fn query(df: &DataFrame) -> drask::Result<DataFrame> {
    df.filter(col("y").gt(lit(0.5)))?
        .with_columns([(col("x") * col("y")).alias("z")])?
        .group_by([col("name")])
        .agg([col("z").sum().alias("z_sum"), col("x").max().alias("x_max")])
}

fn checksum(out: &pl::DataFrame) -> Result<Json, Box<dyn std::error::Error>> {
    let sum = |name: &str| -> Result<f64, Box<dyn std::error::Error>> {
        Ok(out.column(name)?.cast(&DataType::Float64)?.f64()?.sum().unwrap_or(0.0))
    };
    Ok(serde_json::json!({"z_sum": sum("z_sum")?, "x_max": sum("x_max")?}))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut glob = None;
    let mut repeat = 1;
    let mut compare = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--csv" => glob = args.next(),
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
    eprintln!("{}", query(&ReadCsv::new(glob.as_str()).build()?)?.explain());
    let mut best = f64::INFINITY;
    let mut out = None;
    for _ in 0..repeat {
        let start = Instant::now();
        let result = query(&ReadCsv::new(glob.as_str()).build()?)?.compute()?;
        best = best.min(start.elapsed().as_secs_f64());
        out = Some(result);
    }
    let out = out.expect("at least one run");
    let mut line = serde_json::json!({"groups": out.height(), "checksum": checksum(&out)?, "seconds": best});
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
            theirs = Some(query_on_polars(LazyCsvReader::new_paths(paths.clone().into()).finish()?).collect()?);
            polars_best = polars_best.min(start.elapsed().as_secs_f64());
        }
        let theirs = checksum(&theirs.expect("at least one run"))?;
        let ours = &line["checksum"];
        for key in ["z_sum", "x_max"] {
            let (a, b) = (
                ours[key].as_f64().unwrap_or(f64::NAN),
                theirs[key].as_f64().unwrap_or(f64::NAN),
            );
            if (a - b).abs() > 1e-6 * (1.0 + b.abs()) {
                return Err(format!("{key}: {a} differs from polars' {b}").into());
            }
        }
        line["polars_seconds"] = Json::from(polars_best);
        line["ratio"] = Json::from(best / polars_best);
    }
    println!("{line}");
    Ok(())
}
