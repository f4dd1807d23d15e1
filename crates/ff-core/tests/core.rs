//! Known values, edge cases, errors, the optimizer rules and f32/f64 agreement.

use approx::assert_relative_eq;
use ff_core::ff::{FfObjective, Goodness, LossForm, ff_loss, goodness, sigmoid, softplus};
use ff_core::{
    Buf, Dense, DenseGrads, Error, FfLayer, FfLayerConfig, Init, InputNorm, MatRef, Optimizer,
    OptimizerConfig,
};
use nalgebra::DMatrix;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[test]
fn softplus_and_sigmoid_known_values_and_asymptotes() {
    assert_eq!(softplus(0.0f64), std::f64::consts::LN_2);
    assert_eq!(sigmoid(0.0f64), 0.5);
    for x in [1e4f64, 1e30, f64::MAX] {
        assert_eq!(softplus(x), x, "softplus({x})");
        assert_eq!(softplus(-x), 0.0, "softplus(-{x})");
        assert_eq!(sigmoid(x), 1.0);
        assert_eq!(sigmoid(-x), 0.0);
    }
    assert_eq!(softplus(1e4f32), 1e4f32);
    assert_eq!(sigmoid(-1e4f32), 0.0f32);
    assert_relative_eq!(softplus(-40.0f64), (-40.0f64).exp(), max_relative = 1e-12);
    assert_relative_eq!(
        softplus(3.0f64),
        (1.0 + 3.0f64.exp()).ln(),
        max_relative = 1e-15
    );
    assert_relative_eq!(
        sigmoid(-3.0f64),
        1.0 / (1.0 + 3.0f64.exp()),
        max_relative = 1e-15
    );
}

#[test]
fn goodness_of_known_vectors() {
    // Columns (1, 2, 2) and (0, 0, 3).
    let h = DMatrix::from_column_slice(3, 2, &[1.0, 2.0, 2.0, 0.0, 0.0, 3.0]);
    let mut g = [0.0; 2];
    goodness(Goodness::Sum, MatRef::from(&h), &mut g).expect("shapes agree");
    assert_eq!(g, [9.0, 9.0]);
    goodness(Goodness::Mean, MatRef::from(&h), &mut g).expect("shapes agree");
    assert_eq!(g, [3.0, 3.0]);
    assert!(matches!(
        goodness(Goodness::Sum, MatRef::from(&h), &mut [0.0; 3]),
        Err(Error::ShapeMismatch { .. })
    ));
}

#[test]
fn batch_mean_loss_known_value() {
    let g = [3.0, 5.0, 1.0, 0.0];
    let is_pos = [true, true, false, false];
    let mut dg = [0.0; 4];
    let s = ff_loss(LossForm::BatchMean, 2.0, &g, &is_pos, &mut dg).expect("valid");
    // ḡ+ = 4, ḡ− = 0.5: L = softplus(−2) + softplus(−1.5).
    assert_relative_eq!(
        s.loss,
        softplus(-2.0) + softplus(-1.5),
        max_relative = 1e-15
    );
    assert_eq!((s.mean_g_pos, s.mean_g_neg), (4.0, 0.5));
    assert_eq!(s.accuracy, 1.0);
    assert_relative_eq!(dg[0], -sigmoid(-2.0) / 2.0, max_relative = 1e-15);
    assert_relative_eq!(dg[3], sigmoid(-1.5) / 2.0, max_relative = 1e-15);
}

