//! NumPy `.npy` files: read ([`read_npy`]), write ([`write_npy`]), stream row blocks to disk
//! ([`NpyWriter`]) and, with the `mmap` feature, view a file in place without copying it
//! (`NpyMap`).
//!
//! Format versions 1.0, 2.0 and 3.0 are read; files are written as version 1.0 (2.0 only for a
//! header too long for 1.0), byte for byte as `numpy.save` writes them: C order, the data
//! starting at a multiple of 64 bytes. The element types are those of [`NpyElem`]: little-endian
//! `f32`, `f64`, `i32`, `i64` and `bool` (one byte, 0 or 1).
//!
//! ```
//! use drask::array::ndarray::{ArrayD, IxDyn};
//! use drask::array::npy::{read_npy, write_npy};
//!
//! let path = std::env::temp_dir().join(format!("drask-doc-npy-mod-{}.npy", std::process::id()));
//! let a = ArrayD::from_shape_fn(IxDyn(&[3, 4]), |ix| (ix[0] * 4 + ix[1]) as f64);
//! write_npy(&path, a.view())?;
//! assert_eq!(read_npy::<f64>(&path)?, a);
//! # std::fs::remove_file(&path)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

// The memory map is the one place in the crate that needs `unsafe` (see `NpyMap`).
#![cfg_attr(feature = "mmap", allow(unsafe_code))]

use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::marker::PhantomData;
use std::path::Path;
use std::sync::Arc;

use ndarray::{ArrayD, ArrayView, Dimension, IxDyn};
#[cfg(feature = "mmap")]
use ndarray::{ArrayView2, ArrayViewD, Ix2};

use crate::{Error, Result};

/// The six bytes every `.npy` file starts with.
const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// `numpy.lib.format.ARRAY_ALIGN`: the data starts at a multiple of this many bytes.
const ARRAY_ALIGN: usize = 64;
/// `numpy.lib.format.GROWTH_AXIS_MAX_DIGITS`: numpy pads the header so the leading dimension can
/// grow to this many digits in place.
const GROWTH_AXIS_MAX_DIGITS: usize = 21;
/// Longer headers are refused rather than read into memory (numpy's own limit is 10 000).
const MAX_HEADER_LEN: usize = 1 << 20;
/// Bytes read or written per step when copying data.
const CHUNK_BYTES: usize = 1 << 16;
/// What a reader-only header is called in error messages.
const READER_SOURCE: &str = "<npy header>";

/// The element type of a `.npy` file, one of those [`NpyElem`] covers.
///
/// # Examples
/// ```
/// use drask::array::npy::DType;
///
/// assert_eq!(DType::F64.descr(), "<f8");
/// assert_eq!(DType::Bool.itemsize(), 1);
/// assert_eq!(DType::I32.to_string(), "int32");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    /// `<f4`: little-endian `f32`.
    F32,
    /// `<f8`: little-endian `f64`.
    F64,
    /// `<i4`: little-endian `i32`.
    I32,
    /// `<i8`: little-endian `i64`.
    I64,
    /// `|b1`: one byte per `bool`, 0 or 1.
    Bool,
}

impl DType {
    /// The dtype string numpy writes in the header's `descr` field, e.g. `"<f8"`.
    ///
    /// # Examples
    /// ```
    /// assert_eq!(drask::array::npy::DType::Bool.descr(), "|b1");
    /// ```
    pub fn descr(self) -> &'static str {
        match self {
            DType::F32 => "<f4",
            DType::F64 => "<f8",
            DType::I32 => "<i4",
            DType::I64 => "<i8",
            DType::Bool => "|b1",
        }
    }

    /// Bytes per element.
    ///
    /// # Examples
    /// ```
    /// assert_eq!(drask::array::npy::DType::F32.itemsize(), 4);
    /// ```
    pub fn itemsize(self) -> usize {
        match self {
            DType::F32 | DType::I32 => 4,
            DType::F64 | DType::I64 => 8,
            DType::Bool => 1,
        }
    }

    /// The dtype for a header's `descr`, or a message saying why it is not supported.
    fn from_descr(descr: &str) -> std::result::Result<DType, String> {
        match descr {
            "<f4" => return Ok(DType::F32),
            "<f8" => return Ok(DType::F64),
            "<i4" => return Ok(DType::I32),
            "<i8" => return Ok(DType::I64),
            // Byte order means nothing for one-byte types; numpy writes `|`.
            "|b1" | "<b1" | ">b1" | "=b1" | "b1" | "?" => return Ok(DType::Bool),
            _ => {}
        }
        let supported = "supported dtypes are <f4, <f8, <i4, <i8 and |b1";
        let kind = descr.trim_start_matches(['<', '>', '|', '=']);
        if kind.starts_with('O') {
            Err(format!(
                "object arrays (dtype '{descr}') are not supported: they hold pickled Python objects, not numbers"
            ))
        } else if let Some(rest) = descr.strip_prefix('>') {
            Err(format!(
                "big-endian dtype '{descr}' is not supported: convert it with arr.astype('<{rest}') before saving"
            ))
        } else {
            Err(format!("unsupported dtype '{descr}': {supported}"))
        }
    }
}

impl fmt::Display for DType {
    /// numpy's name for the type: `float32`, `float64`, `int32`, `int64` or `bool`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DType::F32 => "float32",
            DType::F64 => "float64",
            DType::I32 => "int32",
            DType::I64 => "int64",
            DType::Bool => "bool",
        })
    }
}

/// The parsed header of a `.npy` file.
///
/// # Examples
/// ```
/// use drask::array::npy::{DType, read_header};
///
/// let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
/// let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
/// let text = format!("{dict:<117}\n"); // numpy pads with spaces so the data starts at byte 128
/// bytes.extend_from_slice(&(text.len() as u16).to_le_bytes());
/// bytes.extend_from_slice(text.as_bytes());
///
/// let header = read_header(&bytes[..])?;
/// assert_eq!((header.dtype, header.shape.as_slice()), (DType::F32, &[2, 3][..]));
/// assert_eq!((header.fortran_order, header.data_offset), (false, 128));
/// assert_eq!((header.num_elements(), header.data_bytes()), (6, 24));
/// # Ok::<(), drask::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyHeader {
    /// The element type.
    pub dtype: DType,
    /// The array's shape; empty for a 0-d array.
    pub shape: Vec<usize>,
    /// Whether the data is in Fortran (column-major) order. Reading such files is refused.
    pub fortran_order: bool,
    /// Where the data starts, in bytes from the start of the file.
    pub data_offset: usize,
}

impl NpyHeader {
    /// The number of elements: the product of the shape (1 for a 0-d array).
    ///
    /// # Examples
    /// ```
    /// use drask::array::npy::{DType, NpyHeader};
    ///
    /// let h = NpyHeader { dtype: DType::I64, shape: vec![2, 5], fortran_order: false, data_offset: 128 };
    /// assert_eq!(h.num_elements(), 10);
    /// ```
    pub fn num_elements(&self) -> usize {
        self.shape.iter().product()
    }

    /// The size of the data in bytes: elements times item size.
    ///
    /// # Examples
    /// ```
    /// use drask::array::npy::{DType, NpyHeader};
    ///
    /// let h = NpyHeader { dtype: DType::I64, shape: vec![2, 5], fortran_order: false, data_offset: 128 };
    /// assert_eq!(h.data_bytes(), 80);
    /// ```
    pub fn data_bytes(&self) -> usize {
        self.num_elements() * self.dtype.itemsize()
    }

    /// Checks that the data of a file of `file_len` bytes can be read in C order.
    fn check_data(&self, src: &str, file_len: u64) -> Result<()> {
        // Arrays with at most one axis longer than 1 have the same bytes in either order.
        if self.fortran_order && self.shape.iter().filter(|&&d| d > 1).count() > 1 {
            return Err(metadata(
                src,
                "Fortran-order .npy files are not supported: re-save with np.ascontiguousarray",
            ));
        }
        // Parsing checked that this sum does not overflow.
        let needed = (self.data_offset + self.data_bytes()) as u64;
        if file_len < needed {
            return Err(metadata(
                src,
                format!(
                    "file is truncated: it has {file_len} bytes, but a {} array of shape {} needs {needed}",
                    self.dtype,
                    shape_repr(&self.shape)
                ),
            ));
        }
        Ok(())
    }

    /// Checks that the file holds `A`s.
    fn check_dtype<A: NpyElem>(&self, src: &str) -> Result<()> {
        if self.dtype == A::DTYPE {
            Ok(())
        } else {
            Err(metadata(
                src,
                format!(
                    "dtype mismatch: the file holds {} ('{}') but {} was requested",
                    self.dtype,
                    self.dtype.descr(),
                    A::DTYPE
                ),
            ))
        }
    }
}

mod sealed {
    /// Decoding and encoding, kept out of the public API.
    pub trait Sealed: Sized {
        /// The little-endian bytes of one element.
        type Bytes: AsRef<[u8]>;
        /// One element from exactly `itemsize` bytes; `None` if they are not a valid value.
        fn decode(bytes: &[u8]) -> Option<Self>;
        /// The element's little-endian bytes.
        fn encode(self) -> Self::Bytes;
    }
}

