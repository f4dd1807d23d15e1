//! The report of a finished plan: aggregated CSVs, figures and REPORT.md, from the run
//! directories alone (read through [`agents::RunDir`]).

use crate::error::{Error, Result};
use crate::memory::MemRow;
use crate::plan::{Plan, Study};
use crate::plots::{self, Panel, Series};
use crate::stats::{self, bootstrap_ci, iqm, mean, median, prob_improvement, prob_improvement_ci};
use crate::write_file;
use agents::{AgentKind, Config, RunDir};
use std::fmt::Write;
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
pub fn groups(plan: &Plan) -> Result<Vec<Group>> {
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
pub fn load_all(plan: &Plan, out: &Path, groups: &[Group]) -> Result<Vec<Vec<RunData>>> {
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

fn cell(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        String::new()
    }
}

/// A text field of a CSV row, quoted when it holds a comma, a quote or a line break (RFC 4180):
/// a sweep over two axes names its groups `ff.ff.margin=2,ff.update-prob=1`.
fn csv_text(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\"")).into()
    } else {
        s.into()
    }
}

/// `all_epochs.csv` (every epoch of every run, long format) and `runs.csv` (one row per run).
pub fn write_csvs(out: &Path, plan: &Plan, groups: &[Group], data: &[Vec<RunData>]) -> Result<()> {
    let max_layers = groups
        .iter()
        .map(|g| g.config.hidden().len())
        .max()
        .unwrap_or(0);
    let mut csv =
        String::from("group,agent,config,seed,epoch,env_steps,train_return,eval_return,td_loss");
    for k in 1..=max_layers {
        let _ = write!(csv, ",ff_l{k}_g_pos,ff_l{k}_g_neg");
    }
    csv.push('\n');
    let threshold_name = plan
        .common_threshold()
        .map_or_else(|| "threshold".to_string(), |t| t.to_string());
    let mut runs = format!(
        "group,agent,config,seed,final_return_mean,final_return_std,epochs_to_ma10_{threshold_name},last20_train_std,wall_seconds\n",
    );
    for ((g, runs_of), gp) in groups.iter().zip(data).zip(&plan.groups) {
        let threshold = gp.threshold;
        for r in runs_of {
            for e in 0..r.train.len() {
                let _ = write!(
                    csv,
                    "{},{},{},{},{},{},{},{},{}",
                    csv_text(&g.name),
                    g.agent,
                    csv_text(&g.config_file),
                    r.seed,
                    e + 1,
                    r.env_steps[e],
                    cell(r.train[e]),
                    cell(r.eval[e]),
                    cell(r.td_loss[e])
                );
                for k in 0..max_layers {
                    let at = |v: &Vec<Vec<f64>>| {
                        v.get(k).and_then(|l| l.get(e)).copied().unwrap_or(f64::NAN)
                    };
                    let _ = write!(csv, ",{},{}", cell(at(&r.g_pos)), cell(at(&r.g_neg)));
                }
                csv.push('\n');
            }
            let _ = writeln!(
                runs,
                "{},{},{},{},{},{},{},{},{:.2}",
                csv_text(&g.name),
                g.agent,
                csv_text(&g.config_file),
                r.seed,
                r.final_mean,
                r.final_std,
                r.epochs_to_threshold(threshold)
                    .map_or(String::new(), |e| e.to_string()),
                r.last20_std(),
                r.wall
            );
        }
    }
    let dir = crate::ExperimentDir::at(out);
    write_file(&dir.all_epochs_csv(), csv.as_bytes())?;
    write_file(&dir.runs_csv(), runs.as_bytes())?;
    Ok(())
}

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
pub fn figures(
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
    let mut tasks: Vec<envs::EnvId> = Vec::new();
    for g in groups {
        if !tasks.contains(&g.config.env().id) {
            tasks.push(g.config.env().id);
        }
    }
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
fn mem_agents(mem: &[MemRow]) -> Vec<AgentKind> {
    AgentKind::ALL
        .into_iter()
        .filter(|k| mem.iter().any(|r| r.agent == *k))
        .collect()
}

/// How the memory table and figure name an agent.
fn agent_title(kind: AgentKind) -> &'static str {
    match kind {
        AgentKind::Bp => "BP-DQN",
        AgentKind::Ff => "FF-DQN",
        AgentKind::LocalTd => "local-td",
        AgentKind::GoodnessQ => "goodness-q",
    }
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
                    dashed: kind != AgentKind::Bp,
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

/// Per-group numbers of the report.
struct GroupStats {
    finals: Vec<f64>,
    iqm: f64,
    ci: (f64, f64),
    mean: f64,
    std: f64,
    reached: usize,
    /// Seeds whose final greedy return is at or above the threshold.
    solved: usize,
    median_epochs: Option<f64>,
    last20: f64,
    wall: f64,
}

fn group_stats(runs: &[RunData], seed: u64, threshold: f64) -> GroupStats {
    let finals: Vec<f64> = runs.iter().map(|r| r.final_mean).collect();
    let epochs: Vec<Option<usize>> = runs
        .iter()
        .map(|r| r.epochs_to_threshold(threshold))
        .collect();
    let reached = epochs.iter().flatten().count();
    // The median over seeds, counting a seed that never reached the threshold as infinitely
    // slow: defined when at least half the seeds reached it.
    let mut sorted: Vec<f64> = epochs
        .iter()
        .map(|e| e.map_or(f64::INFINITY, |e| e as f64))
        .collect();
    sorted.sort_by(f64::total_cmp);
    let med = median(&sorted);
    GroupStats {
        iqm: iqm(&finals),
        ci: bootstrap_ci(&finals, iqm, seed),
        mean: mean(&finals),
        std: stats::std(&finals),
        reached,
        solved: finals.iter().filter(|&&f| f >= threshold).count(),
        median_epochs: med.is_finite().then_some(med),
        last20: mean(&runs.iter().map(RunData::last20_std).collect::<Vec<_>>()),
        wall: mean(&runs.iter().map(|r| r.wall).collect::<Vec<_>>()),
        finals,
    }
}

fn machine() -> String {
    let rustc =
        std::process::Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
            .arg("--version")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_else(|| "rustc (unknown version)".into());
    format!("{}, {rustc}", crate::machine())
}

/// The code behind the report: the binary that writes it, and each binary that trained runs
/// (with how many), so a report never names code that did not run.
fn code_lines(ctx: &ReportContext, data: &[Vec<RunData>]) -> Vec<String> {
    let mut trained: Vec<(String, usize)> = Vec::new();
    for run in data.iter().flatten() {
        let name = run.code.as_ref().map_or_else(
            || "code not recorded (runs written before ffdqn recorded it)".to_string(),
            ToString::to_string,
        );
        match trained.iter_mut().find(|(n, _)| *n == name) {
            Some((_, k)) => *k += 1,
            None => trained.push((name, 1)),
        }
    }
    let mut lines = vec![format!("- Report written by: {}", ctx.code)];
    for (name, k) in trained {
        lines.push(format!("- Runs trained by: {name} ({k} runs)"));
    }
    lines
}

fn f1(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.1}")
    } else {
        "–".into()
    }
}

