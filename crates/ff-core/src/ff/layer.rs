//! [`FfLayer`]: a Forward-Forward layer that trains in one call.

use super::{FfLayerConfig, FfScratch, FfStats, ff_gradients, goodness};
use crate::{
    Buf, Dense, DenseGrads, Error, Init, MatRef, Optimizer, OptimizerConfig, Real, Result,
};
use rand::Rng;

/// A Forward-Forward layer: a [`Dense`] layer with a ReLU, its [`FfLayerConfig`], optionally its
/// own [`Optimizer`], and the buffers its steps reuse (so a steady-state step allocates
/// nothing).
///
/// ```
/// use ff_core::{FfLayer, FfLayerConfig, Init, MatRef, OptimizerConfig};
/// use rand::SeedableRng;
/// let mut rng = rand::rngs::StdRng::seed_from_u64(0);
/// let mut layer = FfLayer::<f32>::new(2, 4, FfLayerConfig::default(), Init::XavierUniform, &mut rng)
///     .with_optimizer(OptimizerConfig::adam(0.01))?;
/// let h = layer.forward(MatRef::new(&[1.0, -1.0], 2, 1)?)?;
/// assert_eq!(h.shape(), (4, 1));
/// assert!(h.as_slice().iter().all(|&v| v >= 0.0)); // ReLU
/// # Ok::<(), ff_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct FfLayer<T: Real> {
    dense: Dense<T>,
    config: FfLayerConfig,
    optimizer: Option<Optimizer<T>>,
    x_norm: Buf<T>,
    x_cat: Buf<T>,
    is_pos: Vec<bool>,
    out: Buf<T>,
    g: Vec<T>,
    scratch: FfScratch<T>,
    grads: DenseGrads<T>,
}

impl<T: Real> FfLayer<T> {
    /// A layer from `in_dim` to `out_dim` units with parameters drawn from `rng`.
    pub fn new(
        in_dim: usize,
        out_dim: usize,
        config: FfLayerConfig,
        init: Init,
        rng: &mut impl Rng,
    ) -> Self {
        Self::from_dense(Dense::new(in_dim, out_dim, init, rng), config)
    }

    /// An FF layer around existing parameters.
    pub fn from_dense(dense: Dense<T>, config: FfLayerConfig) -> Self {
        Self {
            dense,
            config,
            optimizer: None,
            x_norm: Buf::new(),
            x_cat: Buf::new(),
            is_pos: Vec::new(),
            out: Buf::new(),
            g: Vec::new(),
            scratch: FfScratch::default(),
            grads: DenseGrads::default(),
        }
    }

    /// The same layer with its own optimizer, so that [`FfLayer::train_step`] updates it.
    pub fn with_optimizer(mut self, config: OptimizerConfig) -> Result<Self> {
        self.optimizer = Some(Optimizer::for_layers(
            config,
            std::slice::from_ref(&self.dense),
        )?);
        Ok(self)
    }

    /// The parameters.
    pub fn dense(&self) -> &Dense<T> {
        &self.dense
    }

    /// The settings.
    pub fn config(&self) -> &FfLayerConfig {
        &self.config
    }

    /// The optimizer, if the layer has one.
    pub fn optimizer(&self) -> Option<&Optimizer<T>> {
        self.optimizer.as_ref()
    }

    /// The parameters, giving up the rest.
    pub fn into_dense(self) -> Dense<T> {
        self.dense
    }

