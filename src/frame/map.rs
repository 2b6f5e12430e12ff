//! `map_partitions` with a user function (a closure, for local executors, or a function
//! registered by name, whose tasks a remote worker can rebuild), and the schema check of
//! partitions that come from outside (delayed values, user functions).

use std::fmt;
use std::sync::Arc;

use polars::prelude::{self as pl, PolarsResult};
use serde::{Deserialize, Serialize};

use super::shuffle::frame_of;
use super::steps::format_schema;
use super::{DataFrame, codec};
use crate::delayed::{ArgFn, DelayedFn};
use crate::error::{BoxError, Error, Result};
use crate::graph::{Layer, Lowering, Node, Op, OpSpec, Value, unique_token};
use crate::registry::OpFactory;

type PartitionFn = Arc<dyn Fn(pl::DataFrame) -> PolarsResult<pl::DataFrame> + Send + Sync>;

impl DataFrame {
    /// Applies `f` to every partition. The output schema is `schema` when given; otherwise it
    /// is found by running `f` on an empty frame of this frame's schema (Dask's `meta`
    /// inference). Every partition `f` returns is checked against it: a different schema
    /// fails the compute, naming the partition's task.
    ///
    /// A closure cannot be sent to another process, so its tasks run on local executors only;
    /// for a remote executor use [`map_partitions_registered`](DataFrame::map_partitions_registered).
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
        let f: PartitionFn = Arc::new(f);
        let schema = self.output_schema_of(schema, |empty| Ok(f(empty)?))?;
        let op = MapOp {
            f,
            check: CheckSchema { schema: schema.clone() },
        };
        Ok(self.map_with(Arc::new(op), schema))
    }

    /// Applies a function registered with [`register_fn!`](crate::register_fn) to every
    /// partition, as [`map_partitions`](DataFrame::map_partitions) does (same schema inference
    /// and check); its tasks have op specs, so a remote worker running the same binary rebuilds
    /// them by the function's name. The function takes the partition by reference and returns a
    /// frame, or a `PolarsResult` of one (register it with `register_fn!(try name)` then).
    ///
    /// # Errors
    /// As [`map_partitions`](DataFrame::map_partitions).
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::frame::{DataFrame, polars::prelude::*};
    /// use drask::registry::GraphSpec;
    ///
    /// fn doubled(part: &polars::prelude::DataFrame) -> PolarsResult<polars::prelude::DataFrame> {
    ///     part.clone().lazy().with_columns([col("x") * lit(2)]).collect()
    /// }
    /// drask::register_fn!(try doubled);
    ///
    /// let df = DataFrame::from_polars(df!("x" => [1, 2, 3])?, 2)?;
    /// let out = df.map_partitions_registered(drask::registered!(doubled), None)?;
    /// assert!(GraphSpec::from_graph(&out.graph(true)?).is_ok()); // can be sent
    /// assert_eq!(out.compute()?.column("x")?.i32()?.into_no_null_iter().collect::<Vec<_>>(), [2, 4, 6]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn map_partitions_registered<F>(&self, f: DelayedFn<F>, schema: Option<pl::Schema>) -> Result<DataFrame>
    where
        F: ArgFn<(pl::DataFrame,)>,
        F::Output: PartitionOutput,
    {
        let inner = f.op::<(pl::DataFrame,)>();
        let schema = self.output_schema_of(schema, |empty| call_registered(&inner, empty))?;
        let op = MapRegistered {
            inner,
            check: CheckSchema { schema: schema.clone() },
        };
        Ok(self.map_with(Arc::new(op), schema))
    }

    /// `schema` when given, else the schema of what `f` returns for an empty frame of this
    /// frame's schema (Dask's `meta` inference).
    fn output_schema_of(
        &self,
        schema: Option<pl::Schema>,
        f: impl FnOnce(pl::DataFrame) -> Result<pl::DataFrame, BoxError>,
    ) -> Result<pl::Schema> {
        if let Some(schema) = schema {
            return Ok(schema);
        }
        let empty = pl::DataFrame::empty_with_schema(&self.schema);
        let out = f(empty).map_err(|e| {
            Error::Metadata(format!(
                "map_partitions: the function fails on an empty frame ({e}), so the output schema \
                 cannot be inferred: pass it; input schema: {}",
                format_schema(&self.schema)
            ))
        })?;
        Ok(out.schema().as_ref().clone())
    }

    /// One task per partition running `op` on it.
    fn map_with(&self, op: Arc<dyn Op>, schema: pl::Schema) -> DataFrame {
        let layer = MapPartitions {
            op,
            n: self.npartitions,
        };
        let node = Node::new(
            unique_token("map_partitions").into(),
            vec![self.node.clone()],
            Box::new(layer),
        );
        DataFrame::from_node(node, self.npartitions, Arc::new(schema))
    }
}

