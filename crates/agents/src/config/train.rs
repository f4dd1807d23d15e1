//! `[train]`: the budget, the replay, exploration, updates and the target network, as the file
//! writes them ([`RawTrain`]) and validated ([`TrainConfig`]).
//!
//! Two protocols share these keys. The paper's (every default): a budget of epochs × training
//! episodes, ε-greedy from the first step, one update per `train-frequency` steps. SB3's and
//! CleanRL's: a budget of environment steps (`total-steps`), a uniformly random warm-up before
//! `learning-starts`, `gradient-steps` updates back to back after every `train-frequency`
//! steps, ε annealed over a `fraction` of the budget (`configs/zoo/` and `configs/cleanrl/`
//! spell them out with their sources).

use super::{Checker, ConfigError};
use dqn_head::{TargetSync, TdLoss};
use replay::Sampling;
use serde::{Deserialize, Serialize};

/// `[train]`
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct RawTrain {
    /// Number of epochs (the paper's budget; default 70, not with `total-steps`).
    pub epochs: Option<u32>,
    /// Training episodes per epoch (default 10, not with `total-steps`).
    pub episodes_per_epoch: Option<u32>,
    /// A budget of environment steps instead of epochs (SB3's `total_timesteps`).
    pub total_steps: Option<u64>,
    /// With `total-steps`: environment steps between two greedy evaluations and metric lines
    /// (default a twentieth of the budget).
    pub log_every_steps: Option<u64>,
    /// Minibatch size.
    pub batch_size: usize,
    /// Replay capacity.
    pub buffer_size: usize,
    /// How a minibatch is drawn.
    pub sampling: Sampling,
    /// Discount factor.
    pub gamma: f64,
    /// Transitions stored before the first update.
    pub learning_starts: usize,
    /// Environment steps between update rounds.
    pub train_frequency: u64,
    /// Updates in each round: a count ≥ 1, or −1 for as many as the round's environment steps
    /// (SB3's `gradient_steps`).
    pub gradient_steps: i64,
    /// How actions are chosen before `learning-starts`.
    pub warm_up: RawWarmUp,
    /// How the target network follows the online one.
    pub target_sync: RawTargetSync,
    /// ε-greedy exploration.
    pub epsilon: RawEpsilon,
    /// Greedy evaluation episodes after each epoch.
    pub eval_episodes: u32,
    /// Greedy evaluation episodes at the end of the run.
    pub final_eval_episodes: u32,
    /// Evaluations act ε-greedily with this ε (0: greedy; 1: the uniformly random policy, the
    /// floor a report compares agents with).
    #[serde(skip_serializing_if = "is_zero")]
    pub eval_epsilon: f64,
    /// The TD loss.
    pub td_loss: RawTdLoss,
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

impl Default for RawTrain {
    fn default() -> Self {
        Self {
            epochs: None,
            episodes_per_epoch: None,
            total_steps: None,
            log_every_steps: None,
            batch_size: 128,
            buffer_size: 50_000,
            sampling: Sampling::WithoutReplacement,
            gamma: 0.99,
            learning_starts: 1000,
            train_frequency: 1,
            gradient_steps: 1,
            warm_up: RawWarmUp::EpsilonGreedy,
            target_sync: RawTargetSync::Hard {
                every: 1000,
                before_updates: false,
            },
            epsilon: RawEpsilon::default(),
            eval_episodes: 10,
            final_eval_episodes: 50,
            eval_epsilon: 0.0,
            td_loss: RawTdLoss::Mse,
        }
    }
}

/// The paper's budget when a file names none.
const DEFAULT_EPOCHS: u32 = 70;
/// Training episodes per epoch when a file names none.
const DEFAULT_EPISODES_PER_EPOCH: u32 = 10;
/// ε's decay when a file names neither `decay-steps` nor `fraction`.
const DEFAULT_DECAY_STEPS: u64 = 10_000;

/// `train.warm-up`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawWarmUp {
    /// ε-greedy from the first step (the paper's code).
    #[default]
    EpsilonGreedy,
    /// Uniformly random actions until `learning-starts` steps (SB3, CleanRL).
    Uniform,
}

