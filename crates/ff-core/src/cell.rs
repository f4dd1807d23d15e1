//! A cell: a dense layer with a ReLU and, optionally, a LayerNorm before or after the ReLU,
//! with its backward pass. It is the layer the layer-local agents learn with (the Artificial
//! Dopamine cell is `LayerNorm(relu(W x + b))`), and what a backprop network is made of when it
//! gets the same normalisation, so that the two are compared on identical code.
//!
//! ```text
//! none:         h = relu(W x + b)
//! before-relu:  h = relu(LN(W x + b))
//! after-relu:   h = LN(relu(W x + b))
//! ```

use crate::norm::{LayerNorm, LnCache, LnGrads};
use crate::optim::{Tensors, TensorsMut};
use crate::{Buf, Dense, DenseGrads, Error, Init, MatRef, Real, Result};
use rand::Rng;

/// Where a cell's LayerNorm sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
// Spelled as configs spell it (kebab-case); the variant names are still read, as files written
// before version 3 of ffdqn's weights format have them.
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum CellNorm {
    /// No normalisation: `relu(W x + b)`.
    #[default]
    #[cfg_attr(feature = "serde", serde(alias = "None"))]
    None,
    /// `relu(LN(W x + b))`.
    #[cfg_attr(feature = "serde", serde(alias = "BeforeRelu"))]
    BeforeRelu,
    /// `LN(relu(W x + b))`.
    #[cfg_attr(feature = "serde", serde(alias = "AfterRelu"))]
    AfterRelu,
}

/// A dense layer, a ReLU and an optional LayerNorm.
///
/// ```
/// use ff_core::cell::{Cell, CellCache, CellGrads, CellNorm};
/// use ff_core::{Buf, Init, MatRef};
/// use rand::SeedableRng;
/// let cell = Cell::<f64>::new(3, 4, Init::PytorchDefault, CellNorm::AfterRelu, &mut rand::rngs::StdRng::seed_from_u64(0));
/// let x = MatRef::new(&[1.0, -2.0, 0.5, 0.3, 0.1, -0.4], 3, 2)?;
/// let (mut h, mut cache, mut grads) = (Buf::default(), CellCache::default(), CellGrads::default());
/// cell.forward_train(x, &mut h, &mut cache)?;
/// // A loss on h: its gradient is all ones.
/// let ones = vec![1.0; 8];
/// cell.backward(x, h.mat(), MatRef::new(&ones, 4, 2)?, &cache, &mut grads, None)?;
/// assert_eq!(grads.dense.w.shape(), (4, 3));
/// # Ok::<(), ff_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Cell<T: Real> {
    dense: Dense<T>,
    norm: Option<LayerNorm<T>>,
    position: CellNorm,
    /// `false` for an affine output layer (a Q-head): no ReLU, no norm.
    relu: bool,
}

/// What [`Cell::forward_train`] keeps for [`Cell::backward`] besides the output `h`: the
/// LayerNorm's input (`W x + b` before the ReLU, or its output after) and statistics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CellCache<T> {
    relu_in: Buf<T>,
    ln: LnCache<T>,
}

/// Gradients of a cell's parameters, and the work buffer of its backward pass.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CellGrads<T> {
    /// `∂L/∂W`, `∂L/∂b`.
    pub dense: DenseGrads<T>,
    /// `∂L/∂γ`, `∂L/∂β` (empty without a LayerNorm).
    pub norm: LnGrads<T>,
    /// Whether the cell had a LayerNorm (how many tensors the gradient has).
    with_norm: bool,
    work: Buf<T>,
    work2: Buf<T>,
}

impl<T> CellGrads<T> {
    /// Exchanges the backward pass's work buffers with `other`'s: a learner that keeps one
    /// `CellGrads` per layer (backprop steps them all at the end) lends each layer one pair of
    /// work buffers in turn, so its working memory holds one pair, not one per layer.
    pub fn swap_work(&mut self, other: &mut Self) {
        std::mem::swap(&mut self.work, &mut other.work);
        std::mem::swap(&mut self.work2, &mut other.work2);
    }
}

impl<T: Real> Cell<T> {
    /// A cell from `in_dim` to `out_dim` features, weights drawn from `rng`.
    pub fn new(
        in_dim: usize,
        out_dim: usize,
        init: Init,
        norm: CellNorm,
        rng: &mut impl Rng,
    ) -> Self {
        Self::from_dense(Dense::new(in_dim, out_dim, init, rng), norm)
    }

