//! This program: the code it was built from, and how the user started it.

/// The code of this binary, from build time (`build.rs`): recorded in every run and report.
pub fn code() -> agents::Provenance {
    agents::Provenance {
        version: env!("CARGO_PKG_VERSION").into(),
        commit: env!("FFDQN_COMMIT").into(),
        dirty: match env!("FFDQN_DIRTY") {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
    }
}

/// This program as the user can type it again: the path it was started by (`ffdqn` when it is
/// on the PATH, `target/release/ffdqn` when run from there, quoted if it holds a space).
pub fn invocation() -> String {
    let me = std::env::args_os()
        .next()
        .map(|a| a.to_string_lossy().into_owned())
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| "ffdqn".into());
    shell_word(&me)
}

/// `word` quoted for a POSIX shell when it needs it.
pub fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}
