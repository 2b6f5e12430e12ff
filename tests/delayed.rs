//! The Delayed API against hand-computed values: calls of 0 to 6 arguments, collecting, shared
//! graphs, naming and deduplication, every printed stage, very deep chains, and sending a graph
//! to another process.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use drask::Error;
use drask::prelude::*;
use drask::registry::GraphSpec;
use drask::sched::{Executor, Synchronous, Threaded};

fn both_executors() -> [(&'static str, ComputeOptions); 2] {
    [
        ("synchronous", ComputeOptions::new().executor(Synchronous)),
        ("threaded", ComputeOptions::new().executor(Threaded::new())),
    ]
}

fn add(a: &i64, b: &i64) -> i64 {
    a + b
}

#[test]
fn calls_of_zero_to_six_arguments_mixing_values_and_delayed() {
    let zero = delayed(|| 5_i64).call(());
    let one = delayed(|x: &i64| x * 2).call((&zero,)); // 10
    let two = delayed(add).call((one.clone(), 3_i64)); // 13
    let three = delayed(|s: &String, n: &usize, c: &char| format!("{}{}", s.repeat(*n), c)).call((
        "ab".to_string(),
        2_usize,
        '!',
    )); // "abab!"
    let four = delayed(|s: &String, x: &i64, v: &Vec<i32>, neg: &bool| {
        let total = s.len() as i64 + x + v.iter().map(|&i| i64::from(i)).sum::<i64>();
        if *neg { -total } else { total }
    })
    .call((&three, &two, vec![1, 2, 3], true)); // -(5 + 13 + 6) = -24
    let five = delayed(|a: &i64, b: &i64, c: &f64, d: &u8, e: &i64| (*a + *b) as f64 * c + f64::from(*d) + *e as f64)
        .call((&zero, one.clone(), 0.5_f64, 7_u8, &four)); // (5 + 10) * 0.5 + 7 - 24 = -9.5
    let six = delayed(|a: &i64, b: &f64, c: &String, d: &i64, e: &(i64, i64), f: &Vec<i64>| {
        format!("{a} {b} {c} {d} {} {}", e.0 * e.1, f.len())
    })
    .call((&two, &five, three, four, (6_i64, 7_i64), vec![0_i64; 4]));

    assert_eq!(zero.compute().unwrap(), 5);
    assert_eq!(one.compute().unwrap(), 10);
    assert_eq!(two.compute().unwrap(), 13);
    for (name, options) in both_executors() {
        assert_eq!(six.compute_with(&options).unwrap(), "13 -9.5 abab! -24 42 4", "{name}");
    }
}

#[test]
fn fn_items_and_closures_capturing_state() {
    fn scale(x: &f64, by: &f64) -> f64 {
        x * by
    }
    let offset = 100.0_f64;
    let shift = delayed(move |x: &f64| x + offset);
    let y = shift.call((delayed(scale).call((2.0_f64, 3.0_f64)),));
    assert_eq!(y.compute().unwrap(), 106.0);
    // The function's own name shows in keys; a closure is `lambda`.
    assert!(
        delayed(scale)
            .call((1.0_f64, 1.0_f64))
            .key()
            .name()
            .starts_with("scale-")
    );
    assert!(shift.call((1.0_f64,)).key().name().starts_with("lambda-"));
}

#[test]
fn collect_and_from_iterator() {
    let items: Vec<Delayed<i64>> = (1..=5_i64).map(|i| delayed(|x: &i64| x * x).call((i,))).collect();
    assert_eq!(
        Delayed::collect(items.clone()).compute().unwrap(),
        vec![1, 4, 9, 16, 25]
    );
    let gathered: Delayed<Vec<i64>> = items.iter().cloned().collect();
    assert_eq!(gathered.compute().unwrap(), vec![1, 4, 9, 16, 25]);
    let total = delayed(|v: &Vec<i64>| v.iter().sum::<i64>()).call((gathered,));
    assert_eq!(total.compute().unwrap(), 55);

    // Nested lists, and the empty list.
    let rows: Delayed<Vec<Vec<i64>>> = (0..3_i64)
        .map(|r| Delayed::collect((0..3_i64).map(move |c| Delayed::value(r * 3 + c))))
        .collect();
    assert_eq!(
        rows.compute().unwrap(),
        vec![vec![0, 1, 2], vec![3, 4, 5], vec![6, 7, 8]]
    );
    let empty: Delayed<Vec<i64>> = Delayed::collect(Vec::new());
    assert_eq!(empty.compute().unwrap(), Vec::<i64>::new());
}

/// A shared task that counts its runs, and three consumers of it.
fn shared_graph() -> (Arc<AtomicUsize>, Delayed<i64>, [Delayed<i64>; 3]) {
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    let shared = delayed(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        10_i64
    })
    .call(());
    let a = delayed(|x: &i64| x + 1).call((&shared,));
    let b = delayed(|x: &i64| x * 2).call((&shared,));
    let c = delayed(|x: &i64, y: &i64| x - y).call((&shared, &a));
    (runs, shared, [a, b, c])
}

