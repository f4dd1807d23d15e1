//! The layer-local agents. Each layer's update is replayed by hand, layer by layer, from
//! ff-core's and dqn-head's public primitives — its cell's forward pass on the previous
//! layer's pre-update output, its own TD loss against its own target readout, its own FF
//! auxiliary term, its cell's backward pass (no input gradient), its own optimizer — and
//! compared with the agent bit for bit: no gradient crosses a layer.

mod common;
use agents::Learner;
use agents::rng::{Stream, stream};
use agents::{Agent, AgentKind, Config, LocalAgent, LocalRule};
use common::batch;
use dqn_head::{TdLoss, td_gradients, td_loss, td_targets};
use ff_core::cell::{CellCache, CellGrads};
use ff_core::ff::{Goodness, LossForm, ff_loss, goodness};
use ff_core::local::{GoodnessQGrads, symba_loss};
use ff_core::optim::Tensors;
use ff_core::{Buf, DenseGrads, InputNorm, MatRef, Optimizer};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn cfg(extra: &str) -> Config {
    Config::from_toml(
        &format!("[network]\nhidden = [16, 12, 8]\n{extra}"),
        "test.toml",
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// A layer's gradients as its optimizer sees them: the cell's tensors, then the readout's.
struct Grads<'a>(&'a CellGrads<f32>, &'a dyn Tensors<f32>);

impl Tensors<f32> for Grads<'_> {
    fn n_tensors(&self) -> usize {
        self.0.n_tensors() + 2
    }
    fn tensor(&self, k: usize) -> &[f32] {
        let nc = self.0.n_tensors();
        if k < nc {
            self.0.tensor(k)
        } else {
            self.1.tensor(k - nc)
        }
    }
}

/// `[n(prev); obs; onehot(action)]`, column by column, as the wiring says.
fn input(
    prev: Option<&Buf<f32>>,
    norm: InputNorm,
    obs: &[f32],
    actions: Option<(&[u32], usize)>,
    concat_obs: bool,
) -> Buf<f32> {
    let b = obs.len() / 4;
    let mut normed = Buf::default();
    let prev = prev.map(|p| norm.apply(p.mat(), &mut normed).as_slice().to_vec());
    let p_rows = prev.as_ref().map_or(0, |p| p.len() / b);
    let o_rows = if prev.is_none() || concat_obs { 4 } else { 0 };
    let a_rows = actions.map_or(0, |(_, n)| n);
    let mut x = Buf::default();
    x.shape_to(p_rows + o_rows + a_rows, b);
    let rows = p_rows + o_rows + a_rows;
    for j in 0..b {
        let col = &mut x.as_mut_slice()[j * rows..(j + 1) * rows];
        if let Some(p) = &prev {
            col[..p_rows].copy_from_slice(&p[j * p_rows..(j + 1) * p_rows]);
        }
        if o_rows > 0 {
            col[p_rows..p_rows + 4].copy_from_slice(&obs[j * 4..(j + 1) * 4]);
        }
        if let Some((a, n)) = actions {
            for k in 0..n {
                col[p_rows + o_rows + k] = f32::from(a[j] as usize == k);
            }
        }
    }
    x
}

fn replay(rule: LocalRule, extra: &str) {
    let c = cfg(extra);
    let local = c.local(rule).clone();
    let mut agent = LocalAgent::new(rule, &c, &mut stream(3, Stream::Init)).expect("valid");
    let (before, target) = (agent.online().clone(), agent.target().clone());
    let b = batch(128, 7);
    agent
        .update(&b, &mut ChaCha8Rng::seed_from_u64(0))
        .expect("finite");
    let n = b.len();
    let gamma = c.train().gamma;
    let (kind, goodness_q) = (rule.kind(), rule == LocalRule::GoodnessQ);
    assert_eq!(before.wiring.action_in_input, goodness_q);

    // Every layer's TD targets from its own target readout (the online layer picks the next
    // action with double Q).
    let next = MatRef::new(&b.next_obs, 4, n).expect("shape");
    let mut ws = agents::local::LocalWorkspace::default();
    let picker = if local.double_q {
        before.q_all(next, &mut ws).expect("ok");
        Some(ws.q_layers().to_vec())
    } else {
        None
    };
    target.q_all(next, &mut ws).expect("ok");
    let q_next = ws.q_layers().to_vec();
    let na = 2;
    let targets: Vec<Vec<f32>> = (0..before.layers.len())
        .map(|l| {
            let q = &q_next[l * na * n..(l + 1) * na * n];
            let mut y = vec![0.0; n];
            match &picker {
                None => td_targets(
                    MatRef::new(q, na, n).expect("shape"),
                    &b.rewards,
                    &b.terminated,
                    gamma,
                    &mut y,
                )
                .expect("finite"),
                Some(p) => {
                    let p = &p[l * na * n..(l + 1) * na * n];
                    for j in 0..n {
                        let a = if p[j * na + 1] > p[j * na] { 1 } else { 0 };
                        let boot = if b.terminated[j] {
                            0.0
                        } else {
                            gamma * q[j * na + a]
                        };
                        y[j] = b.rewards[j] + boot;
                    }
                }
            }
            y
        })
        .collect();

    // Each layer on its own.
    let mut prev_h: Option<Buf<f32>> = None;
    for (l, layer) in before.layers.iter().enumerate() {
        let x = input(
            prev_h.as_ref(),
            local.input_norm,
            &b.obs,
            goodness_q.then_some((b.actions.as_slice(), na)),
            local.concat_obs,
        );
        let (mut h, mut cache) = (Buf::default(), CellCache::default());
        layer
            .cell
            .forward_train(x.mat(), &mut h, &mut cache)
            .expect("ok");
        let y = &targets[l];
        let mut dh = Buf::default();
        let (mut dense_g, mut good_g) = (DenseGrads::default(), GoodnessQGrads::default());
        match &layer.readout {
            agents::local::Readout::Linear(d) => {
                let (mut q, mut dq) = (Buf::default(), Buf::default());
                td_gradients(
                    d,
                    h.mat(),
                    &b.actions,
                    y,
                    TdLoss::Mse,
                    &mut q,
                    &mut dq,
                    &mut dense_g,
                    Some(&mut dh),
                )
                .expect("finite");
            }
            agents::local::Readout::Goodness(g, form) => {
                let form = *form;
                let mut q = vec![0.0; n];
                g.q_values(form, h.mat(), &b.actions, &mut q)
                    .expect("finite");
                let mut dq = Buf::default();
                td_loss(
                    MatRef::new(&q, 1, n).expect("shape"),
                    &vec![0; n],
                    y,
                    TdLoss::Mse,
                    &mut dq,
                )
                .expect("finite");
                g.backward(
                    form,
                    h.mat(),
                    &b.actions,
                    dq.as_slice(),
                    &mut good_g,
                    &mut dh,
                )
                .expect("ok");
            }
        }
        // The FF auxiliary term on this layer's goodness, split at the median of its targets.
        let aux = match local.ff_aux {
            agents::config::FfAux::None => None,
            agents::config::FfAux::Ff { weight, margin } => Some((weight, Some(margin), None)),
            agents::config::FfAux::Symba { weight, kappa } => Some((weight, None, Some(kappa))),
        };
        if let Some((weight, margin, kappa)) = aux {
            let mut sorted = y.clone();
            sorted.sort_by(f32::total_cmp);
            let median = sorted[(n - 1) / 2];
            let is_pos: Vec<bool> = y.iter().map(|&v| v > median).collect();
            let mut g = vec![0.0; n];
            goodness(Goodness::Mean, h.mat(), &mut g).expect("ok");
            let mut dg = vec![0.0; n];
            match (margin, kappa) {
                (Some(m), _) => ff_loss(LossForm::PerSample, m, &g, &is_pos, &mut dg).map(|_| ()),
                (_, Some(k)) => symba_loss(&g, &is_pos, k, &mut dg).map(|_| ()),
                _ => unreachable!("one of the two"),
            }
            .expect("finite");
            let rows = h.shape().0;
            let scale = 2.0 / rows as f32;
            for (j, d) in dg.iter().enumerate() {
                let k = weight * d * scale;
                for i in 0..rows {
                    dh.as_mut_slice()[j * rows + i] += k * h.as_slice()[j * rows + i];
                }
            }
        }
        let mut cg = CellGrads::for_cell(&layer.cell);
        layer
            .cell
            .backward(x.mat(), h.mat(), dh.mat(), &cache, &mut cg, None)
            .expect("ok");
        let mut expected = layer.clone();
        let mut opt =
            Optimizer::for_layers(local.optimizer, std::slice::from_ref(&expected)).expect("valid");
        let readout_g: &dyn Tensors<f32> = if goodness_q { &good_g } else { &dense_g };
        opt.step_layers(
            std::slice::from_mut(&mut expected),
            std::slice::from_ref(&Grads(&cg, readout_g)),
        )
        .expect("finite");
        assert_eq!(
            agent.online().layers[l],
            expected,
            "{kind} layer {} ({extra:?}): the update is not the layer's own step",
            l + 1
        );
        assert_ne!(before.layers[l], expected, "{kind} layer {} learned", l + 1);
        prev_h = Some(h);
    }
}

#[test]
fn local_td_layers_learn_only_from_their_own_losses() {
    replay(LocalRule::LocalTd, "");
    replay(
        LocalRule::LocalTd,
        "cell-norm = \"after-relu\"\n[local-td]\ninput-norm = \"l2\"\ndouble-q = true\nff-aux = { kind = \"ff\", weight = 0.5 }",
    );
    replay(
        LocalRule::LocalTd,
        "cell-norm = \"before-relu\"\n[local-td]\ninput = \"previous\"\nff-aux = { kind = \"symba\", weight = 0.2, kappa = 2.0 }",
    );
}

#[test]
fn goodness_q_layers_learn_only_from_their_own_losses() {
    replay(LocalRule::GoodnessQ, "");
    replay(
        LocalRule::GoodnessQ,
        "cell-norm = \"before-relu\"\n[goodness-q]\ngoodness = \"rms\"\nbeta = \"shared\"\ndouble-q = true\nff-aux = { kind = \"ff\", weight = 0.5 }",
    );
}

/// Changing a layer's readout changes no other layer's update.
#[test]
fn a_layer_does_not_see_the_next_layers_loss() {
    let c = cfg("");
    let b = batch(64, 9);
    let update = |scale: f32| {
        let mut agent =
            LocalAgent::new(LocalRule::LocalTd, &c, &mut stream(5, Stream::Init)).expect("valid");
        let mut snap = agent.snapshot();
        if let agents::AgentSnapshot::Local(agents::LocalState { online: layers, .. }) = &mut snap {
            let last = layers.len() - 1;
            if let agents::local::Readout::Linear(d) = &mut layers[last].readout {
                for v in d.params_mut()[0].iter_mut() {
                    *v *= scale;
                }
            }
        }
        agent.restore(snap).expect("same layout");
        agent
            .update(&b, &mut ChaCha8Rng::seed_from_u64(0))
            .expect("finite");
        agent.online().layers.clone()
    };
    let (a, b2) = (update(1.0), update(3.0));
    let last = a.len() - 1;
    assert_eq!(
        a[..last],
        b2[..last],
        "the layers below the changed readout updated identically"
    );
    assert_ne!(a[last], b2[last]);
}

#[test]
fn bad_local_keys_name_the_key() {
    for (text, key) in [
        (
            "[local-td]\noptimizer = { kind = \"adam\", lr = -1.0 }",
            "local-td.optimizer.lr",
        ),
        (
            "[goodness-q]\nff-aux = { kind = \"ff\", weight = nan }",
            "goodness-q.ff-aux.weight",
        ),
        ("[goodness-q]\nalpha-init = inf", "goodness-q.alpha-init"),
        (
            "[local-td]\noptimizer = { kind = \"frozen\" }",
            "local-td.optimizer.kind",
        ),
        ("[bp]\noptimizer = { kind = \"adam\" }", "bp.optimizer.lr"),
    ] {
        let err = Config::from_toml(text, "t.toml").expect_err(text);
        assert!(err.to_string().contains(key), "{text}: {err}");
    }
    assert!(Config::from_toml("[local-td]\nact-on = \"median\"", "t.toml").is_err());
    // FF-DQN has no per-cell norm: named at build time.
    let c = cfg("cell-norm = \"after-relu\"");
    let err = agents::build(AgentKind::Ff, &c, &mut stream(0, Stream::Init))
        .err()
        .expect("refused");
    assert!(err.to_string().contains("network.cell-norm"), "{err}");
}

/// The frozen-features control: after many updates every cell is bit for bit its
/// initialisation, and every readout has moved (so the agent still learns, from its
/// random features only).
#[test]
fn frozen_cells_keep_their_initialisation_and_readouts_learn() {
    for (rule, section) in [
        (LocalRule::LocalTd, "local-td"),
        (LocalRule::GoodnessQ, "goodness-q"),
    ] {
        let c = cfg(&format!(
            "cell-norm = \"after-relu\"\n[{section}]\nfrozen-cells = true"
        ));
        let mut agent = LocalAgent::new(rule, &c, &mut stream(3, Stream::Init)).expect("valid");
        let before = agent.online().layers.clone();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for i in 0..20 {
            agent.update(&batch(64, i), &mut rng).expect("finite");
        }
        let after = &agent.online().layers;
        for (l, (a, b)) in before.iter().zip(after).enumerate() {
            assert_eq!(a.cell, b.cell, "{section}: cell {l} moved");
            assert_ne!(a.readout, b.readout, "{section}: readout {l} did not learn");
        }
        // Its optimizers hold the readouts' moments only.
        let readout_params: usize = after
            .iter()
            .map(|l| match &l.readout {
                agents::local::Readout::Linear(d) => d.params().iter().map(|p| p.len()).sum(),
                agents::local::Readout::Goodness(g, _) => {
                    (0..g.n_tensors()).map(|k| g.tensor(k).len()).sum::<usize>()
                }
            })
            .sum();
        assert_eq!(agent.optimizer_state_len(), 2 * readout_params, "{section}");
    }
    // An FF term would train the frozen cells: refused, naming the key.
    let err = Config::from_toml(
        "[local-td]\nfrozen-cells = true\nff-aux = { kind = \"ff\", weight = 0.1 }",
        "t.toml",
    )
    .expect_err("refused");
    assert!(err.to_string().contains("local-td.ff-aux"), "{err}");
    assert!(Config::from_toml("[local-td]\nfrozen-cells = 1", "t.toml").is_err());
}
