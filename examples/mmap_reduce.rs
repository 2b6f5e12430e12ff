//! A reduction over a memory-mapped `.npy` file larger than a memory budget, with bounded
//! resident memory: `x.sum()` and `x.std()` in one compute, reading blocks in place and dropping
//! their pages once read (`NpyMap::with_release_after_read`), checked against an independent
//! streaming pass over the file with plain `std::io`.
//!
//! ```text
//! cargo run --release --example mmap_reduce -- [--gib 8] [--budget-mib 1024] [--block-mib 64]
//!     [--npy PATH] [--no-release] [--keep]
//! ```
//! Without `--npy`, writes a `GIB` GiB file of `f64` (rows of 1024) to the temp directory first
//! and deletes it at the end (unless `--keep`); with `--npy`, reduces that file (a 2-D `f64`
//! array), which is left alone. Blocks are `BLOCK` MiB of whole rows. Prints one JSON line:
//! `{"file_gib", "budget_mib", "block_mib", "release", "sum", "std", "expected_sum",
//! "expected_std", "ok", "seconds", "gb_per_s", "peak_rss_file_mib", "peak_rss_anon_mib",
//! "vm_hwm_mib", "within_budget", "check_seconds"}`. The peaks of `RssFile` (mapped file pages
//! resident in this process) and `RssAnon` (heap) are sampled from `/proc/self/status` every
//! 5 ms during the compute; `VmHWM` is the kernel's peak resident set over the whole run (file
//! writing included). Exits with an error if the result is wrong or the sampled resident peak
//! exceeds the budget (with release on).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use drask::array::Array;
use drask::array::ndarray::{Array2, Ix2};
use drask::array::npy::{NpyMap, NpyWriter, read_header};

const COLS: usize = 1024;

/// Kibibytes of a `/proc/self/status` field (`VmHWM`, `RssAnon`, `RssFile`), 0 where absent.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The value at flat index `i` of the generated file: deterministic, spread over [50, 1050).
fn value(i: u64) -> f64 {
    50.0 + (i.wrapping_mul(2_654_435_761) % 1_000_003) as f64 / 1000.0
}

/// Writes a `rows x COLS` file a strip of `strip` rows at a time.
fn write_file(path: &Path, rows: usize, strip: usize) -> drask::Result<()> {
    let mut writer = NpyWriter::<f64>::create(path, &[rows, COLS])?;
    let mut start = 0;
    while start < rows {
        let n = strip.min(rows - start);
        let block = Array2::from_shape_fn((n, COLS), |(i, j)| value(((start + i) * COLS + j) as u64));
        writer.write_rows(block.view())?;
        start += n;
    }
    writer.finish()
}

/// Sum and population standard deviation of the file's `f64` data, streamed through a 4 MiB
/// buffer with Welford/Chan updates: independent of the array code.
fn streaming_check(path: &Path) -> Result<(f64, f64), Box<dyn std::error::Error>> {
    let mut file = std::fs::File::open(path)?;
    let header = read_header(&mut std::fs::File::open(path)?)?;
    let mut skip = vec![0_u8; header.data_offset];
    file.read_exact(&mut skip)?;
    let mut buf = vec![0_u8; 4 << 20];
    let (mut n, mut mean, mut m2, mut sum) = (0_f64, 0_f64, 0_f64, 0_f64);
    let mut left = header.data_bytes();
    while left > 0 {
        let chunk = &mut buf[..left.min(4 << 20)];
        file.read_exact(chunk)?;
        left -= chunk.len();
        // One buffer's mean and M2, merged into the running totals (Chan et al.).
        let values: Vec<f64> = chunk
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
            .collect();
        let nb = values.len() as f64;
        let mb = values.iter().sum::<f64>() / nb;
        let m2b: f64 = values.iter().map(|v| (v - mb) * (v - mb)).sum();
        sum += values.iter().sum::<f64>();
        let delta = mb - mean;
        let total = n + nb;
        mean += delta * nb / total;
        m2 += m2b + delta * delta * n * nb / total;
        n = total;
    }
    Ok((sum, (m2 / n).sqrt()))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (mut gib, mut budget_mib, mut block_mib) = (8.0_f64, 1024_u64, 64_usize);
    let (mut npy, mut release, mut keep) = (None::<PathBuf>, true, false);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--no-release" => release = false,
            "--keep" => keep = true,
            _ => {
                let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
                match flag.as_str() {
                    "--gib" => gib = value.parse()?,
                    "--budget-mib" => budget_mib = value.parse()?,
                    "--block-mib" => block_mib = value.parse()?,
                    "--npy" => npy = Some(value.into()),
                    _ => return Err(format!("unknown flag {flag}").into()),
                }
            }
        }
    }
    let generated = npy.is_none();
    let path = match npy {
        Some(path) => path,
        None => {
            let path = std::env::temp_dir().join(format!("drask-mmap-reduce-{}.npy", std::process::id()));
            let rows = ((gib * (1u64 << 30) as f64) as usize / (COLS * 8)).max(1);
            eprintln!(
                "writing {rows} x {COLS} f64 ({:.2} GiB) to {}",
                (rows * COLS * 8) as f64 / (1u64 << 30) as f64,
                path.display()
            );
            write_file(&path, rows, (64 << 20) / (COLS * 8))?;
            path
        }
    };
    let result = reduce(&path, budget_mib, block_mib, release);
    if generated && !keep {
        std::fs::remove_file(&path)?;
    }
    result
}

