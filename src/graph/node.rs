//! The high-level graph: one [`Node`] per collection operation (Dask's graph layer).

use std::fmt;
use std::sync::Arc;

use crate::error::Result;
use crate::graph::Lowering;

/// How a collection operation turns into tasks: one per chunk or partition, or one in all.
///
/// # Examples
/// ```
/// use std::sync::Arc;
/// use drask::graph::{Layer, Literal, Lowering, Node};
///
/// /// Three constant partitions.
/// #[derive(Debug)]
/// struct Constants;
/// impl Layer for Constants {
///     fn op_name(&self) -> &str { "constants" }
///     fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> drask::Result<()> {
///         for i in 0..3_u32 {
///             out.add(node.key([i]), Arc::new(Literal::new(i)), &[])?;
///         }
///         Ok(())
///     }
/// }
/// let node = Node::new("constants-1".into(), vec![], Box::new(Constants));
/// let graph = drask::graph::lower(&[node]).unwrap();
/// assert_eq!(graph.len(), 3);
/// ```
pub trait Layer: fmt::Debug + Send + Sync {
    /// The operation's name, as `explain()` shows it (`"map"`, `"sum"`).
    fn op_name(&self) -> &str;

    /// Adds this operation's tasks for `node` to `out`. The inputs' tasks are already there, so
    /// their keys can be used as arguments.
    ///
    /// # Errors
    /// Only on a broken invariant: metadata was checked when the node was built.
    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()>;

    /// The layer as `Any`, for collections that rewrite their own nodes (an array fuses a chain
    /// of elementwise layers into one). `None` by default.
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        None
    }
}

/// One collection operation: a name with a deterministic token, the operations it reads, and the
/// layer that lowers it to tasks. Shared by every handle built on it.
pub struct Node {
    name: Arc<str>,
    inputs: Vec<Arc<Node>>,
    layer: Box<dyn Layer>,
}

impl Node {
    /// A node named `name` (its keys' name) reading `inputs`.
    pub fn new(name: Arc<str>, inputs: Vec<Arc<Node>>, layer: Box<dyn Layer>) -> Arc<Node> {
        Arc::new(Node { name, inputs, layer })
    }

    /// The name of this node's keys, e.g. `"inc-3f2a07b1c9d4e5f6"`.
    pub fn name(&self) -> &Arc<str> {
        &self.name
    }

    /// The operations this one reads.
    pub fn inputs(&self) -> &[Arc<Node>] {
        &self.inputs
    }

    /// The layer that lowers this node.
    pub fn layer(&self) -> &dyn Layer {
        &*self.layer
    }

    /// The key of this node's task at `index`.
    pub fn key(&self, index: impl Into<Box<[u32]>>) -> crate::graph::Key {
        crate::graph::Key::new(self.name.clone(), index)
    }
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Node")
            .field("name", &self.name)
            .field(
                "inputs",
                &self.inputs.iter().map(|n| n.name.clone()).collect::<Vec<_>>(),
            )
            .field("layer", &self.layer)
            .finish()
    }
}

/// Drops long chains of nodes iteratively: the default recursive drop would overflow the stack
/// on a graph a million operations deep.
impl Drop for Node {
    fn drop(&mut self) {
        let mut stack = std::mem::take(&mut self.inputs);
        while let Some(node) = stack.pop() {
            if let Ok(mut node) = Arc::try_unwrap(node) {
                stack.append(&mut node.inputs);
            }
        }
    }
}
