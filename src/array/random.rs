//! Seeded random blocks whose values do not depend on chunking or executor.
//!
//! A random array of shape `S` is defined element by element: the element with flat C-order
//! index `i` is a pure function of `(seed, i)`. A block kernel computes each of its elements'
//! global flat index from the block's offset and fills in that function's value, so any chunking
//! of the array, computed in any order on any executor, gives exactly the same numbers as the
//! array computed as one block.
//!
//! # The generator
//!
//! It is counter-based, built from the SplitMix64 finalizer
//! `mix(z) = z3` where `z1 = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9`,
//! `z2 = (z1 ^ (z1 >> 27)) * 0x94d049bb133111eb`, `z3 = z2 ^ (z2 >> 31)` (wrapping arithmetic on
//! `u64`). With `G1 = 0x9e3779b97f4a7c15` and `G2 = 0xd1b54a32d192ed03`:
//!
//! ```text
//! key          = mix(seed ^ 0x5851f42d4c957f2d)           // scrambles nearby seeds apart
//! base(i)      = mix(key + i * G1)                         // SplitMix64's stream for `key`
//! bits(i, d)   = mix(base(i) + (d + 1) * G2)               // draw d = 0, 1, 2, ... of element i
//! ```
//!
//! - uniform: `u = (bits(i, 0) >> 11) * 2^-53` in `[0, 1)`, then `low + (high - low) * u`
//!   (a result that rounds up to `high` is replaced by the largest float below `high`).
//! - normal: Box–Muller on `u1 = ((bits(i, 0) >> 11) + 1) * 2^-53` in `(0, 1]` and
//!   `u2 = (bits(i, 1) >> 11) * 2^-53`: `mean + std * sqrt(-2 ln u1) * cos(2π u2)` (the sine
//!   half is discarded, so each element stays a function of its own index).
//! - integers: Lemire's multiply-shift on `bits(i, 0)`, with rejection that retries on
//!   `bits(i, 1)`, `bits(i, 2)`, … so the result is exactly uniform on `[low, high)`.
//! - `f32`: the `f64` value rounded to `f32` (and kept below `high` for uniforms).
//!
//! Integer results are identical on every platform. Float results use `ln` and `cos` from the
//! platform's math library, so they are identical for every chunking on one platform and may
//! differ in the last bits across platforms.
//!
//! ```
//! use drask::array::random::uniform_block;
//!
//! // A 4 x 6 array, computed whole and as its right half: the same numbers.
//! let whole = uniform_block(42, &[4, 6], &[0, 0], &[4, 6], 0.0, 1.0)?;
//! let right = uniform_block(42, &[4, 6], &[0, 3], &[4, 3], 0.0, 1.0)?;
//! assert_eq!(whole.slice(drask::array::ndarray::s![.., 3..]).into_dyn(), right);
//! # Ok::<(), drask::Error>(())
//! ```

use ndarray::{ArrayD, IxDyn};

use crate::{Error, Result};

const G1: u64 = 0x9e37_79b9_7f4a_7c15;
const G2: u64 = 0xd1b5_4a32_d192_ed03;
const SEED_SALT: u64 = 0x5851_f42d_4c95_7f2d;
const TWO_POW_M53: f64 = 1.0 / (1u64 << 53) as f64;

/// The SplitMix64 finalizer.
#[inline]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `base(i)` of the module doc, from the seed's key.
#[inline]
fn base(key: u64, i: u64) -> u64 {
    mix(key.wrapping_add(i.wrapping_mul(G1)))
}

/// Draw `d` of the element whose `base(i)` is `base`.
#[inline]
fn draw(base: u64, d: u64) -> u64 {
    mix(base.wrapping_add((d + 1).wrapping_mul(G2)))
}

/// The random bits of draw `d` of element `i` (see the module doc), from the seed's key.
#[inline]
fn bits(key: u64, i: u64, d: u64) -> u64 {
    draw(base(key, i), d)
}

#[inline]
fn seed_key(seed: u64) -> u64 {
    mix(seed ^ SEED_SALT)
}

