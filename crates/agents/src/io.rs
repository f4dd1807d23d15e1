//! Files: atomic writes, and the weights format.

use crate::fs::{read_regular, write_atomic};
use crate::kind::{AgentKind, Family};
use crate::local::{LocalLayer, LocalNet, Readout, Wiring};
use crate::network::QNetwork;
use crate::policy::Policy;
use crate::{Error, Result};
use envs::EnvId;
use ff_core::cell::{Cell, CellNorm};
use ff_core::local::{GoodnessForm, GoodnessQ};
use ff_core::norm::LayerNorm;
use ff_core::{Dense, InputNorm};
use serde::{Deserialize, Serialize};
use std::path::Path;

const WEIGHTS_FORMAT: &str = "ffdqn-weights";
/// The version written. Version 3 spells every value once, as configs do (`"l2"`,
/// `"after-relu"`, `"rms"`); versions 1 (Q-networks without LayerNorm) and 2 (which spelled
/// some of them `"L2"`, `"AfterRelu"`, `"Rms"`) are still read.
const WEIGHTS_VERSION: u32 = 3;

/// One dense layer in a weights file; `w` is row-major (`out_dim` rows of `in_dim`), as
/// PyTorch stores a `Linear` weight. A hidden cell may carry its LayerNorm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LayerWeights {
    in_dim: usize,
    out_dim: usize,
    w: Vec<f32>,
    b: Vec<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    norm: Option<NormWeights>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct NormWeights {
    position: CellNorm,
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "kebab-case")]
enum ReadoutWeights {
    Linear(LayerWeights),
    Goodness {
        alpha: f32,
        beta: Vec<f32>,
        /// The goodness form (version 3; before, the wiring's `goodness` said it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        form: Option<GoodnessForm>,
    },
}

/// A layer-local network's wiring as files hold it. Version 3 says whether layers read the
/// action (`action_in_input`) and each goodness readout its form; versions 1–2 said both with
/// one `goodness` form in the wiring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WiringWeights {
    obs_dim: usize,
    n_actions: usize,
    concat_obs: bool,
    input_norm: InputNorm,
    act_on_mean: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    action_in_input: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    goodness: Option<GoodnessForm>,
}

impl From<Wiring> for WiringWeights {
    fn from(w: Wiring) -> Self {
        Self {
            obs_dim: w.obs_dim,
            n_actions: w.n_actions,
            concat_obs: w.concat_obs,
            input_norm: w.input_norm,
            act_on_mean: w.act_on_mean,
            action_in_input: Some(w.action_in_input),
            goodness: None,
        }
    }
}

