//! Arrays across a process boundary: every graph goes to its wire form (`GraphSpec`, through
//! JSON), is rebuilt through the registry as a worker would, runs, and its results go through
//! their codecs; the values must be exactly those of the direct compute.

use std::fmt::Debug;
use std::ops::Range;

use drask::Error;
use drask::array::ndarray::{Array1, Array2, ArrayD, Ix1, Ix2, IxDyn, Slice};
use drask::array::stats::StatElem;
use drask::array::{Comparison, Element};
use drask::prelude::*;
use drask::registry::{GraphSpec, decode_value, encode_value};
use drask::sched::{Executor, Synchronous};
use proptest::prelude::*;

/// Computes `c` as a remote executor would: the graph (optimized or not) to JSON and back,
/// rebuilt from the registry, run, and every result encoded and decoded.
fn remote<C: Collection>(c: &C, optimized: bool) -> C::Output {
    let graph = c.graph(optimized).unwrap();
    let spec = GraphSpec::from_graph(&graph).unwrap();
    let wire = serde_json::to_string(&spec).unwrap();
    let back: GraphSpec = serde_json::from_str(&wire).unwrap();
    assert_eq!(back, spec);
    let rebuilt = back.to_graph().unwrap();
    assert_eq!(
        rebuilt.to_string(),
        graph.to_string(),
        "the rebuilt graph has the same tasks"
    );
    let values = Synchronous.execute(&rebuilt, &c.keys(), &[]).unwrap();
    let mut sent = values
        .into_iter()
        .map(|v| decode_value(&encode_value(&v).expect("results have codecs")).unwrap());
    c.finalize(&mut sent).unwrap()
}

/// Equal, with NaN equal to NaN.
fn same<T: PartialEq>(a: &T, b: &T) -> bool {
    #[allow(clippy::eq_op)]
    let nan = |x: &T| x != x;
    a == b || (nan(a) && nan(b))
}

fn assert_same_array<A: PartialEq + Debug, D: drask::array::ndarray::Dimension>(
    got: &drask::array::ndarray::Array<A, D>,
    want: &drask::array::ndarray::Array<A, D>,
) {
    assert_eq!(got.shape(), want.shape());
    assert!(
        got.iter().zip(want.iter()).all(|(a, b)| same(a, b)),
        "{got:?}\n!=\n{want:?}"
    );
}

/// Remote (optimized and not) equals the direct compute, exactly.
fn check_array<A: Clone + Default + PartialEq + Debug + Send + Sync + 'static, D: drask::array::ndarray::Dimension>(
    x: &Array<A, D>,
) where
    Array<A, D>: Collection<Output = drask::array::ndarray::Array<A, D>>,
{
    let direct = x.compute().unwrap();
    assert_same_array(&remote(x, true), &direct);
    assert_same_array(&remote(x, false), &direct);
}

fn check_value<T: Clone + PartialEq + Debug + Send + Sync + 'static>(d: &Delayed<T>) {
    let direct = d.compute().unwrap();
    for optimized in [true, false] {
        let got = remote(d, optimized);
        assert!(same(&got, &direct), "{got:?} != {direct:?}");
    }
}

fn data<A: Element>(rows: usize, cols: usize, seed: usize) -> Array2<A> {
    Array2::from_shape_fn((rows, cols), |(i, j)| {
        A::from_f64((((i * 7 + j * 13 + seed) % 23) as f64) - 11.0)
    })
}

