//! Freeway (minatar/environments/freeway.py): cross eight lanes of traffic; +1 per crossing,
//! after which the cars get new random speeds. The game ends after 2 500 frames. No ramp.

use super::{Grid, MOVES, RandomState};
use serde::{Deserialize, Serialize};

const PLAYER_SPEED: i32 = 3;
const TIME_LIMIT: i32 = 2500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
struct Car {
    x: i32,
    y: i32,
    timer: i32,
    /// Frames per move, signed by direction (positive: rightwards). 0 only when numpy's
    /// `sign(rand() - 0.5)` is 0, a 2⁻⁵³ chance the package does not guard either.
    speed: i32,
}

/// A column one off the road wrapped to its other end, as the cars drive round.
fn wrap(x: i32) -> i32 {
    if x < 0 {
        9
    } else if x > 9 {
        0
    } else {
        x
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Freeway {
    cars: [Car; 8],
    pos: i32,
    move_timer: i32,
    terminate_timer: i32,
    terminal: bool,
}

impl Freeway {
    pub(crate) const CHANNELS: usize = 7;

    pub(crate) fn new() -> Self {
        Self {
            cars: [Car::default(); 8],
            pos: 9,
            move_timer: PLAYER_SPEED,
            terminate_timer: TIME_LIMIT,
            terminal: false,
        }
    }

    pub(crate) fn reset(&mut self, rng: &mut RandomState) {
        *self = Self::new();
        self.randomize_cars(rng, true);
    }

    /// Whether a saved state is one the game can draw and step (coordinates on the grid).
    pub(crate) fn is_valid(&self) -> bool {
        (0..=9).contains(&self.pos)
            && self.cars.iter().all(|c| {
                (0..=9).contains(&c.x) && (0..=9).contains(&c.y) && (-5..=5).contains(&c.speed)
            })
    }

    /// `_randomize_cars`: eight speeds in 1..=5, then eight directions; positions too when
    /// `initialize`.
    fn randomize_cars(&mut self, rng: &mut RandomState, initialize: bool) {
        let mut speeds = [0i32; 8];
        for s in &mut speeds {
            *s = rng.randint(1, 6) as i32;
        }
        for s in &mut speeds {
            let d = rng.rand() - 0.5;
            *s *= if d > 0.0 {
                1
            } else if d < 0.0 {
                -1
            } else {
                0
            };
        }
        for (i, (car, &s)) in self.cars.iter_mut().zip(&speeds).enumerate() {
            if initialize {
                car.x = 0;
                car.y = i as i32 + 1;
            }
            car.timer = s.abs();
            car.speed = s;
        }
    }

    pub(crate) fn act(&mut self, a: u8, rng: &mut RandomState) -> (i32, bool) {
        let mut r = 0;
        if self.terminal {
            return (r, true);
        }
        // Up and down (actions 2 and 4) move the chicken once its timer allows, clamped.
        let (_, dy) = MOVES[usize::from(a).min(5)];
        let go = (self.move_timer == 0) & (dy != 0);
        self.pos = if go {
            (self.pos + dy).clamp(0, 9)
        } else {
            self.pos
        };
        self.move_timer = if go { PLAYER_SPEED } else { self.move_timer };
        if self.pos == 0 {
            r += 1;
            self.randomize_cars(rng, false);
            self.pos = 9;
        }
        for car in &mut self.cars {
            if (car.x, car.y) == (4, self.pos) {
                self.pos = 9;
            }
            // A car moves when its timer runs out, wrapping around the road. Written as
            // selects: eight timers of random periods make a branch each that the CPU misses
            // two or three times a step.
            let moving = car.timer == 0;
            let x = wrap(car.x + if car.speed > 0 { 1 } else { -1 });
            car.x = if moving { x } else { car.x };
            car.timer = if moving {
                car.speed.abs()
            } else {
                car.timer - 1
            };
            if moving & (car.x == 4) & (car.y == self.pos) {
                self.pos = 9;
            }
        }
        self.move_timer -= i32::from(self.move_timer > 0);
        self.terminate_timer -= 1;
        if self.terminate_timer < 0 {
            self.terminal = true;
        }
        (r, self.terminal)
    }

    pub(crate) fn draw(&self, out: &mut Grid<'_, 7>) {
        out.set(self.pos, 4, 0);
        // The package draws a speed-0 car's trail in the previous car's channel (and fails on
        // the first car); `trail` carries over the same way.
        // Channel 0 is the chicken's, so `trail == 0` means none yet.
        let mut trail = 0;
        for car in &self.cars {
            out.set(car.y, car.x, 1);
            let back = wrap(if car.speed > 0 { car.x - 1 } else { car.x + 1 });
            trail = if car.speed != 0 {
                1 + car.speed.unsigned_abs() as usize
            } else {
                trail
            };
            out.set_when(trail != 0, car.y, back, trail);
        }
    }
}
