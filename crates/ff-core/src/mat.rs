//! Matrices: [`MatRef`], a borrowed column-major matrix that can be read transposed without a
//! copy; [`Buf`], a reusable buffer that hands out matrices of any shape; [`matmul`]; and
//! [`all_finite`], the vectorised NaN/infinity scan every layer input goes through.
//!
//! Activations are `features × batch` matrices, one sample per column, everywhere in the crate.

use crate::{Error, Real, Result};
use ff_gemm::Strided;
use nalgebra::{DMatrix, DMatrixView};

/// A read-only column-major matrix over a slice: one sample per column for activations.
///
/// Unlike nalgebra's views it can be handed to the gemm transposed without a copy (by swapping
/// strides), which is what lets the backward pass multiply by `Xᵀ` and `Wᵀ` directly.
///
/// ```
/// use ff_core::MatRef;
/// let data = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
/// let x = MatRef::new(&data, 2, 3)?; // 2 features, 3 samples
/// assert_eq!(x.column(1), &[3.0, 4.0]);
/// assert!(MatRef::new(&data, 4, 4).is_err());
/// # Ok::<(), ff_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MatRef<'a, T> {
    data: &'a [T],
    rows: usize,
    cols: usize,
}

impl<'a, T: Real> MatRef<'a, T> {
    /// A `rows × cols` matrix over `data` (column-major, exactly `rows * cols` long).
    pub fn new(data: &'a [T], rows: usize, cols: usize) -> Result<Self> {
        if rows.checked_mul(cols) != Some(data.len()) {
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

    /// Column `j` as a slice (panics if `j >= cols`, like slice indexing).
    pub fn column(&self, j: usize) -> &'a [T] {
        &self.data[j * self.rows..(j + 1) * self.rows]
    }

    /// The matrix as an nalgebra view.
    pub fn view(&self) -> DMatrixView<'a, T> {
        DMatrixView::from_slice(self.data, self.rows, self.cols)
    }

    /// As a gemm operand.
    pub(crate) fn op(&self) -> Result<Strided<'a, T>> {
        Ok(Strided::col_major(self.data, self.rows, self.cols)?)
    }

    /// Transposed, as a gemm operand.
    pub(crate) fn op_t(&self) -> Result<Strided<'a, T>> {
        Ok(self.op()?.t())
    }
}

impl<'a, T: Real> From<&'a DMatrix<T>> for MatRef<'a, T> {
    fn from(m: &'a DMatrix<T>) -> Self {
        Self::from_parts(m.as_slice(), m.nrows(), m.ncols())
    }
}

/// Storage for a matrix whose shape changes between uses (a batch of activations of one layer,
/// then of the next). It grows to the largest shape asked for and never shrinks, so once warm it
/// never allocates.
///
/// ```
/// use ff_core::Buf;
/// let mut buf = Buf::<f32>::default();
/// buf.shape_to(2, 3);
/// buf.as_mut_slice().fill(1.0);
/// assert_eq!(buf.mat().shape(), (2, 3));
/// buf.shape_to(1, 2); // smaller: no allocation, contents unspecified
/// assert_eq!(buf.as_slice().len(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Buf<T> {
    data: Vec<T>,
    rows: usize,
    cols: usize,
}

impl<T> Buf<T> {
    /// An empty buffer; it allocates on first use.
    pub const fn new() -> Self {
        Self {
            data: Vec::new(),
            rows: 0,
            cols: 0,
        }
    }
}

impl<T: Real> Buf<T> {
    /// Sets the shape, growing the storage if needed. Contents are unspecified afterwards.
    pub fn shape_to(&mut self, rows: usize, cols: usize) {
        let n = rows * cols;
        if self.data.len() < n {
            self.data.resize(n, T::zero());
        }
        self.rows = rows;
        self.cols = cols;
    }

    /// The current shape.
    pub fn shape(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    /// Elements currently in use, column-major.
    pub fn as_slice(&self) -> &[T] {
        &self.data[..self.rows * self.cols]
    }

    /// Elements currently in use, column-major.
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        &mut self.data[..self.rows * self.cols]
    }

    /// The matrix as a [`MatRef`], for passing on as a layer input.
    pub fn mat(&self) -> MatRef<'_, T> {
        MatRef::from_parts(self.as_slice(), self.rows, self.cols)
    }

    /// Elements reserved (the high-water mark), for memory accounting.
    pub fn capacity(&self) -> usize {
        self.data.capacity()
    }
}

/// `c ← a b` on ff-gemm, with `c` a contiguous column-major `a.rows × b.cols` buffer. `c` is only
/// written, never read.
pub(crate) fn gemm<T: Real>(c: &mut [T], a: Strided<'_, T>, b: Strided<'_, T>) -> Result<()> {
    Ok(ff_gemm::gemm(c, a, b)?)
}

/// `out ← a b` into a reused buffer (`out` becomes `a.rows × b.cols`).
///
/// Once `out` and the calling thread's packing space (see `ff_gemm::release_packing_space`)
/// have grown to the largest product seen, no call allocates.
///
/// ```
/// use ff_core::{mat::matmul, Buf, MatRef};
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
    gemm(out.as_mut_slice(), a.op()?, b.op()?)
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

/// Whether every value is finite, in one vectorised pass: `x · 0` is 0 for a finite `x` and NaN
/// otherwise, and an eight-lane sum of it vectorises where a per-element test does not. Every
/// layer input is checked with it, so the common case must be cheap.
///
/// ```
/// assert!(ff_core::mat::all_finite(&[1.0f32, -2.0, 0.0]));
/// assert!(!ff_core::mat::all_finite(&[1.0f32, f32::INFINITY]));
/// ```
pub fn all_finite<T: Real>(values: &[T]) -> bool {
    // 32 independent sums (eight SSE registers of f32) so the adds pipeline instead of
    // waiting on each other: four times the throughput of eight.
    const W: usize = 32;
    let mut acc = [T::zero(); W];
    let chunks = values.chunks_exact(W);
    let rest = chunks.remainder();
    for c in chunks {
        for l in 0..W {
            acc[l] += c[l] * T::zero();
        }
    }
    acc.iter().chain(rest).all(|&v| v * T::zero() == T::zero())
}

/// The first non-finite value, as an error naming `op` and `what`.
pub(crate) fn check_finite<T: Real>(
    op: &'static str,
    what: crate::Tensor,
    values: &[T],
) -> Result<()> {
    if all_finite(values) {
        return Ok(());
    }
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(index) => Err(Error::NonFinite {
            op,
            what,
            index,
            value: values[index].to_f64(),
        }),
    }
}
