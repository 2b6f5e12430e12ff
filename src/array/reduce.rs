//! Reductions of arrays: over all elements (a [`Delayed`] scalar) or along one axis (an array
//! with that axis removed), as tree reductions over blocks, `split_every` partials at a time.

use std::fmt;
use std::sync::Arc;

use ndarray::{ArrayD, ArrayViewD, Axis, Dimension, IxDyn, RemoveAxis};
use serde::{Deserialize, Serialize};

use crate::array::block_view::{block_view, for_each_run, readable_node};
use crate::array::collection::block_key;
use crate::array::elementwise::{Expr, ExprSpec};
use crate::array::remote::{Dtype, op_spec, params, with_element};
use crate::array::stats::Moments;
use crate::array::{Array, Chunks, Element};
use crate::delayed::Delayed;
use crate::error::{BoxError, Error, Result};
use crate::graph::DEFAULT_SPLIT_EVERY;
use crate::graph::{Key, Layer, Lowering, Node, Op, OpSpec, TreeReduce, Value, combine_levels, unique_token};
use crate::registry::OpFactory;

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
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub(crate) struct SumCount<A> {
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

/// Closure-backed op with a name, for the stages of a reduction, and the spec that rebuilds it
/// (through [`ReduceSpec`]).
struct StageOp<F> {
    name: &'static str,
    f: F,
    spec: Option<OpSpec>,
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
        if inputs.is_empty() {
            return Err(format!("reduction stage `{}` got no inputs", self.name).into());
        }
        (self.f)(inputs)
    }

    fn spec(&self) -> Option<OpSpec> {
        self.spec.clone()
    }
}

/// A stage op whose spec is `spec`.
pub(crate) fn stage(
    name: &'static str,
    spec: Option<OpSpec>,
    f: impl Fn(Vec<Value>) -> Result<Value, BoxError> + Send + Sync + 'static,
) -> Arc<dyn Op> {
    Arc::new(StageOp { name, f, spec })
}

/// The reductions over all elements that accumulate sums or moments (any element type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum MomentKind {
    Sum,
    Mean,
    Var { ddof: u64 },
    Std { ddof: u64 },
}

/// Smallest or largest: the reductions that compare elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum ExtremeKind {
    Min,
    Max,
}

/// The reductions along an axis that sum (any element type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum AxisSumKind {
    Sum,
    /// The mean over an axis of length `n`.
    Mean {
        n: usize,
    },
}

/// The statistics along an axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum AxisStatKind {
    Var { ddof: u64 },
    Std { ddof: u64 },
    Min,
    Max,
    Argmin,
    Argmax,
}

/// Which reduction a stage op belongs to: with the element type and the stage, enough for a
/// worker to rebuild it by calling the same stage-building function the builder did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum Reduction {
    Moment(MomentKind),
    Extreme(ExtremeKind),
    /// The flat index of the extreme of an array of `shape`.
    Arg {
        kind: ExtremeKind,
        shape: Vec<usize>,
    },
    SumAxis {
        kind: AxisSumKind,
        axis: usize,
    },
    StatAxis {
        kind: AxisStatKind,
        axis: usize,
    },
}

/// The stage of a tree reduction an op runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum Stage {
    /// One block (or one block's inputs of a fused elementwise expression) to a partial.
    Chunk,
    /// One block starting at `offset` along the reduced axis, to a partial block.
    Partial {
        offset: usize,
    },
    /// One block starting at `offset`, for a flat arg-extreme.
    Block {
        offset: Vec<usize>,
    },
    Combine,
    Finish,
}

#[derive(Serialize, Deserialize)]
struct ReduceSpec {
    dtype: Dtype,
    reduction: Reduction,
    stage: Stage,
    /// The elementwise expression a fused chunk stage evaluates.
    expr: Option<ExprSpec>,
}

/// The spec of `stage` of `reduction` over `A`; `None` if `expr` applies a user closure.
pub(crate) fn reduce_spec<A: Element>(reduction: &Reduction, stage: Stage, expr: Option<&Expr<A>>) -> Option<OpSpec> {
    let expr = match expr {
        Some(e) => Some(e.spec()?),
        None => None,
    };
    let spec = ReduceSpec {
        dtype: Dtype::of::<A>()?,
        reduction: reduction.clone(),
        stage,
        expr,
    };
    op_spec("array.reduce", &spec)
}

