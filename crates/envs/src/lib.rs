//! One environment trait over the classic-control tasks, each exactly as Gymnasium 1.x defines
//! it.
//!
//! [`Environment`] is what a training loop needs: reset from a seeded generator, step with an
//! action, observations written into a caller-owned slice (so stepping allocates nothing), and
//! termination reported apart from truncation (a truncated transition still bootstraps).
//! [`EnvId`] names the tasks as Gymnasium registers them, and [`AnyEnv`] holds any of them.
//!
//! | id | observation | actions | reward | ends |
//! |---|---|---|---|---|
//! | `CartPole-v1` | x, ẋ, θ, θ̇ | push left, right | +1 per step | pole past 12°, cart off the track; 500 steps in Gymnasium |
//! | `Acrobot-v1` | cos θ₁, sin θ₁, cos θ₂, sin θ₂, θ̇₁, θ̇₂ | torque −1, 0, +1 | −1 per step, 0 on the last | tip above the bar; 500 steps |
//! | `MountainCar-v0` | position, velocity | push left, none, right | −1 per step | position ≥ 0.5; 200 steps |
//!
//! Every environment keeps Gymnasium's state in `f64` and its order of floating-point
//! operations, and hands out `f32` observations as Gymnasium does, so the same start and actions
//! give Gymnasium's observations (bit for bit in the golden tests of `tests/golden.rs`, with the
//! one exception documented on [`Acrobot`]).
//!
//! ```
//! use envs::{EnvId, Environment};
//! use rand::SeedableRng;
//!
//! let mut env = EnvId::MountainCar.make(None)?;
//! let mut rng = rand::rngs::StdRng::seed_from_u64(0);
//! let mut obs = vec![0.0; env.obs_dim()];
//! env.reset(&mut rng, &mut obs);
//! let mut ret = 0.0;
//! loop {
//!     // Push in the direction of motion: pumps energy into the car until it reaches the flag.
//!     let action = if obs[1] < 0.0 { 0 } else { 2 };
//!     let step = env.step(action, &mut obs)?;
//!     ret += step.reward;
//!     if step.terminated || step.truncated {
//!         assert!(step.terminated, "the energy-pumping policy reaches the goal");
//!         break;
//!     }
//! }
//! assert!(ret > -200.0);
//! # Ok::<(), envs::Error>(())
//! ```

mod acrobot;
mod cartpole;
pub mod minatar;
mod mountain_car;

pub use acrobot::{Acrobot, AcrobotState};
pub use minatar::{GRID, Game, MinAtar, MinAtarOptions};
pub use mountain_car::{MountainCar, MountainCarState};

use rand::RngCore;
use serde::{Deserialize, Serialize};

/// What can go wrong when using an environment.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// An action the environment does not have.
    #[error("invalid action {action} for {env}: it has actions 0..{n_actions}")]
    InvalidAction {
        /// The environment.
        env: EnvId,
        /// The action given.
        action: usize,
        /// Number of actions.
        n_actions: usize,
    },
    /// `step` before the first `reset`.
    #[error("no episode is running: call reset() before step()")]
    NotReset,
    /// `step` after the episode ended.
    #[error("episode has ended (after {steps} steps): call reset() before step()")]
    EpisodeEnded {
        /// Steps the ended episode lasted.
        steps: u32,
    },
    /// The observation buffer has the wrong length.
    #[error("{env} observations have {expected} values, the buffer holds {got}")]
    ObsLength {
        /// The environment.
        env: EnvId,
        /// Its observation width.
        expected: usize,
        /// The buffer's length.
        got: usize,
    },
    /// A step limit of zero.
    #[error("max_episode_steps is 0: the step limit must be at least 1")]
    ZeroStepLimit,
    /// A start state with a NaN or infinite component.
    #[error("start state component `{field}` is {value}: every component must be finite")]
    NonFiniteState {
        /// Which component.
        field: &'static str,
        /// The value.
        value: f64,
    },
    /// A saved episode that does not fit the task.
    #[error("a saved {env} episode has {got} state values, the task has {expected}")]
    EpisodeState {
        /// The environment.
        env: EnvId,
        /// Its state's width.
        expected: usize,
        /// The values saved.
        got: usize,
    },
    /// A sticky-action probability outside [0, 1].
    #[error("sticky_action_prob is {value}: it must be a probability in [0, 1]")]
    StickyActionProb {
        /// The value given.
        value: f64,
    },
    /// A saved MinAtar environment of another game.
    #[error("a saved MinAtar environment of {got:?} cannot continue as {env}")]
    SnapshotGame {
        /// The environment.
        env: EnvId,
        /// The saved game.
        got: Game,
    },
    /// A saved MinAtar environment holding values its game cannot be in.
    #[error(
        "a saved {env} environment holds values the game cannot be in (a position off the grid, a RandomState of the wrong size, an action outside 0..6)"
    )]
    SnapshotValues {
        /// The environment.
        env: EnvId,
    },
    /// A saved episode of another kind of task.
    #[error("a saved episode of another kind of task cannot continue as {env}")]
    EpisodeKind {
        /// The environment.
        env: EnvId,
    },
    /// CartPole's own errors.
    #[error(transparent)]
    CartPole(#[from] env_cartpole::Error),
}

