//! Checkpoints: everything a run needs to go on, so that a resumed run is bit-identical to one
//! never interrupted.
//!
//! Layout (little-endian):
//!
//! ```text
//! magic "FFDQNCKP" | format version u32 | config hash u64 | payload length u64 |
//! payload checksum u64 (FNV-1a) | payload (postcard)
//! ```
//!
//! The payload holds the seed, the agent's [`AgentSnapshot`] (both networks, every optimizer's
//! moments and step count, schedules, the epoch's FF statistics so far) and the loop's state
//! (replay buffer, every random generator's position, step/update/epoch counters, metrics so
//! far, the epoch in progress and, when a run stopped inside an episode, the environment's
//! state and step count: the observation follows from them). The header is checked before
//! anything is decoded: a file of another format version, written under another config,
//! truncated or corrupted gets a clear error and is never half-read; after it, every count
//! and the episode are checked against what a run of the config can reach.

use crate::agent::{AgentKind, AgentSnapshot};
use crate::config::{Budget, Config};
use crate::fs::write_atomic;
use crate::train::{EpochMetrics, EpochProgress, LoopState};
use crate::{Error, Result};
use rand_chacha::ChaCha8Rng;
use replay::ReplayBuffer;
use serde::{Deserialize, Serialize};
use std::path::Path;

const MAGIC: &[u8; 8] = b"FFDQNCKP";
/// The checkpoint format this build writes and reads.
pub const FORMAT_VERSION: u32 = 7;
const HEADER_LEN: usize = 8 + 4 + 8 + 8 + 8;

/// FNV-1a, 64 bits: a stable hash (unlike `std`'s) for configs and payloads.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The hash that ties a checkpoint to the config it was written under.
pub fn config_hash(cfg: &Config) -> u64 {
    fnv1a(cfg.to_toml().as_bytes())
}

/// The loop's state as it is read back. [`LoopSnapshotRef`] writes the same fields, in the same
/// order, by reference: postcard encodes `&T` as `T` and a slice as a `Vec`.
#[derive(Deserialize)]
#[cfg_attr(test, derive(Serialize))]
struct LoopSnapshot {
    buffer: ReplayBuffer,
    env_rng: ChaCha8Rng,
    explore_rng: ChaCha8Rng,
    replay_rng: ChaCha8Rng,
    update_rng: ChaCha8Rng,
    env_steps: u64,
    updates: u64,
    epochs_done: u32,
    history: Vec<EpochMetrics>,
    prior_seconds: f64,
    skipped_batches: u64,
    epoch: EpochProgress,
    episode: Option<envs::Episode>,
}

/// The loop's state as it is written, borrowed: saving copies nothing (the replay buffer alone
/// is 400 KB at the paper's sizes).
#[derive(Serialize)]
struct LoopSnapshotRef<'a> {
    buffer: &'a ReplayBuffer,
    env_rng: &'a ChaCha8Rng,
    explore_rng: &'a ChaCha8Rng,
    replay_rng: &'a ChaCha8Rng,
    update_rng: &'a ChaCha8Rng,
    env_steps: u64,
    updates: u64,
    epochs_done: u32,
    history: &'a [EpochMetrics],
    prior_seconds: f64,
    skipped_batches: u64,
    epoch: &'a EpochProgress,
    episode: Option<envs::Episode>,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(Serialize))]
pub(crate) struct Payload {
    seed: u64,
    agent: AgentSnapshot,
    state: LoopSnapshot,
}

#[derive(Serialize)]
struct PayloadRef<'a> {
    seed: u64,
    agent: &'a AgentSnapshot,
    state: LoopSnapshotRef<'a>,
}

/// A checkpoint read back.
pub struct Resumed {
    /// The run's seed.
    pub seed: u64,
    /// Which agent.
    pub kind: AgentKind,
    /// The agent's state, for [`crate::Agent::restore`].
    pub agent: AgentSnapshot,
    /// The loop's state.
    pub state: LoopState,
}

/// Writes a checkpoint atomically. `wall_seconds` is the run's time so far.
pub fn save(
    path: &Path,
    cfg: &Config,
    seed: u64,
    agent: AgentSnapshot,
    st: &LoopState,
    wall_seconds: f64,
) -> Result<()> {
    let payload = PayloadRef {
        seed,
        agent: &agent,
        state: LoopSnapshotRef {
            buffer: &st.buffer,
            env_rng: &st.env_rng,
            explore_rng: &st.explore_rng,
            replay_rng: &st.replay_rng,
            update_rng: &st.update_rng,
            env_steps: st.env_steps,
            updates: st.updates,
            epochs_done: st.epochs_done,
            history: &st.history,
            prior_seconds: wall_seconds,
            skipped_batches: st.skipped_batches,
            epoch: &st.epoch,
            episode: st.env.episode(),
        },
    };
    let bytes = encode(cfg, &payload).map_err(|e| Error::BadFile {
        path: path.into(),
        problem: format!("cannot encode the checkpoint: {e}"),
    })?;
    write_atomic(path, &bytes)
}