/// An element type `.npy` files can hold: `f32`, `f64`, `i32`, `i64` and `bool`. Sealed.
///
/// # Examples
/// ```
/// use drask::array::npy::{DType, NpyElem};
///
/// fn dtype_of<A: NpyElem>() -> DType {
///     A::DTYPE
/// }
/// assert_eq!(dtype_of::<f32>(), DType::F32);
/// assert_eq!(dtype_of::<bool>(), DType::Bool);
/// ```
pub trait NpyElem: Copy + PartialEq + fmt::Debug + Send + Sync + 'static + sealed::Sealed {
    /// The dtype of this element type in a `.npy` file.
    const DTYPE: DType;
}

macro_rules! impl_npy_elem {
    ($($t:ty => $dtype:ident, $n:literal);* $(;)?) => {$(
        impl sealed::Sealed for $t {
            type Bytes = [u8; $n];
            fn decode(bytes: &[u8]) -> Option<Self> {
                Some(<$t>::from_le_bytes(bytes.try_into().ok()?))
            }
            fn encode(self) -> [u8; $n] {
                self.to_le_bytes()
            }
        }
        impl NpyElem for $t {
            const DTYPE: DType = DType::$dtype;
        }
    )*};
}

impl_npy_elem!(f32 => F32, 4; f64 => F64, 8; i32 => I32, 4; i64 => I64, 8);

impl sealed::Sealed for bool {
    type Bytes = [u8; 1];
    fn decode(bytes: &[u8]) -> Option<Self> {
        match bytes {
            [0] => Some(false),
            [1] => Some(true),
            _ => None,
        }
    }
    fn encode(self) -> [u8; 1] {
        [u8::from(self)]
    }
}

impl NpyElem for bool {
    const DTYPE: DType = DType::Bool;
}

/// Parses a `.npy` header (magic, version, header length and the Python-dict header) from the
/// start of a file's bytes or a reader, leaving the reader at the first data byte.
///
/// Fortran order is reported in [`NpyHeader::fortran_order`], not refused here; the readers
/// refuse it.
///
/// # Errors
/// [`Error::Metadata`] for a bad magic string, an unknown version, a truncated or malformed
/// header, or a dtype that [`DType`] does not cover (big-endian, object, complex, string or
/// structured); [`Error::Io`] if reading fails.
///
/// # Examples
/// ```
/// use drask::array::npy::{DType, read_header, write_npy};
///
/// let path = std::env::temp_dir().join(format!("drask-doc-npy-header-{}.npy", std::process::id()));
/// write_npy(&path, drask::array::ndarray::arr1(&[true, false]).view())?;
/// let header = read_header(std::fs::File::open(&path)?)?;
/// assert_eq!((header.dtype, header.shape), (DType::Bool, vec![2]));
///
/// let err = read_header(&b"PK\x03\x04 not numpy"[..]).unwrap_err();
/// assert!(err.to_string().contains("bad magic"));
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_header<R: Read>(reader: R) -> Result<NpyHeader> {
    parse_header(reader, READER_SOURCE)
}

/// [`read_header`], naming `src` (a path) in errors.
fn parse_header<R: Read>(mut r: R, src: &str) -> Result<NpyHeader> {
    let mut prefix = [0u8; 8];
    read_full(&mut r, &mut prefix, src, "the magic string and version")?;
    if &prefix[..6] != MAGIC {
        return Err(metadata(
            src,
            format!(
                "not a .npy file: bad magic bytes {:?} (a .npy file starts with \\x93NUMPY)",
                String::from_utf8_lossy(&prefix[..6])
            ),
        ));
    }
    let (major, minor) = (prefix[6], prefix[7]);
    let (len_bytes, utf8) = match (major, minor) {
        (1, 0) => (2, false),
        (2, 0) => (4, false),
        (3, 0) => (4, true),
        _ => {
            return Err(metadata(
                src,
                format!("unsupported .npy format version {major}.{minor} (supported: 1.0, 2.0 and 3.0)"),
            ));
        }
    };
    let mut len = [0u8; 4];
    read_full(&mut r, &mut len[..len_bytes], src, "the header length")?;
    let header_len = u32::from_le_bytes(len) as usize;
    if header_len > MAX_HEADER_LEN {
        return Err(metadata(
            src,
            format!("header length {header_len} is implausibly large (more than {MAX_HEADER_LEN} bytes)"),
        ));
    }
    let mut raw = vec![0u8; header_len];
    read_full(&mut r, &mut raw, src, "the header")?;
    // Versions 1.0 and 2.0 are latin-1, 3.0 is UTF-8.
    let text = if utf8 {
        String::from_utf8(raw).map_err(|_| metadata(src, "version 3.0 header is not valid UTF-8"))?
    } else {
        raw.iter().map(|&b| char::from(b)).collect()
    };
    let dict = HeaderParser::new(&text).dict().map_err(|problem| {
        let shown: String = text.trim_end().chars().take(300).collect();
        metadata(src, format!("malformed header {shown:?}: {problem}"))
    })?;
    let descr = dict.descr.ok_or_else(|| {
        metadata(
            src,
            "structured dtypes (a list of fields in 'descr') are not supported: save each field as its own array",
        )
    })?;
    let dtype = DType::from_descr(&descr).map_err(|problem| metadata(src, problem))?;
    let data_offset = 8 + len_bytes + header_len;
    // ndarray's rule: the product of the non-zero axis lengths must fit in `isize`, so a shape
    // such as (0, 2^62, 2^62) is refused here too.
    let fits = dict
        .shape
        .iter()
        .try_fold(dtype.itemsize(), |acc, &d| acc.checked_mul(d.max(1)))
        .and_then(|bytes| bytes.checked_add(data_offset))
        .is_some_and(|end| end <= isize::MAX as usize);
    if !fits {
        return Err(metadata(
            src,
            format!("shape {} is too large to address", shape_repr(&dict.shape)),
        ));
    }
    Ok(NpyHeader {
        dtype,
        shape: dict.shape,
        fortran_order: dict.fortran_order,
        data_offset,
    })
}

/// The three fields of the header dict.
struct HeaderDict {
    /// `None` for a structured dtype (a list of fields).
    descr: Option<String>,
    fortran_order: bool,
    shape: Vec<usize>,
}

/// A hand-written parser for the Python dict literal numpy writes: string keys, and string,
/// `True`/`False` and tuple-of-int values, with any whitespace and optional trailing commas.
struct HeaderParser<'a> {
    text: &'a str,
    pos: usize,
}

type Parsed<T> = std::result::Result<T, String>;

