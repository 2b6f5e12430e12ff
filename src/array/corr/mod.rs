//! Pearson correlation of target columns against every column of a 2-D array, over row ranges.
//!
//! # How it works
//! - **One pass over the union of the rows.** The distinct boundaries of the ranges split their
//!   union into disjoint segments (rows outside every range are never read). Segments are cut
//!   further into *pieces* only when there are too few column blocks to keep every thread busy.
//!   Every row of the union is read exactly once, however much the ranges overlap.
//! - **Sufficient statistics per piece and column**, shifted for accuracy: with `c` a column's
//!   value in the first row of the piece and `d = x - c`, the kernel sums `d`, `d²` and `d·dy`,
//!   where `dy` is the target's deviation from its piece mean. Shifting by a value of the column
//!   avoids the catastrophic cancellation of raw sums of squares (prices near 100 with a tiny
//!   variance), and makes a column that is constant over a piece sum to exactly zero.
//! - **Pieces combine into ranges** with the exact multi-way form of Chan et al.'s update:
//!   `M2 = Σ M2_p + Σ n_p (m_p - m)²` and likewise for the co-moment, with piece means taken
//!   relative to the range's first piece, so no large offsets cancel.
//! - **Column blocks in parallel.** Rows are contiguous in memory, so the kernel runs along a row
//!   across a block of columns (SIMD across columns, up to 4,096 columns: 16 KiB of `f32` per row)
//!   while the block's accumulators stay in L2; it takes four rows per step and prefetches the
//!   next four. Rayon runs the blocks in parallel.
//! - **SIMD with run-time dispatch** (see [`simd_level`]): AVX-512 intrinsics (8 `f64` lanes,
//!   masked loads and stores for a block's last columns) where the CPU has AVX-512F, else AVX2 +
//!   FMA intrinsics (4 lanes), else portable code. All arithmetic is `f64`; `f32` input is widened
//!   in registers.

mod simd;
#[cfg(test)]
mod tests;

use std::fmt;
use std::ops::Range;

use ndarray::{Array2, ArrayView2, Axis};
use rayon::prelude::*;

use self::simd::{Block, Lanes, Level, Sums};
use crate::{Error, Result};

/// Element types the correlation kernels accept: `f32` and `f64` (sealed). Both accumulate in
/// `f64`.
///
/// # Examples
/// ```
/// use drask::array::CorrElem;
///
/// fn takes<A: CorrElem>(_: &[A]) {}
/// takes(&[1.0_f32, 2.0]);
/// takes(&[1.0_f64, 2.0]);
/// ```
pub trait CorrElem: Lanes + fmt::Debug {}

impl CorrElem for f32 {}
impl CorrElem for f64 {}

/// The SIMD level the correlation kernels use on this CPU: `"avx512"`, `"avx2+fma"` or
/// `"portable"`.
///
/// Chosen at run time (`is_x86_feature_detected!`), so one binary runs everywhere: `"avx2+fma"`
/// if the CPU has AVX2 and FMA, else `"avx512"` if it has AVX-512F, else `"portable"` (AVX-512
/// measured no faster than AVX2: on par for `f32`, slower for `f64`). The environment
/// variable `DRASK_SIMD` can name another level (`avx512`, `avx2` or `avx2+fma`, `portable`), to
/// compare them or to avoid one; a level this CPU lacks, or an unknown name, is ignored. The
/// choice is made once per process, at the first correlation. For reports and benchmarks.
///
/// # Examples
/// ```
/// let level = drask::array::simd_level();
/// assert!(["avx512", "avx2+fma", "portable"].contains(&level));
/// ```
pub fn simd_level() -> &'static str {
    Level::detect().name()
}

