//! [`Array`]: a lazy n-dimensional array cut into a grid of ndarray blocks (Dask's
//! `dask.array`). Each operation adds one node that lowers to one task per block.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use ndarray::{ArrayD, Dimension, IxDyn, Slice};
use serde::{Deserialize, Serialize};

use crate::array::remote::{Dtype, ScalarSpec, cast, f64_bits, op_spec, params, with_element};
use crate::array::{Chunks, Element, Scalar};
use crate::collection::Collection;
use crate::error::{BoxError, Error, Result};
use crate::graph::{Key, Layer, Lowering, Node, Op, OpSpec, Value, take_value, unique_token};
use crate::registry::{self, EncodedValue, OpFactory};

/// A lazy, chunked n-dimensional array of `A`, with dimension type `D` at its edges (the blocks
/// inside are dynamic-dimensional). Cheap to clone; nothing runs until
/// [`compute`](Collection::compute), which returns an `ndarray::Array<A, D>`.
///
/// # Examples
/// ```
/// use drask::prelude::*;
/// use drask::array::{Array, ndarray};
///
/// let x = Array::from_array(ndarray::Array2::<f64>::ones((4, 6)), &[2, 4])?;
/// assert_eq!((x.shape(), x.npartitions()), (vec![4, 6], 4));
/// let y = (&x + &x) * 3.0;
/// assert_eq!(y.compute()?, ndarray::Array2::from_elem((4, 6), 6.0));
/// # Ok::<(), drask::Error>(())
/// ```
#[must_use = "lazy collections do nothing until `.compute()`"]
pub struct Array<A, D = IxDyn> {
    pub(crate) node: Arc<Node>,
    pub(crate) chunks: Arc<Chunks>,
    _t: PhantomData<fn() -> (A, D)>,
}

impl<A, D> Clone for Array<A, D> {
    fn clone(&self) -> Self {
        Array::from_node(self.node.clone(), self.chunks.clone())
    }
}

impl<A, D> fmt::Debug for Array<A, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Array<{}>({}, shape {:?}, chunks {:?})",
            std::any::type_name::<A>(),
            self.node.name(),
            self.chunks.shape(),
            self.chunks
        )
    }
}

impl<A, D> Array<A, D> {
    pub(crate) fn from_node(node: Arc<Node>, chunks: Arc<Chunks>) -> Array<A, D> {
        Array {
            node,
            chunks,
            _t: PhantomData,
        }
    }

    /// The length of every axis.
    pub fn shape(&self) -> Vec<usize> {
        self.chunks.shape()
    }

    /// The number of axes.
    pub fn ndim(&self) -> usize {
        self.chunks.ndim()
    }

    /// How the axes are cut into blocks.
    pub fn chunks(&self) -> &Chunks {
        &self.chunks
    }

    /// The number of blocks (tasks per elementwise operation).
    pub fn npartitions(&self) -> usize {
        self.chunks.nblocks()
    }

    /// The high-level node behind this array.
    pub fn node(&self) -> &Arc<Node> {
        &self.node
    }

    /// The key of block `index`.
    pub fn block_key(&self, index: &[usize]) -> Key {
        self.node.key(index.iter().map(|&i| i as u32).collect::<Vec<_>>())
    }

    /// The same array with another dimension type (checked against the rank).
    pub(crate) fn with_dim<E: Dimension>(&self) -> Result<Array<A, E>> {
        if let Some(n) = E::NDIM
            && n != self.ndim()
        {
            return Err(Error::Metadata(format!(
                "an array of {} axes cannot have {n}-dimensional type",
                self.ndim()
            )));
        }
        Ok(Array::from_node(self.node.clone(), self.chunks.clone()))
    }

    /// The same array, dynamic-dimensional.
    pub fn into_dyn(&self) -> Array<A, IxDyn> {
        Array::from_node(self.node.clone(), self.chunks.clone())
    }
}

