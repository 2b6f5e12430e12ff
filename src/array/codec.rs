//! Codecs for the values array tasks pass between processes: blocks as raw little-endian bytes
//! with their dtype and shape; the small partial results of reductions and the final scalars
//! through serde.
//!
//! A block's wire form: one byte giving the length of the dtype string, the dtype string (NumPy's
//! `descr` where there is one: `<f8`, `<i4`, `|b1`, `<u8` for `usize`), the number of axes as a
//! `u32`, each axis length as a `u64`, then the elements in C order, little-endian.

use std::any::{TypeId, type_name};
use std::sync::Arc;

use ndarray::{ArrayD, IxDyn};

use crate::array::stats::{ArgExtreme, Moments};
use crate::delayed::collect_op;
use crate::error::BoxError;
use crate::graph::Value;
use crate::registry::ValueCodec;

/// An element a block codec writes as fixed-size little-endian bytes.
trait WireElem: Copy + Send + Sync + 'static {
    /// The dtype string in the header.
    const DESCR: &'static str;
    /// Bytes per element.
    const SIZE: usize;
    fn put(self, out: &mut Vec<u8>);
    /// Decodes exactly `SIZE` bytes; `None` if they are not a valid element.
    fn get(bytes: &[u8]) -> Option<Self>;
}

macro_rules! wire_number {
    ($($t:ty => $descr:literal),*) => {$(
        impl WireElem for $t {
            const DESCR: &'static str = $descr;
            const SIZE: usize = std::mem::size_of::<$t>();
            fn put(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn get(bytes: &[u8]) -> Option<Self> {
                Some(<$t>::from_le_bytes(bytes.try_into().ok()?))
            }
        }
    )*};
}

wire_number!(f32 => "<f4", f64 => "<f8", i32 => "<i4", i64 => "<i8");

impl WireElem for bool {
    const DESCR: &'static str = "|b1";
    const SIZE: usize = 1;
    fn put(self, out: &mut Vec<u8>) {
        out.push(u8::from(self));
    }
    fn get(bytes: &[u8]) -> Option<Self> {
        match bytes {
            [0] => Some(false),
            [1] => Some(true),
            _ => None,
        }
    }
}

/// `usize` travels as a `u64`, so 32- and 64-bit machines agree.
impl WireElem for usize {
    const DESCR: &'static str = "<u8";
    const SIZE: usize = 8;
    fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(self as u64).to_le_bytes());
    }
    fn get(bytes: &[u8]) -> Option<Self> {
        usize::try_from(u64::from_le_bytes(bytes.try_into().ok()?)).ok()
    }
}

/// A variance partial: count, mean, m2.
impl WireElem for Moments {
    const DESCR: &'static str = "moments<u8<f8<f8";
    const SIZE: usize = 24;
    fn put(self, out: &mut Vec<u8>) {
        self.count.put_u64(out);
        out.extend_from_slice(&self.mean.to_le_bytes());
        out.extend_from_slice(&self.m2.to_le_bytes());
    }
    fn get(bytes: &[u8]) -> Option<Self> {
        Some(Moments {
            count: u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?),
            mean: f64::get(bytes.get(8..16)?)?,
            m2: f64::get(bytes.get(16..24)?)?,
        })
    }
}

trait PutU64 {
    fn put_u64(self, out: &mut Vec<u8>);
}

