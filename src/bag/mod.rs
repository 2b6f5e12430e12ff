//! Bag: a partitioned collection of arbitrary items, processed lazily (Dask's `dask.bag`, Spark's
//! RDDs).
//!
//! A `Bag<T>` is a list of partitions, each a `Vec<T>`. Element-wise methods (`map`, `filter`,
//! `flat_map`) run once per partition, in one task per partition; chains of them fuse into one
//! pass. Aggregations (`fold`, `count`, `sum`, `frequencies`, …) are tree reductions: each
//! partition is reduced on its own, then partial results are combined `split_every` at a time.
//!
//! ```
//! use drask::prelude::*;
//!
//! let words = Bag::from_vec(vec!["a b", "b c", "c c"], 2)
//!     .flat_map(|line: &str| line.split(' ').map(str::to_string).collect::<Vec<_>>());
//! assert_eq!(words.count().compute()?, 6);
//! assert_eq!(words.compute()?, ["a", "b", "b", "c", "c", "c"]);
//! # Ok::<(), drask::Error>(())
//! ```
//!
//! # Remote execution
//! Closures run on local executors only. For a graph another process can rebuild, pass
//! functions registered with [`register_bag_fn!`](crate::register_bag_fn) (the method is called
//! with the `fn` itself) over item types registered with
//! [`register_bag_type!`](crate::register_bag_type) (common ones are), and zips of two item
//! types registered with [`register_bag_zip!`](crate::register_bag_zip); see [`remote`].
//!
//! ```
//! use drask::prelude::*;
//!
//! fn words(line: String) -> Vec<String> { line.split(' ').map(str::to_string).collect() }
//! drask::register_bag_fn!(flat_map words);
//!
//! let words = Bag::from_vec(vec!["a b".to_string(), "b c".into()], 2).flat_map(words);
//! let spec = drask::registry::GraphSpec::from_graph(&words.frequencies().graph(true)?)?;
//! assert!(spec.tasks.iter().all(|t| t.op.name == "fused" || t.op.name.starts_with("bag.")));
//! # Ok::<(), drask::Error>(())
//! ```

mod aggregate;
mod io;
mod json;
mod layers;
mod ops;
pub mod remote;
mod reshape;
mod shuffle;

use std::any::type_name;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use crate::collection::Collection;
use crate::delayed::Delayed;
use crate::error::{BoxError, Error, Result};
use crate::graph::{Key, Literal, Node, Op, Value, take_value, unique_token};
use layers::{Blockwise, Partitions};
use remote::{Spec, type_id_of};

pub use remote::{BagFn, BagType, BagZip, is_bag_type, is_bag_zip};

pub use io::{BadLines, EncodingErrors, PartitionIter, ReadError, ReadJson, ReadText, Source, ToText, json_field};

/// What a bag can hold: any value that can be shared between threads and copied when a
/// partition feeds several consumers (moved, not copied, when it feeds one).
pub trait Item: Clone + Send + Sync + 'static {}

impl<T: Clone + Send + Sync + 'static> Item for T {}

pub use crate::graph::DEFAULT_SPLIT_EVERY;
#[cfg_attr(not(feature = "frame"), allow(unused_imports))]
pub(crate) use io::io_error;

/// A lazy, partitioned collection of items. Cheap to clone; nothing runs until
/// [`compute`](Collection::compute), which returns every item, partitions in order.
///
/// # Examples
/// ```
/// use drask::prelude::*;
/// let squares = Bag::from_vec(vec![1, 2, 3, 4], 2).map(|x| x * x);
/// assert_eq!(squares.compute()?, vec![1, 4, 9, 16]);
/// # Ok::<(), drask::Error>(())
/// ```
#[must_use = "lazy collections do nothing until `.compute()`"]
pub struct Bag<T> {
    node: Arc<Node>,
    npartitions: usize,
    _t: PhantomData<fn() -> T>,
}

impl<T> Clone for Bag<T> {
    fn clone(&self) -> Self {
        Bag {
            node: self.node.clone(),
            npartitions: self.npartitions,
            _t: PhantomData,
        }
    }
}

impl<T> fmt::Debug for Bag<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Bag<{}>({}, {} partitions)",
            type_name::<T>(),
            self.node.name(),
            self.npartitions
        )
    }
}

