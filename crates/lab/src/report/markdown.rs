//! REPORT.md: the measures rendered as markdown, section by section; each study renders its
//! own section.

use super::figures::{agent_title, goodness_groups, mem_agents};
use super::measure::{Analysis, GroupStats};
use super::{Group, ReportContext, RunData, claims};
use crate::memory::MemRow;
use crate::plan::{Plan, Study};
use crate::stats;
use agents::{AgentKind, RunDir};
use std::fmt::Write;
use std::path::Path;

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
fn code_lines(ctx: &ReportContext, plan: &Plan, data: &[Vec<RunData>]) -> Vec<String> {
    let mut trained: Vec<(String, usize)> = Vec::new();
    for (g, runs) in data.iter().enumerate() {
        let peer = plan.groups.get(g).is_some_and(|pg| pg.peer.is_some());
        for run in runs {
            let name = match &run.code {
                Some(code) => code.to_string(),
                None if peer => "another implementation (peer groups, see Peers)".to_string(),
                None => "code not recorded (runs written before ffdqn recorded it)".to_string(),
            };
            match trained.iter_mut().find(|(n, _)| *n == name) {
                Some((_, k)) => *k += 1,
                None => trained.push((name, 1)),
            }
        }
    }
    let mut lines = vec![format!("- Report written by: {}", ctx.code)];
    for (name, k) in trained {
        lines.push(format!("- Runs trained by: {name} ({k} runs)"));
    }
    lines
}

pub(super) fn f1(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.1}")
    } else {
        "–".into()
    }
}

