//! The report's figures: Figure 1, the FF goodness panels, and the memory and init studies'.

use super::{Group, RunData};
use crate::error::Result;
use crate::memory::MemRow;
use crate::plan::{Plan, Study};
use crate::plots::{self, Panel, Series};
use crate::stats::{self, bootstrap_ci, mean};
use agents::{AgentKind, Family, QRule};
use std::path::Path;

/// Mean across runs at each epoch with a 95% bootstrap band.
fn band(curves: &[Vec<f64>], seed: u64) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let n = curves.iter().map(Vec::len).min().unwrap_or(0);
    let (mut m, mut lo, mut hi) = (Vec::new(), Vec::new(), Vec::new());
    for e in 0..n {
        let xs: Vec<f64> = curves
            .iter()
            .map(|c| c[e])
            .filter(|v| v.is_finite())
            .collect();
        if xs.is_empty() {
            m.push(f64::NAN);
            lo.push(f64::NAN);
            hi.push(f64::NAN);
            continue;
        }
        let (l, h) = bootstrap_ci(&xs, mean, seed + e as u64);
        m.push(mean(&xs));
        lo.push(l);
        hi.push(h);
    }
    (m, lo, hi)
}

fn series(
    label: &str,
    color: plotters::style::RGBColor,
    curves: &[Vec<f64>],
    seed: u64,
    dashed: bool,
) -> Series {
    let (mean, lo, hi) = band(curves, seed);
    Series {
        label: label.to_string(),
        color,
        mean,
        lo,
        hi,
        dashed,
    }
}

fn ma5(runs: &[RunData], pick: impl Fn(&RunData) -> &Vec<f64>) -> Vec<Vec<f64>> {
    runs.iter()
        .map(|r| stats::moving_average(pick(r), 5))
        .collect()
}

fn epochs_axis(runs: &[RunData]) -> Vec<f64> {
    let n = runs.iter().map(|r| r.train.len()).min().unwrap_or(0);
    (1..=n).map(|e| e as f64).collect()
}

/// The longest of these groups' epoch axes: groups of other lengths (Acrobot's 30 epochs
/// beside MountainCar's 60) each draw as far as they go.
fn longest_axis<'a>(groups: impl Iterator<Item = &'a Vec<RunData>>) -> Vec<f64> {
    groups
        .map(|runs| epochs_axis(runs))
        .max_by_key(Vec::len)
        .unwrap_or_default()
}

/// Figure 1 (every group), the FF goodness panels, and the memory and init figures of the
/// studies the plan includes.
pub(super) fn figures(
    out: &Path,
    plan: &Plan,
    groups: &[Group],
    data: &[Vec<RunData>],
    mem: Option<&[MemRow]>,
) -> Result<()> {
    let xs = longest_axis(data.iter());
    let reference = plan.common_threshold().map(|t| (t, format!("{t}")));
    figure1(out, plan, groups, data, &xs, &reference)?;
    goodness_figure(out, plan, groups, data)?;
    if let Some(mem) = mem {
        memory_figure(out, mem)?;
    }
    if plan.studies.contains(&Study::Init) {
        init_figure(out, plan, groups, data, xs, reference)?;
    }
    Ok(())
}

/// The tasks the groups train on, in the order they first appear.
fn tasks_of(groups: &[Group]) -> Vec<envs::EnvId> {
    let mut tasks: Vec<envs::EnvId> = Vec::new();
    for g in groups {
        if !tasks.contains(&g.config.env().id) {
            tasks.push(g.config.env().id);
        }
    }
    tasks
}

