//! Reshaping in C order "where chunks allow", as Dask's `reshape` does: the input is rechunked
//! so that every block reshapes on its own, then each block is reshaped with no data moving
//! between blocks.
//!
//! The axes split into groups, from the right, at every point where the product of the trailing
//! input lengths equals that of the trailing output lengths (C order keeps such suffixes apart).
//! An axis that is its own group on both sides keeps its chunks. In any other group only the
//! leading input axis stays cut, the others become whole, and the leading axis's blocks are
//! merged until each covers whole rows of the output group's trailing axes. That covers Dask's
//! merge (`(4, 4, 4) -> (64,)`) and split (`(64,) -> (4, 4, 4)`) cases, and the mixed ones
//! (`(2, 3) -> (3, 2)`) that Dask refuses.

use std::fmt;
use std::sync::Arc;

use ndarray::{ArrayD, Dimension, IxDyn};
use serde::{Deserialize, Serialize};

use crate::array::collection::block_key;
use crate::array::remote::{Dtype, op_spec, params, with_element};
use crate::array::{Array, Chunks, Element};
use crate::error::{BoxError, Error, Result};
use crate::graph::{Layer, Lowering, Node, Op, OpSpec, Value, take_value, unique_token};
use crate::registry::OpFactory;

impl<A: Element, D: Dimension> Array<A, D> {
    /// The same elements in C (row-major) order, in a new `shape`; one length may be `-1`, to
    /// be inferred from the others (NumPy's and Dask's `reshape`). Blocks are reshaped one by
    /// one, with no data moving between them, after the input is rechunked to allow it: the axes
    /// split into groups at every point where the trailing input and output lengths hold the same
    /// number of elements; an axis that is a group of its own on both sides keeps its chunks; in
    /// any other group only the leading axis stays cut (its blocks merged to whole output rows,
    /// then split to the input's largest block size) and the others are made whole.
    ///
    /// # Errors
    /// [`Error::Metadata`], while building, if the shape has more than one `-1` or another
    /// negative length, if its size differs from the array's, or if `-1` cannot be inferred
    /// (the other lengths multiply to 0).
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::array::{Array, ndarray::{Array1, Ix2}};
    /// let x = Array::from_array(Array1::from_iter(0..12_i64), &[5])?;
    /// let y = x.reshape(&[-1, 4])?;
    /// assert_eq!(y.shape(), vec![3, 4]);
    /// let want = Array1::from_iter(0..12_i64).into_shape_with_order((3, 4)).unwrap();
    /// assert_eq!(y.into_dimensionality::<Ix2>()?.compute()?, want);
    /// assert!(x.reshape(&[5, -1]).is_err()); // 12 is not a multiple of 5
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn reshape(&self, shape: &[isize]) -> Result<Array<A, IxDyn>> {
        let from = self.shape();
        let to = resolve_shape(&from, shape)?;
        if to == from {
            return Ok(self.into_dyn());
        }
        let (in_chunks, out_chunks) = reshape_chunks(&from, &to, &self.chunks);
        let input = self.rechunk_to(in_chunks.clone())?;
        let layer = Reshape::<A> {
            in_chunks,
            out_chunks: out_chunks.clone(),
            _t: std::marker::PhantomData,
        };
        let node = Node::new(
            unique_token("reshape").into(),
            vec![input.node.clone()],
            Box::new(layer),
        );
        Ok(Array::from_node(node, Arc::new(out_chunks)))
    }

    /// The same array with dimension type `E` (ndarray's `into_dimensionality`), e.g. to get an
    /// `Array2` out of [`reshape`](Array::reshape).
    ///
    /// # Errors
    /// [`Error::Metadata`] if `E` has a fixed number of axes other than the array's.
    pub fn into_dimensionality<E: Dimension>(&self) -> Result<Array<A, E>> {
        self.with_dim()
    }
}

/// The target shape with `-1` resolved, checked against the size of `from`.
fn resolve_shape(from: &[usize], shape: &[isize]) -> Result<Vec<usize>> {
    let size: usize = from.iter().product();
    let fail = |why: &str| {
        Error::Metadata(format!(
            "cannot reshape an array of shape {from:?} into {shape:?}: {why}"
        ))
    };
    let unknown: Vec<usize> = (0..shape.len()).filter(|&i| shape[i] == -1).collect();
    if unknown.len() > 1 {
        return Err(fail("only one length can be -1"));
    }
    if shape.iter().any(|&n| n < -1) {
        return Err(fail("lengths must be non-negative (or one -1)"));
    }
    let known: usize = shape.iter().filter(|&&n| n >= 0).map(|&n| n as usize).product();
    let mut to: Vec<usize> = shape.iter().map(|&n| n.max(0) as usize).collect();
    if let Some(&i) = unknown.first() {
        if known == 0 {
            return Err(fail("the -1 length is ambiguous when the other lengths multiply to 0"));
        }
        if !size.is_multiple_of(known) {
            return Err(fail(&format!("{size} elements do not divide into rows of {known}")));
        }
        to[i] = size / known;
    }
    if to.iter().product::<usize>() != size {
        return Err(fail(&format!(
            "{size} elements do not fit a shape of {} elements",
            to.iter().product::<usize>()
        )));
    }
    Ok(to)
}

