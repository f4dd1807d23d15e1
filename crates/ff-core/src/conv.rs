//! A 2-D convolution as a dense cell over patches: `kernel × kernel` windows of a square grid,
//! stride 1, no padding (PyTorch's `Conv2d(c_in, c_out, kernel)` defaults), the form of the
//! MinAtar paper's DQN (Young & Tian 2019: 16 filters of 3 × 3 on the 10 × 10 grid).
//!
//! [`Conv2d::patches`] lays every window of a batch out as one column (im2col), so that a
//! [`crate::cell::Cell`] with `patch_len` inputs and one output per filter computes the
//! convolution as one product, and its ordinary backward pass yields the filters' and biases'
//! gradients (summed over every window of every sample, as a convolution's are). The cell's
//! output, `filters × (positions · batch)`, read as `(positions · filters) × batch`
//! ([`Conv2d::features`]) is each sample's feature map in `(y, x, filter)` order, the next
//! dense layer's input.
//!
//! Grids are stored as numpy's `state()` flattens them: cell `(y, x)`, channel `c` at
//! `(y · side + x) · channels + c`. A window's values are taken in the same `(dy, dx, c)`
//! order, so each of its `kernel` rows is one contiguous run of `kernel · channels` values.
//!
//! ```
//! use ff_core::{Buf, MatRef, conv::Conv2d};
//! // One 3 × 3 grid of one channel, values 0..9; 2 × 2 windows.
//! let conv = Conv2d::new(3, 1, 2)?;
//! let x: Vec<f32> = (0..9).map(|v| v as f32).collect();
//! let mut cols = Buf::default();
//! conv.patches(MatRef::new(&x, 9, 1)?, &mut cols)?;
//! assert_eq!(cols.shape(), (4, 4)); // 4 values per window, 4 windows
//! assert_eq!(cols.mat().column(1), &[1.0, 2.0, 4.0, 5.0]); // the window at (0, 1)
//! # Ok::<(), ff_core::Error>(())
//! ```

use crate::{Buf, Error, MatRef, Result};

/// The geometry of a convolution over square grids: `side × side` cells of `channels` values,
/// `kernel × kernel` windows, stride 1, no padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2d {
    side: usize,
    channels: usize,
    kernel: usize,
}

impl Conv2d {
    /// Windows of `kernel × kernel` over `side × side` grids of `channels` values; refused
    /// when a size is 0 or the window is larger than the grid.
    pub fn new(side: usize, channels: usize, kernel: usize) -> Result<Self> {
        let bad = |key, value: usize, allowed| {
            Err(Error::BadHyperparameter {
                key,
                value: value as f64,
                allowed,
            })
        };
        if side == 0 {
            return bad("conv grid side", side, "at least 1");
        }
        if channels == 0 {
            return bad("conv input channels", channels, "at least 1");
        }
        if kernel == 0 || kernel > side {
            return bad(
                "conv kernel",
                kernel,
                "at least 1 and at most the grid's side",
            );
        }
        Ok(Self {
            side,
            channels,
            kernel,
        })
    }

    /// Values of one input grid: `side² · channels`.
    pub fn in_dim(&self) -> usize {
        self.side * self.side * self.channels
    }

    /// Side of the output map: `side − kernel + 1`.
    pub fn out_side(&self) -> usize {
        self.side - self.kernel + 1
    }

    /// Windows per grid (output positions).
    pub fn positions(&self) -> usize {
        self.out_side() * self.out_side()
    }

    /// Values of one window: `kernel² · channels`, the cell's input width.
    pub fn patch_len(&self) -> usize {
        self.kernel * self.kernel * self.channels
    }

    /// The kernel's side.
    pub fn kernel(&self) -> usize {
        self.kernel
    }

