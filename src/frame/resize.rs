//! Repartitioning by size (Dask's `repartition(partition_size=...)`): the partitions' in-memory
//! sizes are measured first, then large partitions are cut into runs of rows and runs of small
//! neighbours are concatenated, so each output partition holds about a given number of bytes
//! and the rows keep their order.

use std::sync::Arc;

use polars::prelude::{self as pl, DataType, Field, IntoColumn, NamedFrom, Schema};
use serde::{Deserialize, Serialize};

use super::shuffle::{SplitOp, Splitter, concat_frames, frame_of, piece};
use super::{DataFrame, codec};
use crate::collection::Collection;
use crate::error::{BoxError, Error, Result};
use crate::graph::{Key, Layer, Lowering, Node, Op, OpSpec, Tokenizer, Value};

impl DataFrame {
    /// The same rows, in the same order, in partitions of about `bytes` bytes each (Dask's
    /// `repartition(partition_size=...)`).
    ///
    /// Like Dask, this computes the frame first, to measure every partition (polars'
    /// `estimated_size`: the bytes of its buffers, shared buffers counted once per partition);
    /// the returned frame computes it again when it is computed. Then a partition larger than
    /// `bytes` is cut into the fewest runs of equally many rows that are each at most `bytes`
    /// (assuming its rows are of equal size), and consecutive partitions or runs are
    /// concatenated greedily while their sum stays within `bytes`. So an output partition
    /// exceeds `bytes` only where a single row does, or where one partition's rows differ in
    /// size; and no two neighbouring outputs would fit together in `bytes`, so there are at most
    /// about twice as many as the total size needs.
    ///
    /// # Errors
    /// [`Error::Metadata`] for `bytes == 0`; computing the sizes can fail as
    /// [`compute`](crate::Collection::compute) does.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::frame::{DataFrame, polars::prelude::*};
    /// // 1000 rows of 8-byte integers in 10 partitions of 800 bytes each.
    /// let df = DataFrame::from_polars(df!("x" => (0..1000_i64).collect::<Vec<_>>())?, 10)?;
    /// let merged = df.repartition_by_size(2000)?; // two old partitions per new one
    /// assert_eq!(merged.npartitions(), 5);
    /// let split = df.repartition_by_size(300)?; // each old partition in three runs
    /// assert_eq!(split.npartitions(), 30);
    /// assert_eq!(split.compute()?, df.compute()?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn repartition_by_size(&self, bytes: usize) -> Result<DataFrame> {
        if bytes == 0 {
            return Err(Error::Metadata(
                "repartition_by_size: the partition size must be above 0 bytes".into(),
            ));
        }
        let (rows, sizes) = self.partition_sizes()?;
        let plan = SizePlan::new(&rows, &sizes, bytes as u64);
        let token = Tokenizer::new("repartition_by_size")
            .str(self.node.name())
            .u64(bytes as u64)
            .str(&format!("{:?}", plan.outputs))
            .finish();
        let n = plan.outputs.len();
        let node = Node::new(token.into(), vec![self.node.clone()], Box::new(plan));
        Ok(DataFrame::from_node(node, n, self.schema.clone()))
    }

    /// The row count and estimated in-memory size of every partition, computed now.
    fn partition_sizes(&self) -> Result<(Vec<u64>, Vec<u64>)> {
        let node = Node::new(
            format!("{}-sizes", self.node.name()).into(),
            vec![self.node.clone()],
            Box::new(SizeLayer { n: self.npartitions }),
        );
        let schema = Arc::new(Schema::from_iter([
            Field::new(ROWS.into(), DataType::UInt64),
            Field::new(BYTES.into(), DataType::UInt64),
        ]));
        let sizes = DataFrame::from_node(node, self.npartitions, schema).compute()?;
        let column = |name: &str| -> Result<Vec<u64>> {
            let values = sizes
                .column(name)
                .and_then(|c| c.u64().cloned())
                .map_err(|e| Error::Internal(format!("partition sizes: {e}")))?;
            Ok(values.into_no_null_iter().collect())
        };
        Ok((column(ROWS)?, column(BYTES)?))
    }
}

