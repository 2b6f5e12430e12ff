//! Dask's array tutorial on drask: a random 20000 x 20000 `f64` array in 2000 x 2000 blocks,
//! `(x + x.T).mean(axis=0).sum()` and `x.std()`; and the same from a memory-mapped `.npy` file.
//!
//! ```text
//! cargo run --release --example array_ops -- [--size 20000] [--block 2000] [--npy PATH]
//! ```
//! Prints one JSON line per computation:
//! `{"source": "random"|"npy", "expression": "...", "shape": [N, N], "block": [B, B],
//! "result": R, "seconds": S}` (seconds include building the graph). With `--npy`, the file must
//! hold a square 2-D `f64` array; `--block` applies to it too.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use drask::array::Array;
use drask::array::ndarray::Ix2;
use drask::array::npy::NpyMap;
use drask::prelude::*;

fn report(source: &str, expression: &str, x: &Array<f64, Ix2>, result: f64, seconds: f64) {
    let block: Vec<usize> = x.chunks().axes().iter().map(|a| a[0]).collect();
    println!(
        "{}",
        serde_json::json!({
            "source": source,
            "expression": expression,
            "shape": x.shape(),
            "block": block,
            "result": result,
            "seconds": seconds,
        })
    );
}

fn run(source: &str, make: impl Fn() -> drask::Result<Array<f64, Ix2>>) -> drask::Result<()> {
    let start = Instant::now();
    let x = make()?;
    let total = (&x + &x.t()).mean_axis(0)?.sum().compute()?;
    report(
        source,
        "(x + x.T).mean(axis=0).sum()",
        &x,
        total,
        start.elapsed().as_secs_f64(),
    );
    let start = Instant::now();
    let x = make()?;
    let std = x.std(0).compute()?;
    report(source, "x.std()", &x, std, start.elapsed().as_secs_f64());
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (mut size, mut block, mut npy) = (20_000_usize, 2_000_usize, None::<PathBuf>);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--size" => size = value.parse()?,
            "--block" => block = value.parse()?,
            "--npy" => npy = Some(value.into()),
            _ => {
                return Err(
                    format!("unknown flag {flag}; usage: array_ops [--size N] [--block B] [--npy PATH]").into(),
                );
            }
        }
    }
    run("random", || {
        Array::<f64, Ix2>::random_uniform(0, &[size, size], &[block, block], 0.0, 1.0)
    })?;
    if let Some(path) = npy {
        // SAFETY: the file is this program's input and nothing writes it while it is mapped.
        let map = Arc::new(unsafe { NpyMap::open(&path)? });
        run("npy", || Array::<f64, Ix2>::from_npy_map(map.clone(), &[block, block]))?;
    }
    Ok(())
}
