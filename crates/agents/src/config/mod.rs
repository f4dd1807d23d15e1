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

use crate::kind::{AgentKind, Family, LocalRule, QRule};
use envs::EnvId;
use ff_core::cell::CellNorm;
use ff_core::optim::OptimizerKind;
use ff_core::{Init, InputNorm, OptimizerConfig};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

mod local;
mod q;
mod train;
pub use local::{
    ActOn, FfAux, LocalConfig, LocalKind, RawActOn, RawBeta, RawFfAux, RawGoodnessForm, RawLocal,
    RawLocalInput,
};
pub use q::{
    BpConfig, FfConfig, RawBp, RawFf, RawFfInit, RawGoodness, RawLossForm, RawSchedule, Schedule,
};
pub use train::{
    Budget, RawEpsilon, RawTargetSync, RawTdLoss, RawTrain, RawWarmUp, TrainConfig, WarmUp,
};

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
    /// The chosen agent's own section is not in the file: its settings would be defaults that
    /// nothing asked for.
    #[error(
        "{file} has no [{section}] section, and the {agent} agent reads its settings from there: add `[{section}]` to the file (an empty section takes the defaults listed in configs/README.md) or use a preset that has it ({preset})"
    )]
    MissingSection {
        /// The file.
        file: String,
        /// The agent.
        agent: AgentKind,
        /// The section it reads.
        section: &'static str,
        /// A preset file that has the section.
        preset: &'static str,
    },
    /// An override of a key the chosen agent does not read: the run would silently ignore it.
    #[error(
        "{file}: --set {text}: the {agent} agent does not read [{section}], so this setting would change nothing; it reads {reads}"
    )]
    NotRead {
        /// The file the override applies to.
        file: String,
        /// The override as given.
        text: String,
        /// The agent.
        agent: AgentKind,
        /// The section the override names.
        section: String,
        /// The sections the agent reads, as `[env], [train], …`.
        reads: String,
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
    /// `[local-td]`: the layer-local TD agent.
    pub local_td: RawLocal,
    /// `[goodness-q]`: the layer-local agent whose Q-value is each layer's goodness.
    pub goodness_q: RawLocal,
}

impl RawConfig {
    /// A layer-local rule's section as written.
    pub fn local(&self, rule: LocalRule) -> &RawLocal {
        match rule {
            LocalRule::LocalTd => &self.local_td,
            LocalRule::GoodnessQ => &self.goodness_q,
        }
    }
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

/// `[network]`
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub struct RawNetwork {
    /// Widths of the hidden layers.
    pub hidden: Vec<usize>,
    /// A LayerNorm in every hidden cell, before or after its ReLU (bp, local-td, goodness-q).
    pub cell_norm: RawCellNorm,
    /// A convolutional layer before the hidden layers (bp on MinAtar's grids): `"none"` or
    /// `{ filters = 16, kernel = 3 }`. Left out of a written config when `"none"`, so configs
    /// from before it existed read and hash as they did.
    #[serde(skip_serializing_if = "RawConv::is_none")]
    pub conv: RawConv,
}

impl Default for RawNetwork {
    fn default() -> Self {
        Self {
            hidden: vec![128, 64],
            cell_norm: RawCellNorm::None,
            conv: RawConv::default(),
        }
    }
}

/// `network.conv`: `"none"`, or a layer of `filters` windows of `kernel × kernel` over the
/// grid (stride 1, no padding, ReLU), the MinAtar paper's `Conv2d(channels, 16, 3)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum RawConv {
    /// `"none"`.
    Keyword(RawConvKeyword),
    /// `{ filters = 16, kernel = 3 }`.
    Layer(RawConvLayer),
}

impl Default for RawConv {
    fn default() -> Self {
        RawConv::Keyword(RawConvKeyword::None)
    }
}

impl RawConv {
    /// Whether no convolution is asked for.
    pub fn is_none(&self) -> bool {
        matches!(self, RawConv::Keyword(RawConvKeyword::None))
    }
}

