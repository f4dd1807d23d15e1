//! The layer-local agents: `local-td` (after Artificial Dopamine, Guan et al.
//! 2024) and `goodness-q` (after ARQ, Wu & Ren 2025).
//!
//! Every hidden layer `l` is a cell (dense, ReLU, optional LayerNorm) with a readout of its
//! own, and learns from its own TD loss only:
//!
//! ```text
//! x_l = [sg(n(h_{l−1})); s]        (local-td; the observation alone for l = 1)
//! x_l = [sg(n(h_{l−1})); s; a]     (goodness-q: the action one-hot too)
//! h_l = cell_l(x_l)
//! Q_l(s, ·) = U_l h_l + c_l                      (local-td: a linear readout)
//! Q_l(s, a) = α_l · G(h_l(s, a)) + β_{l,a}       (goodness-q: the layer's goodness)
//! y_l = r + γ (1 − terminated) max_a′ Q̄_l(s′, a′)  (its own target readout; double-Q optional)
//! L_l = TD(Q_l(s, a), y_l) [+ λ · FF objective on h_l, the batch split at the median of y_l]
//! ```
//!
//! `sg` stops gradients: a layer's input is the previous layer's output as a constant, so
//! no gradient crosses a layer boundary, and each layer steps with its own optimizer over its
//! cell and readout. All layers learn from one forward pass with the pre-update weights. The
//! agent acts on the mean of the layers' Q-values (Artificial Dopamine) or the last layer's.

use crate::config::{ActOn, FfAux, LocalConfig, LocalKind};
use crate::layers::argmax;
use crate::stats::{EpochAccum, FfEpochStats};
use crate::{Error, Result};
use dqn_head::{TdLoss, td_gradients, td_loss};
use ff_core::cell::{Cell, CellCache, CellGrads, CellNorm};
use ff_core::ff::{FfStats, LossForm, ff_loss, goodness};
use ff_core::local::{GoodnessForm, GoodnessQ, GoodnessQGrads, symba_loss};
use ff_core::optim::{Tensors, TensorsMut};
use ff_core::{Buf, Dense, DenseGrads, InputNorm, MatRef, Optimizer};
use rand::Rng;
use replay::Batch;
use serde::{Deserialize, Serialize};

/// A layer's readout: its Q-values from its activity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Readout {
    /// local-td: `Q = U h + c`, one row per action.
    Linear(Dense<f32>),
    /// goodness-q: `Q = α · G(h) + β_a`, `G` the readout's goodness form.
    Goodness(GoodnessQ<f32>, GoodnessForm),
}

/// One layer of a layer-local network: its cell and its readout, the group its optimizer
/// steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalLayer {
    /// The cell.
    pub cell: Cell<f32>,
    /// The readout.
    pub readout: Readout,
}

impl LocalLayer {
    fn readout_tensors(&self) -> &dyn Tensors<f32> {
        match &self.readout {
            Readout::Linear(d) => d,
            Readout::Goodness(g, _) => g,
        }
    }
}

impl Tensors<f32> for LocalLayer {
    fn n_tensors(&self) -> usize {
        self.cell.n_tensors() + 2
    }
    fn tensor(&self, k: usize) -> &[f32] {
        let nc = self.cell.n_tensors();
        if k < nc {
            self.cell.tensor(k)
        } else {
            self.readout_tensors().tensor(k - nc)
        }
    }
}

impl TensorsMut<f32> for LocalLayer {
    fn tensor_mut(&mut self, k: usize) -> &mut [f32] {
        let nc = self.cell.n_tensors();
        if k < nc {
            return self.cell.tensor_mut(k);
        }
        match &mut self.readout {
            Readout::Linear(d) => d.tensor_mut(k - nc),
            Readout::Goodness(g, _) => g.tensor_mut(k - nc),
        }
    }
}

/// Gradients of a [`LocalLayer`], laid out as it is.
#[derive(Debug, Clone, Default)]
struct LocalGrads {
    cell: CellGrads<f32>,
    readout: ReadoutGrads,
}