#[test]
fn empty_positive_or_negative_set_drops_its_term() {
    let g = [1.0, 3.0, 2.5];
    let mut dg = [f64::NAN; 3];
    let s = ff_loss(LossForm::BatchMean, 2.0, &g, &[false; 3], &mut dg).expect("valid");
    assert_eq!(s.n_pos, 0);
    assert!(s.mean_g_pos.is_nan(), "no positives, no mean");
    assert_relative_eq!(s.loss, softplus(13.0 / 6.0 - 2.0), max_relative = 1e-15);
    assert!(dg.iter().all(|d| d.is_finite() && *d > 0.0));
    let s = ff_loss(LossForm::BatchMean, 2.0, &g, &[true; 3], &mut dg).expect("valid");
    assert_relative_eq!(s.loss, softplus(2.0 - 13.0 / 6.0), max_relative = 1e-15);
    assert!(dg.iter().all(|d| d.is_finite() && *d < 0.0));
    let s = ff_loss(LossForm::PerSample, 2.0, &g, &[true; 3], &mut dg).expect("valid");
    assert!(s.loss.is_finite());
    assert!(matches!(
        ff_loss(LossForm::PerSample, 2.0, &[], &[], &mut []),
        Err(Error::EmptyBatch { .. })
    ));
}

#[test]
fn non_finite_and_misshapen_inputs_are_typed_errors() {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let layer = Dense::<f32>::new(3, 4, Init::PytorchDefault, &mut rng);
    let mut x = DMatrix::from_element(3, 2, 0.5f32);
    x[(1, 1)] = f32::NAN;
    let (mut grads, mut out) = (DenseGrads::default(), Buf::default());
    let mut ff = FfLayer::from_dense(layer.clone(), FfLayerConfig::default());
    let err = ff
        .gradients(MatRef::from(&x), &[true, false])
        .map(|(s, _)| s);
    assert!(
        matches!(err, Err(Error::NonFinite { index: 4, .. })),
        "{err:?}"
    );
    assert!(matches!(
        layer.forward(MatRef::from(&x), &mut out),
        Err(Error::NonFinite { .. })
    ));
    let wrong = DMatrix::from_element(2, 2, 0.5f32);
    assert!(matches!(
        layer.forward(MatRef::from(&wrong), &mut out),
        Err(Error::ShapeMismatch {
            expected: (3, 2),
            got: (2, 2),
            ..
        })
    ));
    let ok = DMatrix::from_element(3, 2, 0.5f32);
    assert!(matches!(
        ff.gradients(MatRef::from(&ok), &[true]),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        ff.train_step_split(MatRef::from(&ok), &[true, false]),
        Err(Error::NoOptimizer)
    ));
    let bad_dz = DMatrix::from_element(4, 3, 1.0f32);
    assert!(matches!(
        layer.backward(MatRef::from(&ok), MatRef::from(&bad_dz), &mut grads, None),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        MatRef::new(&[1.0f32; 5], 2, 3),
        Err(Error::ShapeMismatch { .. })
    ));
    let empty = DMatrix::<f32>::zeros(3, 0);
    assert!(matches!(
        layer.forward(MatRef::from(&empty), &mut out),
        Err(Error::EmptyBatch { .. })
    ));
}

#[test]
fn init_bounds_match_pytorch_and_xavier() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let l = Dense::<f64>::new(64, 32, Init::PytorchDefault, &mut rng);
    let bound = 1.0 / 64f64.sqrt();
    assert!(
        l.weights()
            .iter()
            .chain(l.biases().iter())
            .all(|v| v.abs() <= bound)
    );
    assert!(
        l.weights().iter().any(|v| v.abs() > 0.9 * bound),
        "draws should fill the range"
    );
    let l = Dense::<f64>::new(64, 32, Init::XavierUniform, &mut rng);
    let bound = (6.0 / 96.0f64).sqrt();
    assert!(l.weights().iter().all(|v| v.abs() <= bound));
    assert!(l.weights().iter().any(|v| v.abs() > 0.9 * bound));
    assert!(l.biases().iter().all(|&v| v == 0.0));
    // One seed, one layer.
    let a = Dense::<f32>::new(4, 8, Init::XavierUniform, &mut ChaCha8Rng::seed_from_u64(5));
    let b = Dense::<f32>::new(4, 8, Init::XavierUniform, &mut ChaCha8Rng::seed_from_u64(5));
    assert_eq!(a, b);
}