/// The chunks to rechunk the input to, and the output's chunks, such that input block `k` (in C
/// order) reshapes into output block `k`. `from` and `to` have the same size; an empty array
/// becomes one block.
fn reshape_chunks(from: &[usize], to: &[usize], chunks: &Chunks) -> (Chunks, Chunks) {
    let whole = |shape: &[usize]| shape.iter().map(|&n| vec![n]).collect::<Vec<_>>();
    if from.iter().product::<usize>() == 0 {
        let in_chunks = Chunks::explicit(from, whole(from)).expect("whole axes fit");
        let out_chunks = Chunks::explicit(to, whole(to)).expect("whole axes fit");
        return (in_chunks, out_chunks);
    }
    let mut ins: Vec<Vec<usize>> = whole(from);
    let mut outs: Vec<Vec<usize>> = whole(to);
    // `ir`/`or`: one past the last axis of the next group, from the right.
    let (mut ir, mut or) = (from.len(), to.len());
    while ir > 0 && or > 0 {
        let (mut il, mut ol) = (ir - 1, or - 1);
        if from[il] == to[ol] {
            ins[il] = chunks.axes()[il].clone();
            outs[ol] = chunks.axes()[il].clone();
            (ir, or) = (il, ol);
            continue;
        }
        // Widen the group until both sides hold the same number of elements.
        let (mut pin, mut pout) = (from[il], to[ol]);
        while pin != pout {
            if pin < pout {
                il -= 1;
                pin *= from[il];
            } else {
                ol -= 1;
                pout *= to[ol];
            }
        }
        // Input rows (along axis `il`) per output row (along axis `ol`), and the leading
        // input axis's blocks merged to whole output rows, then split to the input's largest
        // block size.
        let row_in: usize = from[il + 1..ir].iter().product();
        let row_out: usize = to[ol + 1..or].iter().product();
        let factor = lcm(row_in, row_out) / row_in;
        let largest: usize = (il..ir)
            .map(|k| chunks.axes()[k].iter().max().copied().unwrap_or(1))
            .product();
        let cap = (largest / row_in).max(factor) / factor * factor;
        let leading: Vec<usize> = merge_to_multiples(&chunks.axes()[il], factor)
            .into_iter()
            .flat_map(|c| split_at_most(c, cap))
            .collect();
        outs[ol] = leading.iter().map(|&c| c * row_in / row_out).collect();
        ins[il] = leading;
        (ir, or) = (il, ol);
    }
    // Whatever is left on one side has length 1 (the sizes are equal): one block each.
    let in_chunks = Chunks::explicit(from, ins).expect("the plan keeps every axis's length");
    let out_chunks = Chunks::explicit(to, outs).expect("the plan keeps every axis's length");
    (in_chunks, out_chunks)
}

/// Dask's `contract_tuple`: consecutive blocks merged so that every block is a multiple of
/// `factor` (the lengths must sum to a multiple of it).
fn merge_to_multiples(lengths: &[usize], factor: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut carry = 0;
    for &len in lengths {
        carry += len;
        let whole = carry / factor * factor;
        if whole > 0 {
            out.push(whole);
            carry -= whole;
        }
    }
    debug_assert_eq!(carry, 0, "the lengths sum to a multiple of the factor");
    out
}

/// `len` in pieces of at most `cap` (both multiples of the same factor).
fn split_at_most(len: usize, cap: usize) -> Vec<usize> {
    let mut pieces = vec![cap; len / cap];
    if !len.is_multiple_of(cap) {
        pieces.push(len % cap);
    }
    pieces
}

fn lcm(a: usize, b: usize) -> usize {
    let gcd = |mut a: usize, mut b: usize| {
        while b != 0 {
            (a, b) = (b, a % b);
        }
        a
    };
    a / gcd(a, b) * b
}

/// Input block `k` reshaped into output block `k`, in C order of the two grids.
#[derive(Debug)]
struct Reshape<A> {
    in_chunks: Chunks,
    out_chunks: Chunks,
    _t: std::marker::PhantomData<fn() -> A>,
}

