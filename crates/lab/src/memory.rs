//! The memory study: peak heap bytes of one training update of every agent (BP, FF and the
//! layer-local agents), as depth grows.
//!
//! Measured with the counting allocator of this binary, single-threaded, nothing else running:
//! * parameters + optimizer state: bytes that building the agent adds (online and target
//!   networks, optimizer moments);
//! * working memory: the peak above that during the first update (activations, gradients,
//!   scratch, target-network forward, gemm packing space), and what stays held between
//!   updates (all of it: every buffer, the packing space included, is kept for reuse).

use crate::alloc_count;
use crate::error::{Error, Result};
use agents::rng::{Stream, stream};
use agents::{AgentKind, Config, build};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use replay::{Batch, ReplayBuffer, Sampling};
use serde::Serialize;

/// One agent at one depth.
#[derive(Debug, Clone, Serialize)]
pub struct MemRow {
    /// Which agent.
    pub agent: AgentKind,
    /// Hidden layers.
    pub depth: usize,
    /// Their width.
    pub width: usize,
    /// Minibatch size.
    pub batch: usize,
    /// Parameters of the online network, bytes.
    pub param_bytes: usize,
    /// Optimizer state, bytes.
    pub optimizer_bytes: usize,
    /// Measured: what building the agent added (both networks, optimizer state, buffers).
    pub params_and_state_bytes: usize,
    /// Measured: peak above that during the first update.
    pub working_peak_bytes: usize,
    /// Measured: working buffers still held after the update.
    pub working_held_bytes: usize,
}

/// Measures every agent at each depth, from `base`'s settings. Needs [`alloc_count::Counting`]
/// as the process's global allocator; it counts this thread's allocations only, so other threads
/// may run meanwhile.
pub fn study(
    base: &Config,
    depths: &[usize],
    width: usize,
    batch_size: usize,
) -> Result<Vec<MemRow>> {
    if !alloc_count::installed() {
        return Err(Error::Plan {
            path: "memory study".into(),
            problem: "the counting allocator is not this program's global allocator: the memory study needs `#[global_allocator] static A: lab::alloc_count::Counting = lab::alloc_count::Counting;`".into(),
        });
    }
    let agent_err = |e: agents::Error| Error::Agents(e);
    let mut rows = Vec::new();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let replay_err = |e: replay::Error| Error::Agents(e.into());
    let mut buffer = ReplayBuffer::new(4 * batch_size, 4).map_err(replay_err)?;
    for _ in 0..4 * batch_size {
        let s: [f32; 4] = std::array::from_fn(|_| rng.gen_range(-0.2..0.2));
        buffer
            .push(&s, rng.gen_range(0..2), 1.0, &s, rng.gen_bool(0.05))
            .map_err(replay_err)?;
    }
    let mut batch = Batch::default();
    buffer
        .sample_into(
            &mut rng,
            batch_size,
            Sampling::WithoutReplacement,
            &mut batch,
        )
        .map_err(replay_err)?;
    for &depth in depths {
        for kind in AgentKind::ALL {
            // Every FF update includes the FF step.
            let cfg = base
                .with_overrides(&[
                    format!("network.hidden={:?}", vec![width; depth]),
                    format!("train.batch-size={batch_size}"),
                    "ff.update-prob=1.0".to_string(),
                ])
                .map_err(|e| Error::Agents(e.into()))?;
            let mut update_rng = stream(0, Stream::Update);
            // The gemm's packing space is per thread and kept between products: free it, so
            // each measurement includes the packing space its own update needs.
            ff_gemm::release_packing_space::<f32>();
            let before = alloc_count::live();
            let mut agent = build(kind, &cfg, &mut stream(0, Stream::Init)).map_err(agent_err)?;
            let built = alloc_count::reset_peak();
            agent.update(&batch, &mut update_rng).map_err(agent_err)?;
            let peak = alloc_count::peak();
            let after = alloc_count::live();
            rows.push(MemRow {
                agent: kind,
                depth,
                width,
                batch: batch_size,
                param_bytes: agent.param_count() * 4,
                optimizer_bytes: agent.optimizer_state_len() * 4,
                params_and_state_bytes: bytes(built - before)?,
                working_peak_bytes: bytes(peak - built)?,
                working_held_bytes: bytes(after - built)?,
            });
        }
    }
    Ok(rows)
}

/// A measured difference of live bytes on this thread. Negative means the step freed more than
/// it allocated, which no build or update does: say so rather than report a wrapped number.
fn bytes(delta: isize) -> Result<usize> {
    usize::try_from(delta).map_err(|_| Error::Plan {
        path: "memory study".into(),
        problem: format!(
            "a measurement came out negative ({delta} bytes): something on the study's thread freed memory it did not allocate while it measured"
        ),
    })
}
