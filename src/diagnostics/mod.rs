//! Seeing a compute as it runs: a progress bar, and a task-stream recorder that exports Chrome
//! trace JSON. Both are [`Callback`](crate::sched::Callback)s.

#[cfg(feature = "progress")]
mod progress;

#[cfg(feature = "progress")]
pub use progress::ProgressBar;
