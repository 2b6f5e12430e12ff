//! Sorting across partitions through a sample-based range shuffle: a sample of the first sort
//! column from every partition gives boundaries that cut the values into ranges of about equal
//! size; every partition is split by those ranges, and each output partition sorts its range.
//! The result has known [`Divisions`]. Like Dask's `set_index`, the sample is computed when the
//! sort is built, so the input is computed twice (persist it first if that is costly).

use std::sync::Arc;

use polars::prelude::{self as pl, *};
use serde::{Deserialize, Serialize};

use super::shuffle::{Shuffle, SplitOp, Splitter, frame_of};
use super::steps::{Step, format_schema};
use super::{DataFrame, codec};
use crate::collection::Collection;
use crate::error::{BoxError, Error, Result};
use crate::graph::{Layer, Lowering, Node, Op, OpSpec, Tokenizer, Value};

/// Samples taken from each partition to place the range boundaries.
const SAMPLES_PER_PARTITION: usize = 128;

/// The known boundaries of a sorted frame's partitions (Dask's divisions): partition `k` holds
/// the values of `column` after `bounds[k - 1]` up to `bounds[k]` (reversed when descending),
/// with nulls in the first partition (or the last, when nulls sort last).
#[derive(Debug, Clone)]
pub struct Divisions {
    /// The sort column.
    pub column: String,
    /// The `npartitions - 1` boundaries, in sort order.
    pub bounds: pl::Series,
    /// Whether the column is sorted in descending order.
    pub descending: bool,
}

impl DataFrame {
    /// Sorted by the columns `by`, each ascending or `descending`, nulls first (polars'
    /// defaults); stable. The output partitions hold consecutive ranges of the first column,
    /// so computing the frame gives the whole sorted table, and
    /// [`divisions`](DataFrame::divisions) tells where each partition starts.
    ///
    /// # Errors
    /// [`Error::Metadata`] for a column that does not exist, or lists of different lengths;
    /// computing the sample can fail as [`compute`](crate::Collection::compute) does.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::frame::{DataFrame, polars::prelude::*};
    /// let df = DataFrame::from_polars(df!("x" => [5, 3, 9, 1, 7, 2])?, 3)?;
    /// let sorted = df.sort(&["x"], &[true])?;
    /// assert!(sorted.divisions().is_some());
    /// assert_eq!(sorted.compute()?.column("x")?.i32()?.into_no_null_iter().collect::<Vec<_>>(), [9, 7, 5, 3, 2, 1]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sort(&self, by: &[&str], descending: &[bool]) -> Result<DataFrame> {
        if by.is_empty() || by.len() != descending.len() {
            return Err(Error::Metadata(format!(
                "sort: {} columns and {} directions",
                by.len(),
                descending.len()
            )));
        }
        for name in by {
            if self.schema.get(name).is_none() {
                return Err(Error::Metadata(format!(
                    "sort: no column {name:?}; schema: {}",
                    format_schema(&self.schema)
                )));
            }
        }
        let step = Step::Sort {
            by: by.iter().map(|s| (*s).to_string()).collect(),
            descending: descending.to_vec(),
            nulls_last: false,
        };
        if self.npartitions == 1 {
            return self.with_step(step, false);
        }
        let (column, desc) = (by[0].to_string(), descending[0]);
        let bounds = self.range_bounds(&column, desc)?;
        let token = Tokenizer::new("sort")
            .str(self.node.name())
            .str(&format!("{step:?}{bounds:?}"))
            .finish();
        let n = bounds.len() + 1;
        let layer = Shuffle {
            label: format!("sort({by:?}, descending={descending:?}) into {n} ranges"),
            split: SplitOp {
                how: Splitter::Range {
                    column: column.clone(),
                    bounds: bounds.clone(),
                    descending: desc,
                    nulls_last: false,
                },
                n: n as u32,
            },
            n_in: self.npartitions,
            then: vec![step],
        };
        let node = Node::new(token.into(), vec![self.node.clone()], Box::new(layer));
        let divisions = Divisions {
            column,
            bounds,
            descending: desc,
        };
        Ok(DataFrame::from_node(node, n, self.schema.clone()).with_divisions(Some(Arc::new(divisions))))
    }

    /// Sorted by `column` ascending, with known divisions (Dask's `set_index`; polars frames
    /// have no index, so the column stays a column).
    ///
    /// # Errors
    /// As [`sort`](DataFrame::sort).
    pub fn set_index(&self, column: &str) -> Result<DataFrame> {
        self.sort(&[column], &[false])
    }

    /// `npartitions - 1` boundaries (fewer when the sample has few distinct values) that cut
    /// the sampled values of `column` into ranges of about equal weight.
    fn range_bounds(&self, column: &str, descending: bool) -> Result<pl::Series> {
        let only = self.select([pl::col(column)])?;
        let node = Node::new(
            format!("{}-sample", only.node.name()).into(),
            vec![only.node.clone()],
            Box::new(SampleLayer {
                n: only.npartitions,
                column: column.to_string(),
            }),
        );
        let schema = Arc::new(Schema::from_iter([
            Field::new(
                column.into(),
                self.schema.get(column).cloned().unwrap_or(DataType::Null),
            ),
            Field::new(WEIGHT.into(), DataType::Float64),
        ]));
        let samples = DataFrame::from_node(node, only.npartitions, schema).compute()?;
        let sorted = samples
            .sort(
                [column],
                SortMultipleOptions::default().with_order_descending(descending),
            )
            .map_err(|e| Error::Internal(format!("sort sample: {e}")))?;
        let values = sorted.column(column).map_err(|e| Error::Internal(e.to_string()))?;
        let weights: Vec<f64> = sorted
            .column(WEIGHT)
            .and_then(|c| c.f64().cloned())
            .map_err(|e| Error::Internal(e.to_string()))?
            .into_no_null_iter()
            .collect();
        let total: f64 = weights.iter().sum();
        let n = self.npartitions;
        let mut picks: Vec<IdxSize> = Vec::new();
        let mut seen = 0.0;
        let mut next = 1;
        for (i, w) in weights.iter().enumerate() {
            seen += w;
            while next < n && seen >= total * next as f64 / n as f64 {
                picks.push(i as IdxSize);
                next += 1;
            }
        }
        let bounds = values
            .as_materialized_series()
            .take(&IdxCa::from_vec(PlSmallStr::EMPTY, picks))
            .map_err(|e| Error::Internal(e.to_string()))?;
        // Equal boundaries would make empty ranges: keep each once, in order.
        let bounds = bounds
            .unique_stable()
            .map_err(|e| Error::Internal(format!("sort boundaries: {e}")))?;
        Ok(bounds)
    }
}

