//! The micro-kernels: an `MR × NR` tile of `C` from packed (or in-place) panels, one body for
//! every instruction set, instantiated for the portable baseline, AVX2 + FMA and AVX-512F.

use crate::sealed::Scalar;

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
    /// Rows of the narrowest tile variant: a tile with at most this many rows is computed by
    /// a variant of fewer accumulators (as are tiles of 1, 2 or up to 4 columns).
    const MR_SMALL: usize;
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
        // Uninitialised: every element read below is written first (a zeroed buffer cost a
        // `memset` of `MAX_TILE` elements per edge tile).
        let mut tile = std::mem::MaybeUninit::<[S::E; MAX_TILE]>::uninit();
        let tile = tile.as_mut_ptr().cast::<S::E>();
        for (j, row) in acc.iter().enumerate() {
            for (v, &x) in row.iter().enumerate() {
                S::store(tile.add(j * mr + v * S::LANES), x);
            }
        }
        for j in 0..cols {
            for i in 0..rows {
                let p = c.add(i * rsc + j * csc);
                // Written above: j < cols <= NR and i < rows <= mr.
                let t = *tile.add(j * mr + i);
                *p = if accumulate { *p + t } else { t };
            }
        }
    }
}

/// A tile routine's signature: [`MicroKernel::run`]'s.
pub(crate) type TileFn<E> = unsafe fn(
    usize,
    *const E,
    usize,
    *const E,
    usize,
    usize,
    *mut E,
    usize,
    usize,
    usize,
    usize,
    bool,
);

