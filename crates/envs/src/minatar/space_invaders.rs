//! Space Invaders (minatar/environments/space_invaders.py): shoot down a block of aliens that
//! marches sideways and down and fires at the cannon; each cleared wave comes back faster.
//!
//! The package's 10×10 float maps are kept as ten 10-bit rows; `np.roll` along either axis is a
//! rotation of the rows or of each row's bits.

use super::{GRID, Grid, MOVES};
use serde::{Deserialize, Serialize};

const SHOT_COOL_DOWN: i32 = 5;
const ENEMY_MOVE_INTERVAL: i32 = 12;
const ENEMY_SHOT_INTERVAL: i32 = 10;
const ROW: u16 = 0x3ff;
/// Rows 0–3, columns 2–7: a fresh wave.
const WAVE: u16 = 0b00_1111_1100;

type Map = [u16; 10];

fn count(m: &Map) -> i32 {
    m.iter().map(|r| r.count_ones() as i32).sum()
}

/// Whether a map is empty: an OR, where [`count`] is a popcount per row (a dozen instructions
/// each without the POPCNT instruction, which the baseline x86-64 target lacks).
fn is_empty(m: &Map) -> bool {
    m.iter().fold(0, |a, &r| a | r) == 0
}

/// `np.roll(m, 1, axis=0)` (`down`) or `-1` with the row rolled in cleared: rows moved one
/// over by plain moves (`rotate_*` on ten `u16`s calls `memmove`).
fn shift_rows(m: &Map, down: bool) -> Map {
    std::array::from_fn(|y| match (down, y) {
        (true, 0) | (false, 9) => 0,
        (true, _) => m[y - 1],
        (false, _) => m[y + 1],
    })
}

fn has(m: &Map, y: usize, x: i32) -> bool {
    m[y] >> x & 1 == 1
}

fn column_has(m: &Map, x: i32) -> bool {
    m.iter().any(|r| r >> x & 1 == 1)
}

