//! Exact quantiles across partitions, in one graph of two passes over the data.
//!
//! A quantile needs the values at one or two ranks of the column's global order, which no
//! partition knows. Pass one sorts each partition's values and keeps a sketch: the values at
//! evenly spaced ranks (the first and last included; all of them for small partitions). From
//! the sketches alone, a plan task brackets every needed global rank `t` between two values
//! `lo ≤ V_t ≤ hi` with certainty: a sampled value `v` at rank `r` of a partition proves that
//! partition has at most `r` values below `v` and at least `r + 1` values up to `v`, and those
//! bounds, summed over partitions, pick `lo` with at most `t` values below it and `hi` with more
//! than `t` values up to it. Pass two counts, in every partition, the values below `lo` and
//! collects the distinct values in `[lo, hi]` with their counts; the last task merges them and
//! reads the value at rank `t`. The result is what polars computes on the whole column (same
//! rank formulas, same interpolation arithmetic), not an estimate.
//!
//! Cost: a partition of `m` values keeps about `2√m` samples, so the plan task holds
//! `O(Σ √mᵢ)` values per column and each bracket holds `O(Σ √mᵢ)` values too (equal values
//! count once), instead of the whole column. Each pass runs the partition's query again (as
//! aggregations do: fused with the read, only the quantile columns projected).

use std::cmp::Ordering;
use std::sync::Arc;

use polars::prelude::{self as pl, Expr, IntoColumn, NamedFrom, QuantileMethod, col};
use serde::{Deserialize, Serialize};

use super::partition::{PartSource, PartitionTask};
use super::shuffle::frame_of;
use super::steps::Step;
use super::{DataFrame, codec};
use crate::error::{BoxError, Error, Result};
use crate::graph::{Key, Layer, Lowering, Node, Op, OpSpec, Tokenizer, Value, take_value};

/// Partitions of at most this many values are sketched whole.
const SMALL_PARTITION: usize = 64;

/// One column whose quantiles are wanted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct QuantileColumn {
    /// The column, by name.
    pub(crate) name: String,
    /// Whether its values are temporal (read as their physical integers).
    pub(crate) temporal: bool,
    /// Whether polars computes its quantiles as `f32` (the result is rounded to `f32`).
    pub(crate) float32: bool,
}

/// The one-partition frame of quantiles `qs` (each in `[0, 1]`) of `columns`, computed with
/// `method`: one row, a `Float64` column per (quantile, column) named by [`quantile_name`],
/// null where a column has no values. Temporal columns give the quantile of their physical
/// values.
pub(crate) fn exact_quantiles(
    frame: &DataFrame,
    columns: Vec<QuantileColumn>,
    qs: &[f64],
    method: QuantileMethod,
) -> Result<Arc<Node>> {
    if let Some(q) = qs.iter().find(|q| !(0.0..=1.0).contains(*q)) {
        return Err(Error::Metadata(format!("quantile {q} is not in [0, 1]")));
    }
    let project: Vec<Expr> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let x = if c.temporal {
                col(c.name.as_str()).to_physical()
            } else {
                col(c.name.as_str())
            };
            x.cast(pl::DataType::Float64).alias(format!("{i}"))
        })
        .collect();
    let projected = frame.select(project)?;
    let (inputs, sources, steps) = projected.chain();
    let steps: Arc<[Step]> = steps.into();
    let parts: Vec<PartitionTask> = sources
        .into_iter()
        .map(|source| PartitionTask {
            source,
            steps: steps.clone(),
        })
        .collect();
    let finish = FinishQuantiles {
        columns,
        qs: qs.to_vec(),
        method,
    };
    let token = {
        let mut t = Tokenizer::new("quantiles");
        for input in &inputs {
            t = t.str(input.name());
        }
        let described = serde_json::to_string(&(&parts, &finish)).unwrap_or_default();
        t.str(&described).finish()
    };
    let layer = QuantileLayer { parts, finish };
    Ok(Node::new(token.into(), inputs, Box::new(layer)))
}

