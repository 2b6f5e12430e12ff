//! Writes the CSV data set the frame examples and benches read, deterministically (the same
//! bytes on every machine): Dask's `timeseries`-like table of `date,id,name,x,y`.
//!
//! ```text
//! cargo run --release --features frame --example gen_csv -- [DIR] [--files 8] [--rows 1000000]
//! ```
//!
//! - `date`: `2000-01-01` onwards, one day per 86,400 rows; `id`: around 1,000 (a binomial
//!   spread, 900–1,100); `name`: one of 26 first names; `x`, `y`: uniform in `[-1, 1)` with 7
//!   decimals. About 45 bytes a row: 8 files × 1,000,000 rows ≈ 358 MB. Default directory
//!   `$TMPDIR/drask-data/csv-8x1000000`.
//!
//! Prints one JSON line: `{"dir": …, "files": F, "rows": R, "bytes": B, "seconds": S}`. The frame
//! examples and benches include this file as a module, so its `main` is unused there.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Instant;

/// The generator, shared with the examples and benches that include this file.
pub(crate) mod csv_data {
    use std::fs::{self, File};
    use std::io::{self, BufWriter, Write};
    use std::path::{Path, PathBuf};

    /// The 26 names of the `name` column.
    pub(crate) const NAMES: [&str; 26] = [
        "Alice", "Bob", "Charlie", "Dan", "Edith", "Frank", "George", "Hannah", "Ingrid", "Jerry", "Kevin", "Laura",
        "Michael", "Norbert", "Oliver", "Patricia", "Quinn", "Ray", "Sarah", "Tim", "Ursula", "Victor", "Wendy",
        "Xavier", "Yvonne", "Zelda",
    ];

    /// SplitMix64.
    struct Rng(u64);

    impl Rng {
        fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
    }

    /// `$TMPDIR/drask-data/NAME`.
    pub(crate) fn default_dir(name: &str) -> PathBuf {
        std::env::temp_dir().join("drask-data").join(name)
    }

    /// Writes `files` files of `rows` rows into `dir`; returns their paths and total bytes.
    pub(crate) fn write_csv(dir: &Path, files: usize, rows: usize) -> io::Result<(Vec<PathBuf>, u64)> {
        fs::create_dir_all(dir)?;
        let mut paths = Vec::with_capacity(files);
        let mut bytes = 0;
        for f in 0..files {
            let path = dir.join(format!("part-{f:03}.csv"));
            let mut out = BufWriter::with_capacity(1 << 20, File::create(&path)?);
            writeln!(out, "date,id,name,x,y")?;
            let mut rng = Rng(0x5eed_0000 + f as u64);
            for r in 0..rows {
                let row = f * rows + r;
                let day = row / 86_400;
                let (year, month, dom) = civil_from_days(10_957 + day as i64);
                // Binomial(200, 1/2) around 1,000, from the popcount of 200 random bits.
                let spread = rng.next_u64().count_ones()
                    + rng.next_u64().count_ones()
                    + rng.next_u64().count_ones()
                    + (rng.next_u64() & 0xff).count_ones();
                let id = 900 + spread;
                let name = NAMES[(rng.next_u64() % 26) as usize];
                let x = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
                let y = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
                writeln!(out, "{year:04}-{month:02}-{dom:02},{id},{name},{x:.7},{y:.7}")?;
            }
            out.flush()?;
            bytes += fs::metadata(&path)?.len();
            paths.push(path);
        }
        Ok((paths, bytes))
    }

    /// The standard set (8 × 1,000,000 rows), written unless all its files are there.
    pub(crate) fn ensure_csv(dir: &Path) -> io::Result<Vec<PathBuf>> {
        let paths: Vec<PathBuf> = (0..8).map(|f| dir.join(format!("part-{f:03}.csv"))).collect();
        if paths.iter().all(|p| p.exists()) {
            return Ok(paths);
        }
        Ok(write_csv(dir, 8, 1_000_000)?.0)
    }

    /// Year, month, day of a count of days since 1970-01-01 (Howard Hinnant's algorithm).
    fn civil_from_days(z: i64) -> (i64, u32, u32) {
        let z = z + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        (yoe + era * 400 + i64::from(m <= 2), m, d)
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut dir: Option<PathBuf> = None;
    let mut files = 8;
    let mut rows = 1_000_000;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--files" => files = args.next().ok_or("--files N")?.parse()?,
            "--rows" => rows = args.next().ok_or("--rows N")?.parse()?,
            other if !other.starts_with("--") => dir = Some(other.into()),
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    let dir = dir.unwrap_or_else(|| csv_data::default_dir(&format!("csv-{files}x{rows}")));
    let start = Instant::now();
    let (paths, bytes) = csv_data::write_csv(&dir, files, rows)?;
    println!(
        "{}",
        serde_json::json!({
            "dir": dir.display().to_string(),
            "files": paths.len(),
            "rows": files * rows,
            "bytes": bytes,
            "seconds": start.elapsed().as_secs_f64(),
        })
    );
    Ok(())
}
