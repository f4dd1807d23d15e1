//! TD targets on hand-made batches and the TD gradient against finite differences.

use dqn_head::{
    Error, QHead, Quantity, SyncAction, TargetSync, TdLoss, double_q_targets, td_loss, td_targets,
};
use ff_core::{Buf, Dense, DenseGrads, Init, MatRef};
use nalgebra::DMatrix;
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

#[test]
fn targets_on_hand_made_batch() {
    // Columns: an ordinary transition, a terminal one, a truncated one (not terminal: it
    // bootstraps), and a tie between the two actions.
    let q_next = DMatrix::from_column_slice(2, 4, &[1.0f32, 3.0, 5.0, 7.0, 2.0, -1.0, 4.0, 4.0]);
    let rewards = [1.0, 1.0, 1.0, 0.5];
    let terminated = [false, true, false, false];
    let mut y = [0.0f32; 4];
    td_targets(MatRef::from(&q_next), &rewards, &terminated, 0.9, &mut y).expect("valid");
    assert_eq!(y, [1.0 + 0.9 * 3.0, 1.0, 1.0 + 0.9 * 2.0, 0.5 + 0.9 * 4.0]);
}

/// `f32::max` returns the other operand when one is NaN, so `fold(max)` silently dropped a
/// diverged target network's NaN Q-value and produced a finite target.
#[test]
fn nan_in_target_network_is_not_dropped_by_max() {
    let q_next = DMatrix::from_column_slice(2, 1, &[f32::NAN, 1.0f32]);
    let mut y = [0.0f32; 1];
    let err = td_targets(MatRef::from(&q_next), &[1.0], &[false], 0.99, &mut y);
    assert!(
        matches!(err, Err(Error::NonFinite { sample: 0, .. })),
        "{err:?}"
    );
}

#[test]
fn targets_reject_bad_input() {
    let q_next = DMatrix::from_column_slice(2, 2, &[1.0f32, f32::NAN, 0.0, 0.0]);
    let mut y = [0.0f32; 2];
    let err = td_targets(
        MatRef::from(&q_next),
        &[1.0, 1.0],
        &[false, false],
        0.99,
        &mut y,
    );
    assert!(
        matches!(err, Err(Error::NonFinite { sample: 0, .. })),
        "{err:?}"
    );
    let err = td_targets(MatRef::from(&q_next), &[1.0], &[false, false], 0.99, &mut y);
    assert!(matches!(
        err,
        Err(Error::LengthMismatch {
            what: "rewards",
            ..
        })
    ));
    let q = DMatrix::from_element(2, 2, 0.0f32);
    let err = td_loss(
        MatRef::from(&q),
        &[0, 2],
        &[0.0, 0.0],
        TdLoss::Mse,
        &mut Buf::default(),
    );
    assert!(matches!(
        err,
        Err(Error::ActionOutOfRange {
            sample: 1,
            action: 2,
            n_actions: 2
        })
    ));
}

#[test]
fn mse_and_huber_known_values() {
    let q = DMatrix::from_column_slice(2, 2, &[1.0f32, 2.0, 0.0, -3.0]);
    let mut dq = Buf::default();
    let l = td_loss(MatRef::from(&q), &[1, 0], &[0.0, 0.5], TdLoss::Mse, &mut dq).expect("ok");
    assert!((l - (4.0 + 0.25) / 2.0).abs() < 1e-7);
    assert_eq!(dq.as_slice(), &[0.0, 2.0, -0.5, 0.0]);
    let l = td_loss(
        MatRef::from(&q),
        &[1, 0],
        &[0.0, 0.5],
        TdLoss::Huber { beta: 1.0 },
        &mut dq,
    )
    .expect("ok");
    assert!((l - (1.5 + 0.125) / 2.0).abs() < 1e-7);
    assert_eq!(dq.as_slice(), &[0.0, 0.5, -0.25, 0.0]);
}

proptest! {
    /// ∂L/∂W and ∂L/∂b of the head (through the TD loss) against central differences.
    /// f32 forward passes limit the precision: step 1e-2 on a loss that is exactly quadratic
    /// in the parameters (MSE of an affine map), so the central difference has no truncation
    /// error and the tolerance covers f32 rounding only.
    #[test]
    fn head_td_gradient(seed in any::<u64>(), batch in 1usize..16) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let head = QHead::new(5, 3, Init::PytorchDefault, &mut rng);
        let features = DMatrix::from_fn(5, batch, |i, j| ((i * 7 + j * 3) % 11) as f32 / 11.0 - 0.4);
        let actions: Vec<u32> = (0..batch).map(|j| (j % 3) as u32).collect();
        let targets: Vec<f32> = (0..batch).map(|j| j as f32 * 0.1 - 0.3).collect();
        let (mut q, mut dq, mut grads) = (Buf::default(), Buf::default(), DenseGrads::default());
        head.td_gradients(MatRef::from(&features), &actions, &targets, TdLoss::Mse, &mut q, &mut dq, &mut grads, None).expect("ok");
        let loss_of = |layer: &Dense<f32>| {
            let mut q = Buf::default();
            layer.forward(MatRef::from(&features), &mut q).expect("ok");
            let (mut dq, q) = (Buf::default(), q);
            td_loss(q.mat(), &actions, &targets, TdLoss::Mse, &mut dq).expect("ok")
        };
        let h = 1e-2f32;
        let n_w = head.layer.weights().len();
        for k in 0..head.layer.param_count() {
            let mut probe = head.layer.clone();
            let orig = slot(&mut probe, k, n_w).to_owned();
            *slot(&mut probe, k, n_w) = orig + h;
            let lp = loss_of(&probe);
            *slot(&mut probe, k, n_w) = orig - h;
            let lm = loss_of(&probe);
            let numeric = (lp - lm) / (2.0 * f64::from(h));
            let analytic = f64::from(if k < n_w { grads.w.as_slice()[k] } else { grads.b.as_slice()[k - n_w] });
            prop_assert!((numeric - analytic).abs() <= 1e-3 * analytic.abs().max(1.0), "param {}: {} vs {}", k, analytic, numeric);
        }
    }
}

