//! Experiment files and the plans they expand into.
//!
//! An experiment file (TOML) names its groups — a label, an agent, a config file and
//! `--set`-style overrides — the seeds, the comparisons to report and the studies to include;
//! a `[[sweep]]` is a group over a grid of override values. A sweep point's group is named
//! `SWEEP.KEY=VALUE[,KEY=VALUE…]`, each axis with its whole dotted key, in axis order. [`Plan::from_file`] validates it and
//! expands it into a [`Plan`]: every group with its config resolved to TOML text, and one
//! [`RunPlan`] per (group, seed). The plan is written as `plan.json` into the output directory,
//! so that a compute node needs only the `ffdqn` binary and that file to run any of its runs.
//!
//! ```toml
//! name = "margin-sweep"
//! seeds = 20                        # seeds 0..20 (or a list: [100, 101, 102])
//! studies = []                      # "memory", "paper-claims", "init"
//!
//! [roles]                           # the groups the studies read (paper-claims, init)
//! bp = "bp"
//! ff = "ff-margin.ff.margin=2"
//!
//! [quick]                           # what --quick changes: fewer seeds, shorter runs
//! seeds = 2
//! set = ["train.epochs=6"]
//!
//! [[group]]
//! name = "bp"
//! label = "BP-DQN"
//! agent = "bp"
//! config = "../paper.toml"          # relative to this file
//!
//! [[sweep]]                         # groups ff-margin.ff.margin=0.5, ff-margin.ff.margin=1, …
//! name = "ff-margin"
//! agent = "ff"
//! config = "../paper.toml"
//! set = ["ff.update-prob=1.0"]
//! axes = [{ key = "ff.margin", values = [0.5, 1.0, 2.0] }]
//!
//! [[compare]]                       # P(X > Y) in the report
//! x = "ff-margin.ff.margin=2"
//! y = "bp"
//! question = "Does the widest margin beat backprop?"   # optional: answered in the report
//! ```

use crate::error::{Error, Result, read_err};
use agents::{AgentKind, Config};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Which group plays each part the studies read: `[roles]` in the experiment file, so that no
/// study finds its groups by a name written in code.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Roles {
    /// The backprop baseline (paper-claims, the init figure's reference).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bp: Option<String>,
    /// FF-DQN as published (paper-claims, init, the goodness figure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ff: Option<String>,
    /// FF-DQN after a BP warm start (paper-claims' initialisation claim, init).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ff_warmstart: Option<String>,
    /// FF-DQN with the paper's text taken literally (the preset ablation, init, goodness).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ff_text: Option<String>,
}

impl Roles {
    /// What a `plan.json` written before `[roles]` existed meant: the groups by their
    /// conventional names.
    fn conventional() -> Self {
        Roles {
            bp: Some("bp".into()),
            ff: Some("ff".into()),
            ff_warmstart: Some("ff-warmstart".into()),
            ff_text: Some("ff-text".into()),
        }
    }

    /// Every role given, as `(key, group)`.
    pub fn given(&self) -> Vec<(&'static str, &str)> {
        [
            ("bp", &self.bp),
            ("ff", &self.ff),
            ("ff-warmstart", &self.ff_warmstart),
            ("ff-text", &self.ff_text),
        ]
        .into_iter()
        .filter_map(|(k, v)| Some((k, v.as_deref()?)))
        .collect()
    }
}

/// A section of the report beyond the final-return table and Figure 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Study {
    /// Peak heap of one update, BP against FF, as depth grows.
    Memory,
    /// A verdict on each of the FF-DQN paper's claims (needs roles `bp` and `ff`; uses
    /// `ff-warmstart` and `ff-text` when given).
    PaperClaims,
    /// FF-DQN's initialisation and preset table (needs role `ff`).
    Init,
}

