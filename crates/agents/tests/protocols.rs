//! The loop's two protocols: the paper's (epochs of episodes, ε-greedy from the first step,
//! one update per `train-frequency` steps) and SB3's and CleanRL's (a budget of env steps, a
//! uniform warm-up, rounds of `gradient-steps` updates, ε over a fraction of the budget, the
//! target copy before or after the round). An agent that records what the loop asks of it
//! shows each rule step by step.

use agents::rng::{Stream, stream};
use agents::train::train_step;
use agents::{Agent, AgentKind, Config, Learner, LoopState, build, train};
use dqn_head::SyncAction;
use envs::Environment;
use rand_chacha::ChaCha8Rng;
use replay::Batch;

/// What the loop asked of the agent, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    Act,
    Update,
    Sync,
}

/// A BP-DQN agent that writes down every act, update and target sync: a [`Learner`] of its
/// own, as a rule outside this crate would be.
struct Recorder {
    inner: Box<dyn Agent>,
    calls: Vec<Call>,
}

impl Learner for Recorder {
    fn first_non_finite(&self) -> Option<(usize, f32)> {
        self.inner.first_non_finite()
    }
    fn act(&mut self, obs: &[f32]) -> agents::Result<usize> {
        self.calls.push(Call::Act);
        self.inner.act(obs)
    }
    fn update(&mut self, batch: &Batch, rng: &mut ChaCha8Rng) -> agents::Result<f64> {
        self.calls.push(Call::Update);
        self.inner.update(batch, rng)
    }
    fn sync_target(&mut self, action: SyncAction) -> agents::Result<()> {
        self.calls.push(Call::Sync);
        self.inner.sync_target(action)
    }
}

