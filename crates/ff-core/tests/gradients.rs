//! Finite-difference checks of every gradient ff-core returns, in f64 with central differences.
//!
//! Tolerance: |analytic − numeric| ≤ 1e-6 · max(1, |analytic|, |numeric|), with step h = 1e-6.
//! In f64 the truncation error of a central difference is O(h²) ≈ 1e-12 and the rounding error
//! O(ε/h) ≈ 1e-10, so a correct gradient passes with orders of magnitude to spare; each check
//! prints the largest relative error it saw (`cargo test -p ff-core -- --nocapture`).
//! Samples whose pre-activations lie within 1e-4 of the ReLU kink are rejected, since a central
//! difference across the kink measures neither side's derivative.

use ff_core::ff::{FfObjective, Goodness, LossForm, ff_loss};
use ff_core::norm::{l2_normalize_backward, l2_normalize_columns};
use ff_core::{Buf, Dense, DenseGrads, FfLayer, FfLayerConfig, Init, InputNorm, MatRef};
use nalgebra::DMatrix;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::cell::Cell;

const H: f64 = 1e-6;
const TOL: f64 = 1e-6;

fn rel_err(analytic: f64, numeric: f64) -> f64 {
    (analytic - numeric).abs() / 1f64.max(analytic.abs()).max(numeric.abs())
}

/// Runs `check` on 300 generated cases and reports the largest error it returned.
fn run<S: Strategy>(
    name: &str,
    strategy: S,
    check: impl Fn(S::Value) -> Result<f64, TestCaseError>,
) {
    let mut runner = TestRunner::new(Config {
        cases: 300,
        max_global_rejects: 10_000,

        ..Config::default()
    });
    let worst = Cell::new(0.0f64);
    let result = runner.run(&strategy, |value| {
        let err = check(value)?;
        worst.set(worst.get().max(err));
        prop_assert!(err <= TOL, "relative error {err:e} above {TOL:e}");
        Ok(())
    });
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
    eprintln!(
        "{name}: largest relative finite-difference error {:.3e}",
        worst.get()
    );
}

fn split_strategy(batch: usize) -> impl Strategy<Value = Vec<bool>> {
    proptest::collection::vec(any::<bool>(), batch)
}

fn loss_form() -> impl Strategy<Value = LossForm> {
    prop_oneof![Just(LossForm::BatchMean), Just(LossForm::PerSample)]
}

#[test]
fn loss_gradient_wrt_goodness() {
    let strategy = (1usize..40).prop_flat_map(|b| {
        (
            proptest::collection::vec(0.0..8.0f64, b),
            split_strategy(b),
            loss_form(),
            0.5..4.0f64,
        )
    });
    run("dL/dg", strategy, |(g, is_pos, form, m)| {
        let mut dg = vec![0.0; g.len()];
        ff_loss(form, m, &g, &is_pos, &mut dg).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut scratch = vec![0.0; g.len()];
        let mut worst = 0.0f64;
        for j in 0..g.len() {
            let mut gp = g.clone();
            gp[j] += H;
            let lp = ff_loss(form, m, &gp, &is_pos, &mut scratch)
                .expect("finite")
                .loss;
            gp[j] -= 2.0 * H;
            let lm = ff_loss(form, m, &gp, &is_pos, &mut scratch)
                .expect("finite")
                .loss;
            worst = worst.max(rel_err(dg[j], (lp - lm) / (2.0 * H)));
        }
        Ok(worst)
    });
}

/// A random layer, input and split, for the FF and dense checks.
#[derive(Debug, Clone)]
struct Case {
    layer: Dense<f64>,
    x: DMatrix<f64>,
    is_pos: Vec<bool>,
}

fn case_strategy() -> impl Strategy<Value = Case> {
    (
        1usize..10,
        1usize..10,
        2usize..14,
        any::<u64>(),
        prop_oneof![Just(Init::PytorchDefault), Just(Init::XavierUniform)],
    )
        .prop_flat_map(|(n_in, n_out, batch, seed, init)| {
            (
                proptest::collection::vec(-2.0..2.0f64, n_in * batch),
                split_strategy(batch),
            )
                .prop_map(move |(xs, is_pos)| {
                    let mut rng = ChaCha8Rng::seed_from_u64(seed);
                    let mut layer = Dense::<f64>::new(n_in, n_out, init, &mut rng);
                    // Give the biases some spread so more units are active.
                    let [_, biases] = layer.params_mut();
                    for (i, b) in biases.iter_mut().enumerate() {
                        *b += 0.3 * ((i % 3) as f64 - 0.5);
                    }
                    Case {
                        layer,
                        x: DMatrix::from_vec(n_in, batch, xs),
                        is_pos,
                    }
                })
        })
}

