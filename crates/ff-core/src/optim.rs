//! SGD, Adam, AdamW and RMSprop (plain and centred) with PyTorch's update rules, and
//! `clip_grad_norm_`.

use crate::mat::sum_sq;
use crate::{Dense, DenseGrads, Error, Real, Result};

/// A layer's parameters, or their gradients, as a fixed list of flat tensors in optimizer
/// order: `[W, b]` for a [`Dense`] layer, `[W, b, γ, β]` for a [`Cell`](crate::cell::Cell)
/// with a LayerNorm, and so on. The optimizer keeps one state vector per layer, the tensors
/// laid end to end.
pub trait Tensors<T> {
    /// How many tensors.
    fn n_tensors(&self) -> usize;
    /// Tensor `k` (`k < n_tensors()`).
    fn tensor(&self, k: usize) -> &[T];
    /// Elements over all tensors.
    fn n_params(&self) -> usize {
        (0..self.n_tensors()).map(|k| self.tensor(k).len()).sum()
    }
}

/// [`Tensors`] that an optimizer can change in place.
pub trait TensorsMut<T>: Tensors<T> {
    /// Tensor `k`, mutably.
    fn tensor_mut(&mut self, k: usize) -> &mut [T];
}

impl<T: Real> Tensors<T> for Dense<T> {
    fn n_tensors(&self) -> usize {
        2
    }
    fn tensor(&self, k: usize) -> &[T] {
        self.params()[k.min(1)]
    }
}

impl<T: Real> TensorsMut<T> for Dense<T> {
    fn tensor_mut(&mut self, k: usize) -> &mut [T] {
        let [w, b] = self.params_mut();
        if k == 0 { w } else { b }
    }
}

impl<T: Real> Tensors<T> for DenseGrads<T> {
    fn n_tensors(&self) -> usize {
        2
    }
    fn tensor(&self, k: usize) -> &[T] {
        if k == 0 {
            self.w.as_slice()
        } else {
            self.b.as_slice()
        }
    }
}

/// The update rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum OptimizerKind {
    /// `p ← p − lr (g + λ p)` (PyTorch's SGD without momentum).
    Sgd,
    /// Adam; a weight decay is added to the gradient as an L2 term (`torch.optim.Adam`).
    #[default]
    Adam,
    /// Adam with decoupled weight decay `p ← p (1 − lr λ)` (`torch.optim.AdamW`).
    AdamW,
    /// RMSprop without momentum (`torch.optim.RMSprop`): `v ← α v + (1 − α) g²`,
    /// `p ← p − lr g / (√v + ε)`, with α the config's `beta2`; a weight decay is added to the
    /// gradient as an L2 term.
    RmsProp,
    /// Centred RMSprop (`torch.optim.RMSprop(centered=True)`): also the mean gradient
    /// `ḡ ← ḡ + (1 − α)(g − ḡ)`, and the denominator `√(v − ḡ²) + ε`. The MinAtar paper's
    /// optimizer (Young & Tian 2019: α 0.95, ε 0.01).
    RmsPropCentered,
}

impl OptimizerKind {
    /// Values of each moment an optimizer of this kind keeps for `n` parameters (SGD none).
    fn moment_len(self, n: usize) -> usize {
        match self {
            OptimizerKind::Sgd => 0,
            OptimizerKind::Adam
            | OptimizerKind::AdamW
            | OptimizerKind::RmsProp
            | OptimizerKind::RmsPropCentered => n,
        }
    }
}

/// Hyperparameters of an optimizer.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct OptimizerConfig {
    /// The update rule.
    pub kind: OptimizerKind,
    /// Learning rate.
    pub lr: f64,
    /// First-moment decay (Adam's β1).
    pub beta1: f64,
    /// Second-moment decay (Adam's β2, RMSprop's α).
    pub beta2: f64,
    /// Added to the denominator.
    pub eps: f64,
    /// Weight decay λ (L2 for SGD/Adam, decoupled for AdamW).
    pub weight_decay: f64,
    /// Rescale the gradients so that their joint norm is at most this (`clip_grad_norm_`).
    pub max_grad_norm: Option<f64>,
}

