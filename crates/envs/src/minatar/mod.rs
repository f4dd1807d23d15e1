//! MinAtar (Young & Tian 2019): five 10×10 games after Atari's, exactly as the `minatar`
//! package 1.0.15 plays them (kenjyoung/MinAtar@4241f24).
//!
//! One [`RandomState`] per environment, as the package's `Environment.seed(s)` makes it, serves
//! both the sticky-action draw (`rand() < p` before every action) and the game's own draws, in
//! the package's order; episodes after the first continue the same stream. So the same seed
//! and actions give the package's states, rewards and terminals bit for bit
//! (`tests/minatar_golden.rs` replays trajectories recorded from it).
//!
//! The observation is the package's `state()`, a `10 × 10 × channels` grid of booleans, handed
//! out as 0/1 `f32`s in numpy's row-major order: cell `(y, x)`, channel `c` at
//! `(y · 10 + x) · channels + c`.

mod asterix;
mod breakout;
mod freeway;
mod numpy_rng;
mod seaquest;
mod space_invaders;

pub use numpy_rng::RandomState;

use asterix::Asterix;
use breakout::Breakout;
use freeway::Freeway;
use seaquest::Seaquest;
use space_invaders::SpaceInvaders;

use crate::{EnvId, EpisodeClock, Error, Transition};
use rand::RngCore;
use serde::{Deserialize, Serialize};

/// Side of the square grid.
pub const GRID: usize = 10;

/// The five games.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Game {
    /// Dodge enemies, collect gold (4 channels).
    Asterix,
    /// Break bricks with a ball (4 channels).
    Breakout,
    /// Cross a road of cars (7 channels).
    Freeway,
    /// Shoot, rescue divers, surface for air (10 channels).
    Seaquest,
    /// Shoot down marching aliens (6 channels).
    SpaceInvaders,
}

/// The package's full action set, in its order: no-op, left, up, right, down, fire.
pub const ACTION_NAMES: [&str; 6] = ["n", "l", "u", "r", "d", "f"];

/// Each action's step `(dx, dy)`: 1–4 move left, up, right, down; no-op and fire stay. The
/// games move by table, not by a `match`: a random policy's action is a jump the CPU cannot
/// predict.
pub(crate) const MOVES: [(i32, i32); 6] = [(0, 0), (-1, 0), (0, -1), (1, 0), (0, 1), (0, 0)];

impl Game {
    /// Every game, in the package's alphabetical order.
    pub const ALL: [Game; 5] = [
        Game::Asterix,
        Game::Breakout,
        Game::Freeway,
        Game::Seaquest,
        Game::SpaceInvaders,
    ];

    /// The package's module name: `asterix`, …, `space_invaders`.
    pub fn module(self) -> &'static str {
        match self {
            Game::Asterix => "asterix",
            Game::Breakout => "breakout",
            Game::Freeway => "freeway",
            Game::Seaquest => "seaquest",
            Game::SpaceInvaders => "space_invaders",
        }
    }

    /// The gym ids' name: `Asterix`, …, `SpaceInvaders`.
    pub fn title(self) -> &'static str {
        match self {
            Game::Asterix => "Asterix",
            Game::Breakout => "Breakout",
            Game::Freeway => "Freeway",
            Game::Seaquest => "Seaquest",
            Game::SpaceInvaders => "SpaceInvaders",
        }
    }

    /// Channels of the observation grid.
    pub fn channels(self) -> usize {
        match self {
            Game::Asterix => Asterix::CHANNELS,
            Game::Breakout => Breakout::CHANNELS,
            Game::Freeway => Freeway::CHANNELS,
            Game::Seaquest => Seaquest::CHANNELS,
            Game::SpaceInvaders => SpaceInvaders::CHANNELS,
        }
    }

    /// `minimal_action_set()`: the actions (indices into the six) that act differently.
    pub fn minimal_action_set(self) -> &'static [u8] {
        match self {
            Game::Asterix => &[0, 1, 2, 3, 4],
            Game::Breakout => &[0, 1, 3],
            Game::Freeway => &[0, 2, 4],
            Game::Seaquest => &[0, 1, 2, 3, 4, 5],
            Game::SpaceInvaders => &[0, 1, 3, 5],
        }
    }

    /// What each channel shows, in the package's channel order.
    pub fn channel_names(self) -> &'static [&'static str] {
        match self {
            Game::Asterix => &["player", "enemy", "trail", "gold"],
            Game::Breakout => &["paddle", "ball", "trail", "brick"],
            Game::Freeway => &[
                "chicken", "car", "speed1", "speed2", "speed3", "speed4", "speed5",
            ],
            Game::Seaquest => &[
                "sub_front",
                "sub_back",
                "friendly_bullet",
                "trail",
                "enemy_bullet",
                "enemy_fish",
                "enemy_sub",
                "oxygen_guage",
                "diver_guage",
                "diver",
            ],
            Game::SpaceInvaders => &[
                "cannon",
                "alien",
                "alien_left",
                "alien_right",
                "friendly_bullet",
                "enemy_bullet",
            ],
        }
    }

    /// One character per channel for `render_text` (the first channel set in a cell wins).
    fn channel_chars(self) -> &'static [char] {
        match self {
            Game::Asterix => &['P', 'E', '-', 'G'],
            Game::Breakout => &['=', 'o', '.', '#'],
            Game::Freeway => &['C', 'X', '-', '-', '-', '-', '-'],
            Game::Seaquest => &['S', 's', '|', '-', '*', 'F', 'E', 'O', 'D', 'd'],
            Game::SpaceInvaders => &['A', 'W', 'W', 'W', '|', '*'],
        }
    }
}

