//! Output: one file per partition, written by polars (`part.00000.csv`, `part.00000.parquet`,
//! …), and the list of paths as a delayed value.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use polars::prelude::{CsvWriter, ParquetWriter, SerWriter};
use serde::{Deserialize, Serialize};

use super::shuffle::frame_of;
use super::{DataFrame, codec};
use crate::delayed::Delayed;
use crate::error::{BoxError, Result};
use crate::graph::{Key, Layer, Lowering, Node, Op, OpSpec, Tokenizer, Value};

/// Options of [`DataFrame::to_csv_with`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteCsv {
    separator: u8,
    header: bool,
}

impl Default for WriteCsv {
    fn default() -> Self {
        WriteCsv::new()
    }
}

impl WriteCsv {
    /// Comma-separated, with a header line in every file.
    pub fn new() -> WriteCsv {
        WriteCsv {
            separator: b',',
            header: true,
        }
    }

    /// The field separator.
    pub fn separator(mut self, separator: u8) -> WriteCsv {
        self.separator = separator;
        self
    }

    /// Whether each file starts with a header line.
    pub fn header(mut self, header: bool) -> WriteCsv {
        self.header = header;
        self
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Format {
    Csv(WriteCsv),
    Parquet,
}

impl DataFrame {
    /// Writes partition `i` to `dir/part.{i:05}.csv` (creating `dir`), when computed; the
    /// value is the list of files written.
    ///
    /// # Errors
    /// [`Error::Io`](crate::Error::Io) if `dir` cannot be created.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::frame::{DataFrame, polars::prelude::*};
    /// let dir = std::env::temp_dir().join(format!("drask-doc-tocsv-{}", std::process::id()));
    /// let df = DataFrame::from_polars(df!("x" => [1, 2, 3])?, 2)?;
    /// let files = df.to_csv(&dir)?.compute()?;
    /// assert_eq!(files.len(), 2);
    /// assert_eq!(std::fs::read_to_string(&files[1])?, "x\n3\n");
    /// assert_eq!(DataFrame::read_csv(dir.join("*.csv"))?.len().compute()?, 3);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_csv(&self, dir: impl AsRef<Path>) -> Result<Delayed<Vec<PathBuf>>> {
        self.to_csv_with(dir, WriteCsv::new())
    }

    /// [`to_csv`](DataFrame::to_csv) with options.
    ///
    /// # Errors
    /// As [`to_csv`](DataFrame::to_csv).
    pub fn to_csv_with(&self, dir: impl AsRef<Path>, options: WriteCsv) -> Result<Delayed<Vec<PathBuf>>> {
        self.write(dir.as_ref(), Format::Csv(options))
    }

    /// Writes partition `i` to `dir/part.{i:05}.parquet` (creating `dir`), when computed; the
    /// value is the list of files written.
    ///
    /// # Errors
    /// [`Error::Io`](crate::Error::Io) if `dir` cannot be created.
    pub fn to_parquet(&self, dir: impl AsRef<Path>) -> Result<Delayed<Vec<PathBuf>>> {
        self.write(dir.as_ref(), Format::Parquet)
    }

    fn write(&self, dir: &Path, format: Format) -> Result<Delayed<Vec<PathBuf>>> {
        std::fs::create_dir_all(dir).map_err(|e| crate::bag::io_error(dir, e))?;
        let extension = match format {
            Format::Csv(_) => "csv",
            Format::Parquet => "parquet",
        };
        let token = Tokenizer::new("write")
            .str(self.node.name())
            .str(&dir.to_string_lossy())
            .str(&format!("{format:?}"))
            .finish();
        let ops = (0..self.npartitions)
            .map(|i| WriteOp {
                path: dir.join(format!("part.{i:05}.{extension}")),
                format: format.clone(),
            })
            .collect();
        let node = Node::new(token.into(), vec![self.node.clone()], Box::new(WriteFiles { ops }));
        Ok(Delayed::from_node(node))
    }
}

#[derive(Debug)]
struct WriteFiles {
    ops: Vec<WriteOp>,
}

impl Layer for WriteFiles {
    fn op_name(&self) -> &str {
        "write"
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        let name: Arc<str> = format!("{}-part", node.name()).into();
        let mut written = Vec::with_capacity(self.ops.len());
        for (i, op) in self.ops.iter().enumerate() {
            let key = Key::new(name.clone(), [i as u32]);
            out.add(key.clone(), Arc::new(op.clone()), &[node.inputs()[0].key([i as u32])])?;
            written.push(key);
        }
        out.add(
            Key::single(node.name().clone()),
            crate::delayed::collect_op::<PathBuf>(),
            &written,
        )?;
        Ok(())
    }
}

/// Writes one partition to `path`; its value is the path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct WriteOp {
    path: PathBuf,
    format: Format,
}

impl Op for WriteOp {
    fn name(&self) -> &str {
        "write"
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        let mut df = frame_of(inputs.into_iter().next().ok_or("write reads one partition")?)?;
        let in_path = |e: &dyn std::fmt::Display| format!("{}: {e}", self.path.display());
        let file = File::create(&self.path).map_err(|e| in_path(&e))?;
        match &self.format {
            Format::Csv(options) => CsvWriter::new(file)
                .include_header(options.header)
                .with_separator(options.separator)
                .finish(&mut df)
                .map_err(|e| in_path(&e))?,
            Format::Parquet => {
                ParquetWriter::new(file).finish(&mut df).map_err(|e| in_path(&e))?;
            }
        }
        Ok(Arc::new(self.path.clone()))
    }

    fn spec(&self) -> Option<OpSpec> {
        codec::spec_of("frame-write", self)
    }
}
