//! `perf-report` (run by `cargo xtask bench`): every speed figure of the project, measured side
//! by side in one run, written to docs/PERFORMANCE.md. It drives `cargo bench` for the criterion
//! benches, so it runs from a source checkout.
//!
//! * criterion benches (environment, replay sampling, FF step vs BP backward per layer);
//! * one BP update and one FF update (FF step on every minibatch, and at the paper preset's
//!   probability 0.1), interleaved chunk by chunk so machine noise hits both alike; medians;
//! * the GFLOP/s of a whole update against a large square gemm in the same run;
//! * whole training loops on the paper preset and on the PyTorch peer's settings;
//! * with `--peer`, `scripts/dqn_peer.py` run beside ours for the same number of
//!   environment steps, one thread each, and Gymnasium's own CartPole stepping rate.

use agents::rng::{Stream, stream};
use agents::train::run_epoch;
use agents::{Agent, AgentKind, Config, LoopState, build};
use anyhow::{Context, Result, bail};
use ff_core::MatRef;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use replay::{Batch, ReplayBuffer, Sampling};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const USAGE: &str = "\
usage: cargo xtask bench [--peer] [--steps N] [--out FILE]   (runs perf-report)

  --peer      also run the PyTorch peer (scripts/dqn_peer.py; needs python3 with torch
              and gymnasium) and Gymnasium's CartPole, side by side with ours
  --steps N   environment steps of each whole-loop run (default 20000)
  --out FILE  where the report goes (default docs/PERFORMANCE.md)
";

fn load(name: &str) -> Result<Config> {
    Ok(Config::load(&project_root().join("configs").join(name))?)
}

/// A replay buffer of `n` plausible transitions of `env` (small states that move a little) to
/// sample update batches from. The values do not matter to a timing; the shapes do.
fn filled_buffer(n: usize, env: envs::EnvId) -> Result<ReplayBuffer> {
    let (obs_dim, n_actions) = (env.obs_dim(), env.n_actions());
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut buffer = ReplayBuffer::new(n, obs_dim)?;
    let (mut s, mut s2) = (vec![0.0f32; obs_dim], vec![0.0f32; obs_dim]);
    for _ in 0..n {
        s.iter_mut().for_each(|x| *x = rng.gen_range(-0.2..0.2));
        for (next, &x) in s2.iter_mut().zip(&s) {
            *next = x + rng.gen_range(-0.05..0.05);
        }
        let action = rng.gen_range(0..n_actions as u32);
        buffer.push(&s, action, 1.0, &s2, rng.gen_bool(0.05))?;
    }
    Ok(buffer)
}

/// Median microseconds per call of `work` for each agent, timed in interleaved chunks of
/// `per_chunk` calls (so machine noise hits every agent alike) after two warm-up rounds.
/// `work` gets the agent and the call's index within its chunk.
fn interleaved_medians(
    agents: &mut [(&str, Box<dyn Agent + Send>)],
    chunks: usize,
    per_chunk: usize,
    mut work: impl FnMut(&mut dyn Agent, usize) -> Result<()>,
) -> Result<Vec<f64>> {
    let mut times = vec![Vec::new(); agents.len()];
    for round in 0..chunks + 2 {
        for (i, (_, agent)) in agents.iter_mut().enumerate() {
            let t0 = Instant::now();
            for call in 0..per_chunk {
                work(agent.as_mut(), call)?;
            }
            if round >= 2 {
                times[i].push(t0.elapsed().as_secs_f64() * 1e6 / per_chunk as f64);
            }
        }
    }
    Ok(times.iter().map(|t| lab::stats::median(t)).collect())
}

/// Median microseconds per greedy action on one state, for each agent's network, over
/// observations from the replay buffer.
fn time_acting(agents: &mut [(&str, Box<dyn Agent + Send>)]) -> Result<Vec<f64>> {
    let per_chunk = 1_000;
    let buffer = filled_buffer(per_chunk, envs::EnvId::CartPole)?;
    let mut batch = Batch::default();
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    buffer.sample_into(
        &mut rng,
        per_chunk,
        Sampling::WithoutReplacement,
        &mut batch,
    )?;
    interleaved_medians(agents, 30, per_chunk, |agent, i| {
        std::hint::black_box(agent.act(&batch.obs[4 * i..4 * i + 4])?);
        Ok(())
    })
}

