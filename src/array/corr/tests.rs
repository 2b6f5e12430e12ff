//! Tests of the correlation kernel against a straightforward two-pass `f64` reference.

// One range in a slice of ranges is the API's normal use, not a mistyped `Vec` of numbers.
#![allow(clippy::single_range_in_vec_init)]

use std::ops::Range;

use ndarray::{Array2, ArrayView2, s};
use proptest::prelude::*;

use super::simd::{self, Block, Level, Sums};
use super::{CorrElem, Plan, corrcoef_targets, correlate_ranges, correlate_with};
use crate::Error;

/// SplitMix64: small, seeded, good enough for test data.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [-0.5, 0.5).
    fn centered(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    }
}

/// Random-walk prices near `level`: a common factor with a per-column loading, plus
/// per-column noise of size `noise`, so correlations spread over (-1, 1).
fn prices(nrows: usize, ncols: usize, level: f64, noise: f64, seed: u64) -> Array2<f64> {
    let mut rng = Rng(seed);
    let beta: Vec<f64> = (0..ncols).map(|_| 2.0 * rng.centered()).collect();
    let mut out = Array2::zeros((nrows, ncols));
    let mut last: Vec<f64> = (0..ncols).map(|_| level * (1.0 + 0.2 * rng.centered())).collect();
    for i in 0..nrows {
        let factor = rng.centered();
        for j in 0..ncols {
            last[j] += noise * (beta[j] * factor + rng.centered());
            out[[i, j]] = last[j];
        }
    }
    out
}

/// Two-pass correlation in `f64`, NaN for fewer than 2 rows or an exactly constant side.
fn reference<A: CorrElem>(data: ArrayView2<'_, A>, target: usize, range: Range<usize>) -> Vec<f64> {
    let column = |j: usize| -> Vec<f64> { range.clone().map(|r| data[[r, j]].to_f64()).collect() };
    let constant = |v: &[f64]| v.iter().all(|&x| x == v[0]);
    let y = column(target);
    (0..data.ncols())
        .map(|j| {
            let x = column(j);
            if x.len() < 2 || constant(&x) || constant(&y) {
                return f64::NAN;
            }
            let n = x.len() as f64;
            let mx = x.iter().sum::<f64>() / n;
            let my = y.iter().sum::<f64>() / n;
            let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
            for (a, b) in x.iter().zip(&y) {
                sxy += (a - mx) * (b - my);
                sxx += (a - mx) * (a - mx);
                syy += (b - my) * (b - my);
            }
            sxy / (sxx.sqrt() * syy.sqrt())
        })
        .collect()
}

/// Asserts `got` (rows = ranges) matches the reference within `tol` relative (absolute near 0).
fn check_ranges<A: CorrElem>(
    got: &Array2<f64>,
    data: ArrayView2<'_, A>,
    target: usize,
    ranges: &[Range<usize>],
    tol: f64,
) {
    assert_eq!(got.dim(), (ranges.len(), data.ncols()));
    for (k, range) in ranges.iter().enumerate() {
        let want = reference(data, target, range.clone());
        for (j, (&g, &w)) in got.row(k).iter().zip(&want).enumerate() {
            if w.is_nan() {
                assert!(g.is_nan(), "range {range:?} column {j}: got {g}, want NaN");
            } else {
                assert!(
                    (g - w).abs() <= tol * w.abs().max(1.0),
                    "range {range:?} column {j}: got {g}, want {w}"
                );
            }
        }
    }
}

fn to_f32(a: &Array2<f64>) -> Array2<f32> {
    a.mapv(|x| x as f32)
}

/// The ranges of the issue, scaled to `n` rows, plus empty, length-1 and duplicate ranges.
fn awkward_ranges(n: usize) -> Vec<Range<usize>> {
    vec![
        n / 20..n * 9 / 20,
        n / 4..n * 13 / 20,
        n * 3 / 5..n * 9 / 10,
        0..n,
        7..7,
        3..4,
        n / 4..n * 13 / 20,
        n - 1..n,
    ]
}