/// What one step returned (the observation is written into the caller's buffer).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Transition {
    /// The reward.
    pub reward: f32,
    /// The episode ended in a terminal state: no bootstrapping from it.
    pub terminated: bool,
    /// The step limit cut the episode: the state is not terminal.
    pub truncated: bool,
}

/// What a training loop asks of an environment.
pub trait Environment {
    /// Which task this is.
    fn id(&self) -> EnvId;
    /// The step limit (truncation).
    fn max_episode_steps(&self) -> u32;
    /// Width of an observation.
    fn obs_dim(&self) -> usize {
        self.id().obs_dim()
    }
    /// Number of actions.
    fn n_actions(&self) -> usize {
        self.id().n_actions()
    }
    /// Starts an episode from the task's start distribution drawn from `rng`, writing the
    /// first observation into `obs` (which must hold [`Environment::obs_dim`] values; a buffer
    /// of another length is left untouched and the next `step` refuses it).
    fn reset(&mut self, rng: &mut dyn RngCore, obs: &mut [f32]);
    /// Applies `action` for one step, writing the next observation into `obs`.
    fn step(&mut self, action: usize, obs: &mut [f32]) -> Result<Transition, Error>;
    /// The current state drawn as text (for `ffdqn play`).
    fn render_text(&self) -> String;
}

/// The tasks, named as Gymnasium registers them (MinAtar's as its package's gym wrapper does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum EnvId {
    /// Balance a pole on a cart.
    #[default]
    CartPole,
    /// Swing a two-link pendulum's tip above a bar.
    Acrobot,
    /// Drive an underpowered car up a hill.
    MountainCar,
    /// A MinAtar game: `MinAtar/<Game>-v0` (all six actions) or `-v1` (its minimal set).
    MinAtar {
        /// The game.
        game: Game,
        /// `-v1`: the game's minimal action set.
        minimal_actions: bool,
    },
}

impl Serialize for EnvId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for EnvId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        EnvId::from_name(&name).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown task `{name}`: the tasks are {}",
                EnvId::ALL.map(|e| e.name()).join(", ")
            ))
        })
    }
}

impl EnvId {
    /// Every task: the three classic-control tasks, then MinAtar's five games in v0 and v1.
    pub const ALL: [EnvId; 13] = {
        let mut all = [EnvId::CartPole; 13];
        all[1] = EnvId::Acrobot;
        all[2] = EnvId::MountainCar;
        let mut i = 0;
        while i < 5 {
            all[3 + 2 * i] = EnvId::MinAtar {
                game: Game::ALL[i],
                minimal_actions: false,
            };
            all[4 + 2 * i] = EnvId::MinAtar {
                game: Game::ALL[i],
                minimal_actions: true,
            };
            i += 1;
        }
        all
    };