/// `network.conv = "none"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawConvKeyword {
    /// No convolutional layer.
    None,
}

/// `network.conv = { filters, kernel }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawConvLayer {
    /// Filters (output channels).
    pub filters: usize,
    /// Side of the square window.
    pub kernel: usize,
}

impl std::fmt::Display for RawConvLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{{ filters = {}, kernel = {} }}",
            self.filters, self.kernel
        )
    }
}

/// The windows of `kernel × kernel` over `env`'s grid; the reason in words when `env` has no
/// grid (not a MinAtar game) or the window does not fit in it.
pub(crate) fn conv_over(env: EnvId, kernel: usize) -> Result<ff_core::conv::Conv2d, String> {
    let EnvId::MinAtar { game, .. } = env else {
        return Err(format!(
            "a convolution needs a grid observation (a MinAtar game), and {env} observes a vector"
        ));
    };
    ff_core::conv::Conv2d::new(envs::GRID, game.channels(), kernel).map_err(|e| e.to_string())
}

/// The validated `network.conv`: the window geometry over the task's grid and the filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvConfig {
    /// Grid, channels and window.
    pub geometry: ff_core::conv::Conv2d,
    /// Filters (output channels).
    pub filters: usize,
}

impl ConvConfig {
    /// Width of the feature maps the first hidden layer reads: positions × filters.
    pub fn out_dim(&self) -> usize {
        self.geometry.positions() * self.filters
    }

    fn validate(raw: &RawConv, env: EnvId, c: &Checker<'_>) -> Result<Option<Self>, ConfigError> {
        let RawConv::Layer(layer) = *raw else {
            return Ok(None);
        };
        // Without a grid the whole key is wrong; on one, only the window can be.
        let geometry = conv_over(env, layer.kernel).map_err(|why| match env {
            EnvId::MinAtar { .. } => c.fail(
                "network.conv.kernel",
                layer.kernel,
                &format!("1 to {} (the grid's side)", envs::GRID),
            ),
            _ => c.fail("network.conv", layer, &format!("\"none\" for {env}: {why}")),
        });
        c.at_least("network.conv.filters", layer.filters, 1)?;
        let geometry = geometry?;
        Ok(Some(Self {
            geometry,
            filters: layer.filters,
        }))
    }
}

/// `network.cell-norm`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawCellNorm {
    /// `relu(W x + b)`.
    #[default]
    None,
    /// `relu(LayerNorm(W x + b))`.
    BeforeRelu,
    /// `LayerNorm(relu(W x + b))` (the Artificial Dopamine cell).
    AfterRelu,
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

/// An optimizer: `{ kind = "adamw", lr = 1e-3, weight-decay = 0.01, max-grad-norm = 1.0 }`, or
/// `{ kind = "rmsprop-centered", lr = 2.5e-4, alpha = 0.95, eps = 0.01 }`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawOptimizer {
    /// `sgd`, `adam`, `adamw`, `rmsprop`, `rmsprop-centered` (or `frozen` where allowed).
    pub kind: RawOptimizerKind,
    /// Learning rate (required unless frozen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lr: Option<f64>,
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
    /// Adam's and RMSprop's ε.
    #[serde(default = "default_eps")]
    pub eps: f64,
    /// RMSprop's smoothing α (PyTorch's default 0.99 when not given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha: Option<f64>,
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
            lr: Some(lr),
            weight_decay,
            max_grad_norm,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            alpha: None,
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
    /// RMSprop (`torch.optim.RMSprop`).
    Rmsprop,
    /// Centred RMSprop (`centered=True`): the MinAtar paper's optimizer.
    RmspropCentered,
    /// No learning at all (`ff.layer-optimizer` only: the frozen-features control).
    Frozen,
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

