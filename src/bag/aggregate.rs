//! Aggregations whose result is a bag: `frequencies`, `distinct`, `foldby` and `topk`, as tree
//! reductions that can split their output over several partitions by hash (Dask's
//! `split_out`); and the `*_with(split_every)` forms of the scalar reductions.
//!
//! Layout of a [`SplitReduce`] over `n` partitions with `split_out = m`: `n` chunk tasks
//! (`('<op>-chunk-<token>', i)`), each reducing its partition to `m` partial results, one per
//! hash bucket; then, for every output `j`, a tree of combine tasks
//! (`('<op>-combine-<token>', j, level, g)`) merging bucket `j` of `split_every` chunks at a time;
//! then one finish task per output, under the node's own key `('<op>-<token>', j)`, so the result
//! is an ordinary bag. Buckets move from chunk to combine without a copy (see
//! [`shuffle`](super::shuffle)).

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::Arc;

use super::ops::{GatherOp, PartitionOp};
use super::remote::{Spec, encode_init, type_id_of};
use super::shuffle::{Buckets, GatherFn, TakeBucket, bucket_of, stage_name};
use super::{Bag, CompensatedSum, DEFAULT_SPLIT_EVERY, Item, ToF64};
use crate::delayed::Delayed;
use crate::error::{BoxError, Result};
use crate::graph::{Key, Layer, Lowering, Node, Op, unique_token};

/// A hash map that remembers the order in which keys were first inserted: partial results of
/// bag aggregations, so their output order is deterministic (first appearance) rather than the
/// order of a randomly seeded hash table.
#[derive(Clone)]
pub(crate) struct OrderedMap<K, V> {
    index: HashMap<K, usize, foldhash::fast::RandomState>,
    /// In insertion order; `None` only while an [`update`](OrderedMap::update) runs.
    values: Vec<Option<V>>,
}

impl<K, V> Default for OrderedMap<K, V> {
    fn default() -> Self {
        OrderedMap {
            index: HashMap::default(),
            values: Vec::new(),
        }
    }
}

impl<K: Hash + Eq, V> OrderedMap<K, V> {
    /// The value of `k`, inserted with `default()` if `k` is new.
    pub(crate) fn entry(&mut self, k: K, default: impl FnOnce() -> V) -> &mut V {
        let i = match self.index.entry(k) {
            Entry::Occupied(e) => *e.get(),
            Entry::Vacant(e) => {
                e.insert(self.values.len());
                self.values.push(None);
                self.values.len() - 1
            }
        };
        self.values[i].get_or_insert_with(default)
    }

    /// Replaces the value of `k` with `f(old)` (`f(None)` if `k` is new).
    pub(crate) fn update(&mut self, k: K, f: impl FnOnce(Option<V>) -> V) {
        match self.index.entry(k) {
            Entry::Occupied(e) => {
                let slot = &mut self.values[*e.get()];
                *slot = Some(f(slot.take()));
            }
            Entry::Vacant(e) => {
                e.insert(self.values.len());
                self.values.push(Some(f(None)));
            }
        }
    }

    /// Adds `other`'s entries after this map's, merging the values of common keys with
    /// `combine(mine, theirs)`.
    pub(crate) fn merge(&mut self, other: OrderedMap<K, V>, combine: impl Fn(V, V) -> V) {
        for (k, v) in other.into_pairs() {
            self.update(k, |mine| match mine {
                Some(mine) => combine(mine, v),
                None => v,
            });
        }
    }

    /// The entries in insertion order.
    pub(crate) fn into_pairs(self) -> Vec<(K, V)> {
        let mut keys: Vec<(K, usize)> = self.index.into_iter().collect();
        keys.sort_unstable_by_key(|&(_, i)| i);
        keys.into_iter()
            .zip(self.values)
            .filter_map(|((k, _), v)| Some((k, v?)))
            .collect()
    }
}

/// Merges a list of maps, in order, into the first.
fn merge_all<K: Hash + Eq, V>(maps: Vec<OrderedMap<K, V>>, combine: impl Fn(V, V) -> V) -> OrderedMap<K, V> {
    let mut maps = maps.into_iter();
    let mut acc = maps.next().unwrap_or_default();
    for m in maps {
        acc.merge(m, &combine);
    }
    acc
}