#[test]
fn f64_matches_reference_on_random_walks() {
    let mut data = prices(400, 37, 100.0, 1.0, 1);
    data.column_mut(5).fill(100.0); // constant everywhere
    data.slice_mut(s![20..200, 6]).fill(42.5); // constant over a stretch
    let ranges = awkward_ranges(400);
    let extra = [20..200, 20..21, 50..150, 199..201];
    let ranges: Vec<_> = ranges.into_iter().chain(extra).collect();
    for level in Level::available() {
        for target in [0, 17, 36] {
            let got = correlate_with(level, data.view(), &[target], &ranges).unwrap();
            check_ranges(&got, data.view(), target, &ranges, 1e-9);
        }
    }
}

#[test]
fn f32_matches_reference_on_random_walks() {
    let mut data = to_f32(&prices(300, 45, 100.0, 1.0, 2));
    data.column_mut(9).fill(99.25);
    let ranges = awkward_ranges(300);
    for level in Level::available() {
        let got = correlate_with(level, data.view(), &[3], &ranges).unwrap();
        check_ranges(&got, data.view(), 3, &ranges, 1e-5);
    }
}

#[test]
fn tiny_variance_on_a_large_level_keeps_its_digits() {
    // Prices near 10,000 that move by about 1e-4: naive sums of squares would lose everything.
    let data = prices(500, 20, 1e4, 1e-4, 3);
    let ranges = [0..500, 10..300, 250..499];
    for level in Level::available() {
        let got = correlate_with(level, data.view(), &[4], &ranges).unwrap();
        check_ranges(&got, data.view(), 4, &ranges, 1e-9);
    }
}

#[test]
fn documented_edge_cases() {
    let data = prices(50, 10, 100.0, 1.0, 4);
    let r = correlate_ranges(data.view(), 2, &[0..0, 5..6, 0..50]).unwrap();
    assert!(r.row(0).iter().all(|x| x.is_nan()), "length 0: NaN");
    assert!(r.row(1).iter().all(|x| x.is_nan()), "length 1: NaN");
    assert!((r[[2, 2]] - 1.0).abs() < 1e-12, "the target with itself: {}", r[[2, 2]]);
    assert!(r.iter().all(|x| x.is_nan() || (-1.0..=1.0).contains(x)));

    let mut flat = data.clone();
    flat.column_mut(2).fill(3.0);
    let r = correlate_ranges(flat.view(), 2, &[0..50, 10..20]).unwrap();
    assert!(r.iter().all(|x| x.is_nan()), "a constant target: every entry NaN");

    // Perfect (anti-)correlation is exact enough to clamp at ±1.
    let line = Array2::from_shape_fn((64, 3), |(i, j)| [i as f64, -2.0 * i as f64 + 7.0, 0.5 * i as f64][j]);
    let r = correlate_ranges(line.view(), 0, &[0..64]).unwrap();
    assert!((r[[0, 1]] + 1.0).abs() < 1e-15 && (r[[0, 2]] - 1.0).abs() < 1e-15);
}

#[test]
fn empty_inputs() {
    let data = prices(10, 4, 100.0, 1.0, 5);
    assert_eq!(correlate_ranges(data.view(), 0, &[]).unwrap().dim(), (0, 4));
    assert_eq!(corrcoef_targets(data.view(), &[], 0..10).unwrap().dim(), (0, 4));
    let no_rows = Array2::<f64>::zeros((0, 4));
    let r = correlate_ranges(no_rows.view(), 1, &[0..0]).unwrap();
    assert_eq!(r.dim(), (1, 4));
    assert!(r.iter().all(|x| x.is_nan()));
    let no_cols = Array2::<f32>::zeros((5, 0));
    assert!(matches!(
        correlate_ranges(no_cols.view(), 0, &[0..5]),
        Err(Error::Metadata(_))
    ));
}

