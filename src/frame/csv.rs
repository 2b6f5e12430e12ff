//! CSV input: [`ReadCsv`] finds the files, checks their headers and infers the schema when the
//! frame is built; each partition is a block of a file, split at line boundaries and parsed when
//! its task runs (by [`BlockScan`], with polars' field parser).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use polars::prelude::{self as pl, *};
use serde::{Deserialize, Serialize};

use super::csv_parse::BlockScan;
use super::partition::{PartSource, Partitionwise, streaming_forced};
use super::{DataFrame, codec};
use crate::bag::Source;
use crate::delayed::Delayed;
use crate::error::{BoxError, Error, Result};
use crate::graph::{Key, Layer, Lowering, Node, Op, OpSpec, Tokenizer, Value};

/// Blocks of about 64 MiB, like Dask's `read_csv`.
pub const DEFAULT_CSV_BLOCKSIZE: u64 = 64 << 20;

/// What to do with a row that does not parse (a value of the wrong type, too many fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum BadRows {
    /// Fail the compute with an error naming the file and line (the default).
    #[default]
    Fail,
    /// Leave the row out and count it; [`ReadCsv::build_with_report`] returns the count.
    Skip,
}

/// How a CSV file is parsed: shared by every block of a read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct CsvFormat {
    pub(crate) separator: u8,
    pub(crate) quote: Option<u8>,
    pub(crate) has_header: bool,
    pub(crate) null_values: Vec<String>,
    pub(crate) schema: pl::Schema,
}

/// One partition of a CSV read: the lines that start in bytes `[start, end)` of `path`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct CsvBlock {
    pub(crate) path: PathBuf,
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) format: Arc<CsvFormat>,
    pub(crate) bad_rows: BadRows,
}

/// Reads CSV files into a [`DataFrame`]: [`DataFrame::read_csv`] with options.
///
/// Each file is split into blocks of about [`blocksize`](ReadCsv::blocksize) bytes (64 MiB by
/// default), one partition each; a block holds the lines that *start* in it, so rows are never
/// cut. (A quoted field that contains a newline can be cut at a block edge, as in Dask: give
/// `blocksize(None)` for such files.)
///
/// Checked when built: every path exists, every pattern matches a file, every file has the
/// first file's header. The schema is inferred from the first rows of the first file, with
/// [`dtypes`](ReadCsv::dtypes) overriding columns, or given whole with
/// [`schema`](ReadCsv::schema).
///
/// Checked when computed: every row parses with the schema. A row that does not fails the
/// compute with the file, line number and line, unless [`BadRows::Skip`] is set.
///
/// Speed: when no quoted field spans lines, a block's rows are its lines, so they are found
/// with `memchr` and parsed by polars' field parser in ~4 MiB pieces, in parallel, reading only
/// the columns the query needs. A block where a quoted field spans lines is read by polars' CSV
/// reader, whose quote-aware row counter runs a byte at a time unless polars is built with
/// nightly Rust: such a block reads about 2.5 times as slowly.
///
/// # Examples
/// ```
/// use drask::prelude::*;
/// use drask::frame::{DataFrame, ReadCsv};
/// use drask::frame::polars::prelude::*;
/// let dir = std::env::temp_dir().join(format!("drask-doc-readcsv-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// std::fs::write(dir.join("a.csv"), "name,x\nada,1\nbob,2\n")?;
/// std::fs::write(dir.join("b.csv"), "name,x\ncy,3\n")?;
/// let df = ReadCsv::new(dir.join("*.csv")).build()?;
/// assert_eq!(df.npartitions(), 2);
/// let big = df.filter(col("x").gt(lit(1)))?.select([col("name")])?;
/// let out = big.compute()?;
/// assert_eq!(out.column("name")?.str()?.iter().collect::<Vec<_>>(), [Some("bob"), Some("cy")]);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct ReadCsv {
    source: Source,
    blocksize: Option<u64>,
    separator: u8,
    quote: Option<u8>,
    has_header: bool,
    null_values: Vec<String>,
    infer_rows: usize,
    dtypes: Vec<(String, pl::DataType)>,
    schema: Option<pl::Schema>,
    bad_rows: BadRows,
}

