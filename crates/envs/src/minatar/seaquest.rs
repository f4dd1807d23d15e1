//! Seaquest (minatar/environments/seaquest.py): a submarine shoots fish and enemy subs, picks up
//! divers, and must surface before its oxygen runs out; surfacing with divers ramps the
//! difficulty.
//!
//! The package keeps its objects in Python lists, walks them with `reversed(list)` while
//! removing from them, and removes by value (`list.remove(x)` drops the first element equal to
//! `x`). Both are reproduced as written, on `Vec`s of plain values: a reversed walk is an index
//! that starts at the end, steps down by one, and stops once it is no longer inside the list,
//! as CPython's `listreviterator` does, so removals during the walk visit the same elements.

use super::{Grid, MOVES, RandomState, on_grid, set_bit};
use serde::{Deserialize, Serialize};

const MAX_OXYGEN: i32 = 200;
const INIT_SPAWN_SPEED: i32 = 20;
const DIVER_SPAWN_SPEED: i32 = 30;
const INIT_MOVE_INTERVAL: i32 = 5;
const SHOT_COOL_DOWN: i32 = 5;
const ENEMY_SHOT_INTERVAL: i32 = 10;
const DIVER_MOVE_INTERVAL: i32 = 5;

/// A bullet: `[x, y, heading right]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Bullet {
    x: i32,
    y: i32,
    right: bool,
}

/// A fish or a diver: `[x, y, heading right, move timer]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Swimmer {
    x: i32,
    y: i32,
    right: bool,
    timer: i32,
}

/// An enemy sub: `[x, y, heading right, move timer, shot timer]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Sub {
    x: i32,
    y: i32,
    right: bool,
    timer: i32,
    shot_timer: i32,
}

/// Row 9's gauges drawn ahead, by how much they show: `OXYGEN_GAUGE[k]` lights columns `0..k`
/// of channel 7 (`k` = oxygen · 10 / 200, at most 10), `DIVER_GAUGE[k]` columns `9 − k..9` of
/// channel 8 (`k` divers, none when the count is 0 or −1). A lookup instead of a loop whose
/// length changes from step to step. Row 9 is bits 900–999 of the grid, so each gauge is the
/// grid's last two words (from [`GAUGE_WORD`]).
const OXYGEN_GAUGE: [[u64; 2]; 11] = gauge(7, false);
const DIVER_GAUGE: [[u64; 2]; 10] = gauge(8, true);
const GAUGE_WORD: usize = 9 * 10 * Seaquest::CHANNELS / 64;

/// `N` gauges of channel `c` on row 9, lit from the left or (`from_right`) from column 8 down.
const fn gauge<const N: usize>(c: usize, from_right: bool) -> [[u64; 2]; N] {
    let mut table = [[0; 2]; N];
    let mut k = 0;
    while k < N {
        let mut grid = [0; 16];
        let mut x = 0;
        while x < k as i32 {
            set_bit::<{ Seaquest::CHANNELS }>(&mut grid, 9, if from_right { 8 - x } else { x }, c);
            x += 1;
        }
        table[k] = [grid[GAUGE_WORD], grid[GAUGE_WORD + 1]];
        k += 1;
    }
    table
}

fn step_x(right: bool) -> i32 {
    if right { 1 } else { -1 }
}

/// `list.remove(value)`: drops the first element equal to `value`, returning its index.
fn remove_value<T: PartialEq>(v: &mut Vec<T>, value: &T) -> Option<usize> {
    let i = v.iter().position(|x| x == value)?;
    v.remove(i);
    Some(i)
}

/// The game's object lists.
#[derive(Debug, Default)]
struct Lists {
    f_bullets: Vec<Bullet>,
    e_bullets: Vec<Bullet>,
    e_fish: Vec<Swimmer>,
    e_subs: Vec<Sub>,
    divers: Vec<Swimmer>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Seaquest {
    ramping: bool,
    oxygen: i32,
    diver_count: i32,
    sub_x: i32,
    sub_y: i32,
    sub_right: bool,
    f_bullets: Vec<Bullet>,
    e_bullets: Vec<Bullet>,
    e_fish: Vec<Swimmer>,
    e_subs: Vec<Sub>,
    divers: Vec<Swimmer>,
    e_spawn_speed: i32,
    e_spawn_timer: i32,
    d_spawn_timer: i32,
    move_speed: i32,
    ramp_index: i32,
    shot_timer: i32,
    surface: bool,
    terminal: bool,
}

impl Seaquest {
    pub(crate) const CHANNELS: usize = 10;

    pub(crate) fn new(ramping: bool) -> Self {
        Self::with_lists(ramping, Lists::default())
    }