/// The ops of a tree reduction to one value: each partition to a partial, a list of partials
/// to one, the last partial to the result.
/// `R` is the result's type.
pub(crate) struct Stages<R> {
    pub(crate) chunk: Arc<dyn Op>,
    pub(crate) combine: Arc<dyn Op>,
    pub(crate) finish: Arc<dyn Op>,
    pub(crate) _r: PhantomData<fn() -> R>,
}

/// The [`Stages`] of a reduction named `name` from its three functions, each stage's op carrying
/// `spec` with its stage name.
pub(crate) fn tree_stages<T: Item, A: Item, R: Item>(
    name: &'static str,
    spec: &Spec,
    chunk: impl Fn(Vec<T>) -> Result<A, BoxError> + Send + Sync + 'static,
    combine: impl Fn(Vec<A>) -> Result<A, BoxError> + Send + Sync + 'static,
    finish: impl Fn(A) -> Result<R, BoxError> + Send + Sync + 'static,
) -> Stages<R> {
    Stages {
        _r: PhantomData,
        chunk: Arc::new(PartitionOp::new(name, chunk).with_spec(spec.stage("chunk"))),
        combine: Arc::new(GatherOp::new("combine", combine).with_spec(spec.stage("combine"))),
        finish: Arc::new(
            GatherOp::new("finish", move |mut last: Vec<A>| {
                let a = last.pop().ok_or("a reduction finished with no partial result")?;
                finish(a)
            })
            .with_spec(spec.stage("finish")),
        ),
    }
}

/// The ops of a [`SplitReduce`]; see the module doc for its tasks.
/// `A` is the partial results' type, `R` the output bag's item type.
pub(crate) struct SplitStages<A, R> {
    /// A partition to a [`Buckets<A>`] of `split_out` partials.
    pub(crate) chunk: Arc<dyn Op>,
    /// Merges a list of partials (bucket `j` of each chunk at the first level).
    pub(crate) combine: GatherFn<A, A>,
    /// `combine` as an op over plain partials, for the later levels.
    pub(crate) combine_op: Arc<dyn Op>,
    /// The last partial of output `j` to partition `j`.
    pub(crate) finish: Arc<dyn Op>,
    /// The operation's spec; each stage adds its name (and bucket).
    pub(crate) spec: Spec,
    pub(crate) _r: PhantomData<fn() -> R>,
}

impl<A: Item, R> SplitStages<A, R> {
    /// The first-level combine of output `j`: takes bucket `j` of each chunk and merges them.
    pub(crate) fn take(&self, j: usize) -> Arc<dyn Op> {
        Arc::new(TakeBucket::new("combine", j, self.combine.clone()).with_spec(self.spec.bucket("take", j)))
    }
}

/// The [`SplitStages`] of a reduction named `name` from its three functions.
pub(crate) fn split_stages<T: Item, A: Item, R: Item>(
    name: &'static str,
    spec: &Spec,
    chunk: impl Fn(Vec<T>) -> Vec<A> + Send + Sync + 'static,
    combine: impl Fn(Vec<A>) -> A + Send + Sync + 'static,
    finish: impl Fn(A) -> Vec<R> + Send + Sync + 'static,
) -> SplitStages<A, R> {
    let combine = Arc::new(combine);
    let combine_op = {
        let combine = combine.clone();
        GatherOp::new("combine", move |parts: Vec<A>| Ok(combine(parts))).with_spec(spec.stage("combine"))
    };
    SplitStages {
        chunk: Arc::new(
            PartitionOp::new(name, move |p: Vec<T>| Ok(Buckets::new(chunk(p)))).with_spec(spec.stage("chunk")),
        ),
        combine: Arc::new(move |parts| Ok(combine(parts))),
        combine_op: Arc::new(combine_op),
        finish: Arc::new(PartitionOp::new("finish", move |a: A| Ok(finish(a))).with_spec(spec.stage("finish"))),
        spec: spec.clone(),
        _r: PhantomData,
    }
}

/// A tree reduction to a bag of `split_out` partitions; see the module doc for its tasks.
pub(crate) struct SplitReduce<A, R> {
    name: &'static str,
    stages: SplitStages<A, R>,
    npartitions: usize,
    split_every: usize,
    split_out: usize,
}