fn mib(b: usize) -> String {
    format!("{:.2}", b as f64 / (1024.0 * 1024.0))
}

/// `0–9`, or the list when the seeds are not a range.
fn seeds_text(seeds: &[u64]) -> String {
    let contiguous = seeds.windows(2).all(|w| w[1] == w[0] + 1);
    match (seeds.first(), seeds.last()) {
        (Some(a), Some(b)) if contiguous && a != b => format!("{a}–{b}"),
        _ => seeds
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    }
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

/// The memory study's section; returns, per depth measured for both, BP's working peak over
/// FF's: `(depth, ratio, bp bytes, ff bytes)`, which the paper-claims study reads.
fn memory_section(r: &mut String, mem: &[MemRow]) -> Vec<(usize, f64, usize, usize)> {
    let mut ratios = Vec::new();
    let _ = writeln!(r, "## Memory of one training update\n");
    let (width, batch) = mem.first().map_or((0, 0), |m| (m.width, m.batch));
    let _ = writeln!(
        r,
        "Measured with a counting global allocator, one update at batch {batch}, hidden layers of width {width}, \
         the FF step on every minibatch; the layer-local agents on the experiment's first config's settings. *Parameters + state*: what building the agent adds (online and target \
         networks, optimizer moments). *Working peak*: the highest heap above that during the update (activations, \
         gradients, scratch, the target network's forward pass, gemm packing).\n"
    );
    let kinds = mem_agents(mem);
    let mut depths: Vec<usize> = mem.iter().map(|m| m.depth).collect();
    depths.dedup();
    let row = |kind, d| mem.iter().find(|m| m.agent == kind && m.depth == d);
    let heads: Vec<&str> = kinds.iter().map(|&k| agent_title(k)).collect();
    let _ = writeln!(
        r,
        "Working peak (MiB):\n\n| hidden layers | {} | BP / FF working |\n|---|{}---|",
        heads.join(" | "),
        "---|".repeat(kinds.len())
    );
    // One row's cells: each agent's `bytes` at depth `d`, in MiB.
    let cells = |d, bytes: fn(&MemRow) -> usize| {
        kinds
            .iter()
            .map(|&k| row(k, d).map_or("–".into(), |m| mib(bytes(m))))
            .collect::<Vec<String>>()
            .join(" | ")
    };
    for &d in &depths {
        let ratio = match (row(AgentKind::Bp, d), row(AgentKind::Ff, d)) {
            (Some(b), Some(f)) => {
                let ratio = b.working_peak_bytes as f64 / f.working_peak_bytes.max(1) as f64;
                ratios.push((d, ratio, b.working_peak_bytes, f.working_peak_bytes));
                format!("{ratio:.2}")
            }
            _ => "–".into(),
        };
        let _ = writeln!(
            r,
            "| {d} | {} | {ratio} |",
            cells(d, |m| m.working_peak_bytes)
        );
    }
    let _ = writeln!(
        r,
        "\nParameters + optimizer state (MiB):\n\n| hidden layers | {} |\n|---|{}",
        heads.join(" | "),
        "---|".repeat(kinds.len())
    );
    for &d in &depths {
        let _ = writeln!(r, "| {d} | {} |", cells(d, |m| m.params_and_state_bytes));
    }
    let _ = writeln!(r, "\n![Memory](memory.svg)\n");
    ratios
}

/// The report's "Set-up" section: the command, seeds, machine, times, the code that ran, the
/// experiment file and every group with its config's hash.
fn setup_section(
    r: &mut String,
    plan: &Plan,
    groups: &[Group],
    data: &[Vec<RunData>],
    st: &[GroupStats],
    ctx: &ReportContext,
) {
    let _ = writeln!(r, "## Set-up\n");
    let _ = writeln!(
        r,
        "- Command: `{}` ({} runs reused from an earlier invocation)",
        ctx.command, ctx.skipped
    );
    let _ = writeln!(
        r,
        "- Seeds: {} for every group ({} per group); each run is deterministic in its seed",
        seeds_text(&plan.seeds),
        plan.seeds.len()
    );
    let _ = writeln!(r, "- Machine: {}", machine());
    if ctx.skipped >= plan.runs.len() {
        let _ = writeln!(
            r,
            "- Wall time of this invocation: none of the runs (every run reused; the report only)"
        );
    } else {
        let _ = writeln!(
            r,
            "- Wall time of this invocation: {:.0} s ({:.1} min)",
            ctx.wall,
            ctx.wall / 60.0
        );
    }
    let walls: Vec<f64> = data.iter().flatten().map(|r| r.wall).collect();
    let _ = writeln!(
        r,
        "- Compute: {:.0} s over {} runs (the longest {:.1} s), whichever invocation ran them",
        walls.iter().sum::<f64>(),
        walls.len(),
        walls.iter().copied().fold(0.0, f64::max)
    );
    for line in code_lines(ctx, data) {
        let _ = writeln!(r, "{line}");
    }
    let _ = writeln!(
        r,
        "- Experiment file: `{}` (FNV-1a 64 of its bytes: {})",
        plan.experiment_file,
        if plan.experiment_hash.is_empty() {
            "not recorded"
        } else {
            &plan.experiment_hash
        }
    );
    let _ = writeln!(r, "- Groups:");
    for (gi, (g, s)) in groups.iter().zip(st).enumerate() {
        let c = &g.config;
        let overrides = &plan.groups[gi].overrides;
        let _ = writeln!(
            r,
            "  - `{}`: {} — {} on {} `{}`{}, {}, hidden {:?}, solved at {}; {:.1} s per run on average; config.toml FNV-1a {:016x}",
            g.name,
            g.label,
            g.agent,
            c.env().id,
            g.config_file,
            if overrides.is_empty() {
                String::new()
            } else {
                format!(" with `{}`", overrides.join(" "))
            },
            c.train().budget,
            c.hidden(),
            plan.groups[gi].threshold,
            s.wall,
            agents::checkpoint::fnv1a(c.to_toml_for(g.agent).as_bytes())
        );
    }
}

/// REPORT.md of a finished plan.
pub fn report(
    out: &Path,
    plan: &Plan,
    groups: &[Group],
    data: &[Vec<RunData>],
    mem: Option<&[MemRow]>,
    ctx: &ReportContext,
    peers: &str,
) -> String {
    // The threshold as tables and text name it: the number when every group shares it.
    let threshold = plan
        .common_threshold()
        .map_or_else(|| "its threshold".to_string(), |t| t.to_string());
    let st: Vec<GroupStats> = data
        .iter()
        .enumerate()
        .map(|(i, runs)| {
            // Seeded by the group's name, not its position: the same group gets the same
            // interval in every experiment that holds it.
            let seed = agents::checkpoint::fnv1a(plan.groups[i].name.as_bytes());
            group_stats(runs, seed, plan.groups[i].threshold)
        })
        .collect();
    let idx = |name: &str| groups.iter().position(|g| g.name == name);
    // The groups the studies read, as the experiment's [roles] names them.
    let role = |r: &Option<String>| r.as_deref().and_then(idx);
    let roles = plan.roles();
    let p_of = |i: usize, j: usize| {
        (
            prob_improvement(&st[i].finals, &st[j].finals),
            prob_improvement_ci(&st[i].finals, &st[j].finals, 7),
        )
    };
    let mut r = String::new();
    let _ = writeln!(r, "# Report: {}\n", plan.name);
    if !plan.description.is_empty() {
        let _ = writeln!(r, "{}\n", plan.description.trim());
    }
    if plan.quick {
        let _ = writeln!(
            r,
            "> **Smoke run (`--quick`)**: a few epochs and seeds; the numbers below say nothing about the full experiment.\n"
        );
    }
    setup_section(&mut r, plan, groups, data, &st, ctx);
    let _ = writeln!(
        r,
        "\nScores: a run's *final return* is the mean of its {} final greedy episodes. Across seeds: \
         interquartile mean (IQM, 25% trimmed mean) with a 95% bootstrap confidence interval \
         ({} resamples over seeds, rliable's stratified bootstrap with one task); *seeds ending ≥ {threshold}* count \
         final returns at or above it; *seeds whose training average reaches {threshold}* count runs whose 10-epoch \
         moving average of the training return reaches it at some epoch; *epochs to {threshold}* is the \
         first epoch at which the 10-epoch moving average of the training return reaches {threshold} (median over seeds, \
         a seed that never does counting as slowest; \"–\" when fewer than half reach it); *last-20 std* is the \
         standard deviation of the training return over the last 20 epochs, averaged over seeds.\n",
        groups[0].config.train().final_eval_episodes,
        stats::RESAMPLES
    );
    let _ = writeln!(r, "## Final return\n");
    let _ = writeln!(
        r,
        "| group | IQM final return [95% CI] | mean ± std over seeds | seeds ending ≥ {threshold} | seeds whose training average reaches {threshold} | epochs to {threshold} (median) | last-20 std |"
    );
    let _ = writeln!(r, "|---|---|---|---|---|---|---|");
    for (g, s) in groups.iter().zip(&st) {
        let _ = writeln!(
            r,
            "| {} | {} [{}, {}] | {} ± {} | {}/{} | {}/{} | {} | {} |",
            g.label,
            f1(s.iqm),
            f1(s.ci.0),
            f1(s.ci.1),
            f1(s.mean),
            f1(s.std),
            s.solved,
            s.finals.len(),
            s.reached,
            s.finals.len(),
            s.median_epochs.map_or("–".into(), f1),
            f1(s.last20)
        );
    }
    if !plan.compares.is_empty() {
        let _ = writeln!(
            r,
            "\nProbability of improvement (P(X > Y): a random seed of X ends above a random seed of Y; 0.5 is a tie):\n"
        );
        let _ = writeln!(r, "| X | Y | P(X > Y) [95% CI] |\n|---|---|---|");
        for c in &plan.compares {
            if let (Some(i), Some(j)) = (idx(&c.x), idx(&c.y)) {
                let (p, ci) = p_of(i, j);
                let _ = writeln!(
                    r,
                    "| {} | {} | {:.2} [{:.2}, {:.2}] |",
                    groups[i].label, groups[j].label, p, ci.0, ci.1
                );
            }
        }
    }
    let questions: Vec<_> = plan
        .compares
        .iter()
        .filter_map(|c| Some((c.question.as_deref()?, idx(&c.x)?, idx(&c.y)?)))
        .collect();
    if !questions.is_empty() {
        let _ = writeln!(
            r,
            "\n## Questions\n\nEach answered from P(X > Y) over seeds: *yes* when its 95% CI lies above 0.5, *no* when it lies below, *not resolved* when it contains 0.5 (more seeds would be needed to tell).\n"
        );
        for (q, i, j) in questions {
            let (p, (lo, hi)) = p_of(i, j);
            let (x, y) = (&groups[i].label, &groups[j].label);
            let answer = if plan.quick {
                format!(
                    "*No answer* (`--quick` smoke run, {} seeds): {x} against {y}",
                    plan.seeds.len()
                )
            } else if lo > 0.5 {
                format!("**Yes**: {x} ends above {y}")
            } else if hi < 0.5 {
                format!("**No**: {x} ends below {y}")
            } else {
                format!(
                    "**Not resolved** with {} seeds: {x} and {y} are not told apart",
                    plan.seeds.len()
                )
            };
            let _ = writeln!(
                r,
                "- *{q}* {answer}. P(X > Y) = {p:.2} [{lo:.2}, {hi:.2}]; IQM {} [{}, {}] against {} [{}, {}]; seeds whose final return reaches the threshold {}/{} against {}/{}.",
                f1(st[i].iqm),
                f1(st[i].ci.0),
                f1(st[i].ci.1),
                f1(st[j].iqm),
                f1(st[j].ci.0),
                f1(st[j].ci.1),
                st[i].solved,
                st[i].finals.len(),
                st[j].solved,
                st[j].finals.len()
            );
        }
    }
    let _ = writeln!(
        r,
        "\n![Figure 1](figure1.svg)\n\nFigure 1: mean over seeds with a 95% bootstrap band; left the training (ε-greedy) return, right the greedy evaluation after each epoch.\n"
    );
    // The init study shows the goodness figure in its section; otherwise it goes here.
    let shown = goodness_groups(plan, groups);
    if !shown.is_empty() && !plan.studies.contains(&Study::Init) {
        let _ = writeln!(
            r,
            "![Goodness](goodness.svg)\n\nPer-layer goodness of positives and negatives over epochs of {} (mean over the epoch's FF steps and over seeds).\n",
            shown
                .iter()
                .map(|&g| groups[g].label.as_str())
                .collect::<Vec<_>>()
                .join(" and ")
        );
    }

    let ratios = match mem {
        Some(mem) => memory_section(&mut r, mem),
        None => Vec::new(),
    };

    if let (true, Some(ff)) = (plan.studies.contains(&Study::Init), role(&roles.ff)) {
        let _ = writeln!(r, "## Initialisation and preset\n");
        let _ = writeln!(
            r,
            "FF-DQN from its usual initialisation against the same network after a BP warm start, and the preset taken from the paper's text, on the same seeds. P(X > usual) compares each with FF-DQN on `paper.toml`.\n"
        );
        let _ = writeln!(
            r,
            "| FF-DQN variant | init | IQM final return [95% CI] | seeds reaching {threshold} | P(X > usual init) [95% CI] |"
        );
        let _ = writeln!(r, "|---|---|---|---|---|");
        for r_i in [&roles.ff, &roles.ff_warmstart, &roles.ff_text] {
            let Some(i) = role(r_i) else { continue };
            let g = &groups[i];
            let init = match g.config.ff().bp_warmstart_steps {
                Some(n) => format!("BP warm start, {n} updates, from {:?}", g.config.ff().init),
                None => format!("{:?}", g.config.ff().init),
            };
            let p = if i == ff {
                "–".to_string()
            } else {
                let (p, (lo, hi)) = p_of(i, ff);
                format!("{p:.2} [{lo:.2}, {hi:.2}]")
            };
            let _ = writeln!(
                r,
                "| `{}` | {init} | {} [{}, {}] | {}/{} | {p} |",
                g.config_file,
                f1(st[i].iqm),
                f1(st[i].ci.0),
                f1(st[i].ci.1),
                st[i].reached,
                st[i].finals.len()
            );
        }
        let _ = writeln!(r);
        let _ = writeln!(
            r,
            "![Init study](init.svg)\n\n![Goodness](goodness.svg)\n\nPer-layer goodness of positives and negatives over epochs (mean over the epoch's FF steps and over seeds).\n"
        );
    }

    if let (true, Some(bp), Some(ff)) = (
        plan.studies.contains(&Study::PaperClaims),
        role(&roles.bp),
        role(&roles.ff),
    ) {
        paper_claims(
            &mut r,
            &st,
            &ratios,
            plan.seeds.len(),
            &threshold,
            bp,
            ff,
            (role(&roles.ff_warmstart), role(&roles.ff_text)),
            &p_of,
            plan.quick,
        );
    }
    r.push_str(peers);
    let _ = writeln!(
        r,
        "\n## Files\n\n`plan.json` is the expanded experiment; `runs/<group>/seed-<n>/` holds each run's `metrics.csv`, `summary.json`, `config.toml` and `weights.json`; `all_epochs.csv` \
         every epoch of every run (long format); `runs.csv` one row per run;{} figures as SVG and PNG. \
         Output directory: `{}`.",
        if mem.is_some() {
            " `memory.json` the memory study;"
        } else {
            ""
        },
        out.display()
    );
    r
}

/// The FF groups whose per-layer goodness the goodness figure shows: the paper's FF presets
/// (`ff`, `ff-text`), or else the first two FF groups.
fn goodness_groups(plan: &Plan, groups: &[Group]) -> Vec<usize> {
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

/// What the verdicts on the FF-DQN paper's claims are computed from.
struct Claims<'a> {
    st: &'a [GroupStats],
    ratios: &'a [(usize, f64, usize, usize)],
    n: usize,
    threshold: &'a str,
    bp: usize,
    ff: usize,
    /// The FF-DQN variants the init claim and the preset ablation read, when given.
    warmstart: Option<usize>,
    text: Option<usize>,
    p_of: &'a dyn Fn(usize, usize) -> (f64, (f64, f64)),
    quick: bool,
}

impl Claims<'_> {
    /// A verdict as written: a smoke run's few seeds and epochs decide nothing, so no bold
    /// verdict on them.
    fn mark(&self, v: &'static str) -> &'static str {
        if self.quick {
            "*no verdict (`--quick` smoke run)*"
        } else {
            v
        }
    }

    /// Supported when all `of` criteria hold, not when none does, mixed otherwise.
    fn verdict(&self, ok: usize, of: usize) -> &'static str {
        self.mark(if ok == of {
            "**supported**"
        } else if ok == 0 {
            "**not supported**"
        } else {
            "**mixed**"
        })
    }

    /// 1. Both agents reach near-optimal return.
    fn reach(&self, r: &mut String) {
        let Claims {
            st,
            n,
            threshold,
            bp,
            ff,
            ..
        } = *self;
        let (b, f) = (&st[bp], &st[ff]);
        let half = n.div_ceil(2);
        let both = [b.reached >= half, f.reached >= half];
        let _ = writeln!(
            r,
            "1. *Both agents reach near-optimal return (200).* {} — the 10-epoch average training return reaches {threshold} in {}/{n} BP-DQN seeds and {}/{n} FF-DQN seeds (criterion: at least half the seeds); final greedy IQM {} (BP) vs {} (FF).",
            self.verdict(both.iter().filter(|&&x| x).count(), 2),
            b.reached,
            f.reached,
            f1(b.iqm),
            f1(f.iqm)
        );
    }

    /// 2. FF-DQN converges more slowly and varies more.
    fn speed(&self, r: &mut String) {
        let Claims {
            st,
            threshold,
            bp,
            ff,
            ..
        } = *self;
        let (b, f) = (&st[bp], &st[ff]);
        let inf = |m: Option<f64>| m.unwrap_or(f64::INFINITY);
        let slower = inf(f.median_epochs) > inf(b.median_epochs);
        let varies = f.last20 > b.last20;
        let _ = writeln!(
            r,
            "2. *FF-DQN converges more slowly and varies more across epochs.* {} — median epochs to {threshold}: {} (FF) vs {} (BP){}; last-20-epoch std of the training return: {} (FF) vs {} (BP).",
            self.verdict(usize::from(slower) + usize::from(varies), 2),
            f.median_epochs.map_or("never for most seeds".into(), f1),
            b.median_epochs.map_or("never for most seeds".into(), f1),
            if f.median_epochs.is_none() {
                " — \"slower\" only in the sense that FF-DQN does not get there"
            } else {
                ""
            },
            f1(f.last20),
            f1(b.last20)
        );
    }

    /// 3. FF-DQN ends comparable to BP-DQN.
    fn comparable(&self, r: &mut String) {
        let Claims {
            st, bp, ff, p_of, ..
        } = *self;
        let (b, f) = (&st[bp], &st[ff]);
        let (p, (lo, hi)) = p_of(ff, bp);
        let (v, why) = if lo <= 0.5 && 0.5 <= hi {
            (
                self.mark("**supported**"),
                "the interval includes 0.5: no detectable difference",
            )
        } else if hi < 0.5 {
            (self.mark("**not supported**"), "FF-DQN ends below BP-DQN")
        } else {
            (self.mark("**not supported**"), "FF-DQN ends above BP-DQN")
        };
        let _ = writeln!(
            r,
            "3. *FF-DQN ends comparable to BP-DQN.* {v} — P(FF > BP) = {p:.2} [{lo:.2}, {hi:.2}]: {why}; final IQM {} [{}, {}] (FF) vs {} [{}, {}] (BP).",
            f1(f.iqm),
            f1(f.ci.0),
            f1(f.ci.1),
            f1(b.iqm),
            f1(b.ci.0),
            f1(b.ci.1)
        );
    }

    /// 4. FF uses less memory.
    fn memory(&self, r: &mut String) {
        let Claims { ratios, .. } = *self;
        let less = ratios
            .iter()
            .filter(|(_, ratio, _, _)| *ratio > 1.0)
            .count();
        if let (Some(first), Some(last)) = (ratios.first(), ratios.last()) {
            let _ = writeln!(
                r,
                "4. *FF avoids storing activations for a backward pass, so it uses less memory.* {} — FF's working memory is below BP's at {less}/{} depths; BP needs {:.2}× FF's at {} layers and {:.2}× at {} layers. From {} to {} layers FF's working peak grows {:.2}× ({} → {} MiB) while BP's grows {:.2}× ({} → {} MiB). Parameters and optimizer state are the same size for both (same network, Adam-type moments): the saving is in working memory only.",
                self.verdict(less, ratios.len()),
                ratios.len(),
                first.1,
                first.0,
                last.1,
                last.0,
                first.0,
                last.0,
                last.3 as f64 / first.3.max(1) as f64,
                mib(first.3),
                mib(last.3),
                last.2 as f64 / first.2.max(1) as f64,
                mib(first.2),
                mib(last.2)
            );
        }
    }

    /// 5. FF-DQN is sensitive to initialisation; and the preset ablation.
    fn init(&self, r: &mut String) {
        let Claims {
            st,
            n,
            threshold,
            ff,
            warmstart,
            text,
            p_of,
            ..
        } = *self;
        let f = &st[ff];
        if let Some(w) = warmstart {
            let (p, (lo, hi)) = p_of(w, ff);
            let sensitive = !(lo <= 0.5 && 0.5 <= hi);
            let _ = writeln!(
                r,
                "5. *FF-DQN is sensitive to initialization.* {} — P(warm start > usual init) = {p:.2} [{lo:.2}, {hi:.2}]; final IQM {} [{}, {}] with a BP warm start vs {} [{}, {}] from xavier init; seeds reaching {threshold}: {}/{n} vs {}/{n}.{}",
                self.mark(if sensitive {
                    "**supported**"
                } else {
                    "**not supported**"
                }),
                f1(st[w].iqm),
                f1(st[w].ci.0),
                f1(st[w].ci.1),
                f1(f.iqm),
                f1(f.ci.0),
                f1(f.ci.1),
                st[w].reached,
                f.reached,
                if sensitive {
                    ""
                } else {
                    " No difference this experiment can detect at this number of seeds."
                }
            );
        }

        if let Some(t) = text {
            let _ = writeln!(
                r,
                "\nPreset ablation: FF-DQN with the paper's equations taken literally (`paper-text.toml`) ends at IQM {} [{}, {}] against {} [{}, {}] with the author's code settings (`paper.toml`).",
                f1(st[t].iqm),
                f1(st[t].ci.0),
                f1(st[t].ci.1),
                f1(f.iqm),
                f1(f.ci.0),
                f1(f.ci.1)
            );
        }
    }
}

