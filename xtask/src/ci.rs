//! `cargo xtask ci`: the checks CI runs, in order, stopping at the first failure.

use anyhow::{Context, Result, bail};
use std::path::Path;
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
    eprintln!("==> fresh project: ff-core's README example in a new `cargo new` project");
    fresh_project(&root, &cargo)?;
    eprintln!("==> all checks passed");
    Ok(())
}

/// The first fenced block of `lang` in `text`.
fn fenced<'a>(text: &'a str, lang: &str) -> Result<&'a str> {
    let start = text
        .find(&format!("```{lang}\n"))
        .with_context(|| format!("no ```{lang} block"))?
        + lang.len()
        + 4;
    let len = text[start..]
        .find("```")
        .with_context(|| format!("the ```{lang} block is not closed"))?;
    Ok(&text[start..start + len])
}

/// What a new user of ff-core does: `cargo new`, the README's dependency lines (its path
/// pointed at this checkout), the README's example as `src/main.rs`, `cargo run`. Fails when
/// the example does not compile or run with the crates a fresh project resolves today.
fn fresh_project(root: &Path, cargo: &str) -> Result<()> {
    let readme_path = root.join("crates/ff-core/README.md");
    let readme = std::fs::read_to_string(&readme_path)
        .with_context(|| format!("cannot read {}", readme_path.display()))?;
    let deps = fenced(&readme, "toml").context("crates/ff-core/README.md")?;
    let example = fenced(&readme, "rust").context("crates/ff-core/README.md")?;
    let core = root.join("crates/ff-core");
    let deps = deps
        .lines()
        .filter(|l| l.trim() != "[dependencies]")
        .map(|l| l.replace("../ffdqn/crates/ff-core", &core.display().to_string()))
        .collect::<Vec<_>>()
        .join("\n");
    let dir = std::env::temp_dir().join(format!("ffdqn-fresh-project-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let run = |args: &[&str], cwd: &Path| -> Result<()> {
        let status = Command::new(cargo)
            .args(args)
            .current_dir(cwd)
            // Kept between runs of `cargo xtask ci`; the project itself is new each time.
            .env("CARGO_TARGET_DIR", root.join("target/fresh-project"))
            .status()
            .with_context(|| format!("could not start `{cargo}`"))?;
        if !status.success() {
            bail!(
                "`cargo {}` in {} failed ({status})",
                args.join(" "),
                cwd.display()
            );
        }
        Ok(())
    };
    let parent = std::env::temp_dir();
    run(
        &[
            "new",
            "--quiet",
            "--vcs",
            "none",
            "--name",
            "ff-core-user",
            &dir.display().to_string(),
        ],
        &parent,
    )?;
    let manifest = dir.join("Cargo.toml");
    let mut toml = std::fs::read_to_string(&manifest).context("the new project's Cargo.toml")?;
    if !toml.contains("[dependencies]") {
        toml.push_str("\n[dependencies]\n");
    }
    toml.push_str(&deps);
    toml.push('\n');
    std::fs::write(&manifest, toml).context("writing the new project's Cargo.toml")?;
    std::fs::write(dir.join("src/main.rs"), example).context("writing src/main.rs")?;
    let result = run(&["run", "--quiet"], &dir);
    let _ = std::fs::remove_dir_all(&dir);
    result.context("ff-core's README example in a fresh project (crates/ff-core/README.md)")
}
