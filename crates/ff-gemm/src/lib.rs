//! Packed matrix multiplication, `C ← A B`, whose packing space is reused instead of allocated
//! per product.
//!
//! The classic blocked algorithm (Goto & van de Geijn, "Anatomy of high-performance matrix
//! multiplication", 2008): a register-blocked micro-kernel multiplies an `MR`-row panel of `A`
//! by an `NR`-column panel of `B`, keeping the `MR × NR` tile of `C` in registers. Panels the
//! kernel cannot read where they lie (transposed ones, edge panels, lines 4 KiB apart or more)
//! are first copied ("packed") into contiguous ones.
//!
//! What sets it apart from general-purpose gemm crates:
//! * the packing space is a per-thread buffer that grows to the largest product seen and is
//!   then reused, so once warm a product performs no heap allocation
//!   ([`release_packing_space`] frees it);
//! * operands are [`Strided`] views, so a transposed operand costs nothing;
//! * when `Cᵀ = Bᵀ Aᵀ` pads less (a 2-row output against a 32-row kernel), that is computed;
//! * each kernel adds the `k` terms of every dot product in order, one fused multiply-add each,
//!   whatever the blocking: the result depends only on the kernel ([`Kernel`]), which is picked
//!   once per product from the CPU's features (AVX-512F, AVX2 + FMA, or portable) and can be
//!   forced with [`gemm_with`] (tests check every kernel the machine has).
//!
//! No threads are used. All `unsafe` code of the workspace this crate belongs to lives here:
//! the SIMD intrinsics and two unchecked loops, each block with the reason it is sound.
//!
//! ```
//! use ff_gemm::{gemm, Strided};
//! let a = [1.0f32, 2.0, 3.0, 4.0]; // [[1, 3], [2, 4]], column-major
//! let b = [1.0f32, 1.0];
//! let mut c = [0.0f32; 2];
//! gemm(&mut c, Strided::col_major(&a, 2, 2)?, Strided::col_major(&b, 2, 1)?)?;
//! assert_eq!(c, [4.0, 6.0]);
//! // Aᵀ b, without copying A:
//! gemm(&mut c, Strided::col_major(&a, 2, 2)?.t(), Strided::col_major(&b, 2, 1)?)?;
//! assert_eq!(c, [3.0, 7.0]);
//! # Ok::<(), ff_gemm::Error>(())
//! ```
#![deny(missing_docs)]

mod blocked;
mod dispatch;
mod kernel;

/// Why a product or a view was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A view whose strides reach past the end of its slice.
    #[error(
        "a {rows} × {cols} view with strides ({rs}, {cs}) reaches element {last} of a slice of {len}: give a longer slice or smaller strides"
    )]
    OutOfBounds {
        /// Rows of the view.
        rows: usize,
        /// Columns of the view.
        cols: usize,
        /// Row stride.
        rs: usize,
        /// Column stride.
        cs: usize,
        /// Index of the last element the view reaches (`usize::MAX` if that overflows).
        last: usize,
        /// Length of the slice.
        len: usize,
    },
    /// `A`'s columns and `B`'s rows differ.
    #[error("inner dimensions disagree: A is {a_rows} × {a_cols}, B is {b_rows} × {b_cols}")]
    InnerDimension {
        /// Rows of `A`.
        a_rows: usize,
        /// Columns of `A`.
        a_cols: usize,
        /// Rows of `B`.
        b_rows: usize,
        /// Columns of `B`.
        b_cols: usize,
    },
    /// The output slice does not hold exactly `m × n` elements.
    #[error("the output holds {len} elements, but the product is {rows} × {cols}")]
    OutputLength {
        /// Rows of the product.
        rows: usize,
        /// Columns of the product.
        cols: usize,
        /// Length of the output slice.
        len: usize,
    },
    /// [`gemm_with`] was asked for a kernel this CPU cannot run.
    #[error("the {kernel:?} kernel needs CPU features this machine lacks: use Kernel::available()")]
    KernelUnavailable {
        /// The kernel asked for.
        kernel: Kernel,
    },
}

/// Result of this crate's operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A read-only matrix view over a slice: element `(i, j)` is `data[i * rs + j * cs]`.
///
/// A column-major matrix has strides `(1, rows)`, a row-major one `(cols, 1)`; [`Strided::t`]
/// swaps them, which transposes the view without touching the data. Every constructor checks
/// that each element the view reaches lies inside the slice, so a `Strided` in hand is always
/// in bounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Strided<'a, T> {
    pub(crate) data: &'a [T],
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    pub(crate) rs: usize,
    pub(crate) cs: usize,
}