const WEIGHT: &str = "__drask_weight";

/// One sampling task per partition.
#[derive(Debug)]
struct SampleLayer {
    n: usize,
    column: String,
}

impl Layer for SampleLayer {
    fn op_name(&self) -> &str {
        "sample"
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        let op = Arc::new(SampleOp {
            column: self.column.clone(),
        });
        for i in 0..self.n as u32 {
            out.add(node.key([i]), op.clone(), &[node.inputs()[0].key([i])])?;
        }
        Ok(())
    }
}

/// Evenly spaced values of a partition's sorted, non-null `column`, each weighted by the rows
/// it stands for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SampleOp {
    column: String,
}

impl Op for SampleOp {
    fn name(&self) -> &str {
        "sample"
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        let df = frame_of(inputs.into_iter().next().ok_or("sample reads one partition")?)?;
        let values = df
            .column(&self.column)?
            .as_materialized_series()
            .drop_nulls()
            .sort(SortOptions::default())?;
        let len = values.len();
        let k = len.min(SAMPLES_PER_PARTITION);
        let picks: Vec<IdxSize> = (0..k)
            .map(|i| ((i * len + len / 2) / k.max(1)).min(len - 1) as IdxSize)
            .collect();
        let sample = values.take(&IdxCa::from_vec(PlSmallStr::EMPTY, picks))?;
        let weight = if k == 0 { 0.0 } else { len as f64 / k as f64 };
        let weights = Series::new(WEIGHT.into(), vec![weight; k]);
        Ok(Arc::new(pl::DataFrame::new(
            k,
            vec![sample.into_column(), weights.into_column()],
        )?))
    }

    fn spec(&self) -> Option<OpSpec> {
        codec::spec_of("frame-sample", self)
    }
}