impl<A: Element> Layer for Reshape<A> {
    fn op_name(&self) -> &str {
        "reshape"
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        let input = &node.inputs()[0];
        let (ins, outs) = (self.in_chunks.block_indices(), self.out_chunks.block_indices());
        if ins.len() != outs.len() {
            return Err(Error::Internal(format!(
                "reshape plan: {} input blocks for {} output blocks",
                ins.len(),
                outs.len()
            )));
        }
        for (i, o) in ins.iter().zip(&outs) {
            let op = ReshapeBlock::<A> {
                shape: self.out_chunks.block_shape(o),
                _t: std::marker::PhantomData,
            };
            out.add(block_key(node, o), Arc::new(op), &[block_key(input, i)])?;
        }
        Ok(())
    }
}

struct ReshapeBlock<A> {
    shape: Vec<usize>,
    _t: std::marker::PhantomData<fn() -> A>,
}

impl<A> fmt::Debug for ReshapeBlock<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReshapeBlock(to {:?})", self.shape)
    }
}

impl<A: Element> Op for ReshapeBlock<A> {
    fn name(&self) -> &str {
        "reshape"
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        let block = take_value::<ArrayD<A>>(inputs.into_iter().next().ok_or("no input block")?)?;
        // Free for a block in standard layout (the usual case); others are copied in C order.
        let block = if block.is_standard_layout() {
            block
        } else {
            block.as_standard_layout().into_owned()
        };
        let shape = block.shape().to_vec();
        let reshaped = block.into_shape_with_order(IxDyn(&self.shape)).map_err(|e| {
            format!(
                "reshape: a block of shape {shape:?} does not reshape to {:?}: {e}",
                self.shape
            )
        })?;
        Ok(Arc::new(reshaped))
    }

    fn spec(&self) -> Option<OpSpec> {
        op_spec(
            "array.reshape",
            &ReshapeSpec {
                dtype: Dtype::of::<A>()?,
                shape: self.shape.clone(),
            },
        )
    }
}

#[derive(Serialize, Deserialize)]
struct ReshapeSpec {
    dtype: Dtype,
    shape: Vec<usize>,
}