/// Pearson correlation of column `target` with every column of `data`, over each row range.
///
/// `data` holds observations in rows and series in columns. Returns an array of shape
/// `(ranges.len(), ncols)`: entry `[k, j]` is the correlation of column `target` with column
/// `j` over rows `ranges[k]` (half-open). Ranges may overlap and may be given in any order; the
/// rows of their union are read once.
///
/// Conventions:
/// - A range of length 0 gives a row of NaN (no observations).
/// - A range of length 1 gives a row of NaN (a single observation has zero variance).
/// - A column with zero variance over a range gives NaN for that entry; if the target has zero
///   variance, the whole row is NaN. "Zero" means exactly constant: the kernel's shifted sums
///   are exactly zero for a constant column, so no tolerance is involved.
/// - The target correlates with itself as 1.0 (up to rounding); every result is clamped to
///   `[-1, 1]`. A NaN in the data makes the entries it touches NaN.
///
/// Accumulation is in `f64` for both `f32` and `f64` input. Rows must be contiguous in memory
/// (column stride 1) for a zero-copy pass, as for a standard-layout array or a column slice of
/// one; any other view (a transposed one, say) is first copied row by row, for the rows of the
/// union only.
///
/// # Errors
/// [`Error::Metadata`] if `target` is not a column of `data`, or a range ends past the last row
/// or starts after its end.
///
/// # Examples
/// ```
/// use drask::array::correlate_ranges;
/// use drask::array::ndarray::array;
///
/// // Rows are dates, columns are series; column 0 is the target.
/// let prices = array![[1.0_f64, 2.0, 5.0], [2.0, 4.0, 5.0], [3.0, 6.0, 5.0], [4.0, 7.0, 5.0]];
/// let r = correlate_ranges(prices.view(), 0, &[0..3, 1..4, 2..2])?;
/// assert_eq!(r.dim(), (3, 3));
/// assert!((r[[0, 0]] - 1.0).abs() < 1e-12); // the target with itself
/// assert!((r[[0, 1]] - 1.0).abs() < 1e-12); // rows 0..3: column 1 is exactly 2 x target
/// assert!(r[[0, 2]].is_nan()); // a constant column
/// assert!(r[[2, 0]].is_nan()); // an empty range
/// # Ok::<(), drask::Error>(())
/// ```
pub fn correlate_ranges<A: CorrElem>(
    data: ArrayView2<'_, A>,
    target: usize,
    ranges: &[Range<usize>],
) -> Result<Array2<f64>> {
    correlate_with(Level::detect(), data, &[target], ranges)
}

/// Correlation matrix of the `targets` columns against every column of `data`, over the rows
/// `range`: like NumPy's `corrcoef(data[range].T)[targets]`, without computing the other rows.
///
/// Returns an array of shape `(targets.len(), ncols)`: entry `[i, j]` is the Pearson
/// correlation of column `targets[i]` with column `j`. Built on the same one-pass kernel as
/// [`correlate_ranges`], which reads the rows once for all targets together, and follows the
/// same conventions for empty, length-1 and constant input (NaN) and for memory layout.
///
/// # Errors
/// [`Error::Metadata`] if a target is not a column of `data`, or `range` ends past the last row
/// or starts after its end.
///
/// # Examples
/// ```
/// use drask::array::corrcoef_targets;
/// use drask::array::ndarray::array;
///
/// let x = array![[1.0_f32, 3.0, 0.0], [2.0, 2.0, 1.0], [3.0, 1.0, 0.0], [4.0, 0.0, 1.0]];
/// let r = corrcoef_targets(x.view(), &[0, 1], 0..4)?;
/// assert_eq!(r.dim(), (2, 3));
/// assert!((r[[0, 1]] + 1.0).abs() < 1e-12); // column 1 falls as column 0 rises
/// assert!((r[[1, 1]] - 1.0).abs() < 1e-12);
/// # Ok::<(), drask::Error>(())
/// ```
pub fn corrcoef_targets<A: CorrElem>(
    data: ArrayView2<'_, A>,
    targets: &[usize],
    range: Range<usize>,
) -> Result<Array2<f64>> {
    correlate_with(Level::detect(), data, targets, std::slice::from_ref(&range))
}

/// Widest block of columns one task handles: each row of the block is one contiguous run of
/// `MAX_BLOCK * size_of::<A>()` bytes (16 KiB for `f32`), long enough for prefetching to pay.
const MAX_BLOCK: usize = 4096;
/// Bytes of accumulators per block (`(3 + targets) * 8` per column) that should stay in L2
/// while rows stream through; more targets make blocks narrower.
const ACC_BUDGET: usize = 128 << 10;
/// Narrowest block, unless the array itself is narrower.
const MIN_BLOCK: usize = 64;
/// Block widths are multiples of this (one AVX-512 or two AVX2 vectors of `f64`), so only the
/// array's last block has a column tail for the SIMD kernels to handle.
const LANES: usize = 8;
/// Fewest rows in a piece made only to split work between threads.
const MIN_PIECE_ROWS: usize = 256;