impl<A, R> fmt::Debug for SplitReduce<A, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SplitReduce")
            .field("name", &self.name)
            .field("chunk", &self.stages.chunk)
            .field("finish", &self.stages.finish)
            .field("npartitions", &self.npartitions)
            .field("split_every", &self.split_every)
            .field("split_out", &self.split_out)
            .finish()
    }
}

impl<A: Item, R> Layer for SplitReduce<A, R> {
    fn op_name(&self) -> &str {
        self.name
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        let input = &node.inputs()[0];
        let chunk_name = stage_name(node, "chunk");
        let combine_name = stage_name(node, "combine");
        let every = self.split_every.max(2);
        let chunks = (0..self.npartitions as u32)
            .map(|i| {
                let key = Key::new(chunk_name.clone(), [i]);
                out.add(key.clone(), self.stages.chunk.clone(), &[input.key([i])])?;
                Ok(key)
            })
            .collect::<Result<Vec<Key>>>()?;
        for j in 0..self.split_out as u32 {
            let mut op = self.stages.take(j as usize);
            let mut level = chunks.clone();
            let mut depth = 0;
            // The first level always runs, even over a single chunk: it takes bucket `j`.
            while depth == 0 || level.len() > 1 {
                depth += 1;
                level = level
                    .chunks(every)
                    .enumerate()
                    .map(|(g, group)| {
                        let key = Key::new(combine_name.clone(), [j, depth, g as u32]);
                        out.add(key.clone(), op.clone(), group)?;
                        Ok(key)
                    })
                    .collect::<Result<_>>()?;
                op = self.stages.combine_op.clone();
            }
            out.add(node.key([j]), self.stages.finish.clone(), &level)?;
        }
        Ok(())
    }
}

/// Stages of the built-in reductions, shared by the bag methods and the workers that rebuild
/// them (see [`remote`](super::remote)).
pub(crate) fn count_stages<T: Item>(spec: &Spec) -> Stages<u64> {
    tree_stages(
        "count",
        spec,
        |p: Vec<T>| Ok(p.len() as u64),
        |partials: Vec<u64>| Ok(partials.iter().sum()),
        Ok,
    )
}

pub(crate) fn to_vec_stages<T: Item>(spec: &Spec) -> Stages<Vec<T>> {
    tree_stages(
        "to_vec",
        spec,
        Ok,
        |partials: Vec<Vec<T>>| Ok(partials.concat()),
        |all: Vec<T>| Ok(all),
    )
}

pub(crate) fn sum_stages<T: Item + std::iter::Sum<T>>(spec: &Spec) -> Stages<T> {
    tree_stages(
        "sum",
        spec,
        |p: Vec<T>| Ok(p.into_iter().sum::<T>()),
        |partials: Vec<T>| Ok(partials.into_iter().sum()),
        |s: T| Ok(s),
    )
}

/// `min` (`wanted` is `Less`) or `max` (`Greater`).
pub(crate) fn extreme_stages<T: Item + PartialOrd + fmt::Debug>(wanted: Ordering, spec: &Spec) -> Stages<Option<T>> {
    let pick = move |items: Vec<T>| -> Result<Option<T>, BoxError> {
        let mut best: Option<T> = None;
        for x in items {
            // NaN is unordered even with itself: fail on it wherever it stands.
            if x.partial_cmp(&x).is_none() {
                return Err(format!("cannot order {x:?}").into());
            }
            best = Some(match best {
                None => x,
                Some(b) => match x.partial_cmp(&b) {
                    Some(order) if order == wanted => x,
                    Some(_) => b,
                    None => return Err(format!("cannot order {x:?} and {b:?}").into()),
                },
            });
        }
        Ok(best)
    };
    let name = if wanted == Ordering::Less { "min" } else { "max" };
    tree_stages(
        name,
        spec,
        pick,
        move |parts: Vec<Option<T>>| pick(parts.into_iter().flatten().collect()),
        |best: Option<T>| Ok(best),
    )
}

