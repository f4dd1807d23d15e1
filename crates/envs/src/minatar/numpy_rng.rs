//! numpy's legacy `RandomState` on MT19937, as far as MinAtar draws from it: seeding with an
//! integer, `rand()`, `randint(low, high)` and raw 32-bit words, each drawn exactly as numpy's
//! legacy algorithms draw them (numpy/random/src/mt19937 and distributions.c,
//! `random_bounded_uint64_fill` with `use_masked`), so the same seed gives the same numbers.
//!
//! No maintained crate reproduces these: `rand_mt` has MT19937 but not numpy's `rand`/`randint`
//! on top of it, and the masked rejection of `randint` is what decides which words are used.
//! `tests/minatar_golden.rs` checks the module against numbers recorded from numpy.

use serde::{Deserialize, Serialize};

const N: usize = 624;
const M: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

/// numpy's `np.random.RandomState(seed)`: MT19937 seeded with an integer, and the legacy draws
/// MinAtar makes.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Saved", into = "Saved")]
pub struct RandomState {
    key: Vec<u32>,
    /// `key`'s words tempered, all at once after each twist (a loop that vectorises), so that a
    /// draw is a load. Always `temper` of `key`: derived, not saved.
    out: Vec<u32>,
    pos: usize,
}

/// What a snapshot keeps of a [`RandomState`]: numpy's own `(key, pos)`.
#[derive(Serialize, Deserialize)]
struct Saved {
    key: Vec<u32>,
    pos: usize,
}

impl From<Saved> for RandomState {
    fn from(s: Saved) -> Self {
        // A key of the wrong length stays invalid (no words drawn): `is_valid` refuses it.
        let out = if s.key.len() == N {
            tempered(&s.key)
        } else {
            Vec::new()
        };
        Self {
            key: s.key,
            out,
            pos: s.pos,
        }
    }
}

impl From<RandomState> for Saved {
    fn from(r: RandomState) -> Self {
        Self {
            key: r.key,
            pos: r.pos,
        }
    }
}

impl std::fmt::Debug for RandomState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RandomState")
            .field("pos", &self.pos)
            .finish_non_exhaustive()
    }
}

/// MT19937's tempering of one word.
#[inline]
fn temper(mut y: u32) -> u32 {
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c_5680;
    y ^= (y << 15) & 0xefc6_0000;
    y ^ (y >> 18)
}

/// Every word of `key` tempered.
fn tempered(key: &[u32]) -> Vec<u32> {
    key.iter().map(|&y| temper(y)).collect()
}

impl RandomState {
    /// `np.random.RandomState(seed)` for an integer seed (numpy's `mt19937_seed`, Matsumoto and
    /// Nishimura's `init_genrand`).
    pub fn new(seed: u32) -> Self {
        let mut key = vec![0u32; N];
        let mut s = seed;
        for (i, k) in key.iter_mut().enumerate() {
            *k = s;
            s = 1_812_433_253u32
                .wrapping_mul(s ^ (s >> 30))
                .wrapping_add(i as u32 + 1);
        }
        let out = tempered(&key);
        Self { key, out, pos: N }
    }

    /// Whether a deserialized state is one MT19937 can step (624 words, position in range).
    pub(crate) fn is_valid(&self) -> bool {
        self.key.len() == N && self.out.len() == N && self.pos <= N
    }

    #[cold]
    #[inline(never)]
    fn generate(&mut self) {
        let k = &mut self.key;
        let twist = |a: u32, b: u32, c: u32| {
            let y = (a & UPPER_MASK) | (b & LOWER_MASK);
            c ^ (y >> 1) ^ if y & 1 == 1 { MATRIX_A } else { 0 }
        };
        for i in 0..N - M {
            k[i] = twist(k[i], k[i + 1], k[i + M]);
        }
        for i in N - M..N - 1 {
            k[i] = twist(k[i], k[i + 1], k[i + M - N]);
        }
        k[N - 1] = twist(k[N - 1], k[0], k[M - 1]);
        for (o, &y) in self.out.iter_mut().zip(k.iter()) {
            *o = temper(y);
        }
        self.pos = 0;
    }

    /// The next raw 32-bit word (numpy's `mt19937_next32`).
    #[inline]
    pub fn next_u32(&mut self) -> u32 {
        if self.pos >= N {
            self.generate();
        }
        let y = self.out[self.pos];
        self.pos += 1;
        y
    }

    /// `rand()`: a double in [0, 1) from two words, 53 bits.
    #[inline]
    pub fn rand(&mut self) -> f64 {
        let a = self.next_u32() >> 5;
        let b = self.next_u32() >> 6;
        (f64::from(a) * 67_108_864.0 + f64::from(b)) / 9_007_199_254_740_992.0
    }

    /// `randint(low, high)` (high exclusive, `low < high`, a range below 2³²): numpy's legacy
    /// masked rejection. A range of one value returns `low` without drawing, as numpy does.
    pub fn randint(&mut self, low: i64, high: i64) -> i64 {
        debug_assert!(low < high && high - low <= 1 << 32);
        let rng = (high - low - 1) as u64;
        if rng == 0 {
            return low;
        }
        let val = if rng == 0xffff_ffff {
            self.next_u32()
        } else {
            let mut mask = rng;
            mask |= mask >> 1;
            mask |= mask >> 2;
            mask |= mask >> 4;
            mask |= mask >> 8;
            mask |= mask >> 16;
            let mask = mask as u32;
            loop {
                let v = self.next_u32() & mask;
                if u64::from(v) <= rng {
                    break v;
                }
            }
        };
        low + i64::from(val)
    }
}
