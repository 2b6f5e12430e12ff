//! DataFrame: a partitioned table whose partitions are polars DataFrames (Dask's
//! `dask.dataframe`), behind the `frame` feature.
//!
//! A [`DataFrame`] knows its schema when it is built, so a column that does not exist, or an
//! expression of the wrong type, fails at once, with the schema in the message. Inside a
//! partition everything is polars: column methods take polars expressions, and the column
//! methods that follow a read run as one polars lazy query per partition, so polars pushes the
//! filters and column selections into the CSV or Parquet reader (`explain()` shows it). A CSV
//! block is read by drask's own scan, which hands its lines to polars' field parser (see
//! [`ReadCsv`]), and a partition's group-by runs on polars' streaming engine. drask
//! adds the partitioning, the task graph, and the algorithms across partitions: aggregations as
//! partial aggregation then combine, hash shuffles for joins and many-group aggregations, a
//! sample-based range shuffle for sorting.
//!
//! ```
//! use drask::prelude::*;
//! use drask::frame::DataFrame;
//! use drask::frame::polars::prelude::*;
//!
//! let pl = df!("name" => ["a", "b", "a", "c", "b", "a"], "x" => [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])?;
//! let df = DataFrame::from_polars(pl, 3)?;
//! let means = df
//!     .filter(col("x").gt(lit(1.0)))?
//!     .group_by([col("name")])
//!     .agg([col("x").mean().alias("mean"), len().alias("n")])?
//!     .sort(&["name"], &[false])?
//!     .compute()?;
//! assert_eq!(means.column("mean")?.f64()?.into_no_null_iter().collect::<Vec<_>>(), [4.5, 3.5, 4.0]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Values cross process boundaries as Arrow IPC (polars' writer); every op has a spec.

mod aggregate;
mod codec;
mod csv;
mod csv_parse;
mod describe;
mod join;
mod map;
mod parquet;
mod partition;
mod quantile;
mod repartition;
mod resize;
mod shuffle;
mod sort;
mod steps;
mod write;

use std::fmt;
use std::sync::Arc;

pub use polars;
use polars::prelude::{self as pl, Expr, SchemaRef};

pub use aggregate::GroupBy;
pub use csv::{BadRows, DEFAULT_CSV_BLOCKSIZE, ReadCsv};
pub use join::{How, Join};
pub use map::PartitionOutput;
pub use parquet::ReadParquet;
pub use sort::Divisions;
pub use steps::Keep;
pub use write::WriteCsv;

use crate::collection::Collection;
use crate::delayed::Delayed;
use crate::error::{Error, Result};
use crate::graph::{Key, Layer, Literal, Lowering, Node, Op, Value, take_value, unique_token};
use partition::{PartSource, Partitionwise};
use steps::Step;

/// A lazy, partitioned table of polars DataFrames. Cheap to clone; nothing runs until
/// [`compute`](Collection::compute), which returns one polars DataFrame (partitions in order).
///
/// # Examples
/// ```
/// use drask::prelude::*;
/// use drask::frame::DataFrame;
/// use drask::frame::polars::prelude::*;
/// let df = DataFrame::from_polars(df!("x" => [1, 2, 3, 4, 5])?, 2)?;
/// let doubled = df.with_columns([(col("x") * lit(2)).alias("y")])?;
/// assert_eq!(doubled.columns(), ["x", "y"]);
/// assert_eq!(doubled.compute()?.column("y")?.i32()?.into_no_null_iter().collect::<Vec<_>>(), [2, 4, 6, 8, 10]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
#[must_use = "lazy collections do nothing until `.compute()`"]
pub struct DataFrame {
    node: Arc<Node>,
    npartitions: usize,
    schema: SchemaRef,
    divisions: Option<Arc<Divisions>>,
}

impl fmt::Debug for DataFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "DataFrame({}, {} partitions, {})",
            self.node.name(),
            self.npartitions,
            steps::format_schema(&self.schema)
        )
    }
}

