//! Block-level operations: `map_blocks` with a user function, `concatenate` and `stack`, and
//! `persist`.

use std::fmt;
use std::sync::Arc;

use ndarray::{ArrayD, Axis, Dimension, IxDyn};

use serde::{Deserialize, Serialize};

use crate::array::collection::block_key;
use crate::array::remote::{op_spec, params};
use crate::array::{Array, Chunks, Element};
use crate::collection::{Collection, ComputeOptions};
use crate::delayed::{ArgFn, DelayedFn};
use crate::error::{BoxError, Error, Result};
use crate::graph::{Layer, Literal, Lowering, Node, Op, OpSpec, Value, take_value, unique_token};
use crate::registry::{self, OpFactory};

impl<A: Element, D: Dimension> Array<A, D> {
    /// Applies `f` to every block. The result must keep the block's shape (checked when the
    /// block is computed: a different shape fails the compute, naming the block's task).
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::array::{Array, ndarray::{Array1, ArrayD}};
    /// let x = Array::from_array(Array1::from(vec![3.0, 1.0, 2.0, 0.0]), &[2])?;
    /// // Sort within each block.
    /// let sorted = x.map_blocks(|b: ArrayD<f64>| {
    ///     let mut v = b.into_raw_vec_and_offset().0;
    ///     v.sort_by(f64::total_cmp);
    ///     ArrayD::from_shape_vec(vec![v.len()], v).unwrap()
    /// });
    /// assert_eq!(sorted.compute()?.to_vec(), vec![1.0, 3.0, 0.0, 2.0]);
    /// # Ok::<(), drask::Error>(())
    /// ```
    ///
    /// A closure cannot be sent to another process, so its tasks run on local executors only;
    /// for a remote executor use [`map_blocks_registered`](Array::map_blocks_registered).
    pub fn map_blocks(&self, f: impl Fn(ArrayD<A>) -> ArrayD<A> + Send + Sync + 'static) -> Array<A, D> {
        self.map_blocks_with(BlockMap::Closure(Arc::new(f)))
    }

    /// Applies a function registered with [`register_fn!`](crate::register_fn) to every block,
    /// as [`map_blocks`](Array::map_blocks) does; the tasks have op specs, so a remote worker
    /// running the same binary can rebuild them by the function's name. The function takes the
    /// block by reference.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::array::{Array, ndarray::{Array1, ArrayD}};
    /// use drask::registry::GraphSpec;
    ///
    /// fn sort_block(b: &ArrayD<f64>) -> ArrayD<f64> {
    ///     let mut v = b.iter().copied().collect::<Vec<_>>();
    ///     v.sort_by(f64::total_cmp);
    ///     ArrayD::from_shape_vec(b.raw_dim(), v).unwrap()
    /// }
    /// drask::register_fn!(sort_block);
    ///
    /// let x = Array::from_array(Array1::from(vec![3.0, 1.0, 2.0, 0.0]), &[2])?;
    /// let sorted = x.map_blocks_registered(drask::registered!(sort_block));
    /// assert!(GraphSpec::from_graph(&sorted.graph(true)?).is_ok()); // can be sent
    /// assert_eq!(sorted.compute()?.to_vec(), vec![1.0, 3.0, 0.0, 2.0]);
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn map_blocks_registered<F>(&self, f: DelayedFn<F>) -> Array<A, D>
    where
        F: ArgFn<(ArrayD<A>,), Output = ArrayD<A>>,
    {
        self.map_blocks_with(BlockMap::Op(f.op()))
    }

    fn map_blocks_with(&self, f: BlockMap<A>) -> Array<A, D> {
        let layer = MapBlocks::<A> {
            f,
            chunks: (*self.chunks).clone(),
        };
        let node = Node::new(
            unique_token("map_blocks").into(),
            vec![self.node.clone()],
            Box::new(layer),
        );
        Array::from_node(node, self.chunks.clone())
    }