/// Median microseconds per update of each agent, sampling included.
fn time_updates(
    agents: &mut [(&str, Box<dyn Agent + Send>)],
    chunks: usize,
    per_chunk: usize,
) -> Result<Vec<f64>> {
    let buffer = filled_buffer(5_000, envs::EnvId::CartPole)?;
    let mut batch = Batch::default();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut urng = stream(0, Stream::Update);
    interleaved_medians(agents, chunks, per_chunk, |agent, _| {
        buffer.sample_into(&mut rng, 128, Sampling::WithoutReplacement, &mut batch)?;
        agent.update(&batch, &mut urng)?;
        Ok(())
    })
}

/// The BP update at the zoo's size (SB3's MlpPolicy with net_arch [256, 256], batch 128,
/// Acrobot-v1's 6 inputs and 3 actions, `configs/zoo/acrobot.toml`) as a report section: its
/// median time, GFLOP/s and share of the single-core gemm peak `gemm_peak`; with `py` (a
/// python with stable-baselines3), SB3's gradient step at the same size, one thread each.
fn zoo_update_section(py: Option<&str>, gemm_peak: f64) -> Result<String> {
    let cfg = Config::load(&project_root().join("configs/zoo/acrobot.toml"))?;
    let buffer = filled_buffer(10_000, cfg.env().id)?;
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let mut agents: Vec<(&str, Box<dyn Agent + Send>)> = vec![(
        "bp-zoo",
        build(AgentKind::Bp, &cfg, &mut stream(0, Stream::Init))?,
    )];
    let t = cfg.train();
    let mut batch = Batch::default();
    let mut urng = stream(0, Stream::Update);
    let us = interleaved_medians(&mut agents, 30, 50, |agent, _| {
        buffer.sample_into(&mut rng, t.batch_size, t.sampling, &mut batch)?;
        agent.update(&batch, &mut urng)?;
        Ok(())
    })?[0];
    let dims: Vec<usize> = std::iter::once(cfg.env().id.obs_dim())
        .chain(cfg.hidden().iter().copied())
        .chain(std::iter::once(cfg.env().id.n_actions()))
        .collect();
    let flop = 2.0 * t.batch_size as f64 * macs_per_sample(&dims, false);
    let gflops = flop / (us * 1e-6) / 1e9;
    let mut r = String::new();
    let _ = writeln!(
        r,
        "\n## At SB3's network size\n\nOne BP-DQN update as `configs/zoo/acrobot.toml` makes it: batch {}, {:?}, Adam with gradient clipping, sampling included ({:.1} MFLOP: target forward, online forward, weight and input gradients).\n\n| quantity | value |\n|---|---|",
        t.batch_size,
        dims,
        flop / 1e6
    );
    let _ = writeln!(r, "| one BP update | {us:.1} µs |");
    let _ = writeln!(
        r,
        "| its GFLOP/s, and share of the single-core gemm peak ({gemm_peak:.1} GFLOP/s) | {gflops:.1} GFLOP/s, {:.0}% |",
        100.0 * gflops / gemm_peak
    );
    let sb3 = py.and_then(|py| {
        script_json(
            py,
            "sb3_peer.py",
            &[
                "--config",
                "configs/zoo/acrobot.toml",
                "--bench-update",
                "1000",
            ],
        )?["us_per_update"]
            .as_f64()
    });
    match sb3 {
        Some(sb3_us) => {
            let _ = writeln!(
                r,
                "| stable-baselines3 2.9.2's gradient step, same size, one torch thread (`scripts/sb3_peer.py --bench-update`) | {sb3_us:.1} µs: ours is {:.1}× faster |",
                sb3_us / us
            );
        }
        None => {
            let _ = writeln!(
                r,
                "| stable-baselines3's gradient step | not measured: run with `--peer` and a python with stable-baselines3 (`pip install stable-baselines3==2.9.2 gymnasium==1.4.0 torch`) |"
            );
        }
    }
    Ok(r)
}

/// A buffer of `n` transitions of `id` under the random policy, stored as the training loop
/// stores them (bits for MinAtar's grids).
fn env_buffer(n: usize, id: envs::EnvId) -> Result<ReplayBuffer> {
    use envs::Environment;
    let mut env = id.make(None)?;
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let storage = replay::Storage::for_observations(id.binary_observations());
    let mut buffer = ReplayBuffer::with_storage(n, id.obs_dim(), storage)?;
    let (mut s, mut s2) = (vec![0.0f32; id.obs_dim()], vec![0.0f32; id.obs_dim()]);
    env.reset(&mut rng, &mut s);
    for _ in 0..n {
        let a = rng.gen_range(0..id.n_actions());
        let t = env.step(a, &mut s2)?;
        buffer.push(&s, a as u32, t.reward, &s2, t.terminated)?;
        if t.terminated || t.truncated {
            env.reset(&mut rng, &mut s);
        } else {
            std::mem::swap(&mut s, &mut s2);
        }
    }
    Ok(buffer)
}