/// The smallest |z| over the batch, where z is the pre-activation the layer computes.
fn min_abs_preactivation(layer: &Dense<f64>, x: &DMatrix<f64>, norm: InputNorm) -> f64 {
    let input = match norm {
        InputNorm::None => x.clone(),
        InputNorm::L2 => {
            let mut out = Buf::default();
            l2_normalize_columns(MatRef::from(x), &mut out);
            DMatrix::from_column_slice(x.nrows(), x.ncols(), out.as_slice())
        }
    };
    let z = layer.weights() * input
        + layer.biases().clone() * nalgebra::RowDVector::from_element(x.ncols(), 1.0);
    z.iter().fold(f64::INFINITY, |m, v| m.min(v.abs()))
}

fn ff_gradient_check(goodness: Goodness, loss: LossForm, input_norm: InputNorm) {
    let config = FfLayerConfig {
        objective: FfObjective {
            goodness,
            loss,
            margin: 2.0,
        },
        input_norm,
    };
    let name = format!("FF dW, db ({goodness:?} goodness, {loss:?} loss, {input_norm:?} norm)");
    run(&name, case_strategy(), |case| {
        prop_assume!(min_abs_preactivation(&case.layer, &case.x, input_norm) > 1e-4);
        let x = MatRef::from(&case.x);
        let grads = FfLayer::from_dense(case.layer.clone(), config)
            .gradients(x, &case.is_pos)
            .map(|(_, g)| g.clone())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut probe = case.layer.clone();
        let loss_at = |layer: &Dense<f64>| {
            FfLayer::from_dense(layer.clone(), config)
                .gradients(x, &case.is_pos)
                .expect("ok")
                .0
                .loss
        };
        Ok(worst_param_error(&mut probe, &grads, loss_at))
    });
}

fn param_at(p: &mut Dense<f64>, k: usize, n_w: usize) -> f64 {
    let [w, b] = p.params();
    if k < n_w { w[k] } else { b[k - n_w] }
}

/// The largest relative error between `grads` and central differences of `loss` over every
/// weight and bias of `probe` (restored afterwards).
fn worst_param_error(
    probe: &mut Dense<f64>,
    grads: &DenseGrads<f64>,
    mut loss: impl FnMut(&Dense<f64>) -> f64,
) -> f64 {
    let n_w = probe.weights().len();
    let mut worst = 0.0f64;
    for k in 0..probe.param_count() {
        let analytic = if k < n_w {
            grads.w.as_slice()[k]
        } else {
            grads.b.as_slice()[k - n_w]
        };
        let orig = param_at(probe, k, n_w);
        set(probe, k, n_w, orig + H);
        let lp = loss(probe);
        set(probe, k, n_w, orig - H);
        let lm = loss(probe);
        set(probe, k, n_w, orig);
        worst = worst.max(rel_err(analytic, (lp - lm) / (2.0 * H)));
    }
    worst
}

fn set(p: &mut Dense<f64>, k: usize, n_w: usize, v: f64) {
    let [w, b] = p.params_mut();
    if k < n_w {
        w[k] = v;
    } else {
        b[k - n_w] = v;
    }
}

#[test]
fn ff_gradients_sum_batch_mean() {
    ff_gradient_check(Goodness::Sum, LossForm::BatchMean, InputNorm::None);
}

#[test]
fn ff_gradients_sum_per_sample() {
    ff_gradient_check(Goodness::Sum, LossForm::PerSample, InputNorm::None);
}

#[test]
fn ff_gradients_mean_batch_mean() {
    ff_gradient_check(Goodness::Mean, LossForm::BatchMean, InputNorm::None);
}

#[test]
fn ff_gradients_mean_per_sample() {
    ff_gradient_check(Goodness::Mean, LossForm::PerSample, InputNorm::None);
}

