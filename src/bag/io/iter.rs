//! Iterating over a bag's partitions as they are computed, a batch at a time.

use std::collections::VecDeque;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use crate::bag::{Bag, Item};
use crate::collection::{Collection, ComputeOptions};
use crate::error::{Error, Result};
use crate::graph::{Key, Node, Value, take_value};

impl<T: Item> Bag<T> {
    /// The partitions, in order, computed a batch at a time: at most one batch of results is
    /// held in memory, which makes this the way to stream a bag larger than memory to a sink.
    /// A batch is as many partitions as the thread pool has threads, unless
    /// [`batch_size`](PartitionIter::batch_size) says otherwise.
    ///
    /// Each batch is its own compute over the graph, culled to what the batch needs: work that
    /// every partition depends on (a value computed from the whole bag) is redone for each
    /// batch, so compute such a value first. The first error ends the iteration.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// let bag = Bag::from_vec((0..10).collect::<Vec<i32>>(), 4).map(|x| x * 10);
    /// let mut seen = Vec::new();
    /// for partition in bag.iter_partitions(&ComputeOptions::new()).batch_size(2) {
    ///     seen.push(partition?);
    /// }
    /// assert_eq!(seen, [vec![0, 10, 20], vec![30, 40, 50], vec![60, 70], vec![80, 90]]);
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn iter_partitions(&self, options: &ComputeOptions) -> PartitionIter<T> {
        PartitionIter {
            bag: self.clone(),
            options: options.clone(),
            next: 0,
            batch: rayon::current_num_threads().max(1),
            ready: VecDeque::new(),
            failed: false,
        }
    }
}

/// The iterator [`Bag::iter_partitions`] returns: each item is one partition, or the error that
/// ended the iteration.
pub struct PartitionIter<T> {
    bag: Bag<T>,
    options: ComputeOptions,
    next: usize,
    batch: usize,
    ready: VecDeque<Vec<T>>,
    failed: bool,
}

impl<T> PartitionIter<T> {
    /// Computes `partitions` partitions at a time (at least 1).
    pub fn batch_size(mut self, partitions: usize) -> PartitionIter<T> {
        self.batch = partitions.max(1);
        self
    }
}

impl<T> fmt::Debug for PartitionIter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PartitionIter")
            .field("bag", &self.bag)
            .field("next", &self.next)
            .field("batch", &self.batch)
            .field("ready", &self.ready.len())
            .finish()
    }
}

impl<T: Item> Iterator for PartitionIter<T> {
    type Item = Result<Vec<T>>;

    fn next(&mut self) -> Option<Result<Vec<T>>> {
        if let Some(partition) = self.ready.pop_front() {
            return Some(Ok(partition));
        }
        let n = self.bag.npartitions();
        if self.failed || self.next >= n {
            return None;
        }
        let range = self.next..(self.next + self.batch).min(n);
        self.next = range.end;
        let batch = Batch {
            bag: self.bag.clone(),
            range,
        };
        match batch.compute_with(&self.options) {
            Ok(partitions) => {
                self.ready = partitions.into();
                self.ready.pop_front().map(Ok)
            }
            Err(err) => {
                self.failed = true;
                Some(Err(err))
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = if self.failed {
            0
        } else {
            self.ready.len() + self.bag.npartitions() - self.next
        };
        (left.min(1), Some(left))
    }
}

/// Some of a bag's partitions, as a collection.
struct Batch<T> {
    bag: Bag<T>,
    range: Range<usize>,
}

impl<T: Item> Collection for Batch<T> {
    type Output = Vec<Vec<T>>;

    fn nodes(&self) -> Vec<Arc<Node>> {
        vec![self.bag.node().clone()]
    }

    fn keys(&self) -> Vec<Key> {
        self.range.clone().map(|i| self.bag.partition_key(i)).collect()
    }

    fn finalize(&self, values: &mut dyn Iterator<Item = Value>) -> Result<Vec<Vec<T>>> {
        self.range
            .clone()
            .map(|i| {
                let value = values
                    .next()
                    .ok_or_else(|| Error::Internal(format!("no value for partition {i}")))?;
                take_value::<Vec<T>>(value).map_err(|e| Error::Internal(format!("partition {i}: {e}")))
            })
            .collect()
    }
}
