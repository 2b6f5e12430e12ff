//! Placeholder, replaced by the real pass.

use crate::graph::optimize::{Pass, Transformed};
use crate::graph::{Graph, Key};

/// Placeholder.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cull;

impl Pass for Cull {
    fn name(&self) -> &'static str {
        "cull"
    }

    fn run(&self, graph: Graph, _outputs: &[Key]) -> Transformed<Graph> {
        Transformed::no(graph)
    }
}