impl OptimizerConfig {
    /// Adam with PyTorch's defaults (β = (0.9, 0.999), ε = 1e-8, no weight decay).
    pub fn adam(lr: f64) -> Self {
        Self {
            kind: OptimizerKind::Adam,
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            max_grad_norm: None,
        }
    }

    /// AdamW with PyTorch's defaults and the given weight decay (PyTorch's default is 0.01).
    pub fn adamw(lr: f64, weight_decay: f64) -> Self {
        Self {
            kind: OptimizerKind::AdamW,
            weight_decay,
            ..Self::adam(lr)
        }
    }

    /// RMSprop with smoothing `alpha` and `eps` (PyTorch's defaults: 0.99, 1e-8), centred or
    /// not.
    ///
    /// ```
    /// use ff_core::OptimizerConfig;
    /// use ff_core::optim::OptimizerKind;
    /// // The MinAtar paper's optimizer.
    /// let c = OptimizerConfig::rmsprop(2.5e-4, 0.95, 0.01, true);
    /// assert_eq!((c.kind, c.beta2), (OptimizerKind::RmsPropCentered, 0.95));
    /// ```
    pub fn rmsprop(lr: f64, alpha: f64, eps: f64, centered: bool) -> Self {
        Self {
            kind: if centered {
                OptimizerKind::RmsPropCentered
            } else {
                OptimizerKind::RmsProp
            },
            beta2: alpha,
            eps,
            ..Self::adam(lr)
        }
    }

    /// Plain SGD.
    pub fn sgd(lr: f64) -> Self {
        Self {
            kind: OptimizerKind::Sgd,
            ..Self::adam(lr)
        }
    }

    /// The same optimizer with gradient-norm clipping.
    pub fn with_clip(self, max_grad_norm: f64) -> Self {
        Self {
            max_grad_norm: Some(max_grad_norm),
            ..self
        }
    }

    /// Checks every setting's range.
    ///
    /// ```
    /// use ff_core::OptimizerConfig;
    /// assert!(OptimizerConfig::adam(1e-3).validate().is_ok());
    /// assert!(OptimizerConfig::adam(-1.0).validate().is_err());
    /// assert!(OptimizerConfig::adam(1e-3).with_clip(0.0).validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<()> {
        let bad = |key, value, allowed| {
            Err(Error::BadHyperparameter {
                key,
                value,
                allowed,
            })
        };
        // The bounds keep every quantity finite in f32, the precision the steps run in: a
        // learning rate of 1e39 is infinite there, an eps below 1e-30 rounds towards 0 and
        // makes 0 / 0 of a parameter whose gradient is 0.
        if !(self.lr > 0.0 && self.lr <= 1e6) {
            return bad("lr", self.lr, "a number in (0, 1e6] (finite in f32)");
        }
        for (key, value) in [("beta1", self.beta1), ("beta2", self.beta2)] {
            if !(0.0..1.0).contains(&value) {
                return bad(key, value, "0 <= beta < 1");
            }
        }
        if !(1e-30..=1e6).contains(&self.eps) {
            return bad(
                "eps",
                self.eps,
                "a number in [1e-30, 1e6] (a positive f32 that 1 / eps keeps finite)",
            );
        }
        if !(0.0..=1e6).contains(&self.weight_decay) {
            return bad(
                "weight_decay",
                self.weight_decay,
                "a number in [0, 1e6] (finite in f32)",
            );
        }
        if let Some(m) = self.max_grad_norm
            && !(1e-30..=1e30).contains(&m)
        {
            return bad(
                "max_grad_norm",
                m,
                "a number in [1e-30, 1e30] (finite in f32)",
            );
        }
        Ok(())
    }
}

/// What one optimizer step did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepInfo {
    /// Joint Euclidean norm of the gradients before clipping.
    pub grad_norm: f64,
    /// Factor the gradients were scaled by (1 without clipping).
    pub clip_coef: f64,
}

