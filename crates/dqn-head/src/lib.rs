//! The value-learning half of DQN, shared by the backprop and Forward-Forward agents.
//!
//! * [`td_targets`]: `y_j = r_j + γ (1 − terminated_j) max_a Q_target(s'_j, a)`. Only
//!   termination stops bootstrapping: a transition cut by the step limit still bootstraps.
//! * [`td_loss`]: the mean squared TD error `(1/B) Σ_j (Q(s_j, a_j) − y_j)²` of the paper, or
//!   PyTorch's `smooth_l1_loss` (Huber) as an option, with `∂L/∂Q` for every Q-value.
//! * [`QHead`]: the last dense layer (features → one Q-value per action).
//! * [`TargetSync`]: hard copy every N environment steps, or Polyak averaging; [`TargetSync::action`]
//!   is the one place that decides when the target network moves.
//!
//! Q-values are `n_actions × batch` column-major matrices, one column per sample, as everywhere
//! in the workspace.

use ff_core::optim::TensorsMut;
use ff_core::{Buf, Dense, DenseGrads, Init, MatRef};
use rand::Rng;

/// What can go wrong computing targets and losses.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// Inputs of disagreeing lengths.
    #[error("{what}: expected {expected} entries (one per sample), got {got}")]
    LengthMismatch {
        /// Which input.
        what: &'static str,
        /// Batch size.
        expected: usize,
        /// Length given.
        got: usize,
    },
    /// An action index at or above the number of actions.
    #[error("action {action} at sample {sample} is out of range: there are {n_actions} actions")]
    ActionOutOfRange {
        /// Sample index.
        sample: usize,
        /// The action.
        action: u32,
        /// Number of actions.
        n_actions: usize,
    },
    /// A NaN or infinity in a target or Q-value.
    #[error("{what} at sample {sample} is {value}: the values have diverged")]
    NonFinite {
        /// Which quantity.
        what: Quantity,
        /// Sample index.
        sample: usize,
        /// The value.
        value: f64,
    },
    /// An error from the layer math.
    #[error(transparent)]
    Core(#[from] ff_core::Error),
}

/// The quantity a non-finite value was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantity {
    /// A Q-value of the target network (a next state's).
    TargetQValue,
    /// A TD target `r + γ max Q`.
    TdTarget,
    /// A Q-value of the online network.
    QValue,
    /// A term of the TD loss.
    TdLoss,
}

impl std::fmt::Display for Quantity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Quantity::TargetQValue => "target-network Q-value",
            Quantity::TdTarget => "TD target",
            Quantity::QValue => "Q-value",
            Quantity::TdLoss => "TD loss",
        })
    }
}

/// Result of this crate's operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn check_len(what: &'static str, expected: usize, got: usize) -> Result<()> {
    if expected == got {
        Ok(())
    } else {
        Err(Error::LengthMismatch {
            what,
            expected,
            got,
        })
    }
}

/// Writes the TD targets of a batch into `out`, given the target network's Q-values of the
/// next states `q_next` (`n_actions × batch`).
pub fn td_targets(
    q_next: MatRef<'_, f32>,
    rewards: &[f32],
    terminated: &[bool],
    gamma: f32,
    out: &mut [f32],
) -> Result<()> {
    bootstrapped_targets(q_next, None, rewards, terminated, gamma, out)
}

/// Writes double Q-learning's TD targets (van Hasselt et al. 2016) into `out`: the online
/// network's Q-values of the next states `q_online_next` pick the action, the target network's
/// `q_next` value it, both `n_actions × batch`. Ties go to the first action.
///
/// ```
/// use ff_core::MatRef;
/// // One sample, two actions: the online net prefers action 1, the target values it at 2.
/// let (target, online) = ([5.0f32, 2.0], [0.0f32, 1.0]);
/// let mut out = [0.0f32];
/// dqn_head::double_q_targets(
///     MatRef::new(&target, 2, 1)?, MatRef::new(&online, 2, 1)?, &[1.0], &[false], 0.5, &mut out,
/// )?;
/// assert_eq!(out, [1.0 + 0.5 * 2.0]);
/// # Ok::<(), dqn_head::Error>(())
/// ```
pub fn double_q_targets(
    q_next: MatRef<'_, f32>,
    q_online_next: MatRef<'_, f32>,
    rewards: &[f32],
    terminated: &[bool],
    gamma: f32,
    out: &mut [f32],
) -> Result<()> {
    check_len("online Q-values", q_next.cols(), q_online_next.cols())?;
    check_len("online Q-value rows", q_next.rows(), q_online_next.rows())?;
    bootstrapped_targets(q_next, Some(q_online_next), rewards, terminated, gamma, out)
}

