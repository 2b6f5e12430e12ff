//! Bags from files and bags to files: [`Bag::read_text`] and [`Bag::read_json`] over paths,
//! globs and lists of them (gzip too), [`Bag::from_paths`] for per-file work,
//! [`Bag::to_text`], and [`Bag::iter_partitions`].
//!
//! Missing files and empty globs fail when the bag is built; what depends on the data (a line
//! that is not UTF-8 or not JSON, a file deleted since) fails `compute()` with a [`ReadError`]
//! that names the file, the line and the byte offset.

mod field_scan;
mod iter;
mod lines;
mod read;
mod source;
mod write;

use std::path::PathBuf;

pub use iter::PartitionIter;
pub use lines::ReadError;
pub use read::{BadLines, EncodingErrors, ReadJson, ReadText, json_field};
pub use source::Source;
pub(crate) use source::io_error;
pub use write::ToText;
pub(crate) use write::write_op;

use crate::bag::Bag;
use crate::error::Result;

impl Bag<PathBuf> {
    /// A bag of the files `source` names (a path, a glob pattern or a list of them; see
    /// [`Source`]), one file per partition: for work done file by file, as Dask's
    /// `client.map(f, files)`. For fewer, larger partitions, use
    /// `Bag::from_vec(Source::from(pattern).paths()?, n)`.
    ///
    /// # Errors
    /// If a path is missing or a pattern matches no file; see [`Source::paths`].
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// let dir = std::env::temp_dir().join(format!("drask-doc-from-paths-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// std::fs::write(dir.join("a.txt"), "hello")?;
    /// std::fs::write(dir.join("b.txt"), "hi")?;
    /// let sizes = Bag::from_paths(dir.join("*.txt"))?.map(|p| std::fs::metadata(p).map_or(0, |m| m.len()));
    /// assert_eq!(sizes.npartitions(), 2);
    /// assert_eq!(sizes.compute()?, [5, 2]);
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn from_paths(source: impl Into<Source>) -> Result<Bag<PathBuf>> {
        let paths = source.into().paths()?;
        Ok(Bag::from_partitions(paths.into_iter().map(|p| vec![p]).collect()))
    }
}
