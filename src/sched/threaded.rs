//! The default executor: tasks on a rayon pool, chains first, roots throttled.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::{Error, Result};
use crate::graph::{Graph, Key, Value};
use crate::sched::state::{Plan, RunState};
use crate::sched::{Callback, Executor};

/// Runs tasks on a rayon thread pool: the one given, else the current one (rayon's global pool,
/// or the pool of the task that calls `compute()` from inside another compute).
///
/// A worker that finishes a task runs one newly ready consumer itself, with no hand-off (so a
/// chain runs start to end on one thread, while its inputs are hot in cache), and spawns the
/// others into rayon's work-stealing deques. Roots, the tasks with no arguments, are released in
/// priority order and only while fewer than two tasks per thread are in flight: a wide graph
/// does not load all its inputs at once, and memory stays near what a depth-first walk needs.
///
/// # Examples
/// ```
/// use drask::prelude::*;
/// use drask::sched::Threaded;
///
/// // Four threads even on a two-core machine, for tasks that wait on I/O.
/// let executor = Threaded::with_threads(4)?;
/// let total = Delayed::collect((0..100_i64).map(|i| delayed(|x: &i64| x * x).call((i,))));
/// let squares = total.compute_with(&ComputeOptions::new().executor(executor))?;
/// assert_eq!(squares.iter().sum::<i64>(), 328_350);
/// # Ok::<(), drask::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Threaded {
    pool: Option<Arc<rayon::ThreadPool>>,
}

impl Threaded {
    /// Runs on the current rayon pool: the global one, unless called from inside a pool.
    pub fn new() -> Threaded {
        Threaded { pool: None }
    }

    /// Runs on `pool`, isolated from other rayon work in the process.
    pub fn with_pool(pool: Arc<rayon::ThreadPool>) -> Threaded {
        Threaded { pool: Some(pool) }
    }

    /// Runs on a new pool of `threads` threads (more than the cores helps tasks that wait).
    ///
    /// # Errors
    /// [`Error::Internal`] if the operating system refuses the threads.
    pub fn with_threads(threads: usize) -> Result<Threaded> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("drask-worker-{i}"))
            .build()
            .map_err(|e| Error::Internal(format!("cannot start {threads} worker threads: {e}")))?;
        Ok(Threaded::with_pool(Arc::new(pool)))
    }

    /// The number of threads tasks run on.
    pub fn num_threads(&self) -> usize {
        match &self.pool {
            Some(pool) => pool.current_num_threads(),
            None => rayon::current_num_threads(),
        }
    }
}

impl Executor for Threaded {
    fn name(&self) -> &str {
        "threaded"
    }

    fn execute(&self, graph: &Graph, outputs: &[Key], callbacks: &[Arc<dyn Callback>]) -> Result<Vec<Value>> {
        let plan = Plan::new(graph, outputs)?;
        let state = RunState::new(graph, &plan, callbacks);
        let run = Run {
            state: &state,
            in_flight: AtomicUsize::new(0),
            limit: 2 * self.num_threads().max(1),
        };
        match &self.pool {
            Some(pool) => pool.scope(|scope| run.release_roots(scope)),
            None => rayon::scope(|scope| run.release_roots(scope)),
        }
        state.into_outputs()
    }
}

/// One threaded compute: the shared state and the throttle on roots.
struct Run<'a> {
    state: &'a RunState<'a>,
    /// Tasks spawned or running, not yet finished.
    in_flight: AtomicUsize,
    limit: usize,
}

impl<'a> Run<'a> {
    /// Spawns roots while fewer than `limit` tasks are in flight.
    fn release_roots<'s>(&'s self, scope: &rayon::Scope<'s>) {
        while self.in_flight.fetch_add(1, Ordering::AcqRel) < self.limit {
            match self.state.next_root() {
                Some(root) => scope.spawn(move |scope| self.work(scope, root)),
                None => break,
            }
        }
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
    }

    /// Runs `task`, then as long as it makes a consumer ready, that consumer, on this thread.
    fn work<'s>(&'s self, scope: &rayon::Scope<'s>, mut task: u32) {
        let worker = rayon::current_thread_index().unwrap_or(0);
        loop {
            if self.state.is_failed() {
                break;
            }
            let mut next = None;
            match self.state.run(task, worker) {
                Ok(value) => self.state.finish(task, value, |ready| {
                    if next.is_none() {
                        next = Some(ready);
                    } else {
                        self.in_flight.fetch_add(1, Ordering::AcqRel);
                        scope.spawn(move |scope| self.work(scope, ready));
                    }
                }),
                Err(error) => self.state.fail(error),
            }
            match next {
                Some(n) => task = n,
                None => break,
            }
        }
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.release_roots(scope);
    }
}
