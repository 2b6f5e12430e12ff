//! Writes the synthetic data sets the bag examples and benches read, deterministically (the same
//! bytes on every machine), and holds the hand-written serial and rayon loops they are compared
//! with.
//!
//! ```text
//! cargo run --release --example gen_data -- json [DIR] [--files 32] [--records 100000]
//! cargo run --release --example gen_data -- text [DIR] [--files 20] [--mb 10]
//! ```
//!
//! - `json`: JSON lines, `{"id":…,"name":…,"amount":…,"tags":[…]}` (two in five records have
//!   tags), about 48 bytes a record
//!   (32 files × 100,000 records ≈ 155 MB), names drawn from 1,000 with a Zipf(1) skew; default
//!   directory `$TMPDIR/drask-data/json-32x100000`.
//! - `text`: lines of lowercase pseudo-words from a 5,000-word Zipf vocabulary, with commas and
//!   periods, `MB` MiB per file; default directory `$TMPDIR/drask-data/text-20x10mb`.
//!
//! Prints one JSON line: `{"dir": …, "files": F, "bytes": B, "seconds": S}`. The other examples
//! include this file as a module (`--generate`), so its `main` is unused there.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Instant;

/// Data set generators.
pub(crate) mod data {
    use std::fs::{self, File};
    use std::io::{self, BufWriter, Write};
    use std::path::{Path, PathBuf};

    /// SplitMix64: a tiny, good-enough, portable generator.
    #[derive(Debug)]
    pub(crate) struct Rng(u64);

    impl Rng {
        /// A generator seeded with `seed`.
        pub(crate) fn new(seed: u64) -> Rng {
            Rng(seed)
        }

        /// The next 64 random bits.
        pub(crate) fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        /// Uniform in `0..n`.
        pub(crate) fn below(&mut self, n: u64) -> u64 {
            ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
        }

