//! Every random stream of a run comes from its one `u64` seed.
//!
//! Each consumer gets its own ChaCha stream of the same key, so adding draws to one consumer
//! (say, a different exploration schedule) never shifts another's (the replay sampling).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The consumers of randomness in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum Stream {
    /// Network initialisation.
    Init = 0,
    /// Resets of the training environment.
    TrainEnv = 1,
    /// ε-greedy draws and random actions.
    Explore = 2,
    /// Minibatch sampling.
    Replay = 3,
    /// FF-DQN's per-minibatch update draws.
    Update = 4,
    /// The per-epoch evaluation environment (restarted each epoch: the same episodes every
    /// epoch, so epochs are compared on equal terms).
    EpochEval = 5,
    /// The final evaluation environment.
    FinalEval = 6,
}

/// The generator for `stream` of the run seeded with `seed`.
pub fn stream(seed: u64, stream: Stream) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream as u64);
    rng
}