#[test]
fn target_sync_rules() {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let online = vec![Dense::<f32>::new(3, 4, Init::PytorchDefault, &mut rng)];
    let mut target = vec![Dense::<f32>::new(3, 4, Init::PytorchDefault, &mut rng)];
    let hard = TargetSync::Hard { every: 1000 };
    assert_eq!(hard.action(999, true), None);
    assert_eq!(hard.action(1000, false), Some(SyncAction::Copy));
    assert_eq!(hard.action(2000, true), Some(SyncAction::Copy));
    let polyak = TargetSync::Polyak { tau: 0.25 };
    assert_eq!(
        polyak.action(1000, false),
        None,
        "Polyak moves only after an update"
    );
    let before = target.clone();
    polyak
        .action(1, true)
        .expect("an update was made")
        .apply(&online, &mut target)
        .expect("same shapes");
    let expected = 0.25 * online[0].weights()[(1, 2)] + 0.75 * before[0].weights()[(1, 2)];
    assert!((target[0].weights()[(1, 2)] - expected).abs() < 1e-7);
    SyncAction::Copy
        .apply(&online, &mut target)
        .expect("same shapes");
    assert_eq!(target, online);
    let mut short: Vec<Dense<f32>> = Vec::new();
    assert!(matches!(
        SyncAction::Copy.apply(&online, &mut short),
        Err(Error::LengthMismatch { .. })
    ));
}

fn slot(p: &mut Dense<f32>, k: usize, n_w: usize) -> &mut f32 {
    let [w, b] = p.params_mut();
    if k < n_w { &mut w[k] } else { &mut b[k - n_w] }
}

/// Finite Q-values and targets whose difference overflows the square are divergence too.
#[test]
fn overflowing_td_loss_is_an_error() {
    let q = DMatrix::from_column_slice(2, 1, &[3e20f32, 0.0]);
    let err = td_loss(
        MatRef::from(&q),
        &[0],
        &[-3e20],
        TdLoss::Mse,
        &mut Buf::default(),
    );
    assert!(
        matches!(
            err,
            Err(Error::NonFinite {
                what: Quantity::TdLoss,
                sample: 0,
                ..
            })
        ),
        "{err:?}"
    );
}

proptest! {
    /// Double Q-learning's targets: with the online network equal to the target network they
    /// are the ordinary max targets; in general the online argmax picks which target value
    /// bootstraps, and terminal samples do not bootstrap.
    #[test]
    fn double_q_targets_bootstrap_the_online_choice(
        q in proptest::collection::vec(-10.0f32..10.0, 12),
        online in proptest::collection::vec(-10.0f32..10.0, 12),
        rewards in proptest::collection::vec(-1.0f32..1.0, 4),
        terminated in proptest::collection::vec(any::<bool>(), 4),
    ) {
        let (na, b, gamma) = (3, 4, 0.9f32);
        let qm = MatRef::new(&q, na, b).expect("shape");
        let mut same = [0.0f32; 4];
        let mut max = [0.0f32; 4];
        double_q_targets(qm, qm, &rewards, &terminated, gamma, &mut same).expect("finite");
        td_targets(qm, &rewards, &terminated, gamma, &mut max).expect("finite");
        prop_assert_eq!(same, max);
        let mut dbl = [0.0f32; 4];
        let om = MatRef::new(&online, na, b).expect("shape");
        double_q_targets(qm, om, &rewards, &terminated, gamma, &mut dbl).expect("finite");
        for j in 0..b {
            let pick = om.column(j);
            let a = (0..na).fold(0, |best, k| if pick[k] > pick[best] { k } else { best });
            let want = rewards[j] + if terminated[j] { 0.0 } else { gamma * qm.column(j)[a] };
            prop_assert_eq!(dbl[j], want);
        }
    }
}

#[test]
fn double_q_targets_refuse_a_non_finite_pick_and_mismatched_shapes() {
    let q = [1.0f32, 2.0];
    let bad = [f32::NAN, 0.0];
    let mut out = [0.0f32];
    let qm = MatRef::new(&q, 2, 1).expect("shape");
    let err = double_q_targets(
        qm,
        MatRef::new(&bad, 2, 1).expect("shape"),
        &[0.0],
        &[false],
        0.9,
        &mut out,
    )
    .expect_err("NaN");
    assert!(
        matches!(
            err,
            Error::NonFinite {
                what: Quantity::TargetQValue,
                ..
            }
        ),
        "{err}"
    );
    let wide = [0.0f32; 4];
    let err = double_q_targets(
        qm,
        MatRef::new(&wide, 2, 2).expect("shape"),
        &[0.0],
        &[false],
        0.9,
        &mut out,
    )
    .expect_err("shape");
    assert!(matches!(err, Error::LengthMismatch { .. }), "{err}");
}