/// The raw 64 random bits of draw `draw` of the element with flat C-order index `index` of an
/// array drawn with `seed`: the generator every function here is built on.
///
/// # Examples
/// ```
/// use drask::array::random::random_bits;
///
/// assert_eq!(random_bits(7, 1000, 0), random_bits(7, 1000, 0));
/// assert_ne!(random_bits(7, 1000, 0), random_bits(8, 1000, 0));
/// assert_ne!(random_bits(7, 1000, 0), random_bits(7, 1000, 1));
/// ```
pub fn random_bits(seed: u64, index: u64, draw: u64) -> u64 {
    bits(seed_key(seed), index, draw)
}

#[inline]
fn unit(b: u64) -> f64 {
    (b >> 11) as f64 * TWO_POW_M53
}

/// The largest `f64` below `x` (`x` finite).
fn below(x: f64) -> f64 {
    if x > 0.0 {
        f64::from_bits(x.to_bits() - 1)
    } else if x == 0.0 {
        -f64::from_bits(1)
    } else {
        f64::from_bits(x.to_bits() + 1)
    }
}

/// The largest `f32` below `x` (`x` finite).
fn below_f32(x: f32) -> f32 {
    if x > 0.0 {
        f32::from_bits(x.to_bits() - 1)
    } else if x == 0.0 {
        -f32::from_bits(1)
    } else {
        f32::from_bits(x.to_bits() + 1)
    }
}

/// Checks a block against its array; returns the C-order strides of the full array.
fn check_block(shape: &[usize], offset: &[usize], block_shape: &[usize]) -> Result<Vec<u64>> {
    if offset.len() != shape.len() || block_shape.len() != shape.len() {
        return Err(Error::Metadata(format!(
            "random block: shape {shape:?}, block offset {offset:?} and block shape {block_shape:?} \
             must have the same number of axes"
        )));
    }
    for (axis, ((&n, &o), &b)) in shape.iter().zip(offset).zip(block_shape).enumerate() {
        if o.checked_add(b).is_none_or(|end| end > n) {
            return Err(Error::Metadata(format!(
                "random block: block {o}..{o}+{b} on axis {axis} lies outside the array's length {n} \
                 (shape {shape:?}, offset {offset:?}, block shape {block_shape:?})"
            )));
        }
    }
    let total = shape.iter().try_fold(1u64, |acc, &n| acc.checked_mul(n as u64));
    if total.is_none() {
        return Err(Error::Metadata(format!(
            "random block: the array of shape {shape:?} has more than 2^64 elements"
        )));
    }
    let mut strides = vec![1u64; shape.len()];
    for k in (0..shape.len().saturating_sub(1)).rev() {
        strides[k] = strides[k + 1] * shape[k + 1] as u64;
    }
    Ok(strides)
}

fn check_range(low: f64, high: f64) -> Result<()> {
    if !(low.is_finite() && high.is_finite() && low < high && (high - low).is_finite()) {
        return Err(Error::Metadata(format!(
            "random block: need finite low < high with a finite width, got low = {low}, high = {high}"
        )));
    }
    Ok(())
}

fn check_normal(mean: f64, std: f64) -> Result<()> {
    if !(mean.is_finite() && std.is_finite() && std >= 0.0) {
        return Err(Error::Metadata(format!(
            "random block: need a finite mean and a finite std >= 0, got mean = {mean}, std = {std}"
        )));
    }
    Ok(())
}

