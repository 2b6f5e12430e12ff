//! Executors: what runs a task graph. They see tasks, keys and values only, never collections.
//!
//! - [`Synchronous`] runs every task on the caller's thread: the reference semantics, and the
//!   executor to debug with (a debugger or a panic backtrace shows your function directly).
//! - [`Threaded`] (the default) runs tasks on a rayon pool, rayon's global one unless you pass
//!   your own.
//!
//! Both drive the same bookkeeping (`state.rs`); see `README.md` beside this file for why it is
//! shaped the way it is.

mod callback;
mod state;
mod synchronous;
mod threaded;

use std::fmt;
use std::sync::Arc;

pub use callback::Callback;
pub use synchronous::Synchronous;
pub use threaded::Threaded;

use crate::error::Result;
use crate::graph::{Graph, Key, Value};

/// Runs a task graph.
///
/// # Errors
/// The first task that fails stops new work from starting; `execute` returns its error, which
/// names the task's key and carries the cause. A panic inside a task is caught and returned as an
/// [`Error::Task`](crate::Error::Task) whose source is a [`PanicError`](crate::PanicError): it
/// never aborts the process or hangs the compute.
///
/// # Examples
/// ```
/// use drask::prelude::*;
/// use drask::sched::{Executor, Synchronous};
///
/// let y = delayed(|x: &i64| x + 1).call((41_i64,));
/// let graph = y.graph(true)?;
/// let values = Synchronous.execute(&graph, &y.keys(), &[])?;
/// assert_eq!(values[0].downcast_ref::<i64>(), Some(&42));
/// # Ok::<(), drask::Error>(())
/// ```
pub trait Executor: fmt::Debug + Send + Sync {
    /// A short name (`"synchronous"`, `"threaded"`), for reports.
    fn name(&self) -> &str;

    /// Runs the tasks `outputs` need; returns the outputs' values in `outputs` order.
    ///
    /// # Complexity
    /// O(tasks + edges) bookkeeping, about 60 bytes per task plus 8 per edge.
    fn execute(&self, graph: &Graph, outputs: &[Key], callbacks: &[Arc<dyn Callback>]) -> Result<Vec<Value>>;
}

/// The executor `compute()` uses when none is given: [`Threaded`] on rayon's global pool, so a
/// host application that configures rayon's threads once configures drask too.
pub fn default_executor() -> Arc<dyn Executor> {
    Arc::new(Threaded::new())
}

/// The bookkeeping bytes one compute of `graph` for `outputs` needs (the plan, counters and
/// result slots), as the executors allocate it. For capacity planning and the overhead example.
///
/// # Errors
/// If an output is not in the graph.
///
/// # Examples
/// ```
/// use drask::prelude::*;
/// let total = Delayed::collect((0..1000_i64).map(Delayed::value));
/// let graph = total.graph(false)?;
/// let bytes = drask::sched::bookkeeping_bytes(&graph, &total.keys())?;
/// assert!(bytes / graph.len() < 500);
/// # Ok::<(), drask::Error>(())
/// ```
pub fn bookkeeping_bytes(graph: &Graph, outputs: &[Key]) -> Result<usize> {
    let plan = state::Plan::new(graph, outputs)?;
    Ok(state::RunState::new(graph, &plan, &[]).heap_bytes())
}
