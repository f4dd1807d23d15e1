//! A fixed-capacity ring buffer of transitions and uniform minibatch sampling.
//!
//! Transitions are stored struct-of-arrays in contiguous memory: one array of observations
//! (`capacity × obs_dim`, one transition after another), one of next observations, and one each
//! of actions, rewards and terminated flags. Once full, a push overwrites the oldest transition.
//!
//! Observations that are all zeros and ones (MinAtar's grids) can be stored as bits
//! ([`Storage::Bits`]): eight values to a byte, 32 times less than `f32`, so a 5M-transition
//! buffer of 1 000-value grids holds 1.2 GiB instead of 40 GiB. A push then refuses any other
//! value, and sampling unpacks the bits into the batch's `f32`s, so a batch is the same either
//! way.
//!
//! Sampling writes into a caller-owned [`Batch`] whose buffers are reused: after the first call
//! with a given batch size, sampling allocates nothing. A batch is laid out so that its
//! observations form an `obs_dim × batch_size` column-major matrix (one column per sample), the
//! layout the networks consume directly.
//!
//! ```
//! use replay::{Batch, ReplayBuffer, Sampling};
//! use rand::SeedableRng;
//!
//! let mut buffer = ReplayBuffer::new(1000, 4)?;
//! for i in 0..100 {
//!     let s = [i as f32; 4];
//!     buffer.push(&s, i % 2, 1.0, &s, false)?;
//! }
//! let mut batch = Batch::default();
//! let mut rng = rand::rngs::StdRng::seed_from_u64(0);
//! buffer.sample_into(&mut rng, 32, Sampling::WithoutReplacement, &mut batch)?;
//! assert_eq!(batch.len(), 32);
//! # Ok::<(), replay::Error>(())
//! ```

use rand::Rng;

/// How indices of one minibatch are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum Sampling {
    /// No transition appears twice in one batch (Python's `random.sample`, as in the FF-DQN
    /// author's code). Needs at least `batch_size` transitions in the buffer.
    #[default]
    WithoutReplacement,
    /// Independent uniform draws (as Stable-Baselines3 and CleanRL sample).
    WithReplacement,
}

/// How observations are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Storage {
    /// As `f32` values.
    #[default]
    F32,
    /// As bits, for observations whose every value is 0 or 1.
    Bits,
}

impl Storage {
    /// Bits for observations that are all zeros and ones, `f32` otherwise.
    pub fn for_observations(binary: bool) -> Self {
        if binary { Storage::Bits } else { Storage::F32 }
    }
}

/// Stored observations, `capacity` of them one after another.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
enum Store {
    /// `obs_dim` values each.
    F32(Vec<f32>),
    /// `obs_dim.div_ceil(8)` bytes each, value `i` in bit `i % 8` of byte `i / 8`.
    Bits(Vec<u8>),
}

impl Store {
    fn new(storage: Storage, capacity: usize, obs_dim: usize) -> Self {
        match storage {
            Storage::F32 => Store::F32(vec![0.0; capacity * obs_dim]),
            Storage::Bits => Store::Bits(vec![0; capacity * obs_dim.div_ceil(8)]),
        }
    }

    fn storage(&self) -> Storage {
        match self {
            Store::F32(_) => Storage::F32,
            Store::Bits(_) => Storage::Bits,
        }
    }

    /// Length a store of `capacity` observations of width `obs_dim` has.
    #[cfg(feature = "serde")]
    fn expected_len(&self, capacity: usize, obs_dim: usize) -> Option<usize> {
        match self {
            Store::F32(_) => capacity.checked_mul(obs_dim),
            Store::Bits(_) => capacity.checked_mul(obs_dim.div_ceil(8)),
        }
    }

    #[cfg(feature = "serde")]
    fn len(&self) -> usize {
        match self {
            Store::F32(v) => v.len(),
            Store::Bits(v) => v.len(),
        }
    }

    /// Writes `obs` into slot `i`; `Bits` has been checked to hold only zeros and ones.
    fn write(&mut self, i: usize, obs: &[f32]) {
        let d = obs.len();
        match self {
            Store::F32(v) => v[i * d..(i + 1) * d].copy_from_slice(obs),
            Store::Bits(v) => {
                let bytes = d.div_ceil(8);
                let row = &mut v[i * bytes..(i + 1) * bytes];
                for (byte, chunk) in row.iter_mut().zip(obs.chunks(8)) {
                    *byte = chunk
                        .iter()
                        .enumerate()
                        .fold(0u8, |acc, (k, &x)| acc | (u8::from(x != 0.0) << k));
                }
            }
        }
    }

