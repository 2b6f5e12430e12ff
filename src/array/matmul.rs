//! Matrix products of 2-D arrays: output block `(i, j)` sums the products of row block `i` of
//! the left side with column block `j` of the right, as a tree.

use std::sync::Arc;

use ndarray::{ArrayD, Ix2};

use serde::{Deserialize, Serialize};

use crate::array::collection::block_key;
use crate::array::remote::{Dtype, DtypeOnly, dtype_spec, op_spec, params, with_element};
use crate::array::{Array, Chunks, Element};
use crate::error::{BoxError, Error, Result};
use crate::graph::DEFAULT_SPLIT_EVERY;
use crate::graph::{Key, Layer, Lowering, Node, Op, OpSpec, Value, combine_levels, take_value, unique_token};
use crate::registry::OpFactory;

impl<A: Element> Array<A, Ix2> {
    /// The matrix product `self · other` (NumPy's `self @ other`). The left side's column chunks
    /// must equal the right side's row chunks (rechunk one of them otherwise).
    ///
    /// # Errors
    /// [`Error::Metadata`], while building, if the inner lengths or chunks differ.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::array::{Array, ndarray::Array2};
    /// let a = Array2::from_shape_fn((5, 4), |(i, j)| (i + j) as f64);
    /// let b = Array2::from_shape_fn((4, 3), |(i, j)| (i * j) as f64 - 1.0);
    /// let lazy = Array::from_array(a.clone(), &[2, 3])?.dot(&Array::from_array(b.clone(), &[3, 2])?)?;
    /// assert_eq!(lazy.compute()?, a.dot(&b));
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn dot(&self, other: &Array<A, Ix2>) -> Result<Array<A, Ix2>> {
        let (l, r) = (self.chunks.axes(), other.chunks.axes());
        if l[1] != r[0] {
            return Err(Error::Metadata(format!(
                "matmul of {:?} by {:?}: the left's column chunks {:?} must equal the right's row chunks {:?}",
                self.shape(),
                other.shape(),
                l[1],
                r[0]
            )));
        }
        let chunks = Chunks::explicit(&[self.shape()[0], other.shape()[1]], vec![l[0].clone(), r[1].clone()])?;
        let layer = MatMul::<A> {
            inner: l[1].len(),
            chunks: chunks.clone(),
            split_every: DEFAULT_SPLIT_EVERY,
            _t: std::marker::PhantomData,
        };
        let node = Node::new(
            unique_token("matmul").into(),
            vec![self.node.clone(), other.node.clone()],
            Box::new(layer),
        );
        Ok(Array::from_node(node, Arc::new(chunks)))
    }
}

#[derive(Debug)]
struct MatMul<A> {
    /// Blocks along the inner axis.
    inner: usize,
    chunks: Chunks,
    split_every: usize,
    _t: std::marker::PhantomData<fn() -> A>,
}

impl<A: Element> Layer for MatMul<A> {
    fn op_name(&self) -> &str {
        "matmul"
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        let (left, right) = (&node.inputs()[0], &node.inputs()[1]);
        let partial: Arc<str> = format!("{}-partial", node.name()).into();
        let product: Arc<dyn Op> = Arc::new(BlockProduct::<A>(std::marker::PhantomData));
        let sum: Arc<dyn Op> = Arc::new(BlockSum::<A>(std::marker::PhantomData));
        for index in self.chunks.block_indices() {
            let (i, j) = (index[0], index[1]);
            let shape = self.chunks.block_shape(&index);
            if self.inner == 0 || shape.contains(&0) {
                out.add(
                    block_key(node, &index),
                    Arc::new(Zeros::<A>(shape, std::marker::PhantomData)),
                    &[],
                )?;
                continue;
            }
            let level: Vec<Key> = (0..self.inner)
                .map(|k| {
                    let key = Key::new(partial.clone(), [0, i as u32, j as u32, k as u32]);
                    out.add(
                        key.clone(),
                        product.clone(),
                        &[block_key(left, &[i, k]), block_key(right, &[k, j])],
                    )?;
                    Ok(key)
                })
                .collect::<Result<_>>()?;
            let level = combine_levels(out, level, self.split_every, &sum, |depth, g| {
                Key::new(partial.clone(), [depth, i as u32, j as u32, g as u32])
            })?;
            // The last partial is the block: rename it under the output key.
            out.add(block_key(node, &index), sum.clone(), &level)?;
        }
        Ok(())
    }
}

