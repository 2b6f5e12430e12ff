//! A Delayed pipeline written as plain for-loops, with sleeps standing in for I/O and compute:
//! load 100 files and one reference; process each file against the reference; roll every sliding
//! window of three processed results; compare 200 random pairs of rolled results; keep the best.
//!
//! ```text
//! cargo run --release --example pipeline -- [--scale 0.01] [--threads N] [--files 100] [--pairs 200] [--seed 7]
//! ```
//! `--scale` (default 0.01) is seconds of simulated work per unit (a load is 1 unit, a process 0.5, a roll 0.2,
//! a compare 0.1, the final reduce 0.1); `--threads` may exceed the cores, since sleeping tasks
//! wait like I/O does. Prints one JSON line with the result, the wall time (building the graph
//! included), the number of tasks, the critical path and total work of the simulated sleeps, and
//! the ratio of the wall time to the ideal bound max(critical path, total work / threads).

use std::sync::Arc;
use std::thread::sleep;
use std::time::{Duration, Instant};

use drask::prelude::*;
use drask::sched::Threaded;

/// A loaded file: a deterministic pseudo-random series.
#[derive(Debug, Clone)]
struct Series {
    id: usize,
    values: Arc<Vec<f64>>,
}

/// The best comparison found.
#[derive(Debug, Clone, PartialEq)]
struct Best {
    pair: (usize, usize),
    score: f64,
}

struct Sim {
    scale: f64,
}

impl Sim {
    fn work(&self, units: f64) {
        sleep(Duration::from_secs_f64(units * self.scale));
    }
}

const LOAD: f64 = 1.0;
const PROCESS: f64 = 0.5;
const ROLL: f64 = 0.2;
const COMPARE: f64 = 0.1;
const REDUCE: f64 = 0.1;

/// xorshift64*: a small deterministic generator, so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn series(id: usize, len: usize) -> Vec<f64> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (id as u64 + 1));
    let mut level = 0.0;
    (0..len)
        .map(|_| {
            level += rng.unit() - 0.5;
            level
        })
        .collect()
}

/// Critical-path bookkeeping beside the graph: each value's earliest finish and the total work.
#[derive(Default)]
struct Ideal {
    work: f64,
}

impl Ideal {
    fn task(&mut self, units: f64, inputs: &[f64]) -> f64 {
        self.work += units;
        units + inputs.iter().copied().fold(0.0, f64::max)
    }
}