/// The verdicts on the FF-DQN paper's claims.
#[allow(clippy::too_many_arguments)]
fn paper_claims(
    r: &mut String,
    st: &[GroupStats],
    ratios: &[(usize, f64, usize, usize)],
    n: usize,
    threshold: &str,
    bp: usize,
    ff: usize,
    (warmstart, text): (Option<usize>, Option<usize>),
    p_of: &dyn Fn(usize, usize) -> (f64, (f64, f64)),
    quick: bool,
) {
    let claims = Claims {
        st,
        ratios,
        n,
        threshold,
        bp,
        ff,
        warmstart,
        text,
        p_of,
        quick,
    };
    let _ = writeln!(r, "## The paper's claims\n");
    claims.reach(r);
    claims.speed(r);
    claims.comparable(r);
    claims.memory(r);
    claims.init(r);
}

/// The peer groups: what wrote their runs (each run's `peer.json`), the command, and the peer
/// groups left out for want of runs. Empty when the experiment has no peer group.
fn peers_section(out: &Path, plan: &Plan, left_out: &[String]) -> String {
    let mut r = String::new();
    let peers: Vec<(usize, &crate::plan::GroupPlan)> = plan
        .groups
        .iter()
        .enumerate()
        .filter(|(_, g)| g.peer.is_some())
        .collect();
    if peers.is_empty() && left_out.is_empty() {
        return r;
    }
    r.push_str("\n## Peers\n\nGroups whose runs another implementation wrote, in ffdqn's run-directory form; ffdqn did not train them.\n\n");
    for (g, group) in peers {
        let peer = plan
            .runs_of(g)
            .next()
            .and_then(|i| RunDir::at(plan.run_path(out, i)).read_peer());
        let made_by = match peer {
            Some(fields) => fields
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", "),
            None => "no peer.json".to_string(),
        };
        let _ = writeln!(
            r,
            "- `{}`: {made_by}. Command: `{}`",
            group.name,
            group.peer.as_deref().unwrap_or_default()
        );
    }
    for note in left_out {
        let _ = writeln!(r, "- {note}");
    }
    r
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
    write_csvs(out, plan, &groups, &data)?;
    figures(out, plan, &groups, &data, mem.as_deref())?;
    let peers = peers_section(out, plan, &peer_notes);
    let text = report(out, plan, &groups, &data, mem.as_deref(), ctx, &peers);
    write_file(&crate::ExperimentDir::at(out).report(), text.as_bytes())
}
