//! `read_text` and `read_json`: one task per file, or per block of a large uncompressed file.

use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value as Json;

use super::field_scan::{Found, scan_field};
use super::lines::{Fault, Part, ReadError, is_gzip, scan};
use super::source::{Source, io_error};
use crate::bag::Bag;
use crate::bag::layers::Blockwise;
use crate::delayed::Delayed;
use crate::error::{BoxError, Error, Result};
use crate::graph::{Layer, Lowering, Node, Op, OpSpec, Tokenizer, Value};
use crate::registry::OpFactory;

/// What to do with bytes that are not UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum EncodingErrors {
    /// Fail the compute with an error naming the file, line and byte offset (the default).
    #[default]
    Strict,
    /// Replace each invalid sequence with U+FFFD (`�`), as `String::from_utf8_lossy` does.
    Lossy,
}

/// What [`ReadJson`] does with a line that is not one JSON value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum BadLines {
    /// Fail the compute with an error naming the file and line (the default).
    #[default]
    Fail,
    /// Leave the line out and count it; [`ReadJson::build_with_report`] returns the count.
    Skip,
}

/// Reads text files into a bag of lines: [`Bag::read_text`] with options.
///
/// Each file is one partition, or, with a [`blocksize`](ReadText::blocksize), each block of
/// about that many bytes of an uncompressed file is, split at line boundaries. Files ending in
/// `.gz` are gunzipped as they are read (always one partition each: gzip cannot be split).
/// Items are the lines without their `\n` or `\r\n`; a final line without a newline counts, a
/// final newline does not start an empty line (as `str::lines`).
///
/// Checked when built: every path exists and can be opened, every pattern matches a file.
/// Checked when computed: the files are still there, and every line is UTF-8 (unless
/// [`EncodingErrors::Lossy`]).
///
/// # Examples
/// ```
/// use drask::prelude::*;
/// use drask::bag::{EncodingErrors, ReadText};
/// let dir = std::env::temp_dir().join(format!("drask-doc-readtext-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// std::fs::write(dir.join("a.txt"), "one\r\ntwo\nthree\n")?;
/// let lines = ReadText::new(dir.join("*.txt"))
///     .blocksize(Some(5))
///     .encoding_errors(EncodingErrors::Strict)
///     .build()?;
/// assert_eq!(lines.npartitions(), 3);
/// assert_eq!(lines.compute()?, ["one", "two", "three"]);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), drask::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ReadText {
    source: Source,
    blocksize: Option<u64>,
    encoding: EncodingErrors,
}

impl ReadText {
    /// Reads the files `source` names: a path, a glob pattern, or a list of them (see
    /// [`Source`]).
    pub fn new(source: impl Into<Source>) -> ReadText {
        ReadText {
            source: source.into(),
            blocksize: None,
            encoding: EncodingErrors::Strict,
        }
    }

    /// Splits uncompressed files larger than `bytes` into partitions of about `bytes` each, at
    /// line boundaries (a line longer than a block goes whole to the block it starts in). `None`
    /// (the default) reads each file as one partition.
    pub fn blocksize(mut self, bytes: Option<u64>) -> ReadText {
        self.blocksize = bytes;
        self
    }

    /// What to do with bytes that are not UTF-8 ([`EncodingErrors::Strict`] by default).
    pub fn encoding_errors(mut self, errors: EncodingErrors) -> ReadText {
        self.encoding = errors;
        self
    }

    /// The bag of lines.
    ///
    /// # Errors
    /// - [`Error::Metadata`] if a pattern matches no file (naming it), a path is a directory, or
    ///   the block size is 0.
    /// - [`Error::Io`] if a file is missing or cannot be opened (naming it).
    pub fn build(&self) -> Result<Bag<String>> {
        let parts = self.parts()?;
        let format = Format::Text {
            encoding: self.encoding,
        };
        Ok(read_bag(parts, format).0)
    }

