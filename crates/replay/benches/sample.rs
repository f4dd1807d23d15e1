//! Minibatch sampling at the paper's sizes (batch 128 from a full 50 000 buffer), both modes.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use replay::{Batch, ReplayBuffer, Sampling};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut buffer = ReplayBuffer::new(50_000, 4).expect("valid sizes");
    for _ in 0..50_000 {
        let s: [f32; 4] = rng.r#gen();
        buffer
            .push(&s, rng.gen_range(0..2), 1.0, &s, false)
            .expect("width 4");
    }
    let mut group = c.benchmark_group("replay_sample_128");
    group.throughput(Throughput::Elements(128));
    for (name, sampling) in [
        ("without_replacement", Sampling::WithoutReplacement),
        ("with_replacement", Sampling::WithReplacement),
    ] {
        let mut batch = Batch::default();
        group.bench_function(name, |b| {
            b.iter(|| {
                buffer
                    .sample_into(&mut rng, 128, sampling, &mut batch)
                    .expect("buffer is full");
                black_box(&batch.obs);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
