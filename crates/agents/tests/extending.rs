//! A learning rule this crate does not have, written outside it as a user's crate would write
//! it (docs/EXTENDING.md, "A rule of your own"): ff-core's layers and optimizers, dqn-head's
//! targets and loss, and the [`Learner`] trait, trained by this crate's loop with no edit to
//! it.
//!
//! The rule, *deep-target local TD*: each hidden layer has a Q readout of its own and learns
//! only from its own readout's TD loss (no gradient crosses a layer, as in local-td), but every
//! layer regresses on the same target: the bootstrapped value of the target network's deepest
//! readout. It acts on the deepest readout.

use agents::train::OnDivergence;
use agents::{Config, Learner, LoopState, train};
use dqn_head::{SyncAction, TdLoss, td_loss, td_targets};
use ff_core::dense::relu_backward_in_place;
use ff_core::{Buf, Dense, DenseGrads, Init, MatRef, Optimizer, OptimizerConfig};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use replay::Batch;

/// Two hidden layers, each followed by its readout: `[layer 1, readout 1, layer 2, readout 2]`.
struct DeepTargetTd {
    online: Vec<Dense<f32>>,
    target: Vec<Dense<f32>>,
    /// One optimizer per layer and its readout.
    optimizers: Vec<Optimizer<f32>>,
    gamma: f32,
    obs_dim: usize,
}

impl DeepTargetTd {
    fn new(obs_dim: usize, hidden: usize, n_actions: usize, seed: u64) -> ff_core::Result<Self> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let online = vec![
            Dense::new(obs_dim, hidden, Init::PytorchDefault, &mut rng),
            Dense::new(hidden, n_actions, Init::PytorchDefault, &mut rng),
            Dense::new(hidden, hidden, Init::PytorchDefault, &mut rng),
            Dense::new(hidden, n_actions, Init::PytorchDefault, &mut rng),
        ];
        let adam = OptimizerConfig::adam(1e-3).with_clip(10.0);
        let optimizers = vec![
            Optimizer::for_layers(adam, &online[0..2])?,
            Optimizer::for_layers(adam, &online[2..4])?,
        ];
        Ok(Self {
            target: online.clone(),
            online,
            optimizers,
            gamma: 0.99,
            obs_dim,
        })
    }

    /// The hidden activity of every layer, and the deepest readout's Q-values, of `net`.
    fn forward(
        net: &[Dense<f32>],
        x: MatRef<'_, f32>,
    ) -> ff_core::Result<(Buf<f32>, Buf<f32>, Buf<f32>)> {
        let (mut h1, mut h2, mut q) = (Buf::default(), Buf::default(), Buf::default());
        net[0].forward_relu(x, &mut h1)?;
        net[2].forward_relu(h1.mat(), &mut h2)?;
        net[3].forward(h2.mat(), &mut q)?;
        Ok((h1, h2, q))
    }
}

impl Learner for DeepTargetTd {
    fn act(&mut self, obs: &[f32]) -> agents::Result<usize> {
        let x = MatRef::new(obs, self.obs_dim, 1).map_err(agents::Error::from)?;
        let (_, _, q) = Self::forward(&self.online, x).map_err(agents::Error::from)?;
        let q = q.as_slice();
        Ok((0..q.len()).fold(0, |best, a| if q[a] > q[best] { a } else { best }))
    }

