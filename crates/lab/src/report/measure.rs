//! The report's measures, as typed data: each group's statistics over seeds, P(X > Y) between
//! groups, and the groups the experiment's roles name.

use super::{Group, RunData};
use crate::plan::Plan;
use crate::stats::{self, bootstrap_ci, iqm, mean, median, prob_improvement, prob_improvement_ci};

/// What a report renders, measured once.
pub(super) struct Analysis {
    /// Per group, in the plan's order.
    pub(super) stats: Vec<GroupStats>,
    /// The threshold as tables and text name it: the number when every group shares it.
    pub(super) threshold: String,
    /// The groups the experiment's `[roles]` name, by index.
    pub(super) roles: Roles,
    names: Vec<String>,
}

/// The groups playing the roles the studies read, by index (`None`: not given, or no such
/// group).
pub(super) struct Roles {
    pub(super) bp: Option<usize>,
    pub(super) ff: Option<usize>,
    pub(super) ff_warmstart: Option<usize>,
    pub(super) ff_text: Option<usize>,
}

impl Analysis {
    pub(super) fn new(plan: &Plan, groups: &[Group], data: &[Vec<RunData>]) -> Self {
        let threshold = plan
            .common_threshold()
            .map_or_else(|| "its threshold".to_string(), |t| t.to_string());
        let stats = data
            .iter()
            .enumerate()
            .map(|(i, runs)| {
                // Seeded by the group's name, not its position: the same group gets the same
                // interval in every experiment that holds it.
                let seed = agents::checkpoint::fnv1a(plan.groups[i].name.as_bytes());
                group_stats(runs, seed, plan.groups[i].threshold)
            })
            .collect();
        let names: Vec<String> = groups.iter().map(|g| g.name.clone()).collect();
        let roles = plan.roles();
        let find =
            |r: &Option<String>| r.as_deref().and_then(|n| names.iter().position(|g| g == n));
        let roles = Roles {
            bp: find(&roles.bp),
            ff: find(&roles.ff),
            ff_warmstart: find(&roles.ff_warmstart),
            ff_text: find(&roles.ff_text),
        };
        Self {
            stats,
            threshold,
            roles,
            names,
        }
    }

    /// The group called `name`.
    pub(super) fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|g| g == name)
    }

    /// P(group `i` > group `j`) over seeds, with its 95% CI.
    pub(super) fn p(&self, i: usize, j: usize) -> (f64, (f64, f64)) {
        let (x, y) = (&self.stats[i].finals, &self.stats[j].finals);
        (prob_improvement(x, y), prob_improvement_ci(x, y, 7))
    }
}

/// Per-group numbers of the report.
pub(super) struct GroupStats {
    pub(super) finals: Vec<f64>,
    pub(super) iqm: f64,
    pub(super) ci: (f64, f64),
    pub(super) mean: f64,
    pub(super) std: f64,
    pub(super) reached: usize,
    /// Seeds whose final greedy return is at or above the threshold.
    pub(super) solved: usize,
    pub(super) median_epochs: Option<f64>,
    pub(super) last20: f64,
    pub(super) wall: f64,
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
