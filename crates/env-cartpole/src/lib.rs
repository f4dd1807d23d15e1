//! CartPole-v1 exactly as Gymnasium defines it.
//!
//! The physics are the classic cart-pole of Barto, Sutton and Anderson (1983) with Gymnasium's
//! constants and Euler integration. The state is kept in `f64` and observations are handed out
//! as `f32`, as Gymnasium does, so that the same initial state and the same actions give
//! Gymnasium's observations bit for bit (the integration tests check this against recorded
//! trajectories in `fixtures/`). Every arithmetic expression in [`dynamics`] keeps Gymnasium's
//! order of operations: floating-point addition is not associative, and a reordered expression
//! drifts from the reference within a few hundred steps.
//!
//! Termination (the pole fell or the cart left the track) and truncation (the step limit) are
//! reported separately: a truncated transition still bootstraps in TD learning.
//!
//! ```
//! use env_cartpole::{CartPole, State};
//! use rand::SeedableRng;
//!
//! let mut env = CartPole::new(200)?;
//! let mut rng = rand::rngs::StdRng::seed_from_u64(7);
//! let mut obs = env.reset(&mut rng);
//! let mut ret = 0.0;
//! loop {
//!     // A hand-made controller: push the cart towards where the pole leans.
//!     let action = usize::from(obs[2] + 0.5 * obs[3] > 0.0);
//!     let step = env.step(action)?;
//!     ret += step.reward;
//!     obs = step.obs;
//!     if step.terminated || step.truncated {
//!         break;
//!     }
//! }
//! assert!(ret > 100.0);
//! # Ok::<(), env_cartpole::Error>(())
//! ```

mod env;
mod vec;

pub use env::{CartPole, Obs, State, Step, dynamics};
pub use vec::{CartPoleVec, VecStep};

/// Gymnasium's constants for CartPole-v1.
pub mod consts {
    /// Gravitational acceleration (m/s²).
    pub const GRAVITY: f64 = 9.8;
    /// Mass of the cart (kg).
    pub const MASS_CART: f64 = 1.0;
    /// Mass of the pole (kg).
    pub const MASS_POLE: f64 = 0.1;
    /// Cart plus pole, computed as Gymnasium does (`masspole + masscart`).
    pub const TOTAL_MASS: f64 = MASS_POLE + MASS_CART;
    /// Half the pole's length (m).
    pub const HALF_LENGTH: f64 = 0.5;
    /// `masspole * length`, as Gymnasium computes it.
    pub const POLEMASS_LENGTH: f64 = MASS_POLE * HALF_LENGTH;
    /// Magnitude of the force applied by an action (N).
    pub const FORCE_MAG: f64 = 10.0;
    /// Seconds between state updates.
    pub const TAU: f64 = 0.02;
    /// The episode terminates when |θ| exceeds this (12 degrees, as `12 * 2 * pi / 360`).
    pub const THETA_THRESHOLD: f64 = 12.0 * 2.0 * std::f64::consts::PI / 360.0;
    /// The episode terminates when |x| exceeds this (m).
    pub const X_THRESHOLD: f64 = 2.4;
    /// Initial state components are drawn uniformly from `[-INIT_BOUND, INIT_BOUND)`.
    pub const INIT_BOUND: f64 = 0.05;
    /// Number of actions: 0 pushes left, 1 pushes right.
    pub const N_ACTIONS: usize = 2;
    /// Width of an observation.
    pub const OBS_DIM: usize = 4;
    /// Step limit of Gymnasium's `CartPole-v1` registration.
    pub const GYMNASIUM_MAX_STEPS: u32 = 500;
}

/// What can go wrong when using the environment.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// An action outside `{0, 1}`.
    #[error("invalid action {action}: CartPole accepts 0 (push left) or 1 (push right)")]
    InvalidAction {
        /// The action that was given.
        action: usize,
    },
    /// `step` was called before the first `reset`.
    #[error("no episode is running: call reset() or reset_to() before step()")]
    NotReset,
    /// `step` was called after the episode terminated or was truncated.
    #[error("episode has ended (after {steps} steps): call reset() before step()")]
    EpisodeEnded {
        /// Steps the ended episode lasted.
        steps: u32,
    },
    /// `reset_to` was given a NaN or infinite component.
    #[error("initial state component `{field}` is {value}: every component must be finite")]
    NonFiniteState {
        /// Which component (`x`, `x_dot`, `theta`, `theta_dot`).
        field: &'static str,
        /// The value given.
        value: f64,
    },
    /// A step limit of zero would truncate before the first step.
    #[error(
        "max_episode_steps is 0: the step limit must be at least 1 (Gymnasium uses 500, the paper 200)"
    )]
    ZeroStepLimit,
    /// Arguments to the vectorised environment disagree in length.
    #[error("{what}: expected {expected} entries (one per environment), got {got}")]
    LengthMismatch {
        /// Which argument.
        what: &'static str,
        /// Number of environments.
        expected: usize,
        /// Length given.
        got: usize,
    },
}