#[test]
fn bad_arguments_are_metadata_errors() {
    let data = prices(10, 4, 100.0, 1.0, 6);
    let msg = |e: Error| match e {
        Error::Metadata(m) => m,
        other => panic!("expected Metadata, got {other:?}"),
    };
    let e = msg(correlate_ranges(data.view(), 4, &[0..10]).unwrap_err());
    assert!(e.contains("target column 4") && e.contains("4 columns"), "{e}");
    let e = msg(correlate_ranges(data.view(), 0, &[0..5, 3..11]).unwrap_err());
    assert!(e.contains("3..11") && e.contains("10 rows"), "{e}");
    #[allow(clippy::reversed_empty_ranges)]
    let e = msg(correlate_ranges(data.view(), 0, &[6..2]).unwrap_err());
    assert!(e.contains("6..2") && e.contains("starts after its end"), "{e}");
    let e = msg(corrcoef_targets(data.view(), &[0, 9], 0..10).unwrap_err());
    assert!(e.contains("target column 9"), "{e}");
}

#[test]
fn any_memory_layout_gives_the_same_result() {
    let data = prices(120, 40, 100.0, 1.0, 7);
    let ranges = [0..120, 10..60, 30..90];
    let want = correlate_ranges(data.view(), 3, &ranges).unwrap();
    let close = |got: &Array2<f64>, want: &Array2<f64>| {
        assert_eq!(got.dim(), want.dim());
        for (g, w) in got.iter().zip(want) {
            assert!((g.is_nan() && w.is_nan()) || (g - w).abs() <= 1e-12, "{g} vs {w}");
        }
    };
    // Column-major storage, seen through a transposed view: copied.
    let fortran = data.t().as_standard_layout().into_owned();
    let view = fortran.t();
    assert!(!view.is_standard_layout());
    close(&correlate_ranges(view, 3, &ranges).unwrap(), &want);
    // A column slice of a wider array: rows are contiguous but strided, read in place.
    let wide = ndarray::concatenate![ndarray::Axis(1), prices(120, 5, 50.0, 1.0, 8), data];
    close(&correlate_ranges(wide.slice(s![.., 5..]), 3, &ranges).unwrap(), &want);
    // Reversed rows (negative row stride, rows still contiguous): a range maps to other rows.
    let flipped = data.slice(s![..;-1, ..]);
    let got = correlate_ranges(flipped, 3, &[0..110]).unwrap();
    close(&got, &correlate_ranges(data.view(), 3, &[10..120]).unwrap());
    // Reversed columns (negative column stride): copied.
    let mirrored = data.slice(s![.., ..;-1]);
    let got = correlate_ranges(mirrored, 36, &ranges).unwrap();
    close(&got.slice(s![.., ..;-1]).to_owned(), &want);
    // Every other column (column stride 2): copied.
    let every_other = wide.slice(s![.., 5..;2]);
    let got = correlate_ranges(every_other, 2, &ranges).unwrap();
    check_ranges(&got, every_other, 2, &ranges, 1e-9);
}

#[test]
fn corrcoef_targets_matches_reference() {
    let mut data = prices(200, 70, 100.0, 1.0, 9);
    data.column_mut(11).fill(1.0);
    let targets = [0, 11, 69, 0, 33];
    for level in Level::available() {
        for range in [0..200, 17..18, 30..31, 40..40, 5..150] {
            let got = correlate_with(level, data.view(), &targets, std::slice::from_ref(&range)).unwrap();
            assert_eq!(got.dim(), (targets.len(), 70));
            for (i, &t) in targets.iter().enumerate() {
                let row = got.slice(s![i..i + 1, ..]).to_owned();
                check_ranges(&row, data.view(), t, std::slice::from_ref(&range), 1e-9);
            }
        }
    }
    let f32_data = to_f32(&data);
    let got = corrcoef_targets(f32_data.view(), &targets, 3..190).unwrap();
    for (i, &t) in targets.iter().enumerate() {
        check_ranges(
            &got.slice(s![i..i + 1, ..]).to_owned(),
            f32_data.view(),
            t,
            &[3..190],
            1e-5,
        );
    }
}

