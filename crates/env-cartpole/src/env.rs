//! The single environment and the pure dynamics function shared with the vectorised form.

use crate::Error;
use crate::consts::*;
use rand::Rng;

/// The physical state, in `f64` as Gymnasium keeps it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct State {
    /// Cart position (m).
    pub x: f64,
    /// Cart velocity (m/s).
    pub x_dot: f64,
    /// Pole angle from vertical (rad).
    pub theta: f64,
    /// Pole angular velocity (rad/s).
    pub theta_dot: f64,
}

/// An observation: the state rounded to `f32`, in the order `[x, x_dot, theta, theta_dot]`.
pub type Obs = [f32; OBS_DIM];

impl State {
    /// The observation Gymnasium would hand out for this state.
    pub fn obs(&self) -> Obs {
        [
            self.x as f32,
            self.x_dot as f32,
            self.theta as f32,
            self.theta_dot as f32,
        ]
    }

    /// Draws Gymnasium's initial state distribution: each component uniform in ±0.05.
    pub fn random(rng: &mut impl Rng) -> Self {
        let mut draw = || rng.gen_range(-INIT_BOUND..INIT_BOUND);
        Self {
            x: draw(),
            x_dot: draw(),
            theta: draw(),
            theta_dot: draw(),
        }
    }

    /// Gymnasium's termination test: the cart left the track or the pole fell past 12°.
    pub fn is_terminal(&self) -> bool {
        self.x < -X_THRESHOLD
            || self.x > X_THRESHOLD
            || self.theta < -THETA_THRESHOLD
            || self.theta > THETA_THRESHOLD
    }

    fn check_finite(&self) -> Result<(), Error> {
        for (field, value) in [
            ("x", self.x),
            ("x_dot", self.x_dot),
            ("theta", self.theta),
            ("theta_dot", self.theta_dot),
        ] {
            if !value.is_finite() {
                return Err(Error::NonFiniteState { field, value });
            }
        }
        Ok(())
    }
}

/// One Euler step of the cart-pole, `push_right` selecting the sign of the force.
///
/// Each expression is written in the order Gymnasium evaluates it (`np.square(theta_dot)` is one
/// product, grouped before it meets `polemass_length`), which is what makes the trajectories
/// bit-identical.
#[inline]
pub fn dynamics(s: &State, push_right: bool) -> State {
    let force = if push_right { FORCE_MAG } else { -FORCE_MAG };
    let costheta = s.theta.cos();
    let sintheta = s.theta.sin();
    let temp = (force + POLEMASS_LENGTH * (s.theta_dot * s.theta_dot) * sintheta) / TOTAL_MASS;
    let thetaacc = (GRAVITY * sintheta - costheta * temp)
        / (HALF_LENGTH * (4.0 / 3.0 - MASS_POLE * (costheta * costheta) / TOTAL_MASS));
    let xacc = temp - POLEMASS_LENGTH * thetaacc * costheta / TOTAL_MASS;
    State {
        x: s.x + TAU * s.x_dot,
        x_dot: s.x_dot + TAU * xacc,
        theta: s.theta + TAU * s.theta_dot,
        theta_dot: s.theta_dot + TAU * thetaacc,
    }
}

/// What one step returns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    /// The observation after the step.
    pub obs: Obs,
    /// 1.0 on every step, including the one that terminates the episode.
    pub reward: f32,
    /// The pole fell or the cart left the track: the episode ended in a terminal state.
    pub terminated: bool,
    /// The step limit was reached: the episode was cut, the state is not terminal.
    pub truncated: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    NotReset,
    Running,
    Ended,
}

/// CartPole-v1 with a configurable step limit (Gymnasium's `TimeLimit`).
#[derive(Debug, Clone)]
pub struct CartPole {
    state: State,
    steps: u32,
    max_episode_steps: u32,
    phase: Phase,
}

impl CartPole {
    /// A new environment cutting episodes after `max_episode_steps` steps (500 in Gymnasium's
    /// registration of CartPole-v1, 200 in the paper). Call [`reset`](Self::reset) before stepping.
    pub fn new(max_episode_steps: u32) -> Result<Self, Error> {
        if max_episode_steps == 0 {
            return Err(Error::ZeroStepLimit);
        }
        Ok(Self {
            state: State {
                x: 0.0,
                x_dot: 0.0,
                theta: 0.0,
                theta_dot: 0.0,
            },
            steps: 0,
            max_episode_steps,
            phase: Phase::NotReset,
        })
    }

    /// Starts an episode from Gymnasium's initial distribution drawn from `rng`.
    pub fn reset(&mut self, rng: &mut impl Rng) -> Obs {
        self.start(State::random(rng))
    }

    /// Starts an episode from a given state, for cross-checking dynamics.
    pub fn reset_to(&mut self, state: State) -> Result<Obs, Error> {
        state.check_finite()?;
        Ok(self.start(state))
    }

    /// Continues an episode from a state `steps` steps in (a checkpoint taken mid-episode):
    /// refused if the state is not finite, is terminal, or the step limit is already reached.
    pub fn resume_at(&mut self, state: State, steps: u32) -> Result<Obs, Error> {
        state.check_finite()?;
        if steps >= self.max_episode_steps || state.is_terminal() {
            return Err(Error::EpisodeEnded { steps });
        }
        let obs = self.start(state);
        self.steps = steps;
        Ok(obs)
    }

    fn start(&mut self, state: State) -> Obs {
        self.state = state;
        self.steps = 0;
        self.phase = Phase::Running;
        state.obs()
    }

    /// The current `f64` state, or `None` before the first reset.
    pub fn state(&self) -> Option<State> {
        (self.phase != Phase::NotReset).then_some(self.state)
    }

    /// Whether an episode is under way (reset, and neither terminated nor truncated).
    pub fn is_running(&self) -> bool {
        self.phase == Phase::Running
    }

    /// Steps taken in the current episode.
    pub fn episode_steps(&self) -> u32 {
        self.steps
    }

    /// The step limit.
    pub fn max_episode_steps(&self) -> u32 {
        self.max_episode_steps
    }

    /// Applies `action` (0 pushes left, 1 pushes right) for one time step.
    pub fn step(&mut self, action: usize) -> Result<Step, Error> {
        if action >= N_ACTIONS {
            return Err(Error::InvalidAction { action });
        }
        match self.phase {
            Phase::NotReset => return Err(Error::NotReset),
            Phase::Ended => return Err(Error::EpisodeEnded { steps: self.steps }),
            Phase::Running => {}
        }
        self.state = dynamics(&self.state, action == 1);
        self.steps += 1;
        let terminated = self.state.is_terminal();
        let truncated = self.steps >= self.max_episode_steps;
        if terminated || truncated {
            self.phase = Phase::Ended;
        }
        Ok(Step {
            obs: self.state.obs(),
            reward: 1.0,
            terminated,
            truncated,
        })
    }
}