fn element_families<A: Element + StatElem + drask::array::npy::NpyElem>() {
    let a = Array::from_array(data::<A>(7, 5, 0), &[3, 2]).unwrap();
    let b = Array::from_array(data::<A>(7, 5, 3), &[4, 5]).unwrap(); // chunked differently
    let row = Array::from_array(data::<A>(1, 5, 1), &[1, 2]).unwrap(); // broadcasts
    let two = A::from_f64(2.0);

    // Creation.
    check_array(&Array::<A, Ix2>::full(&[5, 4], &[2, 3], A::from_f64(3.0)).unwrap());
    check_array(&Array::<A, Ix2>::zeros(&[3, 4], &[2, 2]).unwrap());
    check_array(&Array::<A, Ix2>::ones(&[3, 4], &[3, 3]).unwrap());
    check_array(&Array::<A, Ix1>::arange(-3.0, 9.0, 1.5, 3).unwrap());
    check_array(&Array::<A, Ix1>::linspace(0.0, 10.0, 11, 4).unwrap());
    check_array(&a);

    // Elementwise, fused, broadcasting, unified chunks.
    let expr = (&(&a + &b) * two - &a.abs()).try_add(&row).unwrap();
    check_array(&expr);
    check_array(&(-&a).powi(3));
    check_array(&(&a * &a - &b / A::from_f64(3.0)));

    // Comparisons, where, any/all.
    let gt = (&a * two).compare(Comparison::Gt, &(&b + A::from_f64(1.0))).unwrap();
    check_array(&gt);
    check_array(&a.compare_scalar(Comparison::Le, A::from_f64(0.0)));
    let positive = a.compare_scalar(Comparison::Gt, A::from_f64(0.0));
    check_array(&a.select(&positive, &b.rechunk(&[3, 2]).unwrap()).unwrap());
    check_value(&gt.any());
    check_value(&gt.all());
    check_value(&a.compare_scalar(Comparison::Ne, A::from_f64(100.0)).all());

    // Reductions over all elements, plain and fused with an elementwise expression.
    check_value(&a.sum());
    check_value(&expr.sum());
    check_value(&a.mean());
    check_value(&(&a * &b).mean());
    check_value(&a.var(0));
    check_value(&expr.std(1));
    check_value(&a.min());
    check_value(&(&a - &b).max());
    check_value(&a.argmin());
    check_value(&a.argmax());

    // Reductions along an axis.
    for axis in 0..2 {
        check_array(&a.sum_axis(axis).unwrap());
        check_array(&a.mean_axis(axis).unwrap());
        check_array(&a.var_axis(axis, 1).unwrap());
        check_array(&a.std_axis(axis, 0).unwrap());
        check_array(&a.min_axis(axis).unwrap());
        check_array(&b.max_axis(axis).unwrap());
        check_array(&a.argmin_axis(axis).unwrap());
        check_array(&a.argmax_axis(axis).unwrap());
    }

    // Slicing, indexing, transposes, rechunking, joins, products.
    check_array(
        &a.slice(&[Slice::new(1, None, 2), Slice::new(-4, Some(-1), -1)])
            .unwrap(),
    );
    check_array(&a.slice(&[Slice::new(3, Some(3), 1), Slice::from(..)]).unwrap());
    check_array(&a.index_axis(1, -2).unwrap());
    check_array(&a.t());
    check_array(&a.permute_axes(&[1, 0]).unwrap());
    check_array(&a.rechunk(&[2, 4]).unwrap());
    check_array(&Array::concatenate(&[a.clone(), (&a + A::from_f64(1.0))], 0).unwrap());
    check_array(&Array::stack(&[a.clone(), a.abs()], 1).unwrap());
    let left = Array::from_array(data::<A>(5, 6, 2), &[2, 4]).unwrap();
    let right = Array::from_array(data::<A>(6, 3, 5), &[4, 2]).unwrap();
    check_array(&left.dot(&right).unwrap());
    let empty_inner = Array::from_array(Array2::<A>::zeros((2, 0)), &[1, 1]).unwrap();
    check_array(
        &empty_inner
            .dot(&Array::from_array(Array2::<A>::zeros((0, 3)), &[1, 2]).unwrap())
            .unwrap(),
    );

    reshapes(&a, &data::<A>(7, 5, 0));
    reshapes(&(&a * two).t(), &data::<A>(7, 5, 0).mapv(|v| v * two).reversed_axes());
}

/// Reshapes of `x` (whose value is `want`) that merge, split and mix axes, and a reduction of
/// one: remote equals direct, and direct equals ndarray's C-order reshape.
fn reshapes<A: Element + StatElem>(x: &Array<A, Ix2>, want: &Array2<A>) {
    let (r, c) = want.dim();
    let targets: [Vec<isize>; 6] = [
        vec![-1],
        vec![c as isize, r as isize], // mixed: (7, 5) -> (5, 7) is one group
        vec![1, -1, 1],
        vec![r as isize, c as isize, 1],
        vec![r as isize * c as isize, 1],
        vec![r as isize, 1, c as isize],
    ];
    for target in targets {
        let y = x.reshape(&target).unwrap();
        check_array(&y);
        let shape: Vec<usize> = y.shape();
        let expected = want
            .to_shape((shape, drask::array::ndarray::Order::RowMajor))
            .unwrap()
            .to_owned();
        assert_eq!(y.compute().unwrap(), expected, "reshape to {target:?}");
    }
    check_value(&x.reshape(&[-1]).unwrap().sum());
    check_array(&x.reshape(&[-1]).unwrap().rechunk(&[4]).unwrap());
}