/// Resident memory of this process, from /proc/self/status (None off Linux).
fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// MinAtar as a report section: the games' steps against the package (with `py`), the update at
/// the ARQ protocol's size with the first layer gathered and dense and against PyTorch (with
/// `py`), and the ARQ protocol's replay buffer filled and measured.
fn minatar_section(py: Option<&str>, crit: &Criterion) -> Result<String> {
    let mut r = String::new();
    let _ = writeln!(r, "\n## MinAtar\n");
    // Steps.
    let package = py.and_then(|py| script_json(py, "minatar_peer.py", &["--env-steps", "50000"]));
    let _ = writeln!(
        r,
        "Steps of each game (v1, random actions, resets included): with the grid written as bits (`MinAtar::step_bits` and `reset_bits`: the like-for-like measure, since the package's `state()` hands out the grid as booleans, and the form the replay stores), and through the `Environment` trait with the `f32` grid the training loop feeds the network (a conversion the package leaves to its user). The package: minatar {} through its gym wrapper (`scripts/minatar_peer.py --env-steps`), same run.\n",
        package
            .as_ref()
            .and_then(|p| p["minatar"].as_str())
            .unwrap_or("not measured (run with `--peer` and a python with `pip install minatar==1.0.15 gymnasium`)")
    );
    let _ = writeln!(
        r,
        "| game | ours, f32 grid | ours, bit grid | the package | ours ÷ package (f32, bits) |\n|---|---|---|---|---|"
    );
    for id in envs::EnvId::ALL {
        let envs::EnvId::MinAtar {
            minimal_actions: true,
            ..
        } = id
        else {
            continue;
        };
        let key = id.name().replace('/', "_");
        let f32_rate = crit.get(&format!("env_step/{key}")).map(|ns| 1e9 / ns);
        let bits_rate = crit
            .get(&format!("minatar_step_bits/{key}"))
            .map(|ns| 1e9 / ns);
        let theirs = package
            .as_ref()
            .and_then(|p| p["steps_per_s"][id.name()].as_f64());
        let m = |v: Option<f64>| v.map_or("–".into(), |v| format!("{:.2} M/s", v / 1e6));
        let ratio = match (f32_rate, bits_rate, theirs) {
            (Some(a), Some(b), Some(t)) => format!("{:.0}×, {:.0}×", a / t, b / t),
            _ => "–".into(),
        };
        let _ = writeln!(
            r,
            "| {id} | {} | {} | {} | {ratio} |",
            m(f32_rate),
            m(bits_rate),
            theirs.map_or("–".into(), |t| format!("{:.0} k/s", t / 1e3))
        );
    }
    // The update at ARQ's size.
    let base = Config::load(&project_root().join("configs/minatar/arq.toml"))?;
    let cfg = base.for_agent(
        AgentKind::Bp,
        &["env.id=\"MinAtar/Seaquest-v1\"".to_string()],
    )?;
    let id = cfg.env().id;
    let buffer = env_buffer(10_000, id)?;
    let mut gathered = agents::BpAgent::new(&cfg, &mut stream(0, Stream::Init))?;
    let mut dense = gathered.clone();
    dense.set_binary_gather(false);
    let t = cfg.train();
    let mut batch = Batch::default();
    // One update of each from the same state on the same batch: the losses agree to rounding.
    buffer.sample_into(
        &mut ChaCha8Rng::seed_from_u64(9),
        t.batch_size,
        t.sampling,
        &mut batch,
    )?;
    let (mut u1, mut u2) = (stream(0, Stream::Update), stream(0, Stream::Update));
    let (l1, l2) = (
        agents::Learner::update(&mut gathered, &batch, &mut u1)?,
        agents::Learner::update(&mut dense, &batch, &mut u2)?,
    );
    let mut agents: Vec<(&str, Box<dyn Agent + Send>)> =
        vec![("gathered", Box::new(gathered)), ("dense", Box::new(dense))];
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let mut urng = stream(0, Stream::Update);
    let us = interleaved_medians(&mut agents, 10, 5, |agent, _| {
        buffer.sample_into(&mut rng, t.batch_size, t.sampling, &mut batch)?;
        agent.update(&batch, &mut urng)?;
        Ok(())
    })?;
    let ones = {
        let mut n = 0usize;
        for slot in 0..buffer.len().min(1000) {
            if let Some(tr) = buffer.get(slot) {
                n += tr.obs.to_vec().iter().filter(|&&v| v == 1.0).count();
            }
        }
        n as f64 / buffer.len().min(1000) as f64
    };
    let _ = writeln!(
        r,
        "\nOne BP-DQN update at the ARQ protocol's size (`configs/minatar/arq.toml` on {id}: MLP {:?} on {} inputs, of which {ones:.0} are 1 on average, batch {}, double-Q targets, Adam with clipping, sampling from a bit-packed replay included). The first layer's product is the gather-add / scatter-add on binary input, or the dense product (`BpAgent::set_binary_gather(false)`); PyTorch is `scripts/minatar_peer.py --bench-update` on the same game's grids, one thread.\n\n| quantity | value |\n|---|---|",
        cfg.hidden(),
        id.obs_dim(),
        t.batch_size
    );
    let _ = writeln!(
        r,
        "| one update, first layer gathered | {:.2} ms |",
        us[0] / 1e3
    );
    let _ = writeln!(
        r,
        "| one update, first layer dense | {:.2} ms: the gather is {:.1}× cheaper |",
        us[1] / 1e3,
        us[1] / us[0]
    );
    let _ = writeln!(
        r,
        "| TD loss of one update from the same state, gathered − dense | {:.1e} (of {l1:.4}) |",
        (l1 - l2).abs()
    );
    let torch = py.and_then(|py| {
        script_json(py, "minatar_peer.py", &["--bench-update", "50"])?["us_per_update"].as_f64()
    });
    let _ = writeln!(
        r,
        "| PyTorch's update, same size, one thread | {} |",
        torch.map_or(
            "not measured (run with `--peer` and a python with torch and minatar)".into(),
            |p| format!("{:.2} ms: ours is {:.1}× faster", p / 1e3, p / us[0])
        )
    );
    // The ARQ protocol's replay, filled.
    let before = rss_bytes();
    let started = Instant::now();
    let big = env_buffer(t.buffer_size, id)?;
    let after = rss_bytes();
    let _ = writeln!(
        r,
        "| the ARQ protocol's replay ({} transitions of {id}'s grids, as bits), filled | {:.2} GiB of arrays; resident memory grew {} (filled in {:.0} s) |",
        t.buffer_size,
        big.bytes() as f64 / (1u64 << 30) as f64,
        match (before, after) {
            (Some(b), Some(a)) => format!(
                "{:.2} GiB",
                a.saturating_sub(b) as f64 / (1u64 << 30) as f64
            ),
            _ => "(not measured off Linux)".into(),
        },
        started.elapsed().as_secs_f64()
    );
    drop(big);
    Ok(r)
}

