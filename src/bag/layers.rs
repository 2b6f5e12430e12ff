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

/// A tree reduction: `chunk` turns each partition into a partial result; `combine` merges up to
/// `split_every` partials at a time, level by level, until one is left; `finish` turns it into
/// the result, under the node's single key (so the result is a [`Delayed`](crate::Delayed)).
///
/// Keys: `(name, 0, i)` for chunks, `(name, level, j)` for combines, `'name'` for the result.
#[derive(Debug)]
pub(crate) struct TreeReduce {
    pub(crate) name: &'static str,
    pub(crate) chunk: Arc<dyn Op>,
    pub(crate) combine: Arc<dyn Op>,
    pub(crate) finish: Arc<dyn Op>,
    pub(crate) npartitions: usize,
    pub(crate) split_every: usize,
}

impl Layer for TreeReduce {
    fn op_name(&self) -> &str {
        self.name
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        let input = &node.inputs()[0];
        let mut level: Vec<Key> = (0..self.npartitions as u32)
            .map(|i| {
                let key = node.key([0, i]);
                out.add(key.clone(), self.chunk.clone(), &[input.key([i])])?;
                Ok(key)
            })
            .collect::<Result<_>>()?;
        let mut depth = 0;
        while level.len() > 1 {
            depth += 1;
            level = level
                .chunks(self.split_every.max(2))
                .enumerate()
                .map(|(j, group)| {
                    let key = node.key([depth, j as u32]);
                    out.add(key.clone(), self.combine.clone(), group)?;
                    Ok(key)
                })
                .collect::<Result<_>>()?;
        }
        out.add(Key::single(node.name().clone()), self.finish.clone(), &level)?;
        Ok(())
    }
}
