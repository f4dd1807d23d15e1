//! `ffdqn`: train, evaluate, watch and benchmark the agents, and run experiments.
//!
//! The binary is thin: this file holds the clap tree, the dispatch and the exit; each command
//! is a module of its own (`train`, `eval`, `play`, `bench`, `experiment`), which parses
//! nothing by hand, calls into `agents` and `lab`, and reports. Errors print with their whole
//! context chain; `exit` maps them to exit codes by one table (2 bad input, 1 failure,
//! 128 + signal when stopped).

/// What stdout was refused: the program ends with exit 1 and this message, or quietly with
/// exit 0 when the reader closed the pipe (`ffdqn eval … | head -1`), as Unix tools do.
#[derive(Debug)]
struct OutputError(std::io::Error);

impl std::fmt::Display for OutputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot write to standard output: {}", self.0)
    }
}

impl std::error::Error for OutputError {}

/// One line to stdout, flushed; a closed pipe or a full device is an [`OutputError`], never a
/// panic (`println!` panics).
fn print_line(args: std::fmt::Arguments<'_>) -> Result<(), OutputError> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_fmt(args)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush())
        .map_err(OutputError)
}

/// `println!` that returns an [`OutputError`] from the enclosing function instead of panicking.
macro_rules! say {
    ($($t:tt)*) => {
        $crate::print_line(format_args!($($t)*))?
    };
}

/// `eprintln!` that never panics: a message to a closed or full stderr is dropped.
macro_rules! note {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

mod args;
mod bench;
mod eval;
mod exit;
mod experiment;
mod play;
mod program;
mod signals;
mod train;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

// The memory study of `ffdqn experiment` counts heap bytes through this allocator; it costs two
// atomic additions per allocation, and a steady-state training step allocates nothing.
#[global_allocator]
static ALLOCATOR: lab::alloc_count::Counting = lab::alloc_count::Counting;

/// Forward-Forward, layer-local and backprop Deep Q-Networks on classic-control tasks.
#[derive(Debug, Parser)]
#[command(
    name = "ffdqn",
    version,
    about = "Forward-Forward and backprop Deep Q-Networks on CartPole-v1, Acrobot-v1, MountainCar-v0 and MinAtar's five games: train, evaluate, watch, benchmark, run experiments.",
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train an agent from a config file; writes metrics.csv, summary.json, weights.json and
    /// config.toml into the output directory.
    Train(train::TrainArgs),
    /// Evaluate saved weights greedily and print the mean and standard deviation of the return.
    Eval(eval::EvalArgs),
    /// Watch saved weights play one episode, drawn as text frame by frame.
    Play(play::PlayArgs),
    /// Measure whole-loop training speed of every agent the config configures.
    Bench(bench::BenchArgs),
    /// Experiments from files: run a plan on local cores or Slurm, one run of it, its report.
    #[command(subcommand)]
    Experiment(experiment::ExperimentCommand),
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Train(a) => train::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Play(a) => play::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Experiment(c) => experiment::run(c),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let closed_pipe = e.chain().any(|c| {
                c.downcast_ref::<OutputError>()
                    .is_some_and(|o| o.0.kind() == std::io::ErrorKind::BrokenPipe)
            });
            if closed_pipe {
                return ExitCode::SUCCESS;
            }
            // Stopped by a signal: what was kept is already said.
            if !e.is::<exit::Stopped>() {
                note!("error: {e:#}");
            }
            ExitCode::from(exit::exit_code(&e))
        }
    }
}