#[test]
fn few_columns_many_rows_split_rows_between_threads() {
    let data = prices(3000, 3, 100.0, 1.0, 10);
    let ranges = [0..3000, 100..2900, 1000..1001, 2500..3000];
    let plan = Plan::new(&ranges, 1, 8);
    assert!(plan.parts.len() > 1, "{:?}", plan.parts);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(8).build().unwrap();
    for level in Level::available() {
        let got = pool
            .install(|| correlate_with(level, data.view(), &[1], &ranges))
            .unwrap();
        check_ranges(&got, data.view(), 1, &ranges, 1e-9);
    }
}

#[test]
fn plan_reads_each_row_of_the_union_once() {
    let ranges = [100..900, 500..1300, 1200..1800, 1500..1500, 0..0];
    let plan = Plan::new(&ranges, 50, 2);
    let starts: Vec<(usize, usize)> = plan.pieces.iter().map(|p| (p.start, p.len)).collect();
    assert_eq!(starts, [(100, 400), (500, 400), (900, 300), (1200, 100), (1300, 500)]);
    assert_eq!(plan.range_pieces, [0..2, 1..4, 3..5, 0..0, 0..0]);
    assert_eq!(plan.parts, [0..5]);
    // Disjoint ranges with a gap: the gap is not a piece.
    let plan = Plan::new(&[0..10, 20..30], 50, 2);
    let starts: Vec<(usize, usize, usize)> = plan.pieces.iter().map(|p| (p.start, p.len, p.offset)).collect();
    assert_eq!(starts, [(0, 10, 0), (20, 10, 10)]);
}

#[test]
fn simd_and_portable_agree_closely() {
    let data = prices(333, 301, 100.0, 1.0, 11);
    let ranges = [0..333, 1..2, 2..5, 10..300, 299..333];
    let levels = Level::available();
    let base = correlate_with(Level::Portable, data.view(), &[7, 300], &ranges).unwrap();
    for level in levels {
        let got = correlate_with(level, data.view(), &[7, 300], &ranges).unwrap();
        for (g, b) in got.iter().zip(&base) {
            assert!(
                (g.is_nan() && b.is_nan()) || (g - b).abs() <= 1e-12,
                "{level:?}: {g} vs {b}"
            );
        }
    }
}

