//! Every kernel this machine can run, for f32 and f64, against a naive triple loop in f64:
//! fixed edge shapes (partial tiles, several depth blocks, the transposed-output path) and
//! random shapes, transposes and padded leading dimensions.

use ff_gemm::{Error, Kernel, Strided, gemm, gemm_with, release_packing_space};
use proptest::prelude::*;

/// A deterministic stream in [-0.5, 0.5).
fn stream(seed: u64) -> impl FnMut() -> f64 {
    let mut state = seed | 1;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    }
}

/// A `rows × cols` view over `data`: column-major with leading dimension `rows + pad`, or
/// (`t`) row-major with leading dimension `cols + pad`.
fn view<T>(data: &[T], rows: usize, cols: usize, t: bool, pad: usize) -> Strided<'_, T> {
    let (rs, cs) = if t { (cols + pad, 1) } else { (1, rows + pad) };
    Strided::new(data, rows, cols, rs, cs).expect("test views are in bounds")
}

fn len(rows: usize, cols: usize, t: bool, pad: usize) -> usize {
    if t {
        rows * (cols + pad)
    } else {
        cols * (rows + pad)
    }
}

trait Float: ff_gemm::Element + Into<f64> + std::fmt::Debug {
    fn of(x: f64) -> Self;
    /// Tolerance per unit of depth, relative to the operands' magnitude (≤ 0.5).
    const TOL: f64;
}
impl Float for f32 {
    fn of(x: f64) -> Self {
        x as f32
    }
    const TOL: f64 = 1e-6;
}
impl Float for f64 {
    fn of(x: f64) -> Self {
        x
    }
    const TOL: f64 = 1e-14;
}

/// Largest |C − naive(A B)| over the product, divided by k.
#[allow(clippy::too_many_arguments)]
fn check<T: Float>(
    kernel: Kernel,
    (m, k, n): (usize, usize, usize),
    (ta, tb): (bool, bool),
    (pa, pb): (usize, usize),
    seed: u64,
) -> Result<(), String> {
    let mut next = stream(seed);
    let ad: Vec<T> = (0..len(m, k, ta, pa)).map(|_| T::of(next())).collect();
    let bd: Vec<T> = (0..len(k, n, tb, pb)).map(|_| T::of(next())).collect();
    let (a, b) = (view(&ad, m, k, ta, pa), view(&bd, k, n, tb, pb));
    let mut c = vec![T::of(f64::NAN); m * n];
    gemm_with(kernel, &mut c, a, b).map_err(|e| e.to_string())?;
    for i in 0..m {
        for j in 0..n {
            let want: f64 = (0..k)
                .map(|p| {
                    let x: f64 = a.get(i, p).map_or(f64::NAN, Into::into);
                    let y: f64 = b.get(p, j).map_or(f64::NAN, Into::into);
                    x * y
                })
                .sum();
            let got: f64 = c[i + j * m].into();
            let err = (got - want).abs();
            if err.is_nan() || err > T::TOL * k.max(1) as f64 {
                return Err(format!(
                    "{kernel:?} {m}x{k}x{n} ta={ta} tb={tb} pads=({pa},{pb}) at ({i},{j}): {got} vs {want}"
                ));
            }
        }
    }
    Ok(())
}

const EDGE_SHAPES: [(usize, usize, usize); 8] = [
    (1, 1, 1),
    (2, 64, 128),
    (33, 7, 13),
    (128, 128, 4),
    (70, 300, 50),
    (5, 600, 3),
    (129, 2, 1030),
    (64, 257, 130),
];

#[test]
fn every_available_kernel_matches_naive_product_on_edge_shapes() {
    for kernel in Kernel::available() {
        for shape in EDGE_SHAPES {
            for t in [(false, false), (true, false), (false, true), (true, true)] {
                check::<f32>(kernel, shape, t, (0, 1), 7).unwrap_or_else(|e| panic!("{e}"));
                check::<f64>(kernel, shape, t, (1, 0), 8).unwrap_or_else(|e| panic!("{e}"));
            }
        }
    }
}

#[test]
fn the_portable_kernel_is_always_available_and_listed_last() {
    let kernels = Kernel::available();
    assert_eq!(kernels.last(), Some(&Kernel::Portable));
    assert_eq!(kernels.first(), Some(&Kernel::best()));
    for k in Kernel::ALL {
        if !k.is_available() {
            let mut c = [0.0f32];
            let a = Strided::col_major(&[1.0f32], 1, 1).expect("in bounds");
            assert_eq!(
                gemm_with(k, &mut c, a, a),
                Err(Error::KernelUnavailable { kernel: k })
            );
        }
    }
}

