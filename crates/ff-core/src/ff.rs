//! The Forward-Forward step of one layer: forward, goodness, loss and the closed-form gradient.

use crate::{Buf, Dense, DenseGrads, Error, Goodness, LossForm, LossStats, MatRef, Real, Result};
use crate::{ff_loss, goodness};

/// Whether a layer normalises its input before the affine map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InputNorm {
    /// Use the input as it is (the paper's text).
    #[default]
    None,
    /// `x / (‖x‖₂ + 1e-8)` per sample (the FF-DQN author's code): only the direction of the
    /// previous layer's activity reaches the next, so a layer cannot pass its goodness on.
    L2,
}

/// The settings of a Forward-Forward layer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FfLayerConfig {
    /// Sum or mean of squares.
    pub goodness: Goodness,
    /// Batch-mean or per-sample loss.
    pub loss: LossForm,
    /// The margin `m` goodness is compared against.
    pub margin: f64,
    /// Input normalisation.
    pub input_norm: InputNorm,
}

impl Default for FfLayerConfig {
    /// The paper's equations: sum goodness, batch-mean loss, `m = 2`, no normalisation.
    fn default() -> Self {
        Self {
            goodness: Goodness::Sum,
            loss: LossForm::BatchMean,
            margin: 2.0,
            input_norm: InputNorm::None,
        }
    }
}

/// What one FF step measured, before the update (the loss and goodness of the batch as the
/// layer saw it).
pub type FfStats = LossStats;

/// Work buffers of the FF step, shared by every layer of a network: they hold one layer's
/// normalised input and activations at a time, so memory does not grow with depth.
#[derive(Debug, Clone, Default)]
pub struct FfScratch<T> {
    x_norm: Buf<T>,
    h: Buf<T>,
    g: Vec<T>,
    dl_dg: Vec<T>,
}

impl<T: Real> FfScratch<T> {
    /// Elements reserved across all buffers, for memory accounting.
    pub fn capacity(&self) -> usize {
        self.x_norm.capacity() + self.h.capacity() + self.g.capacity() + self.dl_dg.capacity()
    }
}

/// Writes `x / (‖x‖₂ + 1e-8)`, column by column, into `out`.
pub fn l2_normalize_columns<T: Real>(x: MatRef<'_, T>, out: &mut Buf<T>) {
    out.shape_to(x.rows(), x.cols());
    let eps = T::of(1e-8);
    let rows = x.rows().max(1);
    for (dst, src) in out
        .as_mut_slice()
        .chunks_exact_mut(rows)
        .zip(x.as_slice().chunks_exact(rows))
    {
        let norm = crate::mat::sum_sq(src).sqrt();
        let inv = T::one() / (norm + eps);
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = s * inv;
        }
    }
}

/// The backward pass of [`l2_normalize_columns`]: given the raw input `x` and `∂L/∂x̂`, writes
/// `∂L/∂x` into `dx`. With `n = ‖x‖₂` and `s = n + 1e-8`, `x̂ = x / s`, so
/// `∂L/∂x = ∂L/∂x̂ / s − x (x · ∂L/∂x̂) / (n s²)` (and `∂L/∂x̂ / s` at `x = 0`).
pub fn l2_normalize_backward<T: Real>(
    x: MatRef<'_, T>,
    d_xhat: MatRef<'_, T>,
    dx: &mut Buf<T>,
) -> Result<()> {
    if x.shape() != d_xhat.shape() {
        return Err(Error::ShapeMismatch {
            op: "l2_normalize_backward",
            expected: x.shape(),
            got: d_xhat.shape(),
        });
    }
    dx.shape_to(x.rows(), x.cols());
    let eps = T::of(1e-8);
    let rows = x.rows().max(1);
    let cols = x
        .as_slice()
        .chunks_exact(rows)
        .zip(d_xhat.as_slice().chunks_exact(rows));
    for (out, (xc, gc)) in dx.as_mut_slice().chunks_exact_mut(rows).zip(cols) {
        let n = crate::mat::sum_sq(xc).sqrt();
        let s = n + eps;
        let dot = xc
            .iter()
            .zip(gc)
            .fold(T::zero(), |acc, (&a, &b)| acc + a * b);
        let k = if n > T::zero() {
            dot / (n * s * s)
        } else {
            T::zero()
        };
        for ((o, &xv), &gv) in out.iter_mut().zip(xc).zip(gc) {
            *o = gv / s - xv * k;
        }
    }
    Ok(())
}