pub(crate) fn mean_stages<T: Item + ToF64>(spec: &Spec) -> Stages<Option<f64>> {
    tree_stages(
        "mean",
        spec,
        |p: Vec<T>| {
            let mut s = CompensatedSum::default();
            for x in &p {
                s.add(x.to_f64());
            }
            s.n = p.len() as u64;
            Ok(s)
        },
        |partials: Vec<CompensatedSum>| {
            Ok(partials
                .into_iter()
                .fold(CompensatedSum::default(), CompensatedSum::merge))
        },
        |s: CompensatedSum| Ok((s.n > 0).then(|| s.total() / s.n as f64)),
    )
}

pub(crate) fn fold_stages<T: Item, A: Item>(
    init: A,
    fold: impl Fn(A, T) -> A + Send + Sync + 'static,
    combine: impl Fn(A, A) -> A + Send + Sync + 'static,
    spec: &Spec,
) -> Stages<A> {
    let chunk_init = init.clone();
    tree_stages(
        "fold",
        spec,
        move |p: Vec<T>| Ok(p.into_iter().fold(chunk_init.clone(), &fold)),
        move |partials: Vec<A>| Ok(partials.into_iter().reduce(&combine).unwrap_or_else(|| init.clone())),
        |a: A| Ok(a),
    )
}

pub(crate) fn reduce_stages<T: Item>(f: impl Fn(T, T) -> T + Send + Sync + 'static, spec: &Spec) -> Stages<Option<T>> {
    let f = Arc::new(f);
    let g = f.clone();
    tree_stages(
        "reduce",
        spec,
        move |p: Vec<T>| Ok(p.into_iter().reduce(|a, b| f(a, b))),
        move |partials: Vec<Option<T>>| Ok(partials.into_iter().flatten().reduce(|a, b| g(a, b))),
        |a: Option<T>| Ok(a),
    )
}

pub(crate) fn topk_stages<T: Item, K: Item + Ord>(
    k: usize,
    key: impl Fn(&T) -> K + Send + Sync + 'static,
    spec: &Spec,
) -> SplitStages<Vec<(K, T)>, T> {
    split_stages(
        "topk",
        spec,
        move |p: Vec<T>| vec![top_of_partition(p, k, &key)],
        move |partials: Vec<Vec<(K, T)>>| {
            let mut all = partials.concat();
            // Stable: equal keys keep the order of the partials, which is the bag's order.
            all.sort_by(|a, b| b.0.cmp(&a.0));
            all.truncate(k);
            all
        },
        |top: Vec<(K, T)>| top.into_iter().map(|(_, x)| x).collect(),
    )
}

pub(crate) fn foldby_stages<T: Item, K: Item + Hash + Eq, A: Item>(
    key: impl Fn(&T) -> K + Send + Sync + 'static,
    init: A,
    binop: impl Fn(A, T) -> A + Send + Sync + 'static,
    combine: impl Fn(A, A) -> A + Send + Sync + 'static,
    nout: usize,
    spec: &Spec,
) -> SplitStages<OrderedMap<K, A>, (K, A)> {
    split_stages(
        "foldby",
        spec,
        move |p: Vec<T>| {
            let mut maps: Vec<OrderedMap<K, A>> = (0..nout).map(|_| OrderedMap::default()).collect();
            for x in p {
                let k = key(&x);
                maps[bucket_of(&k, nout)].update(k, |acc| binop(acc.unwrap_or_else(|| init.clone()), x));
            }
            maps
        },
        move |partials: Vec<OrderedMap<K, A>>| merge_all(partials, &combine),
        OrderedMap::into_pairs,
    )
}

pub(crate) fn frequencies_stages<T: Item + Hash + Eq>(
    nout: usize,
    spec: &Spec,
) -> SplitStages<OrderedMap<T, u64>, (T, u64)> {
    split_stages(
        "frequencies",
        spec,
        move |p: Vec<T>| {
            let mut maps: Vec<OrderedMap<T, u64>> = (0..nout).map(|_| OrderedMap::default()).collect();
            for x in p {
                *maps[bucket_of(&x, nout)].entry(x, || 0) += 1;
            }
            maps
        },
        |partials: Vec<OrderedMap<T, u64>>| merge_all(partials, |a, b| a + b),
        OrderedMap::into_pairs,
    )
}