/// A readout's gradients, of the readout's own kind.
#[derive(Debug, Clone)]
enum ReadoutGrads {
    Linear(DenseGrads<f32>),
    Goodness(GoodnessQGrads<f32>),
}

impl Default for ReadoutGrads {
    fn default() -> Self {
        ReadoutGrads::Linear(DenseGrads::default())
    }
}

impl ReadoutGrads {
    /// The gradients as tensors, whichever kind (laid out as [`LocalLayer::readout_tensors`]).
    fn tensors(&self) -> &dyn Tensors<f32> {
        match self {
            ReadoutGrads::Linear(g) => g,
            ReadoutGrads::Goodness(g) => g,
        }
    }

    /// The linear gradients, made so if they were another kind (once: a network's readouts
    /// are all of one kind, so a steady-state update allocates nothing).
    fn linear(&mut self) -> &mut DenseGrads<f32> {
        if !matches!(self, ReadoutGrads::Linear(_)) {
            *self = ReadoutGrads::Linear(DenseGrads::default());
        }
        match self {
            ReadoutGrads::Linear(g) => g,
            ReadoutGrads::Goodness(_) => unreachable!("made linear above"),
        }
    }

    /// The goodness gradients, made so if they were another kind.
    fn goodness(&mut self) -> &mut GoodnessQGrads<f32> {
        if !matches!(self, ReadoutGrads::Goodness(_)) {
            *self = ReadoutGrads::Goodness(GoodnessQGrads::default());
        }
        match self {
            ReadoutGrads::Goodness(g) => g,
            ReadoutGrads::Linear(_) => unreachable!("made goodness above"),
        }
    }
}

impl Tensors<f32> for LocalGrads {
    fn n_tensors(&self) -> usize {
        self.cell.n_tensors() + 2
    }
    fn tensor(&self, k: usize) -> &[f32] {
        let nc = self.cell.n_tensors();
        if k < nc {
            self.cell.tensor(k)
        } else {
            self.readout.tensors().tensor(k - nc)
        }
    }
}

/// A layer's readout alone, for the frozen-features control's optimizer.
struct ReadoutOf<L>(L);

impl Tensors<f32> for ReadoutOf<&LocalLayer> {
    fn n_tensors(&self) -> usize {
        2
    }
    fn tensor(&self, k: usize) -> &[f32] {
        self.0.readout_tensors().tensor(k)
    }
}

impl Tensors<f32> for ReadoutOf<&mut LocalLayer> {
    fn n_tensors(&self) -> usize {
        2
    }
    fn tensor(&self, k: usize) -> &[f32] {
        self.0.readout_tensors().tensor(k)
    }
}

impl TensorsMut<f32> for ReadoutOf<&mut LocalLayer> {
    fn tensor_mut(&mut self, k: usize) -> &mut [f32] {
        let nc = self.0.cell.n_tensors();
        self.0.tensor_mut(nc + k)
    }
}

impl Tensors<f32> for ReadoutOf<&LocalGrads> {
    fn n_tensors(&self) -> usize {
        2
    }
    fn tensor(&self, k: usize) -> &[f32] {
        self.0.readout.tensors().tensor(k)
    }
}

/// How a layer-local network's layers are wired: what each reads, what the agent acts on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Wiring {
    /// Width of an observation.
    pub obs_dim: usize,
    /// Number of actions.
    pub n_actions: usize,
    /// Every layer after the first also reads the observation.
    pub concat_obs: bool,
    /// Normalisation of the previous layer's output before the next reads it.
    pub input_norm: InputNorm,
    /// Act on the mean of the layers' Q-values (else the last layer's).
    pub act_on_mean: bool,
    /// Every layer reads the action one-hot too (goodness-q: its readout values the action
    /// that is in its input).
    pub action_in_input: bool,
}

impl Wiring {
    /// Width of layer `l`'s input, given the widths of the layers; `None` if it overflows
    /// (only a crafted file can ask for that).
    fn input_width(&self, l: usize, widths: &[usize]) -> Option<usize> {
        let action = if self.action_in_input {
            self.n_actions
        } else {
            0
        };
        if l == 0 {
            self.obs_dim.checked_add(action)
        } else {
            let obs = if self.concat_obs { self.obs_dim } else { 0 };
            widths[l - 1].checked_add(obs)?.checked_add(action)
        }
    }
}

