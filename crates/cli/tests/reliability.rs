//! Reliability of the `ffdqn` binary: a run killed with SIGKILL at random moments and resumed
//! each time ends exactly like the run never interrupted; divergence stops with a named fault
//! or skips; every kind of bad input gets exit code 2, a clear message, and writes nothing.

mod common;
use common::*;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

/// Metrics without the wall-time column, which legitimately differs.
fn metrics_without_time(dir: &Path) -> String {
    let csv = std::fs::read_to_string(dir.join("metrics.csv")).expect("metrics");
    let header: Vec<&str> = csv.lines().next().expect("header").split(',').collect();
    let t = header
        .iter()
        .position(|h| *h == "wall_seconds")
        .expect("column");
    csv.lines()
        .map(|l| {
            l.split(',')
                .enumerate()
                .filter(|(i, _)| *i != t)
                .map(|(_, v)| v)
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

const RUN: &str = "[train]\nepochs = 10\nepisodes-per-epoch = 10\nlearning-starts = 200\nbuffer-size = 5000\neval-episodes = 3\nfinal-eval-episodes = 5\n[ff]\nupdate-prob = 0.5\n[bp]\n[local-td]\n[goodness-q]\n";

#[cfg(unix)]
#[test]
fn sigkill_at_random_moments_then_resume_matches_the_uninterrupted_run() {
    let dir = temp_dir("kill");
    let cfg = write(&dir, "run.toml", RUN);
    for agent in ["bp", "ff"] {
        let straight = dir.join(format!("straight-{agent}"));
        let o = train(&cfg, agent, &straight, &["--seed", "3"]);
        assert!(o.status.success(), "{}", text(&o));

        let run = dir.join(format!("killed-{agent}"));
        let run_s = run.to_str().expect("utf8");
        // A seeded linear congruential generator picks the kill times: random, but the same
        // on every run of the test.
        let mut lcg: u64 = 0x2545_f491_4f6c_dd1d;
        let (mut kills, mut attempts) = (0, 0);
        loop {
            attempts += 1;
            assert!(
                attempts < 80,
                "{agent}: the run did not finish after {attempts} attempts"
            );
            let mut cmd = bin();
            if run.join("run.json").exists() {
                cmd.args(["train", "--resume", run_s]);
            } else {
                let extra = ["--seed", "3", "--force", "--checkpoint-every", "1"];
                cmd.args(train_args(&cfg, agent, run_s, &extra));
            }
            let mut child = cmd
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawns");
            if attempts <= 25 {
                lcg = lcg
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let ms = 5 + (lcg >> 33) % 60 + 4 * attempts as u64;
                std::thread::sleep(Duration::from_millis(ms));
                if child.try_wait().expect("wait").is_none() {
                    child.kill().expect("SIGKILL");
                    kills += 1;
                }
            }
            let status = child.wait().expect("wait");
            if status.success() && run.join("summary.json").exists() {
                break;
            }
        }
        assert!(kills >= 3, "{agent}: only {kills} kills landed mid-run");
        assert_eq!(
            std::fs::read(straight.join("weights.json")).expect("weights"),
            std::fs::read(run.join("weights.json")).expect("weights"),
            "{agent}: weights differ after {kills} kills"
        );
        assert_eq!(
            metrics_without_time(&straight),
            metrics_without_time(&run),
            "{agent}: metrics differ"
        );
        // No temporary file is left behind in a finished run.
        let leftovers: Vec<_> = std::fs::read_dir(&run)
            .expect("dir")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp-"))
            .collect();
        assert!(leftovers.is_empty() || kills > 0, "{leftovers:?}");
    }
}

#[test]
fn divergence_stops_with_step_layer_and_value_or_skips() {
    let dir = temp_dir("diverge");
    let cfg = write(
        &dir,
        "huge-lr.toml",
        "[bp]\noptimizer = { kind = \"adam\", lr = 1e6 }\n[train]\nepochs = 3\nepisodes-per-epoch = 10\nlearning-starts = 128\nbuffer-size = 2000\neval-episodes = 2\nfinal-eval-episodes = 3\n",
    );
    let out = dir.join("stop");
    let o = train(&cfg, "bp", &out, &["--checkpoint-every", "1"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let msg = text(&o);
    assert!(msg.contains("diverged at env step"), "{msg}");
    assert!(
        msg.contains("in layer 3: the TD loss is inf"),
        "names the layer and the value: {msg}"
    );
    assert!(msg.contains("checkpoint of epoch 1 is kept"), "{msg}");
    assert!(out.join("checkpoint.bin").exists() && !out.join("summary.json").exists());

    let out = dir.join("skip");
    let o = train(&cfg, "bp", &out, &["--on-divergence", "skip-batch"]);
    assert!(o.status.success(), "{}", text(&o));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).expect("summary"))
            .expect("json");
    assert!(summary["diverged_batches_skipped"].as_u64().expect("count") > 0);
}

#[test]
fn every_kind_of_bad_input_exits_2_and_writes_nothing() {
    let dir = temp_dir("bad");
    let ok_cfg = write(&dir, "ok.toml", RUN);
    // A finished run to take weights and a checkpoint from.
    let good = dir.join("good");
    let o = train(&ok_cfg, "ff", &good, &["--checkpoint-every", "3"]);
    assert!(o.status.success(), "{}", text(&o));
    let weights = std::fs::read(good.join("weights.json")).expect("weights");
    let truncated_weights = write(
        &dir,
        "truncated.json",
        &String::from_utf8_lossy(&weights[..weights.len() / 2]),
    );
    let mut corrupted = weights.clone();
    if let Some(i) = corrupted.iter().position(|&b| b == b'[') {
        corrupted[i] = b'{';
    }
    let corrupted_weights = write(&dir, "corrupted.json", &String::from_utf8_lossy(&corrupted));
    let text_w = String::from_utf8_lossy(&weights).to_string();
    let other_shape = write(
        &dir,
        "other-shape.json",
        &text_w.replacen("\"in_dim\":4", "\"in_dim\":5", 1),
    );
    // A run directory with a damaged checkpoint.
    let resume_bad = dir.join("resume-bad");
    std::fs::create_dir_all(&resume_bad).expect("dir");
    for f in ["config.toml", "run.json"] {
        std::fs::copy(good.join(f), resume_bad.join(f)).expect("copy");
    }
    std::fs::write(
        resume_bad.join("checkpoint.bin"),
        b"FFDQNCKP\x01\x00\x00\x00 truncated",
    )
    .expect("write");
    let resume_s = resume_bad.to_str().expect("utf8").to_string();
    let occupied = dir.join("occupied");
    std::fs::create_dir_all(&occupied).expect("dir");
    std::fs::write(occupied.join("keep.txt"), b"precious").expect("write");
    let a_file = write(&dir, "a-file", "not a directory");

    let cfgs: Vec<(&str, &str, &str)> = vec![
        ("malformed TOML", "[train\nepochs = 3", "TOML parse error"),
        (
            "unknown key",
            "[train]\nepochz = 3",
            "unknown field `epochz`",
        ),
        ("wrong type", "[train]\nepochs = \"ten\"", "invalid type"),
        ("batch 0", "[train]\nbatch-size = 0", "train.batch-size"),
        (
            "negative learning rate",
            "[bp]\noptimizer = { kind = \"adam\", lr = -0.001 }",
            "bp.optimizer.lr",
        ),
        (
            "NaN learning rate",
            "[ff]\nhead-optimizer = { kind = \"adam\", lr = nan }",
            "ff.head-optimizer.lr",
        ),
        (
            "empty hidden dims",
            "[network]\nhidden = []",
            "network.hidden",
        ),
        ("gamma above 1", "[train]\ngamma = 1.01", "train.gamma"),
        ("gamma below 0", "[train]\ngamma = -0.1", "train.gamma"),
        // The step budget's keys (SB3's and CleanRL's protocol).
        (
            "zero step budget",
            "[train]\ntotal-steps = 0",
            "train.total-steps",
        ),
        (
            "negative step budget",
            "[train]\ntotal-steps = -5",
            "total-steps",
        ),
        (
            "step budget beside epochs",
            "[train]\nepochs = 5\ntotal-steps = 5000",
            "train.epochs",
        ),
        (
            "budget no update reaches",
            "[train]\ntotal-steps = 500\nlearning-starts = 1000",
            "train.learning-starts",
        ),
        (
            "epochs budget no update reaches",
            "[train]\nepochs = 1\nepisodes-per-epoch = 2\nlearning-starts = 1000",
            "train.learning-starts",
        ),
        (
            "zero gradient steps",
            "[train]\ngradient-steps = 0",
            "train.gradient-steps",
        ),
        (
            "gradient steps -2",
            "[train]\ngradient-steps = -2",
            "train.gradient-steps",
        ),
        (
            "epsilon fraction above 1",
            "[train]\ntotal-steps = 5000\nepsilon = { fraction = 1.5 }",
            "train.epsilon.fraction",
        ),
        (
            "epsilon fraction 0",
            "[train]\ntotal-steps = 5000\nepsilon = { fraction = 0.0 }",
            "train.epsilon.fraction",
        ),
        (
            "epsilon fraction of an epochs budget",
            "[train]\nepsilon = { fraction = 0.1 }",
            "train.epsilon.fraction",
        ),
        (
            "log interval above the budget",
            "[train]\ntotal-steps = 5000\nlog-every-steps = 6000",
            "train.log-every-steps",
        ),
        (
            "buffer smaller than batch",
            "[train]\nbuffer-size = 100\nbatch-size = 128",
            "train.buffer-size",
        ),
        (
            "evaluation epsilon above 1",
            "[train]\neval-epsilon = 1.5",
            "train.eval-epsilon",
        ),
        (
            "a MinAtar game the package does not have",
            "[env]\nid = \"MinAtar/Pong-v1\"",
            "MinAtar/Breakout-v1",
        ),
    ];
    let fresh = dir.join("fresh");
    let fresh_s = fresh.to_str().expect("utf8");
    let mut cases: Vec<(String, Vec<String>, String)> = Vec::new();
    for (name, body, needle) in cfgs {
        let path = write(&dir, &format!("{}.toml", name.replace(' ', "-")), body);
        cases.push((
            name.into(),
            train_args(&path, "ff", fresh_s, &[]),
            needle.into(),
        ));
    }
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    cases.extend([
        (
            "missing config file".into(),
            train_args("/nonexistent/paper.toml", "bp", fresh_s, &[]),
            "cannot read config file".into(),
        ),
        (
            "output directory holds files".into(),
            train_args(&ok_cfg, "bp", occupied.to_str().expect("utf8"), &[]),
            "already holds files".into(),
        ),
        (
            "output directory cannot be created".into(),
            train_args(&ok_cfg, "bp", &format!("{a_file}/sub"), &[]),
            "cannot create --out".into(),
        ),
        (
            "truncated weights".into(),
            s(&["eval", "--weights", &truncated_weights]),
            "not a valid ffdqn weights file".into(),
        ),
        (
            "corrupted weights".into(),
            s(&["eval", "--weights", &corrupted_weights]),
            "not a valid ffdqn weights file".into(),
        ),
        (
            "weights of another shape".into(),
            s(&["eval", "--weights", &other_shape]),
            "layer 0".into(),
        ),
        (
            "damaged checkpoint".into(),
            s(&["train", "--resume", &resume_s]),
            "checkpoint".into(),
        ),
        (
            "resume a directory that is not a run".into(),
            s(&[
                "train",
                "--resume",
                dir.join("occupied").to_str().expect("utf8"),
            ]),
            "is it a directory written by".into(),
        ),
        (
            "bad flag value".into(),
            train_args(&ok_cfg, "bp", fresh_s, &["--checkpoint-every", "0"]),
            "--checkpoint-every".into(),
        ),
        (
            "--set of an unknown key".into(),
            train_args(&ok_cfg, "bp", fresh_s, &["--set", "ff.margn=0.5"]),
            "unknown field `margn`".into(),
        ),
        (
            "--set of a bad value".into(),
            train_args(&ok_cfg, "bp", fresh_s, &["--set", "train.gamma=1.5"]),
            "`train.gamma` = 1.5".into(),
        ),
        (
            "--set of a wrong type".into(),
            train_args(&ok_cfg, "bp", fresh_s, &["--set", "train.epochs=many"]),
            "invalid type".into(),
        ),
        (
            "--set without a value".into(),
            train_args(&ok_cfg, "bp", fresh_s, &["--set", "train.epochs"]),
            "KEY=VALUE".into(),
        ),
        (
            "--set into a value".into(),
            train_args(&ok_cfg, "bp", fresh_s, &["--set", "train.gamma.x=1"]),
            "`train.gamma` is a value".into(),
        ),
        (
            "--set of a new kind without its keys".into(),
            train_args(
                &ok_cfg,
                "bp",
                fresh_s,
                &["--set", "train.target-sync.kind=polyak"],
            ),
            "missing field `tau`".into(),
        ),
    ]);
    let rows: Vec<String> = cases
        .iter()
        .map(|(name, args, needle)| {
            let o = ffdqn(args);
            assert_eq!(o.status.code(), Some(2), "{name}: {}", text(&o));
            let msg = text(&o);
            assert!(
                msg.contains(needle.as_str()),
                "{name}: expected {needle:?} in {msg}"
            );
            assert!(!fresh.exists(), "{name}: wrote {}", fresh.display());
            format!(
                "{name}: {}",
                msg.lines()
                    .find(|l| l.starts_with("error"))
                    .unwrap_or("")
                    .trim()
            )
        })
        .collect();
    assert_eq!(
        std::fs::read(occupied.join("keep.txt")).expect("kept"),
        b"precious"
    );
    assert_eq!(
        std::fs::read_dir(&occupied).expect("dir").count(),
        1,
        "nothing added to an occupied --out"
    );
    assert!(!resume_bad.join("summary.json").exists());
    eprintln!("{}", rows.join("\n"));
}

/// Two `ffdqn train` processes started at once on one fresh `--out` (with different seeds):
/// exactly one runs, the other is refused with exit 2 naming the directory, and the run's
/// files all belong to the one that ran. With `--force` on both, the same. A `--resume` of a
/// run that another process is training is refused too.
#[test]
fn two_trains_on_one_out_run_exactly_one() {
    let dir = temp_dir("lock");
    let cfg = write(&dir, "run.toml", RUN);
    for (round, force) in [(0, false), (1, true)] {
        let out = dir.join(format!("out-{round}"));
        let out_s = out.to_str().expect("utf8");
        let spawn = |seed: &str| {
            let mut args = train_args(&cfg, "bp", out_s, &["--seed", seed]);
            if force {
                args.push("--force".into());
            }
            bin()
                .args(&args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn ffdqn")
        };
        let (a, b) = (spawn("1"), spawn("2"));
        let (a, b) = (
            a.wait_with_output().expect("wait"),
            b.wait_with_output().expect("wait"),
        );
        let codes = [a.status.code(), b.status.code()];
        assert!(
            codes.contains(&Some(0)) && codes.contains(&Some(2)),
            "round {round}: exit codes {codes:?}\n{}\n{}",
            text(&a),
            text(&b)
        );
        let (winner, loser) = if a.status.success() { (1, &b) } else { (2, &a) };
        assert!(
            text(loser).contains("in use by") || text(loser).contains("already holds files"),
            "{}",
            text(loser)
        );
        let info: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).expect("run.json"))
                .expect("json");
        let summary: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(out.join("summary.json")).expect("summary.json"),
        )
        .expect("json");
        assert_eq!(info["seed"], winner, "round {round}");
        assert_eq!(summary["seed"], winner, "round {round}");
    }
    // --resume while another process trains the run: refused, exit 2.
    let out = dir.join("resume");
    let out_s = out.to_str().expect("utf8");
    let long = write(
        &dir,
        "long.toml",
        "[train]\nepochs = 400\nlearning-starts = 200\n[bp]\n",
    );
    let mut first = bin()
        .args(train_args(&long, "bp", out_s, &["--checkpoint-every", "1"]))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !out.join("run.json").exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let o = ffdqn(&["train", "--resume", out_s]);
    let _ = first.kill();
    let _ = first.wait();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("in use by process"), "{}", text(&o));
    // (That a killed holder's lock is released is the SIGKILL test's: it resumes after each kill.)
    let _ = std::fs::remove_dir_all(&dir);
}