impl<T> Bag<T> {
    pub(crate) fn from_node(node: Arc<Node>, npartitions: usize) -> Bag<T> {
        Bag {
            node,
            npartitions,
            _t: PhantomData,
        }
    }

    /// The number of partitions.
    pub fn npartitions(&self) -> usize {
        self.npartitions
    }

    /// The high-level node behind this bag.
    pub fn node(&self) -> &Arc<Node> {
        &self.node
    }

    /// The key of partition `i`.
    pub fn partition_key(&self, i: usize) -> Key {
        self.node.key([i as u32])
    }
}

impl<T: Item> Bag<T> {
    /// A bag of `items` split into `npartitions` partitions of nearly equal length (the first
    /// ones one longer). More partitions than items gives empty partitions; `0` is taken as `1`.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// let bag = Bag::from_vec((0..10).collect(), 3);
    /// assert_eq!(bag.npartitions(), 3);
    /// assert_eq!(bag.count().compute()?, 10);
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn from_vec(items: Vec<T>, npartitions: usize) -> Bag<T> {
        let n = npartitions.max(1);
        let (base, extra) = (items.len() / n, items.len() % n);
        let mut items = items.into_iter();
        let partitions = (0..n)
            .map(|i| items.by_ref().take(base + usize::from(i < extra)).collect())
            .collect();
        Bag::from_partitions(partitions)
    }

    /// A bag from an iterator, split like [`from_vec`](Bag::from_vec).
    pub fn from_iter(items: impl IntoIterator<Item = T>, npartitions: usize) -> Bag<T> {
        Bag::from_vec(items.into_iter().collect(), npartitions)
    }

    /// A bag whose partitions are exactly `partitions` (an empty list gives one empty
    /// partition).
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// let bag = Bag::from_partitions(vec![vec![1], vec![], vec![2, 3]]);
    /// assert_eq!((bag.npartitions(), bag.compute()?), (3, vec![1, 2, 3]));
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn from_partitions(partitions: Vec<Vec<T>>) -> Bag<T> {
        let partitions = if partitions.is_empty() {
            vec![Vec::new()]
        } else {
            partitions
        };
        let npartitions = partitions.len();
        let ops = partitions
            .into_iter()
            .map(|p| Arc::new(Literal::new(p)) as Arc<dyn Op>)
            .collect();
        let node = Node::new(
            unique_token("from_sequence").into(),
            vec![],
            Box::new(Partitions { ops }),
        );
        Bag::from_node(node, npartitions)
    }

    /// A bag whose partition `i` is `f` applied to this bag's partition `i`.
    fn blockwise<U>(&self, name: &'static str, op: Arc<dyn Op>) -> Bag<U> {
        let layer = Blockwise {
            op,
            npartitions: self.npartitions,
        };
        let node = Node::new(unique_token(name).into(), vec![self.node.clone()], Box::new(layer));
        Bag::from_node(node, self.npartitions)
    }

    /// Applies `f` to every whole partition.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// let sizes = Bag::from_vec((0..10).collect::<Vec<i32>>(), 3).map_partitions(|p| vec![p.len()]);
    /// assert_eq!(sizes.compute()?, [4, 3, 3]);
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn map_partitions<U: Item>(&self, f: impl Fn(Vec<T>) -> Vec<U> + Send + Sync + 'static) -> Bag<U> {
        let spec = Spec::of_fns("map_partitions", &[type_id_of(&f)]).get();
        let op = ops::map_partitions_op(move |p| Ok::<_, BoxError>(f(p)), spec);
        self.blockwise("map_partitions", op)
    }

    /// Like [`map_partitions`](Bag::map_partitions) for a function that can fail: an error fails
    /// the compute and names the partition's task.
    pub fn try_map_partitions<U: Item, E: Into<BoxError>>(
        &self,
        f: impl Fn(Vec<T>) -> Result<Vec<U>, E> + Send + Sync + 'static,
    ) -> Bag<U> {
        self.blockwise("map_partitions", ops::map_partitions_op(f, None))
    }

