//! The subcommands.

use agents::io::load_weights;
use agents::rng::{Stream, stream};
use agents::run_dir::EpochEvent;
use agents::train::mean_std;
use agents::{
    AgentKind, Config, EpochMetrics, LoopState, OnDivergence, RunDir, RunInfo, RunLock, Trained,
    build, evaluate_network, train,
};
use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Forward-Forward, layer-local and backprop Deep Q-Networks on classic-control tasks.
#[derive(Debug, Parser)]
#[command(
    name = "ffdqn",
    version,
    about = "Forward-Forward and backprop Deep Q-Networks on CartPole-v1, Acrobot-v1 and MountainCar-v0: train, evaluate, watch, benchmark, run experiments.",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train an agent from a config file; writes metrics.csv, summary.json, weights.json and
    /// config.toml into the output directory.
    Train(TrainArgs),
    /// Evaluate saved weights greedily and print the mean and standard deviation of the return.
    Eval(EvalArgs),
    /// Watch saved weights play one episode, drawn as text frame by frame.
    Play(PlayArgs),
    /// Measure whole-loop training speed of both agents on a config.
    Bench(BenchArgs),
    /// Experiments from files: run a plan on local cores or Slurm, one run of it, its report.
    #[command(subcommand)]
    Experiment(crate::experiment::ExperimentCommand),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum AgentArg {
    /// Forward-Forward DQN: FF hidden layers, a TD-trained head.
    Ff,
    /// Backprop DQN.
    Bp,
    /// Layer-local TD: a Q readout and a TD loss per layer, no gradient across layers.
    LocalTd,
    /// Layer-local TD with each layer's goodness as its Q-value (the action in its input).
    GoodnessQ,
}

impl From<AgentArg> for AgentKind {
    fn from(a: AgentArg) -> Self {
        match a {
            AgentArg::Ff => AgentKind::Ff,
            AgentArg::Bp => AgentKind::Bp,
            AgentArg::LocalTd => AgentKind::LocalTd,
            AgentArg::GoodnessQ => AgentKind::GoodnessQ,
        }
    }
}

#[derive(Debug, clap::Args)]
struct TrainArgs {
    /// TOML config (e.g. configs/paper.toml). Required unless --resume.
    #[arg(long, required_unless_present = "resume")]
    config: Option<PathBuf>,
    /// Override a config key, as in the file: `--set ff.margin=0.5`,
    /// `--set network.hidden=[256,256]`, `--set train.target-sync.kind=polyak` (repeatable;
    /// validated exactly like the file).
    #[arg(long = "set", value_name = "KEY=VALUE", conflicts_with = "resume")]
    sets: Vec<String>,
    /// Which agent to train. Required unless --resume.
    #[arg(long, value_enum, required_unless_present = "resume")]
    agent: Option<AgentArg>,
    /// The run's seed: it fixes every random draw.
    #[arg(long, default_value_t = 0, conflicts_with = "resume")]
    seed: u64,
    /// Output directory (created; must not already hold files unless --force). Required
    /// unless --resume.
    #[arg(long, required_unless_present = "resume")]
    out: Option<PathBuf>,
    /// Overwrite the files of an existing run in --out.
    #[arg(long, conflicts_with = "resume")]
    force: bool,
    /// Save a checkpoint (checkpoint.bin) every K epochs, so --resume can continue the run.
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..))]
    checkpoint_every: Option<u32>,
    /// Continue the run in DIR from its last checkpoint (or from the start if it has none);
    /// the result is bit-identical to the run never interrupted.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["config", "agent", "out"])]
    resume: Option<PathBuf>,
    /// What an update that produces a NaN or infinity does: stop the run (keeping the last
    /// checkpoint; the default), or undo that update and skip its minibatch. Recorded in the
    /// run, so --resume keeps it unless given again.
    #[arg(long, value_enum)]
    on_divergence: Option<DivergenceArg>,
    /// Refuse a config whose run would need more than this many GiB (estimated generously from
    /// the network widths, replay size and batch). Default: this machine's memory.
    #[arg(long, value_name = "GIB", value_parser = parse_gib)]
    max_memory: Option<f64>,
}

fn parse_gib(s: &str) -> std::result::Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("{s}: a positive number of GiB, e.g. 8 or 0.5")),
    }
}

