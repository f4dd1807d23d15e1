//! Breakout (minatar/environments/breakout.py): bounce the ball off the paddle into three rows
//! of bricks, which come back when all are gone. No difficulty ramp.

use super::{Grid, MOVES, RandomState, set_bit};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Breakout {
    ball_x: i32,
    ball_y: i32,
    ball_dir: usize,
    pos: i32,
    /// One bit per column, a row per element.
    bricks: [u16; 10],
    strike: bool,
    last_x: i32,
    last_y: i32,
    terminal: bool,
    /// The brick channel drawn, redrawn only when a brick changes (bricks are most of the
    /// grid's ones and change rarely).
    #[serde(skip)]
    brick_grid: [u64; 16],
}

const FULL_ROW: u16 = 0x3ff;
const INITIAL_BRICKS: [u16; 10] = [0, FULL_ROW, FULL_ROW, FULL_ROW, 0, 0, 0, 0, 0, 0];
/// The brick channel of a new game, drawn once at compile time (every reset starts from it).
const INITIAL_BRICK_GRID: [u64; 16] = brick_grid(&INITIAL_BRICKS);

/// The brick channel of `bricks` drawn as bits.
const fn brick_grid(bricks: &[u16; 10]) -> [u64; 16] {
    let mut words = [0; 16];
    let mut y = 0;
    while y < bricks.len() {
        let mut r = bricks[y];
        while r != 0 {
            set_bit::<4>(&mut words, y as i32, r.trailing_zeros() as i32, 3);
            r &= r - 1;
        }
        y += 1;
    }
    words
}

impl Breakout {
    pub(crate) const CHANNELS: usize = 4;

    pub(crate) fn new() -> Self {
        Self {
            ball_x: 0,
            ball_y: 3,
            ball_dir: 2,
            pos: 4,
            bricks: INITIAL_BRICKS,
            strike: false,
            last_x: 0,
            last_y: 3,
            terminal: false,
            brick_grid: INITIAL_BRICK_GRID,
        }
    }

    /// Redraws the brick channel's cache from `bricks`.
    pub(crate) fn draw_bricks(&mut self) {
        self.brick_grid = brick_grid(&self.bricks);
    }

    pub(crate) fn reset(&mut self, rng: &mut RandomState) {
        *self = Self::new();
        let (x, dir) = [(0, 2), (9, 3)][rng.randint(0, 2) as usize];
        self.ball_x = x;
        self.ball_dir = dir;
        self.last_x = x;
    }

    /// Whether a saved state is one the game can draw and step (coordinates on the grid).
    pub(crate) fn is_valid(&self) -> bool {
        let on = |v: i32| (0..=9).contains(&v);
        on(self.ball_x)
            && on(self.ball_y)
            && on(self.last_x)
            && on(self.last_y)
            && on(self.pos)
            && self.ball_dir < 4
            && self.bricks.iter().all(|&r| r <= FULL_ROW)
    }

    fn brick(&self, y: i32, x: i32) -> bool {
        self.bricks[y as usize] >> x & 1 == 1
    }

    pub(crate) fn act(&mut self, a: u8) -> (i32, bool) {
        let mut r = 0;
        if self.terminal {
            return (r, true);
        }
        // Left and right move the paddle, clamped; the other actions leave it.
        self.pos = (self.pos + MOVES[usize::from(a).min(5)].0).clamp(0, 9);
        self.last_x = self.ball_x;
        self.last_y = self.ball_y;
        let (dx, dy) = [(-1, -1), (1, -1), (1, 1), (-1, 1)][self.ball_dir];
        let mut new_x = self.ball_x + dx;
        let mut new_y = self.ball_y + dy;
        let mut strike_toggle = false;
        if !(0..=9).contains(&new_x) {
            new_x = new_x.clamp(0, 9);
            self.ball_dir = [1, 0, 3, 2][self.ball_dir];
        }
        if new_y < 0 {
            new_y = 0;
            self.ball_dir = [3, 2, 1, 0][self.ball_dir];
        } else if self.brick(new_y, new_x) {
            strike_toggle = true;
            if !self.strike {
                r += 1;
                self.strike = true;
                self.bricks[new_y as usize] &= !(1 << new_x);
                self.draw_bricks();
                new_y = self.last_y;
                self.ball_dir = [3, 2, 1, 0][self.ball_dir];
            }
        } else if new_y == 9 {
            if self.bricks.iter().all(|&row| row == 0) {
                self.bricks[1..4].fill(FULL_ROW);
                self.draw_bricks();
            }
            if self.ball_x == self.pos {
                self.ball_dir = [3, 2, 1, 0][self.ball_dir];
                new_y = self.last_y;
            } else if new_x == self.pos {
                self.ball_dir = [2, 3, 0, 1][self.ball_dir];
                new_y = self.last_y;
            } else {
                self.terminal = true;
            }
        }
        if !strike_toggle {
            self.strike = false;
        }
        self.ball_x = new_x;
        self.ball_y = new_y;
        (r, self.terminal)
    }

    pub(crate) fn draw(&self, out: &mut Grid<'_, 4>) {
        out.copy_layer(&self.brick_grid);
        out.set(self.ball_y, self.ball_x, 1);
        out.set(9, self.pos, 0);
        out.set(self.last_y, self.last_x, 2);
    }
}