#[test]
fn ff_gradients_sum_batch_mean_l2() {
    ff_gradient_check(Goodness::Sum, LossForm::BatchMean, InputNorm::L2);
}

#[test]
fn ff_gradients_mean_per_sample_l2() {
    ff_gradient_check(Goodness::Mean, LossForm::PerSample, InputNorm::L2);
}

#[test]
fn ff_gradients_sum_per_sample_l2() {
    ff_gradient_check(Goodness::Sum, LossForm::PerSample, InputNorm::L2);
}

#[test]
fn ff_gradients_mean_batch_mean_l2() {
    ff_gradient_check(Goodness::Mean, LossForm::BatchMean, InputNorm::L2);
}

/// The dense backward pass against a linear functional `L = Σ R ⊙ (W x + b)`, so `dz = R`.
#[test]
fn dense_backward() {
    let strategy = case_strategy().prop_flat_map(|case| {
        let n = case.layer.out_dim() * case.x.ncols();
        (Just(case), proptest::collection::vec(-1.0..1.0f64, n))
    });
    run("dense dW, db, dx", strategy, |(case, r)| {
        let (n_out, batch) = (case.layer.out_dim(), case.x.ncols());
        let upstream = DMatrix::from_vec(n_out, batch, r);
        let loss = |layer: &Dense<f64>, x: &DMatrix<f64>| {
            let mut out = Buf::default();
            layer.forward(MatRef::from(x), &mut out).expect("ok");
            out.as_slice()
                .iter()
                .zip(upstream.iter())
                .map(|(a, b)| a * b)
                .sum::<f64>()
        };
        let mut grads = DenseGrads::default();
        let mut dx = Buf::default();
        case.layer
            .backward(
                MatRef::from(&case.x),
                MatRef::from(&upstream),
                &mut grads,
                Some(&mut dx),
            )
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut probe = case.layer.clone();
        let mut worst = worst_param_error(&mut probe, &grads, |p| loss(p, &case.x));
        let mut x = case.x.clone();
        for k in 0..x.len() {
            let orig = x.as_slice()[k];
            x.as_mut_slice()[k] = orig + H;
            let lp = loss(&case.layer, &x);
            x.as_mut_slice()[k] = orig - H;
            let lm = loss(&case.layer, &x);
            x.as_mut_slice()[k] = orig;
            worst = worst.max(rel_err(dx.as_slice()[k], (lp - lm) / (2.0 * H)));
        }
        Ok(worst)
    });
}

/// The backward pass of the L2 input normalisation (used when backprop trains a network whose
/// layers normalise their inputs), against `L = Σ R ⊙ x̂(x)`.
#[test]
fn l2_normalize_backward_matches_finite_differences() {
    let strategy = (1usize..10, 1usize..8).prop_flat_map(|(rows, cols)| {
        (
            proptest::collection::vec(-2.0..2.0f64, rows * cols),
            proptest::collection::vec(-1.0..1.0f64, rows * cols),
            Just((rows, cols)),
        )
    });
    run("L2 normalisation dx", strategy, |(xs, rs, (rows, cols))| {
        let x = DMatrix::from_vec(rows, cols, xs);
        // Near x = 0 the map x / ‖x‖ bends on the scale of ‖x‖ itself: a central difference of
        // step 1e-6 on a column of norm 1e-3 measures the curvature, not the derivative (the
        // same reason samples at the ReLU kink are rejected).
        if x.column_iter().any(|c| c.norm() < 0.1) {
            return Err(TestCaseError::reject("a column too close to 0"));
        }
        let upstream = DMatrix::from_vec(rows, cols, rs);
        let loss = |x: &DMatrix<f64>| {
            let mut out = Buf::default();
            l2_normalize_columns(MatRef::from(x), &mut out);
            out.as_slice()
                .iter()
                .zip(upstream.iter())
                .map(|(a, b)| a * b)
                .sum::<f64>()
        };
        let mut dx = Buf::default();
        l2_normalize_backward(MatRef::from(&x), MatRef::from(&upstream), &mut dx)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut probe = x.clone();
        let mut worst = 0.0f64;
        for k in 0..x.len() {
            let orig = probe.as_slice()[k];
            probe.as_mut_slice()[k] = orig + H;
            let lp = loss(&probe);
            probe.as_mut_slice()[k] = orig - H;
            let lm = loss(&probe);
            probe.as_mut_slice()[k] = orig;
            worst = worst.max(rel_err(dx.as_slice()[k], (lp - lm) / (2.0 * H)));
        }
        Ok(worst)
    });
}