/// This machine's memory in bytes (Linux: `MemTotal` of /proc/meminfo), if known.
fn machine_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// Refuses a config whose estimated memory exceeds `--max-memory` (default: the machine's).
fn check_memory(cfg: &Config, max_gib: Option<f64>) -> Result<()> {
    let (limit, what) = match max_gib {
        Some(g) => ((g * f64::from(1u32 << 30)) as u64, "--max-memory"),
        None => match machine_memory() {
            Some(b) => (b, "this machine's memory (raise it with --max-memory)"),
            None => return Ok(()),
        },
    };
    let m = cfg.memory_estimate();
    if m.total() > limit {
        let part = m.largest_key();
        bail!(BadInput(format!(
            "this run would need about {} (mostly from `{part}`), more than {} {what}: make `{part}` smaller",
            agents::config::gib(m.total()),
            agents::config::gib(limit)
        )));
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DivergenceArg {
    /// Stop with an error naming the step, the layer and the value.
    Stop,
    /// Undo the diverging update and go on with the next minibatch.
    SkipBatch,
}

#[derive(Debug, clap::Args)]
struct EvalArgs {
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
    #[arg(long, value_name = "ID")]
    env: Option<String>,
    /// Episode step limit (default: the run's, when the weights sit in a run directory; else
    /// the task's, 200 for CartPole-v1 as in the paper).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    max_episode_steps: Option<u32>,
}

#[derive(Debug, clap::Args)]
struct PlayArgs {
    /// A weights.json written by `ffdqn train`, or the run directory that holds it.
    #[arg(long)]
    weights: PathBuf,
    /// Seed of the episode's initial state.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The task, when given: refused if the weights were trained on another.
    #[arg(long, value_name = "ID")]
    env: Option<String>,
    /// Episode step limit (default: the run's, when the weights sit in a run directory; else
    /// the task's, 200 for CartPole-v1 as in the paper).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    max_episode_steps: Option<u32>,
    /// Milliseconds between frames (0: as fast as possible).
    #[arg(long, default_value_t = 40)]
    delay_ms: u64,
}

#[derive(Debug, clap::Args)]
struct BenchArgs {
    /// TOML config whose network and protocol are timed.
    #[arg(long, default_value = "configs/paper.toml")]
    config: PathBuf,
    /// Epochs of training to time per agent.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    epochs: u32,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// The code of this binary, from build time (`build.rs`): recorded in every run and report.
pub fn code() -> agents::Provenance {
    agents::Provenance {
        version: env!("CARGO_PKG_VERSION").into(),
        commit: env!("FFDQN_COMMIT").into(),
        dirty: match env!("FFDQN_DIRTY") {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
    }
}

/// This program as the user can type it again: the path it was started by (`ffdqn` when it is
/// on the PATH, `target/release/ffdqn` when run from there, quoted if it holds a space).
pub fn invocation() -> String {
    let me = std::env::args_os()
        .next()
        .map(|a| a.to_string_lossy().into_owned())
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| "ffdqn".into());
    shell_word(&me)
}

/// `word` quoted for a POSIX shell when it needs it.
pub fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Marks an error as the user's input being wrong (exit code 2).
#[derive(Debug)]
pub struct BadInput(pub String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

/// The exit code of each kind of error: the program's one table ([`agents::ErrorKind`] is the
/// one classification; every error type delegates to it).
pub fn code_of(kind: agents::ErrorKind, signal_code: Option<u8>) -> u8 {
    match kind {
        agents::ErrorKind::BadInput => 2,
        agents::ErrorKind::Failure => 1,
        // 128 + the signal's number, as a shell reports a process a signal ended (SIGINT
        // when the signal is not known).
        agents::ErrorKind::Stopped => signal_code.unwrap_or(130),
    }
}

/// What an error means, from the first cause that says: [`BadInput`] and [`Stopped`] of this
/// binary, or the libraries' own `kind()`; anything else is a failure.
pub fn kind_of(e: &anyhow::Error) -> (agents::ErrorKind, Option<u8>) {
    for cause in e.chain() {
        if cause.is::<BadInput>() {
            return (agents::ErrorKind::BadInput, None);
        }
        if let Some(Stopped(code)) = cause.downcast_ref::<Stopped>() {
            return (agents::ErrorKind::Stopped, Some(*code));
        }
        if let Some(c) = cause.downcast_ref::<agents::ConfigError>() {
            return (c.kind(), None);
        }
        if let Some(le) = cause.downcast_ref::<lab::Error>() {
            return (le.kind(), None);
        }
        if let Some(ae) = cause.downcast_ref::<agents::Error>() {
            return (ae.kind(), None);
        }
    }
    (agents::ErrorKind::Failure, None)
}

/// The process's exit code for `e`.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    let (kind, signal) = kind_of(e);
    code_of(kind, signal)
}

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Train(a) => train_cmd(a),
        Command::Eval(a) => eval_cmd(a),
        Command::Play(a) => play_cmd(a),
        Command::Bench(a) => bench_cmd(a),
        Command::Experiment(c) => crate::experiment::run(c),
    }
}

/// Training ended by a signal after its checkpoint was written; the process exits with `.0`
/// (128 + the signal's number, as a shell reports a process a signal ended).
#[derive(Debug)]
pub struct Stopped(pub u8);

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "stopped by a signal (exit {})", self.0)
    }
}

