//! Hash partitioning: each partition splits its items into buckets by a hash of their key, and
//! every bucket moves to the one task that reads it. `groupby` is the all-to-all form (a full
//! shuffle); aggregations with `split_out > 1` use the same buckets between their chunk and
//! combine steps.
//!
//! # Design and costs
//! A shuffle of `n` input partitions into `m` output partitions lowers to `n` split tasks (keys
//! `('<op>-split-<token>', i)`) and `m` gather tasks (the node's own keys `('<op>-<token>', j)`,
//! so the result is an ordinary bag). Gather `j` reads every split task: `n + m` tasks and
//! `n * m` edges, in one stage (Dask's tasks shuffle stages this above `max_branch` partitions;
//! a staged shuffle is the way to go past a few thousand partitions).
//!
//! A split task's value is a [`Buckets`]: one slot per output. Each bucket has exactly one
//! reader, which *takes* it out of its slot, so items are moved, never copied, and the memory a
//! shuffle holds at any time is about one copy of the data plus `32 * n * m` bytes of empty
//! slots. The price is that a split value can be read once per bucket: a second read of the
//! same bucket fails loudly (an executor that re-runs a gather from a kept split value, as a
//! lineage-recovering distributed one would, must re-run the split too).

use std::any::type_name;
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::sync::Arc;

use parking_lot::Mutex;

use super::aggregate::OrderedMap;
use super::ops::PartitionOp;
use super::remote::{Spec, type_id_of};
use super::{Bag, Item};
use crate::error::{BoxError, Result};
use crate::graph::{FxBuild, Key, Layer, Lowering, Node, Op, OpSpec, Value, unique_token};

/// A function from a list of bucket contents (one per input, in input order) to a result.
pub(crate) type GatherFn<A, R> = Arc<dyn Fn(Vec<A>) -> Result<R, BoxError> + Send + Sync>;

/// The value of a split task: one slot per output bucket, each taken (moved out) by its one
/// reader.
pub(crate) struct Buckets<A> {
    slots: Vec<Mutex<Option<A>>>,
}

impl<A> Buckets<A> {
    pub(crate) fn new(buckets: Vec<A>) -> Buckets<A> {
        Buckets {
            slots: buckets.into_iter().map(|b| Mutex::new(Some(b))).collect(),
        }
    }

    /// Moves bucket `j` out.
    fn take(&self, j: usize) -> Result<A, BoxError> {
        let slot = self
            .slots
            .get(j)
            .ok_or_else(|| format!("no bucket {j} among {}", self.slots.len()))?;
        slot.lock()
            .take()
            .ok_or_else(|| format!("bucket {j} was already taken: a shuffle's split value was read twice").into())
    }
}

impl<A> fmt::Debug for Buckets<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Buckets<{}>({})", type_name::<A>(), self.slots.len())
    }
}

/// Which of `n` buckets `key` belongs to. Deterministic across processes running this binary
/// (the Fx hash, not the randomly seeded `std` one), so split tasks running anywhere agree.
/// (`Hash` feeds integers in native byte order, so machines of different endianness would not.)
pub(crate) fn bucket_of<K: Hash + ?Sized>(key: &K, n: usize) -> usize {
    if n <= 1 {
        return 0;
    }
    // The high half of the hash is the well-mixed one; multiply-shift maps it onto 0..n.
    let high = FxBuild::default().hash_one(key) >> 32;
    ((high * n as u64) >> 32) as usize
}

/// `'<op>-<stage>-<token>'` from a node named `'<op>-<token>'` (`'<name>-<stage>'` if the name
/// has no token), so the tasks of an operation's inner stages read as such in `explain()`.
pub(crate) fn stage_name(node: &Node, stage: &str) -> Arc<str> {
    let name = node.name();
    let prefix = Key::single(name.clone()).prefix().len();
    if prefix < name.len() {
        format!("{}-{stage}{}", &name[..prefix], &name[prefix..]).into()
    } else {
        format!("{name}-{stage}").into()
    }
}

/// Takes bucket `bucket` out of each input (a [`Buckets<A>`]) and calls `f` on them, in input
/// order.
pub(crate) struct TakeBucket<A, R> {
    name: &'static str,
    bucket: usize,
    f: GatherFn<A, R>,
    spec: Option<OpSpec>,
}

impl<A, R> TakeBucket<A, R> {
    pub(crate) fn new(name: &'static str, bucket: usize, f: GatherFn<A, R>) -> TakeBucket<A, R> {
        TakeBucket {
            name,
            bucket,
            f,
            spec: None,
        }
    }

    /// The op with the spec a worker rebuilds it from.
    pub(crate) fn with_spec(mut self, spec: Option<OpSpec>) -> TakeBucket<A, R> {
        self.spec = spec;
        self
    }
}

impl<A, R> fmt::Debug for TakeBucket<A, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}<{}>[{}]", self.name, type_name::<A>(), self.bucket)
    }
}

impl<A, R> Op for TakeBucket<A, R>
where
    A: Send + 'static,
    R: Send + Sync + 'static,
{
    fn name(&self) -> &str {
        self.name
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        let parts = inputs
            .iter()
            .map(|v| {
                v.downcast_ref::<Buckets<A>>()
                    .ok_or_else(|| format!("value is not a {}", type_name::<Buckets<A>>()))?
                    .take(self.bucket)
            })
            .collect::<Result<Vec<A>, BoxError>>()?;
        Ok(Arc::new((self.f)(parts)?))
    }

    fn spec(&self) -> Option<OpSpec> {
        self.spec.clone()
    }
}

