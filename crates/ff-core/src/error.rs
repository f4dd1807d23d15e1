//! The crate's error type.

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
        what: &'static str,
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
    /// An optimizer setting outside its range.
    #[error("optimizer setting `{key}` = {value} is out of range: {allowed}")]
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
}

pub(crate) fn check_finite<T: crate::Real>(
    op: &'static str,
    what: &'static str,
    values: &[T],
) -> crate::Result<()> {
    if all_finite(values) {
        return Ok(());
    }
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(index) => Err(Error::NonFinite {
            op,
            what,
            index,
            value: values[index].to_f64(),
        }),
    }
}

/// Whether every value is finite, in one vectorised pass: `x · 0` is 0 for a finite `x` and NaN
/// otherwise, and an eight-lane sum of it vectorises where a per-element test does not. Every
/// layer input is checked with it, so the common case must be cheap.
pub fn all_finite<T: crate::Real>(values: &[T]) -> bool {
    let mut acc = [T::zero(); 8];
    let chunks = values.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for l in 0..8 {
            acc[l] += c[l] * T::zero();
        }
    }
    acc.iter().chain(rest).all(|&v| v * T::zero() == T::zero())
}