pub(crate) fn distinct_stages<T: Item + Hash + Eq>(nout: usize, spec: &Spec) -> SplitStages<OrderedMap<T, ()>, T> {
    split_stages(
        "distinct",
        spec,
        move |p: Vec<T>| {
            let mut sets: Vec<OrderedMap<T, ()>> = (0..nout).map(|_| OrderedMap::default()).collect();
            for x in p {
                sets[bucket_of(&x, nout)].entry(x, || ());
            }
            sets
        },
        |partials: Vec<OrderedMap<T, ()>>| merge_all(partials, |(), ()| ()),
        |set: OrderedMap<T, ()>| set.into_pairs().into_iter().map(|(x, ())| x).collect(),
    )
}

impl<T: Item> Bag<T> {
    /// A tree reduction to a bag: `chunk` reduces a partition to `split_out` partials (one per
    /// hash bucket), `combine` merges a list of partials in order, `finish` turns the last
    /// partial of output `j` into partition `j`.
    pub(crate) fn split_reduce<A: Item, R: Item>(
        &self,
        name: &'static str,
        stages: SplitStages<A, R>,
        split_every: usize,
        split_out: usize,
    ) -> Bag<R> {
        let split_out = split_out.max(1);
        let layer = SplitReduce {
            name,
            stages,
            npartitions: self.npartitions,
            split_every,
            split_out,
        };
        let node = Node::new(unique_token(name).into(), vec![self.node.clone()], Box::new(layer));
        Bag::from_node(node, split_out)
    }

    /// A tree reduction to one value from its [`Stages`].
    pub(crate) fn reduce_tree<R>(&self, name: &'static str, stages: Stages<R>, split_every: usize) -> Delayed<R> {
        let layer = crate::graph::TreeReduce {
            name,
            per_block: Vec::new(),
            chunk: stages.chunk,
            combine: stages.combine,
            finish: stages.finish,
            blocks: crate::graph::TreeReduce::partitions(self.npartitions),
            split_every,
        };
        Delayed::from_node(Node::new(
            unique_token(name).into(),
            vec![self.node.clone()],
            Box::new(layer),
        ))
    }

    /// The `k` items with the largest `key`, largest first, as a bag of one partition (all
    /// items, sorted, if there are fewer than `k`).
    ///
    /// Items with equal keys keep their order in the bag (partitions in order, then position),
    /// so the result is deterministic: it is the first `k` items of a *stable* sort by
    /// descending key. For the smallest keys, wrap the key in [`std::cmp::Reverse`].
    ///
    /// # Complexity
    /// `key` runs once per item; each partition keeps a heap of `k` items (O(n log k)), and
    /// combine steps merge lists of at most `k` items.
    ///
    /// # Examples
    /// ```
    /// use std::cmp::Reverse;
    /// use drask::prelude::*;
    /// let words = Bag::from_vec(vec!["bb", "a", "ccc", "dd", "e"], 3);
    /// // Longest first; "bb" comes before "dd" because it comes first in the bag.
    /// assert_eq!(words.topk(3, |w: &&str| w.len()).compute()?, ["ccc", "bb", "dd"]);
    /// // The two most frequent letters, ties broken by the letter.
    /// let letters = Bag::from_vec("abracadabra".chars().collect(), 4);
    /// let top = letters.frequencies().topk(2, |&(c, n): &(char, u64)| (n, Reverse(c)));
    /// assert_eq!(top.compute()?, [('a', 5), ('b', 2)]);
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn topk<K: Item + Ord>(&self, k: usize, key: impl Fn(&T) -> K + Send + Sync + 'static) -> Bag<T> {
        self.topk_with(k, key, DEFAULT_SPLIT_EVERY)
    }

    /// [`topk`](Bag::topk), combining `split_every` partial results at a time.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// let bag = Bag::from_vec((0..50).collect::<Vec<i32>>(), 10);
    /// assert_eq!(bag.topk_with(3, |x: &i32| x % 10, 2).compute()?, [9, 19, 29]);
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn topk_with<K: Item + Ord>(
        &self,
        k: usize,
        key: impl Fn(&T) -> K + Send + Sync + 'static,
        split_every: usize,
    ) -> Bag<T> {
        let spec = Spec::of_fns("topk", &[type_id_of(&key)]).param("k", k);
        self.split_reduce("topk", topk_stages(k, key, &spec), split_every, 1)
    }