/// A full shuffle: `split` turns each input partition into a [`Buckets<A>`] of `npartitions_out`
/// buckets; output partition `j` is `gather` applied to bucket `j` of every split, in input
/// order. See the module doc for keys and costs.
pub(crate) struct Shuffle {
    pub(crate) name: &'static str,
    pub(crate) split: Arc<dyn Op>,
    /// The gather op of output `j`.
    pub(crate) gather: Box<dyn Fn(usize) -> Arc<dyn Op> + Send + Sync>,
    pub(crate) npartitions_in: usize,
    pub(crate) npartitions_out: usize,
}

impl fmt::Debug for Shuffle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shuffle")
            .field("name", &self.name)
            .field("split", &self.split)
            .field("npartitions_in", &self.npartitions_in)
            .field("npartitions_out", &self.npartitions_out)
            .finish()
    }
}

impl Layer for Shuffle {
    fn op_name(&self) -> &str {
        self.name
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        let input = &node.inputs()[0];
        let split_name = stage_name(node, "split");
        let splits = (0..self.npartitions_in as u32)
            .map(|i| {
                let key = Key::new(split_name.clone(), [i]);
                out.add(key.clone(), self.split.clone(), &[input.key([i])])?;
                Ok(key)
            })
            .collect::<Result<Vec<Key>>>()?;
        for j in 0..self.npartitions_out {
            out.add(node.key([j as u32]), (self.gather)(j), &splits)?;
        }
        Ok(())
    }
}

impl<T: Item> Bag<T> {
    /// Groups the items by `key` with a full shuffle: a bag of `(key, items)` pairs, one per
    /// distinct key, in `npartitions` partitions (this bag's count if `None`; `Some(0)` is taken
    /// as 1). Which partition a key lands in is decided by a hash of the key.
    ///
    /// Within a group, items keep their order in the bag; within a partition, groups come in
    /// the order of their key's first appearance. `key` runs once per item.
    ///
    /// Every group is gathered in one task, so one huge group makes one huge partition. When all
    /// you need is one value per group, [`foldby`](Bag::foldby) is much cheaper: it reduces
    /// within partitions first and moves only the partial results.
    ///
    /// # Complexity
    /// `n` split tasks and `m` gather tasks with `n * m` edges (`n`, `m` the partition counts
    /// in and out). Items are moved from split to gather tasks, never copied, so a shuffle holds
    /// about one copy of the data at a time.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// let words = Bag::from_vec(vec!["apple", "bob", "avocado", "cat", "banana"], 3);
    /// let mut groups = words.groupby(|w: &&str| w.chars().next().unwrap(), Some(2)).compute()?;
    /// groups.sort();
    /// assert_eq!(groups, [('a', vec!["apple", "avocado"]), ('b', vec!["bob", "banana"]), ('c', vec!["cat"])]);
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn groupby<K: Item + Hash + Eq>(
        &self,
        key: impl Fn(&T) -> K + Send + Sync + 'static,
        npartitions: Option<usize>,
    ) -> Bag<(K, Vec<T>)> {
        let nout = npartitions.unwrap_or(self.npartitions).max(1);
        let spec = Spec::of_fns("groupby", &[type_id_of(&key)]).param("split_out", nout);
        let (split, gather) = groupby_ops(nout, key, &spec);
        let layer = Shuffle {
            name: "groupby",
            split,
            gather: Box::new(gather),
            npartitions_in: self.npartitions,
            npartitions_out: nout,
        };
        let node = Node::new(unique_token("groupby").into(), vec![self.node.clone()], Box::new(layer));
        Bag::from_node(node, nout)
    }
}

/// The split op of a groupby into `nout` partitions, and its gather op for output `j`.
pub(crate) fn groupby_ops<T: Item, K: Item + Hash + Eq>(
    nout: usize,
    key: impl Fn(&T) -> K + Send + Sync + 'static,
    spec: &Spec,
) -> (Arc<dyn Op>, impl Fn(usize) -> Arc<dyn Op> + Send + Sync + 'static) {
    let split = PartitionOp::new("groupby-split", move |p: Vec<T>| {
        let mut buckets: Vec<Vec<(K, T)>> = (0..nout).map(|_| Vec::new()).collect();
        for item in p {
            let k = key(&item);
            buckets[bucket_of(&k, nout)].push((k, item));
        }
        Ok(Buckets::new(buckets))
    })
    .with_spec(spec.stage("split"));
    let spec = spec.clone();
    let gather = move |j| {
        let op = TakeBucket::new("groupby", j, Arc::new(group::<K, T>)).with_spec(spec.bucket("gather", j));
        Arc::new(op) as Arc<dyn Op>
    };
    (Arc::new(split), gather)
}

/// Groups `(key, item)` pairs (the buckets of every input, in input order) by key: groups in
/// order of first appearance, items in order.
fn group<K: Hash + Eq, T>(parts: Vec<Vec<(K, T)>>) -> Result<Vec<(K, Vec<T>)>, BoxError> {
    let mut groups: OrderedMap<K, Vec<T>> = OrderedMap::default();
    for (k, item) in parts.into_iter().flatten() {
        groups.entry(k, Vec::new).push(item);
    }
    Ok(groups.into_pairs())
}
