//! How computes fail, on every executor: the first error wins and names its task's key, no new
//! task starts after it, panics become errors, and nothing hangs.
//!
//! Every compute here runs under a 30 s watchdog, so a hang fails the test instead of blocking CI.
//! Panicking tasks print the usual panic message on standard error; that noise is expected.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use drask::graph::Key;
use drask::prelude::*;
use drask::sched::{Synchronous, Threaded};
use drask::{Error, PanicError};

/// The executors every behaviour is checked on.
fn executors() -> Vec<(&'static str, ComputeOptions)> {
    vec![
        ("synchronous", ComputeOptions::new().executor(Synchronous)),
        ("threaded-global", ComputeOptions::new().executor(Threaded::new())),
        (
            "threaded-4",
            ComputeOptions::new().executor(Threaded::with_threads(4).unwrap()),
        ),
    ]
}

/// Runs `f` on its own thread and fails the test if it takes more than 30 s (a hang). A panic in
/// `f` is resumed here.
fn watchdog<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::Builder::new()
        .name(format!("watchdog: {what}"))
        .spawn(move || {
            let _ = tx.send(f());
        })
        .unwrap();
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(value) => value,
        Err(RecvTimeoutError::Timeout) => panic!("{what}: hung for 30 s"),
        Err(RecvTimeoutError::Disconnected) => match handle.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the thread exits without sending only by panicking"),
        },
    }
}

