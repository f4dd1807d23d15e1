//! Run configuration in two layers: [`RawConfig`] mirrors the TOML file (kebab-case keys,
//! unknown keys refused, every choice an enum), and [`Config`] is the validated form the code
//! uses, built by [`Config::from_raw`] section by section, which names the key, the value and
//! the allowed range when it refuses.
//!
//! A `Config` cannot be changed after validation: its fields are private and read through
//! accessors. Changes go through [`Config::with_overrides`] (`--set KEY=VALUE`), which edits the
//! raw form and validates it again, so every `Config` in memory is one a file could hold.
//!
//! Every section and key has a default: the settings of the FF-DQN author's published code
//! (`configs/paper.toml` spells them out with their sources).

use dqn_head::{TargetSync, TdLoss};
use envs::EnvId;
use ff_core::ff::{FfObjective, Goodness, LossForm};
use ff_core::optim::OptimizerKind;
use ff_core::{Init, InputNorm, OptimizerConfig};
use replay::Sampling;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {file}")]
    Io {
        /// The file.
        file: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Not valid TOML, an unknown key, or a value of the wrong type.
    #[error("{file}: {message}")]
    Parse {
        /// The file.
        file: String,
        /// The TOML parser's message, with line, column and key.
        message: String,
    },
    /// A `--set KEY=VALUE` that is not of that form or names no key.
    #[error("{file}: --set {text}: {problem}")]
    Override {
        /// The file the override applies to.
        file: String,
        /// The override as given.
        text: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A value outside its allowed range.
    #[error("{file}: `{key}` = {value} is not allowed: {allowed}")]
    Invalid {
        /// The file.
        file: String,
        /// The dotted key, as written in the file.
        key: String,
        /// The value found.
        value: String,
        /// What is allowed.
        allowed: String,
    },
}

/// The TOML file as written.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct RawConfig {
    /// `[env]`
    pub env: RawEnv,
    /// `[train]`
    pub train: RawTrain,
    /// `[network]`
    pub network: RawNetwork,
    /// `[bp]`: the backprop agent.
    pub bp: RawBp,
    /// `[ff]`: the Forward-Forward agent.
    pub ff: RawFf,
}

/// `[env]`
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct RawEnv {
    /// The task, by its Gymnasium id: `"CartPole-v1"`, `"Acrobot-v1"` or `"MountainCar-v0"`.
    pub id: EnvId,
    /// Step limit of an episode (truncation, not termination). Default: 200 for CartPole-v1
    /// (the paper's cap; Gymnasium registers 500), Gymnasium's limit for the others (500 for
    /// Acrobot-v1, 200 for MountainCar-v0).
    pub max_episode_steps: Option<u32>,
}

/// `[train]`
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct RawTrain {
    /// Number of epochs.
    pub epochs: u32,
    /// Training episodes per epoch.
    pub episodes_per_epoch: u32,
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
    /// Environment steps between updates.
    pub train_frequency: u64,
    /// How the target network follows the online one.
    pub target_sync: RawTargetSync,
    /// ε-greedy exploration.
    pub epsilon: RawEpsilon,
    /// Greedy evaluation episodes after each epoch.
    pub eval_episodes: u32,
    /// Greedy evaluation episodes at the end of the run.
    pub final_eval_episodes: u32,
    /// The TD loss.
    pub td_loss: RawTdLoss,
}

impl Default for RawTrain {
    fn default() -> Self {
        Self {
            epochs: 70,
            episodes_per_epoch: 10,
            batch_size: 128,
            buffer_size: 50_000,
            sampling: Sampling::WithoutReplacement,
            gamma: 0.99,
            learning_starts: 1000,
            train_frequency: 1,
            target_sync: RawTargetSync::Hard { every: 1000 },
            epsilon: RawEpsilon::default(),
            eval_episodes: 10,
            final_eval_episodes: 50,
            td_loss: RawTdLoss::Mse,
        }
    }
}