impl DataFrame {
    /// Quantile `q` of every numeric column (one row), computed exactly across partitions: the
    /// value polars' `quantile(q, method)` gives on the whole column (`Float32` columns give
    /// `Float32`, the others `Float64`; null for a column without values).
    ///
    /// No task gathers a column. Pass one sorts each partition's values and keeps about `2√m`
    /// of them (of `m`) at known ranks; from these samples alone a plan task brackets each
    /// wanted global rank between two values, with certainty; pass two counts, per partition,
    /// the values below the bracket and collects the distinct values inside it, and the last
    /// task reads the value at the rank. Brackets hold about `Σ √mᵢ` values. Each pass runs the
    /// frame's query again, fused with the read and projected to the numeric columns.
    ///
    /// # Errors
    /// [`Error::Metadata`] if `q` is not in `[0, 1]` or no column is numeric.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::frame::{DataFrame, polars::prelude::*};
    /// let df = DataFrame::from_polars(df!("x" => [5, 1, 4, 2, 3, 9], "s" => ["a", "b", "c", "d", "e", "f"])?, 3)?;
    /// let q = df.quantile(0.5, QuantileMethod::Linear)?.compute()?;
    /// assert_eq!(q.column("x")?.f64()?.get(0), Some(3.5));
    /// assert_eq!(q.width(), 1); // strings have no quantile
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn quantile(&self, q: f64, method: QuantileMethod) -> Result<DataFrame> {
        let columns: Vec<QuantileColumn> = self
            .schema
            .iter()
            .filter(|(_, dtype)| dtype.is_primitive_numeric())
            .map(|(name, dtype)| QuantileColumn {
                name: name.to_string(),
                temporal: false,
                float32: *dtype == pl::DataType::Float32,
            })
            .collect();
        if columns.is_empty() {
            return Err(Error::Metadata(format!(
                "quantile: no numeric column; schema: {}",
                super::steps::format_schema(&self.schema)
            )));
        }
        let schema = Arc::new(pl::Schema::from_iter(columns.iter().map(|c| {
            let dtype = if c.float32 {
                pl::DataType::Float32
            } else {
                pl::DataType::Float64
            };
            pl::Field::new(c.name.as_str().into(), dtype)
        })));
        let output = NameQuantiles {
            columns: columns.clone(),
        };
        let quantiles = exact_quantiles(self, columns, &[q], method)?;
        let token = Tokenizer::new("quantile").str(quantiles.name()).finish();
        let node = Node::new(
            token.into(),
            vec![quantiles],
            Box::new(NameQuantilesLayer { op: output }),
        );
        Ok(DataFrame::from_node(node, 1, schema))
    }
}

#[derive(Debug)]
struct NameQuantilesLayer {
    op: NameQuantiles,
}

impl Layer for NameQuantilesLayer {
    fn op_name(&self) -> &str {
        "quantile"
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        out.add(node.key([0]), Arc::new(self.op.clone()), &[node.inputs()[0].key([0])])?;
        Ok(())
    }
}

/// Names the one quantile of every column after it, in polars' type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct NameQuantiles {
    columns: Vec<QuantileColumn>,
}

impl Op for NameQuantiles {
    fn name(&self) -> &str {
        "quantile"
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        let df = frame_of(inputs.into_iter().next().ok_or("quantile reads the quantiles")?)?;
        let mut out = Vec::with_capacity(self.columns.len());
        for (i, c) in self.columns.iter().enumerate() {
            let mut s = df.column(&quantile_name(0, i))?.as_materialized_series().clone();
            if c.float32 {
                s = s.cast(&pl::DataType::Float32)?;
            }
            out.push(s.with_name(c.name.as_str().into()).into_column());
        }
        Ok(Arc::new(pl::DataFrame::new(1, out)?))
    }

    fn spec(&self) -> Option<OpSpec> {
        codec::spec_of("frame-name-quantiles", self)
    }
}

/// The name of quantile `q` (an index into `qs`) of column `column` (an index) in the result.
pub(crate) fn quantile_name(q: usize, column: usize) -> String {
    format!("{q}:{column}")
}

