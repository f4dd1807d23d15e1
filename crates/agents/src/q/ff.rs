//! Forward-Forward learning of the hidden layers with a TD-trained head, as the FF-DQN paper
//! (Krutsylo) and its author's code (github.com/DentonJC/ffdqn) define it.

use super::{QNetwork, Workspace};
use crate::config::{FfConfig, Schedule};
use crate::layers::{output_of, ping_pong};
use crate::stats::{EpochAccum, FfEpochStats};
use crate::{Error, Result};
use dqn_head::{TdLoss, td_gradients};
use ff_core::ff::ff_gradients;
use ff_core::{Buf, DenseGrads, MatRef, Optimizer};
use rand::Rng;
use replay::Batch;

/// Where the greedy schedule stands (saved in checkpoints).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Greedy {
    active: usize,
    steps_on_layer: u64,
    recent: std::collections::VecDeque<f64>,
}

/// Optimizers and buffers of FF-DQN. All hidden layers share one scratch, one gradient buffer
/// and two activation buffers: FF holds one layer's activations at a time.
#[derive(Debug, Clone)]
pub struct FfLearner {
    cfg: FfConfig,
    td_loss: TdLoss,
    layer_opts: Vec<Optimizer<f32>>,
    head_opt: Optimizer<f32>,
    grads: DenseGrads<f32>,
    head_grads: DenseGrads<f32>,
    dq: Buf<f32>,
    sorted: Vec<f32>,
    is_pos: Vec<bool>,
    epoch: EpochAccum,
    greedy: Option<Greedy>,
}

/// The lower median (`torch.median`'s convention for an even count), using `scratch`.
fn lower_median(values: &[f32], scratch: &mut Vec<f32>) -> f32 {
    scratch.clear();
    scratch.extend_from_slice(values);
    let k = (scratch.len() - 1) / 2;
    let (_, m, _) = scratch.select_nth_unstable_by(k, f32::total_cmp);
    *m
}

impl FfLearner {
    /// A learner with fresh optimizers for `net`'s hidden layers and head.
    pub fn new(cfg: &FfConfig, net: &QNetwork, td_loss: TdLoss) -> Result<Self> {
        let n = net.n_hidden();
        // Frozen layers (the frozen-features control) have no optimizer at all.
        let layer_opts = match cfg.layer_optimizer {
            Some(opt) => net.layers[..n]
                .iter()
                .map(|l| Optimizer::for_layers(opt, std::slice::from_ref(l)))
                .collect::<Result<Vec<_>, _>>()?,
            None => Vec::new(),
        };
        Ok(Self {
            cfg: cfg.clone(),
            td_loss,
            layer_opts,
            head_opt: Optimizer::for_layers(cfg.head_optimizer, &net.layers[n..])?,
            grads: DenseGrads::default(),
            head_grads: DenseGrads::default(),
            dq: Buf::default(),
            sorted: Vec::new(),
            is_pos: Vec::new(),
            epoch: EpochAccum::new(n),
            greedy: matches!(cfg.schedule, Schedule::Greedy { .. }).then(|| Greedy {
                active: 0,
                steps_on_layer: 0,
                recent: Default::default(),
            }),
        })
    }

    /// Elements held by the optimizer state.
    pub fn optimizer_state_len(&self) -> usize {
        self.layer_opts
            .iter()
            .map(Optimizer::state_len)
            .sum::<usize>()
            + self.head_opt.state_len()
    }