        /// Uniform in `[0, 1)`.
        pub(crate) fn unit(&mut self) -> f64 {
            (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// Samples ranks `0..n` with probability proportional to `1 / (rank + 1)^s`.
    #[derive(Debug)]
    pub(crate) struct Zipf {
        cdf: Vec<f64>,
    }

    impl Zipf {
        /// Ranks `0..n` with exponent `s`.
        pub(crate) fn new(n: usize, s: f64) -> Zipf {
            let mut total = 0.0;
            let mut cdf: Vec<f64> = (0..n)
                .map(|r| {
                    total += 1.0 / ((r + 1) as f64).powf(s);
                    total
                })
                .collect();
            for c in &mut cdf {
                *c /= total;
            }
            Zipf { cdf }
        }

        /// One rank.
        pub(crate) fn sample(&self, rng: &mut Rng) -> usize {
            let u = rng.unit();
            self.cdf.partition_point(|&c| c <= u).min(self.cdf.len() - 1)
        }
    }

    const SYLLABLES: [&str; 32] = [
        "ka", "lo", "mi", "ra", "ne", "to", "sa", "vi", "du", "be", "ri", "na", "lu", "ko", "ze", "fa", "mo", "ti",
        "ga", "pe", "yo", "ha", "di", "ju", "ce", "wo", "xi", "bu", "qe", "so", "li", "ma",
    ];

    /// `n` distinct words of `syllables` syllables each, in a scrambled but fixed order.
    pub(crate) fn words(n: usize, syllables: usize, seed: u64) -> Vec<String> {
        let mut rng = Rng::new(seed);
        let total = SYLLABLES.len().pow(syllables as u32);
        assert!(n <= total, "not enough distinct words");
        // A fixed permutation of all codes, then the first n of them.
        let mut codes: Vec<usize> = (0..total).collect();
        for i in (1..codes.len()).rev() {
            codes.swap(i, rng.below(i as u64 + 1) as usize);
        }
        codes[..n]
            .iter()
            .map(|&code| {
                let mut word = String::new();
                let mut c = code;
                for _ in 0..syllables {
                    word.push_str(SYLLABLES[c % SYLLABLES.len()]);
                    c /= SYLLABLES.len();
                }
                word
            })
            .collect()
    }

    /// The 1,000 names, capitalized: "Kalo", "Mira", …
    pub(crate) fn names() -> Vec<String> {
        words(1000, 2, 7)
            .into_iter()
            .map(|w| {
                let mut c = w.chars();
                let first = c.next().unwrap().to_ascii_uppercase();
                std::iter::once(first).chain(c).collect()
            })
            .collect()
    }

    const TAGS: [&str; 6] = ["new", "vip", "eu", "us", "web", "app"];

    /// Writes `files` JSON-lines files of `records` records each into `dir`, named
    /// `part-000.jsonl`, …; returns the paths and the total size in bytes.
    pub(crate) fn write_json(dir: &Path, files: usize, records: usize) -> io::Result<(Vec<PathBuf>, u64)> {
        fs::create_dir_all(dir)?;
        let names = names();
        let zipf = Zipf::new(names.len(), 1.0);
        let mut paths = Vec::new();
        let mut bytes = 0;
        for f in 0..files {
            let path = dir.join(format!("part-{f:03}.jsonl"));
            let mut rng = Rng::new(1_000_003 * f as u64 + 17);
            let mut out = BufWriter::with_capacity(1 << 20, File::create(&path)?);
            for i in 0..records {
                let id = f * records + i;
                let name = &names[zipf.sample(&mut rng)];
                let amount = rng.below(2000) as i64 - 500;
                write!(out, "{{\"id\":{id},\"name\":\"{name}\",\"amount\":{amount}")?;
                // Two records in five are tagged, with one or two tags.
                if rng.below(5) < 2 {
                    let ntags = 1 + rng.below(2);
                    write!(out, ",\"tags\":[")?;
                    for t in 0..ntags {
                        let sep = if t == 0 { "" } else { "," };
                        write!(out, "{sep}\"{}\"", TAGS[rng.below(TAGS.len() as u64) as usize])?;
                    }
                    write!(out, "]")?;
                }
                writeln!(out, "}}")?;
            }
            out.flush()?;
            drop(out);
            bytes += fs::metadata(&path)?.len();
            paths.push(path);
        }
        Ok((paths, bytes))
    }

    /// Writes `files` text files of `bytes_per_file` bytes (rounded to whole lines) into `dir`,
    /// named `text-00.txt`, …; returns the paths and the total size in bytes.
    pub(crate) fn write_text(dir: &Path, files: usize, bytes_per_file: u64) -> io::Result<(Vec<PathBuf>, u64)> {
        fs::create_dir_all(dir)?;
        let vocabulary: Vec<String> = (1..=3)
            .flat_map(|syllables| words([24, 976, 4000][syllables - 1], syllables, 11 + syllables as u64))
            .collect();
        let zipf = Zipf::new(vocabulary.len(), 1.07);
        let mut paths = Vec::new();
        let mut total = 0;
        for f in 0..files {
            let path = dir.join(format!("text-{f:02}.txt"));
            let mut rng = Rng::new(2_000_029 * f as u64 + 5);
            let mut out = BufWriter::with_capacity(1 << 20, File::create(&path)?);
            let mut written = 0u64;
            let mut line = String::new();
            while written < bytes_per_file {
                line.clear();
                let nwords = 6 + rng.below(10);
                for w in 0..nwords {
                    if w > 0 {
                        line.push(' ');
                    }
                    line.push_str(&vocabulary[zipf.sample(&mut rng)]);
                    match rng.below(20) {
                        0 => line.push(','),
                        1 => line.push('.'),
                        _ => {}
                    }
                }
                line.push('\n');
                out.write_all(line.as_bytes())?;
                written += line.len() as u64;
            }
            out.flush()?;
            total += written;
            paths.push(path);
        }
        Ok((paths, total))
    }

    /// The default directory of a data set: `$TMPDIR/drask-data/NAME`.
    pub(crate) fn default_dir(name: &str) -> PathBuf {
        std::env::temp_dir().join("drask-data").join(name)
    }

    /// The standard JSON set (32 × 100,000 records), written unless all its files are there.
    pub(crate) fn ensure_json(dir: &Path) -> io::Result<()> {
        ensure(dir, 32, "jsonl", |d| write_json(d, 32, 100_000).map(drop))
    }

    /// The standard text set (20 × 10 MiB), written unless all its files are there.
    pub(crate) fn ensure_text(dir: &Path) -> io::Result<()> {
        ensure(dir, 20, "txt", |d| write_text(d, 20, 10 << 20).map(drop))
    }

    fn ensure(dir: &Path, files: usize, ext: &str, write: impl FnOnce(&Path) -> io::Result<()>) -> io::Result<()> {
        let present = fs::read_dir(dir)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter(|e| e.path().extension().is_some_and(|x| x == ext))
                    .count()
            })
            .unwrap_or(0);
        if present == files {
            return Ok(());
        }
        eprintln!("writing the data set into {} …", dir.display());
        write(dir)
    }
}

/// The best wall time of `runs` runs of `f`, and the last run's result.
pub(crate) fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::INFINITY;
    let mut last = None;
    for _ in 0..runs {
        let start = std::time::Instant::now();
        let out = f();
        best = best.min(start.elapsed().as_secs_f64());
        last = Some(out);
    }
    (best, last.expect("at least one run"))
}

/// The hand-written loops the bag examples are compared with.
pub(crate) mod baseline {
    use std::collections::HashMap;
    use std::fs::File;
    use std::io::{self, BufRead, BufReader};
    use std::path::PathBuf;

    use rayon::prelude::*;
    use serde_json::Value;

    /// Field `name` of a JSON object, the rest skipped (`Null` if absent): the same parser the
    /// bag uses, so the comparison measures orchestration, not parsing.
    pub(crate) fn field(line: &str, name: &str) -> serde_json::Result<Value> {
        drask::bag::json_field(line, name)
    }

