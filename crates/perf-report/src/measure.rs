//! Every measurement of the report, as typed figures ([`Measurements`]); `render` writes them.

use crate::criterion::{Criterion, run_criterion};
use crate::peers::{Peer, gymnasium_steps_per_s, project_root, python, run_peer, script_json};
use agents::rng::{Stream, stream};
use agents::train::run_epoch;
use agents::{Agent, AgentKind, Config, LoopState, build};
use anyhow::Result;
use envs::EnvId;
use ff_core::MatRef;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use replay::{Batch, ReplayBuffer, Sampling};
use std::process::Command;
use std::time::Instant;

/// What `cargo xtask bench` was asked.
pub struct Options {
    /// Run the peers beside ours.
    pub peer: bool,
    /// Env steps of each whole-loop run.
    pub steps: u64,
}

/// Every figure of one run.
pub struct Measurements {
    /// What was asked.
    pub options: Options,
    /// The criterion medians.
    pub crit: Criterion,
    /// The paper-size updates and acting.
    pub updates: Updates,
    /// The gemm rates the updates are set against.
    pub gemms: Gemms,
    /// The update at SB3's size.
    pub zoo: ZooUpdate,
    /// MinAtar's steps, update and replay.
    pub minatar: MinAtar,
    /// Whole training loops.
    pub loops: Vec<LoopRow>,
    /// The peers' figures.
    pub peers: Peers,
    /// Seconds the measuring took.
    pub seconds: f64,
}

/// Median µs per update at the paper's size (batch 128, 4→128→64→2, sampling included), and
/// per greedy action.
pub struct Updates {
    /// BP-DQN.
    pub bp: f64,
    /// FF-DQN, FF step on every minibatch.
    pub ff_every: f64,
    /// FF-DQN, the paper preset (FF step on 10% of minibatches).
    pub ff_01: f64,
    /// local-td.
    pub local_td: f64,
    /// goodness-q.
    pub goodness_q: f64,
    /// BP-DQN with LayerNorm after each ReLU.
    pub bp_ln: f64,
    /// local-td with LayerNorm after each ReLU.
    pub local_td_ln: f64,
    /// One greedy action: BP-DQN's network, FF-DQN's.
    pub act: [f64; 2],
    /// The layer widths, input to head.
    pub dims: Vec<usize>,
}

impl Updates {
    /// FLOP of one update at batch 128 (`ff`: FF-DQN's, else BP-DQN's).
    pub fn flop(&self, ff: bool) -> f64 {
        2.0 * 128.0 * macs_per_sample(&self.dims, ff)
    }

    /// GFLOP/s of BP-DQN's update (`ff`: FF-DQN's, FF every minibatch).
    pub fn gflops(&self, ff: bool) -> f64 {
        let us = if ff { self.ff_every } else { self.bp };
        self.flop(ff) / (us * 1e-6) / 1e9
    }
}

/// GFLOP/s of ff-core's gemm and nalgebra's, large (1024³) and at the hidden layer's size.
pub struct Gemms {
    /// 1024×1024×1024: ours, nalgebra's.
    pub big: [f64; 2],
    /// 64×128×128: ours, nalgebra's.
    pub layer: [f64; 2],
}

impl Gemms {
    /// The faster large gemm: shares are taken against it, so a slow gemm of our own cannot
    /// flatter them.
    pub fn peak(&self) -> f64 {
        self.big[0].max(self.big[1])
    }
}

/// One BP update at the zoo's size (`configs/zoo/acrobot.toml`), and SB3's.
pub struct ZooUpdate {
    /// Its batch size.
    pub batch: usize,
    /// The layer widths.
    pub dims: Vec<usize>,
    /// FLOP of one update.
    pub flop: f64,
    /// Median µs of ours.
    pub us: f64,
    /// stable-baselines3's gradient step, if measured.
    pub sb3_us: Option<f64>,
}

/// One MinAtar game's steps per second.
pub struct GameSteps {
    /// The game (v1).
    pub id: EnvId,
    /// Ours through the `Environment` trait, with the f32 grid (criterion).
    pub f32_rate: Option<f64>,
    /// Ours with the grid as bits (criterion).
    pub bits_rate: Option<f64>,
    /// Side-by-side rounds, if the package ran: (ours as bits, the package), each pair
    /// measured within seconds of each other, so that the machine's drift between runs moves
    /// both.
    pub rounds: Vec<(f64, f64)>,
}