impl From<RawInputNorm> for InputNorm {
    fn from(n: RawInputNorm) -> Self {
        match n {
            RawInputNorm::None => InputNorm::None,
            RawInputNorm::L2 => InputNorm::L2,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Sections, and which agent reads which.

/// A top-level section of a config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Section {
    /// `[env]`: every agent.
    Env,
    /// `[train]`: every agent.
    Train,
    /// `[network]`: every agent.
    Network,
    /// `[bp]`: BP-DQN, and FF-DQN's BP warm start.
    Bp,
    /// `[ff]`: FF-DQN.
    Ff,
    /// A layer-local rule's own section, named as the rule is: `[local-td]`, `[goodness-q]`.
    Local(LocalRule),
}

impl Section {
    /// Every section, in the order a file lists them.
    pub fn all() -> impl Iterator<Item = Section> {
        [
            Section::Env,
            Section::Train,
            Section::Network,
            Section::Bp,
            Section::Ff,
        ]
        .into_iter()
        .chain(LocalRule::all().map(Section::Local))
    }

    /// The name as written in a file: `"env"`, `"local-td"`, …
    pub fn name(self) -> &'static str {
        match self {
            Section::Env => "env",
            Section::Train => "train",
            Section::Network => "network",
            Section::Bp => "bp",
            Section::Ff => "ff",
            Section::Local(rule) => rule.name(),
        }
    }

    /// The section named `name` in a file.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::all().find(|s| s.name() == name)
    }

    /// The section that holds `agent`'s own settings.
    pub fn of_agent(agent: AgentKind) -> Self {
        match agent.family() {
            Family::Q(QRule::Bp) => Section::Bp,
            Family::Q(QRule::Ff) => Section::Ff,
            Family::Local(rule) => Section::Local(rule),
        }
    }
}

impl std::fmt::Display for Section {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}]", self.name())
    }
}

/// The sections a TOML table writes.
fn written_sections(table: &toml::Table) -> BTreeSet<Section> {
    table.keys().filter_map(|k| Section::from_name(k)).collect()
}

// ---------------------------------------------------------------------------------------------
// The validated configuration.

/// A validated configuration: every value in range, every combination consistent. Read it
/// through its accessors; change it with [`Config::with_overrides`].
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    source: String,
    raw: RawConfig,
    /// The sections the file (or an override) wrote; a section absent here holds defaults.
    written: BTreeSet<Section>,
    env: EnvConfig,
    train: TrainConfig,
    hidden: Vec<usize>,
    cell_norm: CellNorm,
    conv: Option<ConvConfig>,
    bp: BpConfig,
    ff: FfConfig,
    /// Every layer-local rule's section (all validated, whichever agent runs).
    local: BTreeMap<LocalRule, LocalConfig>,
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

/// A generous estimate of the bytes a run holds, by part (checked arithmetic: `None` when a
/// product of sizes would not fit in 64 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryEstimate {
    /// Both networks, their gradients, optimizer moments and a copy for `skip-batch`.
    pub network: u64,
    /// The replay ring.
    pub replay: u64,
    /// Activations, gradients and scratch of one update (every action's column for goodness-q).
    pub activations: u64,
}

/// `bytes` in GiB, for messages.
pub fn gib(bytes: u64) -> String {
    format!("{:.2} GiB", bytes as f64 / f64::from(1u32 << 30))
}

impl MemoryEstimate {
    /// The most any config may need (1 TiB); `ffdqn train --max-memory` sets a lower limit.
    pub const MAX_BYTES: u64 = 1 << 40;

