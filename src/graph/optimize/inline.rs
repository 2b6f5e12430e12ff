//! Placeholder, replaced by the real pass.

use crate::graph::optimize::{Pass, Transformed};
use crate::graph::{Graph, Key};

/// Placeholder.
#[derive(Debug, Clone, Copy, Default)]
pub struct Inline;

impl Pass for Inline {
    fn name(&self) -> &'static str {
        "inline"
    }

    fn run(&self, graph: Graph, _outputs: &[Key]) -> Transformed<Graph> {
        Transformed::no(graph)
    }
}
