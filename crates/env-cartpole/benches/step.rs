//! Single vs vectorised stepping, in one group so the report reads as a ratio.
//! Throughput is in environment steps.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use env_cartpole::{CartPole, CartPoleVec, VecStep};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;

const STEPS: usize = 10_000;

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("cartpole_step");
    group.throughput(Throughput::Elements(STEPS as u64));
    group.bench_function("single", |b| {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let mut env = CartPole::new(500).expect("valid limit");
        env.reset(&mut rng);
        let actions: Vec<usize> = (0..STEPS).map(|_| rng.gen_range(0..2)).collect();
        b.iter(|| {
            for &a in &actions {
                let s = env.step(a).expect("valid action");
                if s.terminated || s.truncated {
                    env.reset(&mut rng);
                }
                black_box(s.obs);
            }
        })
    });
    for n in [8usize, 64] {
        group.bench_with_input(BenchmarkId::new("vectorised", n), &n, |b, &n| {
            let rngs = (0..n as u64).map(ChaCha8Rng::seed_from_u64).collect();
            let mut envs = CartPoleVec::new(rngs, 500).expect("valid limit");
            let mut rng = ChaCha8Rng::seed_from_u64(1);
            let actions: Vec<Vec<usize>> = (0..STEPS / n)
                .map(|_| (0..n).map(|_| rng.gen_range(0..2)).collect())
                .collect();
            let mut out = VecStep::default();
            b.iter(|| {
                for a in &actions {
                    envs.step(a, &mut out).expect("valid actions");
                    black_box(&out.obs);
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
