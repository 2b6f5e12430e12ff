//! Graph rewrites that keep every requested output computable with an identical value.
//!
//! One pass per file. [`Optimizer::new`] runs them in this order:
//! 1. [`Cull`] first, so the later passes do not spend time on tasks nobody asked for;
//! 2. [`Inline`] next, folding cheap tasks (literals, getters) into their consumers, which turns
//!    a consumer with one real argument into a link of a linear chain;
//! 3. [`Fuse`] last, merging linear chains (including those `inline` exposed) into one task.

mod cull;
mod fuse;
mod fused;
mod inline;

use std::fmt;
use std::sync::Arc;

pub use cull::Cull;
pub use fuse::Fuse;
pub use fused::{Fused, Step, StepArg};
pub use inline::Inline;

use crate::graph::{Graph, Key, Op, TaskId};

/// The result of a pass: the new value and whether anything changed.
#[derive(Debug, Clone)]
pub struct Transformed<T> {
    /// The rewritten (or unchanged) value.
    pub value: T,
    /// Whether the pass changed anything.
    pub changed: bool,
}

impl<T> Transformed<T> {
    /// A changed value.
    pub fn yes(value: T) -> Self {
        Transformed { value, changed: true }
    }

    /// An unchanged value.
    pub fn no(value: T) -> Self {
        Transformed { value, changed: false }
    }
}

/// A graph rewrite that keeps every output key computable, with identical values. Passes are
/// plain graph algebra and cannot fail: a broken invariant is a bug, caught by
/// [`Graph::validate`] after every pass in debug builds.
pub trait Pass: fmt::Debug + Send + Sync {
    /// snake_case, equal to the file name: `"cull"`, `"fuse"`.
    fn name(&self) -> &'static str;

    /// Rewrites `graph`, keeping every key in `outputs`.
    fn run(&self, graph: Graph, outputs: &[Key]) -> Transformed<Graph>;
}

/// What one pass did, for `explain()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassReport {
    /// The pass's name.
    pub pass: &'static str,
    /// Tasks before the pass.
    pub tasks_before: usize,
    /// Tasks after the pass.
    pub tasks_after: usize,
}

/// An ordered list of passes.
///
/// # Examples
/// ```
/// use drask::graph::optimize::Optimizer;
/// let names: Vec<_> = Optimizer::new().passes().iter().map(|p| p.name()).collect();
/// assert_eq!(names, ["cull", "inline", "fuse"]);
/// ```
#[derive(Debug)]
pub struct Optimizer {
    passes: Vec<Box<dyn Pass>>,
}

impl Default for Optimizer {
    fn default() -> Self {
        Optimizer::new()
    }
}

impl Optimizer {
    /// The default passes, in the order the module doc explains.
    pub fn new() -> Optimizer {
        Optimizer::with_passes(vec![Box::new(Cull), Box::new(Inline), Box::new(Fuse)])
    }

    /// A custom list of passes, run in the order given.
    pub fn with_passes(passes: Vec<Box<dyn Pass>>) -> Optimizer {
        Optimizer { passes }
    }

    /// The passes, in order.
    pub fn passes(&self) -> &[Box<dyn Pass>] {
        &self.passes
    }

    /// Runs every pass once, in order.
    pub fn run(&self, graph: Graph, outputs: &[Key]) -> Graph {
        self.run_with_report(graph, outputs).0
    }

    /// Runs every pass once, in order, and says what each did.
    ///
    /// # Panics
    /// In debug builds, if a pass breaks the graph's invariants or drops an output (a bug).
    pub fn run_with_report(&self, mut graph: Graph, outputs: &[Key]) -> (Graph, Vec<PassReport>) {
        let mut reports = Vec::with_capacity(self.passes.len());
        for pass in &self.passes {
            let tasks_before = graph.len();
            graph = pass.run(graph, outputs).value;
            if cfg!(debug_assertions) {
                if let Err(err) = graph.validate() {
                    panic!("optimizer pass `{}` broke the graph: {err}", pass.name());
                }
                if let Some(lost) = outputs.iter().find(|k| graph.id(k).is_none()) {
                    panic!("optimizer pass `{}` dropped the output {lost}", pass.name());
                }
            }
            reports.push(PassReport {
                pass: pass.name(),
                tasks_before,
                tasks_after: graph.len(),
            });
        }
        (graph, reports)
    }
}

/// Marks the tasks named by `outputs` (keys not in the graph are ignored).
fn output_mask(graph: &Graph, outputs: &[Key]) -> Vec<bool> {
    let mut is_output = vec![false; graph.len()];
    for id in outputs.iter().filter_map(|k| graph.id(k)) {
        is_output[id.index()] = true;
    }
    is_output
}

/// A new graph built from an old one, a task at a time in the old topological order, so the new
/// ids are topological too.
#[derive(Debug)]
struct Rebuild {
    graph: Graph,
    /// Old id → new id, for the tasks added so far.
    new_ids: Vec<Option<TaskId>>,
    scratch: Vec<TaskId>,
}

impl Rebuild {
    fn new(old_len: usize, tasks: usize, edges: usize) -> Rebuild {
        Rebuild {
            graph: Graph::with_capacity(tasks, edges),
            new_ids: vec![None; old_len],
            scratch: Vec::new(),
        }
    }

    /// Adds the task that replaces `old`, reading the (already added) old tasks `args`.
    ///
    /// # Panics
    /// If an argument was not added before (a bug in the pass).
    fn add(&mut self, old: TaskId, key: Key, op: Arc<dyn Op>, args: &[TaskId]) {
        self.scratch.clear();
        for a in args {
            let new = self.new_ids[a.index()];
            self.scratch
                .push(new.unwrap_or_else(|| panic!("{key} reads a task the pass dropped")));
        }
        let id = self
            .graph
            .add_task(key, op, &self.scratch)
            .expect("arguments are in the new graph");
        self.new_ids[old.index()] = Some(id);
    }

    fn finish(self) -> Graph {
        self.graph
    }
}
