//! A run's directory: the one owner of the files a run writes and reads back.
//!
//! ```text
//! config.toml      the configuration the run used (overrides applied)
//! run.json         agent, seed and every flag that decides the run's future (for --resume)
//! metrics.csv      one row per finished epoch, rewritten after each epoch
//! checkpoint.bin   the state to resume from (with --checkpoint-every), removed at the end
//! weights.json     the final online network
//! summary.json     written last: its presence marks a finished run
//! ```
//!
//! `ffdqn train`, the experiment runner and the report all go through [`RunDir`]; nothing else
//! names these files or parses them; training a run directory is [`crate::run::train`]'s. Every
//! write is atomic ([`crate::fs::write_atomic`]).

use crate::agent::AgentKind;
use crate::checkpoint::{self, Resumed};
use crate::config::Config;
use crate::fs::write_atomic;
use crate::io::{load_weights, save_weights};
use crate::stats::{FfEpochStats, FfLayerEpoch};
use crate::train::{EpochMetrics, LoopState, OnDivergence, RunResult, mean_std};
use crate::{Agent, Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const CONFIG: &str = "config.toml";
const INFO: &str = "run.json";
const METRICS: &str = "metrics.csv";
const CHECKPOINT: &str = "checkpoint.bin";
const WEIGHTS: &str = "weights.json";
const SUMMARY: &str = "summary.json";
/// Written beside the others by a peer (another implementation's script, such as
/// `scripts/sb3_peer.py`), never by ffdqn: what made the run.
const PEER: &str = "peer.json";
/// The lock file: held (an OS file lock) by the one process writing the run.
const LOCK: &str = ".lock";

/// A run directory held by this process ([`RunDir::lock`]): no other `ffdqn` process can lock
/// it until this is dropped. The operating system releases the lock when the process ends, so
/// a killed run leaves no stale lock.
#[derive(Debug)]
pub struct RunLock {
    _file: std::fs::File,
}

/// `run.json`: what a run is, beyond its config, and every setting that decides its future,
/// so that `--resume` continues exactly the run that was started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunInfo {
    /// Which agent.
    pub agent: AgentKind,
    /// The seed.
    pub seed: u64,
    /// Save a checkpoint every this many epochs.
    pub checkpoint_every: Option<u32>,
    /// What a diverging update does.
    #[serde(default)]
    pub on_divergence: OnDivergence,
    /// The config file the run was made from (for reports; the config itself is config.toml).
    #[serde(default)]
    pub config_source: String,
    /// The config sections the agent read (`["env", "train", "network", "bp"]`): config.toml
    /// holds these and no other. Empty in runs written before it was recorded.
    #[serde(default)]
    pub config_sections: Vec<String>,
    /// The code that started the run: the `ffdqn` binary's commit, as it was built.
    #[serde(default)]
    pub code: Option<crate::Provenance>,
}

/// Final greedy evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalSummary {
    /// Episodes.
    pub episodes: usize,
    /// Mean return.
    pub mean: f64,
    /// Standard deviation.
    pub std: f64,
    /// Lowest return.
    pub min: f64,
    /// Highest return.
    pub max: f64,
    /// Every return.
    pub returns: Vec<f32>,
}

/// `summary.json`: a finished run in one file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// `"ffdqn-summary"`.
    pub format: String,
    /// Format version.
    pub version: u32,
    /// Which agent.
    pub agent: AgentKind,
    /// The seed.
    pub seed: u64,
    /// The config file.
    pub config: String,
    /// Epochs run.
    pub epochs: u32,
    /// Environment steps.
    pub env_steps: u64,
    /// Updates.
    pub updates: u64,
    /// Wall time of the run.
    pub wall_seconds: f64,
    /// Environment steps per second over the run.
    pub env_steps_per_second: f64,
    /// Final greedy evaluation.
    pub final_eval: EvalSummary,
    /// Training return of the last epoch.
    /// (JSON has no NaN: an epoch without a finished episode is written `null`.)
    #[serde(deserialize_with = "nan_from_null")]
    pub last_train_return: f64,
    /// Per-epoch training returns (the paper's Figure 1 curve).
    #[serde(deserialize_with = "nans_from_nulls")]
    pub train_returns: Vec<f64>,
    /// Per-epoch greedy evaluation returns.
    #[serde(deserialize_with = "nans_from_nulls")]
    pub eval_returns: Vec<f64>,
    /// FF minibatches skipped because S+ was empty, over the run.
    pub ff_skipped_empty_positive: u64,
    /// Minibatches whose update diverged and was undone (`--on-divergence skip-batch`).
    pub diverged_batches_skipped: u64,
    /// Version of the code.
    pub ffdqn_version: String,
    /// The code that finished the run (absent in runs written before it was recorded).
    #[serde(default)]
    pub code: Option<crate::Provenance>,
}

