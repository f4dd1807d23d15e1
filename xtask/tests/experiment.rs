//! End-to-end: `cargo xtask experiment --quick` produces every file, each parses, and a second
//! invocation resumes (skips every finished run) and reproduces the same results.

use std::path::Path;
use std::process::Command;

fn xtask(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .output()
        .expect("xtask runs")
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn quick_experiment_writes_every_file_and_resumes() {
    let out = std::env::temp_dir().join(format!("ffdqn-experiment-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let out_s = out.to_str().expect("utf8");
    let o = xtask(&["experiment", "--quick", "--out", out_s]);
    let log = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "{log}");
    assert_eq!(
        log.matches("final greedy return").count(),
        8,
        "one line per run:\n{log}"
    );

    let groups = ["bp", "ff", "ff-text", "ff-warmstart"];
    for g in groups {
        for seed in 0..2 {
            let dir = out.join("runs").join(g).join(format!("seed-{seed}"));
            let summary: serde_json::Value =
                serde_json::from_str(&read(&dir.join("summary.json"))).expect("summary parses");
            assert_eq!(summary["seed"], seed);
            assert_eq!(summary["final_eval"]["episodes"], 5);
            let csv = read(&dir.join("metrics.csv"));
            assert_eq!(
                csv.lines().count(),
                1 + 6,
                "{g} seed {seed}: header + 6 epochs"
            );
        }
    }
    let all = read(&out.join("all_epochs.csv"));
    let header: Vec<&str> = all.lines().next().expect("header").split(',').collect();
    assert!(header.contains(&"train_return") && header.contains(&"ff_l2_g_neg"));
    assert_eq!(all.lines().count(), 1 + groups.len() * 2 * 6);
    for line in all.lines().skip(1) {
        assert_eq!(line.split(',').count(), header.len(), "{line}");
    }
    assert_eq!(
        read(&out.join("runs.csv")).lines().count(),
        1 + groups.len() * 2
    );
    let mem: serde_json::Value =
        serde_json::from_str(&read(&out.join("memory.json"))).expect("memory parses");
    assert_eq!(
        mem.as_array().expect("rows").len(),
        4,
        "2 depths × 2 agents"
    );
    for fig in ["figure1", "goodness", "memory", "init"] {
        let svg = read(&out.join(format!("{fig}.svg")));
        assert!(
            svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
            "{fig}.svg"
        );
        let png = std::fs::read(out.join(format!("{fig}.png"))).expect("png");
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{fig}.png");
    }
    let report = read(&out.join("REPORT.md"));
    for needle in [
        "## Final return",
        "## Memory of one training update",
        "## The paper's claims",
        "Smoke run",
    ] {
        assert!(report.contains(needle), "REPORT.md lacks {needle:?}");
    }
    for claim in 1..=5 {
        assert!(
            report.contains(&format!("\n{claim}. *")),
            "REPORT.md lacks claim {claim}"
        );
    }

    // Resume: nothing is rerun, results are unchanged.
    let before = read(&out.join("runs.csv"));
    let o = xtask(&["experiment", "--quick", "--out", out_s]);
    let log = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "{log}");
    assert!(
        log.contains("0 to run") && log.contains("8 already done"),
        "{log}"
    );
    assert_eq!(read(&out.join("runs.csv")), before);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn bad_arguments_are_refused() {
    for (args, needle) in [
        (vec!["experiment", "--seeds", "0"], "--seeds 0"),
        (vec!["experiment", "--jobs", "x"], "--jobs x"),
        (vec!["experiment", "--bogus"], "unknown option `--bogus`"),
        (vec!["nope"], "unknown task `nope`"),
    ] {
        let o = xtask(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

/// Runs spread over threads give exactly the results of running them one at a time.
#[test]
fn results_do_not_depend_on_the_job_count() {
    let base = std::env::temp_dir().join(format!("ffdqn-jobs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let mut tables = Vec::new();
    for jobs in ["1", "2"] {
        let out = base.join(format!("jobs-{jobs}"));
        let o = xtask(&[
            "experiment",
            "--quick",
            "--jobs",
            jobs,
            "--out",
            out.to_str().expect("utf8"),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        // Every column but the wall time.
        let runs = read(&out.join("runs.csv"));
        let without_time: Vec<String> = runs
            .lines()
            .map(|l| l.rsplit_once(',').map_or(l, |(head, _)| head).to_string())
            .collect();
        tables.push((without_time, read(&out.join("all_epochs.csv"))));
    }
    assert_eq!(tables[0], tables[1]);
    let _ = std::fs::remove_dir_all(&base);
}