/// A config or weights path that is a FIFO (or a directory) is refused at once, exit 2,
/// instead of blocking forever on the read.
#[cfg(unix)]
#[test]
fn fifo_and_directory_inputs_are_refused_not_read() {
    let dir = temp_dir("fifo");
    let fifo = dir.join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let fifo_s = fifo.to_str().expect("utf8");
    let out = dir.join("out");
    for (args, what) in [
        (
            train_args(fifo_s, "bp", out.to_str().expect("utf8"), &[]),
            "FIFO",
        ),
        (
            vec!["eval".into(), "--weights".into(), fifo_s.to_string()],
            "FIFO",
        ),
        (
            train_args(
                dir.to_str().expect("utf8"),
                "bp",
                out.to_str().expect("utf8"),
                &[],
            ),
            "a directory",
        ),
    ] {
        let child = bin()
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let mut child = child;
        while child.try_wait().expect("wait").is_none() {
            assert!(
                std::time::Instant::now() < deadline,
                "{args:?} blocked on its input"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let o = child.wait_with_output().expect("output");
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(text(&o).contains(what), "{args:?}: {}", text(&o));
        assert!(!out.exists(), "nothing written");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Standard output on a full device: a message and exit 1, never a panic (101), and the run's
/// files are all written; on a pipe whose reader has gone: exit 0, quietly, as Unix tools do.
#[cfg(target_os = "linux")]
#[test]
fn a_full_or_closed_stdout_is_an_error_or_quiet_never_a_panic() {
    let dir = temp_dir("stdout");
    let cfg = write(&dir, "run.toml", RUN);
    let out = dir.join("run");
    let full = || std::fs::File::create("/dev/full").expect("/dev/full");
    let o = bin()
        .args(train_args(&cfg, "bp", out.to_str().expect("utf8"), &[]))
        .stdout(full())
        .output()
        .expect("runs");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("cannot write to standard output"),
        "{}",
        text(&o)
    );
    assert!(out.join("summary.json").exists() && out.join("weights.json").exists());
    let weights = out.join("weights.json");
    let weights = weights.to_str().expect("utf8");
    for cmd in [
        vec!["eval", "--weights", weights, "--episodes", "2"],
        vec!["play", "--weights", weights],
    ] {
        let o = bin().args(&cmd).stdout(full()).output().expect("runs");
        assert_eq!(o.status.code(), Some(1), "{cmd:?}: {}", text(&o));
        assert!(
            text(&o).contains("cannot write to standard output"),
            "{cmd:?}"
        );
        // A reader that closes the pipe at once.
        let mut child = bin()
            .args(&cmd)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        drop(child.stdout.take());
        let o = child.wait_with_output().expect("wait");
        assert_eq!(o.status.code(), Some(0), "{cmd:?}: {}", text(&o));
        assert!(!text(&o).contains("panicked"), "{cmd:?}: {}", text(&o));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Sizes that wrap or that no machine holds are refused with the key named before anything is
/// allocated or written (they were a SIGSEGV, an abort or a `capacity overflow` panic), and
/// `--max-memory` refuses what would not fit a given budget.
#[test]
fn absurd_sizes_are_named_errors_before_anything_is_written() {
    let dir = temp_dir("sizes");
    let cfg = write(&dir, "run.toml", RUN);
    let out = dir.join("out");
    let out_s = out.to_str().expect("utf8");
    for (set, key, extra) in [
        (
            "network.hidden=[4611686018427387904]",
            "network.hidden",
            None,
        ),
        (
            "network.hidden=[128, 9223372036854775807]",
            "network.hidden",
            None,
        ),
        (
            "train.buffer-size=1000000000000000",
            "train.buffer-size",
            None,
        ),
        ("network.hidden=[30000, 30000]", "network.hidden", Some("1")),
        (
            "train.buffer-size=100000000",
            "train.buffer-size",
            Some("0.5"),
        ),
    ] {
        let mut args = train_args(&cfg, "bp", out_s, &["--set", set]);
        if let Some(gib) = extra {
            args.extend(["--max-memory".to_string(), gib.to_string()]);
        }
        let o = ffdqn(&args);
        assert_eq!(o.status.code(), Some(2), "{set}: {}", text(&o));
        assert!(text(&o).contains(key), "{set}: {}", text(&o));
        if extra.is_some() {
            assert!(text(&o).contains("--max-memory"), "{set}: {}", text(&o));
        }
        assert!(!out.exists(), "{set}: nothing written");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// SIGINT, SIGTERM or SIGHUP: the current epoch finishes, its checkpoint is written (with or
/// without --checkpoint-every), the process says what was kept and the `--resume` command and
/// exits 128 + the signal; resuming ends exactly like the run never interrupted.
#[cfg(unix)]
#[test]
fn a_signal_checkpoints_says_how_to_resume_and_resumes_bit_identically() {
    let dir = temp_dir("signal");
    let cfg = write(
        &dir,
        "run.toml",
        "[train]\nepochs = 60\nepisodes-per-epoch = 2\nlearning-starts = 200\nbuffer-size = 5000\neval-episodes = 1\nfinal-eval-episodes = 3\n[bp]\n",
    );
    let straight = dir.join("straight");
    let o = train(&cfg, "bp", &straight, &[]);
    assert!(o.status.success(), "{}", text(&o));
    for (signal_name, code) in [("INT", 130), ("TERM", 143), ("HUP", 129)] {
        let out = dir.join(format!("sig-{signal_name}"));
        let child = spawn(&train_args(&cfg, "bp", out.to_str().expect("utf8"), &[]));
        wait_for_lines(&out.join("metrics.csv"), 3);
        signal(&child, signal_name);
        let o = child.wait_with_output().expect("wait");
        let msg = text(&o);
        assert_eq!(o.status.code(), Some(code), "SIG{signal_name}: {msg}");
        assert!(
            msg.contains(&format!("SIG{signal_name}: bp seed 0 stopped at env step"))
                // The command as it can be typed again: the binary's own path.
                && msg.contains(&format!(
                    "continue with `{} train --resume",
                    env!("CARGO_BIN_EXE_ffdqn")
                )),
            "{msg}"
        );
        assert!(
            out.join("checkpoint.bin").exists(),
            "SIG{signal_name}: no checkpoint"
        );
        let o = ffdqn(&["train", "--resume", out.to_str().expect("utf8")]);
        assert!(o.status.success(), "{}", text(&o));
        assert_eq!(
            metrics_without_time(&out),
            metrics_without_time(&straight),
            "SIG{signal_name}"
        );
        assert_eq!(
            std::fs::read(out.join("weights.json")).expect("weights"),
            std::fs::read(straight.join("weights.json")).expect("weights")
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--on-divergence skip-batch` is recorded in the run: a plain `--resume` of an interrupted
/// skip-batch run keeps skipping (it switched to `stop` and failed before).
#[cfg(unix)]
#[test]
fn resume_keeps_the_runs_on_divergence() {
    let dir = temp_dir("resume-skip");
    let cfg = write(
        &dir,
        "huge-lr.toml",
        "[bp]\noptimizer = { kind = \"adam\", lr = 1e6 }\n[train]\nepochs = 40\nepisodes-per-epoch = 10\nlearning-starts = 128\nbuffer-size = 2000\neval-episodes = 1\nfinal-eval-episodes = 3\n",
    );
    let out = dir.join("run");
    let child = spawn(&train_args(
        &cfg,
        "bp",
        out.to_str().expect("utf8"),
        &["--on-divergence", "skip-batch"],
    ));
    wait_for_lines(&out.join("metrics.csv"), 3);
    signal(&child, "INT");
    let o = child.wait_with_output().expect("wait");
    assert_eq!(o.status.code(), Some(130), "{}", text(&o));
    let o = ffdqn(&["train", "--resume", out.to_str().expect("utf8")]);
    assert!(o.status.success(), "{}", text(&o));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).expect("summary"))
            .expect("json");
    assert!(summary["diverged_batches_skipped"].as_u64().expect("count") > 0);
    let _ = std::fs::remove_dir_all(&dir);
}