    /// Every window of the batch `x` (`in_dim × batch`) as a column of `out`, which becomes
    /// `patch_len × (positions · batch)`: sample `b`'s window at output position `(y, x)` is
    /// column `b · positions + y · out_side + x`, its values in `(dy, dx, c)` order.
    pub fn patches(&self, x: MatRef<'_, f32>, out: &mut Buf<f32>) -> Result<()> {
        if x.rows() != self.in_dim() {
            return Err(Error::ShapeMismatch {
                op: "Conv2d::patches",
                expected: (self.in_dim(), x.cols()),
                got: x.shape(),
            });
        }
        let (k, c, side, out_side) = (self.kernel, self.channels, self.side, self.out_side());
        let run = k * c;
        out.shape_to(self.patch_len(), self.positions() * x.cols());
        let mut windows = out.as_mut_slice().chunks_exact_mut(self.patch_len());
        for b in 0..x.cols() {
            let grid = x.column(b);
            for y in 0..out_side {
                for x0 in 0..out_side {
                    // `chunks_exact_mut` yields exactly positions · batch windows.
                    let Some(window) = windows.next() else {
                        return Ok(());
                    };
                    for (dy, row) in window.chunks_exact_mut(run).enumerate() {
                        let start = ((y + dy) * side + x0) * c;
                        row.copy_from_slice(&grid[start..start + run]);
                    }
                }
            }
        }
        Ok(())
    }

