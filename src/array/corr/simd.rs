//! The inner loop of the correlation kernel: per-column shifted sums over one piece of rows and
//! one block of columns, in explicit SIMD (AVX-512 or AVX2 + FMA) or in portable code, chosen at
//! run time.
//!
//! The only file of the crate with `unsafe` code: SIMD intrinsics on raw pointers. The safe entry
//! point, [`accumulate`], checks every length the kernels rely on and calls an ISA-specific kernel
//! only after the CPU reported its features.
//!
//! For row `r` of a piece, column `j` of a block and target `t`, with `d = x[r][j] - shift[j]`:
//! `sx[j] += d`, `sxx[j] += d * d`, `sxy[t * w + j] += d * dy[r * nt + t]`. All arithmetic is
//! `f64`; `f32` input is widened in registers. Both SIMD kernels stream four rows at a time, so
//! the accumulators of a block (which stay in L1/L2) are loaded and stored once per four rows,
//! and prefetch the next four rows.
//!
//! The levels ([`Level::detect`] takes the first in [`Level::PREFERRED`] order that the CPU
//! supports, unless the `DRASK_SIMD` environment variable names another):
//! - [`Level::Avx512`]: AVX-512F, 8 `f64` lanes (`__m512d`), `f32` widened with
//!   `vcvtps2pd`. The last `w % 8` columns of a block take one masked step: masked-off lanes are
//!   neither read nor written.
//! - [`Level::Avx2Fma`]: AVX2 + FMA, 4 `f64` lanes; the last `w % 4` columns in scalar code.
//! - [`Level::Portable`]: plain Rust, vectorized by the compiler for the baseline target.
//!
//! AVX-512 is not faster than AVX2 on the inputs measured so far (BENCHMARKS.md, a 2-core
//! Sapphire Rapids VM): on par for `f32`, 10-35% slower for `f64`, where the kernel streams rows
//! that do not fit in cache, and also on one thread, so not for want of shared bandwidth. The
//! data's and the accumulators' alignment made no difference. So AVX2 comes first by default,
//! and `DRASK_SIMD=avx512` picks AVX-512 (for CPUs where it does pay, and to measure).
#![allow(unsafe_code)]

use std::sync::OnceLock;

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::{
    __m256d, __m512d, __mmask8, _MM_HINT_T0, _mm_loadu_ps, _mm_prefetch, _mm256_add_pd, _mm256_cvtps_pd,
    _mm256_fmadd_pd, _mm256_loadu_pd, _mm256_loadu_ps, _mm256_set1_pd, _mm256_setzero_pd, _mm256_storeu_pd,
    _mm256_sub_pd, _mm512_add_pd, _mm512_castps512_ps256, _mm512_cvtps_pd, _mm512_fmadd_pd, _mm512_loadu_pd,
    _mm512_mask_storeu_pd, _mm512_maskz_loadu_pd, _mm512_maskz_loadu_ps, _mm512_set1_pd, _mm512_setzero_pd,
    _mm512_storeu_pd, _mm512_sub_pd,
};

/// The mask of a full AVX-512 step: all 8 lanes.
#[cfg(target_arch = "x86_64")]
const FULL: __mmask8 = 0xFF;

/// Element types the kernels read, widened to `f64` in registers: `f32` and `f64`.
///
/// Public only so that [`CorrElem`](super::CorrElem) can name it as a supertrait; it lives in a
/// private module, so no other crate can implement it (which seals `CorrElem`).
#[allow(unreachable_pub)]
pub trait Lanes: Copy + Send + Sync + 'static {
    /// The value as `f64` (exact for `f32` and `f64`).
    fn to_f64(self) -> f64;

    /// Loads 4 consecutive values from `p`, widened to `f64` lanes.
    ///
    /// # Safety
    /// `p` must be valid for reading 4 values of `Self` (any alignment), and the CPU must
    /// support AVX.
    #[cfg(target_arch = "x86_64")]
    unsafe fn load4(p: *const Self) -> __m256d;

    /// Loads the values `p[i]` for the lanes `i < 8` whose bit is set in `k`, widened to `f64`
    /// lanes; the other lanes are zero and their memory is not read (with `k` = [`FULL`], a plain
    /// load of 8 values).
    ///
    /// # Safety
    /// `p.add(i)` must be valid for reading one value of `Self` (any alignment) for every bit `i`
    /// set in `k`, and the CPU must support AVX-512F.
    #[cfg(target_arch = "x86_64")]
    unsafe fn load8(p: *const Self, k: __mmask8) -> __m512d;
}