impl GameSteps {
    /// The package's median rate over the rounds.
    pub fn package(&self) -> Option<f64> {
        let rates: Vec<f64> = self.rounds.iter().map(|r| r.1).collect();
        (!rates.is_empty()).then(|| lab::stats::median(&rates))
    }

    /// Ours (bits) ÷ the package in each round, in increasing order.
    pub fn ratios(&self) -> Vec<f64> {
        let mut r: Vec<f64> = self.rounds.iter().map(|(ours, p)| ours / p).collect();
        r.sort_by(f64::total_cmp);
        r
    }
}

/// MinAtar's figures.
pub struct MinAtar {
    /// The package's version, if it ran.
    pub package: Option<String>,
    /// Each game's steps.
    pub games: Vec<GameSteps>,
    /// The game of the update and replay figures.
    pub id: EnvId,
    /// The ARQ preset's hidden widths.
    pub hidden: Vec<usize>,
    /// Mean count of ones in an observation.
    pub ones: f64,
    /// Batch size.
    pub batch: usize,
    /// Median µs per update: first layer gathered, dense.
    pub us: [f64; 2],
    /// TD loss of one update from the same state: gathered, dense.
    pub loss: [f64; 2],
    /// PyTorch's update, if measured.
    pub torch_us: Option<f64>,
    /// The ARQ replay's transitions.
    pub replay_len: usize,
    /// Its arrays' bytes.
    pub replay_bytes: u64,
    /// Resident memory growth while filling it (Linux only).
    pub replay_rss: Option<u64>,
    /// Seconds filling it took.
    pub replay_secs: f64,
}

/// A whole training loop's speed.
pub struct LoopRow {
    /// What ran.
    pub label: &'static str,
    /// Env steps.
    pub steps: u64,
    /// Seconds.
    pub secs: f64,
}

