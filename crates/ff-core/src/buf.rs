//! A growable work buffer handing out matrix views of any shape.

use crate::{MatRef, Real};

/// Storage for a matrix whose shape changes between uses (a batch of activations of one layer,
/// then of the next). It grows to the largest shape asked for and never shrinks, so once warm it
/// never allocates.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Buf<T> {
    data: Vec<T>,
    rows: usize,
    cols: usize,
}

impl<T> Buf<T> {
    /// An empty buffer; it allocates on first use.
    pub const fn new() -> Self {
        Self {
            data: Vec::new(),
            rows: 0,
            cols: 0,
        }
    }
}

impl<T: Real> Buf<T> {
    /// Sets the shape, growing the storage if needed. Contents are unspecified afterwards.
    pub fn shape_to(&mut self, rows: usize, cols: usize) {
        let n = rows * cols;
        if self.data.len() < n {
            self.data.resize(n, T::of(0.0));
        }
        self.rows = rows;
        self.cols = cols;
    }

    /// The current shape.
    pub fn shape(&self) -> (usize, usize) {
        (self.rows, self.cols)
    }

    /// Elements currently in use, column-major.
    pub fn as_slice(&self) -> &[T] {
        &self.data[..self.rows * self.cols]
    }

    /// Elements currently in use, column-major.
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        &mut self.data[..self.rows * self.cols]
    }

    /// The matrix as a [`MatRef`], for passing on as a layer input.
    pub fn mat(&self) -> MatRef<'_, T> {
        MatRef::from_parts(self.as_slice(), self.rows, self.cols)
    }

    /// Elements reserved (the high-water mark), for memory accounting.
    pub fn capacity(&self) -> usize {
        self.data.capacity()
    }
}
