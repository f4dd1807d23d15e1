//! The Q-network family: hidden cells then a linear Q-head ([`QNetwork`]), trained by
//! backprop (BP-DQN, [`BpAgent`]) or by Forward-Forward layers under a TD-trained head
//! (FF-DQN, [`FfAgent`]). The family's state as checkpoints hold it ([`QState`], [`FfState`])
//! and its part of the weights format (`weights.rs`) live here too.

pub mod bp;
pub mod ff;
mod network;
pub(crate) mod weights;

pub use network::{QNetwork, Workspace};

use crate::config::{Config, ConfigError};
use crate::layers::check_layouts;
use crate::learner::{Learner, undo_by_state};
use crate::stats::FfEpochStats;
use crate::{Error, Result};
use bp::BpLearner;
use dqn_head::{SyncAction, double_q_targets, td_targets};
use ff::FfLearner;
use ff_core::cell::{Cell, CellNorm};
use ff_core::{InputNorm, MatRef};
use rand_chacha::ChaCha8Rng;
use replay::Batch;

/// A Q-network agent's networks and optimizers, as a snapshot holds them.
/// BP-DQN's whole learning state, and FF-DQN's networks and optimizers.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct QState {
    /// Online network cells, the head last.
    pub online: Vec<Cell<f32>>,
    /// Target network cells.
    pub target: Vec<Cell<f32>>,
    /// Optimizers (BP: its groups; FF: one per hidden layer, then the head).
    pub optimizers: Vec<ff_core::Optimizer<f32>>,
}

/// What the Q-network agents (BP-DQN, FF-DQN) share: networks, acting workspace, targets.
#[derive(Debug, Clone)]
struct Core {
    online: QNetwork,
    target: QNetwork,
    ws: Workspace,
    targets: Vec<f32>,
    gamma: f32,
    /// Double Q-learning: the online network's next-state Q-values pick the action.
    double_q: bool,
    q_online_next: Vec<f32>,
}

impl Core {
    fn new(online: QNetwork, gamma: f32, double_q: bool) -> Self {
        Self {
            target: online.clone(),
            online,
            ws: Workspace::default(),
            targets: Vec::new(),
            gamma,
            double_q,
            q_online_next: Vec::new(),
        }
    }

    /// TD targets of a minibatch from the target network, batched in one forward pass (two
    /// with double Q-learning).
    fn compute_targets(&mut self, batch: &Batch) -> Result<()> {
        let next = MatRef::new(&batch.next_obs, self.target.obs_dim(), batch.len())?;
        if self.double_q {
            self.online.q_values(next, &mut self.ws)?;
            self.q_online_next.clear();
            self.q_online_next.extend_from_slice(self.ws.q.as_slice());
        }
        self.target.q_values(next, &mut self.ws)?;
        self.targets.resize(batch.len(), 0.0);
        if self.double_q {
            let picker = MatRef::new(&self.q_online_next, self.target.n_actions(), batch.len())?;
            double_q_targets(
                self.ws.q.mat(),
                picker,
                &batch.rewards,
                &batch.terminated,
                self.gamma,
                &mut self.targets,
            )?;
        } else {
            td_targets(
                self.ws.q.mat(),
                &batch.rewards,
                &batch.terminated,
                self.gamma,
                &mut self.targets,
            )?;
        }
        Ok(())
    }

    fn set_networks(&mut self, q: QState) -> Result<()> {
        check_layouts(&self.online.layers, &q.online, &q.target)?;
        self.online.layers = q.online;
        self.target.layers = q.target;
        Ok(())
    }

    fn q_state(&self, optimizers: Vec<ff_core::Optimizer<f32>>) -> QState {
        QState {
            online: self.online.layers.clone(),
            target: self.target.layers.clone(),
            optimizers,
        }
    }

    fn sync(&mut self, action: SyncAction) -> Result<()> {
        Ok(action.apply(&self.online.layers, &mut self.target.layers)?)
    }
}