impl<A: Element, D: Dimension> Array<A, D> {
    /// A lazy array over an in-memory ndarray, cut into blocks of `block` elements per axis (the
    /// last block of an axis may be shorter).
    ///
    /// # Errors
    /// [`Error::Metadata`] if `block` has the wrong rank or a zero length.
    pub fn from_array(array: ndarray::Array<A, D>, block: &[usize]) -> Result<Array<A, D>> {
        let chunks = Chunks::uniform(array.shape(), block)?;
        Ok(Array::from_array_chunks(array, chunks))
    }

    /// Like [`from_array`](Array::from_array) with blocks of about 128 MiB.
    pub fn from_array_auto(array: ndarray::Array<A, D>) -> Array<A, D> {
        let chunks = Chunks::auto(array.shape(), std::mem::size_of::<A>());
        Array::from_array_chunks(array, chunks)
    }

    fn from_array_chunks(array: ndarray::Array<A, D>, chunks: Chunks) -> Array<A, D> {
        let layer = FromArray {
            source: Arc::new(array.into_dyn()),
            chunks: chunks.clone(),
        };
        Array::from_node(
            Node::new(unique_token("array").into(), vec![], Box::new(layer)),
            Arc::new(chunks),
        )
    }

    /// An array of `shape` whose every element is `value`, in blocks of `block`.
    ///
    /// # Errors
    /// [`Error::Metadata`] if `block` does not fit `shape`, or the rank does not match `D`.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::array::{Array, ndarray::Ix2};
    /// let x: Array<i64, Ix2> = Array::full(&[3, 5], &[2, 2], 7)?;
    /// assert_eq!(x.sum().compute()?, 105);
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn full(shape: &[usize], block: &[usize], value: A) -> Result<Array<A, D>> {
        let value = ScalarSpec::of(value).ok_or_else(|| Error::Internal("an element type without a tag".into()))?;
        Array::generated(Generator::Full { value }, shape, block)
    }

    /// An array of zeros.
    ///
    /// # Errors
    /// As [`full`](Array::full).
    pub fn zeros(shape: &[usize], block: &[usize]) -> Result<Array<A, D>> {
        Array::full(shape, block, A::zero())
    }

    /// An array of ones.
    ///
    /// # Errors
    /// As [`full`](Array::full).
    pub fn ones(shape: &[usize], block: &[usize]) -> Result<Array<A, D>> {
        Array::full(shape, block, A::one())
    }
}

impl<A: Element> Array<A, ndarray::Ix1> {
    /// `start, start + step, …` while below `stop` (above, for a negative step), NumPy's
    /// `arange`, in blocks of `block`. Each value is computed from its index, not by repeated
    /// addition, so blocks agree with the whole.
    ///
    /// # Errors
    /// [`Error::Metadata`] if `step` is zero or not finite, or `block` is 0.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::array::Array;
    /// let x = Array::<f64, _>::arange(0.0, 1.0, 0.25, 3)?;
    /// assert_eq!(x.compute()?.to_vec(), vec![0.0, 0.25, 0.5, 0.75]);
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn arange(start: f64, stop: f64, step: f64, block: usize) -> Result<Array<A, ndarray::Ix1>> {
        if step == 0.0 || !step.is_finite() || !start.is_finite() || !stop.is_finite() {
            return Err(Error::Metadata(format!(
                "arange({start}, {stop}, {step}): step must be finite and non-zero"
            )));
        }
        let len = ((stop - start) / step).ceil().max(0.0) as usize;
        Array::generated(Generator::Arange { start, step }, &[len], &[block])
    }

    /// `n` evenly spaced values from `start` to `stop` inclusive, NumPy's `linspace`.
    ///
    /// # Errors
    /// [`Error::Metadata`] if `block` is 0 (with `n > 0`).
    pub fn linspace(start: f64, stop: f64, n: usize, block: usize) -> Result<Array<A, ndarray::Ix1>> {
        Array::generated(Generator::Linspace { start, stop, n }, &[n], &[block])
    }
}