    /// The partitions, after checking every file.
    fn parts(&self) -> Result<Vec<Checked>> {
        if self.blocksize == Some(0) {
            return Err(Error::Metadata("the block size must be at least 1 byte".into()));
        }
        let mut parts = Vec::new();
        for path in self.source.paths()? {
            let meta = File::open(&path)
                .and_then(|f| f.metadata())
                .map_err(|e| io_error(&path, e))?;
            let (len, stamp) = (meta.len(), modified(&meta));
            match self.blocksize {
                Some(size) if !is_gzip(&path) && len > size => {
                    let mut start = 0;
                    while start < len {
                        let end = start.saturating_add(size);
                        parts.push(Checked {
                            part: Part {
                                path: path.clone(),
                                start,
                                // The last block reads to the end, even if the file has grown.
                                end: (end < len).then_some(end),
                                gzip: false,
                            },
                            len,
                            stamp,
                        });
                        start = end;
                    }
                }
                _ => parts.push(Checked {
                    part: Part::whole(path),
                    len,
                    stamp,
                }),
            }
        }
        Ok(parts)
    }
}

/// The modification time in nanoseconds, for tokens: a file that changed gets a new key.
fn modified(meta: &std::fs::Metadata) -> u64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as u64)
}

/// A partition and what the file looked like when it was checked.
struct Checked {
    part: Part,
    len: u64,
    stamp: u64,
}

/// Reads JSON-lines files (one JSON value per line) into a bag of [`serde_json::Value`]s:
/// [`Bag::read_json`] with options.
///
/// Files are found, split and decoded as in [`ReadText`]. Lines that are empty or only
/// whitespace are not records and are passed over (not counted as bad). A line that is not one
/// JSON value fails the compute with an error naming the file and line, unless
/// [`on_bad_lines(BadLines::Skip)`](ReadJson::on_bad_lines) is set: then such lines (and, in
/// strict mode, lines that are not UTF-8, which are not JSON either) are left out and counted,
/// and the count comes with the bag from [`build_with_report`](ReadJson::build_with_report).
///
/// [`field`](ReadJson::field) keeps one field of each record, parsed while reading so the rest
/// of the record is only scanned: the fast path for counting or summing one field.
///
/// Memory: a partition is a `Vec` of records, all held at once. A whole `serde_json::Value`
/// takes several times the bytes of its text, and building then freeing millions of small
/// allocations per partition is bound by the allocator and memory traffic: with whole records,
/// a [`blocksize`](ReadJson::blocksize) of about 1 MiB keeps partitions small (about 12% faster
/// on the `bag_topk` example's 5 MB files), and with `field` only the field is kept.
///
/// # Examples
/// ```
/// use drask::prelude::*;
/// use drask::bag::{BadLines, ReadJson};
/// let path = std::env::temp_dir().join(format!("drask-doc-readjson-{}.jsonl", std::process::id()));
/// std::fs::write(&path, "{\"name\": \"ada\"}\n{\"name\": \n\n{\"name\": \"bob\", \"x\": [1]}\n")?;
/// let (names, skipped) = ReadJson::new(&path)
///     .field("name")
///     .on_bad_lines(BadLines::Skip)
///     .build_with_report()?;
/// // One pass over the file computes both.
/// let (names, skipped) = drask::compute((names, skipped))?;
/// assert_eq!(names, [serde_json::json!("ada"), serde_json::json!("bob")]);
/// assert_eq!(skipped, 1);
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), drask::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ReadJson {
    text: ReadText,
    bad_lines: BadLines,
    field: Option<String>,
}

impl ReadJson {
    /// Reads the files `source` names (see [`Source`]).
    pub fn new(source: impl Into<Source>) -> ReadJson {
        ReadJson {
            text: ReadText::new(source),
            bad_lines: BadLines::Fail,
            field: None,
        }
    }

    /// Splits large uncompressed files into blocks of about `bytes`, as
    /// [`ReadText::blocksize`].
    pub fn blocksize(mut self, bytes: Option<u64>) -> ReadJson {
        self.text = self.text.blocksize(bytes);
        self
    }

    /// What to do with bytes that are not UTF-8, as [`ReadText::encoding_errors`].
    pub fn encoding_errors(mut self, errors: EncodingErrors) -> ReadJson {
        self.text = self.text.encoding_errors(errors);
        self
    }

    /// What to do with lines that are not JSON ([`BadLines::Fail`] by default). With
    /// [`BadLines::Skip`], build with [`build_with_report`](ReadJson::build_with_report), which
    /// returns how many lines were left out.
    pub fn on_bad_lines(mut self, bad_lines: BadLines) -> ReadJson {
        self.bad_lines = bad_lines;
        self
    }

