//! Arrays over memory-mapped `.npy` files: reductions and `correlate` read the blocks in place
//! (no copy tasks in their graphs) and agree with ndarray on random shapes and chunkings, with
//! and without pages released after reading.
use std::path::PathBuf;
use std::sync::Arc;

use drask::array::ndarray::{Array2, ArrayD, Axis, Dimension, Ix2, IxDyn};
use drask::array::npy::{NpyMap, write_npy};
use drask::array::{Array, correlate_ranges};
use drask::prelude::*;
use proptest::prelude::*;

/// A file in the temp directory, removed when dropped.
struct TempNpy(PathBuf);

impl TempNpy {
    fn new(data: &ArrayD<f64>) -> TempNpy {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("drask-mapped-{}-{n}.npy", std::process::id()));
        write_npy(&path, data.view()).unwrap();
        TempNpy(path)
    }

    fn map(&self, release: bool) -> Arc<NpyMap> {
        // SAFETY: the test's own temp file is not modified while mapped.
        Arc::new(
            unsafe { NpyMap::open(&self.0) }
                .unwrap()
                .with_release_after_read(release),
        )
    }
}

impl Drop for TempNpy {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn data(shape: &[usize]) -> ArrayD<f64> {
    ArrayD::from_shape_fn(IxDyn(shape), |i| {
        let flat = i.as_array_view().iter().fold(3_i64, |acc, &x| acc * 31 + x as i64);
        ((flat % 23) - 11) as f64 * 0.25 + 1e6
    })
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * (1.0 + b.abs()) || (a.is_nan() && b.is_nan())
}

/// The names of the tasks of the graph as lowered (before fusion renames them).
fn task_names<C: Collection>(c: &C) -> Vec<String> {
    let graph = c.graph(false).unwrap();
    graph.ids().map(|id| graph.task(id).key.name().to_string()).collect()
}

#[test]
fn reductions_read_the_map_without_copy_tasks() {
    let whole = data(&[30, 8]);
    let file = TempNpy::new(&whole);
    let x = Array::<f64, Ix2>::from_npy_map(file.map(false), &[7, 3]).unwrap();
    let copies = x.node().name().to_string();
    for names in [
        task_names(&x.sum()),
        task_names(&(&x * 2.0 - 1.0).std(1)),
        task_names(&x.min_axis(1).unwrap()),
        task_names(&x.correlate(2, &[0..30, 5..20]).unwrap()),
    ] {
        assert!(names.iter().all(|n| *n != copies), "a block was copied: {names:?}");
        assert!(names.iter().any(|n| n.starts_with("from_npy_view")), "{names:?}");
    }
    // Other operations still copy blocks out of the map.
    assert!(task_names(&x.map_blocks(|b| b)).contains(&copies));
}

#[test]
fn mapped_correlation_matches_the_kernel() {
    let whole = data(&[50, 9]).mapv(|v| (v * 7.0).sin());
    let file = TempNpy::new(&whole);
    let want = correlate_ranges(
        whole.view().into_dimensionality::<Ix2>().unwrap(),
        7,
        &[0..20, 13..50, 4..4],
    )
    .unwrap();
    for release in [false, true] {
        let x = Array::<f64, Ix2>::from_npy_map(file.map(release), &[12, 4]).unwrap();
        let got: Array2<f64> = x.correlate(7, &[0..20, 13..50, 4..4]).unwrap().compute().unwrap();
        assert!(
            got.iter().zip(want.iter()).all(|(&a, &b)| close(a, b)),
            "{got:?} vs {want:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Every reduction over a memory-mapped array (read in place, cut along any axes so
    /// blocks are not contiguous in the file) agrees with ndarray, with and without pages
    /// released after reading.
    #[test]
    fn mapped_reductions_match_ndarray(
        (shape, block) in prop::collection::vec(1_usize..9, 1..4).prop_flat_map(|shape| {
            let blocks: Vec<_> = shape.iter().map(|&n| 1..=n).collect();
            (Just(shape), blocks)
        }),
        release in any::<bool>(),
    ) {
        let whole = data(&shape);
        let file = TempNpy::new(&whole);
        let x = Array::<f64, IxDyn>::from_npy_map(file.map(release), &block).unwrap();
        let y = Array::<f64, IxDyn>::from_array(whole.clone(), &block).unwrap();
        let n = whole.len() as f64;
        let mean = whole.sum() / n;
        let var = whole.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        prop_assert!(close(x.sum().compute().unwrap(), whole.sum()));
        prop_assert!(close(x.mean().compute().unwrap(), mean));
        prop_assert!(close(x.var(0).compute().unwrap(), var));
        prop_assert_eq!(x.min().compute().unwrap(), whole.iter().copied().reduce(f64::min));
        prop_assert_eq!(x.max().compute().unwrap(), whole.iter().copied().reduce(f64::max));
        let fused = whole.iter().map(|v| (v - 1e6) * 2.0 + v).sum::<f64>();
        prop_assert!(close(((&x - 1e6) * 2.0 + &y).sum().compute().unwrap(), fused));
        prop_assert!(close(((&x - 1e6) * 2.0 + &x).sum().compute().unwrap(), fused));
        let last = shape.len() - 1;
        let got = x.sum_axis(last).unwrap().compute().unwrap();
        let want = whole.sum_axis(Axis(last));
        prop_assert!(got.iter().zip(want.iter()).all(|(&a, &b)| close(a, b)));
        let got = x.max_axis(0).unwrap().compute().unwrap();
        prop_assert_eq!(got, whole.map_axis(Axis(0), |l| l.iter().copied().fold(f64::MIN, f64::max)));
        let argmin = whole.iter().enumerate().min_by(|a, b| a.1.total_cmp(b.1)).map(|(i, _)| i);
        prop_assert_eq!(x.argmin().compute().unwrap(), argmin);
    }
}