/// `train.target-sync`
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum RawTargetSync {
    /// `{ kind = "hard", every = 1000 }`
    Hard {
        /// Environment steps between copies.
        every: u64,
        /// On a step where both fall due, copy before the update round instead of after it
        /// (SB3 copies in its per-step callback while collecting, then trains; CleanRL and the
        /// paper's code train, then copy).
        #[serde(default, rename = "before-updates", skip_serializing_if = "is_false")]
        before_updates: bool,
    },
    /// `{ kind = "polyak", tau = 0.005 }`
    Polyak {
        /// Blend factor.
        tau: f64,
    },
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// `train.td-loss`
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum RawTdLoss {
    /// `{ kind = "mse" }`
    Mse,
    /// `{ kind = "huber", beta = 1.0 }`
    Huber {
        /// Where the loss turns linear.
        beta: f64,
    },
}

/// `[train.epsilon]`: linear decay from `start` to `end` over `decay-steps` environment steps,
/// or over a `fraction` of a `total-steps` budget.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct RawEpsilon {
    /// ε at step 0.
    pub start: f64,
    /// ε once the decay is over.
    pub end: f64,
    /// Length of the decay in environment steps (default 10 000).
    pub decay_steps: Option<u64>,
    /// Length of the decay as a fraction of `total-steps` (SB3's `exploration_fraction`).
    pub fraction: Option<f64>,
}

impl Default for RawEpsilon {
    fn default() -> Self {
        Self {
            start: 0.1,
            end: 0.01,
            decay_steps: None,
            fraction: None,
        }
    }
}

/// How long a run trains, and when it is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// The paper's: `epochs` epochs of `episodes_per_epoch` training episodes, each epoch
    /// followed by a greedy evaluation.
    Episodes {
        /// Epochs.
        epochs: u32,
        /// Training episodes per epoch.
        episodes_per_epoch: u32,
    },
    /// SB3's and CleanRL's: `total` environment steps, a greedy evaluation every `log_every`
    /// (the last one at the end, after between `log_every` and twice that). Training stops at the first multiple of `train-frequency` at or after `total`, as SB3
    /// collects whole rounds of steps (an episode under way there is cut, as in SB3).
    Steps {
        /// Environment steps asked for.
        total: u64,
        /// Environment steps between evaluations.
        log_every: u64,
        /// Where training stops: `total` rounded up to a multiple of `train-frequency`.
        end: u64,
    },
}

impl std::fmt::Display for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Budget::Episodes {
                epochs,
                episodes_per_epoch,
            } => write!(f, "{epochs} epochs × {episodes_per_epoch} episodes"),
            Budget::Steps {
                total, log_every, ..
            } => write!(f, "{total} env steps, evaluated every {log_every}"),
        }
    }
}

/// How actions are chosen before learning starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarmUp {
    /// ε-greedy from the first step.
    EpsilonGreedy,
    /// Uniformly random until `learning_starts` environment steps.
    Uniform,
}

/// The validated `[train]`.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    /// How long the run trains.
    pub budget: Budget,
    /// Batch size.
    pub batch_size: usize,
    /// Replay capacity.
    pub buffer_size: usize,
    /// Sampling mode.
    pub sampling: Sampling,
    /// Discount.
    pub gamma: f32,
    /// Transitions before the first update.
    pub learning_starts: usize,
    /// Steps between update rounds.
    pub train_frequency: u64,
    /// Updates per round (−1 in the file resolved to `train_frequency`).
    pub gradient_steps: u64,
    /// Actions before learning starts.
    pub warm_up: WarmUp,
    /// Target network rule.
    pub target_sync: TargetSync,
    /// A due hard copy happens before the step's update round, not after it.
    pub sync_before_updates: bool,
    /// ε at step 0.
    pub eps_start: f64,
    /// ε after the decay.
    pub eps_end: f64,
    /// Decay length in environment steps (a fraction of the budget need not be whole).
    pub eps_decay_steps: f64,
    /// Evaluation episodes per epoch.
    pub eval_episodes: u32,
    /// Final evaluation episodes.
    pub final_eval_episodes: u32,
    /// ε of the evaluations' ε-greedy policy (0: greedy).
    pub eval_epsilon: f64,
    /// TD loss.
    pub td_loss: TdLoss,
}

impl TrainConfig {
    /// ε after `step` environment steps: linear from start to end, then constant.
    pub fn epsilon(&self, step: u64) -> f64 {
        let frac = (step as f64 / self.eps_decay_steps).min(1.0);
        self.eps_start + (self.eps_end - self.eps_start) * frac
    }

    /// Epochs of the run: the paper's epochs, or a step budget's evaluations.
    pub fn epochs(&self) -> u32 {
        match self.budget {
            Budget::Episodes { epochs, .. } => epochs,
            // Validation keeps this count within u32.
            Budget::Steps { log_every, end, .. } => {
                u32::try_from((end / log_every).max(1)).unwrap_or(u32::MAX)
            }
        }
    }