/// Which gemm a GFLOP/s figure measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gemm {
    /// ff-core's own packed gemm, which every product of the training step runs on.
    Ours,
    /// nalgebra's `gemm` (matrixmultiply), the reference the targets are set against.
    Nalgebra,
}

/// GFLOP/s of an `m × k` by `k × n` f32 product, median of `reps` timings.
fn gemm_gflops(which: Gemm, m: usize, k: usize, n: usize, reps: usize) -> f64 {
    let a = nalgebra::DMatrix::<f32>::from_fn(m, k, |i, j| ((i * 7 + j) % 13) as f32 * 0.1);
    let b = nalgebra::DMatrix::<f32>::from_fn(k, n, |i, j| ((i + 3 * j) % 11) as f32 * 0.1);
    let mut c = nalgebra::DMatrix::<f32>::zeros(m, n);
    let mut out = ff_core::Buf::default();
    let t: Vec<f64> = (0..reps)
        .map(|_| {
            let t0 = Instant::now();
            match which {
                Gemm::Ours => {
                    ff_core::mat::matmul(MatRef::from(&a), MatRef::from(&b), &mut out)
                        .expect("shapes agree");
                    std::hint::black_box(&out);
                }
                Gemm::Nalgebra => {
                    c.gemm(1.0, &a, &b, 0.0);
                    std::hint::black_box(&c);
                }
            }
            t0.elapsed().as_secs_f64()
        })
        .collect();
    2.0 * (m * k * n) as f64 / lab::stats::median(&t) / 1e9
}

/// Multiply-adds of one update per sample, from the layer shapes.
fn macs_per_sample(dims: &[usize], ff: bool) -> f64 {
    let layers: Vec<f64> = dims.windows(2).map(|w| (w[0] * w[1]) as f64).collect();
    let forward: f64 = layers.iter().sum();
    let (hidden, head) = layers.split_at(layers.len() - 1);
    if ff {
        // Target forward; per hidden layer the FF step's forward, its weight gradient and the
        // forward with the updated weights; the head's forward and weight gradient.
        forward + 3.0 * hidden.iter().sum::<f64>() + 2.0 * head[0]
    } else {
        // Target forward, online forward, weight gradients, input gradients (not of layer 1).
        3.0 * forward + (forward - layers[0])
    }
}

