//! Helpers shared by the agent tests.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use replay::{Batch, ReplayBuffer, Sampling};

/// A replay batch of plausible CartPole transitions.
pub fn batch(n: usize, seed: u64) -> Batch {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut buffer = ReplayBuffer::new(4 * n, 4).expect("valid");
    for _ in 0..4 * n {
        let s: [f32; 4] = std::array::from_fn(|_| rng.gen_range(-0.2..0.2));
        let s2: [f32; 4] = std::array::from_fn(|i| s[i] + rng.gen_range(-0.05..0.05));
        buffer
            .push(&s, rng.gen_range(0..2), 1.0, &s2, rng.gen_bool(0.1))
            .expect("width 4");
    }
    let mut b = Batch::default();
    buffer
        .sample_into(&mut rng, n, Sampling::WithoutReplacement, &mut b)
        .expect("enough");
    b
}
