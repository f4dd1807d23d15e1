//! What a project that adopts ff-core writes: a two-layer Forward-Forward network trained end to
//! end on a toy task through the public API alone (`FfLayer`, `MatRef`, the optimizer config),
//! nothing crate-internal. The task is Hinton's label-in-input scheme on 2-D points: is a point
//! inside the ring 0.8 < r < 1.6? Positives carry the true label one-hot, negatives a wrong one;
//! a point is classified by the label whose input the network finds best.

use ff_core::ff::{FfObjective, Goodness, LossForm};
use ff_core::{FfLayer, FfLayerConfig, Init, InputNorm, MatRef, OptimizerConfig};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

type Point = (f32, f32, usize);

fn points(n: usize, rng: &mut impl Rng) -> Vec<Point> {
    (0..n)
        .map(|_| {
            let (x, y): (f32, f32) = (rng.gen_range(-2.0..2.0), rng.gen_range(-2.0..2.0));
            (
                x,
                y,
                usize::from((0.8..1.6).contains(&(x * x + y * y).sqrt())),
            )
        })
        .collect()
}

/// `[x, y, onehot(label)]` per point, column-major `4 × n`.
fn embed(pts: &[Point], label: impl Fn(usize, usize) -> usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(4 * pts.len());
    for (j, &(x, y, l)) in pts.iter().enumerate() {
        let shown = label(j, l);
        out.extend_from_slice(&[x, y, f32::from(shown == 0), f32::from(shown == 1)]);
    }
    out
}

#[test]
fn a_two_layer_ff_network_learns_a_nonlinear_task_through_the_public_api() -> ff_core::Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let (train, test) = (points(2000, &mut rng), points(1000, &mut rng));
    let objective = FfObjective {
        goodness: Goodness::Sum,
        loss: LossForm::PerSample,
        margin: 4.0,
    };
    let cfg = |input_norm| FfLayerConfig {
        objective,
        input_norm,
    };
    let adam = OptimizerConfig::adam(0.01);
    let mut l1 = FfLayer::<f32>::new(4, 64, cfg(InputNorm::None), Init::PytorchDefault, &mut rng)
        .with_optimizer(adam)?;
    let mut l2 = FfLayer::<f32>::new(64, 64, cfg(InputNorm::L2), Init::PytorchDefault, &mut rng)
        .with_optimizer(adam)?;
    for _ in 0..60 {
        for chunk in train.chunks(200) {
            let wrong: Vec<usize> = chunk.iter().map(|p| 1 - p.2).collect();
            let pos = embed(chunk, |_, l| l);
            let neg = embed(chunk, |j, _| wrong[j]);
            let (pos, neg) = (
                MatRef::new(&pos, 4, chunk.len())?,
                MatRef::new(&neg, 4, chunk.len())?,
            );
            l1.train_step(pos, neg)?;
            let (h_pos, h_neg) = (l1.forward(pos)?.as_slice().to_vec(), {
                l1.forward(neg)?.as_slice().to_vec()
            });
            l2.train_step(
                MatRef::new(&h_pos, 64, chunk.len())?,
                MatRef::new(&h_neg, 64, chunk.len())?,
            )?;
        }
    }
    let mut scores = vec![[0.0f32; 2]; test.len()];
    for c in 0..2 {
        let data = embed(&test, |_, _| c);
        let x = MatRef::new(&data, 4, test.len())?;
        let g1 = l1.goodness(x)?.to_vec();
        let g2 = l2.goodness(l1.forward(x)?)?;
        for ((s, a), b) in scores.iter_mut().zip(&g1).zip(g2) {
            s[c] = a + b;
        }
    }
    let correct = test
        .iter()
        .zip(&scores)
        .filter(|(p, s)| usize::from(s[1] > s[0]) == p.2)
        .count();
    let accuracy = correct as f64 / test.len() as f64;
    let ones = test.iter().filter(|p| p.2 == 1).count() as f64 / test.len() as f64;
    let majority = ones.max(1.0 - ones);
    eprintln!("test accuracy {accuracy:.3}, majority class {majority:.3}");
    assert!(
        accuracy > majority + 0.15,
        "accuracy {accuracy} barely beats the majority class {majority}"
    );
    Ok(())
}