impl std::error::Error for Stopped {}

/// SIGINT, SIGTERM and SIGHUP as a request the training loop reads before each step; a second
/// one while stopping ends the process at once (128 + its number).
pub(crate) struct StopSignals {
    #[cfg(unix)]
    which: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl StopSignals {
    #[cfg(unix)]
    pub(crate) fn install() -> Result<Self> {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, AtomicUsize};
        let requested = Arc::new(AtomicBool::new(false));
        let which = Arc::new(AtomicUsize::new(0));
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            // Registered first, so it sees the flag as the previous signal left it.
            signal_hook::flag::register_conditional_shutdown(sig, 128 + sig, requested.clone())
                .context("cannot install a signal handler")?;
            signal_hook::flag::register(sig, requested.clone())
                .context("cannot install a signal handler")?;
            signal_hook::flag::register_usize(sig, which.clone(), sig as usize)
                .context("cannot install a signal handler")?;
        }
        Ok(Self { which })
    }

    #[cfg(not(unix))]
    pub(crate) fn install() -> Result<Self> {
        Ok(Self {})
    }

    /// Whether a stop has been asked for (what the training loop polls).
    pub(crate) fn is_requested(&self) -> bool {
        self.requested().is_some()
    }

    /// The signal's name, and the error that ends the process with its exit code, for a run
    /// that stopped on request.
    pub(crate) fn stopped(&self) -> (&'static str, Stopped) {
        let (name, code) = self.requested().unwrap_or(("a stop request", 1));
        (name, Stopped(code))
    }

    /// The signal's name and the exit code it asks for, once one has arrived.
    fn requested(&self) -> Option<(&'static str, u8)> {
        #[cfg(unix)]
        {
            use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
            let sig = self.which.load(std::sync::atomic::Ordering::Relaxed);
            let name = match sig as i32 {
                0 => return None,
                SIGINT => "SIGINT",
                SIGTERM => "SIGTERM",
                SIGHUP => "SIGHUP",
                _ => "a signal",
            };
            Some((name, 128 + sig as u8))
        }
        #[cfg(not(unix))]
        None
    }
}

