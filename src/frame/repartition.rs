//! Changing the partitioning: `repartition` into a given number of partitions (merging runs of
//! neighbours, or splitting each into runs of rows, so the row order is kept), and
//! `drop_duplicates` through a hash shuffle.

use std::sync::Arc;

use super::DataFrame;
use super::shuffle::{ConcatOp, PickOp, Shuffle, SplitOp, Splitter};
use super::steps::{Keep, Step};
use crate::error::{Error, Result};
use crate::graph::{Key, Layer, Lowering, Node, Tokenizer};

impl DataFrame {
    /// The same rows, in the same order, in `n` partitions: fewer by concatenating runs of
    /// neighbouring partitions, more by cutting each partition into runs of rows of about equal
    /// length (no data is computed to decide).
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::frame::{DataFrame, polars::prelude::*};
    /// let df = DataFrame::from_polars(df!("x" => [1, 2, 3, 4, 5])?, 2)?;
    /// let more = df.repartition(4);
    /// assert_eq!(more.npartitions(), 4);
    /// assert_eq!(more.compute()?, df.compute()?);
    /// assert_eq!(df.repartition(1).npartitions(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn repartition(&self, n: usize) -> DataFrame {
        let n = n.max(1);
        let from = self.npartitions;
        if n == from {
            return self.clone();
        }
        let token = Tokenizer::new("repartition")
            .str(self.node.name())
            .u64(n as u64)
            .finish();
        let layer = Repartition { from, to: n };
        let node = Node::new(token.into(), vec![self.node.clone()], Box::new(layer));
        DataFrame::from_node(node, n, self.schema.clone())
    }

    /// The rows that are unique over `subset` (every column when `None`), keeping the first,
    /// last or none of each set of duplicates (in partition and row order). Rows are
    /// hash-partitioned by `subset`, so the result has this frame's partition count and its
    /// rows come in no particular order.
    ///
    /// # Errors
    /// [`Error::Metadata`] for a column that does not exist.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::frame::{DataFrame, Keep, polars::prelude::*};
    /// let df = DataFrame::from_polars(df!("k" => [1, 2, 1, 3, 2], "v" => [10, 20, 30, 40, 50])?, 2)?;
    /// let firsts = df.drop_duplicates(Some(&["k"]), Keep::First)?.sort(&["k"], &[false])?.compute()?;
    /// assert_eq!(firsts.column("v")?.i32()?.into_no_null_iter().collect::<Vec<_>>(), [10, 20, 40]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn drop_duplicates(&self, subset: Option<&[&str]>, keep: Keep) -> Result<DataFrame> {
        let keys: Vec<String> = match subset {
            Some(cols) => cols.iter().map(|c| (*c).to_string()).collect(),
            None => self.columns(),
        };
        for key in &keys {
            if self.schema.get(key).is_none() {
                return Err(Error::Metadata(format!(
                    "drop_duplicates: no column {key:?}; schema: {}",
                    super::steps::format_schema(&self.schema)
                )));
            }
        }
        let step = Step::Unique {
            subset: subset.map(|_| keys.clone()),
            keep,
        };
        if self.npartitions == 1 {
            return self.with_step(step, true);
        }
        let token = Tokenizer::new("drop_duplicates")
            .str(self.node.name())
            .str(&format!("{step:?}"))
            .finish();
        let layer = Shuffle {
            label: format!("drop_duplicates({keys:?}, keep={keep:?})"),
            split: SplitOp {
                how: Splitter::Hash { keys },
                n: self.npartitions as u32,
            },
            n_in: self.npartitions,
            then: vec![step],
        };
        let node = Node::new(token.into(), vec![self.node.clone()], Box::new(layer));
        Ok(DataFrame::from_node(node, self.npartitions, self.schema.clone()))
    }
}

/// `from` partitions into `to`, in order.
#[derive(Debug)]
struct Repartition {
    from: usize,
    to: usize,
}

impl Layer for Repartition {
    fn op_name(&self) -> &str {
        "repartition"
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        let input = &node.inputs()[0];
        let (from, to) = (self.from, self.to);
        if to < from {
            // Output j concatenates inputs [j * from / to, (j + 1) * from / to).
            for j in 0..to {
                let args: Vec<Key> = (j * from / to..(j + 1) * from / to)
                    .map(|i| input.key([i as u32]))
                    .collect();
                out.add(node.key([j as u32]), Arc::new(ConcatOp), &args)?;
            }
            return Ok(());
        }
        // Input i is cut into pieces[i] runs of rows; outputs take them in order.
        let split_name: Arc<str> = format!("{}-split", node.name()).into();
        let mut j = 0_u32;
        for i in 0..from {
            let pieces = to / from + usize::from(i < to % from);
            let split = Key::new(split_name.clone(), [i as u32]);
            let op = SplitOp {
                how: Splitter::Rows,
                n: pieces as u32,
            };
            out.add(split.clone(), Arc::new(op), &[input.key([i as u32])])?;
            for p in 0..pieces as u32 {
                let pick = PickOp {
                    index: p,
                    then: Vec::new(),
                };
                out.add(node.key([j]), Arc::new(pick), std::slice::from_ref(&split))?;
                j += 1;
            }
        }
        Ok(())
    }
}
