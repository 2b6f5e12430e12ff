//! Where file readers read from: paths, glob patterns and lists of them, expanded and checked
//! when the collection is built.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};

/// The files a reader reads: one path or glob pattern, or a list of them, in order.
///
/// A string or path that contains `*`, `?` or `[` is a glob pattern (`data/*.jsonl.gz`,
/// `logs/2024-0[1-6]/**/*.log`), unless a file of exactly that name exists; anything else is a
/// path. A pattern's matches are taken in alphabetical order, and only files count (directories
/// it matches are left out).
///
/// Build one with `From`: from `&str`, `String`, `&Path` or `PathBuf`, or from a `Vec`, slice or
/// array of those.
///
/// # Examples
/// ```
/// use drask::bag::Source;
/// let dir = std::env::temp_dir().join(format!("drask-doc-source-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// for name in ["b.txt", "a.txt", "notes.md"] {
///     std::fs::write(dir.join(name), "x\n")?;
/// }
/// let matched = Source::from(dir.join("*.txt")).paths()?;
/// assert_eq!(matched, [dir.join("a.txt"), dir.join("b.txt")]);
/// let listed = Source::from(vec![dir.join("notes.md"), dir.join("a.txt")]).paths()?;
/// assert_eq!(listed, [dir.join("notes.md"), dir.join("a.txt")]);
/// assert!(Source::from(dir.join("*.csv")).paths().is_err()); // matches nothing
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), drask::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    items: Vec<PathBuf>,
}

impl Source {
    /// Every file this source names, in order: patterns expanded, paths checked.
    ///
    /// # Errors
    /// - [`Error::Metadata`] if the source is an empty list, a pattern is malformed or matches
    ///   no file, or a path is a directory; the message names the pattern or path.
    /// - [`Error::Io`] if a path does not exist or cannot be inspected; the message names it.
    pub fn paths(&self) -> Result<Vec<PathBuf>> {
        if self.items.is_empty() {
            return Err(Error::Metadata("no paths given: the list of files is empty".into()));
        }
        let mut out = Vec::new();
        for item in &self.items {
            if is_pattern(item) && !item.is_file() {
                expand(item, &mut out)?;
            } else {
                let meta = fs::metadata(item).map_err(|e| io_error(item, e))?;
                if meta.is_dir() {
                    return Err(Error::Metadata(format!(
                        "{} is a directory; to read the files in it, use a pattern such as {}",
                        item.display(),
                        item.join("*").display()
                    )));
                }
                out.push(item.clone());
            }
        }
        Ok(out)
    }
}

fn is_pattern(path: &Path) -> bool {
    path.to_string_lossy().contains(['*', '?', '['])
}

fn expand(pattern: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let text = pattern
        .to_str()
        .ok_or_else(|| Error::Metadata(format!("glob pattern {} is not valid UTF-8", pattern.display())))?;
    let matches = glob::glob(text).map_err(|e| Error::Metadata(format!("invalid glob pattern {text:?}: {e}")))?;
    let before = out.len();
    for entry in matches {
        let path = entry.map_err(|e| {
            let path = e.path().to_path_buf();
            io_error(&path, e.into())
        })?;
        if path.is_file() {
            out.push(path);
        }
    }
    if out.len() == before {
        return Err(Error::Metadata(format!("glob pattern {text:?} matches no files")));
    }
    Ok(())
}

/// An [`Error::Io`] whose message names `path`, keeping the error's kind.
pub(crate) fn io_error(path: &Path, err: io::Error) -> Error {
    Error::Io(Arc::new(io::Error::new(
        err.kind(),
        format!("{}: {err}", path.display()),
    )))
}

impl From<&str> for Source {
    fn from(s: &str) -> Source {
        Source {
            items: vec![PathBuf::from(s)],
        }
    }
}

impl From<String> for Source {
    fn from(s: String) -> Source {
        Source {
            items: vec![PathBuf::from(s)],
        }
    }
}

impl From<&String> for Source {
    fn from(s: &String) -> Source {
        Source::from(s.as_str())
    }
}

impl From<&Path> for Source {
    fn from(p: &Path) -> Source {
        Source {
            items: vec![p.to_path_buf()],
        }
    }
}

impl From<PathBuf> for Source {
    fn from(p: PathBuf) -> Source {
        Source { items: vec![p] }
    }
}

impl From<&PathBuf> for Source {
    fn from(p: &PathBuf) -> Source {
        Source::from(p.as_path())
    }
}

impl<T: Into<Source>> From<Vec<T>> for Source {
    fn from(list: Vec<T>) -> Source {
        Source {
            items: list.into_iter().flat_map(|x| x.into().items).collect(),
        }
    }
}

impl<T: Into<Source> + Clone> From<&[T]> for Source {
    fn from(list: &[T]) -> Source {
        Source::from(list.to_vec())
    }
}

impl<T: Into<Source>, const N: usize> From<[T; N]> for Source {
    fn from(list: [T; N]) -> Source {
        Source::from(Vec::from(list))
    }
}
