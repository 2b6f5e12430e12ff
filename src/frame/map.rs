//! `map_partitions` with a user function, and the schema check of partitions that come from
//! outside (delayed values, user functions).

use std::fmt;
use std::sync::Arc;

use polars::prelude::{self as pl, PolarsResult};
use serde::{Deserialize, Serialize};

use super::shuffle::frame_of;
use super::steps::format_schema;
use super::{DataFrame, codec};
use crate::error::{BoxError, Error, Result};
use crate::graph::{Layer, Lowering, Node, Op, OpSpec, Value, unique_token};

type PartitionFn = Arc<dyn Fn(pl::DataFrame) -> PolarsResult<pl::DataFrame> + Send + Sync>;

impl DataFrame {
    /// Applies `f` to every partition. The output schema is `schema` when given; otherwise it
    /// is found by running `f` on an empty frame of this frame's schema (Dask's `meta`
    /// inference). Every partition `f` returns is checked against it: a different schema
    /// fails the compute, naming the partition's task.
    ///
    /// # Errors
    /// [`Error::Metadata`] when no schema is given and `f` fails on an empty frame.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::frame::{DataFrame, polars::prelude::*};
    /// let df = DataFrame::from_polars(df!("x" => [3, 1, 2, 5])?, 2)?;
    /// // Rank within each partition.
    /// let ranked = df.map_partitions(|p| p.sort(["x"], Default::default()), None)?;
    /// assert_eq!(ranked.compute()?.column("x")?.i32()?.into_no_null_iter().collect::<Vec<_>>(), [1, 3, 2, 5]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn map_partitions<F>(&self, f: F, schema: Option<pl::Schema>) -> Result<DataFrame>
    where
        F: Fn(pl::DataFrame) -> PolarsResult<pl::DataFrame> + Send + Sync + 'static,
    {
        let schema = match schema {
            Some(schema) => schema,
            None => {
                let empty = pl::DataFrame::empty_with_schema(&self.schema);
                f(empty)
                    .map_err(|e| {
                        Error::Metadata(format!(
                            "map_partitions: the function fails on an empty frame ({e}), so the output schema \
                             cannot be inferred: pass it; input schema: {}",
                            format_schema(&self.schema)
                        ))
                    })?
                    .schema()
                    .as_ref()
                    .clone()
            }
        };
        let layer = MapPartitions {
            f: Arc::new(f),
            check: CheckSchema { schema: schema.clone() },
            n: self.npartitions,
        };
        let node = Node::new(
            unique_token("map_partitions").into(),
            vec![self.node.clone()],
            Box::new(layer),
        );
        Ok(DataFrame::from_node(node, self.npartitions, Arc::new(schema)))
    }
}

struct MapPartitions {
    f: PartitionFn,
    check: CheckSchema,
    n: usize,
}

impl fmt::Debug for MapPartitions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MapPartitions({} partitions)", self.n)
    }
}

impl Layer for MapPartitions {
    fn op_name(&self) -> &str {
        "map_partitions"
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        let op = Arc::new(MapOp {
            f: self.f.clone(),
            check: self.check.clone(),
        });
        for i in 0..self.n as u32 {
            out.add(node.key([i]), op.clone(), &[node.inputs()[0].key([i])])?;
        }
        Ok(())
    }
}

/// A user function over one partition: a closure, so it has no spec (a remote executor
/// refuses it, saying so).
struct MapOp {
    f: PartitionFn,
    check: CheckSchema,
}

impl fmt::Debug for MapOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("map_partitions")
    }
}

impl Op for MapOp {
    fn name(&self) -> &str {
        "map_partitions"
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        let df = frame_of(inputs.into_iter().next().ok_or("map_partitions reads one partition")?)?;
        let out = (self.f)(df)?;
        self.check.check(&out)?;
        Ok(Arc::new(out))
    }
}

/// Checks that a partition has the declared schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct CheckSchema {
    pub(crate) schema: pl::Schema,
}

impl CheckSchema {
    fn check(&self, df: &pl::DataFrame) -> Result<(), BoxError> {
        if df.schema().as_ref() != &self.schema {
            return Err(format!(
                "the partition has schema {}, but {} was declared",
                format_schema(df.schema()),
                format_schema(&self.schema)
            )
            .into());
        }
        Ok(())
    }
}

impl Op for CheckSchema {
    fn name(&self) -> &str {
        "check_schema"
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        let df = frame_of(inputs.into_iter().next().ok_or("check_schema reads one partition")?)?;
        self.check(&df)?;
        Ok(Arc::new(df))
    }

    fn spec(&self) -> Option<OpSpec> {
        codec::spec_of("frame-check-schema", self)
    }
}