impl<'a, T> Strided<'a, T> {
    /// A `rows × cols` view with row stride `rs` and column stride `cs`.
    ///
    /// ```
    /// // The 2 × 2 top-left corner of a column-major 3 × 2 matrix.
    /// let data = [1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0];
    /// let v = ff_gemm::Strided::new(&data, 2, 2, 1, 3)?;
    /// assert_eq!(v.get(1, 1), Some(5.0));
    /// assert!(ff_gemm::Strided::new(&data, 3, 3, 1, 3).is_err());
    /// # Ok::<(), ff_gemm::Error>(())
    /// ```
    pub fn new(data: &'a [T], rows: usize, cols: usize, rs: usize, cs: usize) -> Result<Self> {
        if rows > 0 && cols > 0 {
            let last = (rows - 1)
                .checked_mul(rs)
                .and_then(|r| (cols - 1).checked_mul(cs).and_then(|c| r.checked_add(c)));
            match last {
                Some(last) if last < data.len() => {}
                _ => {
                    return Err(Error::OutOfBounds {
                        rows,
                        cols,
                        rs,
                        cs,
                        last: last.unwrap_or(usize::MAX),
                        len: data.len(),
                    });
                }
            }
        }
        Ok(Self {
            data,
            rows,
            cols,
            rs,
            cs,
        })
    }

    /// A column-major `rows × cols` view (strides `(1, rows)`).
    pub fn col_major(data: &'a [T], rows: usize, cols: usize) -> Result<Self> {
        Self::new(data, rows, cols, 1, rows)
    }

    /// A row-major `rows × cols` view (strides `(cols, 1)`).
    pub fn row_major(data: &'a [T], rows: usize, cols: usize) -> Result<Self> {
        Self::new(data, rows, cols, cols, 1)
    }

    /// The transpose, as a view of the same data.
    #[must_use]
    pub fn t(self) -> Self {
        Self {
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
            ..self
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }
}

impl<T: Copy> Strided<'_, T> {
    /// Element `(i, j)`, or `None` outside the view.
    pub fn get(&self, i: usize, j: usize) -> Option<T> {
        (i < self.rows && j < self.cols).then(|| self.data[i * self.rs + j * self.cs])
    }
}

/// The micro-kernel a product runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// Plain multiply-adds (8 × 4 tiles) that the compiler vectorises for the baseline target;
    /// runs everywhere.
    Portable,
    /// AVX2 with fused multiply-add (x86-64): 16 × 6 tiles of f32, 8 × 6 of f64.
    Avx2Fma,
    /// AVX-512F (x86-64): 32 × 12 tiles of f32, 16 × 12 of f64.
    Avx512F,
}

impl Kernel {
    /// Every kernel, fastest first.
    pub const ALL: [Kernel; 3] = [Kernel::Avx512F, Kernel::Avx2Fma, Kernel::Portable];