    /// One update: maybe an FF step of the hidden layers (probability `update-prob`), always a
    /// TD step of the head on the features. Returns the TD loss before the head's update.
    pub fn update(
        &mut self,
        net: &mut QNetwork,
        batch: &Batch,
        targets: &[f32],
        rng: &mut impl Rng,
        ws: &mut Workspace,
    ) -> Result<f64> {
        let n = net.n_hidden();
        let b = batch.len();
        // The draw happens on every minibatch so that the random stream does not depend on
        // the targets. Frozen layers never take an FF step.
        let mut do_ff = rng.gen_bool(self.cfg.update_prob) && !self.layer_opts.is_empty();
        if do_ff {
            let median = lower_median(targets, &mut self.sorted);
            self.is_pos.clear();
            self.is_pos.extend(targets.iter().map(|&y| y > median));
            if !self.is_pos.contains(&true) {
                self.epoch.skipped += 1;
                do_ff = false;
            } else {
                self.epoch.ff_batches += 1;
            }
        }
        // Each layer's input is normalised here, once: the FF step and the forward pass with the
        // updated weights read the same normalised input.
        let obs = MatRef::new(&batch.obs, net.obs_dim(), b)?;
        for l in 0..n {
            let (prev, out) = ping_pong(&mut ws.bufs, l);
            let raw = if l == 0 { obs } else { prev.mat() };
            let input = self.cfg.input_norm.apply(raw, &mut ws.x_norm);
            let learns = do_ff && self.greedy.as_ref().is_none_or(|g| g.active == l);
            if learns {
                let layer = &mut net.layers[l];
                let stats = ff_gradients(
                    layer.dense(),
                    &self.cfg.objective,
                    input,
                    &self.is_pos,
                    &mut ws.scratch,
                    &mut self.grads,
                    out,
                )
                .map_err(|e| Error::from(e).in_layer(l))?;
                self.layer_opts[l]
                    .step_layers(
                        std::slice::from_mut(layer),
                        std::slice::from_ref(&self.grads),
                    )
                    .map_err(|e| Error::from(e).in_layer(l))?;
                self.epoch.layers[l].add(&stats);
                if let Some(g) = &mut self.greedy {
                    Self::advance_greedy(g, &self.cfg.schedule, stats.accuracy, n);
                }
            }
            // The next layer sees this layer's output computed with its updated weights.
            net.layers[l].dense().forward_relu(input, out)?;
        }
        // The features are constants for the head: no input gradient is asked for.
        let head = &mut net.layers[n];
        let loss = td_gradients(
            head.dense(),
            output_of(&ws.bufs, n - 1).mat(),
            &batch.actions,
            targets,
            self.td_loss,
            &mut ws.q,
            &mut self.dq,
            &mut self.head_grads,
            None,
        )
        .map_err(|e| Error::from(e).in_layer(n))?
        .loss;
        self.head_opt
            .step_layers(
                std::slice::from_mut(head),
                std::slice::from_ref(&self.head_grads),
            )
            .map_err(|e| Error::from(e).in_layer(n))?;
        Ok(loss)
    }

    fn advance_greedy(g: &mut Greedy, schedule: &Schedule, accuracy: f64, depth: usize) {
        let Schedule::Greedy {
            target_accuracy,
            window,
            max_steps_per_layer,
        } = *schedule
        else {
            return;
        };
        g.steps_on_layer += 1;
        g.recent.push_back(accuracy);
        if g.recent.len() > window as usize {
            g.recent.pop_front();
        }
        let full = g.recent.len() == window as usize;
        let mean = g.recent.iter().sum::<f64>() / g.recent.len() as f64;
        if (full && mean >= target_accuracy) || g.steps_on_layer >= max_steps_per_layer {
            g.active = (g.active + 1).min(depth);
            g.steps_on_layer = 0;
            g.recent.clear();
        }
    }

    /// The epoch's FF statistics; resets the running sums.
    pub fn take_epoch_stats(&mut self) -> FfEpochStats {
        let active = self.greedy.as_ref().map(|g| g.active);
        self.epoch.take(active)
    }

    /// The epoch's running sums so far (for checkpoints).
    pub fn epoch_accum(&self) -> EpochAccum {
        self.epoch.clone()
    }

    /// Every optimizer, hidden layers first, then the head (for checkpoints).
    pub fn optimizers(&self) -> Vec<Optimizer<f32>> {
        self.layer_opts
            .iter()
            .chain(std::iter::once(&self.head_opt))
            .cloned()
            .collect()
    }

    /// Restores optimizers saved by [`FfLearner::optimizers`] and the greedy schedule.
    pub fn restore(
        &mut self,
        mut opts: Vec<Optimizer<f32>>,
        greedy: Option<Greedy>,
        epoch: EpochAccum,
    ) -> Result<()> {
        let expected: Vec<&[usize]> = self.optimizers_sizes();
        let got: Vec<&[usize]> = opts.iter().map(Optimizer::sizes).collect();
        if expected != got || greedy.is_some() != self.greedy.is_some() {
            return Err(Error::Mismatch(format!(
                "FF optimizer layout {got:?}, this agent has {expected:?}"
            )));
        }
        self.epoch.restore(epoch)?;
        self.head_opt = opts
            .pop()
            .ok_or_else(|| Error::Mismatch("no head optimizer".into()))?;
        self.layer_opts = opts;
        self.greedy = greedy;
        Ok(())
    }

    fn optimizers_sizes(&self) -> Vec<&[usize]> {
        self.layer_opts
            .iter()
            .chain(std::iter::once(&self.head_opt))
            .map(Optimizer::sizes)
            .collect()
    }

    /// The greedy schedule's state, if that schedule is used.
    pub fn greedy_state(&self) -> Option<Greedy> {
        self.greedy.clone()
    }

    /// The split of the last FF minibatch (for tests).
    pub fn last_split(&self) -> &[bool] {
        &self.is_pos
    }
}