impl Study {
    /// The name as written in experiment files.
    pub fn name(self) -> &'static str {
        match self {
            Study::Memory => "memory",
            Study::PaperClaims => "paper-claims",
            Study::Init => "init",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum RawSeeds {
    Count(u64),
    List(Vec<u64>),
}

impl RawSeeds {
    fn len(&self) -> u64 {
        match self {
            RawSeeds::Count(n) => *n,
            RawSeeds::List(v) => v.len() as u64,
        }
    }
}

/// The seeds `0..n` or the list, with no seed twice and at most [`MAX_RUNS`] of them.
fn expand_seeds(seeds: &RawSeeds) -> std::result::Result<Vec<u64>, String> {
    if seeds.len() > MAX_RUNS {
        return Err(format!(
            "{} seeds: a plan holds at most {MAX_RUNS} runs; split the seeds over several experiments",
            seeds.len()
        ));
    }
    let seeds = match seeds {
        RawSeeds::Count(n) => (0..*n).collect(),
        RawSeeds::List(v) => v.clone(),
    };
    let mut seen = std::collections::HashSet::with_capacity(seeds.len());
    if let Some(dup) = seeds.iter().find(|s| !seen.insert(**s)) {
        return Err(format!("seed {dup} is listed twice"));
    }
    if seeds.is_empty() {
        return Err("no seeds: give `seeds = N` (N >= 1) or a list".into());
    }
    Ok(seeds)
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawQuick {
    seeds: Option<RawSeeds>,
    #[serde(default)]
    set: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawGroup {
    name: String,
    label: Option<String>,
    agent: AgentKind,
    config: PathBuf,
    #[serde(default)]
    set: Vec<String>,
    #[serde(default)]
    quick_set: Vec<String>,
    #[serde(default)]
    axes: Vec<RawAxis>,
    /// The command that writes this group's runs: another implementation (a peer), which
    /// ffdqn does not run, whose runs the report reads beside its own.
    #[serde(default)]
    peer: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawAxis {
    key: String,
    values: Vec<toml::Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawCompare {
    x: String,
    y: String,
    #[serde(default)]
    question: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawExperiment {
    name: String,
    #[serde(default)]
    description: String,
    seeds: RawSeeds,
    #[serde(default)]
    studies: Vec<Study>,
    #[serde(default)]
    roles: Roles,
    /// The return that counts as solved, for every group (default: each group's task's).
    threshold: Option<f64>,
    quick: Option<RawQuick>,
    #[serde(default, rename = "group")]
    groups: Vec<RawGroup>,
    #[serde(default, rename = "sweep")]
    sweeps: Vec<RawGroup>,
    #[serde(default, rename = "compare")]
    compares: Vec<RawCompare>,
}

/// How a plan is made from its file.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Use the file's `[quick]` settings: fewer seeds, shorter runs (a smoke test).
    pub quick: bool,
    /// Seeds 0..N for every group instead of the file's.
    pub seeds: Option<u64>,
}

/// One group of runs: one agent and one resolved config, over the plan's seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupPlan {
    /// Directory-safe name (`runs/<name>/seed-<n>`).
    pub name: String,
    /// Label for tables and figures.
    pub label: String,
    /// Which agent.
    pub agent: AgentKind,
    /// The config file as the experiment file names it.
    pub config_file: String,
    /// The overrides applied to it, in order.
    pub overrides: Vec<String>,
    /// The resolved config, as TOML.
    pub config: String,
    /// The return that counts as solved for this group: the experiment's `threshold`, or its
    /// task's (see [`default_threshold`]).
    pub threshold: f64,
    /// For a peer group (another implementation's runs, written in ffdqn's run-directory
    /// form): the command that writes them. ffdqn never runs such a group; its report reads
    /// the runs it finds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
}

/// What counts as solved on a task when the experiment says nothing: Gymnasium's
/// `reward_threshold` (Acrobot-v1 −100, MountainCar-v0 −110), and for CartPole-v1 195 of the
/// paper's 200-step cap (Gymnasium's 475 of 500; the same 97.5% of any other cap). MinAtar's
/// games have none.
pub fn default_threshold(env: envs::EnvId, max_episode_steps: u32) -> Option<f64> {
    match env {
        envs::EnvId::CartPole if max_episode_steps == 500 => Some(475.0),
        envs::EnvId::CartPole => Some(0.975 * f64::from(max_episode_steps)),
        other => other.gymnasium_reward_threshold(),
    }
}

/// One run: a group and a seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunPlan {
    /// Index into [`Plan::groups`].
    pub group: usize,
    /// The seed.
    pub seed: u64,
}

/// A comparison the report states as P(X > Y).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Compare {
    /// Group name of X.
    pub x: String,
    /// Group name of Y.
    pub y: String,
    /// A question the comparison answers; the report answers it from P(X > Y)'s confidence
    /// interval (yes, no, or not resolved at this many seeds).
    #[serde(default)]
    pub question: Option<String>,
}

/// An experiment expanded: every group resolved, every run listed. Serialised as `plan.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// `"ffdqn-plan"`.
    pub format: String,
    /// Format version.
    pub version: u32,
    /// The experiment's name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// The experiment file it came from.
    pub experiment_file: String,
    /// FNV-1a 64 of the experiment file's bytes, in hex (empty in plans written before it
    /// was recorded).
    #[serde(default)]
    pub experiment_hash: String,
    /// Made with `--quick`.
    pub quick: bool,
    /// Seeds of every group.
    pub seeds: Vec<u64>,
    /// Report sections beyond the default ones.
    pub studies: Vec<Study>,
    /// The groups the studies read (None in a plan written before `[roles]` existed: see
    /// [`Plan::roles`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Roles>,
    /// The groups.
    pub groups: Vec<GroupPlan>,
    /// P(X > Y) pairs for the report.
    pub compares: Vec<Compare>,
    /// Every run, groups in order, seeds within a group in order.
    pub runs: Vec<RunPlan>,
}

const FORMAT: &str = "ffdqn-plan";
/// The most runs (groups × seeds) a plan may hold: far beyond any sweep a cluster runs, and
/// small enough that the plan, its task list and the report fit in memory.
pub const MAX_RUNS: u64 = 1_000_000;
/// The most groups (sweep points included) a plan may hold: each carries its whole config.
pub const MAX_GROUPS: u64 = 10_000;
/// The largest experiment file read (a sweep's values are text too).
const MAX_FILE_BYTES: u64 = 16 << 20;
const VERSION: u32 = 1;

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._=,+-".contains(c))
}

/// A sweep value as it appears in a group name: strings without quotes, anything else as
/// TOML, with characters a directory name should not hold replaced.
fn value_in_name(v: &toml::Value) -> String {
    let text = match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-+".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Refuses a plan too large to hold: every group's grid counted before anything is expanded.
fn check_size(raw: &RawExperiment, n_seeds: usize) -> std::result::Result<(), String> {
    let mut n_groups = 0u64;
    for g in raw.groups.iter().chain(&raw.sweeps) {
        let points = g
            .axes
            .iter()
            .try_fold(1u64, |n, a| n.checked_mul(a.values.len() as u64));
        n_groups = points
            .and_then(|p| n_groups.checked_add(p))
            .unwrap_or(u64::MAX);
    }
    let n_runs = n_groups.saturating_mul(n_seeds as u64);
    if n_groups > MAX_GROUPS || n_runs > MAX_RUNS {
        return Err(format!(
            "{n_groups} groups × {n_seeds} seeds: a plan holds at most {MAX_GROUPS} groups and {MAX_RUNS} runs; split the sweep over several experiments"
        ));
    }
    if let Some(t) = raw.threshold
        && !t.is_finite()
    {
        return Err(format!("threshold {t} is not a finite number"));
    }
    Ok(())
}

/// A sweep's grid: every combination of its axes' values, the first axis slowest (one empty
/// point for a plain group).
fn grid(g: &RawGroup) -> std::result::Result<Vec<Vec<(String, toml::Value)>>, String> {
    let mut points: Vec<Vec<(String, toml::Value)>> = vec![Vec::new()];
    for axis in &g.axes {
        if axis.values.is_empty() {
            return Err(format!(
                "sweep `{}`: axis `{}` has no values",
                g.name, axis.key
            ));
        }
        points = points
            .into_iter()
            .flat_map(|p| {
                axis.values.iter().map(move |v| {
                    let mut p = p.clone();
                    p.push((axis.key.clone(), v.clone()));
                    p
                })
            })
            .collect();
    }
    Ok(points)
}

/// A group's name and label at a grid point: the whole key of each axis, so that a name says
/// which key each value set (`ff.layer-optimizer.lr` and `ff.head-optimizer.lr` both end in
/// `lr`).
fn point_name(g: &RawGroup, point: &[(String, toml::Value)]) -> (String, String) {
    let label = g.label.clone().unwrap_or_else(|| g.name.clone());
    if point.is_empty() {
        return (g.name.clone(), label);
    }
    let name_part: Vec<String> = point
        .iter()
        .map(|(k, v)| format!("{k}={}", value_in_name(v)))
        .collect();
    let label_part: Vec<String> = point.iter().map(|(k, v)| format!("{k}={v}")).collect();
    (
        format!("{}.{}", g.name, name_part.join(",")),
        format!("{label} ({})", label_part.join(", ")),
    )
}

/// Expands the groups and sweeps of one experiment file.
struct Expander<'a> {
    /// The experiment file's directory: group configs are relative to it.
    base_dir: &'a Path,
    /// The `[quick]` overrides, when `--quick` is given.
    quick_set: &'a [String],
    /// `--quick` was given (groups add their `quick-set`).
    quick: bool,
    /// The file's threshold for every group.
    threshold: Option<f64>,
    /// Names the experiment file in an error.
    bad: &'a dyn Fn(String) -> Error,
}

impl Expander<'_> {
    /// Group `g` (a [[sweep]] when `sweep`), one [`GroupPlan`] per grid point, each config
    /// resolved for its agent (refusing what the agent would not read).
    fn expand(&self, g: &RawGroup, sweep: bool, groups: &mut Vec<GroupPlan>) -> Result<()> {
        if sweep == g.axes.is_empty() {
            return Err((self.bad)(format!(
                "{} `{}`: {}",
                if sweep { "sweep" } else { "group" },
                g.name,
                if sweep {
                    "a [[sweep]] needs axes = [{ key = \"...\", values = [...] }]"
                } else {
                    "axes belong in a [[sweep]], not a [[group]]"
                }
            )));
        }
        if g.peer.is_some() && (sweep || !g.set.is_empty() || !g.quick_set.is_empty()) {
            return Err((self.bad)(format!(
                "group `{}`: a peer group runs its config file as written: no set, quick-set or sweep axes",
                g.name
            )));
        }
        let base =
            Config::load(&self.base_dir.join(&g.config)).map_err(|source| Error::Config {
                group: g.name.clone(),
                source: Box::new(source),
            })?;
        for point in grid(g).map_err(self.bad)? {
            let mut overrides = g.set.clone();
            overrides.extend(self.quick_set.iter().cloned());
            if self.quick {
                overrides.extend(g.quick_set.iter().cloned());
            }
            overrides.extend(point.iter().map(|(k, v)| format!("{k}={v}")));
            let (name, label) = point_name(g, &point);
            let config = base
                .for_agent(g.agent, &overrides)
                .map_err(|source| Error::Config {
                    group: name.clone(),
                    source: Box::new(source),
                })?;
            let env = config.env();
            let threshold = self
                .threshold
                .or_else(|| default_threshold(env.id, env.max_episode_steps))
                .ok_or_else(|| {
                    (self.bad)(format!(
                        "group `{name}` runs {}, which has no solved return: give the experiment a `threshold` (the return that counts as solved in the report)",
                        env.id
                    ))
                })?;
            groups.push(GroupPlan {
                name,
                label,
                agent: g.agent,
                config_file: g.config.display().to_string(),
                overrides,
                config: config.to_toml(),
                threshold,
                peer: g.peer.clone(),
            });
        }
        Ok(())
    }
}