    /// The estimate for a run on `env` with this convolution, these hidden widths and training
    /// settings, every agent's layout covered (a layer reading its predecessor, the observation
    /// and the action).
    pub fn of(
        env: EnvId,
        conv: Option<&ConvConfig>,
        hidden: &[usize],
        train: &TrainConfig,
    ) -> Option<Self> {
        let (obs, na) = (env.obs_dim() as u64, env.n_actions() as u64);
        let mut params: u64 = 0;
        let mut units: u64 = 0;
        let mut prev = obs;
        if let Some(conv) = conv {
            // The filters, and per sample every window's values and every position's outputs.
            let (patch, positions) = (
                conv.geometry.patch_len() as u64,
                conv.geometry.positions() as u64,
            );
            let filters = conv.filters as u64;
            params = patch.checked_add(1)?.checked_mul(filters)?;
            units = positions.checked_mul(patch.checked_add(filters)?)?;
            prev = positions.checked_mul(filters)?;
        }
        for &w in hidden {
            let w = w as u64;
            let input = prev.checked_add(obs)?.checked_add(na)?;
            let layer = input
                .checked_add(1)?
                .checked_mul(w)?
                .checked_add(w.checked_mul(2)?)?
                .checked_add(w.checked_add(1)?.checked_mul(na)?)?;
            params = params.checked_add(layer)?;
            units = units.checked_add(input)?.checked_add(w)?;
            prev = w;
        }
        params = params.checked_add(prev.checked_add(1)?.checked_mul(na)?)?;
        let network = params.checked_mul(4 * 8)?;
        let replay = replay::ReplayBuffer::bytes_for(
            train.buffer_size,
            env.obs_dim(),
            replay::Storage::for_observations(env.binary_observations()),
        )?;
        let activations = (train.batch_size as u64)
            .checked_mul(na)?
            .checked_mul(units)?
            .checked_mul(4 * 8)?;
        let m = Self {
            network,
            replay,
            activations,
        };
        m.network
            .checked_add(m.replay)?
            .checked_add(m.activations)?;
        Some(m)
    }

    /// Every part together.
    pub fn total(&self) -> u64 {
        self.network + self.replay + self.activations
    }

