//! Bags are remote-ready: graphs of built-in bag ops over registered item types, and of
//! registered user functions, survive the trip a remote worker's graph takes (spec, JSON,
//! rebuild through the registry) and compute the same values; closures and unregistered types
//! are refused with an error that says what to register.

// Key and filter functions take `&T`, and here `T` is often `String`.
#![allow(clippy::ptr_arg)]

use std::collections::HashMap;

use drask::Error;
use drask::graph::Graph;
use drask::prelude::*;
use drask::registry::GraphSpec;
use drask::sched::{Executor, Synchronous, Threaded};
use proptest::prelude::*;
use serde_json::{Value as Json, json};

/// Sends `graph` through JSON and rebuilds it, as a worker process would.
fn round_trip(graph: &Graph) -> Graph {
    let spec = GraphSpec::from_graph(graph).unwrap();
    let wire = serde_json::to_string(&spec).unwrap();
    let back: GraphSpec = serde_json::from_str(&wire).unwrap();
    assert_eq!(back, spec);
    let rebuilt = back.to_graph().unwrap();
    assert_eq!(rebuilt.to_string(), graph.to_string());
    rebuilt
}

/// The collection computed from its rebuilt graph, unoptimized and optimized, on both
/// executors; asserts that all four agree with `compute()` and returns the value.
fn remotely<C>(c: &C) -> C::Output
where
    C: Collection,
    C::Output: PartialEq + std::fmt::Debug,
{
    let local = c.compute().unwrap();
    for optimize in [false, true] {
        let rebuilt = round_trip(&c.graph(optimize).unwrap());
        let executors: [&dyn Executor; 2] = [&Synchronous, &Threaded::new()];
        for executor in executors {
            let values = executor.execute(&rebuilt, &c.keys(), &[]).unwrap();
            let remote = c.finalize(&mut values.into_iter()).unwrap();
            assert_eq!(remote, local, "optimize = {optimize}");
        }
    }
    local
}

fn refusal(graph: &Graph) -> String {
    match GraphSpec::from_graph(graph) {
        Err(Error::Remote(msg)) => msg,
        other => panic!("expected Error::Remote, got {other:?}"),
    }
}

// Functions registered for the bag methods that take them.

fn parse(s: String) -> i64 {
    s.trim().parse().unwrap_or(-1)
}
drask::register_bag_fn!(map parse);

fn try_parse(s: String) -> Result<i64, std::num::ParseIntError> {
    s.trim().parse()
}
drask::register_bag_fn!(try_map try_parse);

fn shout(s: String) -> String {
    s.to_uppercase()
}
drask::register_bag_fn!(map shout);

fn is_odd(x: &i64) -> bool {
    x % 2 != 0
}
drask::register_bag_fn!(filter is_odd);

fn is_long(s: &String) -> bool {
    s.len() > 2
}
drask::register_bag_fn!(filter is_long);

fn words(line: String) -> Vec<String> {
    line.split_whitespace().map(str::to_string).collect()
}
drask::register_bag_fn!(flat_map words);

fn running_sum(p: Vec<i64>) -> Vec<i64> {
    p.iter()
        .scan(0, |acc, x| {
            *acc += x;
            Some(*acc)
        })
        .collect()
}
drask::register_bag_fn!(map_partitions running_sum);

fn last_digit(x: &i64) -> i64 {
    x.rem_euclid(10)
}
drask::register_bag_fn!(topk last_digit);
drask::register_bag_fn!(groupby last_digit);

fn length(s: &String) -> usize {
    s.len()
}
drask::register_bag_fn!(topk length);
drask::register_bag_fn!(groupby length);

fn count_of(pair: &(String, u64)) -> u64 {
    pair.1
}
drask::register_bag_fn!(topk count_of);

fn first_letter(s: &String) -> char {
    s.chars().next().unwrap_or(' ')
}

fn add_len(acc: usize, s: String) -> usize {
    acc + s.len()
}