impl ReadCsv {
    /// Reads the files `source` names: a path, a glob pattern, or a list of them.
    pub fn new(source: impl Into<Source>) -> ReadCsv {
        ReadCsv {
            source: source.into(),
            blocksize: Some(DEFAULT_CSV_BLOCKSIZE),
            separator: b',',
            quote: Some(b'"'),
            has_header: true,
            null_values: Vec::new(),
            infer_rows: 1000,
            dtypes: Vec::new(),
            schema: None,
            bad_rows: BadRows::Fail,
        }
    }

    /// Bytes per partition; `None` for one partition per file.
    pub fn blocksize(mut self, bytes: Option<u64>) -> ReadCsv {
        self.blocksize = bytes.map(|b| b.max(1));
        self
    }

    /// The field separator (`,` by default).
    pub fn separator(mut self, separator: u8) -> ReadCsv {
        self.separator = separator;
        self
    }

    /// The quote character (`"` by default); `None` to read quotes as data.
    pub fn quote(mut self, quote: Option<u8>) -> ReadCsv {
        self.quote = quote;
        self
    }

    /// Whether the first line of each file names the columns (true by default). Without a
    /// header, columns are `column_1`, `column_2`, … unless a [`schema`](ReadCsv::schema) names
    /// them.
    pub fn has_header(mut self, has_header: bool) -> ReadCsv {
        self.has_header = has_header;
        self
    }

    /// Field values read as null (an empty field always is).
    pub fn null_values(mut self, values: &[&str]) -> ReadCsv {
        self.null_values = values.iter().map(|v| (*v).to_string()).collect();
        self
    }

    /// How many rows of the first file the schema is inferred from (1000 by default).
    pub fn infer_rows(mut self, rows: usize) -> ReadCsv {
        self.infer_rows = rows.max(1);
        self
    }

    /// Types for some columns, overriding what inference finds.
    pub fn dtypes(mut self, dtypes: &[(&str, pl::DataType)]) -> ReadCsv {
        self.dtypes = dtypes.iter().map(|(n, t)| ((*n).to_string(), t.clone())).collect();
        self
    }

    /// The whole schema, in column order: nothing is inferred.
    pub fn schema(mut self, schema: pl::Schema) -> ReadCsv {
        self.schema = Some(schema);
        self
    }

    /// What to do with rows that do not parse.
    pub fn bad_rows(mut self, bad_rows: BadRows) -> ReadCsv {
        self.bad_rows = bad_rows;
        self
    }

    /// The frame.
    ///
    /// # Errors
    /// [`Error::Io`] for a missing or unreadable file, [`Error::Metadata`] for a pattern with no
    /// match, files whose headers differ, or a first file whose rows cannot be typed.
    pub fn build(&self) -> Result<DataFrame> {
        Ok(self.build_with_report()?.0)
    }