/// A number serde_json wrote as `null` (it writes NaN so) read back as NaN.
fn nan_from_null<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// [`nan_from_null`] for every element.
fn nans_from_nulls<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<f64>, D::Error> {
    Ok(Vec::<Option<f64>>::deserialize(d)?
        .into_iter()
        .map(|x| x.unwrap_or(f64::NAN))
        .collect())
}

impl Summary {
    /// Summarises a finished run.
    pub fn new(
        agent: AgentKind,
        seed: u64,
        config: &str,
        run: &RunResult,
        code: &crate::Provenance,
    ) -> Self {
        let (mean, std) = mean_std(&run.final_eval);
        Self {
            format: "ffdqn-summary".into(),
            version: 1,
            agent,
            seed,
            config: config.into(),
            epochs: run.epochs.len() as u32,
            env_steps: run.env_steps,
            updates: run.updates,
            wall_seconds: run.wall_seconds,
            env_steps_per_second: run.env_steps as f64 / run.wall_seconds.max(1e-9),
            final_eval: EvalSummary {
                episodes: run.final_eval.len(),
                mean,
                std,
                min: run
                    .final_eval
                    .iter()
                    .copied()
                    .fold(f32::INFINITY, f32::min)
                    .into(),
                max: run
                    .final_eval
                    .iter()
                    .copied()
                    .fold(f32::NEG_INFINITY, f32::max)
                    .into(),
                returns: run.final_eval.clone(),
            },
            last_train_return: run.epochs.last().map_or(f64::NAN, |m| m.train_return_mean),
            train_returns: run.epochs.iter().map(|m| m.train_return_mean).collect(),
            eval_returns: run.epochs.iter().map(|m| m.eval_return_mean).collect(),
            ff_skipped_empty_positive: run.epochs.iter().map(|m| m.ff.skipped_empty_positive).sum(),
            diverged_batches_skipped: run.skipped_batches,
            ffdqn_version: env!("CARGO_PKG_VERSION").into(),
            code: Some(code.clone()),
        }
    }
}

/// A run's directory (see the module docs for its files).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    path: PathBuf,
}

impl RunDir {
    /// The run directory at `path` (nothing is read or created).
    pub fn at(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Where the metrics go (for messages).
    pub fn metrics_path(&self) -> PathBuf {
        self.file(METRICS)
    }

    /// Where the final weights go.
    pub fn weights_path(&self) -> PathBuf {
        self.file(WEIGHTS)
    }

    /// Whether the run has finished (its summary exists).
    pub fn is_finished(&self) -> bool {
        self.file(SUMMARY).is_file()
    }

    /// Whether the directory holds a run's description (`run.json`).
    pub fn has_run(&self) -> bool {
        self.file(INFO).is_file()
    }

    /// Whether a checkpoint exists.
    pub fn has_checkpoint(&self) -> bool {
        self.file(CHECKPOINT).is_file()
    }

    /// Takes the run directory for this process, before anything is written into it: a second
    /// process (a second `train` or `--resume` on the same directory) is refused with
    /// [`Error::Locked`] naming the holder. Temporary files a dead writer left are removed.
    pub fn lock(&self) -> Result<RunLock> {
        use std::io::{Seek, Write};
        let path = self.file(LOCK);
        let write_err = |source| Error::Write {
            path: path.clone(),
            source,
        };
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(write_err)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&path)
                    .ok()
                    .and_then(|s| s.trim().parse::<u32>().ok());
                return Err(Error::Locked {
                    dir: self.path.clone(),
                    pid: holder,
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(write_err(e)),
        }
        // The holder's process id, for the message another process prints.
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| write!(file, "{}", std::process::id()))
            .and_then(|()| file.flush())
            .map_err(write_err)?;
        if let Ok(entries) = std::fs::read_dir(&self.path) {
            for entry in entries.flatten() {
                if crate::fs::is_temporary(&entry.file_name().to_string_lossy()) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        Ok(RunLock { _file: file })
    }

    /// Starts a run here: writes `config.toml` and `run.json`, and removes what an earlier run
    /// left (checkpoint, summary, weights, metrics).
    pub fn start(&self, cfg: &Config, info: &RunInfo) -> Result<()> {
        for name in [CHECKPOINT, SUMMARY, WEIGHTS, METRICS] {
            match std::fs::remove_file(self.file(name)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Error::Write {
                        path: self.file(name),
                        source: e,
                    });
                }
                _ => {}
            }
        }
        write_atomic(&self.file(CONFIG), cfg.to_toml_for(info.agent).as_bytes())?;
        let info = RunInfo {
            config_sections: cfg
                .sections_read(info.agent)
                .iter()
                .map(|s| s.name().to_string())
                .collect(),
            ..info.clone()
        };
        self.write_json(INFO, &info)
    }

