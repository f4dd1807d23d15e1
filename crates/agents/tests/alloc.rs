//! Allocations of steady-state training updates, counted over 1 000 updates after warm-up.
//!
//! Everything of ours is preallocated and reused; the one allocation left is matrixmultiply's
//! packing buffer, allocated and freed inside each matrix product. The test pins that down
//! exactly (allocations = updates × products per update) and checks that no memory is held
//! across updates, so any new allocation in the hot path fails it. A counting global
//! allocator (this test binary only) counts calls, not time.

use agents::rng::{Stream, stream};
use agents::{AgentKind, Config, build};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use replay::{Batch, ReplayBuffer, Sampling};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;
static ALLOCS: AtomicUsize = AtomicUsize::new(0);
static LIVE: AtomicUsize = AtomicUsize::new(0);

// A global allocator must implement an unsafe trait; this one only counts and forwards.
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
fn steady_state_updates_allocate_only_gemm_packing() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/paper.toml");
    let paper = Config::load(&path).expect("preset loads");
    let mut ff_every = paper.clone();
    ff_every.ff.update_prob = 1.0;
    // Products per update with the paper's 2 hidden layers:
    // BP: target forward 3, online forward 3, backward 2 + 2 + 1 (no input gradient for layer 1).
    // FF: target forward 3; per hidden layer the FF step's forward and weight gradient and the
    //     forward with updated weights (3 × 2); the head's forward and weight gradient 2.
    for (kind, cfg, products) in [(AgentKind::Bp, &paper, 11), (AgentKind::Ff, &ff_every, 11)] {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let mut buffer = ReplayBuffer::new(2_000, 4).expect("valid");
        for _ in 0..2_000 {
            let s: [f32; 4] = std::array::from_fn(|_| rng.gen_range(-0.2..0.2));
            let s2: [f32; 4] = std::array::from_fn(|i| s[i] + rng.gen_range(-0.05..0.05));
            buffer
                .push(&s, rng.gen_range(0..2), 1.0, &s2, rng.gen_bool(0.05))
                .expect("width 4");
        }
        let mut agent = build(kind, cfg, &mut stream(0, Stream::Init)).expect("valid");
        let mut batch = Batch::default();
        let mut urng = stream(0, Stream::Update);
        let mut step = |agent: &mut Box<dyn agents::Agent + Send>, batch: &mut Batch| {
            buffer
                .sample_into(&mut rng, 128, Sampling::WithoutReplacement, batch)
                .expect("enough");
            agent.update(batch, &mut urng).expect("finite");
        };
        for _ in 0..20 {
            step(&mut agent, &mut batch);
        }
        let (allocs, live) = (ALLOCS.load(Ordering::Relaxed), LIVE.load(Ordering::Relaxed));
        for _ in 0..1_000 {
            step(&mut agent, &mut batch);
        }
        let n = ALLOCS.load(Ordering::Relaxed) - allocs;
        assert_eq!(
            n,
            1_000 * products,
            "{kind}: {n} allocations in 1 000 updates, {products} gemm packings each expected"
        );
        assert_eq!(
            LIVE.load(Ordering::Relaxed),
            live,
            "{kind}: memory held grew across updates"
        );
        let stats = agent.take_epoch_stats();
        assert!(
            kind == AgentKind::Bp || stats.ff_batches >= 1_000,
            "every FF update took its FF step"
        );
    }
}
