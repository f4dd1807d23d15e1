//! Aggregation, figures and REPORT.md.

use super::memory::MemRow;
use super::plots::{self, Panel, Series};
use super::stats::{self, bootstrap_ci, iqm, mean, median, prob_improvement, prob_improvement_ci};
use super::{Group, run_dir};
use agents::AgentKind;
use agents::io::write_atomic;
use agents::output::Summary;
use anyhow::{Context, Result};
use std::collections::HashMap;
use std::fmt::Write;
use std::path::Path;

/// Near-optimal: the cap is 200; the paper's curves and CartPole's "solved" use 195.
pub const THRESHOLD: f64 = 195.0;

/// What the report needs of one run.
pub struct RunData {
    pub seed: u64,
    pub train: Vec<f64>,
    pub eval: Vec<f64>,
    pub env_steps: Vec<f64>,
    pub td_loss: Vec<f64>,
    /// Per hidden layer, per epoch.
    pub g_pos: Vec<Vec<f64>>,
    pub g_neg: Vec<Vec<f64>>,
    pub final_mean: f64,
    pub final_std: f64,
    pub wall: f64,
}

impl RunData {
    pub fn epochs_to_threshold(&self) -> Option<usize> {
        stats::first_epoch_reaching(&self.train, 10, THRESHOLD)
    }

    pub fn last20_std(&self) -> f64 {
        let n = self.train.len();
        stats::std(&self.train[n.saturating_sub(20)..])
    }
}

fn parse_csv(path: &Path) -> Result<HashMap<String, Vec<f64>>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .context("empty metrics file")?
        .split(',')
        .collect();
    let mut cols: HashMap<String, Vec<f64>> =
        header.iter().map(|h| (h.to_string(), Vec::new())).collect();
    for line in lines {
        for (h, v) in header.iter().zip(line.split(',')) {
            let x = if v.is_empty() {
                f64::NAN
            } else {
                v.parse()
                    .with_context(|| format!("{}: bad number {v:?}", path.display()))?
            };
            if let Some(c) = cols.get_mut(*h) {
                c.push(x);
            }
        }
    }
    Ok(cols)
}