/// Fills a block in C order with `f(global flat index)`.
fn fill<T>(shape: &[usize], offset: &[usize], block_shape: &[usize], mut f: impl FnMut(u64) -> T) -> Result<ArrayD<T>> {
    let strides = check_block(shape, offset, block_shape)?;
    let len: usize = block_shape.iter().product();
    let mut out = Vec::with_capacity(len);
    if len > 0 {
        let ndim = shape.len();
        if ndim == 0 {
            out.push(f(0));
        } else {
            let inner = block_shape[ndim - 1];
            // Odometer over every axis but the last; the last is a run of consecutive indices.
            let mut idx = vec![0usize; ndim - 1];
            loop {
                let base: u64 = (0..ndim)
                    .map(|k| (offset[k] + if k < ndim - 1 { idx[k] } else { 0 }) as u64 * strides[k])
                    .sum();
                out.extend((0..inner as u64).map(|j| f(base + j)));
                let mut k = ndim - 1;
                loop {
                    if k == 0 {
                        return finish(block_shape, out);
                    }
                    k -= 1;
                    idx[k] += 1;
                    if idx[k] < block_shape[k] {
                        break;
                    }
                    idx[k] = 0;
                }
            }
        }
    }
    finish(block_shape, out)
}

fn finish<T>(block_shape: &[usize], out: Vec<T>) -> Result<ArrayD<T>> {
    ArrayD::from_shape_vec(IxDyn(block_shape), out)
        .map_err(|e| Error::Internal(format!("random block: shape of the filled block: {e}")))
}

#[inline]
fn uniform_at(key: u64, i: u64, low: f64, width: f64, high: f64) -> f64 {
    let x = low + width * unit(bits(key, i, 0));
    if x < high { x } else { below(high) }
}

