//! clap parses the libraries' own enums: one spelling each, owned where the type is
//! (`AgentKind::name`, `OnDivergence::name`, `EnvId::name`), listed in `--help`.

use agents::{AgentKind, OnDivergence};
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use envs::EnvId;

/// `--agent`: `bp`, `ff`, `local-td`, `goodness-q`.
pub fn agent() -> impl TypedValueParser<Value = AgentKind> {
    PossibleValuesParser::new(AgentKind::ALL.map(|k| PossibleValue::new(k.name()).help(k.about())))
        .try_map(|s| AgentKind::from_name(&s).ok_or(format!("unknown agent `{s}`")))
}

/// `--on-divergence`: `stop`, `skip-batch`.
pub fn on_divergence() -> impl TypedValueParser<Value = OnDivergence> {
    PossibleValuesParser::new(
        OnDivergence::ALL.map(|d| PossibleValue::new(d.name()).help(d.about())),
    )
    .try_map(|s| {
        OnDivergence::ALL
            .into_iter()
            .find(|d| d.name() == s)
            .ok_or(format!("unknown choice `{s}`"))
    })
}

/// `--env`: a task by its Gymnasium id.
pub fn env() -> impl TypedValueParser<Value = EnvId> {
    PossibleValuesParser::new(EnvId::ALL.map(EnvId::name))
        .try_map(|s| EnvId::from_name(&s).ok_or(format!("unknown task `{s}`")))
}
