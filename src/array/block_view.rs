//! A block as a kernel reads it: an owned ndarray block that a task produced, or (feature
//! `mmap`) a descriptor of a block lying in a memory-mapped file, read in place. Readers that
//! can work from a view (reductions, `correlate`) ask for [`readable_node`] instead of an
//! array's own node and read every input through [`block_view`]; nothing else sees
//! descriptors. A descriptor releases its pages when the executor drops it, after its last
//! reader (if its map asks for that).

use std::sync::Arc;

use ndarray::ArrayViewD;

use crate::array::elementwise::TILE;
#[cfg(feature = "mmap")]
use crate::array::npy_arrays::mapped::{MappedBlock, mapped_views};
use crate::error::BoxError;
use crate::graph::{Node, Value};

/// The node whose blocks a view reader of `node` reads: for a memory-mapped array of `A`, its
/// blocks as descriptors (no copy); otherwise `node` itself.
#[cfg_attr(not(feature = "mmap"), allow(clippy::extra_unused_type_parameters))]
pub(crate) fn readable_node<A: 'static>(node: &Arc<Node>) -> Arc<Node> {
    #[cfg(feature = "mmap")]
    if let Some(views) = mapped_views::<A>(node) {
        return views;
    }
    node.clone()
}

/// The one place kernels get a block's elements from a task value: an `ArrayD<A>`, or a mapped
/// block's descriptor viewed in the map.
pub(crate) fn block_view<A: 'static>(value: &Value) -> Result<ArrayViewD<'_, A>, BoxError> {
    if let Some(block) = value.downcast_ref::<ndarray::ArrayD<A>>() {
        return Ok(block.view());
    }
    #[cfg(feature = "mmap")]
    if let Some(block) = value.downcast_ref::<MappedBlock<A>>() {
        return block.view();
    }
    Err(format!("expected a block of {}", std::any::type_name::<A>()).into())
}

/// Hands the elements of `view` to `sink` in C order, in runs: the whole block at once when it
/// is contiguous, otherwise tiles gathered row by row into a small buffer (a block cut out of
/// a memory map along its trailing axes), so no copy of the block is made.
pub(crate) fn for_each_run<A: Copy>(view: &ArrayViewD<'_, A>, mut sink: impl FnMut(&[A])) {
    if let Some(all) = view.as_slice() {
        sink(all);
        return;
    }
    let mut buf: Vec<A> = Vec::with_capacity(TILE);
    let last = view.ndim() - 1; // a 0-d view is contiguous
    for row in view.lanes(ndarray::Axis(last)) {
        match row.as_slice() {
            // Long contiguous rows go straight through.
            Some(row) if row.len() >= TILE => {
                if !buf.is_empty() {
                    sink(&buf);
                    buf.clear();
                }
                sink(row);
            }
            _ => {
                for &v in row.iter() {
                    buf.push(v);
                    if buf.len() == TILE {
                        sink(&buf);
                        buf.clear();
                    }
                }
            }
        }
    }
    if !buf.is_empty() {
        sink(&buf);
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{ArrayD, IxDyn, s};

    use super::*;

    #[test]
    fn runs_cover_every_element_in_c_order() {
        let whole = ArrayD::from_shape_fn(IxDyn(&[5, 3000]), |i| (i[0] * 3000 + i[1]) as i64);
        for cut in [s![.., ..], s![1..4, 7..2999], s![.., 5..17], s![..;2, ..]] {
            let view = whole.slice(cut).into_dyn();
            let mut seen = Vec::new();
            for_each_run(&view, |run| seen.extend_from_slice(run));
            assert_eq!(seen, view.iter().copied().collect::<Vec<_>>());
        }
        let scalar = ArrayD::from_elem(IxDyn(&[]), 4.5);
        let mut seen = Vec::new();
        for_each_run(&scalar.view(), |run| seen.extend_from_slice(run));
        assert_eq!(seen, vec![4.5]);
    }
}