/// Refuses an output directory that already holds files (unless forced) or cannot be made.
fn prepare_out(out: &Path, force: bool) -> Result<()> {
    if out.exists() {
        if !out.is_dir() {
            return Err(BadInput(format!(
                "--out {} exists and is not a directory",
                out.display()
            ))
            .into());
        }
        let occupied = std::fs::read_dir(out)
            .with_context(|| format!("cannot list --out {}", out.display()))?
            .next()
            .is_some();
        if occupied && !force {
            return Err(BadInput(format!(
                "--out {} already holds files: choose another directory, or pass --force to overwrite that run",
                out.display()
            ))
            .into());
        }
    }
    std::fs::create_dir_all(out)
        .map_err(|e| BadInput(format!("cannot create --out {}: {e}", out.display())))?;
    // Probe writability now rather than after the first epoch (a name of this process's own,
    // so that two processes starting on one --out do not trip over each other's probe).
    let probe = out.join(format!(".write-test-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| {
        BadInput(format!(
            "cannot write into --out {}: {e}: choose a writable directory",
            out.display()
        ))
    })?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

fn epoch_line(m: &EpochMetrics, epochs: u32) -> String {
    let rate = m.env_steps as f64 / m.wall_seconds.max(1e-9);
    // No update yet (the buffer is still filling to learning-starts): no TD loss to show.
    let td = if m.td_loss.is_nan() {
        format!("{:>8}", "–")
    } else {
        format!("{:>8.4}", m.td_loss)
    };
    format!(
        "epoch {:>3}/{epochs}  steps {:>7}  train {:>6.1}  eval {:>6.1}  td {td}  {:>6.0} steps/s",
        m.epoch, m.env_steps, m.train_return_mean, m.eval_return_mean, rate
    )
}

impl From<DivergenceArg> for OnDivergence {
    fn from(d: DivergenceArg) -> Self {
        match d {
            DivergenceArg::Stop => OnDivergence::Stop,
            DivergenceArg::SkipBatch => OnDivergence::SkipBatch,
        }
    }
}

/// The run directory to train in, locked for this process: a new run in `--out`, or the run
/// in `--resume DIR` (whose recorded flags are kept unless given again). `None` when the run
/// has already finished.
fn open_run(a: &TrainArgs) -> Result<Option<(RunDir, RunLock)>> {
    if let Some(dir) = &a.resume {
        let run = RunDir::at(dir);
        if !run.has_run() {
            bail!(BadInput(format!(
                "--resume {}: no run.json there: is it a directory written by `ffdqn train`?",
                dir.display()
            )));
        }
        let lock = run.lock()?;
        let mut info = run.read_info().map_err(|e| BadInput(format!("{e:#}")))?;
        if run.is_finished() {
            say!(
                "the run in {} has already finished (summary.json exists): nothing to resume",
                dir.display()
            );
            return Ok(None);
        }
        let changed = (a.checkpoint_every.is_some() && a.checkpoint_every != info.checkpoint_every)
            || a.on_divergence
                .is_some_and(|d| OnDivergence::from(d) != info.on_divergence);
        if changed {
            info.checkpoint_every = a.checkpoint_every.or(info.checkpoint_every);
            info.on_divergence = a.on_divergence.map_or(info.on_divergence, Into::into);
            run.write_info(&info)?;
        }
        return Ok(Some((run, lock)));
    }
    let (Some(config), Some(agent), Some(out)) = (&a.config, a.agent, &a.out) else {
        bail!(BadInput(
            "--config, --agent and --out are required unless --resume is given".into()
        ));
    };
    let cfg = Config::load(config)?.for_agent(agent.into(), &a.sets)?;
    check_memory(&cfg, a.max_memory)?;
    prepare_out(out, a.force)?;
    let run = RunDir::at(out);
    // Before anything of the run is written: a second process on this --out stops here.
    let lock = run.lock()?;
    run.start(
        &cfg,
        &RunInfo {
            agent: agent.into(),
            seed: a.seed,
            checkpoint_every: a.checkpoint_every,
            on_divergence: a.on_divergence.map_or(OnDivergence::Stop, Into::into),
            config_source: config.display().to_string(),
            config_sections: Vec::new(),
            code: Some(code()),
        },
    )?;
    Ok(Some((run, lock)))
}

fn train_cmd(a: TrainArgs) -> Result<()> {
    let Some((run, _lock)) = open_run(&a)? else {
        return Ok(());
    };
    let info = run.read_info()?;
    let (kind, seed) = (info.agent, info.seed);
    let out = run.path().to_path_buf();
    if a.resume.is_some() {
        match run.progress() {
            Some((epochs, steps)) => note!(
                "resuming {kind} seed {seed} from its checkpoint at env step {steps} ({epochs} epochs finished)"
            ),
            None => note!(
                "no checkpoint in {} yet: starting {kind} seed {seed} from the beginning",
                out.display()
            ),
        }
    }
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix} [{bar:30}] epoch {pos}/{len} {msg} ({elapsed}, eta {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_prefix(format!("{kind} seed {seed}"));
        bar
    });
    let mut last_checkpoint: Option<u32> = None;
    let signals = StopSignals::install()?;
    let result = run.train_until(
        &code(),
        &mut |ev: EpochEvent<'_>| {
            let m = ev.metrics;
            if ev.checkpointed {
                last_checkpoint = Some(m.epoch);
            }
            match &bar {
                Some(bar) => {
                    bar.set_length(u64::from(ev.epochs));
                    bar.set_position(u64::from(m.epoch));
                    bar.set_message(format!(
                        "· {:.0} steps/s · eval {:.1}",
                        m.env_steps as f64 / m.wall_seconds.max(1e-9),
                        m.eval_return_mean
                    ));
                }
                None => note!("{}", epoch_line(m, ev.epochs)),
            }
        },
        &|| signals.is_requested(),
    );
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let result = match result {
        Ok(Trained::Stopped {
            epochs_done,
            env_steps,
        }) => {
            let (name, stopped) = signals.stopped();
            note!(
                "{name}: {kind} seed {seed} stopped at env step {env_steps}, in epoch {} ({epochs_done} finished); its checkpoint and metrics are in {}; continue with `{} train --resume {}`",
                epochs_done.saturating_add(1),
                out.display(),
                invocation(),
                shell_word(&out.display().to_string())
            );
            return Err(stopped.into());
        }
        Ok(Trained::Finished(summary)) => Ok(*summary),
        Err(e) => Err(e),
    };
    let summary = result.with_context(|| {
        let kept = match last_checkpoint {
            Some(e) => format!(
                "the checkpoint of epoch {e} is kept: continue with `{} train --resume {}`",
                invocation(),
                shell_word(&out.display().to_string())
            ),
            None if run.has_checkpoint() => format!(
                "the last checkpoint in {} is kept: continue with `{} train --resume {}`",
                out.display(),
                invocation(),
                shell_word(&out.display().to_string())
            ),
            None if info.checkpoint_every.is_some() => {
                "no checkpoint was written before it stopped (it stopped before the first --checkpoint-every epoch)".into()
            }
            None => "no checkpoint was written (train with --checkpoint-every K to keep one)".into(),
        };
        format!(
            "training {kind} with seed {seed} stopped; finished epochs are in {}; {kept}",
            run.metrics_path().display()
        )
    })?;
    say!(
        "{kind} seed {seed}: final greedy return {:.1} ± {:.1} over {} episodes; {} env steps in {:.1} s{}; results in {}",
        summary.final_eval.mean,
        summary.final_eval.std,
        summary.final_eval.episodes,
        summary.env_steps,
        summary.wall_seconds,
        if summary.diverged_batches_skipped > 0 {
            format!(
                "; {} diverging minibatches skipped",
                summary.diverged_batches_skipped
            )
        } else {
            String::new()
        },
        out.display()
    );
    Ok(())
}

