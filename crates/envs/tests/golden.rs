//! Acrobot-v1 and MountainCar-v0 against trajectories recorded with Gymnasium
//! (`fixtures/make_gymnasium_trajectories.py`): every observation, every f64 state, reward and
//! flag, bit for bit. Starts include Gymnasium's own seeded resets and the edges: angles about
//! to wrap, velocities at their bounds, the left wall, the goal boundary, one-step limits.
//!
//! The one measured deviation: right after a reset Gymnasium's Acrobot state is `float32` and
//! numpy computes the observation's cosines and sines in `f32` with its own routines, where this
//! crate computes them in `f64` and rounds. The reset observations are compared to one unit in
//! the last place, and the test reports how many differ; every observation after a step (numpy
//! computes those in `f64`, with the same results as the C library's `sin`/`cos` that Rust
//! calls) must match exactly.

use envs::{Acrobot, AcrobotState, EnvId, Environment, MountainCar, MountainCarState, Transition};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    env: String,
    gymnasium_version: String,
    trajectories: Vec<Trajectory>,
}

#[derive(Deserialize)]
struct Trajectory {
    name: String,
    initial_state_bits: Vec<u64>,
    reset_obs_bits: Vec<u32>,
    max_episode_steps: u32,
    actions: Vec<usize>,
    obs_bits: Vec<Vec<u32>>,
    state_bits: Vec<Vec<u64>>,
    reward: Vec<f32>,
    terminated: Vec<bool>,
    truncated: Vec<bool>,
}

fn load(text: &str) -> Fixture {
    serde_json::from_str(text).expect("fixture parses")
}

fn bits(xs: &[f32]) -> Vec<u32> {
    xs.iter().map(|x| x.to_bits()).collect()
}

/// Distance in units in the last place between two finite f32 of the same sign.
fn ulps(a: u32, b: u32) -> u32 {
    a.abs_diff(b)
}

/// Replays every trajectory of `fixture` on the environment `make` builds from a start state;
/// `state_of` reads the f64 state back. Returns (steps checked, reset observations that differ
/// by one ulp).
fn replay<E: Environment>(
    fixture: &Fixture,
    make: impl Fn(&Trajectory) -> (E, Vec<f32>),
    state_of: impl Fn(&E) -> Vec<f64>,
) -> (usize, usize) {
    let (mut steps, mut reset_ulp) = (0, 0);
    for t in &fixture.trajectories {
        let (mut env, reset_obs) = make(t);
        for (got, want) in bits(&reset_obs).iter().zip(&t.reset_obs_bits) {
            let d = ulps(*got, *want);
            assert!(d <= 1, "{}: reset observation off by {d} ulps", t.name);
            reset_ulp += usize::from(d == 1);
        }
        let mut obs = vec![0.0f32; env.obs_dim()];
        for (k, &action) in t.actions.iter().enumerate() {
            let Transition {
                reward,
                terminated,
                truncated,
            } = env
                .step(action, &mut obs)
                .unwrap_or_else(|e| panic!("{} step {k}: {e}", t.name));
            assert_eq!(bits(&obs), t.obs_bits[k], "{} obs at step {k}", t.name);
            let state: Vec<u64> = state_of(&env).iter().map(|v| v.to_bits()).collect();
            assert_eq!(state, t.state_bits[k], "{} f64 state at step {k}", t.name);
            assert_eq!(reward, t.reward[k], "{} reward at step {k}", t.name);
            assert_eq!(
                terminated, t.terminated[k],
                "{} terminated at step {k}",
                t.name
            );
            assert_eq!(
                truncated, t.truncated[k],
                "{} truncated at step {k}",
                t.name
            );
            steps += 1;
        }
        // The episode is over where Gymnasium's was: one more step is refused.
        assert!(
            env.step(0, &mut obs).is_err(),
            "{}: stepped past the end",
            t.name
        );
    }
    (steps, reset_ulp)
}

#[test]
fn acrobot_matches_gymnasium_bit_for_bit() {
    let fixture = load(include_str!("../fixtures/acrobot.json"));
    assert_eq!(fixture.env, "Acrobot-v1");
    assert!(fixture.trajectories.iter().any(|t| t.actions.len() == 500));
    assert!(
        fixture
            .trajectories
            .iter()
            .any(|t| *t.terminated.last().expect("steps"))
    );
    let (steps, reset_ulp) = replay(
        &fixture,
        |t| {
            let s: Vec<f64> = t
                .initial_state_bits
                .iter()
                .map(|&b| f64::from_bits(b))
                .collect();
            let mut env = Acrobot::new(t.max_episode_steps).expect("limit");
            let obs = env
                .reset_to(AcrobotState {
                    theta1: s[0],
                    theta2: s[1],
                    dtheta1: s[2],
                    dtheta2: s[3],
                })
                .expect("finite");
            (env, obs.to_vec())
        },
        |env| {
            let s = env.state().expect("running");
            vec![s.theta1, s.theta2, s.dtheta1, s.dtheta2]
        },
    );
    eprintln!(
        "Acrobot-v1: {steps} steps bit-identical to Gymnasium {}; {reset_ulp} of {} reset observation values differ by 1 ulp (numpy's f32 cos/sin)",
        fixture.gymnasium_version,
        fixture.trajectories.len() * 6
    );
    assert!(steps > 5000);
}