    /// Computes the blocks now and returns an array over the results, so later computations
    /// start from them (Dask's `persist`).
    ///
    /// # Errors
    /// As [`compute`](Collection::compute).
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::array::{Array, ndarray::Array1};
    /// let x = Array::from_array(Array1::from(vec![1.0, 2.0, 3.0]), &[2])?;
    /// let y = (&x * 2.0).persist(&ComputeOptions::new())?;
    /// assert_eq!(y.graph(false)?.len(), 2); // two literal blocks, no work left
    /// assert_eq!(y.sum().compute()?, 12.0);
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn persist(&self, options: &ComputeOptions) -> Result<Array<A, D>> {
        let graph = self.graph(true)?;
        let values = options.executor_ref().execute(&graph, &self.keys(), &[])?;
        let layer = Persisted {
            blocks: self.chunks.block_indices().into_iter().zip(values).collect(),
        };
        let node = Node::new(unique_token("persisted").into(), vec![], Box::new(layer));
        Ok(Array::from_node(node, self.chunks.clone()))
    }
}

impl<A: Element, D: Dimension> Array<A, D> {
    /// Joins arrays along an existing `axis`. The other axes must have the same lengths and the
    /// same chunks (rechunk first otherwise).
    ///
    /// # Errors
    /// [`Error::Metadata`] on no arrays, an axis out of range, or mismatched shapes or chunks.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::array::{Array, ndarray::{array, concatenate, Axis}};
    /// let a = Array::from_array(array![[1, 2], [3, 4]], &[1, 2])?;
    /// let b = Array::from_array(array![[5, 6]], &[1, 2])?;
    /// let c = Array::concatenate(&[a, b], 0)?;
    /// assert_eq!(c.compute()?, array![[1, 2], [3, 4], [5, 6]]);
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn concatenate(arrays: &[Array<A, D>], axis: usize) -> Result<Array<A, D>> {
        let first = arrays
            .first()
            .ok_or_else(|| Error::Metadata("concatenate needs at least one array".into()))?;
        let n = first.ndim();
        if axis >= n {
            return Err(Error::Metadata(format!("axis {axis} is out of range for {n} axes")));
        }
        let mut axes = first.chunks.axes().to_vec();
        axes[axis].clear();
        let mut sources = Vec::new();
        for (k, a) in arrays.iter().enumerate() {
            for other in (0..n).filter(|&o| o != axis) {
                if a.ndim() != n || a.chunks.axes()[other] != first.chunks.axes()[other] {
                    return Err(Error::Metadata(format!(
                        "array {k} of the concatenation differs from the first off axis {axis}: chunks {:?} and {:?}",
                        a.chunks, first.chunks
                    )));
                }
            }
            for (b, &len) in a.chunks.axes()[axis].iter().enumerate() {
                if len > 0 {
                    axes[axis].push(len);
                    sources.push((k, b));
                }
            }
        }
        if axes[axis].is_empty() {
            axes[axis].push(0);
            sources.push((0, 0));
        }
        let shape: Vec<usize> = axes.iter().map(|a| a.iter().sum()).collect();
        let chunks = Chunks::explicit(&shape, axes)?;
        let layer = Concatenate {
            axis,
            sources,
            chunks: chunks.clone(),
        };
        let inputs = arrays.iter().map(|a| a.node.clone()).collect();
        let node = Node::new(unique_token("concatenate").into(), inputs, Box::new(layer));
        Ok(Array::from_node(node, Arc::new(chunks)))
    }

    /// Joins arrays of equal shape and chunks along a new `axis` (one block per array along
    /// it). The result is dynamic-dimensional.
    ///
    /// # Errors
    /// [`Error::Metadata`] on no arrays, `axis > ndim`, or mismatched shapes or chunks.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::array::{Array, ndarray::{array, ArrayD}};
    /// let a = Array::from_array(array![1, 2, 3], &[2])?;
    /// let b = Array::from_array(array![4, 5, 6], &[2])?;
    /// let s = Array::stack(&[a, b], 0)?;
    /// assert_eq!(s.compute()?, array![[1, 2, 3], [4, 5, 6]].into_dyn());
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn stack(arrays: &[Array<A, D>], axis: usize) -> Result<Array<A, IxDyn>> {
        let first = arrays
            .first()
            .ok_or_else(|| Error::Metadata("stack needs at least one array".into()))?;
        if axis > first.ndim() {
            return Err(Error::Metadata(format!(
                "axis {axis} is out of range for stacking {} axes",
                first.ndim()
            )));
        }
        if let Some(k) = arrays.iter().position(|a| a.chunks != first.chunks) {
            return Err(Error::Metadata(format!(
                "array {k} of the stack has chunks {:?}, the first {:?}",
                arrays[k].chunks, first.chunks
            )));
        }
        let mut axes = first.chunks.axes().to_vec();
        axes.insert(axis, vec![1; arrays.len()]);
        let shape: Vec<usize> = axes.iter().map(|a| a.iter().sum()).collect();
        let chunks = Chunks::explicit(&shape, axes)?;
        let layer = Stack {
            axis,
            chunks: chunks.clone(),
        };
        let inputs = arrays.iter().map(|a| a.node.clone()).collect();
        let node = Node::new(unique_token("stack").into(), inputs, Box::new(layer));
        Ok(Array::from_node(node, Arc::new(chunks)))
    }
}

