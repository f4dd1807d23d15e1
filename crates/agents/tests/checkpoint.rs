//! Checkpoints resume bit-identically; damaged files and arbitrary bytes give errors, never
//! panics; so does arbitrary config text.

use agents::checkpoint::{self, FORMAT_VERSION};
use agents::rng::{Stream, stream};
use agents::{AgentKind, Config, Error, LoopState, build, train};
use proptest::prelude::*;

fn cfg(extra: &str) -> Config {
    Config::from_toml(
        &format!(
            "[train]\nepochs = 6\nepisodes-per-epoch = 8\nlearning-starts = 200\nbuffer-size = 5000\neval-episodes = 2\nfinal-eval-episodes = 3\n{extra}"
        ),
        "test.toml",
    )
    .expect("valid")
}

/// A file of its own for each call: tests run in parallel threads of one process, and two that
/// saved to one path raced (one removed the file while the other wrote it).
fn tmp(name: &str) -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::env::temp_dir().join(format!("ffdqn-ckpt-{name}-{}-{n}.bin", std::process::id()))
}

/// Runs `cfg` to the end, either straight or stopping after `split` epochs, saving a
/// checkpoint, and resuming a fresh agent from the file. Returns the final agent state and the
/// metrics without wall times.
fn run(
    kind: AgentKind,
    cfg: &Config,
    seed: u64,
    split: Option<u32>,
    file: &std::path::Path,
) -> (agents::AgentSnapshot, String) {
    let mut agent = build(kind, cfg, &mut stream(seed, Stream::Init)).expect("valid");
    let mut st = LoopState::new(cfg, seed).expect("valid");
    if let Some(split) = split {
        let first = cfg
            .with_overrides(&[format!("train.epochs={split}")])
            .expect("valid");
        let mut save = |_: &agents::EpochMetrics,
                        st: &LoopState,
                        a: &(dyn agents::Agent + Send + 'static)|
         -> agents::Result<()> {
            if st.epochs_done == split {
                checkpoint::save(file, cfg, seed, a.snapshot(), st, 1.0)?;
            }
            Ok(())
        };
        train(agent.as_mut(), &first, seed, &mut st, &mut save).expect("first half");
        // A new process: a fresh agent and state, restored from the file alone.
        let resumed = checkpoint::load(file, cfg).expect("loads");
        assert_eq!((resumed.kind, resumed.seed), (kind, seed));
        agent = build(kind, cfg, &mut stream(seed, Stream::Init)).expect("valid");
        agent.restore(resumed.agent).expect("fits");
        st = resumed.state;
        assert_eq!(st.epochs_done, split);
    }
    let r = train(agent.as_mut(), cfg, seed, &mut st, &mut |_, _, _| Ok(())).expect("trains");
    (agent.snapshot(), metrics_text(&r))
}

/// A run's metrics (wall times zeroed) and final evaluation, as text to compare.
fn metrics_text(r: &agents::RunResult) -> String {
    let metrics: Vec<String> = r
        .epochs
        .iter()
        .map(|m| {
            let mut m = m.clone();
            m.wall_seconds = 0.0;
            format!("{m:?}")
        })
        .collect();
    format!("{metrics:?} {:?}", r.final_eval)
}

#[test]
fn resume_is_bit_identical() {
    for (kind, extra) in [
        (AgentKind::Bp, ""),
        (AgentKind::Ff, "[ff]\nupdate-prob = 0.5"),
        (
            AgentKind::Ff,
            "[ff]\ninit = \"bp-warmstart\"\nbp-warmstart-steps = 300\nupdate-prob = 1.0",
        ),
        (
            AgentKind::Ff,
            "[ff]\nupdate-prob = 1.0\nschedule = { kind = \"greedy\", target-accuracy = 0.6, window = 20, max-steps-per-layer = 150 }",
        ),
        (
            AgentKind::LocalTd,
            "[network]\ncell-norm = \"after-relu\"\n[local-td]\nff-aux = { kind = \"ff\", weight = 0.1 }",
        ),
        (
            AgentKind::GoodnessQ,
            "[network]\ncell-norm = \"before-relu\"",
        ),
        (AgentKind::Bp, "[network]\ncell-norm = \"after-relu\""),
    ] {
        let c = cfg(extra);
        let file = tmp("resume");
        let straight = run(kind, &c, 9, None, &file);
        let resumed = run(kind, &c, 9, Some(3), &file);
        assert_eq!(
            straight.0, resumed.0,
            "{kind} {extra:?}: weights or optimizer state differ"
        );
        assert_eq!(straight.1, resumed.1, "{kind} {extra:?}: metrics differ");
        let _ = std::fs::remove_file(file);
    }
}

fn valid_checkpoint(c: &Config) -> Vec<u8> {
    let file = tmp("valid");
    let mut agent = build(AgentKind::Ff, c, &mut stream(1, Stream::Init)).expect("valid");
    let mut st = LoopState::new(c, 1).expect("valid");
    let first = c.with_overrides(&["train.epochs=2"]).expect("valid");
    train(agent.as_mut(), &first, 1, &mut st, &mut |_, _, _| Ok(())).expect("trains");
    checkpoint::save(&file, c, 1, agent.snapshot(), &st, 0.5).expect("saves");
    let bytes = std::fs::read(&file).expect("read");
    let _ = std::fs::remove_file(file);
    bytes
}

#[test]
fn damaged_checkpoints_are_refused_with_a_reason() {
    let c = cfg("");
    let good = valid_checkpoint(&c);
    let path = std::path::Path::new("ckpt.bin");
    assert!(checkpoint::decode(&good, &c, path).is_ok());
    let expect = |bytes: &[u8], cfg: &Config, needle: &str| {
        let err = checkpoint::decode(bytes, cfg, path)
            .err()
            .unwrap_or_else(|| panic!("accepted ({needle})"));
        assert!(matches!(err, Error::BadFile { .. }), "{err}");
        assert!(
            err.to_string().contains(needle),
            "expected {needle:?} in: {err}"
        );
    };
    expect(&good[..good.len() / 2], &c, "truncated");
    expect(&good[..20], &c, "truncated");
    expect(
        b"PK\x03\x04 definitely a zip file",
        &c,
        "not an ffdqn checkpoint",
    );
    let mut flipped = good.clone();
    let last = flipped.len() - 10;
    flipped[last] ^= 0x40;
    expect(&flipped, &c, "corrupted");
    let mut other_version = good.clone();
    other_version[8..12].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    expect(&other_version, &c, "format version");
    expect(&good, &cfg("[ff]\nmargin = 3.0"), "another config");
    // Another architecture is another config too, and is refused before decoding.
    let wide = cfg("")
        .with_overrides(&["network.hidden=[32]"])
        .expect("valid");
    expect(&good, &wide, "another config");
    // An FF snapshot does not fit a BP agent.
    let resumed = checkpoint::decode(&good, &c, path).expect("valid");
    let mut bp = build(AgentKind::Bp, &c, &mut stream(1, Stream::Init)).expect("valid");
    assert!(matches!(bp.restore(resumed.agent), Err(Error::Mismatch(_))));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600), with_magic in any::<bool>()) {
        let c = cfg("");
        let mut data = if with_magic { b"FFDQNCKP\x01\x00\x00\x00".to_vec() } else { Vec::new() };
        data.extend_from_slice(&bytes);
        prop_assert!(checkpoint::decode(&data, &c, std::path::Path::new("x")).is_err());
    }

    #[test]
    fn arbitrary_config_text_never_panics(text in "\\PC{0,200}") {
        let _ = Config::from_toml(&text, "fuzz.toml");
    }

    #[test]
    fn config_like_text_never_panics(
        section in prop_oneof![Just("train"), Just("ff"), Just("bp"), Just("network"), Just("env")],
        key in "[a-z-]{1,20}",
        value in prop_oneof![
            Just("0".to_string()), Just("-1".to_string()), Just("nan".to_string()), Just("inf".to_string()),
            Just("1e308".to_string()), Just("[]".to_string()), Just("\"x\"".to_string()), Just("{}".to_string()),
            any::<i64>().prop_map(|v| v.to_string()), any::<f64>().prop_map(|v| format!("{v:?}")),
        ],
    ) {
        let _ = Config::from_toml(&format!("[{section}]\n{key} = {value}\n"), "fuzz.toml");
    }
}

