//! Per-epoch statistics of FF layers (FF-DQN's layers, and a layer-local agent's FF auxiliary
//! term): accumulated over an epoch's updates, reported in metrics.csv. A leaf: it knows no
//! agent.

use crate::{Error, Result};
use ff_core::FfStats;

/// Running sums of one layer's FF statistics over an epoch.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LayerAccum {
    /// FF steps taken.
    pub steps: u64,
    sum_g_pos: f64,
    sum_g_neg: f64,
    sum_loss: f64,
    sum_accuracy: f64,
}

/// One layer's FF statistics averaged over an epoch's FF steps (NaN when it took none).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FfLayerEpoch {
    /// FF steps taken.
    pub steps: u64,
    /// Mean goodness of the positives.
    pub mean_g_pos: f64,
    /// Mean goodness of the negatives.
    pub mean_g_neg: f64,
    /// Mean FF loss.
    pub ff_loss: f64,
    /// Mean fraction of samples on the right side of the margin.
    pub accuracy: f64,
}

/// An epoch's FF statistics so far (FF-DQN's layers, or a layer-local agent's FF auxiliary
/// term). Checkpoints keep it, so that a run stopped inside an epoch reports that epoch as a run
/// never stopped does.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EpochAccum {
    /// Per layer.
    pub(crate) layers: Vec<LayerAccum>,
    /// Minibatches skipped because every target was equal (FF-DQN).
    pub(crate) skipped: u64,
    /// Minibatches that gave the FF layers a step (FF-DQN).
    pub(crate) ff_batches: u64,
}

impl EpochAccum {
    /// Empty sums for `n` layers.
    pub(crate) fn new(n: usize) -> Self {
        Self {
            layers: vec![LayerAccum::default(); n],
            ..Self::default()
        }
    }

    /// The epoch's statistics; the sums start again from zero.
    pub(crate) fn take(&mut self, greedy_active_layer: Option<usize>) -> FfEpochStats {
        let stats = FfEpochStats {
            layers: self.layers.iter().map(LayerAccum::epoch).collect(),
            skipped_empty_positive: self.skipped,
            ff_batches: self.ff_batches,
            greedy_active_layer,
        };
        self.layers
            .iter_mut()
            .for_each(|a| *a = LayerAccum::default());
        self.skipped = 0;
        self.ff_batches = 0;
        stats
    }

    /// Takes saved sums in place of these, if they are for as many layers.
    pub(crate) fn restore(&mut self, saved: EpochAccum) -> Result<()> {
        if saved.layers.len() != self.layers.len() {
            return Err(Error::Mismatch(format!(
                "saved epoch statistics of {} layers, this agent has {}",
                saved.layers.len(),
                self.layers.len()
            )));
        }
        *self = saved;
        Ok(())
    }
}

impl LayerAccum {
    pub(crate) fn add(&mut self, s: &FfStats) {
        self.steps += 1;
        self.sum_g_pos += s.mean_g_pos;
        self.sum_g_neg += s.mean_g_neg;
        self.sum_loss += s.loss;
        self.sum_accuracy += s.accuracy;
    }

    fn epoch(&self) -> FfLayerEpoch {
        let n = self.steps as f64;
        let mean = |s: f64| if self.steps == 0 { f64::NAN } else { s / n };
        FfLayerEpoch {
            steps: self.steps,
            mean_g_pos: mean(self.sum_g_pos),
            mean_g_neg: mean(self.sum_g_neg),
            ff_loss: mean(self.sum_loss),
            accuracy: mean(self.sum_accuracy),
        }
    }
}

/// FF statistics of an epoch.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FfEpochStats {
    /// Per hidden layer.
    pub layers: Vec<FfLayerEpoch>,
    /// Minibatches drawn for an FF step but skipped because every target was equal (empty S+).
    pub skipped_empty_positive: u64,
    /// Minibatches that gave the FF layers a step.
    pub ff_batches: u64,
    /// Index of the layer the greedy schedule is training (equal to the depth once all are frozen).
    pub greedy_active_layer: Option<usize>,
}
