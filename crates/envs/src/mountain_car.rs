//! MountainCar-v0 as Gymnasium 1.x defines it: `f64` state, the C library's `cos` (Python's
//! `math.cos`), velocity clipped to ±0.07, position to [−1.2, 0.6], and the car stopped when it
//! hits the left wall.

use crate::{EnvId, Environment, EpisodeClock, Error, Transition, check};
use rand::{Rng, RngCore};

/// Gymnasium's constants for MountainCar-v0.
pub mod consts {
    /// Left end of the track.
    pub const MIN_POSITION: f64 = -1.2;
    /// Right end of the track.
    pub const MAX_POSITION: f64 = 0.6;
    /// Speed limit.
    pub const MAX_SPEED: f64 = 0.07;
    /// The flag: reaching it (at velocity ≥ 0) ends the episode.
    pub const GOAL_POSITION: f64 = 0.5;
    /// Velocity needed at the flag.
    pub const GOAL_VELOCITY: f64 = 0.0;
    /// Acceleration of a push.
    pub const FORCE: f64 = 0.001;
    /// Gravity along the slope `cos(3 x)`.
    pub const GRAVITY: f64 = 0.0025;
    /// Start positions are uniform in `[START_LOW, START_HIGH)`, at rest.
    pub const START_LOW: f64 = -0.6;
    /// See [`START_LOW`].
    pub const START_HIGH: f64 = -0.4;
}
use consts::*;

/// Position and velocity, in `f64`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MountainCarState {
    /// Position on the track.
    pub position: f64,
    /// Velocity.
    pub velocity: f64,
}

impl MountainCarState {
    /// The observation `[position, velocity]` as `f32`.
    pub fn obs(&self) -> [f32; 2] {
        [self.position as f32, self.velocity as f32]
    }

    /// At the flag, moving forward (Gymnasium's `terminated`).
    pub fn is_terminal(&self) -> bool {
        self.position >= GOAL_POSITION && self.velocity >= GOAL_VELOCITY
    }
}

/// One step under action `action` (0 push left, 1 none, 2 push right), in Gymnasium's order of
/// operations: `velocity += (action − 1) · force + cos(3 · position) · (−gravity)` adds the sum
/// of the two terms, as Python's `+=` does.
pub fn dynamics(s: &MountainCarState, action: usize) -> MountainCarState {
    let push = (action as f64 - 1.0) * FORCE;
    let mut velocity = s.velocity + (push + (3.0 * s.position).cos() * (-GRAVITY));
    velocity = velocity.clamp(-MAX_SPEED, MAX_SPEED);
    let mut position = s.position + velocity;
    position = position.clamp(MIN_POSITION, MAX_POSITION);
    if position == MIN_POSITION && velocity < 0.0 {
        velocity = 0.0;
    }
    MountainCarState { position, velocity }
}

/// MountainCar-v0 with a step limit (Gymnasium's is 200).
#[derive(Debug, Clone)]
pub struct MountainCar {
    state: MountainCarState,
    clock: EpisodeClock,
}

impl MountainCar {
    /// A new environment; call [`Environment::reset`] before stepping.
    pub fn new(max_episode_steps: u32) -> Result<Self, Error> {
        Ok(Self {
            state: MountainCarState {
                position: 0.0,
                velocity: 0.0,
            },
            clock: EpisodeClock::new(max_episode_steps)?,
        })
    }

    /// Starts an episode from a given state (for cross-checking the dynamics).
    pub fn reset_to(&mut self, state: MountainCarState) -> Result<[f32; 2], Error> {
        for (field, value) in [("position", state.position), ("velocity", state.velocity)] {
            if !value.is_finite() {
                return Err(Error::NonFiniteState { field, value });
            }
        }
        self.state = state;
        self.clock.start_at(0);
        Ok(state.obs())
    }

    /// Continues an episode from a state `steps` steps in (a checkpoint taken mid-episode):
    /// refused if the state is not finite, is at the goal, or the step limit is already
    /// reached.
    pub fn resume_at(&mut self, state: MountainCarState, steps: u32) -> Result<[f32; 2], Error> {
        self.clock.check_resumable(steps, state.is_terminal())?;
        let obs = self.reset_to(state)?;
        self.clock.start_at(steps);
        Ok(obs)
    }

    /// Whether an episode is under way (reset, and neither terminated nor truncated).
    pub fn is_running(&self) -> bool {
        self.clock.is_running()
    }

    /// Steps taken in the current episode.
    pub fn episode_steps(&self) -> u32 {
        self.clock.steps()
    }

    /// The current state, or `None` before the first reset.
    pub fn state(&self) -> Option<MountainCarState> {
        self.clock.has_reset().then_some(self.state)
    }
}

impl Environment for MountainCar {
    fn id(&self) -> EnvId {
        EnvId::MountainCar
    }

    fn max_episode_steps(&self) -> u32 {
        self.clock.limit()
    }

    fn reset(&mut self, rng: &mut dyn RngCore, obs: &mut [f32]) {
        self.state = MountainCarState {
            position: rng.gen_range(START_LOW..START_HIGH),
            velocity: 0.0,
        };
        self.clock.start_at(0);
        if obs.len() == 2 {
            obs.copy_from_slice(&self.state.obs());
        }
    }

    fn step(&mut self, action: usize, obs: &mut [f32]) -> Result<Transition, Error> {
        check(EnvId::MountainCar, action, obs)?;
        self.clock.tick()?;
        self.state = dynamics(&self.state, action);
        let terminated = self.state.is_terminal();
        let truncated = self.clock.finish_step(terminated);
        obs.copy_from_slice(&self.state.obs());
        Ok(Transition {
            reward: -1.0,
            terminated,
            truncated,
        })
    }

    fn render_text(&self) -> String {
        // The hill `0.45 sin(3x) + 0.55` over the track, the car `C`, the flag `F`.
        let (w, h) = (61usize, 12usize);
        let col = |x: f64| {
            (((x - MIN_POSITION) / (MAX_POSITION - MIN_POSITION)) * (w - 1) as f64)
                .round()
                .clamp(0.0, (w - 1) as f64) as usize
        };
        let row = |x: f64| {
            let height = (3.0 * x).sin() * 0.45 + 0.55; // in [0.1, 1.0]
            ((1.0 - height) * (h - 2) as f64)
                .round()
                .clamp(0.0, (h - 1) as f64) as usize
        };
        let mut grid = vec![vec![' '; w]; h];
        for c in 0..w {
            let x = MIN_POSITION + (MAX_POSITION - MIN_POSITION) * c as f64 / (w - 1) as f64;
            if let Some(cell) = grid.get_mut(row(x)).and_then(|r| r.get_mut(c)) {
                *cell = '.';
            }
        }
        let (gr, gc) = (row(GOAL_POSITION), col(GOAL_POSITION));
        grid[gr.saturating_sub(1)][gc] = 'F';
        let s = self.state;
        grid[row(s.position)][col(s.position)] = 'C';
        format!(
            "{}position {:+.3}  velocity {:+.4}  (flag at {GOAL_POSITION})\n",
            crate::grid_text(&grid),
            s.position,
            s.velocity
        )
    }
}