    /// The frame, and the number of rows [`BadRows::Skip`] left out (always 0 with
    /// [`BadRows::Fail`]), computed in the same pass when computed together with
    /// [`drask::compute`](crate::compute).
    ///
    /// # Errors
    /// As [`build`](ReadCsv::build).
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::frame::{BadRows, ReadCsv};
    /// let path = std::env::temp_dir().join(format!("drask-doc-badrows-{}.csv", std::process::id()));
    /// std::fs::write(&path, "x,y\n1,2\noops,3\n4,5\n")?;
    /// let (df, skipped) = ReadCsv::new(&path)
    ///     .dtypes(&[("x", drask::frame::polars::prelude::DataType::Int64)])
    ///     .bad_rows(BadRows::Skip)
    ///     .build_with_report()?;
    /// let (df, skipped) = drask::compute((df, skipped))?;
    /// assert_eq!(df.height(), 2);
    /// assert_eq!(skipped, 1);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build_with_report(&self) -> Result<(DataFrame, Delayed<u64>)> {
        let paths = self.source.paths()?;
        let first = paths
            .first()
            .ok_or_else(|| Error::Metadata("read_csv: no files".into()))?;
        let schema = match &self.schema {
            Some(schema) => schema.clone(),
            None => self.infer_schema(first)?,
        };
        let header = if self.has_header {
            Some(header_line(first)?)
        } else {
            None
        };
        let format = Arc::new(CsvFormat {
            separator: self.separator,
            quote: self.quote,
            has_header: self.has_header,
            null_values: self.null_values.clone(),
            schema: schema.clone(),
        });
        let mut blocks = Vec::new();
        let mut token = Tokenizer::new("read_csv");
        for path in &paths {
            if let Some(header) = &header {
                let this = header_line(path)?;
                if &this != header {
                    return Err(Error::Metadata(format!(
                        "read_csv: {} has header {:?}, but {} has {:?}",
                        path.display(),
                        this,
                        first.display(),
                        header
                    )));
                }
            }
            let meta = std::fs::metadata(path).map_err(|e| crate::bag::io_error(path, e))?;
            let len = meta.len();
            token = token.str(&path.to_string_lossy()).u64(len).u64(modified_nanos(&meta));
            let step = self.blocksize.unwrap_or(u64::MAX).max(1);
            let mut start = 0_u64;
            loop {
                let end = start.saturating_add(step).min(len);
                blocks.push(CsvBlock {
                    path: path.clone(),
                    start,
                    end,
                    format: format.clone(),
                    bad_rows: self.bad_rows,
                });
                if end >= len {
                    break;
                }
                start = end;
            }
        }
        let token = token
            .str(&format!("{:?}{:?}{:?}", self.blocksize, self.bad_rows, format))
            .finish();
        let schema = Arc::new(schema);
        match self.bad_rows {
            BadRows::Fail => {
                let sources = blocks.into_iter().map(PartSource::Csv).collect();
                let frame = DataFrame::from_partitionwise(
                    token.into(),
                    vec![],
                    Partitionwise::new(sources, Arc::from([])),
                    schema,
                );
                let zero = Delayed::value(0_u64);
                Ok((frame, zero))
            }
            BadRows::Skip => {
                // Rows are counted as they are dropped, so the read is a node of its own whose
                // values carry the count; the frame and the report both read it.
                let n = blocks.len();
                let read = Node::new(
                    format!("{token}-skip").into(),
                    vec![],
                    Box::new(SkippingRead { blocks }),
                );
                let frame = DataFrame::from_partitionwise(
                    token.into(),
                    vec![read.clone()],
                    Partitionwise::new(vec![PartSource::Input; n], Arc::from([])),
                    schema,
                );
                let report = Delayed::from_node(Node::new(
                    format!("{}-skipped", read.name()).into(),
                    vec![read],
                    Box::new(SumSkipped { n }),
                ));
                Ok((frame, report))
            }
        }
    }

    fn infer_schema(&self, path: &Path) -> Result<pl::Schema> {
        // The first `infer_rows` lines (plus the header), read as one small CSV.
        let prefix = first_lines(path, self.infer_rows + usize::from(self.has_header))?;
        let mut overrides = pl::Schema::default();
        for (name, dtype) in &self.dtypes {
            overrides.with_column(name.as_str().into(), dtype.clone());
        }
        let df = CsvReadOptions::default()
            .with_has_header(self.has_header)
            .with_infer_schema_length(Some(self.infer_rows))
            .with_schema_overwrite(if overrides.is_empty() {
                None
            } else {
                Some(Arc::new(overrides))
            })
            .with_raise_if_empty(false)
            // Inference only: a bad value among the first rows fails its partition's compute,
            // with its line, not the build.
            .with_ignore_errors(true)
            .map_parse_options(|p| {
                p.with_separator(self.separator)
                    .with_quote_char(self.quote)
                    .with_null_values(null_values(&self.null_values))
            })
            .into_reader_with_file_handle(io::Cursor::new(prefix))
            .finish()
            .map_err(|e| Error::Metadata(format!("read_csv: cannot infer the schema of {}: {e}", path.display())))?;
        let schema = df.schema().as_ref().clone();
        for (name, _) in &self.dtypes {
            if schema.get(name.as_str()).is_none() {
                return Err(Error::Metadata(format!(
                    "read_csv: dtypes name column {name:?}, which {} does not have; schema: {}",
                    path.display(),
                    super::steps::format_schema(&schema)
                )));
            }
        }
        Ok(schema)
    }
}

/// A file's modification time in nanoseconds (0 if unknown): part of a read's token, so a
/// rewritten file gives new keys.
pub(crate) fn modified_nanos(meta: &std::fs::Metadata) -> u64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as u64)
}

pub(super) fn null_values(values: &[String]) -> Option<NullValues> {
    if values.is_empty() {
        None
    } else {
        Some(NullValues::AllColumns(
            values.iter().map(|v| v.as_str().into()).collect(),
        ))
    }
}

