//! # drask: lazy parallel collections over a task graph
//!
//! drask is Dask's model in Rust: you build collections lazily, `compute()` turns them into a
//! task graph, an optimizer prunes and fuses it, and an executor you choose at run time runs it.
//!
//! ## Which type to use
//! - [`Delayed`]: wrap ordinary functions with [`delayed()`] so that for-loop code builds a graph.
//! - [`Bag`]: a partitioned collection of any items — text lines, JSON records, paths — with
//!   map/filter, tree reductions, groupby and file I/O (Dask's `dask.bag`).
//! - [`array::Array`] (feature `array`): a chunked n-dimensional array of ndarray blocks
//!   (Dask's `dask.array`), with the SIMD correlation kernel as a built-in reduction.
// The DataFrame is linked only where it is built (a link to a missing item fails the docs).
#![cfg_attr(
    feature = "frame",
    doc = "- [`frame::DataFrame`] (feature `frame`): a partitioned table of polars DataFrames (Dask's"
)]
#![cfg_attr(
    not(feature = "frame"),
    doc = "- `frame::DataFrame` (feature `frame`): a partitioned table of polars DataFrames (Dask's"
)]
//!   `dask.dataframe`), with polars expressions, pushdown into the CSV and Parquet readers,
//!   exact partitioned aggregations, joins and sorting through shuffles.
//!
//! Coming from Dask? Read [`doc::for_dask_users`]; the features are in [`doc::feature_flags`].
//!
//! ```
//! use drask::prelude::*;
//!
//! fn inc(x: &i64) -> i64 { x + 1 }
//! fn add(a: &i64, b: &i64) -> i64 { a + b }
//!
//! let incs: Vec<Delayed<i64>> = (0..4_i64).map(|i| delayed(inc).call((i,))).collect();
//! let total = delayed(add).call((delayed(add).call((&incs[0], &incs[1])), delayed(add).call((&incs[2], &incs[3]))));
//! assert_eq!(total.compute()?, 10);
//! # Ok::<(), drask::Error>(())
//! ```
//!
//! ## Layout (data flows top to bottom)
//! - collections ([`delayed`](mod@delayed), [`bag`], …): typed, lazy handles; each method adds one
//!   [`graph::Node`].
//! - [`graph`]: nodes lower to one [`graph::Task`] per chunk; [`graph::optimize`] passes
//!   cull, inline and fuse; [`graph::Graph`] prints as text and DOT.
//! - [`sched`]: the [`sched::Executor`] trait, [`sched::Synchronous`] (reference) and
//!   [`sched::Threaded`] (default).
//! - [`registry`]: op specs and value codecs that let another process rebuild a graph.
//! - [`diagnostics`]: progress bar and task-stream (Chrome trace) recorder.
//!
//! ## Errors
//! Wrong metadata fails while building; a failing or panicking task fails `compute()` with an
//! [`Error::Task`] that names the task's key and carries the cause.
#![deny(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "array")]
pub mod array;
pub mod bag;
mod collection;
pub mod delayed;
pub mod diagnostics;
pub mod doc;
mod error;
#[cfg(feature = "frame")]
pub mod frame;
pub mod graph;
pub mod prelude;
pub mod registry;
pub mod sched;

pub use bag::Bag;
pub use collection::{Collection, ComputeOptions, compute};
pub use delayed::{Delayed, delayed};
pub use error::{BoxError, Error, PanicError, Result};

#[doc(hidden)]
pub use inventory as __inventory;

/// The README's code blocks, run as doctests so they stay true.
#[cfg(all(doctest, feature = "progress"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