    /// Groups the items by `key` and folds each group (Dask's `foldby`, a groupby-reduce that
    /// never moves the items themselves): within each partition, `binop` folds every item into
    /// its key's accumulator, starting from `init`; `combine` then merges the accumulators of a
    /// key across partitions, so it must agree with `binop`. Returns a bag of `(key, accumulator)`
    /// pairs, one per distinct key, in one partition, in the order of each key's first appearance.
    ///
    /// # Complexity
    /// `key` and `binop` run once per item; only one accumulator per key and partition moves.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// let sales = Bag::from_vec(vec![("tea", 3), ("cake", 5), ("tea", 4), ("jam", 1), ("cake", 2)], 2);
    /// let totals = sales.foldby(|s: &(&str, i32)| s.0, 0, |acc, s| acc + s.1, |a, b| a + b);
    /// assert_eq!(totals.compute()?, [("tea", 7), ("cake", 7), ("jam", 1)]);
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn foldby<K: Item + Hash + Eq, A: Item>(
        &self,
        key: impl Fn(&T) -> K + Send + Sync + 'static,
        init: A,
        binop: impl Fn(A, T) -> A + Send + Sync + 'static,
        combine: impl Fn(A, A) -> A + Send + Sync + 'static,
    ) -> Bag<(K, A)> {
        self.foldby_with(key, init, binop, combine, DEFAULT_SPLIT_EVERY, 1)
    }

    /// [`foldby`](Bag::foldby), combining `split_every` partial results at a time, into
    /// `split_out` partitions (by a hash of the key; `0` is taken as 1). Within each partition,
    /// keys come in the order of their first appearance.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// let counts = Bag::from_vec((0..100).collect::<Vec<u32>>(), 10)
    ///     .foldby_with(|x: &u32| x % 7, 0_u64, |n, _| n + 1, |a, b| a + b, 4, 3);
    /// assert_eq!(counts.npartitions(), 3);
    /// let mut counts = counts.compute()?;
    /// counts.sort();
    /// assert_eq!(counts[0], (0, 15));
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn foldby_with<K: Item + Hash + Eq, A: Item>(
        &self,
        key: impl Fn(&T) -> K + Send + Sync + 'static,
        init: A,
        binop: impl Fn(A, T) -> A + Send + Sync + 'static,
        combine: impl Fn(A, A) -> A + Send + Sync + 'static,
        split_every: usize,
        split_out: usize,
    ) -> Bag<(K, A)> {
        let nout = split_out.max(1);
        let fns = [type_id_of(&key), type_id_of(&binop), type_id_of(&combine)];
        let spec = encode_init(Spec::of_fns("foldby", &fns).param("split_out", nout), &init);
        self.split_reduce(
            "foldby",
            foldby_stages(key, init, binop, combine, nout, &spec),
            split_every,
            nout,
        )
    }
}

/// The best `k` items of one partition as `(key, item)`, best first: largest key, then earliest
/// position.
fn top_of_partition<T, K: Ord>(p: Vec<T>, k: usize, key: impl Fn(&T) -> K) -> Vec<(K, T)> {
    /// Ordered so that the heap's maximum is the worst entry kept: smallest key, then latest.
    struct Ranked<K, T> {
        key: K,
        pos: usize,
        item: T,
    }
    impl<K: Ord, T> Ord for Ranked<K, T> {
        fn cmp(&self, other: &Self) -> Ordering {
            other.key.cmp(&self.key).then(self.pos.cmp(&other.pos))
        }
    }
    impl<K: Ord, T> PartialOrd for Ranked<K, T> {
        fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
            Some(self.cmp(other))
        }
    }
    impl<K: Ord, T> PartialEq for Ranked<K, T> {
        fn eq(&self, other: &Self) -> bool {
            self.cmp(other) == Ordering::Equal
        }
    }
    impl<K: Ord, T> Eq for Ranked<K, T> {}

    if k == 0 {
        return Vec::new();
    }
    let mut heap: BinaryHeap<Ranked<K, T>> = BinaryHeap::with_capacity(k.min(p.len()) + 1);
    for (pos, item) in p.into_iter().enumerate() {
        let entry = Ranked {
            key: key(&item),
            pos,
            item,
        };
        if heap.len() < k {
            heap.push(entry);
        } else if let Some(mut worst) = heap.peek_mut()
            && entry < *worst
        {
            *worst = entry;
        }
    }
    heap.into_sorted_vec().into_iter().map(|r| (r.key, r.item)).collect()
}

