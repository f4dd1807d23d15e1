//! `ffdqn train`: one run, new (`--config`, `--agent`, `--out`) or resumed (`--resume`).

use crate::exit::BadInput;
use crate::program::{code, invocation, shell_word};
use crate::signals::StopSignals;
use agents::run::EpochEvent;
use agents::{AgentKind, Config, EpochMetrics, OnDivergence, RunDir, RunInfo, RunLock, Trained};
use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// TOML config (e.g. configs/paper.toml). Required unless --resume.
    #[arg(long, required_unless_present = "resume")]
    config: Option<PathBuf>,
    /// Override a config key, as in the file: `--set ff.margin=0.5`,
    /// `--set network.hidden=[256,256]`, `--set train.target-sync.kind=polyak` (repeatable;
    /// validated exactly like the file).
    #[arg(long = "set", value_name = "KEY=VALUE", conflicts_with = "resume")]
    sets: Vec<String>,
    /// Which agent to train. Required unless --resume.
    #[arg(long, value_parser = crate::args::agent(), required_unless_present = "resume")]
    agent: Option<AgentKind>,
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
    #[arg(long, value_parser = crate::args::on_divergence())]
    on_divergence: Option<OnDivergence>,
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
            || a.on_divergence.is_some_and(|d| d != info.on_divergence);
        if changed {
            info.checkpoint_every = a.checkpoint_every.or(info.checkpoint_every);
            info.on_divergence = a.on_divergence.unwrap_or(info.on_divergence);
            run.write_info(&info)?;
        }
        return Ok(Some((run, lock)));
    }
    let (Some(config), Some(agent), Some(out)) = (&a.config, a.agent, &a.out) else {
        bail!(BadInput(
            "--config, --agent and --out are required unless --resume is given".into()
        ));
    };
    let cfg = Config::load(config)?.for_agent(agent, &a.sets)?;
    check_memory(&cfg, a.max_memory)?;
    prepare_out(out, a.force)?;
    let run = RunDir::at(out);
    // Before anything of the run is written: a second process on this --out stops here.
    let lock = run.lock()?;
    run.start(
        &cfg,
        &RunInfo {
            agent,
            seed: a.seed,
            checkpoint_every: a.checkpoint_every,
            on_divergence: a.on_divergence.unwrap_or_default(),
            config_source: config.display().to_string(),
            config_sections: Vec::new(),
            code: Some(code()),
        },
    )?;
    Ok(Some((run, lock)))
}

/// The progress bar on a terminal (`None` when stderr is not one: plain epoch lines then).
fn progress_bar(kind: AgentKind, seed: u64) -> Option<ProgressBar> {
    std::io::stderr().is_terminal().then(|| {
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
    })
}

/// Shows one finished epoch: on the bar, or as a line.
fn show_epoch(bar: Option<&ProgressBar>, ev: &EpochEvent<'_>) {
    let m = ev.metrics;
    match bar {
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
}

/// `train --resume DIR` as the user can type it.
fn resume_command(out: &Path) -> String {
    format!(
        "{} train --resume {}",
        invocation(),
        shell_word(&out.display().to_string())
    )
}

/// What a failed run kept, and the command that continues it.
fn kept_after_failure(run: &RunDir, info: &RunInfo, last_checkpoint: Option<u32>) -> String {
    let out = run.path();
    match last_checkpoint {
        Some(e) => format!(
            "the checkpoint of epoch {e} is kept: continue with `{}`",
            resume_command(out)
        ),
        None if run.has_checkpoint() => format!(
            "the last checkpoint in {} is kept: continue with `{}`",
            out.display(),
            resume_command(out)
        ),
        None if info.checkpoint_every.is_some() => {
            "no checkpoint was written before it stopped (it stopped before the first --checkpoint-every epoch)".into()
        }
        None => "no checkpoint was written (train with --checkpoint-every K to keep one)".into(),
    }
}

pub fn run(a: TrainArgs) -> Result<()> {
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
    let bar = progress_bar(kind, seed);
    let mut last_checkpoint: Option<u32> = None;
    let signals = StopSignals::install()?;
    let result = agents::run::train(
        &run,
        &code(),
        &mut |ev: EpochEvent<'_>| {
            if ev.checkpointed {
                last_checkpoint = Some(ev.metrics.epoch);
            }
            show_epoch(bar.as_ref(), &ev);
        },
        &|| signals.is_requested(),
    );
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let summary = match result {
        Ok(Trained::Stopped {
            epochs_done,
            env_steps,
        }) => {
            let (name, stopped) = signals.stopped();
            note!(
                "{name}: {kind} seed {seed} stopped at env step {env_steps}, in epoch {} ({epochs_done} finished); its checkpoint and metrics are in {}; continue with `{}`",
                epochs_done.saturating_add(1),
                out.display(),
                resume_command(&out)
            );
            return Err(stopped.into());
        }
        Ok(Trained::Finished(summary)) => *summary,
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!(
                "training {kind} with seed {seed} stopped; finished epochs are in {}; {}",
                run.metrics_path().display(),
                kept_after_failure(&run, &info, last_checkpoint)
            )));
        }
    };
    let skipped = if summary.diverged_batches_skipped > 0 {
        format!(
            "; {} diverging minibatches skipped",
            summary.diverged_batches_skipped
        )
    } else {
        String::new()
    };
    say!(
        "{kind} seed {seed}: final greedy return {:.1} ± {:.1} over {} episodes; {} env steps in {:.1} s{skipped}; results in {}",
        summary.final_eval.mean,
        summary.final_eval.std,
        summary.final_eval.episodes,
        summary.env_steps,
        summary.wall_seconds,
        out.display()
    );
    Ok(())
}
