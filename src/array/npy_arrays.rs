//! Arrays from and to `.npy` files: blocks read out of a memory map, and a writer that streams
//! blocks to disk a row of blocks at a time.

use std::path::Path;

use ndarray::{ArrayD, Axis, Dimension, IxDyn, Slice};

use crate::array::npy::{NpyElem, NpyWriter, read_npy};
use crate::array::{Array, Element};
use crate::collection::{Collection, ComputeOptions};
use crate::error::{Error, Result};
use crate::graph::take_value;

impl<A: Element + NpyElem, D: Dimension> Array<A, D> {
    /// An array over a `.npy` file read into memory now, in blocks of `block`.
    ///
    /// # Errors
    /// Those of [`read_npy`] (naming the file), or [`Error::Metadata`] if the rank does not match
    /// `D` or `block` does not fit.
    pub fn from_npy(path: impl AsRef<Path>, block: &[usize]) -> Result<Array<A, D>> {
        let data = read_npy::<A>(path)?;
        Array::<A, IxDyn>::from_array(data, block)?.with_dim()
    }

    /// Writes the array to a `.npy` file, computing one row of blocks (all blocks that share a
    /// leading-axis index) at a time, so no more than one row of blocks is in memory. Work
    /// shared between rows of blocks is redone for each row; `persist` first to avoid that.
    ///
    /// # Errors
    /// The first failing task's error, or an I/O error naming the file.
    ///
    /// # Examples
    /// ```
    /// use drask::prelude::*;
    /// use drask::array::{Array, npy::read_npy, ndarray::Array2};
    /// let path = std::env::temp_dir().join(format!("drask-doc-to-npy-{}.npy", std::process::id()));
    /// let data = Array2::from_shape_fn((10, 7), |(i, j)| (i * 7 + j) as i64);
    /// let x = Array::from_array(data.clone(), &[4, 3])?;
    /// (&x * 2).to_npy(&path, &ComputeOptions::new())?;
    /// assert_eq!(read_npy::<i64>(&path)?, (data * 2).into_dyn());
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), drask::Error>(())
    /// ```
    pub fn to_npy(&self, path: impl AsRef<Path>, options: &ComputeOptions) -> Result<()> {
        let shape = self.shape();
        if shape.is_empty() {
            let value = self.compute_with(options)?;
            return crate::array::npy::write_npy(path, value.view());
        }
        let graph = self.graph(true)?;
        let mut writer = NpyWriter::<A>::create(path, &shape)?;
        let grid = self.chunks.grid();
        let all = self.chunks.block_indices();
        for row in 0..grid[0] {
            let indices: Vec<&Vec<usize>> = all.iter().filter(|i| i[0] == row).collect();
            let keys: Vec<_> = indices.iter().map(|i| self.block_key(i)).collect();
            let values = options.executor_ref().execute(&graph, &keys, &[])?;
            let mut strip_shape = shape.clone();
            strip_shape[0] = self.chunks.axes()[0][row];
            let mut strip = ArrayD::<A>::zeros(IxDyn(&strip_shape));
            for (index, value) in indices.iter().zip(values) {
                let block = take_value::<ArrayD<A>>(value).map_err(|e| Error::Internal(e.to_string()))?;
                let offset = self.chunks.block_offset(index);
                strip
                    .slice_each_axis_mut(|ax| {
                        let k = ax.axis.index();
                        let start = if k == 0 { 0 } else { offset[k] };
                        Slice::from(start..start + block.len_of(Axis(k)))
                    })
                    .assign(&block);
            }
            writer.write_rows(strip.view())?;
        }
        writer.finish()
    }
}

/// Arrays over memory-mapped files (feature `mmap`).
#[cfg(feature = "mmap")]
pub(crate) mod mapped {
    use std::fmt;
    use std::sync::Arc;

    use ndarray::{ArrayViewD, Dimension, IxDyn, Slice};

    use crate::array::collection::block_key;
    use crate::array::npy::{NpyElem, NpyMap};
    use crate::array::{Array, Chunks, Element};
    use crate::error::{BoxError, Result};
    use crate::graph::{Layer, Lowering, Node, Op, Value, unique_token};

