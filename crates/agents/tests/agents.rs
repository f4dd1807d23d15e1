//! Agent behaviour: configs, gradient isolation in FF-DQN, the BP gradient, determinism, and
//! BP-DQN actually learning CartPole.

mod common;
use agents::Learner;
use agents::config::{ConfigError, RawFfInit};
use agents::q::bp::BpLearner;
use agents::rng::{Stream, stream};
use agents::{AgentKind, BpAgent, Config, FfAgent, LoopState, QNetwork, build, train};
use common::batch;
use dqn_head::{TdLoss, td_loss};
use ff_core::cell::{Cell, CellNorm};
use ff_core::{Buf, DenseGrads, FfLayer, FfLayerConfig, InputNorm, MatRef, Optimizer};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::path::Path;

fn preset(name: &str) -> Config {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../configs")
        .join(name);
    Config::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn with(text: &str) -> Result<Config, ConfigError> {
    Config::from_toml(text, "test.toml")
}

#[test]
fn every_preset_loads() {
    let presets = common::presets();
    for path in &presets {
        Config::load(path).unwrap_or_else(|e| panic!("{e}"));
    }
    assert!(presets.len() >= 14, "{presets:?}");
    // paper.toml spells out exactly the defaults: every validated value is the same.
    let (paper, defaults) = (preset("paper.toml"), with("").expect("defaults are valid"));
    assert_eq!(paper.env(), defaults.env());
    assert_eq!(paper.train(), defaults.train());
    assert_eq!(paper.hidden(), defaults.hidden());
    assert_eq!(paper.bp(), defaults.bp());
    assert_eq!(paper.ff(), defaults.ff());
}

#[test]
fn bad_configs_name_file_key_value_and_range() {
    let cases = [
        ("[train]\nbatch-size = 0", "train.batch-size"),
        ("[train]\ngamma = 1.5", "train.gamma"),
        ("[train]\nbuffer-size = 64", "train.buffer-size"),
        ("[network]\nhidden = []", "network.hidden"),
        ("[network]\nhidden = [128, 0]", "network.hidden[1]"),
        (
            "[bp]\noptimizer = { kind = \"adam\", lr = -1e-3 }",
            "bp.optimizer.lr",
        ),
        (
            "[ff]\nlayer-optimizer = { kind = \"adam\", lr = nan }",
            "ff.layer-optimizer.lr",
        ),
        ("[ff]\nupdate-prob = 0.0", "ff.update-prob"),
        ("[ff]\ninit = \"bp-warmstart\"", "ff.init"),
        ("[ff]\nbp-warmstart-steps = 100", "ff.bp-warmstart-steps"),
        // Valid in f64, not in the f32 the math runs in (they made losses inf or 0, or a
        // "divergence" at the first step).
        ("[ff]\nmargin = 1e300", "ff.margin"),
        (
            "[train]\ntd-loss = { kind = \"huber\", beta = 1e300 }",
            "train.td-loss.beta",
        ),
        (
            "[train]\ntd-loss = { kind = \"huber\", beta = 1e-50 }",
            "train.td-loss.beta",
        ),
        (
            "[bp]\noptimizer = { kind = \"adam\", lr = 1e39 }",
            "bp.optimizer.lr",
        ),
        (
            "[bp]\noptimizer = { kind = \"adam\", lr = 1e-3, eps = 1e-50 }",
            "bp.optimizer.eps",
        ),
        (
            "[train]\ntarget-sync = { kind = \"polyak\", tau = 1e-50 }",
            "train.target-sync.tau",
        ),
        // Each optimizer reads its own decay keys: RMSprop's alpha for Adam, Adam's betas for
        // RMSprop, are refused, not ignored; alpha is a decay in [0, 1).
        (
            "[bp]\noptimizer = { kind = \"adam\", lr = 1e-3, alpha = 0.9 }",
            "bp.optimizer.alpha",
        ),
        (
            "[bp]\noptimizer = { kind = \"rmsprop-centered\", lr = 1e-3, beta2 = 0.9 }",
            "bp.optimizer.beta1 / bp.optimizer.beta2",
        ),
        (
            "[bp]\noptimizer = { kind = \"rmsprop\", lr = 1e-3, alpha = 1.0 }",
            "bp.optimizer.alpha",
        ),
    ];
    for (text, key) in cases {
        let err = with(text).expect_err(text);
        let msg = err.to_string();
        assert!(
            matches!(&err, ConfigError::Invalid { key: k, .. } if k == key),
            "{text}: {msg}"
        );
        assert!(msg.starts_with("test.toml: "), "{msg}");
    }
    for (text, needle) in [
        ("[train]\nbatchsize = 3", "unknown field `batchsize`"),
        ("[train]\nbatch-size = \"big\"", "invalid type"),
        ("[train\n", "TOML"),
        ("[ff]\ngoodness = \"cubic\"", "unknown variant `cubic`"),
    ] {
        let err = with(text).expect_err(text);
        assert!(matches!(err, ConfigError::Parse { .. }), "{text}: {err}");
        assert!(
            err.to_string().contains(needle) || needle == "TOML",
            "{text}: {err}"
        );
    }
    let err = Config::load(Path::new("/nonexistent/x.toml")).expect_err("missing");
    assert!(matches!(err, ConfigError::Io { .. }));
}

fn ff_config(extra: &str) -> Config {
    with(&format!("[ff]\nupdate-prob = 1.0\n{extra}")).expect("valid")
}

/// FF-DQN: each hidden layer moves exactly by its own FF gradient through its own optimizer,
/// and the head exactly by the TD gradient on the (updated) features: nothing else leaks in.
#[test]
fn ff_update_is_local() {
    for extra in [
        "",
        "goodness = \"sum\"\nloss = \"batch-mean\"\ninput-norm = \"none\"",
    ] {
        let cfg = ff_config(extra);
        let mut agent = FfAgent::new(&cfg, &mut stream(3, Stream::Init)).expect("valid");
        let before = agent.online().clone();
        let target = agent.target().clone();
        let b = batch(128, 7);
        agent
            .update(&b, &mut ChaCha8Rng::seed_from_u64(0))
            .expect("finite");
        let split = agent.last_split().to_vec();
        assert!(split.contains(&true) && split.contains(&false));

        // Replay the update by hand, layer by layer, from the state before it.
        let mut expected = before.clone();
        // Each hidden layer is an FfLayer of ff-core's public API, with its own optimizer.
        let layer_cfg = FfLayerConfig {
            objective: cfg.ff().objective,
            input_norm: cfg.ff().input_norm,
        };
        let mut input = Buf::default();
        input.shape_to(4, 128);
        input.as_mut_slice().copy_from_slice(&b.obs);
        for l in 0..expected.n_hidden() {
            let mut layer = FfLayer::from_dense(expected.layers[l].dense().clone(), layer_cfg)
                .with_optimizer(cfg.ff().layer_optimizer.expect("layers learn"))
                .expect("valid");
            layer.train_step_split(input.mat(), &split).expect("finite");
            let out = layer.forward(input.mat()).expect("ok");
            let mut next = Buf::default();
            next.shape_to(out.rows(), out.cols());
            next.as_mut_slice().copy_from_slice(out.as_slice());
            expected.layers[l] = Cell::from_dense(layer.into_dense(), CellNorm::None);
            input = next;
        }
        // Head: TD targets from the target network, TD gradient on the features.
        let mut ws = agents::q::Workspace::default();
        target
            .q_values(MatRef::new(&b.next_obs, 4, 128).expect("shape"), &mut ws)
            .expect("ok");
        let mut y = vec![0.0; 128];
        dqn_head::td_targets(
            ws.q.mat(),
            &b.rewards,
            &b.terminated,
            cfg.train().gamma,
            &mut y,
        )
        .expect("finite");
        let n = expected.n_hidden();
        let head = &mut expected.layers[n];
        let (mut q, mut dq, mut hg) = (Buf::default(), Buf::default(), DenseGrads::default());
        head.dense().forward(input.mat(), &mut q).expect("ok");
        td_loss(q.mat(), &b.actions, &y, TdLoss::Mse, &mut dq).expect("ok");
        head.dense()
            .backward(input.mat(), dq.mat(), &mut hg, None)
            .expect("ok");
        let mut opt = Optimizer::for_layers(cfg.ff().head_optimizer, std::slice::from_ref(head))
            .expect("valid");
        opt.step_layers(std::slice::from_mut(head), std::slice::from_ref(&hg))
            .expect("finite");

        assert_eq!(
            agent.online(),
            &expected,
            "update differs from local FF steps + TD head ({extra:?})"
        );
        assert_ne!(
            agent.online().layers[0],
            before.layers[0],
            "layer 1 learned"
        );
    }
}

/// When no FF step is drawn, the hidden layers do not move at all: the TD loss reaches only
/// the head.
#[test]
fn td_gradient_never_reaches_ff_layers() {
    let cfg = with("[ff]\nupdate-prob = 0.001").expect("valid");
    let mut agent = FfAgent::new(&cfg, &mut stream(4, Stream::Init)).expect("valid");
    let before = agent.online().clone();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for k in 0..20 {
        agent.update(&batch(64, k), &mut rng).expect("finite");
    }
    let after = agent.online();
    let n = after.n_hidden();
    assert_eq!(
        &after.layers[..n],
        &before.layers[..n],
        "hidden layers moved without FF steps"
    );
    assert_ne!(after.layers[n], before.layers[n], "the head learned");
    assert_eq!(agent.take_epoch_stats().ff_batches, 0);
}

/// An all-equal target batch (empty S+) skips the FF step and is counted.
#[test]
fn empty_positive_set_skips_ff_step() {
    let cfg = ff_config("");
    let mut agent = FfAgent::new(&cfg, &mut stream(5, Stream::Init)).expect("valid");
    let mut b = batch(32, 1);
    b.terminated.iter_mut().for_each(|t| *t = true); // every target is r = 1
    let before = agent.online().clone();
    agent
        .update(&b, &mut ChaCha8Rng::seed_from_u64(0))
        .expect("finite");
    let n = before.n_hidden();
    assert_eq!(&agent.online().layers[..n], &before.layers[..n]);
    let stats = agent.take_epoch_stats();
    assert_eq!((stats.skipped_empty_positive, stats.ff_batches), (1, 0));
}

/// BP-DQN's full-network gradient against central differences of the TD loss. The reference
/// loss is an independent f64 forward pass (plain nalgebra), so the differences are exact to
/// ~1e-9 and the comparison measures the f32 analytic gradient: every entry within
/// 1e-3 · max(1e-2, |g|) — f32 rounding of a gradient accumulated over 32 samples. Checked with
/// and without L2 input normalisation (the latter is what a bp-warmstart of the author's FF
/// network back-propagates through).
#[test]
fn bp_gradient_matches_finite_differences() {
    use nalgebra::{DMatrix, DVector};
    type Layer = (DMatrix<f64>, DVector<f64>);
    fn loss_f64(
        layers: &[Layer],
        norm: InputNorm,
        obs: &DMatrix<f64>,
        actions: &[u32],
        y: &[f32],
    ) -> f64 {
        let mut h = obs.clone();
        let n = layers.len() - 1;
        for (w, b) in &layers[..n] {
            if norm == InputNorm::L2 {
                for mut c in h.column_iter_mut() {
                    let s = c.norm() + 1e-8;
                    c /= s;
                }
            }
            h = w * &h;
            for mut c in h.column_iter_mut() {
                c += b;
                c.apply(|v| *v = v.max(0.0));
            }
        }
        let (w, b) = &layers[n];
        let q = w * &h;
        let batch = obs.ncols();
        (0..batch)
            .map(|j| {
                (q[(actions[j] as usize, j)] + b[actions[j] as usize] - f64::from(y[j])).powi(2)
            })
            .sum::<f64>()
            / batch as f64
    }
    for norm in [InputNorm::None, InputNorm::L2] {
        let cfg = with("").expect("valid");
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let mut net = QNetwork::new(
            4,
            None,
            &[16, 8],
            2,
            ff_core::Init::XavierUniform,
            ff_core::Init::XavierUniform,
            norm,
            CellNorm::None,
            &mut rng,
        );
        let b = batch(32, 3);
        let y: Vec<f32> = (0..32).map(|j| 1.0 + 0.1 * j as f32).collect();
        let theta: Vec<Layer> = net
            .layers
            .iter()
            .map(|c| {
                let d = c.dense();
                (d.weights().map(f64::from), d.biases().map(f64::from))
            })
            .collect();
        let obs = DMatrix::from_column_slice(4, 32, &b.obs).map(f64::from);
        let mut learner = BpLearner::new(cfg.bp(), &net, TdLoss::Mse).expect("valid");
        let loss = learner
            .update(&mut net, &b, &y, &mut agents::q::Workspace::default())
            .expect("finite");
        assert!((loss - loss_f64(&theta, norm, &obs, &b.actions, &y)).abs() < 1e-5 * loss.max(1.0));
        let h = 1e-5;
        let mut worst = 0.0f64;
        for (l, g) in learner.last_grads().iter().enumerate() {
            let n_w = theta[l].0.len();
            for k in 0..n_w + theta[l].1.len() {
                let analytic = f64::from(if k < n_w {
                    g.dense.w.as_slice()[k]
                } else {
                    g.dense.b.as_slice()[k - n_w]
                });
                let mut p = theta.clone();
                let at = |p: &mut Vec<Layer>, v: f64| {
                    if k < n_w {
                        p[l].0.as_mut_slice()[k] = v
                    } else {
                        p[l].1.as_mut_slice()[k - n_w] = v
                    }
                };
                let orig = if k < n_w {
                    theta[l].0.as_slice()[k]
                } else {
                    theta[l].1.as_slice()[k - n_w]
                };
                at(&mut p, orig + h);
                let lp = loss_f64(&p, norm, &obs, &b.actions, &y);
                at(&mut p, orig - h);
                let lm = loss_f64(&p, norm, &obs, &b.actions, &y);
                let numeric = (lp - lm) / (2.0 * h);
                worst = worst.max((analytic - numeric).abs() / numeric.abs().max(1e-2));
            }
        }
        assert!(worst < 1e-3, "{norm:?}: largest relative error {worst:e}");
    }
}

fn short(extra: &str) -> Config {
    with(&format!(
        "[train]\nepochs = 5\nepisodes-per-epoch = 8\nlearning-starts = 128\nbuffer-size = 2000\neval-episodes = 3\nfinal-eval-episodes = 3\n{extra}"
    ))
    .expect("valid")
}

fn run(kind: AgentKind, cfg: &Config, seed: u64) -> (agents::RunResult, agents::Policy) {
    let mut agent = build(kind, cfg, &mut stream(seed, Stream::Init)).expect("valid");
    let mut st = LoopState::new(cfg, seed).expect("valid");
    let r = train(agent.as_mut(), cfg, seed, &mut st, &mut |_, _, _| Ok(())).expect("trains");
    (r, agent.policy())
}

#[test]
fn one_seed_gives_identical_runs() {
    for (kind, extra) in [
        (AgentKind::Bp, ""),
        (AgentKind::Ff, "[ff]\nupdate-prob = 0.5"),
        (AgentKind::LocalTd, "[network]\ncell-norm = \"after-relu\""),
        (
            AgentKind::GoodnessQ,
            "[goodness-q]\nff-aux = { kind = \"symba\", weight = 0.1 }",
        ),
    ] {
        let cfg = short(extra);
        let (a, wa) = run(kind, &cfg, 42);
        let (b, wb) = run(kind, &cfg, 42);
        let strip = |mut r: agents::RunResult| {
            r.wall_seconds = 0.0;
            r.epochs.iter_mut().for_each(|m| m.wall_seconds = 0.0);
            r
        };
        assert!(
            a.updates > 100,
            "{kind}: the run must reach the learning phase"
        );
        assert_eq!(wa, wb, "{kind}: weights differ");
        assert_eq!(
            format!("{:?}", strip(a.clone())),
            format!("{:?}", strip(b)),
            "{kind}: metrics differ"
        );
        let (c, wc) = run(kind, &cfg, 43);
        assert_ne!(wa, wc, "{kind}: another seed, another run");
        assert_ne!(a.env_steps, 0);
        let _ = c;
    }
}

/// BP warm start: the first N updates train the whole network by backprop, then FF takes over.
#[test]
fn bp_warmstart_hands_over_to_ff() {
    let cfg = with("[ff]\ninit = \"bp-warmstart\"\nbp-warmstart-steps = 3\nupdate-prob = 1.0")
        .expect("valid");
    assert_eq!(cfg.raw().ff.init, RawFfInit::BpWarmstart);
    let mut agent = FfAgent::new(&cfg, &mut stream(1, Stream::Init)).expect("valid");
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    for k in 0..3 {
        assert_eq!(agent.warmstart_left(), 3 - k);
        agent.update(&batch(64, k), &mut rng).expect("finite");
        assert_eq!(
            agent.take_epoch_stats().ff_batches,
            0,
            "no FF during the warm start"
        );
    }
    assert_eq!(agent.warmstart_left(), 0);
    agent.update(&batch(64, 9), &mut rng).expect("finite");
    assert_eq!(agent.take_epoch_stats().ff_batches, 1);
}

/// BP-DQN learns CartPole. Budget: the paper preset, seed 1, at most 45 epochs (≈ 13 000
/// environment steps, a few seconds); the test passes when a greedy evaluation after some
/// epoch averages ≥ 150. Deterministic for a given machine: one seed fixes every draw.
#[test]
fn bp_dqn_learns_cartpole() {
    let cfg = preset("paper.toml")
        .with_overrides(&["train.epochs=45", "train.final-eval-episodes=1"])
        .expect("valid");
    let mut agent = BpAgent::new(&cfg, &mut stream(1, Stream::Init)).expect("valid");
    let mut st = LoopState::new(&cfg, 1).expect("valid");
    let mut best = 0.0f64;
    let r = train(&mut agent, &cfg, 1, &mut st, &mut |m, _, _| {
        best = best.max(m.eval_return_mean);
        Ok(())
    })
    .expect("trains");
    assert!(
        best >= 150.0,
        "best greedy evaluation {best} after {} steps",
        r.env_steps
    );
}