/// The result of [`correlate_ranges`] or [`corrcoef_targets`] with an explicit SIMD level:
/// shape `(ranges.len() * targets.len(), ncols)`, row `k * targets.len() + t`.
pub(crate) fn correlate_with<A: CorrElem>(
    level: Level,
    data: ArrayView2<'_, A>,
    targets: &[usize],
    ranges: &[Range<usize>],
) -> Result<Array2<f64>> {
    let (nrows, ncols) = data.dim();
    for &t in targets {
        if t >= ncols {
            return Err(Error::Metadata(format!(
                "correlation target column {t} is out of bounds for an array with {ncols} columns"
            )));
        }
    }
    for r in ranges {
        if r.start > r.end {
            return Err(Error::Metadata(format!(
                "correlation row range {}..{} starts after its end",
                r.start, r.end
            )));
        }
        if r.end > nrows {
            return Err(Error::Metadata(format!(
                "correlation row range {}..{} is out of bounds for an array with {nrows} rows",
                r.start, r.end
            )));
        }
    }
    let nt = targets.len();
    let threads = rayon::current_num_threads().max(1);
    let blocks = column_blocks(ncols, nt, threads);
    let plan = Plan::new(ranges, blocks.len(), threads);
    if nt == 0 || ncols == 0 || plan.pieces.is_empty() {
        return Ok(Array2::from_elem((ranges.len() * nt, ncols), f64::NAN));
    }

    // The rows of the union, in piece order, as slices: zero-copy when rows are contiguous.
    let copy: Array2<A>;
    let rows: Vec<&[A]> = match union_rows(data, &plan.pieces) {
        Some(rows) => rows,
        None => {
            copy = copy_rows(data, &plan.pieces);
            copy.outer_iter()
                .map(|row| row.to_slice().expect("a fresh array has standard layout"))
                .collect()
        }
    };
    let ys = TargetStats::new(|t, row| data[[row, targets[t]]].to_f64(), nt, &plan);
    Ok(correlate_union(level, &rows, ncols, &ys, &plan, &blocks))
}

/// [`correlate_ranges`] over rows handed as slices, each `ncols` long, with the target
/// column's values beside them (`target[r]` belongs to `rows[r]`): what a chunked array's
/// correlation task reads straight out of its blocks, with no copy into one array. The result
/// has shape `(ranges.len(), ncols)`.
///
/// # Errors
/// [`Error::Metadata`] if a row is not `ncols` long, `target` is not as long as `rows`, or a
/// range is not within the rows.
pub(crate) fn correlate_row_slices<A: CorrElem>(
    rows: &[&[A]],
    ncols: usize,
    target: &[A],
    ranges: &[Range<usize>],
) -> Result<Array2<f64>> {
    let nrows = rows.len();
    if target.len() != nrows || rows.iter().any(|r| r.len() != ncols) {
        return Err(Error::Metadata(format!(
            "correlation rows must be {ncols} long with one target value each ({} targets for {nrows} rows)",
            target.len()
        )));
    }
    if let Some(r) = ranges.iter().find(|r| r.start > r.end || r.end > nrows) {
        return Err(Error::Metadata(format!(
            "correlation row range {}..{} is not within the {nrows} rows",
            r.start, r.end
        )));
    }
    let threads = rayon::current_num_threads().max(1);
    let blocks = column_blocks(ncols, 1, threads);
    let plan = Plan::new(ranges, blocks.len(), threads);
    if ncols == 0 || plan.pieces.is_empty() {
        return Ok(Array2::from_elem((ranges.len(), ncols), f64::NAN));
    }
    let union: Vec<&[A]> = plan
        .pieces
        .iter()
        .flat_map(|p| rows[p.start..p.start + p.len].iter().copied())
        .collect();
    let ys = TargetStats::new(|_, row| target[row].to_f64(), 1, &plan);
    Ok(correlate_union(Level::detect(), &union, ncols, &ys, &plan, &blocks))
}