/// `train.target-sync`
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum RawTargetSync {
    /// `{ kind = "hard", every = 1000 }`
    Hard {
        /// Environment steps between copies.
        every: u64,
    },
    /// `{ kind = "polyak", tau = 0.005 }`
    Polyak {
        /// Blend factor.
        tau: f64,
    },
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

/// `[train.epsilon]`: linear decay from `start` to `end` over `decay-steps` environment steps.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct RawEpsilon {
    /// ε at step 0.
    pub start: f64,
    /// ε from `decay-steps` on.
    pub end: f64,
    /// Length of the decay.
    pub decay_steps: u64,
}

impl Default for RawEpsilon {
    fn default() -> Self {
        Self {
            start: 0.1,
            end: 0.01,
            decay_steps: 10_000,
        }
    }
}

/// `[network]`
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct RawNetwork {
    /// Widths of the hidden layers.
    pub hidden: Vec<usize>,
}

impl Default for RawNetwork {
    fn default() -> Self {
        Self {
            hidden: vec![128, 64],
        }
    }
}

/// Parameter initialisation of a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawInit {
    /// PyTorch's `nn.Linear` default.
    PytorchDefault,
    /// Xavier-uniform weights, zero biases.
    XavierUniform,
}

impl From<RawInit> for Init {
    fn from(i: RawInit) -> Self {
        match i {
            RawInit::PytorchDefault => Init::PytorchDefault,
            RawInit::XavierUniform => Init::XavierUniform,
        }
    }
}

/// An optimizer: `{ kind = "adamw", lr = 1e-3, weight-decay = 0.01, max-grad-norm = 1.0 }`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawOptimizer {
    /// `sgd`, `adam` or `adamw`.
    pub kind: RawOptimizerKind,
    /// Learning rate.
    pub lr: f64,
    /// Weight decay (L2 for sgd/adam, decoupled for adamw).
    #[serde(default)]
    pub weight_decay: f64,
    /// Clip the joint gradient norm of the group to this.
    #[serde(default)]
    pub max_grad_norm: Option<f64>,
    /// Adam's β1.
    #[serde(default = "default_beta1")]
    pub beta1: f64,
    /// Adam's β2.
    #[serde(default = "default_beta2")]
    pub beta2: f64,
    /// Adam's ε.
    #[serde(default = "default_eps")]
    pub eps: f64,
}

fn default_beta1() -> f64 {
    0.9
}
fn default_beta2() -> f64 {
    0.999
}
fn default_eps() -> f64 {
    1e-8
}

impl RawOptimizer {
    fn new(kind: RawOptimizerKind, lr: f64, weight_decay: f64, max_grad_norm: Option<f64>) -> Self {
        Self {
            kind,
            lr,
            weight_decay,
            max_grad_norm,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }
}

/// Optimizer kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawOptimizerKind {
    /// Plain SGD.
    Sgd,
    /// Adam.
    Adam,
    /// AdamW.
    Adamw,
}

/// `[bp]`
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct RawBp {
    /// Initialisation of every layer.
    pub init: RawInit,
    /// Optimizer of the hidden layers, and of the head too unless `head-optimizer` is set (then
    /// one optimizer, one clipping norm, covers the whole network).
    pub optimizer: RawOptimizer,
    /// A separate optimizer group for the head.
    pub head_optimizer: Option<RawOptimizer>,
}

impl Default for RawBp {
    fn default() -> Self {
        Self {
            init: RawInit::XavierUniform,
            optimizer: RawOptimizer::new(RawOptimizerKind::Adamw, 1e-3, 0.01, Some(1.0)),
            head_optimizer: None,
        }
    }
}

/// How FF-DQN's hidden layers start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawFfInit {
    /// PyTorch's default.
    PytorchDefault,
    /// Xavier-uniform.
    XavierUniform,
    /// BP-DQN trains the whole network (from `[bp].init`, with `[bp]`'s optimizers) for
    /// `bp-warmstart-steps` updates, then FF takes over the hidden layers.
    BpWarmstart,
}

