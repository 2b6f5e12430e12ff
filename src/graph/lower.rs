//! Node DAG → task [`Graph`]: each node's layer adds its tasks, inputs first. The only way
//! collections put tasks into the arena.

use std::collections::HashSet;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::graph::{FxBuild, Graph, Key, Node, Op, TaskId};

/// The graph being built while nodes lower, handed to [`Layer::lower`](crate::graph::Layer::lower).
#[derive(Debug)]
pub struct Lowering<'g> {
    graph: &'g mut Graph,
}

impl Lowering<'_> {
    /// Adds a task named `key` running `op` on the values of the tasks named `args`.
    ///
    /// # Errors
    /// [`Error::Internal`] if an argument's key has not been lowered yet.
    pub fn add(&mut self, key: Key, op: Arc<dyn Op>, args: &[Key]) -> Result<TaskId> {
        let ids = args
            .iter()
            .map(|k| {
                self.graph
                    .id(k)
                    .ok_or_else(|| Error::Internal(format!("task {key} reads {k}, which was not lowered before it")))
            })
            .collect::<Result<Vec<_>>>()?;
        self.graph.add_task(key, op, &ids)
    }

    /// The graph so far.
    pub fn graph(&self) -> &Graph {
        self.graph
    }
}

/// Lowers every node reachable from `roots` into one task graph. A node reached twice (a shared
/// subgraph, or two nodes with the same deterministic name) is lowered once.
///
/// # Errors
/// [`Error::Internal`] if a layer breaks the graph's invariants.
pub fn lower(roots: &[Arc<Node>]) -> Result<Graph> {
    let nodes = nodes_in_order(roots);
    // At least one task per node: reserving up front saves rehashing a million-entry index.
    let mut graph = Graph::with_capacity(nodes.len(), nodes.len());
    let mut lowering = Lowering { graph: &mut graph };
    for node in nodes {
        node.layer().lower(&node, &mut lowering)?;
    }
    Ok(graph)
}

/// Every node reachable from `roots`, inputs first, each once.
pub(crate) fn nodes_in_order(roots: &[Arc<Node>]) -> Vec<Arc<Node>> {
    let mut order = Vec::new();
    let mut done: HashSet<Arc<str>, FxBuild> = HashSet::default();
    let mut stack: Vec<(&Arc<Node>, usize)> = roots.iter().rev().map(|n| (n, 0)).collect();
    while let Some((node, next_input)) = stack.pop() {
        if next_input == 0 && done.contains(node.name()) {
            continue;
        }
        if let Some(input) = node.inputs().get(next_input) {
            stack.push((node, next_input + 1));
            if !done.contains(input.name()) {
                stack.push((input, 0));
            }
            continue;
        }
        if done.insert(node.name().clone()) {
            order.push(node.clone());
        }
    }
    order
}