#[test]
fn every_op_family_round_trips_for_f64() {
    element_families::<f64>();
}

#[test]
fn every_op_family_round_trips_for_f32() {
    element_families::<f32>();
}

#[test]
fn every_op_family_round_trips_for_i32() {
    element_families::<i32>();
}

#[test]
fn every_op_family_round_trips_for_i64() {
    element_families::<i64>();
}

#[test]
fn float_functions_random_numbers_and_correlation_round_trip() {
    let x = Array::<f64, Ix2>::random_uniform(11, &[40, 6], &[15, 4], 0.5, 2.0).unwrap();
    check_array(&x);
    check_array(&x.sqrt().exp().ln().powf(1.5));
    check_array(&(&x - 1.0).ln()); // NaN and -inf survive the trip
    check_array(&Array::<f32, Ix2>::random_normal(3, &[9, 8], &[4, 3], -1.0, 0.5).unwrap());
    check_array(
        &Array::<f32, Ix2>::random_uniform(3, &[9, 8], &[9, 1], -1.0, 0.5)
            .unwrap()
            .sqrt(),
    );
    check_array(&Array::<i64, Ix2>::random_integers(5, &[9, 8], &[2, 8], -50, 50).unwrap());
    let ranges: Vec<Range<usize>> = vec![0..40, 5..25, 30..32, 7..7];
    check_array(&x.correlate(2, &ranges).unwrap());
    let y = Array::<f32, Ix2>::random_normal(8, &[30, 5], &[7, 2], 0.0, 1.0).unwrap();
    check_array(&y.correlate(4, &[0..30, 10..20]).unwrap());
}

#[test]
fn persisted_blocks_travel_as_literals() {
    let x = Array::from_array(data::<i64>(6, 4, 1), &[4, 3]).unwrap();
    let p = (&x * 3).persist(&ComputeOptions::new()).unwrap();
    check_array(&p);
    check_value(&p.sum());
}

fn clamp_block(b: &ArrayD<f64>) -> ArrayD<f64> {
    b.mapv(|v| v.clamp(-2.0, 2.0))
}
drask::register_fn!(clamp_block);

fn wrong_shape(b: &ArrayD<i64>) -> ArrayD<i64> {
    b.slice_each_axis(|_| Slice::from(..1)).to_owned()
}
drask::register_fn!(wrong_shape);

#[test]
fn a_registered_block_function_round_trips_and_its_shape_is_checked_remotely() {
    let x = Array::from_array(data::<f64>(7, 5, 0), &[3, 2]).unwrap();
    let y = (&x * 0.5).map_blocks_registered(drask::registered!(clamp_block));
    check_array(&y);
    assert_same_array(
        &y.compute().unwrap(),
        &(data::<f64>(7, 5, 0) * 0.5).mapv(|v| v.clamp(-2.0, 2.0)),
    );
    check_value(&y.sum());

    let bad = Array::from_array(data::<i64>(4, 4, 0), &[2, 2])
        .unwrap()
        .map_blocks_registered(drask::registered!(wrong_shape));
    let rebuilt = GraphSpec::from_graph(&bad.graph(true).unwrap())
        .unwrap()
        .to_graph()
        .unwrap();
    let err = Synchronous.execute(&rebuilt, &bad.keys(), &[]).unwrap_err();
    assert!(err.key().is_some(), "{err}");
    assert!(
        err.to_string()
            .contains("map_blocks returned a block of shape [1, 1], expected [2, 2]"),
        "{err}"
    );
}

#[test]
fn an_unregistered_closure_fails_the_spec_with_the_task_and_how_to_register() {
    let x = Array::from_array(data::<f64>(4, 4, 0), &[2, 2]).unwrap();
    let y = x.map_blocks(|b| b * 2.0);
    for optimized in [true, false] {
        let msg = match GraphSpec::from_graph(&y.graph(optimized).unwrap()) {
            Err(Error::Remote(msg)) => msg,
            other => panic!("expected Error::Remote, got {other:?}"),
        };
        let named = y.keys().iter().any(|k| msg.contains(&k.to_string()));
        assert!(named, "names a map_blocks task: {msg}");
        assert!(msg.contains("register_fn!"), "{msg}");
        assert!(msg.contains("map_blocks_registered"), "{msg}");
    }
    // It still runs locally.
    assert_eq!(y.sum().compute().unwrap(), data::<f64>(4, 4, 0).sum() * 2.0);
    // An elementwise map with a closure has no spec either, fused or not.
    let z = (&x + 1.0).map("cube", |v| v * v * v);
    assert!(matches!(
        GraphSpec::from_graph(&z.graph(true).unwrap()),
        Err(Error::Remote(_))
    ));
    assert!(matches!(
        GraphSpec::from_graph(&z.sum().graph(true).unwrap()),
        Err(Error::Remote(_))
    ));
}

