//! Arrays from and to `.npy` files: blocks read out of a memory map, and a writer that streams
//! blocks to disk a row of blocks at a time.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use ndarray::{ArrayD, Axis, Dimension, IxDyn, Slice};
use serde::{Deserialize, Serialize};

use crate::array::collection::block_key;
use crate::array::npy::{NpyElem, NpyWriter, read_npy, read_npy_block};
use crate::array::remote::{Dtype, op_spec, params, with_element};
use crate::array::{Array, Chunks, Element};
use crate::collection::{Collection, ComputeOptions};
use crate::error::{BoxError, Error, Result};
use crate::graph::{Layer, Lowering, Node, Op, OpSpec, Value, take_value, unique_token};
use crate::registry::OpFactory;

impl<A: Element + NpyElem, D: Dimension> Array<A, D> {
    /// An array over a `.npy` file read into memory now, in blocks of `block`.
    ///
    /// On a remote executor, each worker reads its blocks from the file at the same path
    /// instead (so the path must reach the same file there); a block fails if the file's size
    /// or modification time changed since it was read here.
    ///
    /// # Errors
    /// Those of [`read_npy`] (naming the file), or [`Error::Metadata`] if the rank does not match
    /// `D` or `block` does not fit.
    pub fn from_npy(path: impl AsRef<Path>, block: &[usize]) -> Result<Array<A, D>> {
        let file = NpyFile::stamp(path.as_ref())?;
        let data = read_npy::<A>(path)?;
        let chunks = Chunks::uniform(data.shape(), block)?;
        let layer = ReadBlocks {
            data: Some(Arc::new(data)),
            file: Arc::new(file),
            chunks: chunks.clone(),
        };
        let node = Node::new(unique_token("from_npy").into(), vec![], Box::new(layer));
        Array::<A, IxDyn>::from_node(node, Arc::new(chunks)).with_dim()
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

/// A `.npy` file as a block's spec names it: its path, and its size and modification time when
/// the graph was built, so a worker refuses a file that changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct NpyFile {
    path: PathBuf,
    len: u64,
    /// Nanoseconds since the Unix epoch, where the file system keeps it.
    modified: Option<u64>,
}

impl NpyFile {
    /// The file at `path` as it is now.
    pub(crate) fn stamp(path: &Path) -> Result<NpyFile> {
        let meta = std::fs::metadata(path).map_err(|e| {
            Error::Io(Arc::new(std::io::Error::new(
                e.kind(),
                format!("{}: {e}", path.display()),
            )))
        })?;
        Ok(NpyFile {
            path: path.to_path_buf(),
            len: meta.len(),
            modified: modified(&meta),
        })
    }

    /// Reads one block, after checking the file is the one the graph was built over.
    fn read<A: NpyElem>(&self, offset: &[usize], shape: &[usize]) -> Result<ArrayD<A>, BoxError> {
        let now = NpyFile::stamp(&self.path)?;
        if now.len != self.len || now.modified != self.modified {
            return Err(format!(
                "{} changed since the array was built over it (size {} then, {} now)",
                self.path.display(),
                self.len,
                now.len
            )
            .into());
        }
        Ok(read_npy_block::<A>(&self.path, offset, shape)?)
    }
}

fn modified(meta: &std::fs::Metadata) -> Option<u64> {
    let since = meta.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
    u64::try_from(since.as_nanos()).ok()
}

/// The blocks of a `.npy` file: sliced out of the data read while building, or, on a worker that
/// rebuilt them from their spec (`data` is `None`), read from the file.
struct ReadBlocks<A> {
    data: Option<Arc<ArrayD<A>>>,
    file: Arc<NpyFile>,
    chunks: Chunks,
}

impl<A> fmt::Debug for ReadBlocks<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReadBlocks({}, {:?})", self.file.path.display(), self.chunks)
    }
}

impl<A: Element + NpyElem> Layer for ReadBlocks<A> {
    fn op_name(&self) -> &str {
        "from_npy"
    }

    fn lower(&self, node: &Node, out: &mut Lowering<'_>) -> Result<()> {
        for index in self.chunks.block_indices() {
            let op = ReadBlock::<A> {
                name: "from_npy",
                data: self.data.clone(),
                file: self.file.clone(),
                offset: self.chunks.block_offset(&index),
                shape: self.chunks.block_shape(&index),
            };
            out.add(block_key(node, &index), Arc::new(op), &[])?;
        }
        Ok(())
    }
}

struct ReadBlock<A> {
    /// `from_npy`, or `from_npy_view` where it stands in for a mapped block's descriptor.
    name: &'static str,
    data: Option<Arc<ArrayD<A>>>,
    file: Arc<NpyFile>,
    offset: Vec<usize>,
    shape: Vec<usize>,
}

impl<A> fmt::Debug for ReadBlock<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReadBlock({:?} at {:?})", self.shape, self.offset)
    }
}

