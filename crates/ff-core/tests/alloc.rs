//! Allocation counts of a steady-state FF step, forward and backward pass and optimizer step.
//!
//! Every buffer is reused, the gemm's packing space included (a per-thread buffer that grows to
//! the largest product and stays), so once warm a step allocates nothing: the count over 1 000
//! steps must be zero, and the memory held must not grow. A counting global allocator (this
//! test binary only) counts calls, not time.

use ff_core::ff::{FfObjective, FfScratch, Goodness, LossForm, ff_gradients};
use ff_core::mat::matmul;
use ff_core::{
    Buf, Dense, DenseGrads, FfLayer, FfLayerConfig, Init, InputNorm, MatRef, OptimizerConfig,
};
use nalgebra::DMatrix;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Counts the calling thread's allocations only, so the test harness's own allocations on
/// other threads (printing results, starting tests) cannot leak into a count.
struct Counting;

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

fn record(allocs: usize, bytes: isize) {
    // `try_with`: during thread teardown the counters may already be gone.
    let _ = ALLOCS.try_with(|c| c.set(c.get() + allocs));
    let _ = LIVE.try_with(|c| c.set(c.get() + bytes));
}

/// `(allocations, live bytes)` of this thread so far.
fn counts() -> (usize, isize) {
    (ALLOCS.with(Cell::get), LIVE.with(Cell::get))
}

// A global allocator must implement an unsafe trait; this one only counts and forwards.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(1, layout.size() as isize);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        record(0, -(layout.size() as isize));
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(1, new_size as isize - layout.size() as isize);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn steady_state_steps_allocate_nothing() {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let cfg = FfLayerConfig {
        objective: FfObjective {
            goodness: Goodness::Mean,
            loss: LossForm::PerSample,
            margin: 2.0,
        },
        input_norm: InputNorm::L2,
    };
    let opt = OptimizerConfig::adamw(1e-4, 0.0).with_clip(1.0);
    // The paper's layers, each an FfLayer with its own optimizer and buffers.
    let mut l1 = FfLayer::<f32>::new(4, 128, cfg, Init::XavierUniform, &mut rng)
        .with_optimizer(opt)
        .expect("valid");
    let mut l2 = FfLayer::<f32>::new(128, 64, cfg, Init::XavierUniform, &mut rng)
        .with_optimizer(opt)
        .expect("valid");
    let x = DMatrix::from_fn(4, 128, |_, _| rng.gen_range(-1.0f32..1.0));
    let is_pos: Vec<bool> = (0..128).map(|j| j % 2 == 0).collect();
    // And the low-level path a network uses: shared scratch and gradients, a backward pass.
    let dense = Dense::<f32>::new(64, 32, Init::XavierUniform, &mut rng);
    let (mut scratch, mut grads) = (FfScratch::default(), DenseGrads::default());
    let (mut h, mut dx, mut xn) = (Buf::default(), Buf::default(), Buf::default());
    let mut step = || {
        l1.train_step_split(MatRef::from(&x), &is_pos).expect("ok");
        let a = l1.forward(MatRef::from(&x)).expect("ok");
        l2.train_step_split(a, &is_pos).expect("ok");
        let b = l2.forward(a).expect("ok");
        let input = InputNorm::L2.apply(b, &mut xn);
        ff_gradients(
            &dense,
            &cfg.objective,
            input,
            &is_pos,
            &mut scratch,
            &mut grads,
            &mut h,
        )
        .expect("ok");
        dense
            .backward(input, h.mat(), &mut grads, Some(&mut dx))
            .expect("ok");
    };
    for _ in 0..3 {
        step();
    }
    let (before, live_before) = counts();
    for _ in 0..1000 {
        step();
    }
    let (after, live_after) = counts();
    // Every matrix product packs into the thread's reused gemm space.
    assert_eq!(after - before, 0, "a steady-state step allocated");
    assert_eq!(
        live_after, live_before,
        "memory held grew across steady-state steps"
    );
}

#[test]
fn gemm_space_is_reused_and_can_be_released() {
    let a = DMatrix::from_fn(64, 128, |i, j| (i + j) as f32 * 0.01);
    let b = DMatrix::from_fn(128, 96, |i, j| (i * j % 7) as f32);
    let mut out = Buf::default();
    matmul(MatRef::from(&a), MatRef::from(&b), &mut out).expect("shapes agree");
    assert_eq!(out.mat().shape(), (64, 96));
    let want = &a * &b;
    for (got, want) in out.as_slice().iter().zip(want.as_slice()) {
        assert!(
            (got - want).abs() <= 1e-4 * want.abs().max(1.0),
            "{got} vs {want}"
        );
    }
    let (before, live_before) = counts();
    matmul(MatRef::from(&a), MatRef::from(&b), &mut out).expect("shapes agree");
    assert_eq!(counts().0, before, "second product allocated");
    ff_gemm::release_packing_space::<f32>();
    assert!(
        counts().1 < live_before,
        "releasing the packing space freed nothing"
    );
}