/// The three stage ops of a reduction over all elements.
pub(crate) struct Stages {
    pub(crate) chunk: Arc<dyn Op>,
    pub(crate) combine: Arc<dyn Op>,
    pub(crate) finish: Arc<dyn Op>,
}

/// The stages of a reduction over all elements through partials `P`, reading plain blocks or,
/// with `expr`, evaluating the elementwise expression over each block's inputs tile by tile.
pub(crate) fn all_stages<A: Element, P: Partial<A>, R: Send + Sync + 'static>(
    name: &'static str,
    reduction: Reduction,
    expr: Option<Arc<Expr<A>>>,
    finish: impl Fn(P) -> R + Send + Sync + 'static,
) -> Stages {
    let spec = |stage, expr: Option<&Expr<A>>| reduce_spec::<A>(&reduction, stage, expr);
    // Over an elementwise expression, reduce its tiles as they are computed: the expression's
    // result is never written to memory (one pass over the inputs).
    let chunk = match expr {
        Some(expr) => stage(name, spec(Stage::Chunk, Some(&expr)), move |inputs| {
            let blocks = inputs.iter().map(block_view::<A>).collect::<Result<Vec<_>, _>>()?;
            if blocks.len() < expr.arity() {
                return Err("a fused reduction got fewer inputs than its expression reads".into());
            }
            let mut partial = P::empty();
            match expr.for_each_tile(&blocks, |tile| partial.add_slice(tile)) {
                Some(()) => Ok(Arc::new(partial)),
                None => Err("a fused reduction's inputs do not share the block shape".into()),
            }
        }),
        None => stage(name, spec(Stage::Chunk, None), |inputs| {
            Ok(Arc::new(P::of_block(&block_view::<A>(&inputs[0])?)))
        }),
    };
    Stages {
        chunk,
        combine: stage("combine", spec(Stage::Combine, None), |inputs| {
            let mut parts = inputs.iter().map(get::<P>);
            let first = parts.next().ok_or("nothing to combine")??.clone();
            Ok(Arc::new(
                parts.try_fold(first, |acc, p| p.map(|p| acc.merge(p.clone())))?,
            ))
        }),
        finish: stage("finish", spec(Stage::Finish, None), move |inputs| {
            Ok(Arc::new(finish(get::<P>(&inputs[0])?.clone())))
        }),
    }
}

/// The stages of a sum, mean, variance or standard deviation over all elements.
pub(crate) fn moment_stages<A: Element>(kind: MomentKind, expr: Option<Arc<Expr<A>>>) -> Stages {
    let reduction = Reduction::Moment(kind);
    match kind {
        MomentKind::Sum => all_stages::<A, SumCount<A>, A>("sum", reduction, expr, |p| p.total()),
        MomentKind::Mean => all_stages::<A, SumCount<A>, f64>("mean", reduction, expr, |p| {
            if p.count == 0 {
                f64::NAN
            } else {
                p.total_f64() / p.count as f64
            }
        }),
        MomentKind::Var { ddof } => all_stages::<A, Moments, f64>("var", reduction, expr, move |m| m.variance(ddof)),
        MomentKind::Std { ddof } => all_stages::<A, Moments, f64>("std", reduction, expr, move |m| m.std(ddof)),
    }
}

inventory::submit! {
    OpFactory {
        name: "array.reduce",
        build: |p| {
            let spec: ReduceSpec = params(p)?;
            with_element!(spec.dtype, A => rebuild_stage::<A>(spec))
        },
    }
}

