//! The one training loop every agent runs, and greedy evaluation.

use crate::config::{Config, EnvConfig, WarmUp};
use crate::learner::Learner;
use crate::stats::FfEpochStats;

use crate::rng::{Stream, stream};
use crate::{Error, Result, Tensor};
use envs::{AnyEnv, Environment};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use replay::{Batch, ReplayBuffer, Storage};
use serde::Serialize;
use std::time::Instant;

/// What one epoch measured.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct EpochMetrics {
    /// 1-based epoch number.
    pub epoch: u32,
    /// Environment steps since the start of the run.
    pub env_steps: u64,
    /// Updates since the start of the run.
    pub updates: u64,
    /// ε at the end of the epoch.
    pub epsilon: f64,
    /// Mean return of the epoch's training (ε-greedy) episodes: the paper's Figure 1.
    pub train_return_mean: f64,
    /// Lowest training return of the epoch.
    pub train_return_min: f64,
    /// Highest training return of the epoch.
    pub train_return_max: f64,
    /// Mean return of the greedy evaluation after the epoch.
    pub eval_return_mean: f64,
    /// Standard deviation of those returns.
    pub eval_return_std: f64,
    /// Mean TD loss of the epoch's updates (NaN before learning starts).
    pub td_loss: f64,
    /// Seconds since the start of the run.
    pub wall_seconds: f64,
    /// FF statistics (empty for BP).
    pub ff: FfEpochStats,
}

/// A finished run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunResult {
    /// Per epoch.
    pub epochs: Vec<EpochMetrics>,
    /// Returns of the final greedy evaluation.
    pub final_eval: Vec<f32>,
    /// Environment steps taken.
    pub env_steps: u64,
    /// Updates made.
    pub updates: u64,
    /// Wall time of the whole run.
    pub wall_seconds: f64,
    /// Minibatches whose diverging update was undone.
    pub skipped_batches: u64,
}

/// The epoch in progress: the returns of its finished training episodes, its TD losses so far,
/// and the return of the episode under way (the environment holds that episode, and says
/// whether one is). Empty between epochs; a run stopped inside an epoch keeps it in its
/// checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct EpochProgress {
    /// Returns of the epoch's finished training episodes.
    pub returns: Vec<f32>,
    /// Sum of the epoch's TD losses.
    pub loss_sum: f64,
    /// Number of those losses.
    pub loss_n: u64,
    /// Its return so far.
    pub episode_return: f32,
}

/// How [`train_until`] ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Every epoch and the final evaluation ran.
    Finished(RunResult),
    /// `stop` said yes between two steps; the state is where it stopped, ready to be saved.
    Stopped {
        /// Wall time of the run so far (earlier sessions included).
        wall_seconds: f64,
    },
}

/// Mean and population standard deviation.
pub fn mean_std(xs: &[f32]) -> (f64, f64) {
    if xs.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let n = xs.len() as f64;
    let mean = xs.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
    let var = xs
        .iter()
        .map(|&x| (f64::from(x) - mean).powi(2))
        .sum::<f64>()
        / n;
    (mean, var.sqrt())
}