    /// The run's config as it was written.
    pub fn read_config(&self) -> Result<Config> {
        let path = self.file(CONFIG);
        let text = std::fs::read_to_string(&path).map_err(|source| Error::Read {
            path: path.clone(),
            source,
        })?;
        Ok(Config::from_toml(&text, &path.display().to_string())?)
    }

    /// Rewrites `run.json` (a resumed run whose flags were given again).
    pub fn write_info(&self, info: &RunInfo) -> Result<()> {
        self.write_json(INFO, info)
    }

    /// The run's `run.json`.
    pub fn read_info(&self) -> Result<RunInfo> {
        self.read_json(INFO, "run.json is written by `ffdqn train`")
    }

    /// What a peer says made the run (`peer.json`'s keys and values, in file order), if the
    /// run is a peer's and its file reads as a JSON object.
    pub fn read_peer(&self) -> Option<Vec<(String, String)>> {
        let text = std::fs::read_to_string(self.file(PEER)).ok()?;
        let value: serde_json::Value = serde_json::from_str(&text).ok()?;
        let fields = value.as_object()?.iter().map(|(k, v)| {
            let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
            (k.clone(), v)
        });
        Some(fields.collect())
    }

    /// The summary of a finished run.
    pub fn read_summary(&self) -> Result<Summary> {
        self.read_json(SUMMARY, "summary.json is written when a run finishes")
    }

    /// The final weights.
    pub fn read_weights(&self) -> Result<crate::io::Weights> {
        load_weights(&self.file(WEIGHTS))
    }

    /// The checkpoint, if there is one, decoded under `cfg`.
    pub fn read_checkpoint(&self, cfg: &Config) -> Result<Option<Resumed>> {
        if !self.has_checkpoint() {
            return Ok(None);
        }
        checkpoint::load(&self.file(CHECKPOINT), cfg).map(Some)
    }

    /// Rewrites `metrics.csv` with every finished epoch.
    pub fn write_metrics(&self, epochs: &[EpochMetrics], n_hidden: usize) -> Result<()> {
        write_atomic(
            &self.file(METRICS),
            metrics_csv(epochs, n_hidden).as_bytes(),
        )
    }

    /// The epochs in `metrics.csv`, parsed back into [`EpochMetrics`] (wall times to the
    /// millisecond, as written).
    pub fn read_metrics(&self) -> Result<Vec<EpochMetrics>> {
        let path = self.file(METRICS);
        let text = std::fs::read_to_string(&path).map_err(|source| Error::Read {
            path: path.clone(),
            source,
        })?;
        parse_metrics(&text).map_err(|problem| Error::BadFile { path, problem })
    }

    fn write_json<T: Serialize>(&self, name: &str, value: &T) -> Result<()> {
        let path = self.file(name);
        let text = serde_json::to_string_pretty(value).map_err(|e| Error::BadFile {
            path: path.clone(),
            problem: format!("cannot encode: {e}"),
        })?;
        write_atomic(&path, text.as_bytes())
    }

    fn read_json<T: for<'de> Deserialize<'de>>(&self, name: &str, hint: &str) -> Result<T> {
        let path = self.file(name);
        let bytes = std::fs::read(&path).map_err(|source| Error::Read {
            path: path.clone(),
            source,
        })?;
        serde_json::from_slice(&bytes).map_err(|e| Error::BadFile {
            path,
            problem: format!("not valid ({e}); {hint}"),
        })
    }

    /// Writes `checkpoint.bin`: the agent's and the loop's state under `cfg`.
    pub fn write_checkpoint(
        &self,
        cfg: &Config,
        seed: u64,
        agent: &dyn Agent,
        st: &LoopState,
        wall_seconds: f64,
    ) -> Result<()> {
        checkpoint::save(
            &self.file(CHECKPOINT),
            cfg,
            seed,
            agent.snapshot(),
            st,
            wall_seconds,
        )
    }

