//! `ffdqn experiment`: run an experiment file on local cores or a Slurm cluster, one run of a
//! plan (what an array task executes), or the report of a finished plan.

use crate::exit::BadInput;
use anyhow::{Context, Result, bail};
use clap::{Subcommand, ValueEnum};
use lab::local::Event;
use lab::{Plan, PlanOptions};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, Subcommand)]
pub enum ExperimentCommand {
    /// Expand an experiment file into a plan (OUT/plan.json), run its unfinished runs on a
    /// backend, and write the report (OUT/REPORT.md, CSVs, figures).
    Run(RunArgs),
    /// Run one run of a plan (what a Slurm array task executes).
    Task(TaskArgs),
    /// Write the report of a plan whose runs have finished; names every run that is missing
    /// or failed otherwise (exit 1).
    Report(ReportArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Backend {
    /// Threads on this machine, longest runs first.
    Local,
    /// A Slurm job array per submission, and the report as a dependent job.
    Slurm,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The experiment file (e.g. configs/experiments/paper.toml).
    file: PathBuf,
    /// Output directory (default `results/NAME`, NAME the experiment's); an interrupted experiment resumes
    /// there, skipping finished runs.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Where the runs execute.
    #[arg(long, value_enum, default_value_t = Backend::Local)]
    backend: Backend,
    /// Runs in parallel: threads (local), or array tasks at once (slurm; default unlimited).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    jobs: Option<u32>,
    /// Seeds 0..N for every group instead of the file's.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    seeds: Option<u64>,
    /// A smoke run: the file's `[quick]` settings (few seeds, short runs).
    #[arg(long)]
    quick: bool,
    /// Rerun runs that have already finished.
    #[arg(long)]
    force: bool,
    /// An sbatch option for every job, e.g. --slurm-arg=--partition=cpu (repeatable).
    #[arg(long = "slurm-arg", value_name = "ARG", allow_hyphen_values = true)]
    slurm_args: Vec<String>,
    /// Slurm: wait for the report job and exit with its outcome.
    #[arg(long)]
    wait: bool,
}

#[derive(Debug, clap::Args)]
pub struct TaskArgs {
    /// The experiment's output directory (holding plan.json).
    #[arg(long)]
    out: PathBuf,
    /// The run's index in the plan.
    #[arg(long, required_unless_present = "tasks", conflicts_with = "tasks")]
    index: Option<usize>,
    /// A submission's task list (one plan index per line) ...
    #[arg(long, requires = "task_id")]
    tasks: Option<PathBuf>,
    /// ... and the line of this task.
    #[arg(long)]
    task_id: Option<usize>,
    /// Rerun the run even if it has finished.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// The experiment's output directory (holding plan.json).
    #[arg(long)]
    out: PathBuf,
}

pub fn run(cmd: ExperimentCommand) -> Result<()> {
    match cmd {
        ExperimentCommand::Run(a) => run_cmd(a),
        ExperimentCommand::Task(a) => task_cmd(a),
        ExperimentCommand::Report(a) => report_cmd(a),
    }
}

fn read_plan(out: &Path) -> Result<Plan> {
    Plan::read(&lab::ExperimentDir::at(out).plan()).map_err(|e| match e {
        lab::Error::Read { path, source } => BadInput(format!(
            "cannot read {} ({source}): is --out the output directory of `ffdqn experiment run`?",
            path.display()
        ))
        .into(),
        e => e.into(),
    })
}

/// The command line as the user can type it again.
fn command_line() -> String {
    let mut shown = vec![crate::program::invocation()];
    shown.extend(
        std::env::args()
            .skip(1)
            .map(|a| crate::program::shell_word(&a)),
    );
    shown.join(" ")
}

fn run_cmd(a: RunArgs) -> Result<()> {
    let started = Instant::now();
    let plan = Plan::from_file(
        &a.file,
        &PlanOptions {
            quick: a.quick,
            seeds: a.seeds,
        },
    )?;
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("results").join(&plan.name));
    std::fs::create_dir_all(&out)
        .map_err(|e| BadInput(format!("cannot create --out {}: {e}", out.display())))?;
    plan.write(&out)?;
    match a.backend {
        Backend::Local => run_local(&plan, &out, &a, started),
        Backend::Slurm => run_slurm(&plan, &out, &a),
    }
}

/// One line on stderr per event of the local backend.
fn show_event(plan: &Plan, t0: Instant, e: Event) {
    match e {
        Event::Planned {
            todo,
            skipped,
            jobs,
        } => note!(
            "{}: {} runs ({} groups × {} seeds): {} to run on {jobs} threads, longest expected first; {skipped} already done (skipped; --force reruns){}",
            plan.name,
            plan.runs.len(),
            plan.groups.len(),
            plan.seeds.len(),
            todo.len(),
            match plan.peer_runs() {
                0 => String::new(),
                n => format!("; {n} of peer groups, which ffdqn does not run"),
            }
        ),
        Event::Finished {
            index,
            final_return,
            env_steps,
            seconds,
            done,
            total,
        } => {
            let elapsed = t0.elapsed().as_secs_f64();
            let eta = elapsed / done as f64 * (total - done) as f64;
            note!(
                "[{done}/{total}] {}: final greedy return {final_return:.1}, {env_steps} env steps in {seconds:.1} s (eta {eta:.0} s)",
                plan.describe(index)
            );
        }
        Event::Failed {
            index,
            error,
            done,
            total,
        } => note!("[{done}/{total}] {}: FAILED: {error}", plan.describe(index)),
    }
}

fn run_local(plan: &Plan, out: &Path, a: &RunArgs, started: Instant) -> Result<()> {
    let jobs = a.jobs.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        |j| j as usize,
    );
    let t0 = Instant::now();
    let on_event = |e: Event| show_event(plan, t0, e);
    let signals = crate::signals::StopSignals::install()?;
    let stop = || signals.is_requested();
    let outcome = lab::local::run(
        plan,
        out,
        jobs,
        a.force,
        &crate::program::code(),
        &on_event,
        &stop,
    )?;
    if signals.is_requested() {
        let (name, stopped) = signals.stopped();
        note!(
            "{name}: {} run(s) stopped with a checkpoint, {} finished; run `{}` again to continue them",
            outcome.stopped.len(),
            outcome.ran + outcome.skipped,
            command_line()
        );
        return Err(stopped.into());
    }
    if !outcome.failed.is_empty() {
        let names: Vec<String> = outcome
            .failed
            .iter()
            .map(|(i, e)| format!("{}: {e}", plan.describe(*i)))
            .collect();
        bail!(
            "{} run(s) failed (finished runs are kept; run the same command again to resume):\n  {}",
            names.len(),
            names.join("\n  ")
        );
    }
    if outcome.ran > 0 {
        note!(
            "runs: {:.1} s wall on {} threads for {:.1} s of runs (longest {:.1} s); ideal max(total / threads, longest) = {:.1} s",
            outcome.seconds,
            outcome.threads,
            outcome.run_seconds,
            outcome.longest,
            (outcome.run_seconds / outcome.threads as f64).max(outcome.longest)
        );
    }
    let ctx = lab::report::ReportContext {
        command: command_line(),
        code: crate::program::code(),
        wall: started.elapsed().as_secs_f64(),
        skipped: outcome.skipped,
    };
    lab::report::build(plan, out, &ctx)?;
    note!(
        "done in {:.0} s: {}",
        started.elapsed().as_secs_f64(),
        lab::ExperimentDir::at(out).report().display()
    );
    Ok(())
}