/// `ff.schedule`
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum RawSchedule {
    /// `{ kind = "concurrent" }`: every layer steps on every FF minibatch.
    Concurrent,
    /// `{ kind = "greedy", target-accuracy = 0.95, window = 200, max-steps-per-layer = 20000 }`:
    /// only one layer learns at a time; it is frozen once its separation accuracy, averaged
    /// over the last `window` FF steps, reaches `target-accuracy` (or after
    /// `max-steps-per-layer` steps), and the next layer starts.
    #[serde(rename_all = "kebab-case")]
    Greedy {
        /// Separation accuracy that counts as "separates".
        target_accuracy: f64,
        /// FF steps averaged.
        window: u32,
        /// Give up on a layer after this many FF steps.
        max_steps_per_layer: u64,
    },
}

/// Goodness forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawGoodness {
    /// Σ h².
    Sum,
    /// mean h².
    Mean,
}

/// FF loss forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawLossForm {
    /// On the batch means.
    BatchMean,
    /// Mean over samples.
    PerSample,
}

/// Input normalisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawInputNorm {
    /// None.
    None,
    /// L2 per sample.
    L2,
}

/// `[ff]`
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct RawFf {
    /// Initialisation of the hidden layers.
    pub init: RawFfInit,
    /// BP updates before FF takes over (only with `init = "bp-warmstart"`).
    pub bp_warmstart_steps: Option<u64>,
    /// Initialisation of the Q-head.
    pub head_init: RawInit,
    /// Goodness form.
    pub goodness: RawGoodness,
    /// Loss form.
    pub loss: RawLossForm,
    /// Normalisation of each FF layer's input.
    pub input_norm: RawInputNorm,
    /// The margin m.
    pub margin: f64,
    /// Probability that a minibatch also gives the FF layers a step (the head learns on all).
    pub update_prob: f64,
    /// Layer schedule.
    pub schedule: RawSchedule,
    /// Optimizer of each FF layer (one instance per layer).
    pub layer_optimizer: RawOptimizer,
    /// Optimizer of the Q-head.
    pub head_optimizer: RawOptimizer,
}

impl Default for RawFf {
    fn default() -> Self {
        Self {
            init: RawFfInit::XavierUniform,
            bp_warmstart_steps: None,
            head_init: RawInit::PytorchDefault,
            goodness: RawGoodness::Mean,
            loss: RawLossForm::PerSample,
            input_norm: RawInputNorm::L2,
            margin: 2.0,
            update_prob: 0.1,
            schedule: RawSchedule::Concurrent,
            layer_optimizer: RawOptimizer::new(RawOptimizerKind::Adamw, 1e-4, 0.0, Some(1.0)),
            head_optimizer: RawOptimizer::new(RawOptimizerKind::Adamw, 1e-3, 0.0, None),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The validated configuration.

/// A validated configuration: every value in range, every combination consistent. Read it
/// through its accessors; change it with [`Config::with_overrides`].
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    source: String,
    raw: RawConfig,
    env: EnvConfig,
    train: TrainConfig,
    hidden: Vec<usize>,
    bp: BpConfig,
    ff: FfConfig,
}

/// The validated `[env]`.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvConfig {
    /// The task.
    pub id: EnvId,
    /// Step limit of an episode.
    pub max_episode_steps: u32,
}

impl EnvConfig {
    /// A fresh environment of this task and step limit.
    pub fn make(&self) -> Result<envs::AnyEnv, envs::Error> {
        self.id.make(Some(self.max_episode_steps))
    }
}

/// The step limit a config gets when it names none: 200 for CartPole-v1 (the paper's cap, the
/// project's default protocol), Gymnasium's registration for the other tasks.
pub fn default_max_episode_steps(id: EnvId) -> u32 {
    match id {
        EnvId::CartPole => 200,
        other => other.gymnasium_max_episode_steps(),
    }
}

/// The validated `[train]`.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainConfig {
    /// Epochs.
    pub epochs: u32,
    /// Episodes per epoch.
    pub episodes_per_epoch: u32,
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
    /// Steps between updates.
    pub train_frequency: u64,
    /// Target network rule.
    pub target_sync: TargetSync,
    /// ε at step 0.
    pub eps_start: f64,
    /// ε after the decay.
    pub eps_end: f64,
    /// Decay length in environment steps.
    pub eps_decay_steps: u64,
    /// Evaluation episodes per epoch.
    pub eval_episodes: u32,
    /// Final evaluation episodes.
    pub final_eval_episodes: u32,
    /// TD loss.
    pub td_loss: TdLoss,
}

