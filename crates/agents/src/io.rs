//! Files: atomic writes, and the weights format.

use crate::dense_file::LayerWeights;
use crate::fs::{read_regular, write_atomic};
use crate::kind::{AgentKind, Family};
use crate::local::weights::LocalWeights;
use crate::policy::Policy;
use crate::{Error, Result};
use envs::EnvId;
use ff_core::InputNorm;
use serde::{Deserialize, Serialize};
use std::path::Path;

const WEIGHTS_FORMAT: &str = "ffdqn-weights";
/// The version written. Version 3 spells every value once, as configs do (`"l2"`,
/// `"after-relu"`, `"rms"`); versions 1 (Q-networks without LayerNorm) and 2 (which spelled
/// some of them `"L2"`, `"AfterRelu"`, `"Rms"`) are still read.
const WEIGHTS_VERSION: u32 = 3;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WeightsFile {
    format: String,
    version: u32,
    agent: AgentKind,
    /// The task the network was trained on (files written before tasks other than CartPole
    /// existed have none: CartPole-v1).
    #[serde(default)]
    env: EnvId,
    /// Q-networks: the normalisation of each hidden layer's input, and the cells, head last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    input_norm: Option<InputNorm>,
    /// Q-networks with a convolutional first layer: its window's side (the grid is the task's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    conv_kernel: Option<usize>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    layers: Vec<LayerWeights>,
    /// Layer-local networks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    local: Option<LocalWeights>,
}

/// A weights file read back: which agent trained the network, on which task, and the network.
#[derive(Debug, Clone)]
pub struct Weights {
    /// The agent.
    pub agent: AgentKind,
    /// The task.
    pub env: EnvId,
    /// The network.
    pub policy: Policy,
}

/// Saves a trained network, with the agent and task, as JSON (atomically).
pub fn save_weights(path: &Path, kind: AgentKind, env: EnvId, policy: &Policy) -> Result<()> {
    let (input_norm, conv_kernel, layers, local) = match policy {
        Policy::Q(net) => {
            let (input_norm, conv_kernel, layers) = crate::q::weights::write(net);
            (Some(input_norm), conv_kernel, layers, None)
        }
        Policy::Local(net) => (
            None,
            None,
            Vec::new(),
            Some(crate::local::weights::write(net)),
        ),
    };
    let file = WeightsFile {
        format: WEIGHTS_FORMAT.into(),
        version: WEIGHTS_VERSION,
        agent: kind,
        env,
        input_norm,
        conv_kernel,
        layers,
        local,
    };
    let text = serde_json::to_string(&file).map_err(|e| Error::BadFile {
        path: path.into(),
        problem: e.to_string(),
    })?;
    write_atomic(path, text.as_bytes())
}

/// Loads a weights file, checking its format, version, shapes and values, and that the network
/// fits its task's observations and actions.
pub fn load_weights(path: &Path) -> Result<Weights> {
    let bad = |problem: String| Error::BadFile {
        path: path.to_path_buf(),
        problem,
    };
    let bytes = read_regular(path, 1 << 32).map_err(|source| Error::Read {
        path: path.into(),
        source,
    })?;
    let file: WeightsFile = serde_json::from_slice(&bytes).map_err(|e| {
        bad(format!(
            "not a valid ffdqn weights file ({e}); weights are written by `ffdqn train`"
        ))
    })?;
    if file.format != WEIGHTS_FORMAT {
        return Err(bad(format!(
            "format is {:?}, expected {WEIGHTS_FORMAT:?}",
            file.format
        )));
    }
    if !(1..=WEIGHTS_VERSION).contains(&file.version) {
        return Err(bad(format!(
            "format version {} is not supported (this build reads versions 1 to {WEIGHTS_VERSION})",
            file.version
        )));
    }
    let local_family = match file.agent.family() {
        Family::Q(_) => false,
        Family::Local(_) => true,
    };
    let policy = match (&file.local, local_family) {
        (Some(local), true) => Policy::Local(crate::local::weights::read(local).map_err(bad)?),
        (None, false) => Policy::Q(
            crate::q::weights::read(file.input_norm, file.conv_kernel, file.env, &file.layers)
                .map_err(bad)?,
        ),
        _ => {
            return Err(bad(format!(
                "a {} agent's file must hold {}",
                file.agent,
                if local_family {
                    "a layer-local network (`local`)"
                } else {
                    "a Q-network (`layers` and `input_norm`)"
                }
            )));
        }
    };
    let env = file.env;
    if policy.obs_dim() != env.obs_dim() || policy.n_actions() != env.n_actions() {
        return Err(bad(format!(
            "the network maps {} inputs to {} actions, but {env} has {} and {}",
            policy.obs_dim(),
            policy.n_actions(),
            env.obs_dim(),
            env.n_actions()
        )));
    }
    Ok(Weights {
        agent: file.agent,
        env,
        policy,
    })
}
