//! Joins: a broadcast join when one side is a single partition (every partition of the other
//! side joins the whole small side, no shuffle), a hash-partitioned shuffle join otherwise
//! (both sides split by a hash of their keys, partition `j` of each joined with partition `j`
//! of the other).

use std::sync::Arc;

use polars::prelude::{self as pl, *};
use serde::{Deserialize, Serialize};

use super::shuffle::{SplitOp, concat_frames, frame_of, piece};
use super::steps::format_schema;
use super::{DataFrame, codec};
use crate::error::{BoxError, Error, Result};
use crate::graph::{Key, Layer, Lowering, Node, Op, OpSpec, Tokenizer, Value};

/// Which rows a join keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum How {
    /// Rows with a match on both sides.
    Inner,
    /// Every left row, with the right side's columns null where nothing matches.
    Left,
    /// Every row of both sides (polars' `full` join; keys of both sides are kept).
    Full,
    /// Left rows that have a match (left columns only).
    Semi,
    /// Left rows that have no match (left columns only).
    Anti,
}

impl How {
    fn join_type(self) -> JoinType {
        match self {
            How::Inner => JoinType::Inner,
            How::Left => JoinType::Left,
            How::Full => JoinType::Full,
            How::Semi => JoinType::Semi,
            How::Anti => JoinType::Anti,
        }
    }
}

/// Options of [`DataFrame::join_with`].
///
/// # Examples
/// ```
/// use drask::prelude::*;
/// use drask::frame::{DataFrame, How, Join, polars::prelude::*};
/// let left = DataFrame::from_polars(df!("k" => [1, 2, 3, 4], "a" => [10, 20, 30, 40])?, 2)?;
/// let right = DataFrame::from_polars(df!("k" => [2, 4, 6], "b" => ["x", "y", "z"])?, 2)?;
/// // Two partitions on each side: a hash shuffle join into 3 partitions.
/// let joined = left.join_with(&right, &["k"], &["k"], Join::new(How::Inner).npartitions(3))?;
/// assert_eq!(joined.npartitions(), 3);
/// let out = joined.sort(&["k"], &[false])?.compute()?;
/// assert_eq!(out.column("a")?.i32()?.into_no_null_iter().collect::<Vec<_>>(), [20, 40]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Join {
    how: How,
    suffix: String,
    broadcast: Option<bool>,
    npartitions: Option<usize>,
}

impl Join {
    /// A join of kind `how`, suffix `_right`, strategy chosen by partition counts.
    pub fn new(how: How) -> Join {
        Join {
            how,
            suffix: "_right".into(),
            broadcast: None,
            npartitions: None,
        }
    }

    /// The suffix for right-side columns whose names the left side has.
    pub fn suffix(mut self, suffix: &str) -> Join {
        self.suffix = suffix.into();
        self
    }

    /// Forces a broadcast of the right side (`true`) or a shuffle (`false`). By default the
    /// right side is broadcast when it has one partition (or the left side when it has one and
    /// the join is inner), and both are shuffled otherwise. A full join never broadcasts.
    pub fn broadcast(mut self, broadcast: bool) -> Join {
        self.broadcast = Some(broadcast);
        self
    }

    /// The number of partitions of a shuffle join (by default the larger side's).
    pub fn npartitions(mut self, n: usize) -> Join {
        self.npartitions = Some(n.max(1));
        self
    }
}

