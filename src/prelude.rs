//! The names most programs need: `use drask::prelude::*;`.

#[doc(no_inline)]
pub use crate::{Bag, Collection, ComputeOptions, Delayed, Error, compute, delayed};

#[cfg(feature = "array")]
#[doc(no_inline)]
pub use crate::array::Array;

#[cfg(feature = "frame")]
#[doc(no_inline)]
pub use crate::frame::DataFrame;