    /// A checkpoint that belongs to another run than run.json's, named with its file.
    pub fn foreign_checkpoint(&self, problem: String) -> Error {
        Error::BadFile {
            path: self.file(CHECKPOINT),
            problem,
        }
    }

    /// Writes the finished run's files: `weights.json`, then `summary.json` (whose presence
    /// marks the run finished); the checkpoint and the lock file go, as a finished run is never
    /// trained again (the caller's lock handle holds the lock until it is dropped; a process
    /// that locks after this sees a finished run).
    pub fn finish(
        &self,
        kind: AgentKind,
        env: envs::EnvId,
        policy: &crate::Policy,
        summary: &Summary,
    ) -> Result<()> {
        save_weights(&self.file(WEIGHTS), kind, env, policy)?;
        self.write_json(SUMMARY, summary)?;
        let _ = std::fs::remove_file(self.file(CHECKPOINT));
        let _ = std::fs::remove_file(self.file(LOCK));
        Ok(())
    }

    /// Where the run's checkpoint stands, for messages: epochs finished and environment steps
    /// taken (`None` without a readable checkpoint).
    pub fn progress(&self) -> Option<(u32, u64)> {
        self.read_config()
            .ok()
            .and_then(|cfg| self.read_checkpoint(&cfg).ok().flatten())
            .map(|r| (r.state.epochs_done, r.state.env_steps))
    }
}

fn num(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        String::new()
    }
}

const BASE_COLUMNS: [&str; 13] = [
    "epoch",
    "env_steps",
    "updates",
    "epsilon",
    "train_return_mean",
    "train_return_min",
    "train_return_max",
    "eval_return_mean",
    "eval_return_std",
    "td_loss",
    "wall_seconds",
    "ff_batches",
    "ff_skipped_empty_positive",
];
const LAYER_COLUMNS: [&str; 5] = ["steps", "g_pos", "g_neg", "loss", "accuracy"];

fn header(n_hidden: usize) -> String {
    let mut h = BASE_COLUMNS.join(",");
    for k in 1..=n_hidden {
        for c in LAYER_COLUMNS {
            let _ = write!(h, ",ff_l{k}_{c}");
        }
    }
    h
}

/// The epoch metrics as CSV: one row per epoch, FF layer columns `ff_l{k}_…` (empty for BP
/// and for epochs without FF steps).
fn metrics_csv(epochs: &[EpochMetrics], n_hidden: usize) -> String {
    let mut out = header(n_hidden);
    out.push('\n');
    for m in epochs {
        let _ = write!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{:.3},{},{}",
            m.epoch,
            m.env_steps,
            m.updates,
            num(m.epsilon),
            num(m.train_return_mean),
            num(m.train_return_min),
            num(m.train_return_max),
            num(m.eval_return_mean),
            num(m.eval_return_std),
            num(m.td_loss),
            m.wall_seconds,
            m.ff.ff_batches,
            m.ff.skipped_empty_positive,
        );
        for k in 0..n_hidden {
            match m.ff.layers.get(k) {
                Some(l) => {
                    let _ = write!(
                        out,
                        ",{},{},{},{},{}",
                        l.steps,
                        num(l.mean_g_pos),
                        num(l.mean_g_neg),
                        num(l.ff_loss),
                        num(l.accuracy)
                    );
                }
                None => out.push_str(",,,,,"),
            }
        }
        out.push('\n');
    }
    out
}