struct Args {
    scale: f64,
    threads: usize,
    files: usize,
    pairs: usize,
    seed: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut parsed = Args {
        scale: 0.01,
        threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
        files: 100,
        pairs: 200,
        seed: 7,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag} {value}: {e}");
        match flag.as_str() {
            "--scale" => parsed.scale = value.parse().map_err(|e| bad(&e))?,
            "--threads" => parsed.threads = value.parse().map_err(|e| bad(&e))?,
            "--files" => parsed.files = value.parse().map_err(|e| bad(&e))?,
            "--pairs" => parsed.pairs = value.parse().map_err(|e| bad(&e))?,
            "--seed" => parsed.seed = value.parse().map_err(|e| bad(&e))?,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    if parsed.files < 3 || parsed.threads == 0 || parsed.scale < 0.0 {
        return Err("need --files >= 3, --threads >= 1 and --scale >= 0".into());
    }
    Ok(parsed)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let executor = Threaded::with_threads(args.threads)?;
    let sim = Arc::new(Sim { scale: args.scale });
    let mut ideal = Ideal::default();
    let start = Instant::now();

    // The pipeline, as ordinary loops; `ideal` mirrors it to know the best possible time.
    let s = sim.clone();
    let load = delayed(move |id: &usize| {
        s.work(LOAD);
        Series {
            id: *id,
            values: Arc::new(series(*id, 1_000)),
        }
    })
    .name("load");
    let reference = load.call((usize::MAX,));
    let reference_done = ideal.task(LOAD, &[]);
    let s = sim.clone();
    let process = delayed(move |file: &Series, reference: &Series| {
        s.work(PROCESS);
        let values = file
            .values
            .iter()
            .zip(reference.values.iter())
            .map(|(x, r)| x - r)
            .collect();
        Series {
            id: file.id,
            values: Arc::new(values),
        }
    })
    .name("process");
    let mut processed = Vec::new();
    let mut processed_done = Vec::new();
    for id in 0..args.files {
        processed.push(process.call((load.call((id,)), &reference)));
        let loaded = ideal.task(LOAD, &[]);
        processed_done.push(ideal.task(PROCESS, &[loaded, reference_done]));
    }
    let s = sim.clone();
    let roll = delayed(move |a: &Series, b: &Series, c: &Series| {
        s.work(ROLL);
        let values = (0..a.values.len())
            .map(|i| (a.values[i] + b.values[i] + c.values[i]) / 3.0)
            .collect();
        Series {
            id: a.id,
            values: Arc::new(values),
        }
    })
    .name("roll");
    let mut rolled = Vec::new();
    let mut rolled_done = Vec::new();
    for i in 0..args.files - 2 {
        rolled.push(roll.call((&processed[i], &processed[i + 1], &processed[i + 2])));
        rolled_done.push(ideal.task(ROLL, &processed_done[i..i + 3]));
    }
    let s = sim.clone();
    let compare = delayed(move |a: &Series, b: &Series| {
        s.work(COMPARE);
        let score = a
            .values
            .iter()
            .zip(b.values.iter())
            .map(|(x, y)| -(x - y).abs())
            .sum::<f64>();
        Best {
            pair: (a.id, b.id),
            score,
        }
    })
    .name("compare");
    let mut rng = Rng(args.seed.max(1));
    let mut compared = Vec::new();
    let mut compared_done = Vec::new();
    let possible = rolled.len() * (rolled.len() - 1) / 2;
    if args.pairs > possible {
        return Err(format!("only {possible} distinct pairs of rolled results exist").into());
    }
    let mut seen = std::collections::HashSet::new();
    while compared.len() < args.pairs {
        let a = rng.next() as usize % rolled.len();
        let b = rng.next() as usize % rolled.len();
        if a == b || !seen.insert((a.min(b), a.max(b))) {
            continue;
        }
        compared.push(compare.call((&rolled[a], &rolled[b])));
        compared_done.push(ideal.task(COMPARE, &[rolled_done[a], rolled_done[b]]));
    }
    // A rolled result no pair compares is not needed: the graph never runs it, so it is no work.
    let used: std::collections::HashSet<usize> = seen.iter().flat_map(|&(a, b)| [a, b]).collect();
    ideal.work -= ROLL * (rolled.len() - used.len()) as f64;
    let s = sim.clone();
    let best = delayed(move |all: &Vec<Best>| {
        s.work(REDUCE);
        all.iter().cloned().fold(None::<Best>, |best, b| match best {
            Some(x) if x.score >= b.score => Some(x),
            _ => Some(b),
        })
    })
    .name("best")
    .call((Delayed::collect(compared),));
    let critical_path = ideal.task(REDUCE, &compared_done) * args.scale;

    let tasks = best.graph(true)?.len();
    let result = best
        .compute_with(&ComputeOptions::new().executor(executor))?
        .ok_or("no pairs compared")?;
    let seconds = start.elapsed().as_secs_f64();
    let total_work = ideal.work * args.scale;
    let bound = critical_path.max(total_work / args.threads as f64);
    println!(
        "{}",
        serde_json::json!({
            "result": {"pair": [result.pair.0, result.pair.1], "score": result.score},
            "seconds": seconds,
            "tasks": tasks,
            "threads": args.threads,
            "critical_path_seconds": critical_path,
            "total_work_seconds": total_work,
            "ideal_seconds": bound,
            "ratio_to_ideal": seconds / bound,
        })
    );
    Ok(())
}
