//! The architecture invariant "no crate has an import cycle among its modules", checked: a
//! module is a top-level file or directory under a crate's `src/` (binaries' `bin/` aside);
//! module A depends on B when A's code (comments and its `#[cfg(test)] mod tests` aside) names
//! `crate::B`. A cycle means two modules can only be understood together.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each crate's module graph: crate → module → the modules it names.
pub type Graph = BTreeMap<String, BTreeSet<String>>;

fn strip(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests {") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .map(|l| l.split_once("//").map_or(l, |(code, _)| code))
        .collect::<Vec<_>>()
        .join("\n")
}

fn ident(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The modules `code` names through `crate::`.
fn named(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            for part in group.split(',') {
                out.insert(ident(part.trim()).to_string());
            }
        } else {
            out.insert(ident(rest).to_string());
        }
    }
    out
}

fn collect(dir: &Path, files: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    Ok(())
}

/// The module graph of the crate whose sources are in `src`.
pub fn graph(src: &Path) -> std::io::Result<Graph> {
    let mut files = Vec::new();
    collect(src, &mut files)?;
    let mut text: BTreeMap<String, String> = BTreeMap::new();
    for file in files {
        let rel = file.strip_prefix(src).unwrap_or(&file);
        let mut parts: Vec<String> = rel
            .with_extension("")
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if parts.first().is_some_and(|p| p == "bin") {
            continue;
        }
        if parts
            .last()
            .is_some_and(|p| p == "mod" || p == "lib" || p == "main")
        {
            parts.pop();
        }
        let Some(top) = parts.first() else { continue };
        let body = std::fs::read_to_string(&file)?;
        text.entry(top.clone()).or_default().push_str(&strip(&body));
    }
    let names: BTreeSet<String> = text.keys().cloned().collect();
    Ok(text
        .iter()
        .map(|(m, code)| {
            let deps = named(code)
                .into_iter()
                .filter(|n| names.contains(n) && n != m)
                .collect();
            (m.clone(), deps)
        })
        .collect())
}

/// The cycles of `g`: its strongly connected components of more than one module.
pub fn cycles(g: &Graph) -> Vec<Vec<String>> {
    // Two modules are in one cycle when each reaches the other.
    let reach = |from: &String| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(m) = todo.pop() {
            for n in g.get(&m).into_iter().flatten() {
                if seen.insert(n.clone()) {
                    todo.push(n.clone());
                }
            }
        }
        seen
    };
    let reaches: BTreeMap<&String, BTreeSet<String>> = g.keys().map(|m| (m, reach(m))).collect();
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    for m in g.keys() {
        if done.contains(m) {
            continue;
        }
        let comp: Vec<String> = g
            .keys()
            .filter(|n| *n == m || (reaches[m].contains(*n) && reaches[n].contains(m)))
            .cloned()
            .collect();
        done.extend(comp.iter().cloned());
        if comp.len() > 1 {
            out.push(comp);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_cycle_and_names_its_modules() {
        let g: Graph = [
            ("a", vec!["b"]),
            ("b", vec!["c"]),
            ("c", vec!["a"]),
            ("d", vec!["a"]),
        ]
        .into_iter()
        .map(|(m, d)| (m.to_string(), d.into_iter().map(String::from).collect()))
        .collect();
        assert_eq!(cycles(&g), vec![vec!["a", "b", "c"]]);
        assert_eq!(
            named("use crate::{fs::x, kind};\nlet y = crate::io::f();"),
            ["fs", "io", "kind"].map(String::from).into()
        );
    }

    /// The workspace itself: no crate's modules import each other in a cycle.
    #[test]
    fn no_crate_has_a_module_cycle() {
        let crates = crate::project_root().join("crates");
        let mut found = Vec::new();
        for entry in std::fs::read_dir(&crates).expect("crates/") {
            let src = entry.expect("entry").path().join("src");
            if src.is_dir() {
                for c in cycles(&graph(&src).expect("readable sources")) {
                    found.push(format!("{}: {}", src.display(), c.join(" ")));
                }
            }
        }
        assert!(found.is_empty(), "module cycles:\n{}", found.join("\n"));
    }
}
