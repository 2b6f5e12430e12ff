//! Changing how items sit in partitions: `zip` of equally partitioned bags, and `repartition`.

use std::any::{TypeId, type_name};
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use super::layers::Blockwise;
use super::ops::GatherOp;
use super::remote::{Spec, param, zip_hint};
use super::{Bag, Item};
use crate::error::{BoxError, Error, Result};
use crate::graph::{Key, Layer, Lowering, Node, Op, OpSpec, Value, take_value, unique_token};
use serde_json::Value as Json;

/// Output partition `j` is `parts[j].0` applied to the input partitions `parts[j].1`, in order:
/// any regrouping of whole or split partitions.
#[derive(Debug)]
pub(crate) struct Regroup {
    pub(crate) name: &'static str,
    pub(crate) parts: Vec<(Arc<dyn Op>, Vec<u32>)>,
}

impl Layer for Regroup {
    fn op_name(&self) -> &str {
        self.name
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        let input = &node.inputs()[0];
        for (j, (op, inputs)) in self.parts.iter().enumerate() {
            let args: Vec<Key> = inputs.iter().map(|&i| input.key([i])).collect();
            out.add(node.key([j as u32]), op.clone(), &args)?;
        }
        Ok(())
    }
}

/// Pairs up the items of two partitions of equal length.
struct ZipOp<T, U>(PhantomData<fn() -> (T, U)>);

/// The zip op; it has a spec when both sides have the same registered item type, or the pair is
/// registered with [`register_bag_zip!`](crate::register_bag_zip).
fn zip_of<T: Item, U: Item>() -> ZipOp<T, U> {
    ZipOp(PhantomData)
}

impl<T, U> fmt::Debug for ZipOp<T, U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "zip<{}, {}>", type_name::<T>(), type_name::<U>())
    }
}

impl<T: Item, U: Item> Op for ZipOp<T, U> {
    fn name(&self) -> &str {
        "zip"
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        let mut inputs = inputs.into_iter();
        let (Some(left), Some(right)) = (inputs.next(), inputs.next()) else {
            return Err("zip needs two inputs".into());
        };
        let (left, right) = (take_value::<Vec<T>>(left)?, take_value::<Vec<U>>(right)?);
        if left.len() != right.len() {
            return Err(format!(
                "cannot zip partitions of different lengths: {} items and {} items",
                left.len(),
                right.len()
            )
            .into());
        }
        Ok(Arc::new(left.into_iter().zip(right).collect::<Vec<(T, U)>>()))
    }

    fn spec(&self) -> Option<OpSpec> {
        if TypeId::of::<T>() == TypeId::of::<U>() {
            Spec::of_type::<T>("bag.zip").get()
        } else {
            Spec::of_zip::<T, U>().get()
        }
    }

    fn spec_hint(&self) -> Option<String> {
        zip_hint::<T, U>()
    }
}

/// The zip op at `(T, U)`, as a worker rebuilds it (its spec has no parameters beyond the types).
pub(crate) fn zip_op<T: Item, U: Item>() -> Arc<dyn Op> {
    Arc::new(zip_of::<T, U>())
}

/// The op that concatenates partitions, for fewer partitions.
fn concat_op<T: Item>(spec: &Spec) -> Arc<dyn Op> {
    let op = GatherOp::new("repartition", |parts: Vec<Vec<T>>| {
        let mut parts = parts.into_iter();
        let mut all = parts.next().unwrap_or_default();
        for p in parts {
            all.extend(p);
        }
        Ok::<_, BoxError>(all)
    });
    Arc::new(op.with_spec(spec.stage("concat")))
}

/// Rebuilds a repartition op from its spec.
pub(crate) fn repartition_op<T: Item>(spec: &Spec, params: &Json) -> Result<Arc<dyn Op>, BoxError> {
    match param::<String>(params, "stage")?.as_str() {
        "concat" => Ok(concat_op::<T>(spec)),
        "slice" => Ok(Arc::new(SliceOp::<T> {
            piece: param(params, "piece")?,
            pieces: param(params, "pieces")?,
            _t: PhantomData,
        })),
        other => Err(format!("repartition has no stage {other:?}").into()),
    }
}

/// Piece `piece` of `pieces` nearly equal, contiguous pieces of a partition (the first ones one
/// shorter, like integer division places them). Moves the items when this is the partition's
/// last reader, copies them otherwise.
struct SliceOp<T> {
    piece: usize,
    pieces: usize,
    _t: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for SliceOp<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "split<{}>[{}/{}]", type_name::<T>(), self.piece, self.pieces)
    }
}

