//! `ffdqn`: train, evaluate, watch and benchmark the FF-DQN and BP-DQN agents.
//!
//! The binary is thin: it parses arguments, calls into `agents`, and reports. Errors print
//! with their whole context chain; bad input (flags, configs, files, output directories)
//! exits with code 2, other failures with 1.

mod commands;
mod experiment;

use std::process::ExitCode;

// The memory study of `ffdqn experiment` counts heap bytes through this allocator; it costs two
// atomic additions per allocation, and a steady-state training step allocates nothing.
#[global_allocator]
static ALLOCATOR: lab::alloc_count::Counting = lab::alloc_count::Counting;

fn main() -> ExitCode {
    let cli = <commands::Cli as clap::Parser>::parse();
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(commands::exit_code(&e))
        }
    }
}
