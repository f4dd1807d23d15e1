//! The agent trait the training loop drives, and its two implementations.

use crate::bp::BpLearner;
use crate::config::Config;
use crate::ff::{FfEpochStats, FfLearner};
use crate::network::{QNetwork, Workspace};
use crate::{Error, Result};
use dqn_head::{SyncAction, td_targets};
use ff_core::{InputNorm, MatRef};
use rand_chacha::ChaCha8Rng;
use replay::Batch;

/// Which agent.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum AgentKind {
    /// Backprop DQN.
    Bp,
    /// Forward-Forward DQN.
    Ff,
}

impl AgentKind {
    /// `"bp"` or `"ff"`.
    pub fn name(self) -> &'static str {
        match self {
            AgentKind::Bp => "bp",
            AgentKind::Ff => "ff",
        }
    }
}

impl std::fmt::Display for AgentKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What the training loop asks of an agent.
pub trait Agent {
    /// Which agent this is.
    fn kind(&self) -> AgentKind;
    /// The online network.
    fn online(&self) -> &QNetwork;
    /// The greedy action for one observation.
    fn act(&mut self, obs: &[f32]) -> Result<usize>;
    /// One learning step on a minibatch; returns the TD loss before the update.
    fn update(&mut self, batch: &Batch, rng: &mut ChaCha8Rng) -> Result<f64>;
    /// Moves the target network towards the online one as `action` says (the loop asks
    /// `TargetSync::action` when, once per environment step).
    fn sync_target(&mut self, action: SyncAction) -> Result<()>;
    /// Statistics gathered since the last call (FF layers; empty for BP).
    fn take_epoch_stats(&mut self) -> FfEpochStats;
    /// Elements of optimizer state held.
    fn optimizer_state_len(&self) -> usize;
    /// Everything the agent needs to go on exactly where it is (for checkpoints, and to undo
    /// an update that diverged).
    fn snapshot(&self) -> AgentSnapshot;
    /// Returns to a snapshot taken from an agent of the same config.
    fn restore(&mut self, snapshot: AgentSnapshot) -> Result<()>;
}

/// The learning state of an agent: both networks, every optimizer, schedules.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AgentSnapshot {
    /// Which agent.
    pub kind: AgentKind,
    /// Online network layers.
    pub online: Vec<ff_core::Dense<f32>>,
    /// Target network layers.
    pub target: Vec<ff_core::Dense<f32>>,
    /// Optimizers (BP: its groups; FF: one per hidden layer, then the head).
    pub optimizers: Vec<ff_core::Optimizer<f32>>,
    /// FF-DQN's BP warm start, while it runs: its optimizers and the updates left.
    pub warmstart: Option<(Vec<ff_core::Optimizer<f32>>, u64)>,
    /// FF-DQN's greedy schedule.
    pub greedy: Option<crate::ff::Greedy>,
}

/// The parts both agents share: networks, acting workspace, targets.
#[derive(Debug, Clone)]
struct Core {
    online: QNetwork,
    target: QNetwork,
    ws: Workspace,
    targets: Vec<f32>,
    gamma: f32,
}

impl Core {
    fn new(online: QNetwork, gamma: f32) -> Self {
        Self {
            target: online.clone(),
            online,
            ws: Workspace::default(),
            targets: Vec::new(),
            gamma,
        }
    }

    /// TD targets of a minibatch from the target network, batched in one forward pass.
    fn compute_targets(&mut self, batch: &Batch) -> Result<()> {
        let next = MatRef::new(&batch.next_obs, self.target.obs_dim(), batch.len())?;
        self.target.q_values(next, &mut self.ws)?;
        self.targets.resize(batch.len(), 0.0);
        td_targets(
            self.ws.q.mat(),
            &batch.rewards,
            &batch.terminated,
            self.gamma,
            &mut self.targets,
        )?;
        Ok(())
    }

    fn set_networks(
        &mut self,
        online: Vec<ff_core::Dense<f32>>,
        target: Vec<ff_core::Dense<f32>>,
    ) -> Result<()> {
        let shapes = |layers: &[ff_core::Dense<f32>]| {
            layers
                .iter()
                .map(|l| (l.out_dim(), l.in_dim()))
                .collect::<Vec<_>>()
        };
        let mine = shapes(&self.online.layers);
        for (what, layers) in [("online", &online), ("target", &target)] {
            if shapes(layers) != mine {
                return Err(Error::Mismatch(format!(
                    "{what} network has layers {:?} (out × in), this config builds {mine:?}",
                    shapes(layers)
                )));
            }
        }
        self.online.layers = online;
        self.target.layers = target;
        Ok(())
    }

