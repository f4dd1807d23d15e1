//! The Q-network of BP-DQN and FF-DQN: hidden cells (dense, ReLU, optional LayerNorm), then
//! the Q-head.

use crate::Result;
use crate::config::ConvConfig;
use crate::layers::{argmax, first_non_finite, output_of, ping_pong};
use ff_core::cell::{Cell, CellCache, CellNorm};
use ff_core::conv::Conv2d;
use ff_core::ff::FfScratch;
use ff_core::optim::Tensors;
use ff_core::{Buf, Dense, Init, InputNorm, MatRef};
use rand::Rng;

/// Hidden cells then the head (an affine cell), all in one `Vec` so optimizer groups are
/// slices of it.
#[derive(Debug, Clone, PartialEq)]
pub struct QNetwork {
    /// `layers[..n_hidden]` are the hidden cells, the last one is the Q-head.
    pub layers: Vec<Cell<f32>>,
    /// Normalisation applied to every hidden layer's input (the head reads the last hidden
    /// layer unnormalised).
    pub input_norm: InputNorm,
    /// With a convolutional first layer (`network.conv`, BP-DQN only), its windows: then
    /// `layers[0]` is the convolution's cell, reading each window of the grid
    /// ([`Conv2d::patches`]), and `layers[1]` reads its feature maps ([`Conv2d::features`]).
    pub conv: Option<Conv2d>,
}

/// Reusable buffers for forward passes without a backward pass (acting, target values). Once
/// an update's TD targets are computed they are free, and the learners use them as their own
/// working buffers: an update holds one set, not two.
#[derive(Debug, Clone, Default)]
pub struct Workspace {
    pub(crate) bufs: [Buf<f32>; 2],
    /// A layer's L2-normalised input (with `InputNorm::L2`).
    pub(crate) x_norm: Buf<f32>,
    /// The observations' windows, for a convolutional first layer.
    pub(crate) patches: Buf<f32>,
    pub(crate) scratch: FfScratch<f32>,
    /// A cell's LayerNorm work space (forward passes only).
    pub(crate) cache: CellCache<f32>,
    /// Q-values of the last forward pass, `n_actions × batch`.
    pub q: Buf<f32>,
}

impl QNetwork {
    /// Whether binary input batches are gathered in every layer (on by default; see
    /// [`ff_core::Dense::set_binary_gather`]). Off, every product runs dense: the baseline the
    /// benchmarks compare the gather with.
    pub fn set_binary_gather(&mut self, on: bool) {
        for cell in &mut self.layers {
            cell.dense_mut().set_binary_gather(on);
        }
    }

    /// A network `obs_dim → [conv →] hidden… → n_actions` whose hidden cells carry
    /// `cell_norm` (the convolution, drawn with `hidden_init`, has none; its observations are
    /// `conv`'s grids, `obs_dim` its `in_dim`).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        obs_dim: usize,
        conv: Option<ConvConfig>,
        hidden: &[usize],
        n_actions: usize,
        hidden_init: Init,
        head_init: Init,
        input_norm: InputNorm,
        cell_norm: CellNorm,
        rng: &mut impl Rng,
    ) -> Self {
        let mut layers = Vec::with_capacity(hidden.len() + 2);
        let mut width = obs_dim;
        if let Some(c) = conv {
            let patch = c.geometry.patch_len();
            layers.push(Cell::new(
                patch,
                c.filters,
                hidden_init,
                CellNorm::None,
                rng,
            ));
            width = c.out_dim();
        }
        for &h in hidden {
            layers.push(Cell::new(width, h, hidden_init, cell_norm, rng));
            width = h;
        }
        layers.push(Cell::affine(Dense::new(width, n_actions, head_init, rng)));
        Self {
            layers,
            input_norm,
            conv: conv.map(|c| c.geometry),
        }
    }

    /// Layer 0's input: the observations `x`, or with a convolution their windows, written
    /// into `patches`.
    pub(crate) fn first_input<'a>(
        &self,
        x: MatRef<'a, f32>,
        patches: &'a mut Buf<f32>,
    ) -> Result<MatRef<'a, f32>> {
        match self.conv {
            None => Ok(x),
            Some(conv) => {
                conv.patches(x, patches)?;
                Ok(patches.mat())
            }
        }
    }

    /// Layer `l`'s input (`l ≥ 1`): layer `l − 1`'s output `prev`, read as feature maps when
    /// that layer is the convolution.
    pub(crate) fn next_input<'a>(&self, l: usize, prev: &'a Buf<f32>) -> Result<MatRef<'a, f32>> {
        match self.conv {
            Some(conv) if l == 1 => Ok(conv.features(prev.mat())?),
            _ => Ok(prev.mat()),
        }
    }

    /// Number of hidden layers.
    pub fn n_hidden(&self) -> usize {
        self.layers.len() - 1
    }

    /// Number of actions.
    pub fn n_actions(&self) -> usize {
        self.layers[self.n_hidden()].out_dim()
    }

    /// Width of the input.
    pub fn obs_dim(&self) -> usize {
        self.conv.map_or(self.layers[0].in_dim(), |c| c.in_dim())
    }

    /// The layers of `network.hidden` start here: after the convolution, if any.
    fn first_dense(&self) -> usize {
        usize::from(self.conv.is_some())
    }

    /// Widths of the hidden layers (after the convolution, if any).
    pub fn hidden_dims(&self) -> Vec<usize> {
        self.layers[self.first_dense()..self.n_hidden()]
            .iter()
            .map(Cell::out_dim)
            .collect()
    }

    /// Parameters in total.
    pub fn param_count(&self) -> usize {
        self.layers.iter().map(|c| c.n_params()).sum()
    }

    /// Q-values of a batch `x` (`obs_dim × batch`) into `ws.q`.
    pub fn q_values(&self, x: MatRef<'_, f32>, ws: &mut Workspace) -> Result<()> {
        let n = self.n_hidden();
        for l in 0..n {
            let (prev, out) = ping_pong(&mut ws.bufs, l);
            let raw = if l == 0 {
                self.first_input(x, &mut ws.patches)?
            } else {
                self.next_input(l, prev)?
            };
            let input = self.input_norm.apply(raw, &mut ws.x_norm);
            self.layers[l].forward(input, out, &mut ws.cache)?;
        }
        let features = self.next_input(n, output_of(&ws.bufs, n - 1))?;
        self.layers[n].forward(features, &mut ws.q, &mut ws.cache)?;
        Ok(())
    }

    /// The greedy action for one observation (the first of equal maxima, like `argmax`).
    pub fn greedy_action(&self, obs: &[f32], ws: &mut Workspace) -> Result<usize> {
        self.q_values(MatRef::new(obs, obs.len(), 1)?, ws)?;
        Ok(argmax(ws.q.as_slice()))
    }

    /// The first non-finite parameter, as `(layer, value)`, if any.
    pub fn first_non_finite(&self) -> Option<(usize, f32)> {
        // Checked after every update, so the common case (all finite) is one vectorised pass.
        first_non_finite(&self.layers)
    }
}

impl QNetwork {
    /// The hidden cells' normalisation.
    pub fn cell_norm(&self) -> CellNorm {
        self.layers
            .get(self.first_dense())
            .filter(|c| c.has_relu())
            .map_or(CellNorm::None, Cell::position)
    }
}
