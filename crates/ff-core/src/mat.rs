//! A borrowed column-major matrix that can also be read transposed without copying.

use crate::gemm::Strided;
use crate::{Buf, Error, Real, Result};
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
pub(crate) type Op<'a, T> = Strided<'a, T>;

impl<'a, T: Real> MatRef<'a, T> {
    /// As a gemm operand.
    pub(crate) fn op(&self) -> Op<'a, T> {
        Strided {
            data: self.data,
            rows: self.rows,
            cols: self.cols,
            rs: 1,
            cs: self.rows,
        }
    }

    /// Transposed, as a gemm operand.
    pub(crate) fn op_t(&self) -> Op<'a, T> {
        Strided {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            rs: self.rows,
            cs: 1,
        }
    }
}

/// Checks that every element the strides reach lies inside the slice.
fn assert_in_bounds<T>(op: &Op<'_, T>, what: &str) {
    if op.rows > 0 && op.cols > 0 {
        let last = (op.rows - 1) * op.rs + (op.cols - 1) * op.cs;
        assert!(
            last < op.data.len(),
            "gemm: operand {what} reaches index {last} of {}",
            op.data.len()
        );
    }
}

/// The float types the crate's gemm multiplies (`f32` and `f64`); sealed.
pub trait GemmScalar: crate::gemm::sealed::Scalar {}

impl<T: crate::gemm::sealed::Scalar> GemmScalar for T {}

/// `c ← a b`, with `c` a contiguous column-major `a.rows × b.cols` buffer.
///
/// Every product runs on the crate's own packed gemm (`gemm.rs`): it takes the operands'
/// strides, so a transposed operand costs nothing; its packing space is a per-thread buffer
/// reused from product to product, so a steady-state step allocates nothing; and it handles
/// this workload's thin products (the 4-input first layer, the 2-action head) without a slow
/// fallback. `c` is only written, never read, so stale values in a reused buffer cannot leak
/// through.
pub(crate) fn gemm<T: Real>(c: &mut [T], a: Op<'_, T>, b: Op<'_, T>) {
    assert_eq!(b.rows, a.cols, "gemm: inner dimensions disagree");
    assert_eq!(c.len(), a.rows * b.cols, "gemm: output is not m × n");
    assert_in_bounds(&a, "a");
    assert_in_bounds(&b, "b");
    crate::gemm::gemm(c, a, b);
}

/// `out ← a b` into a reused buffer (`out` becomes `a.rows × b.cols`), on the crate's gemm.
///
/// Once `out` and the calling thread's packing space have grown to the largest product seen,
/// no call allocates. [`release_gemm_space`] frees the packing space.
///
/// ```
/// use ff_core::{matmul, Buf, MatRef};
/// let a = [1.0f32, 2.0, 3.0, 4.0]; // [[1, 3], [2, 4]], column-major
/// let b = [1.0f32, 1.0];
/// let mut out = Buf::default();
/// matmul(MatRef::new(&a, 2, 2)?, MatRef::new(&b, 2, 1)?, &mut out)?;
/// assert_eq!(out.as_slice(), &[4.0, 6.0]);
/// # Ok::<(), ff_core::Error>(())
/// ```
pub fn matmul<T: Real>(a: MatRef<'_, T>, b: MatRef<'_, T>, out: &mut Buf<T>) -> Result<()> {
    if a.cols() != b.rows() {
        return Err(Error::ShapeMismatch {
            op: "matmul (right operand)",
            expected: (a.cols(), b.cols()),
            got: b.shape(),
        });
    }
    out.shape_to(a.rows(), b.cols());
    gemm(out.as_mut_slice(), a.op(), b.op());
    Ok(())
}

/// Frees the calling thread's gemm packing space for `T`. The next product allocates it again;
/// useful before measuring memory, or in a thread that is done multiplying.
pub fn release_gemm_space<T: Real>() {
    crate::gemm::release::<T>();
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