impl DataFrame {
    /// Joins `other` on `left_on` = `right_on` (polars' `join`, with its default options).
    /// Rows come in no particular order.
    ///
    /// # Errors
    /// [`Error::Metadata`] for a key that does not exist, key lists of different lengths, or
    /// keys of different types on the two sides (both schemas in the message).
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::frame::{DataFrame, How, polars::prelude::*};
    /// let sales = DataFrame::from_polars(df!("shop" => [1, 2, 1, 3], "amount" => [5.0, 7.0, 1.0, 2.0])?, 2)?;
    /// let shops = DataFrame::from_polars(df!("shop" => [1, 2], "city" => ["Oslo", "Rome"])?, 1)?;
    /// let known = sales.join(&shops, &["shop"], &["shop"], How::Left)?; // broadcast: shops is small
    /// let out = known.sort(&["amount"], &[false])?.compute()?;
    /// assert_eq!(out.column("city")?.str()?.iter().collect::<Vec<_>>(), [Some("Oslo"), None, Some("Oslo"), Some("Rome")]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn join(&self, other: &DataFrame, left_on: &[&str], right_on: &[&str], how: How) -> Result<DataFrame> {
        self.join_with(other, left_on, right_on, Join::new(how))
    }

    /// Joins `other` with the given [`Join`] options.
    ///
    /// # Errors
    /// As [`join`](DataFrame::join).
    pub fn join_with(
        &self,
        other: &DataFrame,
        left_on: &[&str],
        right_on: &[&str],
        options: Join,
    ) -> Result<DataFrame> {
        let join = JoinOp {
            left_on: left_on.iter().map(|s| (*s).to_string()).collect(),
            right_on: right_on.iter().map(|s| (*s).to_string()).collect(),
            how: options.how,
            suffix: options.suffix.clone(),
            nleft: 0,
            pick: None,
        };
        let schema = join.check(&self.schema, &other.schema)?;
        let (nl, nr) = (self.npartitions, other.npartitions);
        let full = options.how == How::Full;
        let strategy = match options.broadcast {
            Some(true) if !full => Strategy::BroadcastRight,
            Some(true) => {
                return Err(Error::Metadata("join: a full join cannot broadcast one side".into()));
            }
            Some(false) => Strategy::Shuffle,
            None if nl == 1 && nr == 1 => Strategy::BroadcastRight,
            None if nr == 1 && !full => Strategy::BroadcastRight,
            None if nl == 1 && options.how == How::Inner => Strategy::BroadcastLeft,
            None => Strategy::Shuffle,
        };
        let n = match strategy {
            Strategy::BroadcastRight => nl,
            Strategy::BroadcastLeft => nr,
            Strategy::Shuffle => options.npartitions.unwrap_or(nl.max(nr)),
        };
        let token = Tokenizer::new("join")
            .str(self.node.name())
            .str(other.node.name())
            .str(&format!("{join:?}{strategy:?}{n}"))
            .finish();
        let layer = JoinLayer {
            label: format!("{strategy:?} {:?} join on {left_on:?} = {right_on:?}", options.how).to_lowercase(),
            join,
            strategy,
            n,
            nl,
            nr,
        };
        let node = Node::new(
            token.into(),
            vec![self.node.clone(), other.node.clone()],
            Box::new(layer),
        );
        Ok(DataFrame::from_node(node, n, schema))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strategy {
    BroadcastRight,
    BroadcastLeft,
    Shuffle,
}

/// Joins the left frames (the first `nleft` inputs, concatenated) with the right ones (the
/// rest). With `pick`, every input is a split and piece `pick` is read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct JoinOp {
    left_on: Vec<String>,
    right_on: Vec<String>,
    how: How,
    suffix: String,
    nleft: u32,
    pick: Option<u32>,
}

impl JoinOp {
    fn query(&self, left: LazyFrame, right: LazyFrame) -> LazyFrame {
        let on = |names: &[String]| names.iter().map(|n| col(n.as_str())).collect::<Vec<_>>();
        let args = JoinArgs::new(self.how.join_type()).with_suffix(Some(self.suffix.as_str().into()));
        left.join(right, on(&self.left_on), on(&self.right_on), args)
    }