    /// Whether the epoch after `epochs_done` finished ones is over, with `episodes` training
    /// episodes of it finished and `env_steps` taken in all.
    pub fn epoch_over(&self, epochs_done: u32, episodes: usize, env_steps: u64) -> bool {
        match self.budget {
            Budget::Episodes {
                episodes_per_epoch, ..
            } => episodes >= episodes_per_epoch as usize,
            // The last epoch runs to the end of the budget, so that no epoch is a short
            // remainder without an episode in it.
            Budget::Steps { log_every, end, .. } => {
                let next = epochs_done.saturating_add(1);
                let epoch_end = if next >= self.epochs() {
                    end
                } else {
                    u64::from(next) * log_every
                };
                env_steps >= epoch_end
            }
        }
    }

    /// The most environment steps a run can take, with episodes of at most
    /// `max_episode_steps` (None if that overflows).
    pub fn max_env_steps(&self, max_episode_steps: u32) -> Option<u64> {
        match self.budget {
            Budget::Episodes {
                epochs,
                episodes_per_epoch,
            } => u64::from(epochs)
                .checked_mul(u64::from(episodes_per_epoch))?
                .checked_mul(u64::from(max_episode_steps)),
            Budget::Steps { end, .. } => Some(end),
        }
    }

    /// `raw` with every default this config took written out (the budget, ε's decay), so that
    /// a run's `config.toml` says what ran.
    pub(super) fn resolve(&self, raw: &mut RawTrain) {
        match self.budget {
            Budget::Episodes {
                epochs,
                episodes_per_epoch,
            } => {
                raw.epochs = Some(epochs);
                raw.episodes_per_epoch = Some(episodes_per_epoch);
            }
            Budget::Steps { log_every, .. } => raw.log_every_steps = Some(log_every),
        }
        if raw.epsilon.fraction.is_none() {
            raw.epsilon.decay_steps = Some(raw.epsilon.decay_steps.unwrap_or(DEFAULT_DECAY_STEPS));
        }
    }

    pub(super) fn validate(t: &RawTrain, c: &Checker<'_>) -> Result<Self, ConfigError> {
        c.at_least("train.batch-size", t.batch_size, 1)?;
        if t.buffer_size < t.batch_size {
            return Err(c.fail(
                "train.buffer-size",
                t.buffer_size,
                &format!("at least train.batch-size ({})", t.batch_size),
            ));
        }
        if t.sampling == Sampling::WithoutReplacement && t.learning_starts < t.batch_size {
            return Err(c.fail(
                "train.learning-starts",
                t.learning_starts,
                &format!(
                    "at least train.batch-size ({}) when sampling without replacement",
                    t.batch_size
                ),
            ));
        }
        if t.learning_starts > t.buffer_size {
            return Err(c.fail(
                "train.learning-starts",
                t.learning_starts,
                &format!("at most train.buffer-size ({})", t.buffer_size),
            ));
        }
        c.unit_interval("train.gamma", t.gamma)?;
        c.at_least("train.train-frequency", t.train_frequency, 1)?;
        let budget = budget(t, c)?;
        if let Budget::Steps { end, .. } = budget
            && t.learning_starts as u64 >= end
        {
            return Err(c.fail(
                "train.learning-starts",
                t.learning_starts,
                &format!("below the budget, train.total-steps ({end}): no update would run"),
            ));
        }
        let gradient_steps = match t.gradient_steps {
            -1 => t.train_frequency,
            n if n >= 1 => n.unsigned_abs(),
            n => {
                return Err(c.fail(
                    "train.gradient-steps",
                    n,
                    "an integer >= 1, or -1 for as many updates as the round's env steps (SB3's gradient_steps = -1)",
                ));
            }
        };
        let (target_sync, sync_before_updates) = match t.target_sync {
            RawTargetSync::Hard {
                every,
                before_updates,
            } => {
                c.at_least("train.target-sync.every", every, 1)?;
                (TargetSync::Hard { every }, before_updates)
            }
            RawTargetSync::Polyak { tau } => {
                c.within(
                    "train.target-sync.tau",
                    tau,
                    1e-30..=1.0,
                    "a number in [1e-30, 1] (a positive f32)",
                )?;
                (TargetSync::Polyak { tau: tau as f32 }, false)
            }
        };
        c.unit_interval("train.epsilon.start", t.epsilon.start)?;
        c.unit_interval("train.epsilon.end", t.epsilon.end)?;
        let eps_decay_steps = decay_steps(t, budget, c)?;
        c.at_least("train.eval-episodes", t.eval_episodes, 1)?;
        c.at_least("train.final-eval-episodes", t.final_eval_episodes, 1)?;
        c.unit_interval("train.eval-epsilon", t.eval_epsilon)?;
        let td_loss = match t.td_loss {
            RawTdLoss::Mse => TdLoss::Mse,
            RawTdLoss::Huber { beta } => {
                c.within(
                    "train.td-loss.beta",
                    beta,
                    1e-30..=1e6,
                    "a number in [1e-30, 1e6]: the Huber loss divides by beta in f32",
                )?;
                TdLoss::Huber { beta: beta as f32 }
            }
        };
        Ok(Self {
            budget,
            batch_size: t.batch_size,
            buffer_size: t.buffer_size,
            sampling: t.sampling,
            gamma: t.gamma as f32,
            learning_starts: t.learning_starts,
            train_frequency: t.train_frequency,
            gradient_steps,
            warm_up: match t.warm_up {
                RawWarmUp::EpsilonGreedy => WarmUp::EpsilonGreedy,
                RawWarmUp::Uniform => WarmUp::Uniform,
            },
            target_sync,
            sync_before_updates,
            eps_start: t.epsilon.start,
            eps_end: t.epsilon.end,
            eps_decay_steps,
            eval_episodes: t.eval_episodes,
            final_eval_episodes: t.final_eval_episodes,
            eval_epsilon: t.eval_epsilon,
            td_loss,
        })
    }
}

