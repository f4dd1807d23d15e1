//! The crate's error type.

use std::path::PathBuf;

/// What can stop an experiment.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An experiment file that cannot be used.
    #[error("{file}: {problem}")]
    Experiment {
        /// The experiment file.
        file: PathBuf,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// A group's config (or one of its overrides) was refused.
    #[error("group `{group}`")]
    Config {
        /// The group.
        group: String,
        /// Why.
        source: Box<agents::ConfigError>,
    },
    /// A plan file that cannot be used.
    #[error("{path}: {problem}")]
    Plan {
        /// The plan file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// A run failed.
    #[error("{group} seed {seed} failed")]
    Run {
        /// Its group.
        group: String,
        /// Its seed.
        seed: u64,
        /// Why.
        source: Box<agents::Error>,
    },
    /// Runs failed or are missing (named one per line).
    #[error("{} run(s) did not finish:\n  {}", .0.len(), .0.join("\n  "))]
    Unfinished(Vec<String>),
    /// Reading a file or directory.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Writing a file or directory.
    #[error("cannot write {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Drawing a figure.
    #[error("drawing {path}: {message}")]
    Draw {
        /// The figure.
        path: PathBuf,
        /// What the plotting library said.
        message: String,
    },
    /// A Slurm command failed or answered something unexpected.
    #[error("{command}: {message}")]
    Slurm {
        /// The command line.
        command: String,
        /// What went wrong.
        message: String,
    },
    /// An error of the agents crate outside a run (loading configs, weights).
    #[error(transparent)]
    Agents(#[from] agents::Error),
}

impl Error {
    /// What the error means for the user, delegating to the agents' classification for their
    /// errors (exhaustive: a new variant must be classified).
    pub fn kind(&self) -> agents::ErrorKind {
        use agents::ErrorKind::{BadInput, Failure};
        match self {
            Error::Experiment { .. } | Error::Plan { .. } => BadInput,
            Error::Config { source, .. } => source.kind(),
            Error::Run { source, .. } => source.kind(),
            Error::Agents(e) => e.kind(),
            Error::Unfinished(_)
            | Error::Read { .. }
            | Error::Write { .. }
            | Error::Draw { .. }
            | Error::Slurm { .. } => Failure,
        }
    }
}

/// Result of this crate's operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn read_err(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.into();
    move |source| Error::Read { path, source }
}

pub(crate) fn write_err(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.into();
    move |source| Error::Write { path, source }
}

/// An error with its causes, `: `-separated (what `{:#}` prints for an anyhow error).
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
