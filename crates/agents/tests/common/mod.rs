//! Helpers shared by the agent tests.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use replay::{Batch, ReplayBuffer, Sampling};

/// A replay batch of plausible CartPole transitions.
#[allow(dead_code)] // each test crate uses its own share of these helpers
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

/// Every preset the project ships: `configs/*.toml` and the protocol folders beside them
/// (`configs/zoo/`, `configs/cleanrl/`); experiment files are not presets.
#[allow(dead_code)] // each test crate uses its own share of these helpers
pub fn presets() -> Vec<std::path::PathBuf> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let mut out = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("configs/") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != "experiments") {
                    dirs.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "toml") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}
