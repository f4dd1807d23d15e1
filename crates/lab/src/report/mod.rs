//! The report of a finished plan, from the run directories alone (read through
//! [`agents::RunDir`]): the runs are loaded (`load_all`), measured into typed data
//! (`measure`: each group's statistics, P(X > Y)), then rendered in separate places: the CSVs
//! (`csv`), the figures (`figures`) and REPORT.md (`markdown`, with each study's section; the
//! paper-claims study in `claims`).

mod claims;
mod csv;
mod figures;
mod markdown;
mod measure;

use crate::error::{Error, Result};
use crate::plan::{Plan, Study};
use crate::stats;
use crate::write_file;
use agents::{AgentKind, Config, RunDir};
use std::path::Path;

/// A group as the report sees it: the plan's entry with its config parsed.
pub struct Group {
    /// Directory-safe name.
    pub name: String,
    /// Label for tables and figures.
    pub label: String,
    /// Which agent.
    pub agent: AgentKind,
    /// The config file as the experiment names it.
    pub config_file: String,
    /// The resolved config.
    pub config: Config,
}

/// What the report needs of one run.
pub struct RunData {
    /// The seed.
    pub seed: u64,
    /// Training return per epoch.
    pub train: Vec<f64>,
    /// Greedy evaluation return per epoch.
    pub eval: Vec<f64>,
    /// Environment steps at the end of each epoch.
    pub env_steps: Vec<f64>,
    /// Mean TD loss per epoch.
    pub td_loss: Vec<f64>,
    /// Per hidden layer, per epoch.
    pub g_pos: Vec<Vec<f64>>,
    /// Per hidden layer, per epoch.
    pub g_neg: Vec<Vec<f64>>,
    /// Mean final greedy return.
    pub final_mean: f64,
    /// Its standard deviation.
    pub final_std: f64,
    /// Wall time.
    pub wall: f64,
    /// The code that trained it (`None` for runs written before it was recorded).
    pub code: Option<agents::Provenance>,
}

impl RunData {
    fn epochs_to_threshold(&self, threshold: f64) -> Option<usize> {
        stats::first_epoch_reaching(&self.train, 10, threshold)
    }

    fn last20_std(&self) -> f64 {
        let n = self.train.len();
        stats::std(&self.train[n.saturating_sub(20)..])
    }
}

fn load_run(dir: &RunDir, seed: u64, n_hidden: usize) -> agents::Result<RunData> {
    let summary = dir.read_summary()?;
    let epochs = dir.read_metrics()?;
    let col = |f: fn(&agents::EpochMetrics) -> f64| epochs.iter().map(f).collect::<Vec<f64>>();
    let layer = |k: usize, f: fn(&agents::stats::FfLayerEpoch) -> f64| {
        epochs
            .iter()
            .map(|m| m.ff.layers.get(k).map_or(f64::NAN, f))
            .collect::<Vec<f64>>()
    };
    Ok(RunData {
        seed,
        train: col(|m| m.train_return_mean),
        eval: col(|m| m.eval_return_mean),
        env_steps: col(|m| m.env_steps as f64),
        td_loss: col(|m| m.td_loss),
        g_pos: (0..n_hidden).map(|k| layer(k, |l| l.mean_g_pos)).collect(),
        g_neg: (0..n_hidden).map(|k| layer(k, |l| l.mean_g_neg)).collect(),
        final_mean: summary.final_eval.mean,
        final_std: summary.final_eval.std,
        wall: summary.wall_seconds,
        code: summary.code,
    })
}

/// The runs of the plan that have not finished, each named with the error it left, if any.
pub fn unfinished(plan: &Plan, out: &Path) -> Result<Vec<String>> {
    let mut missing = Vec::new();
    for i in 0..plan.runs.len() {
        if !crate::runner::is_done(plan, out, i)? {
            missing.push(match crate::runner::failure_of(plan, out, i) {
                Some(e) => format!("{}: failed: {}", plan.describe(i), e.trim()),
                None => format!(
                    "{}: missing (never ran, or was killed before it finished)",
                    plan.describe(i)
                ),
            });
        }
    }
    Ok(missing)
}

/// The groups of a plan with their configs parsed.
fn groups(plan: &Plan) -> Result<Vec<Group>> {
    plan.groups
        .iter()
        .enumerate()
        .map(|(g, gp)| {
            Ok(Group {
                name: gp.name.clone(),
                label: gp.label.clone(),
                agent: gp.agent,
                config_file: gp.config_file.clone(),
                config: plan.config(g)?,
            })
        })
        .collect()
}

/// Every run of every group, from its run directory.
fn load_all(plan: &Plan, out: &Path, groups: &[Group]) -> Result<Vec<Vec<RunData>>> {
    groups
        .iter()
        .enumerate()
        .map(|(g, group)| {
            plan.runs_of(g)
                .map(|i| {
                    let seed = plan.runs[i].seed;
                    load_run(
                        &RunDir::at(plan.run_path(out, i)),
                        seed,
                        group.config.hidden().len(),
                    )
                    .map_err(|e| Error::Run {
                        group: group.name.clone(),
                        seed,
                        source: Box::new(e),
                    })
                })
                .collect()
        })
        .collect()
}

/// How the report was produced, for its set-up section.
#[derive(Debug, Clone)]
pub struct ReportContext {
    /// The command line that ran the experiment.
    pub command: String,
    /// The binary that writes the report.
    pub code: agents::Provenance,
    /// Wall time of the invocation, seconds.
    pub wall: f64,
    /// Runs reused from an earlier invocation.
    pub skipped: usize,
}

/// Everything the report of a finished plan needs, written into `out`: the memory study (if
/// the plan includes it), `all_epochs.csv`, `runs.csv`, the figures and `REPORT.md`. Refuses
/// with [`Error::Unfinished`] naming every run that is missing or failed.
pub fn build(plan: &Plan, out: &Path, ctx: &ReportContext) -> Result<()> {
    let (plan, peer_notes) = crate::runner::with_finished_peers(plan, out)?;
    let plan = &plan;
    let missing = unfinished(plan, out)?;
    if !missing.is_empty() {
        return Err(Error::Unfinished(missing));
    }
    let groups = groups(plan)?;
    let mem = if plan.studies.contains(&Study::Memory) {
        let quick = plan.quick;
        let (depths, width, batch): (&[usize], usize, usize) = if quick {
            (&[2, 4], 64, 32)
        } else {
            (&[2, 4, 8, 16, 32], 256, 128)
        };
        let rows = crate::memory::study(&groups[0].config, depths, width, batch)?;
        let text = serde_json::to_string_pretty(&rows).map_err(|e| Error::Plan {
            path: crate::ExperimentDir::at(out).memory_json(),
            problem: format!("cannot encode: {e}"),
        })?;
        write_file(
            &crate::ExperimentDir::at(out).memory_json(),
            text.as_bytes(),
        )?;
        Some(rows)
    } else {
        None
    };
    let data = load_all(plan, out, &groups)?;
    csv::write_csvs(out, plan, &groups, &data)?;
    figures::figures(out, plan, &groups, &data, mem.as_deref())?;
    let peers = markdown::peers_section(out, plan, &peer_notes);
    let text = markdown::report(out, plan, &groups, &data, mem.as_deref(), ctx, &peers);
    write_file(&crate::ExperimentDir::at(out).report(), text.as_bytes())
}
