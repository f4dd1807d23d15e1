//! The dense layer `z = W x + b`: initialisation, forward and backward passes.

use crate::error::check_finite;
use crate::mat::gemm;
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

/// A fully connected layer with weights `w` (`out × in`) and biases `b` (`out`).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Dense<T: Real> {
    /// Weights, one row per output unit.
    pub w: DMatrix<T>,
    /// Biases.
    pub b: DVector<T>,
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
    pub fn sq_norm(&self) -> f64 {
        (crate::mat::sum_sq(self.w.as_slice()) + crate::mat::sum_sq(self.b.as_slice())).to_f64()
    }
}

impl<T: Real> Dense<T> {
    /// A layer mapping `in_dim` features to `out_dim`, parameters drawn from `rng`.
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
        Self { w, b }
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
        check_finite(op, "input", x.as_slice())
    }

    /// `out ← W x + b` for a batch `x` (`in × batch`); `out` becomes `out_dim × batch`.
    pub fn forward(&self, x: MatRef<'_, T>, out: &mut Buf<T>) -> Result<()> {
        self.check_input("Dense::forward", &x)?;
        self.forward_unchecked(x, out);
        Ok(())
    }

    pub(crate) fn forward_unchecked(&self, x: MatRef<'_, T>, out: &mut Buf<T>) {
        self.affine(x, out, false);
    }

    /// `out ← W x + b`, and the ReLU in the same pass over `out` when `relu` is set.
    pub(crate) fn affine(&self, x: MatRef<'_, T>, out: &mut Buf<T>, relu: bool) {
        out.shape_to(self.out_dim(), x.cols());
        let w = MatRef::from(&self.w).op();
        gemm(out.as_mut_slice(), w, x.op());
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
    }

    /// `out ← relu(W x + b)`.
    pub fn forward_relu(&self, x: MatRef<'_, T>, out: &mut Buf<T>) -> Result<()> {
        self.check_input("Dense::forward_relu", &x)?;
        self.affine(x, out, true);
        Ok(())
    }

    /// Given the input `x` of the forward pass and the upstream gradient `dz = ∂L/∂z`
    /// (`out × batch`), writes `∂L/∂W = dz xᵀ` and `∂L/∂b = Σ_j dz_j` into `grads`, and
    /// `∂L/∂x = Wᵀ dz` into `dx` when asked for.
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
        check_finite("Dense::backward", "upstream gradient", dz.as_slice())?;
        self.param_grads(x, dz, grads);
        if let Some(dx) = dx {
            dx.shape_to(self.in_dim(), x.cols());
            let wt = MatRef::from(&self.w).op_t();
            gemm(dx.as_mut_slice(), wt, dz.op());
        }
        Ok(())
    }

    /// The parameter half of the backward pass; shapes already checked.
    pub(crate) fn param_grads(
        &self,
        x: MatRef<'_, T>,
        dz: MatRef<'_, T>,
        grads: &mut DenseGrads<T>,
    ) {
        grads.w.shape_to(self.out_dim(), self.in_dim());
        gemm(grads.w.as_mut_slice(), dz.op(), x.op_t());
        grads.b.shape_to(self.out_dim(), 1);
        let gb = grads.b.as_mut_slice();
        gb.fill(T::zero());
        for j in 0..dz.cols() {
            for (acc, &d) in gb.iter_mut().zip(dz.column(j)) {
                *acc += d;
            }
        }
    }

    /// Parameters flattened in optimizer order: weights (column-major), then biases.
    pub fn params_mut(&mut self) -> [&mut [T]; 2] {
        [self.w.as_mut_slice(), self.b.as_mut_slice()]
    }

    /// Parameters in optimizer order.
    pub fn params(&self) -> [&[T]; 2] {
        [self.w.as_slice(), self.b.as_slice()]
    }
}

/// Turns `∂L/∂h` into `∂L/∂z` through a ReLU, given its output `h` (`h > 0` exactly where
/// `z > 0`).
pub fn relu_backward_in_place<T: Real>(grad: &mut [T], h: &[T]) {
    for (g, &hv) in grad.iter_mut().zip(h) {
        *g = if hv > T::zero() { *g } else { T::zero() };
    }
}