    /// A cell around a dense layer (a fresh LayerNorm: `γ = 1`, `β = 0`).
    pub fn from_dense(dense: Dense<T>, norm: CellNorm) -> Self {
        let width = dense.out_dim();
        Self {
            dense,
            norm: (norm != CellNorm::None).then(|| LayerNorm::new(width)),
            position: norm,
            relu: true,
        }
    }

    /// An affine output layer as a cell: `W x + b`, no ReLU, no norm (a Q-head, so that a whole
    /// network is one slice of cells for its optimizer).
    pub fn affine(dense: Dense<T>) -> Self {
        Self {
            dense,
            norm: None,
            position: CellNorm::None,
            relu: false,
        }
    }

    /// Whether the cell applies a ReLU (every cell but an affine output layer).
    pub fn has_relu(&self) -> bool {
        self.relu
    }

    /// A cell from its parts; the LayerNorm's width must be the layer's output width.
    pub fn from_parts(
        dense: Dense<T>,
        norm: Option<LayerNorm<T>>,
        position: CellNorm,
    ) -> Result<Self> {
        if let Some(ln) = &norm
            && ln.width() != dense.out_dim()
        {
            return Err(Error::ShapeMismatch {
                op: "Cell::from_parts (LayerNorm)",
                expected: (dense.out_dim(), 1),
                got: (ln.width(), 1),
            });
        }
        if norm.is_some() != (position != CellNorm::None) {
            return Err(Error::ShapeMismatch {
                op: "Cell::from_parts (a LayerNorm exactly when the position is not None)",
                expected: (usize::from(position != CellNorm::None), 1),
                got: (usize::from(norm.is_some()), 1),
            });
        }
        Ok(Self {
            dense,
            norm,
            position,
            relu: true,
        })
    }

    /// The dense layer.
    pub fn dense(&self) -> &Dense<T> {
        &self.dense
    }

    /// The dense layer, mutably (its shape cannot change).
    pub fn dense_mut(&mut self) -> &mut Dense<T> {
        &mut self.dense
    }

    /// The LayerNorm, if any.
    pub fn norm(&self) -> Option<&LayerNorm<T>> {
        self.norm.as_ref()
    }

    /// Where the LayerNorm sits.
    pub fn position(&self) -> CellNorm {
        self.position
    }

    /// Input width.
    pub fn in_dim(&self) -> usize {
        self.dense.in_dim()
    }

    /// Output width.
    pub fn out_dim(&self) -> usize {
        self.dense.out_dim()
    }

    /// Whether every parameter is finite.
    pub fn is_finite(&self) -> bool {
        self.dense.is_finite()
            && self.norm.as_ref().is_none_or(|n| {
                crate::mat::all_finite(n.gamma()) && crate::mat::all_finite(n.beta())
            })
    }

    /// `h` for a batch `x` (`in × batch`), keeping what the backward pass needs in `cache`.
    pub fn forward_train(
        &self,
        x: MatRef<'_, T>,
        h: &mut Buf<T>,
        cache: &mut CellCache<T>,
    ) -> Result<()> {
        self.dense.check_input("Cell::forward", &x)?;
        match (&self.norm, self.position) {
            (Some(ln), CellNorm::BeforeRelu) => {
                self.dense.affine(x, &mut cache.relu_in, false)?;
                ln.forward(cache.relu_in.mat(), h, &mut cache.ln)?;
                for v in h.as_mut_slice() {
                    // `v > 0` is false for NaN too: the ReLU maps NaN to 0, as `affine` does.
                    *v = if *v > T::zero() { *v } else { T::zero() };
                }
                Ok(())
            }
            (Some(ln), CellNorm::AfterRelu) => {
                self.dense.affine(x, &mut cache.relu_in, true)?;
                ln.forward(cache.relu_in.mat(), h, &mut cache.ln)
            }
            _ => self.dense.affine(x, h, self.relu),
        }
    }

    /// `h` for a batch `x`; `scratch` is reused work space.
    pub fn forward(
        &self,
        x: MatRef<'_, T>,
        h: &mut Buf<T>,
        scratch: &mut CellCache<T>,
    ) -> Result<()> {
        self.forward_train(x, h, scratch)
    }

