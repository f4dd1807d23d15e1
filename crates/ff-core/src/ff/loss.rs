//! Goodness, the stable softplus and sigmoid, and the FF loss with its gradient.

use crate::MatRef;
use crate::mat::check_finite;
use crate::{Error, Real, Result};

/// `ln(1 + eˣ)`, exact at both asymptotes and free of overflow for any finite input.
///
/// ```
/// use ff_core::ff::softplus;
/// assert_eq!(softplus(0.0f64), std::f64::consts::LN_2);
/// assert_eq!(softplus(1e30f64), 1e30);
/// assert_eq!(softplus(-1e30f64), 0.0);
/// ```
pub fn softplus<T: Real>(x: T) -> T {
    // max(x, 0) + ln(1 + e^{-|x|}): the exponent is never positive, so nothing overflows, and
    // for large |x| the correction underflows to exactly 0.
    x.max(T::zero()) + (-x.abs()).exp().ln_1p()
}

/// The logistic function `1 / (1 + e⁻ˣ)`, the derivative of [`softplus`], stable for any input.
///
/// ```
/// assert_eq!(ff_core::ff::sigmoid(0.0f32), 0.5);
/// assert_eq!(ff_core::ff::sigmoid(-1e4f32), 0.0);
/// ```
pub fn sigmoid<T: Real>(x: T) -> T {
    if x >= T::zero() {
        T::one() / (T::one() + (-x).exp())
    } else {
        let e = x.exp();
        e / (T::one() + e)
    }
}

/// How a layer's activations are reduced to one goodness per sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Goodness {
    /// `g = Σ_i h_i²` (the paper's text, Hinton's definition).
    #[default]
    Sum,
    /// `g = (1/n) Σ_i h_i²` (the FF-DQN author's code), independent of the layer's width.
    Mean,
}

impl Goodness {
    /// The factor `c` in `g = c Σ_i h_i²` for a layer of `width` units.
    ///
    /// ```
    /// assert_eq!(ff_core::ff::Goodness::Mean.scale::<f32>(4), 0.25);
    /// ```
    pub fn scale<T: Real>(self, width: usize) -> T {
        match self {
            Goodness::Sum => T::one(),
            Goodness::Mean => T::one() / T::of(width as f64),
        }
    }
}

/// Writes the goodness of each column of `h` (one sample per column) into `out`.
///
/// ```
/// use ff_core::{ff::{goodness, Goodness}, MatRef};
/// let h = [1.0f32, 2.0, 2.0, 0.0, 0.0, 3.0]; // columns (1, 2, 2) and (0, 0, 3)
/// let mut g = [0.0; 2];
/// goodness(Goodness::Sum, MatRef::new(&h, 3, 2)?, &mut g)?;
/// assert_eq!(g, [9.0, 9.0]);
/// goodness(Goodness::Mean, MatRef::new(&h, 3, 2)?, &mut g)?;
/// assert_eq!(g, [3.0, 3.0]);
/// # Ok::<(), ff_core::Error>(())
/// ```
pub fn goodness<T: Real>(form: Goodness, h: MatRef<'_, T>, out: &mut [T]) -> Result<()> {
    if out.len() != h.cols() {
        return Err(Error::ShapeMismatch {
            op: "goodness",
            expected: (h.cols(), 1),
            got: (out.len(), 1),
        });
    }
    let c = form.scale::<T>(h.rows());
    for (g, col) in out
        .iter_mut()
        .zip(h.as_slice().chunks_exact(h.rows().max(1)))
    {
        *g = crate::mat::sum_sq(col) * c;
    }
    Ok(())
}

/// How the per-sample goodness values of a split batch become one loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LossForm {
    /// `softplus(m − ḡ+) + softplus(ḡ− − m)` on the batch means (the paper's equation).
    #[default]
    BatchMean,
    /// Mean over all samples of `softplus(m − g_j)` (positives) and `softplus(g_j − m)`
    /// (negatives): Hinton's original and the FF-DQN author's code.
    PerSample,
}