    /// A start state around (empty) lists, so that a reset keeps their capacity.
    fn with_lists(ramping: bool, lists: Lists) -> Self {
        let Lists {
            f_bullets,
            e_bullets,
            e_fish,
            e_subs,
            divers,
        } = lists;
        Self {
            ramping,
            oxygen: MAX_OXYGEN,
            diver_count: 0,
            sub_x: 5,
            sub_y: 0,
            sub_right: false,
            f_bullets,
            e_bullets,
            e_fish,
            e_subs,
            divers,
            e_spawn_speed: INIT_SPAWN_SPEED,
            e_spawn_timer: INIT_SPAWN_SPEED,
            d_spawn_timer: DIVER_SPAWN_SPEED,
            move_speed: INIT_MOVE_INTERVAL,
            ramp_index: 0,
            shot_timer: 0,
            surface: true,
            terminal: false,
        }
    }

    /// A new episode; the lists keep their capacity, so resets do not allocate.
    pub(crate) fn reset(&mut self) {
        fn cleared<T>(v: &mut Vec<T>) -> Vec<T> {
            let mut v = std::mem::take(v);
            v.clear();
            v
        }
        let lists = Lists {
            f_bullets: cleared(&mut self.f_bullets),
            e_bullets: cleared(&mut self.e_bullets),
            e_fish: cleared(&mut self.e_fish),
            e_subs: cleared(&mut self.e_subs),
            divers: cleared(&mut self.divers),
        };
        *self = Self::with_lists(self.ramping, lists);
    }

    /// Whether a saved state is one the game can draw and step (coordinates on the grid).
    pub(crate) fn is_valid(&self) -> bool {
        let on = |x: i32, y: i32| (0..=9).contains(&x) && (0..=9).contains(&y);
        (0..=9).contains(&self.sub_x)
            && (0..=8).contains(&self.sub_y)
            && self.oxygen <= MAX_OXYGEN
            && self.diver_count <= 6
            && self.f_bullets.iter().all(|b| on(b.x, b.y))
            && self.e_bullets.iter().all(|b| on(b.x, b.y))
            && self.e_fish.iter().all(|f| on(f.x, f.y))
            && self.e_subs.iter().all(|s| on(s.x, s.y))
            && self.divers.iter().all(|d| on(d.x, d.y))
    }

    pub(crate) fn ramp_index(&self) -> i32 {
        self.ramp_index
    }

    fn at_sub(&self, x: i32, y: i32) -> bool {
        (x, y) == (self.sub_x, self.sub_y)
    }

    pub(crate) fn act(&mut self, a: u8, rng: &mut RandomState) -> (i32, bool) {
        let mut r = 0;
        if self.terminal {
            return (r, true);
        }
        if self.e_spawn_timer == 0 {
            self.spawn_enemy(rng);
            self.e_spawn_timer = self.e_spawn_speed;
        }
        if self.d_spawn_timer == 0 {
            self.spawn_diver(rng);
            self.d_spawn_timer = DIVER_SPAWN_SPEED;
        }
        if a == 5 && self.shot_timer == 0 {
            self.f_bullets.push(Bullet {
                x: self.sub_x,
                y: self.sub_y,
                right: self.sub_right,
            });
            self.shot_timer = SHOT_COOL_DOWN;
        } else {
            // Moves clamped to the board (fire, when the gun is cooling, does not move); a
            // horizontal move turns the sub.
            let (dx, dy) = MOVES[usize::from(a).min(5)];
            self.sub_x = (self.sub_x + dx).clamp(0, 9);
            self.sub_y = (self.sub_y + dy).clamp(0, 8);
            self.sub_right = if dx == 0 { self.sub_right } else { dx > 0 };
        }
        r += self.move_friendly_bullets();
        self.move_divers();
        r += self.move_enemy_subs();
        self.move_enemy_bullets();
        r += self.move_fish();

        self.e_spawn_timer -= i32::from(self.e_spawn_timer > 0);
        self.d_spawn_timer -= i32::from(self.d_spawn_timer > 0);
        self.shot_timer -= i32::from(self.shot_timer > 0);
        if self.oxygen <= 0 {
            self.terminal = true;
        }
        if self.sub_y > 0 {
            self.oxygen -= 1;
            self.surface = false;
        } else if !self.surface {
            if self.diver_count == 0 {
                self.terminal = true;
            } else {
                r += self.surface();
            }
        }
        (r, self.terminal)
    }

