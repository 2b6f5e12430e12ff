//! Classic word frequencies over text files with a Bag: read lines, split into words, count
//! them, keep the most frequent.
//!
//! ```text
//! cargo run --release --example gen_data -- text          # 20 files × 10 MiB
//! cargo run --release --example wordcount -- --glob "$TMPDIR/drask-data/text-20x10mb/*.txt" --k 10
//! ```
//!
//! Prints one JSON line on stdout:
//! `{"files": F, "words": W, "distinct": D, "top": [[word, count], ...], "seconds": S}`.
//! Words are runs of non-whitespace with leading and trailing punctuation removed, lowercased.
//! Details go to stderr.
//!
//! Options: `--method partitions` (default) counts each partition's words in a `HashMap`
//! (`map_partitions`) and adds the counts up with `foldby`; `--method words` is the textbook
//! pipeline, `flat_map` into one `String` per word, then `frequencies` (slower: an allocation
//! per word). `--compare` also runs a hand-written serial loop and a rayon loop (which count
//! borrowed `&str`s in a `HashMap` and allocate only for new words), best of three each;
//! `--generate` writes the standard data set into its default directory if it is not there
//! (then `--glob` may be left out).
#![allow(dead_code)]

#[path = "gen_data.rs"]
mod gen_data;

use std::cmp::Reverse;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use drask::prelude::*;
use gen_data::data;
use rayon::prelude::*;

/// A word as counted: punctuation trimmed, lowercased; `None` if nothing is left.
fn normalize(word: &str) -> Option<String> {
    let w = word.trim_matches(|c: char| !c.is_alphanumeric());
    (!w.is_empty()).then(|| w.to_lowercase())
}

type Top = Vec<(String, u64)>;

/// How the bag counts.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Method {
    /// Each partition counts its own words in a `HashMap` (`map_partitions`), then `foldby`
    /// adds the counts of each word across partitions: one allocation per distinct word and
    /// partition, not per word.
    Partitions,
    /// The textbook pipeline: `flat_map` lines into words (one `String` each), `frequencies`.
    Words,
}

fn run_bag(glob: &str, k: usize, method: Method) -> drask::Result<(usize, u64, u64, Top)> {
    let lines = Bag::read_text(glob)?;
    let files = lines.npartitions();
    let counts: Bag<(String, u64)> = match method {
        Method::Words => lines
            .flat_map(|line: String| line.split_whitespace().filter_map(normalize).collect::<Vec<_>>())
            .frequencies(),
        Method::Partitions => lines
            .map_partitions(|lines: Vec<String>| {
                let mut counts = HashMap::new();
                for line in &lines {
                    count_words(line, &mut counts);
                }
                counts.into_iter().collect()
            })
            .foldby(
                |(w, _): &(String, u64)| w.clone(),
                0,
                |acc, (_, n)| acc + n,
                |a, b| a + b,
            ),
    };
    let total = counts.map(|(_, n): (String, u64)| n).sum();
    let distinct = counts.count();
    let top = counts.topk(k, |(w, n): &(String, u64)| (*n, Reverse(w.clone())));
    let (total, distinct, top) = drask::compute((total, distinct, top))?;
    Ok((files, total, distinct, top))
}

/// Adds the words of `text` to `counts`, allocating only for words not seen before.
fn count_words(text: &str, counts: &mut HashMap<String, u64>) {
    for word in text.split_whitespace() {
        let w = word.trim_matches(|c: char| !c.is_alphanumeric());
        if w.is_empty() {
            continue;
        }
        let lower;
        let w = if w.chars().any(char::is_uppercase) {
            lower = w.to_lowercase();
            &lower
        } else {
            w
        };
        match counts.get_mut(w) {
            Some(n) => *n += 1,
            None => {
                counts.insert(w.to_string(), 1);
            }
        }
    }
}

fn count_file(path: &PathBuf) -> std::io::Result<HashMap<String, u64>> {
    let text = std::fs::read_to_string(path)?;
    let mut counts = HashMap::new();
    count_words(&text, &mut counts);
    Ok(counts)
}

fn merge(mut a: HashMap<String, u64>, b: HashMap<String, u64>) -> HashMap<String, u64> {
    for (w, n) in b {
        *a.entry(w).or_default() += n;
    }
    a
}

fn summarize(counts: HashMap<String, u64>, k: usize) -> (u64, u64, Top) {
    let total = counts.values().sum();
    let distinct = counts.len() as u64;
    let mut all: Vec<(String, u64)> = counts.into_iter().collect();
    all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    all.truncate(k);
    (total, distinct, all)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut glob: Option<String> = None;
    let mut k = 10;
    let mut compare = false;
    let mut generate = false;
    let mut method = Method::Partitions;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--glob" => glob = Some(args.next().ok_or("--glob PATTERN")?),
            "--k" => k = args.next().ok_or("--k K")?.parse()?,
            "--compare" => compare = true,
            "--method" => {
                method = match args.next().as_deref() {
                    Some("partitions") => Method::Partitions,
                    Some("words") => Method::Words,
                    _ => return Err("--method partitions|words".into()),
                }
            }
            "--generate" => generate = true,
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    let default_dir = data::default_dir("text-20x10mb");
    if generate {
        data::ensure_text(&default_dir)?;
    }
    let glob = match glob {
        Some(glob) => glob,
        None if generate => default_dir.join("*.txt").to_string_lossy().into_owned(),
        None => return Err("usage: wordcount --glob PATTERN [--k K] (or --generate)".into()),
    };

    let start = Instant::now();
    let (files, words, distinct, top) = run_bag(&glob, k, method)?;
    let seconds = start.elapsed().as_secs_f64();
    let line = serde_json::json!({
        "files": files,
        "words": words,
        "distinct": distinct,
        "top": top.iter().map(|(w, n)| serde_json::json!([w, n])).collect::<Vec<_>>(),
        "seconds": seconds,
    });
    println!("{line}");
    let threads = rayon::current_num_threads();
    eprintln!(
        "bag ({method:?}, {threads} threads): {words} words in {seconds:.3} s = {:.1} M words/s",
        words as f64 / seconds / 1e6
    );

    if compare {
        let paths = drask::bag::Source::from(glob.as_str()).paths()?;
        let (bag_s, bag_out) = gen_data::best_of(3, || run_bag(&glob, k, method));
        let (serial_s, serial_out) = gen_data::best_of(3, || -> std::io::Result<_> {
            let mut all = HashMap::new();
            for p in &paths {
                all = merge(all, count_file(p)?);
            }
            Ok(summarize(all, k))
        });
        let (rayon_s, rayon_out) = gen_data::best_of(3, || -> std::io::Result<_> {
            let all = paths
                .par_iter()
                .map(count_file)
                .try_reduce(HashMap::new, |a, b| Ok(merge(a, b)))?;
            Ok(summarize(all, k))
        });
        let (_, bag_words, bag_distinct, bag_top) = bag_out?;
        let serial_out = serial_out?;
        assert_eq!(
            (bag_words, bag_distinct, bag_top),
            serial_out,
            "the bag and the serial loop disagree"
        );
        assert_eq!(rayon_out?, serial_out, "the rayon loop disagrees");
        eprintln!("{} files, {threads} threads, best of 3:", paths.len());
        eprintln!(
            "  bag          {bag_s:.3} s  {:.1} M words/s",
            words as f64 / bag_s / 1e6
        );
        eprintln!("  serial loop  {serial_s:.3} s");
        eprintln!("  rayon loop   {rayon_s:.3} s");
    }
    Ok(())
}
