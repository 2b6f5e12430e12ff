//! The chunk grid of an array: how each axis is cut into blocks.

use std::fmt;

use crate::error::{Error, Result};

/// The default target size of one block in bytes when chunks are chosen automatically (Dask's
/// `array.chunk-size` default is 128 MiB; within 64–128 MiB blocks amortise per-task overhead and
/// still give a 2-core machine work to share on arrays of a few hundred MiB).
pub const AUTO_BLOCK_BYTES: usize = 128 << 20;

/// Block lengths along every axis: `chunks[axis][i]` is the length of the `i`-th block along
/// `axis`. Every axis's lengths sum to the array's length on that axis; no block is empty unless
/// the axis is (an axis of length 0 has one block of length 0).
///
/// # Examples
/// ```
/// use drask::array::Chunks;
/// let chunks = Chunks::uniform(&[10, 4], &[4, 4])?;
/// assert_eq!(chunks.axes(), &[vec![4, 4, 2], vec![4]]);
/// assert_eq!(chunks.grid(), vec![3, 1]);
/// assert_eq!(chunks.block_offset(&[2, 0]), vec![8, 0]);
/// # Ok::<(), drask::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Chunks {
    axes: Vec<Vec<usize>>,
}

impl fmt::Debug for Chunks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.axes.iter()).finish()
    }
}

impl Chunks {
    /// Blocks of `block` elements along each axis, the last one ragged.
    ///
    /// # Errors
    /// [`Error::Metadata`] if the ranks differ or a block length is 0 on a non-empty axis.
    pub fn uniform(shape: &[usize], block: &[usize]) -> Result<Chunks> {
        if shape.len() != block.len() {
            return Err(Error::Metadata(format!(
                "chunk shape {block:?} has {} axes, the array {shape:?} has {}",
                block.len(),
                shape.len()
            )));
        }
        let axes = shape
            .iter()
            .zip(block)
            .enumerate()
            .map(|(axis, (&len, &b))| {
                if len == 0 {
                    return Ok(vec![0]);
                }
                if b == 0 {
                    return Err(Error::Metadata(format!(
                        "chunk length 0 along axis {axis} of {shape:?}"
                    )));
                }
                let mut lengths = vec![b; len / b];
                if len % b != 0 {
                    lengths.push(len % b);
                }
                Ok(lengths)
            })
            .collect::<Result<_>>()?;
        Ok(Chunks { axes })
    }

    /// Explicit block lengths per axis.
    ///
    /// # Errors
    /// [`Error::Metadata`] if an axis's lengths do not sum to the shape, or a block is empty on
    /// a non-empty axis.
    pub fn explicit(shape: &[usize], axes: Vec<Vec<usize>>) -> Result<Chunks> {
        if shape.len() != axes.len() {
            return Err(Error::Metadata(format!(
                "chunks {axes:?} do not have the rank of {shape:?}"
            )));
        }
        for (axis, (lengths, &len)) in axes.iter().zip(shape).enumerate() {
            let bad_empty = len > 0 && lengths.contains(&0);
            if lengths.iter().sum::<usize>() != len || lengths.is_empty() || bad_empty {
                return Err(Error::Metadata(format!(
                    "chunks {lengths:?} along axis {axis} do not cut its length {len} into non-empty blocks"
                )));
            }
        }
        Ok(Chunks { axes })
    }

    /// Blocks of about [`AUTO_BLOCK_BYTES`]: whole rows of the trailing axes where possible
    /// (contiguous in C order), cutting the leading axes.
    pub fn auto(shape: &[usize], itemsize: usize) -> Chunks {
        Chunks::auto_with(shape, itemsize, AUTO_BLOCK_BYTES)
    }

    /// Like [`auto`](Chunks::auto) with a target block size in bytes.
    pub fn auto_with(shape: &[usize], itemsize: usize, target_bytes: usize) -> Chunks {
        let mut budget = (target_bytes / itemsize.max(1)).max(1);
        let mut block = vec![1; shape.len()];
        // Fill from the last axis: take whole axes while they fit, then part of the next one.
        for axis in (0..shape.len()).rev() {
            let len = shape[axis].max(1);
            if len <= budget {
                block[axis] = len;
                budget /= len;
            } else {
                block[axis] = budget.max(1);
                break;
            }
        }
        Chunks::uniform(shape, &block).expect("auto chunks are valid by construction")
    }

