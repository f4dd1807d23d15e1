//! The five MinAtar games against trajectories recorded from the `minatar` package 1.0.15
//! (`fixtures/make_minatar_trajectories.py`, through its gym wrapper): from `reset(seed=s)`,
//! every state grid, reward and terminal bit for bit, across game overs and the resets that
//! continue the same RandomState, with sticky actions and difficulty ramping on and off, v0
//! and v1 action sets. And the numpy module against numbers recorded from numpy itself.

use envs::minatar::RandomState;
use envs::{EnvId, Environment, Game, MinAtar, MinAtarOptions};
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    minatar_version: String,
    game: String,
    trajectories: Vec<Trajectory>,
}

#[derive(Deserialize)]
struct Trajectory {
    id: String,
    seed: u32,
    sticky_action_prob: f64,
    difficulty_ramping: bool,
    steps: usize,
    games_over: usize,
    max_difficulty: i32,
    episodes: Vec<Episode>,
}

#[derive(Deserialize)]
struct Episode {
    reset_state: String,
    actions: Vec<usize>,
    rewards: Vec<i32>,
    terminals: Vec<bool>,
    states: Vec<String>,
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex fixture"))
        .collect()
}

/// The grid as bits, checked against the `f32` observation the training loop sees.
fn bits_of(env: &MinAtar, obs: &[f32]) -> Vec<u8> {
    let mut bits = vec![0u8; obs.len().div_ceil(8)];
    env.observe_bits(&mut bits);
    for (i, &v) in obs.iter().enumerate() {
        assert_eq!(
            v,
            f32::from(bits[i / 8] >> (i % 8) & 1),
            "f32 and bit grids agree at {i}"
        );
    }
    bits
}

fn replay(fixture: &Fixture, game: Game) -> (usize, i32) {
    assert_eq!(fixture.minatar_version, "1.0.15");
    assert_eq!(fixture.game, game.module());
    let mut steps = 0;
    let mut max_difficulty = 0;
    for t in &fixture.trajectories {
        let id = EnvId::from_name(&t.id).expect("a registered id");
        let EnvId::MinAtar {
            game: g,
            minimal_actions,
        } = id
        else {
            panic!("{} is not a MinAtar id", t.id);
        };
        assert_eq!(g, game);
        let options = MinAtarOptions {
            sticky_action_prob: t.sticky_action_prob,
            difficulty_ramping: t.difficulty_ramping,
        };
        let mut env = MinAtar::new(game, minimal_actions, u32::MAX, options).expect("env");
        env.seed(t.seed);
        // A twin stepped with bits only (`reset_bits`, `step_bits`), the path the replay and
        // the step benchmark take, must write the same grids.
        let mut twin = env.clone();
        let mut obs = vec![0.0f32; id.obs_dim()];
        let mut twin_bits = vec![0u8; id.obs_dim().div_ceil(8)];
        let mut games_over = 0;
        for (e, ep) in t.episodes.iter().enumerate() {
            env.reset_seeded(&mut obs);
            twin.reset_bits(&mut twin_bits);
            assert_eq!(twin_bits, hex(&ep.reset_state), "{}: reset_bits", t.id);
            assert_eq!(
                bits_of(&env, &obs),
                hex(&ep.reset_state),
                "{} seed {}: episode {e} starts as the package's",
                t.id,
                t.seed
            );
            for (k, &a) in ep.actions.iter().enumerate() {
                let step = env.step(a, &mut obs).expect("step");
                let at = format!("{} seed {}: episode {e}, step {k}", t.id, t.seed);
                assert_eq!(step.reward, ep.rewards[k] as f32, "{at}: reward");
                assert_eq!(step.terminated, ep.terminals[k], "{at}: terminal");
                assert!(!step.truncated, "{at}: no step limit");
                assert_eq!(bits_of(&env, &obs), hex(&ep.states[k]), "{at}: state");
                let twin_step = twin.step_bits(a, &mut twin_bits).expect("step_bits");
                assert_eq!(twin_step, step, "{at}: step_bits");
                assert_eq!(twin_bits, hex(&ep.states[k]), "{at}: step_bits state");
                if let Some(d) = env.difficulty_ramp() {
                    max_difficulty = max_difficulty.max(d);
                }
                steps += 1;
            }
            games_over += usize::from(ep.terminals.last() == Some(&true));
        }
        assert_eq!(games_over, t.games_over, "{}: games over", t.id);
        assert_eq!(
            t.episodes.iter().map(|e| e.actions.len()).sum::<usize>(),
            t.steps
        );
    }
    (steps, max_difficulty)
}

