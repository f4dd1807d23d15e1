//! The Q-network family's sections, `[bp]` and `[ff]`: the raw forms the file holds
//! ([`RawBp`], [`RawFf`]) and the validated forms the agents read ([`BpConfig`], [`FfConfig`]).

use super::{Checker, ConfigError, RawInit, RawInputNorm, RawOptimizer, RawOptimizerKind};
use ff_core::ff::{FfObjective, Goodness, LossForm};
use ff_core::{Init, InputNorm, OptimizerConfig};
use serde::{Deserialize, Serialize};

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
    /// Double Q-learning's targets: the online network picks the next action, the target
    /// network values it (van Hasselt et al. 2016).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub double_q: bool,
}

impl Default for RawBp {
    fn default() -> Self {
        Self {
            init: RawInit::XavierUniform,
            optimizer: RawOptimizer::new(RawOptimizerKind::Adamw, 1e-3, 0.0, Some(1.0)),
            head_optimizer: None,
            double_q: false,
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

/// The validated `[bp]`.
#[derive(Debug, Clone, PartialEq)]
pub struct BpConfig {
    /// Initialisation.
    pub init: Init,
    /// Optimizer of the hidden layers (and the head when `head_optimizer` is `None`).
    pub optimizer: OptimizerConfig,
    /// Separate head optimizer.
    pub head_optimizer: Option<OptimizerConfig>,
    /// Double Q-learning's targets.
    pub double_q: bool,
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
    /// Per-layer optimizer; `None`: the layers are frozen at their initialisation (the
    /// frozen-features control: only the head learns).
    pub layer_optimizer: Option<OptimizerConfig>,
    /// Head optimizer.
    pub head_optimizer: OptimizerConfig,
}

impl BpConfig {
    pub(super) fn validate(raw: &RawBp, c: &Checker<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            init: raw.init.into(),
            optimizer: c.optimizer("bp.optimizer", &raw.optimizer)?,
            head_optimizer: raw
                .head_optimizer
                .as_ref()
                .map(|o| c.optimizer("bp.head-optimizer", o))
                .transpose()?,
            double_q: raw.double_q,
        })
    }
}

impl FfConfig {
    pub(super) fn validate(f: &RawFf, bp: &BpConfig, c: &Checker<'_>) -> Result<Self, ConfigError> {
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
        c.within(
            "ff.margin",
            f.margin,
            0.0..=1e6,
            "a number in [0, 1e6]: beyond, softplus(margin − goodness) is infinite in f32",
        )?;
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
            input_norm: f.input_norm.into(),
            update_prob: f.update_prob,
            schedule,
            layer_optimizer: c.optimizer_or_frozen("ff.layer-optimizer", &f.layer_optimizer)?,
            head_optimizer: c.optimizer("ff.head-optimizer", &f.head_optimizer)?,
        })
    }
}
