//! A tree reduction layer shared by the collections: many blocks or partitions reduced to one
//! value, `split_every` partial results at a time.

use std::sync::Arc;

use crate::error::Result;
use crate::graph::{Key, Layer, Lowering, Node, Op};

/// How many partial results a tree reduction combines at a time, unless told otherwise (Dask's
/// default for bags; arrays use it too).
pub const DEFAULT_SPLIT_EVERY: usize = 8;

/// A tree reduction: `chunk` turns each input block into a partial result; `combine` merges up
/// to `split_every` partials at a time, level by level, until one is left; `finish` turns it into
/// the result, under the node's single key (so the result is a [`Delayed`](crate::Delayed)).
///
/// Keys: `(name, 0, i)` for chunks, `(name, level, j)` for combines, `'name'` for the result.
#[derive(Debug)]
pub(crate) struct TreeReduce {
    pub(crate) name: &'static str,
    pub(crate) chunk: Arc<dyn Op>,
    /// Chunk ops of their own for each block, in `blocks` order, when a block's op must know
    /// which block it reads (a global index); empty to use `chunk` for every block.
    pub(crate) per_block: Vec<Arc<dyn Op>>,
    pub(crate) combine: Arc<dyn Op>,
    pub(crate) finish: Arc<dyn Op>,
    /// The index of every block to reduce; the chunk task of block `b` reads block `b` of each
    /// of the node's inputs.
    pub(crate) blocks: Vec<Vec<u32>>,
    pub(crate) split_every: usize,
}

impl TreeReduce {
    /// The block indices of `n` bag partitions: `[0], [1], …`.
    pub(crate) fn partitions(n: usize) -> Vec<Vec<u32>> {
        (0..n as u32).map(|i| vec![i]).collect()
    }
}

impl Layer for TreeReduce {
    fn op_name(&self) -> &str {
        self.name
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        let level: Vec<Key> = self
            .blocks
            .iter()
            .enumerate()
            .map(|(i, block)| {
                let key = node.key([0, i as u32]);
                // The block of every input: one for a plain reduction, several when the
                // reduction is fused with the elementwise work that feeds it.
                let args: Vec<Key> = node.inputs().iter().map(|input| input.key(block.clone())).collect();
                let op = self.per_block.get(i).unwrap_or(&self.chunk);
                out.add(key.clone(), op.clone(), &args)?;
                Ok(key)
            })
            .collect::<Result<_>>()?;
        let level = combine_levels(out, level, self.split_every, &self.combine, |depth, j| {
            node.key([depth, j as u32])
        })?;
        out.add(Key::single(node.name().clone()), self.finish.clone(), &level)?;
        Ok(())
    }
}

/// Adds levels of `combine` tasks over `level`, `split_every` keys at a time, until at most one
/// key is left, and returns it (empty if `level` was). `key(depth, group)` names each combine
/// task (`depth` from 1). The shared shape of every tree reduction.
pub(crate) fn combine_levels(
    out: &mut Lowering<'_>,
    mut level: Vec<Key>,
    split_every: usize,
    combine: &Arc<dyn Op>,
    key: impl Fn(u32, usize) -> Key,
) -> Result<Vec<Key>> {
    let mut depth = 0;
    while level.len() > 1 {
        depth += 1;
        level = level
            .chunks(split_every.max(2))
            .enumerate()
            .map(|(g, group)| {
                let k = key(depth, g);
                out.add(k.clone(), combine.clone(), group)?;
                Ok(k)
            })
            .collect::<Result<_>>()?;
    }
    Ok(level)
}