const ROWS: &str = "rows";
const BYTES: &str = "bytes";

/// One measuring task per partition.
#[derive(Debug)]
struct SizeLayer {
    n: usize,
}

impl Layer for SizeLayer {
    fn op_name(&self) -> &str {
        "partition_sizes"
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        for i in 0..self.n as u32 {
            out.add(node.key([i]), Arc::new(SizeOp), &[node.inputs()[0].key([i])])?;
        }
        Ok(())
    }
}

/// A partition's row count and estimated size in bytes, as a frame of one row.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct SizeOp;

impl Op for SizeOp {
    fn name(&self) -> &str {
        "partition_size"
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        let df = frame_of(inputs.into_iter().next().ok_or("partition_size reads one partition")?)?;
        let rows = pl::Series::new(ROWS.into(), [df.height() as u64]);
        let bytes = pl::Series::new(BYTES.into(), [df.estimated_size() as u64]);
        Ok(Arc::new(pl::DataFrame::new(
            1,
            vec![rows.into_column(), bytes.into_column()],
        )?))
    }

    fn spec(&self) -> Option<OpSpec> {
        codec::spec_of("frame-size", self)
    }
}

/// A piece of an output partition: a whole input partition, or one run of rows of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Whole(u32),
    Run { input: u32, run: u32 },
}

/// Which units every output partition concatenates, and how many runs each input is cut into
/// (0 for an input that stays whole).
#[derive(Debug)]
struct SizePlan {
    runs: Vec<u32>,
    outputs: Vec<Vec<Unit>>,
}

impl SizePlan {
    fn new(rows: &[u64], sizes: &[u64], bytes: u64) -> SizePlan {
        let mut runs = vec![0_u32; rows.len()];
        let mut units: Vec<(Unit, u64)> = Vec::new();
        for (i, (&height, &size)) in rows.iter().zip(sizes).enumerate() {
            if size <= bytes || height <= 1 {
                units.push((Unit::Whole(i as u32), size));
                continue;
            }
            // The fewest runs of equal row counts that each fit, as `Splitter::Rows` cuts them.
            let mut k = size.div_ceil(bytes).min(height);
            while k < height && share(size, height.div_ceil(k), height) > bytes {
                k += 1;
            }
            runs[i] = k as u32;
            for run in 0..k {
                let len = height / k + u64::from(run < height % k);
                units.push((
                    Unit::Run {
                        input: i as u32,
                        run: run as u32,
                    },
                    share(size, len, height),
                ));
            }
        }
        let mut outputs: Vec<Vec<Unit>> = Vec::new();
        let mut current: Vec<Unit> = Vec::new();
        let mut filled = 0_u64;
        for (unit, size) in units {
            if !current.is_empty() && filled + size > bytes {
                outputs.push(std::mem::take(&mut current));
                filled = 0;
            }
            current.push(unit);
            filled += size;
        }
        outputs.push(current);
        SizePlan { runs, outputs }
    }
}

/// The bytes of `len` of a partition's `height` rows, if its `size` bytes are spread evenly.
fn share(size: u64, len: u64, height: u64) -> u64 {
    (u128::from(size) * u128::from(len) / u128::from(height.max(1))) as u64
}