impl Lanes for f32 {
    #[inline]
    fn to_f64(self) -> f64 {
        f64::from(self)
    }

    #[cfg(target_arch = "x86_64")]
    #[inline]
    #[target_feature(enable = "avx")]
    unsafe fn load4(p: *const f32) -> __m256d {
        // SAFETY: the caller guarantees that `p` is valid for 4 reads and that the CPU has AVX.
        unsafe { _mm256_cvtps_pd(_mm_loadu_ps(p)) }
    }

    #[cfg(target_arch = "x86_64")]
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn load8(p: *const f32, k: __mmask8) -> __m512d {
        if k == FULL {
            // SAFETY: all 8 bits are set, so the caller guarantees 8 valid reads at `p`, and
            // AVX-512F (which implies AVX).
            _mm512_cvtps_pd(unsafe { _mm256_loadu_ps(p) })
        } else {
            // SAFETY: a masked load reads only the lanes whose bit is set (the upper 8 of the 16
            // are clear), and the caller guarantees those reads and AVX-512F.
            let v = unsafe { _mm512_maskz_loadu_ps(u16::from(k), p) };
            _mm512_cvtps_pd(_mm512_castps512_ps256(v))
        }
    }
}

impl Lanes for f64 {
    #[inline]
    fn to_f64(self) -> f64 {
        self
    }

    #[cfg(target_arch = "x86_64")]
    #[inline]
    #[target_feature(enable = "avx")]
    unsafe fn load4(p: *const f64) -> __m256d {
        // SAFETY: the caller guarantees that `p` is valid for 4 reads and that the CPU has AVX.
        unsafe { _mm256_loadu_pd(p) }
    }

    #[cfg(target_arch = "x86_64")]
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn load8(p: *const f64, k: __mmask8) -> __m512d {
        // SAFETY: as for `f32`: the caller guarantees the reads of the lanes set in `k` (all 8
        // for `FULL`), and a masked load reads no other lane.
        unsafe { load_pd(p, k) }
    }
}

/// Which kernel runs the inner loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Level {
    /// Plain Rust that the compiler vectorizes for the baseline target (SSE2 on x86-64).
    Portable,
    /// `std::arch` AVX2 + FMA intrinsics, 4 `f64` lanes.
    Avx2Fma,
    /// `std::arch` AVX-512F intrinsics, 8 `f64` lanes, masked loads and stores for the last
    /// columns.
    Avx512,
}

impl Level {
    /// Every level, in the order [`detect`](Level::detect) prefers them: AVX2 before AVX-512,
    /// which measured on par for `f32` and slower for `f64` (see the module docs).
    pub(crate) const PREFERRED: [Level; 3] = [Level::Avx2Fma, Level::Avx512, Level::Portable];

    /// The level the kernels use: the one the `DRASK_SIMD` environment variable names, if this
    /// CPU supports it, otherwise the best this CPU supports. Read once per process.
    pub(crate) fn detect() -> Level {
        static LEVEL: OnceLock<Level> = OnceLock::new();
        *LEVEL.get_or_init(|| Level::choose(std::env::var("DRASK_SIMD").ok().as_deref()))
    }

