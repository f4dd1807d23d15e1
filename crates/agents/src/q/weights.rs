//! The Q-network family's part of the weights format: the normalisation of each hidden
//! layer's input, and the cells, head last.

use super::QNetwork;
use crate::config::conv_over;
use crate::dense_file::{LayerWeights, cell_from, cell_weights, dense_from};
use envs::EnvId;
use ff_core::InputNorm;
use ff_core::cell::Cell;

/// A Q-network as its file holds it: its input normalisation, its convolution's kernel (if
/// it has one) and its layers.
pub(crate) fn write(net: &QNetwork) -> (InputNorm, Option<usize>, Vec<LayerWeights>) {
    (
        net.input_norm,
        net.conv.map(|c| c.kernel()),
        net.layers.iter().map(cell_weights).collect(),
    )
}

/// A Q-network read back from its file, every shape and value checked.
/// With `conv_kernel`, the first layer is a convolution over `env`'s grid.
pub(crate) fn read(
    input_norm: Option<InputNorm>,
    conv_kernel: Option<usize>,
    env: EnvId,
    file_layers: &[LayerWeights],
) -> Result<QNetwork, String> {
    let Some(input_norm) = input_norm else {
        return Err("a Q-network's file needs input_norm (\"none\" or \"l2\")".into());
    };
    let conv = match conv_kernel {
        None => None,
        Some(k) => Some(conv_over(env, k).map_err(|why| format!("conv_kernel {k}: {why}"))?),
    };
    if let (Some(c), [first, second, ..]) = (conv, file_layers) {
        if first.in_dim != c.patch_len() {
            return Err(format!(
                "the convolution (layer 0) takes {} inputs, but a {k} × {k} window of {env}'s grid holds {}",
                first.in_dim,
                c.patch_len(),
                k = c.kernel()
            ));
        }
        if second.in_dim != c.positions() * first.out_dim {
            return Err(format!(
                "layer 1 takes {} inputs, but the convolution gives {} positions × {} filters",
                second.in_dim,
                c.positions(),
                first.out_dim
            ));
        }
    }
    if file_layers.len() < 2 {
        return Err(format!(
            "{} layer(s): a Q-network needs at least one hidden layer and a head",
            file_layers.len()
        ));
    }
    let mut layers = Vec::with_capacity(file_layers.len());
    let last = file_layers.len() - 1;
    for (k, l) in file_layers.iter().enumerate() {
        // After a convolution, layer 1 reads its feature maps (checked above).
        if k > 0 && !(k == 1 && conv.is_some()) && l.in_dim != file_layers[k - 1].out_dim {
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
    Ok(QNetwork {
        layers,
        input_norm,
        conv,
    })
}
