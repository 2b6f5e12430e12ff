//! Rechunking: each output block is assembled from the input blocks it overlaps.

use std::ops::Range;
use std::sync::Arc;

use ndarray::{ArrayD, Dimension, IxDyn, Slice};

use serde::{Deserialize, Serialize};

use crate::array::collection::block_key;
use crate::array::remote::{Dtype, SliceSpec, op_spec, params, slice_of, slice_spec, with_element};
use crate::array::{Array, Chunks, Element};
use crate::error::{BoxError, Result};
use crate::graph::{Key, Layer, Lowering, Node, Op, OpSpec, Value, unique_token};
use crate::registry::OpFactory;

/// Along one axis, for one output block: the input blocks it overlaps, with the overlap in the
/// input block's and in the output block's coordinates.
type Overlaps = Vec<(usize, Range<usize>, Range<usize>)>;

fn overlaps(from: &[usize], to: &[usize]) -> Vec<Overlaps> {
    let starts = |lens: &[usize]| {
        let mut at = 0;
        lens.iter()
            .map(|&l| {
                let s = at;
                at += l;
                s..at
            })
            .collect::<Vec<_>>()
    };
    let (ins, outs) = (starts(from), starts(to));
    outs.iter()
        .map(|o| {
            ins.iter()
                .enumerate()
                .filter(|(_, i)| i.start < o.end && o.start < i.end || (o.is_empty() && i.is_empty()))
                .map(|(k, i)| {
                    let (lo, hi) = (i.start.max(o.start), i.end.min(o.end));
                    (k, lo - i.start..hi - i.start, lo - o.start..hi - o.start)
                })
                .collect()
        })
        .collect()
}

impl<A: Element, D: Dimension> Array<A, D> {
    /// The same array cut into blocks of `block` elements per axis.
    ///
    /// # Errors
    /// [`Error::Metadata`](crate::Error::Metadata) if `block` has the wrong rank or a zero
    /// length.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::array::{Array, ndarray::Array2};
    /// let data = Array2::from_shape_fn((5, 6), |(i, j)| (i * 6 + j) as f32);
    /// let x = Array::from_array(data.clone(), &[2, 6])?.rechunk(&[5, 2])?;
    /// assert_eq!(x.chunks().grid(), vec![1, 3]);
    /// assert_eq!(x.compute()?, data);
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn rechunk(&self, block: &[usize]) -> Result<Array<A, D>> {
        let chunks = Chunks::uniform(&self.shape(), block)?;
        self.rechunk_to(chunks)
    }

    /// The same array cut as `chunks` says.
    ///
    /// # Errors
    /// [`Error::Metadata`](crate::Error::Metadata) if `chunks` is for another shape.
    pub fn rechunk_to(&self, chunks: Chunks) -> Result<Array<A, D>> {
        if chunks.shape() != self.shape() {
            return Err(crate::Error::Metadata(format!(
                "chunks {chunks:?} are for shape {:?}, the array has {:?}",
                chunks.shape(),
                self.shape()
            )));
        }
        if chunks == *self.chunks {
            return Ok(self.clone());
        }
        let plans = self
            .chunks
            .axes()
            .iter()
            .zip(chunks.axes())
            .map(|(f, t)| overlaps(f, t))
            .collect();
        let layer = Rechunk::<A> {
            plans,
            chunks: chunks.clone(),
            _t: std::marker::PhantomData,
        };
        let node = Node::new(unique_token("rechunk").into(), vec![self.node.clone()], Box::new(layer));
        Ok(Array::from_node(node, Arc::new(chunks)))
    }
}

#[derive(Debug)]
struct Rechunk<A> {
    /// Per axis, per output block along it: the overlapping input blocks.
    plans: Vec<Vec<Overlaps>>,
    chunks: Chunks,
    _t: std::marker::PhantomData<fn() -> A>,
}