/// The tile routine for a `rows × cols` tile: `$f::<MV, NR, UNIT>` with the fewest
/// accumulators that cover it. A narrow tile (a 2-column head output, one observation's
/// forward pass) then costs what it computes instead of a full `MR × NR` tile. Every
/// accumulator still adds its `k` terms in order, one fused multiply-add each, so the variant
/// chosen never changes a result.
macro_rules! pick_tile {
    ($f:ident, $mv:expr, $nr:expr, $mv_small:expr, $small_rows:expr, $cols:expr, $unit:expr) => {{
        macro_rules! by_cols {
            ($m:expr, $u:expr) => {
                match $cols {
                    1 => $f::<{ $m }, 1, $u> as TileFn<_>,
                    2 => $f::<{ $m }, 2, $u> as TileFn<_>,
                    3 | 4 if $nr > 4 => $f::<{ $m }, 4, $u> as TileFn<_>,
                    _ => $f::<{ $m }, { $nr }, $u> as TileFn<_>,
                }
            };
        }
        match ($small_rows, $unit) {
            (true, true) => by_cols!($mv_small, true),
            (true, false) => by_cols!($mv_small, false),
            (false, true) => by_cols!($mv, true),
            (false, false) => by_cols!($mv, false),
        }
    }};
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
    const MR_SMALL: usize = 2;
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
        /// `micro` for the portable kernel's element type.
        #[allow(clippy::too_many_arguments)]
        unsafe fn tile<T: Scalar, const MV: usize, const NR: usize, const UNIT: bool>(
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
                micro::<Portable<T>, MV, NR, UNIT>(
                    k, a, a_step, b, b_step, b_ld, c, rsc, csc, rows, cols, accumulate,
                )
            }
        }
        let f: TileFn<T> = match (rows <= 2, b_ld == 1, cols) {
            (true, true, 1) => tile::<T, 2, 1, true>,
            (true, true, 2) => tile::<T, 2, 2, true>,
            (true, true, _) => tile::<T, 2, 4, true>,
            (true, false, 1) => tile::<T, 2, 1, false>,
            (true, false, 2) => tile::<T, 2, 2, false>,
            (true, false, _) => tile::<T, 2, 4, false>,
            (false, true, 1) => tile::<T, 8, 1, true>,
            (false, true, 2) => tile::<T, 8, 2, true>,
            (false, true, _) => tile::<T, 8, 4, true>,
            (false, false, 1) => tile::<T, 8, 1, false>,
            (false, false, 2) => tile::<T, 8, 2, false>,
            (false, false, _) => tile::<T, 8, 4, false>,
        };
        // SAFETY: `run`'s contract is the tile routine's.
        unsafe {
            f(
                k, a, a_step, b, b_step, b_ld, c, rsc, csc, rows, cols, accumulate,
            )
        }
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod x86 {
    use super::{MicroKernel, Simd, TileFn, micro};
    use std::arch::x86_64::*;

    macro_rules! simd {
        ($name:ident, $e:ty, $v:ty, $lanes:expr, $zero:ident, $splat:ident, $load:ident,
         $store:ident, $fma:ident, $add:ident) => {
            pub(crate) struct $name;
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

    /// A kernel of `MV` vectors by `NR` columns, compiled with the given target features, with
    /// its narrow variants (one vector; 1, 2 or 4 columns).
    macro_rules! kernel {
        ($simd:ident, $mv:expr, $nr:expr, $feat:literal, $inner:ident) => {
            #[target_feature(enable = $feat)]
            #[allow(clippy::too_many_arguments)]
            unsafe fn $inner<const MV: usize, const NR: usize, const UNIT: bool>(
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
                    micro::<$simd, MV, NR, UNIT>(
                        k, a, a_step, b, b_step, b_ld, c, rsc, csc, rows, cols, accumulate,
                    )
                }
            }
            impl MicroKernel for $simd {
                type E = <$simd as Simd>::E;
                const MR: usize = $mv * <$simd as Simd>::LANES;
                const NR: usize = $nr;
                const MR_SMALL: usize = <$simd as Simd>::LANES;
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
                    let f: TileFn<Self::E> = pick_tile!(
                        $inner,
                        $mv,
                        $nr,
                        1,
                        rows <= <$simd as Simd>::LANES,
                        cols,
                        b_ld == 1
                    );
                    // SAFETY: `run`'s contract (readable panels, writable tile, the CPU
                    // features this kernel is compiled for) is the tile routine's.
                    unsafe {
                        f(
                            k, a, a_step, b, b_step, b_ld, c, rsc, csc, rows, cols, accumulate,
                        )
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

    /// [`Scalar::transpose_blocks`](crate::sealed::Scalar::transpose_blocks) for `f32` with
    /// AVX: 8 × 8 blocks, each eight loads, 24 shuffles and eight stores instead of 64 scalar
    /// loads and stores. A transposing pack feeds every product with a transposed operand.
    pub(crate) fn transpose_f32(
        out: &mut [f32],
        width: usize,
        rows: usize,
        depth: usize,
        src: &[f32],
        start: usize,
        outer: usize,
    ) -> bool {
        if !is_x86_feature_detected!("avx") || !rows.is_multiple_of(8) || !depth.is_multiple_of(8) {
            return false;
        }
        if rows == 0 || depth == 0 {
            return true;
        }
        assert!(
            rows <= width && (depth - 1) * width + rows <= out.len(),
            "gemm: packing panel too short"
        );
        assert!(
            start + (rows - 1) * outer + depth <= src.len(),
            "gemm: packing reads past the operand"
        );
        // SAFETY: the CPU has AVX (checked above); the asserts bound every read
        // (`start + r * outer + p`, r < rows, p < depth) and write (`p * width + r`).
        unsafe {
            transpose_f32_avx(
                out.as_mut_ptr(),
                width,
                rows,
                depth,
                src.as_ptr(),
                start,
                outer,
            )
        }
        true
    }

    #[target_feature(enable = "avx")]
    unsafe fn transpose_f32_avx(
        out: *mut f32,
        width: usize,
        rows: usize,
        depth: usize,
        src: *const f32,
        start: usize,
        outer: usize,
    ) {
        // SAFETY: the caller bounds every index (see `transpose_f32`); AVX is available.
        unsafe {
            for r0 in (0..rows).step_by(8) {
                for p0 in (0..depth).step_by(8) {
                    let at = |i: usize| _mm256_loadu_ps(src.add(start + (r0 + i) * outer + p0));
                    let (r0v, r1, r2, r3) = (at(0), at(1), at(2), at(3));
                    let (r4, r5, r6, r7) = (at(4), at(5), at(6), at(7));
                    let t0 = _mm256_unpacklo_ps(r0v, r1);
                    let t1 = _mm256_unpackhi_ps(r0v, r1);
                    let t2 = _mm256_unpacklo_ps(r2, r3);
                    let t3 = _mm256_unpackhi_ps(r2, r3);
                    let t4 = _mm256_unpacklo_ps(r4, r5);
                    let t5 = _mm256_unpackhi_ps(r4, r5);
                    let t6 = _mm256_unpacklo_ps(r6, r7);
                    let t7 = _mm256_unpackhi_ps(r6, r7);
                    let u0 = _mm256_shuffle_ps::<0b01_00_01_00>(t0, t2);
                    let u1 = _mm256_shuffle_ps::<0b11_10_11_10>(t0, t2);
                    let u2 = _mm256_shuffle_ps::<0b01_00_01_00>(t1, t3);
                    let u3 = _mm256_shuffle_ps::<0b11_10_11_10>(t1, t3);
                    let u4 = _mm256_shuffle_ps::<0b01_00_01_00>(t4, t6);
                    let u5 = _mm256_shuffle_ps::<0b11_10_11_10>(t4, t6);
                    let u6 = _mm256_shuffle_ps::<0b01_00_01_00>(t5, t7);
                    let u7 = _mm256_shuffle_ps::<0b11_10_11_10>(t5, t7);
                    let cols = [
                        _mm256_permute2f128_ps::<0x20>(u0, u4),
                        _mm256_permute2f128_ps::<0x20>(u1, u5),
                        _mm256_permute2f128_ps::<0x20>(u2, u6),
                        _mm256_permute2f128_ps::<0x20>(u3, u7),
                        _mm256_permute2f128_ps::<0x31>(u0, u4),
                        _mm256_permute2f128_ps::<0x31>(u1, u5),
                        _mm256_permute2f128_ps::<0x31>(u2, u6),
                        _mm256_permute2f128_ps::<0x31>(u3, u7),
                    ];
                    for (q, v) in cols.into_iter().enumerate() {
                        _mm256_storeu_ps(out.add((p0 + q) * width + r0), v);
                    }
                }
            }
        }
    }

    pub(crate) fn has_avx512() -> bool {
        is_x86_feature_detected!("avx512f")
    }

    pub(crate) fn has_avx2() -> bool {
        is_x86_feature_detected!("avx2")
    }

    pub(crate) fn has_avx2_fma() -> bool {
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
    }
}
