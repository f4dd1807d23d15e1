//! Records the code this binary is built from: the git commit of the workspace and whether
//! its code (crates/, xtask/, Cargo.toml, Cargo.lock) had uncommitted changes. `ffdqn` writes
//! both into every run.json, summary.json and REPORT.md. Outside a git checkout (a source
//! tarball, `cargo install` from a copy without .git) both say "unknown".

use std::path::Path;
use std::process::Command;

/// The code's paths, relative to the workspace root: a change to any of them may change a
/// result, so the dirty flag looks at these and the build script reruns when they change.
const CODE: [&str; 4] = ["crates", "xtask", "Cargo.toml", "Cargo.lock"];

fn git(root: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        // `git status` would otherwise refresh and rewrite the index as a side effect.
        .env("GIT_OPTIONAL_LOCKS", "0")
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let root = Path::new(&manifest).join("../..");
    for path in CODE {
        println!("cargo:rerun-if-changed={}", root.join(path).display());
    }
    let commit = git(&root, &["rev-parse", "HEAD"]);
    // What moves the commit: HEAD (a checkout) and the refs (a commit, a fetch). Only paths
    // that exist: cargo counts a missing one as changed on every build. Not the index, which
    // `git status` rewrites: the dirty flag follows the code's own files above.
    if let Some(dir) = git(&root, &["rev-parse", "--absolute-git-dir"]) {
        let dir = Path::new(&dir);
        for file in ["HEAD", "packed-refs", "refs"] {
            let path = dir.join(file);
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
    let dirty = commit.as_ref().and_then(|_| {
        let mut args = vec!["status", "--porcelain", "--untracked-files=no", "--"];
        args.extend(CODE);
        git(&root, &args).map(|s| !s.is_empty())
    });
    println!(
        "cargo:rustc-env=FFDQN_COMMIT={}",
        commit.unwrap_or_else(|| "unknown".into())
    );
    println!(
        "cargo:rustc-env=FFDQN_DIRTY={}",
        dirty.map_or("unknown", |d| if d { "true" } else { "false" })
    );
}
