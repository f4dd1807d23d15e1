//! End-to-end tests of the `ffdqn` binary: real processes, real files.

mod common;
use common::*;

const TINY: &str = "[train]\nepochs = 3\nepisodes-per-epoch = 6\nlearning-starts = 128\nbuffer-size = 2000\neval-episodes = 2\nfinal-eval-episodes = 4\n[bp]\n[ff]\n[local-td]\n[goodness-q]\n";

#[test]
fn train_eval_play_round_trip() {
    let dir = temp_dir("roundtrip");
    let cfg = write(&dir, "tiny.toml", TINY);
    for agent in ["bp", "ff"] {
        let out = dir.join(format!("run-{agent}"));
        let o = train(&cfg, agent, &out, &["--seed", "5"]);
        assert!(o.status.success(), "{}", text(&o));
        assert!(
            text(&o).contains("epoch   3/3"),
            "plain progress lines when not a terminal: {}",
            text(&o)
        );
        let csv = std::fs::read_to_string(out.join("metrics.csv")).expect("metrics.csv");
        assert_eq!(csv.lines().count(), 4, "header + 3 epochs:\n{csv}");
        let summary: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(out.join("summary.json")).expect("summary"),
        )
        .expect("json");
        assert_eq!(summary["agent"], agent);
        assert_eq!(summary["seed"], 5);
        assert_eq!(summary["final_eval"]["episodes"], 4);
        let config_copy = std::fs::read_to_string(out.join("config.toml")).expect("config copy");
        assert!(config_copy.contains("epochs = 3"));
        let weights = out.join("weights.json");
        let o = ffdqn(&[
            "eval",
            "--weights",
            weights.to_str().expect("utf8"),
            "--episodes",
            "3",
        ]);
        assert!(o.status.success(), "{}", text(&o));
        assert!(text(&o).contains("over 3 greedy episodes"), "{}", text(&o));
        let o = ffdqn(&[
            "play",
            "--weights",
            weights.to_str().expect("utf8"),
            "--delay-ms",
            "0",
        ]);
        assert!(o.status.success(), "{}", text(&o));
        let shown = text(&o);
        assert!(
            shown.contains("##O##") && shown.contains("episode over after"),
            "{shown}"
        );
    }
    // One seed, one result: a second run of the same config and seed gives the same weights.
    let again = dir.join("run-ff-again");
    let o = train(&cfg, "ff", &again, &["--seed", "5"]);
    assert!(o.status.success(), "{}", text(&o));
    let a = std::fs::read(dir.join("run-ff/weights.json")).expect("weights");
    let b = std::fs::read(again.join("weights.json")).expect("weights");
    assert_eq!(a, b);
}

#[test]
fn never_overwrites_a_run_unless_forced() {
    let dir = temp_dir("overwrite");
    let cfg = write(&dir, "tiny.toml", TINY);
    let out = dir.join("run");
    let run = |extra: &[&str]| train(&cfg, "bp", &out, extra);
    assert!(run(&[]).status.success());
    let weights = std::fs::read(out.join("weights.json")).expect("weights");
    std::fs::write(out.join("summary.json"), b"marker").expect("write");
    let o = run(&[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--force"), "{}", text(&o));
    assert_eq!(
        std::fs::read(out.join("summary.json")).expect("kept"),
        b"marker"
    );
    assert!(run(&["--force"]).status.success());
    assert_ne!(
        std::fs::read(out.join("summary.json")).expect("summary"),
        b"marker"
    );
    assert_eq!(
        std::fs::read(out.join("weights.json")).expect("weights"),
        weights
    );
}

#[test]
fn bad_input_exits_2_with_a_clear_message() {
    let dir = temp_dir("bad");
    let out = dir.join("out");
    let out_s = out.to_str().expect("utf8");
    let bad_batch = write(&dir, "bad.toml", "[train]\nbatch-size = 0\n");
    let unknown = write(&dir, "unknown.toml", "[train]\nbatchsize = 3\n");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "train", "--config", &bad_batch, "--agent", "ff", "--out", out_s,
            ],
            "train.batch-size",
        ),
        (
            vec![
                "train", "--config", &unknown, "--agent", "ff", "--out", out_s,
            ],
            "unknown field `batchsize`",
        ),
        (
            vec![
                "train",
                "--config",
                "/nonexistent.toml",
                "--agent",
                "ff",
                "--out",
                out_s,
            ],
            "cannot read config file",
        ),
        (
            vec![
                "train", "--config", &bad_batch, "--agent", "xx", "--out", out_s,
            ],
            "invalid value 'xx'",
        ),
        (vec!["train", "--bogus"], "unexpected argument"),
        (
            vec!["eval", "--weights", &bad_batch],
            "not a valid ffdqn weights file",
        ),
        (
            vec!["eval", "--weights", "/nonexistent.json"],
            "cannot read",
        ),
        (
            vec!["eval", "--weights", &bad_batch, "--episodes", "0"],
            "--episodes",
        ),
    ];
    for (args, needle) in cases {
        let o = ffdqn(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(
            text(&o).contains(needle),
            "{args:?}: expected {needle:?} in {}",
            text(&o)
        );
    }
    assert!(!out.exists(), "nothing is written for bad input");
}

