//! Seeing a compute as it runs: a progress bar, and a task-stream recorder that exports Chrome
//! trace JSON. Both are [`Callback`](crate::sched::Callback)s.

#[cfg(feature = "progress")]
mod progress;
mod task_stream;

#[cfg(feature = "progress")]
pub use progress::ProgressBar;
pub use task_stream::{TaskRecord, TaskStream, TaskStreamSummary};