    /// The joined schema, checked on empty frames: keys exist and have the same types.
    fn check(&self, left: &SchemaRef, right: &SchemaRef) -> Result<SchemaRef> {
        let both = || {
            format!(
                "left schema: {}; right schema: {}",
                format_schema(left),
                format_schema(right)
            )
        };
        if self.left_on.len() != self.right_on.len() || self.left_on.is_empty() {
            return Err(Error::Metadata(format!(
                "join: {} left keys and {} right keys; {}",
                self.left_on.len(),
                self.right_on.len(),
                both()
            )));
        }
        for (l, r) in self.left_on.iter().zip(&self.right_on) {
            let (Some(lt), Some(rt)) = (left.get(l.as_str()), right.get(r.as_str())) else {
                return Err(Error::Metadata(format!(
                    "join: no key column {l:?} on the left or {r:?} on the right; {}",
                    both()
                )));
            };
            if lt != rt {
                return Err(Error::Metadata(format!(
                    "join: key {l:?} is {lt} on the left but {r:?} is {rt} on the right (cast one side first); {}",
                    both()
                )));
            }
        }
        let empty = |s: &SchemaRef| pl::DataFrame::empty_with_schema(s).lazy();
        let mut lf = self.query(empty(left), empty(right));
        lf.collect_schema()
            .map_err(|e| Error::Metadata(format!("join: {e}; {}", both())))
    }
}

impl Op for JoinOp {
    fn name(&self) -> &str {
        "join"
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        let mut frames = Vec::with_capacity(inputs.len());
        for value in inputs {
            frames.push(match self.pick {
                Some(j) => piece(&value, j)?,
                None => frame_of(value)?,
            });
        }
        let right = frames.split_off(self.nleft as usize);
        let side = |parts: Vec<pl::DataFrame>| -> Result<LazyFrame, BoxError> {
            let schema = parts
                .first()
                .map(|p| p.schema().clone())
                .ok_or("a join side has no partitions")?;
            Ok(concat_frames(parts, &schema)?.lazy())
        };
        Ok(Arc::new(self.query(side(frames)?, side(right)?).collect()?))
    }

    fn spec(&self) -> Option<OpSpec> {
        codec::spec_of("frame-join", self)
    }
}

#[derive(Debug)]
struct JoinLayer {
    label: String,
    join: JoinOp,
    strategy: Strategy,
    n: usize,
    nl: usize,
    nr: usize,
}

impl Layer for JoinLayer {
    fn op_name(&self) -> &str {
        &self.label
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        let (left, right) = (&node.inputs()[0], &node.inputs()[1]);
        let all = |input: &Node, n: usize| -> Vec<Key> { (0..n as u32).map(|i| input.key([i])).collect() };
        match self.strategy {
            Strategy::BroadcastRight => {
                let op = Arc::new(JoinOp {
                    nleft: 1,
                    ..self.join.clone()
                });
                for i in 0..self.nl as u32 {
                    let mut args = vec![left.key([i])];
                    args.extend(all(right, self.nr));
                    out.add(node.key([i]), op.clone(), &args)?;
                }
            }
            Strategy::BroadcastLeft => {
                let op = Arc::new(JoinOp {
                    nleft: self.nl as u32,
                    ..self.join.clone()
                });
                for i in 0..self.nr as u32 {
                    let mut args = all(left, self.nl);
                    args.push(right.key([i]));
                    out.add(node.key([i]), op.clone(), &args)?;
                }
            }
            Strategy::Shuffle => {
                let split = |side: &str, input: &Node, n_in: usize, keys: &[String], out: &mut Lowering<'_>| {
                    let name: Arc<str> = format!("{}-split-{side}", node.name()).into();
                    let op = Arc::new(SplitOp::hash(keys.to_vec(), self.n as u32));
                    (0..n_in as u32)
                        .map(|i| {
                            let key = Key::new(name.clone(), [i]);
                            out.add(key.clone(), op.clone(), &[input.key([i])])?;
                            Ok(key)
                        })
                        .collect::<Result<Vec<Key>>>()
                };
                let left_splits = split("left", left, self.nl, &self.join.left_on, out)?;
                let right_splits = split("right", right, self.nr, &self.join.right_on, out)?;
                for j in 0..self.n as u32 {
                    let op = JoinOp {
                        nleft: self.nl as u32,
                        pick: Some(j),
                        ..self.join.clone()
                    };
                    let mut args = left_splits.clone();
                    args.extend(right_splits.iter().cloned());
                    out.add(node.key([j]), Arc::new(op), &args)?;
                }
            }
        }
        Ok(())
    }
}