/// FF-DQN's whole learning state.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FfState {
    /// Networks and optimizers.
    pub q: QState,
    /// The BP warm start while it runs: its optimizers and the updates left (`None` once it
    /// has ended, or without one).
    pub warmstart: Option<(Vec<ff_core::Optimizer<f32>>, u64)>,
    /// The greedy schedule's state (`None` under the concurrent schedule).
    pub greedy: Option<ff::Greedy>,
    /// The epoch's FF statistics so far.
    pub epoch: crate::stats::EpochAccum,
}

/// BP-DQN: the TD loss back-propagated through the head and every hidden layer.
#[derive(Debug, Clone)]
pub struct BpAgent {
    core: Core,
    learner: BpLearner,
}

impl BpAgent {
    /// A fresh agent with `[bp]`'s init drawn from `rng`.
    pub fn new(cfg: &Config, rng: &mut ChaCha8Rng) -> Result<Self> {
        let env = cfg.env().id;
        let net = QNetwork::new(
            env.obs_dim(),
            cfg.conv(),
            cfg.hidden(),
            env.n_actions(),
            cfg.bp().init,
            cfg.bp().init,
            InputNorm::None,
            cfg.cell_norm(),
            rng,
        );
        let learner = BpLearner::new(cfg.bp(), &net, cfg.train().td_loss)?;
        Ok(Self {
            core: Core::new(net, cfg.train().gamma, cfg.bp().double_q),
            learner,
        })
    }

    /// Gradients of the last update (for tests).
    pub fn last_grads(&self) -> &[ff_core::cell::CellGrads<f32>] {
        self.learner.last_grads()
    }

    /// The online network.
    pub fn online(&self) -> &QNetwork {
        &self.core.online
    }

    /// [`QNetwork::set_binary_gather`] on the online and the target network.
    pub fn set_binary_gather(&mut self, on: bool) {
        self.core.online.set_binary_gather(on);
        self.core.target.set_binary_gather(on);
    }

    /// The target network.
    pub fn target(&self) -> &QNetwork {
        &self.core.target
    }
}

impl Learner for BpAgent {
    fn first_non_finite(&self) -> Option<(usize, f32)> {
        self.core.online.first_non_finite()
    }
    fn act(&mut self, obs: &[f32]) -> Result<usize> {
        self.core.online.greedy_action(obs, &mut self.core.ws)
    }
    fn update(&mut self, batch: &Batch, _rng: &mut ChaCha8Rng) -> Result<f64> {
        self.core.compute_targets(batch)?;
        self.learner.update(
            &mut self.core.online,
            batch,
            &self.core.targets,
            &mut self.core.ws,
        )
    }
    fn sync_target(&mut self, action: SyncAction) -> Result<()> {
        self.core.sync(action)
    }
    undo_by_state!(QState, state, restore_state);
}

impl BpAgent {
    /// Elements of optimizer state held.
    pub fn optimizer_state_len(&self) -> usize {
        self.learner.optimizer_state_len()
    }

    /// Its whole learning state (checkpoints, undo).
    pub fn state(&self) -> QState {
        self.core.q_state(self.learner.optimizers())
    }

    /// Returns to a state taken from an agent of the same config.
    pub fn restore_state(&mut self, mut q: QState) -> Result<()> {
        self.learner.restore(std::mem::take(&mut q.optimizers))?;
        self.core.set_networks(q)
    }
}

/// FF-DQN: hidden layers learn by local FF steps, the head by TD on their features.
#[derive(Debug, Clone)]
pub struct FfAgent {
    core: Core,
    learner: FfLearner,
    /// BP learner and updates left, while the BP warm start runs.
    warmstart: Option<(BpLearner, u64)>,
}

