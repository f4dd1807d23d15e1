//! The dense layer `z = W x + b` with forward and backward passes: the building block of both
//! the Forward-Forward layers and the backprop baseline, so that the two are compared on
//! identical code.

use crate::mat::{check_finite, gemm, sum_sq};
use crate::{Buf, Error, MatRef, Real, Result};
use nalgebra::{DMatrix, DVector};
use rand::Rng;

/// How a layer's parameters are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Init {
    /// PyTorch's `nn.Linear` default: weights and biases uniform in `±1/sqrt(fan_in)`.
    #[default]
    PytorchDefault,
    /// Xavier (Glorot) uniform weights in `±sqrt(6 / (fan_in + fan_out))`, zero biases.
    XavierUniform,
}

/// A fully connected layer with weights `W` (`out × in`) and biases `b` (`out`).
///
/// The fields are private so that `W` and `b` always agree in shape; parameters are changed
/// through [`Dense::params_mut`] (slices of fixed length) or built with [`Dense::from_parts`].
///
/// ```
/// use ff_core::{Buf, Dense, MatRef};
/// use nalgebra::{DMatrix, DVector};
/// let layer = Dense::from_parts(DMatrix::from_row_slice(1, 2, &[1.0f32, -1.0]), DVector::from_element(1, 0.5))?;
/// let mut out = Buf::default();
/// layer.forward(MatRef::new(&[3.0, 1.0], 2, 1)?, &mut out)?;
/// assert_eq!(out.as_slice(), &[2.5]);
/// assert!(Dense::from_parts(DMatrix::<f32>::zeros(2, 2), DVector::zeros(3)).is_err());
/// # Ok::<(), ff_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Dense<T: Real> {
    w: DMatrix<T>,
    b: DVector<T>,
    /// Whether a binary input batch is multiplied by gathering the columns it selects (see
    /// [`Dense::set_binary_gather`]); not part of the parameters.
    #[cfg_attr(feature = "serde", serde(skip))]
    gather: bool,
}

/// An input batch is multiplied by gathering when every value is 0 or 1 and at most this
/// fraction of them is 1: a gathered column costs an add per output where the product costs a
/// multiply-add per input and output, so below about a quarter the gather is the cheaper.
const GATHER_MAX_DENSITY: f64 = 0.25;

/// Whether `x` is all zeros and ones with few enough ones to gather. Counted without a branch
/// per value (the loop vectorises): a batch of hidden activations is rejected in one pass too.
fn gathers<T: Real>(x: &[T]) -> bool {
    // Most batches that are not binary (states, activations) show it in their first values.
    if x.iter().take(64).any(|&v| v != T::zero() && v != T::one()) {
        return false;
    }
    let (mut ones, mut zeros) = (0usize, 0usize);
    for &v in x {
        ones += usize::from(v == T::one());
        zeros += usize::from(v == T::zero());
    }
    ones + zeros == x.len() && (ones as f64) <= GATHER_MAX_DENSITY * x.len() as f64
}

/// Calls `f(i)` for every `i` with `x[i] != 0`, in increasing order, skipping blocks of 16
/// zeros with one vectorisable test (a grid is mostly zeros).
#[inline]
fn for_each_nonzero<T: Real>(x: &[T], mut f: impl FnMut(usize)) {
    let mut blocks = x.chunks_exact(16);
    let mut base = 0;
    for block in &mut blocks {
        if block.iter().fold(false, |any, &v| any | (v != T::zero())) {
            for (k, &v) in block.iter().enumerate() {
                if v != T::zero() {
                    f(base + k);
                }
            }
        }
        base += 16;
    }
    for (k, &v) in blocks.remainder().iter().enumerate() {
        if v != T::zero() {
            f(base + k);
        }
    }
}

/// Gradients of a dense layer's parameters, reusable across layers of any shape.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DenseGrads<T> {
    /// `∂L/∂W`, `out × in`.
    pub w: Buf<T>,
    /// `∂L/∂b`, `out × 1`.
    pub b: Buf<T>,
}

