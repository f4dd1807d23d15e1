//! Acrobot-v1 as Gymnasium 1.x defines it: the `book` dynamics of Sutton & Barto, integrated
//! over one 0.2 s step with Gymnasium's fourth-order Runge-Kutta in `f64`, no torque noise,
//! angles wrapped into [−π, π] and velocities bounded.

use crate::{EnvId, Environment, EpisodeClock, Error, Transition, check};
use rand::{Rng, RngCore};
use std::f64::consts::PI;

/// Gymnasium's constants for Acrobot-v1.
pub mod consts {
    /// Integration time step (s).
    pub const DT: f64 = 0.2;
    /// Length of link 1 (m).
    pub const LINK_LENGTH_1: f64 = 1.0;
    /// Mass of link 1 (kg).
    pub const LINK_MASS_1: f64 = 1.0;
    /// Mass of link 2 (kg).
    pub const LINK_MASS_2: f64 = 1.0;
    /// Centre of mass of link 1 (m).
    pub const LINK_COM_POS_1: f64 = 0.5;
    /// Centre of mass of link 2 (m).
    pub const LINK_COM_POS_2: f64 = 0.5;
    /// Moment of inertia of either link.
    pub const LINK_MOI: f64 = 1.0;
    /// Gravity (m/s²).
    pub const G: f64 = 9.8;
    /// Bound of θ̇₁: `4 π`.
    pub const MAX_VEL_1: f64 = 4.0 * std::f64::consts::PI;
    /// Bound of θ̇₂: `9 π`.
    pub const MAX_VEL_2: f64 = 9.0 * std::f64::consts::PI;
    /// The torque of each action.
    pub const AVAIL_TORQUE: [f64; 3] = [-1.0, 0.0, 1.0];
    /// Start states are uniform in `[-INIT_BOUND, INIT_BOUND)` per component (as `f32`).
    pub const INIT_BOUND: f64 = 0.1;
}
use consts::*;

/// The physical state: joint angles and angular velocities, in `f64`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AcrobotState {
    /// Angle of link 1 from hanging down (rad).
    pub theta1: f64,
    /// Angle of link 2 relative to link 1 (rad).
    pub theta2: f64,
    /// Angular velocity of link 1 (rad/s).
    pub dtheta1: f64,
    /// Angular velocity of link 2 (rad/s).
    pub dtheta2: f64,
}

impl AcrobotState {
    /// The observation `[cos θ₁, sin θ₁, cos θ₂, sin θ₂, θ̇₁, θ̇₂]` as `f32`.
    ///
    /// Gymnasium computes the cosines and sines in `f64` once a step has been taken, but right
    /// after a reset its state is `float32` and numpy computes them in `f32` with its own SIMD
    /// routines. Here they are always computed in `f64` and rounded, which equals numpy's `f32`
    /// result except in about 0.1% of start states, where they differ by one unit in the last
    /// place (measured over 200 000 starts; the golden tests state it).
    pub fn obs(&self) -> [f32; 6] {
        [
            self.theta1.cos() as f32,
            self.theta1.sin() as f32,
            self.theta2.cos() as f32,
            self.theta2.sin() as f32,
            self.dtheta1 as f32,
            self.dtheta2 as f32,
        ]
    }

    /// Gymnasium's start distribution: each component uniform in ±0.1, stored as `float32`.
    pub fn random(rng: &mut impl Rng) -> Self {
        let mut draw = || f64::from(rng.gen_range(-INIT_BOUND..INIT_BOUND) as f32);
        Self {
            theta1: draw(),
            theta2: draw(),
            dtheta1: draw(),
            dtheta2: draw(),
        }
    }

    /// The tip is above the bar: `−cos θ₁ − cos(θ₂ + θ₁) > 1`.
    pub fn is_terminal(&self) -> bool {
        -self.theta1.cos() - (self.theta2 + self.theta1).cos() > 1.0
    }

    fn check_finite(&self) -> Result<(), Error> {
        for (field, value) in [
            ("theta1", self.theta1),
            ("theta2", self.theta2),
            ("dtheta1", self.dtheta1),
            ("dtheta2", self.dtheta2),
        ] {
            if !value.is_finite() {
                return Err(Error::NonFiniteState { field, value });
            }
        }
        Ok(())
    }
}