/// An optimizer over a fixed group of layers, with its own state per parameter.
///
/// ```
/// use ff_core::{Dense, DenseGrads, Optimizer, OptimizerConfig};
/// use nalgebra::{DMatrix, DVector};
/// let mut layer = Dense::from_parts(DMatrix::from_element(1, 2, 1.0f64), DVector::zeros(1))?;
/// let mut opt = Optimizer::for_layers(OptimizerConfig::sgd(0.1), std::slice::from_ref(&layer))?;
/// let mut grads = DenseGrads::default();
/// grads.w.shape_to(1, 2);
/// grads.w.as_mut_slice().copy_from_slice(&[1.0, -1.0]);
/// grads.b.shape_to(1, 1);
/// grads.b.as_mut_slice()[0] = 0.0;
/// opt.step_layers(std::slice::from_mut(&mut layer), std::slice::from_ref(&grads))?;
/// assert_eq!(layer.weights().as_slice(), &[0.9, 1.1]);
/// # Ok::<(), ff_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Optimizer<T> {
    config: OptimizerConfig,
    steps: u64,
    sizes: Vec<usize>,
    m: Vec<Vec<T>>,
    v: Vec<Vec<T>>,
}

/// Deserialising checks what a file cannot be trusted to hold: the hyperparameters (as
/// [`OptimizerConfig::validate`] does) and one moment of the right length per layer, so that a
/// step on a read-back optimizer never indexes out of its state.
#[cfg(feature = "serde")]
impl<'de, T: Real + serde::Deserialize<'de>> serde::Deserialize<'de> for Optimizer<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        #[derive(serde::Deserialize)]
        struct Parts<T> {
            config: OptimizerConfig,
            steps: u64,
            sizes: Vec<usize>,
            m: Vec<Vec<T>>,
            v: Vec<Vec<T>>,
        }
        let p = Parts::<T>::deserialize(d)?;
        p.config.validate().map_err(D::Error::custom)?;
        let fits = |moments: &[Vec<T>]| {
            moments.len() == p.sizes.len()
                && moments
                    .iter()
                    .zip(&p.sizes)
                    .all(|(m, &n)| m.len() == p.config.kind.moment_len(n))
        };
        if !fits(&p.m) || !fits(&p.v) {
            return Err(D::Error::custom(format!(
                "an optimizer for layers of {:?} parameters holds moments of {:?} and {:?} values",
                p.sizes,
                p.m.iter().map(Vec::len).collect::<Vec<_>>(),
                p.v.iter().map(Vec::len).collect::<Vec<_>>()
            )));
        }
        Ok(Self {
            config: p.config,
            steps: p.steps,
            sizes: p.sizes,
            m: p.m,
            v: p.v,
        })
    }
}

/// `Σ ‖g‖²` over the gradients of several layers.
///
/// ```
/// let mut g = ff_core::DenseGrads::<f32>::default();
/// g.w.shape_to(1, 2);
/// g.w.as_mut_slice().copy_from_slice(&[3.0, 4.0]);
/// g.b.shape_to(1, 1);
/// g.b.as_mut_slice()[0] = 0.0;
/// assert_eq!(ff_core::optim::grad_sq_norm(&[g]), 25.0);
/// ```
pub fn grad_sq_norm<T: Real>(grads: &[DenseGrads<T>]) -> f64 {
    grads.iter().map(DenseGrads::sq_norm).sum()
}

impl<T: Real> Optimizer<T> {
    /// An optimizer for layers with `sizes[k]` parameters each (see [`Dense::param_count`]).
    pub fn new(config: OptimizerConfig, sizes: &[usize]) -> Result<Self> {
        config.validate()?;
        let state = |n: usize| vec![T::zero(); config.kind.moment_len(n)];
        Ok(Self {
            config,
            steps: 0,
            sizes: sizes.to_vec(),
            m: sizes.iter().map(|&n| state(n)).collect(),
            v: sizes.iter().map(|&n| state(n)).collect(),
        })
    }

    /// An optimizer for exactly these layers (any [`Tensors`]: dense layers, cells, …).
    pub fn for_layers<L: Tensors<T>>(config: OptimizerConfig, layers: &[L]) -> Result<Self> {
        let sizes: Vec<usize> = layers.iter().map(Tensors::n_params).collect();
        Self::new(config, &sizes)
    }

