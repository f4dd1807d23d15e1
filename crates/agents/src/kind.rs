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

    /// How reports and figures name the agent.
    pub fn label(self) -> &'static str {
        match self {
            AgentKind::Bp => "BP-DQN",
            AgentKind::Ff => "FF-DQN",
            AgentKind::LocalTd => "local-td",
            AgentKind::GoodnessQ => "goodness-q",
        }
    }

    /// A preset config that has the agent's own section (named when a file lacks it).
    pub fn preset(self) -> &'static str {
        match self {
            AgentKind::Bp | AgentKind::Ff => "configs/paper.toml",
            AgentKind::LocalTd => "configs/local-td.toml",
            AgentKind::GoodnessQ => "configs/goodness-q.toml",
        }
    }

    /// The agent's family and its rule within it: which network it trains (and so which
    /// module builds it, which state it saves, which weights it writes) and which config
    /// section holds its settings. Exhaustive: a new agent kind is placed here, and the
    /// compiler then names every site that treats the families or rules differently.
    pub fn family(self) -> Family {
        match self {
            AgentKind::Bp => Family::Q(QRule::Bp),
            AgentKind::Ff => Family::Q(QRule::Ff),
            AgentKind::LocalTd => Family::Local(LocalRule::LocalTd),
            AgentKind::GoodnessQ => Family::Local(LocalRule::GoodnessQ),
        }
    }
}

/// The network families: agents of one family share a network type, its weights format and
/// its snapshot's shape; each is a module (`crate::q`, `crate::local`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// A Q-network (hidden cells and a linear head) trained by backprop or FF: bp, ff.
    Q(QRule),
    /// A layer-local network (each layer a cell and its own readout, no gradient across
    /// layers): local-td, goodness-q.
    Local(LocalRule),
}

/// How a Q-network's layers learn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QRule {
    /// The TD loss back-propagated through every layer.
    Bp,
    /// Hidden layers by Forward-Forward, the head by TD.
    Ff,
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
    /// Every layer-local rule, in [`AgentKind::ALL`]'s order (the one list of agents).
    pub fn all() -> impl Iterator<Item = LocalRule> {
        AgentKind::ALL.into_iter().filter_map(|k| match k.family() {
            Family::Local(rule) => Some(rule),
            Family::Q(_) => None,
        })
    }

    /// Its name, the agent's: also the name of its config section (`[local-td]`).
    pub fn name(self) -> &'static str {
        self.kind().name()
    }

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