#[derive(Debug)]
struct QuantileLayer {
    parts: Vec<PartitionTask>,
    finish: FinishQuantiles,
}

impl Layer for QuantileLayer {
    fn op_name(&self) -> &str {
        "exact_quantiles"
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        let stage = |s: &str| -> Arc<str> { format!("{}-{s}", node.name()).into() };
        let (sketch_name, window_name) = (stage("sketch"), stage("window"));
        let plan_key = Key::single(stage("plan"));
        let inputs = |i: usize, part: &PartitionTask| -> Vec<Key> {
            match part.source {
                PartSource::Input => node.inputs().iter().map(|n| n.key([i as u32])).collect(),
                _ => Vec::new(),
            }
        };
        let mut sketches = Vec::with_capacity(self.parts.len());
        for (i, part) in self.parts.iter().enumerate() {
            let key = Key::new(sketch_name.clone(), [i as u32]);
            out.add(key.clone(), Arc::new(SketchOp { part: part.clone() }), &inputs(i, part))?;
            sketches.push(key);
        }
        let plan = PlanQuantiles {
            qs: self.finish.qs.clone(),
            method: self.finish.method,
        };
        out.add(plan_key.clone(), Arc::new(plan), &sketches)?;
        let mut finish_args = vec![plan_key.clone()];
        for (i, part) in self.parts.iter().enumerate() {
            let key = Key::new(window_name.clone(), [i as u32]);
            let mut args = inputs(i, part);
            args.push(plan_key.clone());
            out.add(key.clone(), Arc::new(WindowOp { part: part.clone() }), &args)?;
            finish_args.push(key);
        }
        out.add(node.key([0]), Arc::new(self.finish.clone()), &finish_args)
            .map(|_| ())
    }
}

/// `x` with one NaN and one zero, so that equal values compare equal in a total order where
/// NaN is the largest value (polars' order).
fn canonical(x: f64) -> f64 {
    if x.is_nan() {
        f64::NAN
    } else if x == 0.0 {
        0.0
    } else {
        x
    }
}

fn total(a: &f64, b: &f64) -> Ordering {
    a.total_cmp(b)
}

/// The partition's query result: one `Float64` column per quantile column, the partition's
/// leading input (if any) first.
fn run_part(part: &PartitionTask, inputs: &mut std::vec::IntoIter<Value>) -> Result<pl::DataFrame, BoxError> {
    let input = match part.source {
        PartSource::Input => Some(frame_of(inputs.next().ok_or("a quantile pass reads its partition")?)?),
        _ => None,
    };
    part.run(input)
}

/// The non-null values of column `i` of a projected partition, canonical.
fn values_of(df: &pl::DataFrame, i: usize) -> Result<Vec<f64>, BoxError> {
    let column = df.columns().get(i).ok_or("a quantile column is missing")?;
    Ok(column.f64()?.iter().flatten().map(canonical).collect())
}

/// The sketches of one partition: for every column, its non-null count and sampled values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Sketch {
    rows: u64,
    columns: Vec<ColumnSketch>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ColumnSketch {
    count: u64,
    /// Ranks (0-based, increasing, the first and last included) and their values.
    ranks: Vec<u64>,
    values: Vec<f64>,
}

/// Pass one: sorts every column's values and samples them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SketchOp {
    part: PartitionTask,
}

impl Op for SketchOp {
    fn name(&self) -> &str {
        "quantile_sketch"
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        let df = run_part(&self.part, &mut inputs.into_iter())?;
        let mut columns = Vec::with_capacity(df.width());
        for i in 0..df.width() {
            columns.push(sketch_column(values_of(&df, i)?));
        }
        Ok(Arc::new(Sketch {
            rows: df.height() as u64,
            columns,
        }))
    }

    fn spec(&self) -> Option<OpSpec> {
        codec::spec_of("frame-quantile-sketch", self)
    }
}

