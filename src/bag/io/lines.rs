//! Reading one partition's lines: a whole file (gunzipped on the fly), or the lines that start in
//! a byte range of an uncompressed file; and the errors that name the file, line and byte.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use serde::{Deserialize, Serialize};

/// The read buffer: large enough that a read is one system call per MiB, small enough to stay
/// in the L2 cache while its lines are parsed.
const BUFFER: usize = 1 << 20;

/// How far past its end a block's buffer reaches at first, for the line that crosses the end.
const SLACK: u64 = 16 << 10;

/// One partition of a file reader.
///
/// A block partition owns the lines whose first byte is in `start..end`: it skips the partial
/// line it starts in (unless `start` is 0) and reads through the line that crosses `end`, so
/// the blocks of a file together hold each line exactly once, wherever the block edges fall.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Part {
    pub(crate) path: PathBuf,
    pub(crate) start: u64,
    /// `None`: to the end of the file, however long it is when the task runs.
    pub(crate) end: Option<u64>,
    /// Whether the file is gzip-compressed (then `start` is 0 and `end` is `None`).
    pub(crate) gzip: bool,
}

impl Part {
    pub(crate) fn whole(path: PathBuf) -> Part {
        let gzip = is_gzip(&path);
        Part {
            path,
            start: 0,
            end: None,
            gzip,
        }
    }
}

/// Whether a path names a gzip file, by its extension (`.gz`, any case), as Dask infers it.
pub(crate) fn is_gzip(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gz"))
}

/// One line, without its line ending: already checked to be UTF-8 when the buffer it is in was
/// (the usual case, one check per buffer instead of one per line), raw bytes otherwise.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Line<'a> {
    Str(&'a str),
    Bytes(&'a [u8]),
}

impl<'a> Line<'a> {
    /// The line as text, or a [`Fault::Utf8`].
    pub(crate) fn to_str(self) -> Result<&'a str, Fault> {
        match self {
            Line::Str(s) => Ok(s),
            Line::Bytes(b) => std::str::from_utf8(b).map_err(|e| Fault::Utf8 {
                valid_up_to: e.valid_up_to(),
            }),
        }
    }

    /// The line as text, invalid sequences replaced with U+FFFD.
    pub(crate) fn to_str_lossy(self) -> std::borrow::Cow<'a, str> {
        match self {
            Line::Str(s) => std::borrow::Cow::Borrowed(s),
            Line::Bytes(b) => String::from_utf8_lossy(b),
        }
    }

    fn len(self) -> usize {
        match self {
            Line::Str(s) => s.len(),
            Line::Bytes(b) => b.len(),
        }
    }
}

/// Why a line was rejected by the function reading it.
#[derive(Debug)]
pub(crate) enum Fault {
    /// Not UTF-8: the line's first `valid_up_to` bytes are.
    Utf8 { valid_up_to: usize },
    /// Not one JSON value.
    Json(serde_json::Error),
}

/// A partition could not be read: the file is gone, a line is not UTF-8 or not JSON, or the
/// data is corrupt. Names the file and, where it applies, the line (1-based, counted from the
/// start of the file, also for a block partition) and the byte offset (in the decompressed data
/// for a `.gz` file). It is the source of the [`Error::Task`](crate::Error::Task) that
/// `compute()` returns.
///
/// # Examples
/// ```
/// use drask::prelude::*;
/// use drask::bag::ReadError;
/// let path = std::env::temp_dir().join(format!("drask-doc-readerror-{}.jsonl", std::process::id()));
/// std::fs::write(&path, "{\"a\": 1}\n{\"a\": \n")?;
/// let err = Bag::read_json(&path)?.compute().unwrap_err();
/// let cause = std::error::Error::source(&err).and_then(|e| e.downcast_ref::<ReadError>()).unwrap();
/// assert_eq!((cause.path(), cause.line()), (path.as_path(), Some(2)));
/// assert!(err.to_string().contains(&format!("{}, line 2: invalid JSON", path.display())), "{err}");
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), drask::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ReadError {
    path: PathBuf,
    line: Option<u64>,
    byte_offset: Option<u64>,
    message: String,
}

impl ReadError {
    /// The file that could not be read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The 1-based number of the offending line within its file, when the error is about a line.
    pub fn line(&self) -> Option<u64> {
        self.line
    }

    /// The offset of the offending byte from the start of the file (of the decompressed data for
    /// a `.gz` file), when known.
    pub fn byte_offset(&self) -> Option<u64> {
        self.byte_offset
    }