/// A layer-local network: its layers and their wiring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalNet {
    /// The layers.
    pub layers: Vec<LocalLayer>,
    /// How they are wired.
    pub wiring: Wiring,
}

/// Reusable buffers of a layer-local network's forward passes.
#[derive(Debug, Clone, Default)]
pub struct LocalWorkspace {
    x: Buf<f32>,
    norm: Buf<f32>,
    h: [Buf<f32>; 2],
    cache: CellCache<f32>,
    q: Buf<f32>,
    obs_rep: Vec<f32>,
    actions_rep: Vec<u32>,
    qtmp: Vec<f32>,
    /// Every layer's Q-values of the last [`LocalNet::q_all`]: `layers × n_actions × batch`.
    q_layers: Vec<f32>,
    combined: Vec<f32>,
}

/// Layer `l`'s input, `[n(prev); obs; onehot(action)]` column by column, the parts the wiring
/// asks for: the observations themselves, uncopied, when that is all the layer reads (local-td's
/// first layer); otherwise the parts written into `x`.
fn layer_input<'a>(
    w: &Wiring,
    l: usize,
    prev: Option<MatRef<'_, f32>>,
    obs: MatRef<'a, f32>,
    actions: &[u32],
    norm: &mut Buf<f32>,
    x: &'a mut Buf<f32>,
) -> MatRef<'a, f32> {
    let cols = obs.cols();
    let prev = prev.filter(|_| l > 0).map(|p| w.input_norm.apply(p, norm));
    let p_rows = prev.map_or(0, |p| p.rows());
    let with_obs = l == 0 || w.concat_obs;
    let o_rows = if with_obs { obs.rows() } else { 0 };
    let a_rows = if w.action_in_input { w.n_actions } else { 0 };
    if p_rows == 0 && a_rows == 0 && with_obs {
        return obs;
    }
    let rows = p_rows + o_rows + a_rows;
    x.shape_to(rows, cols);
    let out = x.as_mut_slice();
    for j in 0..cols {
        let col = &mut out[j * rows..(j + 1) * rows];
        if let Some(p) = prev {
            col[..p_rows].copy_from_slice(p.column(j));
        }
        if with_obs {
            col[p_rows..p_rows + o_rows].copy_from_slice(obs.column(j));
        }
        if a_rows > 0 {
            let one_hot = &mut col[p_rows + o_rows..];
            one_hot.fill(0.0);
            if let Some(slot) = one_hot.get_mut(actions[j] as usize) {
                *slot = 1.0;
            }
        }
    }
    x.mat()
}

impl LocalWorkspace {
    /// Every layer's Q-values of the last [`LocalNet::q_all`]: `layers × n_actions × batch`,
    /// each layer's block column-major (`n_actions` rows).
    pub fn q_layers(&self) -> &[f32] {
        &self.q_layers
    }
}

impl LocalNet {
    /// A fresh network for `cfg` (a [`LocalConfig`]) with hidden widths `hidden`.
    pub fn new(
        cfg: &LocalConfig,
        cell_norm: CellNorm,
        obs_dim: usize,
        hidden: &[usize],
        n_actions: usize,
        rng: &mut impl Rng,
    ) -> Self {
        let wiring = Wiring {
            obs_dim,
            n_actions,
            concat_obs: cfg.concat_obs,
            input_norm: cfg.input_norm,
            act_on_mean: cfg.act_on == ActOn::Mean,
            action_in_input: matches!(cfg.kind, LocalKind::Goodness { .. }),
        };
        let layers = hidden
            .iter()
            .enumerate()
            .map(|(l, &width)| {
                let in_dim = wiring
                    .input_width(l, hidden)
                    .expect("a validated config bounds every width (MemoryEstimate)");
                let cell = Cell::new(in_dim, width, cfg.init, cell_norm, rng);
                let readout = match cfg.kind {
                    LocalKind::Td { readout_init } => {
                        Readout::Linear(Dense::new(width, n_actions, readout_init, rng))
                    }
                    LocalKind::Goodness {
                        form,
                        alpha_init,
                        beta_per_action,
                    } => Readout::Goodness(
                        GoodnessQ::new(n_actions, alpha_init, beta_per_action),
                        form,
                    ),
                };
                LocalLayer { cell, readout }
            })
            .collect();
        Self { layers, wiring }
    }

