//! BP-DQN with a convolutional first layer (`network.conv`, the MinAtar paper's network): the
//! whole network's gradient against finite differences of an independent f64 forward pass,
//! configs that ask for a convolution where none can be, and a trained network's weights file
//! read back.

use agents::q::bp::BpLearner;
use agents::q::{QNetwork, Workspace};
use agents::{AgentKind, Config, build};
use dqn_head::TdLoss;
use ff_core::InputNorm;
use ff_core::cell::CellNorm;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use replay::Batch;

fn with(text: &str) -> Config {
    Config::from_toml(text, "test.toml").unwrap_or_else(|e| panic!("{e}"))
}

const BREAKOUT_CONV: &str = "[env]\nid = \"MinAtar/Breakout-v1\"\n[network]\nhidden = [6]\nconv = { filters = 3, kernel = 3 }\n";

/// One parameter tensor as f64, `rows × cols` column-major (a bias is one column).
type Tensor = (usize, usize, Vec<f64>);

/// The TD loss `mean (Q(s, a) − y)²` of the network `[conv 3×3, relu] → [dense, relu] → head`
/// on Breakout's 10 × 10 × 4 grids, written out from the definitions in f64: filter `f` at
/// `(y, x)` is `b_f + Σ w_f[(dy, dx, c)] · grid[(y + dy, x + dx, c)]`, the feature maps in
/// `(y, x, f)` order.
fn loss_f64(p: &[Tensor], obs: &[f32], actions: &[u32], y: &[f32]) -> f64 {
    let (side, ch, k) = (10, 4, 3);
    let o = side - k + 1;
    let (conv_w, conv_b) = (&p[0].2, &p[1].2);
    let filters = p[1].0;
    let batch = y.len();
    let mut total = 0.0;
    for b in 0..batch {
        let grid = &obs[b * side * side * ch..(b + 1) * side * side * ch];
        let mut maps = Vec::with_capacity(o * o * filters);
        for yy in 0..o {
            for xx in 0..o {
                for f in 0..filters {
                    let mut s = conv_b[f];
                    for dy in 0..k {
                        for dx in 0..k {
                            for c in 0..ch {
                                let i = (dy * k + dx) * ch + c;
                                let v = f64::from(grid[((yy + dy) * side + xx + dx) * ch + c]);
                                s += conv_w[i * filters + f] * v;
                            }
                        }
                    }
                    maps.push(s.max(0.0));
                }
            }
        }
        let dense = |w: &Tensor, bias: &Tensor, x: &[f64], relu: bool| -> Vec<f64> {
            (0..w.0)
                .map(|r| {
                    let s = bias.2[r] + (0..w.1).map(|i| w.2[i * w.0 + r] * x[i]).sum::<f64>();
                    if relu { s.max(0.0) } else { s }
                })
                .collect()
        };
        let h = dense(&p[2], &p[3], &maps, true);
        let q = dense(&p[4], &p[5], &h, false);
        total += (q[actions[b] as usize] - f64::from(y[b])).powi(2);
    }
    total / batch as f64
}

/// A batch of random grids (each cell's channel on with chance 0.2: binary, so the first layer
/// gathers), random actions and targets.
fn grid_batch(n: usize, seed: u64) -> (Batch, Vec<f32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let dim = 400;
    let mut b = Batch::default();
    for _ in 0..n {
        b.obs
            .extend((0..dim).map(|_| if rng.gen_bool(0.2) { 1.0 } else { 0.0 }));
        b.next_obs.extend(std::iter::repeat_n(0.0, dim));
        b.actions.push(rng.gen_range(0..3));
        b.rewards.push(0.0);
        b.terminated.push(true);
    }
    let y = (0..n).map(|_| rng.gen_range(-1.0..1.0)).collect();
    (b, y)
}