/// Every game: at least 2 000 steps, several game overs, and the ramp where the game has one.
fn golden(text: &str, game: Game) {
    let fixture: Fixture = serde_json::from_str(text).expect("fixture parses");
    let (steps, max_difficulty) = replay(&fixture, game);
    assert!(steps >= 2000, "{game:?}: {steps} steps replayed");
    let recorded = fixture
        .trajectories
        .iter()
        .map(|t| t.max_difficulty)
        .max()
        .unwrap_or(0);
    assert_eq!(max_difficulty, recorded, "{game:?}: the difficulty reached");
    if matches!(game, Game::Asterix | Game::Seaquest | Game::SpaceInvaders) {
        assert!(max_difficulty >= 2, "{game:?}: the trajectories ramp");
    }
    assert!(
        fixture.trajectories.iter().any(|t| t.games_over >= 1),
        "{game:?}: a game over is covered"
    );
}

#[test]
fn asterix_matches_the_package() {
    golden(
        include_str!("../fixtures/minatar_asterix.json"),
        Game::Asterix,
    );
}

#[test]
fn breakout_matches_the_package() {
    golden(
        include_str!("../fixtures/minatar_breakout.json"),
        Game::Breakout,
    );
}

#[test]
fn freeway_matches_the_package() {
    golden(
        include_str!("../fixtures/minatar_freeway.json"),
        Game::Freeway,
    );
}

#[test]
fn seaquest_matches_the_package() {
    golden(
        include_str!("../fixtures/minatar_seaquest.json"),
        Game::Seaquest,
    );
}

#[test]
fn space_invaders_matches_the_package() {
    golden(
        include_str!("../fixtures/minatar_space_invaders.json"),
        Game::SpaceInvaders,
    );
}

#[derive(Deserialize)]
struct NumpyFixture {
    streams: Vec<Stream>,
}

#[derive(Deserialize)]
struct Stream {
    seed: u32,
    ops: Vec<Op>,
}

#[derive(Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
enum Op {
    U32 {
        value: u32,
    },
    Rand {
        bits: u64,
    },
    Randint {
        low: i64,
        high: i64,
        value: i64,
    },
    Randint8 {
        low: i64,
        high: i64,
        values: Vec<i64>,
    },
    Rand8 {
        bits: Vec<u64>,
    },
}

#[test]
fn random_state_draws_what_numpy_draws() {
    let fixture: NumpyFixture =
        serde_json::from_str(include_str!("../fixtures/numpy_random_state.json"))
            .expect("fixture parses");
    assert_eq!(fixture.streams.len(), 5);
    for s in &fixture.streams {
        let mut rs = RandomState::new(s.seed);
        for (i, op) in s.ops.iter().enumerate() {
            let at = format!("seed {}, draw {i}", s.seed);
            match op {
                Op::U32 { value } => assert_eq!(rs.next_u32(), *value, "{at}"),
                Op::Rand { bits } => assert_eq!(rs.rand().to_bits(), *bits, "{at}"),
                Op::Randint { low, high, value } => {
                    assert_eq!(rs.randint(*low, *high), *value, "{at}")
                }
                Op::Randint8 { low, high, values } => {
                    for v in values {
                        assert_eq!(rs.randint(*low, *high), *v, "{at}");
                    }
                }
                Op::Rand8 { bits } => {
                    for b in bits {
                        assert_eq!(rs.rand().to_bits(), *b, "{at}");
                    }
                }
            }
        }
    }
}

#[test]
fn every_id_is_registered_as_the_package_registers_it() {
    for game in Game::ALL {
        for (minimal, version) in [(false, "v0"), (true, "v1")] {
            let name = format!("MinAtar/{}-{version}", game.title());
            let id = EnvId::from_name(&name).expect("registered");
            assert_eq!(id.name(), name);
            let env = id.make(None).expect("env");
            assert_eq!(env.obs_dim(), 100 * game.channels());
            let n = if minimal {
                game.minimal_action_set().len()
            } else {
                6
            };
            assert_eq!(env.n_actions(), n, "{name}");
        }
    }
}