/// Sorts a partition's values and samples about `2√m` of them (all when few).
fn sketch_column(mut values: Vec<f64>) -> ColumnSketch {
    values.sort_unstable_by(total);
    let m = values.len();
    let k = if m <= SMALL_PARTITION {
        m
    } else {
        (2.0 * (m as f64).sqrt())
            .ceil()
            .max(SMALL_PARTITION as f64)
            .min(m as f64) as usize
    };
    let ranks: Vec<u64> = match k {
        0 => Vec::new(),
        1 => vec![0],
        _ => (0..k).map(|j| (j * (m - 1) / (k - 1)) as u64).collect(),
    };
    let sampled = ranks.iter().map(|&r| values[r as usize]).collect();
    ColumnSketch {
        count: m as u64,
        ranks,
        values: sampled,
    }
}

/// Where polars reads quantile `q` of `count` values and `nulls` nulls: the lower rank among
/// the values, the fractional index, and whether the next rank is needed too (polars'
/// `quantile_idx`, whose ranks count the nulls sorted first).
fn quantile_index(q: f64, count: u64, nulls: u64, method: QuantileMethod) -> (u64, f64, bool) {
    let length = count + nulls;
    let float_idx = (count as f64 - 1.0) * q + nulls as f64;
    let (idx, top) = match method {
        QuantileMethod::Nearest => {
            let idx = float_idx.round() as u64;
            (idx, idx)
        }
        QuantileMethod::Equiprobable => {
            let idx = ((count as f64 * q).ceil() - 1.0).max(0.0) as u64 + nulls;
            (idx, idx)
        }
        QuantileMethod::Lower | QuantileMethod::Midpoint | QuantileMethod::Linear => {
            ((float_idx as u64).min(length - 1), float_idx.ceil() as u64)
        }
        QuantileMethod::Higher => ((float_idx.ceil() as u64).min(length - 1), float_idx.ceil() as u64),
    };
    let needs_next = idx != top && matches!(method, QuantileMethod::Midpoint | QuantileMethod::Linear);
    (idx - nulls, float_idx, needs_next)
}

/// Polars' quantile from the values at the lower rank and the next one.
fn interpolate(method: QuantileMethod, idx: u64, float_idx: f64, lower: f64, upper: Option<f64>) -> f64 {
    let Some(upper) = upper else { return lower };
    if lower == upper {
        return lower;
    }
    match method {
        QuantileMethod::Midpoint => (lower + upper) / 2.0,
        QuantileMethod::Linear => (float_idx - idx as f64) * (upper - lower) + lower,
        _ => lower,
    }
}

/// The global ranks to read, with the values that bracket them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct QuantilePlan {
    columns: Vec<ColumnPlan>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ColumnPlan {
    count: u64,
    nulls: u64,
    /// Sorted, distinct ranks among the non-null values.
    ranks: Vec<u64>,
    /// For each rank, a value at or below it (`None`: no bound) and one at or above it.
    brackets: Vec<(Option<f64>, f64)>,
}

/// Brackets the needed ranks of every column from the partitions' sketches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PlanQuantiles {
    qs: Vec<f64>,
    method: QuantileMethod,
}

impl Op for PlanQuantiles {
    fn name(&self) -> &str {
        "quantile_plan"
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        let sketches = inputs
            .into_iter()
            .map(take_value::<Sketch>)
            .collect::<Result<Vec<_>, _>>()?;
        let width = sketches.first().map_or(0, |s| s.columns.len());
        let rows: u64 = sketches.iter().map(|s| s.rows).sum();
        let mut columns = Vec::with_capacity(width);
        for c in 0..width {
            let parts: Vec<&ColumnSketch> = sketches.iter().map(|s| &s.columns[c]).collect();
            let count: u64 = parts.iter().map(|p| p.count).sum();
            let nulls = rows - count;
            let mut ranks = Vec::new();
            if count > 0 {
                for &q in &self.qs {
                    let (idx, _, next) = quantile_index(q, count, nulls, self.method);
                    ranks.push(idx);
                    if next {
                        ranks.push(idx + 1);
                    }
                }
            }
            ranks.sort_unstable();
            ranks.dedup();
            let brackets = bracket(&parts, &ranks)?;
            columns.push(ColumnPlan {
                count,
                nulls,
                ranks,
                brackets,
            });
        }
        Ok(Arc::new(QuantilePlan { columns }))
    }