/// Kernels differ only in how the k terms are grouped into FMAs across tiles, never in their
/// order, so f64 results agree to rounding; identical inputs on one kernel are bit-identical.
#[test]
fn a_kernel_is_deterministic() {
    let mut next = stream(3);
    let ad: Vec<f32> = (0..128 * 64).map(|_| next() as f32).collect();
    let bd: Vec<f32> = (0..64 * 128).map(|_| next() as f32).collect();
    for kernel in Kernel::available() {
        let mut c1 = vec![0.0f32; 128 * 128];
        let mut c2 = vec![1.0f32; 128 * 128];
        let a = Strided::col_major(&ad, 128, 64).expect("in bounds");
        let b = Strided::col_major(&bd, 64, 128).expect("in bounds");
        gemm_with(kernel, &mut c1, a, b).expect("valid shapes");
        release_packing_space::<f32>();
        gemm_with(kernel, &mut c2, a, b).expect("valid shapes");
        assert!(c1.iter().zip(&c2).all(|(x, y)| x.to_bits() == y.to_bits()));
    }
}

/// Whether an operand is read in place or packed first (its column stride decides: columns
/// 4 KiB apart or more are always packed) changes no bit of the product: packing copies, the
/// kernel's chain of fused multiply-adds is the same. Shapes on both sides of the rule that
/// packs a wide column-major `A` read by many column panels (the training step's 256 × 256 ×
/// 128), and a one-column product that reads it in place.
#[test]
fn packing_or_reading_in_place_changes_no_bit() {
    for (m, k, n) in [
        (256, 256, 128),
        (64, 128, 128),
        (256, 256, 1),
        (70, 300, 50),
    ] {
        let mut next = stream((m * k + n) as u64);
        let ad: Vec<f32> = (0..m * k).map(|_| next() as f32).collect();
        let bd: Vec<f32> = (0..k * n).map(|_| next() as f32).collect();
        // The same A with columns 1 100 elements apart: never read in place.
        let ld = 1_100;
        let mut wide = vec![f32::NAN; ld * (k - 1) + m];
        for j in 0..k {
            wide[j * ld..j * ld + m].copy_from_slice(&ad[j * m..(j + 1) * m]);
        }
        let b = Strided::col_major(&bd, k, n).expect("in bounds");
        for kernel in Kernel::available() {
            let mut c1 = vec![0.0f32; m * n];
            let mut c2 = vec![0.0f32; m * n];
            let a = Strided::col_major(&ad, m, k).expect("in bounds");
            let a_wide = Strided::new(&wide, m, k, 1, ld).expect("in bounds");
            gemm_with(kernel, &mut c1, a, b).expect("valid shapes");
            gemm_with(kernel, &mut c2, a_wide, b).expect("valid shapes");
            assert!(
                c1.iter().zip(&c2).all(|(x, y)| x.to_bits() == y.to_bits()),
                "{kernel:?} {m}x{k}x{n}: packed and in-place A differ"
            );
        }
    }
}

#[test]
fn bad_shapes_are_named_errors() {
    let data = [0.0f64; 6];
    assert!(matches!(
        Strided::new(&data, 3, 3, 1, 3),
        Err(Error::OutOfBounds {
            last: 8,
            len: 6,
            ..
        })
    ));
    assert!(matches!(
        Strided::new(&data, 2, usize::MAX, 1, usize::MAX),
        Err(Error::OutOfBounds {
            last: usize::MAX,
            ..
        })
    ));
    let a = Strided::col_major(&data, 2, 3).expect("in bounds");
    let mut c = [0.0f64; 4];
    assert!(matches!(
        gemm(&mut c, a, a),
        Err(Error::InnerDimension {
            a_cols: 3,
            b_rows: 2,
            ..
        })
    ));
    let mut short = [0.0f64; 3];
    assert!(matches!(
        gemm(&mut short, a, a.t()),
        Err(Error::OutputLength {
            rows: 2,
            cols: 2,
            len: 3
        })
    ));
    // k = 0: the product is zero, and the output is written.
    let empty: [f64; 0] = [];
    let z = Strided::col_major(&empty, 2, 0).expect("empty");
    let mut c = [9.0f64; 4];
    gemm(&mut c, z, z.t()).expect("2x0 times 0x2");
    assert_eq!(c, [0.0; 4]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn f32_matches_naive_on_random_shapes_for_every_kernel(
        m in 1usize..80, k in 1usize..600, n in 1usize..80,
        ta: bool, tb: bool, pa in 0usize..3, pb in 0usize..3, seed: u64,
    ) {
        for kernel in Kernel::available() {
            prop_assert_eq!(check::<f32>(kernel, (m, k, n), (ta, tb), (pa, pb), seed), Ok(()));
        }
    }

    #[test]
    fn f64_matches_naive_on_random_shapes_for_every_kernel(
        m in 1usize..80, k in 1usize..600, n in 1usize..80,
        ta: bool, tb: bool, pa in 0usize..3, pb in 0usize..3, seed: u64,
    ) {
        for kernel in Kernel::available() {
            prop_assert_eq!(check::<f64>(kernel, (m, k, n), (ta, tb), (pa, pb), seed), Ok(()));
        }
    }
}
