//! Output-stable task names and the deterministic tokens they are made from.

use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

/// The output-stable name of a task, like Dask's `("inc-3f2a…", 0, 1)`: the name of the
/// collection operation (with its token) and the task's index within it (empty for a single-task
/// operation such as a [`Delayed`](crate::Delayed)). Unlike a [`TaskId`](crate::graph::TaskId),
/// a key survives optimization: a fused task keeps the key of the task whose value it returns.
///
/// # Examples
/// ```
/// use drask::graph::Key;
/// let key = Key::new("sum-00ff", [0, 1]);
/// assert_eq!(key.to_string(), "('sum-00ff', 0, 1)");
/// assert_eq!(key.prefix(), "sum");
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    name: Arc<str>,
    index: Box<[u32]>,
}

impl Key {
    /// A key from a name and an index (any number of dimensions).
    pub fn new(name: impl Into<Arc<str>>, index: impl Into<Box<[u32]>>) -> Key {
        Key {
            name: name.into(),
            index: index.into(),
        }
    }

    /// A key with no index, as a single-task operation has.
    pub fn single(name: impl Into<Arc<str>>) -> Key {
        Key::new(name, Vec::new())
    }

    /// The operation's name with its token, e.g. `"inc-3f2a07b1c9d4e5f6"`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The task's index within its operation (chunk or partition coordinates).
    pub fn index(&self) -> &[u32] {
        &self.index
    }

    /// The name without its token: `"inc"` for `"inc-3f2a…"`.
    pub fn prefix(&self) -> &str {
        match self.name.rfind('-') {
            Some(dash) if self.name[dash + 1..].chars().all(|c| c.is_ascii_hexdigit()) => &self.name[..dash],
            _ => &self.name,
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.index.is_empty() {
            return write!(f, "'{}'", self.name);
        }
        write!(f, "('{}'", self.name)?;
        for i in self.index.iter() {
            write!(f, ", {i}")?;
        }
        write!(f, ")")
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// 64-bit FNV-1a: stable across Rust versions and platforms (unlike `DefaultHasher`), so the
/// same operation on the same inputs gets the same token on every machine that runs this binary.
#[derive(Debug, Clone, Copy)]
pub struct Fnv64(u64);

impl Default for Fnv64 {
    fn default() -> Self {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv64 {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// The hasher of our own `HashMap`s of keys and names: the rustc/Firefox "Fx" hash, eight bytes
/// at a time, several times faster than SipHash on keys. Keys come from our own code, not from
/// an attacker, so HashDoS resistance buys nothing here.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FxHasher(u64);

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FxHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().expect("eight bytes")));
        }
        let mut tail = [0u8; 8];
        tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
        self.add(u64::from_le_bytes(tail));
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
}

/// Builds [`FxHasher`]s for our `HashMap`s.
pub(crate) type FxBuild = BuildHasherDefault<FxHasher>;

/// Builds a deterministic token from the parts that identify an operation: its name, its
/// parameters and the names of its inputs.
///
/// # Examples
/// ```
/// use drask::graph::Tokenizer;
/// let a = Tokenizer::new("add").str("x-1").str("y-2").finish();
/// let b = Tokenizer::new("add").str("x-1").str("y-2").finish();
/// assert_eq!(a, b);
/// assert!(a.starts_with("add-") && a.len() == "add-".len() + 16);
/// ```
#[derive(Debug, Clone)]
pub struct Tokenizer<'p> {
    prefix: &'p str,
    hash: Fnv64,
}

impl<'p> Tokenizer<'p> {
    /// Starts a token for an operation named `prefix`.
    pub fn new(prefix: &'p str) -> Tokenizer<'p> {
        let mut hash = Fnv64::default();
        hash.write(prefix.as_bytes());
        hash.write(&[0xff]);
        Tokenizer { prefix, hash }
    }

    /// Mixes in a string (length-prefixed, so `("ab", "c")` and `("a", "bc")` differ).
    pub fn str(mut self, s: &str) -> Tokenizer<'p> {
        self.hash.write_u64(s.len() as u64);
        self.hash.write(s.as_bytes());
        self
    }

    /// Mixes in raw bytes (length-prefixed).
    pub fn bytes(mut self, b: &[u8]) -> Tokenizer<'p> {
        self.hash.write_u64(b.len() as u64);
        self.hash.write(b);
        self
    }

    /// Mixes in a number.
    pub fn u64(mut self, n: u64) -> Tokenizer<'p> {
        self.hash.write_u64(n);
        self
    }

    /// The name with its token: `"{prefix}-{16 hex digits}"`.
    pub fn finish(self) -> String {
        format!("{}-{:016x}", self.prefix, self.hash.finish())
    }
}

/// A token for operations that cannot be identified by their inputs (closures, which may capture
/// anything): unique within this process, and, through a per-process seed, across the clients
/// that may one day share a cluster.
pub(crate) fn unique_token(prefix: &str) -> String {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    static SEED: OnceLock<u64> = OnceLock::new();
    let seed = *SEED.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        nanos ^ u64::from(std::process::id()).rotate_left(32)
    });
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    Tokenizer::new(prefix).str("unique").u64(seed).u64(n).finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_matches_reference_vectors() {
        // Published FNV-1a 64 test vectors.
        let hash = |s: &str| {
            let mut h = Fnv64::default();
            h.write(s.as_bytes());
            h.finish()
        };
        assert_eq!(hash(""), 0xcbf29ce484222325);
        assert_eq!(hash("a"), 0xaf63dc4c8601ec8c);
        assert_eq!(hash("foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn tokens_differ_with_inputs_and_boundaries() {
        let t = |a: &str, b: &str| Tokenizer::new("f").str(a).str(b).finish();
        assert_ne!(t("ab", "c"), t("a", "bc"));
        assert_ne!(t("x", "y"), t("y", "x"));
        assert_ne!(unique_token("f"), unique_token("f"));
    }

    #[test]
    fn key_display_and_prefix() {
        assert_eq!(
            Key::single("inc-0123456789abcdef").to_string(),
            "'inc-0123456789abcdef'"
        );
        assert_eq!(Key::single("inc-0123456789abcdef").prefix(), "inc");
        assert_eq!(Key::single("load-file").prefix(), "load-file");
        assert_eq!(Key::new("x", vec![3, 4]).to_string(), "('x', 3, 4)");
    }
}