    /// Keeps only `field` of each record, extracted while parsing: the other fields are checked
    /// (a malformed record is still a bad line) but never built, which makes counting or summing
    /// one field several times faster than parsing whole records. The same values as
    /// `read_json(..)?.pluck_or(field, Value::Null)`: `Value::Null` where a record has no such
    /// field. A line that is valid JSON but not an object is a bad line.
    pub fn field(mut self, name: &str) -> ReadJson {
        self.field = Some(name.to_string());
        self
    }

    /// The bag of records.
    ///
    /// # Errors
    /// As [`ReadText::build`]; and [`Error::Metadata`] with [`BadLines::Skip`], whose count
    /// of skipped lines only [`build_with_report`](ReadJson::build_with_report) returns: lines are
    /// never dropped silently.
    pub fn build(&self) -> Result<Bag<Json>> {
        if self.bad_lines == BadLines::Skip {
            return Err(Error::Metadata(
                "on_bad_lines(BadLines::Skip) counts the lines it skips: build with build_with_report() to get \
                 the count"
                    .into(),
            ));
        }
        Ok(self.build_with_report()?.0)
    }

    /// The bag of records and the number of lines left out as bad (always 0 with
    /// [`BadLines::Fail`]). Computing both together (`drask::compute((bag, skipped))`) reads the
    /// files once: the count is a reduction over numbers the read tasks produce alongside the
    /// records.
    ///
    /// # Errors
    /// As [`ReadText::build`].
    pub fn build_with_report(&self) -> Result<(Bag<Json>, Delayed<u64>)> {
        let parts = self.text.parts()?;
        let format = Format::Json {
            encoding: self.text.encoding,
            bad_lines: self.bad_lines,
            field: self.field.clone(),
        };
        let (bag, skipped) = read_bag(parts, format);
        Ok((bag, skipped.expect("JSON reads count skipped lines")))
    }
}

impl Bag<String> {
    /// Reads text files into a bag of lines, one partition per file; `source` is a path, a glob
    /// pattern or a list of them (see [`Source`]), and `.gz` files are gunzipped. Shorthand for
    /// [`ReadText::new(source).build()`](ReadText), which also splits large files into blocks.
    ///
    /// # Errors
    /// If a path is missing or unreadable, or a pattern matches no file; see
    /// [`ReadText::build`].
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// let dir = std::env::temp_dir().join(format!("drask-doc-read-text-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// std::fs::write(dir.join("1.txt"), "a b\nc\n")?;
    /// std::fs::write(dir.join("2.txt"), "d e f")?;
    /// let words = Bag::read_text(dir.join("*.txt"))?
    ///     .flat_map(|line: String| line.split(' ').map(str::to_string).collect::<Vec<_>>());
    /// assert_eq!(words.count().compute()?, 6);
    /// assert!(Bag::read_text(dir.join("missing.txt")).is_err());
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn read_text(source: impl Into<Source>) -> Result<Bag<String>> {
        ReadText::new(source).build()
    }
}

impl Bag<Json> {
    /// Reads JSON-lines files into a bag of values, one per line (blank lines are not records
    /// and are passed over). A line that is not JSON fails the compute with an error that names
    /// the file and line. Shorthand for [`ReadJson::new(source).build()`](ReadJson), which can
    /// also skip and count bad lines, and extract one field while parsing.
    ///
    /// # Errors
    /// If a path is missing or unreadable, or a pattern matches no file; see
    /// [`ReadText::build`].
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// let path = std::env::temp_dir().join(format!("drask-doc-read-json-{}.jsonl", std::process::id()));
    /// std::fs::write(&path, "{\"n\": 1}\n{\"n\": 2}\n")?;
    /// let total = Bag::read_json(&path)?.map(|v| v["n"].as_u64().unwrap_or(0)).sum();
    /// assert_eq!(total.compute()?, 3);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn read_json(source: impl Into<Source>) -> Result<Bag<Json>> {
        ReadJson::new(source).build()
    }
}

/// What a read task makes of its lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum Format {
    Text {
        encoding: EncodingErrors,
    },
    Json {
        encoding: EncodingErrors,
        bad_lines: BadLines,
        field: Option<String>,
    },
}

impl Format {
    fn op_name(&self) -> &'static str {
        match self {
            Format::Text { .. } => "read_text",
            Format::Json { .. } => "read_json",
        }
    }
}

