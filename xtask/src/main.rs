//! Project automation, run as `cargo xtask <task>` (see `.cargo/config.toml`).
//!
//! One module per task. Cargo is always invoked through `$CARGO`, so the same toolchain that
//! runs xtask builds everything else.

mod alloc_count;
mod bench;
mod ci;
mod experiment;

#[global_allocator]
static ALLOCATOR: alloc_count::Counting = alloc_count::Counting;

use anyhow::{Result, bail};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <task> [options]

tasks:
  experiment    the paper reproduction: BP-DQN and FF-DQN on many seeds, the ablations,
                the memory study, figures and REPORT.md (--quick for a smoke run)
  bench         speed: criterion benches, updates, whole loops, GFLOP/s against gemm, and with
                --peer the PyTorch peer side by side; writes docs/PERFORMANCE.md
  ci            cargo fmt --check, clippy -D warnings, RUSTDOCFLAGS=-D warnings cargo doc,
                and the test suite (cargo test --workspace): exactly what CI runs
";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let task = args.next();
    let rest: Vec<String> = args.collect();
    match task.as_deref() {
        Some("ci") => ci::run(&rest),
        Some("experiment") => experiment::run(&rest),
        Some("bench") => bench::run(&rest),
        Some("-h" | "--help") | None => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown task `{other}`\n\n{USAGE}"),
    }
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
