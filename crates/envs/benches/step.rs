//! One environment step of each task, random actions, resetting ended episodes; in one group so
//! the report reads as a comparison (Gymnasium's rates are measured by `cargo xtask bench`).

use criterion::{Criterion, criterion_group, criterion_main};
use envs::{EnvId, Environment};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("env_step");
    for id in EnvId::ALL {
        let mut env = id.make(None).expect("valid limit");
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let mut obs = vec![0.0f32; id.obs_dim()];
        env.reset(&mut rng, &mut obs);
        let actions: Vec<usize> = (0..4096)
            .map(|_| rng.gen_range(0..id.n_actions()))
            .collect();
        let mut k = 0;
        group.bench_function(id.name(), |b| {
            b.iter(|| {
                k = (k + 1) % actions.len();
                let t = env.step(actions[k], &mut obs).expect("valid action");
                if t.terminated || t.truncated {
                    env.reset(&mut rng, &mut obs);
                }
                black_box(&obs);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
