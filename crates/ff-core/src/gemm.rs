//! Packed matrix multiplication whose packing space is reused instead of allocated per product.
//!
//! The classic blocked algorithm (Goto & van de Geijn): a register-blocked micro-kernel
//! multiplies an `MR`-row panel of `A` by an `NR`-column panel of `B`, keeping the `MR × NR`
//! tile of `C` in registers. Panels the kernel cannot read where they lie (transposed ones,
//! edge panels, lines 4 KiB apart or more) are first copied ("packed") into contiguous ones. The packing space lives in a per-thread buffer that grows to the largest product
//! seen and is then reused, so a steady-state training step performs no heap allocation at all
//! (general-purpose gemm libraries allocate it on every call).
//!
//! The micro-kernel is picked at run time: AVX-512F, AVX2 + FMA, or a portable one. The choice
//! depends only on the machine, so results are reproducible on a given machine; each kernel sums
//! over `k` in the same order whatever the blocking, and no threads are used.
#![allow(unsafe_code)]

use std::cell::Cell;

/// A strided operand: element `(i, j)` is `data[i * rs + j * cs]`.
#[derive(Debug, Clone, Copy)]
pub struct Strided<'a, T> {
    pub data: &'a [T],
    pub rows: usize,
    pub cols: usize,
    pub rs: usize,
    pub cs: usize,
}

impl<T> Strided<'_, T> {
    fn t(self) -> Self {
        Self {
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
            ..self
        }
    }
}

/// Depth of a packed block (the `k` extent multiplied in one pass over `C`).
const KC: usize = 256;
/// Rows of `A` packed at once (rounded down to a multiple of the kernel's `MR`).
const MC: usize = 128;
/// Columns of `B` packed at once (rounded down to a multiple of the kernel's `NR`).
const NC: usize = 1024;
/// Elements of slack so the packing space can start on a 64-byte boundary.
const ALIGN_SLACK: usize = 16;

pub(crate) mod sealed {
    /// What a float type needs for gemm: its kernels and its per-thread packing space.
    pub trait Scalar:
        Copy
        + Default
        + PartialEq
        + std::ops::Add<Output = Self>
        + std::ops::Mul<Output = Self>
        + 'static
    {
        /// `c ← a b` (`c` column-major `a.rows × b.cols`), on the machine's best kernel.
        fn gemm_dispatch(c: &mut [Self], a: super::Strided<'_, Self>, b: super::Strided<'_, Self>);
        /// Runs `f` on this thread's packing space.
        fn with_pack<R>(f: impl FnOnce(&mut Vec<Self>) -> R) -> R;
        /// Frees this thread's packing space.
        fn release_pack();
    }
}
use sealed::Scalar;

/// `c ← a b`, with `c` a contiguous column-major `a.rows × b.cols` buffer. `c` is only
/// written, never read, so stale values in a reused buffer cannot leak through. The caller has
/// checked shapes and that every strided element lies inside its slice.
pub(crate) fn gemm<T: Scalar>(c: &mut [T], a: Strided<'_, T>, b: Strided<'_, T>) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert!(b.rows == k && c.len() == m * n, "gemm: shapes disagree");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        c.fill(T::default());
        return;
    }
    T::gemm_dispatch(c, a, b);
}

/// Frees the calling thread's packing space for `T` (it is allocated again on the next product).
pub(crate) fn release<T: Scalar>() {
    T::release_pack();
}

