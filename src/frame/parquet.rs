//! Parquet input: [`ReadParquet`] reads each file's footer when the frame is built (schema, row
//! groups); each partition is a file, or a run of its row groups, scanned by polars when its
//! task runs, with the partition's filters and column selections pushed into the scan.

use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;

use polars::prelude::{self as pl, *};
use serde::{Deserialize, Serialize};

use super::DataFrame;
use super::partition::{PartSource, Partitionwise};
use crate::bag::Source;
use crate::error::{BoxError, Error, Result};
use crate::graph::Tokenizer;

/// One partition of a Parquet read: rows `[offset, offset + len)` of `path` (whole row groups),
/// or the whole file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ParquetPart {
    pub(crate) path: PathBuf,
    /// `(first row, rows)`, or `None` for the whole file.
    pub(crate) rows: Option<(u64, u64)>,
}

impl ParquetPart {
    /// The partition as a lazy query. For a whole file, polars skips row groups whose
    /// statistics rule out the partition's filter.
    pub(crate) fn scan(&self) -> Result<LazyFrame, BoxError> {
        let path = pl::PlRefPath::new(self.path.to_string_lossy().as_ref());
        let lf = LazyFrame::scan_parquet(path, ScanArgsParquet::default())
            .map_err(|e| format!("{}: {e}", self.path.display()))?;
        Ok(match self.rows {
            Some((offset, len)) => lf.slice(offset as i64, len as IdxSize),
            None => lf,
        })
    }

    /// The same query over the file, for `explain()` (footers only, no data is read).
    pub(crate) fn empty_scan(&self) -> Result<LazyFrame, BoxError> {
        self.scan()
    }
}

/// Reads Parquet files into a [`DataFrame`]: [`DataFrame::read_parquet`] with options.
///
/// One partition per file by default. With [`row_groups_per_partition`](ReadParquet::row_groups_per_partition)
/// a file is split into runs of that many row groups.
///
/// Filters and column selections that follow the read are pushed into polars' scan: only the
/// needed columns are decoded, and, for whole-file partitions, row groups whose statistics rule
/// the filter out are skipped (`explain()` shows what was pushed).
///
/// Checked when built: every path exists, every pattern matches, every file has the first
/// file's schema.
///
/// # Examples
/// ```
/// use drask::prelude::*;
/// use drask::frame::{DataFrame, ReadParquet};
/// use drask::frame::polars::prelude::*;
/// let dir = std::env::temp_dir().join(format!("drask-doc-readpq-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let df = DataFrame::from_polars(df!("x" => [1_i64, 2, 3, 4], "y" => ["a", "b", "c", "d"])?, 2)?;
/// df.to_parquet(&dir)?.compute()?;
/// let back = ReadParquet::new(dir.join("*.parquet")).build()?;
/// assert_eq!(back.npartitions(), 2);
/// assert_eq!(back.filter(col("x").gt_eq(lit(3)))?.len().compute()?, 2);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct ReadParquet {
    source: Source,
    row_groups_per_partition: Option<usize>,
}

impl ReadParquet {
    /// Reads the files `source` names: a path, a glob pattern, or a list of them.
    pub fn new(source: impl Into<Source>) -> ReadParquet {
        ReadParquet {
            source: source.into(),
            row_groups_per_partition: None,
        }
    }

    /// Splits files into partitions of this many row groups (`None`: one partition per file).
    pub fn row_groups_per_partition(mut self, groups: Option<usize>) -> ReadParquet {
        self.row_groups_per_partition = groups.map(|g| g.max(1));
        self
    }

    /// The frame.
    ///
    /// # Errors
    /// [`Error::Io`] for a missing file, [`Error::Metadata`] for a pattern with no match, a
    /// file that is not Parquet, or files whose schemas differ.
    pub fn build(&self) -> Result<DataFrame> {
        let paths = self.source.paths()?;
        let mut schema: Option<(PathBuf, SchemaRef)> = None;
        let mut parts = Vec::new();
        let mut token = Tokenizer::new("read_parquet");
        for path in &paths {
            let file = File::open(path).map_err(|e| crate::bag::io_error(path, e))?;
            let mut reader = ParquetReader::new(file);
            let not_parquet = |e: PolarsError| Error::Metadata(format!("read_parquet: {}: {e}", path.display()));
            let metadata = reader.get_metadata().map_err(not_parquet)?.clone();
            let this = LazyFrame::scan_parquet(
                pl::PlRefPath::new(path.to_string_lossy().as_ref()),
                ScanArgsParquet::default(),
            )
            .and_then(|mut lf| lf.collect_schema())
            .map_err(not_parquet)?;
            match &schema {
                Some((first, expected)) if expected != &this => {
                    return Err(Error::Metadata(format!(
                        "read_parquet: {} has schema {}, but {} has {}",
                        path.display(),
                        super::steps::format_schema(&this),
                        first.display(),
                        super::steps::format_schema(expected)
                    )));
                }
                Some(_) => {}
                None => schema = Some((path.clone(), this)),
            }
            let modified = std::fs::metadata(path).map_or(0, |m| super::csv::modified_nanos(&m));
            token = token.str(&path.to_string_lossy()).u64(modified);
            match self.row_groups_per_partition {
                None => parts.push(ParquetPart {
                    path: path.clone(),
                    rows: None,
                }),
                Some(per) => {
                    let mut offset = 0_u64;
                    let groups: Vec<u64> = metadata.row_groups.iter().map(|g| g.num_rows() as u64).collect();
                    if groups.is_empty() {
                        parts.push(ParquetPart {
                            path: path.clone(),
                            rows: Some((0, 0)),
                        });
                    }
                    for run in groups.chunks(per) {
                        let len: u64 = run.iter().sum();
                        parts.push(ParquetPart {
                            path: path.clone(),
                            rows: Some((offset, len)),
                        });
                        offset += len;
                    }
                }
            }
        }
        let (_, schema) = schema.ok_or_else(|| Error::Metadata("read_parquet: no files".into()))?;
        let token = token.u64(self.row_groups_per_partition.unwrap_or(0) as u64).finish();
        let sources = parts.into_iter().map(PartSource::Parquet).collect();
        Ok(DataFrame::from_partitionwise(
            token.into(),
            vec![],
            Partitionwise::new(sources, Arc::from([])),
            schema,
        ))
    }
}