fn run_slurm(plan: &Plan, out: &Path, a: &RunArgs) -> Result<()> {
    let ffdqn = std::env::current_exe().context("cannot find the ffdqn binary's own path")?;
    let opts = lab::slurm::SlurmOptions {
        ffdqn,
        sbatch_args: a.slurm_args.clone(),
        max_parallel: a.jobs.map(|j| j as usize),
        force: a.force,
    };
    let sub = lab::slurm::submit(plan, out, &opts)?;
    let arrays: Vec<String> = sub.arrays.iter().map(u64::to_string).collect();
    say!(
        "submitted {} run(s) ({} already done) as job array(s) [{}], report job {}; logs in {}",
        sub.tasks.len(),
        sub.skipped,
        arrays.join(", "),
        sub.report,
        sub.logs.display()
    );
    if !a.wait {
        say!(
            "when the report job has run: {} (rerun this command to resubmit runs that failed)",
            lab::ExperimentDir::at(out).report().display()
        );
        return Ok(());
    }
    let end = lab::slurm::wait(sub.report, Duration::from_millis(500), None)?;
    let log = lab::ExperimentDir::at(out).report_log(sub.report);
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    if end.state != "COMPLETED" {
        bail!(
            "the report job {} ended {} (exit {}): {}\nrerun the same command to resubmit the runs that did not finish",
            sub.report,
            end.state,
            end.exit_code,
            log_text.trim()
        );
    }
    say!(
        "report written: {}",
        lab::ExperimentDir::at(out).report().display()
    );
    Ok(())
}

fn task_cmd(a: TaskArgs) -> Result<()> {
    let plan = read_plan(&a.out)?;
    let index = match (a.index, &a.tasks, a.task_id) {
        (Some(i), _, _) => i,
        (None, Some(list), Some(id)) => lab::slurm::task_index(list, id)?,
        _ => bail!(BadInput(
            "give --index I, or --tasks FILE --task-id N".into()
        )),
    };
    if index >= plan.runs.len() {
        bail!(BadInput(format!(
            "--index {index}: the plan has runs 0..{}",
            plan.runs.len()
        )));
    }
    if plan.is_peer_run(index) {
        bail!(BadInput(format!(
            "--index {index}: {} is a peer group's run, which ffdqn does not train; its command is `{}`",
            plan.describe(index),
            plan.groups[plan.runs[index].group]
                .peer
                .as_deref()
                .unwrap_or_default()
        )));
    }
    let signals = crate::signals::StopSignals::install()?;
    let stop = || signals.is_requested();
    match lab::runner::run_task(
        &plan,
        &a.out,
        index,
        a.force,
        &crate::program::code(),
        &stop,
    )? {
        lab::runner::TaskOutcome::Stopped { env_steps } => {
            let (name, stopped) = signals.stopped();
            note!(
                "{name}: {} stopped at env step {env_steps} with a checkpoint; running this task again continues it",
                plan.describe(index)
            );
            return Err(stopped.into());
        }
        lab::runner::TaskOutcome::AlreadyDone => {
            say!("{}: already finished", plan.describe(index))
        }
        lab::runner::TaskOutcome::Finished(s) => say!(
            "{}: final greedy return {:.1} ± {:.1}, {} env steps in {:.1} s",
            plan.describe(index),
            s.final_eval.mean,
            s.final_eval.std,
            s.env_steps,
            s.wall_seconds
        ),
    }
    Ok(())
}

fn report_cmd(a: ReportArgs) -> Result<()> {
    let started = Instant::now();
    let plan = read_plan(&a.out)?;
    let ctx = lab::report::ReportContext {
        command: command_line(),
        code: crate::program::code(),
        wall: 0.0,
        skipped: plan.runs.len(),
    };
    lab::report::build(&plan, &a.out, &ctx)?;
    say!(
        "report written in {:.1} s: {}",
        started.elapsed().as_secs_f64(),
        lab::ExperimentDir::at(&a.out).report().display()
    );
    Ok(())
}