    /// The registered id: `CartPole-v1`, `Acrobot-v1`, `MountainCar-v0`,
    /// `MinAtar/<Game>-v0|v1`.
    pub fn name(self) -> &'static str {
        match self {
            EnvId::CartPole => "CartPole-v1",
            EnvId::Acrobot => "Acrobot-v1",
            EnvId::MountainCar => "MountainCar-v0",
            EnvId::MinAtar {
                game,
                minimal_actions,
            } => minatar::id_name(game, minimal_actions),
        }
    }

    /// The task with registered id `name`.
    ///
    /// ```
    /// use envs::{EnvId, Game};
    /// assert_eq!(EnvId::from_name("Acrobot-v1"), Some(EnvId::Acrobot));
    /// assert_eq!(
    ///     EnvId::from_name("MinAtar/Breakout-v1"),
    ///     Some(EnvId::MinAtar { game: Game::Breakout, minimal_actions: true })
    /// );
    /// assert_eq!(EnvId::from_name("acrobot"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.name() == name)
    }

    /// Width of an observation.
    pub fn obs_dim(self) -> usize {
        match self {
            EnvId::CartPole => 4,
            EnvId::Acrobot => 6,
            EnvId::MountainCar => 2,
            EnvId::MinAtar { game, .. } => minatar::GRID * minatar::GRID * game.channels(),
        }
    }

    /// Number of actions.
    pub fn n_actions(self) -> usize {
        match self {
            EnvId::CartPole => 2,
            EnvId::Acrobot | EnvId::MountainCar => 3,
            EnvId::MinAtar {
                game,
                minimal_actions: true,
            } => game.minimal_action_set().len(),
            EnvId::MinAtar { .. } => minatar::ACTION_NAMES.len(),
        }
    }

    /// Whether every observation value is 0 or 1 (MinAtar's grids): such observations can be
    /// stored as bits and multiplied by what they select.
    pub fn binary_observations(self) -> bool {
        matches!(self, EnvId::MinAtar { .. })
    }

    /// The step limit of the registration: 500, 500, 200; MinAtar registers none (`u32::MAX`,
    /// never reached: Freeway ends itself after 2 500 frames, the others at game over).
    pub fn gymnasium_max_episode_steps(self) -> u32 {
        match self {
            EnvId::CartPole | EnvId::Acrobot => 500,
            EnvId::MountainCar => 200,
            EnvId::MinAtar { .. } => u32::MAX,
        }
    }

    /// The return the registration calls solved (`reward_threshold`): 475, −100, −110; MinAtar
    /// has none.
    pub fn gymnasium_reward_threshold(self) -> Option<f64> {
        match self {
            EnvId::CartPole => Some(475.0),
            EnvId::Acrobot => Some(-100.0),
            EnvId::MountainCar => Some(-110.0),
            EnvId::MinAtar { .. } => None,
        }
    }

    /// A new environment with the given step limit (the registration's when `None`); MinAtar
    /// games with the package's default options.
    pub fn make(self, max_episode_steps: Option<u32>) -> Result<AnyEnv, Error> {
        let limit = max_episode_steps.unwrap_or(self.gymnasium_max_episode_steps());
        Ok(match self {
            EnvId::CartPole => AnyEnv::CartPole(env_cartpole::CartPole::new(limit)?),
            EnvId::Acrobot => AnyEnv::Acrobot(Acrobot::new(limit)?),
            EnvId::MountainCar => AnyEnv::MountainCar(MountainCar::new(limit)?),
            EnvId::MinAtar {
                game,
                minimal_actions,
            } => AnyEnv::MinAtar(Box::new(MinAtar::new(
                game,
                minimal_actions,
                limit,
                MinAtarOptions::default(),
            )?)),
        })
    }
}

impl std::fmt::Display for EnvId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Any of the tasks, for a loop that is not generic over its environment.
#[derive(Debug, Clone)]
pub enum AnyEnv {
    /// CartPole-v1.
    CartPole(env_cartpole::CartPole),
    /// Acrobot-v1.
    Acrobot(Acrobot),
    /// MountainCar-v0.
    MountainCar(MountainCar),
    /// A MinAtar game.
    MinAtar(Box<MinAtar>),
}

impl Environment for AnyEnv {
    fn id(&self) -> EnvId {
        match self {
            AnyEnv::CartPole(e) => e.id(),
            AnyEnv::Acrobot(e) => e.id(),
            AnyEnv::MountainCar(e) => e.id(),
            AnyEnv::MinAtar(e) => e.id(),
        }
    }
    fn max_episode_steps(&self) -> u32 {
        match self {
            AnyEnv::CartPole(e) => Environment::max_episode_steps(e),
            AnyEnv::Acrobot(e) => e.max_episode_steps(),
            AnyEnv::MountainCar(e) => e.max_episode_steps(),
            AnyEnv::MinAtar(e) => e.max_episode_steps(),
        }
    }
    fn reset(&mut self, rng: &mut dyn RngCore, obs: &mut [f32]) {
        match self {
            AnyEnv::CartPole(e) => Environment::reset(e, rng, obs),
            AnyEnv::Acrobot(e) => Environment::reset(e, rng, obs),
            AnyEnv::MountainCar(e) => Environment::reset(e, rng, obs),
            AnyEnv::MinAtar(e) => Environment::reset(e.as_mut(), rng, obs),
        }
    }
    fn step(&mut self, action: usize, obs: &mut [f32]) -> Result<Transition, Error> {
        match self {
            AnyEnv::CartPole(e) => Environment::step(e, action, obs),
            AnyEnv::Acrobot(e) => Environment::step(e, action, obs),
            AnyEnv::MountainCar(e) => Environment::step(e, action, obs),
            AnyEnv::MinAtar(e) => Environment::step(e.as_mut(), action, obs),
        }
    }
    fn render_text(&self) -> String {
        match self {
            AnyEnv::CartPole(e) => e.render_text(),
            AnyEnv::Acrobot(e) => e.render_text(),
            AnyEnv::MountainCar(e) => e.render_text(),
            AnyEnv::MinAtar(e) => e.render_text(),
        }
    }
}

