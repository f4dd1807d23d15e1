//! One dense layer (a hidden cell with its LayerNorm, or a head) as weights files hold it, and
//! its reading back with every length and value checked: what both families' parts of the
//! weights format are made of (a leaf).

use ff_core::Dense;
use ff_core::cell::{Cell, CellNorm};
use ff_core::norm::LayerNorm;
use serde::{Deserialize, Serialize};

/// One dense layer in a weights file; `w` is row-major (`out_dim` rows of `in_dim`), as
/// PyTorch stores a `Linear` weight. A hidden cell may carry its LayerNorm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LayerWeights {
    pub(crate) in_dim: usize,
    pub(crate) out_dim: usize,
    pub(crate) w: Vec<f32>,
    pub(crate) b: Vec<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) norm: Option<NormWeights>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct NormWeights {
    position: CellNorm,
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

pub(crate) fn dense_weights(d: &Dense<f32>, norm: Option<NormWeights>) -> LayerWeights {
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

pub(crate) fn cell_weights(c: &Cell<f32>) -> LayerWeights {
    let norm = c.norm().map(|n| NormWeights {
        position: c.position(),
        gamma: n.gamma().to_vec(),
        beta: n.beta().to_vec(),
    });
    dense_weights(c.dense(), norm)
}

/// A dense layer from a file, every length and value checked (with checked arithmetic).
pub(crate) fn dense_from(l: &LayerWeights, what: &str) -> std::result::Result<Dense<f32>, String> {
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
pub(crate) fn cell_from(l: &LayerWeights, what: &str) -> std::result::Result<Cell<f32>, String> {
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
