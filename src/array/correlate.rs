//! The correlation kernel as a built-in reduction of a chunked 2-D array: one task per column
//! block, each reading the row blocks of its strip that the ranges touch.

use std::ops::Range;
use std::sync::Arc;

use ndarray::{Array2, Axis, Ix2, IxDyn};

use serde::{Deserialize, Serialize};

use crate::array::block_view::{block_view, readable_node};
use crate::array::collection::block_key;
use crate::array::corr::correlate_row_slices;
use crate::array::remote::{Dtype, params};
use crate::array::{Array, Chunks, CorrElem, Element};
use crate::error::{BoxError, Error, Result};
use crate::graph::{Key, Layer, Lowering, Node, Op, OpSpec, Value, unique_token};
use crate::registry::OpFactory;

impl<A: Element + CorrElem> Array<A, Ix2> {
    /// The Pearson correlation of column `target` with every column, over each half-open row
    /// range: an array of shape `(ranges.len(), ncols)`, chunked like the columns. See
    /// [`correlate_ranges`](crate::array::correlate_ranges) for the numbers (NaN for zero
    /// variance, ranges of length 0 or 1).
    ///
    /// Each column block is one task, which reads only the row blocks the ranges touch, plus the
    /// target's column; column blocks run in parallel. The kernel reads the rows of the blocks in
    /// place (of a memory-mapped array too, whose blocks are not copied out of the map); only the
    /// target's values are gathered into one column.
    ///
    /// # Errors
    /// [`Error::Metadata`], while building, if `target` or a range is out of bounds.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::array::{Array, ndarray::Array2};
    /// let prices = Array2::from_shape_fn((60, 10), |(i, j)| 100.0 + ((i * (j + 1)) % 7) as f64);
    /// let x = Array::from_array(prices.clone(), &[25, 4])?;
    /// let lazy = x.correlate(3, &[0..30, 20..60])?;
    /// let direct = drask::array::correlate_ranges(prices.view(), 3, &[0..30, 20..60])?;
    /// let got = lazy.compute()?;
    /// assert!(got.iter().zip(direct.iter()).all(|(a, b)| (a - b).abs() < 1e-12 || (a.is_nan() && b.is_nan())));
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn correlate(&self, target: usize, ranges: &[Range<usize>]) -> Result<Array<f64, Ix2>> {
        let shape = self.shape();
        let (nrows, ncols) = (shape[0], shape[1]);
        if target >= ncols {
            return Err(Error::Metadata(format!(
                "correlation target {target} is out of bounds for {ncols} columns"
            )));
        }
        if let Some(r) = ranges.iter().find(|r| r.start > r.end || r.end > nrows) {
            return Err(Error::Metadata(format!(
                "correlation row range {}..{} is not within the {nrows} rows",
                r.start, r.end
            )));
        }
        let col_chunks = self.chunks.axes()[1].clone();
        let chunks = Chunks::explicit(&[ranges.len(), ncols], vec![vec![ranges.len()], col_chunks])?;
        let layer = Correlate::<A> {
            target,
            ranges: ranges.to_vec(),
            in_chunks: (*self.chunks).clone(),
            _t: std::marker::PhantomData,
        };
        let node = Node::new(
            unique_token("correlate").into(),
            vec![readable_node::<A>(&self.node)],
            Box::new(layer),
        );
        Ok(Array::from_node(node, Arc::new(chunks)))
    }
}

#[derive(Debug)]
struct Correlate<A> {
    target: usize,
    ranges: Vec<Range<usize>>,
    in_chunks: Chunks,
    _t: std::marker::PhantomData<fn() -> A>,
}

impl<A: Element + CorrElem> Layer for Correlate<A> {
    fn op_name(&self) -> &str {
        "correlate"
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        let input = &node.inputs()[0];
        let (rows, cols) = (&self.in_chunks.axes()[0], &self.in_chunks.axes()[1]);
        // Row blocks that hold at least one row of some range, with where each starts.
        let mut starts = Vec::with_capacity(rows.len());
        let mut at = 0;
        for &len in rows {
            starts.push(at);
            at += len;
        }
        let needed: Vec<usize> = (0..rows.len())
            .filter(|&i| {
                let block = starts[i]..starts[i] + rows[i];
                self.ranges
                    .iter()
                    .any(|r| r.start < block.end && block.start < r.end && r.start < r.end)
            })
            .collect();
        // The strip holds only the needed blocks, back to back; a range never spans a block
        // that is not needed (that block would hold some of its rows), so it maps to one run.
        let mut compact_start = vec![0; rows.len()];
        let mut strip_rows = 0;
        for &i in &needed {
            compact_start[i] = strip_rows;
            strip_rows += rows[i];
        }
        let compact = |row: usize| {
            let i = starts.partition_point(|&s| s <= row) - 1;
            compact_start[i] + (row - starts[i])
        };
        let ranges: Vec<Range<usize>> = self
            .ranges
            .iter()
            .map(|r| {
                if r.start < r.end {
                    compact(r.start)..compact(r.end - 1) + 1
                } else {
                    0..0
                }
            })
            .collect();
        let (target_block, target_col) = locate(cols, self.target);
        let mut col0 = 0;
        for (j, &width) in cols.iter().enumerate() {
            let mut args: Vec<Key> = needed.iter().map(|&i| block_key(input, &[i, j])).collect();
            args.extend(needed.iter().map(|&i| block_key(input, &[i, target_block])));
            let op = CorrelateStrip::<A> {
                blocks: needed.len(),
                target_col,
                ranges: ranges.clone(),
                rows: strip_rows,
                width,
                _t: std::marker::PhantomData,
            };
            out.add(block_key(node, &[0, j]), Arc::new(op), &args)?;
            col0 += width;
        }
        debug_assert_eq!(col0, cols.iter().sum::<usize>());
        Ok(())
    }
}

