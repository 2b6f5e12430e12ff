//! Reductions of arrays: over all elements (a [`Delayed`] scalar) or along one axis (an array
//! with that axis removed), as tree reductions over blocks, `split_every` partials at a time.

use std::fmt;
use std::sync::Arc;

use ndarray::{ArrayD, ArrayViewD, Axis, Dimension, IxDyn, RemoveAxis};

use crate::array::block_view::{block_view, for_each_run, readable_node};
use crate::array::collection::block_key;
use crate::array::{Array, Chunks, Element};
use crate::delayed::Delayed;
use crate::error::{BoxError, Error, Result};
use crate::graph::DEFAULT_SPLIT_EVERY;
use crate::graph::{Key, Layer, Lowering, Node, Op, TreeReduce, Value, combine_levels, unique_token};

/// A partial result that tree reductions combine: accumulated over a block's elements (or the
/// tiles of a fused elementwise expression), then merged.
pub(crate) trait Partial<A: Copy>: Clone + Send + Sync + 'static {
    fn empty() -> Self;
    fn add_slice(&mut self, values: &[A]);
    fn merge(self, other: Self) -> Self;

    fn of_block(block: &ArrayViewD<'_, A>) -> Self {
        let mut p = Self::empty();
        for_each_run(block, |values| p.add_slice(values));
        p
    }
}

/// Sum and count. Integers sum exactly in their own type (wrapping like NumPy); floats (`f32`
/// too) sum in `f64`, eight lanes per tile of 1,024 so the loop vectorises, so a long `f32`
/// array's sum and mean keep their precision.
#[derive(Debug, Clone, Copy)]
struct SumCount<A> {
    exact: A,
    float: f64,
    count: u64,
}

impl<A: Element> SumCount<A> {
    fn total(&self) -> A {
        if A::IS_FLOAT {
            A::from_f64(self.float)
        } else {
            self.exact
        }
    }

    fn total_f64(&self) -> f64 {
        if A::IS_FLOAT { self.float } else { self.exact.to_f64() }
    }
}

impl<A: Element> Partial<A> for SumCount<A> {
    fn empty() -> Self {
        SumCount {
            exact: A::zero(),
            float: 0.0,
            count: 0,
        }
    }

    fn add_slice(&mut self, values: &[A]) {
        for tile in values.chunks(crate::array::elementwise::TILE) {
            let mut exact = tile.chunks_exact(8);
            if A::IS_FLOAT {
                let mut lanes = [0.0_f64; 8];
                for group in &mut exact {
                    for (l, &v) in lanes.iter_mut().zip(group) {
                        *l += v.to_f64();
                    }
                }
                let rest: f64 = exact.remainder().iter().map(|v| v.to_f64()).sum();
                self.float += lanes.iter().sum::<f64>() + rest;
            } else {
                let mut lanes = [A::zero(); 8];
                for group in &mut exact {
                    for (l, &v) in lanes.iter_mut().zip(group) {
                        *l = *l + v;
                    }
                }
                let rest = exact.remainder().iter().fold(A::zero(), |a, &v| a + v);
                self.exact = self.exact + lanes.iter().fold(A::zero(), |a, &v| a + v) + rest;
            }
        }
        self.count += values.len() as u64;
    }

    fn merge(self, other: Self) -> Self {
        SumCount {
            exact: self.exact + other.exact,
            float: self.float + other.float,
            count: self.count + other.count,
        }
    }
}

/// Closure-backed op with a name, for the stages of a reduction.
struct StageOp<F> {
    name: &'static str,
    f: F,
}

impl<F> fmt::Debug for StageOp<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StageOp({})", self.name)
    }
}

impl<F: Fn(Vec<Value>) -> Result<Value, BoxError> + Send + Sync + 'static> Op for StageOp<F> {
    fn name(&self) -> &str {
        self.name
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        (self.f)(inputs)
    }
}

pub(crate) fn stage(
    name: &'static str,
    f: impl Fn(Vec<Value>) -> Result<Value, BoxError> + Send + Sync + 'static,
) -> Arc<dyn Op> {
    Arc::new(StageOp { name, f })
}

fn get<T: 'static>(v: &Value) -> Result<&T, BoxError> {
    v.downcast_ref::<T>()
        .ok_or_else(|| format!("expected a {}", std::any::type_name::<T>()).into())
}

