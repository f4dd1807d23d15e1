//! What a trained agent acts with: a Q-network (BP-DQN, FF-DQN) or a layer-local network
//! (local-td, goodness-q), with its greedy action. Weights files hold one.

use crate::Result;
use crate::local::{LocalNet, LocalWorkspace};
use crate::q::{QNetwork, Workspace};

/// A trained network, as it acts.
#[derive(Debug, Clone, PartialEq)]
pub enum Policy {
    /// Hidden cells and a Q-head.
    Q(QNetwork),
    /// Layer-local cells, each with its own readout.
    Local(LocalNet),
}

/// Reusable buffers for [`Policy::greedy_action`].
#[derive(Debug, Clone, Default)]
pub struct PolicyWorkspace {
    q: Workspace,
    local: LocalWorkspace,
}

impl Policy {
    /// Width of an observation.
    pub fn obs_dim(&self) -> usize {
        match self {
            Policy::Q(n) => n.obs_dim(),
            Policy::Local(n) => n.obs_dim(),
        }
    }

    /// Number of actions.
    pub fn n_actions(&self) -> usize {
        match self {
            Policy::Q(n) => n.n_actions(),
            Policy::Local(n) => n.n_actions(),
        }
    }

    /// Parameters in total.
    pub fn param_count(&self) -> usize {
        match self {
            Policy::Q(n) => n.param_count(),
            Policy::Local(n) => n.param_count(),
        }
    }

    /// The greedy action for one observation.
    pub fn greedy_action(&self, obs: &[f32], ws: &mut PolicyWorkspace) -> Result<usize> {
        match self {
            Policy::Q(n) => n.greedy_action(obs, &mut ws.q),
            Policy::Local(n) => n.greedy_action(obs, &mut ws.local),
        }
    }
}