impl Layer for SizePlan {
    fn op_name(&self) -> &str {
        "repartition_by_size"
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        let input = &node.inputs()[0];
        let split_name: Arc<str> = format!("{}-split", node.name()).into();
        for (i, &k) in self.runs.iter().enumerate() {
            if k > 0 {
                let op = SplitOp {
                    how: Splitter::Rows,
                    n: k,
                };
                out.add(
                    Key::new(split_name.clone(), [i as u32]),
                    Arc::new(op),
                    &[input.key([i as u32])],
                )?;
            }
        }
        for (j, units) in self.outputs.iter().enumerate() {
            let mut args = Vec::with_capacity(units.len());
            let mut runs = Vec::with_capacity(units.len());
            for unit in units {
                match *unit {
                    Unit::Whole(i) => {
                        args.push(input.key([i]));
                        runs.push(None);
                    }
                    Unit::Run { input: i, run } => {
                        args.push(Key::new(split_name.clone(), [i]));
                        runs.push(Some(run));
                    }
                }
            }
            out.add(node.key([j as u32]), Arc::new(ConcatRuns { runs }), &args)?;
        }
        Ok(())
    }
}

/// Concatenates its inputs in order: each a whole partition (`None`), or run `Some(r)` of a
/// partition cut by a split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ConcatRuns {
    runs: Vec<Option<u32>>,
}

impl Op for ConcatRuns {
    fn name(&self) -> &str {
        "concat"
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        if inputs.len() != self.runs.len() {
            return Err(format!("concat expects {} inputs, got {}", self.runs.len(), inputs.len()).into());
        }
        let parts = inputs
            .into_iter()
            .zip(&self.runs)
            .map(|(value, run)| match run {
                Some(r) => piece(&value, *r),
                None => frame_of(value),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let schema = parts.first().map(|p| p.schema().clone()).ok_or("concat of nothing")?;
        Ok(Arc::new(concat_frames(parts, &schema)?))
    }

    fn spec(&self) -> Option<OpSpec> {
        codec::spec_of("frame-concat-runs", self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The (rows, bytes) of every output partition.
    fn sizes_of(plan: &SizePlan, rows: &[u64], sizes: &[u64]) -> Vec<(u64, u64)> {
        plan.outputs
            .iter()
            .map(|units| {
                units
                    .iter()
                    .map(|u| match *u {
                        Unit::Whole(i) => (rows[i as usize], sizes[i as usize]),
                        Unit::Run { input, run } => {
                            let (h, k) = (rows[input as usize], u64::from(plan.runs[input as usize]));
                            let len = h / k + u64::from(u64::from(run) < h % k);
                            (len, sizes[input as usize] * len / h)
                        }
                    })
                    .fold((0, 0), |(r, b), (r2, b2)| (r + r2, b + b2))
            })
            .collect()
    }

    #[test]
    fn plans_keep_order_fit_and_cannot_merge_further() {
        let rows = [10, 0, 3, 1000, 7, 1, 0, 250];
        let sizes = [80, 0, 24, 8000, 56, 900, 0, 2000];
        for bytes in [1, 50, 100, 333, 1000, 5000, 100_000] {
            let plan = SizePlan::new(&rows, &sizes, bytes);
            // Every input appears once, whole or as all its runs, in order.
            let mut seen = Vec::new();
            for unit in plan.outputs.iter().flatten() {
                match *unit {
                    Unit::Whole(i) => seen.push((i, 0)),
                    Unit::Run { input, run } => seen.push((input, run)),
                }
            }
            let mut want = Vec::new();
            for (i, &k) in plan.runs.iter().enumerate() {
                for r in 0..k.max(1) {
                    want.push((i as u32, r));
                }
            }
            assert_eq!(seen, want, "bytes {bytes}");
            let out = sizes_of(&plan, &rows, &sizes);
            for (j, &(rows, size)) in out.iter().enumerate() {
                // Only a single row may exceed the target.
                assert!(size <= bytes || rows == 1, "bytes {bytes}: output {j} has {size}");
            }
            for pair in out.windows(2) {
                assert!(pair[0].1 + pair[1].1 > bytes, "bytes {bytes}: {out:?} could merge");
            }
            // Splits only where needed: a partition that fits stays whole.
            for (i, &k) in plan.runs.iter().enumerate() {
                assert_eq!(k > 0, sizes[i] > bytes && rows[i] > 1, "bytes {bytes}: input {i}");
            }
        }
    }
}