/// The read node (one task per partition) and, for JSON, the per-partition skip counts summed.
///
/// Skipping JSON reads return [`JsonPart`]s; two blockwise projections split them: `skipped`
/// (a one-item `Vec<u64>` per partition, read by reference) and `records`. `records` also takes
/// the partition's `skipped` as an argument, which it ignores: that orders it after `skipped`, so
/// it is the last reader of the read task's value and moves the records out instead of copying
/// them.
fn read_bag<T>(parts: Vec<Checked>, format: Format) -> (Bag<T>, Option<Delayed<u64>>) {
    let mut token = Tokenizer::new(format.op_name()).bytes(&serde_json::to_vec(&format).unwrap_or_default());
    for c in &parts {
        token = token
            .str(&c.part.path.to_string_lossy())
            .u64(c.part.start)
            .u64(c.part.end.unwrap_or(u64::MAX))
            .u64(c.len)
            .u64(c.stamp);
    }
    let name = token.finish();
    let npartitions = parts.len();
    let ops = parts
        .into_iter()
        .map(|c| {
            Arc::new(ReadOp {
                part: c.part,
                format: format.clone(),
            }) as Arc<dyn Op>
        })
        .collect();
    let read = Node::new(
        name.clone().into(),
        vec![],
        Box::new(ReadLayer {
            name: format.op_name(),
            ops,
        }),
    );
    match format {
        Format::Text { .. } => return (Bag::from_node(read, npartitions), None),
        Format::Json {
            bad_lines: BadLines::Fail,
            ..
        } => return (Bag::from_node(read, npartitions), Some(Delayed::value(0))),
        Format::Json { .. } => {}
    }
    let skipped = Node::new(
        Tokenizer::new("skipped").str(&name).finish().into(),
        vec![read.clone()],
        Box::new(Blockwise {
            op: Arc::new(Project::Skipped),
            npartitions,
        }),
    );
    let records = Node::new(
        Tokenizer::new("records").str(&name).finish().into(),
        vec![read, skipped.clone()],
        Box::new(Blockwise {
            op: Arc::new(Project::Records),
            npartitions,
        }),
    );
    let total = Bag::<u64>::from_node(skipped, npartitions).sum();
    (Bag::from_node(records, npartitions), Some(total))
}

/// The read node's layer: one task per partition, each reading its part of a file.
#[derive(Debug)]
struct ReadLayer {
    name: &'static str,
    ops: Vec<Arc<dyn Op>>,
}

impl Layer for ReadLayer {
    fn op_name(&self) -> &str {
        self.name
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        for (i, op) in self.ops.iter().enumerate() {
            out.add(node.key([i as u32]), op.clone(), &[])?;
        }
        Ok(())
    }
}

/// Reads one partition. Text: `Vec<String>`. JSON: `Vec<serde_json::Value>`, wrapped in a
/// [`JsonPart`] with the count of skipped lines when bad lines are skipped.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ReadOp {
    part: Part,
    format: Format,
}

/// What a JSON read task returns.
#[derive(Debug, Clone)]
struct JsonPart {
    records: Vec<Json>,
    skipped: u64,
}

impl Op for ReadOp {
    fn name(&self) -> &str {
        self.format.op_name()
    }

    fn call(&self, _inputs: Vec<Value>) -> Result<Value, BoxError> {
        Ok(match &self.format {
            Format::Text { encoding } => Arc::new(read_lines(&self.part, *encoding)?),
            Format::Json {
                encoding,
                bad_lines,
                field,
            } => {
                let (records, skipped) = read_records(&self.part, *encoding, *bad_lines, field.as_deref())?;
                match bad_lines {
                    BadLines::Fail => Arc::new(records),
                    BadLines::Skip => Arc::new(JsonPart { records, skipped }),
                }
            }
        })
    }

    fn spec(&self) -> Option<OpSpec> {
        Some(OpSpec::new(self.format.op_name(), serde_json::to_value(self).ok()?))
    }
}

fn rebuild_read_op(params: &Json) -> Result<Arc<dyn Op>, BoxError> {
    Ok(Arc::new(ReadOp::deserialize(params)?))
}

inventory::submit! {
    OpFactory { name: "read_text", build: rebuild_read_op }
}

inventory::submit! {
    OpFactory { name: "read_json", build: rebuild_read_op }
}

/// Splits a [`JsonPart`] (the first input).
#[derive(Debug, Clone, Copy)]
enum Project {
    Skipped,
    Records,
}

