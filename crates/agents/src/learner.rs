//! The trait the training loop drives: a learning rule acts, learns from a minibatch and moves
//! its target network. A leaf: the families implement it, and a rule of your own can too.

use crate::stats::FfEpochStats;
use crate::{Error, Result};
use dqn_head::SyncAction;
use rand_chacha::ChaCha8Rng;
use replay::Batch;

/// What the training loop asks of a learning rule: act, learn from a minibatch, move a target
/// network. A rule of your own implements this, in its own crate, and trains through
/// [`crate::train()`] with every protocol of the loop (`docs/EXTENDING.md`; `tests/extending.rs`
/// adds one). [`crate::Agent`] adds what this project's files need of its own agents.
pub trait Learner {
    /// The greedy action for one observation.
    fn act(&mut self, obs: &[f32]) -> Result<usize>;
    /// One learning step on a minibatch; returns the TD loss before the update.
    fn update(&mut self, batch: &Batch, rng: &mut ChaCha8Rng) -> Result<f64>;
    /// Moves the target network towards the online one as `action` says (the loop asks
    /// `TargetSync::action` when, once per environment step).
    fn sync_target(&mut self, action: SyncAction) -> Result<()>;
    /// The first non-finite parameter, as `(layer, value)`: the loop checks after every update
    /// and stops a diverged run there.
    fn first_non_finite(&self) -> Option<(usize, f32)>;
    /// Statistics gathered since the last call (FF layers); none by default.
    fn take_epoch_stats(&mut self) -> FfEpochStats {
        FfEpochStats::default()
    }
    /// A state to return to if the next update diverges (`OnDivergence::SkipBatch`), or `None`
    /// (the default) for a learner that cannot return: the loop then refuses `SkipBatch`.
    fn undo_point(&self) -> Option<Box<dyn std::any::Any + Send>> {
        None
    }
    /// Returns to a state [`Learner::undo_point`] gave.
    fn undo(&mut self, point: Box<dyn std::any::Any + Send>) -> Result<()> {
        drop(point);
        Err(Error::Mismatch(
            "this learner keeps no undo point: train it with OnDivergence::Stop".into(),
        ))
    }
}

/// [`Learner::undo_point`] and [`Learner::undo`] of a learner whose whole state is one value:
/// `$state` (a method returning it), `$restore` (a method taking it back), `$ty` its type.
macro_rules! undo_by_state {
    ($ty:ty, $state:ident, $restore:ident) => {
        fn undo_point(&self) -> Option<Box<dyn std::any::Any + Send>> {
            Some(Box::new(self.$state()))
        }
        fn undo(&mut self, point: Box<dyn std::any::Any + Send>) -> $crate::Result<()> {
            match point.downcast::<$ty>() {
                Ok(s) => self.$restore(*s),
                Err(_) => Err($crate::Error::Mismatch(
                    "an undo point of another learner".into(),
                )),
            }
        }
    };
}
pub(crate) use undo_by_state;