type FallibleBlockFn<A> = Arc<dyn Fn(ArrayD<A>) -> Result<ArrayD<A>, BoxError> + Send + Sync>;

/// A closure-backed op over one block.
struct BlockFn<A> {
    name: &'static str,
    f: FallibleBlockFn<A>,
}

impl<A> fmt::Debug for BlockFn<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlockFn({})", self.name)
    }
}

impl<A: Element> Op for BlockFn<A> {
    fn name(&self) -> &str {
        self.name
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        let block = take_value::<ArrayD<A>>(inputs.into_iter().next().ok_or("no input block")?)?;
        Ok(Arc::new((self.f)(block)?))
    }
}

fn block_op<A: Element>(
    name: &'static str,
    f: impl Fn(ArrayD<A>) -> Result<ArrayD<A>, BoxError> + Send + Sync + 'static,
) -> Arc<dyn Op> {
    Arc::new(BlockFn { name, f: Arc::new(f) })
}

type UserBlockFn<A> = Arc<dyn Fn(ArrayD<A>) -> ArrayD<A> + Send + Sync>;

/// What `map_blocks` applies: a closure (local only) or the op of a registered function.
enum BlockMap<A> {
    Closure(UserBlockFn<A>),
    Op(Arc<dyn Op>),
}

struct MapBlocks<A> {
    f: BlockMap<A>,
    chunks: Chunks,
}

impl<A> fmt::Debug for MapBlocks<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MapBlocks({:?})", self.chunks)
    }
}

impl<A: Element> Layer for MapBlocks<A> {
    fn op_name(&self) -> &str {
        "map_blocks"
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        let input = &node.inputs()[0];
        for index in self.chunks.block_indices() {
            let expected = self.chunks.block_shape(&index);
            let f = match &self.f {
                BlockMap::Closure(f) => f.clone(),
                BlockMap::Op(op) => {
                    let op = Arc::new(CheckShape {
                        inner: op.clone(),
                        expected,
                    });
                    out.add(block_key(node, &index), op, &[block_key(input, &index)])?;
                    continue;
                }
            };
            let op = block_op("map_blocks", move |b: ArrayD<A>| {
                let result = f(b);
                if result.shape() != expected.as_slice() {
                    return Err(format!(
                        "map_blocks returned a block of shape {:?}, expected {expected:?}",
                        result.shape()
                    )
                    .into());
                }
                Ok(result)
            });
            out.add(block_key(node, &index), op, &[block_key(input, &index)])?;
        }
        Ok(())
    }
}

/// Runs an op on one block and checks that the result has the block's shape: a registered
/// function given to `map_blocks_registered`.
#[derive(Debug)]
struct CheckShape {
    inner: Arc<dyn Op>,
    expected: Vec<usize>,
}

#[derive(Serialize, Deserialize)]
struct CheckShapeSpec {
    op: OpSpec,
    expected: Vec<usize>,
}

