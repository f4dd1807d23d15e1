//! `ffdqn`: train, evaluate, watch and benchmark the FF-DQN and BP-DQN agents.
//!
//! The binary is thin: it parses arguments, calls into `agents`, and reports. Errors print
//! with their whole context chain; bad input (flags, configs, files, output directories)
//! exits with code 2, other failures with 1.

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
            let closed_pipe = e.chain().any(|c| {
                c.downcast_ref::<OutputError>()
                    .is_some_and(|o| o.0.kind() == std::io::ErrorKind::BrokenPipe)
            });
            if closed_pipe {
                return ExitCode::SUCCESS;
            }
            // Stopped by a signal: what was kept is already said.
            if !e.is::<commands::Stopped>() {
                note!("error: {e:#}");
            }
            ExitCode::from(commands::exit_code(&e))
        }
    }
}
