//! A borrowed column-major matrix that can also be read transposed without copying.

use crate::{Error, Real, Result};
use nalgebra::{DMatrix, DMatrixView};

/// A read-only column-major matrix over a slice: one sample per column for activations.
///
/// Unlike nalgebra's views it can be handed to gemm transposed without a copy (by swapping
/// strides), which is what lets the backward pass multiply by `Xᵀ` and `Wᵀ` directly.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MatRef<'a, T> {
    data: &'a [T],
    rows: usize,
    cols: usize,
}

impl<'a, T: Real> MatRef<'a, T> {
    /// A `rows × cols` matrix over `data` (column-major, exactly `rows * cols` long).
    pub fn new(data: &'a [T], rows: usize, cols: usize) -> Result<Self> {
        if data.len() != rows * cols {
            return Err(Error::ShapeMismatch {
                op: "MatRef::new",
                expected: (rows, cols),
                got: (data.len(), 1),
            });
        }
        Ok(Self { data, rows, cols })
    }

    pub(crate) fn from_parts(data: &'a [T], rows: usize, cols: usize) -> Self {
        debug_assert_eq!(data.len(), rows * cols);
        Self { data, rows, cols }
    }

    /// Number of rows (features).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns (samples).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// `(rows, cols)`.
    pub fn shape(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    /// The elements, column-major.
    pub fn as_slice(&self) -> &'a [T] {
        self.data
    }

    /// Column `j` as a slice.
    pub fn column(&self, j: usize) -> &'a [T] {
        &self.data[j * self.rows..(j + 1) * self.rows]
    }

    /// The matrix as an nalgebra view.
    pub fn view(&self) -> DMatrixView<'a, T> {
        DMatrixView::from_slice(self.data, self.rows, self.cols)
    }
}

impl<'a, T: Real> From<&'a DMatrix<T>> for MatRef<'a, T> {
    fn from(m: &'a DMatrix<T>) -> Self {
        Self::from_parts(m.as_slice(), m.nrows(), m.ncols())
    }
}

/// A gemm operand: a slice read with row and column strides (so a transpose is free).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Op<'a, T> {
    data: &'a [T],
    rows: usize,
    cols: usize,
    rs: usize,
    cs: usize,
}

impl<'a, T: Real> MatRef<'a, T> {
    /// As a gemm operand.
    pub(crate) fn op(&self) -> Op<'a, T> {
        Op {
            data: self.data,
            rows: self.rows,
            cols: self.cols,
            rs: 1,
            cs: self.rows,
        }
    }

    /// Transposed, as a gemm operand.
    pub(crate) fn op_t(&self) -> Op<'a, T> {
        Op {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            rs: self.rows,
            cs: 1,
        }
    }
}

impl<T> Op<'_, T> {
    /// Checks that every element the strides reach lies inside the slice.
    fn assert_in_bounds(&self, what: &str) {
        if self.rows > 0 && self.cols > 0 {
            let last = (self.rows - 1) * self.rs + (self.cols - 1) * self.cs;
            assert!(
                last < self.data.len(),
                "gemm: operand {what} reaches index {last} of {}",
                self.data.len()
            );
        }
    }
}

/// The two float types matrixmultiply multiplies.
pub trait GemmScalar: Copy + 'static {
    /// `c ← α a b + β c` on strided operands (a: m × k, b: k × n, c: m × n column-major).
    #[allow(clippy::too_many_arguments)]
    fn gemm_strided(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: (&[Self], usize, usize),
        b: (&[Self], usize, usize),
        beta: Self,
        c: &mut [Self],
    );
}

macro_rules! gemm_scalar {
    ($t:ty, $f:path) => {
        impl GemmScalar for $t {
            #[allow(unsafe_code)]
            fn gemm_strided(
                m: usize,
                k: usize,
                n: usize,
                alpha: $t,
                a: (&[$t], usize, usize),
                b: (&[$t], usize, usize),
                beta: $t,
                c: &mut [$t],
            ) {
                // SAFETY: `gemm` has asserted that every element reached through the strides
                // lies inside its slice (a: m × k, b: k × n, c: m × n contiguous column-major),
                // and `c` is borrowed mutably, so it aliases neither `a` nor `b`.
                unsafe {
                    $f(
                        m,
                        k,
                        n,
                        alpha,
                        a.0.as_ptr(),
                        a.1 as isize,
                        a.2 as isize,
                        b.0.as_ptr(),
                        b.1 as isize,
                        b.2 as isize,
                        beta,
                        c.as_mut_ptr(),
                        1,
                        m as isize,
                    )
                }
            }
        }
    };
}

gemm_scalar!(f32, matrixmultiply::sgemm);
gemm_scalar!(f64, matrixmultiply::dgemm);

/// `c ← α a b + β c`, with `c` a contiguous column-major `a.rows × b.cols` buffer.
///
/// Every product goes straight to matrixmultiply (nalgebra's own gemm backend), which picks
/// an AVX-512, AVX2/FMA or SSE kernel at run time and takes the operands' strides, so a
/// transposed operand costs nothing. Calling it directly, rather than through nalgebra's
/// `gemm`, matters for this workload's thin products (the 4-input first layer, the 2-action
/// head): nalgebra sends any product with a dimension of 5 or less to a gemv fallback that is
/// slower and, with strided operands, reads past their end. With `β = 0`, `c` is never read,
/// so stale values in a reused buffer cannot leak through.
pub(crate) fn gemm<T: Real>(c: &mut [T], alpha: T, a: Op<'_, T>, b: Op<'_, T>, beta: T) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(b.rows, k, "gemm: inner dimensions disagree");
    assert_eq!(c.len(), m * n, "gemm: output is not m × n");
    a.assert_in_bounds("a");
    b.assert_in_bounds("b");
    T::gemm_strided(
        m,
        k,
        n,
        alpha,
        (a.data, a.rs, a.cs),
        (b.data, b.rs, b.cs),
        beta,
        c,
    );
}

/// `Σ x²` with eight independent accumulators, so the compiler can vectorise it (a single
/// running sum fixes the order of additions and blocks SIMD). The order is fixed too, so the
/// result is deterministic.
pub(crate) fn sum_sq<T: Real>(xs: &[T]) -> T {
    let mut acc = [T::zero(); 8];
    let chunks = xs.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for l in 0..8 {
            acc[l] += c[l] * c[l];
        }
    }
    let mut sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for &x in rest {
        sum += x * x;
    }
    sum
}