    /// The level named by `requested` (a [`name`](Level::name), or `"avx2"`) if this CPU
    /// supports it, otherwise the first of [`PREFERRED`](Level::PREFERRED) it supports.
    pub(crate) fn choose(requested: Option<&str>) -> Level {
        let named = requested.and_then(|name| match name.trim() {
            "portable" => Some(Level::Portable),
            "avx2" | "avx2+fma" => Some(Level::Avx2Fma),
            "avx512" => Some(Level::Avx512),
            _ => None,
        });
        named
            .into_iter()
            .chain(Level::PREFERRED)
            .find(|l| l.supported())
            .unwrap_or(Level::Portable)
    }

    /// Whether this CPU can run the level (checked at run time; the result is cached by std).
    pub(crate) fn supported(self) -> bool {
        match self {
            Level::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Level::Avx2Fma => is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
            // `target_feature(enable = "avx512f")` lets the compiler use AVX2 and FMA too.
            #[cfg(target_arch = "x86_64")]
            Level::Avx512 => is_x86_feature_detected!("avx512f") && Level::Avx2Fma.supported(),
            #[cfg(not(target_arch = "x86_64"))]
            Level::Avx2Fma | Level::Avx512 => false,
        }
    }

    /// The name [`simd_level`](super::simd_level) reports.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Level::Portable => "portable",
            Level::Avx2Fma => "avx2+fma",
            Level::Avx512 => "avx512",
        }
    }

    /// Every level this CPU supports, portable first and the preferred one last (tests run them
    /// all and compare).
    #[cfg(test)]
    pub(crate) fn available() -> Vec<Level> {
        Level::PREFERRED.into_iter().rev().filter(|l| l.supported()).collect()
    }
}

/// What one kernel call reads: a piece of rows, a block of columns, the shift and the targets.
#[derive(Debug)]
pub(crate) struct Block<'a, A> {
    /// The rows of the piece, each at least `col0 + shift.len()` long.
    pub(crate) rows: &'a [&'a [A]],
    /// The first column of the block.
    pub(crate) col0: usize,
    /// Per-column shift subtracted before accumulating; its length is the block's width `w`.
    pub(crate) shift: &'a [f64],
    /// Target deviations, row-major: `dy[r * nt + t]`.
    pub(crate) dy: &'a [f64],
    /// Number of targets, at least 1.
    pub(crate) nt: usize,
}

/// What one kernel call adds to: per-column sums, `w` each, and `nt * w` cross sums.
#[derive(Debug)]
pub(crate) struct Sums<'a> {
    pub(crate) sx: &'a mut [f64],
    pub(crate) sxx: &'a mut [f64],
    pub(crate) sxy: &'a mut [f64],
}

/// Adds the shifted sums of `block` into `sums` with the kernel of `level` (the portable one if
/// this CPU does not support `level`).
///
/// # Panics
/// If a length in `block` or `sums` disagrees with the others (a bug in the caller).
pub(crate) fn accumulate<A: Lanes>(level: Level, block: &Block<'_, A>, sums: Sums<'_>) {
    let w = block.shift.len();
    let nt = block.nt;
    assert!(nt >= 1, "at least one target");
    assert!(
        sums.sx.len() == w && sums.sxx.len() == w && sums.sxy.len() == nt * w,
        "sums sized for the block"
    );
    assert_eq!(
        block.dy.len(),
        block.rows.len() * nt,
        "one target deviation per row and target"
    );
    let end = block.col0.checked_add(w).expect("block end fits in usize");
    assert!(
        block.rows.iter().all(|row| row.len() >= end),
        "every row covers the block"
    );
    if w == 0 || block.rows.is_empty() {
        return;
    }
    match level {
        #[cfg(target_arch = "x86_64")]
        Level::Avx512 if level.supported() => {
            // SAFETY: the CPU reported AVX-512F (and AVX2 and FMA) just above.
            unsafe { accumulate_groups(block, sums, rows_avx512::<A, 4>, rows_avx512::<A, 1>) }
        }
        #[cfg(target_arch = "x86_64")]
        Level::Avx2Fma if level.supported() => {
            // SAFETY: the CPU reported AVX2 and FMA just above.
            unsafe { accumulate_groups(block, sums, rows_avx2::<A, 4>, rows_avx2::<A, 1>) }
        }
        _ => accumulate_portable(block, sums),
    }
}