    pub(crate) fn io(path: &Path, what: &str, offset: Option<u64>, err: &io::Error) -> ReadError {
        ReadError {
            path: path.to_path_buf(),
            line: None,
            byte_offset: offset,
            message: format!("{what}: {err}"),
        }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ", line {line}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ReadError {}

/// Calls `on_line` with every line of `part`, without its `\n` or `\r\n`, in order. The first
/// fault `on_line` reports ends the scan with a [`ReadError`] naming the file, line and byte.
pub(crate) fn scan(part: &Part, on_line: impl FnMut(Line<'_>) -> Result<(), Fault>) -> Result<(), ReadError> {
    let file = File::open(&part.path).map_err(|e| ReadError::io(&part.path, "cannot open", None, &e))?;
    if part.gzip {
        let reader = BufReader::with_capacity(BUFFER, MultiGzDecoder::new(file));
        return Scanner::new(part, 0).run(reader, u64::MAX, on_line);
    }
    // A block needs its own bytes and the rest of the line that crosses its end, not a full
    // buffer's worth past it.
    let capacity = match part.end {
        Some(end) => (end - part.start).saturating_add(SLACK).min(BUFFER as u64) as usize,
        None => BUFFER,
    };
    let mut reader = BufReader::with_capacity(capacity, file);
    let mut offset = 0;
    if part.start > 0 {
        // Skip the line that started before this block (the previous block reads it): from the
        // byte before `start` through the first newline, so that a line starting exactly at
        // `start` is kept.
        offset = part.start - 1;
        reader
            .seek(SeekFrom::Start(offset))
            .map_err(|e| ReadError::io(&part.path, "cannot seek", Some(offset), &e))?;
        offset += skip_line(&mut reader).map_err(|e| ReadError::io(&part.path, "cannot read", Some(offset), &e))?;
    }
    Scanner::new(part, offset).run(reader, part.end.unwrap_or(u64::MAX), on_line)
}

/// Consumes bytes through the first newline (or to the end); returns how many.
fn skip_line(reader: &mut impl BufRead) -> io::Result<u64> {
    let mut skipped = 0;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(skipped);
        }
        match memchr::memchr(b'\n', buf) {
            Some(i) => {
                reader.consume(i + 1);
                return Ok(skipped + i as u64 + 1);
            }
            None => {
                let n = buf.len();
                reader.consume(n);
                skipped += n as u64;
            }
        }
    }
}

struct Scanner<'p> {
    part: &'p Part,
    /// Where this partition's first line starts (after the skipped partial line).
    first: u64,
    /// Where the next line starts.
    offset: u64,
    /// How many lines were read so far.
    index: u64,
}

impl<'p> Scanner<'p> {
    fn new(part: &'p Part, first: u64) -> Scanner<'p> {
        Scanner {
            part,
            first,
            offset: first,
            index: 0,
        }
    }

    fn run(
        mut self,
        mut reader: impl BufRead,
        end: u64,
        mut on_line: impl FnMut(Line<'_>) -> Result<(), Fault>,
    ) -> Result<(), ReadError> {
        // A line split across two buffer fills is put together here.
        let mut carry: Vec<u8> = Vec::new();
        while self.offset < end {
            let buf = match reader.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.read_failed(carry.len(), &e)),
            };
            if buf.is_empty() {
                // The last line, without a newline: a trailing `\r` is kept, as `str::lines` does.
                if !carry.is_empty() {
                    on_line(Line::Bytes(&carry)).map_err(|f| self.fault(carry.len(), f))?;
                }
                return Ok(());
            }
            let Some(last) = memchr::memrchr(b'\n', buf) else {
                carry.extend_from_slice(buf);
                let n = buf.len();
                reader.consume(n);
                continue;
            };
            // The line carried over from the last fill ends at the first newline here.
            let mut consumed = 0;
            if !carry.is_empty() {
                let nl = memchr::memchr(b'\n', buf).unwrap_or(last);
                carry.extend_from_slice(&buf[..nl]);
                let line = strip_cr(&carry);
                on_line(Line::Bytes(line)).map_err(|f| self.fault(line.len(), f))?;
                let len = carry.len();
                carry.clear();
                consumed = nl + 1;
                if self.advance(len, end) {
                    return Ok(());
                }
            }
            // Whole lines: checked as UTF-8 in one go, then split as `&str`s (a newline is ASCII,
            // so every split is at a character boundary).
            let lines = &buf[consumed..=last];
            let stopped = match std::str::from_utf8(lines) {
                Ok(text) => self.each_line(text.as_bytes(), end, |a, b| Line::Str(&text[a..b]), &mut on_line)?,
                Err(_) => self.each_line(lines, end, |a, b| Line::Bytes(&lines[a..b]), &mut on_line)?,
            };
            if stopped {
                return Ok(());
            }
            carry.extend_from_slice(&buf[last + 1..]);
            let n = buf.len();
            reader.consume(n);
        }
        Ok(())
    }