/// A game's state drawn as bits in numpy's `(y, x, c)` order for `C` channels: value `i` in
/// bit `i % 64` of word `i / 64` (up to 1 024 values; Seaquest's 1 000 are the most), in
/// zeroed words the caller owns.
pub(crate) struct Grid<'a, const C: usize> {
    words: &'a mut [u64; 16],
}

impl<'a, const C: usize> Grid<'a, C> {
    /// Words the grid spans.
    pub(crate) const WORDS: usize = (GRID * GRID * C).div_ceil(64);

    /// Sets the grid to `layer` (a cached drawing of some of its channels).
    #[inline]
    pub(crate) fn copy_layer(&mut self, layer: &[u64; 16]) {
        self.words[..Self::WORDS].copy_from_slice(&layer[..Self::WORDS]);
    }

    /// Writes the grid into `sink`, whose length the caller has checked: with the length a
    /// constant of `C`, the writes unroll and no library copy is called.
    #[inline]
    fn emit(&self, sink: Sink<'_>) {
        match sink {
            Sink::F32(out) => write_f32(self.words, &mut out[..GRID * GRID * C]),
            Sink::Bytes(out) => write_bytes(self.words, &mut out[..(GRID * GRID * C).div_ceil(8)]),
        }
    }

    /// Adds `words` to the grid's words from word `first` on.
    #[inline]
    pub(crate) fn or_words(&mut self, first: usize, words: &[u64]) {
        for (w, add) in self.words[first..].iter_mut().zip(words) {
            *w |= add;
        }
    }

    /// Sets cell `(y, x)`, channel `c`.
    #[inline]
    pub(crate) fn set(&mut self, y: i32, x: i32, c: usize) {
        set_bit::<C>(self.words, y, x, c);
    }

    /// ORs the 64 bits of `bits` into the grid from bit `at` on (bits past the grid's end must
    /// be 0).
    #[inline]
    pub(crate) fn or_bits(&mut self, at: usize, bits: u64) {
        let (w, sh) = (at >> 6, at & 63);
        self.words[w & 15] |= bits << sh;
        // The high part, shifted in two steps so that a shift of 64 (when `sh` is 0) is 0.
        self.words[(w + 1) & 15] |= (bits >> 1) >> (63 - sh);
    }

    /// Sets cell `(y, x)`, channel `c`, when `on`, without a branch: a random game's entities
    /// come and go, and a branch on each would be mispredicted. When not `on`, the cell may lie
    /// off the grid by one (a trail's column of −1 or 10).
    #[inline]
    pub(crate) fn set_when(&mut self, on: bool, y: i32, x: i32, c: usize) {
        // Off the grid the index may wrap; the word mask keeps it in range and `on` clears it.
        let i = bit_index::<C>(y, x, c);
        self.words[(i >> 6) & 15] |= u64::from(on) << (i & 63);
    }
}

/// Whether column (or row) `x` is on the grid.
#[inline]
pub(crate) fn on_grid(x: i32) -> bool {
    (x as u32) < GRID as u32
}

