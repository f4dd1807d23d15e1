//! Integration tests of env-cartpole: the Gymnasium golden trajectories, the vectorised form
//! against single environments, and every misuse that must give a typed error.

use env_cartpole::{CartPole, CartPoleVec, Error, State, VecStep, consts};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    gymnasium_version: String,
    trajectories: Vec<Trajectory>,
}

#[derive(Deserialize)]
struct Trajectory {
    name: String,
    initial_state_bits: [u64; 4],
    max_episode_steps: u32,
    actions: Vec<usize>,
    obs_bits: Vec<[u32; 4]>,
    state_bits: Vec<[u64; 4]>,
    reward: Vec<f32>,
    terminated: Vec<bool>,
    truncated: Vec<bool>,
}

fn state_from_bits(b: [u64; 4]) -> State {
    State {
        x: f64::from_bits(b[0]),
        x_dot: f64::from_bits(b[1]),
        theta: f64::from_bits(b[2]),
        theta_dot: f64::from_bits(b[3]),
    }
}

fn load_fixture() -> Fixture {
    let text = include_str!("../fixtures/gymnasium_trajectories.json");
    serde_json::from_str(text).expect("fixture parses")
}

#[test]
fn matches_gymnasium_bit_for_bit() {
    let fixture = load_fixture();
    assert!(fixture.trajectories.len() >= 20);
    assert!(fixture.trajectories.iter().any(|t| t.actions.len() == 500));
    let mut steps_checked = 0;
    for t in &fixture.trajectories {
        let mut env = CartPole::new(t.max_episode_steps).expect("positive limit");
        let obs0 = env
            .reset_to(state_from_bits(t.initial_state_bits))
            .expect("finite state");
        assert_eq!(obs0, state_from_bits(t.initial_state_bits).obs());
        for (k, &action) in t.actions.iter().enumerate() {
            let step = env.step(action).unwrap_or_else(|e| {
                panic!(
                    "{} step {k}: {e} (gymnasium {})",
                    t.name, fixture.gymnasium_version
                )
            });
            let got_bits = step.obs.map(f32::to_bits);
            assert_eq!(got_bits, t.obs_bits[k], "{} obs at step {k}", t.name);
            let state = env.state().expect("running");
            let state_bits = [state.x, state.x_dot, state.theta, state.theta_dot].map(f64::to_bits);
            assert_eq!(
                state_bits, t.state_bits[k],
                "{} f64 state at step {k}",
                t.name
            );
            assert_eq!(step.reward, t.reward[k], "{} reward at step {k}", t.name);
            assert_eq!(
                step.terminated, t.terminated[k],
                "{} terminated at step {k}",
                t.name
            );
            assert_eq!(
                step.truncated, t.truncated[k],
                "{} truncated at step {k}",
                t.name
            );
            steps_checked += 1;
        }
        // Gymnasium ended the episode here, so must we.
        assert!(
            matches!(env.step(0), Err(Error::EpisodeEnded { .. })),
            "{}",
            t.name
        );
    }
    assert!(
        steps_checked > 5_000,
        "only {steps_checked} steps in the fixture"
    );
}

#[test]
fn step_before_reset_is_an_error() {
    let mut env = CartPole::new(200).expect("positive limit");
    assert_eq!(env.step(0), Err(Error::NotReset));
    assert_eq!(env.state(), None);
}

#[test]
fn invalid_action_is_an_error_and_leaves_state_alone() {
    let mut env = CartPole::new(200).expect("positive limit");
    env.reset(&mut ChaCha8Rng::seed_from_u64(0));
    let before = env.state();
    assert_eq!(env.step(2), Err(Error::InvalidAction { action: 2 }));
    assert_eq!(env.state(), before);
    assert_eq!(env.episode_steps(), 0);
}

#[test]
fn stepping_an_ended_episode_is_an_error_until_reset() {
    let mut env = CartPole::new(3).expect("positive limit");
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    env.reset(&mut rng);
    for _ in 0..2 {
        assert!(!env.step(1).expect("running").truncated);
    }
    let last = env.step(1).expect("running");
    assert!(last.truncated);
    assert_eq!(env.step(1), Err(Error::EpisodeEnded { steps: 3 }));
    env.reset(&mut rng);
    assert!(env.step(1).is_ok());
}