/// Whole-loop training speed: epochs of `cfg` until at least `steps` environment steps.
fn whole_loop(kind: AgentKind, cfg: &Config, steps: u64) -> Result<(u64, f64)> {
    let mut agent = build(kind, cfg, &mut stream(0, Stream::Init))?;
    let mut st = LoopState::new(cfg, 0)?;
    let mut batch = Batch::default();
    let t0 = Instant::now();
    let cfg = cfg.with_overrides(&[format!("train.epochs={}", u32::MAX)])?;
    while st.env_steps < steps {
        run_epoch(agent.as_mut(), &cfg, 0, &mut st, &mut batch, t0, &|| false)?;
    }
    Ok((st.env_steps, t0.elapsed().as_secs_f64()))
}

struct Criterion {
    /// `(group/id, median ns per iteration)`.
    rows: Vec<(String, f64)>,
}

impl Criterion {
    fn get(&self, id: &str) -> Option<f64> {
        self.rows.iter().find(|(k, _)| k == id).map(|(_, v)| *v)
    }
}

fn run_criterion() -> Result<Criterion> {
    let root = project_root();
    for (package, bench) in [
        ("env-cartpole", "step"),
        ("envs", "step"),
        ("replay", "sample"),
        ("ff-core", "ff_vs_bp"),
    ] {
        let status = Command::new(cargo())
            .current_dir(&root)
            .args([
                "bench",
                "-p",
                package,
                "--bench",
                bench,
                "--",
                "--warm-up-time",
                "1",
                "--measurement-time",
                "3",
            ])
            .status()
            .with_context(|| format!("running cargo bench -p {package}"))?;
        if !status.success() {
            bail!("cargo bench -p {package} --bench {bench} failed ({status})");
        }
    }
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("criterion");
    let mut rows = Vec::new();
    collect_estimates(&dir, &dir, &mut rows)?;
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Criterion { rows })
}

fn collect_estimates(base: &Path, dir: &Path, rows: &mut Vec<(String, f64)>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if !path.is_dir() {
            continue;
        }
        let est = path.join("new").join("estimates.json");
        if est.exists() {
            let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&est)?)?;
            let ns = v["median"]["point_estimate"]
                .as_f64()
                .context("median in estimates.json")?;
            let id = path
                .strip_prefix(base)?
                .to_string_lossy()
                .replace('\\', "/");
            rows.push((id, ns));
        } else if path.file_name().is_some_and(|n| n != "report") {
            collect_estimates(base, &path, rows)?;
        }
    }
    Ok(())
}

struct Peer {
    env_steps_per_s: f64,
    us_per_update: f64,
    steps: u64,
}