/// How generated blocks are made: parameters a worker rebuilds the block function from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Generator {
    Full {
        value: ScalarSpec,
    },
    Arange {
        #[serde(with = "f64_bits")]
        start: f64,
        #[serde(with = "f64_bits")]
        step: f64,
    },
    Linspace {
        #[serde(with = "f64_bits")]
        start: f64,
        #[serde(with = "f64_bits")]
        stop: f64,
        n: usize,
    },
    /// The random generators know the whole array's shape: element `i` in C order depends on
    /// `(seed, i)` alone.
    RandomUniform {
        seed: u64,
        shape: Vec<usize>,
        low: ScalarSpec,
        high: ScalarSpec,
    },
    RandomNormal {
        seed: u64,
        shape: Vec<usize>,
        mean: ScalarSpec,
        std: ScalarSpec,
    },
    RandomIntegers {
        seed: u64,
        shape: Vec<usize>,
        low: i64,
        high: i64,
    },
}

impl Generator {
    fn name(&self) -> &'static str {
        match self {
            Generator::Full { .. } => "full",
            Generator::Arange { .. } => "arange",
            Generator::Linspace { .. } => "linspace",
            Generator::RandomUniform { .. } => "random_uniform",
            Generator::RandomNormal { .. } => "random_normal",
            Generator::RandomIntegers { .. } => "random_integers",
        }
    }

    /// The block function, after checking the parameters; the one place both the builder and a
    /// worker get it from.
    ///
    /// # Errors
    /// [`Error::Metadata`] for parameters the generator refuses (as the builders report them),
    /// or that do not fit `A`.
    fn maker<A: Element>(&self) -> Result<MakeBlock<A>> {
        use crate::array::random;
        let bad = |e: BoxError| Error::Metadata(format!("{}: {e}", self.name()));
        Ok(match self.clone() {
            Generator::Full { value } => {
                let value: A = value.get().map_err(bad)?;
                Arc::new(move |_offset: &[usize], shape: &[usize]| ArrayD::from_elem(IxDyn(shape), value))
            }
            Generator::Arange { start, step } => Arc::new(move |offset: &[usize], shape: &[usize]| {
                ArrayD::from_shape_fn(IxDyn(shape), |i| A::from_f64(start + (offset[0] + i[0]) as f64 * step))
            }),
            Generator::Linspace { start, stop, n } => {
                let step = if n > 1 { (stop - start) / (n - 1) as f64 } else { 0.0 };
                Arc::new(move |offset: &[usize], shape: &[usize]| {
                    ArrayD::from_shape_fn(IxDyn(shape), |i| {
                        let k = offset[0] + i[0];
                        // The last value is exactly `stop`, as NumPy's.
                        A::from_f64(if k + 1 == n && n > 1 {
                            stop
                        } else {
                            start + k as f64 * step
                        })
                    })
                })
            }
            Generator::RandomUniform { seed, shape, low, high } => {
                let zeros = vec![0; shape.len()];
                match Dtype::of::<A>() {
                    Some(Dtype::F64) => {
                        let (low, high): (f64, f64) = (low.get().map_err(bad)?, high.get().map_err(bad)?);
                        random::uniform_block(seed, &shape, &zeros, &zeros, low, high)?;
                        let f: MakeBlock<f64> = Arc::new(move |offset, block| {
                            random::uniform_block(seed, &shape, offset, block, low, high).expect("arguments checked")
                        });
                        cast(f).map_err(bad)?
                    }
                    Some(Dtype::F32) => {
                        let (low, high): (f32, f32) = (low.get().map_err(bad)?, high.get().map_err(bad)?);
                        random::uniform_block_f32(seed, &shape, &zeros, &zeros, low, high)?;
                        let f: MakeBlock<f32> = Arc::new(move |offset, block| {
                            random::uniform_block_f32(seed, &shape, offset, block, low, high)
                                .expect("arguments checked")
                        });
                        cast(f).map_err(bad)?
                    }
                    _ => return Err(bad("needs float elements".into())),
                }
            }
            Generator::RandomNormal { seed, shape, mean, std } => {
                let zeros = vec![0; shape.len()];
                match Dtype::of::<A>() {
                    Some(Dtype::F64) => {
                        let (mean, std): (f64, f64) = (mean.get().map_err(bad)?, std.get().map_err(bad)?);
                        random::normal_block(seed, &shape, &zeros, &zeros, mean, std)?;
                        let f: MakeBlock<f64> = Arc::new(move |offset, block| {
                            random::normal_block(seed, &shape, offset, block, mean, std).expect("arguments checked")
                        });
                        cast(f).map_err(bad)?
                    }
                    Some(Dtype::F32) => {
                        let (mean, std): (f32, f32) = (mean.get().map_err(bad)?, std.get().map_err(bad)?);
                        random::normal_block_f32(seed, &shape, &zeros, &zeros, mean, std)?;
                        let f: MakeBlock<f32> = Arc::new(move |offset, block| {
                            random::normal_block_f32(seed, &shape, offset, block, mean, std).expect("arguments checked")
                        });
                        cast(f).map_err(bad)?
                    }
                    _ => return Err(bad("needs float elements".into())),
                }
            }
            Generator::RandomIntegers { seed, shape, low, high } => {
                let zeros = vec![0; shape.len()];
                random::randint_block(seed, &shape, &zeros, &zeros, low, high)?;
                let f: MakeBlock<i64> = Arc::new(move |offset, block| {
                    random::randint_block(seed, &shape, offset, block, low, high).expect("arguments checked")
                });
                cast(f).map_err(|_| bad("needs i64 elements".into()))?
            }
        })
    }
}