#[test]
fn mountain_car_matches_gymnasium_bit_for_bit() {
    let fixture = load(include_str!("../fixtures/mountaincar.json"));
    assert_eq!(fixture.env, "MountainCar-v0");
    assert!(
        fixture
            .trajectories
            .iter()
            .any(|t| *t.terminated.last().expect("steps"))
    );
    assert!(
        fixture
            .trajectories
            .iter()
            .any(|t| *t.truncated.last().expect("steps"))
    );
    let (steps, reset_ulp) = replay(
        &fixture,
        |t| {
            let s: Vec<f64> = t
                .initial_state_bits
                .iter()
                .map(|&b| f64::from_bits(b))
                .collect();
            let mut env = MountainCar::new(t.max_episode_steps).expect("limit");
            let obs = env
                .reset_to(MountainCarState {
                    position: s[0],
                    velocity: s[1],
                })
                .expect("finite");
            (env, obs.to_vec())
        },
        |env| {
            let s = env.state().expect("running");
            vec![s.position, s.velocity]
        },
    );
    assert_eq!(
        reset_ulp, 0,
        "MountainCar's reset observation is a plain rounding"
    );
    eprintln!(
        "MountainCar-v0: {steps} steps bit-identical to Gymnasium {}",
        fixture.gymnasium_version
    );
    assert!(steps > 2000);
}

/// The start distributions: Acrobot's components uniform in ±0.1 and rounded to f32;
/// MountainCar's position uniform in [−0.6, −0.4) at rest; both seeded by the generator alone.
#[test]
fn resets_follow_gymnasium_distributions_and_the_seed() {
    let mut obs6 = [0.0f32; 6];
    let mut obs2 = [0.0f32; 2];
    let mut a = EnvId::Acrobot.make(None).expect("limit");
    let mut m = EnvId::MountainCar.make(None).expect("limit");
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for _ in 0..2000 {
        a.reset(&mut rng, &mut obs6);
        let envs::AnyEnv::Acrobot(inner) = &a else {
            panic!("an Acrobot")
        };
        let s = inner.state().expect("reset");
        for v in [s.theta1, s.theta2, s.dtheta1, s.dtheta2] {
            assert!((-0.1..0.1).contains(&v) && v == f64::from(v as f32), "{v}");
        }
        m.reset(&mut rng, &mut obs2);
        assert!(
            (-0.6..-0.4).contains(&obs2[0]) && obs2[1] == 0.0,
            "{obs2:?}"
        );
    }
    let draw = |seed| {
        let mut e = EnvId::Acrobot.make(None).expect("limit");
        let mut o = [0.0f32; 6];
        e.reset(&mut ChaCha8Rng::seed_from_u64(seed), &mut o);
        o
    };
    assert_eq!(draw(9), draw(9));
    assert_ne!(draw(9), draw(10));
}

#[test]
fn misuse_is_a_typed_error() {
    for id in EnvId::ALL {
        let mut env = id.make(Some(3)).expect("limit");
        let mut obs = vec![0.0f32; id.obs_dim()];
        assert!(
            matches!(
                env.step(0, &mut obs),
                Err(envs::Error::NotReset) | Err(envs::Error::CartPole(_))
            ),
            "{id}"
        );
        env.reset(&mut ChaCha8Rng::seed_from_u64(0), &mut obs);
        assert!(
            matches!(
                env.step(id.n_actions(), &mut obs),
                Err(envs::Error::InvalidAction { .. })
            ),
            "{id}"
        );
        let mut short = vec![0.0f32; id.obs_dim() - 1];
        assert!(
            matches!(env.step(0, &mut short), Err(envs::Error::ObsLength { .. })),
            "{id}"
        );
        for _ in 0..3 {
            let t = env.step(1, &mut obs).expect("valid");
            if t.terminated {
                break;
            }
        }
        assert!(
            env.step(1, &mut obs).is_err(),
            "{id}: stepping an ended episode"
        );
        assert!(id.make(Some(0)).is_err(), "{id}: a zero step limit");
        assert_eq!(EnvId::from_name(id.name()), Some(id));
        assert!(!env.render_text().is_empty());
    }
}