/// The loss and what it says about the split.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FfStats {
    /// Value of the loss.
    pub loss: f64,
    /// Mean goodness of the positives (NaN when there are none).
    pub mean_g_pos: f64,
    /// Mean goodness of the negatives (NaN when there are none).
    pub mean_g_neg: f64,
    /// Number of positives.
    pub n_pos: usize,
    /// Number of negatives.
    pub n_neg: usize,
    /// Fraction of samples on the right side of the margin: positives with `g > m`, negatives
    /// with `g < m`.
    pub accuracy: f64,
}

/// The FF loss of a batch with goodness `g` split by `is_pos`, margin `m`; writes `∂L/∂g_j` into
/// `dl_dg`. An empty positive or negative set contributes nothing (see the crate docs).
///
/// ```
/// use ff_core::ff::{ff_loss, softplus, LossForm};
/// let mut dg = [0.0f64; 4];
/// let s = ff_loss(LossForm::BatchMean, 2.0, &[3.0, 5.0, 1.0, 0.0], &[true, true, false, false], &mut dg)?;
/// // ḡ+ = 4, ḡ− = 0.5
/// assert_eq!(s.loss, softplus(-2.0) + softplus(-1.5));
/// assert!(dg[0] < 0.0 && dg[3] > 0.0);
/// # Ok::<(), ff_core::Error>(())
/// ```
pub fn ff_loss<T: Real>(
    form: LossForm,
    margin: T,
    g: &[T],
    is_pos: &[bool],
    dl_dg: &mut [T],
) -> Result<FfStats> {
    let b = g.len();
    if b == 0 {
        return Err(Error::EmptyBatch { op: "ff_loss" });
    }
    for (op, len) in [
        ("ff_loss (is_pos)", is_pos.len()),
        ("ff_loss (dl_dg)", dl_dg.len()),
    ] {
        if len != b {
            return Err(Error::ShapeMismatch {
                op,
                expected: (b, 1),
                got: (len, 1),
            });
        }
    }
    check_finite("ff_loss", crate::error::Tensor::Goodness, g)?;
    let (mut sum_pos, mut sum_neg, mut n_pos, mut correct) = (T::zero(), T::zero(), 0usize, 0usize);
    for (&gj, &pos) in g.iter().zip(is_pos) {
        if pos {
            sum_pos += gj;
            n_pos += 1;
            correct += usize::from(gj > margin);
        } else {
            sum_neg += gj;
            correct += usize::from(gj < margin);
        }
    }
    let n_neg = b - n_pos;
    let mean = |s: T, n: usize| {
        if n == 0 {
            None
        } else {
            Some(s / T::of(n as f64))
        }
    };
    let (mean_pos, mean_neg) = (mean(sum_pos, n_pos), mean(sum_neg, n_neg));
    let loss = match form {
        LossForm::BatchMean => {
            let mut loss = T::zero();
            let d_pos = mean_pos.map(|mp| {
                loss += softplus(margin - mp);
                -sigmoid(margin - mp) / T::of(n_pos as f64)
            });
            let d_neg = mean_neg.map(|mn| {
                loss += softplus(mn - margin);
                sigmoid(mn - margin) / T::of(n_neg as f64)
            });
            for (d, &pos) in dl_dg.iter_mut().zip(is_pos) {
                // A sample's set is non-empty, so its derivative exists.
                *d = if pos { d_pos } else { d_neg }.unwrap_or(T::zero());
            }
            loss
        }
        LossForm::PerSample => {
            let inv_b = T::one() / T::of(b as f64);
            let mut total = T::zero();
            for ((d, &gj), &pos) in dl_dg.iter_mut().zip(g).zip(is_pos) {
                let (term, slope) = if pos {
                    (softplus(margin - gj), -sigmoid(margin - gj))
                } else {
                    (softplus(gj - margin), sigmoid(gj - margin))
                };
                total += term;
                *d = slope * inv_b;
            }
            total * inv_b
        }
    };
    Ok(FfStats {
        loss: loss.to_f64(),
        mean_g_pos: mean_pos.map_or(f64::NAN, T::to_f64),
        mean_g_neg: mean_neg.map_or(f64::NAN, T::to_f64),
        n_pos,
        n_neg,
        accuracy: correct as f64 / b as f64,
    })
}