impl<'a> HeaderParser<'a> {
    fn new(text: &'a str) -> Self {
        HeaderParser { text, pos: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// An error at the current position.
    fn expected(&self, what: &str) -> String {
        match self.text[self.pos..].chars().next() {
            Some(c) => format!("expected {what} at byte {}, found {c:?}", self.pos),
            None => format!("expected {what} at byte {}, found the end", self.pos),
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, byte: u8) -> Parsed<()> {
        if self.eat(byte) {
            Ok(())
        } else {
            Err(self.expected(&format!("'{}'", char::from(byte))))
        }
    }

    fn dict(&mut self) -> Parsed<HeaderDict> {
        let (mut descr, mut fortran_order, mut shape) = (None, None, None);
        self.skip_ws();
        self.expect(b'{')?;
        loop {
            self.skip_ws();
            if self.eat(b'}') {
                break;
            }
            let key = self.string()?;
            self.skip_ws();
            self.expect(b':')?;
            self.skip_ws();
            let duplicate = match key {
                "descr" => {
                    let value = if matches!(self.peek(), Some(b'[' | b'{')) {
                        self.skip_nested()?;
                        None
                    } else {
                        Some(self.string()?.to_string())
                    };
                    descr.replace(value).is_some()
                }
                "fortran_order" => fortran_order.replace(self.boolean()?).is_some(),
                "shape" => shape.replace(self.tuple()?).is_some(),
                other => {
                    return Err(format!(
                        "unexpected key '{other}' (expected descr, fortran_order, shape)"
                    ));
                }
            };
            if duplicate {
                return Err(format!("key '{key}' appears twice"));
            }
            self.skip_ws();
            if !self.eat(b',') {
                self.skip_ws();
                self.expect(b'}')?;
                break;
            }
        }
        self.skip_ws();
        if self.pos != self.text.len() {
            return Err(self.expected("only padding after the dict"));
        }
        let missing = |key: &str| format!("missing key '{key}'");
        Ok(HeaderDict {
            descr: descr.ok_or_else(|| missing("descr"))?,
            fortran_order: fortran_order.ok_or_else(|| missing("fortran_order"))?,
            shape: shape.ok_or_else(|| missing("shape"))?,
        })
    }

    /// Skips a bracketed literal (a structured dtype's list of fields), brackets and quotes
    /// balanced.
    fn skip_nested(&mut self) -> Parsed<()> {
        let mut depth = 0usize;
        loop {
            match self.peek() {
                None => return Err(self.expected("a closing bracket")),
                Some(b'\'' | b'"') => {
                    self.string()?;
                    continue;
                }
                Some(b'[' | b'(' | b'{') => depth += 1,
                Some(b']' | b')' | b'}') => depth -= 1,
                Some(_) => {}
            }
            self.pos += 1;
            if depth == 0 {
                return Ok(());
            }
        }
    }

    /// A quoted string (single or double quotes); returns the text between the quotes as is.
    fn string(&mut self) -> Parsed<&'a str> {
        let quote = match self.peek() {
            Some(q @ (b'\'' | b'"')) => q,
            _ => return Err(self.expected("a quoted string")),
        };
        self.pos += 1;
        let start = self.pos;
        loop {
            match self.peek() {
                None => return Err(format!("unterminated string starting at byte {}", start - 1)),
                Some(b'\\') => return Err(format!("escape sequence in string at byte {}", self.pos)),
                Some(q) if q == quote => break,
                Some(_) => self.pos += 1,
            }
        }
        let s = &self.text[start..self.pos];
        self.pos += 1;
        Ok(s)
    }

    fn boolean(&mut self) -> Parsed<bool> {
        let rest = &self.text[self.pos..];
        if rest.starts_with("True") {
            self.pos += 4;
            Ok(true)
        } else if rest.starts_with("False") {
            self.pos += 5;
            Ok(false)
        } else {
            Err(self.expected("True or False"))
        }
    }

    /// A tuple of non-negative integers: `()`, `(n,)`, `(a, b)`, `(a, b,)`. Python 2 long
    /// literals (`3L`) are accepted, as numpy reads them.
    fn tuple(&mut self) -> Parsed<Vec<usize>> {
        self.expect(b'(')?;
        let mut dims = Vec::new();
        let mut trailing_comma = false;
        loop {
            self.skip_ws();
            if self.eat(b')') {
                break;
            }
            dims.push(self.integer()?);
            self.skip_ws();
            trailing_comma = self.eat(b',');
            if !trailing_comma {
                self.skip_ws();
                self.expect(b')')?;
                break;
            }
        }
        if dims.len() == 1 && !trailing_comma {
            return Err(format!(
                "shape ({}) is not a tuple: a 1-d shape is written ({},)",
                dims[0], dims[0]
            ));
        }
        Ok(dims)
    }

    fn integer(&mut self) -> Parsed<usize> {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        if start == self.pos {
            return Err(self.expected("a non-negative integer"));
        }
        let digits = &self.text[start..self.pos];
        let _ = self.eat(b'L');
        digits
            .parse()
            .map_err(|_| format!("dimension {digits} does not fit in a usize"))
    }
}

/// `read_exact`, with a short read reported as a truncated file.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8], src: &str, what: &str) -> Result<()> {
    r.read_exact(buf).map_err(|err| {
        if err.kind() == io::ErrorKind::UnexpectedEof {
            metadata(src, format!("file is truncated: it ends inside {what}"))
        } else {
            io_error(src, err)
        }
    })
}

fn metadata(src: &str, problem: impl fmt::Display) -> Error {
    Error::Metadata(format!("{src}: {problem}"))
}

fn io_error(src: &str, err: io::Error) -> Error {
    Error::Io(Arc::new(io::Error::new(err.kind(), format!("{src}: {err}"))))
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

/// Python's `repr` of a shape tuple: `()`, `(3,)`, `(3, 4)`.
fn shape_repr(shape: &[usize]) -> String {
    match shape {
        [] => "()".to_string(),
        [n] => format!("({n},)"),
        _ => {
            let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
            format!("({})", dims.join(", "))
        }
    }
}

/// The header `numpy.save` writes for a C-order array: version 1.0 unless the header needs 2.0,
/// room for the leading axis to grow to 21 digits, padded with spaces and a newline so the data
/// starts at a multiple of 64.
fn header_bytes(dtype: DType, shape: &[usize]) -> Vec<u8> {
    let mut dict = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
        dtype.descr(),
        shape_repr(shape)
    );
    if let Some(first) = shape.first() {
        let digits = first.to_string().len();
        dict.extend(std::iter::repeat_n(' ', GROWTH_AXIS_MAX_DIGITS.saturating_sub(digits)));
    }
    let text_len = dict.len() + 1; // with the final newline
    let padded = |prefix: usize| text_len + ARRAY_ALIGN - (prefix + text_len) % ARRAY_ALIGN;
    let mut out = Vec::with_capacity(padded(12) + 12);
    out.extend_from_slice(MAGIC);
    if let Ok(len) = u16::try_from(padded(10)) {
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&len.to_le_bytes());
    } else {
        let len = u32::try_from(padded(12)).expect("an .npy header is far shorter than 4 GiB");
        out.extend_from_slice(&[2, 0]);
        out.extend_from_slice(&len.to_le_bytes());
    }
    let pad = ARRAY_ALIGN - (out.len() + text_len) % ARRAY_ALIGN;
    out.extend_from_slice(dict.as_bytes());
    out.resize(out.len() + pad, b' ');
    out.push(b'\n');
    out
}

/// Writes the elements of `array` in logical C order.
fn write_elements<A: NpyElem, D: Dimension, W: Write>(out: &mut W, array: &ArrayView<'_, A, D>) -> io::Result<()> {
    match array.as_slice() {
        Some(slice) => slice.iter().try_for_each(|x| out.write_all(x.encode().as_ref())),
        None => array.iter().try_for_each(|x| out.write_all(x.encode().as_ref())),
    }
}

fn create(path: &Path, src: &str) -> Result<BufWriter<File>> {
    let file = File::create(path).map_err(|err| io_error(src, err))?;
    Ok(BufWriter::with_capacity(CHUNK_BYTES, file))
}

/// Reads a `.npy` file into memory.
///
/// # Errors
/// [`Error::Io`] if the file cannot be opened or read; [`Error::Metadata`] (naming the file) if
/// it is not a supported `.npy` file (see [`read_header`]), is in Fortran order, holds a dtype
/// other than `A`'s, is shorter than its header says, or holds a bool byte other than 0 or 1.
///
/// # Examples
/// ```
/// use drask::array::ndarray::arr2;
/// use drask::array::npy::{read_npy, write_npy};
///
/// let path = std::env::temp_dir().join(format!("drask-doc-read-npy-{}.npy", std::process::id()));
/// write_npy(&path, arr2(&[[1i32, 2], [3, 4]]).view())?;
/// let a = read_npy::<i32>(&path)?;
/// assert_eq!(a.shape(), &[2, 2]);
/// assert_eq!(a[[1, 0]], 3);
/// assert!(read_npy::<f64>(&path).unwrap_err().to_string().contains("dtype mismatch"));
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_npy<A: NpyElem>(path: impl AsRef<Path>) -> Result<ArrayD<A>> {
    let src = display(path.as_ref());
    let file = File::open(path.as_ref()).map_err(|err| io_error(&src, err))?;
    let file_len = file.metadata().map_err(|err| io_error(&src, err))?.len();
    let mut reader = BufReader::with_capacity(CHUNK_BYTES, file);
    let header = parse_header(&mut reader, &src)?;
    header.check_data(&src, file_len)?;
    header.check_dtype::<A>(&src)?;
    // The length check above bounds this allocation by the file's size.
    let n = header.num_elements();
    let size = header.dtype.itemsize();
    let mut elements = Vec::with_capacity(n);
    let mut buf = vec![0u8; (CHUNK_BYTES / size * size).min(header.data_bytes())];
    while elements.len() < n {
        let len = ((n - elements.len()) * size).min(buf.len());
        read_full(&mut reader, &mut buf[..len], &src, "the data")?;
        for bytes in buf[..len].chunks_exact(size) {
            let x = A::decode(bytes).ok_or_else(|| invalid_bool(&src, bytes[0], elements.len()))?;
            elements.push(x);
        }
    }
    ArrayD::from_shape_vec(IxDyn(&header.shape), elements)
        .map_err(|err| Error::Internal(format!("{src}: npy element count does not match the shape: {err}")))
}

