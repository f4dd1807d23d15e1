//! The Slurm backend: the plan's unfinished runs as job arrays, and the report as a job that
//! depends on them.
//!
//! [`submit`] writes into `OUT/slurm/`:
//! * `tasks-<stamp>.txt`: the plan indices of the runs to do, one per line;
//! * `array-<stamp>-<k>.sbatch`: a job array whose task `i` runs
//!   `ffdqn experiment task --out OUT --tasks tasks-<stamp>.txt --task-id <offset + i>` (arrays
//!   are split at the cluster's `MaxArraySize`);
//! * `report-<stamp>.sbatch`: `ffdqn experiment report --out OUT`, submitted with
//!   `--dependency=afterany:<arrays>` so that it runs when every task has ended, however it
//!   ended, and names every run that is missing or failed.
//!
//! Each task writes its run directory atomically into the shared output directory and nothing
//! else (see [`crate::runner`]); submitting again after failures submits only the runs that
//! have not finished. Job states are read from `scontrol -o show job`, which needs no
//! accounting database.

use crate::error::{Error, Result, read_err, write_err};
use crate::plan::Plan;
use crate::runner::is_done;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// How to submit.
#[derive(Debug, Clone, Default)]
pub struct SlurmOptions {
    /// The `ffdqn` binary the jobs run (on a shared filesystem, the same path on every node).
    pub ffdqn: PathBuf,
    /// Extra `sbatch` options for every job (`--partition=…`, `--account=…`, `--time=…`,
    /// `--mem=…`), written as `#SBATCH` lines.
    pub sbatch_args: Vec<String>,
    /// At most this many array tasks at once (`--array=…%K`).
    pub max_parallel: Option<usize>,
    /// Rerun runs that have finished.
    pub force: bool,
}

