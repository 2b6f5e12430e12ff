//! Moving rows between partitions: every input partition is split into pieces (by a hash of
//! key columns, by ranges of a sort column, or into runs of rows), and output partition `j`
//! concatenates piece `j` of every split.
//!
//! A shuffle of `n` partitions into `m` lowers to `n` split tasks and `m` gather tasks, `n * m`
//! edges, in one stage. Pieces are polars frames, whose columns are shared buffers, so a gather
//! reads its piece without copying the split's rows; a split's memory is freed when its last
//! gather has run.

use std::sync::Arc;

use polars::polars_utils::aliases::{PlSeedableRandomStateQuality, SeedableFromU64SeedExt};
use polars::prelude::{self as pl, *};
use serde::{Deserialize, Serialize};

use super::codec;
use super::csv::CsvPartition;
use crate::error::{BoxError, Result};
use crate::graph::{Key, Layer, Lowering, Node, Op, OpSpec, Value, take_value};

/// The seed of the row hash that assigns rows to partitions: fixed, so both sides of a join,
/// and every process of a cluster, put equal keys in the same partition.
const SHUFFLE_SEED: u64 = 0x6472_6173_6b5f_7368;

/// The frame inside a partition value (a read that skips bad rows carries its count too).
pub(crate) fn frame_of(value: Value) -> Result<pl::DataFrame, BoxError> {
    if let Some(part) = value.downcast_ref::<CsvPartition>() {
        return Ok(part.frame.clone());
    }
    take_value::<pl::DataFrame>(value)
}

/// Piece `j` of a split.
pub(crate) fn piece(value: &Value, j: u32) -> Result<pl::DataFrame, BoxError> {
    let pieces = value
        .downcast_ref::<Vec<pl::DataFrame>>()
        .ok_or("a shuffle piece must come from a split")?;
    pieces
        .get(j as usize)
        .cloned()
        .ok_or_else(|| format!("no piece {j} among {}", pieces.len()).into())
}

/// `parts` one after another; an empty frame of `schema` when there are none.
pub(crate) fn concat_frames(parts: Vec<pl::DataFrame>, schema: &Schema) -> PolarsResult<pl::DataFrame> {
    let mut parts = parts.into_iter();
    let Some(mut out) = parts.next() else {
        return Ok(pl::DataFrame::empty_with_schema(schema));
    };
    for part in parts {
        out.vstack_mut_owned(part)?;
    }
    Ok(out)
}

/// `df` cut into `n` runs of rows of nearly equal length (the first ones one row longer).
pub(crate) fn split_rows(df: &pl::DataFrame, n: usize) -> Vec<pl::DataFrame> {
    let n = n.max(1);
    let height = df.height();
    let mut out = Vec::with_capacity(n);
    let mut offset = 0;
    for i in 0..n {
        let len = height / n + usize::from(i < height % n);
        out.push(df.slice(offset as i64, len));
        offset += len;
    }
    out
}

/// Concatenates its inputs, in order.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct ConcatOp;

impl Op for ConcatOp {
    fn name(&self) -> &str {
        "concat"
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        let parts = inputs.into_iter().map(frame_of).collect::<Result<Vec<_>, _>>()?;
        let schema = parts.first().map(|p| p.schema().clone()).ok_or("concat of nothing")?;
        Ok(Arc::new(concat_frames(parts, &schema)?))
    }

    fn spec(&self) -> Option<OpSpec> {
        codec::spec_of("frame-concat", self)
    }
}

/// How a split assigns rows to pieces.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum Splitter {
    /// By a hash of the key columns.
    Hash { keys: Vec<String> },
    /// By `column` against sorted `bounds` (n − 1 of them): piece `k` holds values after
    /// `bounds[k - 1]` up to `bounds[k]` (reversed when descending); nulls go first, or last.
    Range {
        column: String,
        bounds: pl::Series,
        descending: bool,
        nulls_last: bool,
    },
    /// Into `n` runs of rows of nearly equal length, in order.
    Rows,
}

/// Splits a partition into `n` pieces (a `Vec` of frames).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SplitOp {
    pub(crate) how: Splitter,
    pub(crate) n: u32,
}

impl SplitOp {
    pub(crate) fn hash(keys: Vec<String>, n: u32) -> SplitOp {
        SplitOp {
            how: Splitter::Hash { keys },
            n,
        }
    }