/// Returns of `policy` (observation → action) over `episodes` episodes of `env`, whose starts
/// are drawn from `rng`; with `epsilon` > 0, each action is a uniformly random one with that
/// chance (drawn from `rng`; at 0 nothing is drawn).
pub fn evaluate(
    policy: &mut dyn FnMut(&[f32]) -> Result<usize>,
    env: &EnvConfig,
    episodes: u32,
    epsilon: f64,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<f32>> {
    let mut env = env.make()?;
    let mut obs = vec![0.0f32; env.obs_dim()];
    // Grown as episodes end: a count of 4 billion is a long evaluation, not a 16 GB allocation.
    let mut returns = Vec::with_capacity(episodes.min(4096) as usize);
    for _ in 0..episodes {
        env.reset(rng, &mut obs);
        let mut ret = 0.0;
        loop {
            let action = if epsilon > 0.0 && rng.gen_bool(epsilon) {
                rng.gen_range(0..env.n_actions())
            } else {
                policy(&obs)?
            };
            let step = env.step(action, &mut obs)?;
            ret += step.reward;
            if step.terminated || step.truncated {
                break;
            }
        }
        returns.push(ret);
    }
    Ok(returns)
}

/// Greedy returns of a trained network (loaded weights, say): [`evaluate`] with its greedy
/// action.
pub fn evaluate_network(
    policy: &crate::Policy,
    env: &EnvConfig,
    episodes: u32,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<f32>> {
    let mut ws = crate::policy::PolicyWorkspace::default();
    evaluate(
        &mut |obs| policy.greedy_action(obs, &mut ws),
        env,
        episodes,
        0.0,
        rng,
    )
}

/// Where a run stands: everything the loop needs to go on. Kept in one struct so that a
/// checkpoint can hold it.
#[derive(Debug, Clone)]
pub struct LoopState {
    /// The training environment.
    pub env: AnyEnv,
    /// The observation the next step acts on (of the episode under way).
    pub obs: Vec<f32>,
    /// Where a step writes the next observation.
    pub(crate) next_obs: Vec<f32>,
    /// The replay buffer.
    pub buffer: ReplayBuffer,
    /// Generator of the training environment's resets.
    pub env_rng: ChaCha8Rng,
    /// Generator of exploration.
    pub explore_rng: ChaCha8Rng,
    /// Generator of minibatches.
    pub replay_rng: ChaCha8Rng,
    /// Generator of per-update draws.
    pub update_rng: ChaCha8Rng,
    /// Environment steps so far.
    pub env_steps: u64,
    /// Updates so far.
    pub updates: u64,
    /// Epochs finished.
    pub epochs_done: u32,
    /// Metrics of the finished epochs.
    pub history: Vec<EpochMetrics>,
    /// Seconds spent in earlier sessions of this run.
    pub prior_seconds: f64,
    /// Minibatches whose update diverged and was undone (with [`OnDivergence::SkipBatch`]).
    pub skipped_batches: u64,
    /// What a diverging update does.
    pub on_divergence: OnDivergence,
    /// The epoch in progress.
    pub epoch: EpochProgress,
}

/// What happens when an update produces a NaN or infinity (in a loss, a target, a gradient
/// or a weight).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnDivergence {
    /// Stop the run with an error naming the step, the layer and the value.
    #[default]
    Stop,
    /// Undo that update, count it, and go on with the next minibatch.
    SkipBatch,
}

impl OnDivergence {
    /// Every choice.
    pub const ALL: [OnDivergence; 2] = [OnDivergence::Stop, OnDivergence::SkipBatch];

    /// `"stop"` or `"skip-batch"`, as flags and run.json spell it.
    pub fn name(self) -> &'static str {
        match self {
            OnDivergence::Stop => "stop",
            OnDivergence::SkipBatch => "skip-batch",
        }
    }

    /// One line on what it does (for help texts).
    pub fn about(self) -> &'static str {
        match self {
            OnDivergence::Stop => "Stop with an error naming the step, the layer and the value",
            OnDivergence::SkipBatch => {
                "Undo the diverging update and go on with the next minibatch"
            }
        }
    }
}

impl LoopState {
    /// The state at the start of a run seeded with `seed`.
    pub fn new(cfg: &Config, seed: u64) -> Result<Self> {
        let env = cfg.env().make()?;
        let obs_dim = env.obs_dim();
        Ok(Self {
            env,
            obs: vec![0.0; obs_dim],
            next_obs: vec![0.0; obs_dim],
            buffer: ReplayBuffer::with_storage(
                cfg.train().buffer_size,
                obs_dim,
                Storage::for_observations(cfg.env().id.binary_observations()),
            )?,
            env_rng: stream(seed, Stream::TrainEnv),
            explore_rng: stream(seed, Stream::Explore),
            replay_rng: stream(seed, Stream::Replay),
            update_rng: stream(seed, Stream::Update),
            env_steps: 0,
            updates: 0,
            epochs_done: 0,
            history: Vec::new(),
            prior_seconds: 0.0,
            skipped_batches: 0,
            on_divergence: OnDivergence::Stop,
            epoch: EpochProgress::default(),
        })
    }
}

/// One update under the divergence policy: parameters are checked after it, and with
/// `SkipBatch` a diverging update is undone.
fn guarded_update<A: Learner + ?Sized>(
    agent: &mut A,
    batch: &Batch,
    st: &mut LoopState,
) -> Result<Option<f64>> {
    let undo = if st.on_divergence == OnDivergence::SkipBatch {
        Some(agent.undo_point().ok_or_else(no_undo_point)?)
    } else {
        None
    };
    let result =
        agent
            .update(batch, &mut st.update_rng)
            .and_then(|loss| match agent.first_non_finite() {
                None => Ok(loss),
                Some((layer, value)) => Err(Error::Diverged {
                    step: 0,
                    layer: Some(layer + 1),
                    tensor: Tensor::Weight,
                    index: None,
                    value: f64::from(value),
                }),
            });
    match (result, undo) {
        (Ok(loss), _) => Ok(Some(loss)),
        (Err(e), Some(point)) if e.is_divergence() => {
            agent.undo(point)?;
            st.skipped_batches += 1;
            Ok(None)
        }
        (Err(e), _) => Err(e.at_step(st.env_steps)),
    }
}