/// Flipping any single byte of a real checkpoint is detected (header checks or checksum).
#[test]
fn every_single_byte_corruption_is_detected() {
    let c = cfg("");
    let good = valid_checkpoint(&c);
    let step = (good.len() / 500).max(1);
    for i in (0..good.len()).step_by(step) {
        let mut bad = good.clone();
        bad[i] ^= 0xff;
        assert!(
            checkpoint::decode(&bad, &c, std::path::Path::new("x")).is_err(),
            "byte {i} flipped was accepted"
        );
    }
}

/// A run stopped before any step (inside an episode, at an episode's first step, at an epoch's
/// first step, before the first step of all), saved, and continued by a fresh agent from the
/// file alone ends bit-identical to the run never stopped: weights, optimizer state, every
/// epoch's metrics (FF statistics included) and the final evaluation. On every task, since a
/// stop inside an episode saves the environment's state.
#[test]
fn stopping_between_any_two_steps_resumes_bit_identically() {
    use agents::train::{Outcome, train_until};
    for (kind, extra) in [
        (AgentKind::Bp, ""),
        (AgentKind::Ff, "[ff]\nupdate-prob = 0.5"),
        (
            AgentKind::Ff,
            "[ff]\nupdate-prob = 1.0\nschedule = { kind = \"greedy\", target-accuracy = 0.6, window = 20, max-steps-per-layer = 150 }",
        ),
        (
            AgentKind::LocalTd,
            "[network]\ncell-norm = \"after-relu\"\n[local-td]\nff-aux = { kind = \"ff\", weight = 0.1 }",
        ),
        (AgentKind::GoodnessQ, ""),
        (
            AgentKind::Bp,
            "[env]\nid = \"Acrobot-v1\"\nmax-episode-steps = 60",
        ),
        (
            AgentKind::LocalTd,
            "[env]\nid = \"MountainCar-v0\"\nmax-episode-steps = 50",
        ),
    ] {
        let c = cfg(extra);
        let seed = 5;
        let mut agent = build(kind, &c, &mut stream(seed, Stream::Init)).expect("valid");
        let mut st = LoopState::new(&c, seed).expect("valid");
        let straight =
            train(agent.as_mut(), &c, seed, &mut st, &mut |_, _, _| Ok(())).expect("trains");
        let straight_state = agent.snapshot();
        // Stop points in steps: before the first, early in an episode, at the first step of
        // epoch 3, and in the middle of the run.
        let epoch_start = straight.epochs[1].env_steps;
        for stop_at in [0, 7, epoch_start, straight.env_steps / 2 + 3] {
            let file = tmp("stop");
            let mut agent = build(kind, &c, &mut stream(seed, Stream::Init)).expect("valid");
            let mut st = LoopState::new(&c, seed).expect("valid");
            let calls = std::cell::Cell::new(0u64);
            let stop = || {
                calls.set(calls.get() + 1);
                calls.get() > stop_at
            };
            let outcome = train_until(
                agent.as_mut(),
                &c,
                seed,
                &mut st,
                &mut |_, _, _| Ok(()),
                &stop,
            )
            .expect("trains");
            let Outcome::Stopped { wall_seconds } = outcome else {
                panic!("{kind} {extra:?}: did not stop at step {stop_at}");
            };
            assert_eq!(st.env_steps, stop_at, "{kind} {extra:?}");
            checkpoint::save(&file, &c, seed, agent.snapshot(), &st, wall_seconds).expect("saves");
            // A new process: a fresh agent and state, from the file alone.
            let resumed = checkpoint::load(&file, &c).expect("loads");
            let mut agent = build(kind, &c, &mut stream(seed, Stream::Init)).expect("valid");
            agent.restore(resumed.agent).expect("fits");
            let mut st = resumed.state;
            let r =
                train(agent.as_mut(), &c, seed, &mut st, &mut |_, _, _| Ok(())).expect("trains");
            assert_eq!(
                metrics_text(&r),
                metrics_text(&straight),
                "{kind} {extra:?}, stopped at step {stop_at}: metrics differ"
            );
            assert!(
                agent.snapshot() == straight_state,
                "{kind} {extra:?}, stopped at step {stop_at}: weights or optimizer state differ"
            );
            let _ = std::fs::remove_file(file);
        }
    }
}
