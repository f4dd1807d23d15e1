//! `cargo xtask ci`: the checks CI runs, in order, stopping at the first failure.

use anyhow::{Context, Result, bail};
use std::process::Command;

/// A check: its name, cargo's arguments and extra environment variables.
type Step = (
    &'static str,
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
);

pub fn run(args: &[String]) -> Result<()> {
    if let Some(a) = args.first() {
        bail!("`cargo xtask ci` takes no arguments, got `{a}`");
    }
    let root = crate::project_root();
    let cargo = crate::cargo();
    let steps: [Step; 4] = [
        ("format", &["fmt", "--all", "--check"], &[]),
        (
            "clippy",
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
            &[],
        ),
        (
            "docs",
            &["doc", "--workspace", "--no-deps"],
            &[("RUSTDOCFLAGS", "-D warnings")],
        ),
        ("tests", &["test", "--workspace"], &[]),
    ];
    for (name, cargo_args, envs) in steps {
        eprintln!("==> {name}: cargo {}", cargo_args.join(" "));
        let status = Command::new(&cargo)
            .args(cargo_args)
            .envs(envs.iter().copied())
            .current_dir(&root)
            .status()
            .with_context(|| format!("could not start `{cargo}`"))?;
        if !status.success() {
            bail!(
                "{name} failed ({status}): run `cargo {}` to see why",
                cargo_args.join(" ")
            );
        }
    }
    eprintln!("==> all checks passed");
    Ok(())
}