impl DataFrame {
    pub(crate) fn from_node(node: Arc<Node>, npartitions: usize, schema: SchemaRef) -> DataFrame {
        DataFrame {
            node,
            npartitions,
            schema,
            divisions: None,
        }
    }

    pub(crate) fn from_partitionwise(
        name: Arc<str>,
        inputs: Vec<Arc<Node>>,
        layer: Partitionwise,
        schema: SchemaRef,
    ) -> DataFrame {
        let n = layer.sources.len();
        DataFrame::from_node(Node::new(name, inputs, Box::new(layer)), n, schema)
    }

    /// A frame of `df`'s rows split into `npartitions` partitions of nearly equal length (the
    /// first ones one row longer); `0` is taken as `1`.
    ///
    /// # Errors
    /// Never for now; a `Result` so that checks can be added.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::frame::{DataFrame, polars::prelude::*};
    /// let df = DataFrame::from_polars(df!("x" => [1, 2, 3])?, 2)?;
    /// assert_eq!(df.npartitions(), 2);
    /// assert_eq!(df.len().compute()?, 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_polars(df: pl::DataFrame, npartitions: usize) -> Result<DataFrame> {
        DataFrame::from_partitions(shuffle::split_rows(&df, npartitions))
    }

    /// A frame of the given partitions, in order.
    ///
    /// # Errors
    /// [`Error::Metadata`] if there are none, or their schemas differ (naming the partition).
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::frame::{DataFrame, polars::prelude::*};
    /// let df = DataFrame::from_partitions(vec![df!("x" => [1, 2])?, df!("x" => [3])?])?;
    /// assert_eq!(df.compute()?.height(), 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_partitions(parts: Vec<pl::DataFrame>) -> Result<DataFrame> {
        let first = parts
            .first()
            .ok_or_else(|| Error::Metadata("from_partitions: no partitions".into()))?;
        let schema = first.schema().clone();
        for (i, part) in parts.iter().enumerate() {
            if part.schema() != &schema {
                return Err(Error::Metadata(format!(
                    "from_partitions: partition {i} has schema {}, but partition 0 has {}",
                    steps::format_schema(part.schema()),
                    steps::format_schema(&schema)
                )));
            }
        }
        let n = parts.len();
        let ops: Vec<Arc<dyn Op>> = parts
            .into_iter()
            .map(|p| Arc::new(Literal::new(p)) as Arc<dyn Op>)
            .collect();
        let node = Node::new(
            unique_token("from_polars").into(),
            vec![],
            Box::new(LiteralPartitions { ops }),
        );
        Ok(DataFrame::from_node(node, n, schema))
    }

    /// A frame whose partitions are delayed values, each checked against `schema` when it is
    /// computed (Dask's `from_delayed` with `meta`).
    ///
    /// # Errors
    /// [`Error::Metadata`] for an empty list.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::frame::{DataFrame, polars::prelude::*};
    /// fn load(i: &i32) -> polars::prelude::DataFrame { df!("i" => [*i, *i * 10]).unwrap() }
    /// let parts: Vec<_> = (1..=3).map(|i| delayed(load).call((i,))).collect();
    /// let schema = Schema::from_iter([Field::new("i".into(), DataType::Int32)]);
    /// let df = DataFrame::from_delayed(parts, schema)?;
    /// assert_eq!(df.sum()?.compute()?.column("i")?.i32()?.get(0), Some(66));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_delayed(parts: Vec<Delayed<pl::DataFrame>>, schema: pl::Schema) -> Result<DataFrame> {
        if parts.is_empty() {
            return Err(Error::Metadata("from_delayed: no partitions".into()));
        }
        let n = parts.len();
        let inputs = parts.iter().map(|d| d.node().clone()).collect();
        let schema = Arc::new(schema);
        let node = Node::new(
            unique_token("from_delayed").into(),
            inputs,
            Box::new(FromDelayed { schema: schema.clone() }),
        );
        Ok(DataFrame::from_node(node, n, schema))
    }

    /// Reads CSV files (a path, a glob pattern, or a list): [`ReadCsv`] with its defaults.
    ///
    /// # Errors
    /// As [`ReadCsv::build`].
    pub fn read_csv(source: impl Into<crate::bag::Source>) -> Result<DataFrame> {
        ReadCsv::new(source).build()
    }

    /// Reads Parquet files (a path, a glob pattern, or a list): [`ReadParquet`] with its
    /// defaults.
    ///
    /// # Errors
    /// As [`ReadParquet::build`].
    pub fn read_parquet(source: impl Into<crate::bag::Source>) -> Result<DataFrame> {
        ReadParquet::new(source).build()
    }

    /// The number of partitions.
    pub fn npartitions(&self) -> usize {
        self.npartitions
    }

    /// The schema: column names and types, in order.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// The column names, in order.
    pub fn columns(&self) -> Vec<String> {
        self.schema.iter_names().map(|n| n.to_string()).collect()
    }

    /// The partitions' boundaries, when known (after [`sort`](DataFrame::sort)).
    pub fn divisions(&self) -> Option<&Divisions> {
        self.divisions.as_deref()
    }

    /// The high-level node behind this frame.
    pub fn node(&self) -> &Arc<Node> {
        &self.node
    }

    /// The key of partition `i`.
    pub fn partition_key(&self, i: usize) -> Key {
        self.node.key([i as u32])
    }

    pub(crate) fn with_divisions(mut self, divisions: Option<Arc<Divisions>>) -> DataFrame {
        self.divisions = divisions;
        self
    }

    /// The sources and steps of this frame's partitions, seen as a chain: the frame's own when
    /// it is partition-wise, else its partitions followed by no steps.
    fn chain(&self) -> (Vec<Arc<Node>>, Vec<PartSource>, Vec<Step>) {
        if let Some(layer) = self
            .node
            .layer()
            .as_any()
            .and_then(|a| a.downcast_ref::<Partitionwise>())
        {
            return (self.node.inputs().to_vec(), layer.sources.clone(), layer.steps.to_vec());
        }
        (
            vec![self.node.clone()],
            vec![PartSource::Input; self.npartitions],
            Vec::new(),
        )
    }

    /// This frame with `step` added to every partition's query, fused with the steps before it.
    pub(crate) fn with_step(&self, step: Step, keeps_divisions: bool) -> Result<DataFrame> {
        let (inputs, sources, mut steps) = self.chain();
        let schema = steps::output_schema(&self.schema, std::slice::from_ref(&step))?;
        steps.push(step);
        let token = step_token(&inputs, &sources, &steps);
        let divisions = if keeps_divisions { self.divisions.clone() } else { None };
        Ok(
            DataFrame::from_partitionwise(token.into(), inputs, Partitionwise::new(sources, steps.into()), schema)
                .with_divisions(divisions),
        )
    }

    /// The columns that `exprs` compute (polars' `select`).
    ///
    /// # Errors
    /// [`Error::Metadata`] for a column that does not exist or a type mismatch, with the schema.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::frame::{DataFrame, polars::prelude::*};
    /// let df = DataFrame::from_polars(df!("a" => [1, 2], "b" => [3, 4])?, 2)?;
    /// let sum = df.select([(col("a") + col("b")).alias("s")])?;
    /// assert_eq!(sum.compute()?.column("s")?.i32()?.into_no_null_iter().collect::<Vec<_>>(), [4, 6]);
    /// assert!(df.select([col("nope")]).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn select<E: AsRef<[Expr]>>(&self, exprs: E) -> Result<DataFrame> {
        self.with_step(Step::Select(exprs.as_ref().to_vec()), false)
    }

    /// Adds or replaces the columns that `exprs` compute (polars' `with_columns`).
    ///
    /// # Errors
    /// As [`select`](DataFrame::select).
    pub fn with_columns<E: AsRef<[Expr]>>(&self, exprs: E) -> Result<DataFrame> {
        self.with_step(Step::WithColumns(exprs.as_ref().to_vec()), true)
    }

    /// The rows where `predicate` is true (polars' `filter`).
    ///
    /// # Errors
    /// As [`select`](DataFrame::select); also for a predicate that is not boolean.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::frame::{DataFrame, polars::prelude::*};
    /// let df = DataFrame::from_polars(df!("a" => [1, 5, 2, 7])?, 2)?;
    /// assert_eq!(df.filter(col("a").gt(lit(3)))?.len().compute()?, 2);
    /// assert!(df.filter(col("a") + lit(1)).is_err()); // not a boolean
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn filter(&self, predicate: Expr) -> Result<DataFrame> {
        self.with_step(Step::Filter(predicate), true)
    }

    /// Renames columns: `existing[i]` becomes `new[i]`.
    ///
    /// # Errors
    /// [`Error::Metadata`] for a name that does not exist or lists of different lengths.
    pub fn rename(&self, existing: &[&str], new: &[&str]) -> Result<DataFrame> {
        if existing.len() != new.len() {
            return Err(Error::Metadata(format!(
                "rename: {} names to rename but {} new names",
                existing.len(),
                new.len()
            )));
        }
        self.with_step(
            Step::Rename {
                existing: existing.iter().map(|s| (*s).to_string()).collect(),
                new: new.iter().map(|s| (*s).to_string()).collect(),
            },
            false,
        )
    }

    /// Without the named columns.
    ///
    /// # Errors
    /// [`Error::Metadata`] for a name that does not exist.
    pub fn drop(&self, columns: &[&str]) -> Result<DataFrame> {
        self.with_step(Step::Drop(columns.iter().map(|s| (*s).to_string()).collect()), false)
    }

    /// Columns converted to other types (strictly: a value that does not convert fails the
    /// compute).
    ///
    /// # Errors
    /// [`Error::Metadata`] for a name that does not exist.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::frame::{DataFrame, polars::prelude::*};
    /// let df = DataFrame::from_polars(df!("a" => [1, 2])?, 1)?.cast(&[("a", DataType::Float64)])?;
    /// assert_eq!(df.schema().get("a"), Some(&DataType::Float64));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn cast(&self, dtypes: &[(&str, pl::DataType)]) -> Result<DataFrame> {
        let exprs: Vec<Expr> = dtypes
            .iter()
            .map(|(name, dtype)| pl::col(*name).strict_cast(dtype.clone()))
            .collect();
        self.with_step(Step::WithColumns(exprs), true)
    }

    /// Nulls replaced by `value` (in every column it fits, as polars' `fill_null`).
    ///
    /// # Errors
    /// As [`select`](DataFrame::select).
    pub fn fill_null(&self, value: Expr) -> Result<DataFrame> {
        self.with_step(Step::FillNull(value), true)
    }

    /// Without the rows that have a null in `subset` (any column when `None`).
    ///
    /// # Errors
    /// [`Error::Metadata`] for a name that does not exist.
    pub fn drop_nulls(&self, subset: Option<&[&str]>) -> Result<DataFrame> {
        self.with_step(
            Step::DropNulls(subset.map(|s| s.iter().map(|c| (*c).to_string()).collect())),
            true,
        )
    }

    /// Partition `i` alone, as a frame of one partition (Dask's `get_partition`).
    ///
    /// # Errors
    /// [`Error::Metadata`] if there is no partition `i`.
    pub fn partition(&self, i: usize) -> Result<DataFrame> {
        if i >= self.npartitions {
            return Err(Error::Metadata(format!(
                "partition {i} of a frame with {} partitions",
                self.npartitions
            )));
        }
        let (inputs, sources, steps) = self.chain();
        let inputs = if sources[i] == PartSource::Input {
            // Pick the one upstream partition.
            let pick = Node::new(
                format!("{}-partition-{i}", self.node.name()).into(),
                inputs,
                Box::new(PickPartition { index: i as u32 }),
            );
            vec![pick]
        } else {
            inputs
        };
        let token = format!("{}-partition-{i}", self.node.name());
        Ok(DataFrame::from_partitionwise(
            token.into(),
            inputs,
            Partitionwise::new(vec![sources[i].clone()], steps.into()),
            self.schema.clone(),
        ))
    }

    /// The first `n` rows, computed now, touching only the partitions it needs (one after
    /// another, each cut to the rows still missing; polars stops reading a CSV block early).
    ///
    /// # Errors
    /// As [`compute`](Collection::compute).
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::frame::{DataFrame, polars::prelude::*};
    /// let df = DataFrame::from_polars(df!("x" => [1, 2, 3, 4, 5])?, 3)?;
    /// assert_eq!(df.head(3)?.column("x")?.i32()?.into_no_null_iter().collect::<Vec<_>>(), [1, 2, 3]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn head(&self, n: usize) -> Result<pl::DataFrame> {
        let mut parts = Vec::new();
        let mut missing = n;
        for i in 0..self.npartitions {
            if missing == 0 {
                break;
            }
            let limit = u32::try_from(missing).unwrap_or(u32::MAX);
            let part = self.partition(i)?.with_step(Step::Limit(limit), true)?.compute()?;
            missing -= part.height().min(missing);
            parts.push(part);
        }
        shuffle::concat_frames(parts, &self.schema).map_err(|e| Error::Internal(format!("head: {e}")))
    }
}