impl<T: Real> Dense<T> {
    /// The layer as an FF layer would apply it: `relu(W x̂ + b)` into `out`, with `x̂` the input
    /// normalised as `config` says (using `scratch` for the normalised copy).
    pub fn ff_forward(
        &self,
        config: &FfLayerConfig,
        x: MatRef<'_, T>,
        scratch: &mut FfScratch<T>,
        out: &mut Buf<T>,
    ) -> Result<()> {
        self.check_input("Dense::ff_forward", &x)?;
        let input = match config.input_norm {
            InputNorm::None => x,
            InputNorm::L2 => {
                l2_normalize_columns(x, &mut scratch.x_norm);
                scratch.x_norm.mat()
            }
        };
        self.affine(input, out, true);
        Ok(())
    }

    /// One Forward-Forward step: computes the layer's FF loss on the batch `x` (`in × batch`)
    /// split by `is_pos`, and writes the closed-form gradient of that loss with respect to `W`
    /// and `b` into `grads`. Nothing outside this layer is touched; apply `grads` with an
    /// [`Optimizer`](crate::Optimizer).
    pub fn ff_step(
        &self,
        config: &FfLayerConfig,
        x: MatRef<'_, T>,
        is_pos: &[bool],
        scratch: &mut FfScratch<T>,
        grads: &mut DenseGrads<T>,
    ) -> Result<FfStats> {
        let mut h = std::mem::replace(&mut scratch.h, Buf::new());
        let result = self.ff_step_into(config, x, is_pos, scratch, grads, &mut h);
        scratch.h = h;
        result
    }

    /// [`Dense::ff_step`] with the layer's activations (then `∂L/∂z`) kept in `h`, a buffer
    /// the caller owns. A network passes the buffer the layer's output goes to next: it is
    /// overwritten by the forward pass with the updated weights anyway, so the step needs no
    /// activation buffer of its own.
    pub fn ff_step_into(
        &self,
        config: &FfLayerConfig,
        x: MatRef<'_, T>,
        is_pos: &[bool],
        scratch: &mut FfScratch<T>,
        grads: &mut DenseGrads<T>,
        h: &mut Buf<T>,
    ) -> Result<FfStats> {
        self.check_input("Dense::ff_step", &x)?;
        let batch = x.cols();
        if is_pos.len() != batch {
            return Err(Error::ShapeMismatch {
                op: "Dense::ff_step (is_pos)",
                expected: (batch, 1),
                got: (is_pos.len(), 1),
            });
        }
        let FfScratch {
            x_norm, g, dl_dg, ..
        } = scratch;
        let input = match config.input_norm {
            InputNorm::None => x,
            InputNorm::L2 => {
                l2_normalize_columns(x, x_norm);
                x_norm.mat()
            }
        };
        self.affine(input, h, true);
        g.resize(batch, T::zero());
        dl_dg.resize(batch, T::zero());
        goodness(config.goodness, h.mat(), g)?;
        let stats = ff_loss(config.loss, T::of(config.margin), g, is_pos, dl_dg)?;
        // ∂L/∂z_ij = ∂L/∂g_j · 2c · h_ij, computed in place over h (zero where z ≤ 0).
        let two_c = T::of(2.0) * config.goodness.scale::<T>(self.out_dim());
        let rows = self.out_dim().max(1);
        for (col, &d) in h.as_mut_slice().chunks_exact_mut(rows).zip(dl_dg.iter()) {
            let k = d * two_c;
            for v in col {
                *v *= k;
            }
        }
        self.param_grads(input, h.mat(), grads);
        Ok(stats)
    }
}
