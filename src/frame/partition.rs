//! The partition-wise layer: each output partition is a source (an upstream partition, a block
//! of a CSV file, a Parquet file) followed by a chain of column [`Step`]s, run as one polars lazy
//! query per partition. A chain of column methods on a frame extends the chain of the node it
//! reads instead of adding a node per method, so every partition's whole query reaches polars'
//! optimizer at once, and projections and filters are pushed into the reader.

use std::fmt;
use std::sync::Arc;

use polars::prelude::{self as pl, Engine, Expr, IntoLazy, LazyFrame, PlSmallStr};
use serde::{Deserialize, Serialize};

use super::csv::{CsvBlock, CsvPartition};
use super::parquet::ParquetPart;
use super::steps::{Step, apply_all};
use crate::error::{BoxError, Result};
use crate::graph::{Key, Layer, Lowering, Node, Op, OpSpec, Value, take_value};

/// Where a partition's rows come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum PartSource {
    /// Partition `i` of the node's one input.
    Input,
    /// A block of a CSV file.
    Csv(CsvBlock),
    /// Row groups of a Parquet file.
    Parquet(ParquetPart),
}

impl PartSource {
    fn label(&self) -> &'static str {
        match self {
            PartSource::Input => "partitions",
            PartSource::Csv(_) => "read_csv",
            PartSource::Parquet(_) => "read_parquet",
        }
    }
}

/// The op of one partition: read the source, run the steps, collect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PartitionTask {
    pub(crate) source: PartSource,
    pub(crate) steps: Arc<[Step]>,
}

impl PartitionTask {
    /// The partition's lazy query, reading `input` for [`PartSource::Input`].
    pub(crate) fn query(&self, input: Option<pl::DataFrame>) -> Result<LazyFrame, BoxError> {
        self.query_with(&self.steps, input)
    }

    /// `steps` over the partition's source.
    fn query_with(&self, steps: &[Step], input: Option<pl::DataFrame>) -> Result<LazyFrame, BoxError> {
        let base = match &self.source {
            PartSource::Input => input.ok_or("a partition task over an input needs its value")?.lazy(),
            PartSource::Csv(block) => block.scan()?,
            PartSource::Parquet(part) => part.scan()?,
        };
        Ok(apply_all(steps, base))
    }

    /// For a query that ends in a group-by: the query of the rows it groups (only the columns
    /// it reads, so polars still pushes them into the reader), and the group-by, which then runs
    /// on polars' streaming engine: its hash grouper takes about half the in-memory engine's time
    /// per row, and it does not copy the rows into one chunk first. `None` for any other query,
    /// or when the group-by's columns are not plain names (a regex, a wildcard) or are none.
    fn grouped_rows_query(&self, input: Option<&pl::DataFrame>) -> Result<Option<(LazyFrame, Step)>, BoxError> {
        let Some((last @ Step::Aggregate { keys, aggs }, before)) = self.steps.split_last() else {
            return Ok(None);
        };
        if keys.is_empty() || streaming_forced() {
            return Ok(None);
        }
        let rows = self.query_with(before, input.cloned())?;
        let schema = rows.clone().collect_schema()?;
        let mut columns: Vec<PlSmallStr> = Vec::new();
        for expr in keys.iter().chain(aggs).flat_map(|e| e.into_iter()) {
            match expr {
                Expr::Column(name) if schema.get(name).is_some() && !columns.contains(name) => {
                    columns.push(name.clone());
                }
                Expr::Column(name) if schema.get(name).is_some() => {}
                Expr::Column(_) | Expr::Selector(_) => return Ok(None),
                _ => {}
            }
        }
        // Keys and aggregations that read no column (a literal key, `len()`) need the rows, not
        // their columns: selecting none would lose them.
        if columns.is_empty() {
            return Ok(None);
        }
        Ok(Some((
            rows.select(columns.into_iter().map(pl::col).collect::<Vec<_>>()),
            last.clone(),
        )))
    }

    /// Runs the partition's query.
    pub(crate) fn run(&self, input: Option<pl::DataFrame>) -> Result<pl::DataFrame, BoxError> {
        let result = match self.grouped_rows_query(input.as_ref())? {
            Some((rows, aggregate)) => rows
                .collect()
                .and_then(|rows| aggregate.apply(rows.lazy()).collect_with_engine(Engine::Streaming))
                .map(|result| result.unwrap_single()),
            None => self.query(input)?.collect(),
        };
        match (&self.source, result) {
            (_, Ok(df)) => Ok(df),
            // A CSV parse error names the file and the row that broke it.
            (PartSource::Csv(block), Err(err)) => Err(block.explain_error(err).into()),
            (PartSource::Parquet(part), Err(err)) => Err(format!("{}: {err}", part.path.display()).into()),
            (PartSource::Input, Err(err)) => Err(err.into()),
        }
    }
}

