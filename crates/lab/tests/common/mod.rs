//! What lab's integration tests share: the paper config they build plans from, and a fresh
//! temporary directory per test.
#![allow(dead_code)] // each test binary uses its own part

use std::path::PathBuf;

/// `configs/paper.toml` of this workspace.
pub fn paper_toml() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/paper.toml")
}

/// An empty directory named for the test and this process, under the system's temp dir.
pub fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ffdqn-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}
