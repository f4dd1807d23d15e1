//! Asterix (minatar/environments/asterix.py): dodge enemies and collect gold that cross the
//! rows from either side; spawning and movement speed up every 100 frames.

use super::{Grid, MOVES, RandomState};
use serde::{Deserialize, Serialize};

const RAMP_INTERVAL: i32 = 100;
const INIT_SPAWN_SPEED: i32 = 10;
const INIT_MOVE_INTERVAL: i32 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Entity {
    x: i32,
    y: i32,
    right: bool,
    gold: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Asterix {
    ramping: bool,
    player_x: i32,
    player_y: i32,
    entities: [Option<Entity>; 8],
    spawn_speed: i32,
    spawn_timer: i32,
    move_speed: i32,
    move_timer: i32,
    ramp_timer: i32,
    ramp_index: i32,
    terminal: bool,
}

impl Asterix {
    pub(crate) const CHANNELS: usize = 4;

    pub(crate) fn new(ramping: bool) -> Self {
        Self {
            ramping,
            player_x: 5,
            player_y: 5,
            entities: [None; 8],
            spawn_speed: INIT_SPAWN_SPEED,
            spawn_timer: INIT_SPAWN_SPEED,
            move_speed: INIT_MOVE_INTERVAL,
            move_timer: INIT_MOVE_INTERVAL,
            ramp_timer: RAMP_INTERVAL,
            ramp_index: 0,
            terminal: false,
        }
    }

    pub(crate) fn reset(&mut self) {
        *self = Self::new(self.ramping);
    }

    /// Whether a saved state is one the game can draw and step (coordinates on the grid).
    pub(crate) fn is_valid(&self) -> bool {
        (0..=9).contains(&self.player_x)
            && (1..=8).contains(&self.player_y)
            && self
                .entities
                .iter()
                .enumerate()
                .all(|(i, e)| e.is_none_or(|e| (0..=9).contains(&e.x) && e.y == i as i32 + 1))
    }

    pub(crate) fn ramp_index(&self) -> i32 {
        self.ramp_index
    }

    /// Touching the entity in slot `i`, if it is on the player's cell: gold is collected (+1),
    /// an enemy ends the game.
    fn touch(&mut self, i: usize, r: &mut i32) {
        if let Some(e) = self.entities[i]
            && (e.x, e.y) == (self.player_x, self.player_y)
        {
            if e.gold {
                self.entities[i] = None;
                *r += 1;
            } else {
                self.terminal = true;
            }
        }
    }

    pub(crate) fn act(&mut self, a: u8, rng: &mut RandomState) -> (i32, bool) {
        let mut r = 0;
        if self.terminal {
            return (r, true);
        }
        if self.spawn_timer == 0 {
            self.spawn_entity(rng);
            self.spawn_timer = self.spawn_speed;
        }
        // Clamped to the board.
        let (dx, dy) = MOVES[usize::from(a).min(5)];
        self.player_x = (self.player_x + dx).clamp(0, 9);
        self.player_y = (self.player_y + dy).clamp(1, 8);
        // The package checks every entity against the player, before and after moving them;
        // only the one in the player's row (slot `player_y - 1`) can be on its cell.
        let row = self.player_y as usize - 1;
        self.touch(row, &mut r);
        if self.move_timer == 0 {
            self.move_timer = self.move_speed;
            for slot in &mut self.entities {
                if let Some(e) = slot {
                    e.x += if e.right { 1 } else { -1 };
                    if e.x < 0 || e.x > 9 {
                        // Off the board: gone, and it cannot be on the player's cell.
                        *slot = None;
                    }
                }
            }
            self.touch(row, &mut r);
        }
        self.spawn_timer -= 1;
        self.move_timer -= 1;
        if self.ramping && (self.spawn_speed > 1 || self.move_speed > 1) {
            if self.ramp_timer >= 0 {
                self.ramp_timer -= 1;
            } else {
                if self.move_speed > 1 && self.ramp_index % 2 != 0 {
                    self.move_speed -= 1;
                }
                if self.spawn_speed > 1 {
                    self.spawn_speed -= 1;
                }
                self.ramp_index += 1;
                self.ramp_timer = RAMP_INTERVAL;
            }
        }
        (r, self.terminal)
    }

    fn spawn_entity(&mut self, rng: &mut RandomState) {
        let right = rng.rand() < 1.0 / 2.0;
        let gold = rng.rand() < 1.0 / 3.0;
        let x = if right { 0 } else { 9 };
        let free = self.entities.iter().filter(|e| e.is_none()).count();
        if free == 0 {
            return;
        }
        let pick = rng.randint(0, free as i64) as usize;
        let slot = (0..self.entities.len())
            .filter(|&i| self.entities[i].is_none())
            .nth(pick)
            .unwrap_or_default();
        self.entities[slot] = Some(Entity {
            x,
            y: slot as i32 + 1,
            right,
            gold,
        });
    }

    pub(crate) fn draw(&self, out: &mut Grid<'_, 4>) {
        out.set(self.player_y, self.player_x, 0);
        for e in self.entities.iter().flatten() {
            out.set(e.y, e.x, if e.gold { 3 } else { 1 });
            let back = if e.right { e.x - 1 } else { e.x + 1 };
            if (0..=9).contains(&back) {
                out.set(e.y, back, 2);
            }
        }
    }
}