/// `y = r + γ · Q_target(s', a')` (no bootstrap from a terminal state), where `a'` maximises
/// `picker`'s Q-values (double Q-learning) or, without one, the target's own. A non-finite
/// Q-value or target is an error: `f32::max` would silently ignore a NaN.
fn bootstrapped_targets(
    q_next: MatRef<'_, f32>,
    picker: Option<MatRef<'_, f32>>,
    rewards: &[f32],
    terminated: &[bool],
    gamma: f32,
    out: &mut [f32],
) -> Result<()> {
    let batch = q_next.cols();
    check_len("rewards", batch, rewards.len())?;
    check_len("terminated", batch, terminated.len())?;
    check_len("targets", batch, out.len())?;
    for j in 0..batch {
        let column = q_next.column(j);
        let pick = picker.map_or(&[][..], |p| p.column(j));
        if let Some(&bad) = column.iter().chain(pick).find(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                what: Quantity::TargetQValue,
                sample: j,
                value: f64::from(bad),
            });
        }
        let next = if picker.is_some() {
            // The first action with the largest value, as `argmax` picks.
            let mut a = 0;
            for (k, &v) in pick.iter().enumerate() {
                if v > pick[a] {
                    a = k;
                }
            }
            column[a]
        } else {
            column.iter().copied().fold(f32::NEG_INFINITY, f32::max)
        };
        let bootstrap = if terminated[j] { 0.0 } else { gamma * next };
        let y = rewards[j] + bootstrap;
        if !y.is_finite() {
            return Err(Error::NonFinite {
                what: Quantity::TdTarget,
                sample: j,
                value: f64::from(y),
            });
        }
        out[j] = y;
    }
    Ok(())
}

/// The TD loss.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum TdLoss {
    /// Mean squared error (the paper's `(y − Q(s, a))²`, averaged over the batch).
    #[default]
    Mse,
    /// PyTorch's `smooth_l1_loss` with threshold `beta`: quadratic inside, linear outside.
    Huber {
        /// Where the loss turns linear.
        beta: f32,
    },
}

/// The TD loss of `q` (`n_actions × batch`) at the taken `actions` against `targets`; writes
/// `∂L/∂Q` into `dq` (zero for actions not taken) and returns the loss, which is always finite:
/// a non-finite Q-value or loss term is an error.
pub fn td_loss(
    q: MatRef<'_, f32>,
    actions: &[u32],
    targets: &[f32],
    loss: TdLoss,
    dq: &mut Buf<f32>,
) -> Result<f64> {
    let (n_actions, batch) = q.shape();
    check_len("actions", batch, actions.len())?;
    check_len("targets", batch, targets.len())?;
    dq.shape_to(n_actions, batch);
    let grad = dq.as_mut_slice();
    grad.fill(0.0);
    let inv_b = 1.0 / batch as f32;
    let mut total = 0.0f64;
    for j in 0..batch {
        let a = actions[j] as usize;
        if a >= n_actions {
            return Err(Error::ActionOutOfRange {
                sample: j,
                action: actions[j],
                n_actions,
            });
        }
        let qa = q.column(j)[a];
        if !qa.is_finite() {
            return Err(Error::NonFinite {
                what: Quantity::QValue,
                sample: j,
                value: f64::from(qa),
            });
        }
        let d = qa - targets[j];
        let (value, slope) = match loss {
            TdLoss::Mse => (d * d, 2.0 * d),
            TdLoss::Huber { beta } if d.abs() < beta => (0.5 * d * d / beta, d / beta),
            TdLoss::Huber { beta } => (d.abs() - 0.5 * beta, d.signum()),
        };
        // Finite Q-values and targets can still overflow the square: that is divergence too,
        // reported here so that no caller has to check the loss again.
        if !value.is_finite() {
            return Err(Error::NonFinite {
                what: Quantity::TdLoss,
                sample: j,
                value: f64::from(value),
            });
        }
        total += f64::from(value);
        grad[j * n_actions + a] = slope * inv_b;
    }
    Ok(total / batch as f64)
}

/// How the target network follows the online network.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TargetSync {
    /// Copy every parameter every `every` environment steps (the paper's DQN).
    Hard {
        /// Environment steps between copies.
        every: u64,
    },
    /// `target ← τ online + (1 − τ) target` after every update.
    Polyak {
        /// Blend factor in (0, 1].
        tau: f32,
    },
}

/// What a [`TargetSync`] rule does to the target network after an environment step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SyncAction {
    /// Copy every parameter.
    Copy,
    /// `target ← τ online + (1 − τ) target`.
    Blend {
        /// Blend factor.
        tau: f32,
    },
}