impl TrainConfig {
    /// ε after `step` environment steps: linear from start to end, then constant.
    pub fn epsilon(&self, step: u64) -> f64 {
        let frac = (step as f64 / self.eps_decay_steps as f64).min(1.0);
        self.eps_start + (self.eps_end - self.eps_start) * frac
    }
}

/// The validated `[bp]`.
#[derive(Debug, Clone, PartialEq)]
pub struct BpConfig {
    /// Initialisation.
    pub init: Init,
    /// Optimizer of the hidden layers (and the head when `head_optimizer` is `None`).
    pub optimizer: OptimizerConfig,
    /// Separate head optimizer.
    pub head_optimizer: Option<OptimizerConfig>,
}

/// FF layer schedule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Schedule {
    /// All layers every FF step.
    Concurrent,
    /// One layer at a time.
    Greedy {
        /// Accuracy that counts as separated.
        target_accuracy: f64,
        /// FF steps averaged.
        window: u32,
        /// Cap per layer.
        max_steps_per_layer: u64,
    },
}

/// The validated `[ff]`.
#[derive(Debug, Clone, PartialEq)]
pub struct FfConfig {
    /// Hidden init (for warm start: the BP init).
    pub init: Init,
    /// BP updates before FF takes over.
    pub bp_warmstart_steps: Option<u64>,
    /// Head init.
    pub head_init: Init,
    /// Goodness, loss form and margin of every FF layer.
    pub objective: FfObjective,
    /// Normalisation of every hidden layer's input.
    pub input_norm: InputNorm,
    /// FF step probability per minibatch.
    pub update_prob: f64,
    /// Schedule.
    pub schedule: Schedule,
    /// Per-layer optimizer.
    pub layer_optimizer: OptimizerConfig,
    /// Head optimizer.
    pub head_optimizer: OptimizerConfig,
}

/// Names the file in every refusal and checks values against their ranges.
struct Checker<'a> {
    file: &'a str,
}

impl Checker<'_> {
    fn fail(&self, key: &str, value: impl std::fmt::Display, allowed: &str) -> ConfigError {
        ConfigError::Invalid {
            file: self.file.to_string(),
            key: key.to_string(),
            value: value.to_string(),
            allowed: allowed.to_string(),
        }
    }

    fn at_least<T: PartialOrd + std::fmt::Display>(
        &self,
        key: &str,
        v: T,
        min: T,
    ) -> Result<(), ConfigError> {
        if v >= min {
            Ok(())
        } else {
            Err(self.fail(key, &v, &format!("an integer >= {min}")))
        }
    }

    fn unit_interval(&self, key: &str, v: f64) -> Result<(), ConfigError> {
        if (0.0..=1.0).contains(&v) {
            Ok(())
        } else {
            Err(self.fail(key, v, "a number in [0, 1]"))
        }
    }

    fn optimizer(&self, key: &str, raw: &RawOptimizer) -> Result<OptimizerConfig, ConfigError> {
        let kind = match raw.kind {
            RawOptimizerKind::Sgd => OptimizerKind::Sgd,
            RawOptimizerKind::Adam => OptimizerKind::Adam,
            RawOptimizerKind::Adamw => OptimizerKind::AdamW,
        };
        let cfg = OptimizerConfig {
            kind,
            lr: raw.lr,
            beta1: raw.beta1,
            beta2: raw.beta2,
            eps: raw.eps,
            weight_decay: raw.weight_decay,
            max_grad_norm: raw.max_grad_norm,
        };
        match cfg.validate() {
            Ok(()) => Ok(cfg),
            Err(ff_core::Error::BadHyperparameter {
                key: k,
                value,
                allowed,
            }) => {
                let k = match k {
                    "weight_decay" => "weight-decay",
                    "max_grad_norm" => "max-grad-norm",
                    other => other,
                };
                Err(self.fail(&format!("{key}.{k}"), value, allowed))
            }
            Err(e) => Err(self.fail(key, "?", &e.to_string())),
        }
    }
}