/// The first line of `path`, without its line ending.
fn header_line(path: &Path) -> Result<String> {
    let bytes = first_lines(path, 1)?;
    let text = String::from_utf8_lossy(&bytes);
    Ok(text.trim_end_matches(['\n', '\r']).to_string())
}

/// The first `n` lines of `path`, with their line endings.
fn first_lines(path: &Path, n: usize) -> Result<Vec<u8>> {
    let mut file = File::open(path).map_err(|e| crate::bag::io_error(path, e))?;
    let mut out = Vec::new();
    let mut buf = vec![0_u8; 64 << 10];
    let mut lines = 0;
    loop {
        let got = file.read(&mut buf).map_err(|e| crate::bag::io_error(path, e))?;
        if got == 0 {
            return Ok(out);
        }
        for (i, &b) in buf[..got].iter().enumerate() {
            if b == b'\n' {
                lines += 1;
                if lines == n {
                    out.extend_from_slice(&buf[..=i]);
                    return Ok(out);
                }
            }
        }
        out.extend_from_slice(&buf[..got]);
    }
}

impl CsvBlock {
    /// The block's bytes: the lines that start in `[start, end)`, and where they start.
    pub(super) fn read(&self) -> io::Result<(u64, Vec<u8>)> {
        let (first, mut buf, lines) = self.read_span()?;
        buf.truncate(lines.end);
        buf.drain(..lines.start);
        Ok((first, buf))
    }

