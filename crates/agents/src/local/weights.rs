//! The layer-local family's part of the weights format: per layer its cell and its readout
//! (a linear layer, or a goodness readout's α and β), and the wiring between layers.

use super::{LocalLayer, LocalNet, Readout, Wiring};
use crate::dense_file::{LayerWeights, cell_from, cell_weights, dense_from, dense_weights};
use ff_core::InputNorm;
use ff_core::local::{GoodnessForm, GoodnessQ};
use serde::{Deserialize, Serialize};

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
pub(crate) struct LocalWeights {
    wiring: WiringWeights,
    layers: Vec<LocalLayerWeights>,
}

/// A layer-local network as its file holds it.
pub(crate) fn write(net: &LocalNet) -> LocalWeights {
    LocalWeights {
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
    }
}

/// A layer-local network read back from its file, every shape and value checked.
pub(crate) fn read(local: &LocalWeights) -> Result<LocalNet, String> {
    let mut layers = Vec::with_capacity(local.layers.len());
    for (k, l) in local.layers.iter().enumerate() {
        let cell = cell_from(&l.cell, &format!("layer {}", k + 1))?;
        let readout = match &l.readout {
            ReadoutWeights::Linear(d) => {
                Readout::Linear(dense_from(d, &format!("layer {}'s readout", k + 1))?)
            }
            ReadoutWeights::Goodness { alpha, beta, form } => {
                let Some(form) = form.or(local.wiring.goodness) else {
                    return Err(format!(
                        "layer {}'s goodness readout names no goodness form (\"mean-square\" or \"rms\")",
                        k + 1
                    ));
                };
                if !alpha.is_finite() || beta.iter().any(|v| !v.is_finite()) {
                    return Err(format!(
                        "layer {}'s goodness readout holds a non-finite parameter",
                        k + 1
                    ));
                }
                Readout::Goodness(
                    GoodnessQ::from_parts(*alpha, beta.clone())
                        .map_err(|e| format!("layer {}: {e}", k + 1))?,
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
    net.check()?;
    Ok(net)
}