#[test]
fn compute_of_a_tuple_runs_the_shared_task_once() {
    let (runs, _, [a, b, c]) = shared_graph();
    assert_eq!(drask::compute((a, b, c)).unwrap(), (11, 20, -1));
    assert_eq!(runs.load(Ordering::SeqCst), 1);

    for (name, options) in both_executors() {
        let (runs, shared, [a, b, c]) = shared_graph();
        let out = (shared, a.clone(), b, c, a).compute_with(&options).unwrap();
        assert_eq!(out, (10, 11, 20, -1, 11), "{name}");
        assert_eq!(runs.load(Ordering::SeqCst), 1, "{name}");
    }

    // Computing separately runs it again: there is no cache between computes.
    let (runs, _, [a, b, _]) = shared_graph();
    assert_eq!((a.compute().unwrap(), b.compute().unwrap()), (11, 20));
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}

#[test]
fn compute_of_a_vec_runs_the_shared_task_once() {
    for (name, options) in both_executors() {
        let (runs, _, [a, b, c]) = shared_graph();
        let all = vec![a, b, c];
        assert_eq!(all.compute_with(&options).unwrap(), vec![11, 20, -1], "{name}");
        assert_eq!(runs.load(Ordering::SeqCst), 1, "{name}");
    }
    let (runs, _, abc) = shared_graph();
    assert_eq!(drask::compute(abc.to_vec()).unwrap(), vec![11, 20, -1]);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[test]
fn named_calls_dedup_and_unnamed_calls_do_not() {
    let square = delayed(|x: &i64| x * x).name("square");
    let (a, b) = (square.call((3_i64,)), square.call((3_i64,)));
    assert_eq!(a.key(), b.key());
    let both = Delayed::collect([a, b]);
    let graph = both.graph(false).unwrap();
    assert_eq!(graph.len(), 2, "one square task and the list:\n{graph}");
    assert_eq!(both.compute().unwrap(), vec![9, 9]);

    // Also through delayed inputs, and across separately built handles.
    let x = Delayed::value(4_i64);
    let via_x = [square.call((&x,)), square.call((Delayed::value(4_i64),))];
    assert_eq!(via_x[0].key(), via_x[1].key());
    assert_eq!(Delayed::collect(via_x).graph(false).unwrap().len(), 3);

    // Different inputs, or the same value as another type, are different tasks.
    assert_ne!(square.call((3_i64,)).key(), square.call((4_i64,)).key());
    let square32 = delayed(|x: &i32| x * x).name("square");
    assert_ne!(square.call((3_i64,)).key(), square32.call((3_i32,)).key());

    // Unnamed closures may capture anything: every call is its own task.
    let anon = delayed(|x: &i64| x * x);
    let calls = Delayed::collect([anon.call((3_i64,)), anon.call((3_i64,))]);
    assert_eq!(calls.graph(false).unwrap().len(), 3);
    assert_eq!(calls.compute().unwrap(), vec![9, 9]);

    // A named call on a value with no codec cannot be identified: it is unique, not merged.
    struct Opaque(i64);
    let get = delayed(|o: &Opaque| o.0).name("get");
    assert_ne!(get.call((Opaque(1),)).key(), get.call((Opaque(1),)).key());
}

#[test]
fn explain_shows_every_stage() {
    let inc = delayed(|x: &i64| x + 1).name("inc");
    let x = Delayed::value(1_i64);
    let y = inc.call((&x,));
    let z = delayed(add).name("add").call((&y, &x));
    let text = z.explain();
    let (xn, yn, zn) = (x.key(), y.key(), z.key());
    let (xn, yn, zn) = (xn.name(), yn.name(), zn.name());
    let lines: Vec<&str> = text.lines().collect();

    // The high-level graph, inputs first, then the task graph as lowered.
    assert_eq!(
        lines[..8],
        [
            "high-level graph: 3 operations".to_string(),
            format!("  {xn} = literal()"),
            format!("  {yn} = inc({xn})"),
            format!("  {zn} = add({yn}, {xn})"),
            "task graph: 3 tasks".to_string(),
            format!("  '{xn}' = literal()"),
            format!("  '{yn}' = inc('{xn}')"),
            format!("  '{zn}' = add('{yn}', '{xn}')"),
        ],
        "{text}"
    );
    // Then what each pass did, and the optimized graph, which keeps the output's key.
    let header = lines[8];
    assert!(
        header.starts_with("optimized (cull 3 -> ") && header.contains(", inline "),
        "{text}"
    );
    assert!(header.contains(", fuse ") && header.ends_with(" tasks"), "{text}");
    let optimized = z.graph(true).unwrap();
    assert!(header.ends_with(&format!("): {} tasks", optimized.len())), "{text}");
    assert_eq!(lines.len(), 9 + optimized.len(), "{text}");
    assert!(
        lines[9..].iter().any(|l| l.starts_with(&format!("  '{zn}' = "))),
        "{text}"
    );

    // Names are tokens: the same graph built again explains identically.
    let again = delayed(add).name("add").call((inc.call((&x,)), Delayed::value(1_i64)));
    assert_eq!(again.explain(), text);
}

#[test]
fn to_dot_has_one_node_line_per_task_and_one_edge_line_per_argument() {
    let parts: Vec<Delayed<i64>> = (0..5_i64).map(|i| delayed(|x: &i64| x * 3).call((i,))).collect();
    let total = delayed(|v: &Vec<i64>, k: &i64| v.iter().sum::<i64>() * k)
        .name("total")
        .call((Delayed::collect(parts), Delayed::value(2_i64)));
    for optimized in [false, true] {
        let graph = total.graph(optimized).unwrap();
        let dot = graph.to_dot();
        assert!(dot.starts_with("digraph drask {\n") && dot.ends_with("}\n"), "{dot}");
        let nodes = dot.lines().filter(|l| l.contains(" [label=\"") && !l.contains("->"));
        assert_eq!(nodes.count(), graph.len(), "{dot}");
        assert_eq!(dot.lines().filter(|l| l.contains(" -> ")).count(), graph.edge_count());
        if !optimized {
            assert_eq!(graph.len(), 8, "5 parts, the list, the literal, the total");
            assert!(dot.contains("\\ntotal\"];"), "{dot}");
        }
    }
    assert_eq!(total.compute().unwrap(), 60);
}

/// A chain `depth` calls deep, built on a thread with the default 2 MiB stack.
fn deep_chain_on_a_small_stack(depth: u64, name: &'static str, options: ComputeOptions) {
    let handle = std::thread::Builder::new()
        .name(format!("deep chain, {name}"))
        .stack_size(2 << 20)
        .spawn(move || {
            let inc = delayed(|x: &u64| x + 1);
            let mut x = Delayed::value(0_u64);
            for _ in 0..depth {
                x = inc.call((&x,));
            }
            assert_eq!(x.compute_with(&options).unwrap(), depth, "{name}");
            let graph = x.graph(false).unwrap();
            assert_eq!(graph.len() as u64, depth + 1);
            drop(graph);
            // Dropping the last handle frees the whole chain of nodes.
            drop(x);
        })
        .unwrap();
    handle.join().expect("no stack overflow");
}

#[test]
fn a_100k_deep_chain_computes_and_drops_on_a_2mib_stack() {
    for (name, options) in both_executors() {
        deep_chain_on_a_small_stack(100_000, name, options);
    }
}

fn inc(x: &i64) -> i64 {
    x + 1
}
drask::register_fn!(inc);

fn times(x: &i64, k: &i64) -> i64 {
    x * k
}
drask::register_fn!(times);

fn checked_half(x: &i64) -> Result<i64, String> {
    if x % 2 == 0 {
        Ok(x / 2)
    } else {
        Err(format!("{x} is odd"))
    }
}
drask::register_fn!(try checked_half);

/// Sends `graph` through JSON and rebuilds it, as a worker process would.
fn round_trip(graph: &drask::graph::Graph) -> drask::graph::Graph {
    let spec = GraphSpec::from_graph(graph).unwrap();
    let wire = serde_json::to_string(&spec).unwrap();
    let back: GraphSpec = serde_json::from_str(&wire).unwrap();
    assert_eq!(back, spec);
    back.to_graph().unwrap()
}

#[test]
fn registered_functions_round_trip_through_json_and_compute_the_same() {
    let x = Delayed::value(20_i64);
    let y = drask::registered!(inc).call((&x,)); // 21
    let z = drask::registered!(times).call((&y, 2_i64)); // 42
    let w = drask::registered!(checked_half).try_call((&z,)); // 21
    let top = drask::registered!(times).call((&w, &y)); // 441

    let graph = top.graph(true).unwrap();
    let rebuilt = round_trip(&graph);
    assert_eq!(rebuilt.to_string(), graph.to_string());
    let values = Synchronous.execute(&rebuilt, &top.keys(), &[]).unwrap();
    assert_eq!(values[0].downcast_ref::<i64>(), Some(&441));
    assert_eq!(top.compute().unwrap(), 441);

    // A fallible registered function still fails with its key after the trip.
    let odd = drask::registered!(checked_half).try_call((&y,));
    let rebuilt = round_trip(&odd.graph(true).unwrap());
    let err = Synchronous.execute(&rebuilt, &odd.keys(), &[]).unwrap_err();
    assert_eq!(err.key(), Some(&odd.key()));
    assert!(err.to_string().ends_with("failed: 21 is odd"), "{err}");
}

#[test]
fn a_collected_list_round_trips() {
    let parts = (0..3_i64).map(|i| drask::registered!(inc).call((i,)));
    let list = Delayed::collect(parts);
    let rebuilt = round_trip(&list.graph(true).unwrap());
    let values = Synchronous.execute(&rebuilt, &list.keys(), &[]).unwrap();
    assert_eq!(values[0].downcast_ref::<Vec<i64>>(), Some(&vec![1, 2, 3]));
}

fn unregistered_error() -> (String, drask::graph::Key) {
    let x = drask::registered!(inc).call((1_i64,));
    let bad = delayed(|x: &i64| x * 2).call((&x,));
    let key = bad.key();
    match GraphSpec::from_graph(&bad.graph(true).unwrap()) {
        Err(Error::Remote(msg)) => (msg, key),
        other => panic!("expected Error::Remote, got {other:?}"),
    }
}

#[test]
fn an_unregistered_closure_cannot_be_sent_and_the_error_says_how_to_register_it() {
    let (msg, key) = unregistered_error();
    assert!(msg.contains(&key.to_string()), "names the task: {msg}");
    assert!(msg.contains("register_fn!"), "{msg}");
    assert!(msg.contains("registered!"), "{msg}");
    // It still runs locally.
    let doubled = delayed(|x: &i64| x * 2).call((drask::registered!(inc).call((1_i64,)),));
    assert_eq!(doubled.compute().unwrap(), 4);
}

#[test]
fn the_registration_hint_shows_the_macros_real_syntax() {
    let (msg, _) = unregistered_error();
    assert!(!msg.contains("ArgTypes"), "{msg}");
    assert!(msg.contains("drask::register_fn!(name)"), "{msg}");
}