impl TargetSync {
    /// The one place that decides when the target network moves: after environment step
    /// `env_step` (1-based), on which an update was made (`updated`) or not. A hard rule copies
    /// every `every` environment steps, whether or not learning has started; Polyak blends
    /// after every update.
    ///
    /// ```
    /// use dqn_head::{SyncAction, TargetSync};
    /// let hard = TargetSync::Hard { every: 1000 };
    /// assert_eq!(hard.action(999, true), None);
    /// assert_eq!(hard.action(1000, false), Some(SyncAction::Copy));
    /// let polyak = TargetSync::Polyak { tau: 0.005 };
    /// assert_eq!(polyak.action(7, true), Some(SyncAction::Blend { tau: 0.005 }));
    /// assert_eq!(polyak.action(7, false), None);
    /// ```
    pub fn action(&self, env_step: u64, updated: bool) -> Option<SyncAction> {
        match *self {
            TargetSync::Hard { every } => {
                env_step.is_multiple_of(every).then_some(SyncAction::Copy)
            }
            TargetSync::Polyak { tau } => updated.then_some(SyncAction::Blend { tau }),
        }
    }
}

impl SyncAction {
    /// Moves `target` towards `online`, layer by layer and tensor by tensor (dense layers,
    /// cells, any [`TensorsMut`]); the shapes must agree.
    pub fn apply<L: TensorsMut<f32>>(self, online: &[L], target: &mut [L]) -> Result<()> {
        check_len("target layers", online.len(), target.len())?;
        for (t, o) in target.iter_mut().zip(online) {
            check_len("target tensors", o.n_tensors(), t.n_tensors())?;
            for k in 0..o.n_tensors() {
                let (src, dst) = (o.tensor(k), t.tensor_mut(k));
                check_len("target tensor elements", src.len(), dst.len())?;
                match self {
                    SyncAction::Copy => dst.copy_from_slice(src),
                    SyncAction::Blend { tau } => {
                        let keep = 1.0 - tau;
                        for (d, &s) in dst.iter_mut().zip(src) {
                            *d = tau * s + keep * *d;
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// The Q-head: a dense layer from features to one value per action.
#[derive(Debug, Clone, PartialEq)]
pub struct QHead {
    /// The layer.
    pub layer: Dense<f32>,
}

/// What one head update measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TdStats {
    /// The TD loss before the update.
    pub loss: f64,
    /// Mean Q-value of the taken actions.
    pub mean_q: f64,
}

impl QHead {
    /// A head from `n_features` to `n_actions`.
    pub fn new(n_features: usize, n_actions: usize, init: Init, rng: &mut impl Rng) -> Self {
        Self {
            layer: Dense::new(n_features, n_actions, init, rng),
        }
    }

    /// Q-values of a batch of features into `q`.
    pub fn q_values(&self, features: MatRef<'_, f32>, q: &mut Buf<f32>) -> Result<()> {
        Ok(self.layer.forward(features, q)?)
    }

    /// [`td_gradients`] of this head.
    #[allow(clippy::too_many_arguments)]
    pub fn td_gradients(
        &self,
        features: MatRef<'_, f32>,
        actions: &[u32],
        targets: &[f32],
        loss: TdLoss,
        q: &mut Buf<f32>,
        dq: &mut Buf<f32>,
        grads: &mut DenseGrads<f32>,
        d_features: Option<&mut Buf<f32>>,
    ) -> Result<TdStats> {
        td_gradients(
            &self.layer,
            features,
            actions,
            targets,
            loss,
            q,
            dq,
            grads,
            d_features,
        )
    }
}

/// One TD step of a head layer `head` (features → one value per action): the forward pass
/// into `q`, the TD loss and its gradient `dq`, and the head's parameter gradients into
/// `grads`, plus the features' gradient when `d_features` is given (for backprop); otherwise
/// the features are treated as constants (FF-DQN).
#[allow(clippy::too_many_arguments)]
pub fn td_gradients(
    head: &Dense<f32>,
    features: MatRef<'_, f32>,
    actions: &[u32],
    targets: &[f32],
    loss: TdLoss,
    q: &mut Buf<f32>,
    dq: &mut Buf<f32>,
    grads: &mut DenseGrads<f32>,
    d_features: Option<&mut Buf<f32>>,
) -> Result<TdStats> {
    head.forward(features, q)?;
    let l = td_loss(q.mat(), actions, targets, loss, dq)?;
    let n_actions = head.out_dim();
    let mean_q = actions
        .iter()
        .enumerate()
        .map(|(j, &a)| f64::from(q.as_slice()[j * n_actions + a as usize]))
        .sum::<f64>()
        / actions.len().max(1) as f64;
    head.backward(features, dq.mat(), grads, d_features)?;
    Ok(TdStats { loss: l, mean_q })
}
