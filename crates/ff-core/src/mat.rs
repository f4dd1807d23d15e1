//! A borrowed column-major matrix that can also be read transposed without copying.

use crate::{Error, Real, Result};
use nalgebra::{DMatrix, DMatrixView, Dyn, MatrixView};

/// A view with arbitrary strides, as [`MatRef::t`] returns.
pub type StridedView<'a, T> = MatrixView<'a, T, Dyn, Dyn, Dyn, Dyn>;

/// A read-only column-major matrix over a slice: one sample per column for activations.
///
/// nalgebra's views cannot be transposed without a copy; this type can ([`MatRef::t`] is a
/// strided view), which is what lets the backward pass call gemm on `Xᵀ` and `Wᵀ` directly.
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

    /// The matrix as a strided view (the same type [`MatRef::t`] returns).
    pub fn strided(&self) -> StridedView<'a, T> {
        StridedView::from_slice_with_strides_generic(
            self.data,
            Dyn(self.rows),
            Dyn(self.cols),
            Dyn(1),
            Dyn(self.rows),
        )
    }

    /// The transpose as a strided nalgebra view, without copying.
    pub fn t(&self) -> StridedView<'a, T> {
        StridedView::from_slice_with_strides_generic(
            self.data,
            Dyn(self.cols),
            Dyn(self.rows),
            Dyn(self.rows),
            Dyn(1),
        )
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

impl<'a, T: Real> Op<'a, T> {
    fn view(&self) -> StridedView<'a, T> {
        StridedView::from_slice_with_strides_generic(
            self.data,
            Dyn(self.rows),
            Dyn(self.cols),
            Dyn(self.rs),
            Dyn(self.cs),
        )
    }
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

/// `c ← α a b + β c`, with `c` a contiguous column-major `a.rows × b.cols` buffer.
///
/// Large products go to nalgebra's gemm, which hands them to matrixmultiply with the operands'
/// strides (so transposed operands cost nothing). nalgebra's own fallback for products with a
/// dimension of 5 or less walks strided operands past their end (it iterates over the
/// underlying slice rather than the vector), so small products (the 4-input first layer, the
/// 2-output head) take the loops below, written over contiguous slices so that they vectorise.
/// With `β = 0`, `c` is never read: stale NaNs in a reused buffer cannot leak through.
pub(crate) fn gemm<T: Real>(c: &mut [T], alpha: T, a: Op<'_, T>, b: Op<'_, T>, beta: T) {
    let (m, k_dim, n) = (a.rows, a.cols, b.cols);
    debug_assert_eq!(b.rows, k_dim);
    debug_assert_eq!(c.len(), m * n);
    const SMALL_DIM: usize = 5;
    if m > SMALL_DIM && n > SMALL_DIM && k_dim > SMALL_DIM {
        let mut cv = nalgebra::DMatrixViewMut::from_slice(c, m, n);
        cv.gemm(alpha, &a.view(), &b.view(), beta);
        return;
    }
    for j in 0..n {
        let col = &mut c[j * m..(j + 1) * m];
        if beta == T::zero() {
            col.fill(T::zero());
        } else if beta != T::one() {
            col.iter_mut().for_each(|v| *v *= beta);
        }
        if a.rs == 1 {
            // Columns of `a` are contiguous: c[:, j] += a[:, k] · b[k, j].
            for k in 0..k_dim {
                let bkj = alpha * b.data[k * b.rs + j * b.cs];
                let a_col = &a.data[k * a.cs..k * a.cs + m];
                for (v, &x) in col.iter_mut().zip(a_col) {
                    *v += x * bkj;
                }
            }
        } else {
            // Rows of `a` are contiguous (a transposed operand): c[i, j] += a[i, :] · b[:, j].
            for (i, v) in col.iter_mut().enumerate() {
                let a_row = &a.data[i * a.rs..i * a.rs + (k_dim - 1) * a.cs + 1];
                let dot = if b.rs == 1 && a.cs == 1 {
                    dot(a_row, &b.data[j * b.cs..j * b.cs + k_dim])
                } else {
                    (0..k_dim).fold(T::zero(), |acc, k| {
                        acc + a.data[i * a.rs + k * a.cs] * b.data[k * b.rs + j * b.cs]
                    })
                };
                *v += alpha * dot;
            }
        }
    }
}

/// A dot product with eight independent accumulators, so the compiler can vectorise it
/// (a single running sum fixes the order of additions and blocks SIMD).
fn dot<T: Real>(x: &[T], y: &[T]) -> T {
    let mut acc = [T::zero(); 8];
    let (xc, yc) = (x.chunks_exact(8), y.chunks_exact(8));
    let (xr, yr) = (xc.remainder(), yc.remainder());
    for (a, b) in xc.zip(yc) {
        for l in 0..8 {
            acc[l] += a[l] * b[l];
        }
    }
    let mut sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (&a, &b) in xr.iter().zip(yr) {
        sum += a * b;
    }
    sum
}
