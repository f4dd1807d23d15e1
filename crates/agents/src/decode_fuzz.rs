//! Structure-aware fuzzing (`json-mutate`) of the two decoders that read what a user hands
//! over: weights files and checkpoints. Each starts from a valid file of every kind of network
//! and changes one field in each of nine ways, every field and every change on every run: the
//! file is refused with an error or, if it still holds together, it loads and works (acts, or
//! trains an epoch). Never a panic. (A random sample of these cases once let an overflow
//! through on one CI run and not on others, so none is left to chance.)

use crate::checkpoint::{self, Payload};
use crate::rng::{Stream, stream};
use crate::{AgentKind, Config, LoopState, build, train};
use json_mutate::for_each_change;
use serde_json::Value;

/// The networks every decoder must handle: BP with LayerNorm cells, FF with a BP warm start
/// and the greedy schedule, local-td with LayerNorm cells, goodness-q.
const KINDS: [(AgentKind, &str); 4] = [
    (
        AgentKind::Bp,
        "[network]\nhidden = [6, 5]\ncell-norm = \"after-relu\"",
    ),
    (
        AgentKind::Ff,
        "[network]\nhidden = [6, 5]\n[ff]\ninit = \"bp-warmstart\"\nbp-warmstart-steps = 100000\nschedule = { kind = \"greedy\", target-accuracy = 0.95, window = 20, max-steps-per-layer = 50 }",
    ),
    (
        AgentKind::LocalTd,
        "[network]\nhidden = [6, 5]\ncell-norm = \"after-relu\"",
    ),
    (AgentKind::GoodnessQ, "[network]\nhidden = [6, 5]"),
];

fn cfg(extra: &str) -> Config {
    Config::from_toml(
        &format!(
            "[train]\nepochs = 2\nepisodes-per-epoch = 2\nlearning-starts = 20\nbatch-size = 8\nbuffer-size = 300\neval-episodes = 1\nfinal-eval-episodes = 1\n{extra}"
        ),
        "fuzz.toml",
    )
    .expect("a valid config")
}

fn temp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("ffdqn-fuzz-{name}-{}", std::process::id()))
}

#[test]
fn weights_with_one_field_changed_never_panic() {
    let p = temp("weights.json");
    let mut cases = 0;
    for (kind, extra) in KINDS {
        let c = cfg(extra);
        let agent = build(kind, &c, &mut stream(0, Stream::Init)).expect("valid");
        crate::io::save_weights(&p, kind, c.env().id, &agent.policy()).expect("writes");
        let valid: Value =
            serde_json::from_slice(&std::fs::read(&p).expect("reads")).expect("json");
        cases += for_each_change(&valid, |changed| {
            std::fs::write(&p, serde_json::to_vec(changed).expect("encodes")).expect("writes");
            if let Ok(w) = crate::io::load_weights(&p) {
                let mut ws = crate::policy::PolicyWorkspace::default();
                let obs = vec![0.1f32; w.policy.obs_dim()];
                let _ = w.policy.greedy_action(&obs, &mut ws);
            }
        });
    }
    let _ = std::fs::remove_file(&p);
    assert!(
        cases > 1000,
        "only {cases} cases: the files lost their structure"
    );
}

#[test]
fn checkpoints_with_one_field_changed_never_panic() {
    let path = temp("checkpoint.bin");
    let (mut cases, mut resumed) = (0, 0);
    for (kind, extra) in KINDS {
        let c = cfg(extra);
        let first = c.with_overrides(&["train.epochs=1"]).expect("valid");
        let mut agent = build(kind, &c, &mut stream(3, Stream::Init)).expect("valid");
        let mut st = LoopState::new(&c, 3).expect("valid");
        train(agent.as_mut(), &first, 3, &mut st, &mut |_, _, _| Ok(())).expect("trains");
        checkpoint::save(&path, &c, 3, agent.snapshot(), &st, 0.5).expect("saves");
        let bytes = std::fs::read(&path).expect("reads");
        let payload: Payload = postcard::from_bytes(&bytes[36..]).expect("a valid payload");
        let valid = serde_json::to_value(&payload).expect("json");
        cases += for_each_change(&valid, |changed| {
            // A change the payload's own types refuse is a file decoding refuses too.
            let Ok(payload) = serde_json::from_value::<Payload>(changed.clone()) else {
                return;
            };
            let bytes = checkpoint::encode(&c, &payload).expect("encodes");
            let Ok(back) = checkpoint::decode(&bytes, &c, &path) else {
                return;
            };
            let mut agent = build(kind, &c, &mut stream(3, Stream::Init)).expect("valid");
            if agent.restore(back.agent).is_err() {
                return;
            }
            let mut st = back.state;
            let _ = train(agent.as_mut(), &c, 3, &mut st, &mut |_, _, _| Ok(()));
            resumed += 1;
        });
    }
    let _ = std::fs::remove_file(&path);
    assert!(
        cases > 1000,
        "only {cases} cases: the files lost their structure"
    );
    assert!(resumed > 100, "only {resumed} changed checkpoints resumed");
}
