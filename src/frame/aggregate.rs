//! Aggregations across partitions: each aggregation expression is split into partial
//! aggregations that run inside every partition's query (so they fuse with the read), a combine
//! step that merges partial results and gives partial results of the same shape again (so
//! combines form a tree), and a final expression over the combined partials.
//!
//! | polars aggregation | partial | combine | final |
//! |---|---|---|---|
//! | `sum` | sum | sum | the sum |
//! | `min`, `max` | min, max | min, max | the value |
//! | `count`, `len` | count | sum | the count |
//! | `mean` | sum, count | sums | sum / count (null when 0) |
//! | `var(ddof)`, `std` | count, mean, M2 | Chan et al.'s pairwise update | M2 / (n − ddof) |
//! | `n_unique` | the set of values | union of sets | size of the set |
//! | `first`, `last` | first, last (with the row count) | first, last of non-empty | the value |
//!
//! Mean and variance are therefore exact combinations, not averages of averages, and
//! `n_unique` is exact. Other expressions may be built on top of aggregations
//! (`col("a").sum() / col("b").sum()`): the arithmetic runs in the final step. Median and
//! quantiles do not split this way and are refused when the graph is built; `DataFrame::quantile`
//! and `describe` compute them exactly in two passes (`quantile.rs`).

use std::sync::Arc;

use polars::prelude::{self as pl, *};
use serde::{Deserialize, Serialize};

use super::partition::PartitionTask;
use super::shuffle::{SplitOp, concat_frames, frame_of};
use super::steps::{Step, format_schema, output_schema};
use super::{DataFrame, codec};
use crate::delayed::Delayed;
use crate::error::{BoxError, Error, Result};
use crate::graph::{DEFAULT_SPLIT_EVERY, Key, Layer, Lowering, Node, Op, OpSpec, Value, combine_levels};

/// A group-by awaiting its aggregations: [`DataFrame::group_by`].
///
/// # Examples
/// ```
/// use drask::prelude::*;
/// use drask::frame::{DataFrame, polars::prelude::*};
/// let df = DataFrame::from_polars(df!("k" => ["a", "b", "a"], "v" => [1.0, 2.0, 4.0])?, 2)?;
/// let out = df.group_by([col("k")]).split_out(2).agg([col("v").std(1).alias("sd")])?;
/// assert_eq!(out.npartitions(), 2);
/// let out = out.sort(&["k"], &[false])?.compute()?;
/// assert_eq!(out.column("sd")?.f64()?.get(0), Some(2.1213203435596424));
/// assert_eq!(out.column("sd")?.f64()?.get(1), None); // one value: no sample deviation
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a group-by does nothing until aggregated with `.agg(...)`"]
pub struct GroupBy {
    frame: DataFrame,
    keys: Vec<Expr>,
    split_every: usize,
    split_out: usize,
}

impl GroupBy {
    /// How many partial results a combine merges at a time (8 by default).
    pub fn split_every(mut self, n: usize) -> GroupBy {
        self.split_every = n.max(2);
        self
    }

    /// The number of output partitions (1 by default). Above 1, partial results are
    /// hash-partitioned by key, so no task ever holds every group: use it when there are many
    /// groups.
    pub fn split_out(mut self, n: usize) -> GroupBy {
        self.split_out = n.max(1);
        self
    }

    /// One row per group: the keys, then each aggregation (polars' `group_by(keys).agg(aggs)`).
    /// Groups come in no particular order; [`sort`](DataFrame::sort) the result for one.
    ///
    /// # Errors
    /// [`Error::Metadata`] for a column that does not exist, a type mismatch, or an expression
    /// that cannot be split into partial aggregations (median, quantiles, a column that is
    /// not aggregated).
    pub fn agg<E: AsRef<[Expr]>>(&self, aggs: E) -> Result<DataFrame> {
        aggregate(&self.frame, &self.keys, aggs.as_ref(), self.split_every, self.split_out)
    }
}

impl DataFrame {
    /// Groups rows by the values of `keys`, for [`GroupBy::agg`].
    pub fn group_by<E: AsRef<[Expr]>>(&self, keys: E) -> GroupBy {
        GroupBy {
            frame: self.clone(),
            keys: keys.as_ref().to_vec(),
            split_every: DEFAULT_SPLIT_EVERY,
            split_out: 1,
        }
    }