/// Sets cell `(y, x)`, channel `c` of a `C`-channel grid held in `words`.
#[inline]
pub(crate) const fn set_bit<const C: usize>(words: &mut [u64; 16], y: i32, x: i32, c: usize) {
    let i = bit_index::<C>(y, x, c);
    // Coordinates are on the grid (a game's invariant, checked on restore): the mask only
    // tells the compiler the word is in range.
    words[(i >> 6) & 15] |= 1 << (i & 63);
}

/// The bit of cell `(y, x)`, channel `c` in a `C`-channel grid, numpy's `(y, x, c)` order. A
/// cell off the grid wraps to some index (which [`Grid::set_when`] leaves unset).
#[inline]
const fn bit_index<const C: usize>(y: i32, x: i32, c: usize) -> usize {
    (y as usize)
        .wrapping_mul(GRID)
        .wrapping_add(x as usize)
        .wrapping_mul(C)
        .wrapping_add(c)
}

/// Where a drawn grid is written: `f32` zeros and ones, or bits packed into bytes.
enum Sink<'a> {
    F32(&'a mut [f32]),
    Bytes(&'a mut [u8]),
}

/// Draws a `C`-channel grid with `draw` and writes it into `sink`.
#[inline]
fn drawn<const C: usize>(sink: Sink<'_>, draw: impl FnOnce(&mut Grid<'_, C>)) {
    let mut words = [0; 16];
    let mut grid = Grid::<C> { words: &mut words };
    draw(&mut grid);
    grid.emit(sink);
}

/// Writes `words`' bits, lowest first, into `out` as `f32` zeros and ones: every value
/// written once, 32 at a time without a branch per value (the loop vectorises).
#[inline]
fn write_f32(words: &[u64; 16], out: &mut [f32]) {
    let halves = words
        .iter()
        .flat_map(|&w| [(w & 0xffff_ffff) as u32, (w >> 32) as u32]);
    let mut chunks = out.chunks_exact_mut(32);
    let mut halves = halves.into_iter();
    for (chunk, h) in (&mut chunks).zip(&mut halves) {
        expand32(h, chunk);
    }
    let rest = chunks.into_remainder();
    if let Some(h) = halves.next() {
        expand32(h, rest);
    }
}

/// `out[k] = bit k of h` for up to 32 values.
#[inline]
fn expand32(h: u32, out: &mut [f32]) {
    for (k, v) in out.iter_mut().enumerate() {
        // A mask per lane and a compare: vectorises on baseline x86-64 (no variable shifts).
        *v = if h & (1u32 << k) != 0 { 1.0 } else { 0.0 };
    }
}

/// Writes `words`' bytes, lowest bit first, as many as `out` holds: whole words as single
/// 8-byte stores, then the last word's bytes.
#[inline]
fn write_bytes(words: &[u64; 16], out: &mut [u8]) {
    let whole = out.len() / 8;
    let mut chunks = out.chunks_exact_mut(8);
    for (chunk, word) in (&mut chunks).zip(words) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    let rest = chunks.into_remainder();
    if let Some(word) = words.get(whole) {
        rest.copy_from_slice(&word.to_le_bytes()[..rest.len()]);
    }
}

/// The state of one game.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum State {
    Asterix(Asterix),
    Breakout(Breakout),
    Freeway(Freeway),
    Seaquest(Seaquest),
    SpaceInvaders(SpaceInvaders),
}

impl State {
    fn new(game: Game, ramping: bool) -> Self {
        match game {
            Game::Asterix => State::Asterix(Asterix::new(ramping)),
            Game::Breakout => State::Breakout(Breakout::new()),
            Game::Freeway => State::Freeway(Freeway::new()),
            Game::Seaquest => State::Seaquest(Seaquest::new(ramping)),
            Game::SpaceInvaders => State::SpaceInvaders(SpaceInvaders::new(ramping)),
        }
    }

    fn reset(&mut self, rng: &mut RandomState) {
        match self {
            State::Asterix(g) => g.reset(),
            State::Breakout(g) => g.reset(rng),
            State::Freeway(g) => g.reset(rng),
            State::Seaquest(g) => g.reset(),
            State::SpaceInvaders(g) => g.reset(),
        }
    }