/// Reads one block of a `.npy` file: `shape` elements along each axis from `offset` on. Only
/// the block's bytes are read, one positioned read per run of it that is contiguous in the file
/// (a run spans the last axis, and more axes when the block covers them whole); the file is not
/// mapped. What a worker rebuilding an array over a file runs for each of its blocks.
///
/// # Errors
/// As [`read_npy`], and [`Error::Metadata`] if the block does not lie within the array.
///
/// # Examples
/// ```
/// use drask::array::ndarray::{Array2, s};
/// use drask::array::npy::{read_npy_block, write_npy};
///
/// let path = std::env::temp_dir().join(format!("drask-doc-npy-block-{}.npy", std::process::id()));
/// let a = Array2::from_shape_fn((5, 4), |(i, j)| (10 * i + j) as i64);
/// write_npy(&path, a.view())?;
/// let block = read_npy_block::<i64>(&path, &[1, 2], &[3, 2])?;
/// assert_eq!(block, a.slice(s![1..4, 2..4]).into_dyn());
/// assert!(read_npy_block::<i64>(&path, &[4, 0], &[2, 4]).is_err()); // past the last row
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_npy_block<A: NpyElem>(path: impl AsRef<Path>, offset: &[usize], shape: &[usize]) -> Result<ArrayD<A>> {
    use std::io::{Seek, SeekFrom};

    let src = display(path.as_ref());
    let file = File::open(path.as_ref()).map_err(|err| io_error(&src, err))?;
    let file_len = file.metadata().map_err(|err| io_error(&src, err))?.len();
    let mut reader = BufReader::new(&file);
    let header = parse_header(&mut reader, &src)?;
    drop(reader);
    header.check_data(&src, file_len)?;
    header.check_dtype::<A>(&src)?;
    let full = &header.shape;
    let fits = offset.len() == full.len()
        && shape.len() == full.len()
        && (0..full.len()).all(|k| offset[k].checked_add(shape[k]).is_some_and(|end| end <= full[k]));
    if !fits {
        return Err(metadata(
            &src,
            format!("a block of shape {shape:?} at {offset:?} does not lie within the array's shape {full:?}"),
        ));
    }
    let n: usize = shape.iter().product();
    if n == 0 {
        return Ok(ArrayD::from_shape_vec(IxDyn(shape), Vec::new()).expect("an empty block"));
    }
    let size = header.dtype.itemsize();
    // The run axis: axes after it are whole, so a run covers it and them.
    let mut run_axis = full.len().saturating_sub(1);
    while run_axis > 0 && shape[run_axis] == full[run_axis] {
        run_axis -= 1;
    }
    let strides: Vec<usize> = (0..full.len()).map(|k| full[k + 1..].iter().product()).collect();
    let run = if full.is_empty() {
        1
    } else {
        shape[run_axis] * strides[run_axis]
    };
    let outer: Vec<usize> = shape[..run_axis.min(shape.len())].to_vec();
    let mut elements = Vec::with_capacity(n);
    let mut buf = vec![0u8; run * size];
    let mut at = vec![0usize; outer.len()];
    let mut file = &file;
    loop {
        let start: usize = (0..full.len())
            .map(|k| (offset[k] + at.get(k).copied().unwrap_or(0)) * strides[k])
            .sum();
        file.seek(SeekFrom::Start((header.data_offset + start * size) as u64))
            .map_err(|err| io_error(&src, err))?;
        read_full(&mut file, &mut buf, &src, "the data")?;
        for bytes in buf.chunks_exact(size) {
            let x = A::decode(bytes).ok_or_else(|| invalid_bool(&src, bytes[0], elements.len()))?;
            elements.push(x);
        }
        // The next run, in C order over the outer axes.
        let mut k = outer.len();
        loop {
            if k == 0 {
                return ArrayD::from_shape_vec(IxDyn(shape), elements)
                    .map_err(|err| Error::Internal(format!("{src}: a block's element count: {err}")));
            }
            k -= 1;
            at[k] += 1;
            if at[k] < outer[k] {
                break;
            }
            at[k] = 0;
        }
    }
}

fn invalid_bool(src: &str, byte: u8, index: usize) -> Error {
    metadata(
        src,
        format!("invalid bool byte {byte:#04x} at element {index}: .npy bools must be 0 or 1"),
    )
}

/// Writes an array to a `.npy` file (format 1.0, C order, as `numpy.save` writes it). A view
/// that is not in standard layout (transposed, sliced with steps) is written in logical C order.
///
/// # Errors
/// [`Error::Io`] (naming the file) if it cannot be created or written.
///
/// # Examples
/// ```
/// use drask::array::ndarray::{Array2, ArrayD};
/// use drask::array::npy::{read_npy, write_npy};
///
/// let path = std::env::temp_dir().join(format!("drask-doc-write-npy-{}.npy", std::process::id()));
/// let a = Array2::from_shape_fn((2, 3), |(i, j)| (10 * i + j) as f32);
/// write_npy(&path, a.t())?; // the transpose, written as a 3 x 2 C-order array
/// assert_eq!(read_npy::<f32>(&path)?, a.t().into_dyn());
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_npy<A: NpyElem, D: Dimension>(path: impl AsRef<Path>, array: ArrayView<'_, A, D>) -> Result<()> {
    let src = display(path.as_ref());
    let mut out = create(path.as_ref(), &src)?;
    let written = out
        .write_all(&header_bytes(A::DTYPE, array.shape()))
        .and_then(|()| write_elements(&mut out, &array))
        .and_then(|()| out.flush());
    written.map_err(|err| io_error(&src, err))
}

/// Streams an array to a `.npy` file one block of rows at a time, so a chunked array can be
/// saved without holding it all in memory. The full shape is fixed up front; blocks of whole
/// rows (along the first axis) arrive in order; [`finish`](NpyWriter::finish) checks that every
/// row came.
///
/// A writer dropped without `finish` leaves a file whose header promises more data than it
/// holds; readers refuse it as truncated.
///
/// # Examples
/// ```
/// use drask::array::ndarray::{Array2, s};
/// use drask::array::npy::{NpyWriter, read_npy};
///
/// let path = std::env::temp_dir().join(format!("drask-doc-npy-writer-{}.npy", std::process::id()));
/// let a = Array2::from_shape_fn((5, 3), |(i, j)| (i * 3 + j) as i64);
/// let mut writer = NpyWriter::<i64>::create(&path, &[5, 3])?;
/// writer.write_rows(a.slice(s![..2, ..]))?;
/// writer.write_rows(a.slice(s![2.., ..]))?;
/// writer.finish()?;
/// assert_eq!(read_npy::<i64>(&path)?, a.into_dyn());
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct NpyWriter<A: NpyElem> {
    out: BufWriter<File>,
    src: String,
    shape: Vec<usize>,
    rows_written: usize,
    /// Set when a write failed part way: the file's contents are then unknown.
    failed: bool,
    _elem: PhantomData<fn(A)>,
}

impl<A: NpyElem> NpyWriter<A> {
    /// Creates (or truncates) the file and writes the header for an array of `shape`, which
    /// needs at least one axis (use [`write_npy`] for a 0-d array).
    ///
    /// # Errors
    /// [`Error::Metadata`] for a 0-d shape; [`Error::Io`] (naming the file) if it cannot be
    /// created or written.
    ///
    /// # Examples
    /// ```
    /// use drask::array::npy::NpyWriter;
    ///
    /// let path = std::env::temp_dir().join(format!("drask-doc-npy-create-{}.npy", std::process::id()));
    /// let writer = NpyWriter::<f64>::create(&path, &[0, 4])?; // no rows to write
    /// writer.finish()?;
    /// assert!(NpyWriter::<f64>::create(&path, &[]).is_err());
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn create(path: impl AsRef<Path>, shape: &[usize]) -> Result<Self> {
        let src = display(path.as_ref());
        if shape.is_empty() {
            return Err(metadata(
                &src,
                "NpyWriter needs at least one axis to stream rows along; write a 0-d array with write_npy",
            ));
        }
        let mut out = create(path.as_ref(), &src)?;
        out.write_all(&header_bytes(A::DTYPE, shape))
            .map_err(|err| io_error(&src, err))?;
        Ok(NpyWriter {
            out,
            src,
            shape: shape.to_vec(),
            rows_written: 0,
            failed: false,
            _elem: PhantomData,
        })
    }

    /// Appends a block of whole rows: its first axis may have any length up to the rows still
    /// missing, its other axes must match the shape given to [`create`](NpyWriter::create).
    /// Any layout is accepted; the block is written in logical C order.
    ///
    /// # Errors
    /// [`Error::Metadata`] if the block's shape does not fit (nothing is written then);
    /// [`Error::Io`] if writing fails, after which the writer refuses further blocks.
    ///
    /// # Examples
    /// ```
    /// use drask::array::ndarray::arr2;
    /// use drask::array::npy::NpyWriter;
    ///
    /// let path = std::env::temp_dir().join(format!("drask-doc-npy-rows-{}.npy", std::process::id()));
    /// let mut writer = NpyWriter::<f32>::create(&path, &[2, 2])?;
    /// writer.write_rows(arr2(&[[1.0f32, 2.0]]).view())?;
    /// assert!(writer.write_rows(arr2(&[[1.0f32, 2.0, 3.0]]).view()).is_err()); // 3 columns, not 2
    /// writer.write_rows(arr2(&[[3.0f32, 4.0]]).view())?;
    /// assert_eq!(writer.rows_written(), 2);
    /// writer.finish()?;
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn write_rows<D: Dimension>(&mut self, block: ArrayView<'_, A, D>) -> Result<()> {
        if self.failed {
            return Err(metadata(&self.src, "an earlier write failed; the file is incomplete"));
        }
        let shape = block.shape();
        if shape.len() != self.shape.len() || shape[1..] != self.shape[1..] {
            return Err(metadata(
                &self.src,
                format!(
                    "block of shape {} does not fit rows of an array of shape {}",
                    shape_repr(shape),
                    shape_repr(&self.shape)
                ),
            ));
        }
        let remaining = self.shape[0] - self.rows_written;
        if shape[0] > remaining {
            return Err(metadata(
                &self.src,
                format!(
                    "block of {} rows is too many: {} of {} rows are written, {remaining} remain",
                    shape[0], self.rows_written, self.shape[0]
                ),
            ));
        }
        if let Err(err) = write_elements(&mut self.out, &block) {
            self.failed = true;
            return Err(io_error(&self.src, err));
        }
        self.rows_written += shape[0];
        Ok(())
    }