    /// Applies `f` to every item. The op can run remotely when `f` is a `fn` registered with
    /// [`register_bag_fn!(map f)`](crate::register_bag_fn); the same holds for the other methods
    /// that take functions, each with its own role.
    pub fn map<U: Item>(&self, f: impl Fn(T) -> U + Send + Sync + 'static) -> Bag<U> {
        let spec = Spec::of_fns("map", &[type_id_of(&f)]).get();
        self.blockwise("map", ops::map_op(f, spec))
    }

    /// Applies a fallible `f` to every item; the first error fails the compute, naming the
    /// partition's task and carrying the error.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// let parsed = Bag::from_vec(vec!["1", "x"], 1).try_map(|s: &str| s.parse::<i32>());
    /// let err = parsed.compute().unwrap_err();
    /// assert!(err.to_string().contains("invalid digit"), "{err}");
    /// ```
    pub fn try_map<U: Item, E: Into<BoxError>>(&self, f: impl Fn(T) -> Result<U, E> + Send + Sync + 'static) -> Bag<U> {
        let spec = Spec::of_fns("try_map", &[type_id_of(&f)]).get();
        self.blockwise("map", ops::try_map_op(f, spec))
    }

    /// Keeps the items for which `keep` is true.
    pub fn filter(&self, keep: impl Fn(&T) -> bool + Send + Sync + 'static) -> Bag<T> {
        let spec = Spec::of_fns("filter", &[type_id_of(&keep)]).get();
        self.blockwise("filter", ops::filter_op(keep, spec))
    }

    /// Replaces every item with the items `f` returns for it.
    pub fn flat_map<U: Item, I: IntoIterator<Item = U>>(&self, f: impl Fn(T) -> I + Send + Sync + 'static) -> Bag<U> {
        let spec = Spec::of_fns("flat_map", &[type_id_of(&f)]).get();
        self.blockwise("flat_map", ops::flat_map_op(f, spec))
    }

    /// A tree reduction: `chunk` reduces each partition to a partial result, `combine` merges a
    /// list of partials into one (applied `split_every` at a time, level by level), and `finish`
    /// turns the last partial into the result. Every aggregation of a bag is built on this.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// let bag = Bag::from_vec((1..=100).collect::<Vec<u64>>(), 10);
    /// let total = bag.reduction(
    ///     "total",
    ///     |p: Vec<u64>| p.iter().sum::<u64>(),
    ///     |partials: Vec<u64>| partials.iter().sum(),
    ///     |x: u64| x,
    ///     4,
    /// );
    /// assert_eq!(total.compute()?, 5050);
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn reduction<A: Item, R: Item>(
        &self,
        name: &'static str,
        chunk: impl Fn(Vec<T>) -> A + Send + Sync + 'static,
        combine: impl Fn(Vec<A>) -> A + Send + Sync + 'static,
        finish: impl Fn(A) -> R + Send + Sync + 'static,
        split_every: usize,
    ) -> Delayed<R> {
        let stages = aggregate::tree_stages(
            name,
            &Spec::none(),
            move |p: Vec<T>| Ok(chunk(p)),
            move |parts: Vec<A>| Ok(combine(parts)),
            move |a: A| Ok(finish(a)),
        );
        self.reduce_tree(name, stages, split_every)
    }

    /// Folds every item into an accumulator: `fold` within each partition starting from
    /// `init`, then `combine` across partitions (so `combine` must agree with `fold`).
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// let longest = Bag::from_vec(vec!["a", "abc", "ab"], 2)
    ///     .fold(0, |n, s: &str| n.max(s.len()), |a, b| a.max(b));
    /// assert_eq!(longest.compute()?, 3);
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn fold<A: Item>(
        &self,
        init: A,
        fold: impl Fn(A, T) -> A + Send + Sync + 'static,
        combine: impl Fn(A, A) -> A + Send + Sync + 'static,
    ) -> Delayed<A> {
        self.fold_with(init, fold, combine, DEFAULT_SPLIT_EVERY)
    }

    /// Reduces all items with `f` (associative); `None` for an empty bag.
    pub fn reduce(&self, f: impl Fn(T, T) -> T + Send + Sync + 'static) -> Delayed<Option<T>> {
        self.reduce_with(f, DEFAULT_SPLIT_EVERY)
    }