    fn move_friendly_bullets(&mut self) -> i32 {
        let mut r = 0;
        let mut i = self.f_bullets.len() as isize - 1;
        while i >= 0 && (i as usize) < self.f_bullets.len() {
            let b = &mut self.f_bullets[i as usize];
            b.x += step_x(b.right);
            let bullet = *b;
            if bullet.x < 0 || bullet.x > 9 {
                remove_value(&mut self.f_bullets, &bullet);
            } else if let Some(fish) = self
                .e_fish
                .iter()
                .find(|f| (f.x, f.y) == (bullet.x, bullet.y))
                .copied()
            {
                remove_value(&mut self.e_fish, &fish);
                remove_value(&mut self.f_bullets, &bullet);
                r += 1;
            } else if let Some(sub) = self
                .e_subs
                .iter()
                .find(|s| (s.x, s.y) == (bullet.x, bullet.y))
                .copied()
            {
                remove_value(&mut self.e_subs, &sub);
                remove_value(&mut self.f_bullets, &bullet);
                r += 1;
            }
            i -= 1;
        }
        r
    }

    fn move_divers(&mut self) {
        let mut i = self.divers.len() as isize - 1;
        while i >= 0 && (i as usize) < self.divers.len() {
            let d = self.divers[i as usize];
            if self.at_sub(d.x, d.y) && self.diver_count < 6 {
                remove_value(&mut self.divers, &d);
                self.diver_count += 1;
            } else if d.timer == 0 {
                let d = &mut self.divers[i as usize];
                d.timer = DIVER_MOVE_INTERVAL;
                d.x += step_x(d.right);
                let d = *d;
                if d.x < 0 || d.x > 9 {
                    remove_value(&mut self.divers, &d);
                } else if self.at_sub(d.x, d.y) && self.diver_count < 6 {
                    remove_value(&mut self.divers, &d);
                    self.diver_count += 1;
                }
            } else {
                self.divers[i as usize].timer -= 1;
            }
            i -= 1;
        }
    }

    fn move_enemy_subs(&mut self) -> i32 {
        let mut r = 0;
        let mut i = self.e_subs.len() as isize - 1;
        while i >= 0 && (i as usize) < self.e_subs.len() {
            // Where the sub being walked is: in the list at `at`, or taken out of it (`None`,
            // its fields then live on in `detached`, as the Python object outlives its removal).
            let mut at = Some(i as usize);
            let mut detached = self.e_subs[i as usize];
            let s = self.e_subs[i as usize];
            if self.at_sub(s.x, s.y) {
                self.terminal = true;
            }
            if s.timer == 0 {
                let s = &mut self.e_subs[i as usize];
                s.timer = self.move_speed;
                s.x += step_x(s.right);
                let s = *s;
                let mut removed = None;
                if s.x < 0 || s.x > 9 {
                    removed = remove_value(&mut self.e_subs, &s);
                } else if self.at_sub(s.x, s.y) {
                    self.terminal = true;
                } else if let Some(b) = self
                    .f_bullets
                    .iter()
                    .find(|b| (b.x, b.y) == (s.x, s.y))
                    .copied()
                {
                    removed = remove_value(&mut self.e_subs, &s);
                    remove_value(&mut self.f_bullets, &b);
                    r += 1;
                }
                detached = s;
                if let Some(j) = removed {
                    // Removing an equal sub further down the list shifts this one down by one.
                    at = (j != i as usize).then(|| i as usize - 1);
                }
            } else {
                self.e_subs[i as usize].timer -= 1;
                detached.timer -= 1;
            }
            let s = match at {
                Some(k) => &mut self.e_subs[k],
                None => &mut detached,
            };
            if s.shot_timer == 0 {
                s.shot_timer = ENEMY_SHOT_INTERVAL;
                let shot = Bullet {
                    x: s.x,
                    y: s.y,
                    right: s.right,
                };
                self.e_bullets.push(shot);
            } else {
                s.shot_timer -= 1;
            }
            i -= 1;
        }
        r
    }

    fn move_enemy_bullets(&mut self) {
        let mut i = self.e_bullets.len() as isize - 1;
        while i >= 0 && (i as usize) < self.e_bullets.len() {
            let b = self.e_bullets[i as usize];
            if self.at_sub(b.x, b.y) {
                self.terminal = true;
            }
            let b = &mut self.e_bullets[i as usize];
            b.x += step_x(b.right);
            let b = *b;
            if b.x < 0 || b.x > 9 {
                remove_value(&mut self.e_bullets, &b);
            } else if self.at_sub(b.x, b.y) {
                self.terminal = true;
            }
            i -= 1;
        }
    }