inventory::submit! {
    OpFactory {
        name: "array.reshape",
        build: |p| {
            let spec: ReshapeSpec = params(p)?;
            with_element!(spec.dtype, A => {
                Ok(Arc::new(ReshapeBlock::<A> { shape: spec.shape, _t: std::marker::PhantomData }) as Arc<dyn Op>)
            })
        },
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::collection::Collection;

    fn plan(from: &[usize], to: &[usize], block: &[usize]) -> (Vec<Vec<usize>>, Vec<Vec<usize>>) {
        let (i, o) = reshape_chunks(from, to, &Chunks::uniform(from, block).unwrap());
        (i.axes().to_vec(), o.axes().to_vec())
    }

    #[test]
    fn plans_like_dask() {
        // Merge: trailing input axes whole, the leading one keeps its blocks.
        assert_eq!(
            plan(&[4, 4, 4], &[64], &[2, 4, 4]),
            (vec![vec![2, 2], vec![4], vec![4]], vec![vec![32, 32]])
        );
        // ... capped at the largest input block: (4, 2, 2) blocks hold 16 elements.
        assert_eq!(
            plan(&[4, 4, 4], &[64], &[4, 2, 2]),
            (vec![vec![1, 1, 1, 1], vec![4], vec![4]], vec![vec![16; 4]])
        );
        // Split: input blocks merged to multiples of the trailing output rows.
        assert_eq!(
            plan(&[64], &[4, 4, 4], &[10]),
            (vec![vec![16; 4]], vec![vec![1; 4], vec![4], vec![4]])
        );
        // Unchanged trailing axes keep their chunks; the merged group's blocks (3 x 2) hold
        // 6 elements, so whole rows of 4 go one at a time.
        assert_eq!(
            plan(&[6, 4, 5], &[24, 5], &[3, 2, 2]),
            (
                vec![vec![1; 6], vec![4], vec![2, 2, 1]],
                vec![vec![4; 6], vec![2, 2, 1]]
            )
        );
        assert_eq!(
            plan(&[6, 4, 5], &[24, 5], &[3, 4, 2]),
            (
                vec![vec![3, 3], vec![4], vec![2, 2, 1]],
                vec![vec![12, 12], vec![2, 2, 1]]
            )
        );
        // Mixed group: (2, 3) -> (3, 2) needs rows of lcm(3, 2) = 6 elements: one block.
        assert_eq!(
            plan(&[2, 3], &[3, 2], &[1, 1]),
            (vec![vec![2], vec![3]], vec![vec![3], vec![2]])
        );
        // Size-1 axes on either side.
        assert_eq!(
            plan(&[4, 1, 3], &[12], &[2, 1, 3]),
            (vec![vec![2, 2], vec![1], vec![3]], vec![vec![6, 6]])
        );
        assert_eq!(
            plan(&[12], &[1, 4, 3, 1], &[6]),
            (vec![vec![6, 6]], vec![vec![1], vec![2, 2], vec![3], vec![1]])
        );
    }

    #[test]
    fn bad_shapes_fail_while_building() {
        let x = Array::<f64, IxDyn>::zeros(&[4, 6], &[2, 2]).unwrap();
        let err = |s: &[isize]| x.reshape(s).unwrap_err().to_string();
        assert!(err(&[-1, -1]).contains("only one length can be -1"));
        assert!(err(&[5, -1]).contains("do not divide"));
        assert!(err(&[5, 5]).contains("do not fit"));
        assert!(err(&[-2, 12]).contains("non-negative"));
        let empty = Array::<f64, IxDyn>::zeros(&[0, 3], &[1, 1]).unwrap();
        assert!(empty.reshape(&[0, -1]).unwrap_err().to_string().contains("ambiguous"));
        assert_eq!(
            empty.reshape(&[3, 0, 5]).unwrap().compute().unwrap().shape(),
            &[3, 0, 5]
        );
        assert!(x.reshape(&[24]).unwrap().into_dimensionality::<ndarray::Ix2>().is_err());
    }

    /// A shape of 0 to 4 axes, its chunking, and a random factoring of its size (with 1s),
    /// one length possibly given as -1.
    fn case() -> impl Strategy<Value = (Vec<usize>, Vec<usize>, Vec<isize>)> {
        prop::collection::vec(0_usize..7, 0..5).prop_flat_map(|shape| {
            let blocks: Vec<_> = shape.iter().map(|&n| 1..=n.max(1)).collect();
            let size: usize = shape.iter().product();
            (
                Just(shape),
                blocks,
                prop::collection::vec(0_usize..6, 0..5),
                any::<prop::sample::Index>(),
                any::<bool>(),
            )
                .prop_map(move |(shape, block, cuts, minus, use_minus)| {
                    let to = factor(size, &cuts);
                    let mut target: Vec<isize> = to.iter().map(|&n| n as isize).collect();
                    if use_minus && !to.is_empty() && size > 0 {
                        target[minus.index(to.len())] = -1;
                    }
                    (shape, block, target)
                })
        })
    }

    /// `size` split into factors, guided by `cuts` (0 puts a 1 axis in, others pick a divisor).
    fn factor(size: usize, cuts: &[usize]) -> Vec<usize> {
        if size == 0 {
            let mut out: Vec<usize> = cuts.iter().map(|&c| c + 1).collect();
            out.insert(cuts.len() / 2, 0);
            return out;
        }
        if size == 1 && cuts.len() == 1 {
            return Vec::new(); // a 0-d result
        }
        let mut left = size;
        let mut out = Vec::new();
        for &c in cuts {
            if c == 0 {
                out.push(1);
                continue;
            }
            let d = (2..=left)
                .filter(|d| left.is_multiple_of(*d))
                .nth(c % 3)
                .unwrap_or(left);
            out.push(d);
            left /= d;
        }
        out.push(left);
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn reshape_matches_ndarray((shape, block, target) in case()) {
            let data = ArrayD::from_shape_fn(IxDyn(&shape), |i| {
                i.as_array_view().iter().fold(0_i64, |acc, &x| acc * 7 + x as i64)
            });
            let x = Array::<i64, IxDyn>::from_array(data.clone(), &block).unwrap();
            let y = x.reshape(&target).unwrap();
            let want_shape: Vec<usize> = if let Some(i) = target.iter().position(|&n| n == -1) {
                let known: usize = target.iter().filter(|&&n| n >= 0).map(|&n| n as usize).product();
                let mut s: Vec<usize> = target.iter().map(|&n| n.max(0) as usize).collect();
                s[i] = data.len() / known;
                s
            } else {
                target.iter().map(|&n| n as usize).collect()
            };
            let want = data.to_shape((want_shape.clone(), ndarray::Order::RowMajor)).unwrap().to_owned();
            prop_assert_eq!(y.shape(), want_shape);
            let got = y.compute().unwrap();
            prop_assert_eq!(got, want);
        }
    }
}