/// What a checkpoint keeps of an environment so that a resumed run continues it exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Episode {
    /// A classic-control episode in progress: the task's `f64` state (in the order of its state
    /// struct's fields) and the steps taken. The observation follows from the state.
    Classic {
        /// The state.
        state: Vec<f64>,
        /// Steps taken in the episode.
        steps: u32,
    },
    /// A MinAtar environment, in an episode or between two: its stream goes on across
    /// episodes.
    MinAtar(Box<minatar::Snapshot>),
}

impl AnyEnv {
    /// Whether an episode is under way (reset, and neither terminated nor truncated).
    pub fn is_running(&self) -> bool {
        match self {
            AnyEnv::CartPole(e) => e.is_running(),
            AnyEnv::Acrobot(e) => e.is_running(),
            AnyEnv::MountainCar(e) => e.is_running(),
            AnyEnv::MinAtar(e) => e.is_running(),
        }
    }

    /// What a checkpoint keeps: the episode under way, or `None` when none is (before the first
    /// reset, or once the episode has ended); a MinAtar environment once it has a stream,
    /// between episodes too.
    ///
    /// ```
    /// use envs::{EnvId, Environment};
    /// use rand::SeedableRng;
    /// let mut env = EnvId::Acrobot.make(None)?;
    /// let mut obs = [0.0f32; 6];
    /// env.reset(&mut rand::rngs::StdRng::seed_from_u64(0), &mut obs);
    /// env.step(1, &mut obs)?;
    /// let episode = env.episode().expect("running");
    /// let mut other = EnvId::Acrobot.make(None)?;
    /// let mut back = [0.0f32; 6];
    /// other.resume(&episode, &mut back)?;
    /// assert_eq!(back, obs);
    /// # Ok::<(), envs::Error>(())
    /// ```
    pub fn episode(&self) -> Option<Episode> {
        if let AnyEnv::MinAtar(e) = self {
            return e.snapshot().map(|s| Episode::MinAtar(Box::new(s)));
        }
        if !self.is_running() {
            return None;
        }
        let (state, steps) = match self {
            AnyEnv::CartPole(e) => {
                let s = e.state()?;
                (vec![s.x, s.x_dot, s.theta, s.theta_dot], e.episode_steps())
            }
            AnyEnv::Acrobot(e) => {
                let s = e.state()?;
                (
                    vec![s.theta1, s.theta2, s.dtheta1, s.dtheta2],
                    e.episode_steps(),
                )
            }
            AnyEnv::MountainCar(e) => {
                let s = e.state()?;
                (vec![s.position, s.velocity], e.episode_steps())
            }
            AnyEnv::MinAtar(_) => return None,
        };
        Some(Episode::Classic { state, steps })
    }

    /// Continues `episode` (from [`AnyEnv::episode`]), writing its observation into `obs`:
    /// refused if the state does not fit the task, is not finite, has ended, or has reached the
    /// step limit.
    pub fn resume(&mut self, episode: &Episode, obs: &mut [f32]) -> Result<(), Error> {
        let env = self.id();
        check(env, 0, obs)?;
        let (s, steps) = match (episode, &mut *self) {
            (Episode::MinAtar(snapshot), AnyEnv::MinAtar(e)) => return e.restore(snapshot, obs),
            (Episode::Classic { state, steps }, _) if !matches!(env, EnvId::MinAtar { .. }) => {
                (state, *steps)
            }
            _ => return Err(Error::EpisodeKind { env }),
        };
        let expected = match env {
            EnvId::CartPole | EnvId::Acrobot => 4,
            EnvId::MountainCar => 2,
            EnvId::MinAtar { .. } => return Err(Error::EpisodeKind { env }),
        };
        if s.len() != expected {
            return Err(Error::EpisodeState {
                env,
                expected,
                got: s.len(),
            });
        }
        match self {
            AnyEnv::CartPole(e) => {
                let state = env_cartpole::State {
                    x: s[0],
                    x_dot: s[1],
                    theta: s[2],
                    theta_dot: s[3],
                };
                obs.copy_from_slice(&e.resume_at(state, steps)?);
            }
            AnyEnv::Acrobot(e) => {
                let state = AcrobotState {
                    theta1: s[0],
                    theta2: s[1],
                    dtheta1: s[2],
                    dtheta2: s[3],
                };
                obs.copy_from_slice(&e.resume_at(state, steps)?);
            }
            AnyEnv::MountainCar(e) => {
                let state = MountainCarState {
                    position: s[0],
                    velocity: s[1],
                };
                obs.copy_from_slice(&e.resume_at(state, steps)?);
            }
            AnyEnv::MinAtar(_) => return Err(Error::EpisodeKind { env }),
        }
        Ok(())
    }
}