impl<T: Real> DenseGrads<T> {
    /// Squared Euclidean norm over both tensors.
    ///
    /// ```
    /// let mut g = ff_core::DenseGrads::<f64>::default();
    /// g.w.shape_to(1, 1);
    /// g.w.as_mut_slice()[0] = 3.0;
    /// g.b.shape_to(1, 1);
    /// g.b.as_mut_slice()[0] = 4.0;
    /// assert_eq!(g.sq_norm(), 25.0);
    /// ```
    pub fn sq_norm(&self) -> f64 {
        (sum_sq(self.w.as_slice()) + sum_sq(self.b.as_slice())).to_f64()
    }
}

impl<T: Real> Dense<T> {
    /// A layer mapping `in_dim` features to `out_dim`, parameters drawn from `rng`.
    ///
    /// ```
    /// use ff_core::{Dense, Init};
    /// use rand::SeedableRng;
    /// let l = Dense::<f32>::new(4, 8, Init::XavierUniform, &mut rand::rngs::StdRng::seed_from_u64(0));
    /// assert_eq!((l.in_dim(), l.out_dim(), l.param_count()), (4, 8, 40));
    /// assert!(l.biases().iter().all(|&b| b == 0.0)); // Xavier: zero biases
    /// ```
    pub fn new(in_dim: usize, out_dim: usize, init: Init, rng: &mut impl Rng) -> Self {
        let (w_bound, b_bound) = match init {
            Init::PytorchDefault => {
                let bound = 1.0 / (in_dim.max(1) as f64).sqrt();
                (bound, Some(bound))
            }
            Init::XavierUniform => ((6.0 / (in_dim + out_dim).max(1) as f64).sqrt(), None),
        };
        // Row-major draw order (as PyTorch fills its row-major weight tensor), stored column-major.
        let mut w = DMatrix::zeros(out_dim, in_dim);
        for r in 0..out_dim {
            for c in 0..in_dim {
                w[(r, c)] = T::of(rng.gen_range(-w_bound..=w_bound));
            }
        }
        let b = DVector::from_fn(out_dim, |_, _| match b_bound {
            Some(bound) => T::of(rng.gen_range(-bound..=bound)),
            None => T::zero(),
        });
        Self { w, b, gather: true }
    }

    /// A layer from its weights (`out × in`) and biases (`out`), which must agree.
    pub fn from_parts(w: DMatrix<T>, b: DVector<T>) -> Result<Self> {
        if b.len() != w.nrows() {
            return Err(Error::ShapeMismatch {
                op: "Dense::from_parts (biases)",
                expected: (w.nrows(), 1),
                got: (b.len(), 1),
            });
        }
        Ok(Self { w, b, gather: true })
    }

    /// A layer from row-major weights (`out_dim` rows of `in_dim`, PyTorch's layout) and biases.
    ///
    /// ```
    /// let l = ff_core::Dense::from_row_major(2, 1, &[1.0f32, 2.0], &[0.0])?;
    /// assert_eq!(l.weights()[(0, 1)], 2.0);
    /// assert!(ff_core::Dense::from_row_major(usize::MAX, 2, &[1.0f32], &[0.0, 0.0]).is_err());
    /// # Ok::<(), ff_core::Error>(())
    /// ```
    pub fn from_row_major(in_dim: usize, out_dim: usize, w: &[T], b: &[T]) -> Result<Self> {
        if in_dim.checked_mul(out_dim) != Some(w.len()) {
            return Err(Error::ShapeMismatch {
                op: "Dense::from_row_major (weights)",
                expected: (out_dim, in_dim),
                got: (w.len(), 1),
            });
        }
        if b.len() != out_dim {
            return Err(Error::ShapeMismatch {
                op: "Dense::from_row_major (biases)",
                expected: (out_dim, 1),
                got: (b.len(), 1),
            });
        }
        Ok(Self {
            w: DMatrix::from_row_slice(out_dim, in_dim, w),
            b: DVector::from_column_slice(b),
            gather: true,
        })
    }

