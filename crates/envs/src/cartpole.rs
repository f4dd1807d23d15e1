//! CartPole-v1 (the `env-cartpole` crate) behind [`Environment`].

use crate::{EnvId, Environment, Error, Transition, check};
use env_cartpole::CartPole;
use env_cartpole::consts::X_THRESHOLD;
use rand::RngCore;

impl Environment for CartPole {
    fn id(&self) -> EnvId {
        EnvId::CartPole
    }

    fn max_episode_steps(&self) -> u32 {
        CartPole::max_episode_steps(self)
    }

    fn reset(&mut self, mut rng: &mut dyn RngCore, obs: &mut [f32]) {
        let first = CartPole::reset(self, &mut rng);
        if obs.len() == first.len() {
            obs.copy_from_slice(&first);
        }
    }

    fn step(&mut self, action: usize, obs: &mut [f32]) -> Result<Transition, Error> {
        check(EnvId::CartPole, action, obs)?;
        let s = CartPole::step(self, action)?;
        obs.copy_from_slice(&s.obs);
        Ok(Transition {
            reward: s.reward,
            terminated: s.terminated,
            truncated: s.truncated,
        })
    }

    fn render_text(&self) -> String {
        const WIDTH: usize = 61;
        const POLE_ROWS: usize = 8;
        let Some(s) = self.state() else {
            return "CartPole-v1: not reset\n".into();
        };
        let col = (((s.x + X_THRESHOLD) / (2.0 * X_THRESHOLD)) * (WIDTH - 1) as f64)
            .round()
            .clamp(0.0, (WIDTH - 1) as f64) as usize;
        let mut rows = vec![vec![' '; WIDTH]; POLE_ROWS + 2];
        for r in 1..=POLE_ROWS {
            // Rows count up from the cart; characters are about twice as tall as wide.
            let dx = (s.theta.sin() * r as f64 * 2.0).round() as isize;
            let c = col as isize + dx;
            if (0..WIDTH as isize).contains(&c) {
                rows[POLE_ROWS - r][c as usize] = if s.theta.abs() < 0.03 {
                    '|'
                } else if s.theta > 0.0 {
                    '/'
                } else {
                    '\\'
                };
            }
        }
        for (k, c) in (col.saturating_sub(2)..(col + 3).min(WIDTH)).enumerate() {
            rows[POLE_ROWS][c] = if k == 2 { 'O' } else { '#' };
        }
        rows[POLE_ROWS + 1] = std::iter::once('|')
            .chain(std::iter::repeat_n('=', WIDTH - 2))
            .chain(std::iter::once('|'))
            .collect();
        format!(
            "{}x {:+.3}  θ {:+.2}°\n",
            crate::grid_text(&rows),
            s.x,
            s.theta.to_degrees()
        )
    }
}
