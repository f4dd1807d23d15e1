//! Project automation, run as `cargo xtask <task>` (see `.cargo/config.toml`): CI, and thin
//! dispatch to the programs that do the work, built in the release profile — the same build
//! the README's `cargo run --release -p cli -- …` uses, so nothing is built twice.
//!
//! Cargo is always invoked through `$CARGO`, so the same toolchain that runs xtask builds
//! everything else.

mod ci;
#[cfg(test)]
mod modcycles;

use anyhow::{Context, Result, bail};
use std::path::PathBuf;
use std::process::{Command, ExitCode};

const USAGE: &str = "\
usage: cargo xtask <task> [options]

tasks:
  experiment [FILE] [options]   run an experiment file: by default configs/experiments/paper.toml,
                                the paper reproduction, into results/; another FILE into
                                results/NAME (NAME from the file). Runs, report, figures.
                                Same as `ffdqn experiment run FILE [--out results] [options]`;
                                see `ffdqn experiment run --help` (--quick, --jobs, --seeds,
                                --force, --backend slurm, …)
  bench [options]               speed: criterion benches, updates, whole loops, GFLOP/s against
                                gemm, and with --peer the PyTorch peer side by side; writes
                                docs/PERFORMANCE.md (runs the perf-report crate)
  ci                            cargo fmt --check, clippy -D warnings, RUSTDOCFLAGS=-D warnings
                                cargo doc, and the test suite: exactly what CI runs
";

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<ExitCode> {
    let mut args = std::env::args().skip(1);
    let task = args.next();
    let rest: Vec<String> = args.collect();
    match task.as_deref() {
        Some("ci") => ci::run(&rest).map(|()| ExitCode::SUCCESS),
        Some("experiment") => {
            let (file, mut rest, default) = match rest.first() {
                Some(f) if f.ends_with(".toml") => (f.clone(), rest[1..].to_vec(), false),
                _ => ("configs/experiments/paper.toml".to_string(), rest, true),
            };
            // The reproduction's report is results/REPORT.md; any other experiment goes to
            // ffdqn's default, results/NAME, so that two experiments never share a directory.
            if default && !rest.iter().any(|a| a == "--out" || a.starts_with("--out=")) {
                rest.extend(["--out".to_string(), "results".to_string()]);
            }
            let mut cmd_args = vec!["experiment".to_string(), "run".to_string(), file];
            cmd_args.extend(rest);
            cargo_run("cli", "ffdqn", &cmd_args)
        }
        Some("bench") => cargo_run("perf-report", "perf-report", &rest),
        Some("-h" | "--help") | None => {
            print!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        Some(other) => bail!("unknown task `{other}`\n\n{USAGE}"),
    }
}

/// `cargo run --release -p PACKAGE --bin BIN -- ARGS` from the workspace root; the exit code
/// is passed on.
fn cargo_run(package: &str, bin: &str, args: &[String]) -> Result<ExitCode> {
    let status = Command::new(cargo())
        .current_dir(project_root())
        .args([
            "run",
            "--quiet",
            "--release",
            "-p",
            package,
            "--bin",
            bin,
            "--",
        ])
        .args(args)
        .status()
        .with_context(|| format!("could not start `{}`", cargo()))?;
    Ok(ExitCode::from(
        status
            .code()
            .and_then(|c| u8::try_from(c).ok())
            .unwrap_or(1),
    ))
}

/// The workspace root, found from this crate's manifest directory.
pub fn project_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// The cargo that runs us.
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}
