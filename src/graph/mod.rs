//! The task graph: an arena of [`Task`]s indexed by [`TaskId`], with edges from each argument to
//! its consumer.
//!
//! Invariants, checked by [`Graph::add_task`] and relied on everywhere else:
//! - every key is unique (adding a task whose key exists returns the existing id);
//! - a task's arguments are added before it, so ids are a topological order and there are no
//!   cycles;
//! - edges carry the argument position, so `f(x, x)` and `f(x, y)` keep their order.
//!
//! petgraph stays private: it is pre-1.0, and our own type can keep the invariants above.

mod args;
mod display;
mod key;
mod lower;
mod node;
pub mod optimize;
mod task;
#[cfg(test)]
pub(crate) mod testing;
mod tree_reduce;

use std::collections::HashMap;

use petgraph::Direction;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

pub(crate) use args::ArgTable;
pub use key::{Fnv64, Key, Tokenizer};
pub(crate) use key::{FxBuild, unique_token};
pub(crate) use lower::nodes_in_order;
pub use lower::{Lowering, lower};
pub use node::{Layer, Node};
pub use task::{Literal, Op, OpSpec, Task, Value, take_value};
pub use tree_reduce::DEFAULT_SPLIT_EVERY;
#[cfg_attr(not(any(feature = "array", feature = "frame")), allow(unused_imports))]
pub(crate) use tree_reduce::{TreeReduce, combine_levels};

use crate::error::{Error, Result};

/// The index of a task in one [`Graph`]. Not stable across optimization: use [`Key`] for that.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(u32);

impl TaskId {
    /// The position of the task in its graph, from 0.
    pub fn index(self) -> usize {
        self.0 as usize
    }

    pub(crate) fn from_index(index: usize) -> TaskId {
        TaskId(index as u32)
    }

    fn node(self) -> NodeIndex<u32> {
        NodeIndex::new(self.index())
    }
}

/// A DAG of tasks, in topological order by construction.
///
/// # Examples
/// ```
/// use std::sync::Arc;
/// use drask::graph::{Graph, Key, Literal};
/// use drask::delayed::FnOp;
///
/// let mut g = Graph::new();
/// let x = g.add_task(Key::single("x"), Arc::new(Literal::new(2_i64)), &[]).unwrap();
/// let add = FnOp::new("add", |a: &i64, b: &i64| a + b);
/// let y = g.add_task(Key::single("y"), Arc::new(add), &[x, x]).unwrap();
/// assert_eq!(g.args(y), vec![x, x]);
/// assert_eq!(g.dependents(x), vec![y, y]);
/// assert_eq!(g.to_string(), "'x' = literal()\n'y' = add('x', 'x')\n");
/// ```
#[derive(Debug, Clone, Default)]
pub struct Graph {
    dag: DiGraph<Task, u32, u32>,
    ids: HashMap<Key, TaskId, FxBuild>,
}

impl Graph {
    /// An empty graph.
    pub fn new() -> Graph {
        Graph::default()
    }

    /// An empty graph with room for `tasks` tasks and `edges` argument edges.
    pub fn with_capacity(tasks: usize, edges: usize) -> Graph {
        Graph {
            dag: DiGraph::with_capacity(tasks, edges),
            ids: HashMap::with_capacity_and_hasher(tasks, FxBuild::default()),
        }
    }

    /// Adds a task that runs `op` on the values of `args` (in order). A task with the same key is
    /// the same computation, so adding it again returns the existing id.
    ///
    /// # Errors
    /// [`Error::Internal`] if an argument id is not in this graph.
    pub fn add_task(&mut self, key: Key, op: std::sync::Arc<dyn Op>, args: &[TaskId]) -> Result<TaskId> {
        if let Some(&id) = self.ids.get(&key) {
            return Ok(id);
        }
        if let Some(bad) = args.iter().find(|a| a.index() >= self.len()) {
            return Err(Error::Internal(format!(
                "task {key} names argument {bad:?}, which is not in the graph"
            )));
        }
        let id = TaskId(self.dag.add_node(Task { key: key.clone(), op }).index() as u32);
        for (position, arg) in args.iter().enumerate() {
            self.dag.add_edge(arg.node(), id.node(), position as u32);
        }
        self.ids.insert(key, id);
        Ok(id)
    }