/// A random matrix strategy: `rows × cols` in [-2, 2).
fn matrix(rows: usize, cols: usize) -> impl Strategy<Value = DMatrix<f64>> {
    proptest::collection::vec(-2.0..2.0f64, rows * cols)
        .prop_map(move |v| DMatrix::from_vec(rows, cols, v))
}

/// LayerNorm's backward pass (dx, dγ, dβ) against `L = Σ R ⊙ LN(x)`, with a random γ, β.
#[test]
fn layer_norm_backward_matches_finite_differences() {
    use ff_core::norm::{LayerNorm, LnCache, LnGrads};
    let strategy = (2usize..9, 1usize..7).prop_flat_map(|(n, b)| {
        (
            matrix(n, b),
            matrix(n, b),
            proptest::collection::vec(0.5..2.0f64, n),
            proptest::collection::vec(-1.0..1.0f64, n),
        )
    });
    run("LayerNorm dx, dγ, dβ", strategy, |(x, r, gamma, beta)| {
        // Columns with almost no spread have an ill-conditioned σ: keep them out.
        for c in x.column_iter() {
            let m = c.mean();
            prop_assume!(c.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / c.len() as f64 > 0.05);
        }
        let ln = LayerNorm::from_parts(gamma.clone(), beta.clone()).expect("same length");
        let loss = |ln: &LayerNorm<f64>, x: &DMatrix<f64>| {
            let mut y = Buf::default();
            ln.forward(MatRef::from(x), &mut y, &mut LnCache::default())
                .expect("ok");
            y.as_slice()
                .iter()
                .zip(r.iter())
                .map(|(a, b)| a * b)
                .sum::<f64>()
        };
        let (mut y, mut cache, mut grads, mut dx) = (
            Buf::default(),
            LnCache::default(),
            LnGrads::default(),
            Buf::default(),
        );
        ln.forward(MatRef::from(&x), &mut y, &mut cache)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        ln.backward(MatRef::from(&r), &cache, &mut grads, &mut dx)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut worst = 0.0f64;
        let mut xp = x.clone();
        for k in 0..x.len() {
            let orig = xp.as_slice()[k];
            xp.as_mut_slice()[k] = orig + H;
            let lp = loss(&ln, &xp);
            xp.as_mut_slice()[k] = orig - H;
            let lm = loss(&ln, &xp);
            xp.as_mut_slice()[k] = orig;
            worst = worst.max(rel_err(dx.as_slice()[k], (lp - lm) / (2.0 * H)));
        }
        for (t, analytic) in [(0usize, &grads.gamma), (1, &grads.beta)] {
            for i in 0..gamma.len() {
                let probe = |d: f64| {
                    let (mut g, mut b) = (gamma.clone(), beta.clone());
                    if t == 0 {
                        g[i] += d
                    } else {
                        b[i] += d
                    }
                    loss(&LayerNorm::from_parts(g, b).expect("same length"), &x)
                };
                worst = worst.max(rel_err(analytic[i], (probe(H) - probe(-H)) / (2.0 * H)));
            }
        }
        Ok(worst)
    });
}