impl PutU64 for u64 {
    fn put_u64(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

macro_rules! wire_arg_extreme {
    ($($t:ty => $descr:literal),*) => {$(
        /// An arg-extreme partial: the value, then its index as a `u64`.
        impl WireElem for ArgExtreme<$t> {
            const DESCR: &'static str = $descr;
            const SIZE: usize = <$t as WireElem>::SIZE + 8;
            fn put(self, out: &mut Vec<u8>) {
                self.value.put(out);
                self.index.put(out);
            }
            fn get(bytes: &[u8]) -> Option<Self> {
                let n = <$t as WireElem>::SIZE;
                Some(ArgExtreme { value: <$t>::get(bytes.get(..n)?)?, index: usize::get(bytes.get(n..)?)? })
            }
        }
    )*};
}

wire_arg_extreme!(f32 => "arg<f4<u8", f64 => "arg<f8<u8", i32 => "arg<i4<u8", i64 => "arg<i8<u8");

fn encode_block<T: WireElem>(value: &Value) -> Result<Vec<u8>, BoxError> {
    let block = value
        .downcast_ref::<ArrayD<T>>()
        .ok_or("value has another type than its codec")?;
    let ndim = u32::try_from(block.ndim()).map_err(|_| "too many axes")?;
    let mut out = Vec::with_capacity(1 + T::DESCR.len() + 4 + 8 * block.ndim() + T::SIZE * block.len());
    out.push(T::DESCR.len() as u8);
    out.extend_from_slice(T::DESCR.as_bytes());
    out.extend_from_slice(&ndim.to_le_bytes());
    for &len in block.shape() {
        (len as u64).put_u64(&mut out);
    }
    match block.as_slice() {
        Some(values) => values.iter().for_each(|v| v.put(&mut out)),
        None => block.iter().for_each(|v| v.put(&mut out)),
    }
    Ok(out)
}

fn decode_block<T: WireElem>(bytes: &[u8]) -> Result<Value, BoxError> {
    Ok(Arc::new(decode_array::<T>(bytes)?))
}

fn decode_array<T: WireElem>(bytes: &[u8]) -> Result<ArrayD<T>, BoxError> {
    let truncated = || format!("a {} block is truncated", T::DESCR);
    let (&descr_len, rest) = bytes.split_first().ok_or_else(truncated)?;
    let (descr, rest) = rest.split_at_checked(descr_len as usize).ok_or_else(truncated)?;
    if descr != T::DESCR.as_bytes() {
        return Err(format!(
            "a block of dtype {} where {} was expected",
            String::from_utf8_lossy(descr),
            T::DESCR
        )
        .into());
    }
    let (ndim, mut rest) = rest.split_at_checked(4).ok_or_else(truncated)?;
    let ndim = u32::from_le_bytes(ndim.try_into()?) as usize;
    let mut shape = Vec::with_capacity(ndim.min(64));
    for _ in 0..ndim {
        let (len, tail) = rest.split_at_checked(8).ok_or_else(truncated)?;
        shape.push(usize::try_from(u64::from_le_bytes(len.try_into()?))?);
        rest = tail;
    }
    let count = shape
        .iter()
        .try_fold(1_usize, |acc, &n| acc.checked_mul(n))
        .ok_or("a block's shape overflows")?;
    if Some(rest.len()) != count.checked_mul(T::SIZE) {
        return Err(format!(
            "a {} block of shape {shape:?} needs {count} elements of {} bytes, got {} bytes",
            T::DESCR,
            T::SIZE,
            rest.len()
        )
        .into());
    }
    let values = rest
        .chunks_exact(T::SIZE)
        .enumerate()
        .map(|(i, b)| T::get(b).ok_or_else(|| format!("element {i} of a {} block is not valid", T::DESCR)))
        .collect::<Result<Vec<T>, String>>()?;
    Ok(ArrayD::from_shape_vec(IxDyn(&shape), values)?)
}

macro_rules! register_block_codecs {
    ($($t:ty),*) => {$(
        inventory::submit! {
            ValueCodec {
                type_name: type_name::<ArrayD<$t>>,
                type_id: TypeId::of::<ArrayD<$t>>,
                encode: encode_block::<$t>,
                decode: decode_block::<$t>,
                collect: collect_op::<ArrayD<$t>>,
            }
        }
    )*};
}

register_block_codecs!(
    f32,
    f64,
    i32,
    i64,
    bool,
    usize,
    Moments,
    ArgExtreme<f32>,
    ArgExtreme<f64>,
    ArgExtreme<i32>,
    ArgExtreme<i64>
);

// Partials of reductions over all elements, and results no other module registers.
crate::register_codec!(
    Moments,
    crate::array::reduce::SumCount<f32>,
    crate::array::reduce::SumCount<f64>,
    crate::array::reduce::SumCount<i32>,
    crate::array::reduce::SumCount<i64>,
    crate::array::statistics::Extreme<f32, true>,
    crate::array::statistics::Extreme<f64, true>,
    crate::array::statistics::Extreme<i32, true>,
    crate::array::statistics::Extreme<i64, true>,
    crate::array::statistics::Extreme<f32, false>,
    crate::array::statistics::Extreme<f64, false>,
    crate::array::statistics::Extreme<i32, false>,
    crate::array::statistics::Extreme<i64, false>,
    Option<ArgExtreme<f32>>,
    Option<ArgExtreme<f64>>,
    Option<ArgExtreme<i32>>,
    Option<ArgExtreme<i64>>,
    Option<f32>,
    Option<i32>,
    Option<usize>
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{decode_value, encode_value};

    fn round_trip<T: WireElem + PartialEq + std::fmt::Debug>(block: ArrayD<T>) -> ArrayD<T> {
        let encoded = encode_value(&(Arc::new(block) as Value)).unwrap();
        assert_eq!(encoded.type_name, type_name::<ArrayD<T>>());
        let back = decode_value(&encoded).unwrap();
        back.downcast_ref::<ArrayD<T>>().unwrap().clone()
    }

    #[test]
    fn blocks_round_trip_bit_for_bit() {
        let f = ArrayD::from_shape_fn(IxDyn(&[3, 4]), |i| (i[0] * 4 + i[1]) as f64 / 7.0 - 1.0);
        assert_eq!(round_trip(f.clone()), f);
        let nan = ArrayD::from_shape_vec(IxDyn(&[3]), vec![f32::NAN, -0.0, f32::INFINITY]).unwrap();
        let back = round_trip(nan.clone());
        assert!(back.iter().zip(&nan).all(|(a, b)| a.to_bits() == b.to_bits()));
        let i = ArrayD::from_shape_fn(IxDyn(&[2, 0, 3]), |_| 1_i32);
        assert_eq!(round_trip(i.clone()).shape(), &[2, 0, 3]);
        let scalar = ArrayD::from_elem(IxDyn(&[]), i64::MIN);
        assert_eq!(round_trip(scalar.clone()), scalar);
        let b = ArrayD::from_shape_vec(IxDyn(&[2, 2]), vec![true, false, false, true]).unwrap();
        assert_eq!(round_trip(b.clone()), b);
        let u = ArrayD::from_shape_vec(IxDyn(&[2]), vec![0_usize, 12345]).unwrap();
        assert_eq!(round_trip(u.clone()), u);
        let m = ArrayD::from_elem(IxDyn(&[2]), Moments::of([1.0, 2.5, 9.0].into_iter()));
        assert_eq!(round_trip(m.clone()), m);
        let a = ArrayD::from_elem(
            IxDyn(&[1, 2]),
            ArgExtreme {
                value: -4_i64,
                index: 9,
            },
        );
        assert_eq!(round_trip(a.clone()), a);
    }

    #[test]
    fn a_transposed_block_is_written_in_logical_order() {
        let x = ArrayD::from_shape_fn(IxDyn(&[2, 3]), |i| (i[0] * 3 + i[1]) as i64);
        let t = x.clone().reversed_axes();
        assert_eq!(round_trip(t.clone()), t);
    }

    #[test]
    fn corrupt_bytes_are_errors_not_panics() {
        let block = ArrayD::from_shape_vec(IxDyn(&[2]), vec![true, false]).unwrap();
        let good = encode_block::<bool>(&(Arc::new(block) as Value)).unwrap();
        for cut in 0..good.len() {
            assert!(decode_block::<bool>(&good[..cut]).is_err(), "cut at {cut}");
        }
        let mut bad = good.clone();
        *bad.last_mut().unwrap() = 7;
        assert!(
            decode_block::<bool>(&bad)
                .unwrap_err()
                .to_string()
                .contains("not valid")
        );
        let err = decode_block::<f64>(&good).unwrap_err();
        assert!(err.to_string().contains("|b1"), "{err}");
        // An absurd shape is refused before allocating.
        let mut huge = vec![3, b'<', b'f', b'8'];
        huge.extend_from_slice(&2_u32.to_le_bytes());
        huge.extend_from_slice(&u64::MAX.to_le_bytes());
        huge.extend_from_slice(&u64::MAX.to_le_bytes());
        assert!(decode_block::<f64>(&huge).is_err());
    }

    #[test]
    fn reduction_partials_and_results_have_codecs() {
        use crate::registry::has_codec;
        assert!(has_codec::<crate::array::reduce::SumCount<f32>>());
        assert!(has_codec::<crate::array::statistics::Extreme<i32, false>>());
        assert!(has_codec::<Option<ArgExtreme<f64>>>());
        assert!(has_codec::<Moments>());
        assert!(has_codec::<Option<f32>>() && has_codec::<Option<usize>>() && has_codec::<Option<i64>>());
    }
}
