//! Helpers shared by the CLI's end-to-end tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A command for the `ffdqn` binary under test.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ffdqn"))
}

/// Runs `ffdqn` with `args` to completion.
pub fn ffdqn<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    bin().args(args).output().expect("ffdqn runs")
}

/// The arguments `train --config CFG --agent AGENT --out OUT`, then `extra`.
pub fn train_args(cfg: &str, agent: &str, out: &str, extra: &[&str]) -> Vec<String> {
    ["train", "--config", cfg, "--agent", agent, "--out", out]
        .iter()
        .chain(extra)
        .map(|a| a.to_string())
        .collect()
}

/// Runs `ffdqn train --config CFG --agent AGENT --out OUT extra…` to completion.
pub fn train(cfg: &str, agent: &str, out: &Path, extra: &[&str]) -> Output {
    ffdqn(&train_args(cfg, agent, out.to_str().expect("utf8"), extra))
}

/// Everything the process printed.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A fresh, empty temporary directory for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ffdqn-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Writes `body` to `dir/name` and returns the path as a string.
pub fn write(dir: &Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, body).expect("write");
    p.display().to_string()
}

/// A file's text; a missing file fails the test naming it.
pub fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// An experiment's `runs.csv` without its last column, the wall time.
pub fn runs_without_time(out: &Path) -> Vec<String> {
    read(&out.join("runs.csv"))
        .lines()
        .map(|l| l.rsplit_once(',').map_or(l, |(head, _)| head).to_string())
        .collect()
}

/// Starts `ffdqn` with `args`, its output captured, without waiting for it.
pub fn spawn<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> std::process::Child {
    bin()
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn")
}

/// Waits (at most a minute) until `metrics` has `lines` lines: the header and an epoch or more.
pub fn wait_for_lines(metrics: &Path, lines: usize) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::fs::read_to_string(metrics).map_or(0, |m| m.lines().count()) < lines {
        assert!(std::time::Instant::now() < deadline, "no epoch finished");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Sends `SIG<name>` (`INT`, `TERM`, `HUP`) to `child`.
pub fn signal(child: &std::process::Child, name: &str) {
    let sent = Command::new("kill")
        .args([format!("-{name}"), child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success(), "kill -{name} failed");
}
