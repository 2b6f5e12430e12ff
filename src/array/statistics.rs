//! Variance, standard deviation, minimum, maximum and arg-extremes of arrays, over all elements
//! or along one axis, built on the exact partial combines of [`stats`](crate::array::stats).

use std::sync::Arc;

use ndarray::{ArrayD, ArrayViewD, Dimension, RemoveAxis};

use crate::array::block_view::{block_view, readable_node};
use crate::array::elementwise::Expr;
use crate::array::stats::{self, ArgExtreme, Moments, StatElem};
use crate::array::{Array, Element};
use crate::delayed::Delayed;
use crate::error::{BoxError, Result};
use crate::graph::{DEFAULT_SPLIT_EVERY, Op};

use super::reduce::{
    AxisStages, AxisStatKind, ExtremeKind, MomentKind, Partial, Reduction, Stage, Stages, all_stages, axis_stages,
    moment_stages, reduce_spec, stage,
};

impl<A: Element> Partial<A> for Moments {
    fn empty() -> Self {
        Moments::EMPTY
    }

    fn add_slice(&mut self, values: &[A]) {
        // A tile at a time through a stack buffer: no allocation, however large the block.
        let mut buf = [0.0_f64; crate::array::elementwise::TILE];
        for tile in values.chunks(buf.len()) {
            let buf = &mut buf[..tile.len()];
            buf.iter_mut().zip(tile).for_each(|(b, v)| *b = v.to_f64());
            *self = Moments::merge(*self, Moments::of_slice(buf));
        }
    }

    fn merge(self, other: Self) -> Self {
        Moments::merge(self, other)
    }
}

/// The smallest (`LESS`) or largest element seen, NaN once any NaN is seen (NumPy's rule).
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub(crate) struct Extreme<A, const LESS: bool>(Option<A>);

impl<A: StatElem, const LESS: bool> Partial<A> for Extreme<A, LESS> {
    fn empty() -> Self {
        Extreme(None)
    }

    fn add_slice(&mut self, values: &[A]) {
        for &v in values {
            self.0 = Some(match self.0 {
                None => v,
                Some(best) => pick::<A, LESS>(best, v),
            });
        }
    }

    fn merge(self, other: Self) -> Self {
        match (self.0, other.0) {
            (Some(a), Some(b)) => Extreme(Some(pick::<A, LESS>(a, b))),
            (a, b) => Extreme(a.or(b)),
        }
    }
}

fn pick<A: StatElem, const LESS: bool>(a: A, b: A) -> A {
    if LESS {
        stats::combine_min(a, b)
    } else {
        stats::combine_max(a, b)
    }
}

impl<A: Element, D: Dimension> Array<A, D> {
    /// The variance of every element with `ddof` delta degrees of freedom (NumPy's `var`),
    /// computed with Welford/Chan partials, so prices near 1e9 with a variance near 1 come out
    /// right; NaN when there are at most `ddof` elements.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::array::{Array, ndarray::array};
    /// let x = Array::from_array(array![1.0, 2.0, 3.0, 4.0], &[3])?;
    /// assert_eq!(x.var(0).compute()?, 1.25);
    /// assert_eq!(x.std(1).compute()?, (5.0_f64 / 3.0).sqrt());
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn var(&self, ddof: u64) -> Delayed<f64> {
        self.reduce_all(
            "var",
            |e| moment_stages(MomentKind::Var { ddof }, e),
            DEFAULT_SPLIT_EVERY,
        )
    }

    /// The standard deviation of every element (the square root of [`var`](Array::var)).
    pub fn std(&self, ddof: u64) -> Delayed<f64> {
        self.reduce_all(
            "std",
            |e| moment_stages(MomentKind::Std { ddof }, e),
            DEFAULT_SPLIT_EVERY,
        )
    }
}