fn reduce(path: &Path, budget_mib: u64, block_mib: usize, release: bool) -> Result<(), Box<dyn std::error::Error>> {
    // SAFETY: the file is this example's own (or the caller's, who promises not to change it
    // while the example runs); nothing writes to it while it is mapped.
    let map = Arc::new(unsafe { NpyMap::open(path)? }.with_release_after_read(release));
    let shape = map.header().shape.clone();
    let row_bytes = shape.iter().skip(1).product::<usize>() * 8;
    let block_rows = ((block_mib << 20) / row_bytes.max(1)).max(1);
    let x = Array::<f64, Ix2>::from_npy_map(map.clone(), &[block_rows, shape[1]])?;
    let bytes = map.header().data_bytes() as f64;

    // Sample the resident set while the compute runs.
    let done = Arc::new(AtomicBool::new(false));
    let (peak_file, peak_anon) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let sampler = {
        let (done, peak_file, peak_anon) = (done.clone(), peak_file.clone(), peak_anon.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                peak_file.fetch_max(status_kib("RssFile"), Ordering::Relaxed);
                peak_anon.fetch_max(status_kib("RssAnon"), Ordering::Relaxed);
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        })
    };
    let start = Instant::now();
    let (sum, std) = drask::compute((x.sum(), x.std(0)))?;
    let seconds = start.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    sampler.join().map_err(|_| "the sampler thread panicked")?;
    drop((x, map));

    let check = Instant::now();
    let (expected_sum, expected_std) = streaming_check(path)?;
    let check_seconds = check.elapsed().as_secs_f64();
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
    let ok = close(sum, expected_sum) && close(std, expected_std);
    let mib = |kib: u64| kib as f64 / 1024.0;
    let (peak_file, peak_anon) = (peak_file.load(Ordering::Relaxed), peak_anon.load(Ordering::Relaxed));
    let within_budget = mib(peak_file + peak_anon) <= budget_mib as f64;
    println!(
        "{}",
        serde_json::json!({
            "file_gib": bytes / (1u64 << 30) as f64,
            "budget_mib": budget_mib,
            "block_mib": (block_rows * row_bytes) as f64 / (1 << 20) as f64,
            "release": release,
            "sum": sum,
            "std": std,
            "expected_sum": expected_sum,
            "expected_std": expected_std,
            "ok": ok,
            "seconds": seconds,
            "gb_per_s": bytes / seconds / 1e9,
            "peak_rss_file_mib": mib(peak_file),
            "peak_rss_anon_mib": mib(peak_anon),
            "vm_hwm_mib": mib(status_kib("VmHWM")),
            "within_budget": within_budget,
            "check_seconds": check_seconds,
        })
    );
    if !ok {
        return Err(format!("wrong result: sum {sum} std {std}, expected {expected_sum} and {expected_std}").into());
    }
    if release && !within_budget {
        return Err(format!("resident memory peaked over the budget of {budget_mib} MiB").into());
    }
    Ok(())
}