    /// Given the forward pass's input `x`, its output `h`, `∂L/∂h` and the forward pass's
    /// `cache`, writes the parameter gradients into `grads`, and `∂L/∂x` into `dx` when asked
    /// for (backprop; a layer-local learner asks for none).
    pub fn backward(
        &self,
        x: MatRef<'_, T>,
        h: MatRef<'_, T>,
        dh: MatRef<'_, T>,
        cache: &CellCache<T>,
        grads: &mut CellGrads<T>,
        dx: Option<&mut Buf<T>>,
    ) -> Result<()> {
        let (rows, cols) = (self.out_dim(), x.cols());
        if dh.shape() != (rows, cols) || h.shape() != (rows, cols) {
            return Err(Error::ShapeMismatch {
                op: "Cell::backward (output or upstream gradient)",
                expected: (rows, cols),
                got: if h.shape() != (rows, cols) {
                    h.shape()
                } else {
                    dh.shape()
                },
            });
        }
        grads.with_norm = self.norm.is_some();
        let CellGrads {
            dense,
            norm,
            work,
            work2,
            ..
        } = grads;
        // `work` ends up holding ∂L/∂z at z = W x + b.
        match (&self.norm, self.position) {
            (Some(ln), CellNorm::BeforeRelu) => {
                // h = relu(y), y = LN(z): h > 0 exactly where y > 0.
                mask_into(dh.as_slice(), h.as_slice(), work2, rows, cols);
                ln.backward(work2.mat(), &cache.ln, norm, work)?;
            }
            (Some(ln), CellNorm::AfterRelu) => {
                // h = LN(r), r = relu(z): the LN backward, then the ReLU's mask from r.
                ln.backward(dh, &cache.ln, norm, work2)?;
                mask_into(work2.as_slice(), cache.relu_in.as_slice(), work, rows, cols);
            }
            _ if self.relu => mask_into(dh.as_slice(), h.as_slice(), work, rows, cols),
            _ => {
                work.shape_to(rows, cols);
                work.as_mut_slice().copy_from_slice(dh.as_slice());
            }
        }
        self.dense.backward(x, work.mat(), dense, dx)
    }
}

/// `out = g ⊙ [v > 0]`, shaped `rows × cols`.
fn mask_into<T: Real>(g: &[T], v: &[T], out: &mut Buf<T>, rows: usize, cols: usize) {
    out.shape_to(rows, cols);
    for ((o, &gi), &vi) in out.as_mut_slice().iter_mut().zip(g).zip(v) {
        *o = if vi > T::zero() { gi } else { T::zero() };
    }
}

impl<T: Real> Tensors<T> for Cell<T> {
    fn n_tensors(&self) -> usize {
        if self.norm.is_some() { 4 } else { 2 }
    }
    fn tensor(&self, k: usize) -> &[T] {
        match (k, &self.norm) {
            (0 | 1, _) => self.dense.tensor(k),
            (2, Some(n)) => n.gamma(),
            (_, Some(n)) => n.beta(),
            (_, None) => self.dense.tensor(1),
        }
    }
}

impl<T: Real> TensorsMut<T> for Cell<T> {
    fn tensor_mut(&mut self, k: usize) -> &mut [T] {
        match (k, &mut self.norm) {
            (0 | 1, _) => self.dense.tensor_mut(k),
            (2, Some(n)) => n.params_mut()[0],
            (_, Some(n)) => n.params_mut()[1],
            (_, None) => self.dense.tensor_mut(1),
        }
    }
}

impl<T: Real> Tensors<T> for CellGrads<T> {
    fn n_tensors(&self) -> usize {
        if self.with_norm { 4 } else { 2 }
    }
    fn tensor(&self, k: usize) -> &[T] {
        match k {
            0 | 1 => self.dense.tensor(k),
            2 => &self.norm.gamma,
            _ => &self.norm.beta,
        }
    }
}

impl<T: Real> CellGrads<T> {
    /// Gradients laid out for `cell` (two or four tensors), for optimizers that are built
    /// before the first backward pass.
    pub fn for_cell(cell: &Cell<T>) -> Self {
        Self {
            with_norm: cell.norm.is_some(),
            ..Self::default()
        }
    }
}
