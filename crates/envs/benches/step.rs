//! One environment step of each task, random actions, resetting ended episodes; in one group so
//! the report reads as a comparison (Gymnasium's and the MinAtar package's rates are measured by
//! `cargo xtask bench --peer`). MinAtar's games also step with the grid written as bits
//! (`minatar_step_bits`), the form the package's `state()` and this project's replay hold.

use criterion::{Criterion, criterion_group, criterion_main};
use envs::{EnvId, Environment, MinAtar, MinAtarOptions};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;

/// 4 096 uniformly random actions of `id`, cycled through by a bench (`next_action`).
fn random_actions(id: EnvId, rng: &mut ChaCha8Rng) -> Vec<usize> {
    (0..4096)
        .map(|_| rng.gen_range(0..id.n_actions()))
        .collect()
}

/// The next of `actions`, cycling: a compare, not a division, so the bench times the step.
#[inline]
fn next_action(actions: &[usize], k: &mut usize) -> usize {
    *k += 1;
    if *k == actions.len() {
        *k = 0;
    }
    actions[*k]
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("env_step");
    for id in EnvId::ALL {
        let mut env = id.make(None).expect("valid limit");
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let mut obs = vec![0.0f32; id.obs_dim()];
        env.reset(&mut rng, &mut obs);
        let actions = random_actions(id, &mut rng);
        let mut k = 0;
        group.bench_function(id.name(), |b| {
            b.iter(|| {
                let t = env
                    .step(next_action(&actions, &mut k), &mut obs)
                    .expect("valid action");
                if t.terminated || t.truncated {
                    env.reset(&mut rng, &mut obs);
                }
                black_box(&obs);
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("minatar_step_bits");
    for id in EnvId::ALL {
        let EnvId::MinAtar {
            game,
            minimal_actions,
        } = id
        else {
            continue;
        };
        let mut env = MinAtar::new(game, minimal_actions, u32::MAX, MinAtarOptions::default())
            .expect("valid");
        env.seed(0);
        let mut bits = vec![0u8; id.obs_dim().div_ceil(8)];
        env.reset_bits(&mut bits);
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let actions = random_actions(id, &mut rng);
        let mut k = 0;
        group.bench_function(id.name(), |b| {
            b.iter(|| {
                let t = env
                    .step_bits(next_action(&actions, &mut k), &mut bits)
                    .expect("valid action");
                if t.terminated {
                    env.reset_bits(&mut bits);
                }
                black_box(&bits);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
