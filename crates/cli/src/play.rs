//! `ffdqn play`: saved weights play one episode, drawn as text frame by frame.

use crate::eval::{load_weights_for, weights_arg};
use agents::rng::{Stream, stream};
use anyhow::Result;
use envs::EnvId;
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct PlayArgs {
    /// A weights.json written by `ffdqn train`, or the run directory that holds it.
    #[arg(long)]
    weights: PathBuf,
    /// Seed of the episode's initial state.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The task, when given: refused if the weights were trained on another.
    #[arg(long, value_name = "ID", value_parser = crate::args::env())]
    env: Option<EnvId>,
    /// Episode step limit (default: the run's, when the weights sit in a run directory; else
    /// the task's, 200 for CartPole-v1 as in the paper).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    max_episode_steps: Option<u32>,
    /// Milliseconds between frames (0: as fast as possible).
    #[arg(long, default_value_t = 40)]
    delay_ms: u64,
}

/// Writes to stdout; a closed pipe (`ffdqn play … | head`) ends the program quietly, as Unix
/// tools do, and any other output error is reported.
fn emit(text: &str) -> Result<bool> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(anyhow::Error::new(e).context("cannot write to standard output")),
    }
}

pub fn run(a: PlayArgs) -> Result<()> {
    use envs::Environment;
    let arg = weights_arg(&a.weights);
    let max_steps = a.max_episode_steps.or(arg.run_max_steps);
    let (w, env_cfg) = load_weights_for(&arg.file, a.env, max_steps)?;
    let mut env = env_cfg.make()?;
    let mut rng = stream(a.seed, Stream::FinalEval);
    let mut ws = agents::policy::PolicyWorkspace::default();
    let mut obs = vec![0.0f32; env.obs_dim()];
    env.reset(&mut rng, &mut obs);
    let tty = std::io::stdout().is_terminal();
    let (mut step, mut ret) = (0u32, 0.0f32);
    let header = |step: u32, ret: f32| {
        format!(
            "{} agent on {}  step {step:>3}  return {ret:>6.0}\n",
            w.agent, env_cfg.id
        )
    };
    loop {
        let frame = format!("{}{}", header(step, ret), env.render_text());
        let shown = if tty {
            emit(&format!("\x1b[2J\x1b[H{frame}"))?
        } else {
            emit(&format!("{frame}\n"))?
        };
        if !shown {
            return Ok(());
        }
        let s = env.step(w.policy.greedy_action(&obs, &mut ws)?, &mut obs)?;
        step += 1;
        ret += s.reward;
        if a.delay_ms > 0 {
            std::thread::sleep(std::time::Duration::from_millis(a.delay_ms));
        }
        if s.terminated || s.truncated {
            let why = if s.terminated {
                "terminated (the task's end state)"
            } else {
                "step limit reached"
            };
            emit(&format!(
                "{}{}episode over after {step} steps, return {ret}: {why}\n",
                header(step, ret),
                env.render_text()
            ))?;
            return Ok(());
        }
    }
}
