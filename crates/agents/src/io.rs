//! Files: atomic writes, and the weights format.

use crate::agent::AgentKind;
use envs::EnvId;
use crate::network::QNetwork;
use crate::{Error, Result};
use ff_core::{Dense, InputNorm};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` so that a crash at any moment leaves either the old file or the
/// new one, never a torn one: write a temporary file beside it, flush it to disk, rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp: PathBuf = path.with_file_name(format!(".{file_name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })
}

const WEIGHTS_FORMAT: &str = "ffdqn-weights";
const WEIGHTS_VERSION: u32 = 1;

/// One layer in a weights file; `w` is row-major (`out_dim` rows of `in_dim`), as PyTorch
/// stores a `Linear` weight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LayerWeights {
    in_dim: usize,
    out_dim: usize,
    w: Vec<f32>,
    b: Vec<f32>,
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
    input_norm: String,
    layers: Vec<LayerWeights>,
}

/// A weights file read back: which agent trained the network, on which task, and the network.
#[derive(Debug, Clone)]
pub struct Weights {
    /// The agent.
    pub agent: AgentKind,
    /// The task.
    pub env: EnvId,
    /// The network.
    pub net: QNetwork,
}

/// Saves a network's parameters, trained on `env`, as JSON (atomically).
pub fn save_weights(path: &Path, kind: AgentKind, env: EnvId, net: &QNetwork) -> Result<()> {
    let file = WeightsFile {
        format: WEIGHTS_FORMAT.into(),
        version: WEIGHTS_VERSION,
        agent: kind,
        env,
        input_norm: match net.input_norm {
            InputNorm::None => "none".into(),
            InputNorm::L2 => "l2".into(),
        },
        layers: net
            .layers
            .iter()
            .map(|d| LayerWeights {
                in_dim: d.in_dim(),
                out_dim: d.out_dim(),
                w: (0..d.out_dim())
                    .flat_map(|r| (0..d.in_dim()).map(move |c| (r, c)))
                    .map(|rc| d.weights()[rc])
                    .collect(),
                b: d.biases().iter().copied().collect(),
            })
            .collect(),
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
    let bytes = std::fs::read(path).map_err(|source| Error::Read {
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
    if file.version != WEIGHTS_VERSION {
        return Err(bad(format!(
            "format version {} is not supported (this build reads version {WEIGHTS_VERSION})",
            file.version
        )));
    }
    let input_norm = match file.input_norm.as_str() {
        "none" => InputNorm::None,
        "l2" => InputNorm::L2,
        other => {
            return Err(bad(format!(
                "input_norm {other:?} is not \"none\" or \"l2\""
            )));
        }
    };
    if file.layers.len() < 2 {
        return Err(bad(format!(
            "{} layer(s): a Q-network needs at least one hidden layer and a head",
            file.layers.len()
        )));
    }
    let mut layers = Vec::with_capacity(file.layers.len());
    for (k, l) in file.layers.iter().enumerate() {
        let n_weights = l.in_dim.checked_mul(l.out_dim);
        if l.in_dim == 0 || l.out_dim == 0 || n_weights != Some(l.w.len()) || l.b.len() != l.out_dim
        {
            return Err(bad(format!(
                "layer {k}: {}×{} needs {} weights and {} biases, found {} and {}",
                l.out_dim,
                l.in_dim,
                n_weights.map_or("more than 2^64".into(), |n| n.to_string()),
                l.out_dim,
                l.w.len(),
                l.b.len()
            )));
        }
        if k > 0 && l.in_dim != file.layers[k - 1].out_dim {
            return Err(bad(format!(
                "layer {k} takes {} inputs but layer {} gives {}",
                l.in_dim,
                k - 1,
                file.layers[k - 1].out_dim
            )));
        }
        if let Some(v) = l.w.iter().chain(&l.b).find(|v| !v.is_finite()) {
            return Err(bad(format!("layer {k} holds a non-finite parameter ({v})")));
        }
        layers.push(
            Dense::from_row_major(l.in_dim, l.out_dim, &l.w, &l.b)
                .map_err(|e| bad(format!("layer {k}: {e}")))?,
        );
    }
    let net = QNetwork { layers, input_norm };
    let env = file.env;
    if net.obs_dim() != env.obs_dim() || net.n_actions() != env.n_actions() {
        return Err(bad(format!(
            "the network maps {} inputs to {} actions, but {env} has {} and {}",
            net.obs_dim(),
            net.n_actions(),
            env.obs_dim(),
            env.n_actions()
        )));
    }
    Ok(Weights {
        agent: file.agent,
        env,
        net,
    })
}