fn python() -> Option<String> {
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

fn run_peer(py: &str, mode: &str, steps: u64) -> Result<Peer> {
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
fn script_json(py: &str, script: &str, args: &[&str]) -> Option<serde_json::Value> {
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
fn gymnasium_steps_per_s(py: &str, env_id: &str, n_actions: usize) -> Option<f64> {
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
fn project_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or(manifest)
}

/// The cargo that runs us.
fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}

fn run(args: &[String]) -> Result<()> {
    let (mut peer, mut steps, mut out) =
        (false, 20_000u64, project_root().join("docs/PERFORMANCE.md"));
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--peer" => peer = true,
            "--steps" => {
                let v = it.next().context("--steps needs a value")?;
                steps = v
                    .parse()
                    .ok()
                    .filter(|&n| n >= 2_000)
                    .with_context(|| format!("--steps {v}: expected an integer >= 2000"))?;
            }
            "--out" => out = PathBuf::from(it.next().context("--out needs a value")?),
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(());
            }
            other => bail!("unknown option `{other}`\n\n{USAGE}"),
        }
    }
    let started = Instant::now();
    eprintln!("criterion benches (environment, replay, FF step vs BP backward)…");
    let crit = run_criterion()?;

    eprintln!("updates, interleaved…");
    let paper = load("paper.toml")?;
    let ff_every = paper.with_overrides(&["ff.update-prob=1.0"])?;
    let paper_ln = paper.with_overrides(&["network.cell-norm=\"after-relu\""])?;
    let mut agents: Vec<(&str, Box<dyn Agent + Send>)> = vec![
        (
            "bp",
            build(AgentKind::Bp, &paper, &mut stream(0, Stream::Init))?,
        ),
        (
            "ff-every",
            build(AgentKind::Ff, &ff_every, &mut stream(0, Stream::Init))?,
        ),
        (
            "ff-0.1",
            build(AgentKind::Ff, &paper, &mut stream(0, Stream::Init))?,
        ),
        (
            "local-td",
            build(AgentKind::LocalTd, &paper, &mut stream(0, Stream::Init))?,
        ),
        (
            "goodness-q",
            build(AgentKind::GoodnessQ, &paper, &mut stream(0, Stream::Init))?,
        ),
        (
            "bp-ln",
            build(AgentKind::Bp, &paper_ln, &mut stream(0, Stream::Init))?,
        ),
        (
            "local-td-ln",
            build(AgentKind::LocalTd, &paper_ln, &mut stream(0, Stream::Init))?,
        ),
    ];
    let upd = time_updates(&mut agents, 30, 100)?;
    let act = time_acting(&mut agents[..2])?;
    let (bp_us, ff_us, ff01_us) = (upd[0], upd[1], upd[2]);
    let (local_us, goodness_us, bp_ln_us, local_ln_us) = (upd[3], upd[4], upd[5], upd[6]);
    let dims: Vec<usize> = std::iter::once(4)
        .chain(paper.hidden().iter().copied())
        .chain(std::iter::once(2))
        .collect();
    let bp_gflops = 2.0 * 128.0 * macs_per_sample(&dims, false) / (bp_us * 1e-6) / 1e9;
    let ff_gflops = 2.0 * 128.0 * macs_per_sample(&dims, true) / (ff_us * 1e-6) / 1e9;
    eprintln!("square gemm…");
    let big = [Gemm::Ours, Gemm::Nalgebra].map(|g| gemm_gflops(g, 1024, 1024, 1024, 15));
    let layer = [Gemm::Ours, Gemm::Nalgebra].map(|g| gemm_gflops(g, 64, 128, 128, 2000));
    // Shares are taken against the faster of the two large gemms, so a slow gemm of our own
    // cannot flatter them.
    let gemm_big = big[0].max(big[1]);
    eprintln!("the update at SB3's size…");
    let py = python();
    let zoo_section = zoo_update_section(py.as_deref().filter(|_| peer), gemm_big)?;
    let minatar_section = minatar_section(py.as_deref().filter(|_| peer), &crit)?;

    eprintln!("whole training loops…");
    let peer_bp = load("peer-bp.toml")?;
    let peer_ff = load("peer-ff.toml")?;
    let loops = [
        ("BP-DQN, paper.toml", AgentKind::Bp, &paper),
        (
            "FF-DQN, paper.toml (FF step on 10% of minibatches)",
            AgentKind::Ff,
            &paper,
        ),
        (
            "BP-DQN, peer settings (peer-bp.toml)",
            AgentKind::Bp,
            &peer_bp,
        ),
        (
            "FF-DQN, peer settings, FF step every minibatch (peer-ff.toml)",
            AgentKind::Ff,
            &peer_ff,
        ),
    ];
    let mut loop_rows = Vec::new();
    for (label, kind, cfg) in loops {
        let (n, secs) = whole_loop(kind, cfg, steps)?;
        eprintln!("  {label}: {:.0} env steps/s", n as f64 / secs);
        loop_rows.push((label, n, secs));
    }

    let mut peer_rows = Vec::new();
    let mut gym_rate = None;
    let mut gym_env_rates: Vec<(envs::EnvId, f64)> = Vec::new();
    let mut peer_note = String::new();
    if peer {
        match &py {
            None => peer_note = "python3 was not found: the peer comparison was skipped.".into(),
            Some(py) => {
                let ok = Command::new(py)
                    .args(["-c", "import torch, gymnasium"])
                    .output()
                    .is_ok_and(|o| o.status.success());
                if !ok {
                    peer_note = "python3 lacks torch or gymnasium (`pip install torch gymnasium`): the peer comparison was skipped.".into();
                } else {
                    for (mode, ours) in [("dqn", 2usize), ("ff", 3usize)] {
                        eprintln!("peer --mode {mode}…");
                        let p = run_peer(py, mode, loop_rows[ours].1)?;
                        peer_rows.push((mode, p, ours));
                    }
                    gym_rate = gymnasium_steps_per_s(py, "CartPole-v1", 2);
                    for id in envs::EnvId::ALL
                        .into_iter()
                        .filter(|id| !id.binary_observations())
                    {
                        if let Some(rate) = gymnasium_steps_per_s(py, id.name(), id.n_actions()) {
                            gym_env_rates.push((id, rate));
                        }
                    }
                }
            }
        }
    } else {
        peer_note = "Run with `--peer` to measure the PyTorch peer beside ours.".into();
    }

    // The report.
    let mut r = String::new();
    let _ = writeln!(r, "# Performance\n");
    let _ = writeln!(
        r,
        "Measured by `cargo xtask bench{}` on {} in one run ({:.0} s). Every figure is a median; ratios compare figures from the same run. One thread throughout.\n",
        if peer { " --peer" } else { "" },
        lab::machine(),
        started.elapsed().as_secs_f64()
    );
    let _ = writeln!(r, "## Summary\n");
    let _ = writeln!(r, "| quantity | value |\n|---|---|");
    let env_single = crit
        .get("cartpole_step/single")
        .map(|ns| 10_000.0 / (ns * 1e-9));
    let env_vec = crit
        .get("cartpole_step/vectorised/64")
        .map(|ns| 10_000.0 / (ns * 1e-9));
    let fmt_rate = |x: Option<f64>| x.map_or("–".into(), |v| format!("{:.1} M steps/s", v / 1e6));
    let _ = writeln!(
        r,
        "| CartPole steps, single environment | {} |",
        fmt_rate(env_single)
    );
    let _ = writeln!(
        r,
        "| CartPole steps, 64 environments vectorised | {} |",
        fmt_rate(env_vec)
    );
    if let (Some(g), Some(s)) = (gym_rate, env_single) {
        let _ = writeln!(
            r,
            "| Gymnasium's CartPole (same run) | {:.0} k steps/s: ours is {:.0}× faster single, {:.0}× vectorised |",
            g / 1e3,
            s / g,
            env_vec.unwrap_or(s) / g
        );
    }
    for id in envs::EnvId::ALL
        .into_iter()
        .filter(|id| !id.binary_observations())
    {
        let ours = crit
            .get(&format!("env_step/{}", id.name()))
            .map(|ns| 1e9 / ns);
        let gym = gym_env_rates
            .iter()
            .find(|(e, _)| *e == id)
            .map(|(_, r)| *r);
        let _ = writeln!(
            r,
            "| {id} steps through the `envs` trait (random actions, resets included) | {}{} |",
            fmt_rate(ours),
            match (ours, gym) {
                (Some(o), Some(g)) => format!(
                    "; Gymnasium's, same run: {:.0} k steps/s, ours {:.0}× faster",
                    g / 1e3,
                    o / g
                ),
                _ => String::new(),
            }
        );
    }
    if let Some(ns) = crit.get("replay_sample_128/without_replacement") {
        let _ = writeln!(
            r,
            "| replay: sample a batch of 128 from 50 000, without replacement | {:.2} µs |",
            ns / 1e3
        );
    }
    if let Some(ns) = crit.get("replay_sample_128/with_replacement") {
        let _ = writeln!(
            r,
            "| replay: the same, with replacement | {:.2} µs |",
            ns / 1e3
        );
    }
    let _ = writeln!(
        r,
        "| one BP-DQN update (batch 128, 4→128→64→2, sampling included) | {bp_us:.1} µs |"
    );
    let _ = writeln!(
        r,
        "| one FF-DQN update, FF step on every minibatch | {ff_us:.1} µs |"
    );
    let _ = writeln!(
        r,
        "| one FF-DQN update, paper preset (FF step on 10% of minibatches) | {ff01_us:.1} µs |"
    );
    let _ = writeln!(
        r,
        "| FF update / BP update (FF every minibatch) | {:.2} |",
        ff_us / bp_us
    );
    let _ = writeln!(
        r,
        "| one local-td update (two layers, each with its own readout, TD loss and optimizer) | {local_us:.1} µs |"
    );
    let _ = writeln!(
        r,
        "| local-td update / BP update | {:.2} |",
        local_us / bp_us
    );
    let _ = writeln!(
        r,
        "| one goodness-q update (the target evaluates every action: 2× the columns) | {goodness_us:.1} µs |"
    );
    let _ = writeln!(
        r,
        "| with LayerNorm after each ReLU: BP update / local-td update | {bp_ln_us:.1} / {local_ln_us:.1} µs ({:.2}) |",
        local_ln_us / bp_ln_us
    );
    let _ = writeln!(
        r,
        "| acting: greedy action for one state, BP-DQN / FF-DQN network (FF's with L2 input norms) | {:.2} / {:.2} µs |",
        act[0], act[1]
    );
    let _ = writeln!(
        r,
        "| whole BP update: GFLOP/s ({:.1} MFLOP per update) | {bp_gflops:.1} |",
        2.0 * 128.0 * macs_per_sample(&dims, false) / 1e6
    );
    let _ = writeln!(
        r,
        "| whole FF update: GFLOP/s ({:.1} MFLOP per update) | {ff_gflops:.1} |",
        2.0 * 128.0 * macs_per_sample(&dims, true) / 1e6
    );
    let _ = writeln!(
        r,
        "| gemm 1024×1024×1024 f32, ff-core's gemm (every product of a training step) | {:.1} GFLOP/s |",
        big[0]
    );
    let _ = writeln!(
        r,
        "| gemm 1024×1024×1024 f32, nalgebra's `gemm` (matrixmultiply), same run | {:.1} GFLOP/s |",
        big[1]
    );
    let _ = writeln!(
        r,
        "| gemm 64×128×128 f32 (the hidden layer's product): ff-core / nalgebra | {:.1} / {:.1} GFLOP/s |",
        layer[0], layer[1]
    );
    let _ = writeln!(
        r,
        "| BP update's GFLOP/s as a share of the faster large gemm's | {:.0}% |",
        100.0 * bp_gflops / gemm_big
    );
    let _ = writeln!(
        r,
        "| FF update's GFLOP/s as a share of the faster large gemm's | {:.0}% |",
        100.0 * ff_gflops / gemm_big
    );

    r.push_str(&zoo_section);
    r.push_str(&minatar_section);
    let _ = writeln!(r, "\n## Whole training loop\n");
    let _ = writeln!(
        r,
        "Our real training loop (`agents::train::run_epoch`: acting, stepping, replay, updates, target syncs, the per-epoch greedy evaluation) for at least {steps} environment steps.\n"
    );
    let _ = writeln!(
        r,
        "| run | env steps | seconds | env steps/s |\n|---|---|---|---|"
    );
    for (label, n, secs) in &loop_rows {
        let _ = writeln!(r, "| {label} | {n} | {secs:.2} | {:.0} |", *n as f64 / secs);
    }
    let _ = writeln!(r, "\n## Against the PyTorch peer\n");
    if peer_rows.is_empty() {
        let _ = writeln!(r, "{peer_note}");
    } else {
        let _ = writeln!(
            r,
            "`scripts/dqn_peer.py` (PyTorch CPU, `--threads 1 --eps-start 0.1 --eps-end 0.01 --target-freq 1000`) and ours on the same settings (`configs/peer-*.toml`), the same number of environment steps, run one after the other in this invocation.\n"
        );
        let _ = writeln!(
            r,
            "| mode | peer env steps/s | ours env steps/s | ratio | peer µs per update (microbench) |\n|---|---|---|---|---|"
        );
        for (mode, p, ours) in &peer_rows {
            let (_, n, secs) = loop_rows[*ours];
            let rate = n as f64 / secs;
            let _ = writeln!(
                r,
                "| {mode} ({} steps) | {:.0} | {:.0} | **{:.1}×** | {:.0} |",
                p.steps,
                p.env_steps_per_s,
                rate,
                rate / p.env_steps_per_s,
                p.us_per_update
            );
        }
    }
    let _ = writeln!(
        r,
        "\n## Criterion medians\n\n| benchmark | median |\n|---|---|"
    );
    for (id, ns) in &crit.rows {
        let v = if *ns >= 1e6 {
            format!("{:.2} ms", ns / 1e6)
        } else {
            format!("{:.2} µs", ns / 1e3)
        };
        let _ = writeln!(r, "| `{id}` | {v} |");
    }
    let layer_ratio = |l: &str| match (
        crit.get(&format!("{l}/ff_step_paper_code")),
        crit.get(&format!("{l}/bp_forward_backward")),
    ) {
        (Some(f), Some(b)) => format!("{:.2}", f / b),
        _ => "–".into(),
    };
    let _ = writeln!(
        r,
        "\nFF step / (BP forward + backward) per layer: {} for 4→128, {} for 128→64.",
        layer_ratio("layer_4x128_batch128"),
        layer_ratio("layer_128x64_batch128")
    );
    let notes = std::fs::read_to_string(project_root().join("docs/performance-notes.md"))
        .unwrap_or_default();
    r.push('\n');
    r.push_str(&notes);
    agents::fs::write_atomic(&out, r.as_bytes())?;
    eprintln!("wrote {}", out.display());
    Ok(())
}