/// Loads weights and the task to run them on: the one they record, checked against `--env`.
fn load_weights_for(
    path: &Path,
    env: Option<&str>,
    max_episode_steps: Option<u32>,
) -> Result<(agents::io::Weights, agents::config::EnvConfig)> {
    let w = load_weights(path)?;
    if let Some(name) = env {
        let Some(id) = envs::EnvId::from_name(name) else {
            bail!(BadInput(format!(
                "--env {name}: not a task of ffdqn; use one of {}",
                envs::EnvId::ALL.map(envs::EnvId::name).join(", ")
            )));
        };
        if id != w.env {
            bail!(BadInput(format!(
                "{}: these weights were trained on {}, not {id}: their network maps {} observations to {} actions",
                path.display(),
                w.env,
                w.policy.obs_dim(),
                w.policy.n_actions()
            )));
        }
    }
    let env = agents::config::EnvConfig {
        id: w.env,
        max_episode_steps: max_episode_steps
            .unwrap_or_else(|| agents::config::default_max_episode_steps(w.env)),
    };
    Ok((w, env))
}

/// What `--weights` names: a weights file, or a run directory (its weights.json).
struct WeightsArg {
    file: PathBuf,
    /// The run's seed, when a readable run.json sits beside the weights.
    run_seed: Option<u64>,
    /// The run's episode step limit, from its config.toml.
    run_max_steps: Option<u32>,
}