    /// The number of items.
    pub fn count(&self) -> Delayed<u64> {
        self.count_with(DEFAULT_SPLIT_EVERY)
    }

    /// Every item, partitions in order, as one delayed list.
    pub fn to_delayed(&self) -> Delayed<Vec<T>> {
        let stages = aggregate::to_vec_stages::<T>(&Spec::of_type::<T>("bag.to_vec"));
        self.reduce_tree("to_vec", stages, DEFAULT_SPLIT_EVERY)
    }
}

impl<T: Item + std::iter::Sum<T>> Bag<T> {
    /// The sum of the items (the type's zero for an empty bag).
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// assert_eq!(Bag::from_vec((1..=10).collect::<Vec<i64>>(), 3).sum().compute()?, 55);
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn sum(&self) -> Delayed<T> {
        self.sum_with(DEFAULT_SPLIT_EVERY)
    }
}

impl<T: Item + PartialOrd + fmt::Debug> Bag<T> {
    /// The smallest item; `None` for an empty bag. Items that cannot be ordered (a NaN) fail the
    /// compute rather than being skipped.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// assert_eq!(Bag::from_vec(vec![3.5, -1.0, 2.0], 2).min().compute()?, Some(-1.0));
    /// assert!(Bag::from_vec(vec![1.0, f64::NAN], 1).min().compute().is_err());
    /// assert!(Bag::from_vec(vec![f64::NAN], 1).min().compute().is_err());
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn min(&self) -> Delayed<Option<T>> {
        self.min_with(DEFAULT_SPLIT_EVERY)
    }

    /// The largest item; `None` for an empty bag. Items that cannot be ordered fail the compute.
    pub fn max(&self) -> Delayed<Option<T>> {
        self.max_with(DEFAULT_SPLIT_EVERY)
    }
}

/// Numbers a bag can average.
pub trait ToF64 {
    /// The value as an `f64` (rounded for integers beyond 2^53).
    fn to_f64(&self) -> f64;
}

macro_rules! impl_to_f64 {
    ($($t:ty),*) => { $(impl ToF64 for $t { fn to_f64(&self) -> f64 { *self as f64 } })* };
}

impl_to_f64!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize, f32, f64);

/// A running sum with Neumaier's compensation, so a long bag's mean does not drift.
#[derive(Debug, Clone, Copy, Default)]
struct CompensatedSum {
    n: u64,
    sum: f64,
    compensation: f64,
}

impl CompensatedSum {
    fn add(&mut self, x: f64) {
        let t = self.sum + x;
        self.compensation += if self.sum.abs() >= x.abs() {
            (self.sum - t) + x
        } else {
            (x - t) + self.sum
        };
        self.sum = t;
    }

    fn merge(mut self, other: CompensatedSum) -> CompensatedSum {
        self.n += other.n;
        self.add(other.sum);
        self.compensation += other.compensation;
        self
    }

    fn total(&self) -> f64 {
        self.sum + self.compensation
    }
}

impl<T: Item + ToF64> Bag<T> {
    /// The arithmetic mean of the items; `None` for an empty bag.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// assert_eq!(Bag::from_vec(vec![1, 2, 3, 4], 3).mean().compute()?, Some(2.5));
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn mean(&self) -> Delayed<Option<f64>> {
        self.mean_with(DEFAULT_SPLIT_EVERY)
    }
}

impl<T: Item> Collection for Bag<T> {
    type Output = Vec<T>;

    fn nodes(&self) -> Vec<Arc<Node>> {
        vec![self.node.clone()]
    }

    fn keys(&self) -> Vec<Key> {
        (0..self.npartitions).map(|i| self.partition_key(i)).collect()
    }

    fn finalize(&self, values: &mut dyn Iterator<Item = Value>) -> Result<Vec<T>> {
        let mut all = Vec::new();
        for i in 0..self.npartitions {
            let value = values
                .next()
                .ok_or_else(|| Error::Internal(format!("no value for partition {i}")))?;
            let part = take_value::<Vec<T>>(value).map_err(|e| Error::Internal(format!("partition {i}: {e}")))?;
            if all.is_empty() {
                all = part;
            } else {
                all.extend(part);
            }
        }
        Ok(all)
    }
}