    /// Checks that the layers fit the wiring (for networks read from files).
    pub fn check(&self) -> std::result::Result<(), String> {
        let widths: Vec<usize> = self.layers.iter().map(|l| l.cell.out_dim()).collect();
        if self.layers.is_empty() {
            return Err("a layer-local network needs at least one layer".into());
        }
        for (l, layer) in self.layers.iter().enumerate() {
            let Some(want) = self.wiring.input_width(l, &widths) else {
                return Err(format!("layer {}'s input width overflows", l + 1));
            };
            if layer.cell.in_dim() != want {
                return Err(format!(
                    "layer {} takes {} inputs, its wiring gives {want}",
                    l + 1,
                    layer.cell.in_dim()
                ));
            }
            let ok = match &layer.readout {
                Readout::Linear(d) => {
                    d.in_dim() == widths[l] && d.out_dim() == self.wiring.n_actions
                }
                Readout::Goodness(g, _) => {
                    g.beta().len() == 1 || g.beta().len() == self.wiring.n_actions
                }
            };
            if !ok {
                return Err(format!(
                    "layer {}'s readout does not fit {} actions",
                    l + 1,
                    self.wiring.n_actions
                ));
            }
        }
        Ok(())
    }

    /// Width of an observation.
    pub fn obs_dim(&self) -> usize {
        self.wiring.obs_dim
    }

    /// Number of actions.
    pub fn n_actions(&self) -> usize {
        self.wiring.n_actions
    }

    /// Parameters in total.
    pub fn param_count(&self) -> usize {
        self.layers.iter().map(Tensors::n_params).sum()
    }

    /// Every layer's Q-values for every action of a batch of observations (`obs_dim ×
    /// batch`), into `ws.q_layers` (`layers × n_actions × batch`, column-major per layer).
    pub fn q_all(&self, obs: MatRef<'_, f32>, ws: &mut LocalWorkspace) -> Result<()> {
        let (b, na) = (obs.cols(), self.wiring.n_actions);
        let n_layers = self.layers.len();
        ws.q_layers.resize(n_layers * na * b, 0.0);
        // goodness-q reads the action: every observation once per action, column j·A + a.
        let expanded = self.wiring.action_in_input;
        let LocalWorkspace {
            x,
            norm,
            h,
            cache,
            q,
            obs_rep,
            actions_rep,
            qtmp,
            q_layers,
            ..
        } = ws;
        let input = if expanded {
            obs_rep.clear();
            actions_rep.clear();
            for j in 0..b {
                for a in 0..na {
                    obs_rep.extend_from_slice(obs.column(j));
                    actions_rep.push(a as u32);
                }
            }
            MatRef::new(obs_rep, obs.rows(), b * na)?
        } else {
            actions_rep.clear();
            obs
        };
        for (l, layer) in self.layers.iter().enumerate() {
            let (prev, out) = crate::layers::ping_pong(h, l);
            let layer_in = layer_input(
                &self.wiring,
                l,
                (l > 0).then(|| prev.mat()),
                input,
                actions_rep,
                norm,
                x,
            );
            layer.cell.forward(layer_in, out, cache)?;
            let dst = &mut q_layers[l * na * b..(l + 1) * na * b];
            match &layer.readout {
                Readout::Linear(d) => {
                    d.forward(out.mat(), q)?;
                    dst.copy_from_slice(q.as_slice());
                }
                Readout::Goodness(g, form) => {
                    qtmp.resize(b * na, 0.0);
                    g.q_values(*form, out.mat(), actions_rep, qtmp)?;
                    // Column j·A + a is (state j, action a): the n_actions × batch layout.
                    dst.copy_from_slice(qtmp);
                }
            }
        }
        Ok(())
    }

