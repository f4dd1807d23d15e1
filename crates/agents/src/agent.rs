//! The agent trait the training loop drives, and its implementations: BP-DQN, FF-DQN and the
//! two layer-local agents.

use crate::bp::BpLearner;
use crate::config::{Config, ConfigError};
use crate::ff::FfLearner;
pub use crate::kind::{AgentKind, Family, LocalRule, QRule};
use crate::local::{LocalLayer, LocalLearner, LocalNet, LocalWorkspace};
use crate::network::{QNetwork, Workspace, first_non_finite};
use crate::policy::Policy;
use crate::stats::FfEpochStats;
use crate::{Error, Result};
use dqn_head::{SyncAction, double_q_targets, td_targets};
use ff_core::cell::{Cell, CellNorm};
use ff_core::{InputNorm, MatRef};
use rand_chacha::ChaCha8Rng;
use replay::Batch;

/// What the training loop asks of a learning rule: act, learn from a minibatch, move a target
/// network. A rule of your own implements this, in its own crate, and trains through
/// [`crate::train()`] with every protocol of the loop (`docs/EXTENDING.md`; `tests/extending.rs`
/// adds one). [`Agent`] adds what this project's files need of its own agents.
pub trait Learner {
    /// The greedy action for one observation.
    fn act(&mut self, obs: &[f32]) -> Result<usize>;
    /// One learning step on a minibatch; returns the TD loss before the update.
    fn update(&mut self, batch: &Batch, rng: &mut ChaCha8Rng) -> Result<f64>;
    /// Moves the target network towards the online one as `action` says (the loop asks
    /// `TargetSync::action` when, once per environment step).
    fn sync_target(&mut self, action: SyncAction) -> Result<()>;
    /// The first non-finite parameter, as `(layer, value)`: the loop checks after every update
    /// and stops a diverged run there.
    fn first_non_finite(&self) -> Option<(usize, f32)>;
    /// Statistics gathered since the last call (FF layers); none by default.
    fn take_epoch_stats(&mut self) -> FfEpochStats {
        FfEpochStats::default()
    }
    /// A state to return to if the next update diverges (`OnDivergence::SkipBatch`), or `None`
    /// (the default) for a learner that cannot return: the loop then refuses `SkipBatch`.
    fn undo_point(&self) -> Option<Box<dyn std::any::Any + Send>> {
        None
    }
    /// Returns to a state [`Learner::undo_point`] gave.
    fn undo(&mut self, point: Box<dyn std::any::Any + Send>) -> Result<()> {
        drop(point);
        Err(Error::Mismatch(
            "this learner keeps no undo point: train it with OnDivergence::Stop".into(),
        ))
    }
}

/// This project's agents: a [`Learner`] that also names its kind, writes its weights and saves
/// and restores its whole state (weights files, checkpoints).
pub trait Agent: Learner {
    /// Which agent this is.
    fn kind(&self) -> AgentKind;
    /// The online network as it acts (a copy, for weights files).
    fn policy(&self) -> Policy;
    /// Parameters of the online network.
    fn param_count(&self) -> usize;
    /// Elements of optimizer state held.
    fn optimizer_state_len(&self) -> usize;
    /// Everything the agent needs to go on exactly where it is (for checkpoints, and to undo
    /// an update that diverged).
    fn snapshot(&self) -> AgentSnapshot;
    /// Returns to a snapshot taken from an agent of the same config.
    fn restore(&mut self, snapshot: AgentSnapshot) -> Result<()>;
}

/// [`Learner::undo_point`] and [`Learner::undo`] of an [`Agent`]: its snapshot.
macro_rules! undo_by_snapshot {
    () => {
        fn undo_point(&self) -> Option<Box<dyn std::any::Any + Send>> {
            Some(Box::new(Agent::snapshot(self)))
        }
        fn undo(&mut self, point: Box<dyn std::any::Any + Send>) -> Result<()> {
            match point.downcast::<AgentSnapshot>() {
                Ok(s) => Agent::restore(self, *s),
                Err(_) => Err(Error::Mismatch("an undo point of another learner".into())),
            }
        }
    };
}

/// A Q-network agent's networks and optimizers, as a snapshot holds them.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct QState {
    /// Online network cells, the head last.
    pub online: Vec<Cell<f32>>,
    /// Target network cells.
    pub target: Vec<Cell<f32>>,
    /// Optimizers (BP: its groups; FF: one per hidden layer, then the head).
    pub optimizers: Vec<ff_core::Optimizer<f32>>,
}

/// The learning state of an agent, by agent: everything it needs to go on exactly where it
/// was (checkpoints, and undoing an update that diverged). One variant per family member: a
/// state of one agent cannot be read as another's.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum AgentSnapshot {
    /// BP-DQN.
    Bp(QState),
    /// FF-DQN.
    Ff {
        /// Networks and optimizers.
        q: QState,
        /// The BP warm start while it runs: its optimizers and the updates left (`None`
        /// once it has ended, or without one).
        warmstart: Option<(Vec<ff_core::Optimizer<f32>>, u64)>,
        /// The greedy schedule's state (`None` under the concurrent schedule).
        greedy: Option<crate::ff::Greedy>,
        /// The epoch's FF statistics so far.
        epoch: crate::stats::EpochAccum,
    },
    /// A layer-local agent.
    Local {
        /// Which rule.
        rule: LocalRule,
        /// Online network layers.
        online: Vec<LocalLayer>,
        /// Target network layers.
        target: Vec<LocalLayer>,
        /// One optimizer per layer.
        optimizers: Vec<ff_core::Optimizer<f32>>,
        /// The epoch's statistics of the FF auxiliary term so far.
        epoch: crate::stats::EpochAccum,
    },
}