fn temp_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("drask-array-remote-{}-{name}.npy", std::process::id()))
}

#[test]
fn npy_arrays_are_read_from_the_file_by_the_worker() {
    let path = temp_path("read");
    let whole = Array2::from_shape_fn((9, 7), |(i, j)| (i * 7 + j) as i32 - 20);
    drask::array::npy::write_npy(&path, whole.view()).unwrap();
    let x = Array::<i32, Ix2>::from_npy(&path, &[4, 3]).unwrap();
    check_array(&x);
    check_array(&(&x * 2).sum_axis(1).unwrap());
    let wide = Array::<i32, Ix2>::from_npy(&path, &[2, 7]).unwrap(); // whole rows: one read each
    check_array(&wide);

    // The spec names the file, not its data.
    let spec = GraphSpec::from_graph(&x.graph(false).unwrap()).unwrap();
    assert!(spec.tasks.iter().all(|t| t.op.name == "array.npy_block"));
    // A worker refuses a file that changed since the array was built over it.
    let rebuilt = spec.to_graph().unwrap();
    drask::array::npy::write_npy(&path, Array1::from(vec![1_i32, 2]).view()).unwrap();
    let err = Synchronous.execute(&rebuilt, &x.keys(), &[]).unwrap_err();
    assert!(err.to_string().contains("changed since the array was built"), "{err}");
    std::fs::remove_file(&path).unwrap();
}

#[cfg(feature = "mmap")]
#[test]
fn memory_mapped_arrays_are_read_by_the_worker_without_a_map() {
    use std::sync::Arc;
    let path = temp_path("map");
    let whole = drask::array::ndarray::Array3::from_shape_fn((5, 4, 6), |(i, j, k)| (i * 100 + j * 10 + k) as f64);
    drask::array::npy::write_npy(&path, whole.view()).unwrap();
    // SAFETY: this test owns the file and changes it only after the map is dropped.
    let map = Arc::new(unsafe { drask::array::npy::NpyMap::open(&path) }.unwrap());
    for block in [[2, 3, 4], [5, 4, 6], [1, 4, 6], [3, 1, 6], [5, 4, 1]] {
        let x = Array::<f64, IxDyn>::from_npy_map(map.clone(), &block).unwrap();
        check_array(&x);
        check_value(&x.mean());
    }
    std::fs::remove_file(&path).unwrap();
}

