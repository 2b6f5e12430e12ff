//! The tour a new user runs first: `cargo run --release --example quickstart`.
//!
//! Delayed turns ordinary for-loop code into a task graph; `explain()` shows the graph before and
//! after optimization; `compute()` runs it on the thread pool; the task stream shows how busy
//! each thread was; a Bag runs on the same engine. Each collection joins this tour as it lands.

use std::time::{Duration, Instant};

use drask::diagnostics::TaskStream;
use drask::prelude::*;
use drask::sched::Synchronous;

fn load(part: &u32) -> Vec<u64> {
    std::thread::sleep(Duration::from_millis(50)); // stands in for reading a file
    (0..1_000).map(|i| u64::from(*part) * 1_000 + i).collect()
}

// Delayed functions receive `&T` for a `Delayed<T>`: for a `Vec` that is `&Vec`, not a slice.
#[allow(clippy::ptr_arg)]
fn clean(rows: &Vec<u64>) -> Vec<u64> {
    rows.iter().copied().filter(|x| x % 3 != 0).collect()
}

#[allow(clippy::ptr_arg)]
fn total(parts: &Vec<Vec<u64>>) -> u64 {
    parts.iter().flatten().sum()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. Build: nothing runs yet.
    let parts: Vec<Delayed<Vec<u64>>> = (0..8)
        .map(|p| delayed(clean).call((delayed(load).call((p,)),)))
        .collect();
    let result = delayed(total).call((Delayed::collect(parts),));

    // 2. Look at the graph at every stage.
    println!("{}", result.explain());

    // 3. Run it on the default thread pool, recording a task stream.
    let stream = std::sync::Arc::new(TaskStream::new());
    let start = Instant::now();
    let threaded = result.compute_with(&ComputeOptions::new().callback(stream.clone()))?;
    let threaded_seconds = start.elapsed().as_secs_f64();

    // 4. The same on the caller's thread: the reference semantics, and slower here, since the
    //    loads wait one after another.
    let start = Instant::now();
    let synchronous = result.compute_with(&ComputeOptions::new().executor(Synchronous))?;
    let synchronous_seconds = start.elapsed().as_secs_f64();

    // 5. Check against plain code.
    let expected: u64 = (0..8_000_u64).filter(|x| x % 3 != 0).sum();
    assert_eq!(threaded, expected);
    assert_eq!(synchronous, expected);
    println!("total = {threaded} (threaded {threaded_seconds:.3}s, synchronous {synchronous_seconds:.3}s)");

    // 6. A Bag: the same engine under a collection of items (Dask's `dask.bag`).
    let words = Bag::from_vec(vec!["the quick brown fox", "jumps over the lazy dog", "the end"], 2)
        .flat_map(|line: &str| line.split(' ').map(str::to_string).collect::<Vec<_>>());
    let (count, longest) = drask::compute((words.count(), words.map(|w| w.len()).max()))?;
    println!("bag: {count} words, the longest has {} letters", longest.unwrap_or(0));

    // 7. An Array: blocks of an ndarray, arithmetic fused into one task per block.
    let grid = drask::array::ndarray::Array2::from_shape_fn((1000, 1000), |(i, j)| ((i * 31 + j * 17) % 100) as f64);
    let x = Array::from_array(grid.clone(), &[250, 500])?;
    let lazy = (&x + &x.t()).mean_axis(0)?.sum();
    let eager = (&grid + &grid.t())
        .mean_axis(drask::array::ndarray::Axis(0))
        .map_or(0.0, |m| m.sum());
    println!(
        "array: (x + x.T).mean(axis=0).sum() = {} (ndarray: {eager})",
        lazy.compute()?
    );

    let trace = std::env::temp_dir().join("drask-quickstart-trace.json");
    stream.write_chrome_trace(&trace)?;
    let summary = stream.summary();
    println!(
        "task stream: {} tasks on {} threads, {:.0}% busy",
        summary.tasks,
        summary.threads,
        100.0 * summary.utilization
    );
    println!(
        "task stream written to {} (open it in https://ui.perfetto.dev)",
        trace.display()
    );
    Ok(())
}
