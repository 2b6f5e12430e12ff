//! Slicing with ranges and steps, and integer indexing: each output block is a slice of exactly
//! one input block, so slicing costs one task per selected block and never moves unselected
//! data.

use std::sync::Arc;

use ndarray::{ArrayD, Axis, Dimension, IxDyn, RemoveAxis, Slice, SliceInfoElem};

use serde::{Deserialize, Serialize};

use crate::array::collection::block_key;
use crate::array::remote::{Dtype, SliceSpec, op_spec, params, slice_of, slice_spec, with_element};
use crate::array::{Array, Chunks, Element};
use crate::error::{BoxError, Error, Result};
use crate::graph::{Layer, Lowering, Node, Op, OpSpec, Value, take_value, unique_token};
use crate::registry::OpFactory;

/// Along one axis: for each output block, the input block it comes from and the slice of it.
type AxisPlan = Vec<(usize, Slice)>;

/// Plans one axis of length `len`, cut into `blocks`, sliced by `slice` (ndarray's semantics:
/// negative indices count from the end; a negative step walks the range from its end).
fn plan_axis(len: usize, blocks: &[usize], slice: Slice) -> Result<AxisPlan> {
    if slice.step == 0 {
        return Err(Error::Metadata("slice step 0".into()));
    }
    let resolve = |i: isize| -> usize {
        if i < 0 {
            (len as isize + i).max(0) as usize
        } else {
            (i as usize).min(len)
        }
    };
    let a = resolve(slice.start);
    let b = slice.end.map_or(len, resolve).max(a);
    let step = slice.step.unsigned_abs();
    let mut plan = Vec::new();
    let mut offset = 0;
    for (k, &blen) in blocks.iter().enumerate() {
        let (lo, hi) = (a.max(offset), b.min(offset + blen));
        offset += blen;
        if lo >= hi {
            continue;
        }
        if slice.step > 0 {
            // First selected index at or after lo: a + ceil((lo - a) / step) * step.
            let first = a + (lo - a).div_ceil(step) * step;
            if first < hi {
                let base = first - (offset - blen);
                plan.push((
                    k,
                    Slice::new(base as isize, Some((hi - (offset - blen)) as isize), step as isize),
                ));
            }
        } else {
            // Selected: b - 1, b - 1 - step, …; the largest one below hi.
            let top = (b - 1) as i64 - ((b - hi) as i64 + step as i64 - 1) / step as i64 * step as i64;
            if top >= lo as i64 {
                let base = offset - blen;
                plan.push((
                    k,
                    Slice::new((lo - base) as isize, Some(top as isize + 1 - base as isize), slice.step),
                ));
            }
        }
    }
    if slice.step < 0 {
        plan.reverse();
    }
    Ok(plan)
}

fn selected(blen: usize, s: Slice) -> usize {
    let end = s.end.map_or(blen, |e| e as usize);
    let n = end.saturating_sub(s.start as usize);
    n.div_ceil(s.step.unsigned_abs())
}