/// A checkpoint's snapshot, taken mid-episode and between episodes, continues exactly as the
/// environment it was taken from: same states, rewards, terminals and next episodes.
#[test]
fn a_snapshot_continues_the_same_stream() {
    use rand::SeedableRng;
    for id in EnvId::ALL.into_iter().filter(|id| id.binary_observations()) {
        let mut env = id.make(None).expect("env");
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mut obs = vec![0.0f32; id.obs_dim()];
        assert!(
            env.episode().is_none(),
            "{id}: nothing to keep before a stream exists"
        );
        env.reset(&mut rng, &mut obs);
        let mut actions = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        for cut in [7usize, 300] {
            let mut other = id.make(None).expect("env");
            // Run to the cut, resetting after game overs, then save.
            for _ in 0..cut {
                use rand::Rng;
                let a = actions.gen_range(0..id.n_actions());
                let t = env.step(a, &mut obs).expect("step");
                if t.terminated || t.truncated {
                    env.reset(&mut rng, &mut obs);
                }
            }
            let saved = env.episode().expect("a stream exists");
            let mut back = vec![0.0f32; id.obs_dim()];
            other.resume(&saved, &mut back).expect("resumes");
            assert_eq!(back, obs, "{id}: the observation comes back");
            let mut o1 = obs.clone();
            let mut o2 = back.clone();
            for k in 0..500 {
                use rand::Rng;
                let a = actions.gen_range(0..id.n_actions());
                let t1 = env.step(a, &mut o1).expect("step");
                let t2 = other.step(a, &mut o2).expect("step");
                assert_eq!(
                    (t1, &o1),
                    (t2, &o2),
                    "{id}: step {k} after the cut at {cut}"
                );
                if t1.terminated || t1.truncated {
                    // The unused generator: MinAtar's episodes continue their own stream.
                    env.reset(&mut rand_chacha::ChaCha8Rng::seed_from_u64(k), &mut o1);
                    other.reset(&mut rand_chacha::ChaCha8Rng::seed_from_u64(99), &mut o2);
                    assert_eq!(o1, o2);
                }
            }
            obs = o1;
        }
    }
}

/// A damaged snapshot is refused with an error naming the problem, never a panic.
#[test]
fn a_damaged_snapshot_is_refused() {
    use rand::SeedableRng;
    let id = EnvId::from_name("MinAtar/Seaquest-v1").expect("id");
    let mut env = id.make(None).expect("env");
    let mut obs = vec![0.0f32; id.obs_dim()];
    env.reset(&mut rand_chacha::ChaCha8Rng::seed_from_u64(0), &mut obs);
    let envs::Episode::MinAtar(snapshot) = env.episode().expect("snapshot") else {
        panic!("a MinAtar snapshot");
    };
    let json = serde_json::to_value(&*snapshot).expect("serializes");
    type Damage = fn(&mut serde_json::Value);
    let damaged: [(&str, Damage); 3] = [
        ("a sub off the grid", |j| {
            j["state"]["Seaquest"]["sub_x"] = serde_json::json!(12)
        }),
        ("an action outside 0..6", |j| {
            j["last_action"] = serde_json::json!(9)
        }),
        ("a RandomState of 3 words", |j| {
            j["rng"] = serde_json::json!({"key": [1, 2, 3], "pos": 0})
        }),
    ];
    for (field, damage) in damaged {
        let mut j = json.clone();
        damage(&mut j);
        let bad: envs::minatar::Snapshot = serde_json::from_value(j).expect("still parses");
        let mut fresh = id.make(None).expect("env");
        let err = fresh
            .resume(&envs::Episode::MinAtar(Box::new(bad)), &mut obs)
            .expect_err("refused");
        assert!(err.to_string().contains("cannot be in"), "{field}: {err}");
    }
    // Another game's snapshot, and a classic-control episode, are refused too.
    let mut breakout = EnvId::from_name("MinAtar/Breakout-v1")
        .expect("id")
        .make(None)
        .expect("env");
    let mut o = vec![0.0f32; 400];
    let err = breakout
        .resume(&envs::Episode::MinAtar(snapshot.clone()), &mut o)
        .expect_err("refused");
    assert!(err.to_string().contains("Seaquest"), "{err}");
    let err = breakout
        .resume(
            &envs::Episode::Classic {
                state: vec![0.0; 2],
                steps: 0,
            },
            &mut o,
        )
        .expect_err("refused");
    assert!(err.to_string().contains("another kind"), "{err}");
}
