//! Training a run directory: what `ffdqn train` and an experiment's runner do with a
//! [`RunDir`], which owns the files (names, formats, atomic writes) and nothing else.

use crate::rng::{Stream, stream};
use crate::run_dir::{RunDir, Summary};
use crate::train::{EpochMetrics, LoopState, Outcome, train_until};
use crate::{Agent, Provenance, Result, build};

/// What happened after an epoch, for progress reports.
#[derive(Debug, Clone, Copy)]
pub struct EpochEvent<'a> {
    /// The epoch's metrics.
    pub metrics: &'a EpochMetrics,
    /// Epochs in the run.
    pub epochs: u32,
    /// A checkpoint was written after this epoch.
    pub checkpointed: bool,
}

/// How [`train`] ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Trained {
    /// Every epoch and the final evaluation ran.
    Finished(Box<Summary>),
    /// Stopped on request between two steps; a checkpoint of that point is written.
    Stopped {
        /// Epochs finished.
        epochs_done: u32,
        /// Environment steps taken.
        env_steps: u64,
    },
}

/// Trains the run described by `config.toml` and `run.json`, from its checkpoint if it has
/// one: metrics after every epoch, a checkpoint every `checkpoint_every` epochs, then the
/// weights and, last, the summary. `on_epoch` sees each epoch (for progress).
///
/// `stop` is asked before every step: when it says yes, a checkpoint of that point is
/// written (whatever `--checkpoint-every` says; mid-episode, with the environment's state)
/// and training ends there with [`Trained::Stopped`]; training this directory again
/// continues it to a bit-identical result.
pub fn train(
    dir: &RunDir,
    code: &Provenance,
    on_epoch: &mut dyn FnMut(EpochEvent<'_>),
    stop: &dyn Fn() -> bool,
) -> Result<Trained> {
    let cfg = dir.read_config()?;
    let info = dir.read_info()?;
    let (kind, seed) = (info.agent, info.seed);
    let mut agent = build(kind, &cfg, &mut stream(seed, Stream::Init))?;
    let mut st = LoopState::new(&cfg, seed)?;
    if let Some(r) = dir.read_checkpoint(&cfg)? {
        if r.kind != kind || r.seed != seed {
            return Err(dir.foreign_checkpoint(format!(
                "the checkpoint is of {} seed {}, but run.json says {kind} seed {seed}",
                r.kind, r.seed
            )));
        }
        agent.restore(r.agent)?;
        st = r.state;
    }
    st.on_divergence = info.on_divergence;
    let epochs = cfg.train().epochs();
    let n_hidden = cfg.hidden().len();
    let mut save =
        |m: &EpochMetrics, st: &LoopState, agent: &(dyn Agent + Send + 'static)| -> Result<()> {
            dir.write_metrics(&st.history, n_hidden)?;
            let checkpointed = info
                .checkpoint_every
                .is_some_and(|k| m.epoch.is_multiple_of(k))
                && m.epoch < epochs;
            if checkpointed {
                dir.write_checkpoint(&cfg, seed, agent, st, m.wall_seconds)?;
            }
            on_epoch(EpochEvent {
                metrics: m,
                epochs,
                checkpointed,
            });
            Ok(())
        };
    let run = match train_until(agent.as_mut(), &cfg, seed, &mut st, &mut save, stop)? {
        Outcome::Finished(run) => run,
        Outcome::Stopped { wall_seconds } => {
            dir.write_checkpoint(&cfg, seed, agent.as_ref(), &st, wall_seconds)?;
            return Ok(Trained::Stopped {
                epochs_done: st.epochs_done,
                env_steps: st.env_steps,
            });
        }
    };
    let summary = Summary::new(kind, seed, &info.config_source, &run, code);
    dir.finish(kind, cfg.env().id, &agent.policy(), &summary)?;
    Ok(Trained::Finished(Box::new(summary)))
}