    fn slot(&self, i: usize, obs_dim: usize) -> ObsRef<'_> {
        match self {
            Store::F32(v) => ObsRef::F32(&v[i * obs_dim..(i + 1) * obs_dim]),
            Store::Bits(v) => {
                let bytes = obs_dim.div_ceil(8);
                ObsRef::Bits {
                    bytes: &v[i * bytes..(i + 1) * bytes],
                    len: obs_dim,
                }
            }
        }
    }
}

/// One stored observation, borrowed from the buffer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ObsRef<'a> {
    /// Kept as `f32`s.
    F32(&'a [f32]),
    /// Kept as `len` bits.
    Bits {
        /// The packed bits, lowest first.
        bytes: &'a [u8],
        /// Number of values.
        len: usize,
    },
}

impl ObsRef<'_> {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            ObsRef::F32(v) => v.len(),
            ObsRef::Bits { len, .. } => *len,
        }
    }

    /// True for an observation of no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes the values into `out` (of [`ObsRef::len`] values).
    pub fn write_to(&self, out: &mut [f32]) {
        match self {
            ObsRef::F32(v) => out.copy_from_slice(v),
            ObsRef::Bits { bytes, .. } => {
                for (chunk, &byte) in out.chunks_mut(8).zip(bytes.iter()) {
                    for (k, o) in chunk.iter_mut().enumerate() {
                        // A mask per lane and a compare: vectorises without variable shifts.
                        *o = if byte & (1u8 << k) != 0 { 1.0 } else { 0.0 };
                    }
                }
            }
        }
    }

    /// The values.
    pub fn to_vec(&self) -> Vec<f32> {
        let mut v = vec![0.0; self.len()];
        self.write_to(&mut v);
        v
    }
}

/// What can go wrong with the buffer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A buffer that can hold nothing.
    #[error("replay capacity is 0: it must hold at least one transition")]
    ZeroCapacity,
    /// Observations of width zero.
    #[error("observation width is 0: it must be at least 1")]
    ZeroObsDim,
    /// A transition whose observation has the wrong width.
    #[error("{field} has {got} values but this buffer stores observations of width {expected}")]
    WrongWidth {
        /// `obs` or `next_obs`.
        field: &'static str,
        /// Width the buffer was made for.
        expected: usize,
        /// Width given.
        got: usize,
    },
    /// A value other than 0 or 1 pushed into a buffer that stores bits.
    #[error(
        "{field}[{index}] is {value}, but this buffer stores observations as bits (0 or 1 only): store them as f32"
    )]
    NotBinary {
        /// `obs` or `next_obs`.
        field: &'static str,
        /// Where.
        index: usize,
        /// The value.
        value: f32,
    },
    /// Sampling before anything was pushed.
    #[error("cannot sample from an empty replay buffer: push transitions first")]
    Empty,
    /// A batch of size zero.
    #[error("batch size is 0: it must be at least 1")]
    ZeroBatch,
    /// Sampling without replacement needs at least as many transitions as the batch.
    #[error(
        "cannot draw {batch_size} distinct transitions from a buffer holding {len}: \
         wait until the buffer holds at least the batch size, or sample with replacement"
    )]
    NotEnough {
        /// Requested batch size.
        batch_size: usize,
        /// Transitions held.
        len: usize,
    },
}

/// One stored transition, borrowed from the buffer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TransitionRef<'a> {
    /// Observation the action was taken in.
    pub obs: ObsRef<'a>,
    /// Action taken.
    pub action: u32,
    /// Reward received.
    pub reward: f32,
    /// Observation after the action.
    pub next_obs: ObsRef<'a>,
    /// Whether `next_obs` is terminal.
    pub terminated: bool,
}

/// A minibatch, owned by the caller and refilled in place by [`ReplayBuffer::sample_into`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    /// Observations, `len × obs_dim`, sample after sample.
    pub obs: Vec<f32>,
    /// Actions taken.
    pub actions: Vec<u32>,
    /// Rewards received.
    pub rewards: Vec<f32>,
    /// Next observations, `len × obs_dim`.
    pub next_obs: Vec<f32>,
    /// Whether the next state is terminal (a truncated episode is *not* terminated).
    pub terminated: Vec<bool>,
    /// Buffer slots the samples came from.
    pub indices: Vec<usize>,
    /// One bit per buffer slot, used to reject repeats without allocating.
    taken: Vec<u64>,
}

impl Batch {
    /// Number of samples in the batch.
    pub fn len(&self) -> usize {
        self.actions.len()
    }

    /// True when the batch holds no samples.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }
}

/// The ring buffer.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(try_from = "ReplayParts"))]
pub struct ReplayBuffer {
    capacity: usize,
    obs_dim: usize,
    len: usize,
    /// Slot the next push writes to.
    head: usize,
    obs: Store,
    next_obs: Store,
    actions: Vec<u32>,
    rewards: Vec<f32>,
    terminated: Vec<bool>,
}

