//! Experiments as files that run anywhere.
//!
//! An experiment file names groups of runs (agent, config, overrides), seeds, comparisons and
//! studies ([`plan`]); it expands into a [`Plan`] written as `plan.json` into the output
//! directory. Runs execute on a backend — [`local`] (threads over this machine's cores,
//! longest runs first) or [`slurm`] (job arrays and a report job on a cluster) — each writing
//! its run directory atomically ([`runner`]). The [`report`] reads the run directories back
//! and writes the aggregated CSVs, the figures and `REPORT.md`, with the statistics of
//! Agarwal et al. (2021, rliable) in [`stats`].
//!
//! ```no_run
//! use lab::{Plan, PlanOptions};
//! use std::path::Path;
//!
//! let plan = Plan::from_file(Path::new("configs/experiments/paper.toml"), &PlanOptions::default())?;
//! let out = Path::new("results");
//! std::fs::create_dir_all(out).expect("output directory");
//! plan.write(out)?;
//! let outcome = lab::local::run(&plan, out, 2, false, &agents::Provenance::unknown(), &|_| {}, &|| false)?;
//! assert!(outcome.failed.is_empty());
//! let ctx = lab::report::ReportContext { command: "example".into(), code: agents::Provenance::unknown(), wall: outcome.seconds, skipped: outcome.skipped };
//! lab::report::build(&plan, out, &ctx)?;
//! # Ok::<(), lab::Error>(())
//! ```

pub mod alloc_count;
mod dir;
mod error;
pub mod local;
pub mod memory;
pub mod plan;
mod plots;
pub mod report;
pub mod runner;
pub mod slurm;
pub mod stats;

pub use dir::ExperimentDir;
pub use error::{Error, Result, chain};
pub use plan::{Plan, PlanOptions, Study};

use std::path::Path;

/// Writes a file atomically (temporary file, flush, rename).
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    agents::fs::write_atomic(path, bytes).map_err(|e| match e {
        agents::Error::Write { path, source } => Error::Write { path, source },
        other => Error::Agents(other),
    })
}

/// The CPU model and core count, for reports.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!(
        "{cpu}, {} cores",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    )
}