/// Reductions and `correlate` of a memory-mapped array read its blocks in place, through
/// descriptors that point into the map; their specs rebuild as reads of the blocks from the file
/// into owned blocks, which the same reductions and `correlate` consume.
#[cfg(feature = "mmap")]
#[test]
fn in_place_reads_of_a_map_rebuild_as_reads_of_the_file() {
    use std::sync::Arc;

    use drask::array::npy::{NpyMap, write_npy};
    use drask::graph::Key;

    let path = temp_path("view");
    let (rows, cols) = (37, 9);
    let whole = Array2::from_shape_fn((rows, cols), |(i, j)| {
        (((i * 31 + j * 17) % 29) as f64 - 14.0) * 0.5 + 1e3
    });
    write_npy(&path, whole.view()).unwrap();
    let ranges: Vec<Range<usize>> = vec![0..rows, 5..20, 9..9, 30..37];
    for release in [false, true] {
        // SAFETY: this test owns the file and changes it only after every map is dropped.
        let map = Arc::new(unsafe { NpyMap::open(&path) }.unwrap().with_release_after_read(release));
        for block in [[7, 3], [rows, cols], [5, cols], [10, 4]] {
            let x = Array::<f64, Ix2>::from_npy_map(map.clone(), &block).unwrap();
            check_value(&x.sum());
            check_value(&x.mean());
            check_value(&x.var(1));
            check_value(&x.std(0));
            check_value(&x.min());
            check_value(&x.max());
            check_value(&x.argmin());
            check_value(&x.argmax());
            // Fused with elementwise expressions over mapped inputs.
            check_value(&(&x * 2.0 - &x.abs()).sum());
            check_value(&(&x * &x).std(1));
            for axis in 0..2 {
                check_array(&x.sum_axis(axis).unwrap());
                check_array(&x.mean_axis(axis).unwrap());
                check_array(&x.var_axis(axis, 1).unwrap());
                check_array(&x.min_axis(axis).unwrap());
                check_array(&x.argmax_axis(axis).unwrap());
            }
            let corr = x.correlate(2, &ranges).unwrap();
            check_array(&corr);
            check_array(&x.reshape(&[-1, 3]).unwrap());
            check_value(&x.reshape(&[3, -1]).unwrap().sum());
            // The direct values are the right ones (tests/mapped.rs checks them in depth).
            assert_eq!(
                x.argmax().compute().unwrap(),
                Some(whole.iter().position(|&v| v == 1007.0).unwrap())
            );
            assert_eq!(
                x.min_axis(0).unwrap().compute().unwrap(),
                Array1::from_elem(cols, 993.0)
            );
            let want = drask::array::correlate_ranges(whole.view(), 2, &ranges).unwrap();
            let got = corr.compute().unwrap();
            assert_eq!(got.dim(), want.dim());
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 || (a.is_nan() && b.is_nan());
            assert!(
                got.iter().zip(&want).all(|(&a, &b)| close(a, b)),
                "{got:?}\n!=\n{want:?}"
            );
        }
    }

    // Every descriptor task rebuilds as a read of the file, and yields an owned block there.
    // SAFETY: as above; the file is rewritten below only after `x` (and so the map) is dropped.
    let map = Arc::new(unsafe { NpyMap::open(&path) }.unwrap());
    let x = Array::<f64, Ix2>::from_npy_map(map, &[10, 4]).unwrap();
    for c in [
        x.sum().graph(false).unwrap(),
        x.correlate(0, &ranges).unwrap().graph(false).unwrap(),
    ] {
        let spec = GraphSpec::from_graph(&c).unwrap();
        let views: Vec<Key> = spec
            .tasks
            .iter()
            .filter(|t| t.name.starts_with("from_npy_view"))
            .inspect(|t| assert_eq!(t.op.name, "array.npy_view_block"))
            .map(|t| Key::new(t.name.as_str(), t.index.clone()))
            .collect();
        assert_eq!(views.len(), 12, "4 x 3 blocks, each read in place");
        let rebuilt = spec.to_graph().unwrap();
        for (key, value) in views.iter().zip(Synchronous.execute(&rebuilt, &views, &[]).unwrap()) {
            let block = value.downcast_ref::<ArrayD<f64>>().expect("an owned block");
            let (i, j) = (key.index()[0] as usize * 10, key.index()[1] as usize * 4);
            let want = whole.slice(drask::array::ndarray::s![i..(i + 10).min(rows), j..(j + 4).min(cols)]);
            assert_eq!(block.view().into_dimensionality::<Ix2>().unwrap(), want);
        }
    }

    // A worker refuses a file that changed after the graph was sent.
    let sum = x.sum();
    let rebuilt = GraphSpec::from_graph(&sum.graph(true).unwrap())
        .unwrap()
        .to_graph()
        .unwrap();
    let keys = sum.keys();
    drop((x, sum));
    write_npy(&path, Array1::from(vec![1.0_f64, 2.0]).view()).unwrap();
    let err = Synchronous.execute(&rebuilt, &keys, &[]).unwrap_err();
    assert!(err.to_string().contains("changed since the array was built"), "{err}");
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn corrupt_specs_are_errors_not_panics() {
    use drask::graph::OpSpec;
    use drask::registry::build_op;
    let bad = [
        OpSpec::new(
            "array.elementwise",
            serde_json::json!({"dtype": "u8", "name": "x", "expr": {"Input": 0}}),
        ),
        OpSpec::new(
            "array.elementwise",
            serde_json::json!({"dtype": "bool", "name": "x", "expr": {"Input": 0}}),
        ),
        OpSpec::new(
            "array.elementwise",
            serde_json::json!({"dtype": "i32", "name": "x", "expr": {"Unary": ["Sqrt", {"Input": 0}]}}),
        ),
        OpSpec::new(
            "array.slice",
            serde_json::json!({"dtype": "f64", "slices": [[0, null, 0]], "empty": null}),
        ),
        OpSpec::new("array.correlate", serde_json::json!({"dtype": "i64"})),
        OpSpec::new("array.reshape", serde_json::json!({"dtype": "bool", "shape": [2]})),
        OpSpec::new("array.reshape", serde_json::json!({"dtype": "f64"})),
        OpSpec::new("array.npy_view_block", serde_json::json!({"dtype": "f64"})),
        OpSpec::new(
            "array.reduce",
            serde_json::json!({"dtype": "f64", "reduction": {"Extreme": "Min"},
            "stage": {"Partial": {"offset": 0}}, "expr": null}),
        ),
    ];
    for spec in bad {
        assert!(build_op(&spec).is_err(), "{spec:?}");
    }
    // An op rebuilt from a spec that does not fit its inputs fails the task, it does not panic.
    let op = build_op(&OpSpec::new(
        "array.elementwise",
        serde_json::json!({"dtype": "f64", "name": "add", "expr": {"Binary": ["Add", {"Input": 0}, {"Input": 1}]}}),
    ))
    .unwrap();
    let one: drask::graph::Value = std::sync::Arc::new(ArrayD::<f64>::zeros(IxDyn(&[2])));
    assert!(op.call(vec![one.clone()]).is_err());
    let reshape = build_op(&OpSpec::new(
        "array.reshape",
        serde_json::json!({"dtype": "f64", "shape": [3]}),
    ))
    .unwrap();
    let err = reshape.call(vec![one]).unwrap_err();
    assert!(err.to_string().contains("does not reshape to [3]"), "{err}");
    // A correlation strip given blocks that do not fit it.
    let strip = build_op(&OpSpec::new(
        "array.correlate",
        serde_json::json!({"dtype": "f64", "blocks": 1, "target_col": 5, "ranges": [{"start": 0, "end": 2}],
            "rows": 2, "width": 2}),
    ))
    .unwrap();
    let block: drask::graph::Value = std::sync::Arc::new(ArrayD::<f64>::zeros(IxDyn(&[2, 2])));
    assert!(strip.call(vec![block.clone(), block.clone()]).is_err());
    assert!(strip.call(vec![block]).is_err());
}

/// A random elementwise expression over two arrays, as a string of steps applied to a stack.
#[derive(Debug, Clone)]
enum Step {
    PushA,
    PushB,
    Scalar(i8),
    Add,
    Sub,
    Mul,
    Abs,
    Square,
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        prop_oneof![
            Just(Step::PushA),
            Just(Step::PushB),
            (-4_i8..5).prop_map(Step::Scalar),
            Just(Step::Add),
            Just(Step::Sub),
            Just(Step::Mul),
            Just(Step::Abs),
            Just(Step::Square),
        ],
        1..12,
    )
}