fn config(train: &str) -> Config {
    Config::from_toml(
        &format!("[train]\nbatch-size = 32\n{train}\n[network]\nhidden = [16]\n[bp]\n"),
        "test.toml",
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// The calls of each of `steps` training steps, from a fresh episode.
fn record(cfg: &Config, steps: usize) -> Vec<Vec<Call>> {
    let inner = build(AgentKind::Bp, cfg, &mut stream(0, Stream::Init)).expect("valid");
    let mut agent = Recorder {
        inner,
        calls: Vec::new(),
    };
    let mut st = LoopState::new(cfg, 0).expect("valid");
    let mut batch = Batch::default();
    let mut per_step = Vec::new();
    for _ in 0..steps {
        if !st.env.is_running() {
            st.env.reset(&mut st.env_rng, &mut st.obs);
        }
        train_step(&mut agent, cfg, &mut st, &mut batch).expect("steps");
        per_step.push(std::mem::take(&mut agent.calls));
    }
    per_step
}

#[test]
fn a_uniform_warm_up_never_asks_the_network_before_learning_starts() {
    // ε = 0 after the warm-up: every later action is the network's.
    let eps0 = "epsilon = { start = 0.0, end = 0.0 }";
    let uniform = record(
        &config(&format!(
            "learning-starts = 200\nwarm-up = \"uniform\"\n{eps0}"
        )),
        400,
    );
    let acts = |steps: &[Vec<Call>]| steps.iter().filter(|c| c.contains(&Call::Act)).count();
    assert_eq!(acts(&uniform[..200]), 0, "uniform before learning-starts");
    assert_eq!(acts(&uniform[200..]), 200, "greedy after it");
    // The paper's warm-up is ε-greedy from the first step.
    let paper = record(&config(&format!("learning-starts = 200\n{eps0}")), 400);
    assert_eq!(acts(&paper), 400);
}

#[test]
fn rounds_of_gradient_steps_follow_every_train_frequency_steps() {
    let updates = |steps: &[Vec<Call>]| -> Vec<usize> {
        steps
            .iter()
            .map(|c| c.iter().filter(|&&x| x == Call::Update).count())
            .collect()
    };
    for (gradient_steps, per_round) in [(3, 3), (-1, 8)] {
        let cfg = config(&format!(
            "learning-starts = 100\ntrain-frequency = 8\ngradient-steps = {gradient_steps}"
        ));
        let got = updates(&record(&cfg, 300));
        for (i, &n) in got.iter().enumerate() {
            let env_step = i as u64 + 1;
            let due = env_step >= 100 && env_step.is_multiple_of(8);
            assert_eq!(n, if due { per_round } else { 0 }, "step {env_step}");
        }
    }
}

#[test]
fn a_due_copy_comes_before_or_after_the_round_as_configured() {
    let base =
        "learning-starts = 100\ntrain-frequency = 10\ngradient-steps = 2\nwarm-up = \"uniform\"";
    for (before, expected) in [
        (false, [Call::Update, Call::Update, Call::Sync]),
        (true, [Call::Sync, Call::Update, Call::Update]),
    ] {
        let cfg = config(&format!(
            "{base}\ntarget-sync = {{ kind = \"hard\", every = 50, before-updates = {before} }}"
        ));
        let steps = record(&cfg, 200);
        // Copies every 50 env steps, warm-up included (SB3 counts them from step 0).
        for (i, calls) in steps.iter().enumerate() {
            let env_step = i + 1;
            let syncs = calls.iter().filter(|&&c| c == Call::Sync).count();
            assert_eq!(syncs, usize::from(env_step % 50 == 0), "step {env_step}");
        }
        let at_150: Vec<Call> = steps[149]
            .iter()
            .copied()
            .filter(|&c| c != Call::Act)
            .collect();
        assert_eq!(at_150, expected, "step 150, before-updates = {before}");
    }
}

#[test]
fn a_step_budget_ends_on_a_whole_round_and_logs_every_k_steps() {
    // SB3 collects whole rounds: 1 000 steps asked, rounds of 16, so training ends at 1 008.
    let cfg = config(
        "total-steps = 1000\nlog-every-steps = 250\ntrain-frequency = 16\ngradient-steps = -1\nlearning-starts = 100\nwarm-up = \"uniform\"\neval-episodes = 1\nfinal-eval-episodes = 2\nepsilon = { start = 1.0, end = 0.05, fraction = 0.5 }",
    );
    let mut agent = build(AgentKind::Bp, &cfg, &mut stream(3, Stream::Init)).expect("valid");
    let mut st = LoopState::new(&cfg, 3).expect("valid");
    let run = train(agent.as_mut(), &cfg, 3, &mut st, &mut |_, _, _| Ok(())).expect("trains");
    let logged: Vec<u64> = run.epochs.iter().map(|m| m.env_steps).collect();
    // The last evaluation comes at the end: no short remainder of an epoch.
    assert_eq!(logged, [250, 500, 750, 1008]);
    assert_eq!(run.env_steps, 1008);
    // Rounds at 112, 128, …, 1 008: 57 rounds of 16 updates.
    assert_eq!(run.updates, 57 * 16);
    assert_eq!(run.final_eval.len(), 2);
    // ε reaches its end at half the budget asked (500 steps), as SB3's exploration_fraction.
    let t = cfg.train();
    assert_eq!(t.epsilon(0), 1.0);
    assert!((t.epsilon(250) - 0.525).abs() < 1e-12);
    assert!((t.epsilon(500) - 0.05).abs() < 1e-12);
    assert_eq!(t.epsilon(900), t.epsilon(500));
    assert!(t.epsilon(499) > t.epsilon(500));
    assert_eq!(t.epochs(), 4);
}

#[test]
fn a_step_budget_resolves_its_defaults_into_the_runs_config() {
    let cfg = config("total-steps = 50000\nepsilon = { fraction = 0.16 }");
    let text = cfg.to_toml();
    assert!(text.contains("total-steps = 50000"), "{text}");
    assert!(text.contains("log-every-steps = 2500"), "{text}");
    assert!(
        !text.contains("epochs") && !text.contains("decay-steps"),
        "{text}"
    );
    let back = Config::from_toml(&text, "config.toml").expect("reads back");
    assert_eq!(back.train(), cfg.train());
    // An epochs budget writes its defaults out too, and reads back the same.
    let paper = config("");
    let text = paper.to_toml();
    assert!(
        text.contains("epochs = 70") && text.contains("decay-steps = 10000"),
        "{text}"
    );
    assert_eq!(
        Config::from_toml(&text, "c").expect("reads back").train(),
        paper.train()
    );
}
