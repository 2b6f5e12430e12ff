//! Every Bag operation against a plain iterator implementation, on random inputs and random
//! layouts (empty partitions, one-item partitions, more partitions than items), random
//! `split_every`, on the synchronous and the threaded executor, optimized and not. Then the ways
//! bag operations fail.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::fmt::Debug;

use drask::prelude::*;
use drask::sched::Synchronous;
use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::json;

/// Property cases per test: every case computes under four configurations.
const CASES: u32 = 128;

/// Every configuration an operation must give the same result under.
fn configs() -> [(&'static str, ComputeOptions); 4] {
    [
        (
            "synchronous",
            ComputeOptions::new().executor(Synchronous).optimize(false),
        ),
        ("synchronous optimized", ComputeOptions::new().executor(Synchronous)),
        ("threaded", ComputeOptions::new().optimize(false)),
        ("threaded optimized", ComputeOptions::new()),
    ]
}

/// Computes `c` under every configuration, passing each result through `normalize` and
/// comparing it with `expected`.
fn check_by<C: Collection, N: PartialEq + Debug>(
    c: &C,
    normalize: impl Fn(C::Output) -> N,
    expected: &N,
) -> Result<(), TestCaseError> {
    for (name, options) in configs() {
        let got = c
            .compute_with(&options)
            .map_err(|e| TestCaseError::fail(format!("{name}: {e}")))?;
        prop_assert_eq!(&normalize(got), expected, "{}", name);
    }
    Ok(())
}

fn check<C: Collection>(c: &C, expected: &C::Output) -> Result<(), TestCaseError>
where
    C::Output: PartialEq + Debug + Clone,
{
    check_by(c, |x| x, expected)
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

/// A random bag: its partitions and whether it was built with `from_vec` (even lengths).
#[derive(Debug, Clone)]
struct Input<T> {
    parts: Vec<Vec<T>>,
    even: bool,
}

impl<T: Clone + Send + Sync + 'static> Input<T> {
    fn items(&self) -> Vec<T> {
        self.parts.concat()
    }

    fn bag(&self) -> Bag<T> {
        if self.even {
            Bag::from_vec(self.items(), self.parts.len())
        } else {
            Bag::from_partitions(self.parts.clone())
        }
    }
}

/// `from_vec`'s layout: `n` partitions, the first `len % n` one longer.
fn split_even<T>(items: Vec<T>, n: usize) -> Vec<Vec<T>> {
    let (base, extra) = (items.len() / n, items.len() % n);
    let mut items = items.into_iter();
    (0..n)
        .map(|i| items.by_ref().take(base + usize::from(i < extra)).collect())
        .collect()
}

/// Bags of random items: half from `from_vec` with 1 to `len + 3` partitions, half ragged
/// (1 to 9 partitions of 0 to 3 items).
fn input<T: Debug + Clone + 'static>(
    item: impl Strategy<Value = T> + Clone + 'static,
) -> impl Strategy<Value = Input<T>> {
    let even = vec(item.clone(), 0..30)
        .prop_flat_map(|items| {
            let n = items.len();
            (Just(items), 1..=n + 3)
        })
        .prop_map(|(items, n)| Input {
            parts: split_even(items, n),
            even: true,
        });
    let ragged = vec(vec(item, 0..4), 1..10).prop_map(|parts| Input { parts, even: false });
    prop_oneof![even, ragged]
}

fn ints() -> impl Strategy<Value = Input<i32>> {
    input(-12_i32..12)
}

fn strings() -> impl Strategy<Value = Input<String>> {
    input("[a-c]{0,2}")
}

/// `(item, count)` in order of first appearance.
fn frequencies<T: Clone + PartialEq>(items: &[T]) -> Vec<(T, u64)> {
    let mut out: Vec<(T, u64)> = Vec::new();
    for x in items {
        match out.iter_mut().find(|(y, _)| y == x) {
            Some((_, n)) => *n += 1,
            None => out.push((x.clone(), 1)),
        }
    }
    out
}

