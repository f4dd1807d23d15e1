//! Layer-local value functions and objectives.
//!
//! * [`GoodnessQ`]: a layer's *goodness* as its Q-value (after Wu & Ren, 2025, "Local RL with
//!   Action-Conditioned Root Mean Squared Q-Functions"). The action is part of the layer's
//!   input, and
//!
//!   ```text
//!   Q(s, a) = α · G(h(s, a)) + β_a,    G(h) = mean(h²)  or  sqrt(mean(h²))
//!   ∂Q/∂α = G,   ∂Q/∂β_a = 1,   ∂Q/∂h_i = α · 2 h_i / n  (mean square),  α · h_i / (n G)  (RMS)
//!   ```
//!
//!   so a TD error on `Q` reaches the layer's weights through its goodness and nothing else.
//! * [`symba_loss`]: SymBa's symmetric FF objective (Lee & Song, 2023) on the batch means,
//!   `L = softplus(−κ (ḡ+ − ḡ−))`, an alternative to FF's margin loss for an auxiliary term.

use crate::ff::{FfStats, sigmoid, softplus};
use crate::mat::{check_finite, sum_sq};
use crate::optim::{Tensors, TensorsMut};
use crate::{Buf, Error, MatRef, Real, Result};

/// How a layer's activity becomes its goodness in [`GoodnessQ`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
// Spelled as configs spell it (kebab-case); the variant names are still read, as files written
// before version 3 of ffdqn's weights format have them.
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum GoodnessForm {
    /// `mean(h²)`.
    #[default]
    #[cfg_attr(feature = "serde", serde(alias = "MeanSquare"))]
    MeanSquare,
    /// `sqrt(mean(h²))`, ARQ's root mean square.
    #[cfg_attr(feature = "serde", serde(alias = "Rms"))]
    Rms,
}

impl GoodnessForm {
    /// The goodness of one column.
    ///
    /// ```
    /// use ff_core::local::GoodnessForm;
    /// assert_eq!(GoodnessForm::MeanSquare.of(&[3.0f64, 4.0]), 12.5);
    /// assert_eq!(GoodnessForm::Rms.of(&[3.0f64, 4.0]), 12.5f64.sqrt());
    /// ```
    pub fn of<T: Real>(self, h: &[T]) -> T {
        let ms = sum_sq(h) / T::of(h.len().max(1) as f64);
        match self {
            GoodnessForm::MeanSquare => ms,
            GoodnessForm::Rms => ms.sqrt(),
        }
    }
}

/// The goodness readout `Q(s, a) = α · G(h) + β_a` of one layer (one `β` per action, or one
/// shared by all).
///
/// ```
/// use ff_core::local::{GoodnessForm, GoodnessQ};
/// use ff_core::MatRef;
/// let head = GoodnessQ::<f64>::new(2, 10.0, true);
/// let h = [1.0, 1.0, 0.0, 2.0]; // two samples of width 2
/// let mut q = [0.0; 2];
/// head.q_values(GoodnessForm::MeanSquare, MatRef::new(&h, 2, 2)?, &[0, 1], &mut q)?;
/// assert_eq!(q, [10.0, 20.0]); // α = 10, β = 0
/// # Ok::<(), ff_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct GoodnessQ<T: Real> {
    alpha: Vec<T>,
    beta: Vec<T>,
}

/// Gradients of a [`GoodnessQ`]'s `α` and `β`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GoodnessQGrads<T> {
    /// `∂L/∂α` (one value).
    pub alpha: Vec<T>,
    /// `∂L/∂β`.
    pub beta: Vec<T>,
}

impl<T: Real> GoodnessQ<T> {
    /// A readout for `n_actions` actions with `α = alpha` and `β = 0`, one `β` per action or
    /// one shared.
    pub fn new(n_actions: usize, alpha: f64, beta_per_action: bool) -> Self {
        Self {
            alpha: vec![T::of(alpha)],
            beta: vec![T::zero(); if beta_per_action { n_actions } else { 1 }],
        }
    }

    /// A readout from its parameters (`alpha` one value; `beta` one per action or one).
    pub fn from_parts(alpha: T, beta: Vec<T>) -> Result<Self> {
        if beta.is_empty() {
            return Err(Error::ShapeMismatch {
                op: "GoodnessQ::from_parts (beta)",
                expected: (1, 1),
                got: (0, 1),
            });
        }
        Ok(Self {
            alpha: vec![alpha],
            beta,
        })
    }

    /// `α`.
    pub fn alpha(&self) -> T {
        self.alpha[0]
    }

    /// `β` (one per action, or one shared).
    pub fn beta(&self) -> &[T] {
        &self.beta
    }

    fn beta_of(&self, action: u32) -> Result<T> {
        if self.beta.len() == 1 {
            return Ok(self.beta[0]);
        }
        self.beta
            .get(action as usize)
            .copied()
            .ok_or(Error::ShapeMismatch {
                op: "GoodnessQ (action index)",
                expected: (self.beta.len(), 1),
                got: (action as usize + 1, 1),
            })
    }

    /// `Q` of every column of `h` (`width × batch`), column `j` for action `actions[j]`.
    pub fn q_values(
        &self,
        form: GoodnessForm,
        h: MatRef<'_, T>,
        actions: &[u32],
        q: &mut [T],
    ) -> Result<()> {
        if actions.len() != h.cols() || q.len() != h.cols() {
            return Err(Error::ShapeMismatch {
                op: "GoodnessQ::q_values (actions, q)",
                expected: (h.cols(), 1),
                got: (actions.len().min(q.len()), 1),
            });
        }
        for (j, (qj, &a)) in q.iter_mut().zip(actions).enumerate() {
            *qj = self.alpha() * form.of(h.column(j)) + self.beta_of(a)?;
        }
        check_finite("GoodnessQ::q_values", crate::Tensor::Goodness, q)
    }