/// The peers' figures (empty, with `note` saying why, when they did not run).
#[derive(Default)]
pub struct Peers {
    /// The PyTorch peer per mode, with the index of our loop row it compares with.
    pub rows: Vec<(&'static str, Peer, usize)>,
    /// Gymnasium's CartPole steps/s.
    pub gym_cartpole: Option<f64>,
    /// Gymnasium's steps/s of every other classic-control task.
    pub gym_envs: Vec<(EnvId, f64)>,
    /// Why the peers did not run, if they did not.
    pub note: String,
}

/// Measures everything, in the order the original report did (criterion first, so its
/// processes do not overlap ours).
pub fn measure(options: Options) -> Result<Measurements> {
    let started = Instant::now();
    eprintln!("criterion benches (environment, replay, FF step vs BP backward)…");
    let crit = run_criterion()?;
    eprintln!("updates, interleaved…");
    let paper = load("paper.toml")?;
    let updates = measure_updates(&paper)?;
    eprintln!("square gemm…");
    let gemms = Gemms {
        big: [Gemm::Ours, Gemm::Nalgebra].map(|g| gemm_gflops(g, 1024, 1024, 1024, 15)),
        layer: [Gemm::Ours, Gemm::Nalgebra].map(|g| gemm_gflops(g, 64, 128, 128, 2000)),
    };
    eprintln!("the update at SB3's size…");
    let py = python();
    let peer_py = py.as_deref().filter(|_| options.peer);
    let zoo = measure_zoo(peer_py)?;
    let minatar = measure_minatar(peer_py, &crit)?;
    eprintln!("whole training loops…");
    let loops = measure_loops(&paper, options.steps)?;
    let peers = if options.peer {
        measure_peers(py.as_deref(), &loops)?
    } else {
        Peers {
            note: "Run with `--peer` to measure the PyTorch peer beside ours.".into(),
            ..Peers::default()
        }
    };
    Ok(Measurements {
        options,
        crit,
        updates,
        gemms,
        zoo,
        minatar,
        loops,
        peers,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn measure_updates(paper: &Config) -> Result<Updates> {
    let ff_every = paper.with_overrides(&["ff.update-prob=1.0"])?;
    let paper_ln = paper.with_overrides(&["network.cell-norm=\"after-relu\""])?;
    let init = || stream(0, Stream::Init);
    let mut agents: Vec<(&str, Box<dyn Agent + Send>)> = vec![
        ("bp", build(AgentKind::Bp, paper, &mut init())?),
        ("ff-every", build(AgentKind::Ff, &ff_every, &mut init())?),
        ("ff-0.1", build(AgentKind::Ff, paper, &mut init())?),
        ("local-td", build(AgentKind::LocalTd, paper, &mut init())?),
        (
            "goodness-q",
            build(AgentKind::GoodnessQ, paper, &mut init())?,
        ),
        ("bp-ln", build(AgentKind::Bp, &paper_ln, &mut init())?),
        (
            "local-td-ln",
            build(AgentKind::LocalTd, &paper_ln, &mut init())?,
        ),
    ];
    let upd = time_updates(&mut agents, 30, 100)?;
    let act = time_acting(&mut agents[..2])?;
    Ok(Updates {
        bp: upd[0],
        ff_every: upd[1],
        ff_01: upd[2],
        local_td: upd[3],
        goodness_q: upd[4],
        bp_ln: upd[5],
        local_td_ln: upd[6],
        act: [act[0], act[1]],
        dims: std::iter::once(4)
            .chain(paper.hidden().iter().copied())
            .chain(std::iter::once(2))
            .collect(),
    })
}

/// The BP update at the zoo's size (SB3's MlpPolicy with net_arch [256, 256], batch 128,
/// Acrobot-v1's 6 inputs and 3 actions, `configs/zoo/acrobot.toml`); with `py` (a python with
/// stable-baselines3), SB3's gradient step at the same size, one thread each.
fn measure_zoo(py: Option<&str>) -> Result<ZooUpdate> {
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
    let sb3_us = py.and_then(|py| {
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
    Ok(ZooUpdate {
        batch: t.batch_size,
        dims,
        flop,
        us,
        sb3_us,
    })
}

/// MinAtar: the games' steps against the package (with `py`), the update at the ARQ
/// protocol's size with the first layer gathered and dense and against PyTorch (with `py`), and
/// the ARQ protocol's replay buffer filled and measured.
fn measure_minatar(py: Option<&str>, crit: &Criterion) -> Result<MinAtar> {
    eprintln!("MinAtar's games beside the package…");
    let (package, games) = minatar_games(py, crit)?;
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
    let loss = [
        agents::Learner::update(&mut gathered, &batch, &mut u1)?,
        agents::Learner::update(&mut dense, &batch, &mut u2)?,
    ];
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
    let torch_us = py.and_then(|py| {
        script_json(py, "minatar_peer.py", &["--bench-update", "50"])?["us_per_update"].as_f64()
    });
    // The ARQ protocol's replay, filled.
    let before = rss_bytes();
    let started = Instant::now();
    let big = env_buffer(t.buffer_size, id)?;
    let after = rss_bytes();
    let replay_secs = started.elapsed().as_secs_f64();
    Ok(MinAtar {
        package,
        games,
        id,
        hidden: cfg.hidden().to_vec(),
        ones,
        batch: t.batch_size,
        us: [us[0], us[1]],
        loss,
        torch_us,
        replay_len: t.buffer_size,
        replay_bytes: big.bytes() as u64,
        replay_rss: before.zip(after).map(|(b, a)| a.saturating_sub(b)),
        replay_secs,
    })
}

/// Side-by-side rounds per game (ours as bits, then the package's, in each).
pub const SIDE_BY_SIDE_ROUNDS: usize = 3;

/// Each MinAtar game's steps (v1): ours from the criterion run, and with `py` rounds of ours
/// (as bits) and the package's measured one after the other; the package's version.
fn minatar_games(py: Option<&str>, crit: &Criterion) -> Result<(Option<String>, Vec<GameSteps>)> {
    let mut version = None;
    let mut games = Vec::new();
    for id in EnvId::ALL {
        let EnvId::MinAtar {
            game,
            minimal_actions: true,
        } = id
        else {
            continue;
        };
        let key = id.name().replace('/', "_");
        let mut rounds = Vec::new();
        for _ in 0..SIDE_BY_SIDE_ROUNDS {
            let Some(py) = py else { break };
            let ours = bits_steps_per_s(game, 2_000_000)?;
            let Some(package) = script_json(
                py,
                "minatar_peer.py",
                &["--env-steps", "50000", "--game", game.title()],
            ) else {
                break;
            };
            version = package["minatar"].as_str().map(String::from);
            if let Some(rate) = package["steps_per_s"][id.name()].as_f64() {
                rounds.push((ours, rate));
            }
        }
        games.push(GameSteps {
            id,
            f32_rate: crit.get(&format!("env_step/{key}")).map(|ns| 1e9 / ns),
            bits_rate: crit
                .get(&format!("minatar_step_bits/{key}"))
                .map(|ns| 1e9 / ns),
            rounds,
        });
    }
    Ok((version, games))
}

/// Our steps per second of `game` (v1) with the grid as bits, over `n` steps of random actions,
/// resets included: what `minatar_step_bits` times, in this process, so that it can run beside
/// the package.
fn bits_steps_per_s(game: envs::Game, n: usize) -> Result<f64> {
    let mut env = envs::MinAtar::new(game, true, u32::MAX, envs::MinAtarOptions::default())?;
    let id = envs::Environment::id(&env);
    env.seed(0);
    let mut bits = vec![0u8; id.obs_dim().div_ceil(8)];
    env.reset_bits(&mut bits);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let actions: Vec<usize> = (0..4096)
        .map(|_| rng.gen_range(0..id.n_actions()))
        .collect();
    let started = Instant::now();
    for i in 0..n {
        if env
            .step_bits(actions[i % actions.len()], &mut bits)?
            .terminated
        {
            env.reset_bits(&mut bits);
        }
    }
    std::hint::black_box(&bits);
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

fn measure_loops(paper: &Config, steps: u64) -> Result<Vec<LoopRow>> {
    let peer_bp = load("peer-bp.toml")?;
    let peer_ff = load("peer-ff.toml")?;
    let loops = [
        ("BP-DQN, paper.toml", AgentKind::Bp, paper),
        (
            "FF-DQN, paper.toml (FF step on 10% of minibatches)",
            AgentKind::Ff,
            paper,
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
    let mut rows = Vec::new();
    for (label, kind, cfg) in loops {
        let (n, secs) = whole_loop(kind, cfg, steps)?;
        eprintln!("  {label}: {:.0} env steps/s", n as f64 / secs);
        rows.push(LoopRow {
            label,
            steps: n,
            secs,
        });
    }
    Ok(rows)
}

/// The PyTorch peer (BP-DQN's and FF-DQN's peer-settings loops, rows 2 and 3 of `loops`) and
/// Gymnasium's own stepping, when `py` has torch and gymnasium.
fn measure_peers(py: Option<&str>, loops: &[LoopRow]) -> Result<Peers> {
    let Some(py) = py else {
        return Ok(Peers {
            note: "python3 was not found: the peer comparison was skipped.".into(),
            ..Peers::default()
        });
    };
    let ok = Command::new(py)
        .args(["-c", "import torch, gymnasium"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        return Ok(Peers {
            note: "python3 lacks torch or gymnasium (`pip install torch gymnasium`): the peer comparison was skipped.".into(),
            ..Peers::default()
        });
    }
    let mut peers = Peers::default();
    for (mode, ours) in [("dqn", 2usize), ("ff", 3usize)] {
        eprintln!("peer --mode {mode}…");
        let p = run_peer(py, mode, loops[ours].steps)?;
        peers.rows.push((mode, p, ours));
    }
    peers.gym_cartpole = gymnasium_steps_per_s(py, "CartPole-v1", 2);
    for id in EnvId::ALL
        .into_iter()
        .filter(|id| !id.binary_observations())
    {
        if let Some(rate) = gymnasium_steps_per_s(py, id.name(), id.n_actions()) {
            peers.gym_envs.push((id, rate));
        }
    }
    Ok(peers)
}

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