/// A cell's backward pass (dW, db, dγ, dβ and dx) for each normalisation position, against
/// `L = Σ R ⊙ h(x)`.
fn cell_gradient_check(norm: ff_core::cell::CellNorm) {
    use ff_core::cell::{Cell, CellCache, CellGrads};
    use ff_core::optim::{Tensors, TensorsMut};
    let strategy =
        (1usize..7, 2usize..8, 1usize..6, any::<u64>()).prop_flat_map(|(n_in, n_out, b, seed)| {
            (
                matrix(n_in, b),
                matrix(n_out, b),
                Just(seed),
                Just((n_in, n_out)),
            )
        });
    run(
        &format!("cell {norm:?}: dW, db, dγ, dβ, dx"),
        strategy,
        |(x, r, seed, (n_in, n_out))| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut cell = Cell::<f64>::new(n_in, n_out, Init::PytorchDefault, norm, &mut rng);
            // A random gain and bias, so the LayerNorm's parameters matter.
            for t in 2..cell.n_tensors() {
                for v in cell.tensor_mut(t) {
                    *v += 0.3 * (rng.gen_range(-1.0..1.0f64));
                }
            }
            let h_of = |cell: &Cell<f64>, x: &DMatrix<f64>| {
                let mut h = Buf::default();
                cell.forward_train(MatRef::from(x), &mut h, &mut CellCache::default())
                    .expect("ok");
                h
            };
            let loss = |cell: &Cell<f64>, x: &DMatrix<f64>| {
                h_of(cell, x)
                    .as_slice()
                    .iter()
                    .zip(r.iter())
                    .map(|(a, b)| a * b)
                    .sum::<f64>()
            };
            // Stay away from the kinks: every ReLU input, and every LayerNorm column's spread.
            let z = cell.dense().weights() * &x
                + cell.dense().biases().clone()
                    * nalgebra::RowDVector::from_element(x.ncols(), 1.0);
            match norm {
                ff_core::cell::CellNorm::None => {
                    prop_assume!(z.iter().all(|v| v.abs() > 1e-3));
                }
                _ => {
                    let (gamma, beta) = (cell.tensor(2), cell.tensor(3));
                    for c in z.column_iter() {
                        let m = c.mean();
                        let var = c.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / c.len() as f64;
                        prop_assume!(var > 0.05);
                        prop_assume!(c.iter().all(|v| (v - m).abs() > 1e-3 && v.abs() > 1e-3));
                        // Before the ReLU its kink is at γ ẑ + β = 0, wherever β moves it.
                        if norm == ff_core::cell::CellNorm::BeforeRelu {
                            let inv_std = 1.0 / (var + ff_core::norm::LN_EPS).sqrt();
                            prop_assume!(c.iter().enumerate().all(|(i, v)| {
                                (gamma[i] * (v - m) * inv_std + beta[i]).abs() > 1e-3
                            }));
                        }
                    }
                    let h = h_of(&cell, &x);
                    prop_assume!(h.as_slice().iter().all(|v| *v == 0.0 || v.abs() > 1e-3));
                }
            }
            let (mut h, mut cache, mut grads, mut dx) = (
                Buf::default(),
                CellCache::default(),
                CellGrads::for_cell(&cell),
                Buf::default(),
            );
            cell.forward_train(MatRef::from(&x), &mut h, &mut cache)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            cell.backward(
                MatRef::from(&x),
                h.mat(),
                MatRef::from(&r),
                &cache,
                &mut grads,
                Some(&mut dx),
            )
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let mut worst = 0.0f64;
            for t in 0..cell.n_tensors() {
                assert_eq!(grads.tensor(t).len(), cell.tensor(t).len());
                for i in 0..cell.tensor(t).len() {
                    let probe = |d: f64| {
                        let mut c = cell.clone();
                        c.tensor_mut(t)[i] += d;
                        loss(&c, &x)
                    };
                    worst = worst.max(rel_err(
                        grads.tensor(t)[i],
                        (probe(H) - probe(-H)) / (2.0 * H),
                    ));
                }
            }
            let mut xp = x.clone();
            for k in 0..x.len() {
                let orig = xp.as_slice()[k];
                xp.as_mut_slice()[k] = orig + H;
                let lp = loss(&cell, &xp);
                xp.as_mut_slice()[k] = orig - H;
                let lm = loss(&cell, &xp);
                xp.as_mut_slice()[k] = orig;
                worst = worst.max(rel_err(dx.as_slice()[k], (lp - lm) / (2.0 * H)));
            }
            Ok(worst)
        },
    );
}

#[test]
fn cell_gradients_without_norm() {
    cell_gradient_check(ff_core::cell::CellNorm::None);
}

#[test]
fn cell_gradients_with_layer_norm_before_relu() {
    cell_gradient_check(ff_core::cell::CellNorm::BeforeRelu);
}

#[test]
fn cell_gradients_with_layer_norm_after_relu() {
    cell_gradient_check(ff_core::cell::CellNorm::AfterRelu);
}