/// The block holding column `col`, and the column's position inside it.
fn locate(lengths: &[usize], col: usize) -> (usize, usize) {
    let mut start = 0;
    for (b, &len) in lengths.iter().enumerate() {
        if col < start + len {
            return (b, col - start);
        }
        start += len;
    }
    unreachable!("the target was checked against the shape")
}

#[derive(Debug, Serialize, Deserialize)]
struct CorrelateStrip<A> {
    /// Row blocks of the strip (the same number of target blocks follow them in the inputs).
    blocks: usize,
    target_col: usize,
    ranges: Vec<Range<usize>>,
    rows: usize,
    width: usize,
    #[serde(skip)]
    _t: std::marker::PhantomData<fn() -> A>,
}

impl<A: Element + CorrElem> Op for CorrelateStrip<A> {
    fn name(&self) -> &str {
        "correlate"
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        if inputs.len() != 2 * self.blocks {
            return Err(format!(
                "a correlation strip reads {} blocks, got {}",
                2 * self.blocks,
                inputs.len()
            )
            .into());
        }
        let blocks = inputs.iter().map(block_view::<A>).collect::<Result<Vec<_>, _>>()?;
        let (data, targets) = blocks.split_at(self.blocks);
        // A block whose rows are not contiguous in memory (not one this crate makes) is copied.
        let copies = data
            .iter()
            .map(|b| {
                let view = b.view().into_dimensionality::<Ix2>()?;
                let contiguous = view.ncols() <= 1 || view.strides()[1] == 1;
                Ok((!contiguous).then(|| view.as_standard_layout().into_owned()))
            })
            .collect::<Result<Vec<Option<Array2<A>>>, BoxError>>()?;
        let mut rows: Vec<&[A]> = Vec::with_capacity(self.rows);
        let mut target = Vec::with_capacity(self.rows);
        for ((b, copy), t) in data.iter().zip(&copies).zip(targets) {
            let view = match copy {
                Some(copy) => copy.view(),
                None => b.view().into_dimensionality::<Ix2>()?,
            };
            let t = t.view().into_dimensionality::<Ix2>()?;
            // A rebuilt op (from a spec) may meet blocks that do not fit it: an error, not a panic.
            if rows.len() + view.nrows() > self.rows
                || view.ncols() != self.width
                || t.nrows() != view.nrows()
                || self.target_col >= t.ncols()
            {
                return Err(format!(
                    "correlation blocks of shapes {:?} and {:?} do not fit a strip of {} rows by {} columns",
                    view.shape(),
                    t.shape(),
                    self.rows,
                    self.width
                )
                .into());
            }
            for r in 0..view.nrows() {
                let row = view.index_axis_move(Axis(0), r);
                rows.push(row.to_slice().ok_or("a correlation row is not contiguous")?);
            }
            target.extend(t.index_axis(Axis(1), self.target_col).iter().copied());
        }
        if rows.len() != self.rows {
            return Err(format!("a correlation strip of {} rows got {}", self.rows, rows.len()).into());
        }
        let result = correlate_row_slices(&rows, self.width, &target, &self.ranges)?;
        Ok(Arc::new(result.into_dimensionality::<IxDyn>()?))
    }

    fn spec(&self) -> Option<OpSpec> {
        let mut params = serde_json::to_value(self).ok()?;
        params["dtype"] = serde_json::to_value(Dtype::of::<A>()?).ok()?;
        Some(OpSpec::new("array.correlate", params))
    }
}

inventory::submit! {
    OpFactory {
        name: "array.correlate",
        build: |p| {
            let dtype: Dtype = params(&p["dtype"])?;
            match dtype {
                Dtype::F32 => Ok(Arc::new(params::<CorrelateStrip<f32>>(p)?) as Arc<dyn Op>),
                Dtype::F64 => Ok(Arc::new(params::<CorrelateStrip<f64>>(p)?) as Arc<dyn Op>),
                other => Err(format!("correlation needs float elements, not {other:?}").into()),
            }
        },
    }
}
