//! The report, written from the figures alone: one function per section of
//! docs/PERFORMANCE.md, then the static notes.

use crate::measure::{Measurements, MinAtar, ZooUpdate};
use std::fmt::Write as _;

/// The whole report: the measured sections, then `notes` (docs/performance-notes.md).
pub fn report(m: &Measurements, notes: &str) -> String {
    let mut r = String::new();
    let _ = writeln!(r, "# Performance\n");
    let _ = writeln!(
        r,
        "Measured by `cargo xtask bench{}` on {} in one run ({:.0} s). Every figure is a median; ratios compare figures from the same run. One thread throughout.\n",
        if m.options.peer { " --peer" } else { "" },
        lab::machine(),
        m.seconds
    );
    summary(&mut r, m);
    zoo(&mut r, &m.zoo, m.gemms.peak());
    minatar(&mut r, &m.minatar);
    loops(&mut r, m);
    peer(&mut r, m);
    criterion(&mut r, m);
    r.push('\n');
    r.push_str(notes);
    r
}

fn rate(x: Option<f64>) -> String {
    x.map_or("–".into(), |v| format!("{:.1} M steps/s", v / 1e6))
}

/// The summary table: environments, replay, the paper-size updates, gemm.
fn summary(r: &mut String, m: &Measurements) {
    let _ = writeln!(r, "## Summary\n");
    let _ = writeln!(r, "| quantity | value |\n|---|---|");
    let crit = &m.crit;
    let env_single = crit
        .get("cartpole_step/single")
        .map(|ns| 10_000.0 / (ns * 1e-9));
    let env_vec = crit
        .get("cartpole_step/vectorised/64")
        .map(|ns| 10_000.0 / (ns * 1e-9));
    let _ = writeln!(
        r,
        "| CartPole steps, single environment | {} |",
        rate(env_single)
    );
    let _ = writeln!(
        r,
        "| CartPole steps, 64 environments vectorised | {} |",
        rate(env_vec)
    );
    if let (Some(g), Some(s)) = (m.peers.gym_cartpole, env_single) {
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
        let gym = m
            .peers
            .gym_envs
            .iter()
            .find(|(e, _)| *e == id)
            .map(|(_, r)| *r);
        let _ = writeln!(
            r,
            "| {id} steps through the `envs` trait (random actions, resets included) | {}{} |",
            rate(ours),
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
    updates(r, m);
}

/// The paper-size updates, acting and gemm rows of the summary.
fn updates(r: &mut String, m: &Measurements) {
    let u = &m.updates;
    let g = &m.gemms;
    let rows = [
        format!(
            "| one BP-DQN update (batch 128, 4→128→64→2, sampling included) | {:.1} µs |",
            u.bp
        ),
        format!(
            "| one FF-DQN update, FF step on every minibatch | {:.1} µs |",
            u.ff_every
        ),
        format!(
            "| one FF-DQN update, paper preset (FF step on 10% of minibatches) | {:.1} µs |",
            u.ff_01
        ),
        format!(
            "| FF update / BP update (FF every minibatch) | {:.2} |",
            u.ff_every / u.bp
        ),
        format!(
            "| one local-td update (two layers, each with its own readout, TD loss and optimizer) | {:.1} µs |",
            u.local_td
        ),
        format!("| local-td update / BP update | {:.2} |", u.local_td / u.bp),
        format!(
            "| one goodness-q update (the target evaluates every action: 2× the columns) | {:.1} µs |",
            u.goodness_q
        ),
        format!(
            "| with LayerNorm after each ReLU: BP update / local-td update | {:.1} / {:.1} µs ({:.2}) |",
            u.bp_ln,
            u.local_td_ln,
            u.local_td_ln / u.bp_ln
        ),
        format!(
            "| acting: greedy action for one state, BP-DQN / FF-DQN network (FF's with L2 input norms) | {:.2} / {:.2} µs |",
            u.act[0], u.act[1]
        ),
        format!(
            "| whole BP update: GFLOP/s ({:.1} MFLOP per update) | {:.1} |",
            u.flop(false) / 1e6,
            u.gflops(false)
        ),
        format!(
            "| whole FF update: GFLOP/s ({:.1} MFLOP per update) | {:.1} |",
            u.flop(true) / 1e6,
            u.gflops(true)
        ),
        format!(
            "| gemm 1024×1024×1024 f32, ff-core's gemm (every product of a training step) | {:.1} GFLOP/s |",
            g.big[0]
        ),
        format!(
            "| gemm 1024×1024×1024 f32, nalgebra's `gemm` (matrixmultiply), same run | {:.1} GFLOP/s |",
            g.big[1]
        ),
        format!(
            "| gemm 64×128×128 f32 (the hidden layer's product): ff-core / nalgebra | {:.1} / {:.1} GFLOP/s |",
            g.layer[0], g.layer[1]
        ),
        format!(
            "| BP update's GFLOP/s as a share of the faster large gemm's | {:.0}% |",
            100.0 * u.gflops(false) / g.peak()
        ),
        format!(
            "| FF update's GFLOP/s as a share of the faster large gemm's | {:.0}% |",
            100.0 * u.gflops(true) / g.peak()
        ),
    ];
    for row in rows {
        let _ = writeln!(r, "{row}");
    }
}

/// The update at SB3's network size, and SB3's.
fn zoo(r: &mut String, z: &ZooUpdate, gemm_peak: f64) {
    let gflops = z.flop / (z.us * 1e-6) / 1e9;
    let _ = writeln!(
        r,
        "\n## At SB3's network size\n\nOne BP-DQN update as `configs/zoo/acrobot.toml` makes it: batch {}, {:?}, Adam with gradient clipping, sampling included ({:.1} MFLOP: target forward, online forward, weight and input gradients).\n\n| quantity | value |\n|---|---|",
        z.batch,
        z.dims,
        z.flop / 1e6
    );
    let _ = writeln!(r, "| one BP update | {:.1} µs |", z.us);
    let _ = writeln!(
        r,
        "| its GFLOP/s, and share of the single-core gemm peak ({gemm_peak:.1} GFLOP/s) | {gflops:.1} GFLOP/s, {:.0}% |",
        100.0 * gflops / gemm_peak
    );
    match z.sb3_us {
        Some(sb3_us) => {
            let _ = writeln!(
                r,
                "| stable-baselines3 2.9.2's gradient step, same size, one torch thread (`scripts/sb3_peer.py --bench-update`) | {sb3_us:.1} µs: ours is {:.1}× faster |",
                sb3_us / z.us
            );
        }
        None => {
            let _ = writeln!(
                r,
                "| stable-baselines3's gradient step | not measured: run with `--peer` and a python with stable-baselines3 (`pip install stable-baselines3==2.9.2 gymnasium==1.4.0 torch`) |"
            );
        }
    }
}

/// MinAtar: steps against the package, the update at ARQ's size, the ARQ replay.
fn minatar(r: &mut String, m: &MinAtar) {
    let _ = writeln!(r, "\n## MinAtar\n");
    let _ = writeln!(
        r,
        "Steps of each game (v1, random actions, resets included): with the grid written as bits (`MinAtar::step_bits` and `reset_bits`: the like-for-like measure, since the package's `state()` hands out the grid as booleans, and the form the replay stores), and through the `Environment` trait with the `f32` grid the training loop feeds the network (a conversion the package leaves to its user). The package: minatar {} through its gym wrapper (`scripts/minatar_peer.py --env-steps 50000 --game <Game>`), measured side by side with ours: in each of {} rounds, two million of our steps as bits in this process, then the package's, so that the machine's drift moves both; the last column is the median of the rounds' ratios and their range, and the package's column its median rate.\n",
        m.package.as_deref().unwrap_or(
            "not measured (run with `--peer` and a python with `pip install minatar==1.0.15 gymnasium`)"
        ),
        crate::measure::SIDE_BY_SIDE_ROUNDS
    );
    let _ = writeln!(
        r,
        "| game | ours, f32 grid | ours, bit grid | the package | ours ÷ package, f32 grid | ours ÷ package, bits, side by side |\n|---|---|---|---|---|---|"
    );
    let per_s = |v: Option<f64>| v.map_or("–".into(), |v| format!("{:.2} M/s", v / 1e6));
    for g in &m.games {
        let package = g.package();
        let f32_ratio = match (g.f32_rate, package) {
            (Some(a), Some(p)) => format!("{:.0}×", a / p),
            _ => "–".into(),
        };
        let ratios = g.ratios();
        let bits_ratio = match ratios.as_slice() {
            [] => "–".into(),
            [one] => format!("{one:.0}×"),
            [lo, .., hi] => format!("{:.0}× ({lo:.0}–{hi:.0}×)", lab::stats::median(&ratios)),
        };
        let _ = writeln!(
            r,
            "| {} | {} | {} | {} | {f32_ratio} | {bits_ratio} |",
            g.id,
            per_s(g.f32_rate),
            per_s(g.bits_rate),
            package.map_or("–".into(), |t| format!("{:.0} k/s", t / 1e3))
        );
    }
    let (id, us) = (m.id, m.us);
    let _ = writeln!(
        r,
        "\nOne BP-DQN update at the ARQ protocol's size (`configs/minatar/arq.toml` on {id}: MLP {:?} on {} inputs, of which {:.0} are 1 on average, batch {}, double-Q targets, Adam with clipping, sampling from a bit-packed replay included). The first layer's product is the gather-add / scatter-add on binary input, or the dense product (`BpAgent::set_binary_gather(false)`); PyTorch is `scripts/minatar_peer.py --bench-update` on the same game's grids, one thread.\n\n| quantity | value |\n|---|---|",
        m.hidden,
        id.obs_dim(),
        m.ones,
        m.batch
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
        "| TD loss of one update from the same state, gathered − dense | {:.1e} (of {:.4}) |",
        (m.loss[0] - m.loss[1]).abs(),
        m.loss[0]
    );
    let _ = writeln!(
        r,
        "| PyTorch's update, same size, one thread | {} |",
        m.torch_us.map_or(
            "not measured (run with `--peer` and a python with torch and minatar)".into(),
            |p| format!("{:.2} ms: ours is {:.1}× faster", p / 1e3, p / us[0])
        )
    );
    let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
    let _ = writeln!(
        r,
        "| the ARQ protocol's replay ({} transitions of {id}'s grids, as bits), filled | {:.2} GiB of arrays; resident memory grew {} (filled in {:.0} s) |",
        m.replay_len,
        gib(m.replay_bytes),
        m.replay_rss
            .map_or("(not measured off Linux)".into(), |b| format!(
                "{:.2} GiB",
                gib(b)
            )),
        m.replay_secs
    );
}

/// The whole training loops.
fn loops(r: &mut String, m: &Measurements) {
    let _ = writeln!(r, "\n## Whole training loop\n");
    let _ = writeln!(
        r,
        "Our real training loop (`agents::train::run_epoch`: acting, stepping, replay, updates, target syncs, the per-epoch greedy evaluation) for at least {} environment steps.\n",
        m.options.steps
    );
    let _ = writeln!(
        r,
        "| run | env steps | seconds | env steps/s |\n|---|---|---|---|"
    );
    for l in &m.loops {
        let _ = writeln!(
            r,
            "| {} | {} | {:.2} | {:.0} |",
            l.label,
            l.steps,
            l.secs,
            l.steps as f64 / l.secs
        );
    }
}

/// Against the PyTorch peer.
fn peer(r: &mut String, m: &Measurements) {
    let _ = writeln!(r, "\n## Against the PyTorch peer\n");
    if m.peers.rows.is_empty() {
        let _ = writeln!(r, "{}", m.peers.note);
        return;
    }
    let _ = writeln!(
        r,
        "`scripts/dqn_peer.py` (PyTorch CPU, `--threads 1 --eps-start 0.1 --eps-end 0.01 --target-freq 1000`) and ours on the same settings (`configs/peer-*.toml`), the same number of environment steps, run one after the other in this invocation.\n"
    );
    let _ = writeln!(
        r,
        "| mode | peer env steps/s | ours env steps/s | ratio | peer µs per update (microbench) |\n|---|---|---|---|---|"
    );
    for (mode, p, ours) in &m.peers.rows {
        let l = &m.loops[*ours];
        let rate = l.steps as f64 / l.secs;
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

/// Every criterion median, and the per-layer FF / BP ratio.
fn criterion(r: &mut String, m: &Measurements) {
    let _ = writeln!(
        r,
        "\n## Criterion medians\n\n| benchmark | median |\n|---|---|"
    );
    for (id, ns) in &m.crit.rows {
        let v = if *ns >= 1e6 {
            format!("{:.2} ms", ns / 1e6)
        } else {
            format!("{:.2} µs", ns / 1e3)
        };
        let _ = writeln!(r, "| `{id}` | {v} |");
    }
    let layer_ratio = |l: &str| match (
        m.crit.get(&format!("{l}/ff_step_paper_code")),
        m.crit.get(&format!("{l}/bp_forward_backward")),
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
}
