//! What every network family does with its layers: finite checks, layouts, the greedy argmax
//! and the two-buffer forward pass (a leaf: no other module of the crate is imported).

use crate::{Error, Result};
use ff_core::Buf;
use ff_core::optim::Tensors;

/// The first non-finite parameter of `layers` (any tensors), as `(layer, value)`, if any.
pub fn first_non_finite<L: Tensors<f32>>(layers: &[L]) -> Option<(usize, f32)> {
    // Checked after every update, so the common case (all finite) is one vectorised pass.
    let finite = |l: &L| (0..l.n_tensors()).all(|k| ff_core::mat::all_finite(l.tensor(k)));
    if layers.iter().all(finite) {
        return None;
    }
    layers.iter().enumerate().find_map(|(l, layer)| {
        (0..layer.n_tensors())
            .flat_map(|k| layer.tensor(k).iter())
            .find(|v| !v.is_finite())
            .map(|&v| (l, v))
    })
}

/// Saved online and target layers fit `mine` (this agent's) tensor for tensor.
pub(crate) fn check_layouts<L: ff_core::optim::Tensors<f32>>(
    mine: &[L],
    online: &[L],
    target: &[L],
) -> Result<()> {
    let mine = layout(mine);
    for (what, layers) in [("online", online), ("target", target)] {
        if layout(layers) != mine {
            return Err(Error::Mismatch(format!(
                "{what} network has layers {:?} (tensor sizes), this config builds {mine:?}",
                layout(layers)
            )));
        }
    }
    Ok(())
}

/// Every layer's tensor sizes: what must agree for saved parameters to fit.
fn layout<L: ff_core::optim::Tensors<f32>>(layers: &[L]) -> Vec<Vec<usize>> {
    layers
        .iter()
        .map(|l| (0..l.n_tensors()).map(|k| l.tensor(k).len()).collect())
        .collect()
}

/// Index of the first maximum.
pub fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best
}

/// Layer `l` of a stack whose layers alternate between two buffers: the buffer it reads (what
/// layer `l − 1` wrote; meaningless for `l = 0`) and the one it writes.
pub(crate) fn ping_pong(bufs: &mut [Buf<f32>; 2], l: usize) -> (&Buf<f32>, &mut Buf<f32>) {
    let [even, odd] = bufs;
    if l.is_multiple_of(2) {
        (odd, even)
    } else {
        (even, odd)
    }
}

/// The buffer holding layer `l`'s output after a [`ping_pong`] pass.
pub(crate) fn output_of(bufs: &[Buf<f32>; 2], l: usize) -> &Buf<f32> {
    &bufs[l % 2]
}