    /// The weights, `out × in`.
    pub fn weights(&self) -> &DMatrix<T> {
        &self.w
    }

    /// The biases.
    pub fn biases(&self) -> &DVector<T> {
        &self.b
    }

    /// Number of inputs.
    pub fn in_dim(&self) -> usize {
        self.w.ncols()
    }

    /// Number of outputs.
    pub fn out_dim(&self) -> usize {
        self.w.nrows()
    }

    /// Number of parameters (weights then biases, the order the optimizer sees them in).
    pub fn param_count(&self) -> usize {
        self.w.len() + self.b.len()
    }

    /// Copies another layer's parameters (for target networks), without allocating.
    pub fn copy_from(&mut self, other: &Self) -> Result<()> {
        self.check_same_shape(other, "copy_from")?;
        self.w.copy_from(&other.w);
        self.b.copy_from(&other.b);
        Ok(())
    }

    /// Polyak averaging `self ← τ·other + (1 − τ)·self`.
    ///
    /// ```
    /// use ff_core::Dense;
    /// let mut target = Dense::from_row_major(1, 1, &[0.0f32], &[0.0])?;
    /// let online = Dense::from_row_major(1, 1, &[1.0f32], &[2.0])?;
    /// target.blend_from(&online, 0.25)?;
    /// assert_eq!(target.params(), [&[0.25f32][..], &[0.5][..]]);
    /// # Ok::<(), ff_core::Error>(())
    /// ```
    pub fn blend_from(&mut self, other: &Self, tau: T) -> Result<()> {
        self.check_same_shape(other, "blend_from")?;
        let keep = T::one() - tau;
        for (s, &o) in self
            .w
            .iter_mut()
            .chain(self.b.iter_mut())
            .zip(other.w.iter().chain(other.b.iter()))
        {
            *s = tau * o + keep * *s;
        }
        Ok(())
    }

    fn check_same_shape(&self, other: &Self, op: &'static str) -> Result<()> {
        if self.w.shape() != other.w.shape() {
            return Err(Error::ShapeMismatch {
                op,
                expected: self.w.shape(),
                got: other.w.shape(),
            });
        }
        Ok(())
    }

    /// Checks an input batch: `in_dim` rows, at least one column, every value finite.
    pub(crate) fn check_input(&self, op: &'static str, x: &MatRef<'_, T>) -> Result<()> {
        if x.rows() != self.in_dim() {
            return Err(Error::ShapeMismatch {
                op,
                expected: (self.in_dim(), x.cols()),
                got: x.shape(),
            });
        }
        if x.cols() == 0 {
            return Err(Error::EmptyBatch { op });
        }
        check_finite(op, crate::error::Tensor::Input, x.as_slice())
    }

    /// `out ← W x + b` for a batch `x` (`in × batch`); `out` becomes `out_dim × batch`.
    pub fn forward(&self, x: MatRef<'_, T>, out: &mut Buf<T>) -> Result<()> {
        self.check_input("Dense::forward", &x)?;
        self.affine(x, out, false)
    }

    /// `out ← relu(W x + b)`.
    pub fn forward_relu(&self, x: MatRef<'_, T>, out: &mut Buf<T>) -> Result<()> {
        self.check_input("Dense::forward_relu", &x)?;
        self.affine(x, out, true)
    }

    /// Whether a binary input batch (every value 0 or 1, at most a quarter of them 1, such as
    /// MinAtar's grids) is multiplied by what it selects: the forward pass adds the weight
    /// columns of the inputs that are 1 (a gather-add), and `∂L/∂W = dz xᵀ` adds each sample's
    /// `dz` into those columns (a scatter-add), so the cost follows the ones, not the inputs.
    /// The result is the product's, summed in another order (equal to rounding; exactly equal
    /// with one 1 per sample). On by default; off, every batch goes through the matrix
    /// product (the dense baseline the benchmarks compare with).
    pub fn set_binary_gather(&mut self, on: bool) {
        self.gather = on;
    }

