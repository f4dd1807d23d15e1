//! Which code produced a result: recorded in run.json, summary.json and reports.

use serde::{Deserialize, Serialize};

/// The code a run or report came from: the binary's version, the git commit it was built
/// from, and whether that build had uncommitted changes to the code. The binary knows these
/// from build time (`crates/cli/build.rs`) and hands them down; a library cannot know them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// The crate version, e.g. `"0.1.0"`.
    pub version: String,
    /// The full git commit, or `"unknown"` when built outside a git checkout.
    pub commit: String,
    /// Whether the build's code differed from that commit (`None`: unknown).
    pub dirty: Option<bool>,
}

impl Provenance {
    /// Code of unknown origin (tests, and library users who do not say).
    pub fn unknown() -> Self {
        Self {
            version: env!("CARGO_PKG_VERSION").into(),
            commit: "unknown".into(),
            dirty: None,
        }
    }
}

impl std::fmt::Display for Provenance {
    /// `ffdqn 0.1.0, commit 1a333f0c… (with uncommitted changes)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ffdqn {}, commit {}", self.version, self.commit)?;
        if self.commit == "unknown" {
            return Ok(());
        }
        match self.dirty {
            Some(true) => f.write_str(" with uncommitted changes"),
            Some(false) => Ok(()),
            None => f.write_str(" (whether it had uncommitted changes is unknown)"),
        }
    }
}