/// The portable kernel: one row at a time, loops the compiler vectorizes.
fn accumulate_portable<A: Lanes>(block: &Block<'_, A>, sums: Sums<'_>) {
    let (w, nt, col0) = (block.shift.len(), block.nt, block.col0);
    for (row, dy) in block.rows.iter().zip(block.dy.chunks_exact(nt)) {
        let x = &row[col0..col0 + w];
        let lanes = x
            .iter()
            .zip(block.shift)
            .zip(sums.sx.iter_mut())
            .zip(sums.sxx.iter_mut());
        for (((&xj, &cj), sx), sxx) in lanes {
            let d = xj.to_f64() - cj;
            *sx += d;
            *sxx += d * d;
        }
        for (&y, sxy) in dy.iter().zip(sums.sxy.chunks_exact_mut(w)) {
            for ((&xj, &cj), e) in x.iter().zip(block.shift).zip(sxy) {
                *e += (xj.to_f64() - cj) * y;
            }
        }
    }
}

/// A SIMD kernel's step over `R` rows (see [`rows_avx2`]): the rows' runs of the block, the next
/// group's runs to prefetch, the rows' target deviations, the shift, then `sx`, `sxx`, `sxy`.
#[cfg(target_arch = "x86_64")]
type Rows<A, const R: usize> =
    unsafe fn([&[A]; R], Option<[&[A]; R]>, &[f64], &[f64], &mut [f64], &mut [f64], &mut [f64]);

/// Runs a SIMD kernel over the block: `four` on groups of four rows (with the next four to
/// prefetch), then `one` on the remaining rows one by one.
///
/// # Safety
/// The CPU must support the features `four` and `one` need. Lengths must be as [`accumulate`]
/// checks them.
#[cfg(target_arch = "x86_64")]
unsafe fn accumulate_groups<A: Lanes>(block: &Block<'_, A>, sums: Sums<'_>, four: Rows<A, 4>, one: Rows<A, 1>) {
    let (w, nt, c0) = (block.shift.len(), block.nt, block.col0);
    let mut groups = block.rows.chunks_exact(4);
    let mut dys = block.dy.chunks_exact(4 * nt);
    for (g, (rows, dy)) in (&mut groups).zip(&mut dys).enumerate() {
        let x = [
            &rows[0][c0..c0 + w],
            &rows[1][c0..c0 + w],
            &rows[2][c0..c0 + w],
            &rows[3][c0..c0 + w],
        ];
        let next = block.rows.get(4 * g + 4..4 * g + 8).map(|n| {
            [
                &n[0][c0..c0 + w],
                &n[1][c0..c0 + w],
                &n[2][c0..c0 + w],
                &n[3][c0..c0 + w],
            ]
        });
        // SAFETY: the caller guarantees the CPU features; the kernels check the lengths
        // themselves.
        unsafe { four(x, next, dy, block.shift, sums.sx, sums.sxx, sums.sxy) };
    }
    for (row, dy) in groups.remainder().iter().zip(dys.remainder().chunks_exact(nt)) {
        // SAFETY: as above.
        unsafe { one([&row[c0..c0 + w]], None, dy, block.shift, sums.sx, sums.sxx, sums.sxy) };
    }
}