    /// Whether binary inputs are gathered ([`Dense::set_binary_gather`]).
    pub fn binary_gather(&self) -> bool {
        self.gather
    }

    /// `out ← W x + b`, and the ReLU in the same pass over `out` when `relu` is set; the input
    /// is already checked.
    pub(crate) fn affine(&self, x: MatRef<'_, T>, out: &mut Buf<T>, relu: bool) -> Result<()> {
        out.shape_to(self.out_dim(), x.cols());
        if self.gather && gathers(x.as_slice()) {
            self.gather_add(x, out.as_mut_slice());
        } else {
            let w = MatRef::from(&self.w).op()?;
            gemm(out.as_mut_slice(), w, x.op()?)?;
        }
        // The bias is added after the product, in one vectorised pass (broadcasting it into
        // `out` first cost a memcpy per column).
        let bias = self.b.as_slice();
        for col in out.as_mut_slice().chunks_exact_mut(self.out_dim().max(1)) {
            for (v, &b) in col.iter_mut().zip(bias) {
                let z = *v + b;
                // `z > 0` is false for NaN too, so the ReLU maps NaN to 0 like a mask does.
                *v = if !relu || z > T::zero() { z } else { T::zero() };
            }
        }
        Ok(())
    }

    /// Given the input `x` of the forward pass and the upstream gradient `dz = ∂L/∂z`
    /// (`out × batch`), writes `∂L/∂W = dz xᵀ` and `∂L/∂b = Σ_j dz_j` into `grads`, and
    /// `∂L/∂x = Wᵀ dz` into `dx` when asked for.
    ///
    /// ```
    /// use ff_core::{Buf, Dense, DenseGrads, MatRef};
    /// let l = Dense::from_row_major(2, 1, &[1.0f32, -1.0], &[0.0])?;
    /// let (mut grads, mut dx) = (DenseGrads::default(), Buf::default());
    /// // One sample x = (3, 1), upstream gradient dz = 2.
    /// l.backward(MatRef::new(&[3.0, 1.0], 2, 1)?, MatRef::new(&[2.0], 1, 1)?, &mut grads, Some(&mut dx))?;
    /// assert_eq!(grads.w.as_slice(), &[6.0, 2.0]); // dz xᵀ
    /// assert_eq!(grads.b.as_slice(), &[2.0]);
    /// assert_eq!(dx.as_slice(), &[2.0, -2.0]); // Wᵀ dz
    /// # Ok::<(), ff_core::Error>(())
    /// ```
    pub fn backward(
        &self,
        x: MatRef<'_, T>,
        dz: MatRef<'_, T>,
        grads: &mut DenseGrads<T>,
        dx: Option<&mut Buf<T>>,
    ) -> Result<()> {
        self.check_input("Dense::backward", &x)?;
        if dz.shape() != (self.out_dim(), x.cols()) {
            return Err(Error::ShapeMismatch {
                op: "Dense::backward (upstream gradient)",
                expected: (self.out_dim(), x.cols()),
                got: dz.shape(),
            });
        }
        check_finite(
            "Dense::backward",
            crate::error::Tensor::UpstreamGradient,
            dz.as_slice(),
        )?;
        self.param_grads(x, dz, grads)?;
        if let Some(dx) = dx {
            dx.shape_to(self.in_dim(), x.cols());
            let wt = MatRef::from(&self.w).op_t()?;
            gemm(dx.as_mut_slice(), wt, dz.op()?)?;
        }
        Ok(())
    }

    /// `out ← W x` for a binary `x`: each sample's column is the sum of the weight columns
    /// its ones select, in input order.
    fn gather_add(&self, x: MatRef<'_, T>, out: &mut [T]) {
        let rows = self.out_dim();
        let w = self.w.as_slice();
        for (j, o) in out.chunks_exact_mut(rows.max(1)).enumerate() {
            o.fill(T::zero());
            for_each_nonzero(x.column(j), |i| {
                for (a, &wv) in o.iter_mut().zip(&w[i * rows..(i + 1) * rows]) {
                    *a += wv;
                }
            });
        }
    }