#[derive(Serialize, Deserialize)]
struct NpyBlockSpec {
    dtype: Dtype,
    file: NpyFile,
    offset: Vec<usize>,
    shape: Vec<usize>,
}

/// Factory names of ops reading a block of a `.npy` file on a worker: a block of an array
/// (`from_npy`), or one standing in for a memory-mapped block read in place (`from_npy_view`),
/// which keeps its name so the rebuilt graph prints as the original.
const NPY_BLOCK: &str = "array.npy_block";
const NPY_VIEW_BLOCK: &str = "array.npy_view_block";

/// The spec of a block read from `file` by the op `factory` rebuilds.
fn npy_read_spec<A: 'static>(factory: &str, file: &NpyFile, offset: &[usize], shape: &[usize]) -> Option<OpSpec> {
    let spec = NpyBlockSpec {
        dtype: Dtype::of::<A>()?,
        file: file.clone(),
        offset: offset.to_vec(),
        shape: shape.to_vec(),
    };
    op_spec(factory, &spec)
}

impl<A: Element + NpyElem> Op for ReadBlock<A> {
    fn name(&self) -> &str {
        self.name
    }

    fn call(&self, _inputs: Vec<Value>) -> Result<Value, BoxError> {
        match &self.data {
            Some(data) => {
                let view = data.slice_each_axis(|ax| {
                    let start = self.offset[ax.axis.index()];
                    Slice::from(start..start + self.shape[ax.axis.index()])
                });
                Ok(Arc::new(view.to_owned()))
            }
            None => Ok(Arc::new(self.file.read::<A>(&self.offset, &self.shape)?)),
        }
    }

    fn spec(&self) -> Option<OpSpec> {
        let factory = if self.name == "from_npy" {
            NPY_BLOCK
        } else {
            NPY_VIEW_BLOCK
        };
        npy_read_spec::<A>(factory, &self.file, &self.offset, &self.shape)
    }
}

/// A block read from the file by a worker (nothing was read into its graph).
fn read_block_op(name: &'static str, p: &serde_json::Value) -> Result<Arc<dyn Op>, BoxError> {
    let spec: NpyBlockSpec = params(p)?;
    with_element!(spec.dtype, A => {
        let op = ReadBlock::<A> { name, data: None, file: Arc::new(spec.file), offset: spec.offset, shape: spec.shape };
        Ok(Arc::new(op) as Arc<dyn Op>)
    })
}

inventory::submit! {
    OpFactory { name: NPY_BLOCK, build: |p| read_block_op("from_npy", p) }
}

inventory::submit! {
    OpFactory { name: NPY_VIEW_BLOCK, build: |p| read_block_op("from_npy_view", p) }
}

/// Arrays over memory-mapped files (feature `mmap`).
#[cfg(feature = "mmap")]
pub(crate) mod mapped {
    use std::fmt;
    use std::sync::Arc;

    use ndarray::{ArrayViewD, Dimension, IxDyn, Slice};

    use super::{NPY_BLOCK, NPY_VIEW_BLOCK, NpyFile, npy_read_spec};
    use crate::array::collection::block_key;
    use crate::array::npy::{NpyElem, NpyMap};
    use crate::array::{Array, Chunks, Element};
    use crate::error::{BoxError, Result};
    use crate::graph::{Layer, Lowering, Node, Op, OpSpec, Value, unique_token};

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

        fn spec(&self) -> Option<OpSpec> {
            mapped_block_spec::<A>(NPY_BLOCK, &self.map, &self.offset, &self.shape)
        }
    }

    /// The spec of a block of a memory-mapped file: a worker reads the block from the file with
    /// plain reads (mapping it there would take an `unsafe` promise no spec can make) into an
    /// owned block. The map's contract is that the file does not change while mapped, so its
    /// size and time now are those it was mapped with; the worker refuses a file that differs.
    fn mapped_block_spec<A: 'static>(factory: &str, map: &NpyMap, offset: &[usize], shape: &[usize]) -> Option<OpSpec> {
        let file = NpyFile::stamp(map.path()).ok()?;
        npy_read_spec::<A>(factory, &file, offset, shape)
    }

    /// A block of a memory-mapped array as a task value: where its elements lie in the map, not
    /// the elements. [`block_view`](crate::array::block_view::block_view) views it in place;
    /// dropping it (the executor does after its last reader) releases its pages if the map asks.
    ///
    /// It has no codec because it never crosses a process boundary: the spec of the op that
    /// makes it ([`ViewBlock`]) rebuilds, on a worker, as a read of the block into an owned
    /// `ArrayD`, which every reader of these values also accepts.
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

        /// Rebuilt as a plain read of the block (an owned block, not a descriptor): another
        /// process has no map to point into.
        fn spec(&self) -> Option<OpSpec> {
            mapped_block_spec::<A>(NPY_VIEW_BLOCK, &self.map, &self.offset, &self.shape)
        }
    }
}
