//! One run of a plan, written atomically into the output directory.
//!
//! A run trains in a sibling directory (`runs/<group>/.seed-<n>.partial`, locked while a
//! process trains it) and is renamed to `runs/<group>/seed-<n>` only once its summary is
//! written, so the final directory exists exactly when the run finished, whether it ran on a
//! local core or on a cluster node sharing the filesystem. A run asked to stop (a signal, a
//! Slurm time limit's SIGTERM) leaves a checkpoint in its partial directory, and the next
//! invocation continues it from there, bit-identically. A failed run leaves
//! `failures/<group>.seed-<n>.txt` with its error, for the report to name; a finished one
//! removes it.

use crate::error::{Error, Result, write_err};
use crate::plan::{Plan, RunPlan};
use agents::{OnDivergence, Provenance, RunDir, RunInfo, Summary};
use std::path::{Path, PathBuf};

/// What [`run_task`] did.
#[derive(Debug, Clone)]
pub enum TaskOutcome {
    /// The run had already finished with the plan's config: nothing was done.
    AlreadyDone,
    /// The run was trained.
    Finished(Box<Summary>),
    /// The run was asked to stop; its checkpoint is in its partial directory.
    Stopped {
        /// Environment steps taken so far.
        env_steps: u64,
    },
}

/// Where run `index` trains until it has finished: beside its final directory.
pub fn partial_path(plan: &Plan, out: &Path, index: usize) -> PathBuf {
    plan.partial_path(out, index)
}

/// Whether `dir` was started for run `index` of `plan`: its agent, seed and config.
fn holds_run(plan: &Plan, index: usize, dir: &RunDir) -> Result<bool> {
    let r = plan.runs[index];
    let info = dir.read_info()?;
    let agent = plan.groups[r.group].agent;
    // Compared as the agent reads them: config.toml holds the agent's sections only.
    Ok(info.agent == agent
        && info.seed == r.seed
        && dir.read_config()?.to_toml_for(agent) == plan.config(r.group)?.to_toml_for(agent))
}

/// The error a failed run left, if any.
pub fn failure_of(plan: &Plan, out: &Path, index: usize) -> Option<String> {
    std::fs::read_to_string(plan.failure_path(out, index)).ok()
}

/// Whether run `index` has finished under `out` — with the plan's config and seed; a finished
/// run made from another config is an error (reusing it would mix two experiments).
pub fn is_done(plan: &Plan, out: &Path, index: usize) -> Result<bool> {
    let dir = RunDir::at(plan.run_path(out, index));
    if !dir.is_finished() {
        return Ok(false);
    }
    if !holds_run(plan, index, &dir)? {
        return Err(Error::Plan {
            path: dir.path().to_path_buf(),
            problem: format!(
                "this finished run was made with another agent, seed or config than the plan's {} (changed experiment file?): pass --force to rerun it, or choose another --out",
                plan.describe(index)
            ),
        });
    }
    Ok(true)
}