impl<T: Item> Op for SliceOp<T> {
    fn name(&self) -> &str {
        "repartition"
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        let input = inputs.into_iter().next().ok_or("a split needs one input")?;
        let partition = input
            .downcast::<Vec<T>>()
            .map_err(|_| format!("value is not a {}", type_name::<Vec<T>>()))?;
        let len = partition.len();
        let (start, end) = (self.piece * len / self.pieces, (self.piece + 1) * len / self.pieces);
        let piece = match Arc::try_unwrap(partition) {
            Ok(mut owned) => {
                owned.truncate(end);
                owned.drain(..start);
                owned
            }
            Err(shared) => shared[start..end].to_vec(),
        };
        Ok(Arc::new(piece))
    }

    fn spec(&self) -> Option<OpSpec> {
        Spec::of_type::<T>("bag.repartition")
            .param("stage", "slice")
            .param("piece", self.piece)
            .param("pieces", self.pieces)
            .get()
    }
}

impl<T: Item> Bag<T> {
    /// Pairs the items of two bags that have the same number of partitions, partition by
    /// partition (as Dask's `bag.zip` does): item `k` of partition `i` with item `k` of the
    /// other's partition `i`. The zip can run remotely when both bags have the same registered
    /// item type, or the pair `(T, U)` is registered with
    /// [`register_bag_zip!`](crate::register_bag_zip).
    ///
    /// # Errors
    /// [`Error::Metadata`] if the partition counts differ. Partitions of different lengths are
    /// only known when they run: that fails the compute, naming the partition's task.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// let xs = Bag::from_vec(vec![1, 2, 3], 2);
    /// let squares = xs.map(|x| x * x);
    /// assert_eq!(xs.zip(&squares)?.compute()?, [(1, 1), (2, 4), (3, 9)]);
    /// assert!(xs.zip(&Bag::from_vec(vec![1, 2, 3], 3)).is_err());
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn zip<U: Item>(&self, other: &Bag<U>) -> Result<Bag<(T, U)>> {
        if self.npartitions != other.npartitions {
            return Err(Error::Metadata(format!(
                "cannot zip a bag of {} partitions with a bag of {} partitions; repartition one of them first",
                self.npartitions, other.npartitions
            )));
        }
        let layer = Blockwise {
            op: Arc::new(zip_of::<T, U>()),
            npartitions: self.npartitions,
        };
        let node = Node::new(
            unique_token("zip").into(),
            vec![self.node.clone(), other.node.clone()],
            Box::new(layer),
        );
        Ok(Bag::from_node(node, self.npartitions))
    }

    /// The same items, in the same order, in `npartitions` partitions (`0` is taken as 1).
    ///
    /// Fewer partitions: each new partition concatenates a contiguous run of old ones (new
    /// partition `j` of `m` takes old partitions `j*n/m .. (j+1)*n/m`), moving the items. More
    /// partitions: each old partition is split into `m/n` or `m/n + 1` contiguous pieces of
    /// nearly equal length (the first `m % n` old partitions into one more), so every new
    /// partition comes from one old one. Lengths are only known when the partitions run, so
    /// the pieces are even by item count, not by size; an old partition's pieces are copied,
    /// except the one taken by its last reader.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// let bag = Bag::from_vec((0..10).collect::<Vec<i32>>(), 4);
    /// let fewer = bag.repartition(2);
    /// assert_eq!(fewer.map_partitions(|p| vec![p.len()]).compute()?, [6, 4]);
    /// let more = bag.repartition(6);
    /// assert_eq!(more.map_partitions(|p| vec![p.len()]).compute()?, [1, 2, 1, 2, 2, 2]);
    /// assert_eq!(more.compute()?, (0..10).collect::<Vec<_>>());
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn repartition(&self, npartitions: usize) -> Bag<T> {
        let (n, m) = (self.npartitions, npartitions.max(1));
        if m == n {
            return self.clone();
        }
        let parts: Vec<(Arc<dyn Op>, Vec<u32>)> = if m < n {
            let concat = concat_op::<T>(&Spec::of_type::<T>("bag.repartition"));
            (0..m)
                .map(|j| (concat.clone(), (j * n / m..(j + 1) * n / m).map(|i| i as u32).collect()))
                .collect()
        } else {
            let (base, extra) = (m / n, m % n);
            (0..n)
                .flat_map(|i| {
                    let pieces = base + usize::from(i < extra);
                    (0..pieces).map(move |piece| {
                        let op: Arc<dyn Op> = Arc::new(SliceOp::<T> {
                            piece,
                            pieces,
                            _t: PhantomData,
                        });
                        (op, vec![i as u32])
                    })
                })
                .collect()
        };
        let layer = Regroup {
            name: "repartition",
            parts,
        };
        let node = Node::new(
            unique_token("repartition").into(),
            vec![self.node.clone()],
            Box::new(layer),
        );
        Bag::from_node(node, m)
    }
}