impl<A: Element, D: Dimension> Array<A, D> {
    /// A reduction of every element to a scalar, through partials `P`.
    pub(crate) fn reduce_all<P: Partial<A>, R: Clone + Send + Sync + 'static>(
        &self,
        name: &'static str,
        finish: impl Fn(P) -> R + Send + Sync + 'static,
        split_every: usize,
    ) -> Delayed<R> {
        let blocks = self.chunks.block_key_indices();
        // Over an elementwise expression, reduce its tiles as they are computed: the expression's
        // result is never written to memory (one pass over the inputs).
        // Blocks of memory-mapped inputs are read in place (`readable_node`).
        let (inputs, chunk) = match self.elementwise_parts() {
            Some((expr, nodes)) => (
                nodes.iter().map(readable_node::<A>).collect(),
                stage(name, move |inputs| {
                    let blocks = inputs.iter().map(block_view::<A>).collect::<Result<Vec<_>, _>>()?;
                    let mut partial = P::empty();
                    match expr.for_each_tile(&blocks, |tile| partial.add_slice(tile)) {
                        Some(()) => Ok(Arc::new(partial)),
                        None => Err("a fused reduction's inputs do not share the block shape".into()),
                    }
                }),
            ),
            None => (
                vec![readable_node::<A>(&self.node)],
                stage(name, |inputs| Ok(Arc::new(P::of_block(&block_view::<A>(&inputs[0])?)))),
            ),
        };
        let layer = TreeReduce {
            name,
            per_block: Vec::new(),
            chunk,
            combine: stage("combine", |inputs| {
                let mut parts = inputs.iter().map(get::<P>);
                let first = parts.next().ok_or("nothing to combine")??.clone();
                Ok(Arc::new(
                    parts.try_fold(first, |acc, p| p.map(|p| acc.merge(p.clone())))?,
                ))
            }),
            finish: stage("finish", move |inputs| {
                Ok(Arc::new(finish(get::<P>(&inputs[0])?.clone())))
            }),
            blocks,
            split_every,
        };
        Delayed::from_node(Node::new(unique_token(name).into(), inputs, Box::new(layer)))
    }

    /// The sum of every element (exact for integers, which wrap on overflow in release builds).
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::array::{Array, ndarray::Array2};
    /// let x = Array::from_array(Array2::from_shape_fn((5, 7), |(i, j)| (i * 7 + j) as i64), &[2, 3])?;
    /// assert_eq!(x.sum().compute()?, (0..35).sum::<i64>());
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn sum(&self) -> Delayed<A> {
        self.reduce_all::<SumCount<A>, A>("sum", |p| p.total(), DEFAULT_SPLIT_EVERY)
    }

    /// The mean of every element, as `f64`; NaN for an empty array.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::array::{Array, ndarray::array};
    /// let x = Array::from_array(array![1.0_f32, 2.0, 3.0, 6.0], &[3])?;
    /// assert_eq!(x.mean().compute()?, 3.0);
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn mean(&self) -> Delayed<f64> {
        self.reduce_all::<SumCount<A>, f64>(
            "mean",
            |p| {
                if p.count == 0 {
                    f64::NAN
                } else {
                    p.total_f64() / p.count as f64
                }
            },
            DEFAULT_SPLIT_EVERY,
        )
    }
}

impl<A: Element, D: RemoveAxis> Array<A, D> {
    /// The sum along `axis`: an array with that axis removed, whose blocks are the tree-reduced
    /// sums of the input's blocks along the axis.
    ///
    /// # Errors
    /// [`Error::Metadata`] if `axis` is out of range.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::array::{Array, ndarray::{Array2, Axis}};
    /// let data = Array2::from_shape_fn((6, 4), |(i, j)| (i + 10 * j) as f64);
    /// let x = Array::from_array(data.clone(), &[4, 3])?;
    /// assert_eq!(x.sum_axis(0)?.compute()?, data.sum_axis(Axis(0)));
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn sum_axis(&self, axis: usize) -> Result<Array<A, D::Smaller>> {
        self.reduce_axis("sum", axis, |b, ax| b.sum_axis(Axis(ax)), |a, b| a + b, |s, _n| s)
    }

    /// The mean along `axis` (NaN where the axis is empty).
    ///
    /// # Errors
    /// [`Error::Metadata`] if `axis` is out of range.
    pub fn mean_axis(&self, axis: usize) -> Result<Array<A, D::Smaller>> {
        let n = self.shape().get(axis).copied().unwrap_or(0);
        self.reduce_axis(
            "mean",
            axis,
            |b, ax| b.sum_axis(Axis(ax)),
            |a, b| a + b,
            move |s: ArrayD<A>, _| s.mapv(|v| A::from_f64(if n == 0 { f64::NAN } else { v.to_f64() / n as f64 })),
        )
    }

