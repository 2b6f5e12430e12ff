//! Arrays: a lazy chunked n-dimensional [`Array`] over ndarray blocks (Dask's `dask.array`), and
//! the kernels it is built on.
//!
//! - [`Array`]: creation (`from_array`, `full`/`zeros`/`ones`, `arange`, `linspace`),
//!   elementwise arithmetic with NumPy broadcasting fused into one task per block, reductions
//!   (`sum`, `mean`, `sum_axis`, `mean_axis`) as tree reductions. [`Chunks`] says how the axes
//!   are cut.
//! - [`correlate_ranges`]: one target column against every column, over one or many row ranges
//!   (which may overlap), in one pass over the rows they cover; [`corrcoef_targets`]: several
//!   targets against every column, like rows of NumPy's `corrcoef`; [`simd_level`]: which SIMD
//!   kernel this CPU runs.
//!
//! ```
//! use drask::array::correlate_ranges;
//! use drask::array::ndarray::Array2;
//!
//! // 100 dates x 5 series: series j is the date index scaled by j + 1, plus a constant.
//! let prices = Array2::from_shape_fn((100, 5), |(i, j)| 100.0 + (j + 1) as f32 * i as f32);
//! let r = correlate_ranges(prices.view(), 0, &[0..50, 25..100])?;
//! assert!(r.iter().all(|&c| (c - 1.0).abs() < 1e-9));
//! # Ok::<(), drask::Error>(())
//! ```
//!
//! The crate re-exports [`ndarray`], whose types appear in this API.

mod block_view;
mod blocks;
mod chunks;
mod codec;
mod collection;
mod compare;
mod corr;
mod correlate;
mod element;
mod elementwise;
mod matmul;
pub mod npy;
mod npy_arrays;
pub mod random;
mod rechunk;
mod reduce;
mod remote;
mod reshape;
mod slice;
mod statistics;
pub mod stats;
mod transpose;

pub use chunks::{AUTO_BLOCK_BYTES, Chunks};
pub use collection::Array;
pub use compare::Comparison;
pub use corr::{CorrElem, corrcoef_targets, correlate_ranges, simd_level};
pub use element::{Element, FloatElement, Scalar};
#[doc(no_inline)]
pub use ndarray;