impl Op for CheckShape {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        let result = self.inner.call(inputs)?;
        macro_rules! check {
            ($($t:ty),*) => {$(
                if let Some(block) = result.downcast_ref::<ArrayD<$t>>() {
                    if block.shape() != self.expected.as_slice() {
                        return Err(format!(
                            "map_blocks returned a block of shape {:?}, expected {:?}",
                            block.shape(),
                            self.expected
                        )
                        .into());
                    }
                    return Ok(result);
                }
            )*};
        }
        check!(f32, f64, i32, i64, bool);
        Err(format!("map_blocks: `{}` did not return a block", self.inner.name()).into())
    }

    fn spec(&self) -> Option<OpSpec> {
        let spec = CheckShapeSpec {
            op: self.inner.spec()?,
            expected: self.expected.clone(),
        };
        op_spec("array.map_blocks", &spec)
    }
}

inventory::submit! {
    OpFactory {
        name: "array.map_blocks",
        build: |p| {
            let spec: CheckShapeSpec = params(p)?;
            Ok(Arc::new(CheckShape { inner: registry::build_op(&spec.op)?, expected: spec.expected }))
        },
    }
}

struct Persisted {
    blocks: Vec<(Vec<usize>, Value)>,
}

impl fmt::Debug for Persisted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Persisted({} blocks)", self.blocks.len())
    }
}

impl Layer for Persisted {
    fn op_name(&self) -> &str {
        "persisted"
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        for (index, value) in &self.blocks {
            let op = Literal::from_value(value.clone(), "block");
            out.add(block_key(node, index), Arc::new(op), &[])?;
        }
        Ok(())
    }
}

/// Output block `i` along the axis is block `sources[i].1` of input `sources[i].0`.
#[derive(Debug)]
struct Concatenate {
    axis: usize,
    sources: Vec<(usize, usize)>,
    chunks: Chunks,
}

impl Layer for Concatenate {
    fn op_name(&self) -> &str {
        "concatenate"
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        let pass = Arc::new(PassThrough);
        for index in self.chunks.block_indices() {
            let (input, b) = self.sources[index[self.axis]];
            let mut at = index.clone();
            at[self.axis] = b;
            out.add(
                block_key(node, &index),
                pass.clone(),
                &[block_key(&node.inputs()[input], &at)],
            )?;
        }
        Ok(())
    }
}

/// Output block with index `i` along the new axis is input `i`'s block, with the axis inserted.
#[derive(Debug)]
struct Stack {
    axis: usize,
    chunks: Chunks,
}

impl Layer for Stack {
    fn op_name(&self) -> &str {
        "stack"
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        let axis = self.axis;
        let op: Arc<dyn Op> = Arc::new(InsertAxis(axis));
        for index in self.chunks.block_indices() {
            let mut at = index.clone();
            let input = at.remove(axis);
            out.add(
                block_key(node, &index),
                op.clone(),
                &[block_key(&node.inputs()[input], &at)],
            )?;
        }
        Ok(())
    }
}

/// Returns its input unchanged (a block that keeps its value under a new key).
#[derive(Debug)]
struct PassThrough;

impl Op for PassThrough {
    fn name(&self) -> &str {
        "concatenate"
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        inputs.into_iter().next().ok_or_else(|| "no input block".into())
    }

    fn spec(&self) -> Option<OpSpec> {
        Some(OpSpec::new("array.concatenate", serde_json::Value::Null))
    }
}

inventory::submit! {
    OpFactory { name: "array.concatenate", build: |_| Ok(Arc::new(PassThrough)) }
}

#[derive(Debug)]
struct InsertAxis(usize);

impl Op for InsertAxis {
    fn name(&self) -> &str {
        "stack"
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        let value = inputs.into_iter().next().ok_or("no input block")?;
        // Any element type: the block is moved, only its shape changes.
        macro_rules! try_type {
            ($($t:ty),*) => {$(
                if value.is::<ArrayD<$t>>() {
                    let block = take_value::<ArrayD<$t>>(value)?;
                    if self.0 > block.ndim() {
                        return Err(format!("stack: axis {} is out of range for {} axes", self.0, block.ndim()).into());
                    }
                    return Ok(Arc::new(block.insert_axis(Axis(self.0))));
                }
            )*};
        }
        try_type!(f32, f64, i32, i64, bool);
        Err("stack: a block of an unsupported element type".into())
    }

    fn spec(&self) -> Option<OpSpec> {
        op_spec("array.stack", &self.0)
    }
}

inventory::submit! {
    OpFactory { name: "array.stack", build: |p| Ok(Arc::new(InsertAxis(params(p)?))) }
}