/// The refusal of `SkipBatch` for a learner that keeps no undo point.
fn no_undo_point() -> Error {
    Error::Mismatch(
        "on-divergence skip-batch needs a learner that can undo an update, and this one keeps no undo point: use stop".into(),
    )
}

/// What one training step did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepOutcome {
    /// The environment's reward.
    pub reward: f32,
    /// The episode ended (terminated or truncated); the caller resets the environment.
    pub episode_over: bool,
    /// Sum of the TD losses of the updates made and kept on this step.
    pub loss_sum: f64,
    /// Number of those updates.
    pub loss_n: u64,
}

/// One training step from the observation `st.obs`: act (uniformly at random during a
/// `Uniform` warm-up, else ε-greedily), step the environment, store the transition, and (once
/// learning has started, every `train_frequency` steps) make `gradient_steps` updates, each
/// on a fresh minibatch; the target network moves when `TargetSync::action` says so, after
/// the updates or (with `sync_before_updates`) before them. `st.obs` becomes the next
/// observation. Once the replay buffer, `batch` and the agent's buffers are warm, a step
/// performs no heap allocation (with the default `OnDivergence::Stop`; `SkipBatch` copies the
/// parameters before each update so it can undo it).
pub fn train_step<A: Learner + ?Sized>(
    agent: &mut A,
    cfg: &Config,
    st: &mut LoopState,
    batch: &mut Batch,
) -> Result<StepOutcome> {
    let t = cfg.train();
    let eps = t.epsilon(st.env_steps);
    let warming_up = t.warm_up == WarmUp::Uniform && st.env_steps < t.learning_starts as u64;
    let action = if warming_up || st.explore_rng.gen_bool(eps) {
        st.explore_rng.gen_range(0..st.env.n_actions())
    } else {
        agent.act(&st.obs)?
    };
    let step = st.env.step(action, &mut st.next_obs)?;
    st.buffer.push(
        &st.obs,
        action as u32,
        step.reward,
        &st.next_obs,
        step.terminated,
    )?;
    st.env_steps += 1;
    let update_due =
        st.buffer.len() >= t.learning_starts && st.env_steps.is_multiple_of(t.train_frequency);
    let sync = t.target_sync.action(st.env_steps, update_due);
    if let Some(action) = sync.filter(|_| t.sync_before_updates) {
        agent.sync_target(action)?;
    }
    let (mut loss_sum, mut loss_n) = (0.0, 0);
    if update_due {
        for _ in 0..t.gradient_steps {
            st.buffer
                .sample_into(&mut st.replay_rng, t.batch_size, t.sampling, batch)?;
            if let Some(loss) = guarded_update(agent, batch, st)? {
                loss_sum += loss;
                loss_n += 1;
                st.updates += 1;
            }
        }
    }
    if let Some(action) = sync.filter(|_| !t.sync_before_updates) {
        agent.sync_target(action)?;
    }
    std::mem::swap(&mut st.obs, &mut st.next_obs);
    Ok(StepOutcome {
        reward: step.reward,
        episode_over: step.terminated || step.truncated,
        loss_sum,
        loss_n,
    })
}