/// Adds `R` rows into the sums: 4 columns per step in `f64` lanes, then the last `w % 4`
/// columns in scalar code. When `next` holds the rows of the next group, the loop prefetches
/// them at the same columns: each row's run of the block is then on its way before
/// the loop reaches it, where hardware prefetchers would first wait for a few misses on every
/// row (this lifts the kernel from about 65% to about 85% of the read bandwidth, `f32`).
///
/// # Safety
/// The CPU must support AVX2 and FMA. (Lengths are checked here.)
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn rows_avx2<A: Lanes, const R: usize>(
    x: [&[A]; R],
    next: Option<[&[A]; R]>,
    dy: &[f64],
    shift: &[f64],
    sx: &mut [f64],
    sxx: &mut [f64],
    sxy: &mut [f64],
) {
    let (w, nt) = checked_widths(&x, dy, shift, sx, sxx, sxy);
    let wv = w - w % 4;
    // Values per cache line: prefetch once per line.
    let line = 64 / size_of::<A>();
    let px: [*const A; R] = x.map(<[A]>::as_ptr);
    let (pc, psx, psxx, psxy) = (shift.as_ptr(), sx.as_mut_ptr(), sxx.as_mut_ptr(), sxy.as_mut_ptr());
    // SAFETY: every `j` below satisfies `j + 4 <= wv <= w`. Each of `px[k]`, `pc`, `psx`, `psxx`
    // points at `w` values and `psxy` at `nt * w` (accessed at `t * w + j`, `t < nt`), so every
    // 4-lane load and store is in bounds; prefetches address element `j` of rows of `w` values
    // (and could not fault even out of bounds). `psx`, `psxx` and `psxy` come from unique borrows, and
    // `dy` is indexed with bounds checks. The caller guarantees AVX2 and FMA.
    unsafe {
        if nt == 1 {
            // One target (the common case): its four deviations stay in registers.
            let mut yb = [_mm256_setzero_pd(); R];
            for (b, &y) in yb.iter_mut().zip(dy) {
                *b = _mm256_set1_pd(y);
            }
            let mut j = 0;
            while j < wv {
                if let (Some(next), 0) = (next, j % line) {
                    for n in next {
                        _mm_prefetch::<_MM_HINT_T0>(n.as_ptr().add(j).cast());
                    }
                }
                let c = _mm256_loadu_pd(pc.add(j));
                let mut d = [c; R];
                for (dk, pk) in d.iter_mut().zip(px) {
                    *dk = _mm256_sub_pd(A::load4(pk.add(j)), c);
                }
                let mut a = _mm256_loadu_pd(psx.add(j));
                let mut q = _mm256_loadu_pd(psxx.add(j));
                let mut e = _mm256_loadu_pd(psxy.add(j));
                for (&dk, &yk) in d.iter().zip(&yb) {
                    a = _mm256_add_pd(a, dk);
                    q = _mm256_fmadd_pd(dk, dk, q);
                    e = _mm256_fmadd_pd(dk, yk, e);
                }
                _mm256_storeu_pd(psx.add(j), a);
                _mm256_storeu_pd(psxx.add(j), q);
                _mm256_storeu_pd(psxy.add(j), e);
                j += 4;
            }
        } else {
            let mut j = 0;
            while j < wv {
                if let (Some(next), 0) = (next, j % line) {
                    for n in next {
                        _mm_prefetch::<_MM_HINT_T0>(n.as_ptr().add(j).cast());
                    }
                }
                let c = _mm256_loadu_pd(pc.add(j));
                let mut d = [c; R];
                for (dk, pk) in d.iter_mut().zip(px) {
                    *dk = _mm256_sub_pd(A::load4(pk.add(j)), c);
                }
                let mut a = _mm256_loadu_pd(psx.add(j));
                let mut q = _mm256_loadu_pd(psxx.add(j));
                for &dk in &d {
                    a = _mm256_add_pd(a, dk);
                    q = _mm256_fmadd_pd(dk, dk, q);
                }
                _mm256_storeu_pd(psx.add(j), a);
                _mm256_storeu_pd(psxx.add(j), q);
                for t in 0..nt {
                    let o = psxy.add(t * w + j);
                    let mut e = _mm256_loadu_pd(o);
                    for (k, &dk) in d.iter().enumerate() {
                        e = _mm256_fmadd_pd(dk, _mm256_set1_pd(dy[k * nt + t]), e);
                    }
                    _mm256_storeu_pd(o, e);
                }
                j += 4;
            }
        }
    }
    // The raw pointers are dead from here on; the tail uses the slices.
    for j in wv..w {
        for (row, dyk) in x.iter().zip(dy.chunks_exact(nt)) {
            let d = row[j].to_f64() - shift[j];
            sx[j] += d;
            sxx[j] = d.mul_add(d, sxx[j]);
            for (t, &y) in dyk.iter().enumerate() {
                sxy[t * w + j] = d.mul_add(y, sxy[t * w + j]);
            }
        }
    }
}

