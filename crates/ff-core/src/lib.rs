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
//! Two loss forms are offered ([`ff::LossForm`]):
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
//! dropped rather than dividing by zero).
//!
//! # Example: the shortest FF training loop
//!
//! ```
//! use ff_core::rand::{SeedableRng, rngs::StdRng};
//! use ff_core::{FfLayer, FfLayerConfig, Init, MatRef, OptimizerConfig};
//!
//! let mut rng = StdRng::seed_from_u64(0);
//! let mut layer = FfLayer::<f32>::new(3, 8, FfLayerConfig::default(), Init::XavierUniform, &mut rng)
//!     .with_optimizer(OptimizerConfig::adam(0.03))?;
//! // Two positive and two negative samples, one per column.
//! let pos = MatRef::new(&[1.0, 0.5, 0.2, 0.9, 0.4, 0.1], 3, 2)?;
//! let neg = MatRef::new(&[-0.2, 0.1, -1.0, -0.1, 0.2, -0.9], 3, 2)?;
//! let first = layer.train_step(pos, neg)?;
//! for _ in 0..200 {
//!     layer.train_step(pos, neg)?;
//! }
//! let last = layer.train_step(pos, neg)?;
//! assert!(last.loss < first.loss && last.mean_g_pos > last.mean_g_neg);
//! # Ok::<(), ff_core::Error>(())
//! ```
//!
//! # What is where
//!
//! * [`ff`]: the FF objective — goodness, loss, the closed-form gradient
//!   ([`ff::ff_gradients`], for networks that share buffers between layers) and [`FfLayer`].
//! * [`dense`]: the dense layer with forward and backward passes ([`Dense`]), the building
//!   block of both the FF layers and a backpropagation baseline, so that the two are compared
//!   on identical code.
//! * [`norm`]: input normalisation and its backward pass ([`InputNorm`]), and LayerNorm.
//! * [`cell`]: a dense layer, a ReLU and an optional LayerNorm before or after it, with its
//!   backward pass: the layer of the layer-local learners and of a backprop baseline that
//!   gets the same normalisation.
//! * [`local`]: layer-local value functions: a layer's goodness as its Q-value, and SymBa's
//!   loss.
//! * [`optim`]: SGD, Adam, AdamW and RMSprop (plain and centred) with PyTorch's update rules and `clip_grad_norm_`
//!   ([`Optimizer`]).
//! * [`mat`]: column-major matrices ([`MatRef`], the reusable [`Buf`]) and products.
//!
//! Everything is generic over the float type ([`Real`]: `f32` for training, `f64` for the
//! finite-difference tests). Products run on the `ff-gemm` crate, whose packing space is reused
//! rather than allocated per product; work buffers are caller-owned (or owned by the
//! [`FfLayer`]) and grow once, so a steady-state step allocates nothing. This crate has no
//! `unsafe` code.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod cell;
pub mod conv;
pub mod dense;
mod error;
pub mod ff;
pub mod local;
pub mod mat;
pub mod norm;
pub mod optim;

/// The `rand` (0.8) whose generators the constructors take: a project that depends on another
/// `rand` version seeds its generator through this one (`ff_core::rand::rngs::StdRng`).
pub use rand;

/// The README's example, compiled and run as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

pub use dense::{Dense, DenseGrads, Init};
pub use error::{Error, Tensor};
pub use ff::{FfLayer, FfLayerConfig, FfStats};
pub use mat::{Buf, MatRef};
pub use norm::InputNorm;
pub use optim::{Optimizer, OptimizerConfig};

/// The float types the crate computes in: `f32` for training, `f64` for gradient checks.
pub trait Real: nalgebra::RealField + Copy + ff_gemm::Element {
    /// Converts an `f64` constant.
    fn of(x: f64) -> Self {
        nalgebra::convert(x)
    }
    /// Converts to `f64` for reporting.
    fn to_f64(self) -> f64 {
        nalgebra::try_convert(self).unwrap_or(f64::NAN)
    }
}

impl<T: nalgebra::RealField + Copy + ff_gemm::Element> Real for T {}

/// Result of the crate's fallible operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