impl WiringWeights {
    fn wiring(&self) -> Wiring {
        Wiring {
            obs_dim: self.obs_dim,
            n_actions: self.n_actions,
            concat_obs: self.concat_obs,
            input_norm: self.input_norm,
            act_on_mean: self.act_on_mean,
            action_in_input: self.action_in_input.unwrap_or(self.goodness.is_some()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LocalLayerWeights {
    cell: LayerWeights,
    readout: ReadoutWeights,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LocalWeights {
    wiring: WiringWeights,
    layers: Vec<LocalLayerWeights>,
}

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

fn dense_weights(d: &Dense<f32>, norm: Option<NormWeights>) -> LayerWeights {
    LayerWeights {
        in_dim: d.in_dim(),
        out_dim: d.out_dim(),
        w: (0..d.out_dim())
            .flat_map(|r| (0..d.in_dim()).map(move |c| (r, c)))
            .map(|rc| d.weights()[rc])
            .collect(),
        b: d.biases().iter().copied().collect(),
        norm,
    }
}

fn cell_weights(c: &Cell<f32>) -> LayerWeights {
    let norm = c.norm().map(|n| NormWeights {
        position: c.position(),
        gamma: n.gamma().to_vec(),
        beta: n.beta().to_vec(),
    });
    dense_weights(c.dense(), norm)
}

/// Saves a trained network, with the agent and task, as JSON (atomically).
pub fn save_weights(path: &Path, kind: AgentKind, env: EnvId, policy: &Policy) -> Result<()> {
    let (input_norm, layers, local) = match policy {
        Policy::Q(net) => (
            Some(net.input_norm),
            net.layers.iter().map(cell_weights).collect(),
            None,
        ),
        Policy::Local(net) => (
            None,
            Vec::new(),
            Some(LocalWeights {
                wiring: net.wiring.into(),
                layers: net
                    .layers
                    .iter()
                    .map(|l| LocalLayerWeights {
                        cell: cell_weights(&l.cell),
                        readout: match &l.readout {
                            Readout::Linear(d) => ReadoutWeights::Linear(dense_weights(d, None)),
                            Readout::Goodness(g, form) => ReadoutWeights::Goodness {
                                alpha: g.alpha(),
                                beta: g.beta().to_vec(),
                                form: Some(*form),
                            },
                        },
                    })
                    .collect(),
            }),
        ),
    };
    let file = WeightsFile {
        format: WEIGHTS_FORMAT.into(),
        version: WEIGHTS_VERSION,
        agent: kind,
        env,
        input_norm,
        layers,
        local,
    };
    let text = serde_json::to_string(&file).map_err(|e| Error::BadFile {
        path: path.into(),
        problem: e.to_string(),
    })?;
    write_atomic(path, text.as_bytes())
}

/// A dense layer from a file, every length and value checked (with checked arithmetic).
fn dense_from(l: &LayerWeights, what: &str) -> std::result::Result<Dense<f32>, String> {
    let n_weights = l.in_dim.checked_mul(l.out_dim);
    if l.in_dim == 0 || l.out_dim == 0 || n_weights != Some(l.w.len()) || l.b.len() != l.out_dim {
        return Err(format!(
            "{what}: {}×{} needs {} weights and {} biases, found {} and {}",
            l.out_dim,
            l.in_dim,
            n_weights.map_or("more than 2^64".into(), |n| n.to_string()),
            l.out_dim,
            l.w.len(),
            l.b.len()
        ));
    }
    if let Some(v) = l.w.iter().chain(&l.b).find(|v| !v.is_finite()) {
        return Err(format!("{what} holds a non-finite parameter ({v})"));
    }
    Dense::from_row_major(l.in_dim, l.out_dim, &l.w, &l.b).map_err(|e| format!("{what}: {e}"))
}

/// A hidden cell from a file.
fn cell_from(l: &LayerWeights, what: &str) -> std::result::Result<Cell<f32>, String> {
    let dense = dense_from(l, what)?;
    match &l.norm {
        None => Ok(Cell::from_dense(dense, CellNorm::None)),
        Some(n) => {
            if n.gamma.len() != l.out_dim || n.beta.len() != l.out_dim {
                return Err(format!(
                    "{what}: its LayerNorm needs {} gains and biases, found {} and {}",
                    l.out_dim,
                    n.gamma.len(),
                    n.beta.len()
                ));
            }
            if let Some(v) = n.gamma.iter().chain(&n.beta).find(|v| !v.is_finite()) {
                return Err(format!(
                    "{what}'s LayerNorm holds a non-finite parameter ({v})"
                ));
            }
            let ln = LayerNorm::from_parts(n.gamma.clone(), n.beta.clone())
                .map_err(|e| format!("{what}: {e}"))?;
            Cell::from_parts(dense, Some(ln), n.position).map_err(|e| format!("{what}: {e}"))
        }
    }
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
        (Some(local), true) => {
            let mut layers = Vec::with_capacity(local.layers.len());
            for (k, l) in local.layers.iter().enumerate() {
                let cell = cell_from(&l.cell, &format!("layer {}", k + 1)).map_err(bad)?;
                let readout = match &l.readout {
                    ReadoutWeights::Linear(d) => Readout::Linear(
                        dense_from(d, &format!("layer {}'s readout", k + 1)).map_err(bad)?,
                    ),
                    ReadoutWeights::Goodness { alpha, beta, form } => {
                        let Some(form) = form.or(local.wiring.goodness) else {
                            return Err(bad(format!(
                                "layer {}'s goodness readout names no goodness form (\"mean-square\" or \"rms\")",
                                k + 1
                            )));
                        };
                        if !alpha.is_finite() || beta.iter().any(|v| !v.is_finite()) {
                            return Err(bad(format!(
                                "layer {}'s goodness readout holds a non-finite parameter",
                                k + 1
                            )));
                        }
                        Readout::Goodness(
                            GoodnessQ::from_parts(*alpha, beta.clone())
                                .map_err(|e| bad(format!("layer {}: {e}", k + 1)))?,
                            form,
                        )
                    }
                };
                layers.push(LocalLayer { cell, readout });
            }
            let net = LocalNet {
                layers,
                wiring: local.wiring.wiring(),
            };
            net.check().map_err(bad)?;
            Policy::Local(net)
        }
        (None, false) => {
            let Some(input_norm) = file.input_norm else {
                return Err(bad(
                    "a Q-network's file needs input_norm (\"none\" or \"l2\")".into(),
                ));
            };
            if file.layers.len() < 2 {
                return Err(bad(format!(
                    "{} layer(s): a Q-network needs at least one hidden layer and a head",
                    file.layers.len()
                )));
            }
            let mut layers = Vec::with_capacity(file.layers.len());
            let last = file.layers.len() - 1;
            for (k, l) in file.layers.iter().enumerate() {
                if k > 0 && l.in_dim != file.layers[k - 1].out_dim {
                    return Err(bad(format!(
                        "layer {k} takes {} inputs but layer {} gives {}",
                        l.in_dim,
                        k - 1,
                        file.layers[k - 1].out_dim
                    )));
                }
                if k == last {
                    if l.norm.is_some() {
                        return Err(bad(
                            "the Q-head (the last layer) cannot have a LayerNorm".into()
                        ));
                    }
                    layers.push(Cell::affine(
                        dense_from(l, &format!("layer {k}")).map_err(bad)?,
                    ));
                } else {
                    layers.push(cell_from(l, &format!("layer {k}")).map_err(bad)?);
                }
            }
            Policy::Q(QNetwork { layers, input_norm })
        }
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