    impl<A: Element + NpyElem, D: Dimension> Array<A, D> {
        /// An array over a memory-mapped `.npy` file (open it with the `unsafe`
        /// [`NpyMap::open`](crate::array::npy::NpyMap::open), whose contract is that the file is not
        /// modified while mapped). Nothing is read now, and an array larger than memory is processed
        /// a few blocks at a time. Reductions (`sum`, `mean`, `var`, `std`, `min`, `max`, their
        /// `_axis` forms and `arg*`, also over elementwise expressions of mapped arrays) and
        /// [`correlate`](Array::correlate) read the mapped bytes in place; other operations copy
        /// each block out of the map when its task runs. With
        /// [`NpyMap::with_release_after_read`](crate::array::npy::NpyMap::with_release_after_read),
        /// the in-place readers also drop the pages they read from resident memory.
        ///
        /// # Errors
        /// [`Error::Metadata`](crate::Error::Metadata) if the file's dtype is not `A`, the rank does not match `D`, or
        /// `block` does not fit.
        ///
        /// # Examples
        /// ```
        /// use std::sync::Arc;
        /// use drask::prelude::*;
        /// use drask::array::{Array, npy::{NpyMap, write_npy}, ndarray::{Array2, Ix2}};
        /// let path = std::env::temp_dir().join(format!("drask-doc-mmap-{}.npy", std::process::id()));
        /// let data = Array2::from_shape_fn((100, 30), |(i, j)| (i * 30 + j) as f64);
        /// write_npy(&path, data.view())?;
        /// // SAFETY: this example owns the file and does not change it while it is mapped.
        /// let map = Arc::new(unsafe { NpyMap::open(&path)? });
        /// let x = Array::<f64, Ix2>::from_npy_map(map, &[40, 30])?;
        /// assert_eq!(x.sum().compute()?, data.sum());
        /// # std::fs::remove_file(&path)?;
        /// # Ok::<(), drask::Error>(())
        /// ```
        pub fn from_npy_map(map: Arc<NpyMap>, block: &[usize]) -> Result<Array<A, D>> {
            map.view::<A>()?; // the dtype and layout are checked now, not in every task
            let shape = map.header().shape.clone();
            let chunks = Chunks::uniform(&shape, block)?;
            let views = MappedViews::<A> {
                map: map.clone(),
                chunks: chunks.clone(),
                _t: std::marker::PhantomData,
            };
            let views = Node::new(unique_token("from_npy_view").into(), vec![], Box::new(views));
            let layer = MapBlocks::<A> {
                map,
                chunks: chunks.clone(),
                views,
                _t: std::marker::PhantomData,
            };
            let node = Node::new(unique_token("from_npy").into(), vec![], Box::new(layer));
            Array::<A, IxDyn>::from_node(node, Arc::new(chunks)).with_dim()
        }
    }

    struct MapBlocks<A> {
        map: Arc<NpyMap>,
        chunks: Chunks,
        /// The same blocks as [`MappedBlock`] descriptors, for readers that read the map in place.
        /// Not an input: it is in a graph only where such a reader asked for it.
        views: Arc<Node>,
        _t: std::marker::PhantomData<fn() -> A>,
    }