    /// Aggregations over the whole frame: one partition of one row (polars' `select` of
    /// aggregations).
    ///
    /// # Errors
    /// As [`GroupBy::agg`].
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::frame::{DataFrame, polars::prelude::*};
    /// let df = DataFrame::from_polars(df!("x" => [1.0, 2.0, 3.0, 4.0])?, 3)?;
    /// let out = df.agg([col("x").var(1).alias("var"), col("x").n_unique().alias("distinct")])?.compute()?;
    /// assert_eq!(out.column("var")?.f64()?.get(0), Some(5.0 / 3.0));
    /// assert_eq!(out.column("distinct")?.u32()?.get(0), Some(4));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn agg<E: AsRef<[Expr]>>(&self, aggs: E) -> Result<DataFrame> {
        aggregate(self, &[], aggs.as_ref(), DEFAULT_SPLIT_EVERY, 1)
    }

    /// The number of rows.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::frame::{DataFrame, polars::prelude::*};
    /// let df = DataFrame::from_polars(df!("x" => [1, 2, 3])?, 2)?;
    /// assert_eq!(df.len().compute()?, 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn len(&self) -> Delayed<usize> {
        let counted =
            aggregate(self, &[], &[pl::len().alias("len")], DEFAULT_SPLIT_EVERY, 1).expect("len() fits every schema");
        Delayed::from_node(Node::new(
            format!("{}-value", counted.node().name()).into(),
            vec![counted.node().clone()],
            Box::new(ScalarOfFrame),
        ))
    }

    /// Whether the frame has no rows (computes [`len`](DataFrame::len)).
    ///
    /// # Errors
    /// As [`compute`](crate::Collection::compute).
    pub fn is_empty(&self) -> Result<bool> {
        use crate::Collection;
        Ok(self.len().compute()? == 0)
    }

    /// The sum of every numeric column (one row).
    ///
    /// # Errors
    /// [`Error::Metadata`] if no column is numeric.
    pub fn sum(&self) -> Result<DataFrame> {
        self.agg(self.per_column(|d| d.is_primitive_numeric() || d.is_bool(), |c| c.sum())?)
    }

    /// The mean of every numeric column (one row).
    ///
    /// # Errors
    /// [`Error::Metadata`] if no column is numeric.
    pub fn mean(&self) -> Result<DataFrame> {
        self.agg(self.per_column(|d| d.is_primitive_numeric() || d.is_bool(), |c| c.mean())?)
    }

    /// The minimum of every numeric, string or temporal column (one row).
    ///
    /// # Errors
    /// [`Error::Metadata`] if no column is orderable.
    pub fn min(&self) -> Result<DataFrame> {
        self.agg(self.per_column(orderable, |c| c.min())?)
    }

    /// The maximum of every numeric, string or temporal column (one row).
    ///
    /// # Errors
    /// [`Error::Metadata`] if no column is orderable.
    pub fn max(&self) -> Result<DataFrame> {
        self.agg(self.per_column(orderable, |c| c.max())?)
    }

    /// The standard deviation of every numeric column with `ddof` (one row).
    ///
    /// # Errors
    /// [`Error::Metadata`] if no column is numeric.
    pub fn std(&self, ddof: u8) -> Result<DataFrame> {
        self.agg(self.per_column(|d| d.is_primitive_numeric(), |c| c.std(ddof))?)
    }

    /// The variance of every numeric column with `ddof` (one row).
    ///
    /// # Errors
    /// [`Error::Metadata`] if no column is numeric.
    pub fn var(&self, ddof: u8) -> Result<DataFrame> {
        self.agg(self.per_column(|d| d.is_primitive_numeric(), |c| c.var(ddof))?)
    }

    /// The number of non-null values of every column (one row).
    ///
    /// # Errors
    /// Never for a frame with columns.
    pub fn count(&self) -> Result<DataFrame> {
        self.agg(self.per_column(|_| true, |c| c.count())?)
    }

    /// The number of distinct values (null counts as one) of every column (one row).
    ///
    /// # Errors
    /// Never for a frame with columns.
    pub fn n_unique(&self) -> Result<DataFrame> {
        self.agg(self.per_column(|_| true, |c| c.n_unique())?)
    }

    fn per_column(&self, keep: impl Fn(&DataType) -> bool, f: impl Fn(Expr) -> Expr) -> Result<Vec<Expr>> {
        let exprs: Vec<Expr> = self
            .schema
            .iter()
            .filter(|(_, dtype)| keep(dtype))
            .map(|(name, _)| f(col(name.clone())))
            .collect();
        if exprs.is_empty() {
            return Err(Error::Metadata(format!(
                "no column of a suitable type; schema: {}",
                format_schema(&self.schema)
            )));
        }
        Ok(exprs)
    }
}