/// Adam's first step moves each parameter by lr·g/(|g| + ε) (the bias corrections cancel);
/// AdamW first shrinks it by (1 − lr·λ); clipping scales the gradient by max/(‖g‖ + 1e-6).
#[test]
fn adam_and_adamw_follow_pytorch_rules() {
    let mut layer = Dense::<f64>::from_parts(
        DMatrix::from_column_slice(1, 2, &[1.0, -2.0]),
        nalgebra::DVector::from_column_slice(&[0.5]),
    )
    .expect("shapes agree");
    let mut grads = DenseGrads::default();
    grads.w.shape_to(1, 2);
    grads.w.as_mut_slice().copy_from_slice(&[3.0, -4.0]);
    grads.b.shape_to(1, 1);
    grads.b.as_mut_slice().copy_from_slice(&[0.0]);
    let lr = 0.1;
    let mut adam = Optimizer::for_layers(OptimizerConfig::adam(lr), std::slice::from_ref(&layer))
        .expect("valid");
    let before = layer.clone();
    adam.step_layers(
        std::slice::from_mut(&mut layer),
        std::slice::from_ref(&grads),
    )
    .expect("finite");
    assert_relative_eq!(
        layer.weights()[0],
        before.weights()[0] - lr * 3.0 / (3.0 + 1e-8),
        max_relative = 1e-12
    );
    assert_relative_eq!(
        layer.weights()[1],
        before.weights()[1] + lr * 4.0 / (4.0 + 1e-8),
        max_relative = 1e-12
    );
    assert_eq!(layer.biases()[0], 0.5, "zero gradient, no move");

    let mut layer = before.clone();
    let wd = 0.5;
    let cfg = OptimizerConfig::adamw(lr, wd).with_clip(1.0);
    let mut adamw = Optimizer::for_layers(cfg, std::slice::from_ref(&layer)).expect("valid");
    let info = adamw
        .step_layers(
            std::slice::from_mut(&mut layer),
            std::slice::from_ref(&grads),
        )
        .expect("finite");
    assert_relative_eq!(info.grad_norm, 5.0, max_relative = 1e-15);
    assert_relative_eq!(info.clip_coef, 1.0 / (5.0 + 1e-6), max_relative = 1e-15);
    let g0 = 3.0 * info.clip_coef;
    let expected = before.weights()[0] * (1.0 - lr * wd) - lr * g0 / (g0.abs() + 1e-8);
    assert_relative_eq!(layer.weights()[0], expected, max_relative = 1e-12);
    assert_relative_eq!(
        layer.biases()[0],
        0.5 * (1.0 - lr * wd),
        max_relative = 1e-15
    );

    // Adam's L2 weight decay enters the gradient instead.
    let mut layer = before.clone();
    let mut adam_l2 = Optimizer::for_layers(
        OptimizerConfig {
            weight_decay: wd,
            ..OptimizerConfig::adam(lr)
        },
        std::slice::from_ref(&layer),
    )
    .expect("valid");
    adam_l2
        .step_layers(
            std::slice::from_mut(&mut layer),
            std::slice::from_ref(&grads),
        )
        .expect("finite");
    let g_b = wd * 0.5;
    assert_relative_eq!(
        layer.biases()[0],
        0.5 - lr * g_b / (g_b + 1e-8),
        max_relative = 1e-12
    );
}

