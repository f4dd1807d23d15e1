//! The crate's error type.

/// The tensor a non-finite value was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tensor {
    /// A layer's input batch.
    Input,
    /// The per-sample goodness of an FF layer.
    Goodness,
    /// A parameter gradient.
    Gradient,
    /// The gradient flowing into a layer's backward pass.
    UpstreamGradient,
}

impl std::fmt::Display for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Tensor::Input => "the input",
            Tensor::Goodness => "the goodness",
            Tensor::Gradient => "a gradient",
            Tensor::UpstreamGradient => "the upstream gradient",
        })
    }
}

/// What can go wrong in ff-core. Every variant carries the numbers needed to find the fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// Two operands disagree in shape.
    #[error("{op}: expected shape {expected:?}, got {got:?}")]
    ShapeMismatch {
        /// The operation that was refused.
        op: &'static str,
        /// Shape it needed (rows, columns).
        expected: (usize, usize),
        /// Shape it was given.
        got: (usize, usize),
    },
    /// A NaN or infinity in an input.
    #[error("{op}: {what} holds a non-finite value ({value}) at index {index}")]
    NonFinite {
        /// The operation that was refused.
        op: &'static str,
        /// Which input.
        what: Tensor,
        /// Position of the first bad value (column-major).
        index: usize,
        /// The value.
        value: f64,
    },
    /// An empty batch.
    #[error("{op}: the batch is empty; it needs at least one sample")]
    EmptyBatch {
        /// The operation that was refused.
        op: &'static str,
    },
    /// A setting outside its range.
    #[error("setting `{key}` = {value} is out of range: {allowed}")]
    BadHyperparameter {
        /// The setting.
        key: &'static str,
        /// The value given.
        value: f64,
        /// What is allowed.
        allowed: &'static str,
    },
    /// The optimizer was handed a different number or size of tensors than it was built for.
    #[error("optimizer was built for tensor sizes {expected:?} but stepped with {got:?}")]
    TensorLayout {
        /// Sizes it was built for.
        expected: Vec<usize>,
        /// Sizes it was given.
        got: Vec<usize>,
    },
    /// [`FfLayer::train_step`](crate::FfLayer::train_step) on a layer built without an
    /// optimizer.
    #[error(
        "this FfLayer has no optimizer: build it with .with_optimizer(...), or take its gradients with .gradients(...)"
    )]
    NoOptimizer,
    /// A product the gemm refused (a bug in the caller's shapes).
    #[error(transparent)]
    Gemm(#[from] ff_gemm::Error),
}