/// Trains run `index` of `plan` into `out` (unless it has finished; with `force` it is run
/// again and replaces the old one), continuing from the checkpoint of a stopped attempt if
/// there is one. `stop` is asked before every step: when it says yes the run is checkpointed
/// and left to be continued. `code` is the binary that trains it, recorded in the run.
pub fn run_task(
    plan: &Plan,
    out: &Path,
    index: usize,
    force: bool,
    code: &Provenance,
    stop: &dyn Fn() -> bool,
) -> Result<TaskOutcome> {
    if index >= plan.runs.len() {
        return Err(Error::Plan {
            path: crate::ExperimentDir::at(out).plan(),
            problem: format!(
                "there is no run {index}: the plan has runs 0..{}",
                plan.runs.len()
            ),
        });
    }
    if !force && is_done(plan, out, index)? {
        return Ok(TaskOutcome::AlreadyDone);
    }
    let r = plan.runs[index];
    let group = &plan.groups[r.group];
    let final_path = plan.run_path(out, index);
    let partial = partial_path(plan, out, index);
    let run_err = |e: agents::Error| Error::Run {
        group: group.name.clone(),
        seed: r.seed,
        source: Box::new(e),
    };
    let result = (|| -> Result<TaskOutcome> {
        let cfg = plan.config(r.group)?;
        let info = RunInfo {
            agent: group.agent,
            seed: r.seed,
            checkpoint_every: None,
            on_divergence: OnDivergence::Stop,
            config_source: group.config_file.clone(),
            config_sections: Vec::new(),
            code: Some(code.clone()),
        };
        std::fs::create_dir_all(&partial).map_err(write_err(&partial))?;
        let dir = RunDir::at(&partial);
        // One process per run: another that trains it holds this lock.
        let _lock = dir.lock().map_err(run_err)?;
        // A stopped attempt of this very run is continued; anything else is started afresh.
        if force || !holds_run(plan, index, &dir).unwrap_or(false) {
            dir.start(&cfg, &info).map_err(run_err)?;
        }
        match agents::run::train(&dir, code, &mut |_| {}, stop).map_err(run_err)? {
            agents::Trained::Stopped { env_steps, .. } => Ok(TaskOutcome::Stopped { env_steps }),
            agents::Trained::Finished(summary) => {
                if final_path.exists() {
                    std::fs::remove_dir_all(&final_path).map_err(write_err(&final_path))?;
                }
                std::fs::rename(&partial, &final_path).map_err(write_err(&final_path))?;
                Ok(TaskOutcome::Finished(summary))
            }
        }
    })();
    let failure = plan.failure_path(out, index);
    match result {
        Ok(outcome) => {
            let _ = std::fs::remove_file(&failure);
            Ok(outcome)
        }
        // Another process training this run is not a failure of the run.
        Err(e) if is_locked(&e) => Err(e),
        Err(e) => {
            if let Some(dir) = failure.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let _ = crate::write_file(
                &failure,
                format!("{}\n", crate::error::chain(&e)).as_bytes(),
            );
            Err(e)
        }
    }
}

/// Whether `e` says another process holds the run's lock.
fn is_locked(e: &Error) -> bool {
    matches!(e, Error::Run { source, .. } if matches!(**source, agents::Error::Locked { .. }))
}

/// The plan whose report can be written now: a peer group keeps the runs found finished
/// (a peer is often run on fewer seeds than ffdqn: it is slower) and is left out, with its
/// comparisons, when none are; each peer group short of runs is named in a note that says
/// which seeds were found and the command that writes the rest.
pub fn with_finished_peers(plan: &Plan, out: &Path) -> Result<(Plan, Vec<String>)> {
    let mut missing = std::collections::HashSet::new();
    let mut notes = Vec::new();
    for (g, group) in plan.groups.iter().enumerate() {
        let Some(command) = &group.peer else { continue };
        let (mut found, mut foreign, mut n) = (Vec::new(), 0, 0);
        for i in plan.runs_of(g) {
            n += 1;
            match is_done(plan, out, i) {
                Ok(true) => found.push(plan.runs[i].seed),
                Ok(false) => {
                    missing.insert(i);
                }
                // Finished under another config (a --quick plan, an edited preset).
                Err(_) => {
                    missing.insert(i);
                    foreign += 1;
                }
            }
        }
        if found.len() == n {
            continue;
        }
        let other = if foreign > 0 {
            format!(" ({foreign} more made from another config)")
        } else {
            String::new()
        };
        notes.push(if found.is_empty() {
            format!(
                "peer group `{}` left out: 0 of its {n} runs found{other}; `{command}` writes them",
                group.name
            )
        } else {
            format!(
                "peer group `{}`: {} of its {n} runs found (seeds {}){other}, and its statistics are over those; `{command}` writes the rest",
                group.name,
                found.len(),
                found
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        });
    }
    if missing.is_empty() {
        return Ok((plan.clone(), notes));
    }
    // Runs are listed group by group, so the groups that keep a run keep their order.
    let mut kept_plan = plan.clone();
    let mut new_index = vec![None; plan.groups.len()];
    kept_plan.groups.clear();
    kept_plan.runs.clear();
    for (i, r) in plan.runs.iter().enumerate() {
        if missing.contains(&i) {
            continue;
        }
        let group = *new_index[r.group].get_or_insert_with(|| {
            kept_plan.groups.push(plan.groups[r.group].clone());
            kept_plan.groups.len() - 1
        });
        kept_plan.runs.push(RunPlan {
            group,
            seed: r.seed,
        });
    }
    let kept: std::collections::HashSet<&str> =
        kept_plan.groups.iter().map(|g| g.name.as_str()).collect();
    kept_plan
        .compares
        .retain(|c| kept.contains(c.x.as_str()) && kept.contains(c.y.as_str()));
    Ok((kept_plan, notes))
}
