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

    /// Whether the agent's hidden layers learn only from losses of their own.
    pub fn is_layer_local(self) -> bool {
        self != AgentKind::Bp
    }
}

impl std::fmt::Display for AgentKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
