//! The crate's error type.

use std::path::PathBuf;

/// Where in an update a NaN or infinity appeared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tensor {
    /// A hidden layer's input batch.
    LayerInput,
    /// An FF layer's goodness.
    Goodness,
    /// A parameter gradient.
    Gradient,
    /// A parameter after the optimizer's step.
    Weight,
    /// A Q-value of the online network.
    QValue,
    /// A Q-value of the target network.
    TargetQValue,
    /// A TD target.
    TdTarget,
    /// The TD loss.
    TdLoss,
}

impl std::fmt::Display for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Tensor::LayerInput => "the layer's input",
            Tensor::Goodness => "the goodness",
            Tensor::Gradient => "a gradient",
            Tensor::Weight => "a weight",
            Tensor::QValue => "a Q-value of the online network",
            Tensor::TargetQValue => "a Q-value of the target network",
            Tensor::TdTarget => "a TD target",
            Tensor::TdLoss => "the TD loss",
        })
    }
}

impl From<ff_core::Tensor> for Tensor {
    fn from(t: ff_core::Tensor) -> Self {
        match t {
            ff_core::Tensor::Input => Tensor::LayerInput,
            ff_core::Tensor::Goodness => Tensor::Goodness,
            ff_core::Tensor::Gradient | ff_core::Tensor::UpstreamGradient => Tensor::Gradient,
        }
    }
}

impl From<dqn_head::Quantity> for Tensor {
    fn from(q: dqn_head::Quantity) -> Self {
        match q {
            dqn_head::Quantity::TargetQValue => Tensor::TargetQValue,
            dqn_head::Quantity::TdTarget => Tensor::TdTarget,
            dqn_head::Quantity::QValue => Tensor::QValue,
            dqn_head::Quantity::TdLoss => Tensor::TdLoss,
        }
    }
}

/// What can stop a run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A refused configuration.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// Layer math.
    #[error(transparent)]
    Core(ff_core::Error),
    /// Targets and TD loss.
    #[error(transparent)]
    Head(dqn_head::Error),
    /// The replay buffer.
    #[error(transparent)]
    Replay(#[from] replay::Error),
    /// The environment.
    #[error(transparent)]
    Env(#[from] envs::Error),
    /// Training diverged: a NaN or infinity appeared in an update.
    #[error("training diverged at env step {step}{}: {tensor} is {value}{}", layer_text(*.layer), index_text(*.index))]
    Diverged {
        /// Environment step of the failing update (0 until the loop fills it in).
        step: u64,
        /// 1-based layer, the head being the last (`None`: a whole-network quantity).
        layer: Option<usize>,
        /// Which tensor.
        tensor: Tensor,
        /// Sample or element index, where known.
        index: Option<usize>,
        /// The value found.
        value: f64,
    },
    /// A file or directory given to the program cannot be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A result cannot be written.
    #[error("cannot write {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A saved state that does not fit this agent (another architecture or optimizer layout).
    #[error("saved state does not fit this agent: {0}")]
    Mismatch(String),
    /// Training was asked to stop (a signal) between two steps.
    #[error("training stopped on request at env step {env_steps}, {epochs_done} epochs finished")]
    Interrupted {
        /// Epochs finished.
        epochs_done: u32,
        /// Environment steps taken.
        env_steps: u64,
    },
    /// Another process is writing this run directory.
    #[error("{} is in use by {}: wait for it to finish, or choose another --out", dir.display(), pid.map_or_else(|| "another process".to_string(), |p| format!("process {p}")))]
    Locked {
        /// The run directory.
        dir: PathBuf,
        /// The holder's process id, when its lock file says.
        pid: Option<u32>,
    },
    /// A weights or checkpoint file that cannot be used.
    #[error("{path}: {problem}")]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong and what to do.
        problem: String,
    },
}

fn layer_text(layer: Option<usize>) -> String {
    layer.map_or(String::new(), |l| format!(" in layer {l}"))
}

fn index_text(index: Option<usize>) -> String {
    index.map_or(String::new(), |i| format!(" (at index {i})"))
}

/// What an error means for the person who ran the program: the one classification every
/// error type of the workspace delegates to, and the binary maps to exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input was wrong (a flag, a config, a file given, a directory in use): fix it and
    /// run again.
    BadInput,
    /// Something failed while working (a divergence, a write error, an environment misuse).
    Failure,
    /// Work was asked to stop (a signal) and stopped cleanly, keeping what it had done.
    Stopped,
}

impl crate::config::ConfigError {
    /// Always [`ErrorKind::BadInput`]: a refused configuration is the user's to fix.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::BadInput
    }
}

impl Error {
    /// What the error means for the user (exhaustive: a new variant must be classified).
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Config(e) => e.kind(),
            Error::Locked { .. }
            | Error::BadFile { .. }
            | Error::Mismatch(_)
            | Error::Read { .. } => ErrorKind::BadInput,
            Error::Interrupted { .. } => ErrorKind::Stopped,
            Error::Core(_)
            | Error::Head(_)
            | Error::Replay(_)
            | Error::Env(_)
            | Error::Diverged { .. }
            | Error::Write { .. } => ErrorKind::Failure,
        }
    }

    /// Whether this is a divergence (the loop may undo the update and skip its batch).
    pub fn is_divergence(&self) -> bool {
        matches!(self, Error::Diverged { .. })
    }

    /// A divergence found in layer `layer` (0-based; the head is the last), or the error as
    /// it is.
    pub(crate) fn in_layer(self, layer: usize) -> Self {
        match self {
            Error::Diverged {
                step,
                tensor,
                index,
                value,
                ..
            } => Error::Diverged {
                step,
                layer: Some(layer + 1),
                tensor,
                index,
                value,
            },
            e => e,
        }
    }

    /// A divergence stamped with the environment step of its update.
    pub(crate) fn at_step(self, step: u64) -> Self {
        match self {
            Error::Diverged {
                layer,
                tensor,
                index,
                value,
                ..
            } => Error::Diverged {
                step,
                layer,
                tensor,
                index,
                value,
            },
            e => e,
        }
    }
}

/// Non-finite values found by the layer math are divergences; other faults stay what they are.
impl From<ff_core::Error> for Error {
    fn from(e: ff_core::Error) -> Self {
        match e {
            ff_core::Error::NonFinite {
                what, index, value, ..
            } => Error::Diverged {
                step: 0,
                layer: None,
                tensor: what.into(),
                index: Some(index),
                value,
            },
            other => Error::Core(other),
        }
    }
}

impl From<dqn_head::Error> for Error {
    fn from(e: dqn_head::Error) -> Self {
        match e {
            dqn_head::Error::NonFinite {
                what,
                sample,
                value,
            } => Error::Diverged {
                step: 0,
                layer: None,
                tensor: what.into(),
                index: Some(sample),
                value,
            },
            dqn_head::Error::Core(core) => core.into(),
            other => Error::Head(other),
        }
    }
}

/// Result of this crate's operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