    /// `gw ← dz xᵀ` for a binary `x`: each sample's `dz` added into the columns of its ones.
    fn scatter_add(x: MatRef<'_, T>, dz: MatRef<'_, T>, gw: &mut [T]) {
        let rows = dz.rows();
        gw.fill(T::zero());
        for j in 0..x.cols() {
            let d = dz.column(j);
            for_each_nonzero(x.column(j), |i| {
                for (g, &dv) in gw[i * rows..(i + 1) * rows].iter_mut().zip(d) {
                    *g += dv;
                }
            });
        }
    }

    /// The parameter half of the backward pass; shapes already checked.
    pub(crate) fn param_grads(
        &self,
        x: MatRef<'_, T>,
        dz: MatRef<'_, T>,
        grads: &mut DenseGrads<T>,
    ) -> Result<()> {
        grads.w.shape_to(self.out_dim(), self.in_dim());
        if self.gather && gathers(x.as_slice()) {
            Self::scatter_add(x, dz, grads.w.as_mut_slice());
        } else {
            gemm(grads.w.as_mut_slice(), dz.op()?, x.op_t()?)?;
        }
        grads.b.shape_to(self.out_dim(), 1);
        let gb = grads.b.as_mut_slice();
        gb.fill(T::zero());
        for j in 0..dz.cols() {
            for (acc, &d) in gb.iter_mut().zip(dz.column(j)) {
                *acc += d;
            }
        }
        Ok(())
    }

    /// Parameters flattened in optimizer order: weights (column-major), then biases.
    pub fn params_mut(&mut self) -> [&mut [T]; 2] {
        [self.w.as_mut_slice(), self.b.as_mut_slice()]
    }

    /// Parameters in optimizer order.
    pub fn params(&self) -> [&[T]; 2] {
        [self.w.as_slice(), self.b.as_slice()]
    }

    /// Whether every parameter is finite (one vectorised pass).
    pub fn is_finite(&self) -> bool {
        crate::mat::all_finite(self.w.as_slice()) && crate::mat::all_finite(self.b.as_slice())
    }
}

/// Deserialising checks what a file cannot be trusted to hold: the weights' length against
/// their shape (with checked arithmetic) and the biases against the weights.
#[cfg(feature = "serde")]
impl<'de, T: Real + serde::Deserialize<'de>> serde::Deserialize<'de> for Dense<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        // nalgebra's own wire format: a matrix is `(data, nrows, ncols)`, a vector
        // `(data, nrows, ())`.
        #[derive(serde::Deserialize)]
        struct Parts<T> {
            w: (Vec<T>, usize, usize),
            b: (Vec<T>, usize, ()),
        }
        let p = Parts::<T>::deserialize(d)?;
        let ((w, rows, cols), (b, b_rows, ())) = (p.w, p.b);
        if rows.checked_mul(cols) != Some(w.len()) || b_rows != b.len() {
            return Err(D::Error::custom(format!(
                "a dense layer of {rows}×{cols} weights holds {} values, and {b_rows} biases {}",
                w.len(),
                b.len()
            )));
        }
        Self::from_parts(DMatrix::from_vec(rows, cols, w), DVector::from_vec(b))
            .map_err(D::Error::custom)
    }
}

/// Turns `∂L/∂h` into `∂L/∂z` through a ReLU, given its output `h` (`h > 0` exactly where
/// `z > 0`).
///
/// ```
/// let mut g = [1.0f32, 2.0, 3.0];
/// ff_core::dense::relu_backward_in_place(&mut g, &[0.5, 0.0, 2.0]);
/// assert_eq!(g, [1.0, 0.0, 3.0]);
/// ```
pub fn relu_backward_in_place<T: Real>(grad: &mut [T], h: &[T]) {
    for (g, &hv) in grad.iter_mut().zip(h) {
        *g = if hv > T::zero() { *g } else { T::zero() };
    }
}