/// The first `k` items of a stable sort by descending key.
fn topk<T: Clone, K: Ord>(items: &[T], k: usize, key: impl Fn(&T) -> K) -> Vec<T> {
    let mut all = items.to_vec();
    all.sort_by_key(|x| Reverse(key(x)));
    all.truncate(k);
    all
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn elementwise_ops_match_iterators(input in ints()) {
        let items = input.items();
        let bag = input.bag();
        prop_assert_eq!(bag.npartitions(), input.parts.len());
        check(&bag, &items)?;
        check(&bag.map(|x| x * 3 - 1), &items.iter().map(|x| x * 3 - 1).collect())?;
        check(&bag.filter(|x| x % 3 == 0), &items.iter().copied().filter(|x| x % 3 == 0).collect())?;
        check(
            &bag.flat_map(|x| vec![x; x.rem_euclid(3) as usize]),
            &items.iter().flat_map(|&x| vec![x; x.rem_euclid(3) as usize]).collect(),
        )?;
        let reversed = bag.map_partitions(|mut p| {
            p.reverse();
            p
        });
        let expected: Vec<i32> = input.parts.iter().flat_map(|p| p.iter().rev().copied()).collect();
        check(&reversed, &expected)?;
        check(
            &bag.map_partitions(|p| vec![p.len()]),
            &input.parts.iter().map(Vec::len).collect(),
        )?;
        // A chain that fuses, ending in a reduction.
        let chain = bag.map(i64::from).filter(|x| *x > 0).map(|x| x * x).sum();
        check(&chain, &items.iter().map(|&x| i64::from(x)).filter(|x| *x > 0).map(|x| x * x).sum())?;
    }

    #[test]
    fn scalar_reductions_match_iterators(input in ints(), split_every in 2_usize..5) {
        let items = input.items();
        let bag = input.bag();
        let n = items.len();
        let mean = (n > 0).then(|| items.iter().map(|&x| f64::from(x)).sum::<f64>() / n as f64);
        check(
            &(bag.count(), bag.sum(), bag.min(), bag.max(), bag.mean(), bag.to_delayed()),
            &(n as u64, items.iter().sum(), items.iter().min().copied(), items.iter().max().copied(), mean, items.clone()),
        )?;
        check(
            &(
                bag.count_with(split_every),
                bag.sum_with(split_every),
                bag.min_with(split_every),
                bag.max_with(split_every),
                bag.mean_with(split_every),
            ),
            &(n as u64, items.iter().sum(), items.iter().min().copied(), items.iter().max().copied(), mean),
        )?;
        check(
            &(
                bag.fold(0_i64, |a, x| a + i64::from(x), |a, b| a + b),
                bag.fold_with(0_i64, |a, x| a + i64::from(x), |a, b| a + b, split_every),
                bag.reduce(|a, b| a.max(b)),
                bag.reduce_with(|a, b| a.min(b), split_every),
            ),
            &(
                items.iter().map(|&x| i64::from(x)).sum(),
                items.iter().map(|&x| i64::from(x)).sum(),
                items.iter().copied().max(),
                items.iter().copied().min(),
            ),
        )?;
        // Mean of floats: the compensated sum matches a plain one on these small values.
        let floats = bag.map(|x| f64::from(x) / 4.0);
        let expected = (n > 0).then(|| items.iter().map(|&x| f64::from(x) / 4.0).sum::<f64>() / n as f64);
        check(&floats.mean_with(split_every), &expected)?;
    }

    #[test]
    fn order_sensitive_folds_keep_the_bag_order(input in strings(), split_every in 2_usize..5) {
        let items = input.items();
        let bag = input.bag();
        let concat = |mut a: String, b: String| {
            a.push_str(&b);
            a
        };
        check(&bag.fold_with(String::new(), concat, concat, split_every), &items.concat())?;
        let expected = (!items.is_empty()).then(|| items.concat());
        check(&bag.reduce_with(concat, split_every), &expected)?;
        check(&bag.reduce(concat), &expected)?;
        check(&bag.to_delayed(), &items)?;
    }

    #[test]
    fn frequencies_and_distinct_match_iterators(
        input in strings(),
        split_every in 2_usize..5,
        split_out in 1_usize..4,
    ) {
        let items = input.items();
        let bag = input.bag();
        let freq = frequencies(&items);
        let distinct: Vec<String> = freq.iter().map(|(x, _)| x.clone()).collect();
        // One output partition: exactly in order of first appearance.
        check(&bag.frequencies(), &freq)?;
        check(&bag.frequencies_with(split_every, 1), &freq)?;
        check(&bag.distinct(), &distinct)?;
        // Several: the same pairs, spread over `split_out` partitions.
        let spread = bag.frequencies_with(split_every, split_out);
        prop_assert_eq!(spread.npartitions(), split_out);
        check_by(&spread, sorted, &sorted(freq.clone()))?;
        let spread = bag.distinct_with(split_every, split_out);
        prop_assert_eq!(spread.npartitions(), split_out);
        check_by(&spread, sorted, &sorted(distinct))?;
        // Each output partition keeps first-appearance order among its own items.
        let parts = bag.frequencies_with(split_every, split_out).map_partitions(|p| vec![p]);
        for part in parts.compute().map_err(|e| TestCaseError::fail(e.to_string()))? {
            let order: Vec<&(String, u64)> = freq.iter().filter(|f| part.contains(f)).collect();
            prop_assert_eq!(part.iter().collect::<Vec<_>>(), order);
        }
    }

    #[test]
    fn topk_is_a_stable_sort_prefix(
        input in ints(),
        k in 0_usize..8,
        split_every in 2_usize..5,
    ) {
        let items = input.items();
        let bag = input.bag();
        // Many ties: the key has four values.
        let key = |x: &i32| x.rem_euclid(4);
        check(&bag.topk(k, key), &topk(&items, k, key))?;
        check(&bag.topk_with(k, key, split_every), &topk(&items, k, key))?;
        check(&bag.topk_with(k, |x: &i32| Reverse(*x), split_every), &topk(&items, k, |x| Reverse(*x)))?;
        prop_assert_eq!(bag.topk(k, key).npartitions(), 1);
    }

    #[test]
    fn most_frequent_words(input in strings(), k in 0_usize..5) {
        let items = input.items();
        let top = input.bag().frequencies().topk(k, |(w, n): &(String, u64)| (*n, Reverse(w.clone())));
        let expected = topk(&frequencies(&items), k, |(w, n)| (*n, Reverse(w.clone())));
        check(&top, &expected)?;
    }

    #[test]
    fn foldby_matches_a_btreemap(
        input in ints(),
        split_every in 2_usize..5,
        split_out in 1_usize..4,
    ) {
        let items = input.items();
        let bag = input.bag();
        let key = |x: &i32| x.rem_euclid(5);
        // Sums and the items themselves (order-sensitive: each group's items in bag order).
        let mut sums: Vec<(i32, i64)> = Vec::new();
        let mut lists: Vec<(i32, Vec<i32>)> = Vec::new();
        for &x in &items {
            match sums.iter().position(|(k, _)| *k == key(&x)) {
                Some(i) => {
                    sums[i].1 += i64::from(x);
                    lists[i].1.push(x);
                }
                None => {
                    sums.push((key(&x), i64::from(x)));
                    lists.push((key(&x), vec![x]));
                }
            }
        }
        check(&bag.foldby(key, 0_i64, |a, x| a + i64::from(x), |a, b| a + b), &sums)?;
        let lists_bag = bag.foldby_with(
            key,
            Vec::new(),
            |mut a, x| {
                a.push(x);
                a
            },
            |mut a, b| {
                a.extend(b);
                a
            },
            split_every,
            split_out,
        );
        prop_assert_eq!(lists_bag.npartitions(), split_out);
        check_by(&lists_bag, sorted, &sorted(lists))?;
    }

    #[test]
    fn groupby_matches_a_btreemap(input in strings(), npartitions in proptest::option::of(1_usize..6)) {
        let items = input.items();
        let bag = input.bag();
        let mut expected: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        for s in &items {
            expected.entry(s.len()).or_default().push(s.clone());
        }
        let expected: Vec<(usize, Vec<String>)> = expected.into_iter().collect();
        let groups = bag.groupby(|s: &String| s.len(), npartitions);
        prop_assert_eq!(groups.npartitions(), npartitions.unwrap_or(input.parts.len()));
        // Groups in any order, items of a group in bag order.
        check_by(&groups, sorted, &expected)?;
        // A groupby feeding further work, computed twice from one graph.
        let sizes = groups.map(|(k, g)| (k, g.len()));
        let expected_sizes: Vec<(usize, usize)> = expected.iter().map(|(k, g)| (*k, g.len())).collect();
        check_by(&(sizes.clone(), sizes.count()), |(s, n)| (sorted(s), n), &(expected_sizes, expected.len() as u64))?;
    }

    #[test]
    fn zip_pairs_partitions_item_by_item(input in ints()) {
        let items = input.items();
        let bag = input.bag();
        let zipped = bag.zip(&bag.map(|x| x.to_string())).map_err(|e| TestCaseError::fail(e.to_string()))?;
        check(&zipped, &items.iter().map(|x| (*x, x.to_string())).collect())?;
        // Two bags built separately with the same layout.
        let other = Bag::from_partitions(input.parts.iter().map(|p| p.iter().map(|x| x * 2).collect()).collect());
        let zipped = bag.zip(&other).map_err(|e| TestCaseError::fail(e.to_string()))?;
        check(&zipped, &items.iter().map(|x| (*x, x * 2)).collect())?;
    }

    #[test]
    fn repartition_keeps_items_in_order(input in ints(), m in 0_usize..15) {
        let items = input.items();
        let n = input.parts.len();
        let lens: Vec<usize> = input.parts.iter().map(Vec::len).collect();
        let bag = input.bag().repartition(m);
        let m = m.max(1);
        prop_assert_eq!(bag.npartitions(), m);
        check(&bag, &items)?;
        // The documented layout.
        let expected: Vec<usize> = if m <= n {
            (0..m).map(|j| lens[j * n / m..(j + 1) * n / m].iter().sum()).collect()
        } else {
            lens.iter()
                .enumerate()
                .flat_map(|(i, &len)| {
                    let pieces = m / n + usize::from(i < m % n);
                    (0..pieces).map(move |r| (r + 1) * len / pieces - r * len / pieces)
                })
                .collect()
        };
        check(&bag.map_partitions(|p| vec![p.len()]), &expected)?;
        // Reading a split partition twice (here: by the pieces and by a count) copies, not moves.
        let again = input.bag();
        let split = again.repartition(m);
        check(&(split.clone(), again.count()), &(items.clone(), items.len() as u64))?;
    }

    #[test]
    fn pluck_matches_iterators(input in ints()) {
        let items = input.items();
        let records = input.bag().map(|x| json!({"x": x, "pair": [x, x + 1], "odd": x % 2 != 0}));
        check(&records.pluck("x"), &items.iter().map(|x| json!(x)).collect())?;
        check(&records.pluck("pair").pluck_index(1), &items.iter().map(|x| json!(x + 1)).collect())?;
        let sparse = input.bag().map(|x| if x % 2 == 0 { json!({"even": x}) } else { json!([x]) });
        check(
            &sparse.pluck_or("even", json!(null)),
            &items.iter().map(|x| if x % 2 == 0 { json!(x) } else { json!(null) }).collect(),
        )?;
        check(
            &sparse.pluck_index_or(0, json!("none")),
            &items.iter().map(|x| if x % 2 == 0 { json!("none") } else { json!(x) }).collect(),
        )?;
    }
}

