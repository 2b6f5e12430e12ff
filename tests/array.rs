//! The chunked Array against plain ndarray, on random shapes and chunkings (ragged last blocks,
//! single-element blocks, empty arrays), with both executors.

use drask::array::ndarray::{ArrayD, Axis, Dimension, IxDyn};
use drask::array::{Array, Chunks};
use drask::prelude::*;
use drask::sched::Synchronous;
use proptest::prelude::*;

/// A random shape of 1 to 3 axes (lengths 0..9) with a random block shape that fits it.
fn shape_and_block() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    prop::collection::vec(0_usize..9, 1..4).prop_flat_map(|shape| {
        let blocks: Vec<_> = shape.iter().map(|&n| 1..=n.max(1)).collect();
        (Just(shape), blocks)
    })
}

fn data(shape: &[usize], seed: i64) -> ArrayD<f64> {
    ArrayD::from_shape_fn(IxDyn(shape), |i| {
        let flat: i64 = i.as_array_view().iter().fold(seed, |acc, &x| acc * 31 + x as i64);
        ((flat % 17) - 8) as f64 * 0.5
    })
}

fn both_executors<C: Collection>(c: &C) -> (C::Output, C::Output) {
    let sync = ComputeOptions::new().executor(Synchronous).optimize(false);
    (c.compute().unwrap(), c.compute_with(&sync).unwrap())
}