#[test]
fn bp_gradient_through_the_convolution_matches_finite_differences() {
    let cfg = with(BREAKOUT_CONV);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let mut net = QNetwork::new(
        400,
        cfg.conv(),
        cfg.hidden(),
        3,
        ff_core::Init::PytorchDefault,
        ff_core::Init::PytorchDefault,
        InputNorm::None,
        CellNorm::None,
        &mut rng,
    );
    assert_eq!(net.obs_dim(), 400);
    assert_eq!(net.layers[0].in_dim(), 36); // a 3 × 3 window of 4 channels
    assert_eq!(net.layers[1].in_dim(), 64 * 3); // 8 × 8 positions × 3 filters
    assert_eq!(net.hidden_dims(), vec![6]);
    let (b, y) = grid_batch(16, 5);
    let theta: Vec<Tensor> = net
        .layers
        .iter()
        .flat_map(|c| {
            let d = c.dense();
            let w = d.weights().map(f64::from);
            [
                (w.nrows(), w.ncols(), w.as_slice().to_vec()),
                (
                    d.out_dim(),
                    1,
                    d.biases().iter().map(|&v| f64::from(v)).collect(),
                ),
            ]
        })
        .collect();
    let mut learner = BpLearner::new(cfg.bp(), &net, TdLoss::Mse).expect("valid");
    let loss = learner
        .update(&mut net, &b, &y, &mut Workspace::default())
        .expect("finite");
    let reference = loss_f64(&theta, &b.obs, &b.actions, &y);
    assert!(
        (loss - reference).abs() < 1e-5 * reference.max(1.0),
        "{loss} vs {reference}"
    );
    let h = 1e-5;
    let mut worst = 0.0f64;
    let mut checked = 0;
    for (l, g) in learner.last_grads().iter().enumerate() {
        for (t, grad) in [
            (2 * l, g.dense.w.as_slice()),
            (2 * l + 1, g.dense.b.as_slice()),
        ] {
            // Every weight of the convolution and the head, every third of the dense layer.
            let stride = if l == 1 { 3 } else { 1 };
            for k in (0..grad.len()).step_by(stride) {
                let mut p = theta.clone();
                p[t].2[k] = theta[t].2[k] + h;
                let lp = loss_f64(&p, &b.obs, &b.actions, &y);
                p[t].2[k] = theta[t].2[k] - h;
                let lm = loss_f64(&p, &b.obs, &b.actions, &y);
                let numeric = (lp - lm) / (2.0 * h);
                let analytic = f64::from(grad[k]);
                worst = worst.max((analytic - numeric).abs() / numeric.abs().max(1e-2));
                checked += 1;
            }
        }
    }
    assert!(checked > 500, "{checked}");
    assert!(worst < 1e-3, "largest relative error {worst:e}");
}

#[test]
fn a_convolution_is_refused_where_there_is_no_grid_or_no_backprop() {
    let err = Config::from_toml(
        "[network]\nconv = { filters = 16, kernel = 3 }\n",
        "test.toml",
    )
    .expect_err("CartPole has no grid");
    let text = err.to_string();
    assert!(
        text.contains("network.conv") && text.contains("grid"),
        "{text}"
    );

    let err = Config::from_toml(
        "[env]\nid = \"MinAtar/Breakout-v1\"\n[network]\nconv = { filters = 16, kernel = 11 }\n",
        "test.toml",
    )
    .expect_err("window larger than the grid");
    assert!(err.to_string().contains("network.conv.kernel"), "{err}");

    let err = Config::from_toml(
        "[env]\nid = \"MinAtar/Breakout-v1\"\n[network]\nconv = { filters = 0, kernel = 3 }\n",
        "test.toml",
    )
    .expect_err("no filters");
    assert!(err.to_string().contains("network.conv.filters"), "{err}");

    let cfg = with(BREAKOUT_CONV);
    for kind in [AgentKind::Ff, AgentKind::LocalTd, AgentKind::GoodnessQ] {
        let err = build(kind, &cfg, &mut ChaCha8Rng::seed_from_u64(0))
            .err()
            .unwrap_or_else(|| panic!("{kind} built a convolution"));
        let text = err.to_string();
        assert!(
            text.contains("network.conv") && text.contains("only bp"),
            "{kind}: {text}"
        );
    }
    // "none" is a config without one, written as configs before the key were.
    let none = with("[env]\nid = \"MinAtar/Breakout-v1\"\n[network]\nconv = \"none\"\n");
    let plain = with("[env]\nid = \"MinAtar/Breakout-v1\"\n");
    assert_eq!(none.conv(), None);
    assert_eq!(none.to_toml(), plain.to_toml());
}

#[test]
fn a_conv_network_acts_and_its_weights_file_reads_back() {
    let cfg = with(BREAKOUT_CONV);
    let agent = build(AgentKind::Bp, &cfg, &mut ChaCha8Rng::seed_from_u64(1)).expect("bp");
    let policy = agent.policy();
    let dir = std::env::temp_dir().join(format!("ffdqn-conv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("weights.json");
    agents::io::save_weights(&path, AgentKind::Bp, cfg.env().id, &policy).expect("saved");
    let back = agents::io::load_weights(&path).expect("read back");
    let (agents::Policy::Q(a), agents::Policy::Q(b)) = (&policy, &back.policy) else {
        panic!("a Q-network");
    };
    assert_eq!(a, b);
    let obs: Vec<f32> = (0..400).map(|i| f32::from(i % 7 == 0)).collect();
    let (mut w1, mut w2) = (Workspace::default(), Workspace::default());
    assert_eq!(
        a.greedy_action(&obs, &mut w1).expect("acts"),
        b.greedy_action(&obs, &mut w2).expect("acts")
    );
    let _ = std::fs::remove_dir_all(&dir);
}