impl Plan {
    /// Reads an experiment file and expands it.
    pub fn from_file(path: &Path, opts: &PlanOptions) -> Result<Self> {
        let bad = |problem: String| Error::Experiment {
            file: path.to_path_buf(),
            problem,
        };
        let bytes = agents::fs::read_regular(path, MAX_FILE_BYTES)
            .map_err(|e| bad(format!("cannot read the experiment file: {e}")))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| bad("not UTF-8 text: an experiment is a TOML file".into()))?;
        let raw: RawExperiment =
            toml::from_str(&text).map_err(|e| bad(e.to_string().trim_end().to_string()))?;
        if !valid_name(&raw.name) {
            return Err(bad(format!(
                "name {:?}: use letters, digits and . _ = , + -",
                raw.name
            )));
        }
        // `--quick` means the file's `[quick]` settings; without them it would silently run
        // the whole experiment.
        if opts.quick && raw.quick.is_none() {
            return Err(bad(
                "--quick, but the experiment has no [quick] section: add one (seeds = N, set = [...]) or run without --quick".into(),
            ));
        }
        let quick = raw.quick.clone().unwrap_or_default();
        let seeds = match (opts.seeds, opts.quick, &quick.seeds) {
            (Some(n), _, _) => expand_seeds(&RawSeeds::Count(n)),
            (None, true, Some(q)) => expand_seeds(q),
            _ => expand_seeds(&raw.seeds),
        }
        .map_err(bad)?;
        check_size(&raw, seeds.len()).map_err(bad)?;
        let base_dir = path.parent().unwrap_or(Path::new("."));
        let mut groups = Vec::new();
        let expander = Expander {
            base_dir,
            quick_set: if opts.quick { &quick.set } else { &[] },
            quick: opts.quick,
            threshold: raw.threshold,
            bad: &bad,
        };
        for g in &raw.groups {
            expander.expand(g, false, &mut groups)?;
        }
        for g in &raw.sweeps {
            expander.expand(g, true, &mut groups)?;
        }
        // `check` below refuses a plan without groups.
        let runs = (0..groups.len())
            .flat_map(|group| seeds.iter().map(move |&seed| RunPlan { group, seed }))
            .collect();
        let plan = Plan {
            format: FORMAT.into(),
            version: VERSION,
            name: raw.name,
            description: raw.description,
            experiment_file: path.display().to_string(),
            experiment_hash: format!("{:016x}", agents::checkpoint::fnv1a(text.as_bytes())),
            quick: opts.quick,
            seeds,
            studies: raw.studies,
            roles: Some(raw.roles),
            groups,
            compares: raw
                .compares
                .into_iter()
                .map(|c| Compare {
                    x: c.x,
                    y: c.y,
                    question: c.question.filter(|q| !q.trim().is_empty()),
                })
                .collect(),
            runs,
        };
        plan.check().map_err(bad)?;
        Ok(plan)
    }

    /// What every plan holds, whether expanded from an experiment file or read from a
    /// `plan.json` that may have been edited: directory-safe, distinct group names; comparisons
    /// and studies naming groups it has; runs of its own groups and seeds.
    fn check(&self) -> std::result::Result<(), String> {
        if self.groups.is_empty() {
            return Err("no groups: add a [[group]] (name, agent, config) or a [[sweep]]".into());
        }
        let mut names = std::collections::HashSet::new();
        for g in &self.groups {
            if !valid_name(&g.name) {
                return Err(format!(
                    "group name {:?}: use letters, digits and . _ = , + -",
                    g.name
                ));
            }
            if !names.insert(g.name.as_str()) {
                return Err(format!("two groups are named `{}`", g.name));
            }
        }
        for c in &self.compares {
            for n in [&c.x, &c.y] {
                if !names.contains(n.as_str()) {
                    return Err(format!(
                        "[[compare]] names group `{n}`, which the experiment does not have (groups: {})",
                        self.groups
                            .iter()
                            .map(|g| g.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            }
        }
        let roles = self.roles();
        for (role, group) in self.roles.iter().flat_map(Roles::given) {
            if !names.contains(group) {
                return Err(format!(
                    "[roles] {role} = \"{group}\": the experiment has no group `{group}`"
                ));
            }
        }
        for study in &self.studies {
            let needs: &[(&str, &Option<String>)] = match study {
                Study::PaperClaims => &[("bp", &roles.bp), ("ff", &roles.ff)],
                Study::Init => &[("ff", &roles.ff)],
                Study::Memory => &[],
            };
            if let Some((role, _)) = needs.iter().find(|(_, g)| g.is_none()) {
                return Err(format!(
                    "study `{}` reads the group playing `{role}`: add `[roles]` with `{role} = \"GROUP\"`",
                    study.name()
                ));
            }
        }
        let seeds: std::collections::HashSet<u64> = self.seeds.iter().copied().collect();
        for r in &self.runs {
            if r.group >= self.groups.len() {
                return Err(format!(
                    "a run names group {} of {}",
                    r.group,
                    self.groups.len()
                ));
            }
            if !seeds.contains(&r.seed) {
                return Err(format!(
                    "a run has seed {}, not one of the plan's seeds",
                    r.seed
                ));
            }
        }
        Ok(())
    }

    /// Reads a `plan.json`.
    pub fn read(path: &Path) -> Result<Self> {
        // A plan of MAX_GROUPS configs and MAX_RUNS runs is well under this.
        let bytes = agents::fs::read_regular(path, 1 << 30).map_err(read_err(path))?;
        let bad = |problem: String| Error::Plan {
            path: path.to_path_buf(),
            problem,
        };
        let plan: Plan = serde_json::from_slice(&bytes)
            .map_err(|e| bad(format!("not a plan written by ffdqn ({e})")))?;
        if plan.format != FORMAT || plan.version != VERSION {
            return Err(bad(format!(
                "format {:?} version {}; this build reads {FORMAT:?} version {VERSION}",
                plan.format, plan.version
            )));
        }
        plan.check().map_err(bad)?;
        Ok(plan)
    }

    /// Writes `plan.json` into `out` (atomically).
    pub fn write(&self, out: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(|e| Error::Plan {
            path: crate::ExperimentDir::at(out).plan(),
            problem: format!("cannot encode: {e}"),
        })?;
        crate::write_file(&crate::ExperimentDir::at(out).plan(), text.as_bytes())
    }

    /// The validated config of group `g`.
    pub fn config(&self, g: usize) -> Result<Config> {
        let group = &self.groups[g];
        Config::from_toml(&group.config, &group.config_file).map_err(|source| Error::Config {
            group: group.name.clone(),
            source: Box::new(source),
        })
    }

    /// The group of run `index`.
    pub fn group_of(&self, index: usize) -> &GroupPlan {
        &self.groups[self.runs[index].group]
    }

    /// Where run `index` lives under `out` once finished ([`crate::ExperimentDir::run`]).
    pub fn run_path(&self, out: &Path, index: usize) -> PathBuf {
        let r = self.runs[index];
        crate::ExperimentDir::at(out).run(&self.groups[r.group].name, r.seed)
    }

    /// Where run `index` trains until it has finished ([`crate::ExperimentDir::partial`]).
    pub fn partial_path(&self, out: &Path, index: usize) -> PathBuf {
        let r = self.runs[index];
        crate::ExperimentDir::at(out).partial(&self.groups[r.group].name, r.seed)
    }

    /// Where a failed run `index` leaves its error ([`crate::ExperimentDir::failure`]).
    pub fn failure_path(&self, out: &Path, index: usize) -> PathBuf {
        let r = self.runs[index];
        crate::ExperimentDir::at(out).failure(&self.groups[r.group].name, r.seed)
    }

    /// `<group> seed <seed>`, for messages.
    pub fn describe(&self, index: usize) -> String {
        let r = self.runs[index];
        format!("{} seed {}", self.groups[r.group].name, r.seed)
    }

    /// Whether run `index` belongs to a peer group (ffdqn does not run it).
    pub fn is_peer_run(&self, index: usize) -> bool {
        self.groups[self.runs[index].group].peer.is_some()
    }

    /// How many of the plan's runs are peer groups' runs.
    pub fn peer_runs(&self) -> usize {
        (0..self.runs.len())
            .filter(|&i| self.is_peer_run(i))
            .count()
    }

    /// The groups the studies read: the experiment's `[roles]`, or for a plan written before
    /// they existed, the groups by their conventional names (`bp`, `ff`, `ff-warmstart`,
    /// `ff-text`) where the plan has them.
    pub fn roles(&self) -> Roles {
        if let Some(roles) = &self.roles {
            return roles.clone();
        }
        let has = |r: Option<String>| r.filter(|n| self.groups.iter().any(|g| &g.name == n));
        let c = Roles::conventional();
        Roles {
            bp: has(c.bp),
            ff: has(c.ff),
            ff_warmstart: has(c.ff_warmstart),
            ff_text: has(c.ff_text),
        }
    }

    /// Runs of group `g`, as plan indices.
    pub fn runs_of(&self, g: usize) -> impl Iterator<Item = usize> + '_ {
        self.runs
            .iter()
            .enumerate()
            .filter(move |(_, r)| r.group == g)
            .map(|(i, _)| i)
    }

    /// The one threshold every group shares, if they share one.
    pub fn common_threshold(&self) -> Option<f64> {
        let first = self.groups.first()?.threshold;
        self.groups
            .iter()
            .all(|g| g.threshold == first)
            .then_some(first)
    }

    /// The group named `name`.
    pub fn group_index(&self, name: &str) -> Option<usize> {
        self.groups.iter().position(|g| g.name == name)
    }
}