impl<A: StatElem, D: Dimension> Array<A, D> {
    /// The smallest element; NaN if any element is NaN; `None` for an empty array.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::array::{Array, ndarray::array};
    /// let x = Array::from_array(array![3, -1, 2], &[2])?;
    /// assert_eq!((x.min().compute()?, x.max().compute()?), (Some(-1), Some(3)));
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn min(&self) -> Delayed<Option<A>> {
        self.reduce_all("min", |e| extreme_stages(ExtremeKind::Min, e), DEFAULT_SPLIT_EVERY)
    }

    /// The largest element; NaN if any element is NaN; `None` for an empty array.
    pub fn max(&self) -> Delayed<Option<A>> {
        self.reduce_all("max", |e| extreme_stages(ExtremeKind::Max, e), DEFAULT_SPLIT_EVERY)
    }
}

/// The stages of a minimum or maximum over all elements.
pub(crate) fn extreme_stages<A: StatElem>(kind: ExtremeKind, expr: Option<Arc<Expr<A>>>) -> Stages {
    let reduction = Reduction::Extreme(kind);
    match kind {
        ExtremeKind::Min => all_stages::<A, Extreme<A, true>, Option<A>>("min", reduction, expr, |e| e.0),
        ExtremeKind::Max => all_stages::<A, Extreme<A, false>, Option<A>>("max", reduction, expr, |e| e.0),
    }
}

/// The stages of a statistic along `axis`.
pub(crate) fn axis_stat_stages<A: StatElem>(kind: AxisStatKind, axis: usize) -> AxisStages {
    let reduction = Reduction::StatAxis { kind, axis };
    let moments = |b: ArrayViewD<'_, A>, ax: usize, _: usize| moments_block(b, ax);
    let merge_moments = |a, b| merge_blocks(a, b, Moments::merge);
    let finish_args = |p: ArrayD<ArgExtreme<A>>| Ok(p.mapv(|e| e.index));
    match kind {
        AxisStatKind::Var { ddof } => axis_stages(reduction, axis, moments, merge_moments, move |m| {
            Ok(m.mapv(|m| m.variance(ddof)))
        }),
        AxisStatKind::Std { ddof } => axis_stages(reduction, axis, moments, merge_moments, move |m| {
            Ok(m.mapv(|m| m.std(ddof)))
        }),
        AxisStatKind::Min => axis_stages(
            reduction,
            axis,
            |b: ArrayViewD<'_, A>, ax, _| Ok(stats::min_axis(b, ax)?),
            |a, b| merge_blocks(a, b, stats::combine_min),
            Ok,
        ),
        AxisStatKind::Max => axis_stages(
            reduction,
            axis,
            |b: ArrayViewD<'_, A>, ax, _| Ok(stats::max_axis(b, ax)?),
            |a, b| merge_blocks(a, b, stats::combine_max),
            Ok,
        ),
        AxisStatKind::Argmin => axis_stages(
            reduction,
            axis,
            |b: ArrayViewD<'_, A>, ax, offset| Ok(stats::argmin_axis(b, ax, offset)?),
            |a, b| merge_blocks(a, b, stats::combine_argmin),
            finish_args,
        ),
        AxisStatKind::Argmax => axis_stages(
            reduction,
            axis,
            |b: ArrayViewD<'_, A>, ax, offset| Ok(stats::argmax_axis(b, ax, offset)?),
            |a, b| merge_blocks(a, b, stats::combine_argmax),
            finish_args,
        ),
    }
}

fn moments_block<A: StatElem>(block: ArrayViewD<'_, A>, axis: usize) -> Result<ArrayD<Moments>, BoxError> {
    Ok(stats::moments_axis(block, axis)?)
}

fn merge_blocks<P: Clone>(a: ArrayD<P>, b: ArrayD<P>, f: impl Fn(P, P) -> P) -> Result<ArrayD<P>, BoxError> {
    Ok(stats::combine_blocks(&a, &b, f)?)
}