/// Runs the steps on lazy arrays; scalars combine with the top array.
fn build(steps: &[Step], a: &Array<f64, Ix2>, b: &Array<f64, Ix2>) -> Array<f64, Ix2> {
    let mut stack = vec![a.clone()];
    for step in steps {
        let top = stack.last().unwrap().clone();
        let next = match step {
            Step::PushA => a.clone(),
            Step::PushB => b.clone(),
            Step::Scalar(s) => &top * f64::from(*s),
            Step::Abs => top.abs(),
            Step::Square => top.powi(2),
            Step::Add | Step::Sub | Step::Mul if stack.len() >= 2 => {
                let (y, x) = (stack.pop().unwrap(), stack.pop().unwrap());
                match step {
                    Step::Add => &x + &y,
                    Step::Sub => &x - &y,
                    _ => &x * &y,
                }
            }
            _ => top.clone() + 1.0,
        };
        stack.push(next);
    }
    stack.pop().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn random_expressions_and_chunkings_round_trip(
        steps in steps(),
        rows in 1_usize..9,
        cols in 1_usize..7,
        blocks in (1_usize..5, 1_usize..5, 1_usize..5, 1_usize..5),
    ) {
        let a = Array::from_array(data::<f64>(rows, cols, 0), &[blocks.0, blocks.1]).unwrap();
        let b = Array::from_array(data::<f64>(rows, cols, 5), &[blocks.2, blocks.3]).unwrap();
        let x = build(&steps, &a, &b);
        check_array(&x);
        check_value(&x.sum());
        check_array(&x.max_axis(0).unwrap());
        check_value(&x.argmin());
    }
}
