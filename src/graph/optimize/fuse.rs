//! Placeholder, replaced by the real pass.

use crate::graph::optimize::{Pass, Transformed};
use crate::graph::{Graph, Key};

/// Placeholder.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fuse;

impl Pass for Fuse {
    fn name(&self) -> &'static str {
        "fuse"
    }

    fn run(&self, graph: Graph, _outputs: &[Key]) -> Transformed<Graph> {
        Transformed::no(graph)
    }
}