/// Rebuilds one stage op by building the reduction's stages as the builder did.
fn rebuild_stage<A: crate::array::stats::StatElem>(spec: ReduceSpec) -> Result<Arc<dyn Op>, BoxError> {
    use crate::array::statistics::{arg_stage, axis_stat_stages, extreme_stages};
    let expr = spec.expr.map(|e| e.build::<A>()).transpose()?.map(Arc::new);
    let pick = |stages: Stages| match spec.stage {
        Stage::Chunk => Ok(stages.chunk),
        Stage::Combine => Ok(stages.combine),
        Stage::Finish => Ok(stages.finish),
        ref other => Err(BoxError::from(format!("{other:?} is not a stage of this reduction"))),
    };
    let pick_axis = |stages: AxisStages| match spec.stage {
        Stage::Partial { offset } => Ok((stages.chunk_at)(offset)),
        Stage::Combine => Ok(stages.combine),
        Stage::Finish => Ok(stages.finish),
        ref other => Err(BoxError::from(format!("{other:?} is not a stage of an axis reduction"))),
    };
    if expr.is_some() && !matches!(spec.reduction, Reduction::Moment(_) | Reduction::Extreme(_)) {
        return Err("only reductions over all elements fuse an elementwise expression".into());
    }
    match spec.reduction {
        Reduction::Moment(kind) => pick(moment_stages::<A>(kind, expr)),
        Reduction::Extreme(kind) => pick(extreme_stages::<A>(kind, expr)),
        Reduction::Arg { kind, shape } => arg_stage::<A>(kind, &shape, &spec.stage),
        Reduction::SumAxis { kind, axis } => pick_axis(axis_sum_stages::<A>(kind, axis)),
        Reduction::StatAxis { kind, axis } => pick_axis(axis_stat_stages::<A>(kind, axis)),
    }
}

fn get<T: 'static>(v: &Value) -> Result<&T, BoxError> {
    v.downcast_ref::<T>()
        .ok_or_else(|| format!("expected a {}", std::any::type_name::<T>()).into())
}

