//! How bag operations lower to tasks: one task per partition (blockwise), or a tree of tasks
//! that reduces all partitions to one value.

use std::sync::Arc;

use crate::error::Result;
use crate::graph::{Key, Layer, Lowering, Node, Op};

/// Partition `i` of the output is `op` applied to partition `i` of every input (all inputs have
/// the same number of partitions). map, filter, flat_map, map_partitions and zip are all this.
#[derive(Debug)]
pub(crate) struct Blockwise {
    pub(crate) op: Arc<dyn Op>,
    pub(crate) npartitions: usize,
}

impl Layer for Blockwise {
    fn op_name(&self) -> &str {
        self.op.name()
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        for i in 0..self.npartitions as u32 {
            let args: Vec<Key> = node.inputs().iter().map(|input| input.key([i])).collect();
            out.add(node.key([i]), self.op.clone(), &args)?;
        }
        Ok(())
    }
}

/// Partitions given as values: one task per partition, each returning its partition.
#[derive(Debug)]
pub(crate) struct Partitions {
    pub(crate) ops: Vec<Arc<dyn Op>>,
}

impl Layer for Partitions {
    fn op_name(&self) -> &str {
        "from_sequence"
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        for (i, op) in self.ops.iter().enumerate() {
            out.add(node.key([i as u32]), op.clone(), &[])?;
        }
        Ok(())
    }
}
