//! The Forward-Forward (FF) algorithm's math, as a small standalone crate.
//!
//! A Forward-Forward layer learns from a *local* objective instead of a gradient
//! back-propagated from the network's output (Hinton, 2022). Given a batch of inputs split into
//! positives `S+` and negatives `S−`, a layer computes for each sample `j`
//!
//! ```text
//! x̂_j = x_j / (‖x_j‖₂ + 1e-8)          (optional input normalisation)
//! z_j = W x̂_j + b,   h_j = relu(z_j)
//! g_j = Σ_i h_ij²     ("sum" goodness)   or   (1/n) Σ_i h_ij²   ("mean" goodness)
//! ```
//!
//! and is trained to give positives a goodness above the margin `m` and negatives one below it.
//! Two loss forms are offered ([`LossForm`]):
//!
//! ```text
//! batch-mean:  L = softplus(m − ḡ+) + softplus(ḡ− − m),     ḡ± = mean of g over S±
//! per-sample:  L = (1/B) [ Σ_{S+} softplus(m − g_j) + Σ_{S−} softplus(g_j − m) ]
//! ```
//!
//! The gradient is closed form and stays inside the layer — no graph, no stored activations of
//! other layers. With `σ` the logistic function and `c` = 1 (sum) or 1/n (mean):
//!
//! ```text
//! batch-mean:  ∂L/∂g_j = −σ(m − ḡ+)/|S+|  (j ∈ S+),   +σ(ḡ− − m)/|S−|  (j ∈ S−)
//! per-sample:  ∂L/∂g_j = −σ(m − g_j)/B    (j ∈ S+),   +σ(g_j − m)/B    (j ∈ S−)
//! ∂L/∂z_j = ∂L/∂g_j · 2c · h_j            (h_j is zero wherever z_j ≤ 0)
//! ∂L/∂W  = Σ_j ∂L/∂z_j x̂_jᵀ,    ∂L/∂b = Σ_j ∂L/∂z_j
//! ```
//!
//! An empty `S+` or `S−` contributes nothing to the batch-mean loss or its gradient (its term is
//! dropped rather than dividing by zero); the agents skip such batches and count them.
//!
//! The crate also holds the pieces a back-propagation baseline needs, so that FF and BP are
//! compared on identical code: a [`Dense`] layer with forward and backward passes, and the
//! [`Optimizer`] (SGD, Adam, AdamW, with PyTorch's update rules and `clip_grad_norm_`).
//!
//! Everything is generic over the float type ([`Real`]: `f32` for training, `f64` for the
//! finite-difference tests). Matrix products run on the crate's own packed gemm (AVX-512, AVX2 or
//! portable kernels, picked at run time), whose packing space is reused rather than allocated per
//! product. Batches are column-major matrices with one column per sample.
//! Work buffers live in caller-owned scratch structs ([`FfScratch`], [`DenseGrads`]) that grow
//! once and are reused, so a steady-state step allocates nothing.
//!
//! # Example
//!
//! One FF step on a batch of four 3-dimensional samples, the first two positive:
//!
//! ```
//! use ff_core::{Dense, DenseGrads, FfLayerConfig, FfScratch, Init, MatRef, Optimizer, OptimizerConfig};
//! use nalgebra::DMatrix;
//! use rand::SeedableRng;
//!
//! let mut rng = rand::rngs::StdRng::seed_from_u64(0);
//! let mut layer = Dense::<f32>::new(3, 8, Init::XavierUniform, &mut rng);
//! let mut opt = Optimizer::new(OptimizerConfig::adam(0.03), &[layer.param_count()])?;
//! let config = FfLayerConfig::default(); // sum goodness, batch-mean loss, m = 2
//! let x = DMatrix::from_column_slice(3, 4, &[
//!     1.0, 0.5, 0.2,   0.9, 0.4, 0.1,     // positives
//!     -0.2, 0.1, -1.0, -0.1, 0.2, -0.9,  // negatives
//! ]);
//! let is_pos = [true, true, false, false];
//! let (mut scratch, mut grads) = (FfScratch::default(), DenseGrads::default());
//! let first = layer.ff_step(&config, MatRef::from(&x), &is_pos, &mut scratch, &mut grads)?;
//! for _ in 0..200 {
//!     layer.ff_step(&config, MatRef::from(&x), &is_pos, &mut scratch, &mut grads)?;
//!     opt.step_layers(std::slice::from_mut(&mut layer), std::slice::from_ref(&grads))?;
//! }
//! let last = layer.ff_step(&config, MatRef::from(&x), &is_pos, &mut scratch, &mut grads)?;
//! assert!(last.loss < first.loss);
//! assert!(last.mean_g_pos > last.mean_g_neg);
//! # Ok::<(), ff_core::Error>(())
//! ```
#![deny(missing_docs)]

mod buf;
mod dense;
mod error;
mod ff;
mod gemm;
mod loss;
mod mat;
mod optim;

pub use buf::Buf;
pub use dense::{Dense, DenseGrads, Init, relu_backward_in_place};
pub use error::{Error, all_finite};
pub use ff::{
    FfLayerConfig, FfScratch, FfStats, InputNorm, l2_normalize_backward, l2_normalize_columns,
};
pub use loss::{Goodness, LossForm, LossStats, ff_loss, goodness, sigmoid, softplus};
pub use mat::{GemmScalar, MatRef, matmul, release_gemm_space};
pub use optim::{Optimizer, OptimizerConfig, OptimizerKind, StepInfo, grad_sq_norm};

/// The float types the crate computes in: `f32` for training, `f64` for gradient checks.
pub trait Real: nalgebra::RealField + Copy + mat::GemmScalar {
    /// Converts an `f64` constant.
    fn of(x: f64) -> Self {
        nalgebra::convert(x)
    }
    /// Converts to `f64` for reporting.
    fn to_f64(self) -> f64 {
        nalgebra::try_convert(self).unwrap_or(f64::NAN)
    }
}

impl<T: nalgebra::RealField + Copy + mat::GemmScalar> Real for T {}

/// Result of the crate's fallible operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