/// The budget: epochs × episodes, or `total-steps`, never both.
fn budget(t: &RawTrain, c: &Checker<'_>) -> Result<Budget, ConfigError> {
    let Some(total) = t.total_steps else {
        if let Some(k) = t.log_every_steps {
            return Err(c.fail(
                "train.log-every-steps",
                k,
                "only with train.total-steps (an epochs budget is measured after every epoch)",
            ));
        }
        let epochs = t.epochs.unwrap_or(DEFAULT_EPOCHS);
        let episodes_per_epoch = t.episodes_per_epoch.unwrap_or(DEFAULT_EPISODES_PER_EPOCH);
        c.at_least("train.epochs", epochs, 1)?;
        c.at_least("train.episodes-per-epoch", episodes_per_epoch, 1)?;
        return Ok(Budget::Episodes {
            epochs,
            episodes_per_epoch,
        });
    };
    if let Some((key, v)) = (t.epochs.map(|e| ("train.epochs", e))).or(t
        .episodes_per_epoch
        .map(|e| ("train.episodes-per-epoch", e)))
    {
        return Err(c.fail(
            key,
            v,
            "nothing beside train.total-steps: a run's budget is either env steps (total-steps) or epochs × episodes-per-epoch; remove one of them",
        ));
    }
    c.at_least("train.total-steps", total, 1)?;
    let Some(end) = total
        .div_ceil(t.train_frequency)
        .checked_mul(t.train_frequency)
    else {
        return Err(c.fail("train.total-steps", total, "an integer < 2^63"));
    };
    let log_every = t.log_every_steps.unwrap_or(total.div_ceil(20));
    if !(1..=total).contains(&log_every) || end / log_every > 100_000 {
        return Err(c.fail(
            "train.log-every-steps",
            log_every,
            &format!(
                "an integer in [{}, {total}] (at most 100 000 evaluations, at least one)",
                total.div_ceil(100_000).max(1)
            ),
        ));
    }
    Ok(Budget::Steps {
        total,
        log_every,
        end,
    })
}

/// ε's decay length in environment steps: `decay-steps`, or `fraction` of a step budget.
fn decay_steps(t: &RawTrain, budget: Budget, c: &Checker<'_>) -> Result<f64, ConfigError> {
    match (t.epsilon.decay_steps, t.epsilon.fraction, budget) {
        (Some(_), Some(f), _) => Err(c.fail(
            "train.epsilon.fraction",
            f,
            "nothing beside train.epsilon.decay-steps: the decay is one or the other; remove one",
        )),
        (None, Some(f), Budget::Steps { total, .. }) => {
            if !(f > 0.0 && f <= 1.0) {
                return Err(c.fail("train.epsilon.fraction", f, "a number in (0, 1]"));
            }
            Ok(f * total as f64)
        }
        (None, Some(f), Budget::Episodes { .. }) => Err(c.fail(
            "train.epsilon.fraction",
            f,
            "only with train.total-steps (it is a fraction of that budget); with epochs, give train.epsilon.decay-steps",
        )),
        (steps, None, _) => {
            let steps = steps.unwrap_or(DEFAULT_DECAY_STEPS);
            c.at_least("train.epsilon.decay-steps", steps, 1)?;
            Ok(steps as f64)
        }
    }
}
