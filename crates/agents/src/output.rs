//! What a run writes: the epoch CSV, the JSON summary.

use crate::agent::AgentKind;
use crate::train::{EpochMetrics, RunResult, mean_std};
use serde::Serialize;
use std::fmt::Write;

fn num(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        String::new()
    }
}

/// The epoch metrics as CSV: one row per epoch, FF layer columns `ff_l{k}_…` (empty for BP
/// and for epochs without FF steps).
pub fn epochs_csv(epochs: &[EpochMetrics], n_hidden: usize) -> String {
    let mut out = String::from(
        "epoch,env_steps,updates,epsilon,train_return_mean,train_return_min,train_return_max,\
         eval_return_mean,eval_return_std,td_loss,wall_seconds,ff_batches,ff_skipped_empty_positive",
    );
    for k in 1..=n_hidden {
        let _ = write!(
            out,
            ",ff_l{k}_steps,ff_l{k}_g_pos,ff_l{k}_g_neg,ff_l{k}_loss,ff_l{k}_accuracy"
        );
    }
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

/// Final greedy evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
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

/// The JSON summary of a run.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
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
    pub last_train_return: f64,
    /// Per-epoch training returns (the paper's Figure 1 curve).
    pub train_returns: Vec<f64>,
    /// Per-epoch greedy evaluation returns.
    pub eval_returns: Vec<f64>,
    /// FF minibatches skipped because S+ was empty, over the run.
    pub ff_skipped_empty_positive: u64,
    /// Minibatches whose update diverged and was undone (`--on-divergence skip-batch`).
    pub diverged_batches_skipped: u64,
    /// Version of the code.
    pub ffdqn_version: String,
}

impl Summary {
    /// Summarises a finished run.
    pub fn new(agent: AgentKind, seed: u64, config: &str, run: &RunResult) -> Self {
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
        }
    }
}