/// The goodness readout's dα, dβ and dh, for both goodness forms and both β layouts, against
/// `L = Σ_j R_j Q_j`.
#[test]
fn goodness_q_backward_matches_finite_differences() {
    use ff_core::local::{GoodnessForm, GoodnessQ, GoodnessQGrads};
    let strategy = (1usize..8, 1usize..8, 1usize..4).prop_flat_map(|(n, b, n_actions)| {
        (
            matrix(n, b).prop_map(|m| m.map(f64::abs)),
            proptest::collection::vec(-1.0..1.0f64, b),
            proptest::collection::vec(0..n_actions as u32, b),
            proptest::collection::vec(-1.0..1.0f64, n_actions),
            0.5..12.0f64,
            prop_oneof![Just(GoodnessForm::MeanSquare), Just(GoodnessForm::Rms)],
            any::<bool>(),
        )
    });
    run(
        "goodness-Q dα, dβ, dh",
        strategy,
        |(h, r, actions, beta, alpha, form, per_action)| {
            let beta = if per_action { beta } else { vec![beta[0]] };
            let head = GoodnessQ::from_parts(alpha, beta.clone()).expect("non-empty");
            let loss = |head: &GoodnessQ<f64>, h: &DMatrix<f64>| {
                let mut q = vec![0.0; h.ncols()];
                head.q_values(form, MatRef::from(h), &actions, &mut q)
                    .expect("ok");
                q.iter().zip(&r).map(|(a, b)| a * b).sum::<f64>()
            };
            let (mut grads, mut dh) = (GoodnessQGrads::default(), Buf::default());
            head.backward(form, MatRef::from(&h), &actions, &r, &mut grads, &mut dh)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let mut worst = rel_err(
                grads.alpha[0],
                (loss(
                    &GoodnessQ::from_parts(alpha + H, beta.clone()).expect("ok"),
                    &h,
                ) - loss(
                    &GoodnessQ::from_parts(alpha - H, beta.clone()).expect("ok"),
                    &h,
                )) / (2.0 * H),
            );
            for i in 0..beta.len() {
                let probe = |d: f64| {
                    let mut b = beta.clone();
                    b[i] += d;
                    loss(&GoodnessQ::from_parts(alpha, b).expect("ok"), &h)
                };
                worst = worst.max(rel_err(grads.beta[i], (probe(H) - probe(-H)) / (2.0 * H)));
            }
            // RMS has a kink at G = 0: skip columns that are all zero.
            let mut hp = h.clone();
            for k in 0..h.len() {
                let col = k / h.nrows();
                if form == GoodnessForm::Rms && h.column(col).iter().all(|v| *v < 1e-3) {
                    continue;
                }
                let orig = hp.as_slice()[k];
                hp.as_mut_slice()[k] = orig + H;
                let lp = loss(&head, &hp);
                hp.as_mut_slice()[k] = orig - H;
                let lm = loss(&head, &hp);
                hp.as_mut_slice()[k] = orig;
                worst = worst.max(rel_err(dh.as_slice()[k], (lp - lm) / (2.0 * H)));
            }
            Ok(worst)
        },
    );
}

/// SymBa's ∂L/∂g against finite differences.
#[test]
fn symba_gradient_matches_finite_differences() {
    use ff_core::local::symba_loss;
    let strategy = (2usize..30).prop_flat_map(|b| {
        (
            proptest::collection::vec(0.0..6.0f64, b),
            split_strategy(b),
            0.5..8.0f64,
        )
    });
    run("SymBa dL/dg", strategy, |(g, is_pos, kappa)| {
        let mut dg = vec![0.0; g.len()];
        symba_loss(&g, &is_pos, kappa, &mut dg).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut scratch = vec![0.0; g.len()];
        let mut worst = 0.0f64;
        for j in 0..g.len() {
            let mut gp = g.clone();
            gp[j] += H;
            let lp = symba_loss(&gp, &is_pos, kappa, &mut scratch)
                .expect("ok")
                .loss;
            gp[j] -= 2.0 * H;
            let lm = symba_loss(&gp, &is_pos, kappa, &mut scratch)
                .expect("ok")
                .loss;
            worst = worst.max(rel_err(dg[j], (lp - lm) / (2.0 * H)));
        }
        Ok(worst)
    });
}
