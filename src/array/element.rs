//! The element types an [`Array`](crate::array::Array) holds.

use std::fmt;

/// Anything an array's blocks can hold: the numeric [`Element`]s and `bool` (the result of
/// comparisons).
pub trait Scalar: Clone + Default + fmt::Debug + Send + Sync + 'static {}

impl<T: Clone + Default + fmt::Debug + Send + Sync + 'static> Scalar for T {}

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
    /// Whether this is a floating-point type (sums accumulate in `f64`).
    const IS_FLOAT: bool;
}

mod sealed {
    pub trait Sealed {}
}

macro_rules! impl_element {
    ($($t:ty => $float:expr),*) => {$(
        impl sealed::Sealed for $t {}
        impl Element for $t {
            const IS_FLOAT: bool = $float;
            fn from_f64(x: f64) -> Self { x as $t }
            fn to_f64(self) -> f64 { self as f64 }
            fn abs(self) -> Self { <$t>::abs(self) }
        }
    )*};
}

impl_element!(f32 => true, f64 => true, i32 => false, i64 => false);

/// A floating-point element (`f32`, `f64`): what `sqrt`, `exp`, `ln` and `powf` need.
pub trait FloatElement: Element {
    /// The square root (NaN for negative values).
    fn sqrt(self) -> Self;
    /// `e` to the power of the value.
    fn exp(self) -> Self;
    /// The natural logarithm (NaN for negative values, -inf at 0).
    fn ln(self) -> Self;
    /// The value to the power `n`.
    fn powf(self, n: Self) -> Self;
}

macro_rules! impl_float_element {
    ($($t:ty),*) => {$(
        impl FloatElement for $t {
            fn sqrt(self) -> Self { <$t>::sqrt(self) }
            fn exp(self) -> Self { <$t>::exp(self) }
            fn ln(self) -> Self { <$t>::ln(self) }
            fn powf(self, n: Self) -> Self { <$t>::powf(self, n) }
        }
    )*};
}

impl_float_element!(f32, f64);