    pub(crate) fn split(&self, df: &pl::DataFrame) -> Result<Vec<pl::DataFrame>, BoxError> {
        let n = self.n.max(1) as usize;
        let buckets: Vec<u32> = match &self.how {
            Splitter::Rows => return Ok(split_rows(df, n)),
            Splitter::Hash { keys } => {
                let mut key_frame = df.select(keys.iter().map(String::as_str))?;
                let hashes = key_frame.hash_rows(Some(PlSeedableRandomStateQuality::seed_from_u64(SHUFFLE_SEED)))?;
                hashes
                    .into_no_null_iter()
                    // The high half is the well-mixed one; multiply-shift maps it onto 0..n.
                    .map(|h| (((h >> 32) * n as u64) >> 32) as u32)
                    .collect()
            }
            Splitter::Range {
                column,
                bounds,
                descending,
                nulls_last,
            } => range_buckets(
                df.column(column)?.as_materialized_series(),
                bounds,
                *descending,
                *nulls_last,
            )?,
        };
        let mut indices: Vec<Vec<IdxSize>> = vec![Vec::new(); n];
        for (row, bucket) in buckets.into_iter().enumerate() {
            indices[bucket as usize].push(row as IdxSize);
        }
        let mut out = Vec::with_capacity(n);
        for rows in indices {
            out.push(df.take(&IdxCa::from_vec(PlSmallStr::EMPTY, rows))?);
        }
        Ok(out)
    }
}

/// The range piece of every value of `values`: how many bounds it is past.
fn range_buckets(
    values: &pl::Series,
    bounds: &pl::Series,
    descending: bool,
    nulls_last: bool,
) -> PolarsResult<Vec<u32>> {
    let values = values.cast(bounds.dtype())?;
    let nbounds = bounds.len() as u32;
    let mut buckets = vec![0_u32; values.len()];
    for k in 0..bounds.len() {
        let bound = bounds.slice(k as i64, 1);
        // Equal values stay in the same piece: a value equal to a bound goes below it.
        let past = if descending {
            values.lt(&bound)?
        } else {
            values.gt(&bound)?
        };
        for (bucket, past) in buckets.iter_mut().zip(past.iter()) {
            if past == Some(true) {
                *bucket += 1;
            }
        }
    }
    if nulls_last {
        for (bucket, is_null) in buckets.iter_mut().zip(values.is_null().iter()) {
            if is_null == Some(true) {
                *bucket = nbounds;
            }
        }
    }
    // NaN sorts above every number (polars' order) but compares false with all of them.
    if values.dtype().is_float() {
        let nan_piece = if descending { 0 } else { nbounds };
        for (bucket, is_nan) in buckets.iter_mut().zip(values.is_nan()?.iter()) {
            if is_nan == Some(true) {
                *bucket = nan_piece;
            }
        }
    }
    Ok(buckets)
}

impl Op for SplitOp {
    fn name(&self) -> &str {
        "split"
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        let df = frame_of(inputs.into_iter().next().ok_or("split reads one partition")?)?;
        Ok(Arc::new(self.split(&df)?))
    }

    fn spec(&self) -> Option<OpSpec> {
        codec::spec_of("frame-split", self)
    }
}

/// Concatenates piece `index` of every input split, then runs `then` over the result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PickOp {
    pub(crate) index: u32,
    pub(crate) then: Vec<super::steps::Step>,
}

impl Op for PickOp {
    fn name(&self) -> &str {
        "gather"
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        let parts = inputs
            .iter()
            .map(|v| piece(v, self.index))
            .collect::<Result<Vec<_>, _>>()?;
        let schema = parts.first().map(|p| p.schema().clone()).ok_or("gather of nothing")?;
        let df = concat_frames(parts, &schema)?;
        if self.then.is_empty() {
            return Ok(Arc::new(df));
        }
        Ok(Arc::new(super::steps::apply_all(&self.then, df.lazy()).collect()?))
    }

    fn spec(&self) -> Option<OpSpec> {
        codec::spec_of("frame-pick", self)
    }
}

/// A shuffle of the one input's `n_in` partitions into `n_out`: split tasks, then one gather
/// per output partition that runs `then` over its rows.
#[derive(Debug)]
pub(crate) struct Shuffle {
    pub(crate) label: String,
    pub(crate) split: SplitOp,
    pub(crate) n_in: usize,
    pub(crate) then: Vec<super::steps::Step>,
}

impl Layer for Shuffle {
    fn op_name(&self) -> &str {
        &self.label
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        let input = &node.inputs()[0];
        let split_name: Arc<str> = format!("{}-split", node.name()).into();
        let split = Arc::new(self.split.clone());
        let splits: Vec<Key> = (0..self.n_in as u32)
            .map(|i| {
                let key = Key::new(split_name.clone(), [i]);
                out.add(key.clone(), split.clone(), &[input.key([i])])?;
                Ok(key)
            })
            .collect::<Result<_>>()?;
        for j in 0..self.split.n {
            let gather = PickOp {
                index: j,
                then: self.then.clone(),
            };
            out.add(node.key([j]), Arc::new(gather), &splits)?;
        }
        Ok(())
    }
}
