//! The inner loop of the correlation kernel: per-column shifted sums over one piece of rows and
//! one block of columns, in explicit SIMD (AVX2 + FMA) or in portable code, chosen at run time.
//!
//! The only file of the crate with `unsafe` code: SIMD intrinsics on raw pointers. The safe entry
//! point, [`accumulate`], checks every length the kernels rely on and calls an ISA-specific kernel
//! only after the CPU reported its features.
//!
//! For row `r` of a piece, column `j` of a block and target `t`, with `d = x[r][j] - shift[j]`:
//! `sx[j] += d`, `sxx[j] += d * d`, `sxy[t * w + j] += d * dy[r * nt + t]`. All arithmetic is
//! `f64`; `f32` input is widened in registers. The AVX2 kernel streams four rows at a time, so the
//! accumulators of a block (which stay in L1/L2) are loaded and stored once per four rows, and
//! prefetches the next four rows.
//!
//! No AVX-512 kernel yet: its intrinsics and `target_feature` names are stable only since Rust
//! 1.89 (the crate's MSRV is 1.85), the development machines have no AVX-512 to test it on, and
//! the AVX2 kernel already runs at 85-100% of the read bandwidth, so wider lanes would gain
//! little. Adding one means a `Level::Avx512` and a `rows_avx512` beside `rows_avx2`.
#![allow(unsafe_code)]

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::{
    __m256d, _MM_HINT_T0, _mm_loadu_ps, _mm_prefetch, _mm256_add_pd, _mm256_cvtps_pd, _mm256_fmadd_pd, _mm256_loadu_pd,
    _mm256_set1_pd, _mm256_setzero_pd, _mm256_storeu_pd, _mm256_sub_pd,
};

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
}

/// Which kernel runs the inner loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Level {
    /// Plain Rust that the compiler vectorizes for the baseline target (SSE2 on x86-64).
    Portable,
    /// `std::arch` AVX2 + FMA intrinsics, 4 `f64` lanes.
    Avx2Fma,
}

impl Level {
    /// The best level this CPU supports.
    pub(crate) fn detect() -> Level {
        if Level::Avx2Fma.supported() {
            Level::Avx2Fma
        } else {
            Level::Portable
        }
    }

    /// Whether this CPU can run the level (checked at run time; the result is cached by std).
    pub(crate) fn supported(self) -> bool {
        match self {
            Level::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Level::Avx2Fma => is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
            #[cfg(not(target_arch = "x86_64"))]
            Level::Avx2Fma => false,
        }
    }

    /// The name [`simd_level`](super::simd_level) reports.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Level::Portable => "portable",
            Level::Avx2Fma => "avx2+fma",
        }
    }

    /// Every level this CPU supports, portable first (tests run them all and compare).
    #[cfg(test)]
    pub(crate) fn available() -> Vec<Level> {
        [Level::Portable, Level::Avx2Fma]
            .into_iter()
            .filter(|l| l.supported())
            .collect()
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
        Level::Avx2Fma if level.supported() => {
            // SAFETY: the CPU reported AVX2 and FMA just above.
            unsafe { accumulate_avx2(block, sums) }
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

/// The AVX2 + FMA kernel: groups of four rows, then the remaining rows one by one.
///
/// # Safety
/// The CPU must support AVX2 and FMA. Lengths must be as [`accumulate`] checks them.
#[cfg(target_arch = "x86_64")]
unsafe fn accumulate_avx2<A: Lanes>(block: &Block<'_, A>, sums: Sums<'_>) {
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
        // SAFETY: the caller guarantees AVX2 and FMA; `rows_avx2` checks the lengths itself.
        unsafe { rows_avx2::<A, 4>(x, next, dy, block.shift, sums.sx, sums.sxx, sums.sxy) };
    }
    for (row, dy) in groups.remainder().iter().zip(dys.remainder().chunks_exact(nt)) {
        // SAFETY: as above.
        unsafe { rows_avx2::<A, 1>([&row[c0..c0 + w]], None, dy, block.shift, sums.sx, sums.sxx, sums.sxy) };
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
    let w = shift.len();
    let nt = dy.len() / R;
    assert!(nt >= 1 && dy.len() == R * nt, "one target deviation per row and target");
    assert!(x.iter().all(|row| row.len() == w), "rows as wide as the block");
    assert!(
        sx.len() == w && sxx.len() == w && sxy.len() == nt * w,
        "sums as wide as the block"
    );
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
