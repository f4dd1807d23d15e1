//! Backprop learning of the whole Q-network from the TD loss: BP-DQN, and FF-DQN's warm start.

use super::{QNetwork, Workspace};
use crate::config::BpConfig;
use crate::{Error, Result, Tensor};

use dqn_head::{TdLoss, td_gradients};
use ff_core::cell::{CellCache, CellGrads};
use ff_core::mat::all_finite;
use ff_core::optim::Tensors;
use ff_core::{Buf, InputNorm, MatRef, Optimizer};
use replay::Batch;

/// Optimizers and every buffer a backprop update needs. Unlike FF, backprop must keep each
/// layer's input and output until the backward pass reaches it, so `outs`, `normed` and
/// `caches` hold one buffer per layer.
#[derive(Debug, Clone)]
pub struct BpLearner {
    /// One group over all layers, or hidden then head.
    opts: Vec<Optimizer<f32>>,
    /// Index of the first layer of the second group, when there are two.
    head_group: Option<usize>,
    td_loss: TdLoss,
    normed: Vec<Buf<f32>>,
    outs: Vec<Buf<f32>>,
    caches: Vec<CellCache<f32>>,
    dq: Buf<f32>,
    /// The batch's windows, with a convolutional first layer (kept for its backward pass).
    patches: Buf<f32>,
    grads: Vec<CellGrads<f32>>,
    /// The one pair of backward work buffers, lent to each layer in turn.
    work: CellGrads<f32>,
}

impl BpLearner {
    /// A learner for `net` with `[bp]`'s optimizer groups.
    pub fn new(cfg: &BpConfig, net: &QNetwork, td_loss: TdLoss) -> Result<Self> {
        let n = net.n_hidden();
        let (opts, head_group) = match cfg.head_optimizer {
            None => (
                vec![Optimizer::for_layers(cfg.optimizer, &net.layers)?],
                None,
            ),
            Some(head) => (
                vec![
                    Optimizer::for_layers(cfg.optimizer, &net.layers[..n])?,
                    Optimizer::for_layers(head, &net.layers[n..])?,
                ],
                Some(n),
            ),
        };
        Ok(Self {
            opts,
            head_group,
            td_loss,
            normed: vec![Buf::default(); n],
            outs: vec![Buf::default(); n],
            caches: vec![CellCache::default(); n],
            dq: Buf::default(),
            patches: Buf::default(),
            grads: net.layers.iter().map(CellGrads::for_cell).collect(),
            work: CellGrads::default(),
        })
    }

    /// Elements held by the optimizer state.
    pub fn optimizer_state_len(&self) -> usize {
        self.opts.iter().map(Optimizer::state_len).sum()
    }

    /// One update of `net` towards `targets`; returns the TD loss before the update.
    pub fn update(
        &mut self,
        net: &mut QNetwork,
        batch: &Batch,
        targets: &[f32],
        ws: &mut Workspace,
    ) -> Result<f64> {
        // The target network's forward buffers are free now: they hold dL/dh and dL/dx.
        let [dh, dx] = &mut ws.bufs;
        let n = net.n_hidden();
        let obs = MatRef::new(&batch.obs, net.obs_dim(), batch.len())?;
        let norm = net.input_norm;
        // Forward, keeping every layer's (normalised) input, output and cell cache.
        for l in 0..n {
            let (done, rest) = self.outs.split_at_mut(l);
            let raw = match done.last() {
                None => net.first_input(obs, &mut self.patches)?,
                Some(prev) => net.next_input(l, prev)?,
            };
            let input = norm.apply(raw, &mut self.normed[l]);
            net.layers[l].forward_train(input, &mut rest[0], &mut self.caches[l])?;
        }
        // The head's TD step, then backward from the head down.
        let loss = td_gradients(
            net.layers[n].dense(),
            net.next_input(n, &self.outs[n - 1])?,
            &batch.actions,
            targets,
            self.td_loss,
            &mut ws.q,
            &mut self.dq,
            &mut self.grads[n].dense,
            Some(&mut *dh),
        )
        .map_err(|e| Error::from(e).in_layer(n))?
        .loss;
        for l in (0..n).rev() {
            // The forward pass's windows are still in `patches`: read, not redrawn.
            let raw = match (l, net.conv) {
                (0, None) => obs,
                (0, Some(_)) => self.patches.mat(),
                _ => net.next_input(l, &self.outs[l - 1])?,
            };
            let input = match norm {
                InputNorm::None => raw,
                InputNorm::L2 => self.normed[l].mat(),
            };
            // The convolution's upstream gradient arrives as the feature maps' gradient.
            let upstream = match (l, net.conv) {
                (0, Some(conv)) => conv.cell_grad(dh.mat(), net.layers[0].out_dim())?,
                _ => dh.mat(),
            };
            let want_dx = l > 0;
            self.grads[l].swap_work(&mut self.work);
            let done = net.layers[l].backward(
                input,
                self.outs[l].mat(),
                upstream,
                &self.caches[l],
                &mut self.grads[l],
                want_dx.then_some(&mut *dx),
            );
            self.grads[l].swap_work(&mut self.work);
            done?;
            if want_dx {
                match norm {
                    // Without a normalisation dL/dx is the next dL/dh: swap, do not copy.
                    InputNorm::None => std::mem::swap(dh, dx),
                    _ => norm.backward(raw, dx.mat(), dh)?,
                }
            }
        }
        // A non-finite gradient stops the update before any optimizer group moves (with two
        // groups the optimizer's own check would come after the first has stepped). The scan is
        // vectorised; the value is located only when there is one.
        let all_ok = |g: &CellGrads<f32>| (0..g.n_tensors()).all(|k| all_finite(g.tensor(k)));
        if let Some(l) = self.grads.iter().position(|g| !all_ok(g)) {
            let g = &self.grads[l];
            let (index, v) = (0..g.n_tensors())
                .flat_map(|k| g.tensor(k).iter())
                .enumerate()
                .find(|(_, v)| !v.is_finite())
                .unwrap_or((0, &f32::NAN));
            return Err(Error::Diverged {
                step: 0,
                layer: Some(l + 1),
                tensor: Tensor::Gradient,
                index: Some(index),
                value: f64::from(*v),
            });
        }
        match self.head_group {
            None => {
                self.opts[0].step_layers(&mut net.layers, &self.grads)?;
            }
            Some(h) => {
                let (hidden, head) = net.layers.split_at_mut(h);
                self.opts[0].step_layers(hidden, &self.grads[..h])?;
                self.opts[1].step_layers(head, &self.grads[h..])?;
            }
        }
        Ok(loss)
    }

    /// Every optimizer group (for checkpoints).
    pub fn optimizers(&self) -> Vec<Optimizer<f32>> {
        self.opts.clone()
    }

    /// Restores optimizers saved by [`BpLearner::optimizers`].
    pub fn restore(&mut self, opts: Vec<Optimizer<f32>>) -> Result<()> {
        let expected: Vec<&[usize]> = self.opts.iter().map(Optimizer::sizes).collect();
        let got: Vec<&[usize]> = opts.iter().map(Optimizer::sizes).collect();
        if expected != got {
            return Err(Error::Mismatch(format!(
                "BP optimizer layout {got:?}, this agent has {expected:?}"
            )));
        }
        self.opts = opts;
        Ok(())
    }

    /// The gradients of the last update, one per layer (for tests).
    pub fn last_grads(&self) -> &[CellGrads<f32>] {
        &self.grads
    }
}