    /// The node whose blocks are `node`'s as [`MappedBlock`]s, if `node` is a memory-mapped
    /// array of `A`.
    pub(crate) fn mapped_views<A: 'static>(node: &Node) -> Option<Arc<Node>> {
        let layer = node.layer().as_any()?.downcast_ref::<MapBlocks<A>>()?;
        Some(layer.views.clone())
    }

    impl<A> fmt::Debug for MapBlocks<A> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "MapBlocks({:?})", self.chunks)
        }
    }

    impl<A: Element + NpyElem> Layer for MapBlocks<A> {
        fn op_name(&self) -> &str {
            "from_npy"
        }

        fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
            for index in self.chunks.block_indices() {
                let op = MapBlock::<A> {
                    map: self.map.clone(),
                    offset: self.chunks.block_offset(&index),
                    shape: self.chunks.block_shape(&index),
                    _t: std::marker::PhantomData,
                };
                out.add(block_key(node, &index), Arc::new(op), &[])?;
            }
            Ok(())
        }

        fn as_any(&self) -> Option<&dyn std::any::Any> {
            Some(self)
        }
    }

    struct MapBlock<A> {
        map: Arc<NpyMap>,
        offset: Vec<usize>,
        shape: Vec<usize>,
        _t: std::marker::PhantomData<fn() -> A>,
    }

    impl<A> fmt::Debug for MapBlock<A> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "MapBlock({:?} at {:?})", self.shape, self.offset)
        }
    }

    impl<A: Element + NpyElem> Op for MapBlock<A> {
        fn name(&self) -> &str {
            "from_npy"
        }

        fn call(&self, _inputs: Vec<Value>) -> Result<Value, BoxError> {
            let view = self.map.view::<A>()?;
            let block = view.slice_each_axis(|ax| {
                let start = self.offset[ax.axis.index()];
                Slice::from(start..start + self.shape[ax.axis.index()])
            });
            Ok(Arc::new(block.to_owned()))
        }
    }

    /// A block of a memory-mapped array as a task value: where its elements lie in the map, not
    /// the elements. [`block_view`](crate::array::block_view::block_view) views it in place;
    /// dropping it (the executor does after its last reader) releases its pages if the map asks.
    pub(crate) struct MappedBlock<A> {
        map: Arc<NpyMap>,
        offset: Vec<usize>,
        shape: Vec<usize>,
        /// `NpyMap::view::<A>`, kept so readers need not name `A: NpyElem`.
        view: ViewFn<A>,
    }

    type ViewFn<A> = for<'m> fn(&'m NpyMap) -> crate::Result<ArrayViewD<'m, A>>;

    impl<A> fmt::Debug for MappedBlock<A> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "MappedBlock({:?} at {:?})", self.shape, self.offset)
        }
    }

    impl<A> MappedBlock<A> {
        /// The block's elements, in place in the map.
        pub(crate) fn view(&self) -> Result<ArrayViewD<'_, A>, BoxError> {
            let mut view = (self.view)(&self.map)?;
            view.slice_each_axis_inplace(|ax| {
                let start = self.offset[ax.axis.index()];
                Slice::from(start..start + self.shape[ax.axis.index()])
            });
            Ok(view)
        }

        /// Drops the pages the block lies in from resident memory, if the map asks for that.
        /// The pages span the block's first to last element (for a block cut along trailing
        /// axes, also pages of its neighbours, which are faulted in again if still needed).
        fn release(&self) -> crate::Result<()> {
            if !self.map.releases_after_read() || self.shape.contains(&0) {
                return Ok(());
            }
            let full = &self.map.header().shape;
            let flat = |index: &[usize]| index.iter().zip(full).fold(0, |acc, (&i, &n)| acc * n + i);
            let last: Vec<usize> = self.offset.iter().zip(&self.shape).map(|(&o, &n)| o + n - 1).collect();
            let size = std::mem::size_of::<A>();
            self.map.release(flat(&self.offset) * size..(flat(&last) + 1) * size)
        }
    }

    impl<A> Drop for MappedBlock<A> {
        fn drop(&mut self) {
            // Advice about memory only: a refusal leaves the data and the map as they were.
            let _ = self.release();
        }
    }

    /// The blocks of a memory-mapped array as [`MappedBlock`] descriptors.
    struct MappedViews<A> {
        map: Arc<NpyMap>,
        chunks: Chunks,
        _t: std::marker::PhantomData<fn() -> A>,
    }

    impl<A> fmt::Debug for MappedViews<A> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "MappedViews({:?})", self.chunks)
        }
    }

    impl<A: Element + NpyElem> Layer for MappedViews<A> {
        fn op_name(&self) -> &str {
            "from_npy_view"
        }

        fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
            for index in self.chunks.block_indices() {
                let op = ViewBlock::<A> {
                    map: self.map.clone(),
                    offset: self.chunks.block_offset(&index),
                    shape: self.chunks.block_shape(&index),
                    _t: std::marker::PhantomData,
                };
                out.add(block_key(node, &index), Arc::new(op), &[])?;
            }
            Ok(())
        }
    }

    struct ViewBlock<A> {
        map: Arc<NpyMap>,
        offset: Vec<usize>,
        shape: Vec<usize>,
        _t: std::marker::PhantomData<fn() -> A>,
    }

    impl<A> fmt::Debug for ViewBlock<A> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "ViewBlock({:?} at {:?})", self.shape, self.offset)
        }
    }

    impl<A: Element + NpyElem> Op for ViewBlock<A> {
        fn name(&self) -> &str {
            "from_npy_view"
        }

        fn call(&self, _inputs: Vec<Value>) -> Result<Value, BoxError> {
            Ok(Arc::new(MappedBlock::<A> {
                map: self.map.clone(),
                offset: self.offset.clone(),
                shape: self.shape.clone(),
                view: NpyMap::view::<A>,
            }))
        }
    }
}