/// Splits an [`Error::Task`] into its key and cause; fails the test on any other error.
fn task_error(err: &Error) -> (&Key, &(dyn std::error::Error + Send + Sync + 'static)) {
    match err {
        Error::Task { key, source } => (key, &**source),
        other => panic!("expected Error::Task, got {other:?}"),
    }
}

/// `n` independent tasks where task `fail_at` returns `Err`; `started` counts the tasks that
/// began running, `after_failure` those that began after the failing task ran. Returns the list
/// and the failing task's key.
fn wide_graph_failing_at(
    n: usize,
    fail_at: usize,
    started: Arc<AtomicUsize>,
    after_failure: Arc<AtomicUsize>,
) -> (Delayed<Vec<usize>>, Key) {
    let failed = Arc::new(AtomicBool::new(false));
    let f = delayed(move |i: &usize| -> Result<usize, String> {
        if failed.load(Ordering::SeqCst) {
            after_failure.fetch_add(1, Ordering::SeqCst);
        }
        started.fetch_add(1, Ordering::SeqCst);
        if *i == fail_at {
            failed.store(true, Ordering::SeqCst);
            return Err(format!("record {i} is corrupt"));
        }
        Ok(*i)
    });
    let tasks: Vec<Delayed<usize>> = (0..n).map(|i| f.try_call((i,))).collect();
    let bad = tasks[fail_at].key();
    (Delayed::collect(tasks), bad)
}

#[test]
fn failure_in_the_middle_of_a_wide_graph_names_the_task_and_stops_new_work() {
    for (name, options) in executors() {
        let started = Arc::new(AtomicUsize::new(0));
        let after = Arc::new(AtomicUsize::new(0));
        let (list, bad) = wide_graph_failing_at(1000, 500, started.clone(), after.clone());
        let err = watchdog(name, move || list.compute_with(&options).unwrap_err());
        let (key, source) = task_error(&err);
        assert_eq!(key, &bad, "{name}");
        assert_eq!(err.key(), Some(&bad));
        assert_eq!(source.to_string(), "record 500 is corrupt", "{name}");
        assert!(err.to_string().contains("record 500 is corrupt"), "{name}");

        let started = started.load(Ordering::SeqCst);
        let after = after.load(Ordering::SeqCst);
        println!("{name}: 1000 tasks, task 500 fails: {started} started, {after} after the failure");
        assert!(started < 1000, "{name}: {started} tasks started");
        if name == "synchronous" {
            // The reference executor runs independent tasks in argument order and stops at once.
            assert_eq!(started, 501, "{name}");
            assert_eq!(after, 0, "{name}");
        }
    }
}

#[test]
fn threaded_stops_a_large_graph_soon_after_an_early_failure() {
    for threads in [2, 4] {
        let started = Arc::new(AtomicUsize::new(0));
        let after = Arc::new(AtomicUsize::new(0));
        let (list, bad) = wide_graph_failing_at(10_000, 10, started.clone(), after.clone());
        let options = ComputeOptions::new().executor(Threaded::with_threads(threads).unwrap());
        let err = watchdog("threaded, 10k tasks", move || list.compute_with(&options).unwrap_err());
        assert_eq!(err.key(), Some(&bad));
        let started = started.load(Ordering::SeqCst);
        let after = after.load(Ordering::SeqCst);
        println!(
            "threaded ({threads} threads): 10000 tasks, task 10 fails: {started} started, \
             {after} after the failure"
        );
        assert!(started < 10_000, "{started} of 10000 tasks started");
        // Roots are released two per thread at a time, so only a handful of tasks can be in
        // flight when the failure lands; allow a wide margin for a loaded machine.
        assert!(started < 1_000, "{started} of 10000 tasks started");
    }
}

#[test]
fn the_first_error_wins_when_every_task_fails() {
    for (name, options) in executors() {
        let f = delayed(|i: &u32| -> Result<u32, String> { Err(format!("task {i} failed")) });
        let tasks: Vec<Delayed<u32>> = (0..200).map(|i| f.try_call((i,))).collect();
        let keys: Vec<Key> = tasks.iter().map(Delayed::key).collect();
        let first = keys[0].clone();
        let err = watchdog(name, move || tasks.compute_with(&options).unwrap_err());
        let (key, source) = task_error(&err);
        assert!(keys.contains(key), "{name}: {err}");
        assert!(source.to_string().ends_with(" failed"));
        if name == "synchronous" {
            assert_eq!(key, &first);
            assert_eq!(source.to_string(), "task 0 failed");
        }
    }
}

fn panic_source(err: &Error) -> &PanicError {
    let source = std::error::Error::source(err).expect("a task error has a source");
    source
        .downcast_ref::<PanicError>()
        .unwrap_or_else(|| panic!("the source of {err} is not a PanicError"))
}

#[test]
fn a_panicking_task_becomes_a_task_error_with_the_panic_message() {
    for (name, options) in executors() {
        let boom = delayed(|x: &i32| -> i32 { panic!("kaboom at {x}") }).call((7,));
        let ok = delayed(|x: &i32| x + 1).call((1,));
        let bad = boom.key();
        let err = watchdog(name, move || (ok, boom).compute_with(&options).unwrap_err());
        assert_eq!(err.key(), Some(&bad), "{name}");
        assert_eq!(panic_source(&err).0, "kaboom at 7", "{name}");
        assert!(err.to_string().contains("panicked: kaboom at 7"), "{name}: {err}");
    }
}

#[test]
fn a_panic_with_a_non_string_payload_becomes_a_task_error() {
    for (name, options) in executors() {
        let boom = delayed(|| -> i32 { std::panic::panic_any(42_i32) }).call(());
        let bad = boom.key();
        let err = watchdog(name, move || boom.compute_with(&options).unwrap_err());
        assert_eq!(err.key(), Some(&bad), "{name}");
        assert_eq!(panic_source(&err).0, "a non-string panic payload", "{name}");
    }
}

#[test]
fn the_process_survives_many_panicking_computes() {
    // Panics are caught per task: the pools stay usable afterwards.
    let options = ComputeOptions::new().executor(Threaded::with_threads(2).unwrap());
    for round in 0..20 {
        let options = options.clone();
        let err = watchdog("repeated panics", move || {
            let tasks: Vec<Delayed<u32>> = (0..50_u32)
                .map(|i| {
                    delayed(move |x: &u32| -> u32 {
                        if *x % 7 == 3 {
                            panic!("round {round} task {x}");
                        }
                        *x
                    })
                    .call((i,))
                })
                .collect();
            Delayed::collect(tasks).compute_with(&options).unwrap_err()
        });
        assert!(panic_source(&err).0.starts_with(&format!("round {round} task ")));
    }
    let fine = Delayed::collect((0..50_u32).map(|i| delayed(|x: &u32| x * 2).call((i,))));
    let out = watchdog("after panics", move || fine.compute_with(&options).unwrap());
    assert_eq!(out.iter().sum::<u32>(), 2 * (0..50).sum::<u32>());
}

#[test]
fn an_error_in_a_shared_dependency_is_reported_once_and_no_dependent_runs() {
    for (name, options) in executors() {
        let ran = Arc::new(AtomicUsize::new(0));
        let shared = delayed(|| -> Result<Vec<f64>, String> { Err("the input file is truncated".into()) })
            .name("load")
            .try_call(());
        let counter = ran.clone();
        let use_it = delayed(move |data: &Vec<f64>, i: &usize| -> f64 {
            counter.fetch_add(1, Ordering::SeqCst);
            data[*i]
        });
        let dependents: Vec<Delayed<f64>> = (0..500).map(|i| use_it.call((&shared, i))).collect();
        let shared_key = shared.key();

        // As one list, and as 500 separate outputs of one compute.
        let list = Delayed::collect(dependents.clone());
        let list_options = options.clone();
        let errors = watchdog(name, move || {
            (
                list.compute_with(&list_options).unwrap_err(),
                dependents.compute_with(&options).unwrap_err(),
            )
        });
        for err in [errors.0, errors.1] {
            let (key, source) = task_error(&err);
            assert_eq!(key, &shared_key, "{name}");
            assert_eq!(source.to_string(), "the input file is truncated");
            let text = err.to_string();
            assert_eq!(text.matches(shared_key.name()).count(), 1, "{name}: {text}");
            assert_eq!(text.matches("truncated").count(), 1, "{name}: {text}");
        }
        assert_eq!(ran.load(Ordering::SeqCst), 0, "{name}: a dependent ran");
    }
}

/// A 100-step chain whose step 50 (counting from 0) fails; returns the chain's end, every step's
/// key and the count of steps that ran.
fn chain_failing_at_step_50() -> (Delayed<u64>, Vec<Key>, Arc<AtomicUsize>) {
    let ran = Arc::new(AtomicUsize::new(0));
    let counter = ran.clone();
    let step = delayed(move |x: &u64| -> Result<u64, String> {
        counter.fetch_add(1, Ordering::SeqCst);
        if *x == 50 { Err("fifty".into()) } else { Ok(x + 1) }
    });
    let mut x = Delayed::value(0_u64);
    let mut keys = Vec::new();
    for _ in 0..100 {
        x = step.try_call((&x,));
        keys.push(x.key());
    }
    (x, keys, ran)
}

#[test]
fn an_error_deep_in_a_chain_stops_the_chain() {
    for (name, options) in executors() {
        for optimize in [false, true] {
            let (x, keys, ran) = chain_failing_at_step_50();
            let options = options.clone().optimize(optimize);
            let err = watchdog(name, move || x.compute_with(&options).unwrap_err());
            let (key, source) = task_error(&err);
            assert_eq!(source.to_string(), "fifty", "{name}");
            assert_eq!(ran.load(Ordering::SeqCst), 51, "{name}, optimize {optimize}");
            if optimize {
                // Fusion merges the chain into one task: the error names a key of the chain.
                assert!(keys.contains(key), "{name}: {err}");
            } else {
                assert_eq!(key, &keys[50], "{name}");
            }
        }
    }
}

#[test]
fn an_error_in_a_fused_chain_names_the_step_that_failed() {
    for (name, options) in executors() {
        let (x, keys, _) = chain_failing_at_step_50();
        let err = watchdog(name, move || x.compute_with(&options).unwrap_err());
        assert_eq!(err.key(), Some(&keys[50]), "{name}: {err}");
    }
}

#[test]
fn computes_with_errors_do_not_hang_under_any_shape() {
    // Wide, deep and diamond-shaped graphs with a failure at the start, middle or end; every
    // compute must return (the watchdog fails the test after 30 s otherwise).
    for (name, options) in executors() {
        for fail_at in [0_usize, 37, 99] {
            let f = delayed(move |i: &usize, prev: &Vec<usize>| -> Result<usize, String> {
                if *i == fail_at {
                    return Err(format!("fail at {i}"));
                }
                Ok(prev.iter().sum::<usize>() % 1_000 + i)
            });
            // 100 layers of 4 tasks, each reading the whole previous layer.
            let mut layer: Vec<Delayed<usize>> = (0..4).map(Delayed::value).collect();
            for i in 0..100 {
                let all = Delayed::collect(layer.clone());
                layer = (0..4).map(|_| f.try_call((i, &all))).collect();
            }
            let options = options.clone();
            let err = watchdog(name, move || Delayed::collect(layer).compute_with(&options));
            let err = err.unwrap_err();
            assert!(err.to_string().contains(&format!("fail at {fail_at}")), "{name}: {err}");
        }
    }
}

#[test]
fn nested_compute_inside_a_task_works_without_deadlock() {
    let outer_options = [
        ("threaded-global", ComputeOptions::new().executor(Threaded::new())),
        (
            "threaded-2",
            ComputeOptions::new().executor(Threaded::with_threads(2).unwrap()),
        ),
        ("synchronous", ComputeOptions::new().executor(Synchronous)),
    ];
    for (name, options) in outer_options {
        // More outer tasks than threads, each blocking on its own inner compute on the global pool.
        let outer = delayed(|n: &u64| -> Result<u64, Error> {
            let parts = (0..*n).map(|i| delayed(|x: &u64| x * x).call((i,)));
            let total = delayed(|v: &Vec<u64>| v.iter().sum::<u64>()).call((Delayed::collect(parts),));
            total.compute()
        });
        let results: Vec<Delayed<u64>> = (1..=16_u64).map(|n| outer.try_call((n * 10,))).collect();
        let out = watchdog(name, move || Delayed::collect(results).compute_with(&options));
        let expected: Vec<u64> = (1..=16_u64).map(|n| (0..n * 10).map(|i| i * i).sum()).collect();
        assert_eq!(out.unwrap(), expected, "{name}");
    }
}

#[test]
fn an_error_inside_a_nested_compute_chains_both_keys() {
    for (name, options) in executors() {
        let inner_bad = Arc::new(std::sync::Mutex::new(None::<Key>));
        let slot = inner_bad.clone();
        let outer = delayed(move |x: &i32| -> Result<i32, Error> {
            let inner = delayed(|x: &i32| -> Result<i32, String> { Err(format!("inner {x}")) }).try_call((*x,));
            *slot.lock().unwrap() = Some(inner.key());
            inner.compute()
        })
        .try_call((5,));
        let outer_key = outer.key();
        let err = watchdog(name, move || outer.compute_with(&options).unwrap_err());
        assert_eq!(err.key(), Some(&outer_key), "{name}");
        let inner = task_error(&err)
            .1
            .downcast_ref::<Error>()
            .expect("the outer task's cause is the inner compute's error");
        let inner_key = inner_bad.lock().unwrap().clone().unwrap();
        assert_eq!(inner.key(), Some(&inner_key), "{name}");
        let text = err.to_string();
        assert!(text.contains(&outer_key.to_string()), "{text}");
        assert!(text.contains(&inner_key.to_string()), "{text}");
        assert!(text.ends_with("failed: inner 5"), "{text}");
    }
}

#[test]
fn errors_are_clone_send_sync_and_display_the_key() {
    fn assert_traits<T: Clone + Send + Sync + std::error::Error + 'static>() {}
    assert_traits::<Error>();

    let parse = delayed(|s: &String| s.parse::<i32>()).name("parse");
    let bad = parse.try_call(("x1".to_string(),));
    let key = bad.key();
    let err = watchdog("display", move || {
        bad.compute_with(&ComputeOptions::new().executor(Synchronous))
            .unwrap_err()
    });
    let text = err.to_string();
    assert!(text.starts_with("task 'parse-"), "{text}");
    assert_eq!(text, format!("task {key} failed: invalid digit found in string"));
    // The token is 16 hex digits: `task 'parse-0123456789abcdef' failed: …`.
    let token = &text["task 'parse-".len().."task 'parse-".len() + 16];
    assert!(token.chars().all(|c| c.is_ascii_hexdigit()), "{text}");
    assert!(text["task 'parse-".len() + 16..].starts_with("' failed: "));

    let copy = err.clone();
    assert_eq!(copy.to_string(), text);
    assert_eq!(copy.key(), err.key());
    match (&err, &copy) {
        (Error::Task { source: a, .. }, Error::Task { source: b, .. }) => {
            assert!(Arc::ptr_eq(a, b), "cloning shares the cause");
            assert!(a.downcast_ref::<std::num::ParseIntError>().is_some());
        }
        _ => unreachable!(),
    }

    // An unnamed closure shows as `lambda`.
    let anon = delayed(|| -> Result<(), String> { Err("nope".into()) }).try_call(());
    let err = watchdog("display lambda", move || anon.compute().unwrap_err());
    assert!(err.to_string().starts_with("task 'lambda-"), "{err}");
    assert!(err.to_string().ends_with("' failed: nope"), "{err}");
}

#[test]
fn a_failed_output_fails_a_tuple_compute_that_shares_it() {
    for (name, options) in executors() {
        let good = delayed(|| 1_i32).call(());
        let bad = delayed(|x: &i32| -> Result<i32, String> { Err(format!("bad {x}")) }).try_call((&good,));
        let also = delayed(|x: &i32| x + 1).call((&good,));
        let bad_key = bad.key();
        let err = watchdog(name, move || (good, bad, also).compute_with(&options).map(|_| ()));
        assert_eq!(err.unwrap_err().key(), Some(&bad_key), "{name}");
    }
}