/// The block's width and number of targets, after checking every length a SIMD kernel relies
/// on: `R` rows as wide as the block, one deviation per row and target, sums as wide as the block.
#[cfg(target_arch = "x86_64")]
fn checked_widths<A, const R: usize>(
    x: &[&[A]; R],
    dy: &[f64],
    shift: &[f64],
    sx: &[f64],
    sxx: &[f64],
    sxy: &[f64],
) -> (usize, usize) {
    let w = shift.len();
    let nt = dy.len() / R;
    assert!(nt >= 1 && dy.len() == R * nt, "one target deviation per row and target");
    assert!(x.iter().all(|row| row.len() == w), "rows as wide as the block");
    assert!(
        sx.len() == w && sxx.len() == w && sxy.len() == nt * w,
        "sums as wide as the block"
    );
    (w, nt)
}

/// Adds `R` rows into the sums like [`rows_avx2`], 8 columns per step, and the last `w % 8`
/// columns in one masked step (its masked-off lanes are neither read nor written).
///
/// # Safety
/// The CPU must support AVX-512F. (Lengths are checked here.)
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn rows_avx512<A: Lanes, const R: usize>(
    x: [&[A]; R],
    next: Option<[&[A]; R]>,
    dy: &[f64],
    shift: &[f64],
    sx: &mut [f64],
    sxx: &mut [f64],
    sxy: &mut [f64],
) {
    let (w, nt) = checked_widths(&x, dy, shift, sx, sxx, sxy);
    let wv = w - w % 8;
    // Lanes `0..w % 8` of the last step (no bit set if `w` is a multiple of 8).
    let tail: __mmask8 = (1 << (w % 8)) - 1;
    // Values per cache line: prefetch once per line.
    let line = 64 / size_of::<A>();
    let p = Pointers {
        x: x.map(<[A]>::as_ptr),
        shift: shift.as_ptr(),
        sx: sx.as_mut_ptr(),
        sxx: sxx.as_mut_ptr(),
        sxy: sxy.as_mut_ptr(),
        w,
        nt,
    };
    // With one target (the common case) its deviations stay in registers.
    let mut yb = [_mm512_setzero_pd(); R];
    if nt == 1 {
        for (b, &y) in yb.iter_mut().zip(dy) {
            *b = _mm512_set1_pd(y);
        }
    }
    let mut j = 0;
    while j < wv {
        if let (Some(next), 0) = (next, j % line) {
            for n in next {
                // SAFETY: `j < wv <= w`, the length of each row of `next`, so the address is
                // in bounds (and a prefetch could not fault anyway).
                unsafe { _mm_prefetch::<_MM_HINT_T0>(n.as_ptr().add(j).cast()) };
            }
        }
        // SAFETY: `j + 8 <= wv <= w`, and `p` holds the pointers and lengths of the slices
        // checked above, borrowed for this call (unique borrows for the sums); the caller
        // guarantees AVX-512F.
        unsafe { step_avx512(&p, dy, &yb, j, FULL) };
        j += 8;
    }
    if tail != 0 {
        // SAFETY: the lanes set in `tail` are columns `wv..w`, in bounds as above.
        unsafe { step_avx512(&p, dy, &yb, wv, tail) };
    }
}