impl<A: StatElem, D: RemoveAxis> Array<A, D> {
    /// The variance along `axis` with `ddof` delta degrees of freedom.
    ///
    /// # Errors
    /// [`Error::Metadata`](crate::Error::Metadata) if `axis` is out of range.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::array::{Array, ndarray::{Array2, Axis}};
    /// let data = Array2::from_shape_fn((7, 3), |(i, j)| (i * i + j) as f64);
    /// let x = Array::from_array(data.clone(), &[3, 2])?;
    /// let got = x.var_axis(0, 1)?.compute()?;
    /// let want = data.var_axis(Axis(0), 1.0);
    /// assert!(got.iter().zip(want.iter()).all(|(a, b)| (a - b).abs() < 1e-9));
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn var_axis(&self, axis: usize, ddof: u64) -> Result<Array<f64, D::Smaller>> {
        self.reduce_axis_with("var", axis, axis_stat_stages::<A>(AxisStatKind::Var { ddof }, axis))
    }

    /// The standard deviation along `axis`.
    ///
    /// # Errors
    /// [`Error::Metadata`](crate::Error::Metadata) if `axis` is out of range.
    pub fn std_axis(&self, axis: usize, ddof: u64) -> Result<Array<f64, D::Smaller>> {
        self.reduce_axis_with("std", axis, axis_stat_stages::<A>(AxisStatKind::Std { ddof }, axis))
    }

    /// The minimum along `axis` (NaN where a lane holds one). Fails the compute if the axis is
    /// empty, as NumPy does.
    ///
    /// # Errors
    /// [`Error::Metadata`](crate::Error::Metadata) if `axis` is out of range.
    pub fn min_axis(&self, axis: usize) -> Result<Array<A, D::Smaller>> {
        self.reduce_axis_with("min", axis, axis_stat_stages::<A>(AxisStatKind::Min, axis))
    }

    /// The maximum along `axis`; as [`min_axis`](Array::min_axis).
    ///
    /// # Errors
    /// [`Error::Metadata`](crate::Error::Metadata) if `axis` is out of range.
    pub fn max_axis(&self, axis: usize) -> Result<Array<A, D::Smaller>> {
        self.reduce_axis_with("max", axis, axis_stat_stages::<A>(AxisStatKind::Max, axis))
    }

    /// The index along `axis` of the minimum (the first on ties; the first NaN if any).
    ///
    /// # Errors
    /// [`Error::Metadata`](crate::Error::Metadata) if `axis` is out of range.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::array::{Array, ndarray::array};
    /// let x = Array::from_array(array![[3, 1, 1], [0, 5, 1]], &[1, 2])?;
    /// assert_eq!(x.argmin_axis(1)?.compute()?, array![1, 0]);
    /// assert_eq!(x.argmax_axis(0)?.compute()?, array![0, 1, 0]);
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn argmin_axis(&self, axis: usize) -> Result<Array<usize, D::Smaller>> {
        self.reduce_axis_with("argmin", axis, axis_stat_stages::<A>(AxisStatKind::Argmin, axis))
    }

    /// The index along `axis` of the maximum; as [`argmin_axis`](Array::argmin_axis).
    ///
    /// # Errors
    /// [`Error::Metadata`](crate::Error::Metadata) if `axis` is out of range.
    pub fn argmax_axis(&self, axis: usize) -> Result<Array<usize, D::Smaller>> {
        self.reduce_axis_with("argmax", axis, axis_stat_stages::<A>(AxisStatKind::Argmax, axis))
    }
}

impl<A: StatElem, D: Dimension> Array<A, D> {
    /// The flat (C-order) index of the smallest element: the first on ties, the first NaN if
    /// any (NumPy's `argmin`); `None` for an empty array.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::array::{Array, ndarray::array};
    /// let x = Array::from_array(array![[3, 1, 4], [1, 5, 9]], &[1, 2])?;
    /// assert_eq!(x.argmin().compute()?, Some(1));
    /// assert_eq!(x.argmax().compute()?, Some(5));
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn argmin(&self) -> Delayed<Option<usize>> {
        self.arg_extreme("argmin", ExtremeKind::Min)
    }