/// What was submitted.
#[derive(Debug, Clone)]
pub struct Submission {
    /// Plan indices of the runs submitted.
    pub tasks: Vec<usize>,
    /// Runs that had already finished (not submitted).
    pub skipped: usize,
    /// Job ids of the arrays (none when every run had finished).
    pub arrays: Vec<u64>,
    /// Job id of the report job.
    pub report: u64,
    /// Where the jobs' logs go.
    pub logs: PathBuf,
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn run_command(cmd: &mut Command) -> Result<String> {
    let line = format!("{cmd:?}");
    let out = cmd.output().map_err(|e| Error::Slurm {
        command: line.clone(),
        message: format!(
            "cannot start it ({e}): is Slurm's client (sbatch, scontrol) installed and on PATH?"
        ),
    })?;
    if !out.status.success() {
        return Err(Error::Slurm {
            command: line,
            message: format!(
                "{} ({})",
                String::from_utf8_lossy(&out.stderr).trim(),
                out.status
            ),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `sbatch --parsable [extra] script` → the job id.
fn sbatch(script: &Path, extra: &[String]) -> Result<u64> {
    let mut cmd = Command::new("sbatch");
    cmd.arg("--parsable").args(extra).arg(script);
    let line = format!("{cmd:?}");
    let text = run_command(&mut cmd)?;
    // `--parsable` prints `id` or `id;cluster`.
    text.split(';')
        .next()
        .and_then(|id| id.trim().parse().ok())
        .ok_or_else(|| Error::Slurm {
            command: line,
            message: format!("expected a job id, got {text:?}"),
        })
}

/// The cluster's `MaxArraySize` (array task ids must be below it); 1001 if not reported.
fn max_array_size() -> usize {
    run_command(Command::new("scontrol").args(["show", "config"]))
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.trim_start().starts_with("MaxArraySize"))
                .and_then(|l| l.split('=').nth(1))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(1001)
}

fn header(name: &str, log: &Path, opts: &SlurmOptions) -> String {
    let mut s = String::from("#!/bin/bash\n");
    s.push_str(&format!("#SBATCH --job-name={name}\n"));
    s.push_str(&format!("#SBATCH --output={}\n", log.display()));
    for a in &opts.sbatch_args {
        s.push_str(&format!("#SBATCH {a}\n"));
    }
    s
}

/// Submits the plan's unfinished runs (every run, with `force`) as job arrays and the report
/// as a job that depends on them. The plan must already be written into `out`.
pub fn submit(plan: &Plan, out: &Path, opts: &SlurmOptions) -> Result<Submission> {
    let out = std::path::absolute(out).map_err(read_err(out))?;
    let mut tasks = Vec::new();
    for i in 0..plan.runs.len() {
        if !plan.is_peer_run(i) && (opts.force || !is_done(plan, &out, i)?) {
            tasks.push(i);
        }
    }
    let skipped = plan.runs.len() - tasks.len() - plan.peer_runs();
    let dir = crate::ExperimentDir::at(&out);
    let logs = dir.slurm_logs();
    std::fs::create_dir_all(&logs).map_err(write_err(&logs))?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let ffdqn = quote(&opts.ffdqn.display().to_string());
    let out_q = quote(&out.display().to_string());
    let mut arrays = Vec::new();
    if !tasks.is_empty() {
        let list = dir.task_list(stamp);
        let text: String = tasks.iter().map(|i| format!("{i}\n")).collect();
        crate::write_file(&list, text.as_bytes())?;
        let chunk = max_array_size().saturating_sub(1).max(1);
        for (k, part) in tasks.chunks(chunk).enumerate() {
            let offset = k * chunk;
            let mut s = header(
                &format!("ffdqn-{}", plan.name),
                &dir.task_log_pattern(),
                opts,
            );
            let limit = opts.max_parallel.map_or(String::new(), |m| format!("%{m}"));
            s.push_str(&format!("#SBATCH --array=0-{}{limit}\n", part.len() - 1));
            s.push_str("set -euo pipefail\n");
            s.push_str(&format!(
                "exec {ffdqn} experiment task --out {out_q} --tasks {} --task-id $(( {offset} + SLURM_ARRAY_TASK_ID )){}\n",
                quote(&list.display().to_string()),
                if opts.force { " --force" } else { "" }
            ));
            let script = dir.array_script(stamp, k);
            crate::write_file(&script, s.as_bytes())?;
            arrays.push(sbatch(&script, &[])?);
        }
    }
    let mut s = header(
        &format!("ffdqn-{}-report", plan.name),
        &dir.report_log_pattern(),
        opts,
    );
    s.push_str("set -euo pipefail\n");
    s.push_str(&format!("exec {ffdqn} experiment report --out {out_q}\n"));
    let script = dir.report_script(stamp);
    crate::write_file(&script, s.as_bytes())?;
    let mut extra = Vec::new();
    if !arrays.is_empty() {
        let ids: Vec<String> = arrays.iter().map(u64::to_string).collect();
        extra.push(format!("--dependency=afterany:{}", ids.join(":")));
        extra.push("--kill-on-invalid-dep=yes".into());
    }
    let report = sbatch(&script, &extra)?;
    Ok(Submission {
        tasks,
        skipped,
        arrays,
        report,
        logs,
    })
}

/// The plan index of task `task_id` of a submission's task list.
pub fn task_index(list: &Path, task_id: usize) -> Result<usize> {
    let bytes = agents::fs::read_regular(list, 1 << 30).map_err(read_err(list))?;
    let text = String::from_utf8_lossy(&bytes);
    let bad = |problem: String| Error::Plan {
        path: list.to_path_buf(),
        problem,
    };
    let line = text.lines().nth(task_id).ok_or_else(|| {
        bad(format!(
            "no task {task_id}: the list has {} lines",
            text.lines().count()
        ))
    })?;
    line.trim().parse().map_err(|_| {
        bad(format!(
            "task {task_id} is {line:?}, not a plan index: the list is written by `ffdqn experiment run --backend slurm`"
        ))
    })
}

/// How a job ended, from `scontrol -o show job`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobEnd {
    /// `COMPLETED`, `FAILED`, `CANCELLED`, `TIMEOUT`, …
    pub state: String,
    /// `ExitCode=` as Slurm reports it (`code:signal`).
    pub exit_code: String,
}

const ENDED: [&str; 10] = [
    "COMPLETED",
    "FAILED",
    "CANCELLED",
    "TIMEOUT",
    "NODE_FAIL",
    "OUT_OF_MEMORY",
    "PREEMPTED",
    "DEADLINE",
    "BOOT_FAIL",
    "REVOKED",
];

fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
}

/// Polls `scontrol -o show job JOB` every `every` until the job has ended (`sbatch --wait`
/// polls at growing intervals of up to half a minute).
pub fn wait(job: u64, every: Duration, timeout: Option<Duration>) -> Result<JobEnd> {
    let started = Instant::now();
    loop {
        let text =
            run_command(Command::new("scontrol").args(["-o", "show", "job", &job.to_string()]))?;
        if let Some(line) = text.lines().next() {
            let state = field(line, "JobState").unwrap_or("UNKNOWN");
            if ENDED.contains(&state) {
                return Ok(JobEnd {
                    state: state.to_string(),
                    exit_code: field(line, "ExitCode").unwrap_or("?").to_string(),
                });
            }
        }
        if timeout.is_some_and(|t| started.elapsed() > t) {
            return Err(Error::Slurm {
                command: format!("scontrol -o show job {job}"),
                message: format!(
                    "still not finished after {:.0} s",
                    started.elapsed().as_secs_f64()
                ),
            });
        }
        std::thread::sleep(every);
    }
}