fn orderable(dtype: &DataType) -> bool {
    dtype.is_primitive_numeric() || dtype.is_bool() || dtype.is_string() || dtype.is_temporal()
}

/// An aggregation split into its three stages (see the module docs).
#[derive(Debug, Clone, PartialEq)]
struct AggPlan {
    /// The keys' output names, first in every stage's output.
    keys: Vec<String>,
    partial: Vec<Expr>,
    combine: Vec<Expr>,
    finish: Vec<Expr>,
}

/// The aggregation of `frame` by `keys`: partial aggregation fused into each partition's
/// query, a tree of combines (or a hash shuffle into `split_out` partitions), then the final
/// expressions.
fn aggregate(
    frame: &DataFrame,
    keys: &[Expr],
    aggs: &[Expr],
    split_every: usize,
    split_out: usize,
) -> Result<DataFrame> {
    let aggs = expand_selectors(aggs, &frame.schema, keys)?;
    // What polars would give on the whole frame: names and types of the result.
    let target = output_schema(
        &frame.schema,
        &[Step::Aggregate {
            keys: keys.to_vec(),
            aggs: aggs.clone(),
        }],
    )?;
    let nkeys = target.len() - aggs.len();
    let key_names: Vec<String> = target.iter_names().take(nkeys).map(ToString::to_string).collect();
    let plan = split_aggregations(&aggs, &target, key_names, &frame.schema)?;

    let (inputs, sources, steps) = frame.chain();
    let mut chunk_steps = steps.clone();
    chunk_steps.push(Step::Aggregate {
        keys: keys.to_vec(),
        aggs: plan.partial.clone(),
    });
    let chunk_steps: Arc<[Step]> = chunk_steps.into();
    let layer_sources = sources.clone();
    let chunks: Vec<PartitionTask> = sources
        .into_iter()
        .map(|source| PartitionTask {
            source,
            steps: chunk_steps.clone(),
        })
        .collect();
    let key_cols: Vec<Expr> = plan.keys.iter().map(|k| col(k.as_str())).collect();
    let combine = CombineOp {
        keys: plan.keys.clone(),
        aggs: plan.combine.clone(),
        then: Vec::new(),
        pick: None,
    };
    let mut finish_exprs = key_cols;
    finish_exprs.extend(plan.finish.iter().cloned());
    let finish = CombineOp {
        then: vec![Step::Select(finish_exprs)],
        ..combine.clone()
    };
    let token = {
        let mut t = crate::graph::Tokenizer::new(if keys.is_empty() { "agg" } else { "groupby" });
        for input in &inputs {
            t = t.str(input.name());
        }
        let described = serde_json::to_string(&(&chunks, &plan.combine, &finish.then)).unwrap_or_default();
        t.str(&described).u64(split_every as u64).u64(split_out as u64).finish()
    };
    let layer = AggregateTree {
        label: format!(
            "{} -> {}(by=[{}], {} aggregations{})",
            super::partition::describe(&layer_sources, &chunk_steps),
            if keys.is_empty() { "agg" } else { "groupby" },
            plan.keys.join(", "),
            aggs.len(),
            if split_out > 1 {
                format!(", split_out={split_out}")
            } else {
                String::new()
            }
        ),
        chunks,
        combine,
        finish,
        split_every: split_every.max(2),
        split_out: if plan.keys.is_empty() { 1 } else { split_out },
    };
    let npartitions = layer.split_out;
    Ok(DataFrame::from_node(
        Node::new(token.into(), inputs, Box::new(layer)),
        npartitions,
        target,
    ))
}

/// Expressions with a selector (`all()`, `cols([...])`) expanded to one per column they
/// select, keys left out (as polars does in `agg`).
fn expand_selectors(aggs: &[Expr], schema: &Schema, keys: &[Expr]) -> Result<Vec<Expr>> {
    let ignored: PlIndexSet<PlSmallStr> = keys
        .iter()
        .filter_map(|k| match k {
            Expr::Column(name) => Some(name.clone()),
            _ => None,
        })
        .collect();
    let mut out = Vec::new();
    for expr in aggs {
        let selector = expr.into_iter().find_map(|e| match e {
            Expr::Selector(s) => Some(s.clone()),
            _ => None,
        });
        match selector {
            None => out.push(expr.clone()),
            Some(selector) => {
                let columns = selector
                    .into_columns(schema, &ignored)
                    .map_err(|e| Error::Metadata(format!("{expr:?}: {e}; schema: {}", format_schema(schema))))?;
                for name in columns {
                    out.push(expr.clone().map_expr(|e| match e {
                        Expr::Selector(_) => col(name.clone()),
                        other => other,
                    }));
                }
            }
        }
    }
    Ok(out)
}

