//! What array op specs are made of: the element type as a tag that the factories dispatch back
//! to a concrete type (the set is closed: `f32`, `f64`, `i32`, `i64`, `bool`), scalars and
//! floats kept bit for bit (NaN, infinities and `-0.0` survive JSON), and slices.

use std::any::{Any, TypeId, type_name};

use ndarray::Slice;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::BoxError;
use crate::graph::OpSpec;

/// The element type of an array op, as its spec names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Dtype {
    F32,
    F64,
    I32,
    I64,
    Bool,
}

impl Dtype {
    /// The tag of `A`, if it is one of the element types.
    pub(crate) fn of<A: 'static>() -> Option<Dtype> {
        let id = TypeId::of::<A>();
        [
            (TypeId::of::<f32>(), Dtype::F32),
            (TypeId::of::<f64>(), Dtype::F64),
            (TypeId::of::<i32>(), Dtype::I32),
            (TypeId::of::<i64>(), Dtype::I64),
            (TypeId::of::<bool>(), Dtype::Bool),
        ]
        .into_iter()
        .find_map(|(t, d)| (t == id).then_some(d))
    }
}

/// Runs `$body` with `$A` bound to the numeric element type `$dtype` names; a `bool` tag is an
/// error (the ops that take it are not generic).
macro_rules! with_element {
    ($dtype:expr, $A:ident => $body:expr) => {
        match $dtype {
            $crate::array::remote::Dtype::F32 => {
                type $A = f32;
                $body
            }
            $crate::array::remote::Dtype::F64 => {
                type $A = f64;
                $body
            }
            $crate::array::remote::Dtype::I32 => {
                type $A = i32;
                $body
            }
            $crate::array::remote::Dtype::I64 => {
                type $A = i64;
                $body
            }
            $crate::array::remote::Dtype::Bool => Err($crate::error::BoxError::from(
                "this op takes numeric elements, not bool",
            )),
        }
    };
}
pub(crate) use with_element;

/// A scalar parameter of one of the element types. Floats travel as their bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum ScalarSpec {
    F32(u32),
    F64(u64),
    I32(i32),
    I64(i64),
    Bool(bool),
}

impl ScalarSpec {
    /// The spec of `value`, if its type is an element type.
    pub(crate) fn of<A: Any + Copy>(value: A) -> Option<ScalarSpec> {
        let any = &value as &dyn Any;
        if let Some(&v) = any.downcast_ref::<f32>() {
            return Some(ScalarSpec::F32(v.to_bits()));
        }
        if let Some(&v) = any.downcast_ref::<f64>() {
            return Some(ScalarSpec::F64(v.to_bits()));
        }
        if let Some(&v) = any.downcast_ref::<i32>() {
            return Some(ScalarSpec::I32(v));
        }
        if let Some(&v) = any.downcast_ref::<i64>() {
            return Some(ScalarSpec::I64(v));
        }
        any.downcast_ref::<bool>().map(|&v| ScalarSpec::Bool(v))
    }

    /// The value as an `A`.
    ///
    /// # Errors
    /// If the spec holds another type than `A`.
    pub(crate) fn get<A: Any + Copy>(self) -> Result<A, BoxError> {
        let boxed: Box<dyn Any> = match self {
            ScalarSpec::F32(bits) => Box::new(f32::from_bits(bits)),
            ScalarSpec::F64(bits) => Box::new(f64::from_bits(bits)),
            ScalarSpec::I32(v) => Box::new(v),
            ScalarSpec::I64(v) => Box::new(v),
            ScalarSpec::Bool(v) => Box::new(v),
        };
        boxed
            .downcast::<A>()
            .map(|v| *v)
            .map_err(|_| format!("a parameter {self:?} for an op on {} elements", type_name::<A>()).into())
    }
}

/// `#[serde(with = "f64_bits")]`: an `f64` as its bits, so NaN and infinities survive JSON.
pub(crate) mod f64_bits {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(x.to_bits())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        u64::deserialize(d).map(f64::from_bits)
    }
}

/// The parameters of an op whose only parameter is its element type.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct DtypeOnly {
    pub(crate) dtype: Dtype,
}

/// The spec of such an op, for elements of type `A`.
pub(crate) fn dtype_spec<A: 'static>(name: &str) -> Option<OpSpec> {
    op_spec(
        name,
        &DtypeOnly {
            dtype: Dtype::of::<A>()?,
        },
    )
}

/// An ndarray [`Slice`] in wire form: start, end, step.
pub(crate) type SliceSpec = (isize, Option<isize>, isize);

pub(crate) fn slice_spec(s: &Slice) -> SliceSpec {
    (s.start, s.end, s.step)
}

/// The slice a spec describes.
///
/// # Errors
/// For a step of 0 (a corrupt spec: slicing with it would panic).
pub(crate) fn slice_of(s: SliceSpec) -> Result<Slice, BoxError> {
    if s.2 == 0 {
        return Err("a slice with step 0".into());
    }
    Ok(Slice::new(s.0, s.1, s.2))
}

/// An op spec named `name` with `params` serialised to JSON.
pub(crate) fn op_spec(name: &str, params: &impl Serialize) -> Option<OpSpec> {
    Some(OpSpec::new(name, serde_json::to_value(params).ok()?))
}

/// A factory's parameters, parsed.
///
/// # Errors
/// If they do not have the shape `T` expects.
pub(crate) fn params<T: DeserializeOwned>(params: &serde_json::Value) -> Result<T, BoxError> {
    Ok(T::deserialize(params)?)
}

/// Moves a value built for the concrete type `T` into the generic `A` it is known to be (after
/// a dispatch on [`Dtype::of`]).
///
/// # Errors
/// If `T` is not `A`.
pub(crate) fn cast<T: Any, A: Any>(value: T) -> Result<A, BoxError> {
    (Box::new(value) as Box<dyn Any>)
        .downcast::<A>()
        .map(|v| *v)
        .map_err(|_| format!("a {} where a {} was expected", type_name::<T>(), type_name::<A>()).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_keep_their_bits_through_json() {
        for x in [f64::NAN, f64::INFINITY, -0.0, 1e-310, 0.1] {
            let spec = ScalarSpec::of(x).unwrap();
            let back: ScalarSpec = serde_json::from_str(&serde_json::to_string(&spec).unwrap()).unwrap();
            assert_eq!(back.get::<f64>().unwrap().to_bits(), x.to_bits());
        }
        assert_eq!(ScalarSpec::of(i64::MIN).unwrap().get::<i64>().unwrap(), i64::MIN);
        assert_eq!(ScalarSpec::of(-3.5_f32).unwrap().get::<f32>().unwrap(), -3.5);
        assert!(ScalarSpec::of(1_i32).unwrap().get::<i64>().is_err());
        assert!(ScalarSpec::of(1_u8).is_none());
    }

    #[test]
    fn dtypes_name_the_element_types() {
        assert_eq!(Dtype::of::<f32>(), Some(Dtype::F32));
        assert_eq!(Dtype::of::<bool>(), Some(Dtype::Bool));
        assert_eq!(Dtype::of::<usize>(), None);
        assert_eq!(serde_json::to_string(&Dtype::I64).unwrap(), "\"i64\"");
        let size: Result<usize, BoxError> = with_element!(Dtype::I32, A => Ok(std::mem::size_of::<A>()));
        assert_eq!(size.unwrap(), 4);
        let bad: Result<usize, BoxError> = with_element!(Dtype::Bool, A => Ok(std::mem::size_of::<A>()));
        assert!(bad.is_err());
        assert!(slice_of((0, None, 0)).is_err());
    }
}