    fn spec(&self) -> Option<OpSpec> {
        codec::spec_of("frame-quantile-plan", self)
    }
}

/// For every rank `t`, the largest sampled value with at most `t` values surely below it, and
/// the smallest with more than `t` values surely at or below it (see the module docs).
fn bracket(parts: &[&ColumnSketch], ranks: &[u64]) -> Result<Vec<(Option<f64>, f64)>, BoxError> {
    if ranks.is_empty() {
        return Ok(Vec::new());
    }
    let mut samples: Vec<(f64, usize, usize)> = Vec::new();
    for (p, part) in parts.iter().enumerate() {
        samples.extend(part.values.iter().enumerate().map(|(j, &v)| (v, p, j)));
    }
    samples.sort_by(|a, b| total(&a.0, &b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    // (value, most values below it, fewest values at or below it), per distinct value.
    let mut steps: Vec<(f64, u64, u64)> = Vec::new();
    let (mut below, mut up_to) = (0_u64, 0_u64);
    let mut i = 0;
    while i < samples.len() {
        let value = samples[i].0;
        let most_below = below;
        while i < samples.len() && total(&samples[i].0, &value) == Ordering::Equal {
            let (_, p, j) = samples[i];
            let part = parts[p];
            let next = part.ranks.get(j + 1).copied().unwrap_or(part.count);
            below += next - part.ranks[j];
            let before = if j == 0 { 0 } else { part.ranks[j - 1] + 1 };
            up_to += part.ranks[j] + 1 - before;
            i += 1;
        }
        steps.push((value, most_below, up_to));
    }
    ranks
        .iter()
        .map(|&t| {
            let lo = steps.partition_point(|s| s.1 <= t).checked_sub(1).map(|k| steps[k].0);
            let hi = steps
                .get(steps.partition_point(|s| s.2 < t + 1))
                .ok_or("quantile plan: a rank lies past every sampled value")?
                .0;
            Ok((lo, hi))
        })
        .collect()
}

/// For one partition: per column and rank, the values below the bracket, and the distinct
/// values inside it with their counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Windows {
    columns: Vec<Vec<Window>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Window {
    below: u64,
    values: Vec<(f64, u64)>,
}

/// Pass two: what every partition holds of each bracket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct WindowOp {
    part: PartitionTask,
}

impl Op for WindowOp {
    fn name(&self) -> &str {
        "quantile_window"
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        let mut inputs = inputs.into_iter();
        let plan_value = inputs.next_back().ok_or("a quantile window reads the plan")?;
        let plan = plan_value
            .downcast_ref::<QuantilePlan>()
            .ok_or("a quantile window reads the plan")?;
        let df = run_part(&self.part, &mut inputs)?;
        let mut columns = Vec::with_capacity(plan.columns.len());
        for (c, column) in plan.columns.iter().enumerate() {
            if column.brackets.is_empty() {
                columns.push(Vec::new());
                continue;
            }
            let values = values_of(&df, c)?;
            let windows = column
                .brackets
                .iter()
                .map(|&(lo, hi)| window(&values, lo, hi))
                .collect();
            columns.push(windows);
        }
        Ok(Arc::new(Windows { columns }))
    }

    fn spec(&self) -> Option<OpSpec> {
        codec::spec_of("frame-quantile-window", self)
    }
}

/// How many of `values` lie below `lo`, and the distinct ones in `[lo, hi]` with their counts.
fn window(values: &[f64], lo: Option<f64>, hi: f64) -> Window {
    let mut below = 0_u64;
    let mut inside: Vec<f64> = Vec::new();
    for &x in values {
        if lo.is_some_and(|lo| total(&x, &lo) == Ordering::Less) {
            below += 1;
        } else if total(&x, &hi) != Ordering::Greater {
            inside.push(x);
        }
    }
    inside.sort_unstable_by(total);
    Window {
        below,
        values: runs(inside.into_iter().map(|v| (v, 1))),
    }
}

/// Sorted `(value, count)` pairs with equal neighbours merged.
fn runs(sorted: impl Iterator<Item = (f64, u64)>) -> Vec<(f64, u64)> {
    let mut out: Vec<(f64, u64)> = Vec::new();
    for (v, n) in sorted {
        match out.last_mut() {
            Some(last) if total(&last.0, &v) == Ordering::Equal => last.1 += n,
            _ => out.push((v, n)),
        }
    }
    out
}

/// Merges the windows and reads the quantiles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct FinishQuantiles {
    columns: Vec<QuantileColumn>,
    qs: Vec<f64>,
    method: QuantileMethod,
}