    /// The flat (C-order) index of the largest element; as [`argmin`](Array::argmin).
    pub fn argmax(&self) -> Delayed<Option<usize>> {
        self.arg_extreme("argmax", ExtremeKind::Max)
    }

    fn arg_extreme(&self, name: &'static str, kind: ExtremeKind) -> Delayed<Option<usize>> {
        use crate::graph::{Node, TreeReduce, unique_token};

        let shape = self.shape();
        let stage_op = |stage: Stage| arg_stage::<A>(kind, &shape, &stage).expect("an arg-extreme stage");
        // Each block's op knows where the block starts, to turn local positions into flat ones.
        let per_block: Vec<Arc<dyn Op>> = self
            .chunks
            .block_indices()
            .iter()
            .map(|index| {
                stage_op(Stage::Block {
                    offset: self.chunks.block_offset(index),
                })
            })
            .collect();
        let combine = stage_op(Stage::Combine);
        let layer = TreeReduce {
            name,
            per_block,
            chunk: combine.clone(),
            combine,
            finish: stage_op(Stage::Finish),
            blocks: self.chunks.block_key_indices(),
            split_every: DEFAULT_SPLIT_EVERY,
        };
        Delayed::from_node(Node::new(
            unique_token(name).into(),
            vec![readable_node::<A>(&self.node)],
            Box::new(layer),
        ))
    }
}

/// One stage of a flat argmin or argmax over an array of `shape`: a block's partial (its op knows
/// where the block starts), the combine, or the finish.
///
/// # Errors
/// For a stage that is not one of these, or a block offset of another rank than `shape`.
pub(crate) fn arg_stage<A: StatElem>(kind: ExtremeKind, shape: &[usize], at: &Stage) -> Result<Arc<dyn Op>, BoxError> {
    type Partial<A> = Option<ArgExtreme<A>>;
    type Pick<A> = fn(ArgExtreme<A>, ArgExtreme<A>) -> ArgExtreme<A>;
    let (name, pick): (&'static str, Pick<A>) = match kind {
        ExtremeKind::Min => ("argmin", stats::combine_argmin::<A>),
        ExtremeKind::Max => ("argmax", stats::combine_argmax::<A>),
    };
    let reduction = Reduction::Arg {
        kind,
        shape: shape.to_vec(),
    };
    let spec = reduce_spec::<A>(&reduction, at.clone(), None);
    Ok(match at {
        Stage::Block { offset } => {
            if offset.len() != shape.len() {
                return Err(format!("a block offset {offset:?} for an array of shape {shape:?}").into());
            }
            let (offset, shape) = (offset.clone(), shape.to_vec());
            stage(name, spec, move |inputs| {
                let block = block_view::<A>(&inputs[0])?;
                if block.ndim() != shape.len() {
                    return Err(format!("a block of {} axes in an array of shape {shape:?}", block.ndim()).into());
                }
                let mut best: Partial<A> = None;
                for (local, &value) in block.indexed_iter() {
                    let flat = local
                        .slice()
                        .iter()
                        .zip(&offset)
                        .zip(&shape)
                        .fold(0, |acc, ((&i, &o), &n)| acc * n + i + o);
                    let here = ArgExtreme { value, index: flat };
                    best = Some(best.map_or(here, |b| pick(b, here)));
                }
                Ok(Arc::new(best))
            })
        }
        Stage::Combine => stage("combine", spec, move |inputs| {
            let mut best: Partial<A> = None;
            for v in &inputs {
                if let Some(p) = *v.downcast_ref::<Partial<A>>().ok_or("expected a partial")? {
                    best = Some(best.map_or(p, |b| pick(b, p)));
                }
            }
            Ok(Arc::new(best))
        }),
        Stage::Finish => stage("finish", spec, |inputs| {
            let best = inputs[0].downcast_ref::<Partial<A>>().ok_or("expected a partial")?;
            Ok(Arc::new(best.map(|b| b.index)))
        }),
        other => return Err(format!("{other:?} is not a stage of an arg-extreme").into()),
    })
}