/// `np.roll(m, 1, axis=1)` (`right`) or `-1`: every row's bits one column over, wrapping.
fn roll_columns(m: &mut Map, right: bool) {
    for r in m {
        *r = if right {
            ((*r << 1) | (*r >> 9)) & ROW
        } else {
            ((*r >> 1) | (*r << 9)) & ROW
        };
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SpaceInvaders {
    ramping: bool,
    pos: i32,
    f_bullets: Map,
    e_bullets: Map,
    aliens: Map,
    alien_dir: i32,
    enemy_move_interval: i32,
    alien_move_timer: i32,
    alien_shot_timer: i32,
    ramp_index: i32,
    shot_timer: i32,
    terminal: bool,
}

impl SpaceInvaders {
    pub(crate) const CHANNELS: usize = 6;

    pub(crate) fn new(ramping: bool) -> Self {
        let mut aliens = [0; 10];
        aliens[..4].fill(WAVE);
        Self {
            ramping,
            pos: 5,
            f_bullets: [0; 10],
            e_bullets: [0; 10],
            aliens,
            alien_dir: -1,
            enemy_move_interval: ENEMY_MOVE_INTERVAL,
            alien_move_timer: ENEMY_MOVE_INTERVAL,
            alien_shot_timer: ENEMY_SHOT_INTERVAL,
            ramp_index: 0,
            shot_timer: 0,
            terminal: false,
        }
    }

    pub(crate) fn reset(&mut self) {
        *self = Self::new(self.ramping);
    }

    /// Whether a saved state is one the game can draw and step (coordinates on the grid).
    pub(crate) fn is_valid(&self) -> bool {
        let rows = |m: &Map| m.iter().all(|&r| r <= ROW);
        (0..=9).contains(&self.pos)
            && rows(&self.f_bullets)
            && rows(&self.e_bullets)
            && rows(&self.aliens)
            && self.alien_dir.abs() == 1
    }

    pub(crate) fn ramp_index(&self) -> i32 {
        self.ramp_index
    }

    pub(crate) fn act(&mut self, a: u8) -> (i32, bool) {
        let mut r = 0;
        if self.terminal {
            return (r, true);
        }
        if a == 5 && self.shot_timer == 0 {
            self.f_bullets[9] |= 1 << self.pos;
            self.shot_timer = SHOT_COOL_DOWN;
        } else {
            // Left and right move the cannon, clamped (fire, while the gun cools, does not).
            self.pos = (self.pos + MOVES[usize::from(a).min(5)].0).clamp(0, 9);
        }
        // Friendly bullets rise a row (np.roll by -1 along rows), the bottom row cleared.
        self.f_bullets = shift_rows(&self.f_bullets, false);
        // Enemy bullets fall a row, the top row cleared.
        self.e_bullets = shift_rows(&self.e_bullets, true);
        if has(&self.e_bullets, 9, self.pos) {
            self.terminal = true;
        }
        if has(&self.aliens, 9, self.pos) {
            self.terminal = true;
        }
        if self.alien_move_timer == 0 {
            self.alien_move_timer = count(&self.aliens).min(self.enemy_move_interval);
            if (column_has(&self.aliens, 0) && self.alien_dir < 0)
                || (column_has(&self.aliens, 9) && self.alien_dir > 0)
            {
                self.alien_dir = -self.alien_dir;
                if self.aliens[9] != 0 {
                    self.terminal = true;
                }
                self.aliens.rotate_right(1);
            } else {
                roll_columns(&mut self.aliens, self.alien_dir > 0);
            }
            if has(&self.aliens, 9, self.pos) {
                self.terminal = true;
            }
        }
        if self.alien_shot_timer == 0 {
            self.alien_shot_timer = ENEMY_SHOT_INTERVAL;
            if let Some((y, x)) = self.nearest_alien() {
                self.e_bullets[y] |= 1 << x;
            }
        }
        let kills: Map = std::array::from_fn(|y| self.aliens[y] & self.f_bullets[y]);
        if !is_empty(&kills) {
            r += count(&kills);
            for ((alien, bullet), kill) in
                self.aliens.iter_mut().zip(&mut self.f_bullets).zip(kills)
            {
                *alien &= !kill;
                *bullet &= !kill;
            }
        }
        self.shot_timer -= i32::from(self.shot_timer > 0);
        self.alien_move_timer -= 1;
        self.alien_shot_timer -= 1;
        if is_empty(&self.aliens) {
            if self.enemy_move_interval > 6 && self.ramping {
                self.enemy_move_interval -= 1;
                self.ramp_index += 1;
            }
            self.aliens[..4].fill(WAVE);
        }
        (r, self.terminal)
    }

    /// The lowest alien of the column nearest the cannon (ties to the left, as Python's stable
    /// sort of `range(10)` by distance orders them).
    fn nearest_alien(&self) -> Option<(usize, i32)> {
        let mut order: [i32; 10] = std::array::from_fn(|i| i as i32);
        order.sort_by_key(|x| (x - self.pos).abs());
        order.into_iter().find_map(|x| {
            (0..10)
                .rev()
                .find(|&y| has(&self.aliens, y, x))
                .map(|y| (y, x))
        })
    }

    /// Each row's six channels at once: a row's cells are 60 consecutive bits of the grid, and
    /// a map's row spread to every sixth bit ([`spread`]) and shifted by its channel is that
    /// channel's part of them. No branch per alien or bullet.
    pub(crate) fn draw(&self, out: &mut Grid<'_, 6>) {
        let dir_channel = if self.alien_dir < 0 { 2 } else { 3 };
        for y in 0..10 {
            let aliens = spread(self.aliens[y]);
            let mut row = aliens << 1
                | aliens << dir_channel
                | spread(self.f_bullets[y]) << 4
                | spread(self.e_bullets[y]) << 5;
            if y == 9 {
                row |= 1 << (6 * self.pos);
            }
            out.or_bits(y * GRID * Self::CHANNELS, row);
        }
    }
}

/// A 10-bit row with bit `x` moved to bit `6x` (`SPREAD5` does each half).
fn spread(row: u16) -> u64 {
    SPREAD5[usize::from(row & 31)] | SPREAD5[usize::from(row >> 5 & 31)] << 30
}

/// Five bits spread to every sixth: bit `x` of the index at bit `6x`.
const SPREAD5: [u64; 32] = {
    let mut t = [0; 32];
    let mut i = 0;
    while i < 32 {
        let mut x = 0;
        while x < 5 {
            t[i] |= ((i as u64 >> x) & 1) << (6 * x);
            x += 1;
        }
        i += 1;
    }
    t
};