    /// Given `∂L/∂Q` per column, writes `∂L/∂α`, `∂L/∂β` into `grads` and `∂L/∂h` into `dh`.
    pub fn backward(
        &self,
        form: GoodnessForm,
        h: MatRef<'_, T>,
        actions: &[u32],
        dq: &[T],
        grads: &mut GoodnessQGrads<T>,
        dh: &mut Buf<T>,
    ) -> Result<()> {
        let (n, b) = h.shape();
        if actions.len() != b || dq.len() != b {
            return Err(Error::ShapeMismatch {
                op: "GoodnessQ::backward (actions, dq)",
                expected: (b, 1),
                got: (actions.len().min(dq.len()), 1),
            });
        }
        grads.alpha.clear();
        grads.alpha.push(T::zero());
        grads.beta.clear();
        grads.beta.resize(self.beta.len(), T::zero());
        dh.shape_to(n, b);
        let inv_n = T::one() / T::of(n.max(1) as f64);
        let alpha = self.alpha();
        for j in 0..b {
            let col = h.column(j);
            let g = form.of(col);
            grads.alpha[0] += dq[j] * g;
            let k = if self.beta.len() == 1 {
                0
            } else {
                actions[j] as usize
            };
            if let Some(beta) = grads.beta.get_mut(k) {
                *beta += dq[j];
            }
            // ∂G/∂h_i: 2 h_i / n (mean square), h_i / (n G) (RMS; 0 where G = 0).
            let scale = match form {
                GoodnessForm::MeanSquare => T::of(2.0) * inv_n,
                GoodnessForm::Rms if g > T::zero() => inv_n / g,
                GoodnessForm::Rms => T::zero(),
            };
            let k = dq[j] * alpha * scale;
            for (o, &v) in dh.as_mut_slice()[j * n..(j + 1) * n].iter_mut().zip(col) {
                *o = k * v;
            }
        }
        Ok(())
    }
}

impl<T: Real> Tensors<T> for GoodnessQ<T> {
    fn n_tensors(&self) -> usize {
        2
    }
    fn tensor(&self, k: usize) -> &[T] {
        if k == 0 { &self.alpha } else { &self.beta }
    }
}

impl<T: Real> TensorsMut<T> for GoodnessQ<T> {
    fn tensor_mut(&mut self, k: usize) -> &mut [T] {
        if k == 0 {
            &mut self.alpha
        } else {
            &mut self.beta
        }
    }
}

impl<T: Real> Tensors<T> for GoodnessQGrads<T> {
    fn n_tensors(&self) -> usize {
        2
    }
    fn tensor(&self, k: usize) -> &[T] {
        if k == 0 { &self.alpha } else { &self.beta }
    }
}

/// SymBa's loss on the batch means, `L = softplus(−κ (ḡ+ − ḡ−))`; writes `∂L/∂g_j` into
/// `dl_dg`. With an empty positive or negative set the loss is zero and so is its gradient.
///
/// ```
/// use ff_core::local::symba_loss;
/// let mut d = [0.0f64; 2];
/// let s = symba_loss(&[3.0, 1.0], &[true, false], 4.0, &mut d)?;
/// assert_eq!(s.loss, ff_core::ff::softplus(-8.0));
/// assert!(d[0] < 0.0 && d[1] > 0.0);
/// # Ok::<(), ff_core::Error>(())
/// ```
pub fn symba_loss<T: Real>(g: &[T], is_pos: &[bool], kappa: T, dl_dg: &mut [T]) -> Result<FfStats> {
    let b = g.len();
    if is_pos.len() != b || dl_dg.len() != b {
        return Err(Error::ShapeMismatch {
            op: "symba_loss (is_pos, dl_dg)",
            expected: (b, 1),
            got: (is_pos.len().min(dl_dg.len()), 1),
        });
    }
    if b == 0 {
        return Err(Error::EmptyBatch { op: "symba_loss" });
    }
    check_finite("symba_loss", crate::Tensor::Goodness, g)?;
    let (mut sp, mut sn, mut np) = (T::zero(), T::zero(), 0usize);
    for (&gj, &p) in g.iter().zip(is_pos) {
        if p {
            sp += gj;
            np += 1;
        } else {
            sn += gj;
        }
    }
    let nn = b - np;
    if np == 0 || nn == 0 {
        dl_dg.fill(T::zero());
        return Ok(FfStats {
            loss: 0.0,
            n_pos: np,
            n_neg: nn,
            ..FfStats::default()
        });
    }
    let (mp, mn) = (sp / T::of(np as f64), sn / T::of(nn as f64));
    let arg = -kappa * (mp - mn);
    let loss = softplus(arg);
    // dL/dΔ = −κ σ(−κ Δ).
    let d_delta = -kappa * sigmoid(arg);
    let (dp, dn) = (d_delta / T::of(np as f64), -d_delta / T::of(nn as f64));
    let mut correct = 0usize;
    for ((d, &gj), &p) in dl_dg.iter_mut().zip(g).zip(is_pos) {
        *d = if p { dp } else { dn };
        correct += usize::from(if p { gj > mn } else { gj < mp });
    }
    Ok(FfStats {
        loss: loss.to_f64(),
        mean_g_pos: mp.to_f64(),
        mean_g_neg: mn.to_f64(),
        n_pos: np,
        n_neg: nn,
        accuracy: correct as f64 / b as f64,
    })
}