impl EnvConfig {
    fn validate(raw: &RawEnv, c: &Checker<'_>) -> Result<Self, ConfigError> {
        let max_episode_steps = raw
            .max_episode_steps
            .unwrap_or_else(|| default_max_episode_steps(raw.id));
        c.at_least("env.max-episode-steps", max_episode_steps, 1)?;
        Ok(Self {
            id: raw.id,
            max_episode_steps,
        })
    }
}

impl TrainConfig {
    fn validate(t: &RawTrain, c: &Checker<'_>) -> Result<Self, ConfigError> {
        c.at_least("train.epochs", t.epochs, 1)?;
        c.at_least("train.episodes-per-epoch", t.episodes_per_epoch, 1)?;
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
        let target_sync = match t.target_sync {
            RawTargetSync::Hard { every } => {
                c.at_least("train.target-sync.every", every, 1)?;
                TargetSync::Hard { every }
            }
            RawTargetSync::Polyak { tau } => {
                if !(tau > 0.0 && tau <= 1.0) {
                    return Err(c.fail("train.target-sync.tau", tau, "a number in (0, 1]"));
                }
                TargetSync::Polyak { tau: tau as f32 }
            }
        };
        c.unit_interval("train.epsilon.start", t.epsilon.start)?;
        c.unit_interval("train.epsilon.end", t.epsilon.end)?;
        c.at_least("train.epsilon.decay-steps", t.epsilon.decay_steps, 1)?;
        c.at_least("train.eval-episodes", t.eval_episodes, 1)?;
        c.at_least("train.final-eval-episodes", t.final_eval_episodes, 1)?;
        let td_loss = match t.td_loss {
            RawTdLoss::Mse => TdLoss::Mse,
            RawTdLoss::Huber { beta } => {
                if !(beta.is_finite() && beta > 0.0) {
                    return Err(c.fail("train.td-loss.beta", beta, "a finite number > 0"));
                }
                TdLoss::Huber { beta: beta as f32 }
            }
        };
        Ok(Self {
            epochs: t.epochs,
            episodes_per_epoch: t.episodes_per_epoch,
            batch_size: t.batch_size,
            buffer_size: t.buffer_size,
            sampling: t.sampling,
            gamma: t.gamma as f32,
            learning_starts: t.learning_starts,
            train_frequency: t.train_frequency,
            target_sync,
            eps_start: t.epsilon.start,
            eps_end: t.epsilon.end,
            eps_decay_steps: t.epsilon.decay_steps,
            eval_episodes: t.eval_episodes,
            final_eval_episodes: t.final_eval_episodes,
            td_loss,
        })
    }
}

fn validate_hidden(raw: &RawNetwork, c: &Checker<'_>) -> Result<Vec<usize>, ConfigError> {
    if raw.hidden.is_empty() {
        return Err(c.fail(
            "network.hidden",
            "[]",
            "a list of at least one layer width, e.g. [128, 64]",
        ));
    }
    for (i, &w) in raw.hidden.iter().enumerate() {
        c.at_least(&format!("network.hidden[{i}]"), w, 1)?;
    }
    Ok(raw.hidden.clone())
}

impl BpConfig {
    fn validate(raw: &RawBp, c: &Checker<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            init: raw.init.into(),
            optimizer: c.optimizer("bp.optimizer", &raw.optimizer)?,
            head_optimizer: raw
                .head_optimizer
                .as_ref()
                .map(|o| c.optimizer("bp.head-optimizer", o))
                .transpose()?,
        })
    }
}

