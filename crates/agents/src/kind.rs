//! Which agent: the one list of agent kinds, a leaf every other module may use.

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
    /// Layer-local TD learning: a Q readout and a TD loss per layer.
    LocalTd,
    /// Layer-local TD learning with each layer's goodness as its Q-value.
    GoodnessQ,
}

impl AgentKind {
    /// Every agent.
    pub const ALL: [AgentKind; 4] = [
        AgentKind::Bp,
        AgentKind::Ff,
        AgentKind::LocalTd,
        AgentKind::GoodnessQ,
    ];

    /// `"bp"`, `"ff"`, `"local-td"` or `"goodness-q"`.
    pub fn name(self) -> &'static str {
        match self {
            AgentKind::Bp => "bp",
            AgentKind::Ff => "ff",
            AgentKind::LocalTd => "local-td",
            AgentKind::GoodnessQ => "goodness-q",
        }
    }

    /// The agent named `name` (as [`AgentKind::name`] spells it).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// One line on what the agent is (for help texts).
    pub fn about(self) -> &'static str {
        match self {
            AgentKind::Bp => "Backprop DQN",
            AgentKind::Ff => "Forward-Forward DQN: FF hidden layers, a TD-trained head",
            AgentKind::LocalTd => {
                "Layer-local TD: a Q readout and a TD loss per layer, no gradient across layers"
            }
            AgentKind::GoodnessQ => {
                "Layer-local TD with each layer's goodness as its Q-value (the action in its input)"
            }
        }
    }

    /// The agent's family: which network it trains, and so which state it saves and which
    /// weights it writes. Exhaustive: a new agent kind is placed in a family here, and the
    /// compiler then names every site that treats the families differently.
    pub fn family(self) -> Family {
        match self {
            AgentKind::Bp | AgentKind::Ff => Family::Q,
            AgentKind::LocalTd => Family::Local(LocalRule::LocalTd),
            AgentKind::GoodnessQ => Family::Local(LocalRule::GoodnessQ),
        }
    }
}

/// The network families: agents of one family share a network type, its weights format and
/// its snapshot's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// A Q-network (hidden cells and a linear head) trained by backprop or FF: bp, ff.
    Q,
    /// A layer-local network (each layer a cell and its own readout, no gradient across
    /// layers): local-td, goodness-q.
    Local(LocalRule),
}

/// The layer-local rules.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum LocalRule {
    /// A linear Q readout and a TD loss per layer.
    LocalTd,
    /// Each layer's goodness as its Q-value.
    GoodnessQ,
}

impl LocalRule {
    /// The agent of this rule.
    pub fn kind(self) -> AgentKind {
        match self {
            LocalRule::LocalTd => AgentKind::LocalTd,
            LocalRule::GoodnessQ => AgentKind::GoodnessQ,
        }
    }
}

impl std::fmt::Display for AgentKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