/// Parses what [`metrics_csv`] wrote: the header must be exactly the one it writes.
fn parse_metrics(text: &str) -> std::result::Result<Vec<EpochMetrics>, String> {
    let mut lines = text.lines();
    let head = lines.next().ok_or("empty file: no header")?;
    let n_cols = head.split(',').count();
    let n_hidden = n_cols.saturating_sub(BASE_COLUMNS.len()) / LAYER_COLUMNS.len();
    if head != header(n_hidden) {
        return Err(format!(
            "unexpected header {head:?}: not a metrics.csv written by this version of ffdqn"
        ));
    }
    let mut epochs = Vec::new();
    for (row, line) in lines.enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        if cells.len() != n_cols {
            return Err(format!(
                "row {} has {} columns, the header {n_cols}",
                row + 1,
                cells.len()
            ));
        }
        let f = |i: usize| -> std::result::Result<f64, String> {
            let c = cells[i];
            if c.is_empty() {
                Ok(f64::NAN)
            } else {
                c.parse()
                    .map_err(|_| format!("row {}: `{c}` is not a number", row + 1))
            }
        };
        let u = |i: usize| -> std::result::Result<u64, String> {
            cells[i]
                .parse()
                .map_err(|_| format!("row {}: `{}` is not a count", row + 1, cells[i]))
        };
        let layers = (0..n_hidden)
            .filter_map(|k| {
                let at = BASE_COLUMNS.len() + k * LAYER_COLUMNS.len();
                (!cells[at].is_empty()).then_some(at)
            })
            .map(|at| {
                Ok(FfLayerEpoch {
                    steps: u(at)?,
                    mean_g_pos: f(at + 1)?,
                    mean_g_neg: f(at + 2)?,
                    ff_loss: f(at + 3)?,
                    accuracy: f(at + 4)?,
                })
            })
            .collect::<std::result::Result<Vec<_>, String>>()?;
        epochs.push(EpochMetrics {
            epoch: u32::try_from(u(0)?).map_err(|_| format!("row {}: epoch too large", row + 1))?,
            env_steps: u(1)?,
            updates: u(2)?,
            epsilon: f(3)?,
            train_return_mean: f(4)?,
            train_return_min: f(5)?,
            train_return_max: f(6)?,
            eval_return_mean: f(7)?,
            eval_return_std: f(8)?,
            td_loss: f(9)?,
            wall_seconds: f(10)?,
            ff: FfEpochStats {
                layers,
                skipped_empty_positive: u(12)?,
                ff_batches: u(11)?,
                greedy_active_layer: None,
            },
        });
    }
    Ok(epochs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epoch(k: u32, with_ff: bool) -> EpochMetrics {
        EpochMetrics {
            epoch: k,
            env_steps: 100 * u64::from(k),
            updates: 90,
            epsilon: 0.05,
            train_return_mean: 12.5,
            train_return_min: 9.0,
            train_return_max: 20.0,
            eval_return_mean: 31.25,
            eval_return_std: 0.0,
            td_loss: f64::NAN,
            wall_seconds: 1.5,
            ff: FfEpochStats {
                layers: if with_ff {
                    vec![
                        FfLayerEpoch {
                            steps: 3,
                            mean_g_pos: 2.5,
                            mean_g_neg: 0.125,
                            ff_loss: 0.75,
                            accuracy: 0.5,
                        };
                        2
                    ]
                } else {
                    Vec::new()
                },
                skipped_empty_positive: 1,
                ff_batches: 4,
                greedy_active_layer: None,
            },
        }
    }

    fn same(a: &EpochMetrics, b: &EpochMetrics) -> bool {
        // NaN != NaN: compare the debug forms.
        format!("{a:?}") == format!("{b:?}")
    }

    #[test]
    fn metrics_round_trip_through_the_csv() {
        for with_ff in [false, true] {
            let epochs = vec![epoch(1, with_ff), epoch(2, with_ff)];
            let back = parse_metrics(&metrics_csv(&epochs, 2)).expect("parses");
            assert_eq!(back.len(), 2);
            assert!(epochs.iter().zip(&back).all(|(a, b)| same(a, b)));
        }
    }

    #[test]
    fn a_foreign_csv_is_refused() {
        assert!(parse_metrics("a,b,c\n1,2,3\n").is_err());
        assert!(parse_metrics("").is_err());
        let mut text = metrics_csv(&[epoch(1, true)], 2);
        text.push_str("1,2\n");
        assert!(parse_metrics(&text).is_err());
    }

    #[test]
    fn an_epoch_without_a_finished_episode_survives_summary_json() {
        // A step budget's epoch can end before any episode does: its train return is NaN.
        let mut quiet = epoch(2, false);
        quiet.train_return_mean = f64::NAN;
        let run = crate::train::RunResult {
            epochs: vec![epoch(1, false), quiet],
            final_eval: vec![10.0, 12.0],
            env_steps: 200,
            updates: 90,
            wall_seconds: 1.0,
            skipped_batches: 0,
        };
        let summary = Summary::new(
            AgentKind::Bp,
            3,
            "c.toml",
            &run,
            &crate::Provenance::unknown(),
        );
        let text = serde_json::to_string(&summary).expect("serialises");
        assert!(text.contains("null"), "{text}");
        let back: Summary = serde_json::from_str(&text).expect("reads back");
        assert!(back.last_train_return.is_nan());
        assert_eq!(back.train_returns[0], 12.5);
        assert!(back.train_returns[1].is_nan());
    }
}