/// The kernel proper: `rows` are the rows of the plan's pieces, in order; column blocks (and,
/// with few of them, parts of the pieces) run in parallel.
fn correlate_union<A: CorrElem>(
    level: Level,
    rows: &[&[A]],
    ncols: usize,
    ys: &TargetStats,
    plan: &Plan,
    blocks: &[Range<usize>],
) -> Array2<f64> {
    let (nt, nk) = (ys.nt, plan.range_pieces.len());
    let mut out = Array2::from_elem((nk * nt, ncols), f64::NAN);

    let run = |b: usize, part: &Range<usize>| -> Vec<f64> {
        let cols = blocks[b].clone();
        let w = cols.len();
        let stride = (3 + nt) * w;
        let mut stats = vec![0.0; part.len() * stride];
        for (p, st) in plan.pieces[part.clone()].iter().zip(stats.chunks_exact_mut(stride)) {
            let (shift, st) = st.split_at_mut(w);
            let (sx, st) = st.split_at_mut(w);
            let (sxx, sxy) = st.split_at_mut(w);
            let rows = &rows[p.offset..p.offset + p.len];
            for (c, x) in shift.iter_mut().zip(&rows[0][cols.clone()]) {
                *c = x.to_f64();
            }
            let dy = &ys.dy[p.offset * nt..(p.offset + p.len) * nt];
            let block = Block {
                rows,
                col0: cols.start,
                shift,
                dy,
                nt,
            };
            simd::accumulate(level, &block, Sums { sx, sxx, sxy });
        }
        stats
    };

    let tasks: Vec<(usize, usize)> = (0..blocks.len())
        .flat_map(|b| (0..plan.parts.len()).map(move |part| (b, part)))
        .collect();
    let results: Vec<Vec<f64>> = if plan.parts.len() == 1 {
        // One task per block computes its statistics and combines them right away, so the
        // statistics of only a few blocks are alive at once.
        tasks
            .into_par_iter()
            .map(|(b, part)| combine(plan, ys, blocks[b].len(), &run(b, &plan.parts[part])))
            .collect()
    } else {
        let partial: Vec<Vec<f64>> = tasks
            .into_par_iter()
            .map(|(b, part)| run(b, &plan.parts[part]))
            .collect();
        partial
            .par_chunks(plan.parts.len())
            .enumerate()
            .map(|(b, parts)| combine(plan, ys, blocks[b].len(), &parts.concat()))
            .collect()
    };

    let flat = out.as_slice_mut().expect("a fresh array has standard layout");
    for (cols, res) in blocks.iter().zip(&results) {
        let w = cols.len();
        for (dst, src) in flat.chunks_exact_mut(ncols).zip(res.chunks_exact(w)) {
            dst[cols.clone()].copy_from_slice(src);
        }
    }
    out
}

/// Splits `0..ncols` into blocks at most [`MAX_BLOCK`] wide (less with many targets, see
/// [`ACC_BUDGET`]), multiples of [`LANES`] except the last. While blocks are few, their number is
/// a multiple of `threads`, so that the threads get equal shares.
fn column_blocks(ncols: usize, nt: usize, threads: usize) -> Vec<Range<usize>> {
    if ncols == 0 {
        return Vec::new();
    }
    let max_w = (ACC_BUDGET / ((3 + nt) * size_of::<f64>())).clamp(MIN_BLOCK, MAX_BLOCK);
    let mut nblocks = ncols.div_ceil(max_w);
    if nblocks < 8 * threads {
        nblocks = nblocks.next_multiple_of(threads);
    }
    let nblocks = nblocks.min(ncols.div_ceil(MIN_BLOCK));
    let w = ncols.div_ceil(nblocks).next_multiple_of(LANES);
    (0..ncols).step_by(w).map(|c| c..(c + w).min(ncols)).collect()
}

/// A run of rows of one segment (a piece), and where its rows start in the union.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Piece {
    /// First row in `data`.
    start: usize,
    /// Number of rows, at least 1.
    len: usize,
    /// Index of the first row in the union (the rows of all pieces, in order).
    offset: usize,
}

/// How the union of the ranges splits into pieces, and which pieces make up each range.
#[derive(Debug)]
struct Plan {
    /// Disjoint, sorted, covering exactly the union of the ranges.
    pieces: Vec<Piece>,
    /// For each range, the pieces it covers (empty for an empty range).
    range_pieces: Vec<Range<usize>>,
    /// Groups of consecutive pieces, one task each per column block; one group unless there are
    /// too few column blocks to keep `threads` threads busy.
    parts: Vec<Range<usize>>,
}