impl<A: Element, D: Dimension> Array<A, D> {
    /// An array whose blocks `generator` makes.
    fn generated(generator: Generator, shape: &[usize], block: &[usize]) -> Result<Array<A, D>> {
        let chunks = Chunks::uniform(shape, block)?;
        let name = generator.name();
        let layer = Generate::<A> {
            name,
            chunks: chunks.clone(),
            make: generator.maker()?,
            generator: Arc::new(generator),
        };
        Array::<A, IxDyn>::from_node(
            Node::new(unique_token(name).into(), vec![], Box::new(layer)),
            Arc::new(chunks),
        )
        .with_dim()
    }
}

impl<A: Scalar, D: Dimension> Collection for Array<A, D> {
    type Output = ndarray::Array<A, D>;

    fn nodes(&self) -> Vec<Arc<Node>> {
        vec![self.node.clone()]
    }

    fn keys(&self) -> Vec<Key> {
        self.chunks.block_indices().iter().map(|i| self.block_key(i)).collect()
    }

    fn finalize(&self, values: &mut dyn Iterator<Item = Value>) -> Result<ndarray::Array<A, D>> {
        let mut whole = ArrayD::from_elem(IxDyn(&self.shape()), A::default());
        for index in self.chunks.block_indices() {
            let value = values
                .next()
                .ok_or_else(|| Error::Internal(format!("no value for block {index:?}")))?;
            let block = take_value::<ArrayD<A>>(value).map_err(|e| Error::Internal(format!("block {index:?}: {e}")))?;
            let offset = self.chunks.block_offset(&index);
            let mut target = whole.slice_each_axis_mut(|ax| {
                let start = offset[ax.axis.index()];
                Slice::from(start..start + block.shape()[ax.axis.index()])
            });
            target.assign(&block);
        }
        whole
            .into_dimensionality::<D>()
            .map_err(|e| Error::Internal(format!("result has the wrong rank: {e}")))
    }
}

/// Blocks sliced out of an in-memory array.
struct FromArray<A> {
    source: Arc<ArrayD<A>>,
    chunks: Chunks,
}

impl<A> fmt::Debug for FromArray<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FromArray({:?})", self.chunks)
    }
}