fn close(a: &ArrayD<f64>, b: &ArrayD<f64>) -> bool {
    a.shape() == b.shape()
        && a.iter()
            .zip(b.iter())
            .all(|(x, y)| (x - y).abs() <= 1e-9 * (1.0 + y.abs()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn from_array_round_trips((shape, block) in shape_and_block()) {
        let x = data(&shape, 1);
        let lazy = Array::from_array(x.clone(), &block).unwrap();
        prop_assert_eq!(lazy.npartitions(), Chunks::uniform(&shape, &block).unwrap().nblocks());
        let (threaded, sync) = both_executors(&lazy);
        prop_assert_eq!(&threaded, &x);
        prop_assert_eq!(&sync, &x);
    }

    #[test]
    fn fused_arithmetic_matches_ndarray((shape, block) in shape_and_block()) {
        let (x, y) = (data(&shape, 1), data(&shape, 2));
        let lx = Array::from_array(x.clone(), &block).unwrap();
        let ly = Array::from_array(y.clone(), &block).unwrap();
        let lazy = (&(&(&lx + &ly) * 3.0) - &lx).abs() / 2.0;
        let expected = ((&x + &y) * 3.0 - &x).mapv(f64::abs) / 2.0;
        let (threaded, sync) = both_executors(&lazy);
        prop_assert!(close(&threaded, &expected));
        prop_assert!(close(&sync, &expected));
        // One elementwise node for the whole chain: per block, the two reads and one task for the
        // five operations (not one task per operation).
        let blocks = lazy.npartitions();
        prop_assert_eq!(lazy.graph(false).unwrap().len(), 3 * blocks);
        prop_assert_eq!(lazy.graph(true).unwrap().len(), 3 * blocks);
    }

    #[test]
    fn reductions_match_ndarray((shape, block) in shape_and_block(), axis_pick in 0_usize..3) {
        let x = data(&shape, 3);
        let lazy = Array::from_array(x.clone(), &block).unwrap();
        let (sum, sum_sync) = both_executors(&lazy.sum());
        prop_assert!((sum - x.sum()).abs() < 1e-9 && (sum_sync - x.sum()).abs() < 1e-9);
        let mean = lazy.mean().compute().unwrap();
        if x.is_empty() {
            prop_assert!(mean.is_nan());
        } else {
            prop_assert!((mean - x.mean().unwrap()).abs() < 1e-9);
        }
        let axis = axis_pick % shape.len();
        let (along, along_sync) = both_executors(&lazy.sum_axis(axis).unwrap());
        prop_assert!(close(&along, &x.sum_axis(Axis(axis))));
        prop_assert!(close(&along_sync, &x.sum_axis(Axis(axis))));
        if shape[axis] > 0 {
            let m = lazy.mean_axis(axis).unwrap().compute().unwrap();
            prop_assert!(close(&m, &x.mean_axis(Axis(axis)).unwrap()));
        }
    }
}

#[test]
fn broadcasting_follows_numpy() {
    let a = ArrayD::from_shape_fn(IxDyn(&[4, 1]), |i| i[0] as f64);
    let b = ArrayD::from_shape_fn(IxDyn(&[3]), |i| 10.0 * i[0] as f64);
    let la = Array::from_array(a.clone(), &[3, 1]).unwrap();
    let lb = Array::from_array(b.clone(), &[3]).unwrap();
    let sum = la.try_add(&lb).unwrap();
    assert_eq!(sum.shape(), vec![4, 3]);
    assert_eq!(sum.compute().unwrap(), &a + &b);
    let prod = la.try_mul(&lb).unwrap().sum().compute().unwrap();
    assert_eq!(prod, (&a * &b).sum());
}

#[test]
fn mismatched_shapes_and_chunks_fail_while_building() {
    let a = Array::from_array(ArrayD::<f64>::zeros(IxDyn(&[4, 3])), &[2, 3]).unwrap();
    let b = Array::from_array(ArrayD::<f64>::zeros(IxDyn(&[4, 2])), &[2, 2]).unwrap();
    let err = a.try_add(&b).unwrap_err();
    assert!(matches!(err, Error::Metadata(_)), "{err}");
    assert!(err.to_string().contains("do not broadcast"), "{err}");
    // Different chunks are unified (both rechunked to every boundary of either), as in Dask.
    let c = Array::from_array(ArrayD::<f64>::ones(IxDyn(&[4, 3])), &[3, 3]).unwrap();
    let sum = a.try_add(&c).unwrap();
    assert_eq!(sum.chunks().axes(), &[vec![2, 1, 1], vec![3]]);
    assert!(sum.explain().contains("rechunk"));
    assert_eq!(sum.sum().compute().unwrap(), 12.0);
    assert!(a.sum_axis(2).is_err());
    assert!(Array::from_array(ArrayD::<f64>::zeros(IxDyn(&[4])), &[0]).is_err());
}

#[test]
#[should_panic(expected = "do not broadcast")]
fn operators_panic_on_mismatched_shapes() {
    let a = Array::from_array(ArrayD::<f64>::zeros(IxDyn(&[4])), &[2]).unwrap();
    let b = Array::from_array(ArrayD::<f64>::zeros(IxDyn(&[3])), &[3]).unwrap();
    let _ = &a + &b;
}

#[test]
fn creation_functions_match_numpy() {
    use drask::array::ndarray::{Array1, Ix1, Ix2};
    let r = Array::<i64, Ix1>::arange(3.0, 20.0, 4.0, 2).unwrap();
    assert_eq!(r.compute().unwrap(), Array1::from(vec![3, 7, 11, 15, 19]));
    let l = Array::<f64, Ix1>::linspace(0.0, 1.0, 5, 2).unwrap().compute().unwrap();
    assert_eq!(l.to_vec(), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
    let z = Array::<f32, Ix2>::zeros(&[3, 0], &[2, 1]).unwrap();
    assert_eq!(z.compute().unwrap().shape(), &[3, 0]);
    let o = Array::<i32, Ix2>::ones(&[3, 4], &[2, 3]).unwrap();
    assert_eq!(o.sum().compute().unwrap(), 12);
    assert!(Array::<f64, Ix1>::arange(0.0, 1.0, 0.0, 2).is_err());
}

#[test]
fn explain_shows_one_fused_task_per_block() {
    let x = Array::from_array(ArrayD::<f64>::ones(IxDyn(&[4, 4])), &[2, 4]).unwrap();
    let y = ((&x + 1.0) * 2.0 - &x) / 4.0;
    let text = y.explain();
    assert!(text.contains("high-level graph: 2 operations"), "{text}");
    assert!(text.contains("= add+mul+sub+div("), "{text}");
    let optimized = text.split("optimized").nth(1).unwrap();
    assert!(optimized.contains(": 2 tasks"), "{text}");
    assert_eq!(optimized.matches("array+add+mul+sub+div()").count(), 2, "{text}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn transpose_matches_ndarray((shape, block) in shape_and_block()) {
        let x = data(&shape, 4);
        let lazy = Array::from_array(x.clone(), &block).unwrap();
        let (t, t_sync) = both_executors(&lazy.t());
        prop_assert_eq!(&t, &x.t().to_owned());
        prop_assert_eq!(&t_sync, &x.t().to_owned());
        if shape.len() == 2 && shape[0] == shape[1] && block[0] == block[1] {
            // (x + x.T) needs matching chunks, which a square grid of square blocks has.
            let sym = lazy.try_add(&lazy.t()).unwrap().compute().unwrap();
            prop_assert_eq!(sym, &x + &x.t());
        }
    }
}

fn same_or_both_nan(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| (x.is_nan() && y.is_nan()) || (x - y).abs() <= 1e-12)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn chunked_correlation_matches_the_kernel_on_the_whole(
        nrows in 0_usize..40,
        ncols in 1_usize..12,
        row_block in 1_usize..15,
        col_block in 1_usize..6,
        target_pick in 0_usize..100,
        bounds in prop::collection::vec((0_usize..45, 0_usize..45), 1..4),
    ) {
        use drask::array::ndarray::Array2;
        let prices = Array2::from_shape_fn((nrows, ncols), |(i, j)| 50.0 + ((i * 7 + j * 13) % 11) as f64 + (i as f64).sqrt() * j as f64);
        let target = target_pick % ncols;
        let ranges: Vec<_> = bounds.iter().map(|&(a, b)| a.min(b).min(nrows)..a.max(b).min(nrows)).collect();
        let x = Array::from_array(prices.clone(), &[row_block, col_block]).unwrap();
        let lazy = x.correlate(target, &ranges).unwrap();
        let expected = drask::array::correlate_ranges(prices.view(), target, &ranges).unwrap();
        let (threaded, sync) = both_executors(&lazy);
        prop_assert_eq!(threaded.shape(), expected.shape());
        prop_assert!(same_or_both_nan(threaded.as_slice().unwrap(), expected.as_slice().unwrap()));
        prop_assert!(same_or_both_nan(sync.as_slice().unwrap(), expected.as_slice().unwrap()));
    }
}

#[test]
#[allow(clippy::single_range_in_vec_init)] // one range is an ordinary request
fn correlation_arguments_are_checked_while_building() {
    use drask::array::ndarray::Array2;
    let x = Array::from_array(Array2::<f32>::zeros((10, 4)), &[5, 2]).unwrap();
    assert!(matches!(x.correlate(4, &[0..5]), Err(Error::Metadata(_))));
    assert!(matches!(x.correlate(0, &[0..11]), Err(Error::Metadata(_))));
    #[allow(clippy::reversed_empty_ranges)]
    let backwards = 5..2;
    assert!(matches!(x.correlate(0, &[backwards]), Err(Error::Metadata(_))));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn concatenate_and_stack_match_ndarray((shape, block) in shape_and_block(), rows in 0_usize..5, axis_pick in 0_usize..3) {
        use drask::array::ndarray::{concatenate, stack};
        let axis = axis_pick % shape.len();
        let x = data(&shape, 5);
        let mut other_shape = shape.clone();
        other_shape[axis] = rows;
        let y = data(&other_shape, 6);
        let lx = Array::from_array(x.clone(), &block).unwrap();
        let ly = Array::from_array(y.clone(), &block).unwrap();
        let joined = Array::concatenate(&[lx.clone(), ly, lx.clone()], axis).unwrap();
        let expected = concatenate(Axis(axis), &[x.view(), y.view(), x.view()]).unwrap();
        let (threaded, sync) = both_executors(&joined);
        prop_assert_eq!(&threaded, &expected);
        prop_assert_eq!(&sync, &expected);
        let stacked = Array::stack(&[lx.clone(), lx], axis).unwrap().compute().unwrap();
        prop_assert_eq!(stacked, stack(Axis(axis), &[x.view(), x.view()]).unwrap());
    }
}

#[test]
fn map_blocks_checks_the_block_shape_at_compute() {
    let x = Array::from_array(ArrayD::<f64>::ones(IxDyn(&[4])), &[2]).unwrap();
    let doubled = x.map_blocks(|b| b * 2.0).compute().unwrap();
    assert_eq!(doubled.sum(), 8.0);
    let wrong = x.map_blocks(|_| ArrayD::zeros(IxDyn(&[3])));
    let err = wrong.compute().unwrap_err();
    assert!(err.key().is_some() && err.to_string().contains("expected [2]"), "{err}");
}

#[test]
fn concatenate_rejects_mismatched_chunks() {
    let a = Array::from_array(ArrayD::<f64>::zeros(IxDyn(&[2, 4])), &[1, 2]).unwrap();
    let b = Array::from_array(ArrayD::<f64>::zeros(IxDyn(&[2, 4])), &[1, 4]).unwrap();
    assert!(matches!(
        Array::concatenate(&[a.clone(), b.clone()], 0),
        Err(Error::Metadata(_))
    ));
    // Along axis 1 only axis 0 must match, and it does.
    assert_eq!(Array::concatenate(&[a.clone(), b], 1).unwrap().shape(), vec![2, 8]);
    assert!(Array::<f64, IxDyn>::concatenate(&[], 0).is_err());
    assert!(Array::stack(&[a], 3).is_err());
}

fn slice_strategy() -> impl Strategy<Value = drask::array::ndarray::Slice> {
    (
        -10_isize..10,
        prop::option::of(-10_isize..10),
        prop::sample::select(vec![-3_isize, -2, -1, 1, 2, 3]),
    )
        .prop_map(|(start, end, step)| drask::array::ndarray::Slice::new(start, end, step))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn slicing_and_indexing_match_ndarray(
        (shape, block) in shape_and_block(),
        slices in prop::collection::vec(slice_strategy(), 3),
        index in -10_isize..10,
        axis_pick in 0_usize..3,
    ) {
        use drask::array::ndarray::SliceInfoElem;
        let x = data(&shape, 7);
        let lazy = Array::from_array(x.clone(), &block).unwrap();
        let slices = &slices[..shape.len()];
        // ndarray panics on out-of-range slice starts; the lazy slice clamps. Compare where
        // ndarray accepts the slice.
        let info: Vec<SliceInfoElem> = slices.iter().map(|&s| SliceInfoElem::from(s)).collect();
        let expected = std::panic::catch_unwind(|| x.slice(info.as_slice()).to_owned());
        if let Ok(expected) = expected {
            let (threaded, sync) = both_executors(&lazy.slice(slices).unwrap());
            prop_assert_eq!(&threaded, &expected);
            prop_assert_eq!(&sync, &expected);
        }
        let axis = axis_pick % shape.len();
        let len = shape[axis] as isize;
        match lazy.index_axis(axis, index) {
            Ok(picked) => {
                let i = if index < 0 { len + index } else { index } as usize;
                prop_assert_eq!(picked.compute().unwrap(), x.index_axis(Axis(axis), i).to_owned());
            }
            Err(e) => prop_assert!(index >= len || index < -len, "{e}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn rechunk_keeps_values((shape, block) in shape_and_block(), new_block in prop::collection::vec(1_usize..10, 3)) {
        let x = data(&shape, 8);
        let lazy = Array::from_array(x.clone(), &block).unwrap();
        let new_block = &new_block[..shape.len()];
        let re = lazy.rechunk(new_block).unwrap();
        prop_assert_eq!(re.chunks(), &Chunks::uniform(&shape, new_block).unwrap());
        let (threaded, sync) = both_executors(&re);
        prop_assert_eq!(&threaded, &x);
        prop_assert_eq!(&sync, &x);
        // Rechunking makes mismatched operands addable.
        let other = Array::from_array(x.clone(), new_block).unwrap();
        prop_assert_eq!(re.try_add(&other).unwrap().compute().unwrap(), &x + &x);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn matmul_matches_ndarray(m in 0_usize..9, k in 0_usize..9, n in 0_usize..9, bm in 1_usize..5, bk in 1_usize..5, bn in 1_usize..5) {
        use drask::array::ndarray::Array2;
        let a = Array2::from_shape_fn((m, k), |(i, j)| ((i * 3 + j * 5) % 7) as i64 - 3);
        let b = Array2::from_shape_fn((k, n), |(i, j)| ((i * 2 + j) % 5) as i64 - 2);
        let la = Array::from_array(a.clone(), &[bm, bk]).unwrap();
        let lb = Array::from_array(b.clone(), &[bk, bn]).unwrap();
        let (threaded, sync) = both_executors(&la.dot(&lb).unwrap());
        prop_assert_eq!(&threaded, &a.dot(&b));
        prop_assert_eq!(&sync, &a.dot(&b));
        if k > 1 && bk < k {
            let other = Array::from_array(b.clone(), &[k, bn]).unwrap();
            prop_assert!(la.dot(&other).is_err());
            prop_assert_eq!(la.dot(&other.rechunk(&[bk, bn]).unwrap()).unwrap().compute().unwrap(), a.dot(&b));
        }
    }
}

#[test]
fn a_reduction_of_an_expression_reads_the_inputs_directly() {
    let data = ArrayD::from_shape_fn(IxDyn(&[6, 5]), |i| (i[0] * 5 + i[1]) as f64);
    let x = Array::from_array(data.clone(), &[4, 5]).unwrap();
    let y = Array::from_array(data.clone(), &[4, 5]).unwrap();
    let total = ((&x * 2.0) + &y).sum();
    // The elementwise node is folded into the reduction: its result is never materialised.
    let text = total.explain();
    assert!(text.contains("high-level graph: 3 operations"), "{text}");
    assert!(!text.contains("add("), "{text}");
    assert_eq!(total.compute().unwrap(), (&data * 2.0 + &data).sum());
    // Broadcast inputs take the materialising path, with the same result.
    let row = Array::from_array(ArrayD::from_elem(IxDyn(&[5]), 1.0), &[5]).unwrap();
    assert_eq!(x.try_add(&row).unwrap().sum().compute().unwrap(), data.sum() + 30.0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn comparisons_where_any_all_match_ndarray((shape, block) in shape_and_block(), threshold in -4_i64..4) {
        use drask::array::Comparison;
        let x = data(&shape, 9);
        let y = data(&shape, 10);
        let lx = Array::from_array(x.clone(), &block).unwrap();
        let ly = Array::from_array(y.clone(), &block).unwrap();
        let t = threshold as f64;
        let gt = (&lx * 2.0).compare(Comparison::Gt, &ly).unwrap();
        let expected = ndarray_zip_gt(&(&x * 2.0), &y);
        let (threaded, sync) = both_executors(&gt);
        prop_assert_eq!(&threaded, &expected);
        prop_assert_eq!(&sync, &expected);
        let picked = lx.select(&lx.compare_scalar(Comparison::Le, t), &ly).unwrap().compute().unwrap();
        let mut reference = y.clone();
        reference.zip_mut_with(&x, |r, &v| if v <= t { *r = v });
        prop_assert_eq!(picked, reference);
        prop_assert_eq!(gt.any().compute().unwrap(), expected.iter().any(|&b| b));
        prop_assert_eq!(gt.all().compute().unwrap(), expected.iter().all(|&b| b));
    }
}

fn ndarray_zip_gt(a: &ArrayD<f64>, b: &ArrayD<f64>) -> ArrayD<bool> {
    drask::array::ndarray::Zip::from(a).and(b).map_collect(|x, y| x > y)
}

#[test]
fn float_functions_match_std() {
    let x = Array::from_array(ArrayD::from_shape_fn(IxDyn(&[5]), |i| i[0] as f64 + 0.5), &[2]).unwrap();
    let got = x.sqrt().exp().ln().powf(2.0).compute().unwrap();
    for (i, v) in got.iter().enumerate() {
        assert!((v - (i as f64 + 0.5)).abs() < 1e-12);
    }
    let cubes = Array::from_array(ArrayD::from_shape_fn(IxDyn(&[4]), |i| i[0] as i32 - 1), &[3]).unwrap();
    assert_eq!(
        cubes.powi(3).compute().unwrap().into_raw_vec_and_offset().0,
        vec![-1, 0, 1, 8]
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn statistics_match_ndarray((shape, block) in shape_and_block(), axis_pick in 0_usize..3, ddof in 0_u64..2) {
        let x = data(&shape, 11).mapv(|v| v + 1e6); // offset: a naive sum of squares would drift
        let lazy = Array::from_array(x.clone(), &block).unwrap();
        let n = x.len() as f64;
        if x.len() as u64 > ddof {
            let mean = x.sum() / n;
            let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - ddof as f64);
            let (got, got_sync) = both_executors(&lazy.var(ddof));
            prop_assert!((got - var).abs() <= 1e-9 * (1.0 + var) && (got_sync - var).abs() <= 1e-9 * (1.0 + var), "{got} vs {var}");
            prop_assert!((lazy.std(ddof).compute().unwrap() - var.sqrt()).abs() <= 1e-9 * (1.0 + var.sqrt()));
        } else {
            prop_assert!(lazy.var(ddof).compute().unwrap().is_nan());
        }
        let min = x.iter().copied().fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.min(v))));
        prop_assert_eq!(lazy.min().compute().unwrap(), min);
        let axis = axis_pick % shape.len();
        if shape[axis] > 0 {
            let var_axis = lazy.var_axis(axis, 0).unwrap().compute().unwrap();
            prop_assert!(close(&var_axis, &x.var_axis(Axis(axis), 0.0)));
            let max_axis = lazy.max_axis(axis).unwrap().compute().unwrap();
            prop_assert_eq!(max_axis, x.map_axis(Axis(axis), |l| l.iter().copied().fold(f64::MIN, f64::max)));
            let argmin = lazy.argmin_axis(axis).unwrap().compute().unwrap();
            let expected = x.map_axis(Axis(axis), |l| {
                l.iter().enumerate().fold((0, f64::INFINITY), |(bi, bv), (i, &v)| if v < bv { (i, v) } else { (bi, bv) }).0
            });
            prop_assert_eq!(argmin, expected);
        } else {
            prop_assert!(lazy.argmin_axis(axis).unwrap().compute().is_err());
        }
    }
}

#[test]
fn random_arrays_do_not_depend_on_chunking_or_executor() {
    use drask::array::ndarray::Ix2;
    let a = Array::<f64, Ix2>::random_normal(3, &[50, 40], &[7, 40], 0.0, 1.0).unwrap();
    let b = Array::<f64, Ix2>::random_normal(3, &[50, 40], &[50, 3], 0.0, 1.0).unwrap();
    let (a1, a2) = both_executors(&a);
    assert_eq!(a1, a2);
    assert_eq!(a1, b.compute().unwrap());
    assert!((a.mean().compute().unwrap()).abs() < 0.1);
    assert!((a.std(0).compute().unwrap() - 1.0).abs() < 0.1);
    let ints = Array::<i64, Ix2>::random_integers(1, &[30, 30], &[8, 8], -5, 5)
        .unwrap()
        .compute()
        .unwrap();
    assert!(ints.iter().all(|v| (-5..5).contains(v)));
    assert!(Array::<f64, Ix2>::random_uniform(1, &[3, 3], &[2, 2], 1.0, 1.0).is_err());
}

#[test]
#[cfg(feature = "mmap")]
fn npy_round_trip_through_a_memory_map_and_a_streaming_writer() {
    use drask::array::ndarray::{Array3, Ix3};
    use drask::array::npy::{NpyMap, read_npy};
    use std::sync::Arc;
    let dir = std::env::temp_dir().join(format!("drask-array-npy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (src, dst) = (dir.join("in.npy"), dir.join("out.npy"));
    let data = Array3::from_shape_fn((9, 4, 5), |(i, j, k)| (i * 100 + j * 10 + k) as f32);
    drask::array::npy::write_npy(&src, data.view()).unwrap();
    // SAFETY: the test owns the file and does not change it while it is mapped.
    let map = Arc::new(unsafe { NpyMap::open(&src) }.unwrap());
    let x = Array::<f32, Ix3>::from_npy_map(map, &[4, 3, 5]).unwrap();
    let y = &x * 2.0 + 1.0;
    y.to_npy(&dst, &ComputeOptions::new()).unwrap();
    assert_eq!(read_npy::<f32>(&dst).unwrap(), (&data * 2.0 + 1.0).into_dyn());
    let eager = Array::<f32, Ix3>::from_npy(&src, &[2, 4, 5]).unwrap();
    assert_eq!(eager.sum().compute().unwrap(), data.sum());
    assert!(Array::<f64, Ix3>::from_npy(&src, &[2, 4, 5]).is_err(), "dtype mismatch");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn f32_sums_accumulate_in_f64() {
    use drask::array::ndarray::Ix1;
    let n = 4_000_000;
    let x = Array::<f32, Ix1>::full(&[n], &[1_000_000], 0.1).unwrap();
    // Summed in f32, 4M copies of 0.1 drift by about a percent; in f64 they do not.
    let exact = 0.1_f32 as f64;
    assert!((x.mean().compute().unwrap() - exact).abs() < 1e-12);
    assert!(((x.sum().compute().unwrap() as f64) - exact * n as f64).abs() / (exact * n as f64) < 1e-7);
    // Through the fused path too.
    assert!(((&x * 2.0).mean().compute().unwrap() - 2.0 * exact).abs() < 1e-12);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn flat_argmin_argmax_match_a_first_wins_scan((shape, block) in shape_and_block()) {
        let x = data(&shape, 12);
        let lazy = Array::from_array(x.clone(), &block).unwrap();
        let flat: Vec<f64> = x.iter().copied().collect();
        let first = |better: fn(f64, f64) -> bool| {
            flat.iter().enumerate().fold(None, |best: Option<(usize, f64)>, (i, &v)| match best {
                Some((_, b)) if !better(v, b) => best,
                _ => Some((i, v)),
            }).map(|(i, _)| i)
        };
        prop_assert_eq!(lazy.argmin().compute().unwrap(), first(|v, b| v < b));
        prop_assert_eq!(lazy.argmax().compute().unwrap(), first(|v, b| v > b));
    }
}