impl<T: Item + Hash + Eq> Bag<T> {
    /// How many times each distinct item occurs (Dask's `frequencies`): a bag of `(item, count)`
    /// pairs in one partition, in the order of each item's first appearance. Follow with
    /// [`topk`](Bag::topk) for the most common items.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// let words = Bag::from_vec(vec!["to", "be", "or", "not", "to", "be"], 4);
    /// assert_eq!(words.frequencies().compute()?, [("to", 2), ("be", 2), ("or", 1), ("not", 1)]);
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn frequencies(&self) -> Bag<(T, u64)> {
        self.frequencies_with(DEFAULT_SPLIT_EVERY, 1)
    }

    /// [`frequencies`](Bag::frequencies), combining `split_every` partial results at a time, into
    /// `split_out` partitions (by a hash of the item; `0` is taken as 1). Within each partition,
    /// items come in the order of their first appearance.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// let letters = Bag::from_vec("mississippi".chars().collect(), 4).frequencies_with(2, 3);
    /// assert_eq!(letters.npartitions(), 3);
    /// let mut counts = letters.compute()?;
    /// counts.sort();
    /// assert_eq!(counts, [('i', 4), ('m', 1), ('p', 2), ('s', 4)]);
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn frequencies_with(&self, split_every: usize, split_out: usize) -> Bag<(T, u64)> {
        let nout = split_out.max(1);
        let spec = Spec::of_type::<T>("bag.frequencies").param("split_out", nout);
        self.split_reduce("frequencies", frequencies_stages(nout, &spec), split_every, nout)
    }

    /// Each distinct item once, in one partition, in the order of first appearance.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// let bag = Bag::from_vec(vec![3, 1, 3, 2, 1], 2);
    /// assert_eq!(bag.distinct().compute()?, [3, 1, 2]);
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn distinct(&self) -> Bag<T> {
        self.distinct_with(DEFAULT_SPLIT_EVERY, 1)
    }

    /// [`distinct`](Bag::distinct), combining `split_every` partial results at a time, into
    /// `split_out` partitions (by a hash of the item; `0` is taken as 1). Within each partition,
    /// items come in the order of their first appearance.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// let bag = Bag::from_vec(vec![5, 1, 5, 2, 1, 3], 3).distinct_with(2, 2);
    /// let mut items = bag.compute()?;
    /// items.sort();
    /// assert_eq!(items, [1, 2, 3, 5]);
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn distinct_with(&self, split_every: usize, split_out: usize) -> Bag<T> {
        let nout = split_out.max(1);
        let spec = Spec::of_type::<T>("bag.distinct").param("split_out", nout);
        self.split_reduce("distinct", distinct_stages(nout, &spec), split_every, nout)
    }
}

/// The scalar reductions with an explicit `split_every`: how many partial results each combine
/// task merges (at least 2). Fewer means a deeper tree of smaller tasks.
impl<T: Item> Bag<T> {
    /// [`fold`](Bag::fold), combining `split_every` partial results at a time.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// let bag = Bag::from_vec((1..=100).collect::<Vec<u64>>(), 20);
    /// assert_eq!(bag.fold_with(0, |a, x| a + x, |a, b| a + b, 2).compute()?, 5050);
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn fold_with<A: Item>(
        &self,
        init: A,
        fold: impl Fn(A, T) -> A + Send + Sync + 'static,
        combine: impl Fn(A, A) -> A + Send + Sync + 'static,
        split_every: usize,
    ) -> Delayed<A> {
        let spec = encode_init(Spec::of_fns("fold", &[type_id_of(&fold), type_id_of(&combine)]), &init);
        self.reduce_tree("fold", fold_stages(init, fold, combine, &spec), split_every)
    }

