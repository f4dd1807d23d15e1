//! Allocation counts of a steady-state FF step, forward and backward pass and optimizer step.
//!
//! ff-core's own buffers are reused, so its code allocates nothing once warm. The one
//! allocation left is inside matrixmultiply (the gemm backend): each product packs its
//! operands into a buffer allocated and freed within the call. This test pins that down
//! exactly: the count per step equals the number of matrix products, and nothing stays
//! allocated between steps. A counting global allocator (this test binary
//! only) counts calls, not time.

use ff_core::{
    Buf, Dense, DenseGrads, FfLayerConfig, FfScratch, Goodness, Init, InputNorm, LossForm, MatRef,
    Optimizer, OptimizerConfig,
};
use nalgebra::DMatrix;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;
static ALLOCS: AtomicUsize = AtomicUsize::new(0);
static LIVE: AtomicUsize = AtomicUsize::new(0);

// The only unsafe code in the workspace: a global allocator must implement an unsafe trait.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn steady_state_steps_allocate_nothing() {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    // The paper's layers, shared scratch and gradients.
    let mut layers = [
        Dense::<f32>::new(4, 128, Init::XavierUniform, &mut rng),
        Dense::<f32>::new(128, 64, Init::XavierUniform, &mut rng),
    ];
    let mut opts = layers.each_ref().map(|l| {
        Optimizer::for_layers(
            OptimizerConfig::adamw(1e-4, 0.0).with_clip(1.0),
            std::slice::from_ref(l),
        )
        .expect("valid")
    });
    let x = DMatrix::from_fn(4, 128, |_, _| rng.gen_range(-1.0f32..1.0));
    let is_pos: Vec<bool> = (0..128).map(|j| j % 2 == 0).collect();
    let cfg = FfLayerConfig {
        goodness: Goodness::Mean,
        loss: LossForm::PerSample,
        margin: 2.0,
        input_norm: InputNorm::L2,
    };
    let (mut scratch, mut grads) = (FfScratch::default(), DenseGrads::default());
    let (mut a, mut b, mut dx) = (Buf::default(), Buf::default(), Buf::default());
    let mut step = |scratch: &mut FfScratch<f32>, grads: &mut DenseGrads<f32>| {
        // Layer 1 reads the batch and writes `a`; layer 2 reads `a` and writes `b`.
        let [l1, l2] = &mut layers;
        let [o1, o2] = &mut opts;
        layer_step(
            l1,
            o1,
            &cfg,
            MatRef::from(&x),
            &is_pos,
            scratch,
            grads,
            &mut a,
            &mut dx,
        );
        layer_step(
            l2,
            o2,
            &cfg,
            a.mat(),
            &is_pos,
            scratch,
            grads,
            &mut b,
            &mut dx,
        );
    };
    for _ in 0..3 {
        step(&mut scratch, &mut grads);
    }
    let (before, live_before) = (ALLOCS.load(Ordering::Relaxed), LIVE.load(Ordering::Relaxed));
    for _ in 0..100 {
        step(&mut scratch, &mut grads);
    }
    let (after, live_after) = (ALLOCS.load(Ordering::Relaxed), LIVE.load(Ordering::Relaxed));
    // Each layer makes five products per step: the FF step's forward and weight gradient,
    // the forward for the next layer, and the backward pass's weight and input gradients.
    let products_per_step = 2 * 5;
    assert_eq!(
        after - before,
        100 * products_per_step,
        "allocations beyond gemm packing"
    );
    assert_eq!(
        live_after, live_before,
        "memory held grew across steady-state steps"
    );
}

/// An FF step, the optimizer, the forward for the next layer and (as BP would) a backward pass.
#[allow(clippy::too_many_arguments)]
fn layer_step(
    layer: &mut Dense<f32>,
    opt: &mut Optimizer<f32>,
    cfg: &FfLayerConfig,
    input: MatRef<'_, f32>,
    is_pos: &[bool],
    scratch: &mut FfScratch<f32>,
    grads: &mut DenseGrads<f32>,
    out: &mut Buf<f32>,
    dx: &mut Buf<f32>,
) {
    layer
        .ff_step(cfg, input, is_pos, scratch, grads)
        .expect("ok");
    opt.step_layers(std::slice::from_mut(layer), std::slice::from_ref(grads))
        .expect("finite");
    layer.ff_forward(cfg, input, scratch, out).expect("ok");
    layer
        .backward(input, out.mat(), grads, Some(dx))
        .expect("ok");
}