#[test]
fn optimizer_rejects_bad_settings_and_non_finite_gradients() {
    for cfg in [
        OptimizerConfig::adam(-1.0),
        OptimizerConfig::adam(f64::NAN),
        OptimizerConfig {
            beta1: 1.0,
            ..OptimizerConfig::adam(1e-3)
        },
        OptimizerConfig::adamw(1e-3, -0.1),
        OptimizerConfig::adam(1e-3).with_clip(0.0),
    ] {
        assert!(
            matches!(
                Optimizer::<f32>::new(cfg, &[3]),
                Err(Error::BadHyperparameter { .. })
            ),
            "{cfg:?}"
        );
    }
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut layer = Dense::<f32>::new(2, 2, Init::PytorchDefault, &mut rng);
    let before = layer.clone();
    let mut opt = Optimizer::for_layers(OptimizerConfig::adam(1e-3), std::slice::from_ref(&layer))
        .expect("valid");
    let mut grads = DenseGrads::default();
    grads.w.shape_to(2, 2);
    grads.b.shape_to(2, 1);
    grads.w.as_mut_slice()[3] = f32::INFINITY;
    let err = opt.step_layers(
        std::slice::from_mut(&mut layer),
        std::slice::from_ref(&grads),
    );
    assert!(
        matches!(err, Err(Error::NonFinite { index: 3, .. })),
        "{err:?}"
    );
    assert_eq!(layer, before, "a refused step changes nothing");
    let mut other = Dense::<f32>::new(3, 2, Init::PytorchDefault, &mut rng);
    assert!(matches!(
        opt.step_layers(
            std::slice::from_mut(&mut other),
            std::slice::from_ref(&grads)
        ),
        Err(Error::TensorLayout { .. })
    ));
}

/// The f32 path (the f32 gemm kernels) agrees with the f64 path the gradient checks verify.
#[test]
fn f32_matches_f64() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let l64 = Dense::<f64>::new(16, 32, Init::XavierUniform, &mut rng);
    let l32 = Dense::<f32>::from_parts(
        l64.weights().map(|v| v as f32),
        l64.biases().map(|v| v as f32),
    )
    .expect("shapes agree");
    let x64 = DMatrix::from_fn(16, 64, |_, _| rng.gen_range(-1.0..1.0));
    let x32 = x64.map(|v| v as f32);
    let is_pos: Vec<bool> = (0..64).map(|j| j % 3 == 0).collect();
    for input_norm in [InputNorm::None, InputNorm::L2] {
        let cfg = FfLayerConfig {
            objective: FfObjective {
                goodness: Goodness::Mean,
                loss: LossForm::PerSample,
                margin: 0.1,
            },
            input_norm,
        };
        let mut f64_layer = FfLayer::from_dense(l64.clone(), cfg);
        let mut f32_layer = FfLayer::from_dense(l32.clone(), cfg);
        let (a, g64) = f64_layer
            .gradients(MatRef::from(&x64), &is_pos)
            .expect("ok");
        let (b, g32) = f32_layer
            .gradients(MatRef::from(&x32), &is_pos)
            .expect("ok");
        assert_relative_eq!(a.loss, b.loss, max_relative = 1e-5);
        for (x, y) in g64.w.as_slice().iter().zip(g32.w.as_slice()) {
            assert!((x - *y as f64).abs() < 1e-5, "{x} vs {y}");
        }
    }
}

/// A steady-state FF step reuses its buffers: a second call writes its gradients where the
/// first did (no new buffer) and gives the same result.
#[test]
fn a_repeated_step_reuses_its_gradient_buffers() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let layer = Dense::<f32>::new(8, 16, Init::XavierUniform, &mut rng);
    let x = DMatrix::from_fn(8, 32, |_, _| rng.gen_range(-1.0f32..1.0));
    let is_pos: Vec<bool> = (0..32).map(|j| j < 16).collect();
    let cfg = FfLayerConfig {
        input_norm: InputNorm::L2,
        ..FfLayerConfig::default()
    };
    let mut ff = FfLayer::from_dense(layer, cfg);
    let (first, g1, at1) = ff
        .gradients(MatRef::from(&x), &is_pos)
        .map(|(s, g)| (s, g.clone(), g.w.as_slice().as_ptr()))
        .expect("ok");
    let (second, g2) = ff.gradients(MatRef::from(&x), &is_pos).expect("ok");
    assert_eq!(g2.w.as_slice().as_ptr(), at1, "the gradient buffer moved");
    assert_eq!(first, second);
    assert_eq!(&g1, g2);
}