    /// The config key behind the largest part: the one to make smaller.
    pub fn largest_key(&self) -> &'static str {
        if self.network >= self.replay && self.network >= self.activations {
            "network.hidden"
        } else if self.replay >= self.activations {
            "train.buffer-size"
        } else {
            "train.batch-size"
        }
    }

    /// [`MemoryEstimate::largest_key`], with its value as written.
    fn largest_part(&self, raw: &RawConfig) -> (&'static str, String) {
        let key = self.largest_key();
        let value = match key {
            "network.hidden" => format!("{:?}", raw.network.hidden),
            "train.buffer-size" => raw.train.buffer_size.to_string(),
            _ => raw.train.batch_size.to_string(),
        };
        (key, value)
    }
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

    /// `v` in `range` (NaN never is), else a refusal saying what is `allowed`.
    fn within(
        &self,
        key: &str,
        v: f64,
        range: std::ops::RangeInclusive<f64>,
        allowed: &str,
    ) -> Result<(), ConfigError> {
        if range.contains(&v) {
            Ok(())
        } else {
            Err(self.fail(key, v, allowed))
        }
    }

    fn unit_interval(&self, key: &str, v: f64) -> Result<(), ConfigError> {
        self.within(key, v, 0.0..=1.0, "a number in [0, 1]")
    }

    /// An optimizer that may be `frozen` (`None`).
    fn optimizer_or_frozen(
        &self,
        key: &str,
        raw: &RawOptimizer,
    ) -> Result<Option<OptimizerConfig>, ConfigError> {
        if raw.kind == RawOptimizerKind::Frozen {
            return Ok(None);
        }
        self.optimizer(key, raw).map(Some)
    }

    fn optimizer(&self, key: &str, raw: &RawOptimizer) -> Result<OptimizerConfig, ConfigError> {
        let kind = match raw.kind {
            RawOptimizerKind::Sgd => OptimizerKind::Sgd,
            RawOptimizerKind::Adam => OptimizerKind::Adam,
            RawOptimizerKind::Adamw => OptimizerKind::AdamW,
            RawOptimizerKind::Rmsprop => OptimizerKind::RmsProp,
            RawOptimizerKind::RmspropCentered => OptimizerKind::RmsPropCentered,
            RawOptimizerKind::Frozen => {
                return Err(self.fail(
                    &format!("{key}.kind"),
                    "\"frozen\"",
                    "sgd, adam, adamw, rmsprop or rmsprop-centered: only ff.layer-optimizer can be frozen (the frozen-features control)",
                ));
            }
        };
        let rmsprop = matches!(
            kind,
            OptimizerKind::RmsProp | OptimizerKind::RmsPropCentered
        );
        // Each rule reads its own decay keys: a key another rule reads is refused, not ignored.
        let (beta1, beta2) = if rmsprop {
            if raw.beta1 != default_beta1() || raw.beta2 != default_beta2() {
                return Err(self.fail(
                    &format!("{key}.beta1 / {key}.beta2"),
                    format!("{} / {}", raw.beta1, raw.beta2),
                    "not set for RMSprop: its smoothing is `alpha` (e.g. alpha = 0.95)",
                ));
            }
            (raw.beta1, raw.alpha.unwrap_or(0.99))
        } else {
            if let Some(alpha) = raw.alpha {
                return Err(self.fail(
                    &format!("{key}.alpha"),
                    alpha,
                    "not set for this optimizer: `alpha` is RMSprop's smoothing (Adam's are beta1 and beta2)",
                ));
            }
            (raw.beta1, raw.beta2)
        };
        let Some(lr) = raw.lr else {
            return Err(self.fail(
                &format!("{key}.lr"),
                "(missing)",
                "a learning rate, e.g. lr = 1e-3",
            ));
        };
        let cfg = OptimizerConfig {
            kind,
            lr,
            beta1,
            beta2,
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
                    // RMSprop's alpha is the config's second-moment decay.
                    "beta2" if rmsprop => "alpha",
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

/// The section a `KEY=VALUE` override writes, when its key's first part names one (a malformed
/// override is [`parse_override`]'s to refuse).
fn override_section(text: &str) -> Option<Section> {
    let (key, _) = text.split_once('=')?;
    Section::from_name(key.split('.').next()?.trim())
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
        let io = |source| ConfigError::Io {
            file: path.to_path_buf(),
            source,
        };
        let bytes = crate::fs::read_regular(path, 16 << 20).map_err(io)?;
        let text = String::from_utf8(bytes).map_err(|e| {
            io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("not UTF-8 text ({e}): a config is a TOML file"),
            ))
        })?;
        Self::from_toml(&text, &path.display().to_string())
    }

    /// The estimate of what a run of this config holds in memory.
    pub fn memory_estimate(&self) -> MemoryEstimate {
        // Checked when the config was validated.
        MemoryEstimate::of(self.env.id, self.conv.as_ref(), &self.hidden, &self.train).unwrap_or(
            MemoryEstimate {
                network: u64::MAX / 3,
                replay: u64::MAX / 3,
                activations: u64::MAX / 3,
            },
        )
    }

    /// Parses and validates TOML text; `source` names it in errors.
    pub fn from_toml(text: &str, source: &str) -> Result<Self, ConfigError> {
        let parse = |e: toml::de::Error| ConfigError::Parse {
            file: source.to_string(),
            message: e.to_string().trim_end().to_string(),
        };
        let table: toml::Table = toml::from_str(text).map_err(parse)?;
        let written = written_sections(&table);
        let raw: RawConfig = table.try_into().map_err(parse)?;
        let mut cfg = Self::from_raw(raw, source)?;
        cfg.written = written;
        Ok(cfg)
    }

    /// Validates a raw configuration, section by section. A raw configuration built in code
    /// counts as writing every section.
    pub fn from_raw(raw: RawConfig, source: &str) -> Result<Self, ConfigError> {
        let c = Checker { file: source };
        let env = EnvConfig::validate(&raw.env, &c)?;
        let train = TrainConfig::validate(&raw.train, &c)?;
        if train
            .max_env_steps(env.max_episode_steps)
            .is_some_and(|max| (train.learning_starts as u64) > max)
        {
            return Err(c.fail(
                "train.learning-starts",
                train.learning_starts,
                &format!(
                    "at most the budget's env steps ({} at most, with episodes of {} steps): no update would run",
                    train.budget, env.max_episode_steps
                ),
            ));
        }
        let hidden = validate_hidden(&raw.network, &c)?;
        let conv = ConvConfig::validate(&raw.network.conv, env.id, &c)?;
        let bp = BpConfig::validate(&raw.bp, &c)?;
        let ff = FfConfig::validate(&raw.ff, &bp, &c)?;
        let local = LocalRule::all()
            .map(|rule| Ok((rule, LocalConfig::validate(raw.local(rule), rule, &c)?)))
            .collect::<Result<_, ConfigError>>()?;
        let cell_norm = match raw.network.cell_norm {
            RawCellNorm::None => CellNorm::None,
            RawCellNorm::BeforeRelu => CellNorm::BeforeRelu,
            RawCellNorm::AfterRelu => CellNorm::AfterRelu,
        };
        // Sizes before anything is allocated: a product that wraps, or a run no machine holds,
        // is a named error here, not a crash at the first allocation.
        match MemoryEstimate::of(env.id, conv.as_ref(), &hidden, &train) {
            Some(m) if m.total() <= MemoryEstimate::MAX_BYTES => {}
            estimate => {
                let (key, value, needed) = match estimate {
                    Some(m) => {
                        let (key, value) = m.largest_part(&raw);
                        (key, value, format!("about {}", gib(m.total())))
                    }
                    None => (
                        "network.hidden",
                        format!("{:?}", raw.network.hidden),
                        "more bytes than a 64-bit count holds".to_string(),
                    ),
                };
                return Err(c.fail(
                    key,
                    value,
                    &format!(
                        "a size a machine can hold: with it the run needs {needed}, the limit is {}; make it smaller",
                        gib(MemoryEstimate::MAX_BYTES)
                    ),
                ));
            }
        }
        Ok(Config {
            source: source.to_string(),
            raw,
            written: Section::all().collect(),
            env,
            train,
            hidden,
            cell_norm,
            conv,
            bp,
            ff,
            local,
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
        // An override writes its section: `--set local-td.frozen-cells=true` asks for
        // local-td's settings as much as a `[local-td]` in the file does.
        cfg.written = self.written.clone();
        cfg.written
            .extend(sets.iter().filter_map(|s| override_section(s.as_ref())));
        Ok(cfg)
    }

    /// The sections `agent` reads from this configuration: `[env]`, `[train]`, `[network]`
    /// and its own (FF-DQN's BP warm start also reads `[bp]`).
    pub fn sections_read(&self, agent: AgentKind) -> Vec<Section> {
        let mut read = vec![Section::Env, Section::Train, Section::Network];
        match agent.family() {
            // FF-DQN's BP warm start runs BP-DQN's learner.
            Family::Q(QRule::Ff) if self.ff.bp_warmstart_steps.is_some() => read.push(Section::Bp),
            Family::Q(QRule::Ff | QRule::Bp) | Family::Local(_) => {}
        }
        read.push(Section::of_agent(agent));
        read
    }

    /// This configuration for `agent`, with `sets` applied: refused when the file has no
    /// section of the agent's own ([`ConfigError::MissingSection`]: its settings would be
    /// defaults nobody chose) or when an override names a section the agent does not read
    /// ([`ConfigError::NotRead`]: it would change nothing). Other agents' sections in the file
    /// are allowed: a preset may serve several agents.
    ///
    /// ```
    /// use agents::{AgentKind, Config, ConfigError};
    /// let paper = Config::from_toml("[bp]\n[ff]\nmargin = 2.0\n", "paper.toml")?;
    /// assert!(paper.for_agent(AgentKind::Ff, &["ff.margin=0.5"]).is_ok());
    /// let ignored = paper.for_agent(AgentKind::Bp, &["ff.margin=0.5"]);
    /// assert!(matches!(ignored, Err(ConfigError::NotRead { .. })));
    /// let missing = paper.for_agent(AgentKind::LocalTd, &[] as &[&str]);
    /// assert!(matches!(missing, Err(ConfigError::MissingSection { .. })));
    /// # Ok::<(), agents::ConfigError>(())
    /// ```
    pub fn for_agent<S: AsRef<str>>(
        &self,
        agent: AgentKind,
        sets: &[S],
    ) -> Result<Self, ConfigError> {
        let cfg = self.with_overrides(sets)?;
        let read = cfg.sections_read(agent);
        for s in sets {
            let text = s.as_ref();
            if let Some(section) = override_section(text)
                && !read.contains(&section)
            {
                return Err(ConfigError::NotRead {
                    file: self.source.clone(),
                    text: text.to_string(),
                    agent,
                    section: section.name().to_string(),
                    reads: read
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
        if agent != AgentKind::Bp {
            cfg.refuse_conv(agent.name())?;
        }
        let own = Section::of_agent(agent);
        if !cfg.written.contains(&own) {
            return Err(ConfigError::MissingSection {
                file: self.source.clone(),
                agent,
                section: own.name(),
                preset: agent.preset(),
            });
        }
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

    /// The raw form with the defaults it took written out where a key's default depends on
    /// others (the budget, ε's decay): what a run's `config.toml` holds.
    fn resolved_raw(&self) -> RawConfig {
        let mut raw = self.raw.clone();
        self.train.resolve(&mut raw.train);
        raw
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

    /// The hidden cells' LayerNorm (`network.cell-norm`).
    pub fn cell_norm(&self) -> CellNorm {
        self.cell_norm
    }

    /// The convolutional first layer (`network.conv`), if any.
    pub fn conv(&self) -> Option<ConvConfig> {
        self.conv
    }

    /// Refuses `network.conv` for `agent`, whose layers learn from their own inputs: only
    /// `bp` back-propagates into a convolution.
    pub fn refuse_conv(&self, agent: &str) -> Result<(), ConfigError> {
        match self.raw.network.conv {
            RawConv::Layer(l) => Err(ConfigError::Invalid {
                file: self.source.clone(),
                key: "network.conv".into(),
                value: l.to_string(),
                allowed: format!(
                    "\"none\" for the {agent} agent: only bp back-propagates into a convolutional layer; set network.conv = \"none\" (and network.hidden for the flattened grid) or use bp"
                ),
            }),
            RawConv::Keyword(_) => Ok(()),
        }
    }

    /// A layer-local rule's section (`[local-td]`, `[goodness-q]`).
    pub fn local(&self, rule: LocalRule) -> &LocalConfig {
        // `from_raw` validated every rule's section into the map.
        &self.local[&rule]
    }

    /// `[bp]`.
    pub fn bp(&self) -> &BpConfig {
        &self.bp
    }

    /// `[ff]`.
    pub fn ff(&self) -> &FfConfig {
        &self.ff
    }

    /// The configuration as TOML, every section.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(&self.resolved_raw())
            .unwrap_or_else(|e| format!("# could not serialise: {e}\n"))
    }

    /// The sections `agent` reads, as TOML: what a run of that agent stores as its
    /// `config.toml` (another agent's settings there would only mislead its reader).
    pub fn to_toml_for(&self, agent: AgentKind) -> String {
        let read = self.sections_read(agent);
        match toml::Table::try_from(self.resolved_raw()) {
            Ok(mut table) => {
                table.retain(|k, _| Section::from_name(k).is_none_or(|s| read.contains(&s)));
                toml::to_string_pretty(&table)
                    .unwrap_or_else(|e| format!("# could not serialise: {e}\n"))
            }
            Err(e) => format!("# could not serialise: {e}\n"),
        }
    }
}
