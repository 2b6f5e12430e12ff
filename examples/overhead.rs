//! Per-task overhead of each executor: a tree reduction over N `inc` tasks (2N - 1 tasks in all),
//! timed as a user experiences it (building the graph, optimizing, running).
//!
//! ```text
//! cargo run --release --example overhead -- --tasks 100000 [--repeat 3] [--shape tree|chain|wide]
//! ```
//! `--shape chain` times N incs in a row instead (N tasks, fused to one by the optimizer), and
//! `--shape wide` N independent incs gathered by one collect and summed (N + 2 tasks); the tree is the
//! default and the figure the targets name.
//! Prints one JSON line per executor:
//! `{"executor": "...", "tasks": T, "seconds": S, "us_per_task": U, "result": R}`,
//! and a breakdown (build / lower+optimize / run, bookkeeping bytes per task) on standard error.

use std::time::Instant;

use drask::prelude::*;

#[path = "../benches/common/shapes.rs"]
mod shapes;
use drask::sched::{Executor, Synchronous, Threaded};
use shapes::{chain, inc, tree};

/// N independent incs, summed by one task.
fn wide(n: u64) -> Delayed<u64> {
    #[allow(clippy::ptr_arg)]
    fn sum(xs: &Vec<u64>) -> u64 {
        xs.iter().sum()
    }
    delayed(sum).call((Delayed::collect((0..n).map(|i| delayed(inc).call((i,)))),))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut tasks: u64 = 100_000;
    let mut shape = "tree".to_string();
    let mut repeat = 3;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--tasks" => tasks = args.next().ok_or("--tasks needs a number")?.parse()?,
            "--repeat" => repeat = args.next().ok_or("--repeat needs a number")?.parse()?,
            "--shape" => shape = args.next().ok_or("--shape needs tree, chain or wide")?,
            other => {
                return Err(format!(
                    "unknown argument {other}; usage: overhead [--tasks N] [--repeat K] [--shape tree|chain|wide]"
                )
                .into());
            }
        }
    }
    if tasks == 0 {
        return Err("--tasks must be at least 1".into());
    }
    let (build, expected): (fn(u64) -> Delayed<u64>, u64) = match shape.as_str() {
        "tree" => (tree, (1..=tasks).sum()),
        "chain" => (chain, tasks),
        "wide" => (wide, (1..=tasks).sum()),
        other => return Err(format!("unknown shape {other}: tree, chain or wide").into()),
    };
    let executors: Vec<Box<dyn Executor>> = vec![Box::new(Synchronous), Box::new(Threaded::new())];
    for executor in executors {
        let mut best = f64::INFINITY;
        let mut result = 0;
        let mut total_tasks = 0;
        for _ in 0..repeat {
            let start = Instant::now();
            let root = build(tasks);
            let built = start.elapsed().as_secs_f64();
            let lowered = root.graph(false)?;
            total_tasks = lowered.len();
            let graph = drask::graph::optimize::Optimizer::new().run(lowered, &root.keys());
            let optimized = start.elapsed().as_secs_f64();
            let bookkeeping = drask::sched::bookkeeping_bytes(&graph, &root.keys())?;
            let values = executor.execute(&graph, &root.keys(), &[])?;
            let ran = start.elapsed().as_secs_f64();
            let optimized_tasks = graph.len();
            drop(graph);
            drop(root);
            let seconds = start.elapsed().as_secs_f64();
            result = *values[0].downcast_ref::<u64>().ok_or("result is not a u64")?;
            eprintln!(
                "{}: {total_tasks} tasks ({} after optimizing): build {:.3}s, lower+optimize {:.3}s, run {:.3}s, \
                 drop {:.3}s, bookkeeping {} bytes/task",
                executor.name(),
                optimized_tasks,
                built,
                optimized - built,
                ran - optimized,
                seconds - ran,
                bookkeeping / optimized_tasks
            );
            best = best.min(seconds);
        }
        if result != expected {
            return Err(format!("{} computed {result}, expected {expected}", executor.name()).into());
        }
        println!(
            "{}",
            serde_json::json!({
                "executor": executor.name(),
                "tasks": total_tasks,
                "seconds": best,
                "us_per_task": best * 1e6 / total_tasks as f64,
                "result": result,
            })
        );
    }
    Ok(())
}