    /// The hyperparameters.
    pub fn config(&self) -> &OptimizerConfig {
        &self.config
    }

    /// Parameter count of each layer this optimizer was built for.
    pub fn sizes(&self) -> &[usize] {
        &self.sizes
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Elements of optimizer state held, for memory accounting.
    pub fn state_len(&self) -> usize {
        self.m.iter().chain(&self.v).map(Vec::len).sum()
    }

    /// One update of `layers` with `grads` (same order and shapes as at construction). The
    /// gradients are clipped jointly first when a maximum norm is set. A non-finite gradient
    /// is refused before any parameter changes.
    pub fn step_layers<L: TensorsMut<T>, G: Tensors<T>>(
        &mut self,
        layers: &mut [L],
        grads: &[G],
    ) -> Result<StepInfo> {
        let layout_ok = layers.len() == self.sizes.len()
            && grads.len() == layers.len()
            && layers
                .iter()
                .zip(grads)
                .zip(&self.sizes)
                .all(|((l, g), &n)| {
                    l.n_params() == n
                        && g.n_tensors() == l.n_tensors()
                        && (0..l.n_tensors()).all(|k| g.tensor(k).len() == l.tensor(k).len())
                });
        if !layout_ok {
            return Err(Error::TensorLayout {
                expected: self.sizes.clone(),
                got: grads.iter().map(Tensors::n_params).collect(),
            });
        }
        // Per layer the squares are summed in T, tensor after tensor, then the layers in f64.
        let sq: f64 = grads
            .iter()
            .map(|g| {
                (0..g.n_tensors())
                    .fold(T::zero(), |acc, k| acc + sum_sq(g.tensor(k)))
                    .to_f64()
            })
            .sum();
        let grad_norm = sq.sqrt();
        if !grad_norm.is_finite() {
            for g in grads {
                for k in 0..g.n_tensors() {
                    crate::mat::check_finite(
                        "Optimizer::step",
                        crate::error::Tensor::Gradient,
                        g.tensor(k),
                    )?;
                }
            }
        }
        // torch.nn.utils.clip_grad_norm_: coef = max / (norm + 1e-6), clamped to at most 1.
        let clip_coef = match self.config.max_grad_norm {
            Some(max) => (max / (grad_norm + 1e-6)).min(1.0),
            None => 1.0,
        };
        // Saturating: a count read from a file may be anything, and past 2^31 steps the bias
        // corrections below are exactly 1 anyway.
        self.steps = self.steps.saturating_add(1);
        for (k, (layer, g)) in layers.iter_mut().zip(grads).enumerate() {
            let mut offset = 0;
            for t in 0..layer.n_tensors() {
                let p = layer.tensor_mut(t);
                let n = p.len();
                self.update(k, offset, p, g.tensor(t), clip_coef);
                offset += n;
            }
        }
        Ok(StepInfo {
            grad_norm,
            clip_coef,
        })
    }

    /// Updates one tensor whose state starts at `offset` in layer `k`'s state, on 256-bit
    /// vectors where the CPU has them: the same bits, and the square roots and divisions that
    /// bound Adam's and RMSprop's loops at half the instructions (Adam went from 7% of the zoo
    /// update to 4%).
    fn update(&mut self, k: usize, offset: usize, params: &mut [T], grads: &[T], clip_coef: f64) {
        ff_gemm::with_wide_vectors(
            #[inline(always)]
            || self.update_elements(k, offset, params, grads, clip_coef),
        );
    }

    /// [`Self::update`]'s element loops, inlined into its wide-vector body.
    #[inline(always)]
    fn update_elements(
        &mut self,
        k: usize,
        offset: usize,
        params: &mut [T],
        grads: &[T],
        clip_coef: f64,
    ) {
        let c = &self.config;
        let lr = T::of(c.lr);
        let wd = T::of(c.weight_decay);
        // Without clipping the coefficient is exactly 1, and multiplying by it changes nothing.
        let scale = T::of(clip_coef);
        match c.kind {
            OptimizerKind::Sgd => {
                for (p, &g) in params.iter_mut().zip(grads) {
                    let g = g * scale + wd * *p;
                    *p -= lr * g;
                }
            }
            OptimizerKind::Adam | OptimizerKind::AdamW => {
                let decoupled = c.kind == OptimizerKind::AdamW;
                let t = i32::try_from(self.steps).unwrap_or(i32::MAX);
                // PyTorch computes the bias corrections in double precision.
                let bias1 = 1.0 - c.beta1.powi(t);
                let bias2_sqrt = (1.0 - c.beta2.powi(t)).sqrt();
                let step_size = T::of(c.lr / bias1);
                // A multiplication by the reciprocal instead of PyTorch's division: one divide
                // per element fewer, a difference in the last bit of the denominator.
                let inv_bias2_sqrt = T::of(1.0 / bias2_sqrt);
                let (b1w, b2, b2c) = (T::of(1.0 - c.beta1), T::of(c.beta2), T::of(1.0 - c.beta2));
                let eps = T::of(c.eps);
                // Branch-free so the loop vectorises: a mode that does not apply multiplies by
                // exactly 1 or adds exactly 0, which leaves finite values bit for bit alone.
                let (decay, l2) = if decoupled {
                    (T::one() - lr * wd, T::zero())
                } else {
                    (T::one(), wd)
                };
                // The smallest normal f32 (also used for f64, where it is far above subnormals).
                let tiny = T::of(f64::from(f32::MIN_POSITIVE));
                let n = params.len();
                let m = &mut self.m[k][offset..offset + n];
                let v = &mut self.v[k][offset..offset + n];
                for (((p, &g), m), v) in params.iter_mut().zip(grads).zip(m).zip(v) {
                    let g = g * scale + l2 * *p;
                    let pd = *p * decay;
                    let m_new = *m + (g - *m) * b1w; // exp_avg.lerp_(grad, 1 - beta1)
                    let v_new = *v * b2 + g * g * b2c;
                    // Moments of a parameter whose gradient is zero (a dead ReLU unit) decay
                    // into the subnormal range and, rounding to nearest, never leave it: every
                    // later step then pays a microcode assist per element (measured: a third
                    // of a BP-DQN update). Flushing them to zero changes an update by less
                    // than lr · 1e-30.
                    let m_new = if m_new.abs() < tiny { T::zero() } else { m_new };
                    let v_new = if v_new < tiny { T::zero() } else { v_new };
                    *m = m_new;
                    *v = v_new;
                    let denom = v_new.sqrt() * inv_bias2_sqrt + eps;
                    *p = pd - step_size * (m_new / denom);
                }
            }
            OptimizerKind::RmsProp | OptimizerKind::RmsPropCentered => {
                let centered = c.kind == OptimizerKind::RmsPropCentered;
                let (alpha, rest) = (T::of(c.beta2), T::of(1.0 - c.beta2));
                let (eps, neg_lr) = (T::of(c.eps), T::of(-c.lr));
                let n = params.len();
                let m = &mut self.m[k][offset..offset + n];
                let v = &mut self.v[k][offset..offset + n];
                // PyTorch's order of operations, step by step (`_single_tensor_rmsprop`).
                for (((p, &g), m), v) in params.iter_mut().zip(grads).zip(m).zip(v) {
                    let g = g * scale + wd * *p; // grad.add(param, alpha=weight_decay)
                    *v = *v * alpha + rest * g * g; // square_avg.mul_(alpha).addcmul_(g, g, 1 - alpha)
                    let avg = if centered {
                        *m = *m + (g - *m) * rest; // grad_avg.lerp_(grad, 1 - alpha)
                        (*v - *m * *m).sqrt() // square_avg.addcmul(ḡ, ḡ, value=-1).sqrt_()
                    } else {
                        v.sqrt()
                    };
                    // param.addcdiv_(grad, avg + eps, value=-lr): ATen computes
                    // `self + value * t1 / t2`, left to right.
                    *p += neg_lr * g / (avg + eps);
                }
            }
        }
    }
}