    fn move_fish(&mut self) -> i32 {
        let mut r = 0;
        let mut i = self.e_fish.len() as isize - 1;
        while i >= 0 && (i as usize) < self.e_fish.len() {
            let f = self.e_fish[i as usize];
            if self.at_sub(f.x, f.y) {
                self.terminal = true;
            }
            if f.timer == 0 {
                let f = &mut self.e_fish[i as usize];
                f.timer = self.move_speed;
                f.x += step_x(f.right);
                let f = *f;
                if f.x < 0 || f.x > 9 {
                    remove_value(&mut self.e_fish, &f);
                } else if self.at_sub(f.x, f.y) {
                    self.terminal = true;
                } else if let Some(b) = self
                    .f_bullets
                    .iter()
                    .find(|b| (b.x, b.y) == (f.x, f.y))
                    .copied()
                {
                    remove_value(&mut self.e_fish, &f);
                    remove_value(&mut self.f_bullets, &b);
                    r += 1;
                }
            } else {
                self.e_fish[i as usize].timer -= 1;
            }
            i -= 1;
        }
        r
    }

    /// `_surface`: with six divers, a bonus for the oxygen left; oxygen refilled, one diver
    /// used, and the difficulty ramps. As in the package, surfacing with six divers leaves the
    /// count at −1.
    fn surface(&mut self) -> i32 {
        self.surface = true;
        let r = if self.diver_count == 6 {
            self.diver_count = 0;
            self.oxygen * 10 / MAX_OXYGEN
        } else {
            0
        };
        self.oxygen = MAX_OXYGEN;
        self.diver_count -= 1;
        if self.ramping && (self.e_spawn_speed > 1 || self.move_speed > 2) {
            if self.move_speed > 2 && self.ramp_index % 2 != 0 {
                self.move_speed -= 1;
            }
            if self.e_spawn_speed > 1 {
                self.e_spawn_speed -= 1;
            }
            self.ramp_index += 1;
        }
        r
    }

    fn spawn_enemy(&mut self, rng: &mut RandomState) {
        let right = rng.rand() < 1.0 / 2.0;
        let is_sub = rng.rand() < 1.0 / 3.0;
        let x = if right { 0 } else { 9 };
        let y = rng.randint(1, 9) as i32;
        let blocked = self.e_subs.iter().any(|z| z.y == y && z.right != right)
            || self.e_fish.iter().any(|z| z.y == y && z.right != right);
        if blocked {
            return;
        }
        if is_sub {
            self.e_subs.push(Sub {
                x,
                y,
                right,
                timer: self.move_speed,
                shot_timer: ENEMY_SHOT_INTERVAL,
            });
        } else {
            self.e_fish.push(Swimmer {
                x,
                y,
                right,
                timer: self.move_speed,
            });
        }
    }

    fn spawn_diver(&mut self, rng: &mut RandomState) {
        let right = rng.rand() < 1.0 / 2.0;
        let x = if right { 0 } else { 9 };
        let y = rng.randint(1, 9) as i32;
        self.divers.push(Swimmer {
            x,
            y,
            right,
            timer: DIVER_MOVE_INTERVAL,
        });
    }

    pub(crate) fn draw(&self, out: &mut Grid<'_, 10>) {
        out.set(self.sub_y, self.sub_x, 0);
        let back = if self.sub_right {
            self.sub_x - 1
        } else {
            self.sub_x + 1
        };
        // numpy reads a negative column from the right.
        out.set(self.sub_y, back.rem_euclid(10), 1);
        out.or_words(
            GAUGE_WORD,
            &OXYGEN_GAUGE[(self.oxygen.max(0) * 10 / MAX_OXYGEN).min(10) as usize],
        );
        out.or_words(
            GAUGE_WORD,
            &DIVER_GAUGE[self.diver_count.clamp(0, 9) as usize],
        );
        for b in &self.f_bullets {
            out.set(b.y, b.x, 2);
        }
        for b in &self.e_bullets {
            out.set(b.y, b.x, 4);
        }
        // Fish, subs and divers leave a trail behind them, where it is on the grid.
        let mut trail = |x: i32, y: i32, right: bool| {
            let back = if right { x - 1 } else { x + 1 };
            out.set_when(on_grid(back), y, back, 3);
        };
        for f in &self.e_fish {
            trail(f.x, f.y, f.right);
        }
        for s in &self.e_subs {
            trail(s.x, s.y, s.right);
        }
        for d in &self.divers {
            trail(d.x, d.y, d.right);
        }
        for f in &self.e_fish {
            out.set(f.y, f.x, 5);
        }
        for s in &self.e_subs {
            out.set(s.y, s.x, 6);
        }
        for d in &self.divers {
            out.set(d.y, d.x, 9);
        }
    }
}
