//! The layer-local family: every hidden layer a cell with a readout of its own, learning from
//! its own loss only ([`LocalNet`], [`LocalLearner`]); the rules local-td and goodness-q
//! ([`crate::LocalRule`]) are one agent, [`LocalAgent`]. Its state as checkpoints hold it
//! ([`LocalState`]) and its part of the weights format (`weights.rs`) live here too.

mod net;
pub(crate) mod weights;

pub use net::*;

use crate::config::Config;
use crate::kind::LocalRule;
use crate::layers::{check_layouts, first_non_finite};
use crate::learner::{Learner, undo_by_state};
use crate::stats::FfEpochStats;
use crate::{Error, Result};
use dqn_head::SyncAction;
use rand_chacha::ChaCha8Rng;
use replay::Batch;

/// A layer-local agent's whole learning state.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LocalState {
    /// Which rule.
    pub rule: LocalRule,
    /// Online network layers.
    pub online: Vec<LocalLayer>,
    /// Target network layers.
    pub target: Vec<LocalLayer>,
    /// One optimizer per layer.
    pub optimizers: Vec<ff_core::Optimizer<f32>>,
    /// The epoch's statistics of the FF auxiliary term so far.
    pub epoch: crate::stats::EpochAccum,
}

/// A layer-local agent: local-td or goodness-q.
#[derive(Debug, Clone)]
pub struct LocalAgent {
    rule: LocalRule,
    online: LocalNet,
    target: LocalNet,
    learner: LocalLearner,
    ws: LocalWorkspace,
}

impl LocalAgent {
    /// A fresh agent of `rule` with its section's init drawn from `rng`.
    pub fn new(rule: LocalRule, cfg: &Config, rng: &mut ChaCha8Rng) -> Result<Self> {
        cfg.refuse_conv(rule.name())?;
        let local = cfg.local(rule);
        let env = cfg.env().id;
        let online = LocalNet::new(
            local,
            cfg.cell_norm(),
            env.obs_dim(),
            cfg.hidden(),
            env.n_actions(),
            rng,
        );
        let learner = LocalLearner::new(local, &online, cfg.train().td_loss, cfg.train().gamma)?;
        Ok(Self {
            rule,
            target: online.clone(),
            online,
            learner,
            ws: LocalWorkspace::default(),
        })
    }

    /// The online network.
    pub fn online(&self) -> &LocalNet {
        &self.online
    }

    /// The target network.
    pub fn target(&self) -> &LocalNet {
        &self.target
    }
}

impl Learner for LocalAgent {
    fn first_non_finite(&self) -> Option<(usize, f32)> {
        first_non_finite(&self.online.layers)
    }
    fn act(&mut self, obs: &[f32]) -> Result<usize> {
        self.online.greedy_action(obs, &mut self.ws)
    }
    fn update(&mut self, batch: &Batch, _rng: &mut ChaCha8Rng) -> Result<f64> {
        self.learner
            .update(&mut self.online, &self.target, batch, &mut self.ws)
    }
    fn sync_target(&mut self, action: SyncAction) -> Result<()> {
        Ok(action.apply(&self.online.layers, &mut self.target.layers)?)
    }
    fn take_epoch_stats(&mut self) -> FfEpochStats {
        self.learner.take_epoch_stats()
    }
    undo_by_state!(LocalState, state, restore_state);
}

impl LocalAgent {
    /// Its rule.
    pub fn rule(&self) -> LocalRule {
        self.rule
    }

    /// Elements of optimizer state held.
    pub fn optimizer_state_len(&self) -> usize {
        self.learner.optimizer_state_len()
    }

    /// Its whole learning state (checkpoints, undo).
    pub fn state(&self) -> LocalState {
        LocalState {
            rule: self.rule,
            online: self.online.layers.clone(),
            target: self.target.layers.clone(),
            optimizers: self.learner.optimizers(),
            epoch: self.learner.epoch_accum(),
        }
    }
    /// Returns to a state taken from an agent of the same config.
    pub fn restore_state(&mut self, s: LocalState) -> Result<()> {
        let LocalState {
            rule,
            online,
            target,
            optimizers,
            epoch,
        } = s;
        if rule != self.rule {
            return Err(Error::Mismatch(format!(
                "a saved {} agent cannot become a {} agent",
                rule.kind(),
                self.rule.kind()
            )));
        }
        check_layouts(&self.online.layers, &online, &target)?;
        self.learner.restore(optimizers, epoch)?;
        self.online.layers = online;
        self.target.layers = target;
        Ok(())
    }
}
