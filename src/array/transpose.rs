//! Transposing and permuting axes: the block grid is permuted, and each block is permuted by
//! the same permutation.

use std::sync::Arc;

use ndarray::{ArrayD, Dimension, IxDyn};

use serde::{Deserialize, Serialize};

use crate::array::collection::block_key;
use crate::array::remote::{Dtype, op_spec, params, with_element};
use crate::array::{Array, Chunks, Element};
use crate::error::{BoxError, Error, Result};
use crate::graph::{Layer, Lowering, Node, Op, OpSpec, Value, unique_token};
use crate::registry::OpFactory;

impl<A: Element, D: Dimension> Array<A, D> {
    /// The array with its axes reordered: axis `i` of the result is axis `axes[i]` of this one.
    ///
    /// # Errors
    /// [`Error::Metadata`] if `axes` is not a permutation of `0..ndim`.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::array::{Array, ndarray::Array3};
    /// let data = Array3::from_shape_fn((2, 3, 4), |(i, j, k)| (i * 100 + j * 10 + k) as i32);
    /// let x = Array::from_array(data.clone(), &[1, 2, 3])?;
    /// let p = x.permute_axes(&[2, 0, 1])?;
    /// assert_eq!(p.shape(), vec![4, 2, 3]);
    /// assert_eq!(p.compute()?, data.permuted_axes([2, 0, 1]));
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn permute_axes(&self, axes: &[usize]) -> Result<Array<A, D>> {
        let n = self.ndim();
        let mut seen = vec![false; n];
        if axes.len() != n || axes.iter().any(|&a| a >= n || std::mem::replace(&mut seen[a], true)) {
            return Err(Error::Metadata(format!(
                "{axes:?} is not a permutation of the {n} axes"
            )));
        }
        let chunks = Chunks::explicit(
            &axes.iter().map(|&a| self.shape()[a]).collect::<Vec<_>>(),
            axes.iter().map(|&a| self.chunks.axes()[a].clone()).collect(),
        )?;
        let layer = Permute::<A> {
            axes: axes.to_vec(),
            chunks: chunks.clone(),
            _t: std::marker::PhantomData,
        };
        let node = Node::new(
            unique_token("transpose").into(),
            vec![self.node.clone()],
            Box::new(layer),
        );
        Ok(Array::from_node(node, Arc::new(chunks)))
    }

    /// The array with its axes reversed (`x.T` in NumPy).
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::array::{Array, ndarray::array};
    /// let x = Array::from_array(array![[1, 2, 3], [4, 5, 6]], &[1, 2])?;
    /// assert_eq!(x.t().compute()?, array![[1, 4], [2, 5], [3, 6]]);
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn t(&self) -> Array<A, D> {
        let axes: Vec<usize> = (0..self.ndim()).rev().collect();
        self.permute_axes(&axes).expect("reversed axes are a permutation")
    }
}

#[derive(Debug)]
struct Permute<A> {
    axes: Vec<usize>,
    chunks: Chunks,
    _t: std::marker::PhantomData<fn() -> A>,
}

impl<A: Element> Layer for Permute<A> {
    fn op_name(&self) -> &str {
        "transpose"
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        let op: Arc<dyn Op> = Arc::new(PermuteBlock::<A> {
            axes: self.axes.clone(),
            _t: std::marker::PhantomData,
        });
        let input = &node.inputs()[0];
        for index in self.chunks.block_indices() {
            // Output block `index` is input block `j` with `j[axes[i]] = index[i]`.
            let mut source = vec![0; index.len()];
            for (i, &a) in self.axes.iter().enumerate() {
                source[a] = index[i];
            }
            out.add(block_key(node, &index), op.clone(), &[block_key(input, &source)])?;
        }
        Ok(())
    }
}

#[derive(Debug)]
struct PermuteBlock<A> {
    axes: Vec<usize>,
    _t: std::marker::PhantomData<fn() -> A>,
}

impl<A: Element> Op for PermuteBlock<A> {
    fn name(&self) -> &str {
        "transpose"
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        let block = crate::graph::take_value::<ArrayD<A>>(inputs.into_iter().next().ok_or("no input block")?)?;
        let n = block.ndim();
        let mut seen = vec![false; n];
        if self.axes.len() != n
            || self
                .axes
                .iter()
                .any(|&a| a >= n || std::mem::replace(&mut seen[a], true))
        {
            return Err(format!("{:?} is not a permutation of a block's {n} axes", self.axes).into());
        }
        // Materialise in C order, so later kernels read it contiguously.
        let permuted = block.permuted_axes(IxDyn(&self.axes));
        Ok(Arc::new(permuted.as_standard_layout().into_owned()))
    }

    fn spec(&self) -> Option<OpSpec> {
        op_spec(
            "array.transpose",
            &PermuteSpec {
                dtype: Dtype::of::<A>()?,
                axes: self.axes.clone(),
            },
        )
    }
}

#[derive(Serialize, Deserialize)]
struct PermuteSpec {
    dtype: Dtype,
    axes: Vec<usize>,
}

inventory::submit! {
    OpFactory {
        name: "array.transpose",
        build: |p| {
            let spec: PermuteSpec = params(p)?;
            with_element!(spec.dtype, A => {
                Ok(Arc::new(PermuteBlock::<A> { axes: spec.axes, _t: std::marker::PhantomData }) as Arc<dyn Op>)
            })
        },
    }
}