/// Figure 1: every group's training and greedy evaluation returns over epochs; one pair of
/// panels per task when the groups train on several (their returns share no scale), each with
/// its task's threshold.
fn figure1(
    out: &Path,
    plan: &Plan,
    groups: &[Group],
    data: &[Vec<RunData>],
    xs: &[f64],
    reference: &Option<(f64, String)>,
) -> Result<()> {
    let tasks = tasks_of(groups);
    let curves = |pick: fn(&RunData) -> &Vec<f64>, seed: u64, task: Option<envs::EnvId>| {
        groups
            .iter()
            .zip(data)
            .enumerate()
            .filter(|(_, (g, _))| task.is_none_or(|t| g.config.env().id == t))
            .map(|(i, (g, runs))| {
                series(
                    &g.label,
                    plots::color(i),
                    &ma5(runs, pick),
                    seed + 2 * i as u64,
                    false,
                )
            })
            .collect()
    };
    let panel = |title: String,
                 pick: fn(&RunData) -> &Vec<f64>,
                 seed: u64,
                 task: Option<envs::EnvId>,
                 xs: Vec<f64>,
                 reference: Option<(f64, String)>| Panel {
        title,
        x_label: "epoch".into(),
        y_label: "return".into(),
        xs,
        series: curves(pick, seed, task),
        reference,
        log2_x: false,
    };
    const TRAIN: &str = "Training return (ε-greedy), 5-epoch moving average";
    const EVAL: &str = "Greedy evaluation return, 5-epoch moving average";
    let train: fn(&RunData) -> &Vec<f64> = |r| &r.train;
    let eval: fn(&RunData) -> &Vec<f64> = |r| &r.eval;
    if tasks.len() <= 1 {
        let fig1 = [
            panel(TRAIN.into(), train, 1, None, xs.to_vec(), reference.clone()),
            panel(EVAL.into(), eval, 2, None, xs.to_vec(), reference.clone()),
        ];
        return plots::render(out, "figure1", &fig1, 2);
    }
    let mut fig1 = Vec::new();
    for task in tasks {
        let of_task: Vec<usize> = (0..groups.len())
            .filter(|&i| groups[i].config.env().id == task)
            .collect();
        let xs = longest_axis(of_task.iter().map(|&i| &data[i]));
        let t = plan.groups[of_task[0]].threshold;
        let reference = Some((t, format!("{t}")));
        fig1.push(panel(
            format!("{task}: {TRAIN}"),
            train,
            1,
            Some(task),
            xs.clone(),
            reference.clone(),
        ));
        fig1.push(panel(
            format!("{task}: {EVAL}"),
            eval,
            2,
            Some(task),
            xs,
            reference,
        ));
    }
    plots::render(out, "figure1", &fig1, 2)
}

/// Each FF layer's goodness of positives and negatives over epochs, for the groups
/// [`goodness_groups`] picks (none drawn without FF groups).
fn goodness_figure(out: &Path, plan: &Plan, groups: &[Group], data: &[Vec<RunData>]) -> Result<()> {
    let ff_groups = goodness_groups(plan, groups);
    let mut panels = Vec::new();
    for &gi in &ff_groups {
        let (g, runs) = (&groups[gi], &data[gi]);
        let objective = &g.config.ff().objective;
        for layer in 0..g.config.hidden().len() {
            let pos: Vec<Vec<f64>> = runs.iter().map(|r| r.g_pos[layer].clone()).collect();
            let neg: Vec<Vec<f64>> = runs.iter().map(|r| r.g_neg[layer].clone()).collect();
            panels.push(Panel {
                title: format!(
                    "{}: layer {} goodness ({:?})",
                    g.label,
                    layer + 1,
                    objective.goodness
                ),
                x_label: "epoch".into(),
                y_label: "mean goodness over FF steps".into(),
                xs: epochs_axis(runs),
                series: vec![
                    series(
                        "g+ (S+, high TD target)",
                        plots::FF_COLOR,
                        &pos,
                        10 + layer as u64,
                        false,
                    ),
                    series("g− (S−)", plots::BP_COLOR, &neg, 20 + layer as u64, false),
                ],
                reference: Some((objective.margin, format!("margin m = {}", objective.margin))),
                log2_x: false,
            });
        }
    }
    match ff_groups.first() {
        Some(&first) => {
            let cols = groups[first].config.hidden().len().max(1);
            plots::render(out, "goodness", &panels, cols)
        }
        None => Ok(()),
    }
}