    /// [`reduce`](Bag::reduce), combining `split_every` partial results at a time.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// let words = Bag::from_vec(vec!["a", "b", "c", "d"], 4).map(String::from);
    /// let joined = words.reduce_with(|a, b| a + &b, 2);
    /// assert_eq!(joined.compute()?, Some("abcd".to_string()));
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn reduce_with(&self, f: impl Fn(T, T) -> T + Send + Sync + 'static, split_every: usize) -> Delayed<Option<T>> {
        let spec = Spec::of_fns("reduce", &[type_id_of(&f)]);
        self.reduce_tree("reduce", reduce_stages(f, &spec), split_every)
    }

    /// [`count`](Bag::count), combining `split_every` partial results at a time.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// assert_eq!(Bag::from_vec(vec![1; 100], 30).count_with(3).compute()?, 100);
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn count_with(&self, split_every: usize) -> Delayed<u64> {
        self.reduce_tree(
            "count",
            count_stages::<T>(&Spec::of_type::<T>("bag.count")),
            split_every,
        )
    }
}

impl<T: Item + std::iter::Sum<T>> Bag<T> {
    /// [`sum`](Bag::sum), combining `split_every` partial results at a time.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// assert_eq!(Bag::from_vec((1..=10).collect::<Vec<i64>>(), 5).sum_with(2).compute()?, 55);
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn sum_with(&self, split_every: usize) -> Delayed<T> {
        self.reduce_tree("sum", sum_stages::<T>(&Spec::of_type::<T>("bag.sum")), split_every)
    }
}

impl<T: Item + PartialOrd + fmt::Debug> Bag<T> {
    /// [`min`](Bag::min), combining `split_every` partial results at a time.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// assert_eq!(Bag::from_vec(vec![3, 1, 2], 3).min_with(2).compute()?, Some(1));
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn min_with(&self, split_every: usize) -> Delayed<Option<T>> {
        self.extreme_with("min", Ordering::Less, split_every)
    }

    /// [`max`](Bag::max), combining `split_every` partial results at a time.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// assert_eq!(Bag::from_vec(vec![3, 1, 2], 3).max_with(2).compute()?, Some(3));
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn max_with(&self, split_every: usize) -> Delayed<Option<T>> {
        self.extreme_with("max", Ordering::Greater, split_every)
    }

    fn extreme_with(&self, name: &'static str, wanted: Ordering, split_every: usize) -> Delayed<Option<T>> {
        let spec = Spec::of_type::<T>(if wanted == Ordering::Less { "bag.min" } else { "bag.max" });
        self.reduce_tree(name, extreme_stages(wanted, &spec), split_every)
    }
}

impl<T: Item + ToF64> Bag<T> {
    /// [`mean`](Bag::mean), combining `split_every` partial results at a time.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// assert_eq!(Bag::from_vec(vec![1.0, 2.0, 6.0], 3).mean_with(2).compute()?, Some(3.0));
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn mean_with(&self, split_every: usize) -> Delayed<Option<f64>> {
        self.reduce_tree("mean", mean_stages::<T>(&Spec::of_type::<T>("bag.mean")), split_every)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_map_keeps_first_insertion_order() {
        let mut m: OrderedMap<&str, u32> = OrderedMap::default();
        for w in ["b", "a", "b", "c", "a", "b"] {
            *m.entry(w, || 0) += 1;
        }
        let mut other = OrderedMap::default();
        other.update("d", |_| 10);
        other.update("a", |_| 5);
        m.merge(other, |a, b| a + b);
        assert_eq!(m.into_pairs(), [("b", 3), ("a", 7), ("c", 1), ("d", 10)]);
    }

    #[test]
    fn top_of_partition_is_a_stable_descending_prefix() {
        let items = vec![(1, 'a'), (3, 'b'), (1, 'c'), (3, 'd'), (2, 'e')];
        let top = top_of_partition(items.clone(), 3, |x| x.0);
        let keep: Vec<char> = top.iter().map(|(_, x)| x.1).collect();
        assert_eq!(keep, ['b', 'd', 'e']);
        assert_eq!(top_of_partition(items.clone(), 0, |x| x.0), []);
        assert_eq!(top_of_partition(items, 9, |x| x.0).len(), 5);
    }
}