/// A SIMD vector type and the operations the micro-kernel needs.
trait Simd {
    type E: Scalar;
    type V: Copy;
    const LANES: usize;
    unsafe fn zero() -> Self::V;
    unsafe fn splat(x: Self::E) -> Self::V;
    unsafe fn load(p: *const Self::E) -> Self::V;
    unsafe fn store(p: *mut Self::E, v: Self::V);
    /// `a * b + c`.
    unsafe fn fma(a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    unsafe fn add(a: Self::V, b: Self::V) -> Self::V;
}

/// A micro-kernel: an `MR × NR` tile of `C` from packed panels.
trait Kernel {
    type E: Scalar;
    const MR: usize;
    const NR: usize;
    /// `C[tile] ← Σ_k a_k b_kᵀ` (or `+=` when `accumulate`), where `a_k` is the `MR` contiguous
    /// values at `a + k * a_step` and `b_k` the `NR` values `b + k * b_step + j * b_ld`
    /// (`b_ld` is 1 for a packed panel or a row-major `B`, the column stride for a
    /// column-major one); only the top-left `rows × cols` of the tile is stored, at `c` with
    /// strides `rsc` and `csc`.
    ///
    /// # Safety
    /// Those `k` runs of `MR` and `NR` values must be readable; every stored element of `c` must
    /// be valid for writes (and reads when `accumulate`); the CPU must have the kernel's
    /// features.
    #[allow(clippy::too_many_arguments)]
    unsafe fn run(
        k: usize,
        a: *const Self::E,
        a_step: usize,
        b: *const Self::E,
        b_step: usize,
        b_ld: usize,
        c: *mut Self::E,
        rsc: usize,
        csc: usize,
        rows: usize,
        cols: usize,
        accumulate: bool,
    );
}

/// Largest tile any kernel uses, for the edge-tile buffer.
const MAX_TILE: usize = 32 * 12;

/// The micro-kernel body, shared by every instruction set: `MV` vectors of `S::LANES` rows by
/// `NR` columns of accumulators, one fused multiply-add per accumulator per `k`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn micro<S: Simd, const MV: usize, const NR: usize, const UNIT: bool>(
    k: usize,
    mut a: *const S::E,
    a_step: usize,
    mut b: *const S::E,
    b_step: usize,
    b_ld: usize,
    c: *mut S::E,
    rsc: usize,
    csc: usize,
    rows: usize,
    cols: usize,
    accumulate: bool,
) {
    let mr = MV * S::LANES;
    const {
        assert!(
            MV * S::LANES * NR <= MAX_TILE,
            "tile larger than the edge buffer"
        )
    };
    // SAFETY (whole body): the caller guarantees the panel lengths and the writable tile.
    unsafe {
        let mut acc = [[S::zero(); MV]; NR];
        for _ in 0..k {
            let mut av = [S::zero(); MV];
            for (v, x) in av.iter_mut().enumerate() {
                *x = S::load(a.add(v * S::LANES));
            }
            for (j, row) in acc.iter_mut().enumerate() {
                // `UNIT`: the panel's NR values are adjacent (packed, or a row-major B).
                let bj = S::splat(*b.add(if UNIT { j } else { j * b_ld }));
                for v in 0..MV {
                    row[v] = S::fma(av[v], bj, row[v]);
                }
            }
            a = a.add(a_step);
            b = b.add(b_step);
        }
        if rsc == 1 && rows == mr && cols == NR {
            for (j, row) in acc.iter().enumerate() {
                for (v, &x) in row.iter().enumerate() {
                    let p = c.add(j * csc + v * S::LANES);
                    S::store(p, if accumulate { S::add(S::load(p), x) } else { x });
                }
            }
            return;
        }
        let mut tile = [S::E::default(); MAX_TILE];
        for (j, row) in acc.iter().enumerate() {
            for (v, &x) in row.iter().enumerate() {
                S::store(tile.as_mut_ptr().add(j * mr + v * S::LANES), x);
            }
        }
        for j in 0..cols {
            for i in 0..rows {
                let p = c.add(i * rsc + j * csc);
                let t = tile[j * mr + i];
                *p = if accumulate { *p + t } else { t };
            }
        }
    }
}

/// The portable kernel: plain multiply-adds the compiler vectorises for the baseline target.
struct Portable<T>(std::marker::PhantomData<T>);

impl<T: Scalar> Simd for Portable<T> {
    type E = T;
    type V = T;
    const LANES: usize = 1;
    #[inline(always)]
    unsafe fn zero() -> T {
        T::default()
    }
    #[inline(always)]
    unsafe fn splat(x: T) -> T {
        x
    }
    #[inline(always)]
    unsafe fn load(p: *const T) -> T {
        unsafe { *p }
    }
    #[inline(always)]
    unsafe fn store(p: *mut T, v: T) {
        unsafe { *p = v }
    }
    #[inline(always)]
    unsafe fn fma(a: T, b: T, c: T) -> T {
        a * b + c
    }
    #[inline(always)]
    unsafe fn add(a: T, b: T) -> T {
        a + b
    }
}

