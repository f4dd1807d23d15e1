//! Weights files of the previous format (version 2, which spelled some values `"L2"`,
//! `"AfterRelu"`, `"Rms"` and others `"l2"`) still load, and this build writes every value one
//! way, as configs spell it. The fixtures were written by ffdqn at commit 102b06d (`ffdqn
//! train` on a tiny config: hidden [8, 6], after-relu LayerNorm, local-td with l2 input norm,
//! goodness-q with rms goodness and a shared β; ff with its defaults).

use agents::io::{load_weights, save_weights};
use std::path::Path;

fn fixture(agent: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(format!("weights-v2-{agent}.json"))
}

#[test]
fn version_2_files_load_and_are_rewritten_in_one_spelling() {
    let dir = std::env::temp_dir().join(format!("ffdqn-weights-v3-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    for agent in ["bp", "ff", "local-td", "goodness-q"] {
        let old_text = std::fs::read_to_string(fixture(agent)).expect("fixture");
        assert!(old_text.contains("\"version\": 2") || old_text.contains("\"version\":2"));
        let old = load_weights(&fixture(agent)).unwrap_or_else(|e| panic!("{agent}: {e}"));
        assert_eq!(old.agent.name(), agent);
        let path = dir.join(format!("{agent}.json"));
        save_weights(&path, old.agent, old.env, &old.policy).expect("saves");
        let text = std::fs::read_to_string(&path).expect("written");
        assert!(text.contains("\"version\":3"), "{text}");
        for variant in [
            "\"L2\"",
            "\"None\"",
            "\"AfterRelu\"",
            "\"BeforeRelu\"",
            "\"Rms\"",
            "\"MeanSquare\"",
        ] {
            assert!(!text.contains(variant), "{agent}: {variant} in {text}");
        }
        let new = load_weights(&path).expect("loads");
        assert_eq!(new.policy, old.policy, "{agent}");
        assert_eq!((new.agent, new.env), (old.agent, old.env));
    }
    // The spellings the fixtures hold, so the test keeps covering them.
    let all: String = ["bp", "ff", "local-td", "goodness-q"]
        .iter()
        .map(|a| std::fs::read_to_string(fixture(a)).expect("fixture"))
        .collect();
    for old_spelling in ["\"L2\"", "\"AfterRelu\"", "\"Rms\"", "\"l2\""] {
        assert!(all.contains(old_spelling), "{old_spelling}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