/// Runs one epoch, or the rest of one (from `st.epoch`): training steps until the budget says
/// the epoch is over (its episodes played, or its environment steps taken), then a greedy
/// evaluation. `stop` is asked before every step; when it says yes the epoch is left where it
/// is (in `st`, to be saved and continued) and `None` is returned.
pub fn run_epoch<A: Learner + ?Sized>(
    agent: &mut A,
    cfg: &Config,
    seed: u64,
    st: &mut LoopState,
    batch: &mut Batch,
    started: Instant,
    stop: &dyn Fn() -> bool,
) -> Result<Option<EpochMetrics>> {
    let t = cfg.train();
    while !t.epoch_over(st.epochs_done, st.epoch.returns.len(), st.env_steps) {
        if !st.env.is_running() {
            st.env.reset(&mut st.env_rng, &mut st.obs);
            st.epoch.episode_return = 0.0;
        }
        if stop() {
            return Ok(None);
        }
        let step = train_step(agent, cfg, st, batch)?;
        st.epoch.episode_return += step.reward;
        if step.loss_n > 0 {
            st.epoch.loss_sum += step.loss_sum;
            st.epoch.loss_n += step.loss_n;
        }
        if step.episode_over {
            st.epoch.returns.push(st.epoch.episode_return);
        }
    }
    let (returns, loss_sum, loss_n) = (&st.epoch.returns, st.epoch.loss_sum, st.epoch.loss_n);
    let mut eval_rng = stream(seed, Stream::EpochEval);
    let eval = evaluate(
        &mut |obs| agent.act(obs),
        cfg.env(),
        t.eval_episodes,
        t.eval_epsilon,
        &mut eval_rng,
    )?;
    let (train_mean, _) = mean_std(returns);
    let (eval_mean, eval_std) = mean_std(&eval);
    st.epochs_done += 1;
    let metrics = EpochMetrics {
        epoch: st.epochs_done,
        env_steps: st.env_steps,
        updates: st.updates,
        epsilon: t.epsilon(st.env_steps),
        train_return_mean: train_mean,
        // A step budget's epoch can end before any episode does: NaN, as the mean.
        train_return_min: extreme(returns, f32::min),
        train_return_max: extreme(returns, f32::max),
        eval_return_mean: eval_mean,
        eval_return_std: eval_std,
        td_loss: if loss_n == 0 {
            f64::NAN
        } else {
            loss_sum / loss_n as f64
        },
        wall_seconds: st.prior_seconds + started.elapsed().as_secs_f64(),
        ff: agent.take_epoch_stats(),
    };
    st.history.push(metrics.clone());
    // The returns' allocation is kept for the next epoch.
    st.epoch.returns.clear();
    st.epoch.loss_sum = 0.0;
    st.epoch.loss_n = 0;
    Ok(Some(metrics))
}

/// The smallest or largest of `xs` under `pick`, NaN when there are none.
fn extreme(xs: &[f32], pick: fn(f32, f32) -> f32) -> f64 {
    xs.iter().copied().reduce(pick).map_or(f64::NAN, f64::from)
}

/// Trains `agent` for the configured epochs from `st`, calling `on_epoch` after each, then
/// runs the final greedy evaluation.
pub fn train<A: Learner + ?Sized>(
    agent: &mut A,
    cfg: &Config,
    seed: u64,
    st: &mut LoopState,
    on_epoch: &mut dyn FnMut(&EpochMetrics, &LoopState, &A) -> Result<()>,
) -> Result<RunResult> {
    match train_until(agent, cfg, seed, st, on_epoch, &|| false)? {
        Outcome::Finished(result) => Ok(result),
        Outcome::Stopped { .. } => Err(Error::Interrupted {
            epochs_done: st.epochs_done,
            env_steps: st.env_steps,
        }),
    }
}

/// [`train`], asking `stop` before every step: when it says yes, training ends between two
/// steps with `st` and the agent where they are, so that a checkpoint of them continues to the
/// same result, bit for bit, as a run never stopped.
pub fn train_until<A: Learner + ?Sized>(
    agent: &mut A,
    cfg: &Config,
    seed: u64,
    st: &mut LoopState,
    on_epoch: &mut dyn FnMut(&EpochMetrics, &LoopState, &A) -> Result<()>,
    stop: &dyn Fn() -> bool,
) -> Result<Outcome> {
    if st.on_divergence == OnDivergence::SkipBatch && agent.undo_point().is_none() {
        return Err(no_undo_point());
    }
    let started = Instant::now();
    let mut batch = Batch::default();
    while st.epochs_done < cfg.train().epochs() {
        let Some(m) = run_epoch(agent, cfg, seed, st, &mut batch, started, stop)? else {
            return Ok(Outcome::Stopped {
                wall_seconds: st.prior_seconds + started.elapsed().as_secs_f64(),
            });
        };
        on_epoch(&m, st, agent)?;
    }
    let mut rng = stream(seed, Stream::FinalEval);
    let final_eval = evaluate(
        &mut |obs| agent.act(obs),
        cfg.env(),
        cfg.train().final_eval_episodes,
        cfg.train().eval_epsilon,
        &mut rng,
    )?;
    Ok(Outcome::Finished(RunResult {
        epochs: st.history.clone(),
        final_eval,
        env_steps: st.env_steps,
        updates: st.updates,
        wall_seconds: st.prior_seconds + started.elapsed().as_secs_f64(),
        skipped_batches: st.skipped_batches,
    }))
}