pub fn load_all(out: &Path, groups: &[Group], seeds: u64) -> Result<Vec<Vec<RunData>>> {
    groups
        .iter()
        .map(|g| {
            (0..seeds)
                .map(|seed| {
                    let dir = run_dir(out, g.name, seed);
                    let summary: Summary = serde_json::from_slice(
                        &std::fs::read(dir.join("summary.json"))
                            .with_context(|| format!("{}: no summary", dir.display()))?,
                    )
                    .with_context(|| format!("{}/summary.json does not parse", dir.display()))?;
                    let mut cols = parse_csv(&dir.join("metrics.csv"))?;
                    let mut take = |k: &str| {
                        cols.remove(k)
                            .with_context(|| format!("{}: no column {k}", dir.display()))
                    };
                    let n_hidden = g.config.hidden().len();
                    Ok(RunData {
                        seed,
                        train: take("train_return_mean")?,
                        eval: take("eval_return_mean")?,
                        env_steps: take("env_steps")?,
                        td_loss: take("td_loss")?,
                        g_pos: (1..=n_hidden)
                            .map(|k| take(&format!("ff_l{k}_g_pos")))
                            .collect::<Result<_>>()?,
                        g_neg: (1..=n_hidden)
                            .map(|k| take(&format!("ff_l{k}_g_neg")))
                            .collect::<Result<_>>()?,
                        final_mean: summary.final_eval.mean,
                        final_std: summary.final_eval.std,
                        wall: summary.wall_seconds,
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

pub fn write_csvs(out: &Path, groups: &[Group], data: &[Vec<RunData>]) -> Result<()> {
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
    let mut runs = String::from(
        "group,agent,config,seed,final_return_mean,final_return_std,epochs_to_ma10_195,last20_train_std,wall_seconds\n",
    );
    for (g, runs_of) in groups.iter().zip(data) {
        for r in runs_of {
            for e in 0..r.train.len() {
                let _ = write!(
                    csv,
                    "{},{},{},{},{},{},{},{},{}",
                    g.name,
                    g.agent,
                    g.config_file,
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
                g.name,
                g.agent,
                g.config_file,
                r.seed,
                r.final_mean,
                r.final_std,
                r.epochs_to_threshold()
                    .map_or(String::new(), |e| e.to_string()),
                r.last20_std(),
                r.wall
            );
        }
    }
    write_atomic(&out.join("all_epochs.csv"), csv.as_bytes())?;
    write_atomic(&out.join("runs.csv"), runs.as_bytes())?;
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

pub fn figures(out: &Path, groups: &[Group], data: &[Vec<RunData>], mem: &[MemRow]) -> Result<()> {
    let by = |name: &str| {
        groups
            .iter()
            .position(|g| g.name == name)
            .map(|i| (&groups[i], &data[i]))
    };
    let (Some((_, bp)), Some((ff_g, ff))) = (by("bp"), by("ff")) else {
        return Ok(());
    };
    let xs = epochs_axis(bp);
    let reference = Some((THRESHOLD, format!("{THRESHOLD}")));
    let fig1 = [
        Panel {
            title: "Training return (ε-greedy), 5-epoch moving average".into(),
            x_label: "epoch (10 training episodes)".into(),
            y_label: "return".into(),
            xs: xs.clone(),
            series: vec![
                series("BP-DQN", plots::BP_COLOR, &ma5(bp, |r| &r.train), 1, false),
                series("FF-DQN", plots::FF_COLOR, &ma5(ff, |r| &r.train), 2, false),
            ],
            reference: reference.clone(),
            log2_x: false,
        },
        Panel {
            title: "Greedy evaluation return, 5-epoch moving average".into(),
            x_label: "epoch".into(),
            y_label: "return".into(),
            xs: xs.clone(),
            series: vec![
                series("BP-DQN", plots::BP_COLOR, &ma5(bp, |r| &r.eval), 3, false),
                series("FF-DQN", plots::FF_COLOR, &ma5(ff, |r| &r.eval), 4, false),
            ],
            reference: reference.clone(),
            log2_x: false,
        },
    ];
    plots::render(out, "figure1", &fig1, 2)?;

    // Goodness of each FF layer, for both FF presets.
    let mut panels = Vec::new();
    for name in ["ff", "ff-text"] {
        let Some((g, runs)) = by(name) else { continue };
        for layer in 0..g.config.hidden().len() {
            let pos: Vec<Vec<f64>> = runs.iter().map(|r| r.g_pos[layer].clone()).collect();
            let neg: Vec<Vec<f64>> = runs.iter().map(|r| r.g_neg[layer].clone()).collect();
            panels.push(Panel {
                title: format!(
                    "{}: layer {} goodness ({:?})",
                    g.config_file,
                    layer + 1,
                    g.config.ff().objective.goodness
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
                reference: Some((
                    g.config.ff().objective.margin,
                    format!("margin m = {}", g.config.ff().objective.margin),
                )),
                log2_x: false,
            });
        }
    }
    let cols = ff_g.config.hidden().len().max(1);
    plots::render(out, "goodness", &panels, cols)?;

    // Memory versus depth.
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
    let flat = |v: Vec<f64>| (v.clone(), v.clone(), v);
    let line = |label: &str, color, v: Vec<f64>, dashed| {
        let (mean, lo, hi) = flat(v);
        Series {
            label: label.into(),
            color,
            mean,
            lo,
            hi,
            dashed,
        }
    };
    let width = mem.first().map_or(0, |r| r.width);
    let batch = mem.first().map_or(0, |r| r.batch);
    let mem_panels = [
        Panel {
            title: format!("Working memory of one update (width {width}, batch {batch})"),
            x_label: "hidden layers".into(),
            y_label: "peak heap above parameters, MiB".into(),
            xs: depths.clone(),
            series: vec![
                line(
                    "BP-DQN",
                    plots::BP_COLOR,
                    mib(AgentKind::Bp, |r| r.working_peak_bytes),
                    false,
                ),
                line(
                    "FF-DQN",
                    plots::FF_COLOR,
                    mib(AgentKind::Ff, |r| r.working_peak_bytes),
                    false,
                ),
            ],
            reference: None,
            log2_x: true,
        },
        Panel {
            title: "Parameters + optimizer state (both networks)".into(),
            x_label: "hidden layers".into(),
            y_label: "MiB".into(),
            xs: depths,
            series: vec![
                line(
                    "BP-DQN",
                    plots::BP_COLOR,
                    mib(AgentKind::Bp, |r| r.params_and_state_bytes),
                    false,
                ),
                line(
                    "FF-DQN",
                    plots::FF_COLOR,
                    mib(AgentKind::Ff, |r| r.params_and_state_bytes),
                    true,
                ),
            ],
            reference: None,
            log2_x: true,
        },
    ];
    plots::render(out, "memory", &mem_panels, 2)?;

    // Initialisation study.
    let mut init_series = Vec::new();
    for (name, label, color, dashed) in [
        (
            "ff",
            "FF-DQN, xavier init (paper.toml)",
            plots::FF_COLOR,
            false,
        ),
        (
            "ff-warmstart",
            "FF-DQN, BP warm start",
            plots::WARM_COLOR,
            false,
        ),
        (
            "ff-text",
            "FF-DQN (paper-text.toml)",
            plots::TEXT_COLOR,
            false,
        ),
        ("bp", "BP-DQN (reference)", plots::BP_COLOR, true),
    ] {
        if let Some((_, runs)) = by(name) {
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
    plots::render(out, "init", &init_panel, 1)?;
    Ok(())
}

/// Per-group numbers of the report.
struct GroupStats {
    finals: Vec<f64>,
    iqm: f64,
    ci: (f64, f64),
    mean: f64,
    std: f64,
    reached: usize,
    median_epochs: Option<f64>,
    last20: f64,
    wall: f64,
}

fn group_stats(runs: &[RunData], seed: u64) -> GroupStats {
    let finals: Vec<f64> = runs.iter().map(|r| r.final_mean).collect();
    let epochs: Vec<Option<usize>> = runs.iter().map(RunData::epochs_to_threshold).collect();
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
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_else(|| "rustc (unknown version)".into());
    format!("{}, {rustc}", crate::machine())
}

fn commit() -> String {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(crate::project_root())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match git(&["rev-parse", "--short", "HEAD"]) {
        Some(c) => {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty {
                format!("{c} (with uncommitted changes)")
            } else {
                c
            }
        }
        None => "unknown (not a git checkout)".into(),
    }
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

#[allow(clippy::too_many_arguments)]
pub fn report(
    out: &Path,
    groups: &[Group],
    data: &[Vec<RunData>],
    mem: &[MemRow],
    seeds: u64,
    quick: bool,
    wall: f64,
    skipped: usize,
) -> Result<String> {
    let st: Vec<GroupStats> = data
        .iter()
        .enumerate()
        .map(|(i, runs)| group_stats(runs, 100 + i as u64))
        .collect();
    let idx = |name: &str| groups.iter().position(|g| g.name == name);
    let (Some(bp), Some(ff)) = (idx("bp"), idx("ff")) else {
        anyhow::bail!("the bp and ff groups are required")
    };
    let mut r = String::new();
    let _ = writeln!(r, "# FF-DQN reproduction report\n");
    if quick {
        let _ = writeln!(
            r,
            "> **Smoke run (`--quick`)**: a few epochs and seeds; the numbers below say nothing about the paper.\n"
        );
    }
    let _ = writeln!(r, "## Set-up\n");
    let _ = writeln!(
        r,
        "- Command: `cargo xtask experiment{}` ({} runs reused from an earlier invocation)",
        if quick { " --quick" } else { "" },
        skipped
    );
    let _ = writeln!(
        r,
        "- Seeds: 0–{} for every group ({seeds} per group); each run is deterministic in its seed",
        seeds - 1
    );
    let _ = writeln!(r, "- Machine: {}", machine());
    let _ = writeln!(
        r,
        "- Wall time of this invocation: {:.0} s ({:.1} min)",
        wall,
        wall / 60.0
    );
    let _ = writeln!(r, "- Commit: {}", commit());
    let _ = writeln!(r, "- Groups:");
    for (g, s) in groups.iter().zip(&st) {
        let c = &g.config;
        let _ = writeln!(
            r,
            "  - `{}`: {} — `configs/{}`, {} epochs × {} episodes, hidden {:?}; {:.1} s per run on average",
            g.name,
            g.label,
            g.config_file,
            c.train().epochs,
            c.train().episodes_per_epoch,
            c.hidden(),
            s.wall
        );
    }
    let _ = writeln!(
        r,
        "\nScores: a run's *final return* is the mean of its {} final greedy episodes. Across seeds: \
         interquartile mean (IQM, 25% trimmed mean) with a 95% bootstrap confidence interval \
         ({} resamples over seeds, rliable's stratified bootstrap with one task); *epochs to {THRESHOLD}* is the \
         first epoch at which the 10-epoch moving average of the training return reaches {THRESHOLD} (median over seeds, \
         a seed that never does counting as slowest; \"–\" when fewer than half reach it); *last-20 std* is the \
         standard deviation of the training return over the last 20 epochs, averaged over seeds.\n",
        groups[bp].config.train().final_eval_episodes,
        stats::RESAMPLES
    );
    let _ = writeln!(r, "## Final return\n");
    let _ = writeln!(
        r,
        "| group | IQM final return [95% CI] | mean ± std over seeds | seeds reaching {THRESHOLD} | epochs to {THRESHOLD} (median) | last-20 std |"
    );
    let _ = writeln!(r, "|---|---|---|---|---|---|");
    for (g, s) in groups.iter().zip(&st) {
        let _ = writeln!(
            r,
            "| {} | {} [{}, {}] | {} ± {} | {}/{} | {} | {} |",
            g.label,
            f1(s.iqm),
            f1(s.ci.0),
            f1(s.ci.1),
            f1(s.mean),
            f1(s.std),
            s.reached,
            s.finals.len(),
            s.median_epochs.map_or("–".into(), f1),
            f1(s.last20)
        );
    }
    let pairs = [
        ("ff", "bp"),
        ("ff-warmstart", "ff"),
        ("ff-text", "ff"),
        ("ff-warmstart", "bp"),
    ];
    let _ = writeln!(
        r,
        "\nProbability of improvement (P(X > Y): a random seed of X ends above a random seed of Y; 0.5 is a tie):\n"
    );
    let _ = writeln!(r, "| X | Y | P(X > Y) [95% CI] |\n|---|---|---|");
    let mut pi = HashMap::new();
    for (x, y) in pairs {
        if let (Some(i), Some(j)) = (idx(x), idx(y)) {
            let p = prob_improvement(&st[i].finals, &st[j].finals);
            let ci = prob_improvement_ci(&st[i].finals, &st[j].finals, 7);
            pi.insert((x, y), (p, ci));
            let _ = writeln!(
                r,
                "| {} | {} | {:.2} [{:.2}, {:.2}] |",
                groups[i].label, groups[j].label, p, ci.0, ci.1
            );
        }
    }
    let _ = writeln!(
        r,
        "\n![Figure 1](figure1.svg)\n\nFigure 1: mean over seeds with a 95% bootstrap band; left the training (ε-greedy) return as in the paper's Figure 1, right the greedy evaluation after each epoch.\n"
    );

    // Memory.
    let _ = writeln!(r, "## Memory of one training update\n");
    let (width, batch) = mem.first().map_or((0, 0), |m| (m.width, m.batch));
    let _ = writeln!(
        r,
        "Measured with a counting global allocator, one update at batch {batch}, hidden layers of width {width}, \
         the FF step on every minibatch. *Parameters + state*: what building the agent adds (online and target \
         networks, optimizer moments). *Working peak*: the highest heap above that during the update (activations, \
         gradients, scratch, the target network's forward pass, gemm packing).\n"
    );
    let _ = writeln!(
        r,
        "| hidden layers | BP params + state (MiB) | FF params + state (MiB) | BP working peak (MiB) | FF working peak (MiB) | BP / FF working |"
    );
    let _ = writeln!(r, "|---|---|---|---|---|---|");
    let mut depths: Vec<usize> = mem.iter().map(|m| m.depth).collect();
    depths.dedup();
    let row = |kind, d| mem.iter().find(|m| m.agent == kind && m.depth == d);
    let mut ratios = Vec::new();
    for &d in &depths {
        if let (Some(b), Some(f)) = (row(AgentKind::Bp, d), row(AgentKind::Ff, d)) {
            let ratio = b.working_peak_bytes as f64 / f.working_peak_bytes.max(1) as f64;
            ratios.push((d, ratio, b.working_peak_bytes, f.working_peak_bytes));
            let _ = writeln!(
                r,
                "| {d} | {} | {} | {} | {} | {ratio:.2} |",
                mib(b.params_and_state_bytes),
                mib(f.params_and_state_bytes),
                mib(b.working_peak_bytes),
                mib(f.working_peak_bytes)
            );
        }
    }
    let _ = writeln!(r, "\n![Memory](memory.svg)\n");

    // Init study.
    let _ = writeln!(r, "## Initialisation and preset\n");
    let _ = writeln!(
        r,
        "FF-DQN from its usual initialisation against the same network after a BP warm start, and the preset taken from the paper's text, on the same seeds. P(X > usual) compares each with FF-DQN on `paper.toml`.\n"
    );
    let _ = writeln!(
        r,
        "| FF-DQN variant | init | IQM final return [95% CI] | seeds reaching {THRESHOLD} | P(X > usual init) [95% CI] |"
    );
    let _ = writeln!(r, "|---|---|---|---|---|");
    for name in ["ff", "ff-warmstart", "ff-text"] {
        let Some(i) = idx(name) else { continue };
        let g = &groups[i];
        let init = match g.config.ff().bp_warmstart_steps {
            Some(n) => format!("BP warm start, {n} updates, from {:?}", g.config.ff().init),
            None => format!("{:?}", g.config.ff().init),
        };
        let p = if name == "ff" {
            "–".to_string()
        } else {
            let p = prob_improvement(&st[i].finals, &st[ff].finals);
            let (lo, hi) = prob_improvement_ci(&st[i].finals, &st[ff].finals, 7);
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

    // Verdicts.
    let _ = writeln!(r, "## The paper's claims\n");
    let verdict = |ok: usize, of: usize| {
        if ok == of {
            "**supported**"
        } else if ok == 0 {
            "**not supported**"
        } else {
            "**mixed**"
        }
    };
    let n = seeds as usize;
    let half = n.div_ceil(2);
    let (b, f) = (&st[bp], &st[ff]);
    // 1.
    let both = [b.reached >= half, f.reached >= half];
    let _ = writeln!(
        r,
        "1. *Both agents reach near-optimal return (200).* {} — the 10-epoch average training return reaches {THRESHOLD} in {}/{n} BP-DQN seeds and {}/{n} FF-DQN seeds (criterion: at least half the seeds); final greedy IQM {} (BP) vs {} (FF).",
        verdict(both.iter().filter(|&&x| x).count(), 2),
        b.reached,
        f.reached,
        f1(b.iqm),
        f1(f.iqm)
    );
    // 2.
    let inf = |m: Option<f64>| m.unwrap_or(f64::INFINITY);
    let slower = inf(f.median_epochs) > inf(b.median_epochs);
    let varies = f.last20 > b.last20;
    let _ = writeln!(
        r,
        "2. *FF-DQN converges more slowly and varies more across epochs.* {} — median epochs to {THRESHOLD}: {} (FF) vs {} (BP){}; last-20-epoch std of the training return: {} (FF) vs {} (BP).",
        verdict(usize::from(slower) + usize::from(varies), 2),
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
    // 3.
    if let Some(&(p, (lo, hi))) = pi.get(&("ff", "bp")) {
        let (v, why) = if lo <= 0.5 && 0.5 <= hi {
            (
                "**supported**",
                "the interval includes 0.5: no detectable difference",
            )
        } else if hi < 0.5 {
            ("**not supported**", "FF-DQN ends below BP-DQN")
        } else {
            ("**not supported**", "FF-DQN ends above BP-DQN")
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
    // 4.
    let less = ratios
        .iter()
        .filter(|(_, ratio, _, _)| *ratio > 1.0)
        .count();
    if let (Some(first), Some(last)) = (ratios.first(), ratios.last()) {
        let _ = writeln!(
            r,
            "4. *FF avoids storing activations for a backward pass, so it uses less memory.* {} — FF's working memory is below BP's at {less}/{} depths; BP needs {:.2}× FF's at {} layers and {:.2}× at {} layers. From {} to {} layers FF's working peak grows {:.2}× ({} → {} MiB) while BP's grows {:.2}× ({} → {} MiB). Parameters and optimizer state are the same size for both (same network, Adam-type moments): the saving is in working memory only.",
            verdict(less, ratios.len()),
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
    // 5.
    if let (Some(&(p, (lo, hi))), Some(w)) = (pi.get(&("ff-warmstart", "ff")), idx("ff-warmstart"))
    {
        let sensitive = !(lo <= 0.5 && 0.5 <= hi);
        let _ = writeln!(
            r,
            "5. *FF-DQN is sensitive to initialization.* {} — P(warm start > usual init) = {p:.2} [{lo:.2}, {hi:.2}]; final IQM {} [{}, {}] with a BP warm start vs {} [{}, {}] from xavier init; seeds reaching {THRESHOLD}: {}/{n} vs {}/{n}.{}",
            if sensitive {
                "**supported**"
            } else {
                "**not supported**"
            },
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
    if let Some(t) = idx("ff-text") {
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
    let _ = writeln!(
        r,
        "\n## Files\n\n`runs/<group>/seed-<n>/` holds each run's `metrics.csv`, `summary.json` and `config.toml`; `all_epochs.csv` \
         every epoch of every run (long format); `runs.csv` one row per run; `memory.json` the memory study; figures as SVG and PNG. \
         Output directory: `{}`.",
        out.display()
    );
    Ok(r)
}
