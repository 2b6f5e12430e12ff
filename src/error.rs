//! The crate's one error type.

use std::fmt;
use std::sync::Arc;

use crate::graph::Key;

/// A boxed error from user code or a foreign library, kept as the cause of an [`Error`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong in this crate. Cheap to clone: one failed task may fail many
/// outputs.
///
/// # Examples
/// ```
/// use drask::prelude::*;
///
/// let boom = delayed(|x: &i32| -> Result<i32, String> { Err(format!("bad input {x}")) }).try_call((1,));
/// let err = boom.compute().unwrap_err();
/// assert!(err.to_string().contains("bad input 1"));
/// assert!(err.key().is_some());
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Error {
    /// Shapes, chunks, schemas or arguments do not line up. Raised while building, before any
    /// work runs.
    Metadata(String),
    /// A task's op returned an error or panicked; `key` names the task.
    Task {
        /// The key of the task that failed.
        key: Key,
        /// What the op reported (a panic's message for a panic).
        source: Arc<dyn std::error::Error + Send + Sync>,
    },
    /// Reading, writing or mapping a file failed.
    Io(Arc<std::io::Error>),
    /// An op or value cannot cross a process boundary (no op spec, no codec, unknown name).
    Remote(String),
    /// An invariant of this crate did not hold. This is a bug; please report it.
    Internal(String),
}

/// `Result` with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The key of the failed task, for [`Error::Task`].
    pub fn key(&self) -> Option<&Key> {
        match self {
            Error::Task { key, .. } => Some(key),
            _ => None,
        }
    }

    pub(crate) fn task(key: Key, source: BoxError) -> Error {
        Error::Task {
            key,
            source: Arc::from(source),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Metadata(msg) => write!(f, "invalid collection: {msg}"),
            Error::Task { key, source } => write!(f, "task {key} failed: {source}"),
            Error::Io(err) => write!(f, "i/o error: {err}"),
            Error::Remote(msg) => write!(f, "cannot run remotely: {msg}"),
            Error::Internal(msg) => write!(f, "internal error (a bug in drask, please report it): {msg}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Task { source, .. } => Some(&**source),
            Error::Io(err) => Some(&**err),
            _ => None,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        Error::Io(Arc::new(err))
    }
}

/// The message of a panic caught inside a task, as an error.
#[derive(Debug, Clone)]
pub struct PanicError(pub String);

impl PanicError {
    pub(crate) fn from_payload(payload: Box<dyn std::any::Any + Send>) -> PanicError {
        let msg = if let Some(s) = payload.downcast_ref::<&str>() {
            (*s).to_string()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "a non-string panic payload".to_string()
        };
        PanicError(msg)
    }
}

impl fmt::Display for PanicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "panicked: {}", self.0)
    }
}

impl std::error::Error for PanicError {}

/// A step of a fused task failed: carries the key the step had before fusion, so the error a
/// user sees names the same task with and without optimization.
#[derive(Debug)]
pub(crate) struct StepFailed {
    pub(crate) key: Key,
    pub(crate) source: BoxError,
}

impl StepFailed {
    pub(crate) fn new(key: Key, source: BoxError) -> StepFailed {
        StepFailed { key, source }
    }
}

impl fmt::Display for StepFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task {} failed: {}", self.key, self.source)
    }
}

impl std::error::Error for StepFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}