impl<A: Element> Layer for FromArray<A> {
    fn op_name(&self) -> &str {
        "array"
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        for index in self.chunks.block_indices() {
            let op = SliceBlock {
                source: self.source.clone(),
                offset: self.chunks.block_offset(&index),
                shape: self.chunks.block_shape(&index),
            };
            out.add(block_key(node, &index), Arc::new(op), &[])?;
        }
        Ok(())
    }
}

/// Copies one block out of the source array.
struct SliceBlock<A> {
    source: Arc<ArrayD<A>>,
    offset: Vec<usize>,
    shape: Vec<usize>,
}

impl<A: Element> SliceBlock<A> {
    fn block(&self) -> ArrayD<A> {
        let view = self.source.slice_each_axis(|ax| {
            let start = self.offset[ax.axis.index()];
            Slice::from(start..start + self.shape[ax.axis.index()])
        });
        view.to_owned()
    }
}

impl<A> fmt::Debug for SliceBlock<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SliceBlock({:?} at {:?})", self.shape, self.offset)
    }
}

impl<A: Element> Op for SliceBlock<A> {
    fn name(&self) -> &str {
        "array"
    }

    fn call(&self, _inputs: Vec<Value>) -> Result<Value, BoxError> {
        Ok(Arc::new(self.block()))
    }

    /// The block's data travels in the spec, as Dask embeds `from_array` chunks in its graph.
    fn spec(&self) -> Option<OpSpec> {
        let encoded = registry::encode_value(&(Arc::new(self.block()) as Value)).ok()?;
        op_spec("array.block", &encoded)
    }
}

inventory::submit! {
    OpFactory {
        name: "array.block",
        build: |p| {
            let encoded: EncodedValue = params(p)?;
            let value = registry::decode_value(&encoded)?;
            // Rebuilt as the same op over the decoded block, at offset 0.
            macro_rules! rebuild {
                ($($t:ty),*) => {$(
                    if let Ok(block) = value.clone().downcast::<ArrayD<$t>>() {
                        let op = SliceBlock { offset: vec![0; block.ndim()], shape: block.shape().to_vec(), source: block };
                        return Ok(Arc::new(op) as Arc<dyn Op>);
                    }
                )*};
            }
            rebuild!(f32, f64, i32, i64);
            Err(format!("array.block holds a {}, not a numeric block", encoded.type_name).into())
        },
    }
}

type MakeBlock<A> = Arc<dyn Fn(&[usize], &[usize]) -> ArrayD<A> + Send + Sync>;

/// Blocks made from their position alone: constants, ranges, random numbers.
struct Generate<A> {
    name: &'static str,
    chunks: Chunks,
    make: MakeBlock<A>,
    generator: Arc<Generator>,
}

impl<A> fmt::Debug for Generate<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Generate({}, {:?})", self.name, self.chunks)
    }
}

impl<A: Element> Layer for Generate<A> {
    fn op_name(&self) -> &str {
        self.name
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        for index in self.chunks.block_indices() {
            let op = GenerateBlock {
                name: self.name,
                offset: self.chunks.block_offset(&index),
                shape: self.chunks.block_shape(&index),
                make: self.make.clone(),
                generator: self.generator.clone(),
            };
            out.add(block_key(node, &index), Arc::new(op), &[])?;
        }
        Ok(())
    }
}

struct GenerateBlock<A> {
    name: &'static str,
    offset: Vec<usize>,
    shape: Vec<usize>,
    make: MakeBlock<A>,
    generator: Arc<Generator>,
}

#[derive(Serialize, Deserialize)]
struct GenerateSpec {
    dtype: Dtype,
    generator: Generator,
    offset: Vec<usize>,
    shape: Vec<usize>,
}

inventory::submit! {
    OpFactory {
        name: "array.generate",
        build: |p| {
            let spec: GenerateSpec = params(p)?;
            if spec.offset.len() != spec.shape.len() {
                return Err("a generated block's offset and shape differ in rank".into());
            }
            with_element!(spec.dtype, A => {
                let op = GenerateBlock::<A> {
                    name: spec.generator.name(),
                    make: spec.generator.maker()?,
                    generator: Arc::new(spec.generator),
                    offset: spec.offset,
                    shape: spec.shape,
                };
                Ok(Arc::new(op) as Arc<dyn Op>)
            })
        },
    }
}