impl<A: Element, D: Dimension> Array<A, D> {
    /// A reduction of every element to a scalar, through the stages `stages` builds (given the
    /// elementwise expression to fuse, when this array is one).
    pub(crate) fn reduce_all<R>(
        &self,
        name: &'static str,
        stages: impl FnOnce(Option<Arc<Expr<A>>>) -> Stages,
        split_every: usize,
    ) -> Delayed<R> {
        let blocks = self.chunks.block_key_indices();
        // Blocks of memory-mapped inputs are read in place (`readable_node`).
        let (inputs, expr) = match self.elementwise_parts() {
            Some((expr, nodes)) => (nodes.iter().map(readable_node::<A>).collect(), Some(expr)),
            None => (vec![readable_node::<A>(&self.node)], None),
        };
        let Stages { chunk, combine, finish } = stages(expr);
        let layer = TreeReduce {
            name,
            per_block: Vec::new(),
            chunk,
            combine,
            finish,
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
        self.reduce_all("sum", |e| moment_stages(MomentKind::Sum, e), DEFAULT_SPLIT_EVERY)
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
        self.reduce_all("mean", |e| moment_stages(MomentKind::Mean, e), DEFAULT_SPLIT_EVERY)
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
        self.reduce_axis_with("sum", axis, axis_sum_stages::<A>(AxisSumKind::Sum, axis))
    }

    /// The mean along `axis` (NaN where the axis is empty).
    ///
    /// # Errors
    /// [`Error::Metadata`] if `axis` is out of range.
    pub fn mean_axis(&self, axis: usize) -> Result<Array<A, D::Smaller>> {
        let n = self.shape().get(axis).copied().unwrap_or(0);
        self.reduce_axis_with("mean", axis, axis_sum_stages::<A>(AxisSumKind::Mean { n }, axis))
    }

    /// A reduction along `axis` through the given stages, whose finish makes blocks of `B`.
    pub(crate) fn reduce_axis_with<B>(
        &self,
        name: &'static str,
        axis: usize,
        stages: AxisStages,
    ) -> Result<Array<B, D::Smaller>> {
        if axis >= self.ndim() {
            return Err(Error::Metadata(format!(
                "axis {axis} is out of range for {} axes",
                self.ndim()
            )));
        }
        let out_chunks = self.chunks.without_axis(axis);
        let layer = AxisReduce {
            name,
            axis,
            in_chunks: (*self.chunks).clone(),
            out_chunks: out_chunks.clone(),
            chunk_at: stages.chunk_at,
            combine: stages.combine,
            finish: stages.finish,
            split_every: DEFAULT_SPLIT_EVERY,
        };
        let input = readable_node::<A>(&self.node);
        let node = Node::new(unique_token(name).into(), vec![input], Box::new(layer));
        Array::<B, IxDyn>::from_node(node, Arc::new(out_chunks)).with_dim()
    }
}

/// The stage ops of a reduction along an axis: the partial op for a block starting at an offset
/// along the axis, the combine and the finish.
pub(crate) struct AxisStages {
    pub(crate) chunk_at: ChunkAt,
    pub(crate) combine: Arc<dyn Op>,
    pub(crate) finish: Arc<dyn Op>,
}

/// The stages of a reduction along `axis` through partial blocks of `P`: `chunk(block, axis,
/// offset)` makes a partial from an input block that starts at `offset` along the axis,
/// `combine` merges two partials, `finish` turns the last into an output block of `B`. Blocks
/// of a memory-mapped array are read in place.
pub(crate) fn axis_stages<A: Element, P: Clone + Send + Sync + 'static, B: Clone + Send + Sync + 'static>(
    reduction: Reduction,
    axis: usize,
    chunk: impl Fn(ArrayViewD<'_, A>, usize, usize) -> Result<ArrayD<P>, BoxError> + Send + Sync + 'static,
    combine: impl Fn(ArrayD<P>, ArrayD<P>) -> Result<ArrayD<P>, BoxError> + Send + Sync + 'static,
    finish: impl Fn(ArrayD<P>) -> Result<ArrayD<B>, BoxError> + Send + Sync + 'static,
) -> AxisStages {
    let chunk = Arc::new(chunk);
    let spec_of = reduction.clone();
    let chunk_at: ChunkAt = Arc::new(move |offset| {
        let chunk = chunk.clone();
        let spec = reduce_spec::<A>(&spec_of, Stage::Partial { offset }, None);
        stage("partial", spec, move |inputs| {
            let block = block_view::<A>(&inputs[0])?;
            if axis >= block.ndim() {
                return Err(format!("axis {axis} is out of range for a block of {} axes", block.ndim()).into());
            }
            Ok(Arc::new(chunk(block, axis, offset)?))
        })
    });
    AxisStages {
        chunk_at,
        combine: stage(
            "combine",
            reduce_spec::<A>(&reduction, Stage::Combine, None),
            move |inputs| {
                let mut parts = inputs.into_iter().map(crate::graph::take_value::<ArrayD<P>>);
                let first = parts.next().ok_or("nothing to combine")??;
                Ok(Arc::new(parts.try_fold(first, |acc, p| combine(acc, p?))?))
            },
        ),
        finish: stage(
            "finish",
            reduce_spec::<A>(&reduction, Stage::Finish, None),
            move |inputs| {
                let v = crate::graph::take_value::<ArrayD<P>>(inputs.into_iter().next().ok_or("no partial")?)?;
                Ok(Arc::new(finish(v)?))
            },
        ),
    }
}

/// Adds two partial sums, which must have the same shape.
fn add_blocks<A: Element>(a: ArrayD<A>, b: ArrayD<A>) -> Result<ArrayD<A>, BoxError> {
    if a.shape() != b.shape() {
        return Err(format!("cannot combine partials of shapes {:?} and {:?}", a.shape(), b.shape()).into());
    }
    Ok(a + b)
}

/// The stages of a sum or mean along `axis`.
pub(crate) fn axis_sum_stages<A: Element>(kind: AxisSumKind, axis: usize) -> AxisStages {
    let reduction = Reduction::SumAxis { kind, axis };
    let chunk = |b: ArrayViewD<'_, A>, ax: usize, _offset: usize| Ok(b.sum_axis(Axis(ax)));
    match kind {
        AxisSumKind::Sum => axis_stages::<A, A, A>(reduction, axis, chunk, add_blocks, Ok),
        AxisSumKind::Mean { n } => axis_stages::<A, A, A>(reduction, axis, chunk, add_blocks, move |s| {
            Ok(s.mapv(|v| A::from_f64(if n == 0 { f64::NAN } else { v.to_f64() / n as f64 })))
        }),
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
