//! Forward-Forward learning of one layer: the goodness, the loss against a margin, its
//! closed-form gradient ([`ff_gradients`]), and [`FfLayer`], a layer that owns its parameters,
//! settings, optimizer and buffers and trains in one call.

mod layer;
mod loss;

pub use layer::FfLayer;
pub use loss::{FfStats, Goodness, LossForm, ff_loss, goodness, sigmoid, softplus};

use crate::{Buf, Dense, DenseGrads, Error, InputNorm, MatRef, Real, Result};

/// What an FF layer is trained to do: goodness above the margin for positives, below it for
/// negatives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FfObjective {
    /// Sum or mean of squares.
    pub goodness: Goodness,
    /// Batch-mean or per-sample loss.
    pub loss: LossForm,
    /// The margin `m` goodness is compared against.
    pub margin: f64,
}

impl Default for FfObjective {
    /// The paper's equations: sum goodness, batch-mean loss, `m = 2`.
    fn default() -> Self {
        Self {
            goodness: Goodness::Sum,
            loss: LossForm::BatchMean,
            margin: 2.0,
        }
    }
}

/// The settings of a Forward-Forward layer: its objective and its input normalisation.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FfLayerConfig {
    /// Goodness, loss form and margin.
    pub objective: FfObjective,
    /// Normalisation of the layer's input.
    pub input_norm: InputNorm,
}

/// Work buffers of [`ff_gradients`]: per-sample goodness and `∂L/∂g`. A network shares one
/// among all its layers, so FF memory does not grow with depth.
#[derive(Debug, Clone, Default)]
pub struct FfScratch<T> {
    g: Vec<T>,
    dl_dg: Vec<T>,
}

impl<T: Real> FfScratch<T> {
    /// Elements reserved across all buffers, for memory accounting.
    pub fn capacity(&self) -> usize {
        self.g.capacity() + self.dl_dg.capacity()
    }
}

/// One Forward-Forward step of `layer` without touching it: computes the FF loss of the batch
/// `x` (`in × batch`, already normalised as the layer's input: see [`InputNorm::apply`]) split
/// by `is_pos`, and writes the closed-form gradient with respect to `W` and `b` into `grads`.
///
/// `h` receives the layer's activations and is then overwritten with `∂L/∂z`; a network
/// passes the buffer the layer's output goes to next (it is rewritten by the forward pass with
/// the updated weights anyway), so the step needs no activation buffer of its own. This is the
/// building block [`FfLayer`] and the FF-DQN agents use; most users want [`FfLayer`].
///
/// ```
/// use ff_core::{Buf, Dense, DenseGrads, Init, MatRef};
/// use ff_core::ff::{ff_gradients, FfObjective, FfScratch};
/// use rand::SeedableRng;
/// let layer = Dense::<f64>::new(2, 3, Init::PytorchDefault, &mut rand::rngs::StdRng::seed_from_u64(1));
/// let x = [1.0, 0.5, -1.0, 0.2];
/// let (mut scratch, mut grads, mut h) = (FfScratch::default(), DenseGrads::default(), Buf::default());
/// let stats = ff_gradients(&layer, &FfObjective::default(), MatRef::new(&x, 2, 2)?, &[true, false], &mut scratch, &mut grads, &mut h)?;
/// assert_eq!((stats.n_pos, stats.n_neg), (1, 1));
/// assert_eq!(grads.w.shape(), (3, 2));
/// # Ok::<(), ff_core::Error>(())
/// ```
pub fn ff_gradients<T: Real>(
    layer: &Dense<T>,
    objective: &FfObjective,
    x: MatRef<'_, T>,
    is_pos: &[bool],
    scratch: &mut FfScratch<T>,
    grads: &mut DenseGrads<T>,
    h: &mut Buf<T>,
) -> Result<FfStats> {
    layer.check_input("ff_gradients", &x)?;
    let batch = x.cols();
    if is_pos.len() != batch {
        return Err(Error::ShapeMismatch {
            op: "ff_gradients (is_pos)",
            expected: (batch, 1),
            got: (is_pos.len(), 1),
        });
    }
    let FfScratch { g, dl_dg } = scratch;
    layer.affine(x, h, true)?;
    g.resize(batch, T::zero());
    dl_dg.resize(batch, T::zero());
    goodness(objective.goodness, h.mat(), g)?;
    let stats = ff_loss(objective.loss, T::of(objective.margin), g, is_pos, dl_dg)?;
    // ∂L/∂z_ij = ∂L/∂g_j · 2c · h_ij, computed in place over h (zero where z ≤ 0).
    let two_c = T::of(2.0) * objective.goodness.scale::<T>(layer.out_dim());
    let rows = layer.out_dim().max(1);
    for (col, &d) in h.as_mut_slice().chunks_exact_mut(rows).zip(dl_dg.iter()) {
        let k = d * two_c;
        for v in col {
            *v *= k;
        }
    }
    layer.param_grads(x, h.mat(), grads)?;
    Ok(stats)
}