    /// The bytes read for the block, and where in them its lines are (and where in the file
    /// they start): [`read`](CsvBlock::read) without moving them to the front.
    pub(super) fn read_span(&self) -> io::Result<(u64, Vec<u8>, Range<usize>)> {
        let mut file = File::open(&self.path)?;
        let len = file.metadata()?.len();
        // One byte before the block tells whether it starts on a line start.
        let lo = self.start.saturating_sub(1);
        let end = self.end.min(len);
        file.seek(SeekFrom::Start(lo))?;
        let mut buf = Vec::with_capacity((end.saturating_sub(lo)) as usize + 4096);
        (&mut file).take(end.saturating_sub(lo)).read_to_end(&mut buf)?;
        // The last line runs past `end` to its newline: the first one at or after `end - 1`.
        let tail_from = (end.saturating_sub(lo)).saturating_sub(1) as usize;
        let mut chunk = vec![0_u8; 64 << 10];
        while end < len && memchr::memchr(b'\n', &buf[tail_from.min(buf.len())..]).is_none() {
            let got = file.read(&mut chunk)?;
            if got == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..got]);
        }
        let begin = if self.start == 0 {
            0
        } else {
            memchr::memchr(b'\n', &buf).map_or(buf.len(), |i| i + 1)
        };
        let first = lo + begin as u64;
        // A line that starts at or after `end` belongs to the next block.
        if first >= end && self.start > 0 {
            return Ok((first, buf, 0..0));
        }
        let finish = if end >= len {
            buf.len()
        } else {
            memchr::memchr(b'\n', &buf[tail_from.min(buf.len())..]).map_or(buf.len(), |i| tail_from + i + 1)
        };
        if begin >= finish {
            return Ok((first, buf, 0..0));
        }
        Ok((first, buf, begin..finish))
    }

    /// The block cut into sub-blocks of about `bytes` bytes each: each holds the lines that
    /// start in its range, so together they hold the block's lines, in order, once each.
    pub(super) fn pieces(&self, bytes: u64) -> Vec<CsvBlock> {
        let n = (self.end.saturating_sub(self.start)).div_ceil(bytes.max(1)).max(1);
        let step = (self.end.saturating_sub(self.start)).div_ceil(n);
        (0..n)
            .map(|i| CsvBlock {
                start: self.start + i * step,
                end: (self.start + (i + 1) * step).min(self.end),
                ..self.clone()
            })
            .collect()
    }

    /// Whether this block holds the file's header line.
    pub(super) fn has_header(&self) -> bool {
        self.start == 0 && self.format.has_header
    }

    pub(super) fn reader(&self, bytes: Vec<u8>, header: bool) -> Result<LazyFrame, PolarsError> {
        let f = &self.format;
        LazyCsvReader::new_with_sources(ScanSources::Buffers(Arc::from([bytes.into()])))
            .with_has_header(header)
            .with_schema(Some(Arc::new(f.schema.clone())))
            .with_separator(f.separator)
            .with_quote_char(f.quote)
            .with_null_values(null_values(&f.null_values))
            .with_raise_if_empty(false)
            .finish()
    }

    /// The block as a lazy query, for polars to push projections and filters into.
    pub(crate) fn scan(&self) -> Result<LazyFrame, BoxError> {
        if streaming_forced() {
            return Ok(self.polars_scan()?);
        }
        Ok(BlockScan::lazy(self.clone())?)
    }

    /// The block read whole and handed to polars' CSV reader, which finds rows that span lines.
    pub(super) fn polars_scan(&self) -> PolarsResult<LazyFrame> {
        let (_, bytes) = self.read().map_err(|e| self.read_error(e))?;
        self.reader(bytes, self.has_header())
    }

    /// A failed read of the block, naming its file.
    pub(super) fn read_error(&self, err: io::Error) -> PolarsError {
        polars_err!(ComputeError: "{}: {err}", self.path.display())
    }

    /// The same query without reading anything: what `explain()` shows polars' plan of.
    pub(crate) fn empty_scan(&self) -> Result<LazyFrame, PolarsError> {
        if streaming_forced() {
            return self.reader(Vec::new(), false);
        }
        BlockScan::lazy(self.clone())
    }

    /// Parses `lines` (data lines of this block) strictly, without the block's steps.
    fn parse_lines(&self, header: Option<&[u8]>, lines: &[&[u8]]) -> PolarsResult<pl::DataFrame> {
        let mut bytes = Vec::with_capacity(lines.iter().map(|l| l.len()).sum::<usize>() + 256);
        if let Some(h) = header {
            bytes.extend_from_slice(h);
        }
        for line in lines {
            bytes.extend_from_slice(line);
        }
        self.reader(bytes, header.is_some())?.collect()
    }

    /// Splits the block into its header (if it holds one) and its data lines (with endings).
    fn lines(bytes: &[u8], header: bool) -> (Option<&[u8]>, Vec<&[u8]>) {
        let mut lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
        let head = if header && !lines.is_empty() {
            Some(lines.remove(0))
        } else {
            None
        };
        (head, lines)
    }

    /// The lines of `lines` that do not parse, by index: halves that parse are set aside
    /// whole, so a block with a few bad rows costs a few parses of it.
    fn bad_lines(&self, header: Option<&[u8]>, lines: &[&[u8]], offset: usize, out: &mut Vec<(usize, PolarsError)>) {
        if lines.is_empty() {
            return;
        }
        match self.parse_lines(header, lines) {
            Ok(_) => {}
            Err(err) if lines.len() == 1 => out.push((offset, err)),
            Err(_) => {
                let mid = lines.len() / 2;
                self.bad_lines(header, &lines[..mid], offset, out);
                self.bad_lines(header, &lines[mid..], offset + mid, out);
            }
        }
    }

    /// The error for a failed parse: the file, line number and text of the first bad row, if
    /// the rows themselves are at fault (otherwise polars' message with the file).
    pub(crate) fn explain_error(&self, err: PolarsError) -> String {
        let located = self.read().ok().and_then(|(begin, bytes)| {
            let (header, lines) = Self::lines(&bytes, self.has_header());
            let mut bad = Vec::new();
            self.first_bad_line(header, &lines, &mut bad);
            let (index, row_err) = bad.into_iter().next()?;
            let line_no = self.line_number(begin).ok()? + u64::from(header.is_some()) + index as u64 + 1;
            let text = String::from_utf8_lossy(lines[index])
                .trim_end_matches(['\n', '\r'])
                .to_string();
            Some(format!(
                "{}: line {line_no}: {row_err} (the line: {text:?}); read with BadRows::Skip to leave such rows out",
                self.path.display()
            ))
        });
        located.unwrap_or_else(|| format!("{}: {err}", self.path.display()))
    }

    /// The first bad line only: a binary search for the shortest failing prefix.
    fn first_bad_line(&self, header: Option<&[u8]>, lines: &[&[u8]], out: &mut Vec<(usize, PolarsError)>) {
        if self.parse_lines(header, lines).is_ok() {
            return;
        }
        // Invariant: the first `lo` lines parse; the first `hi` do not.
        let (mut lo, mut hi) = (0, lines.len());
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if self.parse_lines(header, &lines[..mid]).is_ok() {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        if let Err(err) = self.parse_lines(header, &lines[lo..hi]) {
            out.push((lo, err));
        }
    }

    /// The 0-based line number of byte `offset` of the file.
    fn line_number(&self, offset: u64) -> io::Result<u64> {
        let mut file = File::open(&self.path)?;
        let mut left = offset;
        let mut count = 0;
        let mut buf = vec![0_u8; 1 << 20];
        while left > 0 {
            let want = left.min(buf.len() as u64) as usize;
            let got = file.read(&mut buf[..want])?;
            if got == 0 {
                break;
            }
            count += memchr::memchr_iter(b'\n', &buf[..got]).count() as u64;
            left -= got as u64;
        }
        Ok(count)
    }

    /// The block parsed with bad rows left out, and how many were.
    fn read_skipping(&self) -> Result<CsvPartition, BoxError> {
        let (_, bytes) = self.read().map_err(|e| format!("{}: {e}", self.path.display()))?;
        let header = self.has_header();
        if let Ok(frame) = self.reader(bytes.clone(), header)?.collect() {
            return Ok(CsvPartition { frame, skipped: 0 });
        }
        let (head, lines) = Self::lines(&bytes, header);
        let mut bad = Vec::new();
        self.bad_lines(head, &lines, 0, &mut bad);
        let mut keep: Vec<&[u8]> = Vec::with_capacity(lines.len());
        let mut next_bad = bad.iter().map(|(i, _)| *i).peekable();
        for (i, line) in lines.iter().enumerate() {
            if next_bad.peek() == Some(&i) {
                next_bad.next();
            } else {
                keep.push(line);
            }
        }
        let frame = self
            .parse_lines(head, &keep)
            .map_err(|e| format!("{}: {e}", self.path.display()))?;
        Ok(CsvPartition {
            frame,
            skipped: bad.len() as u64,
        })
    }
}