#[inline]
fn normal_at(key: u64, i: u64) -> f64 {
    let b = base(key, i);
    let u1 = ((draw(b, 0) >> 11) + 1) as f64 * TWO_POW_M53;
    let u2 = unit(draw(b, 1));
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// The block of a uniform random array on `[low, high)` of shape `shape`, drawn with `seed`, that
/// starts at `block_offset` and has shape `block_shape`. Its values do not depend on how the
/// array is chunked (see the [module doc](self) for the exact function).
///
/// # Errors
/// [`Error::Metadata`] if the three slices differ in length, the block does not lie within
/// `shape`, or `low < high` does not hold for finite bounds.
///
/// # Examples
/// ```
/// use drask::array::random::uniform_block;
///
/// let block = uniform_block(1, &[10, 10], &[5, 0], &[5, 10], -1.0, 1.0)?;
/// assert_eq!(block.shape(), &[5, 10]);
/// assert!(block.iter().all(|&x| (-1.0..1.0).contains(&x)));
/// # Ok::<(), drask::Error>(())
/// ```
pub fn uniform_block(
    seed: u64,
    shape: &[usize],
    block_offset: &[usize],
    block_shape: &[usize],
    low: f64,
    high: f64,
) -> Result<ArrayD<f64>> {
    check_range(low, high)?;
    let key = seed_key(seed);
    let width = high - low;
    fill(shape, block_offset, block_shape, |i| {
        uniform_at(key, i, low, width, high)
    })
}

/// [`uniform_block`] rounded to `f32`: the same draws, each kept below `high`.
///
/// # Errors
/// As [`uniform_block`].
///
/// # Examples
/// ```
/// use drask::array::random::uniform_block_f32;
///
/// let block = uniform_block_f32(1, &[100], &[0], &[100], 0.0, 1.0)?;
/// assert!(block.iter().all(|&x| (0.0..1.0).contains(&x)));
/// # Ok::<(), drask::Error>(())
/// ```
pub fn uniform_block_f32(
    seed: u64,
    shape: &[usize],
    block_offset: &[usize],
    block_shape: &[usize],
    low: f32,
    high: f32,
) -> Result<ArrayD<f32>> {
    let (low64, high64) = (f64::from(low), f64::from(high));
    check_range(low64, high64)?;
    let key = seed_key(seed);
    let width = high64 - low64;
    fill(shape, block_offset, block_shape, |i| {
        let x = uniform_at(key, i, low64, width, high64) as f32;
        if x < high { x } else { below_f32(high) }
    })
}

/// The block of a normal random array with mean `mean` and standard deviation `std`, drawn with
/// `seed` by Box–Muller on two counter-derived uniforms per element (see the
/// [module doc](self)), so any chunking gives identical values.
///
/// # Errors
/// [`Error::Metadata`] if the three slices differ in length, the block does not lie within
/// `shape`, `mean` is not finite, or `std` is negative or not finite.
///
/// # Examples
/// ```
/// use drask::array::random::normal_block;
///
/// let all = normal_block(3, &[1000], &[0], &[1000], 10.0, 2.0)?;
/// let mean = all.mean().unwrap();
/// assert!((mean - 10.0).abs() < 0.3);
/// assert_eq!(normal_block(3, &[1000], &[500], &[1], 10.0, 2.0)?[[0]], all[[500]]);
/// # Ok::<(), drask::Error>(())
/// ```
pub fn normal_block(
    seed: u64,
    shape: &[usize],
    block_offset: &[usize],
    block_shape: &[usize],
    mean: f64,
    std: f64,
) -> Result<ArrayD<f64>> {
    check_normal(mean, std)?;
    let key = seed_key(seed);
    fill(shape, block_offset, block_shape, |i| mean + std * normal_at(key, i))
}

/// [`normal_block`] rounded to `f32`.
///
/// # Errors
/// As [`normal_block`].
///
/// # Examples
/// ```
/// use drask::array::random::normal_block_f32;
///
/// let block = normal_block_f32(3, &[4, 4], &[0, 0], &[2, 4], 0.0, 1.0)?;
/// assert_eq!(block.shape(), &[2, 4]);
/// # Ok::<(), drask::Error>(())
/// ```
pub fn normal_block_f32(
    seed: u64,
    shape: &[usize],
    block_offset: &[usize],
    block_shape: &[usize],
    mean: f32,
    std: f32,
) -> Result<ArrayD<f32>> {
    let (mean, std) = (f64::from(mean), f64::from(std));
    check_normal(mean, std)?;
    let key = seed_key(seed);
    fill(shape, block_offset, block_shape, |i| {
        (mean + std * normal_at(key, i)) as f32
    })
}

/// The block of an array of random integers uniform on `[low, high)`, drawn with `seed`. Exactly
/// unbiased: Lemire's multiply-shift with rejection, where a rejected draw retries on the
/// element's next counter-derived draw (see the [module doc](self)). Identical on every platform.
///
/// # Errors
/// [`Error::Metadata`] if the three slices differ in length, the block does not lie within
/// `shape`, or `low >= high`.
///
/// # Examples
/// ```
/// use drask::array::random::randint_block;
///
/// let dice = randint_block(9, &[600], &[0], &[600], 1, 7)?;
/// assert!(dice.iter().all(|&d| (1..7).contains(&d)));
/// assert!((1..7).all(|face| dice.iter().any(|&d| d == face)));
/// # Ok::<(), drask::Error>(())
/// ```
pub fn randint_block(
    seed: u64,
    shape: &[usize],
    block_offset: &[usize],
    block_shape: &[usize],
    low: i64,
    high: i64,
) -> Result<ArrayD<i64>> {
    if low >= high {
        return Err(Error::Metadata(format!(
            "random block: randint needs low < high, got low = {low}, high = {high}"
        )));
    }
    let range = high.wrapping_sub(low) as u64; // in 1..=u64::MAX
    let threshold = range.wrapping_neg() % range; // 2^64 mod range
    let key = seed_key(seed);
    fill(shape, block_offset, block_shape, |i| {
        let b = base(key, i);
        let mut d = 0;
        loop {
            let m = u128::from(draw(b, d)) * u128::from(range);
            if (m as u64) >= threshold {
                return low.wrapping_add((m >> 64) as u64 as i64);
            }
            d += 1;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Slice, SliceInfoElem};
    use proptest::prelude::*;

    fn full(shape: &[usize]) -> Vec<usize> {
        vec![0; shape.len()]
    }

    type BlockFn<'a, T> = &'a dyn Fn(&[usize], &[usize]) -> ArrayD<T>;

    /// Computes the array block by block over the grid given by per-axis cut points and pastes
    /// the blocks together.
    fn assembled<T: Clone + Default>(shape: &[usize], cuts: &[Vec<usize>], f: BlockFn<'_, T>) -> ArrayD<T> {
        let mut out = ArrayD::<T>::default(IxDyn(shape));
        let bounds: Vec<Vec<(usize, usize)>> = cuts
            .iter()
            .zip(shape)
            .map(|(c, &n)| {
                let mut pts = vec![0];
                pts.extend(c.iter().copied().filter(|&p| p > 0 && p < n));
                pts.push(n);
                pts.sort_unstable();
                pts.dedup();
                pts.windows(2).map(|w| (w[0], w[1])).collect()
            })
            .collect();
        let nblocks: Vec<usize> = bounds.iter().map(Vec::len).collect();
        let total: usize = nblocks.iter().product();
        for flat in 0..total {
            let mut rem = flat;
            let mut offset = vec![0; shape.len()];
            let mut bshape = vec![0; shape.len()];
            for k in (0..shape.len()).rev() {
                let (a, b) = bounds[k][rem % nblocks[k]];
                rem /= nblocks[k];
                offset[k] = a;
                bshape[k] = b - a;
            }
            let block = f(&offset, &bshape);
            let info: Vec<SliceInfoElem> = offset
                .iter()
                .zip(&bshape)
                .map(|(&o, &b)| Slice::from(o..o + b).into())
                .collect();
            out.slice_mut(info.as_slice()).assign(&block);
        }
        out
    }

    fn shape_and_cuts() -> impl Strategy<Value = (Vec<usize>, Vec<Vec<usize>>)> {
        prop::collection::vec(1usize..40, 1..=3).prop_flat_map(|shape| {
            let cuts: Vec<_> = shape.iter().map(|&n| prop::collection::vec(0..n, 0..4)).collect();
            (Just(shape), cuts)
        })
    }

    proptest! {
        #[test]
        fn chunking_does_not_change_values((shape, cuts) in shape_and_cuts(), seed in any::<u64>()) {
            let z = full(&shape);
            let u = uniform_block(seed, &shape, &z, &shape, -2.0, 3.0).unwrap();
            prop_assert_eq!(&u, &assembled(&shape, &cuts, &|o, b| uniform_block(seed, &shape, o, b, -2.0, 3.0).unwrap()));
            let n = normal_block(seed, &shape, &z, &shape, 1.0, 2.0).unwrap();
            prop_assert_eq!(&n, &assembled(&shape, &cuts, &|o, b| normal_block(seed, &shape, o, b, 1.0, 2.0).unwrap()));
            let r = randint_block(seed, &shape, &z, &shape, -5, 1000).unwrap();
            prop_assert_eq!(&r, &assembled(&shape, &cuts, &|o, b| randint_block(seed, &shape, o, b, -5, 1000).unwrap()));
            let f = uniform_block_f32(seed, &shape, &z, &shape, 0.0, 1.0).unwrap();
            prop_assert_eq!(&f, &assembled(&shape, &cuts, &|o, b| uniform_block_f32(seed, &shape, o, b, 0.0, 1.0).unwrap()));
            let g = normal_block_f32(seed, &shape, &z, &shape, 0.0, 1.0).unwrap();
            prop_assert_eq!(&g, &assembled(&shape, &cuts, &|o, b| normal_block_f32(seed, &shape, o, b, 0.0, 1.0).unwrap()));
        }
    }

    #[test]
    fn generator_matches_the_documented_function() {
        // Golden values from an independent Python transcription of the module doc's formula:
        // a change here changes every random array users have drawn.
        assert_eq!(random_bits(0, 0, 0), 0x806445ab64fdb72f);
        assert_eq!(random_bits(0, 1, 0), 0x218e234abc8a4e27);
        assert_eq!(random_bits(42, 12345, 1), 0xfe6e67a5a7ba2942);
        let r = randint_block(3, &[5], &[0], &[5], -3, 7).unwrap();
        assert_eq!(r.into_raw_vec_and_offset().0, vec![5, 6, 6, 6, 2]);
        let u = uniform_block(0, &[1], &[0], &[1], 0.0, 1.0).unwrap();
        assert_eq!(u[[0]], (0x806445ab64fdb72f_u64 >> 11) as f64 / (1u64 << 53) as f64);
    }

    #[test]
    fn element_is_a_function_of_the_flat_index() {
        // Element (1, 2) of a 3 x 4 array has flat index 6, like element 6 of a 12-vector.
        let a = uniform_block(5, &[3, 4], &[1, 2], &[1, 1], 0.0, 1.0).unwrap();
        let v = uniform_block(5, &[12], &[6], &[1], 0.0, 1.0).unwrap();
        assert_eq!(a.iter().next(), v.iter().next());
        let zero_d = uniform_block(5, &[], &[], &[], 0.0, 1.0).unwrap();
        assert_eq!(zero_d.ndim(), 0);
        assert_eq!(
            zero_d.iter().next(),
            uniform_block(5, &[1], &[0], &[1], 0.0, 1.0).unwrap().iter().next()
        );
        let empty = uniform_block(5, &[3, 4], &[1, 0], &[0, 4], 0.0, 1.0).unwrap();
        assert_eq!(empty.shape(), &[0, 4]);
    }

    const N: usize = 100_000;

    #[test]
    fn uniforms_pass_chi_square() {
        let u = uniform_block(2024, &[N], &[0], &[N], 0.0, 1.0).unwrap();
        let mut bins = [0usize; 20];
        for &x in &u {
            bins[(x * 20.0) as usize] += 1;
        }
        let expected = N as f64 / 20.0;
        let chi2: f64 = bins.iter().map(|&o| (o as f64 - expected).powi(2) / expected).sum();
        // 19 degrees of freedom: the 99.9% quantile is 43.8.
        assert!(chi2 < 50.0, "chi-square {chi2}, bins {bins:?}");
    }

    fn lag_correlation(x: &[f64], lag: usize) -> f64 {
        let n = x.len() - lag;
        let mean = x.iter().sum::<f64>() / x.len() as f64;
        let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / x.len() as f64;
        let cov = (0..n).map(|i| (x[i] - mean) * (x[i + lag] - mean)).sum::<f64>() / n as f64;
        cov / var
    }

    #[test]
    fn uniforms_are_not_autocorrelated() {
        let u = uniform_block(7, &[N], &[0], &[N], 0.0, 1.0)
            .unwrap()
            .into_raw_vec_and_offset()
            .0;
        // The standard error of a correlation from 100k pairs is 1/sqrt(1e5) = 0.0032.
        for lag in [1, 2, 3, 8, 64, 1000] {
            let r = lag_correlation(&u, lag);
            assert!(r.abs() < 0.016, "lag {lag}: autocorrelation {r}");
        }
        // Neighbouring seeds are uncorrelated too.
        let v = uniform_block(8, &[N], &[0], &[N], 0.0, 1.0)
            .unwrap()
            .into_raw_vec_and_offset()
            .0;
        let both: Vec<f64> = u.iter().zip(&v).flat_map(|(&a, &b)| [a, b]).collect();
        let r = lag_correlation(&both, 1);
        assert!(r.abs() < 0.016, "seeds 7 and 8: correlation {r}");
    }

    #[test]
    fn normals_have_the_right_moments() {
        let z = normal_block(11, &[N], &[0], &[N], 0.0, 1.0).unwrap();
        let mean = z.sum() / N as f64;
        let std = (z.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / N as f64).sqrt();
        assert!(mean.abs() < 0.02, "mean {mean}");
        assert!((std - 1.0).abs() < 0.02, "std {std}");
        // Tails: about 4.55% beyond two standard deviations.
        let tail = z.iter().filter(|x| x.abs() > 2.0).count() as f64 / N as f64;
        assert!((tail - 0.0455).abs() < 0.004, "tail {tail}");
        let shifted = normal_block(11, &[N], &[0], &[N], 5.0, 0.0).unwrap();
        assert!(shifted.iter().all(|&x| x == 5.0));
    }

    #[test]
    fn seeds_differ_and_values_stay_in_range() {
        let a = uniform_block(1, &[1000], &[0], &[1000], -3.0, -1.0).unwrap();
        let b = uniform_block(2, &[1000], &[0], &[1000], -3.0, -1.0).unwrap();
        assert!(a.iter().zip(&b).filter(|(x, y)| x == y).count() < 2);
        assert!(a.iter().all(|&x| (-3.0..-1.0).contains(&x)));
        let tiny = uniform_block(1, &[1000], &[0], &[1000], 1.0, 1.0 + f64::EPSILON).unwrap();
        assert!(tiny.iter().all(|&x| (1.0..1.0 + f64::EPSILON).contains(&x)));
        let tiny32 = uniform_block_f32(1, &[1000], &[0], &[1000], 1.0, 1.0 + f32::EPSILON).unwrap();
        assert!(tiny32.iter().all(|&x| x == 1.0));
        let r1 = randint_block(1, &[1000], &[0], &[1000], 0, 1 << 40).unwrap();
        let r2 = randint_block(2, &[1000], &[0], &[1000], 0, 1 << 40).unwrap();
        assert_ne!(r1, r2);
    }

    #[test]
    fn randint_is_uniform_and_handles_extreme_ranges() {
        let r = randint_block(3, &[N], &[0], &[N], -3, 7).unwrap();
        let mut bins = [0usize; 10];
        for &x in &r {
            assert!((-3..7).contains(&x));
            bins[(x + 3) as usize] += 1;
        }
        let expected = N as f64 / 10.0;
        let chi2: f64 = bins.iter().map(|&o| (o as f64 - expected).powi(2) / expected).sum();
        // 9 degrees of freedom: the 99.9% quantile is 27.9.
        assert!(chi2 < 30.0, "chi-square {chi2}, bins {bins:?}");
        let wide = randint_block(3, &[1000], &[0], &[1000], i64::MIN, i64::MAX).unwrap();
        assert!(wide.iter().any(|&x| x < 0) && wide.iter().any(|&x| x > 0));
        assert!(wide.iter().all(|&x| x < i64::MAX));
        let one = randint_block(3, &[10], &[0], &[10], 4, 5).unwrap();
        assert!(one.iter().all(|&x| x == 4));
        // A range just above 2^63 rejects almost half of all draws: still unbiased, still in range.
        let half = randint_block(3, &[1000], &[0], &[1000], -1, i64::MAX).unwrap();
        assert!(half.iter().all(|&x| (-1..i64::MAX).contains(&x)));
    }

    #[test]
    fn bad_arguments_are_metadata_errors() {
        let cases = [
            uniform_block(0, &[4, 4], &[0], &[4, 4], 0.0, 1.0),
            uniform_block(0, &[4, 4], &[0, 0], &[4], 0.0, 1.0),
            uniform_block(0, &[4, 4], &[2, 0], &[3, 4], 0.0, 1.0),
            uniform_block(0, &[4, 4], &[usize::MAX, 0], &[1, 4], 0.0, 1.0),
            uniform_block(0, &[4], &[0], &[4], 1.0, 1.0),
            uniform_block(0, &[4], &[0], &[4], 0.0, f64::NAN),
            uniform_block(0, &[4], &[0], &[4], -f64::MAX, f64::MAX),
            normal_block(0, &[4], &[0], &[4], 0.0, -1.0),
            normal_block(0, &[4], &[0], &[4], f64::INFINITY, 1.0),
            uniform_block(0, &[1 << 32, 1 << 32, 2], &[0, 0, 0], &[0, 0, 0], 0.0, 1.0),
        ];
        for (k, case) in cases.into_iter().enumerate() {
            assert!(matches!(case, Err(Error::Metadata(_))), "case {k}: {case:?}");
        }
        let err = randint_block(0, &[4], &[0], &[4], 3, 3).unwrap_err();
        assert!(err.to_string().contains("low < high"), "{err}");
        let err = uniform_block(0, &[4, 4], &[2, 0], &[3, 4], 0.0, 1.0).unwrap_err();
        assert!(err.to_string().contains("axis 0"), "{err}");
    }
}