impl<A> fmt::Debug for GenerateBlock<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({:?} at {:?})", self.name, self.shape, self.offset)
    }
}

impl<A: Element> Op for GenerateBlock<A> {
    fn name(&self) -> &str {
        self.name
    }

    fn call(&self, _inputs: Vec<Value>) -> Result<Value, BoxError> {
        Ok(Arc::new((self.make)(&self.offset, &self.shape)))
    }

    fn spec(&self) -> Option<OpSpec> {
        let spec = GenerateSpec {
            dtype: Dtype::of::<A>()?,
            generator: (*self.generator).clone(),
            offset: self.offset.clone(),
            shape: self.shape.clone(),
        };
        op_spec("array.generate", &spec)
    }
}

/// The key of block `index` of `node`.
pub(crate) fn block_key(node: &Node, index: &[usize]) -> Key {
    node.key(index.iter().map(|&i| i as u32).collect::<Vec<_>>())
}

macro_rules! impl_random {
    ($t:ty) => {
        impl<D: Dimension> Array<$t, D> {
            /// Uniform random numbers in `[low, high)`, in blocks of `block`. Element `i` (in C
            /// order) depends only on `(seed, i)`, so the values do not depend on the chunking or
            /// the executor (see [`random`](crate::array::random) for the generator).
            ///
            /// # Errors
            /// [`Error::Metadata`] if `low < high` does not hold (or is not finite), or `block`
            /// does not fit `shape`.
            ///
            /// # Examples
            /// ```
            /// use drask::prelude::*;
            /// use drask::array::{Array, ndarray::Ix2};
            /// let a = Array::<f64, Ix2>::random_uniform(7, &[100, 80], &[30, 80], 0.0, 1.0)?;
            /// let b = Array::<f64, Ix2>::random_uniform(7, &[100, 80], &[100, 7], 0.0, 1.0)?;
            /// assert_eq!(a.compute()?, b.compute()?); // same values, any chunking
            /// # Ok::<(), drask::Error>(())
            /// ```
            pub fn random_uniform(seed: u64, shape: &[usize], block: &[usize], low: $t, high: $t) -> Result<Self> {
                let generator = Generator::RandomUniform {
                    seed,
                    shape: shape.to_vec(),
                    low: ScalarSpec::of(low).expect("floats have tags"),
                    high: ScalarSpec::of(high).expect("floats have tags"),
                };
                Array::generated(generator, shape, block)
            }

            /// Normally distributed random numbers, chunking-independent like
            /// [`random_uniform`](Array::random_uniform).
            ///
            /// # Errors
            /// [`Error::Metadata`] if `std` is negative or not finite, or `block` does not fit.
            pub fn random_normal(seed: u64, shape: &[usize], block: &[usize], mean: $t, std: $t) -> Result<Self> {
                let generator = Generator::RandomNormal {
                    seed,
                    shape: shape.to_vec(),
                    mean: ScalarSpec::of(mean).expect("floats have tags"),
                    std: ScalarSpec::of(std).expect("floats have tags"),
                };
                Array::generated(generator, shape, block)
            }
        }
    };
}

impl_random!(f64);
impl_random!(f32);

impl<D: Dimension> Array<i64, D> {
    /// Uniform random integers in `[low, high)`, unbiased, chunking-independent.
    ///
    /// # Errors
    /// [`Error::Metadata`] if `low >= high` or `block` does not fit.
    pub fn random_integers(seed: u64, shape: &[usize], block: &[usize], low: i64, high: i64) -> Result<Self> {
        let generator = Generator::RandomIntegers {
            seed,
            shape: shape.to_vec(),
            low,
            high,
        };
        Array::generated(generator, shape, block)
    }
}