/// Splits every aggregation inside `aggs` into partial, combine and final stages.
fn split_aggregations(aggs: &[Expr], target: &Schema, keys: Vec<String>, input: &Schema) -> Result<AggPlan> {
    let keyed = !keys.is_empty();
    let mut plan = AggPlan {
        keys,
        partial: Vec::new(),
        combine: Vec::new(),
        finish: Vec::new(),
    };
    let outputs: Vec<(PlSmallStr, DataType)> = target
        .iter()
        .skip(target.len() - aggs.len())
        .map(|(n, d)| (n.clone(), d.clone()))
        .collect();
    for (expr, (name, dtype)) in aggs.iter().zip(outputs) {
        let mut failure: Option<String> = None;
        let mut next = plan.partial.len();
        let finish = expr.clone().map_expr(|e| {
            let split = match &e {
                Expr::Agg(agg) => split_one(agg, next, keyed),
                Expr::Len => Ok(Split::summed(pl::len(), next)),
                _ => return e,
            };
            match split {
                Ok(split) => {
                    next += split.partial.len();
                    plan.partial.extend(split.partial);
                    plan.combine.extend(split.combine);
                    split.finish
                }
                Err(msg) => {
                    failure.get_or_insert(msg);
                    e
                }
            }
        });
        if let Some(msg) = failure {
            return Err(Error::Metadata(format!(
                "{expr:?}: {msg}; schema: {}",
                format_schema(input)
            )));
        }
        // What is left must only read the partial columns (and literals).
        let stray = finish.into_iter().find_map(|e| match e {
            Expr::Column(c) if !c.starts_with(PARTIAL_PREFIX) => Some(c.clone()),
            _ => None,
        });
        if let Some(column) = stray {
            return Err(Error::Metadata(format!(
                "{expr:?}: column {column:?} is used without an aggregation; a partitioned aggregation \
                 needs every column inside one (sum, mean, min, max, count, len, std, var, n_unique, first, last)"
            )));
        }
        plan.finish.push(finish.strict_cast(dtype).alias(name));
    }
    Ok(plan)
}

const PARTIAL_PREFIX: &str = "__drask_partial_";

fn partial_name(i: usize) -> PlSmallStr {
    format!("{PARTIAL_PREFIX}{i}").into()
}

/// One aggregation's stages: partial expressions (named `partial_name(first + k)`), the combine
/// expression of each partial column (same names), and the final expression over them.
struct Split {
    partial: Vec<Expr>,
    combine: Vec<Expr>,
    finish: Expr,
}

impl Split {
    /// An aggregation whose partial results add up: count, len, sum.
    fn summed(partial: Expr, id: usize) -> Split {
        let p = partial_name(id);
        Split {
            partial: vec![partial.alias(p.clone())],
            combine: vec![col(p.clone()).sum().alias(p.clone())],
            finish: col(p),
        }
    }
}