impl<A: Element, D: Dimension> Array<A, D> {
    /// The sub-array that `slices` (one per axis, ndarray's [`Slice`] semantics: negative
    /// indices count from the end, a negative step walks the range backwards) selects.
    ///
    /// # Errors
    /// [`Error::Metadata`] if there is not one slice per axis or a step is 0.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::array::{Array, ndarray::{Array2, Slice, s}};
    /// let data = Array2::from_shape_fn((6, 7), |(i, j)| (i * 10 + j) as i64);
    /// let x = Array::from_array(data.clone(), &[4, 3])?;
    /// let y = x.slice(&[Slice::new(1, None, 2), Slice::new(-5, Some(-1), -1)])?;
    /// assert_eq!(y.compute()?, data.slice(s![1..;2, -5..-1;-1]));
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn slice(&self, slices: &[Slice]) -> Result<Array<A, D>> {
        if slices.len() != self.ndim() {
            return Err(Error::Metadata(format!(
                "{} slices for {} axes",
                slices.len(),
                self.ndim()
            )));
        }
        let plans = self
            .chunks
            .axes()
            .iter()
            .zip(slices)
            .map(|(blocks, &s)| plan_axis(blocks.iter().sum(), blocks, s))
            .collect::<Result<Vec<_>>>()?;
        let axes: Vec<Vec<usize>> = plans
            .iter()
            .zip(self.chunks.axes())
            .map(|(plan, blocks)| {
                let lens: Vec<usize> = plan.iter().map(|&(k, s)| selected(blocks[k], s)).collect();
                if lens.is_empty() { vec![0] } else { lens }
            })
            .collect();
        let shape: Vec<usize> = axes.iter().map(|a| a.iter().sum()).collect();
        // Nothing selected along some axis: the result is empty, one block of its shape.
        let axes = if plans.iter().any(Vec::is_empty) {
            shape.iter().map(|&n| vec![n]).collect()
        } else {
            axes
        };
        let chunks = Chunks::explicit(&shape, axes)?;
        let layer = SliceLayer::<A> {
            plans,
            chunks: chunks.clone(),
            _t: std::marker::PhantomData,
        };
        let node = Node::new(unique_token("slice").into(), vec![self.node.clone()], Box::new(layer));
        Ok(Array::from_node(node, Arc::new(chunks)))
    }
}

impl<A: Element, D: RemoveAxis> Array<A, D> {
    /// The sub-array at `index` along `axis`, with that axis removed (`x[:, 3]` in NumPy).
    /// A negative index counts from the end.
    ///
    /// # Errors
    /// [`Error::Metadata`] if `axis` or `index` is out of range.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::array::{Array, ndarray::{array, Axis}};
    /// let data = array![[1, 2, 3], [4, 5, 6]];
    /// let x = Array::from_array(data.clone(), &[1, 2])?;
    /// assert_eq!(x.index_axis(1, -1)?.compute()?, data.index_axis(Axis(1), 2));
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn index_axis(&self, axis: usize, index: isize) -> Result<Array<A, D::Smaller>> {
        let n = self.ndim();
        let len = *self
            .shape()
            .get(axis)
            .ok_or_else(|| Error::Metadata(format!("axis {axis} of {n}")))?;
        let i = if index < 0 { len as isize + index } else { index };
        if i < 0 || i as usize >= len {
            return Err(Error::Metadata(format!(
                "index {index} is out of bounds for axis {axis} of length {len}"
            )));
        }
        let mut slices: Vec<Slice> = (0..n).map(|_| Slice::from(..)).collect();
        slices[axis] = Slice::from(i..i + 1);
        let one = self.slice(&slices)?;
        let layer = DropAxis::<A> {
            axis,
            chunks: one.chunks.without_axis(axis),
            _t: std::marker::PhantomData,
        };
        let chunks = layer.chunks.clone();
        let node = Node::new(unique_token("index").into(), vec![one.node.clone()], Box::new(layer));
        Array::<A, IxDyn>::from_node(node, Arc::new(chunks)).with_dim()
    }
}

#[derive(Debug)]
struct SliceLayer<A> {
    plans: Vec<AxisPlan>,
    chunks: Chunks,
    _t: std::marker::PhantomData<fn() -> A>,
}

impl<A: Element> Layer for SliceLayer<A> {
    fn op_name(&self) -> &str {
        "slice"
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        if self.plans.iter().any(Vec::is_empty) {
            // Nothing selected along some axis: one empty block.
            let shape = self.chunks.shape();
            let op = SliceBlock::<A> {
                slices: vec![],
                empty: Some(shape),
                _t: std::marker::PhantomData,
            };
            out.add(block_key(node, &vec![0; self.plans.len()]), Arc::new(op), &[])?;
            return Ok(());
        }
        let input = &node.inputs()[0];
        for index in self.chunks.block_indices() {
            let (source, slices): (Vec<usize>, Vec<Slice>) =
                index.iter().zip(&self.plans).map(|(&i, plan)| plan[i]).unzip();
            let op = SliceBlock::<A> {
                slices,
                empty: None,
                _t: std::marker::PhantomData,
            };
            out.add(block_key(node, &index), Arc::new(op), &[block_key(input, &source)])?;
        }
        Ok(())
    }
}

