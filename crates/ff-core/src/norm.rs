//! Normalisation of a layer's input. [`InputNorm`] is the one owner of it in the workspace:
//! the FF layers, the FF-DQN networks and the backprop baseline all normalise through
//! [`InputNorm::apply`] and differentiate through [`InputNorm::backward`].

use crate::mat::sum_sq;
use crate::{Buf, Error, MatRef, Real, Result};

/// Whether a layer normalises its input before the affine map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
// Spelled as configs spell it (kebab-case); the variant names are still read, as files written
// before version 3 of ffdqn's weights format have them.
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum InputNorm {
    /// Use the input as it is (the paper's text).
    #[default]
    #[cfg_attr(feature = "serde", serde(alias = "None"))]
    None,
    /// `x / (‖x‖₂ + 1e-8)` per sample (the FF-DQN author's code): only the direction of the
    /// previous layer's activity reaches the next, so a layer cannot pass its goodness on.
    #[cfg_attr(feature = "serde", serde(alias = "L2"))]
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

/// Layer normalisation over each column (one sample's features), with a learned gain `γ` and
/// bias `β` (Ba, Kiros & Hinton, 2016):
///
/// ```text
/// μ = mean(x),  σ² = mean((x − μ)²),  x̂ = (x − μ) / sqrt(σ² + ε),  y = γ ⊙ x̂ + β
/// ```
///
/// with PyTorch's `ε = 1e-5` and biased variance. The backward pass, per column with
/// `r = 1 / sqrt(σ² + ε)` and `g = ∂L/∂y ⊙ γ`:
///
/// ```text
/// ∂L/∂γ = Σ_j ∂L/∂y_j ⊙ x̂_j,   ∂L/∂β = Σ_j ∂L/∂y_j,
/// ∂L/∂x = r · (g − mean(g) − x̂ · mean(g ⊙ x̂))
/// ```
///
/// ```
/// use ff_core::{Buf, MatRef};
/// use ff_core::norm::{LayerNorm, LnCache};
/// let ln = LayerNorm::<f64>::new(3);
/// let mut y = Buf::default();
/// ln.forward(MatRef::new(&[1.0, 2.0, 3.0], 3, 1)?, &mut y, &mut LnCache::default())?;
/// let s = y.as_slice();
/// assert!((s[0] + s[2]).abs() < 1e-12 && s[1].abs() < 1e-12); // centred
/// assert!((s[2] - (1.5f64).sqrt() * (1.0 / (2.0f64 / 3.0 + 1e-5).sqrt()) / 1.5f64.sqrt()).abs() < 1e-6);
/// # Ok::<(), ff_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LayerNorm<T: Real> {
    gamma: Vec<T>,
    beta: Vec<T>,
}

/// What [`LayerNorm::forward`] keeps for the backward pass: `x̂` and `1 / σ` per column.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LnCache<T> {
    xhat: Buf<T>,
    inv_std: Vec<T>,
}

/// Gradients of a [`LayerNorm`]'s gain and bias.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LnGrads<T> {
    /// `∂L/∂γ`.
    pub gamma: Vec<T>,
    /// `∂L/∂β`.
    pub beta: Vec<T>,
}

/// PyTorch's `LayerNorm` epsilon.
pub const LN_EPS: f64 = 1e-5;

impl<T: Real> LayerNorm<T> {
    /// A LayerNorm over `width` features: `γ = 1`, `β = 0` (PyTorch's init).
    pub fn new(width: usize) -> Self {
        Self {
            gamma: vec![T::one(); width],
            beta: vec![T::zero(); width],
        }
    }

    /// A LayerNorm from its gain and bias, which must have the same length.
    pub fn from_parts(gamma: Vec<T>, beta: Vec<T>) -> Result<Self> {
        if gamma.len() != beta.len() {
            return Err(Error::ShapeMismatch {
                op: "LayerNorm::from_parts",
                expected: (gamma.len(), 1),
                got: (beta.len(), 1),
            });
        }
        Ok(Self { gamma, beta })
    }

    /// Features normalised.
    pub fn width(&self) -> usize {
        self.gamma.len()
    }

    /// The gain `γ`.
    pub fn gamma(&self) -> &[T] {
        &self.gamma
    }

    /// The bias `β`.
    pub fn beta(&self) -> &[T] {
        &self.beta
    }

    /// `[γ, β]`, mutably (fixed lengths).
    pub fn params_mut(&mut self) -> [&mut [T]; 2] {
        [&mut self.gamma, &mut self.beta]
    }