/// A deterministic name for a chain of steps over the same sources.
fn step_token(inputs: &[Arc<Node>], sources: &[PartSource], steps: &[Step]) -> String {
    let mut t = crate::graph::Tokenizer::new("frame");
    for input in inputs {
        t = t.str(input.name());
    }
    let described = serde_json::to_string(&(sources, steps)).unwrap_or_else(|_| format!("{sources:?}{steps:?}"));
    t.str(&described).finish()
}

impl Collection for DataFrame {
    type Output = pl::DataFrame;

    fn nodes(&self) -> Vec<Arc<Node>> {
        vec![self.node.clone()]
    }

    fn keys(&self) -> Vec<Key> {
        (0..self.npartitions).map(|i| self.partition_key(i)).collect()
    }

    fn finalize(&self, values: &mut dyn Iterator<Item = Value>) -> Result<pl::DataFrame> {
        let mut parts = Vec::with_capacity(self.npartitions);
        for i in 0..self.npartitions {
            let value = values
                .next()
                .ok_or_else(|| Error::Internal(format!("no value for partition {i}")))?;
            parts.push(take_value::<pl::DataFrame>(value).map_err(|e| Error::Internal(format!("partition {i}: {e}")))?);
        }
        shuffle::concat_frames(parts, &self.schema)
            .map_err(|e| Error::Internal(format!("concatenating partitions: {e}")))
    }
}

