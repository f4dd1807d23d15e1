//! `ffdqn bench`: whole-loop training speed of every agent a config configures.

use agents::rng::{Stream, stream};
use agents::{AgentKind, Config, LoopState, build, train};
use anyhow::Result;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// TOML config whose network and protocol are timed.
    #[arg(long, default_value = "configs/paper.toml")]
    config: PathBuf,
    /// Epochs of training to time per agent (with a step budget: evaluation intervals).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    epochs: u32,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

pub fn run(a: BenchArgs) -> Result<()> {
    let cfg = Config::load(&a.config)?;
    // `--epochs` epochs of the config's own budget: for a step budget, that many evaluation
    // intervals of env steps.
    let budget = match cfg.train().budget {
        agents::config::Budget::Episodes { .. } => format!("train.epochs={}", a.epochs),
        agents::config::Budget::Steps { log_every, .. } => format!(
            "train.total-steps={}",
            u64::from(a.epochs).saturating_mul(log_every)
        ),
    };
    let cfg = cfg.with_overrides(&[budget, "train.final-eval-episodes=1".to_string()])?;
    say!(
        "whole training loop on {} ({} epochs, seed {}), one thread:",
        a.config.display(),
        a.epochs,
        a.seed
    );
    for kind in AgentKind::ALL {
        // Only the agents the file configures: another would run on defaults nobody chose.
        let cfg = match cfg.for_agent(kind, &[] as &[&str]) {
            Ok(cfg) => cfg,
            Err(agents::ConfigError::MissingSection { section, .. }) => {
                say!(
                    "  {kind}: skipped ({} has no [{section}] section)",
                    a.config.display()
                );
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let mut agent = build(kind, &cfg, &mut stream(a.seed, Stream::Init))?;
        let mut st = LoopState::new(&cfg, a.seed)?;
        let t0 = Instant::now();
        let run = train(agent.as_mut(), &cfg, a.seed, &mut st, &mut |_, _, _| Ok(()))?;
        let secs = t0.elapsed().as_secs_f64();
        say!(
            "  {kind}: {} env steps, {} updates in {secs:.2} s: {:.0} env steps/s, {:.1} µs per step",
            run.env_steps,
            run.updates,
            run.env_steps as f64 / secs,
            secs * 1e6 / run.env_steps as f64
        );
    }
    Ok(())
}