/// A checkpoint's bytes: the header, then the payload.
pub(crate) fn encode(cfg: &Config, payload: &impl Serialize) -> postcard::Result<Vec<u8>> {
    let body = postcard::to_allocvec(payload)?;
    let mut bytes = Vec::with_capacity(HEADER_LEN + body.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    bytes.extend_from_slice(&config_hash(cfg).to_le_bytes());
    bytes.extend_from_slice(&(body.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&fnv1a(&body).to_le_bytes());
    bytes.extend_from_slice(&body);
    Ok(bytes)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// Decodes checkpoint bytes written under `cfg`; `path` names the file in errors.
pub fn decode(bytes: &[u8], cfg: &Config, path: &Path) -> Result<Resumed> {
    let bad = |problem: String| Error::BadFile {
        path: path.into(),
        problem,
    };
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(bad("not an ffdqn checkpoint (wrong magic bytes)".into()));
    }
    if bytes.len() < HEADER_LEN {
        return Err(bad(format!(
            "truncated: {} bytes, shorter than the {HEADER_LEN}-byte header",
            bytes.len()
        )));
    }
    let version = u32_at(bytes, 8);
    if version != FORMAT_VERSION {
        return Err(bad(format!(
            "checkpoint format version {version}; this build reads version {FORMAT_VERSION}: resume it with the ffdqn that wrote it"
        )));
    }
    let (hash, expected_hash) = (u64_at(bytes, 12), config_hash(cfg));
    if hash != expected_hash {
        return Err(bad(format!(
            "written under another config (hash {hash:016x}, this config {expected_hash:016x}): resume with the config.toml the run started with"
        )));
    }
    let len = u64_at(bytes, 20);
    let body = &bytes[HEADER_LEN..];
    if body.len() as u64 != len {
        return Err(bad(format!(
            "truncated or padded: the header announces {len} payload bytes, the file holds {}",
            body.len()
        )));
    }
    if fnv1a(body) != u64_at(bytes, 28) {
        return Err(bad("corrupted: the payload checksum does not match".into()));
    }
    let p: Payload =
        postcard::from_bytes(body).map_err(|e| bad(format!("corrupted payload: {e}")))?;
    let s = p.state;
    let obs_dim = cfg.env().id.obs_dim();
    if s.buffer.capacity() != cfg.train().buffer_size || s.buffer.obs_dim() != obs_dim {
        return Err(bad(format!(
            "replay buffer holds {} × {} but the config asks for {} × {obs_dim} ({})",
            s.buffer.capacity(),
            s.buffer.obs_dim(),
            cfg.train().buffer_size,
            cfg.env().id
        )));
    }
    // The counters as a run under `cfg` can have left them: the epochs it has, one line of
    // history per epoch, an epoch in progress not yet over, no more steps than the budget
    // allows (at most a full episode's per training episode begun, with an epochs budget),
    // at most `gradient_steps` updates (or skipped batches, or losses) per step.
    let t = cfg.train();
    let max_steps = match t.budget {
        Budget::Episodes {
            episodes_per_epoch, ..
        } => u64::from(s.epochs_done)
            .checked_mul(u64::from(episodes_per_epoch))
            .and_then(|n| {
                n.checked_add(s.epoch.returns.len() as u64 + u64::from(s.episode.is_some()))
            })
            .and_then(|n| n.checked_mul(u64::from(cfg.env().max_episode_steps))),
        Budget::Steps { end, .. } => Some(end),
    };
    let max_updates = s.env_steps.saturating_mul(t.gradient_steps);
    if s.epochs_done > t.epochs()
        || s.history.len() != s.epochs_done as usize
        || (s.epochs_done < t.epochs()
            && t.epoch_over(s.epochs_done, s.epoch.returns.len(), s.env_steps))
        || max_steps.is_none_or(|max| s.env_steps > max)
        || s.updates > max_updates
        || s.skipped_batches > max_updates
        || s.epoch.loss_n > max_updates
    {
        return Err(bad(format!(
            "counters no run of this config can reach: epoch {} of {} with {} lines of history and {} episodes of the next, {} steps, {} updates, {} skipped batches",
            s.epochs_done,
            t.epochs(),
            s.history.len(),
            s.epoch.returns.len(),
            s.env_steps,
            s.updates,
            s.skipped_batches
        )));
    }
    let mut env = cfg.env().make()?;
    let mut obs = vec![0.0; obs_dim];
    if let Some(episode) = &s.episode {
        env.resume(episode, &mut obs)
            .map_err(|e| bad(format!("the episode in progress cannot continue: {e}")))?;
    }

    Ok(Resumed {
        seed: p.seed,
        kind: p.agent.kind(),
        agent: p.agent,
        state: LoopState {
            env,
            obs,
            next_obs: vec![0.0; obs_dim],
            buffer: s.buffer,
            env_rng: s.env_rng,
            explore_rng: s.explore_rng,
            replay_rng: s.replay_rng,
            update_rng: s.update_rng,
            env_steps: s.env_steps,
            updates: s.updates,
            epochs_done: s.epochs_done,
            history: s.history,
            prior_seconds: s.prior_seconds,
            skipped_batches: s.skipped_batches,
            on_divergence: crate::train::OnDivergence::default(),
            epoch: s.epoch,
        },
    })
}

/// Reads a checkpoint written under `cfg`.
pub fn load(path: &Path, cfg: &Config) -> Result<Resumed> {
    let bytes = crate::fs::read_regular(path, u64::MAX).map_err(|source| Error::Read {
        path: path.into(),
        source,
    })?;
    decode(&bytes, cfg, path)
}