impl FfConfig {
    fn validate(f: &RawFf, bp: &BpConfig, c: &Checker<'_>) -> Result<Self, ConfigError> {
        let (init, bp_warmstart_steps) = match (f.init, f.bp_warmstart_steps) {
            (RawFfInit::BpWarmstart, Some(n)) if n >= 1 => (bp.init, Some(n)),
            (RawFfInit::BpWarmstart, Some(n)) => {
                return Err(c.fail("ff.bp-warmstart-steps", n, "an integer >= 1"));
            }
            (RawFfInit::BpWarmstart, None) => {
                return Err(c.fail(
                    "ff.init",
                    "\"bp-warmstart\"",
                    "bp-warmstart needs ff.bp-warmstart-steps (the number of BP updates before FF takes over)",
                ));
            }
            (_, Some(n)) => {
                return Err(c.fail(
                    "ff.bp-warmstart-steps",
                    n,
                    "only used with ff.init = \"bp-warmstart\"; remove it or set that init",
                ));
            }
            (RawFfInit::PytorchDefault, None) => (Init::PytorchDefault, None),
            (RawFfInit::XavierUniform, None) => (Init::XavierUniform, None),
        };
        if !(f.margin.is_finite() && f.margin >= 0.0) {
            return Err(c.fail("ff.margin", f.margin, "a finite number >= 0"));
        }
        if !(f.update_prob > 0.0 && f.update_prob <= 1.0) {
            return Err(c.fail("ff.update-prob", f.update_prob, "a number in (0, 1]"));
        }
        let schedule = match f.schedule {
            RawSchedule::Concurrent => Schedule::Concurrent,
            RawSchedule::Greedy {
                target_accuracy,
                window,
                max_steps_per_layer,
            } => {
                c.unit_interval("ff.schedule.target-accuracy", target_accuracy)?;
                c.at_least("ff.schedule.window", window, 1)?;
                c.at_least("ff.schedule.max-steps-per-layer", max_steps_per_layer, 1)?;
                Schedule::Greedy {
                    target_accuracy,
                    window,
                    max_steps_per_layer,
                }
            }
        };
        Ok(Self {
            init,
            bp_warmstart_steps,
            head_init: f.head_init.into(),
            objective: FfObjective {
                goodness: match f.goodness {
                    RawGoodness::Sum => Goodness::Sum,
                    RawGoodness::Mean => Goodness::Mean,
                },
                loss: match f.loss {
                    RawLossForm::BatchMean => LossForm::BatchMean,
                    RawLossForm::PerSample => LossForm::PerSample,
                },
                margin: f.margin,
            },
            input_norm: match f.input_norm {
                RawInputNorm::None => InputNorm::None,
                RawInputNorm::L2 => InputNorm::L2,
            },
            update_prob: f.update_prob,
            schedule,
            layer_optimizer: c.optimizer("ff.layer-optimizer", &f.layer_optimizer)?,
            head_optimizer: c.optimizer("ff.head-optimizer", &f.head_optimizer)?,
        })
    }
}