impl<A: Element> Layer for Rechunk<A> {
    fn op_name(&self) -> &str {
        "rechunk"
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        let input = &node.inputs()[0];
        for index in self.chunks.block_indices() {
            // The Cartesian product of the overlaps along every axis, in C order.
            let per_axis: Vec<&Overlaps> = index.iter().zip(&self.plans).map(|(&i, p)| &p[i]).collect();
            let mut pieces: Vec<(Vec<usize>, Vec<Slice>, Vec<Slice>)> = vec![(vec![], vec![], vec![])];
            for axis in &per_axis {
                pieces = pieces
                    .into_iter()
                    .flat_map(|(k, src, dst)| {
                        axis.iter().map(move |(b, from, to)| {
                            let (mut k, mut src, mut dst) = (k.clone(), src.clone(), dst.clone());
                            k.push(*b);
                            src.push(Slice::from(from.clone()));
                            dst.push(Slice::from(to.clone()));
                            (k, src, dst)
                        })
                    })
                    .collect();
            }
            let args: Vec<Key> = pieces.iter().map(|(k, _, _)| block_key(input, k)).collect();
            let op = Assemble::<A> {
                shape: self.chunks.block_shape(&index),
                pieces: pieces.into_iter().map(|(_, s, d)| (s, d)).collect(),
                _t: std::marker::PhantomData,
            };
            out.add(block_key(node, &index), Arc::new(op), &args)?;
        }
        Ok(())
    }
}

/// Builds one block of `shape` from slices of its inputs.
#[derive(Debug)]
struct Assemble<A> {
    shape: Vec<usize>,
    /// Per input: the slice to read from it and where it goes.
    pieces: Vec<(Vec<Slice>, Vec<Slice>)>,
    _t: std::marker::PhantomData<fn() -> A>,
}

impl<A: Element> Op for Assemble<A> {
    fn name(&self) -> &str {
        "rechunk"
    }

    fn call(&self, inputs: Vec<Value>) -> Result<Value, BoxError> {
        if inputs.len() != self.pieces.len() {
            return Err(format!("rechunk: {} pieces but {} inputs", self.pieces.len(), inputs.len()).into());
        }
        let mut block = ArrayD::<A>::zeros(IxDyn(&self.shape));
        for (value, (src, dst)) in inputs.iter().zip(&self.pieces) {
            let input = value
                .downcast_ref::<ArrayD<A>>()
                .ok_or("a rechunk input is not a block of this type")?;
            let from = input.slice_each_axis(|ax| src[ax.axis.index()]);
            block.slice_each_axis_mut(|ax| dst[ax.axis.index()]).assign(&from);
        }
        Ok(Arc::new(block))
    }

    fn spec(&self) -> Option<OpSpec> {
        let spec = AssembleSpec {
            dtype: Dtype::of::<A>()?,
            shape: self.shape.clone(),
            pieces: self
                .pieces
                .iter()
                .map(|(src, dst)| {
                    (
                        src.iter().map(slice_spec).collect(),
                        dst.iter().map(slice_spec).collect(),
                    )
                })
                .collect(),
        };
        op_spec("array.rechunk", &spec)
    }
}

#[derive(Serialize, Deserialize)]
struct AssembleSpec {
    dtype: Dtype,
    shape: Vec<usize>,
    pieces: Vec<(Vec<SliceSpec>, Vec<SliceSpec>)>,
}

inventory::submit! {
    OpFactory {
        name: "array.rechunk",
        build: |p| {
            let spec: AssembleSpec = params(p)?;
            let slices = |v: Vec<SliceSpec>| v.into_iter().map(slice_of).collect::<Result<Vec<_>, BoxError>>();
            let pieces = spec
                .pieces
                .into_iter()
                .map(|(src, dst)| Ok((slices(src)?, slices(dst)?)))
                .collect::<Result<Vec<_>, BoxError>>()?;
            with_element!(spec.dtype, A => {
                let op = Assemble::<A> { shape: spec.shape, pieces, _t: std::marker::PhantomData };
                Ok(Arc::new(op) as Arc<dyn Op>)
            })
        },
    }
}