fn add(a: usize, b: usize) -> usize {
    a + b
}
drask::register_bag_fn!(foldby first_letter, add_len, add);
drask::register_bag_fn!(fold add_len, add);

fn plus(a: i64, b: i64) -> i64 {
    a + b
}
drask::register_bag_fn!(reduce plus);

fn name_of(v: Json) -> String {
    v["name"].as_str().unwrap_or("").to_string()
}
drask::register_bag_fn!(map name_of);

/// A user's own item type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, serde::Serialize, serde::Deserialize)]
struct Visit {
    page: String,
    ms: u32,
}
drask::register_bag_type!(Visit);

fn page_of(v: &Visit) -> String {
    v.page.clone()
}
drask::register_bag_fn!(groupby page_of);

fn numbers() -> Vec<i64> {
    vec![17, -4, 23, 8, 0, 95, 31, -12, 66, 5, 40, 3, 3, 77]
}

fn text() -> Vec<String> {
    ["the cat sat", "on the mat", "the end", "", "a cat"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

#[test]
fn element_wise_registered_functions_round_trip_over_two_item_types() {
    let n = numbers();
    let strings = Bag::from_vec(n.iter().map(|x| format!(" {x}")).collect(), 3);
    let parsed = strings.map(parse);
    assert_eq!(remotely(&parsed), n);
    assert_eq!(remotely(&strings.try_map(try_parse)), n);
    let odd: Vec<i64> = n.iter().copied().filter(|x| x % 2 != 0).collect();
    assert_eq!(remotely(&parsed.filter(is_odd)), odd);
    // A chain fuses into one task per partition; the fused op has a spec too.
    assert!(
        parsed
            .filter(is_odd)
            .graph(true)
            .unwrap()
            .to_string()
            .contains("map+filter")
    );

    let lines = Bag::from_vec(text(), 2);
    let expected: Vec<String> = text()
        .iter()
        .flat_map(|l| l.split_whitespace())
        .map(|w| w.to_uppercase())
        .collect();
    assert_eq!(remotely(&lines.flat_map(words).map(shout)), expected);
    let long: Vec<String> = expected.iter().filter(|w| w.len() > 2).cloned().collect();
    assert_eq!(remotely(&lines.flat_map(words).map(shout).filter(is_long)), long);

    let sums = Bag::from_partitions(vec![vec![1, 2, 3], vec![], vec![10, -1]]).map_partitions(running_sum);
    assert_eq!(remotely(&sums), [1, 3, 6, 10, 9]);
}

#[test]
fn built_in_reductions_round_trip_over_two_item_types() {
    let n = numbers();
    for parts in [1, 4, 14] {
        let bag = Bag::from_vec(n.clone(), parts);
        assert_eq!(remotely(&bag.count()), n.len() as u64);
        assert_eq!(remotely(&bag.count_with(2)), n.len() as u64);
        assert_eq!(remotely(&bag.sum()), n.iter().sum::<i64>());
        assert_eq!(remotely(&bag.min()), n.iter().min().copied());
        assert_eq!(remotely(&bag.max_with(3)), n.iter().max().copied());
        let mean = n.iter().sum::<i64>() as f64 / n.len() as f64;
        assert!((remotely(&bag.mean()).unwrap() - mean).abs() < 1e-12);
        assert_eq!(remotely(&bag.to_delayed()), n);
        assert_eq!(remotely(&bag.reduce(plus)), Some(n.iter().sum()));
    }
    let floats = Bag::from_vec(vec![2.5, -1.0, 7.25], 2);
    assert_eq!(remotely(&floats.sum()), 8.75);
    assert_eq!(remotely(&floats.min()), Some(-1.0));

    let all_words: Vec<String> = text()
        .iter()
        .flat_map(|l| l.split_whitespace())
        .map(String::from)
        .collect();
    let words_bag = Bag::from_vec(text(), 3).flat_map(words);
    assert_eq!(remotely(&words_bag.count()), all_words.len() as u64);
    assert_eq!(remotely(&words_bag.min()), all_words.iter().min().cloned());
    assert_eq!(remotely(&words_bag.max()), all_words.iter().max().cloned());
    let total_len: usize = all_words.iter().map(String::len).sum();
    assert_eq!(remotely(&words_bag.fold(0, add_len, add)), total_len);
    assert_eq!(remotely(&words_bag.fold_with(0, add_len, add, 2)), total_len);
}

#[test]
fn frequencies_distinct_and_topk_round_trip() {
    let all_words: Vec<String> = text()
        .iter()
        .flat_map(|l| l.split_whitespace())
        .map(String::from)
        .collect();
    let mut counts: HashMap<&str, u64> = HashMap::new();
    for w in &all_words {
        *counts.entry(w).or_default() += 1;
    }
    let words_bag = Bag::from_vec(text(), 3).flat_map(words);
    for split_out in [1, 3] {
        let mut freq = remotely(&words_bag.frequencies_with(2, split_out));
        freq.sort();
        let mut expected: Vec<(String, u64)> = counts.iter().map(|(w, n)| (w.to_string(), *n)).collect();
        expected.sort();
        assert_eq!(freq, expected);
        let mut distinct = remotely(&words_bag.distinct_with(2, split_out));
        distinct.sort();
        assert_eq!(distinct, expected.iter().map(|(w, _)| w.clone()).collect::<Vec<_>>());
    }
    // The word-count pattern: frequencies, then the most common.
    let top = remotely(&words_bag.frequencies().topk(2, count_of));
    assert_eq!(top, [("the".to_string(), 3), ("cat".to_string(), 2)]);
    // topk over numbers and strings, with ties kept in bag order.
    let n = numbers();
    let mut by_digit = n.clone();
    by_digit.sort_by_key(|x| std::cmp::Reverse(x.rem_euclid(10)));
    by_digit.truncate(4);
    assert_eq!(
        remotely(&Bag::from_vec(n.clone(), 5).topk_with(4, last_digit, 2)),
        by_digit
    );
    assert_eq!(remotely(&words_bag.topk(1, length)), ["the"]);
    // Numbers too.
    let mut freq = remotely(&Bag::from_vec(vec![3_i64, 1, 3, 3, 1, 2], 4).frequencies());
    freq.sort();
    assert_eq!(freq, [(1, 2), (2, 1), (3, 3)]);
}

#[test]
fn groupby_and_foldby_round_trip() {
    let n = numbers();
    let mut groups = remotely(&Bag::from_vec(n.clone(), 4).groupby(last_digit, Some(3)));
    groups.sort();
    let mut expected: Vec<(i64, Vec<i64>)> = Vec::new();
    for x in &n {
        let d = x.rem_euclid(10);
        match expected.iter_mut().find(|(k, _)| *k == d) {
            Some((_, items)) => items.push(*x),
            None => expected.push((d, vec![*x])),
        }
    }
    expected.sort();
    assert_eq!(groups, expected);

    let words_bag = Bag::from_vec(text(), 3).flat_map(words);
    let mut by_len = remotely(&words_bag.groupby(length, None));
    by_len.sort();
    assert_eq!(by_len[0], (1, vec!["a".to_string()]));

    let letters = remotely(&words_bag.foldby(first_letter, 0, add_len, add));
    assert_eq!(
        letters,
        [('t', 9), ('c', 6), ('s', 3), ('o', 2), ('m', 3), ('e', 3), ('a', 1)]
    );
    let mut split = remotely(&words_bag.foldby_with(first_letter, 0, add_len, add, 2, 3));
    split.sort();
    let mut sorted = letters.clone();
    sorted.sort();
    assert_eq!(split, sorted);
}

#[test]
fn reshaping_and_writing_round_trip() {
    let n = numbers();
    let bag = Bag::from_vec(n.clone(), 4);
    assert_eq!(remotely(&bag.repartition(2)), n);
    assert_eq!(remotely(&bag.repartition(9)), n);
    let doubled = bag.map(parse_twice);
    let zipped = bag.zip(&doubled).unwrap();
    assert_eq!(remotely(&zipped), n.iter().map(|x| (*x, 2 * x)).collect::<Vec<_>>());

    let dir = std::env::temp_dir().join(format!("drask-bag-remote-{}", std::process::id()));
    let files = bag
        .map(parse_twice)
        .to_text(dir.join("n-*.txt"), drask::bag::ToText::new());
    let written = remotely(&files);
    let back: Vec<i64> = written
        .iter()
        .flat_map(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .lines()
                .map(|l| l.parse().unwrap())
                .collect::<Vec<i64>>()
        })
        .collect();
    assert_eq!(back, n.iter().map(|x| 2 * x).collect::<Vec<_>>());
    std::fs::remove_dir_all(&dir).unwrap();
}

fn parse_twice(x: i64) -> i64 {
    2 * x
}
drask::register_bag_fn!(map parse_twice);

drask::register_bag_zip!(i64, String);

fn id_and_name_len(pair: (i64, String)) -> i64 {
    pair.0 * 100 + pair.1.len() as i64
}
drask::register_bag_fn!(map id_and_name_len);

#[test]
fn zip_of_two_item_types_round_trips_once_the_pair_is_registered() {
    let ids: Vec<i64> = (0..11).map(|i| i * 7 - 20).collect();
    let names: Vec<String> = ids.iter().map(|i| "x".repeat(i.unsigned_abs() as usize % 5)).collect();
    let expected: Vec<(i64, String)> = ids.iter().copied().zip(names.iter().cloned()).collect();
    for parts in [1, 3, 11] {
        let zipped = Bag::from_vec(ids.clone(), parts)
            .zip(&Bag::from_vec(names.clone(), parts))
            .unwrap();
        assert_eq!(remotely(&zipped), expected, "{parts} partitions");

        // The spec names both types; a worker rebuilds the same zip from it.
        let spec = GraphSpec::from_graph(&zipped.graph(false).unwrap()).unwrap();
        let zip = spec.tasks.iter().find(|t| t.op.name == "bag.zip").unwrap();
        assert_eq!(zip.op.params, json!({"type": "i64", "with": "alloc::string::String"}));

        // The zipped bag's item type is registered too: built-in ops over it have specs, and
        // zips fused with what follows them survive optimization.
        assert_eq!(remotely(&zipped.count()), ids.len() as u64);
        assert_eq!(remotely(&zipped.distinct()), expected);
        assert_eq!(
            remotely(&zipped.map(id_and_name_len).sum()),
            expected.iter().map(|(i, s)| i * 100 + s.len() as i64).sum::<i64>()
        );
    }
    // Partitions of different lengths fail the rebuilt graph's compute as they fail locally.
    let uneven = Bag::from_vec(ids.clone(), 2)
        .zip(&Bag::from_vec(names.clone(), 2).filter(is_long))
        .unwrap();
    let rebuilt = round_trip(&uneven.graph(true).unwrap());
    let err = Synchronous
        .execute(&rebuilt, &uneven.keys(), &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot zip partitions of different lengths"), "{err}");
    assert!(uneven.compute().is_err());
}

#[test]
fn zip_of_an_unregistered_pair_is_refused_with_the_pair_to_register() {
    let ids = Bag::from_vec(vec![1_i64, 2, 3], 2);
    let names = Bag::from_vec(vec!["a".to_string(), "b".into(), "c".into()], 2);
    // Pairs are registered in their order: (String, i64) is not (i64, String).
    let zipped = names.zip(&ids).unwrap();
    for optimize in [false, true] {
        let msg = refusal(&zipped.graph(optimize).unwrap());
        assert!(msg.contains("drask::register_bag_zip!(String, i64)"), "{msg}");
        assert!(
            msg.contains(&zipped.partition_key(0).to_string()) || optimize,
            "names the task: {msg}"
        );
        assert!(msg.contains("zip"), "{msg}");
    }
    // Still runs locally.
    assert_eq!(
        zipped.compute().unwrap(),
        [("a".to_string(), 1), ("b".to_string(), 2), ("c".to_string(), 3)]
    );
    assert!(!drask::bag::is_bag_zip::<String, i64>());
    assert!(drask::bag::is_bag_zip::<i64, String>());

    // Both item types registered, the pair not: named as code writes them.
    let visits = Bag::from_vec(
        vec![
            Visit {
                page: "/".into(),
                ms: 1,
            },
            Visit {
                page: "/a".into(),
                ms: 2,
            },
            Visit {
                page: "/b".into(),
                ms: 3,
            },
        ],
        2,
    );
    let msg = refusal(&ids.zip(&visits).unwrap().graph(false).unwrap());
    assert!(msg.contains("`drask::register_bag_zip!(i64, Visit)`"), "{msg}");

    // A worker that does not know the pair says what to register.
    let mut spec = GraphSpec::from_graph(&ids.zip(&names).unwrap().graph(false).unwrap()).unwrap();
    let task = spec.tasks.iter_mut().find(|t| t.op.name == "bag.zip").unwrap();
    task.op.params["with"] = json!("no::Such");
    let err = spec.to_graph().unwrap_err().to_string();
    assert!(err.contains("drask::register_bag_zip!(i64, no::Such)"), "{err}");
}

#[test]
fn json_bags_round_trip_from_file_to_counts() {
    let dir = std::env::temp_dir().join(format!("drask-bag-remote-json-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("a.jsonl"),
        "{\"name\": \"ada\", \"tags\": [1, 2]}\n{\"name\": \"bob\"}\n",
    )
    .unwrap();
    std::fs::write(dir.join("b.jsonl"), "{\"name\": \"ada\", \"tags\": [3]}\n[1]\n").unwrap();
    let records = Bag::read_json(dir.join("*.jsonl")).unwrap();
    assert_eq!(
        remotely(&records.pluck_or("name", json!("?"))),
        [json!("ada"), json!("bob"), json!("ada"), json!("?")]
    );
    let objects = records.filter(|v: &Json| v.is_object());
    assert!(
        GraphSpec::from_graph(&objects.graph(true).unwrap()).is_err(),
        "a closure filter"
    );
    let rows = Bag::from_vec(
        vec![
            json!({"name": "ada", "tags": [1, 2]}),
            json!({"name": "bob", "tags": [3]}),
        ],
        2,
    );
    assert_eq!(remotely(&rows.pluck("tags").pluck_index(0)), [json!(1), json!(3)]);
    assert_eq!(
        remotely(&rows.pluck("tags").pluck_index_or(1, json!(0))),
        [json!(2), json!(0)]
    );
    let names = Bag::read_json(dir.join("a.jsonl")).unwrap().map(name_of);
    assert_eq!(
        remotely(&names.frequencies()),
        [("ada".to_string(), 1), ("bob".to_string(), 1)]
    );
    assert_eq!(remotely(&rows.count()), 2);
    // JSON values are items of their own: counted, deduplicated, written as text.
    let names = Bag::read_json(dir.join("*.jsonl"))
        .unwrap()
        .pluck_or("name", Json::Null);
    assert_eq!(
        remotely(&names.frequencies()),
        [(json!("ada"), 2), (json!("bob"), 1), (Json::Null, 1)]
    );
    assert_eq!(remotely(&names.distinct()), [json!("ada"), json!("bob"), Json::Null]);
    let written = remotely(&names.to_text(dir.join("out"), drask::bag::ToText::new()));
    assert_eq!(std::fs::read_to_string(&written[0]).unwrap(), "\"ada\"\n\"bob\"\n");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_registered_user_type_round_trips() {
    let visits: Vec<Visit> = [("/", 30), ("/a", 12), ("/", 7), ("/b", 50), ("/a", 12)]
        .iter()
        .map(|&(page, ms)| Visit { page: page.into(), ms })
        .collect();
    let bag = Bag::from_vec(visits.clone(), 2);
    assert_eq!(remotely(&bag.count()), 5);
    assert_eq!(
        remotely(&bag.max()),
        visits.iter().max_by(|a, b| a.partial_cmp(b).unwrap()).cloned()
    );
    assert_eq!(remotely(&bag.distinct()).len(), 4);
    let freq = remotely(&bag.frequencies());
    assert_eq!(freq[1], (visits[1].clone(), 2));
    let mut pages = remotely(&bag.groupby(page_of, Some(2)));
    pages.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(pages[0], ("/".to_string(), vec![visits[0].clone(), visits[2].clone()]));
}

#[test]
fn closures_and_unregistered_types_are_refused_with_what_to_register() {
    let bag = Bag::from_vec(numbers(), 3);
    let closure = bag.map(|x: i64| x * 3);
    let msg = refusal(&closure.graph(false).unwrap());
    assert!(
        msg.contains(&closure.partition_key(0).to_string()),
        "names the task: {msg}"
    );
    assert!(msg.contains("register_bag_fn!(map parse)"), "{msg}");
    // Still runs locally.
    assert_eq!(closure.sum().compute().unwrap(), 3 * numbers().iter().sum::<i64>());

    // A registered function for another role is not registered for this one.
    let msg = refusal(&bag.topk(2, parse_twice_key).graph(false).unwrap());
    assert!(msg.contains("register_bag_fn!"), "{msg}");

    #[derive(Debug, Clone, PartialEq)]
    struct Unregistered(i64);
    let odd = Bag::from_vec(vec![Unregistered(1), Unregistered(2)], 2);
    let msg = refusal(&odd.count().graph(false).unwrap());
    assert!(msg.contains("register_bag_type!"), "{msg}");
    assert!(
        msg.contains("from_sequence"),
        "the literal partitions come first: {msg}"
    );
    assert_eq!(odd.count().compute().unwrap(), 2);

    // Rebuilding a spec for a type this binary does not know fails clearly.
    let mut spec = GraphSpec::from_graph(&bag.count().graph(false).unwrap()).unwrap();
    let task = spec.tasks.iter_mut().find(|t| t.op.name == "bag.count").unwrap();
    task.op.params["type"] = json!("no::Such");
    let err = spec.to_graph().unwrap_err().to_string();
    assert!(err.contains("no::Such") && err.contains("register_bag_type!"), "{err}");
}

fn parse_twice_key(x: &i64) -> i64 {
    2 * x
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Any data, any partitioning: the rebuilt graph computes what the bag computes.
    #[test]
    fn rebuilt_graphs_compute_the_same(items in prop::collection::vec(-50_i64..50, 0..40), parts in 1_usize..7) {
        let bag = Bag::from_vec(items.clone(), parts);
        let top = bag.filter(is_odd).topk(3, last_digit);
        prop_assert_eq!(remotely(&top).len(), items.iter().filter(|x| *x % 2 != 0).count().min(3));
        let mut freq = remotely(&bag.frequencies_with(2, 2));
        freq.sort();
        let mut expected: Vec<(i64, u64)> = Vec::new();
        let mut sorted = items.clone();
        sorted.sort();
        for x in sorted {
            match expected.last_mut() {
                Some((k, n)) if *k == x => *n += 1,
                _ => expected.push((x, 1)),
            }
        }
        prop_assert_eq!(freq, expected);
        prop_assert_eq!(remotely(&bag.sum()), items.iter().sum::<i64>());
    }
}