    /// Whether this CPU can run the kernel.
    pub fn is_available(self) -> bool {
        match self {
            Kernel::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2Fma => kernel::x86::has_avx2_fma(),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512F => kernel::x86::has_avx512(),
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The kernels this CPU can run, fastest first (always ends with [`Kernel::Portable`]).
    ///
    /// ```
    /// assert_eq!(ff_gemm::Kernel::available().last(), Some(&ff_gemm::Kernel::Portable));
    /// ```
    pub fn available() -> Vec<Kernel> {
        Self::ALL.into_iter().filter(|k| k.is_available()).collect()
    }

    /// The fastest kernel this CPU can run: what [`gemm`] uses.
    pub fn best() -> Kernel {
        Self::ALL
            .into_iter()
            .find(|k| k.is_available())
            .unwrap_or(Kernel::Portable)
    }
}

pub(crate) mod sealed {
    /// What a float type needs for gemm: its kernels and its per-thread packing space.
    pub trait Scalar:
        Copy
        + Default
        + PartialEq
        + std::ops::Add<Output = Self>
        + std::ops::Mul<Output = Self>
        + 'static
    {
        /// `c ← a b` on `kernel`, which the caller has checked is available.
        fn run_kernel(
            kernel: super::Kernel,
            c: &mut [Self],
            a: super::Strided<'_, Self>,
            b: super::Strided<'_, Self>,
        );
        /// Runs `f` on this thread's packing space.
        fn with_pack<R>(f: impl FnOnce(&mut Vec<Self>) -> R) -> R;
        /// `out[p * width + r] = src[start + r * outer + p]` for `r < rows`, `p < depth`, both
        /// multiples of 8, with SIMD shuffles when the CPU has them; `false` (nothing written)
        /// when there is no fast path for this type or CPU. The caller has checked the bounds.
        fn transpose_blocks(
            out: &mut [Self],
            width: usize,
            rows: usize,
            depth: usize,
            src: &[Self],
            start: usize,
            outer: usize,
        ) -> bool;
        /// Frees this thread's packing space.
        fn release_pack();
    }
}

/// The element types the gemm multiplies: `f32` and `f64` (sealed).
pub trait Element: sealed::Scalar {}

impl<T: sealed::Scalar> Element for T {}

/// `c ← a b` on the fastest kernel this CPU has, with `c` a contiguous column-major
/// `a.rows() × b.cols()` slice. `c` is only written, never read, so stale values in a reused
/// buffer cannot leak through.
///
/// Once the calling thread's packing space has grown to the largest product seen, no call
/// allocates.
pub fn gemm<T: Element>(c: &mut [T], a: Strided<'_, T>, b: Strided<'_, T>) -> Result<()> {
    gemm_with(Kernel::best(), c, a, b)
}

/// [`gemm`] on a given kernel (to compare kernels, or to test each one the machine has).
///
/// ```
/// use ff_gemm::{gemm_with, Kernel, Strided};
/// let a = [1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0]; // 2 × 3
/// let mut c = [0.0f64; 4];
/// for kernel in Kernel::available() {
///     let a = Strided::col_major(&a, 2, 3)?;
///     gemm_with(kernel, &mut c, a, a.t())?; // A Aᵀ
///     assert_eq!(c, [35.0, 44.0, 44.0, 56.0]);
/// }
/// # Ok::<(), ff_gemm::Error>(())
/// ```
pub fn gemm_with<T: Element>(
    kernel: Kernel,
    c: &mut [T],
    a: Strided<'_, T>,
    b: Strided<'_, T>,
) -> Result<()> {
    if !kernel.is_available() {
        return Err(Error::KernelUnavailable { kernel });
    }
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if b.rows != k {
        return Err(Error::InnerDimension {
            a_rows: m,
            a_cols: k,
            b_rows: b.rows,
            b_cols: n,
        });
    }
    if m.checked_mul(n) != Some(c.len()) {
        return Err(Error::OutputLength {
            rows: m,
            cols: n,
            len: c.len(),
        });
    }
    if m == 0 || n == 0 {
        return Ok(());
    }
    if k == 0 {
        c.fill(T::default());
        return Ok(());
    }
    T::run_kernel(kernel, c, a, b);
    Ok(())
}

/// Frees the calling thread's packing space for `T` (it is allocated again by the next
/// product): before measuring memory, or in a thread that is done multiplying.
pub fn release_packing_space<T: Element>() {
    T::release_pack();
}

/// Runs `f` compiled for AVX2 when this CPU has it, and as it is otherwise: elementwise loops
/// and fixed-lane reductions (a LayerNorm, an optimizer step) then run on 256-bit vectors
/// instead of the baseline target's 128-bit ones. Vector width changes no result: Rust never
/// fuses or reorders floating-point operations, so `f` computes the same bits either way.
///
/// `f` is inlined into a function compiled with the feature; calls `f` makes to functions
/// that are not inlined run as compiled.
///
/// ```
/// let xs = [1.0f32, 2.0, 3.0];
/// let sum: f32 = ff_gemm::with_wide_vectors(|| xs.iter().sum());
/// assert_eq!(sum, 6.0);
/// ```
#[inline(always)]
pub fn with_wide_vectors<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if kernel::x86::has_avx2() {
        // SAFETY: the CPU has AVX2, the only feature `avx2_body` is compiled with.
        return unsafe { avx2_body(f) };
    }
    f()
}

/// `f()` compiled with AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn avx2_body<R>(f: impl FnOnce() -> R) -> R {
    f()
}