    fn act(&mut self, a: u8, rng: &mut RandomState) -> (i32, bool) {
        match self {
            State::Asterix(g) => g.act(a, rng),
            State::Breakout(g) => g.act(a),
            State::Freeway(g) => g.act(a, rng),
            State::Seaquest(g) => g.act(a, rng),
            State::SpaceInvaders(g) => g.act(a),
        }
    }

    /// Draws the state into `sink`.
    fn draw(&self, sink: Sink<'_>) {
        match self {
            State::Asterix(g) => drawn(sink, |o| g.draw(o)),
            State::Breakout(g) => drawn(sink, |o| g.draw(o)),
            State::Freeway(g) => drawn(sink, |o| g.draw(o)),
            State::Seaquest(g) => drawn(sink, |o| g.draw(o)),
            State::SpaceInvaders(g) => drawn(sink, |o| g.draw(o)),
        }
    }

    fn game(&self) -> Game {
        match self {
            State::Asterix(_) => Game::Asterix,
            State::Breakout(_) => Game::Breakout,
            State::Freeway(_) => Game::Freeway,
            State::Seaquest(_) => Game::Seaquest,
            State::SpaceInvaders(_) => Game::SpaceInvaders,
        }
    }

    fn is_valid(&self) -> bool {
        match self {
            State::Asterix(g) => g.is_valid(),
            State::Breakout(g) => g.is_valid(),
            State::Freeway(g) => g.is_valid(),
            State::Seaquest(g) => g.is_valid(),
            State::SpaceInvaders(g) => g.is_valid(),
        }
    }

    fn ramp_index(&self) -> Option<i32> {
        match self {
            State::Asterix(g) => Some(g.ramp_index()),
            State::Seaquest(g) => Some(g.ramp_index()),
            State::SpaceInvaders(g) => Some(g.ramp_index()),
            State::Breakout(_) | State::Freeway(_) => None,
        }
    }
}

/// Everything a MinAtar environment carries from step to step, between episodes too: the
/// game, the RandomState, the last action (for sticky actions) and the episode's clock. What a
/// checkpoint keeps so that a resumed run continues the same stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    state: State,
    rng: RandomState,
    last_action: u8,
    steps: u32,
    running: bool,
}

/// The package's `Environment(game, sticky_action_prob, difficulty_ramping)` settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MinAtarOptions {
    /// Chance that the previous action is repeated instead of the one given (0.1).
    pub sticky_action_prob: f64,
    /// Whether Asterix, Seaquest and Space Invaders speed up as they go (true).
    pub difficulty_ramping: bool,
}

impl Default for MinAtarOptions {
    fn default() -> Self {
        Self {
            sticky_action_prob: 0.1,
            difficulty_ramping: true,
        }
    }
}

/// One MinAtar game as the package's gym wrapper serves it: `MinAtar/<Game>-v0` with all six
/// actions, `-v1` with the game's minimal action set.
///
/// ```
/// use envs::{EnvId, Environment, Game, MinAtar, MinAtarOptions};
/// let mut env = MinAtar::new(Game::Breakout, true, u32::MAX, MinAtarOptions::default())?;
/// env.seed(0);
/// let mut obs = vec![0.0; env.obs_dim()];
/// env.reset_seeded(&mut obs);
/// let mut steps = 0;
/// while !env.step(0, &mut obs)?.terminated {
///     steps += 1;
/// }
/// assert!(steps > 0 && obs.iter().all(|&v| v == 0.0 || v == 1.0));
/// # Ok::<(), envs::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct MinAtar {
    id: EnvId,
    game: Game,
    state: State,
    rng: Option<RandomState>,
    options: MinAtarOptions,
    last_action: u8,
    actions: &'static [u8],
    /// Values of the grid (`id.obs_dim()`), kept for the check of every step.
    obs_dim: usize,
    clock: EpisodeClock,
}