    /// How many rows have been written so far.
    ///
    /// # Examples
    /// ```
    /// use drask::array::npy::NpyWriter;
    ///
    /// let path = std::env::temp_dir().join(format!("drask-doc-npy-count-{}.npy", std::process::id()));
    /// let writer = NpyWriter::<i32>::create(&path, &[3])?;
    /// assert_eq!(writer.rows_written(), 0);
    /// # drop(writer);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn rows_written(&self) -> usize {
        self.rows_written
    }

    /// Flushes the file and checks that every row was written.
    ///
    /// # Errors
    /// [`Error::Metadata`] if rows are missing (the file is left incomplete); [`Error::Io`] if
    /// flushing fails.
    ///
    /// # Examples
    /// ```
    /// use drask::array::ndarray::arr1;
    /// use drask::array::npy::NpyWriter;
    ///
    /// let path = std::env::temp_dir().join(format!("drask-doc-npy-finish-{}.npy", std::process::id()));
    /// let mut writer = NpyWriter::<bool>::create(&path, &[3])?;
    /// writer.write_rows(arr1(&[true, false]).view())?;
    /// let err = writer.finish().unwrap_err();
    /// assert!(err.to_string().contains("2 of 3 rows"));
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn finish(mut self) -> Result<()> {
        self.out.flush().map_err(|err| io_error(&self.src, err))?;
        if self.failed || self.rows_written != self.shape[0] {
            return Err(metadata(
                &self.src,
                format!(
                    "only {} of {} rows were written; the file is incomplete",
                    self.rows_written, self.shape[0]
                ),
            ));
        }
        Ok(())
    }
}

/// A `.npy` file mapped into memory, viewed in place as an ndarray without copying (feature
/// `mmap`). Creating one is `unsafe`: see [`NpyMap::open`].
///
/// # Examples
/// ```
/// use drask::array::ndarray::arr2;
/// use drask::array::npy::{NpyMap, write_npy};
///
/// let path = std::env::temp_dir().join(format!("drask-doc-npy-map-{}.npy", std::process::id()));
/// write_npy(&path, arr2(&[[1.0f64, 2.0], [3.0, 4.0]]).view())?;
/// // SAFETY: nothing else touches this freshly written temp file while it is mapped.
/// let map = unsafe { NpyMap::open(&path)? };
/// assert_eq!(map.header().shape, vec![2, 2]);
/// assert_eq!(map.view2::<f64>()?, arr2(&[[1.0, 2.0], [3.0, 4.0]]));
/// # drop(map);
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[cfg(feature = "mmap")]
#[derive(Debug)]
pub struct NpyMap {
    map: memmap2::Mmap,
    header: NpyHeader,
    src: String,
    path: std::path::PathBuf,
    release_after_read: bool,
}

#[cfg(feature = "mmap")]
impl NpyMap {
    /// Maps a `.npy` file read-only and parses its header.
    ///
    /// # Safety
    /// The file must not be modified or truncated, by this process or any other, while the
    /// returned `NpyMap` (or any view borrowed from it) is alive. The views hand out ordinary
    /// Rust references into the mapped pages, so a change underneath them is undefined
    /// behavior (a truncation typically kills the process with `SIGBUS`). This is the contract
    /// of [`memmap2::Mmap::map`], passed on to the caller, as ripgrep does. For files that may
    /// change, use [`read_npy`].
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be opened or mapped; [`Error::Metadata`] (naming the
    /// file) if it is not a supported `.npy` file (see [`read_header`]), is in Fortran order or
    /// is shorter than its header says.
    ///
    /// # Examples
    /// ```
    /// use drask::array::ndarray::arr1;
    /// use drask::array::npy::{NpyMap, write_npy};
    ///
    /// let path = std::env::temp_dir().join(format!("drask-doc-npy-open-{}.npy", std::process::id()));
    /// write_npy(&path, arr1(&[1i64, 2, 3]).view())?;
    /// // SAFETY: nothing else touches this freshly written temp file while it is mapped.
    /// let map = unsafe { NpyMap::open(&path)? };
    /// assert_eq!(map.view::<i64>()?.sum(), 6);
    /// # drop(map);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub unsafe fn open(path: impl AsRef<Path>) -> Result<NpyMap> {
        let src = display(path.as_ref());
        let file = File::open(path.as_ref()).map_err(|err| io_error(&src, err))?;
        // SAFETY: the map is read-only and we never write through it; that the file is not
        // modified or truncated while it is mapped is this function's own contract, which the
        // caller has promised to keep.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|err| io_error(&src, err))?;
        let header = parse_header(&map[..], &src)?;
        header.check_data(&src, map.len() as u64)?;
        Ok(NpyMap {
            map,
            header,
            src,
            path: path.as_ref().to_path_buf(),
            release_after_read: false,
        })
    }