impl Op for PartitionTask {
    fn name(&self) -> &str {
        self.source.label()
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        let input = match inputs.into_iter().next() {
            // A read that skips bad rows hands over its rows with their count.
            Some(value) => Some(match value.downcast_ref::<CsvPartition>() {
                Some(part) => part.frame.clone(),
                None => take_value::<pl::DataFrame>(value)?,
            }),
            None => None,
        };
        Ok(Arc::new(self.run(input)?))
    }

    fn spec(&self) -> Option<OpSpec> {
        super::codec::spec_of("frame-partition", self)
    }
}

/// Whether polars runs every query on its streaming engine (`POLARS_FORCE_STREAMING=1`), which
/// cannot run drask's own CSV scan ([`BlockScan`](super::csv_parse::BlockScan)): CSV blocks are
/// then read by polars' reader.
pub(crate) fn streaming_forced() -> bool {
    std::env::var("POLARS_FORCE_STREAMING").as_deref() == Ok("1")
}

/// One task per partition, each a [`PartitionTask`]. The node has one input when the sources
/// are [`PartSource::Input`], none when they read files.
pub(crate) struct Partitionwise {
    pub(crate) sources: Vec<PartSource>,
    pub(crate) steps: Arc<[Step]>,
    /// What `explain()` shows: the source, the steps, and the plan polars runs per partition.
    pub(crate) label: String,
}

impl fmt::Debug for Partitionwise {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Partitionwise")
            .field("partitions", &self.sources.len())
            .field("steps", &self.steps)
            .finish()
    }
}

impl Partitionwise {
    pub(crate) fn new(sources: Vec<PartSource>, steps: Arc<[Step]>) -> Partitionwise {
        let label = describe(&sources, &steps);
        Partitionwise { sources, steps, label }
    }

    /// The task of partition `i`.
    pub(crate) fn task(&self, i: usize) -> PartitionTask {
        PartitionTask {
            source: self.sources[i].clone(),
            steps: self.steps.clone(),
        }
    }
}

impl Layer for Partitionwise {
    fn op_name(&self) -> &str {
        &self.label
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        for i in 0..self.sources.len() {
            let args: Vec<Key> = node.inputs().iter().map(|input| input.key([i as u32])).collect();
            out.add(node.key([i as u32]), Arc::new(self.task(i)), &args)?;
        }
        Ok(())
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

/// `read_csv[...] | filter(...) | select(...)`, plus what polars' optimizer makes of the first
/// partition's query (which columns it reads, which filter it pushes into the scan).
pub(crate) fn describe(sources: &[PartSource], steps: &[Step]) -> String {
    let mut text = sources.first().map_or("partitions", PartSource::label).to_string();
    for step in steps {
        text.push_str(" | ");
        text.push_str(&step.describe());
    }
    if let Some(pushed) = sources.first().and_then(|s| pushdown_summary(s, steps)) {
        text.push_str(" [");
        text.push_str(&pushed);
        text.push(']');
    }
    text
}

/// The scan line of polars' optimized plan for a file source, e.g. `pushed into the scan:
/// PROJECT 2/5 COLUMNS; SELECTION: [(col("y")) > (0.5)]`.
fn pushdown_summary(source: &PartSource, steps: &[Step]) -> Option<String> {
    let base = match source {
        PartSource::Input => return None,
        PartSource::Csv(block) => block.empty_scan().ok()?,
        PartSource::Parquet(part) => part.empty_scan().ok()?,
    };
    let plan = apply_all(steps, base).explain(true).ok()?;
    // The scan is the innermost node; what polars pushed into it follows on its own lines.
    let lines: Vec<&str> = plan.lines().map(str::trim).collect();
    let scan = lines.iter().position(|l| l.contains("SCAN"))?;
    let pushed: Vec<&str> = lines[scan + 1..]
        .iter()
        .take_while(|l| l.starts_with("PROJECT") || l.starts_with("SELECTION") || l.starts_with("ESTIMATED"))
        .filter(|l| !l.starts_with("ESTIMATED"))
        .copied()
        .collect();
    Some(format!(
        "pushed into the scan: {}",
        if pushed.is_empty() {
            "nothing".to_string()
        } else {
            pushed.join("; ")
        }
    ))
}