impl Plan {
    fn new(ranges: &[Range<usize>], nblocks: usize, threads: usize) -> Plan {
        // Segments: between consecutive distinct boundaries, kept if some range covers them.
        let mut bounds: Vec<usize> = ranges
            .iter()
            .filter(|r| !r.is_empty())
            .flat_map(|r| [r.start, r.end])
            .collect();
        bounds.sort_unstable();
        bounds.dedup();
        let mut cover = vec![0_i64; bounds.len()];
        for r in ranges.iter().filter(|r| !r.is_empty()) {
            cover[bounds.binary_search(&r.start).expect("a boundary")] += 1;
            cover[bounds.binary_search(&r.end).expect("a boundary")] -= 1;
        }
        let mut segments = Vec::new();
        let mut depth = 0;
        for (i, pair) in bounds.windows(2).enumerate() {
            depth += cover[i];
            if depth > 0 {
                segments.push(pair[0]..pair[1]);
            }
        }
        let union: usize = segments.iter().map(|s| s.len()).sum();

        // Parts: cut the union into equal runs of rows when column blocks alone cannot balance
        // the threads (few columns, many rows).
        let nparts = if nblocks >= 2 * threads {
            1
        } else {
            (2 * threads)
                .div_ceil(nblocks.max(1))
                .min(union / MIN_PIECE_ROWS)
                .max(1)
        };
        let part_rows = union.div_ceil(nparts).max(1);
        let mut pieces = Vec::new();
        let mut parts = Vec::new();
        let mut offset = 0;
        let mut part_start = 0;
        for seg in segments {
            let mut start = seg.start;
            while start < seg.end {
                // Cut at the next multiple of `part_rows` in union offsets.
                let next_cut = (offset / part_rows + 1) * part_rows;
                let len = (seg.end - start).min(next_cut - offset);
                pieces.push(Piece { start, len, offset });
                start += len;
                offset += len;
                if offset == next_cut {
                    parts.push(part_start..pieces.len());
                    part_start = pieces.len();
                }
            }
        }
        if part_start < pieces.len() {
            parts.push(part_start..pieces.len());
        }
        let range_pieces = ranges
            .iter()
            .map(|r| {
                if r.is_empty() {
                    return 0..0;
                }
                let a = pieces.partition_point(|p| p.start < r.start);
                let b = pieces.partition_point(|p| p.start < r.end);
                a..b
            })
            .collect();
        Plan {
            pieces,
            range_pieces,
            parts,
        }
    }
}

/// The rows of the pieces as slices of `data`, if rows are contiguous in memory.
fn union_rows<'a, A>(data: ArrayView2<'a, A>, pieces: &[Piece]) -> Option<Vec<&'a [A]>> {
    let mut rows = Vec::with_capacity(pieces.iter().map(|p| p.len).sum());
    for p in pieces {
        for r in p.start..p.start + p.len {
            rows.push(data.index_axis_move(Axis(0), r).to_slice()?);
        }
    }
    Some(rows)
}

/// The rows of the pieces, copied in order into a standard-layout array.
fn copy_rows<A: Copy>(data: ArrayView2<'_, A>, pieces: &[Piece]) -> Array2<A> {
    let ncols = data.ncols();
    let nrows: usize = pieces.iter().map(|p| p.len).sum();
    let mut buf = Vec::with_capacity(nrows * ncols);
    for p in pieces {
        for r in p.start..p.start + p.len {
            buf.extend(data.row(r).iter().copied());
        }
    }
    Array2::from_shape_vec((nrows, ncols), buf).expect("rows times columns values")
}

/// The targets' side of the statistics, computed once.
#[derive(Debug)]
struct TargetStats {
    /// Deviations from the piece mean, per union row and target: `dy[row * nt + t]`.
    dy: Vec<f64>,
    /// Number of targets.
    nt: usize,
    /// Per piece and target, `[p * nt + t]`: the shift (value at the piece's first row).
    shift: Vec<f64>,
    /// Per piece and target: the mean of `y - shift`.
    mean: Vec<f64>,
    /// Per piece and target: `Σ dy` (zero up to rounding).
    sum: Vec<f64>,
    /// Per piece and target: `Σ (y - mean)²`.
    m2: Vec<f64>,
}

impl TargetStats {
    /// From `value(t, row)`, the value of target `t` in `row` of the data.
    fn new(value: impl Fn(usize, usize) -> f64, nt: usize, plan: &Plan) -> TargetStats {
        let nrows: usize = plan.pieces.iter().map(|p| p.len).sum();
        let mut s = TargetStats {
            dy: vec![0.0; nrows * nt],
            nt,
            shift: vec![0.0; plan.pieces.len() * nt],
            mean: vec![0.0; plan.pieces.len() * nt],
            sum: vec![0.0; plan.pieces.len() * nt],
            m2: vec![0.0; plan.pieces.len() * nt],
        };
        for (pi, p) in plan.pieces.iter().enumerate() {
            for t in 0..nt {
                let y = |r: usize| value(t, p.start + r);
                let c = y(0);
                // Two passes over the shifted values: a constant piece gives exact zeros.
                let mean = (0..p.len).map(|r| y(r) - c).sum::<f64>() / p.len as f64;
                let (mut sum, mut sq) = (0.0, 0.0);
                for r in 0..p.len {
                    let d = (y(r) - c) - mean;
                    s.dy[(p.offset + r) * nt + t] = d;
                    sum += d;
                    sq += d * d;
                }
                let i = pi * nt + t;
                s.shift[i] = c;
                s.mean[i] = mean;
                s.sum[i] = sum;
                s.m2[i] = sq - sum * sum / p.len as f64;
            }
        }
        s
    }
}