    /// Counts the values of `name` in one JSON-lines file; `full` parses whole records.
    pub(crate) fn count_file(path: &PathBuf, name: &str, full: bool) -> io::Result<(u64, HashMap<Value, u64>)> {
        let mut reader = BufReader::with_capacity(1 << 20, File::open(path)?);
        let mut counts: HashMap<Value, u64> = HashMap::new();
        let mut records = 0;
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                break;
            }
            let text = line.trim_end_matches(['\n', '\r']);
            if text.trim().is_empty() {
                continue;
            }
            let value = if full {
                serde_json::from_str::<Value>(text).map(|mut v| v[name].take())
            } else {
                field(text, name)
            }
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            *counts.entry(value).or_default() += 1;
            records += 1;
        }
        Ok((records, counts))
    }

    /// The `k` most frequent values, most frequent first (ties by value text).
    pub(crate) fn top(counts: HashMap<Value, u64>, k: usize) -> Vec<(Value, u64)> {
        let mut all: Vec<(Value, u64)> = counts.into_iter().collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.to_string().cmp(&b.0.to_string())));
        all.truncate(k);
        all
    }

    /// The serial loop: one file after another.
    pub(crate) fn topk_serial(
        paths: &[PathBuf],
        name: &str,
        k: usize,
        full: bool,
    ) -> io::Result<(u64, Vec<(Value, u64)>)> {
        let mut total = HashMap::new();
        let mut records = 0;
        for path in paths {
            let (n, counts) = count_file(path, name, full)?;
            records += n;
            for (v, c) in counts {
                *total.entry(v).or_default() += c;
            }
        }
        Ok((records, top(total, k)))
    }

    /// The rayon loop: files in parallel, counts merged.
    pub(crate) fn topk_rayon(
        paths: &[PathBuf],
        name: &str,
        k: usize,
        full: bool,
    ) -> io::Result<(u64, Vec<(Value, u64)>)> {
        let (records, total) = paths.par_iter().map(|p| count_file(p, name, full)).try_reduce(
            || (0, HashMap::new()),
            |(n1, mut a), (n2, b)| {
                for (v, c) in b {
                    *a.entry(v).or_default() += c;
                }
                Ok((n1 + n2, a))
            },
        )?;
        Ok((records, top(total, k)))
    }

    /// Reads a file, sorts its characters (a counting sort when they are all ASCII, a
    /// comparison sort of `char`s otherwise), counts each character's run; returns the total.
    pub(crate) fn count_letters(path: &PathBuf) -> io::Result<u64> {
        let bytes = std::fs::read(path)?;
        let total: u64 = if bytes.is_ascii() {
            let mut counts = [0usize; 128];
            for &b in &bytes {
                counts[b as usize] += 1;
            }
            let mut sorted = Vec::with_capacity(bytes.len());
            for (b, &n) in counts.iter().enumerate() {
                sorted.resize(sorted.len() + n, b as u8);
            }
            run_lengths(&sorted).iter().map(|&(_, n)| n).sum()
        } else {
            let text = String::from_utf8_lossy(&bytes);
            let mut chars: Vec<char> = text.chars().collect();
            chars.sort_unstable();
            run_lengths(&chars).iter().map(|&(_, n)| n).sum()
        };
        Ok(total)
    }

    /// `(item, how many in a row)` for each run of equal items.
    pub(crate) fn run_lengths<T: PartialEq + Copy>(sorted: &[T]) -> Vec<(T, u64)> {
        let mut runs: Vec<(T, u64)> = Vec::new();
        for &x in sorted {
            match runs.last_mut() {
                Some((y, n)) if *y == x => *n += 1,
                _ => runs.push((x, 1)),
            }
        }
        runs
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let kind = args.next().unwrap_or_else(|| "json".into());
    let mut dir: Option<PathBuf> = None;
    let mut files: Option<usize> = None;
    let mut records = 100_000;
    let mut mb = 10;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--files" => files = Some(args.next().ok_or("--files N")?.parse()?),
            "--records" => records = args.next().ok_or("--records N")?.parse()?,
            "--mb" => mb = args.next().ok_or("--mb N")?.parse()?,
            other if !other.starts_with("--") => dir = Some(other.into()),
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    let start = Instant::now();
    let (dir, (paths, bytes)) = match kind.as_str() {
        "json" => {
            let files = files.unwrap_or(32);
            let dir = dir.unwrap_or_else(|| data::default_dir(&format!("json-{files}x{records}")));
            let written = data::write_json(&dir, files, records)?;
            (dir, written)
        }
        "text" => {
            let files = files.unwrap_or(20);
            let dir = dir.unwrap_or_else(|| data::default_dir(&format!("text-{files}x{mb}mb")));
            let written = data::write_text(&dir, files, mb << 20)?;
            (dir, written)
        }
        other => return Err(format!("unknown data set {other:?}: json or text").into()),
    };
    let line = serde_json::json!({
        "dir": dir,
        "files": paths.len(),
        "bytes": bytes,
        "seconds": start.elapsed().as_secs_f64(),
    });
    println!("{line}");
    Ok(())
}
