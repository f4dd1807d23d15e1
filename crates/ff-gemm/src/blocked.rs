//! The blocked product: loops over blocks of `C`, packing panels the kernel cannot read in
//! place into the thread's reused packing space.

use crate::Strided;
use crate::kernel::MicroKernel;
use crate::sealed::Scalar;

/// Depth of a packed block (the `k` extent multiplied in one pass over `C`).
const KC: usize = 256;
/// Rows of `A` packed at once (rounded down to a multiple of the kernel's `MR`).
const MC: usize = 128;
/// Columns of `B` packed at once (rounded down to a multiple of the kernel's `NR`).
const NC: usize = 1024;
/// Elements of slack so the packing space can start on a 64-byte boundary.
const ALIGN_SLACK: usize = 16;

fn round_up(x: usize, to: usize) -> usize {
    x.div_ceil(to) * to
}

/// Elements of `C` the kernel computes for an `m × n` product, padding included (a product
/// narrower than a tile runs on a narrow variant of the kernel).
fn padded_area<K: MicroKernel>(m: usize, n: usize) -> usize {
    let rows = if m <= K::MR_SMALL {
        K::MR_SMALL
    } else {
        round_up(m, K::MR)
    };
    let cols = match n {
        1 | 2 => n,
        3 | 4 => 4.min(K::NR),
        _ => round_up(n, K::NR),
    };
    rows * cols
}

/// Elements of an operand the product copies before multiplying, weighted by what a copy
/// costs against a multiply-add: a transposing copy is a scalar load and store per element,
/// a contiguous one moves whole vectors. `lines` are the operand's panel lines (rows of `A`,
/// columns of `B`), `width` the panel width, `depth` the `k` extent; `(along, across)` the
/// strides along a line and across lines; `in_place` says whether full panels are read where
/// they lie.
fn pack_cost<K: MicroKernel>(
    lines: usize,
    width: usize,
    depth: usize,
    (along, across): (usize, usize),
    in_place: bool,
) -> usize {
    let in_place_lines = if in_place { lines / width * width } else { 0 };
    let copied = (lines - in_place_lines) * depth;
    if across == 1 {
        copied / K::MR_SMALL
    } else if along == 1 {
        // A transpose of lines contiguous along `k`: 8 × 8 blocks of shuffles (f32 with AVX).
        copied / 2
    } else {
        // A gather: a scalar load and store per element, about two multiply-adds' time.
        2 * copied
    }
}

/// Which operands the kernel reads where they lie instead of packing them.
#[derive(Clone, Copy)]
struct InPlace {
    /// Columns of a column-major `A` (contiguous runs of `MR`).
    a: bool,
    /// Rows of a row-major `B` (contiguous runs of `NR`).
    b_rows: bool,
    /// Columns of a column-major `B` (the kernel broadcasts each of its `NR` values from its
    /// column).
    b_cols: bool,
}

impl InPlace {
    /// A full panel the kernel can read where it lies is not copied. Packing was a fifth of a
    /// training update. Lines 4 KiB apart or more are packed all the same (see
    /// `short_stride`), and so is an `A` whose panels span many pages and are read many times
    /// (see `a_panel_reread_across_pages`).
    fn of<K: MicroKernel>(a: Strided<'_, K::E>, b: Strided<'_, K::E>) -> Self {
        let (k, n) = (a.cols, b.cols);
        Self {
            a: a.rs == 1
                && short_stride::<K::E>(a.cs)
                && !a_panel_reread_across_pages::<K>(a.cs, k, n),
            b_rows: b.cs == 1 && short_stride::<K::E>(b.rs),
            b_cols: b.rs == 1 && short_stride::<K::E>(b.cs),
        }
    }

    fn b(&self) -> bool {
        self.b_rows || self.b_cols
    }
}

/// The cost of computing `C ← A B` as given, in multiply-add instructions: the kernel's tiles
/// (padding included) and the copies of the panels it cannot read in place.
fn product_cost<K: MicroKernel>(a: Strided<'_, K::E>, b: Strided<'_, K::E>) -> usize {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    let in_place = InPlace::of::<K>(a, b);
    padded_area::<K>(m, n) / K::MR_SMALL * k
        + pack_cost::<K>(m, K::MR, k, (a.cs, a.rs), in_place.a)
        + pack_cost::<K>(n, K::NR, k, (b.rs, b.cs), in_place.b())
}

/// The extra cost of computing `Cᵀ` for an `m × n` product `C`: its tiles are then stored
/// across `C`'s columns, element by element through a buffer (a load and a store each), where
/// `C`'s own tiles are stored as whole vectors. Ignoring it chose `Cᵀ` for the training step's
/// 256 × 256 × 128 products for a padding 2% smaller, and made them 15% slower.
fn scattered_store_cost(m: usize, n: usize) -> usize {
    2 * m * n
}