    /// The cell's output `h` (`filters × (positions · batch)`) read as the batch's feature
    /// maps, `(positions · filters) × batch`: the same values, no copy.
    pub fn features<'a>(&self, h: MatRef<'a, f32>) -> Result<MatRef<'a, f32>> {
        let positions = self.positions();
        if !h.cols().is_multiple_of(positions) {
            return Err(Error::ShapeMismatch {
                op: "Conv2d::features",
                expected: (h.rows(), h.cols().next_multiple_of(positions)),
                got: h.shape(),
            });
        }
        MatRef::new(h.as_slice(), h.rows() * positions, h.cols() / positions)
    }

    /// The gradient of the feature maps (`(positions · filters) × batch`) read as the cell's
    /// upstream gradient, `filters × (positions · batch)`: the inverse of
    /// [`Conv2d::features`].
    pub fn cell_grad<'a>(&self, d: MatRef<'a, f32>, filters: usize) -> Result<MatRef<'a, f32>> {
        let positions = self.positions();
        if d.rows() != positions * filters {
            return Err(Error::ShapeMismatch {
                op: "Conv2d::cell_grad",
                expected: (positions * filters, d.cols()),
                got: d.shape(),
            });
        }
        MatRef::new(d.as_slice(), filters, positions * d.cols())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cell::{Cell, CellCache, CellGrads, CellNorm};
    use crate::optim::{Tensors, TensorsMut};
    use crate::{Dense, Init};
    use proptest::prelude::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The convolution written out as its definition: filter `f` at output `(y, x)` of sample
    /// `b` is `bias[f] + Σ_{dy, dx, c} w[f][(dy, dx, c)] · grid[(y + dy, x + dx, c)]`, then ReLU.
    fn direct(conv: &Conv2d, dense: &Dense<f32>, x: &[f32], batch: usize) -> Vec<f32> {
        let (k, c, side, o) = (conv.kernel, conv.channels, conv.side, conv.out_side());
        let w = dense.weights();
        let filters = dense.out_dim();
        let bias = dense.biases();
        let mut out = Vec::new();
        for b in 0..batch {
            let grid = &x[b * conv.in_dim()..(b + 1) * conv.in_dim()];
            for y in 0..o {
                for x0 in 0..o {
                    for f in 0..filters {
                        let mut s = f64::from(bias[f]);
                        for dy in 0..k {
                            for dx in 0..k {
                                for ch in 0..c {
                                    let i = (dy * k + dx) * c + ch;
                                    s += f64::from(w[(f, i)])
                                        * f64::from(grid[((y + dy) * side + x0 + dx) * c + ch]);
                                }
                            }
                        }
                        out.push(s.max(0.0) as f32);
                    }
                }
            }
        }
        out
    }

    proptest! {
        /// The cell over the patches is the convolution, each sample's map in `(y, x, f)`
        /// order.
        #[test]
        fn cell_over_patches_is_the_convolution(
            side in 1usize..7, channels in 1usize..4, k in 1usize..4, filters in 1usize..5,
            batch in 1usize..4, seed in 0u64..1000,
        ) {
            prop_assume!(k <= side);
            let conv = Conv2d::new(side, channels, k).expect("valid");
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let cell = Cell::new(conv.patch_len(), filters, Init::PytorchDefault, CellNorm::None, &mut rng);
            let x: Vec<f32> = (0..conv.in_dim() * batch).map(|_| rng.gen_range(-1.0..1.0)).collect();
            let mut cols = Buf::default();
            conv.patches(MatRef::new(&x, conv.in_dim(), batch).expect("valid"), &mut cols).expect("valid");
            let mut h = Buf::default();
            cell.forward(cols.mat(), &mut h, &mut CellCache::default()).expect("valid");
            let maps = conv.features(h.mat()).expect("valid");
            prop_assert_eq!(maps.shape(), (conv.positions() * filters, batch));
            let want = direct(&conv, cell.dense(), &x, batch);
            for (got, want) in maps.as_slice().iter().zip(&want) {
                prop_assert!((got - want).abs() <= 1e-5 * (1.0 + want.abs()), "{} vs {}", got, want);
            }
        }
    }

    /// The filters' gradient from the cell's backward pass over the patches against central
    /// finite differences of `L = Σ g ⊙ conv(x)` (f64 sums, perturbing each weight and bias).
    #[test]
    fn filter_gradients_match_finite_differences() {
        let conv = Conv2d::new(5, 2, 3).expect("valid");
        let (filters, batch) = (3, 2);
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let cell = Cell::new(
            conv.patch_len(),
            filters,
            Init::PytorchDefault,
            CellNorm::None,
            &mut rng,
        );
        let x: Vec<f32> = (0..conv.in_dim() * batch)
            .map(|_| rng.gen_range(-1.0..1.0))
            .collect();
        let g: Vec<f32> = (0..conv.positions() * filters * batch)
            .map(|_| rng.gen_range(-1.0..1.0))
            .collect();
        let loss = |dense: &Dense<f32>| -> f64 {
            direct(&conv, dense, &x, batch)
                .iter()
                .zip(&g)
                .map(|(&h, &g)| f64::from(h) * f64::from(g))
                .sum()
        };
        let mut cols = Buf::default();
        conv.patches(
            MatRef::new(&x, conv.in_dim(), batch).expect("valid"),
            &mut cols,
        )
        .expect("valid");
        let (mut h, mut cache) = (Buf::default(), CellCache::default());
        cell.forward_train(cols.mat(), &mut h, &mut cache)
            .expect("valid");
        let dh = conv
            .cell_grad(
                MatRef::new(&g, conv.positions() * filters, batch).expect("valid"),
                filters,
            )
            .expect("valid");
        let mut grads = CellGrads::for_cell(&cell);
        cell.backward(cols.mat(), h.mat(), dh, &cache, &mut grads, None)
            .expect("valid");
        let eps = 1e-3f32;
        for k in 0..cell.n_tensors() {
            for j in 0..cell.tensor(k).len() {
                let bump = |delta: f32| {
                    let mut c = cell.clone();
                    c.tensor_mut(k)[j] += delta;
                    loss(c.dense())
                };
                let numeric = (bump(eps) - bump(-eps)) / (2.0 * f64::from(eps));
                let analytic = f64::from(grads.tensor(k)[j]);
                assert!(
                    (numeric - analytic).abs() <= 1e-2 * (1.0 + analytic.abs()),
                    "tensor {k}[{j}]: finite difference {numeric}, backward {analytic}"
                );
            }
        }
    }

    #[test]
    fn bad_geometry_and_shapes_are_refused() {
        assert!(Conv2d::new(3, 1, 4).is_err());
        assert!(Conv2d::new(0, 1, 1).is_err());
        let conv = Conv2d::new(3, 1, 2).expect("valid");
        let x = [0.0f32; 8];
        let mut out = Buf::default();
        assert!(
            conv.patches(MatRef::new(&x, 8, 1).expect("valid"), &mut out)
                .is_err()
        );
        let h = [0.0f32; 6];
        assert!(
            conv.features(MatRef::new(&h, 2, 3).expect("valid"))
                .is_err()
        );
    }
}