#[derive(Debug)]
struct SliceBlock<A> {
    slices: Vec<Slice>,
    /// The shape of the empty result, when nothing is selected.
    empty: Option<Vec<usize>>,
    _t: std::marker::PhantomData<fn() -> A>,
}

impl<A: Element> Op for SliceBlock<A> {
    fn name(&self) -> &str {
        "slice"
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        if let Some(shape) = &self.empty {
            return Ok(Arc::new(ArrayD::<A>::zeros(IxDyn(shape))));
        }
        let block = inputs.first().ok_or("no input block")?;
        let block = block
            .downcast_ref::<ArrayD<A>>()
            .ok_or("a slice input is not a block of this type")?;
        if self.slices.len() != block.ndim() {
            return Err(format!("{} slices for a block of {} axes", self.slices.len(), block.ndim()).into());
        }
        let info: Vec<SliceInfoElem> = self.slices.iter().map(|&s| SliceInfoElem::from(s)).collect();
        Ok(Arc::new(block.slice(info.as_slice()).to_owned()))
    }

    fn spec(&self) -> Option<OpSpec> {
        let spec = SliceBlockSpec {
            dtype: Dtype::of::<A>()?,
            slices: self.slices.iter().map(slice_spec).collect(),
            empty: self.empty.clone(),
        };
        op_spec("array.slice", &spec)
    }
}

#[derive(Serialize, Deserialize)]
struct SliceBlockSpec {
    dtype: Dtype,
    slices: Vec<SliceSpec>,
    empty: Option<Vec<usize>>,
}

inventory::submit! {
    OpFactory {
        name: "array.slice",
        build: |p| {
            let spec: SliceBlockSpec = params(p)?;
            let slices = spec.slices.into_iter().map(slice_of).collect::<Result<Vec<_>, _>>()?;
            with_element!(spec.dtype, A => {
                let op = SliceBlock::<A> { slices, empty: spec.empty, _t: std::marker::PhantomData };
                Ok(Arc::new(op) as Arc<dyn Op>)
            })
        },
    }
}

#[derive(Debug)]
struct DropAxis<A> {
    axis: usize,
    chunks: Chunks,
    _t: std::marker::PhantomData<fn() -> A>,
}

impl<A: Element> Layer for DropAxis<A> {
    fn op_name(&self) -> &str {
        "index"
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        let input = &node.inputs()[0];
        let op: Arc<dyn Op> = Arc::new(IndexBlock::<A> {
            axis: self.axis,
            _t: std::marker::PhantomData,
        });
        for index in self.chunks.block_indices() {
            let mut source = index.clone();
            source.insert(self.axis, 0);
            out.add(block_key(node, &index), op.clone(), &[block_key(input, &source)])?;
        }
        Ok(())
    }
}

#[derive(Debug)]
struct IndexBlock<A> {
    axis: usize,
    _t: std::marker::PhantomData<fn() -> A>,
}

impl<A: Element> Op for IndexBlock<A> {
    fn name(&self) -> &str {
        "index"
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        let block = take_value::<ArrayD<A>>(inputs.into_iter().next().ok_or("no input block")?)?;
        if self.axis >= block.ndim() || block.len_of(Axis(self.axis)) == 0 {
            return Err(format!(
                "cannot index axis {} of a block of shape {:?}",
                self.axis,
                block.shape()
            )
            .into());
        }
        Ok(Arc::new(block.index_axis_move(Axis(self.axis), 0)))
    }

    fn spec(&self) -> Option<OpSpec> {
        op_spec(
            "array.index",
            &AxisSpec {
                dtype: Dtype::of::<A>()?,
                axis: self.axis,
            },
        )
    }
}

#[derive(Serialize, Deserialize)]
struct AxisSpec {
    dtype: Dtype,
    axis: usize,
}

inventory::submit! {
    OpFactory {
        name: "array.index",
        build: |p| {
            let spec: AxisSpec = params(p)?;
            with_element!(spec.dtype, A => {
                Ok(Arc::new(IndexBlock::<A> { axis: spec.axis, _t: std::marker::PhantomData }) as Arc<dyn Op>)
            })
        },
    }
}