/// The raw pointers and lengths of one [`rows_avx512`] call.
#[cfg(target_arch = "x86_64")]
struct Pointers<A, const R: usize> {
    /// `R` rows of `w` values.
    x: [*const A; R],
    /// `w` values each.
    shift: *const f64,
    sx: *mut f64,
    sxx: *mut f64,
    /// `nt * w` values, target `t` at `t * w`.
    sxy: *mut f64,
    w: usize,
    nt: usize,
}

/// One step of [`rows_avx512`] over columns `j..j + 8`, only in the lanes set in `k`: masked-off
/// lanes of the inputs load as zero and are not stored. `yb` holds the broadcast deviations of
/// the rows when there is one target (read only then).
///
/// # Safety
/// Every pointer of `p` must be valid for reading (the sums also for writing, with no other
/// access during the call) at columns `j + i` for every bit `i` set in `k`, as laid out in
/// [`Pointers`]; `dy` must hold `R * p.nt` deviations. The CPU must support AVX-512F.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn step_avx512<A: Lanes, const R: usize>(
    p: &Pointers<A, R>,
    dy: &[f64],
    yb: &[__m512d; R],
    j: usize,
    k: __mmask8,
) {
    // SAFETY: the caller guarantees every access of the lanes set in `k` at column `j`: for the
    // sums of target `t`, at `t * w + j` with `t < nt`; `dy` is indexed with bounds checks.
    unsafe {
        let c = load_pd(p.shift.add(j), k);
        let mut d = [c; R];
        for (dk, &xk) in d.iter_mut().zip(&p.x) {
            *dk = _mm512_sub_pd(A::load8(xk.add(j), k), c);
        }
        let mut a = load_pd(p.sx.add(j), k);
        let mut q = load_pd(p.sxx.add(j), k);
        for &dk in &d {
            a = _mm512_add_pd(a, dk);
            q = _mm512_fmadd_pd(dk, dk, q);
        }
        store_pd(p.sx.add(j), k, a);
        store_pd(p.sxx.add(j), k, q);
        if p.nt == 1 {
            let mut e = load_pd(p.sxy.add(j), k);
            for (&dk, &yk) in d.iter().zip(yb) {
                e = _mm512_fmadd_pd(dk, yk, e);
            }
            store_pd(p.sxy.add(j), k, e);
        } else {
            for t in 0..p.nt {
                let o = p.sxy.add(t * p.w + j);
                let mut e = load_pd(o, k);
                for (r, &dk) in d.iter().enumerate() {
                    e = _mm512_fmadd_pd(dk, _mm512_set1_pd(dy[r * p.nt + t]), e);
                }
                store_pd(o, k, e);
            }
        }
    }
}

/// Loads the lanes of `p[0..8]` set in `k` (the others are zero and not read).
///
/// # Safety
/// `p.add(i)` must be valid for reading for every bit `i` set in `k`; AVX-512F.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn load_pd(p: *const f64, k: __mmask8) -> __m512d {
    // SAFETY: the caller guarantees the reads of the lanes set in `k` (all 8 for `FULL`); a
    // masked load does not touch the other lanes' memory, and cannot fault on it.
    unsafe {
        if k == FULL {
            _mm512_loadu_pd(p)
        } else {
            _mm512_maskz_loadu_pd(k, p)
        }
    }
}

/// Stores the lanes of `v` set in `k` to `p[0..8]` (the others are left as they are).
///
/// # Safety
/// `p.add(i)` must be valid for writing for every bit `i` set in `k`; AVX-512F.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn store_pd(p: *mut f64, k: __mmask8, v: __m512d) {
    // SAFETY: the caller guarantees the writes of the lanes set in `k`; a masked store does not
    // touch the other lanes' memory.
    unsafe {
        if k == FULL {
            _mm512_storeu_pd(p, v);
        } else {
            _mm512_mask_storeu_pd(p, k, v);
        }
    }
}
