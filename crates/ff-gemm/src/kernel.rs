//! The micro-kernels: an `MR × NR` tile of `C` from packed (or in-place) panels, one body for
//! every instruction set, instantiated for the portable baseline, AVX2 + FMA and AVX-512F.

use crate::sealed::Scalar;
use crate::{Kernel, Strided};
use std::cell::Cell;

/// A SIMD vector type and the operations the micro-kernel needs.
pub(crate) trait Simd {
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
pub(crate) trait MicroKernel {
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
pub(crate) const MAX_TILE: usize = 32 * 12;

/// The micro-kernel body, shared by every instruction set: `MV` vectors of `S::LANES` rows by
/// `NR` columns of accumulators, one fused multiply-add per accumulator per `k`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn micro<S: Simd, const MV: usize, const NR: usize, const UNIT: bool>(
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
    // SAFETY: the caller guarantees (see `MicroKernel::run`) that `k` runs of `MR` values at
    // `a` and of `NR` values at `b` are readable and that the stored part of the tile is
    // writable; the edge tile is a local array of `MAX_TILE >= MR * NR` elements (checked at
    // compile time above).
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
pub(crate) struct Portable<T>(std::marker::PhantomData<T>);

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
        // SAFETY: the caller passes a pointer to a readable element.
        unsafe { *p }
    }
    #[inline(always)]
    unsafe fn store(p: *mut T, v: T) {
        // SAFETY: the caller passes a pointer to a writable element.
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

impl<T: Scalar> MicroKernel for Portable<T> {
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
        // SAFETY: `run`'s contract is `micro`'s, passed on unchanged.
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
pub(crate) mod x86 {
    use super::{MicroKernel, Simd, micro};
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
                    // SAFETY: needs only the instruction set, which the dispatcher checked.
                    unsafe { $zero() }
                }
                #[inline(always)]
                unsafe fn splat(x: $e) -> $v {
                    // SAFETY: needs only the instruction set, which the dispatcher checked.
                    unsafe { $splat(x) }
                }
                #[inline(always)]
                unsafe fn load(p: *const $e) -> $v {
                    // SAFETY: the caller passes `LANES` readable elements at `p` (unaligned loads).
                    unsafe { $load(p) }
                }
                #[inline(always)]
                unsafe fn store(p: *mut $e, v: $v) {
                    // SAFETY: the caller passes `LANES` writable elements at `p` (unaligned stores).
                    unsafe { $store(p, v) }
                }
                #[inline(always)]
                unsafe fn fma(a: $v, b: $v, c: $v) -> $v {
                    // SAFETY: needs only the instruction set, which the dispatcher checked.
                    unsafe { $fma(a, b, c) }
                }
                #[inline(always)]
                unsafe fn add(a: $v, b: $v) -> $v {
                    // SAFETY: needs only the instruction set, which the dispatcher checked.
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
                // SAFETY: `run`'s contract is `micro`'s, passed on unchanged; this function is
                // only reached through `run`, after the dispatcher checked the CPU features.
                unsafe {
                    micro::<$simd, $mv, $nr, UNIT>(
                        k, a, a_step, b, b_step, b_ld, c, rsc, csc, rows, cols, accumulate,
                    )
                }
            }
            impl MicroKernel for $simd {
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
                    // SAFETY: `run`'s contract (readable panels, writable tile, the CPU
                    // features this kernel is compiled for) is the inner function's.
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

    pub(crate) fn has_avx512() -> bool {
        is_x86_feature_detected!("avx512f")
    }

    pub(crate) fn has_avx2_fma() -> bool {
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
    }
}

macro_rules! scalar {
    ($t:ty, $tls:ident, $avx512:ident, $avx2:ident) => {
        thread_local! {
            static $tls: Cell<Vec<$t>> = const { Cell::new(Vec::new()) };
        }
        impl Scalar for $t {
            fn run_kernel(kernel: Kernel, c: &mut [$t], a: Strided<'_, $t>, b: Strided<'_, $t>) {
                match kernel {
                    #[cfg(target_arch = "x86_64")]
                    Kernel::Avx512F => crate::blocked::blocked::<x86::$avx512>(c, a, b),
                    #[cfg(target_arch = "x86_64")]
                    Kernel::Avx2Fma => crate::blocked::blocked::<x86::$avx2>(c, a, b),
                    _ => crate::blocked::blocked::<Portable<$t>>(c, a, b),
                }
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