/// Partitions given as values: one literal task each.
#[derive(Debug)]
struct LiteralPartitions {
    ops: Vec<Arc<dyn Op>>,
}

impl Layer for LiteralPartitions {
    fn op_name(&self) -> &str {
        "from_polars"
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        for (i, op) in self.ops.iter().enumerate() {
            out.add(node.key([i as u32]), op.clone(), &[])?;
        }
        Ok(())
    }
}

/// Partitions computed by delayed values, checked against the declared schema.
#[derive(Debug)]
struct FromDelayed {
    schema: SchemaRef,
}

impl Layer for FromDelayed {
    fn op_name(&self) -> &str {
        "from_delayed"
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        for (i, input) in node.inputs().iter().enumerate() {
            let op = map::CheckSchema {
                schema: (*self.schema).clone(),
            };
            out.add(node.key([i as u32]), Arc::new(op), &[Key::single(input.name().clone())])?;
        }
        Ok(())
    }
}

/// Partition `index` of the one input, as partition 0.
#[derive(Debug)]
struct PickPartition {
    index: u32,
}

impl Layer for PickPartition {
    fn op_name(&self) -> &str {
        "get_partition"
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        let source = node.inputs()[0].key([self.index]);
        out.add(node.key([0]), Arc::new(shuffle::ConcatOp), &[source])?;
        Ok(())
    }
}