    fn sync(&mut self, action: SyncAction) -> Result<()> {
        Ok(action.apply(&self.online.layers, &mut self.target.layers)?)
    }
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
            cfg.hidden(),
            env.n_actions(),
            cfg.bp().init,
            cfg.bp().init,
            InputNorm::None,
            rng,
        );
        let learner = BpLearner::new(cfg.bp(), &net, cfg.train().td_loss)?;
        Ok(Self {
            core: Core::new(net, cfg.train().gamma),
            learner,
        })
    }

    /// Gradients of the last update (for tests).
    pub fn last_grads(&self) -> &[ff_core::DenseGrads<f32>] {
        self.learner.last_grads()
    }

    /// The target network.
    pub fn target(&self) -> &QNetwork {
        &self.core.target
    }
}

impl Agent for BpAgent {
    fn kind(&self) -> AgentKind {
        AgentKind::Bp
    }
    fn online(&self) -> &QNetwork {
        &self.core.online
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
    fn take_epoch_stats(&mut self) -> FfEpochStats {
        FfEpochStats::default()
    }
    fn optimizer_state_len(&self) -> usize {
        self.learner.optimizer_state_len()
    }
    fn snapshot(&self) -> AgentSnapshot {
        AgentSnapshot {
            kind: AgentKind::Bp,
            online: self.core.online.layers.clone(),
            target: self.core.target.layers.clone(),
            optimizers: self.learner.optimizers(),
            warmstart: None,
            greedy: None,
        }
    }
    fn restore(&mut self, s: AgentSnapshot) -> Result<()> {
        if s.kind != AgentKind::Bp || s.warmstart.is_some() || s.greedy.is_some() {
            return Err(Error::Mismatch(format!(
                "a saved {} agent cannot become a bp agent",
                s.kind
            )));
        }
        self.learner.restore(s.optimizers)?;
        self.core.set_networks(s.online, s.target)
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
        let env = cfg.env().id;
        let net = QNetwork::new(
            env.obs_dim(),
            cfg.hidden(),
            env.n_actions(),
            ff.init,
            ff.head_init,
            ff.input_norm,
            rng,
        );
        let learner = FfLearner::new(ff, &net, cfg.train().td_loss)?;
        let warmstart = match ff.bp_warmstart_steps {
            Some(steps) => Some((BpLearner::new(cfg.bp(), &net, cfg.train().td_loss)?, steps)),
            None => None,
        };
        Ok(Self {
            core: Core::new(net, cfg.train().gamma),
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

    /// The target network.
    pub fn target(&self) -> &QNetwork {
        &self.core.target
    }
}

impl Agent for FfAgent {
    fn kind(&self) -> AgentKind {
        AgentKind::Ff
    }
    fn online(&self) -> &QNetwork {
        &self.core.online
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
    fn optimizer_state_len(&self) -> usize {
        self.learner.optimizer_state_len()
            + self
                .warmstart
                .as_ref()
                .map_or(0, |(bp, _)| bp.optimizer_state_len())
    }
    fn snapshot(&self) -> AgentSnapshot {
        AgentSnapshot {
            kind: AgentKind::Ff,
            online: self.core.online.layers.clone(),
            target: self.core.target.layers.clone(),
            optimizers: self.learner.optimizers(),
            warmstart: self
                .warmstart
                .as_ref()
                .map(|(bp, left)| (bp.optimizers(), *left)),
            greedy: self.learner.greedy_state(),
        }
    }
    fn restore(&mut self, s: AgentSnapshot) -> Result<()> {
        if s.kind != AgentKind::Ff {
            return Err(Error::Mismatch(format!(
                "a saved {} agent cannot become an ff agent",
                s.kind
            )));
        }
        match (&mut self.warmstart, s.warmstart) {
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
        self.learner.restore(s.optimizers, s.greedy)?;
        self.core.set_networks(s.online, s.target)
    }
}

/// Either agent, built from a config.
pub fn build(kind: AgentKind, cfg: &Config, rng: &mut ChaCha8Rng) -> Result<Box<dyn Agent + Send>> {
    Ok(match kind {
        AgentKind::Bp => Box::new(BpAgent::new(cfg, rng)?),
        AgentKind::Ff => Box::new(FfAgent::new(cfg, rng)?),
    })
}