impl FfAgent {
    /// A fresh agent with `[ff]`'s init drawn from `rng`.
    pub fn new(cfg: &Config, rng: &mut ChaCha8Rng) -> Result<Self> {
        let ff = cfg.ff();
        if cfg.cell_norm() != CellNorm::None {
            return Err(ConfigError::Invalid {
                file: cfg.source().to_string(),
                key: "network.cell-norm".into(),
                value: format!("{:?}", cfg.raw().network.cell_norm),
                allowed: "\"none\" for the ff agent: its layers learn from FF's goodness of relu(W x + b); a per-cell LayerNorm is for bp, local-td and goodness-q".into(),
            }
            .into());
        }
        cfg.refuse_conv("ff")?;
        let env = cfg.env().id;
        let net = QNetwork::new(
            env.obs_dim(),
            None,
            cfg.hidden(),
            env.n_actions(),
            ff.init,
            ff.head_init,
            ff.input_norm,
            CellNorm::None,
            rng,
        );
        let learner = FfLearner::new(ff, &net, cfg.train().td_loss)?;
        let warmstart = match ff.bp_warmstart_steps {
            Some(steps) => Some((BpLearner::new(cfg.bp(), &net, cfg.train().td_loss)?, steps)),
            None => None,
        };
        Ok(Self {
            core: Core::new(net, cfg.train().gamma, false),
            learner,
            warmstart,
        })
    }

    /// Updates the BP warm start still has to run.
    pub fn warmstart_left(&self) -> u64 {
        self.warmstart.as_ref().map_or(0, |(_, n)| *n)
    }

    /// The split of the last FF minibatch (for tests).
    pub fn last_split(&self) -> &[bool] {
        self.learner.last_split()
    }

    /// The online network.
    pub fn online(&self) -> &QNetwork {
        &self.core.online
    }

    /// The target network.
    pub fn target(&self) -> &QNetwork {
        &self.core.target
    }
}

impl Learner for FfAgent {
    fn first_non_finite(&self) -> Option<(usize, f32)> {
        self.core.online.first_non_finite()
    }
    fn act(&mut self, obs: &[f32]) -> Result<usize> {
        self.core.online.greedy_action(obs, &mut self.core.ws)
    }
    fn update(&mut self, batch: &Batch, rng: &mut ChaCha8Rng) -> Result<f64> {
        self.core.compute_targets(batch)?;
        if let Some((bp, left)) = &mut self.warmstart {
            let loss = bp.update(
                &mut self.core.online,
                batch,
                &self.core.targets,
                &mut self.core.ws,
            )?;
            *left -= 1;
            if *left == 0 {
                self.warmstart = None;
            }
            return Ok(loss);
        }
        self.learner.update(
            &mut self.core.online,
            batch,
            &self.core.targets,
            rng,
            &mut self.core.ws,
        )
    }
    fn sync_target(&mut self, action: SyncAction) -> Result<()> {
        self.core.sync(action)
    }
    fn take_epoch_stats(&mut self) -> FfEpochStats {
        self.learner.take_epoch_stats()
    }
    undo_by_state!(FfState, state, restore_state);
}

impl FfAgent {
    /// Elements of optimizer state held (the warm start's too while it runs).
    pub fn optimizer_state_len(&self) -> usize {
        self.learner.optimizer_state_len()
            + self
                .warmstart
                .as_ref()
                .map_or(0, |(bp, _)| bp.optimizer_state_len())
    }

    /// Its whole learning state (checkpoints, undo).
    pub fn state(&self) -> FfState {
        FfState {
            q: self.core.q_state(self.learner.optimizers()),
            warmstart: self
                .warmstart
                .as_ref()
                .map(|(bp, left)| (bp.optimizers(), *left)),
            greedy: self.learner.greedy_state(),
            epoch: self.learner.epoch_accum(),
        }
    }

    /// Returns to a state taken from an agent of the same config.
    pub fn restore_state(&mut self, s: FfState) -> Result<()> {
        let FfState {
            mut q,
            warmstart,
            greedy,
            epoch,
        } = s;
        match (&mut self.warmstart, warmstart) {
            (Some((bp, left)), Some((opts, n))) => {
                bp.restore(opts)?;
                *left = n;
            }
            // The warm start had ended when the snapshot was taken.
            (Some(_), None) => self.warmstart = None,
            (None, None) => {}
            (None, Some(_)) => {
                return Err(Error::Mismatch(
                    "the saved agent has a BP warm start, this config has none".into(),
                ));
            }
        }
        self.learner
            .restore(std::mem::take(&mut q.optimizers), greedy, epoch)?;
        self.core.set_networks(q)
    }
}