#[test]
fn help_describes_every_command() {
    let o = ffdqn(&["--help"]);
    let h = text(&o);
    for cmd in ["train", "eval", "play", "bench"] {
        assert!(h.contains(cmd), "{h}");
    }
    let o = ffdqn(&["train", "--help"]);
    assert!(text(&o).contains("--force") && text(&o).contains("seed"));
}

/// `--set` overrides reach the run: the config the run writes holds them, and a kind switch
/// takes its own keys.
#[test]
fn set_overrides_reach_the_run() {
    let dir = temp_dir("set");
    let cfg = write(&dir, "tiny.toml", TINY);
    let out = dir.join("run");
    let o = train(
        &cfg,
        "ff",
        &out,
        &[
            "--set",
            "ff.margin=0.5",
            "--set",
            "network.hidden=[16, 8]",
            "--set",
            "train.target-sync.kind=polyak",
            "--set",
            "train.target-sync.tau=0.01",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let written = std::fs::read_to_string(out.join("config.toml")).expect("config");
    assert!(written.contains("margin = 0.5"), "{written}");
    assert!(
        written.contains("hidden = [\n    16,\n    8,\n]") || written.contains("hidden = [16, 8]"),
        "{written}"
    );
    assert!(
        written.contains("kind = \"polyak\"") && written.contains("tau = 0.01"),
        "{written}"
    );
    let weights = std::fs::read_to_string(out.join("weights.json")).expect("weights");
    assert!(
        weights.contains("\"out_dim\":16"),
        "the network has the overridden widths"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A setting the chosen agent would ignore is refused before anything is written, naming the
/// agent and what it reads; so is a config without the agent's own section.
#[test]
fn settings_the_agent_does_not_read_are_refused() {
    let dir = temp_dir("not-read");
    let local_td = root().join("configs/local-td.toml").display().to_string();
    let paper = root().join("configs/paper.toml").display().to_string();
    let out = dir.join("run");
    let o = train(&local_td, "local-td", &out, &["--set", "ff.margin=0.5"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let msg = text(&o);
    assert!(
        msg.contains("the local-td agent does not read [ff]") && msg.contains("[local-td]"),
        "{msg}"
    );
    assert!(!out.exists(), "nothing is written for a refused run");
    let o = train(&paper, "local-td", &out, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("has no [local-td] section"),
        "{}",
        text(&o)
    );
    assert!(!out.exists());
    // What the agent reads is taken, and the run records it: config.toml has the agent's
    // sections only, run.json lists them and the binary's commit.
    let tiny = write(&dir, "tiny.toml", TINY);
    let o = train(
        &tiny,
        "local-td",
        &out,
        &["--set", "local-td.double-q=true"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let config = read(&out.join("config.toml"));
    assert!(
        config.contains("[local-td]") && config.contains("double-q = true"),
        "{config}"
    );
    assert!(
        !config.contains("[ff") && !config.contains("[bp"),
        "{config}"
    );
    let info: serde_json::Value = serde_json::from_str(&read(&out.join("run.json"))).expect("json");
    assert_eq!(
        info["config_sections"],
        serde_json::json!(["env", "train", "network", "local-td"])
    );
    assert_eq!(info["code"]["commit"], env!("FFDQN_COMMIT"));
    let summary: serde_json::Value =
        serde_json::from_str(&read(&out.join("summary.json"))).expect("json");
    assert_eq!(summary["code"]["commit"], env!("FFDQN_COMMIT"));
    assert!(
        !out.join(".lock").exists(),
        "a finished run keeps no lock file"
    );
    // eval on the run directory uses the run's seed: the run's own final evaluation again.
    let o = ffdqn(&[
        "eval",
        "--weights",
        out.to_str().expect("utf8"),
        "--episodes",
        "4",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let shown = text(&o);
    assert!(
        shown.contains("evaluation seed 0 (the run's seed)"),
        "{shown}"
    );
    let mean = summary["final_eval"]["mean"].as_f64().expect("mean");
    assert!(
        shown.contains(&format!("mean return {mean:.2} ")),
        "{mean}: {shown}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