/// `x ** 2` as numpy computes it for a `float64` scalar: the C library's `pow(x, 2.0)`, which is
/// not always the correctly rounded `x * x` (glibc's differs in about 0.09% of arguments, by one
/// unit in the last place). The exponent goes through `black_box` because the compiler would
/// otherwise rewrite `pow(x, 2.0)` into `x * x`; without this the golden trajectories drift
/// apart after a few hundred steps.
fn np_square(x: f64) -> f64 {
    x.powf(std::hint::black_box(2.0))
}

/// Gymnasium's `_dsdt` (the `book` equations) at `s = [θ₁, θ₂, θ̇₁, θ̇₂, torque]`, every
/// expression in Python's order of evaluation. The squares of constants (`lc1**2`, …) are
/// exact either way; the squares of state values go through [`np_square`].
fn dsdt(s: &[f64; 5]) -> [f64; 5] {
    let (m1, m2, l1, lc1, lc2) = (
        LINK_MASS_1,
        LINK_MASS_2,
        LINK_LENGTH_1,
        LINK_COM_POS_1,
        LINK_COM_POS_2,
    );
    let (i1, i2, g) = (LINK_MOI, LINK_MOI, G);
    let a = s[4];
    let (theta1, theta2, dtheta1, dtheta2) = (s[0], s[1], s[2], s[3]);
    let d1 =
        m1 * (lc1 * lc1) + m2 * (l1 * l1 + lc2 * lc2 + 2.0 * l1 * lc2 * theta2.cos()) + i1 + i2;
    let d2 = m2 * (lc2 * lc2 + l1 * lc2 * theta2.cos()) + i2;
    let phi2 = m2 * lc2 * g * (theta1 + theta2 - PI / 2.0).cos();
    let phi1 = -m2 * l1 * lc2 * np_square(dtheta2) * theta2.sin()
        - 2.0 * m2 * l1 * lc2 * dtheta2 * dtheta1 * theta2.sin()
        + (m1 * lc1 + m2 * l1) * g * (theta1 - PI / 2.0).cos()
        + phi2;
    let ddtheta2 = (a + d2 / d1 * phi1 - m2 * l1 * lc2 * np_square(dtheta1) * theta2.sin() - phi2)
        / (m2 * (lc2 * lc2) + i2 - np_square(d2) / d1);
    let ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
    [dtheta1, dtheta2, ddtheta1, ddtheta2, 0.0]
}

/// One Runge-Kutta step of `dt` from `y0`, as Gymnasium's `rk4` over `t = [0, dt]`.
fn rk4(y0: &[f64; 5], dt: f64) -> [f64; 5] {
    let dt2 = dt / 2.0;
    let add = |k: &[f64; 5], h: f64| std::array::from_fn(|i| y0[i] + h * k[i]);
    let k1 = dsdt(y0);
    let k2 = dsdt(&add(&k1, dt2));
    let k3 = dsdt(&add(&k2, dt2));
    let k4 = dsdt(&add(&k3, dt));
    let c = dt / 6.0;
    std::array::from_fn(|i| y0[i] + c * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]))
}

/// Gymnasium's `wrap`: shifts `x` by whole periods into `[m, M]`.
fn wrap(mut x: f64, m: f64, big_m: f64) -> f64 {
    let diff = big_m - m;
    while x > big_m {
        x -= diff;
    }
    while x < m {
        x += diff;
    }
    x
}

/// Gymnasium's `bound`: `min(max(x, m), M)`.
fn bound(x: f64, m: f64, big_m: f64) -> f64 {
    x.max(m).min(big_m)
}

/// One step of the dynamics under action `action` (0, 1, 2: torque −1, 0, +1).
pub fn dynamics(s: &AcrobotState, action: usize) -> AcrobotState {
    let torque = AVAIL_TORQUE[action.min(2)];
    let ns = rk4(&[s.theta1, s.theta2, s.dtheta1, s.dtheta2, torque], DT);
    AcrobotState {
        theta1: wrap(ns[0], -PI, PI),
        theta2: wrap(ns[1], -PI, PI),
        dtheta1: bound(ns[2], -MAX_VEL_1, MAX_VEL_1),
        dtheta2: bound(ns[3], -MAX_VEL_2, MAX_VEL_2),
    }
}