impl MinAtar {
    /// A game with `minimal_actions` (v1) or all six (v0), episodes cut at `limit` steps
    /// (`u32::MAX`: the package's registration, which has no limit). Not yet seeded.
    pub fn new(
        game: Game,
        minimal_actions: bool,
        limit: u32,
        options: MinAtarOptions,
    ) -> Result<Self, Error> {
        let p = options.sticky_action_prob;
        if !(0.0..=1.0).contains(&p) {
            return Err(Error::StickyActionProb { value: p });
        }
        let actions: &'static [u8] = if minimal_actions {
            game.minimal_action_set()
        } else {
            &[0, 1, 2, 3, 4, 5]
        };
        Ok(Self {
            id: EnvId::MinAtar {
                game,
                minimal_actions,
            },
            game,
            state: State::new(game, options.difficulty_ramping),
            rng: None,
            options,
            last_action: 0,
            actions,
            obs_dim: GRID * GRID * game.channels(),
            clock: EpisodeClock::new(limit)?,
        })
    }

    /// The game.
    pub fn game(&self) -> Game {
        self.game
    }

    /// The options.
    pub fn options(&self) -> MinAtarOptions {
        self.options
    }

    /// `Environment.seed(seed)`: a new `RandomState(seed)` for the sticky actions and the game.
    pub fn seed(&mut self, seed: u32) {
        self.rng = Some(RandomState::new(seed));
    }

    /// `Environment.reset()`: a new episode drawn from the environment's own stream (seeded
    /// with [`MinAtar::seed`], or by the first [`crate::Environment::reset`]; seed 0 if neither).
    pub fn reset_seeded(&mut self, obs: &mut [f32]) {
        self.start_episode();
        self.observe(obs);
    }

    /// [`MinAtar::reset_seeded`] with the first grid written as bits, as
    /// [`MinAtar::step_bits`] writes them.
    pub fn reset_bits(&mut self, bytes: &mut [u8]) {
        self.start_episode();
        self.observe_bits(bytes);
    }

    /// The package's `reset()`: a new episode from the environment's own stream.
    fn start_episode(&mut self) {
        let rng = self.rng.get_or_insert_with(|| RandomState::new(0));
        self.state.reset(rng);
        self.clock.start_at(0);
    }

    /// The difficulty level reached (`difficulty_ramp()`): `None` for Breakout and Freeway.
    pub fn difficulty_ramp(&self) -> Option<i32> {
        self.state.ramp_index()
    }

    /// Writes the observation grid into `obs` as 0/1 values (`obs` holds `obs_dim` values).
    pub fn observe(&self, obs: &mut [f32]) {
        if obs.len() != self.obs_dim {
            return;
        }
        self.state.draw(Sink::F32(obs));
    }

    /// Writes the observation grid into `bytes` as bits, eight cells to a byte in the same
    /// order, lowest bit first (`bytes` holds `obs_dim.div_ceil(8)` bytes).
    pub fn observe_bits(&self, bytes: &mut [u8]) {
        if bytes.len() != self.obs_dim.div_ceil(8) {
            return;
        }
        self.state.draw(Sink::Bytes(bytes));
    }

    /// The environment as it stands, once it has a stream (seeded or reset); `None` before.
    pub fn snapshot(&self) -> Option<Snapshot> {
        Some(Snapshot {
            state: self.state.clone(),
            rng: self.rng.clone()?,
            last_action: self.last_action,
            steps: self.clock.steps(),
            running: self.clock.is_running(),
        })
    }

    /// Continues from `snapshot`, writing the observation into `obs` when an episode is under
    /// way: refused if it is another game's, has a step count at or past the limit, or holds
    /// values the game cannot be in.
    pub fn restore(&mut self, snapshot: &Snapshot, obs: &mut [f32]) -> Result<(), Error> {
        let s = snapshot;
        let game = s.state.game();
        if game != self.game {
            return Err(Error::SnapshotGame {
                env: self.id,
                got: game,
            });
        }
        if !s.state.is_valid() || !s.rng.is_valid() || usize::from(s.last_action) >= 6 {
            return Err(Error::SnapshotValues { env: self.id });
        }
        if s.running {
            self.clock.check_resumable(s.steps, false)?;
        }
        self.state = s.state.clone();
        if let State::Breakout(g) = &mut self.state {
            g.draw_bricks();
        }
        self.rng = Some(s.rng.clone());
        self.last_action = s.last_action;
        self.clock.restore(s.steps, s.running);
        if s.running {
            self.observe(obs);
        }
        Ok(())
    }

    /// [`crate::Environment::step`] with the next grid written as bits (`obs_dim.div_ceil(8)` bytes,
    /// lowest bit first): what the package's `act` and `state()` produce, in the form the
    /// replay stores.
    pub fn step_bits(&mut self, action: usize, bytes: &mut [u8]) -> Result<Transition, Error> {
        self.check(action, bytes.len(), self.obs_dim.div_ceil(8))?;
        let t = self.advance(action)?;
        self.observe_bits(bytes);
        Ok(t)
    }

    /// Checks an action and a buffer of `got` values where the step writes `want`: one test on
    /// the way of every step, the crate's check (which names the problem) off it.
    #[inline]
    fn check(&self, action: usize, got: usize, want: usize) -> Result<(), Error> {
        if action < self.actions.len() && got == want {
            Ok(())
        } else {
            crate::check_shape(self.id, action, got, want)
        }
    }

    /// The package's `act`: the sticky-action draw, then the game's step.
    fn advance(&mut self, action: usize) -> Result<Transition, Error> {
        self.clock.tick()?;
        let rng = self.rng.get_or_insert_with(|| RandomState::new(0));
        let mut a = self.actions[action];
        if rng.rand() < self.options.sticky_action_prob {
            a = self.last_action;
        }
        self.last_action = a;
        let (reward, terminated) = self.state.act(a, rng);
        let truncated = self.clock.finish_step(terminated);
        Ok(Transition {
            reward: reward as f32,
            terminated,
            truncated,
        })
    }

    /// Whether an episode is under way.
    pub fn is_running(&self) -> bool {
        self.clock.is_running()
    }

    /// Steps taken in the current episode.
    pub fn episode_steps(&self) -> u32 {
        self.clock.steps()
    }

    /// The step limit.
    pub fn max_episode_steps(&self) -> u32 {
        self.clock.limit()
    }
}

