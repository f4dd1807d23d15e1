//! The one exit-code table: every error is classified once ([`agents::ErrorKind`], which the
//! libraries' error types own and delegate to) and mapped to a code here.

/// Marks an error as the user's input being wrong (exit code 2).
#[derive(Debug)]
pub struct BadInput(pub String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

/// The exit code of each kind of error: the program's one table ([`agents::ErrorKind`] is the
/// one classification; every error type delegates to it).
pub fn code_of(kind: agents::ErrorKind, signal_code: Option<u8>) -> u8 {
    match kind {
        agents::ErrorKind::BadInput => 2,
        agents::ErrorKind::Failure => 1,
        // 128 + the signal's number, as a shell reports a process a signal ended (SIGINT
        // when the signal is not known).
        agents::ErrorKind::Stopped => signal_code.unwrap_or(130),
    }
}

/// What an error means, from the first cause that says: [`BadInput`] and [`Stopped`] of this
/// binary, or the libraries' own `kind()`; anything else is a failure.
pub fn kind_of(e: &anyhow::Error) -> (agents::ErrorKind, Option<u8>) {
    for cause in e.chain() {
        if cause.is::<BadInput>() {
            return (agents::ErrorKind::BadInput, None);
        }
        if let Some(Stopped(code)) = cause.downcast_ref::<Stopped>() {
            return (agents::ErrorKind::Stopped, Some(*code));
        }
        if let Some(c) = cause.downcast_ref::<agents::ConfigError>() {
            return (c.kind(), None);
        }
        if let Some(le) = cause.downcast_ref::<lab::Error>() {
            return (le.kind(), None);
        }
        if let Some(ae) = cause.downcast_ref::<agents::Error>() {
            return (ae.kind(), None);
        }
    }
    (agents::ErrorKind::Failure, None)
}

/// The process's exit code for `e`.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    let (kind, signal) = kind_of(e);
    code_of(kind, signal)
}

/// Training ended by a signal after its checkpoint was written; the process exits with `.0`
/// (128 + the signal's number, as a shell reports a process a signal ended).
#[derive(Debug)]
pub struct Stopped(pub u8);

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "stopped by a signal (exit {})", self.0)
    }
}

impl std::error::Error for Stopped {}

#[cfg(test)]
mod tests {
    use super::*;
    use agents::ErrorKind;
    use std::path::PathBuf;

    fn locked() -> agents::Error {
        agents::Error::Locked {
            dir: PathBuf::from("runs/x"),
            pid: Some(7),
        }
    }

    fn config() -> agents::ConfigError {
        agents::ConfigError::Invalid {
            file: "f.toml".into(),
            key: "train.gamma".into(),
            value: "2".into(),
            allowed: "[0, 1]".into(),
        }
    }

    /// An error of each agents variant (and this binary's own), with its exit code.
    fn agents_cases() -> Vec<(anyhow::Error, u8)> {
        let io = || std::io::Error::other("disk full");
        vec![
            (BadInput("bad flag".into()).into(), 2),
            (Stopped(129).into(), 129),
            (config().into(), 2),
            (agents::Error::Config(config()).into(), 2),
            (locked().into(), 2),
            (
                agents::Error::BadFile {
                    path: "c.bin".into(),
                    problem: "corrupt".into(),
                }
                .into(),
                2,
            ),
            (agents::Error::Mismatch("layout".into()).into(), 2),
            (
                agents::Error::Read {
                    path: "x".into(),
                    source: io(),
                }
                .into(),
                2,
            ),
            (
                agents::Error::Write {
                    path: "x".into(),
                    source: io(),
                }
                .into(),
                1,
            ),
            (
                agents::Error::Diverged {
                    step: 3,
                    layer: Some(1),
                    tensor: agents::Tensor::Weight,
                    index: None,
                    value: f64::NAN,
                }
                .into(),
                1,
            ),
            (
                agents::Error::Interrupted {
                    epochs_done: 1,
                    env_steps: 9,
                }
                .into(),
                130,
            ),
        ]
    }

    /// An error of each lab variant, with its exit code.
    fn lab_cases() -> Vec<(anyhow::Error, u8)> {
        vec![
            // A locked run is bad input for `train` and for `experiment task` alike.
            (
                lab::Error::Run {
                    group: "g".into(),
                    seed: 0,
                    source: Box::new(locked()),
                }
                .into(),
                2,
            ),
            (
                lab::Error::Config {
                    group: "g".into(),
                    source: Box::new(config()),
                }
                .into(),
                2,
            ),
            (
                lab::Error::Plan {
                    path: "plan.json".into(),
                    problem: "edited".into(),
                }
                .into(),
                2,
            ),
            (lab::Error::Agents(locked()).into(), 2),
            (lab::Error::Unfinished(vec!["g seed 0".into()]).into(), 1),
            (
                lab::Error::Slurm {
                    command: "sbatch".into(),
                    message: "refused".into(),
                }
                .into(),
                1,
            ),
            (anyhow::anyhow!("anything else"), 1),
        ]
    }

    /// The one exit-code table, and every error type's way to it: the same cause gives the
    /// same code whichever command met it and however much context wraps it.
    #[test]
    fn one_exit_code_table_for_every_error() {
        assert_eq!(code_of(ErrorKind::BadInput, None), 2);
        assert_eq!(code_of(ErrorKind::Failure, None), 1);
        assert_eq!(code_of(ErrorKind::Stopped, Some(143)), 143);
        assert_eq!(code_of(ErrorKind::Stopped, None), 130);
        for (e, code) in agents_cases().into_iter().chain(lab_cases()) {
            let shown = format!("{e:#}");
            assert_eq!(exit_code(&e), code, "{shown}");
            let wrapped = e.context("while doing something");
            assert_eq!(exit_code(&wrapped), code, "wrapped: {shown}");
        }
    }
}