/// A partition read with [`BadRows::Skip`]: its rows, and how many were left out.
#[derive(Debug, Clone)]
pub(crate) struct CsvPartition {
    pub(crate) frame: pl::DataFrame,
    pub(crate) skipped: u64,
}

/// The read of a [`BadRows::Skip`] frame: one task per block, each a [`CsvPartition`].
#[derive(Debug)]
struct SkippingRead {
    blocks: Vec<CsvBlock>,
}

impl Layer for SkippingRead {
    fn op_name(&self) -> &str {
        "read_csv(skip bad rows)"
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        for (i, block) in self.blocks.iter().enumerate() {
            out.add(node.key([i as u32]), Arc::new(ReadSkipping(block.clone())), &[])?;
        }
        Ok(())
    }
}

/// The op of one [`SkippingRead`] block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ReadSkipping(pub(crate) CsvBlock);

impl Op for ReadSkipping {
    fn name(&self) -> &str {
        "read_csv_skipping"
    }

    fn call(&self, _inputs: Vec<Value>) -> Result<Value, BoxError> {
        Ok(Arc::new(self.0.read_skipping()?))
    }

    fn spec(&self) -> Option<OpSpec> {
        codec::spec_of("frame-read-csv-skipping", self)
    }
}

/// The report of a [`BadRows::Skip`] read: the skipped rows of every block, summed.
#[derive(Debug)]
struct SumSkipped {
    n: usize,
}

impl Layer for SumSkipped {
    fn op_name(&self) -> &str {
        "count_skipped"
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        let args: Vec<Key> = (0..self.n as u32).map(|i| node.inputs()[0].key([i])).collect();
        out.add(Key::single(node.name().clone()), Arc::new(SumSkippedOp), &args)?;
        Ok(())
    }
}

/// Sums the `skipped` counts of [`CsvPartition`] values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct SumSkippedOp;

impl Op for SumSkippedOp {
    fn name(&self) -> &str {
        "count_skipped"
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        let mut total = 0_u64;
        for value in &inputs {
            total += value
                .downcast_ref::<CsvPartition>()
                .ok_or("count_skipped reads CSV partitions")?
                .skipped;
        }
        Ok(Arc::new(total))
    }

    fn spec(&self) -> Option<OpSpec> {
        codec::spec_of("frame-count-skipped", self)
    }
}