fn matrix<A: Element>(v: &Value) -> Result<ndarray::ArrayView2<'_, A>, BoxError> {
    let block = v
        .downcast_ref::<ArrayD<A>>()
        .ok_or("a matmul input is not a block of this type")?;
    Ok(block.view().into_dimensionality::<Ix2>()?)
}

#[derive(Debug)]
struct BlockProduct<A>(std::marker::PhantomData<fn() -> A>);

impl<A: Element> Op for BlockProduct<A> {
    fn name(&self) -> &str {
        "matmul"
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        let [a, b] = inputs.as_slice() else {
            return Err(format!("a block product takes 2 inputs, got {}", inputs.len()).into());
        };
        let (a, b) = (matrix::<A>(a)?, matrix::<A>(b)?);
        if a.ncols() != b.nrows() {
            return Err(format!("blocks of shapes {:?} and {:?} do not multiply", a.shape(), b.shape()).into());
        }
        Ok(Arc::new(a.dot(&b).into_dyn()))
    }

    fn spec(&self) -> Option<OpSpec> {
        dtype_spec::<A>("array.matmul")
    }
}

inventory::submit! {
    OpFactory {
        name: "array.matmul",
        build: |p| {
            let spec: DtypeOnly = params(p)?;
            with_element!(spec.dtype, A => Ok(Arc::new(BlockProduct::<A>(std::marker::PhantomData)) as Arc<dyn Op>))
        },
    }
}

#[derive(Debug)]
struct BlockSum<A>(std::marker::PhantomData<fn() -> A>);

impl<A: Element> Op for BlockSum<A> {
    fn name(&self) -> &str {
        "sum"
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        let mut parts = inputs.into_iter().map(take_value::<ArrayD<A>>);
        let mut total = parts.next().ok_or("nothing to sum")??;
        for p in parts {
            let p = p?;
            if p.shape() != total.shape() {
                return Err(format!("cannot add blocks of shapes {:?} and {:?}", total.shape(), p.shape()).into());
            }
            total.zip_mut_with(&p, |t, &x| *t = *t + x);
        }
        Ok(Arc::new(total))
    }

    fn spec(&self) -> Option<OpSpec> {
        dtype_spec::<A>("array.block_sum")
    }
}

inventory::submit! {
    OpFactory {
        name: "array.block_sum",
        build: |p| {
            let spec: DtypeOnly = params(p)?;
            with_element!(spec.dtype, A => Ok(Arc::new(BlockSum::<A>(std::marker::PhantomData)) as Arc<dyn Op>))
        },
    }
}

#[derive(Debug)]
struct Zeros<A>(Vec<usize>, std::marker::PhantomData<fn() -> A>);

impl<A: Element> Op for Zeros<A> {
    fn name(&self) -> &str {
        "zeros"
    }

    fn call(&self, _inputs: Vec<Value>) -> Result<Value, BoxError> {
        Ok(Arc::new(ArrayD::<A>::zeros(ndarray::IxDyn(&self.0))))
    }

    fn spec(&self) -> Option<OpSpec> {
        op_spec(
            "array.zeros_block",
            &ShapeSpec {
                dtype: Dtype::of::<A>()?,
                shape: self.0.clone(),
            },
        )
    }
}

#[derive(Serialize, Deserialize)]
struct ShapeSpec {
    dtype: Dtype,
    shape: Vec<usize>,
}

inventory::submit! {
    OpFactory {
        name: "array.zeros_block",
        build: |p| {
            let spec: ShapeSpec = params(p)?;
            with_element!(spec.dtype, A => Ok(Arc::new(Zeros::<A>(spec.shape, std::marker::PhantomData)) as Arc<dyn Op>))
        },
    }
}