impl AgentSnapshot {
    /// Which agent the state is of.
    pub fn kind(&self) -> AgentKind {
        match self {
            AgentSnapshot::Bp(_) => AgentKind::Bp,
            AgentSnapshot::Ff { .. } => AgentKind::Ff,
            AgentSnapshot::Local { rule, .. } => rule.kind(),
        }
    }

    /// The refusal of restoring this state into an agent of `into`.
    fn mismatch(&self, into: AgentKind) -> Error {
        Error::Mismatch(format!(
            "a saved {} agent cannot become a {into} agent",
            self.kind()
        ))
    }
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

/// Saved online and target layers fit `mine` (this agent's) tensor for tensor.
fn check_layouts<L: ff_core::optim::Tensors<f32>>(
    mine: &[L],
    online: &[L],
    target: &[L],
) -> Result<()> {
    let mine = layout(mine);
    for (what, layers) in [("online", online), ("target", target)] {
        if layout(layers) != mine {
            return Err(Error::Mismatch(format!(
                "{what} network has layers {:?} (tensor sizes), this config builds {mine:?}",
                layout(layers)
            )));
        }
    }
    Ok(())
}

/// Every layer's tensor sizes: what must agree for saved parameters to fit.
fn layout<L: ff_core::optim::Tensors<f32>>(layers: &[L]) -> Vec<Vec<usize>> {
    layers
        .iter()
        .map(|l| (0..l.n_tensors()).map(|k| l.tensor(k).len()).collect())
        .collect()
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
    fn take_epoch_stats(&mut self) -> FfEpochStats {
        FfEpochStats::default()
    }
    undo_by_snapshot!();
}

impl Agent for BpAgent {
    fn kind(&self) -> AgentKind {
        AgentKind::Bp
    }
    fn policy(&self) -> Policy {
        Policy::Q(self.core.online.clone())
    }
    fn param_count(&self) -> usize {
        self.core.online.param_count()
    }
    fn optimizer_state_len(&self) -> usize {
        self.learner.optimizer_state_len()
    }
    fn snapshot(&self) -> AgentSnapshot {
        AgentSnapshot::Bp(self.core.q_state(self.learner.optimizers()))
    }
    fn restore(&mut self, s: AgentSnapshot) -> Result<()> {
        let AgentSnapshot::Bp(mut q) = s else {
            return Err(s.mismatch(AgentKind::Bp));
        };
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
        let env = cfg.env().id;
        let net = QNetwork::new(
            env.obs_dim(),
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
    undo_by_snapshot!();
}

impl Agent for FfAgent {
    fn kind(&self) -> AgentKind {
        AgentKind::Ff
    }
    fn policy(&self) -> Policy {
        Policy::Q(self.core.online.clone())
    }
    fn param_count(&self) -> usize {
        self.core.online.param_count()
    }
    fn optimizer_state_len(&self) -> usize {
        self.learner.optimizer_state_len()
            + self
                .warmstart
                .as_ref()
                .map_or(0, |(bp, _)| bp.optimizer_state_len())
    }
    fn snapshot(&self) -> AgentSnapshot {
        AgentSnapshot::Ff {
            q: self.core.q_state(self.learner.optimizers()),
            warmstart: self
                .warmstart
                .as_ref()
                .map(|(bp, left)| (bp.optimizers(), *left)),
            greedy: self.learner.greedy_state(),
            epoch: self.learner.epoch_accum(),
        }
    }
    fn restore(&mut self, s: AgentSnapshot) -> Result<()> {
        let AgentSnapshot::Ff {
            mut q,
            warmstart,
            greedy,
            epoch,
        } = s
        else {
            return Err(s.mismatch(AgentKind::Ff));
        };
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
    undo_by_snapshot!();
}

impl Agent for LocalAgent {
    fn kind(&self) -> AgentKind {
        self.rule.kind()
    }
    fn policy(&self) -> Policy {
        Policy::Local(self.online.clone())
    }
    fn param_count(&self) -> usize {
        self.online.param_count()
    }
    fn optimizer_state_len(&self) -> usize {
        self.learner.optimizer_state_len()
    }
    fn snapshot(&self) -> AgentSnapshot {
        AgentSnapshot::Local {
            rule: self.rule,
            online: self.online.layers.clone(),
            target: self.target.layers.clone(),
            optimizers: self.learner.optimizers(),
            epoch: self.learner.epoch_accum(),
        }
    }
    fn restore(&mut self, s: AgentSnapshot) -> Result<()> {
        let AgentSnapshot::Local {
            rule,
            online,
            target,
            optimizers,
            epoch,
        } = s
        else {
            return Err(s.mismatch(self.rule.kind()));
        };
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

/// Any agent, built from a config.
pub fn build(kind: AgentKind, cfg: &Config, rng: &mut ChaCha8Rng) -> Result<Box<dyn Agent + Send>> {
    Ok(match kind.family() {
        Family::Q(QRule::Bp) => Box::new(BpAgent::new(cfg, rng)?),
        Family::Q(QRule::Ff) => Box::new(FfAgent::new(cfg, rng)?),
        Family::Local(rule) => Box::new(LocalAgent::new(rule, cfg, rng)?),
    })
}
