//! `ffdqn eval`: saved weights evaluated greedily; and the weights loading `play` shares.

use crate::exit::BadInput;
use agents::RunDir;
use agents::evaluate_network;
use agents::io::load_weights;
use agents::rng::{Stream, stream};
use agents::train::mean_std;
use anyhow::{Result, bail};
use envs::EnvId;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// A weights.json written by `ffdqn train`, or the run directory that holds it.
    #[arg(long)]
    weights: PathBuf,
    /// Greedy episodes to run.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
    episodes: u32,
    /// Seed of the evaluation episodes' initial states. Default: the run's seed when the
    /// weights sit in a run directory (so 50 episodes repeat the run's final evaluation),
    /// otherwise 0.
    #[arg(long)]
    seed: Option<u64>,
    /// The task, when given: refused if the weights were trained on another (the weights
    /// record their task).
    #[arg(long, value_name = "ID", value_parser = crate::args::env())]
    env: Option<EnvId>,
    /// Episode step limit (default: the run's, when the weights sit in a run directory; else
    /// the task's, 200 for CartPole-v1 as in the paper).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    max_episode_steps: Option<u32>,
}

/// Loads weights and the task to run them on: the one they record, checked against `--env`.
pub fn load_weights_for(
    path: &Path,
    env: Option<EnvId>,
    max_episode_steps: Option<u32>,
) -> Result<(agents::io::Weights, agents::config::EnvConfig)> {
    let w = load_weights(path)?;
    if let Some(id) = env
        && id != w.env
    {
        bail!(BadInput(format!(
            "{}: these weights were trained on {}, not {id}: their network maps {} observations to {} actions",
            path.display(),
            w.env,
            w.policy.obs_dim(),
            w.policy.n_actions()
        )));
    }
    let env = agents::config::EnvConfig {
        id: w.env,
        max_episode_steps: max_episode_steps
            .unwrap_or_else(|| agents::config::default_max_episode_steps(w.env)),
    };
    Ok((w, env))
}

/// What `--weights` names: a weights file, or a run directory (its weights.json).
pub struct WeightsArg {
    pub file: PathBuf,
    /// The run's seed, when a readable run.json sits beside the weights.
    pub run_seed: Option<u64>,
    /// The run's episode step limit, from its config.toml.
    pub run_max_steps: Option<u32>,
}

pub fn weights_arg(path: &Path) -> WeightsArg {
    let file = if path.is_dir() {
        RunDir::at(path).weights_path()
    } else {
        path.to_path_buf()
    };
    let run = RunDir::at(file.parent().unwrap_or(Path::new(".")));
    let has_run = run.has_run();
    WeightsArg {
        run_seed: has_run
            .then(|| run.read_info().ok().map(|i| i.seed))
            .flatten(),
        run_max_steps: has_run
            .then(|| run.read_config().ok().map(|c| c.env().max_episode_steps))
            .flatten(),
        file,
    }
}

pub fn run(a: EvalArgs) -> Result<()> {
    let arg = weights_arg(&a.weights);
    let file = arg.file;
    let max_steps = a.max_episode_steps.or(arg.run_max_steps);
    let (w, env) = load_weights_for(&file, a.env, max_steps)?;
    let (seed, whose) = match (a.seed, arg.run_seed) {
        (Some(s), _) => (s, "--seed"),
        (None, Some(s)) => (s, "the run's seed"),
        (None, None) => (0, "the default; no run.json beside the weights"),
    };
    let mut rng = stream(seed, Stream::FinalEval);
    let returns = evaluate_network(&w.policy, &env, a.episodes, &mut rng)?;
    let (mean, std) = mean_std(&returns);
    let min = returns.iter().copied().fold(f32::INFINITY, f32::min);
    let max = returns.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    say!(
        "{} weights {} on {}: mean return {mean:.2} ± {std:.2} (std) over {} greedy episodes, min {min}, max {max}; evaluation seed {seed} ({whose})",
        w.agent,
        file.display(),
        env.id,
        returns.len()
    );
    Ok(())
}