impl Op for Project {
    fn name(&self) -> &str {
        match self {
            Project::Skipped => "skipped",
            Project::Records => "records",
        }
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        let mut inputs = inputs.into_iter();
        let part = inputs.next().ok_or("a projection needs the read task's value")?;
        // Release the ordering argument first, then the part: moved out if this is its last use.
        drop(inputs);
        let part = part
            .downcast::<JsonPart>()
            .map_err(|_| "the read task did not return a JsonPart")?;
        Ok(match self {
            Project::Skipped => Arc::new(vec![part.skipped]),
            Project::Records => {
                Arc::new(Arc::try_unwrap(part).map_or_else(|shared| shared.records.clone(), |p| p.records))
            }
        })
    }

    fn spec(&self) -> Option<OpSpec> {
        Some(OpSpec::new(Op::name(self), Json::Null))
    }
}

inventory::submit! {
    OpFactory { name: "skipped", build: |_| Ok(Arc::new(Project::Skipped)) }
}

inventory::submit! {
    OpFactory { name: "records", build: |_| Ok(Arc::new(Project::Records)) }
}

/// The lines of one partition as strings.
pub(crate) fn read_lines(part: &Part, encoding: EncodingErrors) -> Result<Vec<String>, ReadError> {
    let mut lines = Vec::new();
    scan(part, |line| {
        lines.push(match encoding {
            EncodingErrors::Strict => line.to_str()?.to_owned(),
            EncodingErrors::Lossy => line.to_str_lossy().into_owned(),
        });
        Ok(())
    })?;
    Ok(lines)
}

/// The records of one partition, and how many bad lines were skipped.
fn read_records(
    part: &Part,
    encoding: EncodingErrors,
    bad_lines: BadLines,
    field: Option<&str>,
) -> Result<(Vec<Json>, u64), ReadError> {
    let skip = bad_lines == BadLines::Skip;
    let mut records = Vec::new();
    let mut skipped = 0;
    scan(part, |line| {
        let text = match encoding {
            EncodingErrors::Strict => match line.to_str() {
                Ok(text) => Cow::Borrowed(text),
                Err(_) if skip => {
                    skipped += 1;
                    return Ok(());
                }
                Err(fault) => return Err(fault),
            },
            EncodingErrors::Lossy => line.to_str_lossy(),
        };
        if text.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\r')) {
            return Ok(());
        }
        match parse(&text, field) {
            Ok(value) => records.push(value),
            Err(_) if skip => skipped += 1,
            Err(e) => return Err(Fault::Json(e)),
        }
        Ok(())
    })?;
    Ok((records, skipped))
}

/// One JSON value, or one field of a JSON object.
fn parse(text: &str, field: Option<&str>) -> serde_json::Result<Json> {
    match field {
        None => serde_json::from_str(text),
        Some(name) => json_field(text, name),
    }
}

/// Field `name` of the JSON object in `text` (`Null` if the object has no such field), parsed
/// without building the other fields: what [`ReadJson::field`] does to each line. The whole text
/// is still checked, so malformed JSON is an error wherever it is.
///
/// A validating scanner finds the field without serde_json's deserializer machinery (about a
/// fifth less CPU time for the `bag_topk` example's frequencies + topk); serde_json builds values
/// other than plain strings and reports every error, so values and messages are serde_json's.
///
/// # Errors
/// If `text` is not one JSON object.
///
/// # Examples
/// ```
/// use drask::bag::json_field;
/// let line = r#"{"id": 7, "name": "Ada", "tags": ["x"]}"#;
/// assert_eq!(json_field(line, "name").unwrap(), "Ada");
/// assert!(json_field(line, "missing").unwrap().is_null());
/// assert!(json_field(r#"{"name": "Ada""#, "name").is_err());
/// ```
pub fn json_field(text: &str, name: &str) -> serde_json::Result<Json> {
    match scan_field(text, name) {
        Some(Found::Missing) => Ok(Json::Null),
        Some(Found::Str(s)) => Ok(Json::String(s.to_owned())),
        // Numbers, nested values and escaped strings: serde_json builds them from their text
        // (and, should that fail, the whole line gives the error its position).
        Some(Found::Raw(raw)) => serde_json::from_str(raw).or_else(|_| json_field_serde(text, name)),
        None => json_field_serde(text, name),
    }
}

/// [`json_field`] through serde_json alone: the reference the scanner must agree with, and what
/// reports errors.
fn json_field_serde(text: &str, name: &str) -> serde_json::Result<Json> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = FieldOf(name).deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// Deserializes one field of an object, skipping over the others without building them.
struct FieldOf<'a>(&'a str);