    /// `y = γ ⊙ x̂ + β` for every column of `x` into `out`, keeping `x̂` and `1/σ` in `cache`.
    pub fn forward(
        &self,
        x: MatRef<'_, T>,
        out: &mut Buf<T>,
        cache: &mut LnCache<T>,
    ) -> Result<()> {
        let n = self.width();
        if x.rows() != n || n == 0 {
            return Err(Error::ShapeMismatch {
                op: "LayerNorm::forward",
                expected: (n, x.cols()),
                got: x.shape(),
            });
        }
        out.shape_to(n, x.cols());
        cache.xhat.shape_to(n, x.cols());
        cache.inv_std.resize(x.cols(), T::zero());
        let inv_n = T::one() / T::of(n as f64);
        let eps = T::of(LN_EPS);
        let columns = x
            .as_slice()
            .chunks_exact(n)
            .zip(cache.xhat.as_mut_slice().chunks_exact_mut(n))
            .zip(out.as_mut_slice().chunks_exact_mut(n))
            .zip(cache.inv_std.iter_mut());
        ff_gemm::with_wide_vectors(
            #[inline(always)]
            || {
                for (((col, xh), o), inv_std) in columns {
                    let mean = lane_sum(col, |v| v) * inv_n;
                    let var = lane_sum(col, |v| (v - mean) * (v - mean)) * inv_n;
                    let r = T::one() / (var + eps).sqrt();
                    *inv_std = r;
                    for ((((xh, o), &v), &g), &b) in xh
                        .iter_mut()
                        .zip(o.iter_mut())
                        .zip(col)
                        .zip(&self.gamma)
                        .zip(&self.beta)
                    {
                        *xh = (v - mean) * r;
                        *o = g * *xh + b;
                    }
                }
            },
        );
        Ok(())
    }

    /// Given `∂L/∂y` and the forward pass's `cache`, writes `∂L/∂γ`, `∂L/∂β` into `grads` and
    /// `∂L/∂x` into `dx`.
    pub fn backward(
        &self,
        dy: MatRef<'_, T>,
        cache: &LnCache<T>,
        grads: &mut LnGrads<T>,
        dx: &mut Buf<T>,
    ) -> Result<()> {
        let n = self.width();
        if dy.shape() != cache.xhat.shape() || dy.rows() != n || n == 0 {
            return Err(Error::ShapeMismatch {
                op: "LayerNorm::backward",
                expected: cache.xhat.shape(),
                got: dy.shape(),
            });
        }
        grads.gamma.clear();
        grads.gamma.resize(n, T::zero());
        grads.beta.clear();
        grads.beta.resize(n, T::zero());
        dx.shape_to(n, dy.cols());
        let inv_n = T::one() / T::of(n as f64);
        let columns = dy
            .as_slice()
            .chunks_exact(n)
            .zip(cache.xhat.as_slice().chunks_exact(n))
            .zip(dx.as_mut_slice().chunks_exact_mut(n))
            .zip(&cache.inv_std);
        ff_gemm::with_wide_vectors(
            #[inline(always)]
            || {
                for (((d, xh), out), &r) in columns {
                    for (((gg, gb), &di), &xi) in grads
                        .gamma
                        .iter_mut()
                        .zip(grads.beta.iter_mut())
                        .zip(d)
                        .zip(xh)
                    {
                        *gg += di * xi;
                        *gb += di;
                    }
                    let (sum_g, sum_gx) = lane_sums3(d, &self.gamma, xh);
                    let (mean_g, mean_gx) = (sum_g * inv_n, sum_gx * inv_n);
                    for (((o, &di), &g), &xi) in out.iter_mut().zip(d).zip(&self.gamma).zip(xh) {
                        *o = r * (di * g - mean_g - xi * mean_gx);
                    }
                }
            },
        );
        Ok(())
    }
}

/// `Σ f(x)` over eight interleaved accumulators (a fixed order, so deterministic; eight lanes,
/// so the compiler can vectorise it where one running sum would serialise every addition).
#[inline(always)]
fn lane_sum<T: Real>(xs: &[T], f: impl Fn(T) -> T) -> T {
    let mut acc = [T::zero(); 8];
    let (chunks, rest) = xs.as_chunks::<8>();
    for c in chunks {
        for l in 0..8 {
            acc[l] += f(c[l]);
        }
    }
    let mut sum = fold8(acc);
    for &x in rest {
        sum += f(x);
    }
    sum
}

/// The sum of eight lanes as a vector unit reduces them: halves added lane by lane
/// (`l + 4` onto `l`, then `l + 2`, then `l + 1`). Pairing neighbours instead made the compiler
/// shuffle every load into odd and even lanes.
#[inline(always)]
fn fold8<T: Real>(v: [T; 8]) -> T {
    let h = [v[0] + v[4], v[1] + v[5], v[2] + v[6], v[3] + v[7]];
    let q = [h[0] + h[2], h[1] + h[3]];
    q[0] + q[1]
}

/// `(Σ d ⊙ g, Σ d ⊙ g ⊙ x)` over eight lanes, as [`lane_sum`]: one loop per sum (in one loop
/// the compiler paired the two sums' lanes and multiplied element by element).
#[inline(always)]
fn lane_sums3<T: Real>(d: &[T], g: &[T], x: &[T]) -> (T, T) {
    let n = d.len().min(g.len()).min(x.len());
    let full = n - n % 8;
    let (dc, _) = d[..full].as_chunks::<8>();
    let (gc, _) = g[..full].as_chunks::<8>();
    let (xc, _) = x[..full].as_chunks::<8>();
    let mut a = [T::zero(); 8];
    for (dc, gc) in dc.iter().zip(gc) {
        for l in 0..8 {
            a[l] += dc[l] * gc[l];
        }
    }
    let mut b = [T::zero(); 8];
    for ((dc, gc), xc) in dc.iter().zip(gc).zip(xc) {
        for l in 0..8 {
            b[l] += dc[l] * gc[l] * xc[l];
        }
    }
    let (mut sa, mut sb) = (fold8(a), fold8(b));
    for i in full..n {
        let dg = d[i] * g[i];
        sa += dg;
        sb += dg * x[i];
    }
    (sa, sb)
}
