//! The seed use case: correlate one stock's prices with every stock over chosen date ranges,
//! straight from a memory-mapped `.npy` price matrix (rows = dates, columns = stocks).
//!
//! ```text
//! cargo run --release --example correlation -- --generate 2000,100000 --npy /tmp/prices.npy
//! cargo run --release --example correlation -- --npy /tmp/prices.npy --target 17 \
//!     --ranges 100:900,500:1300,1200:1800 [--sample 0:0,1:17] [--repeat 5]
//! ```
//! Prints one JSON line: `{"shape": [R, C], "checksum": <sum of all non-NaN values>,
//! "sample": [[r, c, value], ...], "seconds_best": S, "gb_per_s": G}` where `G` counts the bytes
//! of the union of the requested rows, read once, over the best run. With `--generate
//! DATES,STOCKS` a synthetic random-walk `f32` price file is written first (to `--npy`, or a
//! temporary path).

use std::ops::Range;
use std::path::PathBuf;
use std::time::Instant;

use drask::array::ndarray::{Array2, ArrayView2};
use drask::array::npy::{DType, NpyMap, NpyWriter};
use drask::array::{CorrElem, correlate_ranges, random, simd_level};

struct Args {
    npy: Option<PathBuf>,
    generate: Option<(usize, usize)>,
    target: usize,
    ranges: Vec<Range<usize>>,
    sample: Vec<(usize, usize)>,
    repeat: usize,
}

fn pairs(text: &str, what: &str) -> Result<Vec<(usize, usize)>, String> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(|p| {
            let (a, b) = p
                .split_once([':', ','])
                .ok_or_else(|| format!("{what} {p:?}: expected A:B"))?;
            let n = |s: &str| s.trim().parse::<usize>().map_err(|e| format!("{what} {p:?}: {e}"));
            Ok((n(a)?, n(b)?))
        })
        .collect()
}

fn parse() -> Result<Args, String> {
    let mut args = Args {
        npy: None,
        generate: None,
        target: 0,
        ranges: vec![],
        sample: vec![],
        repeat: 5,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--npy" => args.npy = Some(value.into()),
            "--generate" => {
                let (d, s) = value.split_once(',').ok_or("--generate DATES,STOCKS")?;
                args.generate = Some((
                    d.parse().map_err(|e| format!("{e}"))?,
                    s.parse().map_err(|e| format!("{e}"))?,
                ));
            }
            "--target" => args.target = value.parse().map_err(|e| format!("--target: {e}"))?,
            "--ranges" => args.ranges = pairs(&value, "range")?.into_iter().map(|(a, b)| a..b).collect(),
            "--sample" => args.sample = pairs(&value, "sample")?,
            "--repeat" => args.repeat = value.parse::<usize>().map_err(|e| format!("--repeat: {e}"))?.max(1),
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    if args.npy.is_none() && args.generate.is_none() {
        return Err("give --npy PATH or --generate DATES,STOCKS".into());
    }
    Ok(args)
}

/// Writes a random-walk price matrix: each stock starts near 100 and moves by about 1% a day,
/// a row block at a time (so a file larger than memory can be made).
fn generate(path: &PathBuf, dates: usize, stocks: usize) -> drask::Result<()> {
    let mut writer = NpyWriter::<f32>::create(path, &[dates, stocks])?;
    let mut level: Vec<f64> = (0..stocks).map(|j| 50.0 + (j % 100) as f64).collect();
    let rows_per_block = (1 << 24) / stocks.max(1) + 1;
    let mut row = 0;
    while row < dates {
        let n = rows_per_block.min(dates - row);
        let moves = random::normal_block(42, &[dates, stocks], &[row, 0], &[n, stocks], 0.0, 0.01)?;
        let mut block = Array2::<f32>::zeros((n, stocks));
        for (r, moves) in moves.outer_iter().enumerate() {
            for (j, m) in moves.iter().enumerate() {
                level[j] *= 1.0 + m;
                block[[r, j]] = level[j] as f32;
            }
        }
        writer.write_rows(block.view())?;
        row += n;
    }
    writer.finish()
}

fn run<A: CorrElem>(view: ArrayView2<'_, A>, args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let mut best = f64::INFINITY;
    let mut result = Array2::<f64>::zeros((0, 0));
    for _ in 0..args.repeat {
        let start = Instant::now();
        result = correlate_ranges(view, args.target, &args.ranges)?;
        best = best.min(start.elapsed().as_secs_f64());
    }
    // Bytes of the union of the requested rows: what one pass reads.
    let mut rows = vec![false; view.nrows()];
    for r in &args.ranges {
        rows[r.clone()].iter_mut().for_each(|x| *x = true);
    }
    let union = rows.iter().filter(|&&x| x).count();
    let bytes = (union * view.ncols() * std::mem::size_of::<A>()) as f64;
    let checksum: f64 = result.iter().filter(|v| !v.is_nan()).sum();
    let mut sample = Vec::new();
    for &(r, c) in &args.sample {
        let v = result
            .get((r, c))
            .ok_or_else(|| format!("sample {r}:{c} is outside the result {:?}", result.dim()))?;
        sample.push(serde_json::json!([
            r,
            c,
            if v.is_nan() {
                serde_json::Value::Null
            } else {
                (*v).into()
            }
        ]));
    }
    eprintln!(
        "{} rows x {} columns, {} ranges over {union} distinct rows, simd {}, best of {}: {:.2} ms",
        view.nrows(),
        view.ncols(),
        args.ranges.len(),
        simd_level(),
        args.repeat,
        best * 1e3
    );
    println!(
        "{}",
        serde_json::json!({
            "shape": [result.nrows(), result.ncols()],
            "checksum": checksum,
            "sample": sample,
            "seconds_best": best,
            "gb_per_s": bytes / best / 1e9,
        })
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse()?;
    let path = args
        .npy
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("drask-prices-{}.npy", std::process::id())));
    if let Some((dates, stocks)) = args.generate {
        let start = Instant::now();
        generate(&path, dates, stocks)?;
        eprintln!(
            "wrote {} ({dates} x {stocks} f32) in {:.1} s",
            path.display(),
            start.elapsed().as_secs_f64()
        );
        if args.ranges.is_empty() {
            return Ok(());
        }
    }
    if args.ranges.is_empty() {
        return Err("give --ranges a:b,c:d,...".into());
    }
    // SAFETY: the file is this program's input and nothing else writes it while it runs; the map
    // is read-only.
    let map = unsafe { NpyMap::open(&path)? };
    match map.header().dtype {
        DType::F32 => run(map.view2::<f32>()?, &args),
        DType::F64 => run(map.view2::<f64>()?, &args),
        other => Err(format!(
            "{}: correlation needs float32 or float64 prices, not {other}",
            path.display()
        )
        .into()),
    }
}