/// A random matrix shape, seed, target and ranges (some empty, some of length 1, overlapping).
fn case() -> impl Strategy<Value = (usize, usize, u64, usize, Vec<Range<usize>>, Vec<usize>)> {
    (0..200_usize, 1..300_usize, any::<u64>()).prop_flat_map(|(nrows, ncols, seed)| {
        let range = (0..=nrows, 0..=nrows, 0..4_u8).prop_map(move |(a, b, kind)| match kind {
            0 => a.min(b)..a.min(b),
            1 if a.min(b) < nrows => a.min(b)..a.min(b) + 1,
            _ => a.min(b)..a.max(b),
        });
        (
            Just(nrows),
            Just(ncols),
            Just(seed),
            0..ncols,
            proptest::collection::vec(range, 1..6),
            proptest::collection::vec(0..ncols, 0..4),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_shapes_match_reference((nrows, ncols, seed, target, ranges, flat) in case()) {
        let mut data = prices(nrows, ncols, 100.0, 1.0, seed);
        for &j in &flat {
            data.column_mut(j).fill(100.0 + j as f64);
        }
        let data32 = to_f32(&data);
        for level in Level::available() {
            let got = correlate_with(level, data.view(), &[target], &ranges).unwrap();
            check_ranges(&got, data.view(), target, &ranges, 1e-9);
            let got = correlate_with(level, data32.view(), &[target], &ranges).unwrap();
            check_ranges(&got, data32.view(), target, &ranges, 1e-5);
        }
    }
}

#[test]
fn every_level_the_cpu_has_is_tested_and_chosen_by_name() {
    let available = Level::available();
    assert_eq!(available[0], Level::Portable);
    #[cfg(target_arch = "x86_64")]
    {
        let has_avx2 = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
        assert_eq!(available.contains(&Level::Avx2Fma), has_avx2);
        let has_avx512 = is_x86_feature_detected!("avx512f") && has_avx2;
        assert_eq!(available.contains(&Level::Avx512), has_avx512);
    }
    // Without a request, or with an unknown one, the preferred level; a named one if supported.
    let best = *available.last().unwrap();
    assert_eq!(Some(&best), Level::PREFERRED.iter().find(|l| l.supported()));
    assert_eq!(Level::choose(None), best);
    assert_eq!(Level::choose(Some("sse9")), best);
    assert_eq!(Level::choose(Some("")), best);
    assert_eq!(Level::choose(Some("portable")), Level::Portable);
    for level in &available {
        assert_eq!(Level::choose(Some(level.name())), *level);
    }
    if available.contains(&Level::Avx2Fma) {
        assert_eq!(Level::choose(Some(" avx2 ")), Level::Avx2Fma);
    } else {
        assert_eq!(Level::choose(Some("avx2")), Level::Portable);
    }
    if !available.contains(&Level::Avx512) {
        assert_eq!(Level::choose(Some("avx512")), best);
    }
}

/// The kernel's sums computed directly: one row, one column, one target at a time.
fn plain_sums(rows: &[Vec<f64>], col0: usize, shift: &[f64], dy: &[f64], nt: usize) -> [Vec<f64>; 3] {
    let w = shift.len();
    let (mut sx, mut sxx, mut sxy) = (vec![0.0; w], vec![0.0; w], vec![0.0; nt * w]);
    for (r, row) in rows.iter().enumerate() {
        for j in 0..w {
            let d = row[col0 + j] - shift[j];
            sx[j] += d;
            sxx[j] += d * d;
            for t in 0..nt {
                sxy[t * w + j] += d * dy[r * nt + t];
            }
        }
    }
    [sx, sxx, sxy]
}

/// Runs every level's kernel on `nrows` rows of a block `w` wide at column 5 of rows `w + 8`
/// long, with `nt` targets, a NaN in column 1 (row 2) and a constant column 0, and compares the
/// sums with [`plain_sums`]. The sums sit in buffers 8 values longer, which must be left as they
/// were: a kernel writes nothing past the block.
fn kernel_case<A: CorrElem>(w: usize, nrows: usize, nt: usize, seed: u64, conv: fn(f64) -> A) {
    const SENTINEL: f64 = 12_345.5;
    let (col0, ncols) = (5, w + 8);
    let mut rng = Rng(seed);
    let mut values: Vec<Vec<f64>> = (0..nrows)
        .map(|_| (0..ncols).map(|_| 100.0 + 10.0 * rng.centered()).collect())
        .collect();
    for row in &mut values {
        row[col0] = 7.0;
    }
    if w > 1 && nrows > 2 {
        values[2][col0 + 1] = f64::NAN;
    }
    let rows: Vec<Vec<A>> = values.iter().map(|r| r.iter().map(|&v| conv(v)).collect()).collect();
    // The values the kernel sees, after rounding to `A`.
    let values: Vec<Vec<f64>> = rows.iter().map(|r| r.iter().map(|v| v.to_f64()).collect()).collect();
    let slices: Vec<&[A]> = rows.iter().map(Vec::as_slice).collect();
    let shift: Vec<f64> = values[0][col0..col0 + w].to_vec();
    let dy: Vec<f64> = (0..nrows * nt).map(|_| rng.centered()).collect();
    let want = plain_sums(&values, col0, &shift, &dy, nt);
    let block = Block {
        rows: &slices,
        col0,
        shift: &shift,
        dy: &dy,
        nt,
    };
    for level in Level::available() {
        // Sums start at 0.25: the kernel adds to them.
        let buffer = |n: usize| [vec![0.25; n], vec![SENTINEL; 8]].concat();
        let (mut sx, mut sxx, mut sxy) = (buffer(w), buffer(w), buffer(nt * w));
        simd::accumulate(
            level,
            &block,
            Sums {
                sx: &mut sx[..w],
                sxx: &mut sxx[..w],
                sxy: &mut sxy[..nt * w],
            },
        );
        let case = format!(
            "{level:?}, {} w {w}, {nrows} rows, {nt} targets",
            std::any::type_name::<A>()
        );
        for (name, got, want) in [("sx", &sx, &want[0]), ("sxx", &sxx, &want[1]), ("sxy", &sxy, &want[2])] {
            let (got, past) = got.split_at(want.len());
            assert!(
                past.iter().all(|&v| v == SENTINEL),
                "{case}: {name} written past the block"
            );
            for (i, (&g, &e)) in got.iter().zip(want).enumerate() {
                let e = e + 0.25;
                assert!(
                    (g.is_nan() && e.is_nan()) || (g - e).abs() <= 1e-12 * e.abs().max(1.0),
                    "{case}: {name}[{i}] = {g}, want {e}"
                );
            }
        }
        // The constant column sums exactly to zero (plus the starting value).
        assert_eq!((sx[0], sxx[0]), (0.25, 0.25), "{case}");
    }
}

#[test]
fn kernels_handle_every_column_tail_and_row_remainder() {
    let widths = [
        1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 23, 24, 25, 31, 33, 63, 64, 65, 71,
    ];
    let mut seed = 100;
    for w in widths {
        for nrows in [1, 3, 4, 5, 9, 14] {
            for nt in [1, 3] {
                seed += 1;
                kernel_case::<f64>(w, nrows, nt, seed, |v| v);
                kernel_case::<f32>(w, nrows, nt, seed, |v| v as f32);
            }
        }
    }
}

/// Data whose column `nan_col` has a NaN in row 7 and whose column `flat_col` is constant.
fn with_nan_and_flat(nrows: usize, ncols: usize, nan_col: usize, flat_col: usize, seed: u64) -> Array2<f64> {
    let mut data = prices(nrows, ncols, 100.0, 1.0, seed);
    data.column_mut(flat_col).fill(55.5);
    data[[7, nan_col]] = f64::NAN;
    data
}

/// Asserts `got`, the result for several `targets` (row `k * targets.len() + i`), is within
/// 1e-12 of the portable kernel's `base` and within `tol` of the reference.
fn check_targets<A: CorrElem>(
    got: &Array2<f64>,
    base: &Array2<f64>,
    data: ArrayView2<'_, A>,
    targets: &[usize],
    ranges: &[Range<usize>],
    tol: f64,
) {
    for (g, b) in got.iter().zip(base) {
        assert!(
            (g.is_nan() && b.is_nan()) || (g - b).abs() <= 1e-12,
            "{g} vs portable {b}"
        );
    }
    for (i, &t) in targets.iter().enumerate() {
        let rows: Vec<usize> = (0..ranges.len()).map(|k| k * targets.len() + i).collect();
        check_ranges(&got.select(ndarray::Axis(0), &rows), data, t, ranges, tol);
    }
}

#[test]
fn widths_that_are_not_multiples_of_8_match_reference_and_portable() {
    let ranges = [0..60, 0..7, 8..60, 3..40, 30..31, 10..10, 50..60];
    for ncols in [1, 2, 7, 9, 15, 17, 31, 33, 65, 71, 129, 263] {
        // With 3 columns or more: column 1 is the target, the middle one has a NaN in row 7 and
        // the last one is constant.
        let (nan_col, flat_col) = (ncols / 2, ncols - 1);
        let data = if ncols >= 3 {
            with_nan_and_flat(60, ncols, nan_col, flat_col, ncols as u64)
        } else {
            prices(60, ncols, 100.0, 1.0, ncols as u64)
        };
        let data32 = to_f32(&data);
        // One target, then several (the kernels' other loop).
        let target = ncols.min(2) - 1;
        let targets = [target, flat_col, 0];
        let base = correlate_with(Level::Portable, data.view(), &targets, &ranges).unwrap();
        let base32 = correlate_with(Level::Portable, data32.view(), &targets, &ranges).unwrap();
        for level in Level::available() {
            let got = correlate_with(level, data.view(), &[target], &ranges).unwrap();
            check_ranges(&got, data.view(), target, &ranges, 1e-9);
            let got = correlate_with(level, data32.view(), &[target], &ranges).unwrap();
            check_ranges(&got, data32.view(), target, &ranges, 1e-5);

            let got = correlate_with(level, data.view(), &targets, &ranges).unwrap();
            check_targets(&got, &base, data.view(), &targets, &ranges, 1e-9);
            let got = correlate_with(level, data32.view(), &targets, &ranges).unwrap();
            check_targets(&got, &base32, data32.view(), &targets, &ranges, 1e-5);

            if ncols >= 3 {
                // The NaN touches only its column, in the ranges that hold row 7.
                let r = correlate_with(level, data.view(), &[target], &[0..60, 8..60]).unwrap();
                assert!(r[[0, nan_col]].is_nan() && !r[[1, nan_col]].is_nan(), "{level:?}");
                assert!(r.row(0).iter().filter(|v| v.is_nan()).count() == 2, "{level:?}");
                assert!(r[[0, flat_col]].is_nan() && r[[1, flat_col]].is_nan(), "{level:?}");
            }
        }
    }
}

/// Side-by-side timing of every level in one process, on the inputs of `benches/correlation.rs`
/// (target 17, ranges 100..900, 500..1300, 1200..1800: a union of 1,700 rows). Rounds
/// interleave the levels and a plain parallel sum of the same bytes, so that other load on the
/// machine hits them alike; each figure is the best of its rounds. Not a correctness test:
///
/// `cargo test --release --no-default-features --features array,mmap --lib corr::tests::timing -- --ignored --nocapture`
#[test]
#[ignore = "timing, run by hand"]
fn timing_of_every_level_side_by_side() {
    use std::hint::black_box;
    use std::time::Instant;

    use rayon::prelude::*;

    /// A parallel sum in the input's own type with 16 independent lanes, as in the bench: it
    /// vectorizes and is bound by memory.
    fn parallel_sum<A>(values: &[A]) -> A
    where
        A: CorrElem + Default + std::ops::Add<Output = A> + std::iter::Sum,
    {
        values
            .par_chunks(1 << 16)
            .map(|chunk| {
                let mut lanes = [A::default(); 16];
                let mut it = chunk.chunks_exact(16);
                for c in &mut it {
                    for (l, &v) in lanes.iter_mut().zip(c) {
                        *l = *l + v;
                    }
                }
                lanes.into_iter().sum::<A>() + it.remainder().iter().copied().sum::<A>()
            })
            .sum()
    }

    fn case<A>(data: ArrayView2<'_, A>)
    where
        A: CorrElem + Default + std::ops::Add<Output = A> + std::iter::Sum,
    {
        let ranges = [100..900, 500..1300, 1200..1800];
        let ncols = data.ncols();
        let union = &data.as_slice().unwrap()[100 * ncols..1800 * ncols];
        let bytes = std::mem::size_of_val(union) as f64;
        let levels = Level::available();
        let time = |f: &mut dyn FnMut()| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1e3
        };
        let mut best = vec![f64::INFINITY; levels.len()];
        let mut sum = f64::INFINITY;
        for round in 0..30 {
            // Each round starts with another level, so none always runs after the same one.
            for i in (0..levels.len()).map(|i| (i + round) % levels.len()) {
                let t = time(&mut || {
                    black_box(correlate_with(levels[i], data, &[17], &ranges).unwrap());
                });
                best[i] = best[i].min(t);
            }
            sum = sum.min(time(&mut || {
                black_box(parallel_sum(union));
            }));
        }
        let name = std::any::type_name::<A>();
        println!(
            "{name} {}x{ncols}, {} threads: parallel sum {sum:.2} ms = {:.1} GB/s",
            data.nrows(),
            rayon::current_num_threads(),
            bytes / sum / 1e6
        );
        for (level, b) in levels.iter().zip(&best) {
            println!(
                "  {:<9} {b:6.2} ms = {:5.1} GB/s, {:3.0}% of the sum's bandwidth",
                level.name(),
                bytes / b / 1e6,
                100.0 * sum / b
            );
        }
    }

    let data = prices(2000, 50_000, 100.0, 1.0, 12);
    case(to_f32(&data).view());
    drop(data);
    let data = prices(2000, 20_000, 100.0, 1.0, 13);
    case(data.view());
    // One thread: whether a level is held back by the bandwidth all threads share, or by its own.
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    pool.install(|| case(data.view()));
}
