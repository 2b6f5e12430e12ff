//! The element types an [`Array`](crate::array::Array) holds.

use std::fmt;

/// A number an array can hold: `f32`, `f64`, `i32` or `i64`. Sealed: the kernels and codecs
/// are written for exactly these.
pub trait Element:
    ndarray::LinalgScalar + PartialOrd + fmt::Debug + Default + Send + Sync + 'static + sealed::Sealed
{
    /// The value nearest to `x` (truncated toward zero for integers).
    fn from_f64(x: f64) -> Self;
    /// The value as an `f64` (rounded for integers beyond 2^53).
    fn to_f64(self) -> f64;
    /// The absolute value.
    fn abs(self) -> Self;
}

mod sealed {
    pub trait Sealed {}
}

macro_rules! impl_element {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl Element for $t {
            fn from_f64(x: f64) -> Self { x as $t }
            fn to_f64(self) -> f64 { self as f64 }
            fn abs(self) -> Self { <$t>::abs(self) }
        }
    )*};
}

impl_element!(f32, f64, i32, i64);