/// Splits `KEY=VALUE` and parses the value as TOML (`0.5`, `true`, `[128, 64]`,
/// `{ kind = "polyak", tau = 0.005 }`), or as a bare string when it is not TOML (`polyak`).
fn parse_override(text: &str) -> Result<(Vec<String>, toml::Value), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or("expected KEY=VALUE, e.g. ff.margin=0.5")?;
    let key = key.trim();
    let path: Vec<String> = key.split('.').map(|p| p.trim().to_string()).collect();
    if path.iter().any(String::is_empty) {
        return Err(format!("`{key}` is not a dotted key like train.batch-size"));
    }
    let value = value.trim();
    let parsed = toml::from_str::<toml::Table>(&format!("v = {value}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(value.to_string()));
    Ok((path, parsed))
}

/// Sets `path` in `table`, creating tables on the way. Setting `kind` of a table to another
/// kind starts that table afresh (`train.target-sync.kind=polyak` drops `every`), so that the
/// new kind's own keys can follow.
fn set_path(table: &mut toml::Table, path: &[String], value: toml::Value) -> Result<(), String> {
    let (last, parents) = path.split_last().ok_or("empty key")?;
    let mut t = table;
    for (i, p) in parents.iter().enumerate() {
        let entry = t
            .entry(p.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        t = entry.as_table_mut().ok_or_else(|| {
            format!(
                "`{}` is a value, not a section: it has no key `{}`",
                path[..=i].join("."),
                path[i + 1]
            )
        })?;
    }
    if last == "kind" && t.get("kind") != Some(&value) {
        t.clear();
    }
    t.insert(last.clone(), value);
    Ok(())
}

impl Config {
    /// Reads and validates a TOML file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            file: path.to_path_buf(),
            source,
        })?;
        Self::from_toml(&text, &path.display().to_string())
    }

    /// Parses and validates TOML text; `source` names it in errors.
    pub fn from_toml(text: &str, source: &str) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            file: source.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        Self::from_raw(raw, source)
    }

    /// Validates a raw configuration, section by section.
    pub fn from_raw(raw: RawConfig, source: &str) -> Result<Self, ConfigError> {
        let c = Checker { file: source };
        let env = EnvConfig::validate(&raw.env, &c)?;
        let train = TrainConfig::validate(&raw.train, &c)?;
        let hidden = validate_hidden(&raw.network, &c)?;
        let bp = BpConfig::validate(&raw.bp, &c)?;
        let ff = FfConfig::validate(&raw.ff, &bp, &c)?;
        Ok(Config {
            source: source.to_string(),
            raw,
            env,
            train,
            hidden,
            bp,
            ff,
        })
    }

    /// This configuration with `KEY=VALUE` overrides applied (dotted keys as in the file:
    /// `ff.margin=0.5`, `network.hidden=[256, 256]`, `train.target-sync.kind=polyak`), validated
    /// exactly as a file is. An unknown key or a bad value is refused with the key named.
    ///
    /// ```
    /// let cfg = agents::Config::from_toml("", "defaults")?;
    /// let cfg = cfg.with_overrides(&["ff.margin=0.5", "network.hidden=[32]"])?;
    /// assert_eq!(cfg.ff().objective.margin, 0.5);
    /// assert_eq!(cfg.hidden(), &[32]);
    /// assert!(cfg.with_overrides(&["ff.margn=1"]).is_err());
    /// assert!(cfg.with_overrides(&["train.gamma=2"]).is_err());
    /// # Ok::<(), agents::ConfigError>(())
    /// ```
    pub fn with_overrides<S: AsRef<str>>(&self, sets: &[S]) -> Result<Self, ConfigError> {
        if sets.is_empty() {
            return Ok(self.clone());
        }
        let fail = |text: &str, problem: String| ConfigError::Override {
            file: self.source.clone(),
            text: text.to_string(),
            problem,
        };
        let mut table = toml::Table::try_from(&self.raw)
            .map_err(|e| fail("", format!("cannot represent the config as TOML: {e}")))?;
        for s in sets {
            let text = s.as_ref();
            let (path, value) = parse_override(text).map_err(|p| fail(text, p))?;
            set_path(&mut table, &path, value).map_err(|p| fail(text, p))?;
        }
        let listed: Vec<&str> = sets.iter().map(AsRef::as_ref).collect();
        let source = format!("{} with --set {}", self.source, listed.join(" --set "));
        let raw: RawConfig = table
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Parse {
                file: source.clone(),
                message: e.to_string().trim_end().to_string(),
            })?;
        let mut cfg = Self::from_raw(raw, &source)?;
        cfg.source = self.source.clone();
        Ok(cfg)
    }

    /// Where the configuration came from (a file name, for messages and reports).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The raw form: what a file holding this configuration would say.
    pub fn raw(&self) -> &RawConfig {
        &self.raw
    }

    /// `[env]`.
    pub fn env(&self) -> &EnvConfig {
        &self.env
    }

    /// `[train]`.
    pub fn train(&self) -> &TrainConfig {
        &self.train
    }

    /// Widths of the hidden layers.
    pub fn hidden(&self) -> &[usize] {
        &self.hidden
    }

    /// `[bp]`.
    pub fn bp(&self) -> &BpConfig {
        &self.bp
    }

    /// `[ff]`.
    pub fn ff(&self) -> &FfConfig {
        &self.ff
    }

    /// The configuration as TOML, to store beside results.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(&self.raw)
            .unwrap_or_else(|e| format!("# could not serialise: {e}\n"))
    }
}