/// The init study's figure: FF-DQN's presets and BP-DQN, training return over epochs.
fn init_figure(
    out: &Path,
    plan: &Plan,
    groups: &[Group],
    data: &[Vec<RunData>],
    xs: Vec<f64>,
    reference: Option<(f64, String)>,
) -> Result<()> {
    let by = |role: &Option<String>| {
        let name = role.as_deref()?;
        groups.iter().position(|g| g.name == name).map(|i| &data[i])
    };
    let roles = plan.roles();
    let mut init_series = Vec::new();
    for (role, label, color, dashed) in [
        (
            &roles.ff,
            "FF-DQN, xavier init (paper.toml)",
            plots::FF_COLOR,
            false,
        ),
        (
            &roles.ff_warmstart,
            "FF-DQN, BP warm start",
            plots::WARM_COLOR,
            false,
        ),
        (
            &roles.ff_text,
            "FF-DQN (paper-text.toml)",
            plots::TEXT_COLOR,
            false,
        ),
        (&roles.bp, "BP-DQN (reference)", plots::BP_COLOR, true),
    ] {
        if let Some(runs) = by(role) {
            init_series.push(series(label, color, &ma5(runs, |r| &r.train), 30, dashed));
        }
    }
    let init_panel = [Panel {
        title: "Initialisation and preset: training return, 5-epoch moving average".into(),
        x_label: "epoch".into(),
        y_label: "return".into(),
        xs,
        series: init_series,
        reference,
        log2_x: false,
    }];
    plots::render(out, "init", &init_panel, 1)
}

/// The agents a memory study measured, in [`AgentKind::ALL`] order.
pub(super) fn mem_agents(mem: &[MemRow]) -> Vec<AgentKind> {
    AgentKind::ALL
        .into_iter()
        .filter(|k| mem.iter().any(|r| r.agent == *k))
        .collect()
}

/// How the memory table and figure name an agent.
pub(super) fn agent_title(kind: AgentKind) -> &'static str {
    kind.label()
}

fn memory_figure(out: &Path, mem: &[MemRow]) -> Result<()> {
    let depths: Vec<f64> = mem
        .iter()
        .filter(|r| r.agent == AgentKind::Bp)
        .map(|r| r.depth as f64)
        .collect();
    let mib = |kind: AgentKind, f: fn(&MemRow) -> usize| -> Vec<f64> {
        mem.iter()
            .filter(|r| r.agent == kind)
            .map(|r| f(r) as f64 / (1024.0 * 1024.0))
            .collect()
    };
    let lines = |f: fn(&MemRow) -> usize| -> Vec<Series> {
        mem_agents(mem)
            .into_iter()
            .map(|kind| {
                let v = mib(kind, f);
                Series {
                    label: agent_title(kind).into(),
                    color: plots::agent_color(kind),
                    mean: v.clone(),
                    lo: v.clone(),
                    hi: v,
                    // Backprop solid, the rules that do without it dashed.
                    dashed: match kind.family() {
                        Family::Q(QRule::Bp) => false,
                        Family::Q(QRule::Ff) | Family::Local(_) => true,
                    },
                }
            })
            .collect()
    };
    let width = mem.first().map_or(0, |r| r.width);
    let batch = mem.first().map_or(0, |r| r.batch);
    let mem_panels = [
        Panel {
            title: format!("Working memory of one update (width {width}, batch {batch})"),
            x_label: "hidden layers".into(),
            y_label: "peak heap above parameters, MiB".into(),
            xs: depths.clone(),
            series: lines(|r| r.working_peak_bytes),
            reference: None,
            log2_x: true,
        },
        Panel {
            title: "Parameters + optimizer state (both networks)".into(),
            x_label: "hidden layers".into(),
            y_label: "MiB".into(),
            xs: depths,
            series: lines(|r| r.params_and_state_bytes),
            reference: None,
            log2_x: true,
        },
    ];
    plots::render(out, "memory", &mem_panels, 2)
}

/// The FF groups whose per-layer goodness the goodness figure shows: the paper's FF presets
/// (`ff`, `ff-text`), or else the first two FF groups.
pub(super) fn goodness_groups(plan: &Plan, groups: &[Group]) -> Vec<usize> {
    let roles = plan.roles();
    let named: Vec<usize> = [&roles.ff, &roles.ff_text]
        .into_iter()
        .filter_map(|n| {
            let n = n.as_deref()?;
            groups
                .iter()
                .position(|g| g.name == n && g.agent == AgentKind::Ff)
        })
        .collect();
    if !named.is_empty() {
        return named;
    }
    (0..groups.len())
        .filter(|&i| groups[i].agent == AgentKind::Ff)
        .take(2)
        .collect()
}
