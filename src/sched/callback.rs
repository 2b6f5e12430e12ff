//! Hooks an executor calls as tasks start and finish: what progress bars and task-stream
//! recorders are built on.

use crate::error::Error;
use crate::graph::Key;

/// Observes a compute. Every method has an empty default, so implement only what you need.
/// Methods are called from worker threads, concurrently: keep them short and thread-safe.
///
/// # Examples
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// use drask::prelude::*;
/// use drask::sched::Callback;
///
/// #[derive(Debug, Default)]
/// struct Count(AtomicUsize);
/// impl Callback for Count {
///     fn on_task_finish(&self, _key: &drask::graph::Key, _worker: usize, _error: Option<&Error>) {
///         self.0.fetch_add(1, Ordering::Relaxed);
///     }
/// }
/// let count = Arc::new(Count::default());
/// let x = Delayed::value(1);
/// let sum = delayed(|a: &i32, b: &i32| a + b).call((&x, 2));
/// sum.compute_with(&ComputeOptions::new().callback(count.clone()).optimize(false))?;
/// // Two tasks: the literal `x`, and the sum (the plain `2` is part of the sum's task).
/// assert_eq!(count.0.load(Ordering::Relaxed), 2);
/// # Ok::<(), drask::Error>(())
/// ```
pub trait Callback: Send + Sync + std::fmt::Debug {
    /// Before any task runs: how many tasks will run.
    fn on_compute_start(&self, _tasks: usize) {}

    /// A task is about to run on `worker` (the pool's thread index; 0 for the synchronous
    /// executor).
    fn on_task_start(&self, _key: &Key, _worker: usize) {}

    /// A task finished on `worker`, with its error if it failed.
    fn on_task_finish(&self, _key: &Key, _worker: usize, _error: Option<&Error>) {}

    /// After the compute, with its error if it failed.
    fn on_compute_end(&self, _error: Option<&Error>) {}
}