/// Checks an action and an observation buffer against an environment's shape.
pub(crate) fn check(env: EnvId, action: usize, obs: &[f32]) -> Result<(), Error> {
    check_shape(env, action, obs.len(), env.obs_dim())
}

/// Checks an action, and a buffer of `got` values where the environment writes `expected`.
pub(crate) fn check_shape(
    env: EnvId,
    action: usize,
    got: usize,
    expected: usize,
) -> Result<(), Error> {
    if action >= env.n_actions() {
        return Err(Error::InvalidAction {
            env,
            action,
            n_actions: env.n_actions(),
        });
    }
    if got != expected {
        return Err(Error::ObsLength { env, expected, got });
    }
    Ok(())
}

/// Where an episode stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    NotReset,
    Running,
    Ended,
}

/// An environment's episode bookkeeping, shared by the environments of this crate: the step
/// limit, the steps taken, and whether an episode is under way. The dynamics are the
/// environment's; when an episode starts, may step, ends or may be resumed is decided here.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EpisodeClock {
    limit: u32,
    steps: u32,
    phase: Phase,
}

impl EpisodeClock {
    /// A clock for episodes of at most `limit` steps, before the first reset.
    pub(crate) fn new(limit: u32) -> Result<Self, Error> {
        if limit == 0 {
            return Err(Error::ZeroStepLimit);
        }
        Ok(Self {
            limit,
            steps: 0,
            phase: Phase::NotReset,
        })
    }

    /// Starts an episode `steps` steps in (0 for a reset).
    pub(crate) fn start_at(&mut self, steps: u32) {
        self.steps = steps;
        self.phase = Phase::Running;
    }

    /// Refuses to continue an episode `steps` steps in that has already ended: at the step limit,
    /// or in a `terminal` state.
    pub(crate) fn check_resumable(&self, steps: u32, terminal: bool) -> Result<(), Error> {
        if steps >= self.limit || terminal {
            return Err(Error::EpisodeEnded { steps });
        }
        Ok(())
    }

    /// Counts a step, refusing one outside an episode (before the first reset, or after the end).
    pub(crate) fn tick(&mut self) -> Result<(), Error> {
        match self.phase {
            Phase::NotReset => Err(Error::NotReset),
            Phase::Ended => Err(Error::EpisodeEnded { steps: self.steps }),
            Phase::Running => {
                self.steps += 1;
                Ok(())
            }
        }
    }

    /// After a step: whether it reached the step limit (truncation); the episode ends if the
    /// step `terminated` it or truncated it.
    pub(crate) fn finish_step(&mut self, terminated: bool) -> bool {
        let truncated = self.steps >= self.limit;
        if terminated || truncated {
            self.phase = Phase::Ended;
        }
        truncated
    }

    /// The step limit.
    pub(crate) fn limit(&self) -> u32 {
        self.limit
    }

    /// Steps taken in the current episode.
    pub(crate) fn steps(&self) -> u32 {
        self.steps
    }

    /// Whether an episode is under way (reset, and neither terminated nor truncated).
    pub(crate) fn is_running(&self) -> bool {
        self.phase == Phase::Running
    }

    /// Sets the clock to a saved one: `steps` into an episode under way, or between episodes.
    pub(crate) fn restore(&mut self, steps: u32, running: bool) {
        self.steps = steps;
        self.phase = if running {
            Phase::Running
        } else {
            Phase::Ended
        };
    }

    /// Whether an episode has been started since the environment was made.
    pub(crate) fn has_reset(&self) -> bool {
        self.phase != Phase::NotReset
    }
}

/// Draws `rows` of text from a `width × height` grid of characters (space-trimmed lines).
pub(crate) fn grid_text(grid: &[Vec<char>]) -> String {
    let mut s = String::new();
    for row in grid {
        s.push_str(row.iter().collect::<String>().trim_end());
        s.push('\n');
    }
    s
}