fn weights_arg(path: &Path) -> WeightsArg {
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

fn eval_cmd(a: EvalArgs) -> Result<()> {
    let arg = weights_arg(&a.weights);
    let file = arg.file;
    let max_steps = a.max_episode_steps.or(arg.run_max_steps);
    let (w, env) = load_weights_for(&file, a.env.as_deref(), max_steps)?;
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

fn play_cmd(a: PlayArgs) -> Result<()> {
    use envs::Environment;
    let arg = weights_arg(&a.weights);
    let max_steps = a.max_episode_steps.or(arg.run_max_steps);
    let (w, env_cfg) = load_weights_for(&arg.file, a.env.as_deref(), max_steps)?;
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

fn bench_cmd(a: BenchArgs) -> Result<()> {
    let cfg = Config::load(&a.config)?.with_overrides(&[
        format!("train.epochs={}", a.epochs),
        "train.final-eval-episodes=1".to_string(),
    ])?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use agents::ErrorKind;
    use std::path::PathBuf;

    fn locked() -> agents::Error {
        agents::Error::Locked {
            dir: PathBuf::from("runs/x"),
            pid: Some(7),
        }
    }

    /// The one exit-code table, and every error type's way to it: the same cause gives the
    /// same code whichever command met it and however much context wraps it.
    #[test]
    fn one_exit_code_table_for_every_error() {
        assert_eq!(code_of(ErrorKind::BadInput, None), 2);
        assert_eq!(code_of(ErrorKind::Failure, None), 1);
        assert_eq!(code_of(ErrorKind::Stopped, Some(143)), 143);
        assert_eq!(code_of(ErrorKind::Stopped, None), 130);
        let config = || agents::ConfigError::Invalid {
            file: "f.toml".into(),
            key: "train.gamma".into(),
            value: "2".into(),
            allowed: "[0, 1]".into(),
        };
        let io = || std::io::Error::other("disk full");
        let cases: Vec<(anyhow::Error, u8)> = vec![
            (BadInput("bad flag".into()).into(), 2),
            (Stopped(129).into(), 129),
            (config().into(), 2),
            (agents::Error::Config(config()).into(), 2),
            (locked().into(), 2),
            (
                agents::Error::BadFile {
                    path: "c.bin".into(),
                    problem: "corrupt".into(),
                }
                .into(),
                2,
            ),
            (agents::Error::Mismatch("layout".into()).into(), 2),
            (
                agents::Error::Read {
                    path: "x".into(),
                    source: io(),
                }
                .into(),
                2,
            ),
            (
                agents::Error::Write {
                    path: "x".into(),
                    source: io(),
                }
                .into(),
                1,
            ),
            (
                agents::Error::Diverged {
                    step: 3,
                    layer: Some(1),
                    tensor: agents::Tensor::Weight,
                    index: None,
                    value: f64::NAN,
                }
                .into(),
                1,
            ),
            (
                agents::Error::Interrupted {
                    epochs_done: 1,
                    env_steps: 9,
                }
                .into(),
                130,
            ),
            // A locked run is bad input for `train` and for `experiment task` alike.
            (
                lab::Error::Run {
                    group: "g".into(),
                    seed: 0,
                    source: Box::new(locked()),
                }
                .into(),
                2,
            ),
            (
                lab::Error::Config {
                    group: "g".into(),
                    source: Box::new(config()),
                }
                .into(),
                2,
            ),
            (
                lab::Error::Plan {
                    path: "plan.json".into(),
                    problem: "edited".into(),
                }
                .into(),
                2,
            ),
            (lab::Error::Agents(locked()).into(), 2),
            (lab::Error::Unfinished(vec!["g seed 0".into()]).into(), 1),
            (
                lab::Error::Slurm {
                    command: "sbatch".into(),
                    message: "refused".into(),
                }
                .into(),
                1,
            ),
            (anyhow::anyhow!("anything else"), 1),
        ];
        for (e, code) in cases {
            let shown = format!("{e:#}");
            assert_eq!(exit_code(&e), code, "{shown}");
            let wrapped = e.context("while doing something");
            assert_eq!(exit_code(&wrapped), code, "wrapped: {shown}");
        }
    }
}
