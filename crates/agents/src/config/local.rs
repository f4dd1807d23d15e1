//! A layer-local family's sections, `[local-td]` and `[goodness-q]`: the raw form the file
//! holds ([`RawLocal`]) and the validated form the agents read ([`LocalConfig`]).

use super::{Checker, ConfigError, RawInit, RawInputNorm, RawOptimizer, RawOptimizerKind};
use crate::kind::LocalRule;
use ff_core::local::GoodnessForm;
use ff_core::{Init, InputNorm, OptimizerConfig};
use serde::{Deserialize, Serialize};

/// Where a layer-local agent's layer gets its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawLocalInput {
    /// The previous layer's output (detached), then the observation (the first layer: the
    /// observation alone).
    #[default]
    PreviousAndObservation,
    /// The previous layer's output alone.
    Previous,
}

/// Which Q-values a layer-local agent acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawActOn {
    /// The mean of every layer's Q-values (Artificial Dopamine).
    #[default]
    Mean,
    /// The last layer's.
    Last,
}

/// Goodness of a goodness-q layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawGoodnessForm {
    /// `mean(h²)`.
    #[default]
    MeanSquare,
    /// `sqrt(mean(h²))`.
    Rms,
}

/// The `β` of a goodness-q layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawBeta {
    /// One per action.
    #[default]
    PerAction,
    /// One shared by every action.
    Shared,
}

/// An FF objective added to a layer-local agent's TD loss, on the batch split at the median
/// of that layer's TD targets.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum RawFfAux {
    /// `{ kind = "none" }`
    None,
    /// `{ kind = "ff", weight = 0.1, margin = 2.0 }`: λ · FF's per-sample softplus loss on the
    /// layer's mean-square goodness.
    Ff {
        /// λ.
        weight: f64,
        /// The margin.
        #[serde(default = "default_margin")]
        margin: f64,
    },
    /// `{ kind = "symba", weight = 0.1, kappa = 4.0 }`: λ · softplus(−κ (ḡ+ − ḡ−)).
    Symba {
        /// λ.
        weight: f64,
        /// κ.
        #[serde(default = "default_kappa")]
        kappa: f64,
    },
}

fn default_margin() -> f64 {
    2.0
}
fn default_kappa() -> f64 {
    4.0
}

/// `[local-td]` and `[goodness-q]`: the layer-local agents. Each hidden layer has its own
/// readout (a linear Q-head, or its goodness), its own TD loss against its own target readout,
/// and its own optimizer; no gradient crosses a layer.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct RawLocal {
    /// Initialisation of the hidden layers.
    pub init: RawInit,
    /// Initialisation of local-td's linear readouts.
    pub readout_init: RawInit,
    /// What a layer reads.
    pub input: RawLocalInput,
    /// Normalisation of the previous layer's output before the next reads it.
    pub input_norm: RawInputNorm,
    /// The Q-values the agent acts on.
    pub act_on: RawActOn,
    /// Double Q-learning: the online layer picks the next action, the target layer values it.
    pub double_q: bool,
    /// The frozen-features control: the cells keep their initialisation and only the readouts
    /// learn.
    pub frozen_cells: bool,
    /// The optimizer of each layer (one instance per layer, over its cell and readout).
    pub optimizer: RawOptimizer,
    /// An FF objective added to each layer's TD loss.
    pub ff_aux: RawFfAux,
    /// goodness-q: mean square or RMS.
    pub goodness: RawGoodnessForm,
    /// goodness-q: `α` at the start. Its sign decides what goodness means: with `α > 0` more
    /// goodness is more value; with `α < 0` goodness is a cost, the form that reaches the
    /// negative returns of tasks paying −1 per step (`configs/zoo/acrobot.toml`). From `α > 0`
    /// there, `β` must carry the whole return, and Adam moves it by about one learning rate per
    /// update at most.
    pub alpha_init: f64,
    /// goodness-q: one `β` per action or one shared.
    pub beta: RawBeta,
}

impl Default for RawLocal {
    fn default() -> Self {
        Self {
            init: RawInit::PytorchDefault,
            readout_init: RawInit::PytorchDefault,
            input: RawLocalInput::PreviousAndObservation,
            input_norm: RawInputNorm::None,
            act_on: RawActOn::Mean,
            double_q: false,
            frozen_cells: false,
            optimizer: RawOptimizer::new(RawOptimizerKind::Adam, 5e-4, 0.0, Some(10.0)),
            ff_aux: RawFfAux::None,
            goodness: RawGoodnessForm::MeanSquare,
            alpha_init: 10.0,
            beta: RawBeta::PerAction,
        }
    }
}