pub(super) fn mib(b: usize) -> String {
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
    for line in code_lines(ctx, plan, data) {
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

/// REPORT.md of a finished plan: the measures ([`Analysis`]) rendered section by section, each
/// study rendering its own.
pub(super) fn report(
    out: &Path,
    plan: &Plan,
    groups: &[Group],
    data: &[Vec<RunData>],
    mem: Option<&[MemRow]>,
    ctx: &ReportContext,
    peers: &str,
) -> String {
    let a = Analysis::new(plan, groups, data);
    let mut r = String::new();
    title(&mut r, plan);
    setup_section(&mut r, plan, groups, data, &a.stats, ctx);
    scores_note(&mut r, groups, &a.threshold);
    final_return_table(&mut r, groups, &a);
    compare_table(&mut r, plan, groups, &a);
    questions_section(&mut r, plan, groups, &a);
    figure_notes(&mut r, plan, groups);
    let ratios = match mem {
        Some(mem) => memory_section(&mut r, mem),
        None => Vec::new(),
    };
    if plan.studies.contains(&Study::Init) {
        init_section(&mut r, groups, &a);
    }
    if plan.studies.contains(&Study::PaperClaims) {
        claims::paper_claims(&mut r, &a, &ratios, plan.seeds.len(), plan.quick);
    }
    r.push_str(peers);
    files_note(&mut r, out, mem.is_some());
    r
}

/// The title, the experiment's description and a smoke run's warning.
fn title(r: &mut String, plan: &Plan) {
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
}

/// What each score in the tables means.
fn scores_note(r: &mut String, groups: &[Group], threshold: &str) {
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
}

/// The table of every group's final return.
fn final_return_table(r: &mut String, groups: &[Group], a: &Analysis) {
    let threshold = &a.threshold;
    let _ = writeln!(r, "## Final return\n");
    let _ = writeln!(
        r,
        "| group | IQM final return [95% CI] | mean ± std over seeds | seeds ending ≥ {threshold} | seeds whose training average reaches {threshold} | epochs to {threshold} (median) | last-20 std |"
    );
    let _ = writeln!(r, "|---|---|---|---|---|---|---|");
    for (g, s) in groups.iter().zip(&a.stats) {
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
}

/// P(X > Y) for each pair the experiment compares.
fn compare_table(r: &mut String, plan: &Plan, groups: &[Group], a: &Analysis) {
    if plan.compares.is_empty() {
        return;
    }
    let _ = writeln!(
        r,
        "\nProbability of improvement (P(X > Y): a random seed of X ends above a random seed of Y; 0.5 is a tie):\n"
    );
    let _ = writeln!(r, "| X | Y | P(X > Y) [95% CI] |\n|---|---|---|");
    for c in &plan.compares {
        if let (Some(i), Some(j)) = (a.index(&c.x), a.index(&c.y)) {
            let (p, ci) = a.p(i, j);
            let _ = writeln!(
                r,
                "| {} | {} | {:.2} [{:.2}, {:.2}] |",
                groups[i].label, groups[j].label, p, ci.0, ci.1
            );
        }
    }
}

/// Each question the experiment asks, answered from P(X > Y) over seeds.
fn questions_section(r: &mut String, plan: &Plan, groups: &[Group], a: &Analysis) {
    let questions: Vec<_> = plan
        .compares
        .iter()
        .filter_map(|c| Some((c.question.as_deref()?, a.index(&c.x)?, a.index(&c.y)?)))
        .collect();
    if questions.is_empty() {
        return;
    }
    let _ = writeln!(
        r,
        "\n## Questions\n\nEach answered from P(X > Y) over seeds: *yes* when its 95% CI lies above 0.5, *no* when it lies below, *not resolved* when it contains 0.5 (more seeds would be needed to tell).\n"
    );
    let st = &a.stats;
    for (q, i, j) in questions {
        let (p, (lo, hi)) = a.p(i, j);
        let answer = answer(plan, &groups[i].label, &groups[j].label, (lo, hi));
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

/// A question's answer from the CI of P(X > Y): yes, no, or not resolved.
fn answer(plan: &Plan, x: &str, y: &str, (lo, hi): (f64, f64)) -> String {
    if plan.quick {
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
    }
}

/// Figure 1, and the goodness figure when the init study does not show it.
fn figure_notes(r: &mut String, plan: &Plan, groups: &[Group]) {
    let _ = writeln!(
        r,
        "\n![Figure 1](figure1.svg)\n\nFigure 1: mean over seeds with a 95% bootstrap band; left the training (ε-greedy) return, right the greedy evaluation after each epoch.\n"
    );
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
}

/// The init study: FF-DQN from its usual initialisation against a BP warm start and the
/// paper's text preset.
fn init_section(r: &mut String, groups: &[Group], a: &Analysis) {
    let Some(ff) = a.roles.ff else { return };
    let (st, threshold) = (&a.stats, &a.threshold);
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
    for i in [Some(ff), a.roles.ff_warmstart, a.roles.ff_text]
        .into_iter()
        .flatten()
    {
        let g = &groups[i];
        let init = match g.config.ff().bp_warmstart_steps {
            Some(n) => format!("BP warm start, {n} updates, from {:?}", g.config.ff().init),
            None => format!("{:?}", g.config.ff().init),
        };
        let p = if i == ff {
            "–".to_string()
        } else {
            let (p, (lo, hi)) = a.p(i, ff);
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

/// What each file of the experiment directory holds.
fn files_note(r: &mut String, out: &Path, memory: bool) {
    let _ = writeln!(
        r,
        "\n## Files\n\n`plan.json` is the expanded experiment; `runs/<group>/seed-<n>/` holds each run's `metrics.csv`, `summary.json`, `config.toml` and `weights.json`; `all_epochs.csv` \
         every epoch of every run (long format); `runs.csv` one row per run;{} figures as SVG and PNG. \
         Output directory: `{}`.",
        if memory {
            " `memory.json` the memory study;"
        } else {
            ""
        },
        out.display()
    );
}

/// The peer groups: what wrote their runs (each run's `peer.json`), the command, and the peer
/// groups left out for want of runs. Empty when the experiment has no peer group.
pub(super) fn peers_section(out: &Path, plan: &Plan, left_out: &[String]) -> String {
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
