//! Allocations of steady-state training updates, counted over 1 000 updates after warm-up.
//!
//! Every buffer is preallocated and reused, the gemm's packing space included, so once warm an
//! update, and a whole training step (act, step the environment, store, sample, update, sync
//! the target), allocates nothing: the count over 1 000 of them must be zero and the memory held
//! must not grow. Any new allocation in the hot path fails these tests. A counting global
//! allocator (this test binary only) counts calls, not time.

use agents::rng::{Stream, stream};
use agents::train::train_step;
use agents::{AgentKind, Config, LoopState, build};
use envs::Environment;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use replay::{Batch, ReplayBuffer, Sampling};
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

fn paper() -> Config {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/paper.toml");
    Config::load(&path).expect("preset loads")
}

#[test]
fn steady_state_updates_allocate_nothing() {
    let paper = paper();
    let ff_every = paper
        .with_overrides(&["ff.update-prob=1.0"])
        .expect("valid");
    // The layer-local agents with every option that has buffers of its own: LayerNorm cells,
    // double Q-learning, an FF auxiliary term, goodness readouts.
    let local = paper
        .with_overrides(&[
            "network.cell-norm=\"after-relu\"",
            "local-td.double-q=true",
            "local-td.ff-aux={ kind = \"ff\", weight = 0.1 }",
            "goodness-q.ff-aux={ kind = \"symba\", weight = 0.1 }",
            "goodness-q.goodness=\"rms\"",
        ])
        .expect("valid");
    let bp_norm = paper
        .with_overrides(&["network.cell-norm=\"before-relu\""])
        .expect("valid");
    for (kind, cfg) in [
        (AgentKind::Bp, &paper),
        (AgentKind::Bp, &bp_norm),
        (AgentKind::Ff, &ff_every),
        (AgentKind::Ff, &paper),
        (AgentKind::LocalTd, &local),
        (AgentKind::GoodnessQ, &local),
    ] {
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
        // Warm-up: at the paper's FF probability of 0.1, 100 updates include FF steps.
        for _ in 0..100 {
            step(&mut agent, &mut batch);
        }
        let before = counts();
        for _ in 0..1_000 {
            step(&mut agent, &mut batch);
        }
        let after = counts();
        let p = cfg.ff().update_prob;
        assert_eq!(
            after.0 - before.0,
            0,
            "{kind} (FF prob {p}): allocations in 1 000 steady-state updates"
        );
        assert_eq!(after.1, before.1, "{kind}: memory held grew across updates");
        let stats = agent.take_epoch_stats();
        if kind == AgentKind::Ff {
            assert!(stats.ff_batches >= if p == 1.0 { 1_000 } else { 50 });
        }
    }
}

/// Starts an episode in the loop's environment, as `run_epoch` does.
fn start_episode(st: &mut LoopState) {
    let LoopState {
        env, env_rng, obs, ..
    } = st;
    env.reset(env_rng, obs);
}

#[test]
fn steady_state_training_steps_allocate_nothing() {
    let acrobot = paper()
        .with_overrides(&["env.id=\"Acrobot-v1\""])
        .expect("valid");
    let local = paper()
        .with_overrides(&["network.cell-norm=\"after-relu\""])
        .expect("valid");
    // SB3's loop: rounds of 4 steps then 4 updates, a uniform warm-up, the copy first.
    let sb3 = paper()
        .with_overrides(&[
            "train.train-frequency=4",
            "train.gradient-steps=-1",
            "train.warm-up=\"uniform\"",
            "train.target-sync={kind=\"hard\",every=1000,before-updates=true}",
        ])
        .expect("valid");
    // MinAtar: bit-packed replay, gathered first layers, the games' own lists (Seaquest).
    let minatar = |game: &str, extra: &[&str]| {
        let mut sets = vec![
            format!("env.id=\"MinAtar/{game}-v1\""),
            "train.learning-starts=1000".into(),
            "train.buffer-size=20000".into(),
            "train.total-steps=100000".into(),
            "train.log-every-steps=50000".into(),
            "network.hidden=[64, 32]".into(),
        ];
        sets.extend(extra.iter().map(|s| s.to_string()));
        let sets: Vec<&str> = sets.iter().map(String::as_str).collect();
        Config::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../configs/minatar/minatar-dqn.toml"
        )))
        .expect("preset")
        .with_overrides(&sets)
        .expect("valid")
    };
    for (kind, cfg) in [
        (AgentKind::Bp, paper()),
        (AgentKind::Ff, paper()),
        (AgentKind::Bp, acrobot),
        (AgentKind::Bp, sb3),
        (AgentKind::LocalTd, local.clone()),
        (AgentKind::GoodnessQ, local),
        // The preset's network: the convolution's windows drawn into a reused buffer.
        (AgentKind::Bp, minatar("Seaquest", &["bp.double-q=true"])),
        (
            AgentKind::Bp,
            minatar("Breakout", &["network.conv=\"none\""]),
        ),
        (
            AgentKind::LocalTd,
            minatar(
                "Breakout",
                &["network.cell-norm=\"after-relu\"", "network.conv=\"none\""],
            ),
        ),
        (
            AgentKind::GoodnessQ,
            minatar(
                "SpaceInvaders",
                &["network.cell-norm=\"before-relu\"", "network.conv=\"none\""],
            ),
        ),
    ] {
        let mut agent = build(kind, &cfg, &mut stream(0, Stream::Init)).expect("valid");
        let mut st = LoopState::new(&cfg, 0).expect("valid");
        let mut batch = Batch::default();
        start_episode(&mut st);
        let mut run = |n: usize, st: &mut LoopState| {
            let mut updates = 0;
            for _ in 0..n {
                let out = train_step(agent.as_mut(), &cfg, st, &mut batch).expect("ok");
                updates += out.loss_n as usize;
                if out.episode_over {
                    start_episode(st);
                }
            }
            updates
        };
        // Past learning_starts, with a target sync or two, so every path has run once.
        run(3_000, &mut st);
        let before = counts();
        let updates = run(1_000, &mut st);
        let after = counts();
        assert_eq!(updates, 1_000, "one update per step on average");
        assert_eq!(
            after.0 - before.0,
            0,
            "{kind}: allocations in 1 000 steady-state training steps"
        );
        assert_eq!(after.1, before.1, "{kind}: memory held grew across steps");
    }
}
