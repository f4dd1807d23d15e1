//! FF local step against the backprop work for the same layer, on the paper's layers at
//! batch 128, in one group per layer so the report reads as a ratio.
//!
//! `ff_step` (`ff_gradients` after the input normalisation) is a whole local update's gradient: forward, goodness, loss, closed-form `dW, db`.
//! `bp_forward_backward` is what backprop spends on the same layer: the forward pass and the
//! backward pass for `dW, db` and the input gradient `dx` the layer below needs.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use ff_core::ff::{FfObjective, FfScratch, Goodness, LossForm, ff_gradients};
use ff_core::{Buf, Dense, DenseGrads, Init, InputNorm, MatRef};
use nalgebra::DMatrix;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;

const BATCH: usize = 128;

fn bench(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    for (n_in, n_out) in [(4usize, 128usize), (128, 64)] {
        let layer = Dense::<f32>::new(n_in, n_out, Init::XavierUniform, &mut rng);
        let x = DMatrix::from_fn(n_in, BATCH, |_, _| rng.gen_range(-1.0f32..1.0));
        let upstream = DMatrix::from_fn(n_out, BATCH, |_, _| rng.gen_range(-1.0f32..1.0));
        let is_pos: Vec<bool> = (0..BATCH).map(|j| j % 2 == 0).collect();
        let mut group = c.benchmark_group(format!("layer_{n_in}x{n_out}_batch{BATCH}"));
        for (name, objective, norm) in [
            (
                "ff_step_paper_text",
                FfObjective::default(),
                InputNorm::None,
            ),
            (
                "ff_step_paper_code",
                FfObjective {
                    goodness: Goodness::Mean,
                    loss: LossForm::PerSample,
                    margin: 2.0,
                },
                InputNorm::L2,
            ),
        ] {
            let (mut scratch, mut grads) = (FfScratch::default(), DenseGrads::default());
            let (mut x_norm, mut h) = (Buf::default(), Buf::default());
            group.bench_function(BenchmarkId::from_parameter(name), |b| {
                b.iter(|| {
                    let input = norm.apply(MatRef::from(&x), &mut x_norm);
                    black_box(
                        ff_gradients(
                            &layer,
                            &objective,
                            input,
                            &is_pos,
                            &mut scratch,
                            &mut grads,
                            &mut h,
                        )
                        .expect("ok"),
                    )
                })
            });
        }
        let (mut out, mut grads, mut dx) = (Buf::default(), DenseGrads::default(), Buf::default());
        group.bench_function(BenchmarkId::from_parameter("bp_forward_backward"), |b| {
            b.iter(|| {
                layer.forward_relu(MatRef::from(&x), &mut out).expect("ok");
                layer
                    .backward(
                        MatRef::from(&x),
                        MatRef::from(&upstream),
                        &mut grads,
                        Some(&mut dx),
                    )
                    .expect("ok");
                black_box(&grads);
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