    /// `relu(W x̂ + b)` of a batch `x` (`in × batch`), `x̂` normalised as the config says: what
    /// the next layer reads.
    pub fn forward(&mut self, x: MatRef<'_, T>) -> Result<MatRef<'_, T>> {
        self.dense.check_input("FfLayer::forward", &x)?;
        let input = self.config.input_norm.apply(x, &mut self.x_norm);
        self.dense.affine(input, &mut self.out, true)?;
        Ok(self.out.mat())
    }

    /// The goodness of each sample of `x` (what the layer is trained to put above the margin
    /// for positives).
    ///
    /// ```
    /// # use ff_core::{FfLayer, FfLayerConfig, Init, MatRef};
    /// # use rand::SeedableRng;
    /// # let mut layer = FfLayer::<f32>::new(2, 4, FfLayerConfig::default(), Init::XavierUniform, &mut rand::rngs::StdRng::seed_from_u64(0));
    /// let g = layer.goodness(MatRef::new(&[1.0, -1.0, 0.0, 0.0], 2, 2)?)?;
    /// assert_eq!(g.len(), 2);
    /// assert_eq!(g[1], 0.0); // zero input, zero biases (Xavier init): no activity
    /// # Ok::<(), ff_core::Error>(())
    /// ```
    pub fn goodness(&mut self, x: MatRef<'_, T>) -> Result<&[T]> {
        let form = self.config.objective.goodness;
        let cols = x.cols();
        self.forward(x)?;
        self.g.resize(cols, T::zero());
        goodness(form, self.out.mat(), &mut self.g)?;
        Ok(&self.g)
    }

    /// One training step on positives `pos` and negatives `neg` (`in × n_pos`, `in × n_neg`):
    /// the FF loss, its closed-form gradient, and the optimizer's update. Returns the loss and
    /// goodness of the batch before the update.
    pub fn train_step(&mut self, pos: MatRef<'_, T>, neg: MatRef<'_, T>) -> Result<FfStats> {
        if pos.rows() != neg.rows() {
            return Err(Error::ShapeMismatch {
                op: "FfLayer::train_step (negatives)",
                expected: (pos.rows(), neg.cols()),
                got: neg.shape(),
            });
        }
        let mut x_cat = std::mem::take(&mut self.x_cat);
        x_cat.shape_to(pos.rows(), pos.cols() + neg.cols());
        let (p, n) = x_cat.as_mut_slice().split_at_mut(pos.as_slice().len());
        p.copy_from_slice(pos.as_slice());
        n.copy_from_slice(neg.as_slice());
        let mut is_pos = std::mem::take(&mut self.is_pos);
        is_pos.clear();
        is_pos.extend((0..pos.cols() + neg.cols()).map(|j| j < pos.cols()));
        let result = self.train_step_split(x_cat.mat(), &is_pos);
        (self.x_cat, self.is_pos) = (x_cat, is_pos);
        result
    }

    /// [`FfLayer::train_step`] on one batch whose samples are marked positive or negative by
    /// `is_pos`.
    ///
    /// ```
    /// # use ff_core::{FfLayer, FfLayerConfig, Init, MatRef, OptimizerConfig};
    /// # use rand::SeedableRng;
    /// let mut layer = FfLayer::<f64>::new(1, 4, FfLayerConfig::default(), Init::PytorchDefault, &mut rand::rngs::StdRng::seed_from_u64(2))
    ///     .with_optimizer(OptimizerConfig::adam(0.05))?;
    /// let x = MatRef::new(&[1.0, -1.0], 1, 2)?;
    /// for _ in 0..300 {
    ///     layer.train_step_split(x, &[true, false])?;
    /// }
    /// let g = layer.goodness(x)?;
    /// assert!(g[0] > 2.0 && g[1] < 2.0); // the default margin is 2
    /// # Ok::<(), ff_core::Error>(())
    /// ```
    pub fn train_step_split(&mut self, x: MatRef<'_, T>, is_pos: &[bool]) -> Result<FfStats> {
        if self.optimizer.is_none() {
            return Err(Error::NoOptimizer);
        }
        let stats = self.gradients(x, is_pos)?.0;
        if let Some(opt) = &mut self.optimizer {
            opt.step_layers(
                std::slice::from_mut(&mut self.dense),
                std::slice::from_ref(&self.grads),
            )?;
        }
        Ok(stats)
    }

    /// The FF loss of a split batch and its gradient, without updating the layer (for an
    /// optimizer of the caller's own).
    ///
    /// ```
    /// # use ff_core::{FfLayer, FfLayerConfig, Init, MatRef};
    /// # use rand::SeedableRng;
    /// let mut layer = FfLayer::<f32>::new(2, 3, FfLayerConfig::default(), Init::PytorchDefault, &mut rand::rngs::StdRng::seed_from_u64(0));
    /// let (stats, grads) = layer.gradients(MatRef::new(&[1.0, 0.0, 0.0, 1.0], 2, 2)?, &[true, false])?;
    /// assert_eq!((stats.n_pos, stats.n_neg), (1, 1));
    /// assert_eq!(grads.w.shape(), (3, 2));
    /// # Ok::<(), ff_core::Error>(())
    /// ```
    pub fn gradients(
        &mut self,
        x: MatRef<'_, T>,
        is_pos: &[bool],
    ) -> Result<(FfStats, &DenseGrads<T>)> {
        self.dense.check_input("FfLayer::gradients", &x)?;
        let input = self.config.input_norm.apply(x, &mut self.x_norm);
        let stats = ff_gradients(
            &self.dense,
            &self.config.objective,
            input,
            is_pos,
            &mut self.scratch,
            &mut self.grads,
            &mut self.out,
        )?;
        Ok((stats, &self.grads))
    }
}
