//! This project's agents: the [`Agent`] trait (a [`Learner`] that names its kind, writes its
//! weights and saves its whole state), the state of any agent ([`AgentSnapshot`]), and
//! [`build`]. The agents themselves live in their families' modules, [`crate::q`] and
//! [`crate::local`]; this module only ties each family's types to the trait, so a new rule in
//! an existing family needs no edit here.

use crate::config::Config;
pub use crate::kind::{AgentKind, Family, LocalRule, QRule};
pub use crate::learner::Learner;
use crate::local::{LocalAgent, LocalState};
use crate::policy::Policy;
use crate::q::{BpAgent, FfAgent, FfState, QState};
use crate::{Error, Result};
use rand_chacha::ChaCha8Rng;

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
    /// Everything the agent needs to go on exactly where it is (for checkpoints).
    fn snapshot(&self) -> AgentSnapshot;
    /// Returns to a snapshot taken from an agent of the same config.
    fn restore(&mut self, snapshot: AgentSnapshot) -> Result<()>;
}

/// The learning state of an agent, by agent: everything it needs to go on exactly where it
/// was. One variant per family member, each its family's state type: a state of one agent
/// cannot be read as another's.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum AgentSnapshot {
    /// BP-DQN.
    Bp(QState),
    /// FF-DQN.
    Ff(FfState),
    /// A layer-local agent (its rule inside).
    Local(LocalState),
}

impl AgentSnapshot {
    /// Which agent the state is of.
    pub fn kind(&self) -> AgentKind {
        match self {
            AgentSnapshot::Bp(_) => AgentKind::Bp,
            AgentSnapshot::Ff(_) => AgentKind::Ff,
            AgentSnapshot::Local(s) => s.rule.kind(),
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

impl Agent for BpAgent {
    fn kind(&self) -> AgentKind {
        AgentKind::Bp
    }
    fn policy(&self) -> Policy {
        Policy::Q(self.online().clone())
    }
    fn param_count(&self) -> usize {
        self.online().param_count()
    }
    fn optimizer_state_len(&self) -> usize {
        BpAgent::optimizer_state_len(self)
    }
    fn snapshot(&self) -> AgentSnapshot {
        AgentSnapshot::Bp(self.state())
    }
    fn restore(&mut self, s: AgentSnapshot) -> Result<()> {
        match s {
            AgentSnapshot::Bp(q) => self.restore_state(q),
            s => Err(s.mismatch(AgentKind::Bp)),
        }
    }
}

impl Agent for FfAgent {
    fn kind(&self) -> AgentKind {
        AgentKind::Ff
    }
    fn policy(&self) -> Policy {
        Policy::Q(self.online().clone())
    }
    fn param_count(&self) -> usize {
        self.online().param_count()
    }
    fn optimizer_state_len(&self) -> usize {
        FfAgent::optimizer_state_len(self)
    }
    fn snapshot(&self) -> AgentSnapshot {
        AgentSnapshot::Ff(self.state())
    }
    fn restore(&mut self, s: AgentSnapshot) -> Result<()> {
        match s {
            AgentSnapshot::Ff(f) => self.restore_state(f),
            s => Err(s.mismatch(AgentKind::Ff)),
        }
    }
}

impl Agent for LocalAgent {
    fn kind(&self) -> AgentKind {
        self.rule().kind()
    }
    fn policy(&self) -> Policy {
        Policy::Local(self.online().clone())
    }
    fn param_count(&self) -> usize {
        self.online().param_count()
    }
    fn optimizer_state_len(&self) -> usize {
        LocalAgent::optimizer_state_len(self)
    }
    fn snapshot(&self) -> AgentSnapshot {
        AgentSnapshot::Local(self.state())
    }
    fn restore(&mut self, s: AgentSnapshot) -> Result<()> {
        match s {
            AgentSnapshot::Local(l) => self.restore_state(l),
            s => Err(s.mismatch(self.rule().kind())),
        }
    }
}

/// Any agent, built from a config: by family, so a new rule of an existing family is built
/// by its family's constructor with no edit here.
pub fn build(kind: AgentKind, cfg: &Config, rng: &mut ChaCha8Rng) -> Result<Box<dyn Agent + Send>> {
    Ok(match kind.family() {
        Family::Q(QRule::Bp) => Box::new(BpAgent::new(cfg, rng)?),
        Family::Q(QRule::Ff) => Box::new(FfAgent::new(cfg, rng)?),
        Family::Local(rule) => Box::new(LocalAgent::new(rule, cfg, rng)?),
    })
}