/// A decoded buffer before its structure is checked: a crafted checkpoint (a valid checksum
/// over an out-of-range `head`, or arrays of the wrong length) is refused with a message
/// instead of panicking at the first push or sample.
#[cfg(feature = "serde")]
#[derive(serde::Deserialize)]
struct ReplayParts {
    capacity: usize,
    obs_dim: usize,
    len: usize,
    head: usize,
    obs: Store,
    next_obs: Store,
    actions: Vec<u32>,
    rewards: Vec<f32>,
    terminated: Vec<bool>,
}

#[cfg(feature = "serde")]
impl TryFrom<ReplayParts> for ReplayBuffer {
    type Error = String;

    fn try_from(p: ReplayParts) -> Result<Self, String> {
        let lengths_ok = p.obs.storage() == p.next_obs.storage()
            && p.obs.expected_len(p.capacity, p.obs_dim) == Some(p.obs.len())
            && p.next_obs.expected_len(p.capacity, p.obs_dim) == Some(p.next_obs.len())
            && p.actions.len() == p.capacity
            && p.rewards.len() == p.capacity
            && p.terminated.len() == p.capacity;
        if p.capacity == 0 || p.obs_dim == 0 || !lengths_ok {
            return Err(format!(
                "replay buffer of capacity {} and observation width {} with arrays of {}, {}, {}, {} and {} values does not hold together",
                p.capacity,
                p.obs_dim,
                p.obs.len(),
                p.next_obs.len(),
                p.actions.len(),
                p.rewards.len(),
                p.terminated.len()
            ));
        }
        if p.len > p.capacity || p.head >= p.capacity {
            return Err(format!(
                "replay buffer of capacity {} says it holds {} with its next slot at {}",
                p.capacity, p.len, p.head
            ));
        }
        Ok(Self {
            capacity: p.capacity,
            obs_dim: p.obs_dim,
            len: p.len,
            head: p.head,
            obs: p.obs,
            next_obs: p.next_obs,
            actions: p.actions,
            rewards: p.rewards,
            terminated: p.terminated,
        })
    }
}

impl ReplayBuffer {
    /// A buffer for `capacity` transitions whose observations have `obs_dim` values, kept as
    /// `f32`. All memory is reserved here; pushes never allocate.
    pub fn new(capacity: usize, obs_dim: usize) -> Result<Self, Error> {
        Self::with_storage(capacity, obs_dim, Storage::F32)
    }

    /// A buffer whose observations are kept as `storage` says.
    ///
    /// ```
    /// use replay::{ReplayBuffer, Storage};
    /// let mut bits = ReplayBuffer::with_storage(10, 3, Storage::Bits)?;
    /// bits.push(&[1.0, 0.0, 1.0], 0, 1.0, &[0.0, 1.0, 1.0], false)?;
    /// assert_eq!(bits.get(0).expect("held").next_obs.to_vec(), [0.0, 1.0, 1.0]);
    /// assert!(bits.push(&[0.5, 0.0, 1.0], 0, 1.0, &[0.0; 3], false).is_err());
    /// # Ok::<(), replay::Error>(())
    /// ```
    pub fn with_storage(capacity: usize, obs_dim: usize, storage: Storage) -> Result<Self, Error> {
        if capacity == 0 {
            return Err(Error::ZeroCapacity);
        }
        if obs_dim == 0 {
            return Err(Error::ZeroObsDim);
        }
        Ok(Self {
            capacity,
            obs_dim,
            len: 0,
            head: 0,
            obs: Store::new(storage, capacity, obs_dim),
            next_obs: Store::new(storage, capacity, obs_dim),
            actions: vec![0; capacity],
            rewards: vec![0.0; capacity],
            terminated: vec![false; capacity],
        })
    }

    /// Transitions held: `min(pushes, capacity)`.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True before the first push.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Maximum number of transitions held.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Width of an observation.
    pub fn obs_dim(&self) -> usize {
        self.obs_dim
    }

    /// How observations are kept.
    pub fn storage(&self) -> Storage {
        self.obs.storage()
    }

    /// Bytes the buffer's arrays hold.
    pub fn bytes(&self) -> usize {
        // The buffer was allocated, so its size fits.
        Self::bytes_for(self.capacity, self.obs_dim, self.storage())
            .map_or(usize::MAX, |b| b as usize)
    }

    /// Bytes the arrays of a buffer of `capacity` transitions of width `obs_dim` kept as
    /// `storage` hold: two observations, an action, a reward and a flag per transition (`None`
    /// if that overflows).
    pub fn bytes_for(capacity: usize, obs_dim: usize, storage: Storage) -> Option<u64> {
        let d = obs_dim as u64;
        let obs = match storage {
            Storage::F32 => d.checked_mul(4)?,
            Storage::Bits => d.div_ceil(8),
        };
        obs.checked_mul(2)?
            .checked_add(4 + 4 + 1)?
            .checked_mul(capacity as u64)
    }