impl Op for FinishQuantiles {
    fn name(&self) -> &str {
        "quantiles"
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        let mut inputs = inputs.into_iter();
        let plan = take_value::<QuantilePlan>(inputs.next().ok_or("quantiles read the plan")?)?;
        let windows = inputs.map(take_value::<Windows>).collect::<Result<Vec<_>, _>>()?;
        let mut out = Vec::with_capacity(self.qs.len() * self.columns.len());
        let mut results = vec![vec![None; self.columns.len()]; self.qs.len()];
        for (c, (column, spec)) in plan.columns.iter().zip(&self.columns).enumerate() {
            if column.count == 0 {
                continue;
            }
            // The value at every planned rank.
            let mut at_rank = Vec::with_capacity(column.ranks.len());
            for (k, &t) in column.ranks.iter().enumerate() {
                let below: u64 = windows.iter().map(|w| w.columns[c][k].below).sum();
                let mut inside: Vec<(f64, u64)> = windows
                    .iter()
                    .flat_map(|w| w.columns[c][k].values.iter().copied())
                    .collect();
                inside.sort_by(|a, b| total(&a.0, &b.0));
                let mut offset = t
                    .checked_sub(below)
                    .ok_or("quantiles: more values below the bracket than the rank (a bug)")?;
                let mut value = None;
                for (v, n) in runs(inside.into_iter()) {
                    if offset < n {
                        value = Some(v);
                        break;
                    }
                    offset -= n;
                }
                at_rank.push((t, value.ok_or("quantiles: the rank lies past its bracket (a bug)")?));
            }
            let read = |t: u64| at_rank.iter().find(|(r, _)| *r == t).map(|(_, v)| *v);
            for (qi, &q) in self.qs.iter().enumerate() {
                let (idx, float_idx, next) = quantile_index(q, column.count, column.nulls, self.method);
                let lower = read(idx).ok_or("quantiles: a rank was not planned (a bug)")?;
                let upper = if next { read(idx + 1) } else { None };
                let mut value = interpolate(self.method, idx + column.nulls, float_idx, lower, upper);
                if spec.float32 {
                    value = f64::from(value as f32);
                }
                results[qi][c] = Some(value);
            }
        }
        for (qi, row) in results.into_iter().enumerate() {
            for (c, value) in row.into_iter().enumerate() {
                out.push(pl::Series::new(quantile_name(qi, c).into(), [value]).into_column());
            }
        }
        Ok(Arc::new(pl::DataFrame::new(1, out)?))
    }

    fn spec(&self) -> Option<OpSpec> {
        codec::spec_of("frame-quantiles", self)
    }
}

crate::register_codec!(Sketch, QuantilePlan, Windows);

#[cfg(test)]
mod tests {
    use super::*;

    /// Polars' quantile of `values` (nulls as `None`) on one series.
    fn polars_quantile(values: &[Option<f64>], q: f64, method: QuantileMethod) -> Option<f64> {
        use polars::prelude::ChunkQuantile;
        let s: pl::Float64Chunked = values.iter().copied().collect();
        s.quantile(q, method).unwrap()
    }