    /// Block lengths along each axis.
    pub fn axes(&self) -> &[Vec<usize>] {
        &self.axes
    }

    /// The number of axes.
    pub fn ndim(&self) -> usize {
        self.axes.len()
    }

    /// The array's shape.
    pub fn shape(&self) -> Vec<usize> {
        self.axes.iter().map(|a| a.iter().sum()).collect()
    }

    /// Blocks along each axis.
    pub fn grid(&self) -> Vec<usize> {
        self.axes.iter().map(Vec::len).collect()
    }

    /// The number of blocks.
    pub fn nblocks(&self) -> usize {
        self.axes.iter().map(Vec::len).product()
    }

    /// Every block index, in C order (the last axis fastest).
    pub fn block_indices(&self) -> Vec<Vec<usize>> {
        let grid = self.grid();
        let mut all = Vec::with_capacity(self.nblocks());
        let mut index = vec![0; grid.len()];
        if grid.contains(&0) {
            return all;
        }
        loop {
            all.push(index.clone());
            let mut axis = grid.len();
            loop {
                if axis == 0 {
                    return all;
                }
                axis -= 1;
                index[axis] += 1;
                if index[axis] < grid[axis] {
                    break;
                }
                index[axis] = 0;
            }
        }
    }

    /// Every block index in C order, as key indices.
    pub(crate) fn block_key_indices(&self) -> Vec<Vec<u32>> {
        self.block_indices()
            .into_iter()
            .map(|i| i.into_iter().map(|x| x as u32).collect())
            .collect()
    }

    /// The shape of block `index`.
    pub fn block_shape(&self, index: &[usize]) -> Vec<usize> {
        self.axes.iter().zip(index).map(|(a, &i)| a[i]).collect()
    }

    /// Where block `index` starts in the whole array.
    pub fn block_offset(&self, index: &[usize]) -> Vec<usize> {
        self.axes.iter().zip(index).map(|(a, &i)| a[..i].iter().sum()).collect()
    }

    /// The chunks with `axis` removed (what a reduction along it leaves).
    pub(crate) fn without_axis(&self, axis: usize) -> Chunks {
        let mut axes = self.axes.clone();
        axes.remove(axis);
        Chunks { axes }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_and_ragged() {
        let c = Chunks::uniform(&[5, 0, 3], &[2, 4, 3]).unwrap();
        assert_eq!(c.axes(), &[vec![2, 2, 1], vec![0], vec![3]]);
        assert_eq!(c.shape(), vec![5, 0, 3]);
        assert_eq!(c.nblocks(), 3);
        assert_eq!(c.block_indices(), vec![vec![0, 0, 0], vec![1, 0, 0], vec![2, 0, 0]]);
        assert_eq!(c.block_shape(&[2, 0, 0]), vec![1, 0, 3]);
    }

    #[test]
    fn bad_chunks_are_metadata_errors() {
        assert!(Chunks::uniform(&[4], &[0]).is_err());
        assert!(Chunks::uniform(&[4, 4], &[2]).is_err());
        assert!(Chunks::explicit(&[4], vec![vec![3]]).is_err());
        assert!(Chunks::explicit(&[4], vec![vec![4, 0]]).is_err());
        assert!(Chunks::explicit(&[4], vec![vec![1, 3]]).is_ok());
    }

    #[test]
    fn auto_takes_whole_trailing_axes() {
        let c = Chunks::auto_with(&[1000, 100], 8, 8 * 100 * 10);
        assert_eq!(c.axes()[1], vec![100]);
        assert_eq!(c.axes()[0].len(), 100);
        let c = Chunks::auto_with(&[3, 1000], 8, 8 * 10);
        assert_eq!(c.grid(), vec![3, 100]);
        assert_eq!(Chunks::auto(&[], 8).nblocks(), 1);
    }
}