    /// Calls `on_line` on each line of `bytes` (which ends with a newline) until a line starts
    /// at or past `end`; `line(a, b)` makes the line `bytes[a..b]`. Returns whether it stopped
    /// at `end`.
    fn each_line<'b>(
        &mut self,
        bytes: &'b [u8],
        end: u64,
        line: impl Fn(usize, usize) -> Line<'b>,
        on_line: &mut impl FnMut(Line<'_>) -> Result<(), Fault>,
    ) -> Result<bool, ReadError> {
        let mut start = 0;
        for nl in memchr::memchr_iter(b'\n', bytes) {
            let stop = if nl > start && bytes[nl - 1] == b'\r' {
                nl - 1
            } else {
                nl
            };
            let this = line(start, stop);
            on_line(this).map_err(|f| self.fault(this.len(), f))?;
            if self.advance(nl - start, end) {
                return Ok(true);
            }
            start = nl + 1;
        }
        Ok(false)
    }

    /// Moves past a line of `len` bytes and its newline; whether the next line is past `end`.
    fn advance(&mut self, len: usize, end: u64) -> bool {
        self.offset += len as u64 + 1;
        self.index += 1;
        self.offset >= end
    }

    /// The error for a fault in the line of `len` bytes at `self.offset`.
    fn fault(&self, len: usize, fault: Fault) -> ReadError {
        let (byte_offset, message) = match fault {
            Fault::Utf8 { valid_up_to } => {
                let at = self.offset + valid_up_to as u64;
                (at, format!("invalid UTF-8 at byte offset {at}{}", self.data()))
            }
            Fault::Json(err) => {
                let column = err.column().max(1).min(len.max(1));
                let at = self.offset + column as u64 - 1;
                let text = err.to_string();
                let what = text.rfind(" at line ").map_or(&*text, |i| &text[..i]);
                (
                    at,
                    format!(
                        "invalid JSON: {what} (column {column}, byte offset {at}{})",
                        self.data()
                    ),
                )
            }
        };
        ReadError {
            path: self.part.path.clone(),
            line: self.line_number(),
            byte_offset: Some(byte_offset),
            message,
        }
    }

    fn read_failed(&self, carried: usize, err: &io::Error) -> ReadError {
        let at = self.offset + carried as u64;
        ReadError::io(
            &self.part.path,
            &format!("cannot read at byte offset {at}{}", self.data()),
            Some(at),
            err,
        )
    }

    fn data(&self) -> &'static str {
        if self.part.gzip {
            " of the decompressed data"
        } else {
            ""
        }
    }

    /// The 1-based number of the current line in its file. For a block that does not start the
    /// file this counts the newlines before the block: exact, and paid only when there is an
    /// error to report.
    fn line_number(&self) -> Option<u64> {
        let before = if self.first == 0 {
            0
        } else {
            count_newlines(&self.part.path, self.first).ok()?
        };
        Some(before + self.index + 1)
    }
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The number of `\n` bytes in the first `len` bytes of a file.
fn count_newlines(path: &Path, len: u64) -> io::Result<u64> {
    let mut reader = File::open(path)?.take(len);
    let mut buf = vec![0; BUFFER];
    let mut count = 0;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return Ok(count),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        count += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str, content: &[u8]) -> PathBuf {
        let path = std::env::temp_dir().join(format!("drask-lines-{}-{name}", std::process::id()));
        std::fs::write(&path, content).unwrap();
        path
    }

    fn lines(part: &Part) -> Vec<String> {
        let mut out = Vec::new();
        scan(part, |l| {
            out.push(l.to_str()?.to_string());
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn blocks_hold_each_line_once_wherever_they_split() {
        let content = b"ab\n\ncdef\r\ng\nlonger line here\nh";
        let path = temp("blocks", content);
        let whole = lines(&Part::whole(path.clone()));
        assert_eq!(whole, ["ab", "", "cdef", "g", "longer line here", "h"]);
        for size in 1..=content.len() as u64 + 1 {
            let mut all = Vec::new();
            let mut start = 0;
            while start < content.len() as u64 {
                let end = start + size;
                let last = end >= content.len() as u64;
                let part = Part {
                    path: path.clone(),
                    start,
                    end: if last { None } else { Some(end) },
                    gzip: false,
                };
                all.extend(lines(&part));
                start = end;
            }
            assert_eq!(all, whole, "block size {size}");
        }
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn a_fault_in_a_later_block_names_the_line_in_the_file() {
        let path = temp("fault", b"a\nb\nc\nBAD\ne\n");
        let part = Part {
            path: path.clone(),
            start: 5,
            end: None,
            gzip: false,
        };
        let err = scan(&part, |l| {
            if l.to_str()? == "BAD" {
                Err(Fault::Utf8 { valid_up_to: 1 })
            } else {
                Ok(())
            }
        })
        .unwrap_err();
        assert_eq!((err.line(), err.byte_offset()), (Some(4), Some(7)));
        assert!(
            err.to_string().ends_with(", line 4: invalid UTF-8 at byte offset 7"),
            "{err}"
        );
        std::fs::remove_file(path).unwrap();
    }
}