/// Which Q-values a layer-local agent acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActOn {
    /// The mean over layers.
    Mean,
    /// The last layer's.
    Last,
}

/// An FF objective added to a local layer's TD loss.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FfAux {
    /// None.
    None,
    /// λ · FF's per-sample loss (mean-square goodness, this margin).
    Ff {
        /// λ.
        weight: f32,
        /// The margin.
        margin: f32,
    },
    /// λ · SymBa's loss with this κ.
    Symba {
        /// λ.
        weight: f32,
        /// κ.
        kappa: f32,
    },
}

/// What distinguishes the two layer-local agents.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LocalKind {
    /// local-td: a linear Q readout per layer.
    Td {
        /// Its initialisation.
        readout_init: Init,
    },
    /// goodness-q: `Q = α · G(h(s, a)) + β_a`, the action in every layer's input.
    Goodness {
        /// Mean square or RMS.
        form: GoodnessForm,
        /// `α` at the start.
        alpha_init: f64,
        /// One `β` per action (else one shared).
        beta_per_action: bool,
    },
}

/// The validated `[local-td]` or `[goodness-q]`.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalConfig {
    /// Which agent.
    pub kind: LocalKind,
    /// Initialisation of the hidden layers.
    pub init: Init,
    /// Whether every layer but the first also reads the observation.
    pub concat_obs: bool,
    /// Normalisation of the previous layer's output before the next reads it.
    pub input_norm: InputNorm,
    /// The Q-values the agent acts on.
    pub act_on: ActOn,
    /// Double Q-learning.
    pub double_q: bool,
    /// The cells never learn (the frozen-features control): each layer's optimizer steps its
    /// readout only.
    pub frozen_cells: bool,
    /// Each layer's optimizer.
    pub optimizer: OptimizerConfig,
    /// An FF objective added to each layer's TD loss.
    pub ff_aux: FfAux,
}

impl LocalConfig {
    pub(super) fn validate(
        r: &RawLocal,
        rule: LocalRule,
        c: &Checker<'_>,
    ) -> Result<Self, ConfigError> {
        let section = rule.name();
        let optimizer = c.optimizer(&format!("{section}.optimizer"), &r.optimizer)?;
        let within = |key: &str, v: f64, range, allowed: &str| {
            c.within(&format!("{section}.{key}"), v, range, allowed)
        };
        let ff_aux = match r.ff_aux {
            RawFfAux::None => FfAux::None,
            RawFfAux::Ff { weight, margin } => {
                within("ff-aux.weight", weight, 0.0..=1e6, "a number in [0, 1e6]")?;
                within("ff-aux.margin", margin, 0.0..=1e6, "a number in [0, 1e6]")?;
                FfAux::Ff {
                    weight: weight as f32,
                    margin: margin as f32,
                }
            }
            RawFfAux::Symba { weight, kappa } => {
                within("ff-aux.weight", weight, 0.0..=1e6, "a number in [0, 1e6]")?;
                within("ff-aux.kappa", kappa, 1e-6..=1e3, "a number in [1e-6, 1e3]")?;
                FfAux::Symba {
                    weight: weight as f32,
                    kappa: kappa as f32,
                }
            }
        };
        if r.frozen_cells && ff_aux != FfAux::None {
            return Err(c.fail(
                &format!("{section}.ff-aux"),
                "an FF term",
                "{ kind = \"none\" } with frozen-cells = true: the FF term trains the cells, which are frozen",
            ));
        }
        let kind = match rule {
            LocalRule::GoodnessQ => {
                within(
                    "alpha-init",
                    r.alpha_init,
                    -1e6..=1e6,
                    "a finite number in [-1e6, 1e6]",
                )?;
                LocalKind::Goodness {
                    form: match r.goodness {
                        RawGoodnessForm::MeanSquare => GoodnessForm::MeanSquare,
                        RawGoodnessForm::Rms => GoodnessForm::Rms,
                    },
                    alpha_init: r.alpha_init,
                    beta_per_action: r.beta == RawBeta::PerAction,
                }
            }
            LocalRule::LocalTd => LocalKind::Td {
                readout_init: r.readout_init.into(),
            },
        };
        Ok(Self {
            kind,
            init: r.init.into(),
            concat_obs: r.input == RawLocalInput::PreviousAndObservation,
            input_norm: r.input_norm.into(),
            act_on: match r.act_on {
                RawActOn::Mean => ActOn::Mean,
                RawActOn::Last => ActOn::Last,
            },
            double_q: r.double_q,
            frozen_cells: r.frozen_cells,
            optimizer,
            ff_aux,
        })
    }
}
