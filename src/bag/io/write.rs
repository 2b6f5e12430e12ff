//! `to_text`: one text file per partition, written by the partition's task.

use std::any::type_name;
use std::fmt::{self, Display};
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::bag::remote::{Spec, param};
use crate::bag::{Bag, Item};
use crate::delayed::Delayed;
use crate::error::BoxError;
use crate::graph::{Layer, Lowering, Node, Op, OpSpec, Value, unique_token};
use serde_json::Value as Json;

/// How [`Bag::to_text`] writes its files.
///
/// # Examples
/// ```
/// use drask::bag::ToText;
/// let options = ToText::new().gzip(true);
/// assert!(options.is_gzip());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ToText {
    gzip: bool,
}

impl ToText {
    /// Plain text files.
    pub fn new() -> ToText {
        ToText::default()
    }

    /// Gzip-compresses every file (level 6, gzip's default), and names them `….txt.gz` when
    /// writing into a directory. A name pattern ending in `.gz` compresses without this.
    pub fn gzip(mut self, gzip: bool) -> ToText {
        self.gzip = gzip;
        self
    }

    /// Whether files are gzip-compressed.
    pub fn is_gzip(&self) -> bool {
        self.gzip
    }
}

impl<T: Item + Display> Bag<T> {
    /// Writes the bag as text, one file per partition and one item per line (its `Display`
    /// form followed by `\n`; an item containing a newline becomes several lines). Returns the
    /// files' paths, in partition order; nothing is written until it is computed.
    ///
    /// `target` is a directory (created if needed) to write `part-00000.txt`, `part-00001.txt`,
    /// … into (`.txt.gz` with [`ToText::gzip`]), or a name pattern whose `*` is replaced by the
    /// zero-padded partition number, as in `out/words-*.txt.gz` (a pattern ending in `.gz` is
    /// compressed). Each partition's task creates the directory and writes its own file; an
    /// error names the file. Existing files are overwritten.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::bag::ToText;
    /// let dir = std::env::temp_dir().join(format!("drask-doc-to-text-{}", std::process::id()));
    /// let bag = Bag::from_vec(vec![1, 2, 3], 2);
    /// let files = bag.to_text(dir.join("gz"), ToText::new().gzip(true)).compute()?;
    /// assert_eq!(files, [dir.join("gz/part-00000.txt.gz"), dir.join("gz/part-00001.txt.gz")]);
    /// let back = Bag::read_text(dir.join("gz/*.gz"))?.map(|s| s.parse::<i32>().unwrap());
    /// assert_eq!(back.compute()?, [1, 2, 3]);
    /// let named = bag.to_text(dir.join("plain/n-*.txt"), ToText::new()).compute()?;
    /// assert_eq!(std::fs::read_to_string(&named[1])?, "3\n");
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn to_text(&self, target: impl AsRef<Path>, options: ToText) -> Delayed<Vec<PathBuf>> {
        let target = target.as_ref();
        let pattern = target.file_name().map(|n| n.to_string_lossy().into_owned());
        let ops = (0..self.npartitions())
            .map(|i| {
                let (path, gzip) = match &pattern {
                    Some(name) if name.contains('*') => (
                        target.with_file_name(name.replace('*', &format!("{i:05}"))),
                        options.gzip || name.ends_with(".gz"),
                    ),
                    _ => {
                        let ext = if options.gzip { "txt.gz" } else { "txt" };
                        (target.join(format!("part-{i:05}.{ext}")), options.gzip)
                    }
                };
                Arc::new(WriteOp::<T> {
                    path,
                    gzip,
                    _t: PhantomData,
                }) as Arc<dyn Op>
            })
            .collect();
        let node = Node::new(
            unique_token("to_text").into(),
            vec![self.node().clone()],
            Box::new(PerPartition { name: "to_text", ops }),
        );
        Bag::<PathBuf>::from_node(node, self.npartitions()).to_delayed()
    }
}

/// Partition `i` of the output is `ops[i]` applied to partition `i` of the one input.
#[derive(Debug)]
struct PerPartition {
    name: &'static str,
    ops: Vec<Arc<dyn Op>>,
}

impl Layer for PerPartition {
    fn op_name(&self) -> &str {
        self.name
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> crate::Result<()> {
        let input = &node.inputs()[0];
        for (i, op) in self.ops.iter().enumerate() {
            out.add(node.key([i as u32]), op.clone(), &[input.key([i as u32])])?;
        }
        Ok(())
    }
}

/// Writes one partition (read by reference) to `path`; returns `vec![path]`.
struct WriteOp<T> {
    path: PathBuf,
    gzip: bool,
    _t: PhantomData<fn(T)>,
}

impl<T> fmt::Debug for WriteOp<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "to_text<{}>({})", type_name::<T>(), self.path.display())
    }
}

impl<T: Display + Send + Sync + 'static> Op for WriteOp<T> {
    fn name(&self) -> &str {
        "to_text"
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        let items = inputs
            .first()
            .and_then(|v| v.downcast_ref::<Vec<T>>())
            .ok_or_else(|| format!("to_text expects a partition of {}", type_name::<T>()))?;
        write_lines(&self.path, self.gzip, items).map_err(|e| format!("cannot write {}: {e}", self.path.display()))?;
        Ok(Arc::new(vec![self.path.clone()]))
    }

    fn spec(&self) -> Option<OpSpec> {
        Spec::of_type::<T>("bag.to_text")
            .param("path", &self.path)
            .param("gzip", self.gzip)
            .get()
    }
}

/// Rebuilds a `to_text` write op from its spec.
pub(crate) fn write_op<T: Item + Display>(params: &Json) -> Result<Arc<dyn Op>, BoxError> {
    Ok(Arc::new(WriteOp::<T> {
        path: param(params, "path")?,
        gzip: param(params, "gzip")?,
        _t: PhantomData,
    }))
}

fn write_lines<T: Display>(path: &Path, gzip: bool, items: &[T]) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir)?;
    }
    let file = File::create(path)?;
    if gzip {
        let mut out = BufWriter::with_capacity(1 << 16, GzEncoder::new(file, Compression::default()));
        for item in items {
            writeln!(out, "{item}")?;
        }
        out.into_inner().map_err(|e| e.into_error())?.finish()?;
    } else {
        let mut out = BufWriter::with_capacity(1 << 16, file);
        for item in items {
            writeln!(out, "{item}")?;
        }
        out.flush()?;
    }
    Ok(())
}