/// The blocked product for one kernel. Computes `Cᵀ = Bᵀ Aᵀ` instead when that costs less
/// (a 2-row head output against a 32-row kernel, say). Either way every element of `C` is the
/// same chain of fused multiply-adds, so the choice never changes a result.
pub(crate) fn blocked<K: MicroKernel>(c: &mut [K::E], a: Strided<'_, K::E>, b: Strided<'_, K::E>) {
    let m = a.rows;
    let transposed = product_cost::<K>(b.t(), a.t()) + scattered_store_cost(m, b.cols);
    if transposed < product_cost::<K>(a, b) {
        blocked_strided::<K>(c, (m, 1), b.t(), a.t());
    } else {
        blocked_strided::<K>(c, (1, m), a, b);
    }
}

/// `C ← A B` with `C` at strides `(rsc, csc)` inside `c`.
pub(crate) fn blocked_strided<K: MicroKernel>(
    c: &mut [K::E],
    (rsc, csc): (usize, usize),
    a: Strided<'_, K::E>,
    b: Strided<'_, K::E>,
) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    let mc = (MC / K::MR).max(1) * K::MR;
    let nc = (NC / K::NR).max(1) * K::NR;
    // The last element of C the tiles reach: the assert makes every kernel store in bounds.
    assert!(
        (m - 1) * rsc + (n - 1) * csc < c.len(),
        "gemm: output too short"
    );
    // Every element of A and B the strides reach lies inside its slice; the kernels' in-place
    // reads below rely on it.
    assert!(
        (m - 1) * a.rs + (k - 1) * a.cs < a.data.len(),
        "gemm: A too short"
    );
    assert!(
        (k - 1) * b.rs + (n - 1) * b.cs < b.data.len(),
        "gemm: B too short"
    );
    let in_place = InPlace::of::<K>(a, b);
    let b_in_place = in_place.b();
    let InPlace {
        a: a_in_place,
        b_rows: b_rows_in_place,
        b_cols: b_cols_in_place,
    } = in_place;
    // An operand read in place needs packing space for its one edge panel only.
    let a_len = if a_in_place {
        K::MR
    } else {
        round_up(m.min(mc), K::MR)
    } * k.min(KC);
    let b_len = k.min(KC)
        * if b_in_place {
            K::NR
        } else {
            round_up(n.min(nc), K::NR)
        };
    K::E::with_pack(|pack| {
        let need = a_len + b_len + ALIGN_SLACK;
        if pack.len() < need {
            pack.resize(need, K::E::default());
        }
        let offset = pack.as_ptr().align_offset(64).min(ALIGN_SLACK);
        let (a_pack, b_pack) = pack[offset..offset + a_len + b_len].split_at_mut(a_len);
        let cp = c.as_mut_ptr();
        for jc in (0..n).step_by(nc) {
            let ncb = nc.min(n - jc);
            for pc in (0..k).step_by(KC) {
                let kcb = KC.min(k - pc);
                pack_panels(b_pack, b.t(), K::NR, jc, ncb, pc, kcb, b_in_place);
                for ic in (0..m).step_by(mc) {
                    let mcb = mc.min(m - ic);
                    pack_panels(a_pack, a, K::MR, ic, mcb, pc, kcb, a_in_place);
                    for jr in (0..ncb).step_by(K::NR) {
                        let j = jc + jr;
                        let full = j + K::NR <= n;
                        let (bp, b_step, b_ld) = if full && b_rows_in_place {
                            (b.data[pc * b.rs + j..].as_ptr(), b.rs, 1)
                        } else if full && b_cols_in_place {
                            (b.data[pc + j * b.cs..].as_ptr(), 1, b.cs)
                        } else {
                            let at = if b_in_place { 0 } else { jr * kcb };
                            (b_pack[at..at + K::NR * kcb].as_ptr(), K::NR, 1)
                        };
                        for ir in (0..mcb).step_by(K::MR) {
                            let i = ic + ir;
                            let (ap, a_step) = if a_in_place && i + K::MR <= m {
                                (a.data[i + pc * a.cs..].as_ptr(), a.cs)
                            } else {
                                let at = if a_in_place { 0 } else { ir * kcb };
                                (a_pack[at..at + K::MR * kcb].as_ptr(), K::MR)
                            };
                            // SAFETY: a packed panel holds `kcb` runs of MR (A) or NR (B)
                            // values; an in-place panel is a full one, rows i..i+MR, cols
                            // pc..pc+kcb of A (or rows pc..pc+kcb, cols j..j+NR of B), inside
                            // the slice by the asserts above. The tile's stored part is rows
                            // i..i+rows, cols j..j+cols of an m × n matrix, inside `c` by the
                            // assert above; `c` is borrowed mutably, so nothing else aliases
                            // it; the dispatcher checked the CPU features.
                            unsafe {
                                K::run(
                                    kcb,
                                    ap,
                                    a_step,
                                    bp,
                                    b_step,
                                    b_ld,
                                    cp.add(i * rsc + j * csc),
                                    rsc,
                                    csc,
                                    K::MR.min(m - i),
                                    K::NR.min(n - j),
                                    pc > 0,
                                )
                            }
                        }
                    }
                }
            }
        }
    })
}