    fn update(&mut self, batch: &Batch, _rng: &mut ChaCha8Rng) -> agents::Result<f64> {
        let n = batch.len();
        let core = |e: ff_core::Error| agents::Error::from(e);
        let x = MatRef::new(&batch.obs, self.obs_dim, n).map_err(core)?;
        let next = MatRef::new(&batch.next_obs, self.obs_dim, n).map_err(core)?;
        // One target for every layer: the target network's deepest readout, bootstrapped.
        let (_, _, q_next) = Self::forward(&self.target, next).map_err(core)?;
        let mut y = vec![0.0f32; n];
        td_targets(
            q_next.mat(),
            &batch.rewards,
            &batch.terminated,
            self.gamma,
            &mut y,
        )
        .map_err(agents::Error::from)?;
        // Each layer from its input as the online network computes it now; a layer's input
        // is a constant to it (no gradient crosses a layer).
        let (h1, _, _) = Self::forward(&self.online, x).map_err(core)?;
        let inputs = [x, h1.mat()];
        let mut loss = 0.0;
        for (k, &input) in inputs.iter().enumerate() {
            let (layer, readout) = (&self.online[2 * k], &self.online[2 * k + 1]);
            let (mut h, mut q, mut dq, mut dh) = (
                Buf::default(),
                Buf::default(),
                Buf::default(),
                Buf::default(),
            );
            layer.forward_relu(input, &mut h).map_err(core)?;
            readout.forward(h.mat(), &mut q).map_err(core)?;
            loss = td_loss(q.mat(), &batch.actions, &y, TdLoss::Mse, &mut dq)
                .map_err(agents::Error::from)?;
            let mut grads = [DenseGrads::default(), DenseGrads::default()];
            readout
                .backward(h.mat(), dq.mat(), &mut grads[1], Some(&mut dh))
                .map_err(core)?;
            relu_backward_in_place(dh.as_mut_slice(), h.as_slice());
            layer
                .backward(input, dh.mat(), &mut grads[0], None)
                .map_err(core)?;
            self.optimizers[k]
                .step_layers(&mut self.online[2 * k..2 * k + 2], &grads)
                .map_err(core)?;
        }
        // The deepest layer's loss, as the loop logs it.
        Ok(loss)
    }

    fn sync_target(&mut self, action: SyncAction) -> agents::Result<()> {
        action
            .apply(&self.online, &mut self.target)
            .map_err(agents::Error::from)
    }

    fn first_non_finite(&self) -> Option<(usize, f32)> {
        self.online.iter().enumerate().find_map(|(k, l)| {
            let [w, b] = l.params();
            w.iter().chain(b).find(|v| !v.is_finite()).map(|&v| (k, v))
        })
    }
}

/// CartPole-v1 capped at 200 steps, the paper's loop and replay, a short budget.
fn config() -> Config {
    Config::from_toml(
        "[env]\nid = \"CartPole-v1\"\nmax-episode-steps = 200\n\
         [train]\nepochs = 30\nepisodes-per-epoch = 10\nbatch-size = 64\nlearning-starts = 500\n\
         eval-episodes = 5\nfinal-eval-episodes = 20\n\
         target-sync = { kind = \"hard\", every = 500 }\n\
         epsilon = { start = 1.0, end = 0.05, decay-steps = 5000 }\n",
        "extending.toml",
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn run(seed: u64) -> agents::RunResult {
    let cfg = config();
    let env = cfg.env().id;
    let mut rule = DeepTargetTd::new(env.obs_dim(), 64, env.n_actions(), seed).expect("builds");
    let mut st = LoopState::new(&cfg, seed).expect("loop state");
    train(&mut rule, &cfg, seed, &mut st, &mut |_, _, _| Ok(())).expect("trains")
}

#[test]
fn a_rule_written_outside_the_crate_trains_through_the_loop() {
    let a = run(0);
    assert_eq!(a.epochs.len(), 30);
    assert!(a.updates > 1000, "{} updates", a.updates);
    assert!(
        a.epochs
            .iter()
            .filter(|m| m.updates > 0)
            .all(|m| m.td_loss.is_finite()),
        "finite TD losses"
    );
    // It learns: a uniformly random policy scores about 22 on CartPole.
    let mean = a.final_eval.iter().sum::<f32>() / a.final_eval.len() as f32;
    eprintln!("deep-target local TD, seed 0: final greedy return {mean}");
    assert!(mean > 60.0, "final greedy return {mean}");
    // The loop's guarantees hold for it: the same seed, the same run.
    let b = run(0);
    assert_eq!(a.final_eval, b.final_eval);
    let bits = |r: &agents::RunResult| {
        r.epochs
            .iter()
            .map(|m| (m.td_loss.to_bits(), m.train_return_mean.to_bits()))
            .collect::<Vec<_>>()
    };
    assert_eq!(bits(&a), bits(&b));
}

#[test]
fn skip_batch_is_refused_for_a_rule_without_an_undo_point() {
    let cfg = config();
    let env = cfg.env().id;
    let mut rule = DeepTargetTd::new(env.obs_dim(), 8, env.n_actions(), 0).expect("builds");
    let mut st = LoopState::new(&cfg, 0).expect("loop state");
    st.on_divergence = OnDivergence::SkipBatch;
    let err = train(&mut rule, &cfg, 0, &mut st, &mut |_, _, _| Ok(())).expect_err("refused");
    assert!(err.to_string().contains("undo point"), "{err}");
}