    /// The greedy action for one observation: the argmax of the mean of the layers'
    /// Q-values, or of the last layer's.
    pub fn greedy_action(&self, obs: &[f32], ws: &mut LocalWorkspace) -> Result<usize> {
        self.q_all(MatRef::new(obs, obs.len(), 1)?, ws)?;
        let na = self.wiring.n_actions;
        let n_layers = self.layers.len();
        ws.combined.clear();
        if self.wiring.act_on_mean {
            ws.combined.resize(na, 0.0);
            for l in 0..n_layers {
                for (c, &v) in ws
                    .combined
                    .iter_mut()
                    .zip(&ws.q_layers[l * na..(l + 1) * na])
                {
                    *c += v;
                }
            }
        } else {
            ws.combined
                .extend_from_slice(&ws.q_layers[(n_layers - 1) * na..n_layers * na]);
        }
        Ok(argmax(&ws.combined))
    }
}

/// Optimizers and buffers of a layer-local agent.
#[derive(Debug, Clone)]
pub struct LocalLearner {
    cfg: LocalConfig,
    td_loss: TdLoss,
    gamma: f32,
    opts: Vec<Optimizer<f32>>,
    grads: LocalGrads,
    /// Per layer, per sample.
    targets: Vec<f32>,
    q_online_next: Vec<f32>,
    dq: Buf<f32>,
    dh: Buf<f32>,
    qtmp: Vec<f32>,
    zeros: Vec<u32>,
    g: Vec<f32>,
    dl_dg: Vec<f32>,
    is_pos: Vec<bool>,
    sorted: Vec<f32>,
    epoch: EpochAccum,
    cache: CellCache<f32>,
}