#[test]
fn non_finite_initial_state_is_rejected() {
    let mut env = CartPole::new(200).expect("positive limit");
    for (field, value) in [("x", f64::NAN), ("theta_dot", f64::INFINITY)] {
        let mut s = State {
            x: 0.0,
            x_dot: 0.0,
            theta: 0.0,
            theta_dot: 0.0,
        };
        match field {
            "x" => s.x = value,
            _ => s.theta_dot = value,
        }
        let err = env.reset_to(s).expect_err("non-finite");
        assert!(matches!(err, Error::NonFiniteState { field: f, .. } if f == field));
    }
    assert!(matches!(CartPole::new(0), Err(Error::ZeroStepLimit)));
}

#[test]
fn reset_draws_within_gymnasium_bounds_and_is_seeded() {
    let mut a = CartPole::new(200).expect("positive limit");
    let mut b = CartPole::new(200).expect("positive limit");
    let (mut ra, mut rb) = (ChaCha8Rng::seed_from_u64(9), ChaCha8Rng::seed_from_u64(9));
    for _ in 0..1000 {
        let (oa, ob) = (a.reset(&mut ra), b.reset(&mut rb));
        assert_eq!(oa, ob);
        assert!(oa.iter().all(|v| (-0.05..0.05).contains(v)), "{oa:?}");
    }
}

#[test]
fn vectorised_equals_single_environments() {
    let n = 16;
    let seeds: Vec<u64> = (100..100 + n as u64).collect();
    let mut envs = CartPoleVec::new(
        seeds
            .iter()
            .map(|&s| ChaCha8Rng::seed_from_u64(s))
            .collect(),
        200,
    )
    .expect("positive limit");
    let mut singles: Vec<(CartPole, ChaCha8Rng)> = seeds
        .iter()
        .map(|&s| {
            let mut rng = ChaCha8Rng::seed_from_u64(s);
            let mut env = CartPole::new(200).expect("positive limit");
            env.reset(&mut rng);
            (env, rng)
        })
        .collect();
    let mut policy = ChaCha8Rng::seed_from_u64(7);
    let mut out = VecStep::default();
    let mut episodes_ended = 0;
    for _ in 0..2_000 {
        let actions: Vec<usize> = (0..n).map(|_| policy.gen_range(0..2)).collect();
        envs.step(&actions, &mut out).expect("valid actions");
        for (i, (env, rng)) in singles.iter_mut().enumerate() {
            let s = env.step(actions[i]).expect("running");
            let row = i * 4..(i + 1) * 4;
            assert_eq!(out.final_obs[row.clone()], s.obs);
            assert_eq!(out.terminated[i], s.terminated);
            assert_eq!(out.truncated[i], s.truncated);
            assert_eq!(out.rewards[i], s.reward);
            let now = if s.terminated || s.truncated {
                episodes_ended += 1;
                env.reset(rng)
            } else {
                s.obs
            };
            assert_eq!(out.obs[row], now);
            assert_eq!(envs.obs(i), now);
        }
    }
    assert!(episodes_ended > 100);
}

#[test]
fn vectorised_rejects_bad_actions() {
    let mut envs = CartPoleVec::new(vec![ChaCha8Rng::seed_from_u64(0); 3], 200).expect("limit");
    let mut out = VecStep::default();
    assert!(matches!(
        envs.step(&[0, 1], &mut out),
        Err(Error::LengthMismatch {
            expected: 3,
            got: 2,
            ..
        })
    ));
    assert_eq!(
        envs.step(&[0, 5, 1], &mut out),
        Err(Error::InvalidAction { action: 5 })
    );
}

proptest! {
    /// Termination is exactly Gymnasium's strict threshold test, whatever the state.
    #[test]
    fn termination_matches_thresholds(x in -3.0..3.0f64, theta in -0.3..0.3f64) {
        let s = State { x, x_dot: 0.0, theta, theta_dot: 0.0 };
        let expected = x.abs() > consts::X_THRESHOLD || theta.abs() > consts::THETA_THRESHOLD;
        prop_assert_eq!(s.is_terminal(), expected);
    }

    /// Pushing right never accelerates the cart less than pushing left.
    #[test]
    fn force_sign(x in -2.0..2.0f64, v in -2.0..2.0f64, th in -0.2..0.2f64, w in -2.0..2.0f64) {
        let s = State { x, x_dot: v, theta: th, theta_dot: w };
        let r = env_cartpole::dynamics(&s, true);
        let l = env_cartpole::dynamics(&s, false);
        prop_assert!(r.x_dot > l.x_dot);
        prop_assert_eq!(r.x, l.x);
    }
}