/// Acrobot-v1 with a step limit (Gymnasium's is 500).
#[derive(Debug, Clone)]
pub struct Acrobot {
    state: AcrobotState,
    clock: EpisodeClock,
}

impl Acrobot {
    /// A new environment; call [`Environment::reset`] before stepping.
    pub fn new(max_episode_steps: u32) -> Result<Self, Error> {
        Ok(Self {
            state: AcrobotState {
                theta1: 0.0,
                theta2: 0.0,
                dtheta1: 0.0,
                dtheta2: 0.0,
            },
            clock: EpisodeClock::new(max_episode_steps)?,
        })
    }

    /// Starts an episode from a given state (for cross-checking the dynamics).
    pub fn reset_to(&mut self, state: AcrobotState) -> Result<[f32; 6], Error> {
        state.check_finite()?;
        self.state = state;
        self.clock.start_at(0);
        Ok(state.obs())
    }

    /// Continues an episode from a state `steps` steps in (a checkpoint taken mid-episode):
    /// refused if the state is not finite, is terminal, or the step limit is already reached.
    pub fn resume_at(&mut self, state: AcrobotState, steps: u32) -> Result<[f32; 6], Error> {
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
    pub fn state(&self) -> Option<AcrobotState> {
        self.clock.has_reset().then_some(self.state)
    }
}

impl Environment for Acrobot {
    fn id(&self) -> EnvId {
        EnvId::Acrobot
    }

    fn max_episode_steps(&self) -> u32 {
        self.clock.limit()
    }

    fn reset(&mut self, mut rng: &mut dyn RngCore, obs: &mut [f32]) {
        let state = AcrobotState::random(&mut rng);
        self.state = state;
        self.clock.start_at(0);
        if obs.len() == 6 {
            obs.copy_from_slice(&state.obs());
        }
    }

    fn step(&mut self, action: usize, obs: &mut [f32]) -> Result<Transition, Error> {
        check(EnvId::Acrobot, action, obs)?;
        self.clock.tick()?;
        self.state = dynamics(&self.state, action);
        let terminated = self.state.is_terminal();
        let truncated = self.clock.finish_step(terminated);
        obs.copy_from_slice(&self.state.obs());
        Ok(Transition {
            reward: if terminated { 0.0 } else { -1.0 },
            terminated,
            truncated,
        })
    }

    fn render_text(&self) -> String {
        // The pivot at the centre; one link is 5 rows (10 columns: characters are about twice
        // as tall as wide). Height grows upwards; the bar the tip must pass is one link above
        // the pivot.
        const R: f64 = 5.0;
        let (w, h) = (47usize, 23usize);
        let (cx, cy) = ((w / 2) as f64, (h / 2) as f64);
        let mut grid = vec![vec![' '; w]; h];
        let to_cell = |x: f64, y: f64| -> Option<(usize, usize)> {
            let (c, r) = ((cx + 2.0 * R * x).round(), (cy - R * y).round());
            (c >= 0.0 && r >= 0.0 && (c as usize) < w && (r as usize) < h)
                .then_some((r as usize, c as usize))
        };
        if let Some((r, _)) = to_cell(0.0, 1.0) {
            for c in grid[r].iter_mut() {
                *c = '-';
            }
        }
        let s = self.state;
        let p1 = (s.theta1.sin(), -s.theta1.cos());
        let p2 = (
            p1.0 + (s.theta1 + s.theta2).sin(),
            p1.1 - (s.theta1 + s.theta2).cos(),
        );
        for (a, b) in [((0.0, 0.0), p1), (p1, p2)] {
            for k in 0..=20 {
                let t = f64::from(k) / 20.0;
                if let Some((r, c)) = to_cell(a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1)) {
                    grid[r][c] = '*';
                }
            }
        }
        for (p, ch) in [((0.0, 0.0), 'O'), (p1, 'o'), (p2, '@')] {
            if let Some((r, c)) = to_cell(p.0, p.1) {
                grid[r][c] = ch;
            }
        }
        format!(
            "{}tip height {:+.2} (bar at +1)  θ1 {:+.2}  θ2 {:+.2}\n",
            crate::grid_text(&grid),
            -s.theta1.cos() - (s.theta1 + s.theta2).cos(),
            s.theta1,
            s.theta2
        )
    }
}
