//! Normalisation of a layer's input. [`InputNorm`] is the one owner of it in the workspace:
//! the FF layers, the FF-DQN networks and the backprop baseline all normalise through
//! [`InputNorm::apply`] and differentiate through [`InputNorm::backward`].

use crate::mat::sum_sq;
use crate::{Buf, Error, MatRef, Real, Result};

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

impl InputNorm {
    /// The input as the layer sees it: `x` itself, or its columns normalised into `buf`.
    ///
    /// ```
    /// use ff_core::{Buf, InputNorm, MatRef};
    /// let x = [3.0f32, 4.0];
    /// let mut buf = Buf::default();
    /// let y = InputNorm::L2.apply(MatRef::new(&x, 2, 1)?, &mut buf);
    /// assert!((y.as_slice()[0] - 0.6).abs() < 1e-6);
    /// # Ok::<(), ff_core::Error>(())
    /// ```
    pub fn apply<'a, T: Real>(self, x: MatRef<'a, T>, buf: &'a mut Buf<T>) -> MatRef<'a, T> {
        match self {
            InputNorm::None => x,
            InputNorm::L2 => {
                l2_normalize_columns(x, buf);
                buf.mat()
            }
        }
    }

    /// The backward pass: given the raw input `x` and `∂L/∂x̂` (the gradient with respect to
    /// what [`InputNorm::apply`] returned), writes `∂L/∂x` into `dx`.
    ///
    /// ```
    /// use ff_core::{Buf, InputNorm, MatRef};
    /// let (x, up) = ([3.0f64, 4.0], [1.0, 0.0]);
    /// let mut dx = Buf::default();
    /// InputNorm::None.backward(MatRef::new(&x, 2, 1)?, MatRef::new(&up, 2, 1)?, &mut dx)?;
    /// assert_eq!(dx.as_slice(), &up);
    /// InputNorm::L2.backward(MatRef::new(&x, 2, 1)?, MatRef::new(&up, 2, 1)?, &mut dx)?;
    /// // Moving x along itself does not change x / ‖x‖: the gradient is orthogonal to x.
    /// assert!((dx.as_slice()[0] * 3.0 + dx.as_slice()[1] * 4.0).abs() < 1e-8);
    /// # Ok::<(), ff_core::Error>(())
    /// ```
    pub fn backward<T: Real>(
        self,
        x: MatRef<'_, T>,
        d_xhat: MatRef<'_, T>,
        dx: &mut Buf<T>,
    ) -> Result<()> {
        match self {
            InputNorm::None => {
                if x.shape() != d_xhat.shape() {
                    return Err(Error::ShapeMismatch {
                        op: "InputNorm::backward",
                        expected: x.shape(),
                        got: d_xhat.shape(),
                    });
                }
                dx.shape_to(x.rows(), x.cols());
                dx.as_mut_slice().copy_from_slice(d_xhat.as_slice());
                Ok(())
            }
            InputNorm::L2 => l2_normalize_backward(x, d_xhat, dx),
        }
    }
}

/// Writes `x / (‖x‖₂ + 1e-8)`, column by column, into `out`.
///
/// ```
/// use ff_core::{Buf, MatRef};
/// let mut out = Buf::default();
/// ff_core::norm::l2_normalize_columns(MatRef::new(&[0.0f64, 2.0, 0.0, 0.0], 2, 2)?, &mut out);
/// assert!((out.as_slice()[1] - 1.0).abs() < 1e-8);
/// assert_eq!(&out.as_slice()[2..], &[0.0, 0.0]); // a zero column stays zero
/// # Ok::<(), ff_core::Error>(())
/// ```
pub fn l2_normalize_columns<T: Real>(x: MatRef<'_, T>, out: &mut Buf<T>) {
    out.shape_to(x.rows(), x.cols());
    let eps = T::of(1e-8);
    let rows = x.rows().max(1);
    for (dst, src) in out
        .as_mut_slice()
        .chunks_exact_mut(rows)
        .zip(x.as_slice().chunks_exact(rows))
    {
        let norm = sum_sq(src).sqrt();
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
        let n = sum_sq(xc).sqrt();
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
