//! The reference executor: every task on the caller's thread, in priority order.

use std::sync::Arc;

use crate::error::Result;
use crate::graph::{Graph, Key, Value};
use crate::sched::state::{Plan, RunState};
use crate::sched::{Callback, Executor};

/// Runs every task on the calling thread: after each task, the newest ready consumer next (which
/// finishes chains depth-first), else the next root in priority order.
///
/// The semantics every other executor must match, and the one to debug with.
///
/// # Examples
/// ```
/// use drask::prelude::*;
/// let y = delayed(|x: &i64| x * 2).call((21_i64,));
/// let out = y.compute_with(&ComputeOptions::new().executor(drask::sched::Synchronous))?;
/// assert_eq!(out, 42);
/// # Ok::<(), drask::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Synchronous;

impl Executor for Synchronous {
    fn name(&self) -> &str {
        "synchronous"
    }

    fn execute(&self, graph: &Graph, outputs: &[Key], callbacks: &[Arc<dyn Callback>]) -> Result<Vec<Value>> {
        let plan = Plan::new(graph, outputs)?;
        let state = RunState::new(graph, &plan, callbacks);
        let mut ready: Vec<u32> = Vec::new();
        let mut newly_ready: Vec<u32> = Vec::new();
        while let Some(t) = ready.pop().or_else(|| state.next_root()) {
            match state.run(t, 0) {
                Ok(value) => {
                    state.finish(t, value, |r| newly_ready.push(r));
                    // Highest priority (lowest index) on top of the stack.
                    newly_ready.sort_unstable_by(|a, b| b.cmp(a));
                    ready.append(&mut newly_ready);
                }
                Err(error) => {
                    state.fail(error);
                    break;
                }
            }
        }
        state.into_outputs()
    }
}