/// What a function given to [`DataFrame::map_partitions_registered`] may return: a frame, or a
/// `PolarsResult` of one. Sealed: implemented for those two types only.
pub trait PartitionOutput: Send + Sync + 'static + sealed::Sealed {}

impl PartitionOutput for pl::DataFrame {}
impl PartitionOutput for PolarsResult<pl::DataFrame> {}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::pl::DataFrame {}
    impl Sealed for super::PolarsResult<super::pl::DataFrame> {}
}

/// Calls a registered partition function's op on `df` and unwraps its result: a frame (the
/// function returns one, or it was registered with `try`), or a `PolarsResult` of one (a
/// fallible function called through a plain op).
fn call_registered(op: &Arc<dyn Op>, df: pl::DataFrame) -> Result<pl::DataFrame, BoxError> {
    let value = op.call(vec![Arc::new(df)])?;
    if value.is::<pl::DataFrame>() {
        return crate::graph::take_value::<pl::DataFrame>(value);
    }
    let result = value
        .downcast::<PolarsResult<pl::DataFrame>>()
        .map_err(|_| format!("`{}` did not return a polars DataFrame", op.name()))?;
    match Arc::try_unwrap(result) {
        Ok(result) => Ok(result?),
        Err(shared) => match shared.as_ref() {
            Ok(df) => Ok(df.clone()),
            Err(e) => Err(e.to_string().into()),
        },
    }
}

struct MapPartitions {
    op: Arc<dyn Op>,
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
        for i in 0..self.n as u32 {
            out.add(node.key([i]), self.op.clone(), &[node.inputs()[0].key([i])])?;
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

/// A registered function over one partition, then the schema check: its spec names the
/// function, so a worker rebuilds it through the registry.
#[derive(Debug)]
struct MapRegistered {
    inner: Arc<dyn Op>,
    check: CheckSchema,
}

/// The wire form of [`MapRegistered`].
#[derive(Serialize, Deserialize)]
struct MapRegisteredSpec {
    function: OpSpec,
    check: CheckSchema,
}

impl Op for MapRegistered {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        let df = frame_of(inputs.into_iter().next().ok_or("map_partitions reads one partition")?)?;
        let out = call_registered(&self.inner, df)?;
        self.check.check(&out).map_err(|e| {
            format!(
                "`{}` returned a partition that breaks its schema: {e}",
                self.inner.name()
            )
        })?;
        Ok(Arc::new(out))
    }

    fn spec(&self) -> Option<OpSpec> {
        let spec = MapRegisteredSpec {
            function: self.inner.spec()?,
            check: self.check.clone(),
        };
        codec::spec_of("frame-map-partitions", &spec)
    }
}

inventory::submit! {
    OpFactory {
        name: "frame-map-partitions",
        build: |params| {
            let spec: MapRegisteredSpec = serde_json::from_value(params.clone())?;
            let inner = crate::registry::build_op(&spec.function)?;
            Ok(Arc::new(MapRegistered { inner, check: spec.check }))
        },
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