    /// The file's header.
    ///
    /// # Examples
    /// ```
    /// use drask::array::ndarray::arr0;
    /// use drask::array::npy::{DType, NpyMap, write_npy};
    ///
    /// let path = std::env::temp_dir().join(format!("drask-doc-npy-maphdr-{}.npy", std::process::id()));
    /// write_npy(&path, arr0(7.5f32).view())?;
    /// // SAFETY: nothing else touches this freshly written temp file while it is mapped.
    /// let map = unsafe { NpyMap::open(&path)? };
    /// assert_eq!((map.header().dtype, map.header().shape.len()), (DType::F32, 0));
    /// # drop(map);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn header(&self) -> &NpyHeader {
        &self.header
    }

    /// The path the file was opened at.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The raw little-endian data bytes, after the header.
    ///
    /// # Examples
    /// ```
    /// use drask::array::ndarray::arr1;
    /// use drask::array::npy::{NpyMap, write_npy};
    ///
    /// let path = std::env::temp_dir().join(format!("drask-doc-npy-bytes-{}.npy", std::process::id()));
    /// write_npy(&path, arr1(&[1i32, 2]).view())?;
    /// // SAFETY: nothing else touches this freshly written temp file while it is mapped.
    /// let map = unsafe { NpyMap::open(&path)? };
    /// assert_eq!(map.data(), &[1, 0, 0, 0, 2, 0, 0, 0]);
    /// # drop(map);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn data(&self) -> &[u8] {
        // `open` checked that the file holds all of the data.
        &self.map[self.header.data_offset..self.header.data_offset + self.header.data_bytes()]
    }

    /// Views the data in place as an n-dimensional array of `A`. For `bool` the bytes are first
    /// checked to be 0 or 1 (one pass over the data).
    ///
    /// # Errors
    /// [`Error::Metadata`] if the file's dtype is not `A`'s, if the data is not aligned in
    /// memory for `A` (the file's data offset is not a multiple of `A`'s alignment; files numpy
    /// writes start their data at a multiple of 64; use [`read_npy`] to copy such a file
    /// instead), if a bool byte is not 0 or 1, or if this is a big-endian machine.
    ///
    /// # Examples
    /// ```
    /// use drask::array::ndarray::{ArrayD, IxDyn};
    /// use drask::array::npy::{NpyMap, write_npy};
    ///
    /// let path = std::env::temp_dir().join(format!("drask-doc-npy-view-{}.npy", std::process::id()));
    /// let a = ArrayD::from_shape_fn(IxDyn(&[2, 3, 4]), |ix| ix[0] + ix[1] + ix[2] > 3);
    /// write_npy(&path, a.view())?;
    /// // SAFETY: nothing else touches this freshly written temp file while it is mapped.
    /// let map = unsafe { NpyMap::open(&path)? };
    /// assert_eq!(map.view::<bool>()?, a);
    /// assert!(map.view::<f32>().is_err()); // the file holds bools
    /// # drop(map);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn view<A: NpyElem>(&self) -> Result<ArrayViewD<'_, A>> {
        self.header.check_dtype::<A>(&self.src)?;
        if cfg!(target_endian = "big") && size_of::<A>() > 1 {
            return Err(metadata(
                &self.src,
                "memory-mapped views of little-endian data need a little-endian machine; use read_npy",
            ));
        }
        let bytes = self.data();
        let n = self.header.num_elements();
        let elements: &[A] = if n == 0 {
            &[]
        } else {
            // The sealed NpyElem types have exactly their dtype's item size.
            if size_of::<A>() != self.header.dtype.itemsize() || bytes.len() != n * size_of::<A>() {
                return Err(Error::Internal(format!(
                    "{}: npy data length does not match the element type",
                    self.src
                )));
            }
            let ptr = bytes.as_ptr().cast::<A>();
            if !ptr.is_aligned() {
                return Err(metadata(
                    &self.src,
                    format!(
                        "cannot view the data in place: it starts at byte {}, which is not aligned to {} bytes \
                         for {} in memory; use read_npy to copy it",
                        self.header.data_offset,
                        align_of::<A>(),
                        A::DTYPE
                    ),
                ));
            }
            let invalid = if A::DTYPE == DType::Bool {
                bytes.iter().position(|&b| b > 1)
            } else {
                None
            };
            if let Some(i) = invalid {
                return Err(invalid_bool(&self.src, bytes[i], i));
            }
            // SAFETY: `ptr` is non-null (it comes from a slice) and aligned for `A` (checked
            // above). It points at `n * size_of::<A>()` bytes (checked above) inside `bytes`,
            // one live allocation (the read-only map) borrowed from `self` for the returned
            // lifetime, so the memory stays valid and is not mutated through Rust; that nothing
            // else changes it is the contract of the unsafe `NpyMap::open`. Every bit pattern is
            // a valid `f32`, `f64`, `i32` or `i64`, and for `bool` (the only other `NpyElem`)
            // every byte was checked to be 0 or 1. None of these types has interior mutability.
            // The total size fits in `isize` because it lies within one allocation.
            unsafe { std::slice::from_raw_parts(ptr, n) }
        };
        ArrayViewD::from_shape(IxDyn(&self.header.shape), elements).map_err(|err| {
            Error::Internal(format!(
                "{}: npy element count does not match the shape: {err}",
                self.src
            ))
        })
    }

    /// [`view`](NpyMap::view) for a 2-D file.
    ///
    /// # Errors
    /// As for [`view`](NpyMap::view), and [`Error::Metadata`] if the file is not 2-D.
    ///
    /// # Examples
    /// ```
    /// use drask::array::ndarray::{Array2, arr1};
    /// use drask::array::npy::{NpyMap, write_npy};
    ///
    /// let path = std::env::temp_dir().join(format!("drask-doc-npy-view2-{}.npy", std::process::id()));
    /// let a = Array2::from_shape_fn((4, 3), |(i, j)| (i * 3 + j) as i32);
    /// write_npy(&path, a.view())?;
    /// // SAFETY: nothing else touches this freshly written temp file while it is mapped.
    /// let map = unsafe { NpyMap::open(&path)? };
    /// let v = map.view2::<i32>()?;
    /// assert_eq!(v.column(1), arr1(&[1, 4, 7, 10]));
    /// # drop(map);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn view2<A: NpyElem>(&self) -> Result<ArrayView2<'_, A>> {
        if self.header.shape.len() != 2 {
            return Err(metadata(
                &self.src,
                format!("expected a 2-d array, found shape {}", shape_repr(&self.header.shape)),
            ));
        }
        self.view()?
            .into_dimensionality::<Ix2>()
            .map_err(|err| Error::Internal(format!("{}: {err}", self.src)))
    }

    /// Asks array computations that read blocks of this map in place to drop each block's pages
    /// from this process's resident memory once the block's last reader in the compute is done
    /// ([`release`](NpyMap::release)), so a reduction over a file larger than memory keeps only
    /// the blocks in flight resident. Off by default: a block read again (by the next compute)
    /// is then faulted in again from the page cache, or from disk if the kernel evicted it. Only
    /// in-place reads (reductions, `correlate`) release; blocks other operations copy out of the
    /// map are released by their copies being freed.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// use drask::prelude::*;
    /// use drask::array::{Array, ndarray::{Array1, Ix1}, npy::{NpyMap, write_npy}};
    ///
    /// let path = std::env::temp_dir().join(format!("drask-doc-npy-release-{}.npy", std::process::id()));
    /// write_npy(&path, Array1::from_iter((0..10_000).map(f64::from)).view())?;
    /// // SAFETY: nothing else touches this freshly written temp file while it is mapped.
    /// let map = Arc::new(unsafe { NpyMap::open(&path)? }.with_release_after_read(true));
    /// let x = Array::<f64, Ix1>::from_npy_map(map, &[1024])?;
    /// assert_eq!(x.sum().compute()?, 49_995_000.0);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn with_release_after_read(mut self, release: bool) -> NpyMap {
        self.release_after_read = release;
        self
    }

    /// Whether array tasks release the pages they read (see
    /// [`with_release_after_read`](NpyMap::with_release_after_read)).
    pub fn releases_after_read(&self) -> bool {
        self.release_after_read
    }

    /// Drops the pages that hold the data bytes `bytes` (offsets into [`data`](NpyMap::data),
    /// widened to whole pages) from this process's resident memory (`madvise(MADV_DONTNEED)`).
    /// The data does not change: a later read faults the same bytes back in from the file. A
    /// no-op where `madvise` is not available.
    ///
    /// # Errors
    /// [`Error::Metadata`] if the range is not within the data; [`Error::Io`] if the kernel
    /// refuses the advice.
    ///
    /// # Examples
    /// ```
    /// use drask::array::ndarray::Array1;
    /// use drask::array::npy::{NpyMap, write_npy};
    ///
    /// let path = std::env::temp_dir().join(format!("drask-doc-npy-drop-{}.npy", std::process::id()));
    /// write_npy(&path, Array1::from_iter(0..100_000_i64).view())?;
    /// // SAFETY: nothing else touches this freshly written temp file while it is mapped.
    /// let map = unsafe { NpyMap::open(&path)? };
    /// let before = map.view::<i64>()?.sum();
    /// map.release(0..map.data().len())?;
    /// assert_eq!(map.view::<i64>()?.sum(), before); // read back from the file
    /// # drop(map);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn release(&self, bytes: std::ops::Range<usize>) -> Result<()> {
        let len = self.header.data_bytes();
        if bytes.start > bytes.end || bytes.end > len {
            return Err(metadata(
                &self.src,
                format!("cannot release bytes {bytes:?} of {len} data bytes"),
            ));
        }
        if bytes.is_empty() {
            return Ok(());
        }
        #[cfg(unix)]
        {
            // SAFETY: the map is a read-only shared mapping of a file (`memmap2::Mmap::map`),
            // never written through, and the file does not change while mapped (the contract of
            // `NpyMap::open`). MADV_DONTNEED on such a mapping only drops this process's page
            // table entries: the next access to the range, through any live reference, faults in
            // the same bytes from the file (man 2 madvise: "repopulate the memory contents from
            // the up-to-date contents of the underlying mapped file" for shared file mappings).
            // So no byte that a reference can observe changes. The range lies within the map
            // (checked above); memmap2 widens it to whole pages.
            unsafe {
                self.map.unchecked_advise_range(
                    memmap2::UncheckedAdvice::DontNeed,
                    self.header.data_offset + bytes.start,
                    bytes.len(),
                )
            }
            .map_err(|err| io_error(&self.src, err))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use std::path::PathBuf;

    use ndarray::{Array, arr2, s};

    use super::*;

    /// A unique directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            static COUNTER: AtomicUsize = AtomicUsize::new(0);
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let dir = std::env::temp_dir().join(format!("drask-npy-test-{}-{name}-{n}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }

        fn file(&self, name: &str) -> PathBuf {
            self.0.join(name)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// A file with a hand-made header: `version` and the dict text, padded like numpy pads
    /// (spaces and a newline) so the data starts at a multiple of `align`, then `data`.
    fn npy_bytes(version: (u8, u8), dict: &str, align: usize, data: &[u8]) -> Vec<u8> {
        let prefix = if version.0 == 1 { 10 } else { 12 };
        let mut text = dict.to_string();
        while !(prefix + text.len() + 1).is_multiple_of(align) {
            text.push(' ');
        }
        text.push('\n');
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&[version.0, version.1]);
        if version.0 == 1 {
            out.extend_from_slice(&(text.len() as u16).to_le_bytes());
        } else {
            out.extend_from_slice(&(text.len() as u32).to_le_bytes());
        }
        out.extend_from_slice(text.as_bytes());
        out.extend_from_slice(data);
        out
    }

    fn f64_bytes(values: impl IntoIterator<Item = f64>) -> Vec<u8> {
        values.into_iter().flat_map(f64::to_le_bytes).collect()
    }

    fn roundtrip<A: NpyElem>(dir: &TempDir, f: impl Fn(usize) -> A) {
        for shape in [&[][..], &[5], &[3, 4], &[2, 3, 4], &[0], &[0, 3], &[2, 0, 3]] {
            let mut k = 0;
            let a = ArrayD::from_shape_simple_fn(IxDyn(shape), || {
                k += 1;
                f(k)
            });
            let path = dir.file(&format!("{}-{shape:?}.npy", A::DTYPE));
            write_npy(&path, a.view()).unwrap();
            let bytes = std::fs::read(&path).unwrap();
            let mut reader = io::Cursor::new(&bytes);
            let header = read_header(&mut reader).unwrap();
            assert_eq!(reader.position() as usize, header.data_offset); // left at the data
            assert_eq!(header.dtype, A::DTYPE);
            assert_eq!(header.shape, shape);
            assert_eq!(header.data_offset % 64, 0);
            assert_eq!(bytes.len(), header.data_offset + header.data_bytes());
            assert_eq!(read_npy::<A>(&path).unwrap(), a, "{shape:?}");
            #[cfg(feature = "mmap")]
            {
                // SAFETY: the test's own temp file is not modified while mapped.
                let map = unsafe { NpyMap::open(&path) }.unwrap();
                assert_eq!(map.view::<A>().unwrap(), a, "{shape:?}");
                if shape.len() == 2 {
                    assert_eq!(map.view2::<A>().unwrap().into_dyn(), a);
                } else {
                    assert!(map.view2::<A>().is_err());
                }
            }
        }
    }

    #[test]
    fn roundtrips_every_dtype_and_rank() {
        let dir = TempDir::new("roundtrip");
        roundtrip(&dir, |k| k as f32 * 0.5 - 3.0);
        roundtrip(&dir, |k| k as f64 / 7.0 - 1e300);
        roundtrip(&dir, |k| k as i32 * -1_000_003);
        roundtrip(&dir, |k| k as i64 * i64::from(i32::MAX) * -3);
        roundtrip(&dir, |k| k % 3 == 0);
        roundtrip(&dir, |k| {
            if k % 2 == 0 { f64::NAN } else { f64::NEG_INFINITY }.to_bits() as i64
        });
    }

    #[test]
    fn writes_numpy_header_bytes() {
        // `np.save(f, np.arange(12.).reshape(3, 4))` with numpy >= 1.24 (growth-axis padding).
        let dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }";
        let expected = npy_bytes(
            (1, 0),
            &format!("{dict}{}", " ".repeat(20)),
            64,
            &f64_bytes((0..12).map(f64::from)),
        );
        assert_eq!(expected.len(), 128 + 96);
        assert_eq!(&expected[8..10], &[118, 0]);
        let dir = TempDir::new("header-bytes");
        let path = dir.file("a.npy");
        let a = Array::from_shape_fn((3, 4), |(i, j)| (i * 4 + j) as f64);
        write_npy(&path, a.view()).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), expected);

        // Shapes whose repr and padding differ: 0-d (no growth padding), 1-d, a 21-digit axis.
        let cases: [(&[usize], &str); 3] = [
            (&[], "{'descr': '<i4', 'fortran_order': False, 'shape': (), }"),
            (&[7], "{'descr': '<i4', 'fortran_order': False, 'shape': (7,), }"),
            (&[0, 2], "{'descr': '<i4', 'fortran_order': False, 'shape': (0, 2), }"),
        ];
        for (shape, dict) in cases {
            let growth = if shape.is_empty() { 0 } else { 20 };
            let expected = npy_bytes((1, 0), &format!("{dict}{}", " ".repeat(growth)), 64, &[]);
            assert_eq!(header_bytes(DType::I32, shape), expected, "{shape:?}");
        }
        let big = header_bytes(DType::Bool, &[usize::MAX]);
        assert_eq!(big.len() % 64, 0);
        assert!(read_header(&big[..]).unwrap_err().to_string().contains("too large"));
    }

    #[test]
    fn parses_real_numpy_headers() {
        // File bytes, then the header fields: dtype, shape, Fortran order, data offset.
        type Row<'a> = (&'a [u8], DType, &'a [usize], bool, usize);
        let table: &[Row<'_>] = &[
            // numpy >= 1.24, version 1.0.
            (
                &npy_bytes(
                    (1, 0),
                    &format!(
                        "{{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }}{}",
                        " ".repeat(20)
                    ),
                    64,
                    &[],
                ),
                DType::F64,
                &[3, 4],
                false,
                128,
            ),
            // numpy 1.14 to 1.23: no growth padding.
            (
                &npy_bytes(
                    (1, 0),
                    "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }",
                    64,
                    &[],
                ),
                DType::F64,
                &[3, 4],
                false,
                128,
            ),
            // numpy 1.0-era files padded to 16 bytes.
            (
                &npy_bytes(
                    (1, 0),
                    "{'descr': '<i8', 'fortran_order': False, 'shape': (10,), }",
                    16,
                    &[],
                ),
                DType::I64,
                &[10],
                false,
                80,
            ),
            (
                &npy_bytes(
                    (1, 0),
                    "{'descr': '|b1', 'fortran_order': False, 'shape': (), }",
                    64,
                    &[],
                ),
                DType::Bool,
                &[],
                false,
                128,
            ),
            (
                &npy_bytes(
                    (1, 0),
                    "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }",
                    64,
                    &[],
                ),
                DType::F32,
                &[2, 3],
                true,
                128,
            ),
            // Python 2 longs, odd whitespace, no trailing commas, another key order.
            (
                &npy_bytes(
                    (1, 0),
                    "{ 'shape' :(3L,4L) ,'fortran_order':False,\t'descr':'<i4'}",
                    64,
                    &[],
                ),
                DType::I32,
                &[3, 4],
                false,
                128,
            ),
            (
                &npy_bytes(
                    (1, 0),
                    "{\"descr\": \"<f8\", \"fortran_order\": False, \"shape\": (1, 2, 3,)}",
                    64,
                    &[],
                ),
                DType::F64,
                &[1, 2, 3],
                false,
                128,
            ),
            // Versions 2.0 and 3.0: a four-byte header length.
            (
                &npy_bytes(
                    (2, 0),
                    "{'descr': '<i8', 'fortran_order': False, 'shape': (5, 0), }",
                    64,
                    &[],
                ),
                DType::I64,
                &[5, 0],
                false,
                128,
            ),
            (
                &npy_bytes(
                    (3, 0),
                    "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }",
                    64,
                    &[],
                ),
                DType::F32,
                &[4],
                false,
                128,
            ),
        ];
        for (bytes, dtype, shape, fortran, offset) in table {
            let header = read_header(*bytes).unwrap_or_else(|err| panic!("{err}"));
            let expected = NpyHeader {
                dtype: *dtype,
                shape: shape.to_vec(),
                fortran_order: *fortran,
                data_offset: *offset,
            };
            assert_eq!(header, expected);
            assert_eq!(header.data_offset, bytes.len());
        }
    }

    /// The error for a file with these bytes, from `read_npy::<f64>` and (with `mmap`) from
    /// `NpyMap::open` + `view::<f64>`; checks both name the file and say `problem`.
    fn expect_error(dir: &TempDir, name: &str, bytes: &[u8], problem: &str) {
        let path = dir.file(name);
        std::fs::write(&path, bytes).unwrap();
        let err = read_npy::<f64>(&path).unwrap_err();
        assert!(matches!(err, Error::Metadata(_)), "{name}: {err:?}");
        let msg = err.to_string();
        assert!(msg.contains(&display(&path)), "{name}: {msg}");
        assert!(msg.contains(problem), "{name}: {msg}");
        #[cfg(feature = "mmap")]
        {
            // SAFETY: the test's own temp file is not modified while mapped.
            let err = unsafe { NpyMap::open(&path) }
                .and_then(|map| map.view::<f64>().map(|_| ()))
                .unwrap_err();
            let msg = err.to_string();
            assert!(
                msg.contains(&display(&path)) && msg.contains(problem),
                "{name} (mmap): {msg}"
            );
        }
    }

    #[test]
    fn rejects_bad_files_with_messages() {
        let dir = TempDir::new("errors");
        let dict =
            |descr: &str, shape: &str| format!("{{'descr': {descr}, 'fortran_order': False, 'shape': {shape}, }}");
        let good = npy_bytes((1, 0), &dict("'<f8'", "(3,)"), 64, &f64_bytes([1.0, 2.0, 3.0]));
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            ("empty", vec![], "truncated: it ends inside the magic"),
            ("magic", b"PK\x03\x04 not numpy at all".to_vec(), "bad magic"),
            (
                "version",
                [&good[..6], &[4, 0], &good[8..]].concat(),
                "unsupported .npy format version 4.0",
            ),
            (
                "header-cut",
                good[..40].to_vec(),
                "truncated: it ends inside the header",
            ),
            (
                "data-cut",
                good[..good.len() - 1].to_vec(),
                "truncated: it has 151 bytes",
            ),
            ("no-data", good[..128].to_vec(), "shape (3,) needs 152"),
            (
                "fortran",
                npy_bytes(
                    (1, 0),
                    "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 2), }",
                    64,
                    &[0; 32],
                ),
                "Fortran-order .npy files are not supported: re-save with np.ascontiguousarray",
            ),
            (
                "big-endian",
                npy_bytes((1, 0), &dict("'>f8'", "(1,)"), 64, &[0; 8]),
                "big-endian dtype '>f8'",
            ),
            (
                "object",
                npy_bytes((1, 0), &dict("'|O'", "(1,)"), 64, &[0; 8]),
                "object arrays",
            ),
            (
                "complex",
                npy_bytes((1, 0), &dict("'<c16'", "(1,)"), 64, &[0; 16]),
                "unsupported dtype '<c16'",
            ),
            (
                "unicode",
                npy_bytes((1, 0), &dict("'<U10'", "(1,)"), 64, &[0; 40]),
                "unsupported dtype '<U10'",
            ),
            (
                "int8",
                npy_bytes((1, 0), &dict("'|i1'", "(1,)"), 64, &[0; 1]),
                "unsupported dtype '|i1'",
            ),
            (
                "structured",
                npy_bytes((1, 0), &dict("[('a', '<f8'), ('b', '<i4')]", "(1,)"), 64, &[0; 12]),
                "npy: structured dtypes",
            ),
            (
                "structured-nested",
                npy_bytes(
                    (1, 0),
                    &dict("[('a', '<f8', (2,)), ('b', [('c', '|b1')])]", "(1,)"),
                    64,
                    &[0; 17],
                ),
                "npy: structured dtypes",
            ),
            (
                "dtype",
                npy_bytes((1, 0), &dict("'<f4'", "(2,)"), 64, &[0; 8]),
                "dtype mismatch",
            ),
            (
                "missing-key",
                npy_bytes((1, 0), "{'descr': '<f8', 'shape': (1,), }", 64, &[0; 8]),
                "missing key",
            ),
            (
                "extra-key",
                npy_bytes((1, 0), &dict("'<f8'", "(1,), 'x': 1"), 64, &[0; 8]),
                "unexpected key 'x'",
            ),
            (
                "twice",
                npy_bytes((1, 0), &dict("'<f8'", "(1,), 'shape': (1,)"), 64, &[0; 8]),
                "appears twice",
            ),
            (
                "not-tuple",
                npy_bytes((1, 0), &dict("'<f8'", "(3)"), 64, &[0; 24]),
                "is not a tuple",
            ),
            (
                "negative",
                npy_bytes((1, 0), &dict("'<f8'", "(-1,)"), 64, &[]),
                "non-negative integer",
            ),
            (
                "huge-dim",
                npy_bytes((1, 0), &dict("'<f8'", "(99999999999999999999999,)"), 64, &[]),
                "does not fit",
            ),
            (
                "overflow",
                npy_bytes((1, 0), &dict("'<f8'", "(4294967296, 4294967296)"), 64, &[]),
                "too large",
            ),
            (
                "zero-huge",
                npy_bytes((1, 0), &dict("'<f8'", "(0, 4294967296, 4294967296)"), 64, &[]),
                "too large",
            ),
            (
                "garbage",
                npy_bytes((1, 0), "{'descr': '<f8', 'fortran_order': Nope}", 64, &[]),
                "True or False",
            ),
            (
                "tail",
                npy_bytes((1, 0), &format!("{} x", dict("'<f8'", "(1,)")), 64, &[0; 8]),
                "only padding",
            ),
            (
                "unterminated",
                npy_bytes((1, 0), "{'descr: '<f8'}", 64, &[]),
                "expected ':'",
            ),
            (
                "long-header",
                [&MAGIC[..], &[2, 0], &u32::MAX.to_le_bytes()].concat(),
                "implausibly large",
            ),
        ];
        for (name, bytes, problem) in &cases {
            expect_error(&dir, &format!("{name}.npy"), bytes, problem);
        }

        // The reader-only parser names its source too.
        let err = read_header(&b"\x93NUMPY\x01"[..]).unwrap_err();
        assert!(err.to_string().contains("<npy header>: file is truncated"), "{err}");

        // A missing file is an I/O error naming the path.
        let missing = dir.file("missing.npy");
        let err = read_npy::<f64>(&missing).unwrap_err();
        assert!(
            matches!(err, Error::Io(_)) && err.to_string().contains(&display(&missing)),
            "{err}"
        );
        let good_path = dir.file("good.npy");
        std::fs::write(&good_path, &good).unwrap();
        assert_eq!(
            read_npy::<f64>(&good_path).unwrap().as_slice(),
            Some(&[1.0, 2.0, 3.0][..])
        );
    }

    #[test]
    fn fortran_order_with_one_long_axis_is_c_order() {
        let dir = TempDir::new("fortran-1d");
        let path = dir.file("a.npy");
        let bytes = npy_bytes(
            (1, 0),
            "{'descr': '<f8', 'fortran_order': True, 'shape': (1, 3), }",
            64,
            &f64_bytes([1.0, 2.0, 3.0]),
        );
        std::fs::write(&path, bytes).unwrap();
        assert_eq!(read_npy::<f64>(&path).unwrap(), arr2(&[[1.0, 2.0, 3.0]]).into_dyn());
    }

    #[test]
    fn rejects_bool_bytes_other_than_zero_and_one() {
        let dir = TempDir::new("bool");
        let path = dir.file("b.npy");
        let bytes = npy_bytes(
            (1, 0),
            "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }",
            64,
            &[1, 0, 2],
        );
        std::fs::write(&path, bytes).unwrap();
        let msg = read_npy::<bool>(&path).unwrap_err().to_string();
        assert!(msg.contains("invalid bool byte 0x02 at element 2"), "{msg}");
        #[cfg(feature = "mmap")]
        {
            // SAFETY: the test's own temp file is not modified while mapped.
            let map = unsafe { NpyMap::open(&path) }.unwrap();
            let msg = map.view::<bool>().unwrap_err().to_string();
            assert!(msg.contains("invalid bool byte 0x02 at element 2"), "{msg}");
        }
    }

    #[test]
    fn streams_rows_like_write_npy() {
        let dir = TempDir::new("writer");
        let a = Array::from_shape_fn((10, 3, 2), |(i, j, k)| (i * 100 + j * 10 + k) as i32);
        let whole = dir.file("whole.npy");
        write_npy(&whole, a.view()).unwrap();

        let streamed = dir.file("streamed.npy");
        let mut w = NpyWriter::<i32>::create(&streamed, &[10, 3, 2]).unwrap();
        w.write_rows(a.slice(s![..3, .., ..])).unwrap();
        w.write_rows(a.slice(s![3..3, .., ..])).unwrap(); // an empty block is fine
        w.write_rows(a.slice(s![3..6, .., ..]).into_dyn()).unwrap();
        // Wrong trailing shape, wrong rank, too many rows: refused, nothing written.
        let err = w.write_rows(Array::zeros((2, 2, 2)).view()).unwrap_err();
        assert!(
            err.to_string().contains("block of shape (2, 2, 2) does not fit"),
            "{err}"
        );
        assert!(w.write_rows(Array::zeros((2, 6)).view()).is_err());
        let err = w.write_rows(a.view()).unwrap_err();
        assert!(err.to_string().contains("block of 10 rows is too many"), "{err}");
        w.write_rows(a.slice(s![6.., .., ..])).unwrap();
        assert_eq!(w.rows_written(), 10);
        w.finish().unwrap();
        assert_eq!(std::fs::read(&streamed).unwrap(), std::fs::read(&whole).unwrap());

        // Missing rows: finish fails and the file reads as truncated.
        let partial = dir.file("partial.npy");
        let mut w = NpyWriter::<i32>::create(&partial, &[10, 3, 2]).unwrap();
        w.write_rows(a.slice(s![..4, .., ..])).unwrap();
        let err = w.finish().unwrap_err();
        assert!(err.to_string().contains("only 4 of 10 rows"), "{err}");
        let err = read_npy::<i32>(&partial).unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");

        assert!(NpyWriter::<i32>::create(dir.file("scalar.npy"), &[]).is_err());
        let err = NpyWriter::<i32>::create(dir.file("no-such-dir").join("x.npy"), &[1]).unwrap_err();
        assert!(
            matches!(err, Error::Io(_)) && err.to_string().contains("no-such-dir"),
            "{err}"
        );
    }

    #[test]
    fn writes_non_standard_layouts_in_logical_order() {
        let dir = TempDir::new("layout");
        let a = Array::from_shape_fn((4, 6), |(i, j)| (i * 6 + j) as f32);
        for (name, view) in [
            ("t", a.t()),
            ("step", a.slice(s![..;2, 1..;3])),
            ("rev", a.slice(s![..;-1, ..])),
        ] {
            let path = dir.file(&format!("{name}.npy"));
            write_npy(&path, view).unwrap();
            assert_eq!(read_npy::<f32>(&path).unwrap(), view.into_dyn(), "{name}");
            let path = dir.file(&format!("{name}-rows.npy"));
            let mut w = NpyWriter::create(&path, view.shape()).unwrap();
            w.write_rows(view).unwrap();
            w.finish().unwrap();
            assert_eq!(read_npy::<f32>(&path).unwrap(), view.into_dyn(), "{name}");
        }
    }

    #[cfg(feature = "mmap")]
    #[test]
    fn mmap_view_checks_dtype_and_alignment() {
        let dir = TempDir::new("mmap");
        let path = dir.file("a.npy");
        let a = Array::from_shape_fn((50, 7), |(i, j)| (i as f64).sin() * j as f64);
        write_npy(&path, a.view()).unwrap();
        // SAFETY: the test's own temp file is not modified while mapped.
        let map = unsafe { NpyMap::open(&path) }.unwrap();
        assert_eq!(map.view::<f64>().unwrap(), read_npy::<f64>(&path).unwrap());
        assert_eq!(map.view2::<f64>().unwrap(), a);
        assert_eq!(map.header().shape, vec![50, 7]);
        assert_eq!(map.data().len(), 50 * 7 * 8);
        // Releasing pages leaves the data as it was; ranges outside the data are refused.
        map.release(8..2000).unwrap();
        map.release(0..0).unwrap();
        assert_eq!(map.view2::<f64>().unwrap(), a);
        for bad in [0..50 * 7 * 8 + 1, std::ops::Range { start: 9, end: 8 }] {
            let err = map.release(bad).unwrap_err();
            assert!(
                matches!(err, Error::Metadata(_)) && err.to_string().contains("cannot release"),
                "{err}"
            );
        }
        assert!(!map.releases_after_read());
        for err in [
            map.view::<f32>().unwrap_err(),
            map.view::<i64>().unwrap_err(),
            map.view::<bool>().unwrap_err(),
        ] {
            assert!(
                matches!(err, Error::Metadata(_)) && err.to_string().contains("dtype mismatch"),
                "{err}"
            );
        }

        // A valid file whose data starts at byte 68: numpy reads it, but it cannot be viewed
        // in place as f64 or i32 (the map itself is page-aligned).
        for (descr, shape, offset) in [("<f8", "(3,)", 76), ("<i4", "(6,)", 77)] {
            let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
            let text = format!("{dict:<width$}\n", width = offset - 11);
            let mut bytes = [&MAGIC[..], &[1, 0], &(text.len() as u16).to_le_bytes(), text.as_bytes()].concat();
            assert_eq!(bytes.len(), offset);
            bytes.extend_from_slice(&f64_bytes([1.5, -2.0, 3.25]));
            let path = dir.file(&format!("misaligned-{}.npy", &descr[1..]));
            std::fs::write(&path, &bytes).unwrap();
            // SAFETY: the test's own temp file is not modified while mapped.
            let map = unsafe { NpyMap::open(&path) }.unwrap();
            assert_eq!(map.header().data_offset, offset);
            if descr == "<f8" {
                let msg = map.view::<f64>().unwrap_err().to_string();
                assert!(
                    msg.contains("not aligned to 8 bytes for float64") && msg.contains("read_npy"),
                    "{msg}"
                );
                assert_eq!(read_npy::<f64>(&path).unwrap().as_slice(), Some(&[1.5, -2.0, 3.25][..]));
            } else {
                let msg = map.view::<i32>().unwrap_err().to_string();
                assert!(msg.contains("not aligned to 4 bytes for int32"), "{msg}");
                assert_eq!(read_npy::<i32>(&path).unwrap().len(), 6);
            }
        }
    }
}