impl crate::Environment for MinAtar {
    fn id(&self) -> EnvId {
        self.id
    }

    fn max_episode_steps(&self) -> u32 {
        self.clock.limit()
    }

    /// The first reset seeds the environment's stream from `rng` (unless [`MinAtar::seed`]
    /// did); every episode then continues that stream, as the package's do.
    fn reset(&mut self, rng: &mut dyn RngCore, obs: &mut [f32]) {
        if self.rng.is_none() {
            self.seed(rng.next_u32());
        }
        self.reset_seeded(obs);
    }

    fn step(&mut self, action: usize, obs: &mut [f32]) -> Result<Transition, Error> {
        self.check(action, obs.len(), self.obs_dim)?;
        let t = self.advance(action)?;
        self.observe(obs);
        Ok(t)
    }

    fn render_text(&self) -> String {
        let c = self.game.channels();
        let mut bits = vec![0u8; (GRID * GRID * c).div_ceil(8)];
        self.state.draw(Sink::Bytes(&mut bits));
        let chars = self.game.channel_chars();
        let mut grid = vec![vec!['.'; GRID]; GRID];
        for (y, row) in grid.iter_mut().enumerate() {
            for (x, cell) in row.iter_mut().enumerate() {
                let base = (y * GRID + x) * c;
                if let Some(ch) = (0..c).find(|k| bits[(base + k) / 8] >> ((base + k) % 8) & 1 == 1)
                {
                    *cell = chars[ch];
                }
            }
        }
        let mut s = format!("{}  step {}", self.id, self.clock.steps());
        if let Some(level) = self.state.ramp_index() {
            s.push_str(&format!("  difficulty {level}"));
        }
        s.push('\n');
        s.push_str(&crate::grid_text(&grid));
        s
    }
}

/// `MinAtar/<Game>-v0` or `-v1`.
pub(crate) fn id_name(game: Game, minimal_actions: bool) -> &'static str {
    match (game, minimal_actions) {
        (Game::Asterix, false) => "MinAtar/Asterix-v0",
        (Game::Asterix, true) => "MinAtar/Asterix-v1",
        (Game::Breakout, false) => "MinAtar/Breakout-v0",
        (Game::Breakout, true) => "MinAtar/Breakout-v1",
        (Game::Freeway, false) => "MinAtar/Freeway-v0",
        (Game::Freeway, true) => "MinAtar/Freeway-v1",
        (Game::Seaquest, false) => "MinAtar/Seaquest-v0",
        (Game::Seaquest, true) => "MinAtar/Seaquest-v1",
        (Game::SpaceInvaders, false) => "MinAtar/SpaceInvaders-v0",
        (Game::SpaceInvaders, true) => "MinAtar/SpaceInvaders-v1",
    }
}
