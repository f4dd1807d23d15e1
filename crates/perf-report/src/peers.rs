//! The peers, run beside ours: the PyTorch DQN (`scripts/dqn_peer.py`), the other scripts
//! that print one JSON line, Gymnasium's own stepping; and where the project and cargo are.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The PyTorch peer's whole-loop run.
pub struct Peer {
    /// Its env steps per second.
    pub env_steps_per_s: f64,
    /// Its microsecond per update (its own microbench).
    pub us_per_update: f64,
    /// The env steps it ran.
    pub steps: u64,
}

/// A python on the PATH.
pub fn python() -> Option<String> {
    ["python3", "python"]
        .into_iter()
        .find(|p| {
            Command::new(p)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .map(String::from)
}

/// Runs `scripts/dqn_peer.py --mode <mode>` for `steps` env steps, one thread.
pub fn run_peer(py: &str, mode: &str, steps: u64) -> Result<Peer> {
    let script = project_root().join("scripts/dqn_peer.py");
    let out = Command::new(py)
        .arg(&script)
        .args([
            "--mode",
            mode,
            "--seed",
            "1",
            "--threads",
            "1",
            "--eps-start",
            "0.1",
            "--eps-end",
            "0.01",
            "--target-freq",
            "1000",
        ])
        .args(["--total-steps", &steps.to_string(), "--microbench", "2000"])
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    if !out.status.success() {
        bail!(
            "{} --mode {mode} failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
    }
    let v = last_line_json(&out.stdout)?;
    Ok(Peer {
        env_steps_per_s: v["env_steps_per_s"].as_f64().context("env_steps_per_s")?,
        us_per_update: v["microbench"]["us_per_update"]
            .as_f64()
            .context("microbench")?,
        steps: v["total_steps"].as_u64().unwrap_or(steps),
    })
}

/// The JSON that `scripts/<script>` prints last when `py` runs it with `args` from the project
/// root; `None` if it cannot run or prints none.
pub fn script_json(py: &str, script: &str, args: &[&str]) -> Option<serde_json::Value> {
    let out = Command::new(py)
        .arg(project_root().join("scripts").join(script))
        .args(args)
        .current_dir(project_root())
        .output()
        .ok()?;
    last_line_json(&out.stdout).ok()
}

/// The JSON a peer script prints as its last line of output.
fn last_line_json(stdout: &[u8]) -> Result<serde_json::Value> {
    let text = String::from_utf8_lossy(stdout);
    let line = text.lines().last().unwrap_or("");
    serde_json::from_str(line).context("peer output is not JSON")
}

/// Gymnasium's own stepping rate of `env_id` (random actions, resets included).
pub fn gymnasium_steps_per_s(py: &str, env_id: &str, n_actions: usize) -> Option<f64> {
    let code = format!(
        "import time,gymnasium as gym,numpy as np\n\
env=gym.make('{env_id}');env.reset(seed=0);rng=np.random.default_rng(0);a=rng.integers(0,{n_actions},200000)\n\
t=time.perf_counter()\n\
for i in range(200000):\n    _,_,te,tr,_=env.step(int(a[i]))\n    if te or tr: env.reset()\n\
print(200000/(time.perf_counter()-t))"
    );
    let out = Command::new(py).args(["-c", &code]).output().ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

/// The workspace root: two levels above this crate's manifest.
pub fn project_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or(manifest)
}

/// The cargo that runs us.
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}