/// Combines the piece statistics of one column block (`stats`: per piece, `shift`, `sx`, `sxx`,
/// then `sxy` per target, `w` values each) into correlations, laid out `[k][t][j]`.
fn combine(plan: &Plan, ys: &TargetStats, w: usize, stats: &[f64]) -> Vec<f64> {
    let nt = ys.nt;
    let stride = (3 + nt) * w;
    let mut out = vec![f64::NAN; plan.range_pieces.len() * nt * w];
    let mut mx = vec![0.0; w];
    let mut m2x = vec![0.0; w];
    let mut cxy = vec![0.0; nt * w];
    let mut ey = vec![0.0; nt];
    for (k, pr) in plan.range_pieces.iter().enumerate() {
        if pr.is_empty() {
            continue;
        }
        let pieces = &plan.pieces[pr.clone()];
        let piece_stats = |i: usize| {
            let st = &stats[i * stride..(i + 1) * stride];
            let (shift, st) = st.split_at(w);
            let (sx, st) = st.split_at(w);
            let (sxx, sxy) = st.split_at(w);
            (shift, sx, sxx, sxy)
        };
        let n: f64 = pieces.iter().map(|p| p.len as f64).sum();
        // Everything relative to the range's first piece, so no large offsets cancel.
        let (ref_x, ..) = piece_stats(pr.start);
        let ref_x = ref_x.to_vec();

        // Means: of the columns, then of each target.
        mx.fill(0.0);
        for (i, p) in pr.clone().zip(pieces) {
            let (shift, sx, ..) = piece_stats(i);
            let np = p.len as f64;
            for (((m, &c), &s), &r) in mx.iter_mut().zip(shift).zip(sx).zip(&ref_x) {
                *m += np * (c - r) + s;
            }
        }
        mx.iter_mut().for_each(|m| *m /= n);
        let mean_y = |i: usize, t: usize| (ys.shift[i * nt + t] - ys.shift[pr.start * nt + t]) + ys.mean[i * nt + t];
        let my: Vec<f64> = (0..nt)
            .map(|t| {
                pr.clone()
                    .zip(pieces)
                    .map(|(i, p)| p.len as f64 * mean_y(i, t))
                    .sum::<f64>()
                    / n
            })
            .collect();
        let m2y: Vec<f64> = (0..nt)
            .map(|t| {
                pr.clone()
                    .zip(pieces)
                    .map(|(i, p)| ys.m2[i * nt + t] + p.len as f64 * (mean_y(i, t) - my[t]).powi(2))
                    .sum()
            })
            .collect();

        // Second moments and co-moments: within pieces, plus between pieces.
        m2x.fill(0.0);
        cxy.fill(0.0);
        for (i, p) in pr.clone().zip(pieces) {
            let (shift, sx, sxx, sxy) = piece_stats(i);
            let np = p.len as f64;
            for (t, e) in ey.iter_mut().enumerate() {
                *e = mean_y(i, t) - my[t];
            }
            for j in 0..w {
                let mean_in = sx[j] / np;
                let ex = (shift[j] - ref_x[j]) + mean_in - mx[j];
                m2x[j] += (sxx[j] - sx[j] * mean_in) + np * ex * ex;
                for t in 0..nt {
                    cxy[t * w + j] += (sxy[t * w + j] - mean_in * ys.sum[i * nt + t]) + np * ex * ey[t];
                }
            }
        }

        for t in 0..nt {
            let o = &mut out[(k * nt + t) * w..(k * nt + t + 1) * w];
            let sy = m2y[t].sqrt();
            for ((o, &m2), &c) in o.iter_mut().zip(&m2x).zip(&cxy[t * w..(t + 1) * w]) {
                *o = if m2 > 0.0 && m2y[t] > 0.0 {
                    (c / (m2.sqrt() * sy)).clamp(-1.0, 1.0)
                } else {
                    f64::NAN
                };
            }
        }
    }
    out
}