fn split_one(agg: &AggExpr, id: usize, keyed: bool) -> Result<Split, String> {
    let name = partial_name;
    let (a, b, c) = (name(id), name(id + 1), name(id + 2));
    Ok(match agg {
        AggExpr::Sum(input) => Split::summed(input.as_ref().clone().sum(), id),
        AggExpr::Count { .. } => Split::summed(Expr::Agg(agg.clone()), id),
        AggExpr::Min { propagate_nans, .. } | AggExpr::Max { propagate_nans, .. } => {
            let combine = match agg {
                AggExpr::Min { .. } => AggExpr::Min {
                    input: Arc::new(col(a.clone())),
                    propagate_nans: *propagate_nans,
                },
                _ => AggExpr::Max {
                    input: Arc::new(col(a.clone())),
                    propagate_nans: *propagate_nans,
                },
            };
            Split {
                partial: vec![Expr::Agg(agg.clone()).alias(a.clone())],
                combine: vec![Expr::Agg(combine).alias(a.clone())],
                finish: col(a),
            }
        }
        AggExpr::Mean(input) => {
            let x = input.as_ref().clone().cast(DataType::Float64);
            let sum = col(a.clone());
            let n = col(b.clone());
            Split {
                partial: vec![x.clone().sum().alias(a.clone()), x.count().alias(b.clone())],
                combine: vec![sum.clone().sum().alias(a.clone()), n.clone().sum().alias(b.clone())],
                finish: when(n.clone().gt(lit(0)))
                    .then(sum / n.cast(DataType::Float64))
                    .otherwise(lit(NULL)),
            }
        }
        AggExpr::Var(input, ddof) | AggExpr::Std(input, ddof) => {
            let x = input.as_ref().clone().cast(DataType::Float64);
            let (n, mean, m2) = (col(a.clone()), col(b.clone()), col(c.clone()));
            let nf = n.clone().cast(DataType::Float64);
            let total = nf.clone().sum();
            let pooled_mean = when(total.clone().gt(lit(0.0)))
                .then((nf.clone() * mean.clone()).sum() / total.clone())
                .otherwise(lit(NULL));
            // Chan et al.: M2 = Σ M2ᵢ + Σ nᵢ (meanᵢ − mean)².
            let spread = (nf.clone() * (mean.clone() - pooled_mean.clone()).pow(2)).sum();
            let var = when(nf.clone().gt(lit(f64::from(*ddof))))
                .then(m2.clone() / (nf.clone() - lit(f64::from(*ddof))))
                .otherwise(lit(NULL));
            Split {
                partial: vec![
                    x.clone().count().alias(a.clone()),
                    x.clone().mean().alias(b.clone()),
                    (x.var(0) * x_count_f64(input)).fill_null(lit(0.0)).alias(c.clone()),
                ],
                combine: vec![
                    n.clone().sum().alias(a.clone()),
                    pooled_mean.alias(b.clone()),
                    (m2.sum() + spread.fill_null(lit(0.0))).alias(c.clone()),
                ],
                finish: if matches!(agg, AggExpr::Std(..)) {
                    var.sqrt()
                } else {
                    var
                },
            }
        }
        AggExpr::NUnique(input) => {
            let set = col(a.clone());
            let unique = |e: Expr| if keyed { e.unique() } else { e.unique().implode(false) };
            let flat = set.clone().explode(ExplodeOptions {
                empty_as_null: false,
                keep_nulls: true,
            });
            Split {
                partial: vec![unique(input.as_ref().clone()).alias(a.clone())],
                combine: vec![unique(flat).alias(a.clone())],
                finish: set.list().len(),
            }
        }
        AggExpr::First(input) | AggExpr::Last(input) => {
            // Empty partitions give a null first value: the combine skips them by row count.
            let first = matches!(agg, AggExpr::First(_));
            let value = input.as_ref().clone();
            let rows = col(b.clone());
            let pick = |e: Expr| if first { e.first() } else { e.last() };
            Split {
                partial: vec![pick(value).alias(a.clone()), pl::len().alias(b.clone())],
                combine: vec![
                    pick(col(a.clone()).filter(rows.clone().gt(lit(0)))).alias(a.clone()),
                    rows.sum().alias(b.clone()),
                ],
                finish: col(a),
            }
        }
        AggExpr::FirstNonNull(_) | AggExpr::LastNonNull(_) => {
            let combine = match agg {
                AggExpr::FirstNonNull(_) => AggExpr::FirstNonNull(Arc::new(col(a.clone()))),
                _ => AggExpr::LastNonNull(Arc::new(col(a.clone()))),
            };
            Split {
                partial: vec![Expr::Agg(agg.clone()).alias(a.clone())],
                combine: vec![Expr::Agg(combine).alias(a.clone())],
                finish: col(a),
            }
        }
        AggExpr::Median(_) => {
            return Err(
                "median does not split into partial aggregations (DataFrame::quantile and describe compute \
                 exact quantiles)"
                    .into(),
            );
        }
        AggExpr::Implode { .. } | AggExpr::AggGroups(_) | AggExpr::Item { .. } => {
            return Err("this aggregation does not split into partial aggregations".into());
        }
    })
}

/// The number of non-null values of `input`, as a float.
fn x_count_f64(input: &Arc<Expr>) -> Expr {
    input.as_ref().clone().count().cast(DataType::Float64)
}