impl<'de> DeserializeSeed<'de> for FieldOf<'_> {
    type Value = Json;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Json, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FieldOf<'_> {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a JSON object (to take its field {:?})", self.0)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut found = Json::Null;
        while let Some(wanted) = map.next_key_seed(KeyIs(self.0))? {
            if wanted {
                found = map.next_value()?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// Deserializes a key as whether it equals the wanted one, without allocating it.
struct KeyIs<'a>(&'a str);

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyIs<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<bool, E> {
        Ok(key == self.0)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Any JSON value, with the characters that make parsing interesting in its strings.
    fn json_value() -> impl Strategy<Value = Json> {
        let leaf = prop_oneof![
            Just(Json::Null),
            any::<bool>().prop_map(Json::from),
            any::<i64>().prop_map(Json::from),
            any::<f64>()
                .prop_filter("finite", |x| x.is_finite())
                .prop_map(Json::from),
            "[a-c\"\\\\/\n\t\u{1}é😀 ]{0,6}".prop_map(Json::from),
        ];
        leaf.prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Json::from),
                prop::collection::vec(("[a-c]{0,2}", inner), 0..4)
                    .prop_map(|pairs| Json::Object(pairs.into_iter().collect())),
            ]
        })
    }

    /// A JSON-lines record as text: pretty or compact, with extra whitespace, repeated keys,
    /// and sometimes one byte inserted or removed (mostly making it invalid).
    fn record() -> impl Strategy<Value = String> {
        let fields = prop::collection::vec(("[a-c]|name", json_value()), 0..5);
        (
            fields,
            any::<bool>(),
            0..3_usize,
            any::<prop::sample::Index>(),
            0..14_usize,
        )
            .prop_map(|(fields, pretty, edit, at, byte)| {
                let body: Vec<String> = fields
                    .iter()
                    .map(|(k, v)| {
                        let v = if pretty {
                            serde_json::to_string_pretty(v)
                        } else {
                            serde_json::to_string(v)
                        };
                        format!("{}:{}", serde_json::to_string(k).unwrap(), v.unwrap())
                    })
                    .collect();
                let sep = if pretty { ",\n " } else { "," };
                let mut text = format!(" {{{}}}\t", body.join(sep)).into_bytes();
                let at = at.index(text.len() + 1);
                match edit {
                    1 => text.insert(at, b"{}[]\",:\\0-e.5t"[byte]),
                    2 if at < text.len() && text[at].is_ascii() => {
                        text.remove(at);
                    }
                    _ => {}
                }
                String::from_utf8_lossy(&text).into_owned()
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// The scanner's fast path gives exactly what serde_json gives: the same value, or an
        /// error where serde_json errs.
        #[test]
        fn json_field_agrees_with_serde_json(text in record(), key in "[a-c]|name") {
            let fast = json_field(&text, &key);
            let reference = json_field_serde(&text, &key);
            // The scanner never vouches for text serde_json rejects.
            if matches!(scan_field(&text, &key), Some(Found::Missing | Found::Str(_))) {
                prop_assert!(reference.is_ok(), "{text:?}: {reference:?}");
            }
            match (&fast, &reference) {
                (Ok(a), Ok(b)) => prop_assert_eq!(a, b, "{}", text),
                (Err(a), Err(b)) => prop_assert_eq!(a.to_string(), b.to_string()),
                _ => prop_assert!(false, "{text:?}: fast {fast:?}, serde_json {reference:?}"),
            }
        }
    }

    #[test]
    fn numbers_and_escapes_take_serde_jsons_values_and_errors() {
        for (line, want) in [
            (r#"{"name": 1.5e2}"#, Ok(serde_json::json!(150.0))),
            (r#"{"name": "a\u00e9\"b"}"#, Ok(serde_json::json!("aé\"b"))),
            (r#"{"name": 18446744073709551615}"#, Ok(serde_json::json!(u64::MAX))),
            (r#"{"name": "\ud800"}"#, Err(())),
            (r#"{"name": 1e999}"#, Err(())),
        ] {
            let got = json_field(line, "name");
            assert_eq!(got.as_ref().ok(), want.as_ref().ok(), "{line}");
            if let Err(e) = got {
                assert_eq!(e.to_string(), json_field_serde(line, "name").unwrap_err().to_string());
            }
        }
    }
}