#[test]
fn zip_of_different_partition_counts_fails_while_building() {
    let a = Bag::from_vec(vec![1, 2, 3], 2);
    let b = Bag::from_vec(vec![1, 2, 3], 3);
    let err = a.zip(&b).unwrap_err();
    assert!(matches!(err, Error::Metadata(_)), "{err:?}");
    assert!(
        err.to_string().contains("2 partitions") && err.to_string().contains("3 partitions"),
        "{err}"
    );
}

#[test]
fn zip_of_different_partition_lengths_fails_naming_the_partition() {
    let a = Bag::from_partitions(vec![vec![1], vec![2, 3]]);
    let b = Bag::from_partitions(vec![vec![1], vec![2]]);
    let zipped = a.zip(&b).unwrap();
    for (name, options) in configs() {
        let err = zipped.compute_with(&options).unwrap_err();
        assert_eq!(err.key(), Some(&zipped.partition_key(1)), "{name}: {err}");
        assert!(err.to_string().contains("2 items and 1 items"), "{name}: {err}");
    }
}

#[test]
fn pluck_of_a_missing_field_names_the_field_and_the_partition() {
    let bag = Bag::from_partitions(vec![vec![json!({"a": 1})], vec![json!({"a": 2}), json!({"b": 3})]]);
    let plucked = bag.pluck("a");
    for (name, options) in configs() {
        let err = plucked.compute_with(&options).unwrap_err();
        assert_eq!(err.key(), Some(&plucked.partition_key(1)), "{name}: {err}");
        let text = err.to_string();
        assert!(
            text.contains(r#"item 1 of the partition has no field "a""#),
            "{name}: {text}"
        );
    }
    let err = Bag::from_vec(vec![json!(1)], 1).pluck("a").compute().unwrap_err();
    assert!(err.to_string().contains("is a number, not an object"), "{err}");
    let err = Bag::from_vec(vec![json!([1])], 1).pluck_index(3).compute().unwrap_err();
    assert!(err.to_string().contains("has no element 3 (it has 1)"), "{err}");
}

#[test]
fn nan_fails_min_and_max() {
    let bag = Bag::from_vec(vec![1.0, f64::NAN, 2.0], 2);
    for (name, options) in configs() {
        for result in [
            bag.min().compute_with(&options),
            bag.max().compute_with(&options),
            bag.min_with(2).compute_with(&options),
        ] {
            let err = result.unwrap_err();
            assert!(err.to_string().contains("cannot order"), "{name}: {err}");
        }
    }
}

#[test]
fn a_failing_key_function_fails_the_compute() {
    let bag = Bag::from_vec((0..10).collect::<Vec<i32>>(), 3);
    let groups = bag.groupby(|x: &i32| if *x == 7 { panic!("bad item {x}") } else { *x }, Some(2));
    for (name, options) in configs() {
        let err = groups.compute_with(&options).unwrap_err();
        assert!(err.to_string().contains("bad item 7"), "{name}: {err}");
    }
}

#[test]
fn groupby_lowers_to_split_and_gather_tasks() {
    let bag = Bag::from_vec((0..10).collect::<Vec<i32>>(), 3);
    let groups = bag.groupby(|x: &i32| x % 4, Some(2));
    let graph = groups.graph(false).unwrap();
    // 3 partitions, 3 splits, 2 gathers.
    assert_eq!(graph.len(), 3 + 3 + 2);
    let text = graph.to_string();
    assert_eq!(text.matches("groupby-split-").count(), 3 + 3 * 2, "{text}");
    // The gathers are the bag's partitions: each reads every split.
    for j in 0..2 {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{} =", groups.partition_key(j))))
            .unwrap_or_else(|| panic!("no task for partition {j} in\n{text}"));
        assert_eq!(line.matches("groupby-split-").count(), 3, "{line}");
    }
}

#[test]
fn split_out_reductions_lower_to_one_tree_per_output() {
    let bag = Bag::from_vec((0..100).collect::<Vec<i32>>(), 9);
    let freq = bag.frequencies_with(3, 2);
    let graph = freq.graph(false).unwrap();
    // 9 partitions, 9 chunks; per output: 3 + 1 combines and a finish.
    assert_eq!(graph.len(), 9 + 9 + 2 * (3 + 1 + 1));
    // Optimized, nothing is lost: the result is the same.
    let mut all = freq.compute().unwrap();
    all.sort();
    assert_eq!(all, (0..100).map(|x| (x, 1)).collect::<Vec<_>>());
}

#[test]
fn topk_of_floats_by_an_integer_key() {
    let bag = Bag::from_vec(vec![0.5, -1.0, 3.25, 3.0, 2.0], 3);
    // 3.25 and 3.0 tie on the key: the first one in the bag comes first.
    let top = bag.topk(3, |x: &f64| x.floor() as i64);
    assert_eq!(top.compute().unwrap(), [3.25, 3.0, 2.0]);
}
