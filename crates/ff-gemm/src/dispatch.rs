//! Which kernel runs a product, per element type: the `Scalar` implementations of `f32` and
//! `f64`, which dispatch to the blocked driver with the chosen micro-kernel and keep each
//! thread's packing space. Above both `kernel` (the tiles) and `blocked` (the loops), so
//! neither depends on the other's caller.

use crate::sealed::Scalar;
use crate::{Kernel, Strided};
use std::cell::Cell;

macro_rules! scalar {
    ($t:ty, $tls:ident, $avx512:ident, $avx2:ident, $transpose:expr) => {
        thread_local! {
            static $tls: Cell<Vec<$t>> = const { Cell::new(Vec::new()) };
        }
        impl Scalar for $t {
            fn run_kernel(kernel: Kernel, c: &mut [$t], a: Strided<'_, $t>, b: Strided<'_, $t>) {
                match kernel {
                    #[cfg(target_arch = "x86_64")]
                    Kernel::Avx512F => {
                        crate::blocked::blocked::<crate::kernel::x86::$avx512>(c, a, b)
                    }
                    #[cfg(target_arch = "x86_64")]
                    Kernel::Avx2Fma => {
                        crate::blocked::blocked::<crate::kernel::x86::$avx2>(c, a, b)
                    }
                    _ => crate::blocked::blocked::<crate::kernel::Portable<$t>>(c, a, b),
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
            fn transpose_blocks(
                out: &mut [$t],
                width: usize,
                rows: usize,
                depth: usize,
                src: &[$t],
                start: usize,
                outer: usize,
            ) -> bool {
                let fast: fn(&mut [$t], usize, usize, usize, &[$t], usize, usize) -> bool =
                    $transpose;
                fast(out, width, rows, depth, src, start, outer)
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
scalar!(
    f32,
    PACK_F32,
    Avx512F32,
    Avx2F32,
    crate::kernel::x86::transpose_f32
);
#[cfg(not(target_arch = "x86_64"))]
scalar!(f32, PACK_F32, Avx512F32, Avx2F32, |_, _, _, _, _, _, _| {
    false
});
scalar!(f64, PACK_F64, Avx512F64, Avx2F64, |_, _, _, _, _, _, _| {
    false
});

#[cfg(test)]
mod tests {
    use crate::Strided;
    use crate::blocked::blocked_strided;
    use crate::kernel::MicroKernel;

    /// `C = A B` computed as given and as `Cᵀ = Bᵀ Aᵀ`, both orientations forced.
    fn both_orientations<K: MicroKernel<E = f32>>(name: &str) {
        let shapes = [
            (2, 128, 128),
            (2, 64, 128),
            (1, 4, 128),
            (128, 4, 1),
            (64, 132, 128),
            (4, 33, 70),
            (16, 8, 3),
            (40, 300, 2),
            (37, 600, 29),
        ];
        let mut state = 0x9e37_79b9_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        };
        for (m, k, n) in shapes {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let ad: Vec<f32> = (0..m * k).map(|_| next()).collect();
                let bd: Vec<f32> = (0..k * n).map(|_| next()).collect();
                fn view(d: &[f32], r: usize, c: usize, t: bool) -> Strided<'_, f32> {
                    if t {
                        Strided::row_major(d, r, c)
                    } else {
                        Strided::col_major(d, r, c)
                    }
                    .expect("in bounds")
                }
                let (a, b) = (view(&ad, m, k, ta), view(&bd, k, n, tb));
                let mut c = vec![0.0f32; m * n];
                let mut ct = vec![0.0f32; m * n];
                blocked_strided::<K>(&mut c, (1, m), a, b);
                blocked_strided::<K>(&mut ct, (m, 1), b.t(), a.t());
                for (i, (x, y)) in c.iter().zip(&ct).enumerate() {
                    assert_eq!(
                        x.to_bits(),
                        y.to_bits(),
                        "{name} {m}x{k}x{n} ta={ta} tb={tb} at {i}: {x} vs {y}"
                    );
                }
            }
        }
    }

    /// Every element of `C` is one chain of fused multiply-adds over `k` in order, whichever
    /// orientation, narrow tile variant or packing (in place, copied, transposed with SIMD)
    /// the product runs on: so the cost model's choice never changes a result.
    #[test]
    fn orientation_tile_variant_and_packing_never_change_a_result() {
        both_orientations::<crate::kernel::Portable<f32>>("portable");
        #[cfg(target_arch = "x86_64")]
        {
            if crate::kernel::x86::has_avx2_fma() {
                both_orientations::<crate::kernel::x86::Avx2F32>("avx2");
            }
            if crate::kernel::x86::has_avx512() {
                both_orientations::<crate::kernel::x86::Avx512F32>("avx512");
            }
        }
    }
}