    /// The number of tasks.
    pub fn len(&self) -> usize {
        self.dag.node_count()
    }

    /// Whether the graph has no task.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of argument edges.
    pub fn edge_count(&self) -> usize {
        self.dag.edge_count()
    }

    /// All task ids, in topological order (arguments first).
    pub fn ids(&self) -> impl ExactSizeIterator<Item = TaskId> + '_ {
        (0..self.len() as u32).map(TaskId)
    }

    /// The task behind `id`.
    ///
    /// # Panics
    /// If `id` is not from this graph.
    pub fn task(&self, id: TaskId) -> &Task {
        &self.dag[id.node()]
    }

    /// The id of the task named `key`.
    pub fn id(&self, key: &Key) -> Option<TaskId> {
        self.ids.get(key).copied()
    }

    /// The ids of the tasks named by `keys`.
    ///
    /// # Errors
    /// [`Error::Internal`] naming the first key that is not in the graph.
    pub fn ids_of(&self, keys: &[Key]) -> Result<Vec<TaskId>> {
        keys.iter()
            .map(|k| {
                self.id(k)
                    .ok_or_else(|| Error::Internal(format!("no task {k} in the graph")))
            })
            .collect()
    }

    /// The arguments of `id`, in argument order (repeated where an argument is used twice).
    pub fn args(&self, id: TaskId) -> Vec<TaskId> {
        let mut args: Vec<(u32, TaskId)> = self
            .dag
            .edges_directed(id.node(), Direction::Incoming)
            .map(|e| (*e.weight(), TaskId(e.source().index() as u32)))
            .collect();
        args.sort_unstable();
        args.into_iter().map(|(_, a)| a).collect()
    }

    /// The tasks that use `id` as an argument, once per use, in no particular order.
    pub fn dependents(&self, id: TaskId) -> Vec<TaskId> {
        self.dag
            .edges_directed(id.node(), Direction::Outgoing)
            .map(|e| TaskId(e.target().index() as u32))
            .collect()
    }

    /// How many argument slots use `id`.
    pub fn use_count(&self, id: TaskId) -> usize {
        self.dag.edges_directed(id.node(), Direction::Outgoing).count()
    }

    /// Every argument edge as `(argument, consumer, position)`, in no particular order, without
    /// allocating: what the optimizer passes build their adjacency tables from in O(edges).
    pub(crate) fn arg_edges(&self) -> impl ExactSizeIterator<Item = (TaskId, TaskId, u32)> + '_ {
        self.dag.raw_edges().iter().map(|e| {
            (
                TaskId(e.source().index() as u32),
                TaskId(e.target().index() as u32),
                e.weight,
            )
        })
    }

    /// Checks the invariants in the module doc: ids are topological, keys unique and indexed.
    /// Run after every optimizer pass in debug builds.
    ///
    /// # Errors
    /// [`Error::Internal`] describing the first broken invariant.
    pub fn validate(&self) -> Result<()> {
        if self.ids.len() != self.len() {
            return Err(Error::Internal(format!(
                "{} keys for {} tasks",
                self.ids.len(),
                self.len()
            )));
        }
        for e in self.dag.edge_references() {
            if e.source().index() >= e.target().index() {
                let (from, to) = (&self.dag[e.source()].key, &self.dag[e.target()].key);
                return Err(Error::Internal(format!(
                    "edge {from} -> {to} goes backwards: a cycle is possible"
                )));
            }
        }
        for id in self.ids() {
            if self.id(&self.task(id).key) != Some(id) {
                return Err(Error::Internal(format!("key {} is indexed wrongly", self.task(id).key)));
            }
        }
        Ok(())
    }
}
