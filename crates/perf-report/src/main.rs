//! `perf-report` (run by `cargo xtask bench`): every speed figure of the project, measured side
//! by side in one run, written to docs/PERFORMANCE.md. It drives `cargo bench` for the criterion
//! benches, so it runs from a source checkout.
//!
//! * criterion benches (environment, replay sampling, FF step vs BP backward per layer);
//! * one BP update and one FF update (FF step on every minibatch, and at the paper preset's
//!   probability 0.1), interleaved chunk by chunk so machine noise hits both alike; medians;
//! * the GFLOP/s of a whole update against a large square gemm in the same run;
//! * whole training loops on the paper preset and on the PyTorch peer's settings;
//! * with `--peer`, `scripts/dqn_peer.py` run beside ours for the same number of
//!   environment steps, one thread each, and Gymnasium's own CartPole stepping rate.

mod criterion;
mod measure;
mod peers;
mod render;

use anyhow::{Context, Result, bail};
use measure::Options;
use std::path::PathBuf;

const USAGE: &str = "\
usage: cargo xtask bench [--peer] [--steps N] [--out FILE]   (runs perf-report)

  --peer      also run the PyTorch peer (scripts/dqn_peer.py; needs python3 with torch
              and gymnasium) and Gymnasium's CartPole, side by side with ours
  --steps N   environment steps of each whole-loop run (default 20000)
  --out FILE  where the report goes (default docs/PERFORMANCE.md)
";

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}

/// Measures, renders, writes: the figures first ([`measure::measure`]), then the report from
/// them alone ([`render::report`]).
fn run(args: &[String]) -> Result<()> {
    let Some((options, out)) = parse_args(args)? else {
        print!("{USAGE}");
        return Ok(());
    };
    let figures = measure::measure(options)?;
    let notes = std::fs::read_to_string(peers::project_root().join("docs/performance-notes.md"))
        .unwrap_or_default();
    let report = render::report(&figures, &notes);
    agents::fs::write_atomic(&out, report.as_bytes())?;
    eprintln!("wrote {}", out.display());
    Ok(())
}

/// The options and the report's path; `None` for `--help`.
fn parse_args(args: &[String]) -> Result<Option<(Options, PathBuf)>> {
    let mut options = Options {
        peer: false,
        steps: 20_000,
    };
    let mut out = peers::project_root().join("docs/PERFORMANCE.md");
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--peer" => options.peer = true,
            "--steps" => {
                let v = it.next().context("--steps needs a value")?;
                options.steps = v
                    .parse()
                    .ok()
                    .filter(|&n| n >= 2_000)
                    .with_context(|| format!("--steps {v}: expected an integer >= 2000"))?;
            }
            "--out" => out = PathBuf::from(it.next().context("--out needs a value")?),
            "-h" | "--help" => return Ok(None),
            other => bail!("unknown option `{other}`\n\n{USAGE}"),
        }
    }
    Ok(Some((options, out)))
}
