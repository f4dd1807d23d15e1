//! BP-DQN, FF-DQN and the layer-local agents (local-td, goodness-q) on any task of `envs`
//! (CartPole-v1, Acrobot-v1, MountainCar-v0, MinAtar's five games): configuration, the agents,
//! one training loop, metrics and the files a run writes.
//!
//! A run is `(config, agent kind, seed)`. [`config::Config`] validates a TOML file;
//! [`agent::build`] makes the agent; [`train::train`] runs the epochs (ε-greedy training
//! episodes or a budget of environment steps, `gradient-steps` minibatch updates every
//! `train-frequency` steps once the buffer holds enough, target syncs, a greedy evaluation after
//! each epoch) and the final greedy evaluation;
//! [`run_dir::RunDir`] owns the files a run writes and reads them back.
//!
//! Every random draw comes from the run's seed through [`rng::stream`], so one seed gives
//! bit-identical metrics and weights on every run.

pub mod agent;
pub mod checkpoint;
pub mod config;
#[cfg(test)]
mod decode_fuzz;
mod dense_file;
mod error;
pub mod fs;
pub mod io;
pub mod kind;
pub mod layers;
pub mod learner;
pub mod local;
pub mod policy;
mod provenance;
pub mod q;
pub mod rng;
pub mod run;
pub mod run_dir;
pub mod stats;
pub mod train;

pub use agent::{Agent, AgentKind, AgentSnapshot, Family, Learner, LocalRule, QRule, build};
pub use config::{Config, ConfigError, MemoryEstimate};
pub use error::{Error, ErrorKind, Result, Tensor};
pub use local::{LocalAgent, LocalState};
pub use policy::Policy;
pub use provenance::Provenance;
pub use q::QNetwork;
pub use q::{BpAgent, FfAgent, FfState, QState};
pub use run::Trained;
pub use run_dir::{RunDir, RunInfo, RunLock, Summary};
pub use train::{
    EpochMetrics, LoopState, OnDivergence, RunResult, evaluate, evaluate_network, train,
};
