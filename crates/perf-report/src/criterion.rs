//! The criterion benches, run through `cargo bench`, and their medians read back from
//! `target/criterion`.

use crate::peers::{cargo, project_root};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The criterion medians of one run.
pub struct Criterion {
    /// `(group/id, median ns per iteration)`.
    pub rows: Vec<(String, f64)>,
}

impl Criterion {
    /// The median of benchmark `id`, in ns per iteration.
    pub fn get(&self, id: &str) -> Option<f64> {
        self.rows.iter().find(|(k, _)| k == id).map(|(_, v)| *v)
    }
}

/// Runs every bench the report reads and collects their medians.
pub fn run_criterion() -> Result<Criterion> {
    let root = project_root();
    for (package, bench) in [
        ("env-cartpole", "step"),
        ("envs", "step"),
        ("replay", "sample"),
        ("ff-core", "ff_vs_bp"),
    ] {
        let status = Command::new(cargo())
            .current_dir(&root)
            .args([
                "bench",
                "-p",
                package,
                "--bench",
                bench,
                "--",
                "--warm-up-time",
                "1",
                "--measurement-time",
                "3",
            ])
            .status()
            .with_context(|| format!("running cargo bench -p {package}"))?;
        if !status.success() {
            bail!("cargo bench -p {package} --bench {bench} failed ({status})");
        }
    }
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("criterion");
    let mut rows = Vec::new();
    collect_estimates(&dir, &dir, &mut rows)?;
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Criterion { rows })
}

fn collect_estimates(base: &Path, dir: &Path, rows: &mut Vec<(String, f64)>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if !path.is_dir() {
            continue;
        }
        let est = path.join("new").join("estimates.json");
        if est.exists() {
            let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&est)?)?;
            let ns = v["median"]["point_estimate"]
                .as_f64()
                .context("median in estimates.json")?;
            let id = path
                .strip_prefix(base)?
                .to_string_lossy()
                .replace('\\', "/");
            rows.push((id, ns));
        } else if path.file_name().is_some_and(|n| n != "report") {
            collect_estimates(base, &path, rows)?;
        }
    }
    Ok(())
}