    fn reduce_axis(
        &self,
        name: &'static str,
        axis: usize,
        chunk: impl Fn(ArrayViewD<'_, A>, usize) -> ArrayD<A> + Send + Sync + 'static,
        combine: impl Fn(ArrayD<A>, ArrayD<A>) -> ArrayD<A> + Send + Sync + 'static,
        finish: impl Fn(ArrayD<A>, usize) -> ArrayD<A> + Send + Sync + 'static,
    ) -> Result<Array<A, D::Smaller>> {
        self.reduce_axis_with(
            name,
            axis,
            move |block, axis, _offset| Ok(chunk(block, axis)),
            move |a, b| Ok(combine(a, b)),
            move |p| Ok(finish(p, axis)),
        )
    }

    /// A reduction along `axis` through partial blocks of `P`: `chunk(block, axis, offset)` makes
    /// a partial from an input block that starts at `offset` along the axis, `combine` merges
    /// two partials, `finish` turns the last into an output block of `B`. Blocks of a
    /// memory-mapped array are read in place.
    pub(crate) fn reduce_axis_with<P: Clone + Send + Sync + 'static, B: Clone + Send + Sync + 'static>(
        &self,
        name: &'static str,
        axis: usize,
        chunk: impl Fn(ArrayViewD<'_, A>, usize, usize) -> Result<ArrayD<P>, BoxError> + Send + Sync + 'static,
        combine: impl Fn(ArrayD<P>, ArrayD<P>) -> Result<ArrayD<P>, BoxError> + Send + Sync + 'static,
        finish: impl Fn(ArrayD<P>) -> Result<ArrayD<B>, BoxError> + Send + Sync + 'static,
    ) -> Result<Array<B, D::Smaller>> {
        if axis >= self.ndim() {
            return Err(Error::Metadata(format!(
                "axis {axis} is out of range for {} axes",
                self.ndim()
            )));
        }
        let out_chunks = self.chunks.without_axis(axis);
        let chunk = Arc::new(chunk);
        let chunk_at: ChunkAt = Arc::new(move |offset| {
            let chunk = chunk.clone();
            stage("partial", move |inputs| {
                Ok(Arc::new(chunk(block_view::<A>(&inputs[0])?, axis, offset)?))
            })
        });
        let layer = AxisReduce {
            name,
            axis,
            in_chunks: (*self.chunks).clone(),
            out_chunks: out_chunks.clone(),
            chunk_at,
            combine: stage("combine", move |inputs| {
                let mut parts = inputs.into_iter().map(crate::graph::take_value::<ArrayD<P>>);
                let first = parts.next().ok_or("nothing to combine")??;
                Ok(Arc::new(parts.try_fold(first, |acc, p| combine(acc, p?))?))
            }),
            finish: stage("finish", move |inputs| {
                let v = crate::graph::take_value::<ArrayD<P>>(inputs.into_iter().next().ok_or("no partial")?)?;
                Ok(Arc::new(finish(v)?))
            }),
            split_every: DEFAULT_SPLIT_EVERY,
        };
        let input = readable_node::<A>(&self.node);
        let node = Node::new(unique_token(name).into(), vec![input], Box::new(layer));
        Array::<B, IxDyn>::from_node(node, Arc::new(out_chunks)).with_dim()
    }
}

/// Makes the partial op for an input block starting at the given offset along the axis.
type ChunkAt = Arc<dyn Fn(usize) -> Arc<dyn Op> + Send + Sync>;

/// Reduces blocks along one axis: for every output block, a tree over the input blocks that
/// line up along the axis. Partial keys are `('<name>-partial', level, out block…, group)`.
struct AxisReduce {
    name: &'static str,
    axis: usize,
    in_chunks: Chunks,
    out_chunks: Chunks,
    chunk_at: ChunkAt,
    combine: Arc<dyn Op>,
    finish: Arc<dyn Op>,
    split_every: usize,
}

impl fmt::Debug for AxisReduce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AxisReduce({}, axis {})", self.name, self.axis)
    }
}

impl Layer for AxisReduce {
    fn op_name(&self) -> &str {
        self.name
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        let input = &node.inputs()[0];
        let partial: Arc<str> = format!("{}-partial", node.name()).into();
        let along = self.in_chunks.grid()[self.axis];
        let chunks: Vec<Arc<dyn Op>> = (0..along)
            .map(|j| (self.chunk_at)(self.in_chunks.axes()[self.axis][..j].iter().sum()))
            .collect();
        for index in self.out_chunks.block_indices() {
            let at = |level: u32, g: usize| {
                let mut k: Vec<u32> = vec![level];
                k.extend(index.iter().map(|&i| i as u32));
                k.push(g as u32);
                Key::new(partial.clone(), k)
            };
            let level: Vec<Key> = (0..along)
                .map(|j| {
                    let mut in_index = index.clone();
                    in_index.insert(self.axis, j);
                    let key = at(0, j);
                    out.add(key.clone(), chunks[j].clone(), &[block_key(input, &in_index)])?;
                    Ok(key)
                })
                .collect::<Result<_>>()?;
            let level = combine_levels(out, level, self.split_every, &self.combine, at)?;
            out.add(block_key(node, &index), self.finish.clone(), &level)?;
        }
        Ok(())
    }
}