impl<T: Scalar> Kernel for Portable<T> {
    type E = T;
    const MR: usize = 8;
    const NR: usize = 4;
    unsafe fn run(
        k: usize,
        a: *const T,
        a_step: usize,
        b: *const T,
        b_step: usize,
        b_ld: usize,
        c: *mut T,
        rsc: usize,
        csc: usize,
        rows: usize,
        cols: usize,
        accumulate: bool,
    ) {
        unsafe {
            if b_ld == 1 {
                micro::<Self, 8, 4, true>(
                    k, a, a_step, b, b_step, b_ld, c, rsc, csc, rows, cols, accumulate,
                )
            } else {
                micro::<Self, 8, 4, false>(
                    k, a, a_step, b, b_step, b_ld, c, rsc, csc, rows, cols, accumulate,
                )
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Kernel, Simd, micro};
    use std::arch::x86_64::*;

    macro_rules! simd {
        ($name:ident, $e:ty, $v:ty, $lanes:expr, $zero:ident, $splat:ident, $load:ident,
         $store:ident, $fma:ident, $add:ident) => {
            pub(super) struct $name;
            impl Simd for $name {
                type E = $e;
                type V = $v;
                const LANES: usize = $lanes;
                #[inline(always)]
                unsafe fn zero() -> $v {
                    unsafe { $zero() }
                }
                #[inline(always)]
                unsafe fn splat(x: $e) -> $v {
                    unsafe { $splat(x) }
                }
                #[inline(always)]
                unsafe fn load(p: *const $e) -> $v {
                    unsafe { $load(p) }
                }
                #[inline(always)]
                unsafe fn store(p: *mut $e, v: $v) {
                    unsafe { $store(p, v) }
                }
                #[inline(always)]
                unsafe fn fma(a: $v, b: $v, c: $v) -> $v {
                    unsafe { $fma(a, b, c) }
                }
                #[inline(always)]
                unsafe fn add(a: $v, b: $v) -> $v {
                    unsafe { $add(a, b) }
                }
            }
        };
    }

    simd!(
        Avx512F32,
        f32,
        __m512,
        16,
        _mm512_setzero_ps,
        _mm512_set1_ps,
        _mm512_loadu_ps,
        _mm512_storeu_ps,
        _mm512_fmadd_ps,
        _mm512_add_ps
    );
    simd!(
        Avx512F64,
        f64,
        __m512d,
        8,
        _mm512_setzero_pd,
        _mm512_set1_pd,
        _mm512_loadu_pd,
        _mm512_storeu_pd,
        _mm512_fmadd_pd,
        _mm512_add_pd
    );
    simd!(
        Avx2F32,
        f32,
        __m256,
        8,
        _mm256_setzero_ps,
        _mm256_set1_ps,
        _mm256_loadu_ps,
        _mm256_storeu_ps,
        _mm256_fmadd_ps,
        _mm256_add_ps
    );
    simd!(
        Avx2F64,
        f64,
        __m256d,
        4,
        _mm256_setzero_pd,
        _mm256_set1_pd,
        _mm256_loadu_pd,
        _mm256_storeu_pd,
        _mm256_fmadd_pd,
        _mm256_add_pd
    );

    /// A kernel of `MV` vectors by `NR` columns, compiled with the given target features.
    macro_rules! kernel {
        ($simd:ident, $mv:expr, $nr:expr, $feat:literal, $inner:ident) => {
            #[target_feature(enable = $feat)]
            #[allow(clippy::too_many_arguments)]
            unsafe fn $inner<const UNIT: bool>(
                k: usize,
                a: *const <$simd as Simd>::E,
                a_step: usize,
                b: *const <$simd as Simd>::E,
                b_step: usize,
                b_ld: usize,
                c: *mut <$simd as Simd>::E,
                rsc: usize,
                csc: usize,
                rows: usize,
                cols: usize,
                accumulate: bool,
            ) {
                unsafe {
                    micro::<$simd, $mv, $nr, UNIT>(
                        k, a, a_step, b, b_step, b_ld, c, rsc, csc, rows, cols, accumulate,
                    )
                }
            }
            impl Kernel for $simd {
                type E = <$simd as Simd>::E;
                const MR: usize = $mv * <$simd as Simd>::LANES;
                const NR: usize = $nr;
                #[inline(always)]
                unsafe fn run(
                    k: usize,
                    a: *const Self::E,
                    a_step: usize,
                    b: *const Self::E,
                    b_step: usize,
                    b_ld: usize,
                    c: *mut Self::E,
                    rsc: usize,
                    csc: usize,
                    rows: usize,
                    cols: usize,
                    accumulate: bool,
                ) {
                    unsafe {
                        if b_ld == 1 {
                            $inner::<true>(
                                k, a, a_step, b, b_step, b_ld, c, rsc, csc, rows, cols, accumulate,
                            )
                        } else {
                            $inner::<false>(
                                k, a, a_step, b, b_step, b_ld, c, rsc, csc, rows, cols, accumulate,
                            )
                        }
                    }
                }
            }
        };
    }

    // 24 accumulators of the 32 zmm registers; 12 of the 16 ymm registers for AVX2.
    kernel!(Avx512F32, 2, 12, "avx512f", avx512_f32);
    kernel!(Avx512F64, 2, 12, "avx512f", avx512_f64);
    kernel!(Avx2F32, 2, 6, "avx2,fma", avx2_f32);
    kernel!(Avx2F64, 2, 6, "avx2,fma", avx2_f64);

    pub(super) fn has_avx512() -> bool {
        is_x86_feature_detected!("avx512f")
    }

    pub(super) fn has_avx2_fma() -> bool {
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
    }
}

macro_rules! scalar {
    ($t:ty, $tls:ident, $avx512:ident, $avx2:ident) => {
        thread_local! {
            static $tls: Cell<Vec<$t>> = const { Cell::new(Vec::new()) };
        }
        impl Scalar for $t {
            fn gemm_dispatch(c: &mut [$t], a: Strided<'_, $t>, b: Strided<'_, $t>) {
                #[cfg(target_arch = "x86_64")]
                {
                    if x86::has_avx512() {
                        return blocked::<x86::$avx512>(c, a, b);
                    }
                    if x86::has_avx2_fma() {
                        return blocked::<x86::$avx2>(c, a, b);
                    }
                }
                blocked::<Portable<$t>>(c, a, b)
            }
            fn with_pack<R>(f: impl FnOnce(&mut Vec<$t>) -> R) -> R {
                $tls.with(|cell| {
                    let mut pack = cell.take();
                    let r = f(&mut pack);
                    cell.set(pack);
                    r
                })
            }
            fn release_pack() {
                $tls.with(|cell| drop(cell.take()));
            }
        }
    };
}

scalar!(f32, PACK_F32, Avx512F32, Avx2F32);
scalar!(f64, PACK_F64, Avx512F64, Avx2F64);

fn round_up(x: usize, to: usize) -> usize {
    x.div_ceil(to) * to
}

/// Tiles of `C` the kernel computes for an `m × n` product, padding included.
fn padded_area<K: Kernel>(m: usize, n: usize) -> usize {
    round_up(m, K::MR) * round_up(n, K::NR)
}

/// The blocked product for one kernel. Computes `Cᵀ = Bᵀ Aᵀ` instead when that pads less
/// (a 2-row head output against a 32-row kernel, say).
fn blocked<K: Kernel>(c: &mut [K::E], a: Strided<'_, K::E>, b: Strided<'_, K::E>) {
    let (m, n) = (a.rows, b.cols);
    if padded_area::<K>(n, m) < padded_area::<K>(m, n) {
        blocked_strided::<K>(c, (m, 1), b.t(), a.t());
    } else {
        blocked_strided::<K>(c, (1, m), a, b);
    }
}

/// `C ← A B` with `C` at strides `(rsc, csc)` inside `c`.
fn blocked_strided<K: Kernel>(
    c: &mut [K::E],
    (rsc, csc): (usize, usize),
    a: Strided<'_, K::E>,
    b: Strided<'_, K::E>,
) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    let mc = (MC / K::MR).max(1) * K::MR;
    let nc = (NC / K::NR).max(1) * K::NR;
    let a_len = round_up(m.min(mc), K::MR) * k.min(KC);
    let b_len = k.min(KC) * round_up(n.min(nc), K::NR);
    // The last element of C the tiles reach: the assert makes every kernel store in bounds.
    assert!(
        (m - 1) * rsc + (n - 1) * csc < c.len(),
        "gemm: output too short"
    );
    // Every element of A and B the strides reach lies inside its slice; the kernels' in-place
    // reads below rely on it.
    assert!(
        (m - 1) * a.rs + (k - 1) * a.cs < a.data.len(),
        "gemm: A too short"
    );
    assert!(
        (k - 1) * b.rs + (n - 1) * b.cs < b.data.len(),
        "gemm: B too short"
    );
    // A full panel the kernel can read where it lies is not copied: columns of a column-major
    // A, rows of a row-major B (both contiguous), and columns of a column-major B (the kernel
    // broadcasts each of its NR values from its column). Packing was a fifth of a training
    // update. Lines 4 KiB apart or more are packed all the same (see `short_stride`).
    let a_in_place = a.rs == 1 && short_stride::<K::E>(a.cs);
    let b_rows_in_place = b.cs == 1 && short_stride::<K::E>(b.rs);
    let b_cols_in_place = b.rs == 1 && short_stride::<K::E>(b.cs);
    let b_in_place = b_rows_in_place || b_cols_in_place;
    K::E::with_pack(|pack| {
        let need = a_len + b_len + ALIGN_SLACK;
        if pack.len() < need {
            pack.resize(need, K::E::default());
        }
        let offset = pack.as_ptr().align_offset(64).min(ALIGN_SLACK);
        let (a_pack, b_pack) = pack[offset..offset + a_len + b_len].split_at_mut(a_len);
        let cp = c.as_mut_ptr();
        for jc in (0..n).step_by(nc) {
            let ncb = nc.min(n - jc);
            for pc in (0..k).step_by(KC) {
                let kcb = KC.min(k - pc);
                pack_panels(b_pack, b.t(), K::NR, jc, ncb, pc, kcb, b_in_place);
                for ic in (0..m).step_by(mc) {
                    let mcb = mc.min(m - ic);
                    pack_panels(a_pack, a, K::MR, ic, mcb, pc, kcb, a_in_place);
                    for jr in (0..ncb).step_by(K::NR) {
                        let j = jc + jr;
                        let full = j + K::NR <= n;
                        let (bp, b_step, b_ld) = if full && b_rows_in_place {
                            (b.data[pc * b.rs + j..].as_ptr(), b.rs, 1)
                        } else if full && b_cols_in_place {
                            (b.data[pc + j * b.cs..].as_ptr(), 1, b.cs)
                        } else {
                            (b_pack[jr * kcb..(jr + K::NR) * kcb].as_ptr(), K::NR, 1)
                        };
                        for ir in (0..mcb).step_by(K::MR) {
                            let i = ic + ir;
                            let (ap, a_step) = if a_in_place && i + K::MR <= m {
                                (a.data[i + pc * a.cs..].as_ptr(), a.cs)
                            } else {
                                (a_pack[ir * kcb..(ir + K::MR) * kcb].as_ptr(), K::MR)
                            };
                            // SAFETY: a packed panel holds `kcb` runs of MR (A) or NR (B)
                            // values; an in-place panel is a full one, rows i..i+MR, cols
                            // pc..pc+kcb of A (or rows pc..pc+kcb, cols j..j+NR of B), inside
                            // the slice by the asserts above. The tile's stored part is rows
                            // i..i+rows, cols j..j+cols of an m × n matrix, inside `c` by the
                            // assert above; `c` is borrowed mutably, so nothing else aliases
                            // it; the dispatcher checked the CPU features.
                            unsafe {
                                K::run(
                                    kcb,
                                    ap,
                                    a_step,
                                    bp,
                                    b_step,
                                    b_ld,
                                    cp.add(i * rsc + j * csc),
                                    rsc,
                                    csc,
                                    K::MR.min(m - i),
                                    K::NR.min(n - j),
                                    pc > 0,
                                )
                            }
                        }
                    }
                }
            }
        }
    })
}

/// Whether lines `stride` elements apart are read in place rather than packed. At 4 KiB or
/// more they map to the same few L1 sets and evict each other (a 1024 × 1024 product read in
/// place runs at two thirds of its packed speed); the training step's operands are far
/// narrower.
fn short_stride<T>(stride: usize) -> bool {
    stride * std::mem::size_of::<T>() < 4096
}

/// Packs lines `i0..i0+count` (rows of `x`), columns `p0..p0+depth`, into panels of `width`
/// lines, each stored column by column (`width` contiguous values per `k`), zero-padding the
/// last panel; full panels are skipped when `skip_full` (the kernel reads them in place).
/// `A` is packed as itself with `width = MR`, `B` as `Bᵀ` with `width = NR`.
#[allow(clippy::too_many_arguments)]
fn pack_panels<T: Scalar>(
    dst: &mut [T],
    x: Strided<'_, T>,
    width: usize,
    i0: usize,
    count: usize,
    p0: usize,
    depth: usize,
    skip_full: bool,
) {
    let zero = T::default();
    for (panel, out) in (0..count)
        .step_by(width)
        .zip(dst.chunks_exact_mut(width * depth))
    {
        let lanes = width.min(count - panel);
        let i = i0 + panel;
        if skip_full && lanes == width {
            // Read in place by the kernel.
        } else if x.rs == 1 {
            for (p, line) in out.chunks_exact_mut(width).enumerate() {
                let start = i + (p0 + p) * x.cs;
                line[..lanes].copy_from_slice(&x.data[start..start + lanes]);
                line[lanes..].fill(zero);
            }
        } else {
            if lanes < width {
                out.fill(zero);
            }
            transpose_into(
                out,
                width,
                lanes,
                depth,
                x.data,
                i * x.rs + p0 * x.cs,
                x.rs,
                x.cs,
            );
        }
    }
}

/// `out[p * width + r] = src[start + r * outer + p * inner]` for `r < lanes`, `p < depth`: packs
/// `lanes` strided lines of `depth` elements side by side (a transpose when `inner` is 1).
#[allow(clippy::too_many_arguments)]
fn transpose_into<T: Scalar>(
    out: &mut [T],
    width: usize,
    lanes: usize,
    depth: usize,
    src: &[T],
    start: usize,
    outer: usize,
    inner: usize,
) {
    if lanes == 0 || depth == 0 {
        return;
    }
    assert!(
        lanes <= width && out.len() >= depth * width,
        "gemm: packing panel too short"
    );
    assert!(
        start + (lanes - 1) * outer + (depth - 1) * inner < src.len(),
        "gemm: packing reads past the operand"
    );
    let (dst, src) = (out.as_mut_ptr(), src.as_ptr());
    // SAFETY: the asserts above bound every index read (`start + r * outer + p * inner`) and
    // written (`p * width + r`); `out` is borrowed mutably and `src` shared, so they are
    // distinct. Unchecked indexing makes this loop a load and a store per element, which
    // matters: a transposing pack of a 128 × 128 operand costs as much as a third of the
    // product it feeds when every access is bounds-checked.
    unsafe {
        for p in 0..depth {
            let (d, s) = (dst.add(p * width), src.add(start + p * inner));
            for r in 0..lanes {
                *d.add(r) = *s.add(r * outer);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kernel available on this machine against a naive triple loop, over shapes that
    /// hit partial tiles, several k blocks, transposed operands and the transposed output.
    fn check<K: Kernel>(tol: f64)
    where
        K::E: From<f32> + Into<f64>,
    {
        let mut seed = 1u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 40) as f32 / (1u32 << 24) as f32) - 0.5
        };
        for &(m, k, n) in &[
            (1, 1, 1),
            (2, 64, 128),
            (33, 7, 13),
            (128, 128, 4),
            (70, 300, 50),
            (5, 600, 3),
            (129, 2, 1030),
        ] {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let ad: Vec<K::E> = (0..m * k).map(|_| next().into()).collect();
                let bd: Vec<K::E> = (0..k * n).map(|_| next().into()).collect();
                let a = if ta {
                    Strided {
                        data: &ad,
                        rows: m,
                        cols: k,
                        rs: k,
                        cs: 1,
                    }
                } else {
                    Strided {
                        data: &ad,
                        rows: m,
                        cols: k,
                        rs: 1,
                        cs: m,
                    }
                };
                let b = if tb {
                    Strided {
                        data: &bd,
                        rows: k,
                        cols: n,
                        rs: n,
                        cs: 1,
                    }
                } else {
                    Strided {
                        data: &bd,
                        rows: k,
                        cols: n,
                        rs: 1,
                        cs: k,
                    }
                };
                let mut c = vec![K::E::from(f32::NAN); m * n];
                blocked::<K>(&mut c, a, b);
                for i in 0..m {
                    for j in 0..n {
                        let want: f64 = (0..k)
                            .map(|p| {
                                let x: f64 = a.data[i * a.rs + p * a.cs].into();
                                let y: f64 = b.data[p * b.rs + j * b.cs].into();
                                x * y
                            })
                            .sum();
                        let got: f64 = c[i + j * m].into();
                        assert!(
                            (got - want).abs() <= tol * (k as f64),
                            "{m}x{k}x{n} ta={ta} tb={tb} ({i},{j}): {got} vs {want}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn portable_kernel_matches_naive_product() {
        check::<Portable<f64>>(1e-12);
        check::<Portable<f32>>(1e-5);
    }

    /// A strided `rows × cols` view over `data`: column-major with leading dimension
    /// `rows + pad`, or (`t`) row-major with leading dimension `cols + pad`.
    fn view(data: &[f64], rows: usize, cols: usize, t: bool, pad: usize) -> Strided<'_, f64> {
        let (rs, cs) = if t { (cols + pad, 1) } else { (1, rows + pad) };
        Strided {
            data,
            rows,
            cols,
            rs,
            cs,
        }
    }

    proptest::proptest! {
        /// The machine's own dispatch (whatever kernel it picks) against a naive product, on
        /// random shapes, transposes and padded leading dimensions: edge tiles, several depth
        /// blocks, in-place and packed panels (leading dimensions past 4 KiB are packed).
        #[test]
        fn dispatched_gemm_matches_naive(
            m in 1usize..80, k in 1usize..600, n in 1usize..80,
            ta: bool, tb: bool, pa in 0usize..3, pb in 0usize..3, seed: u64,
        ) {
            let mut state = seed | 1;
            let mut next = || {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
            };
            let a_len = if ta { m * (k + pa) } else { k * (m + pa) };
            let b_len = if tb { k * (n + pb) } else { n * (k + pb) };
            let ad: Vec<f64> = (0..a_len).map(|_| next()).collect();
            let bd: Vec<f64> = (0..b_len).map(|_| next()).collect();
            let (a, b) = (view(&ad, m, k, ta, pa), view(&bd, k, n, tb, pb));
            let mut c = vec![f64::NAN; m * n];
            gemm(&mut c, a, b);
            for i in 0..m {
                for j in 0..n {
                    let want: f64 = (0..k)
                        .map(|p| a.data[i * a.rs + p * a.cs] * b.data[p * b.rs + j * b.cs])
                        .sum();
                    proptest::prop_assert!((c[i + j * m] - want).abs() <= 1e-12 * k as f64);
                }
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn simd_kernels_match_naive_product() {
        if x86::has_avx2_fma() {
            check::<x86::Avx2F64>(1e-12);
            check::<x86::Avx2F32>(1e-5);
        }
        if x86::has_avx512() {
            check::<x86::Avx512F64>(1e-12);
            check::<x86::Avx512F32>(1e-5);
        }
    }
}