    /// Stores a transition, overwriting the oldest once the buffer is full.
    pub fn push(
        &mut self,
        obs: &[f32],
        action: u32,
        reward: f32,
        next_obs: &[f32],
        terminated: bool,
    ) -> Result<(), Error> {
        for (field, got) in [("obs", obs.len()), ("next_obs", next_obs.len())] {
            if got != self.obs_dim {
                return Err(Error::WrongWidth {
                    field,
                    expected: self.obs_dim,
                    got,
                });
            }
        }
        if self.storage() == Storage::Bits {
            for (field, values) in [("obs", obs), ("next_obs", next_obs)] {
                if let Some((index, &value)) = values
                    .iter()
                    .enumerate()
                    .find(|&(_, &v)| v != 0.0 && v != 1.0)
                {
                    return Err(Error::NotBinary {
                        field,
                        index,
                        value,
                    });
                }
            }
        }
        let i = self.head;
        self.obs.write(i, obs);
        self.next_obs.write(i, next_obs);
        self.actions[i] = action;
        self.rewards[i] = reward;
        self.terminated[i] = terminated;
        self.head = (i + 1) % self.capacity;
        self.len = (self.len + 1).min(self.capacity);
        Ok(())
    }

    /// The transition in slot `slot`, or `None` for a slot not yet written.
    pub fn get(&self, slot: usize) -> Option<TransitionRef<'_>> {
        (slot < self.len).then(|| TransitionRef {
            obs: self.obs.slot(slot, self.obs_dim),
            action: self.actions[slot],
            reward: self.rewards[slot],
            next_obs: self.next_obs.slot(slot, self.obs_dim),
            terminated: self.terminated[slot],
        })
    }

    /// Slot of the `age`-th most recent transition (0 is the newest), or `None` past `len`.
    pub fn slot_of_recent(&self, age: usize) -> Option<usize> {
        (age < self.len).then(|| (self.head + self.capacity - 1 - age) % self.capacity)
    }

    /// Draws `batch_size` transitions uniformly into `batch`, reusing its memory.
    pub fn sample_into(
        &self,
        rng: &mut impl Rng,
        batch_size: usize,
        sampling: Sampling,
        batch: &mut Batch,
    ) -> Result<(), Error> {
        if batch_size == 0 {
            return Err(Error::ZeroBatch);
        }
        if self.len == 0 {
            return Err(Error::Empty);
        }
        batch.indices.clear();
        match sampling {
            Sampling::WithReplacement => {
                for _ in 0..batch_size {
                    batch.indices.push(rng.gen_range(0..self.len));
                }
            }
            Sampling::WithoutReplacement => {
                if batch_size > self.len {
                    return Err(Error::NotEnough {
                        batch_size,
                        len: self.len,
                    });
                }
                self.draw_distinct(rng, batch_size, batch);
            }
        }
        self.gather(batch);
        Ok(())
    }

    /// Rejection sampling against a bitset: exact uniform sampling without replacement, in
    /// expected O(batch) draws while the batch is a small fraction of the buffer, and no
    /// allocation once the bitset has grown to the buffer's capacity.
    fn draw_distinct(&self, rng: &mut impl Rng, batch_size: usize, batch: &mut Batch) {
        let words = self.capacity.div_ceil(64);
        if batch.taken.len() < words {
            batch.taken.resize(words, 0);
        }
        while batch.indices.len() < batch_size {
            let i = rng.gen_range(0..self.len);
            let (word, bit) = (i / 64, 1u64 << (i % 64));
            if batch.taken[word] & bit == 0 {
                batch.taken[word] |= bit;
                batch.indices.push(i);
            }
        }
        for &i in &batch.indices {
            batch.taken[i / 64] &= !(1u64 << (i % 64));
        }
    }

    fn gather(&self, batch: &mut Batch) {
        let d = self.obs_dim;
        let n = batch.indices.len();
        batch.obs.resize(n * d, 0.0);
        batch.next_obs.resize(n * d, 0.0);
        batch.actions.resize(n, 0);
        batch.rewards.resize(n, 0.0);
        batch.terminated.resize(n, false);
        for (k, &i) in batch.indices.iter().enumerate() {
            self.obs
                .slot(i, d)
                .write_to(&mut batch.obs[k * d..(k + 1) * d]);
            self.next_obs
                .slot(i, d)
                .write_to(&mut batch.next_obs[k * d..(k + 1) * d]);
            batch.actions[k] = self.actions[i];
            batch.rewards[k] = self.rewards[i];
            batch.terminated[k] = self.terminated[i];
        }
    }
}
