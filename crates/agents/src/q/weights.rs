//! The Q-network family's part of the weights format: the normalisation of each hidden
//! layer's input, and the cells, head last.

use super::QNetwork;
use crate::dense_file::{LayerWeights, cell_from, cell_weights, dense_from};
use ff_core::InputNorm;
use ff_core::cell::Cell;

/// A Q-network as its file holds it: its input normalisation and its layers.
pub(crate) fn write(net: &QNetwork) -> (InputNorm, Vec<LayerWeights>) {
    (
        net.input_norm,
        net.layers.iter().map(cell_weights).collect(),
    )
}

/// A Q-network read back from its file, every shape and value checked.
pub(crate) fn read(
    input_norm: Option<InputNorm>,
    file_layers: &[LayerWeights],
) -> Result<QNetwork, String> {
    let Some(input_norm) = input_norm else {
        return Err("a Q-network's file needs input_norm (\"none\" or \"l2\")".into());
    };
    if file_layers.len() < 2 {
        return Err(format!(
            "{} layer(s): a Q-network needs at least one hidden layer and a head",
            file_layers.len()
        ));
    }
    let mut layers = Vec::with_capacity(file_layers.len());
    let last = file_layers.len() - 1;
    for (k, l) in file_layers.iter().enumerate() {
        if k > 0 && l.in_dim != file_layers[k - 1].out_dim {
            return Err(format!(
                "layer {k} takes {} inputs but layer {} gives {}",
                l.in_dim,
                k - 1,
                file_layers[k - 1].out_dim
            ));
        }
        if k == last {
            if l.norm.is_some() {
                return Err("the Q-head (the last layer) cannot have a LayerNorm".into());
            }
            layers.push(Cell::affine(dense_from(l, &format!("layer {k}"))?));
        } else {
            layers.push(cell_from(l, &format!("layer {k}"))?);
        }
    }
    Ok(QNetwork { layers, input_norm })
}