impl LocalLearner {
    /// A learner for `net`, one optimizer per layer.
    pub fn new(cfg: &LocalConfig, net: &LocalNet, td_loss: TdLoss, gamma: f32) -> Result<Self> {
        let opts = net
            .layers
            .iter()
            .map(|l| {
                if cfg.frozen_cells {
                    Optimizer::for_layers(cfg.optimizer, &[ReadoutOf(l)])
                } else {
                    Optimizer::for_layers(cfg.optimizer, std::slice::from_ref(l))
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            cfg: cfg.clone(),
            td_loss,
            gamma,
            opts,
            grads: LocalGrads::default(),
            targets: Vec::new(),
            q_online_next: Vec::new(),
            dq: Buf::default(),
            dh: Buf::default(),
            qtmp: Vec::new(),
            zeros: Vec::new(),
            g: Vec::new(),
            dl_dg: Vec::new(),
            is_pos: Vec::new(),
            sorted: Vec::new(),
            epoch: EpochAccum::new(net.layers.len()),
            cache: CellCache::default(),
        })
    }

    /// Elements held by the optimizers.
    pub fn optimizer_state_len(&self) -> usize {
        self.opts.iter().map(Optimizer::state_len).sum()
    }

    /// Every layer's optimizer (for checkpoints).
    pub fn optimizers(&self) -> Vec<Optimizer<f32>> {
        self.opts.clone()
    }

    /// Restores optimizers saved by [`LocalLearner::optimizers`].
    pub fn restore(&mut self, opts: Vec<Optimizer<f32>>, epoch: EpochAccum) -> Result<()> {
        let expected: Vec<&[usize]> = self.opts.iter().map(Optimizer::sizes).collect();
        let got: Vec<&[usize]> = opts.iter().map(Optimizer::sizes).collect();
        if expected != got {
            return Err(Error::Mismatch(format!(
                "layer-local optimizer layout {got:?}, this agent has {expected:?}"
            )));
        }
        self.epoch.restore(epoch)?;
        self.opts = opts;
        Ok(())
    }

    /// Every layer's TD targets of a batch from the target network (`layers × batch`): the
    /// online layer picks the next action with double Q-learning, the target layer otherwise.
    fn compute_targets(
        &mut self,
        online: &LocalNet,
        target: &LocalNet,
        batch: &Batch,
        ws: &mut LocalWorkspace,
    ) -> Result<()> {
        let b = batch.len();
        let na = online.wiring.n_actions;
        let next = MatRef::new(&batch.next_obs, online.obs_dim(), b)?;
        if self.cfg.double_q {
            online.q_all(next, ws)?;
            self.q_online_next.clear();
            self.q_online_next.extend_from_slice(&ws.q_layers);
        }
        target.q_all(next, ws)?;
        let n_layers = online.layers.len();
        self.targets.resize(n_layers * b, 0.0);
        for l in 0..n_layers {
            let q_next = MatRef::new(&ws.q_layers[l * na * b..(l + 1) * na * b], na, b)?;
            let out = &mut self.targets[l * b..(l + 1) * b];
            if self.cfg.double_q {
                let picker = MatRef::new(&self.q_online_next[l * na * b..(l + 1) * na * b], na, b)?;
                dqn_head::double_q_targets(
                    q_next,
                    picker,
                    &batch.rewards,
                    &batch.terminated,
                    self.gamma,
                    out,
                )
            } else {
                dqn_head::td_targets(q_next, &batch.rewards, &batch.terminated, self.gamma, out)
            }
            .map_err(|e| Error::from(e).in_layer(l))?;
        }
        Ok(())
    }

    /// One update: every layer's TD step (and FF auxiliary term) on its own loss, from one
    /// forward pass with the pre-update weights. Returns the mean TD loss over layers.
    pub fn update(
        &mut self,
        online: &mut LocalNet,
        target: &LocalNet,
        batch: &Batch,
        ws: &mut LocalWorkspace,
    ) -> Result<f64> {
        self.compute_targets(online, target, batch, ws)?;
        // The targets are read while the learner's other buffers change: take them out, and
        // put them back (the allocation is kept) at the end.
        let targets = std::mem::take(&mut self.targets);
        let result = self.update_layers(online, batch, ws, &targets);
        self.targets = targets;
        result
    }

    fn update_layers(
        &mut self,
        online: &mut LocalNet,
        batch: &Batch,
        ws: &mut LocalWorkspace,
        targets: &[f32],
    ) -> Result<f64> {
        let b = batch.len();
        let wiring = online.wiring;
        let obs = MatRef::new(&batch.obs, wiring.obs_dim, b)?;
        self.zeros.clear();
        self.zeros.resize(b, 0);
        let mut loss_sum = 0.0;
        let n_layers = online.layers.len();
        for l in 0..n_layers {
            let LocalWorkspace { x, norm, h, q, .. } = &mut *ws;
            let (prev, out) = crate::layers::ping_pong(h, l);
            let layer_in = layer_input(
                &wiring,
                l,
                (l > 0).then(|| prev.mat()),
                obs,
                &batch.actions,
                norm,
                x,
            );
            let layer = &mut online.layers[l];
            layer.cell.forward_train(layer_in, out, &mut self.cache)?;
            let y = &targets[l * b..(l + 1) * b];
            let in_layer = |e: Error| e.in_layer(l);
            // The layer's TD loss, and ∂L/∂h through its readout.
            let loss = match &layer.readout {
                Readout::Linear(d) => {
                    td_gradients(
                        d,
                        out.mat(),
                        &batch.actions,
                        y,
                        self.td_loss,
                        q,
                        &mut self.dq,
                        self.grads.readout.linear(),
                        // Frozen cells need no gradient with respect to their output.
                        (!self.cfg.frozen_cells).then_some(&mut self.dh),
                    )
                    .map_err(|e| in_layer(e.into()))?
                    .loss
                }
                Readout::Goodness(g, form) => {
                    let form = *form;
                    self.qtmp.resize(b, 0.0);
                    g.q_values(form, out.mat(), &batch.actions, &mut self.qtmp)
                        .map_err(|e| in_layer(e.into()))?;
                    // The Q of the taken action is the only row: a 1 × batch TD loss.
                    let loss = td_loss(
                        MatRef::new(&self.qtmp, 1, b)?,
                        &self.zeros,
                        y,
                        self.td_loss,
                        &mut self.dq,
                    )
                    .map_err(|e| in_layer(e.into()))?;
                    g.backward(
                        form,
                        out.mat(),
                        &batch.actions,
                        self.dq.as_slice(),
                        self.grads.readout.goodness(),
                        &mut self.dh,
                    )?;
                    loss
                }
            };
            loss_sum += loss;
            // A non-finite gradient is the optimizer's error (it checks before it moves
            // anything), named with this layer.
            if self.cfg.frozen_cells {
                self.opts[l]
                    .step_layers(&mut [ReadoutOf(layer)], &[ReadoutOf(&self.grads)])
                    .map_err(|e| Error::from(e).in_layer(l))?;
                continue;
            }
            self.ff_aux(l, out.mat(), y)?;
            layer.cell.backward(
                layer_in,
                out.mat(),
                self.dh.mat(),
                &self.cache,
                &mut self.grads.cell,
                None,
            )?;
            self.opts[l]
                .step_layers(
                    std::slice::from_mut(layer),
                    std::slice::from_ref(&self.grads),
                )
                .map_err(|e| Error::from(e).in_layer(l))?;
        }
        Ok(loss_sum / n_layers as f64)
    }

    /// Adds λ · an FF objective's gradient to `self.dh`: the layer's mean-square goodness of
    /// `h`, the batch split at the lower median of the layer's TD targets `y`.
    fn ff_aux(&mut self, l: usize, h: MatRef<'_, f32>, y: &[f32]) -> Result<()> {
        let weight = match self.cfg.ff_aux {
            FfAux::None => return Ok(()),
            FfAux::Ff { weight, .. } | FfAux::Symba { weight, .. } => weight,
        };
        let b = h.cols();
        self.sorted.clear();
        self.sorted.extend_from_slice(y);
        let k = (b - 1) / 2;
        let (_, median, _) = self.sorted.select_nth_unstable_by(k, f32::total_cmp);
        let median = *median;
        self.is_pos.clear();
        self.is_pos.extend(y.iter().map(|&v| v > median));
        self.g.resize(b, 0.0);
        self.dl_dg.resize(b, 0.0);
        goodness(ff_core::ff::Goodness::Mean, h, &mut self.g)?;
        let stats: ff_core::Result<FfStats> = match self.cfg.ff_aux {
            FfAux::Ff { margin, .. } => ff_loss(
                LossForm::PerSample,
                margin,
                &self.g,
                &self.is_pos,
                &mut self.dl_dg,
            ),
            FfAux::Symba { kappa, .. } => symba_loss(&self.g, &self.is_pos, kappa, &mut self.dl_dg),
            FfAux::None => return Ok(()),
        };
        let stats = stats.map_err(|e| Error::from(e).in_layer(l))?;
        // ∂g_j/∂h_ij = 2 h_ij / n for the mean-square goodness.
        let rows = h.rows().max(1);
        let scale = 2.0 / rows as f32;
        for (j, (dcol, hcol)) in self
            .dh
            .as_mut_slice()
            .chunks_exact_mut(rows)
            .zip(h.as_slice().chunks_exact(rows))
            .enumerate()
        {
            let k = weight * self.dl_dg[j] * scale;
            for (d, &v) in dcol.iter_mut().zip(hcol) {
                *d += k * v;
            }
        }
        self.epoch.layers[l].add(&stats);
        Ok(())
    }

    /// The FF auxiliary term's statistics of the epoch (empty without one); resets them.
    pub fn take_epoch_stats(&mut self) -> FfEpochStats {
        let stats = self.epoch.take(None);
        if self.cfg.ff_aux == FfAux::None {
            return FfEpochStats::default();
        }
        FfEpochStats {
            layers: stats.layers,
            ..FfEpochStats::default()
        }
    }

    /// The epoch's running sums so far (for checkpoints).
    pub fn epoch_accum(&self) -> EpochAccum {
        self.epoch.clone()
    }
}