    fn split_sketches(parts: &[Vec<f64>]) -> Vec<ColumnSketch> {
        parts
            .iter()
            .map(|p| {
                let mut values: Vec<f64> = p.iter().copied().map(canonical).collect();
                values.sort_unstable_by(total);
                let m = values.len();
                // Sparse sketches, to exercise wide brackets.
                let k = m.min(3);
                let ranks: Vec<u64> = match k {
                    0 => vec![],
                    1 => vec![0],
                    _ => (0..k).map(|j| (j * (m - 1) / (k - 1)) as u64).collect(),
                };
                ColumnSketch {
                    count: m as u64,
                    values: ranks.iter().map(|&r| values[r as usize]).collect(),
                    ranks,
                }
            })
            .collect()
    }

    #[test]
    fn brackets_of_distinct_values_stay_small() {
        // 10 partitions of 10 000 distinct values, interleaved: the brackets of every decile
        // hold a few times Σ √m values, not the column.
        let parts: Vec<Vec<f64>> = (0..10)
            .map(|p| (0..10_000).map(|i| f64::from(i * 10 + p) * 0.5).collect())
            .collect();
        let sketches: Vec<ColumnSketch> = parts.iter().map(|p| sketch_column(p.clone())).collect();
        assert_eq!(sketches[0].values.len(), 200);
        let refs: Vec<&ColumnSketch> = sketches.iter().collect();
        let ranks: Vec<u64> = (0..=10).map(|d| d * 99_999 / 10).collect();
        for (&t, (lo, hi)) in ranks.iter().zip(bracket(&refs, &ranks).unwrap()) {
            let windows: Vec<Window> = parts.iter().map(|p| window(p, lo, hi)).collect();
            let below: u64 = windows.iter().map(|w| w.below).sum();
            let inside: usize = windows.iter().map(|w| w.values.len()).sum();
            assert!(below <= t && t < below + inside as u64, "rank {t}");
            assert!(inside <= 1_000, "rank {t}: {inside} values in the bracket");
        }
    }

    #[test]
    fn brackets_hold_every_rank_and_ranks_match_polars() {
        let mut seed = 7_u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            seed >> 33
        };
        for trial in 0..200 {
            let nparts = 1 + (next() % 5) as usize;
            let parts: Vec<Vec<f64>> = (0..nparts)
                .map(|_| {
                    let len = (next() % 12) as usize;
                    // Few distinct values, so ties are common.
                    (0..len).map(|_| (next() % 7) as f64 - 3.0).collect()
                })
                .collect();
            let mut all: Vec<f64> = parts.iter().flatten().copied().collect();
            all.sort_unstable_by(total);
            let sketches = split_sketches(&parts);
            let refs: Vec<&ColumnSketch> = sketches.iter().collect();
            let ranks: Vec<u64> = (0..all.len() as u64).collect();
            let brackets = bracket(&refs, &ranks).unwrap();
            for (&t, &(lo, hi)) in ranks.iter().zip(&brackets) {
                let v = all[t as usize];
                assert!(lo.is_none_or(|lo| lo <= v) && v <= hi, "trial {trial}: rank {t}");
            }
            let with_nulls: Vec<Option<f64>> = all.iter().copied().map(Some).chain([None, None]).collect();
            for method in [
                QuantileMethod::Nearest,
                QuantileMethod::Lower,
                QuantileMethod::Higher,
                QuantileMethod::Midpoint,
                QuantileMethod::Linear,
                QuantileMethod::Equiprobable,
            ] {
                for q in [0.0, 0.1, 0.25, 0.5, 0.7, 0.99, 1.0] {
                    let want = polars_quantile(&with_nulls, q, method);
                    let got = (!all.is_empty()).then(|| {
                        let (idx, float_idx, next) = quantile_index(q, all.len() as u64, 2, method);
                        let upper = next.then(|| all[idx as usize + 1]);
                        interpolate(method, idx + 2, float_idx, all[idx as usize], upper)
                    });
                    assert_eq!(got, want, "trial {trial}, {method:?}, q {q}");
                }
            }
        }
    }
}
