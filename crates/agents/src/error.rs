//! The crate's error type.

use std::path::PathBuf;

/// What can stop a run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A refused configuration.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// Layer math.
    #[error(transparent)]
    Core(#[from] ff_core::Error),
    /// Targets and TD loss.
    #[error(transparent)]
    Head(#[from] dqn_head::Error),
    /// The replay buffer.
    #[error(transparent)]
    Replay(#[from] replay::Error),
    /// The environment.
    #[error(transparent)]
    Env(#[from] env_cartpole::Error),
    /// Training diverged: a NaN or infinity appeared.
    #[error("training diverged at env step {step} ({where_}): {cause}")]
    Diverged {
        /// Environment step of the failing update.
        step: u64,
        /// Which part of the update.
        where_: String,
        /// What was found.
        cause: String,
    },
    /// Reading or writing a file.
    #[error("{action} {path}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A saved state that does not fit this agent (another architecture or optimizer layout).
    #[error("saved state does not fit this agent: {0}")]
    Mismatch(String),
    /// A weights or checkpoint file that cannot be used.
    #[error("{path}: {problem}")]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong and what to do.
        problem: String,
    },
}

/// Result of this crate's operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Names the layer (1-based; the head is the last) in a numeric fault.
pub(crate) fn in_layer(layer: usize, e: ff_core::Error) -> Error {
    match e {
        ff_core::Error::NonFinite {
            op,
            what,
            index,
            value,
        } => Error::Diverged {
            step: 0,
            where_: format!("layer {} ({op})", layer + 1),
            cause: format!("{what} has {value} at index {index}"),
        },
        other => other.into(),
    }
}