/// Whether lines `stride` elements apart are read in place rather than packed. At 4 KiB or
/// more they map to the same few L1 sets and evict each other (a 1024 × 1024 product read in
/// place runs at two thirds of its packed speed); the training step's operands are far
/// narrower.
fn short_stride<T>(stride: usize) -> bool {
    stride * std::mem::size_of::<T>() < 4096
}

/// Whether an in-place panel of `A` (columns `stride` elements apart, `depth` of them per
/// block) is read by several column panels of `B` (`n` > `NR`) while spanning more than 16
/// pages. Each rereading then walks that many pages for `MR` values apiece; a packed copy is
/// read contiguously. Measured with AVX2 on the training step's shapes: the 256 × 256 × 128
/// product with a column-major `A` of 256 rows ran 20% faster packed, while `A` with 64 rows
/// (a 32 KiB panel) and one-column products (acting) are faster read in place.
fn a_panel_reread_across_pages<K: MicroKernel>(stride: usize, k: usize, n: usize) -> bool {
    const PAGES: usize = 16 * 4096;
    n > K::NR && stride * k.min(KC) * std::mem::size_of::<K::E>() > PAGES
}

/// Packs lines `i0..i0+count` (rows of `x`), columns `p0..p0+depth`, into panels of `width`
/// lines, each stored column by column (`width` contiguous values per `k`), zero-padding the
/// last panel; full panels are skipped when `skip_full` (the kernel reads them in place), and
/// the one partial panel then goes to the start of `dst`.
/// `A` is packed as itself with `width = MR`, `B` as `Bᵀ` with `width = NR`.
#[allow(clippy::too_many_arguments)]
fn pack_panels<T: Scalar>(
    dst: &mut [T],
    x: Strided<'_, T>,
    width: usize,
    i0: usize,
    count: usize,
    p0: usize,
    depth: usize,
    skip_full: bool,
) {
    let zero = T::default();
    for panel in (0..count).step_by(width) {
        let lanes = width.min(count - panel);
        let i = i0 + panel;
        if skip_full && lanes == width {
            // Read in place by the kernel.
            continue;
        }
        let slot = if skip_full { 0 } else { panel / width };
        let out = &mut dst[slot * width * depth..(slot + 1) * width * depth];
        if x.rs == 1 {
            for (p, line) in out.chunks_exact_mut(width).enumerate() {
                let start = i + (p0 + p) * x.cs;
                line[..lanes].copy_from_slice(&x.data[start..start + lanes]);
                line[lanes..].fill(zero);
            }
        } else {
            if lanes < width {
                out.fill(zero);
            }
            transpose_into(
                out,
                width,
                lanes,
                depth,
                x.data,
                i * x.rs + p0 * x.cs,
                x.rs,
                x.cs,
            );
        }
    }
}

/// `out[p * width + r] = src[start + r * outer + p * inner]` for `r < lanes`, `p < depth`: packs
/// `lanes` strided lines of `depth` elements side by side (a transpose when `inner` is 1).
#[allow(clippy::too_many_arguments)]
fn transpose_into<T: Scalar>(
    out: &mut [T],
    width: usize,
    lanes: usize,
    depth: usize,
    src: &[T],
    start: usize,
    outer: usize,
    inner: usize,
) {
    if lanes == 0 || depth == 0 {
        return;
    }
    assert!(
        lanes <= width && out.len() >= depth * width,
        "gemm: packing panel too short"
    );
    assert!(
        start + (lanes - 1) * outer + (depth - 1) * inner < src.len(),
        "gemm: packing reads past the operand"
    );
    // Lines contiguous along `p` (a transposed operand): whole 8 × 8 blocks with SIMD
    // shuffles where the CPU has them, the edges element by element below.
    let (mut r_done, mut p_done) = (0, 0);
    if inner == 1 {
        let (rows8, depth8) = (lanes / 8 * 8, depth / 8 * 8);
        if T::transpose_blocks(out, width, rows8, depth8, src, start, outer) {
            (r_done, p_done) = (rows8, depth8);
        }
    }
    let (dst, src) = (out.as_mut_ptr(), src.as_ptr());
    // SAFETY: the asserts above bound every index read (`start + r * outer + p * inner`) and
    // written (`p * width + r`); `out` is borrowed mutably and `src` shared, so they are
    // distinct. Unchecked indexing makes this loop a load and a store per element, which
    // matters: a transposing pack of a 128 × 128 operand costs as much as a third of the
    // product it feeds when every access is bounds-checked.
    unsafe {
        for p in 0..depth {
            let (d, s) = (dst.add(p * width), src.add(start + p * inner));
            let first = if p < p_done { r_done } else { 0 };
            for r in first..lanes {
                *d.add(r) = *s.add(r * outer);
            }
        }
    }
}
