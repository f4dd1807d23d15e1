//! Many environments at once, struct-of-arrays, with automatic reset.

use crate::consts::*;
use crate::env::{State, dynamics};
use crate::{Error, Obs};
use rand::Rng;

/// Results of one step of every environment, owned by the caller and reused across steps.
#[derive(Debug, Clone, Default)]
pub struct VecStep {
    /// Observation each environment is in now, `n_envs × 4` row by row. For an environment
    /// whose episode just ended this is already the first observation of the next episode.
    pub obs: Vec<f32>,
    /// Reward of the step, per environment.
    pub rewards: Vec<f32>,
    /// Terminated flags, per environment.
    pub terminated: Vec<bool>,
    /// Truncated flags, per environment.
    pub truncated: Vec<bool>,
    /// The last observation of an episode that just ended (`n_envs × 4`; rows of running
    /// environments hold their current observation too, so this is always the `next_obs` to
    /// store in a replay buffer).
    pub final_obs: Vec<f32>,
}

impl VecStep {
    fn resize(&mut self, n: usize) {
        self.obs.resize(n * OBS_DIM, 0.0);
        self.rewards.resize(n, 0.0);
        self.terminated.resize(n, false);
        self.truncated.resize(n, false);
        self.final_obs.resize(n * OBS_DIM, 0.0);
    }
}

/// `n` CartPole environments stepped together. Each has its own random generator, so
/// environment `i` follows exactly the trajectory a single [`CartPole`](crate::CartPole) reset
/// from the same generator would.
#[derive(Debug, Clone)]
pub struct CartPoleVec<R> {
    x: Vec<f64>,
    x_dot: Vec<f64>,
    theta: Vec<f64>,
    theta_dot: Vec<f64>,
    steps: Vec<u32>,
    rngs: Vec<R>,
    max_episode_steps: u32,
}

impl<R: Rng> CartPoleVec<R> {
    /// One environment per generator, each reset at once from its own generator.
    pub fn new(rngs: Vec<R>, max_episode_steps: u32) -> Result<Self, Error> {
        if max_episode_steps == 0 {
            return Err(Error::ZeroStepLimit);
        }
        let n = rngs.len();
        let mut envs = Self {
            x: vec![0.0; n],
            x_dot: vec![0.0; n],
            theta: vec![0.0; n],
            theta_dot: vec![0.0; n],
            steps: vec![0; n],
            rngs,
            max_episode_steps,
        };
        for i in 0..n {
            envs.reset_one(i);
        }
        Ok(envs)
    }

    /// Number of environments.
    pub fn len(&self) -> usize {
        self.rngs.len()
    }

    /// True when there are no environments.
    pub fn is_empty(&self) -> bool {
        self.rngs.is_empty()
    }

    fn get(&self, i: usize) -> State {
        State {
            x: self.x[i],
            x_dot: self.x_dot[i],
            theta: self.theta[i],
            theta_dot: self.theta_dot[i],
        }
    }

    fn set(&mut self, i: usize, s: State) {
        self.x[i] = s.x;
        self.x_dot[i] = s.x_dot;
        self.theta[i] = s.theta;
        self.theta_dot[i] = s.theta_dot;
    }

    fn reset_one(&mut self, i: usize) {
        let s = State::random(&mut self.rngs[i]);
        self.set(i, s);
        self.steps[i] = 0;
    }

    /// The current observation of environment `i`.
    pub fn obs(&self, i: usize) -> Obs {
        self.get(i).obs()
    }

    /// Writes every environment's current observation into `out` (`n × 4`, row by row).
    pub fn observe(&self, out: &mut Vec<f32>) {
        out.resize(self.len() * OBS_DIM, 0.0);
        for i in 0..self.len() {
            out[i * OBS_DIM..(i + 1) * OBS_DIM].copy_from_slice(&self.obs(i));
        }
    }

    /// Steps every environment with its action; environments whose episode ends are reset at
    /// once, their last observation kept in `out.final_obs`.
    pub fn step(&mut self, actions: &[usize], out: &mut VecStep) -> Result<(), Error> {
        let n = self.len();
        if actions.len() != n {
            return Err(Error::LengthMismatch {
                what: "actions",
                expected: n,
                got: actions.len(),
            });
        }
        if let Some(&action) = actions.iter().find(|&&a| a >= N_ACTIONS) {
            return Err(Error::InvalidAction { action });
        }
        out.resize(n);
        for (i, &action) in actions.iter().enumerate() {
            let next = dynamics(&self.get(i), action == 1);
            self.steps[i] += 1;
            let terminated = next.is_terminal();
            let truncated = self.steps[i] >= self.max_episode_steps;
            let row = i * OBS_DIM..(i + 1) * OBS_DIM;
            out.final_obs[row.clone()].copy_from_slice(&next.obs());
            out.rewards[i] = 1.0;
            out.terminated[i] = terminated;
            out.truncated[i] = truncated;
            if terminated || truncated {
                self.reset_one(i);
            } else {
                self.set(i, next);
            }
            out.obs[row].copy_from_slice(&self.obs(i));
        }
        Ok(())
    }
}