/// Concatenates partial results and merges them: `group_by(keys).agg(aggs)` (or `select`
/// without keys), then `then`. With `pick`, each input is a split and piece `pick` is read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct CombineOp {
    pub(crate) keys: Vec<String>,
    pub(crate) aggs: Vec<Expr>,
    pub(crate) then: Vec<Step>,
    pub(crate) pick: Option<u32>,
}

impl Op for CombineOp {
    fn name(&self) -> &str {
        if self.then.is_empty() { "combine" } else { "aggregate" }
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        let mut parts = Vec::with_capacity(inputs.len());
        for value in inputs {
            parts.push(match self.pick {
                Some(j) => super::shuffle::piece(&value, j)?,
                None => frame_of(value)?,
            });
        }
        let schema = parts
            .first()
            .map(|p| p.schema().clone())
            .ok_or("combine reads no partial results")?;
        let df = concat_frames(parts, &schema)?;
        let keys: Vec<Expr> = self.keys.iter().map(|k| col(k.as_str())).collect();
        let mut lf = Step::Aggregate {
            keys,
            aggs: self.aggs.clone(),
        }
        .apply(df.lazy());
        lf = super::steps::apply_all(&self.then, lf);
        Ok(Arc::new(lf.collect()?))
    }

    fn spec(&self) -> Option<OpSpec> {
        codec::spec_of("frame-combine", self)
    }
}

/// Partial aggregation per partition, then a combine tree (or a shuffle by key into
/// `split_out` partitions), then the final expressions.
#[derive(Debug)]
struct AggregateTree {
    label: String,
    chunks: Vec<PartitionTask>,
    combine: CombineOp,
    finish: CombineOp,
    split_every: usize,
    split_out: usize,
}

impl Layer for AggregateTree {
    fn op_name(&self) -> &str {
        &self.label
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        let stage = |s: &str| -> Arc<str> { format!("{}-{s}", node.name()).into() };
        let chunk_name = stage("chunk");
        let mut level = Vec::with_capacity(self.chunks.len());
        for (i, chunk) in self.chunks.iter().enumerate() {
            let args: Vec<Key> = node.inputs().iter().map(|input| input.key([i as u32])).collect();
            let key = Key::new(chunk_name.clone(), [i as u32]);
            out.add(key.clone(), Arc::new(chunk.clone()), &args)?;
            level.push(key);
        }
        if self.split_out <= 1 {
            let combine: Arc<dyn Op> = Arc::new(self.combine.clone());
            let combine_name = stage("combine");
            let level = combine_levels(out, level, self.split_every, &combine, |depth, j| {
                Key::new(combine_name.clone(), [depth, j as u32])
            })?;
            out.add(node.key([0]), Arc::new(self.finish.clone()), &level)?;
            return Ok(());
        }
        // Many groups: hash-partition every partial result by key, then each output partition
        // combines and finishes its own share of the groups.
        let split_name = stage("split");
        let split = Arc::new(SplitOp::hash(self.combine.keys.clone(), self.split_out as u32));
        let splits: Vec<Key> = level
            .iter()
            .enumerate()
            .map(|(i, chunk)| {
                let key = Key::new(split_name.clone(), [i as u32]);
                out.add(key.clone(), split.clone(), std::slice::from_ref(chunk))?;
                Ok(key)
            })
            .collect::<Result<_>>()?;
        for j in 0..self.split_out as u32 {
            let finish = CombineOp {
                pick: Some(j),
                ..self.finish.clone()
            };
            out.add(node.key([j]), Arc::new(finish), &splits)?;
        }
        Ok(())
    }
}

/// The value in the first row and column of a one-partition frame, as a `usize` (for `len`).
#[derive(Debug)]
struct ScalarOfFrame;

impl Layer for ScalarOfFrame {
    fn op_name(&self) -> &str {
        "scalar"
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        let input = node.inputs()[0].key([0]);
        out.add(Key::single(node.name().clone()), Arc::new(HeightOp), &[input])?;
        Ok(())
    }
}

/// Reads the count out of `len`'s one-row frame.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct HeightOp;

impl Op for HeightOp {
    fn name(&self) -> &str {
        "len"
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        let df = frame_of(inputs.into_iter().next().ok_or("len reads one frame")?)?;
        let column = df.columns().first().ok_or("len's frame has no column")?;
        let n = column.cast(&DataType::UInt64)?.u64()?.get(0).unwrap_or(0);
        Ok(Arc::new(usize::try_from(n)?))
    }

    fn spec(&self) -> Option<OpSpec> {
        codec::spec_of("frame-height", self)
    }
}
