//! The Slurm backend against a real one-node Slurm cluster on localhost (slurmctld, slurmd and
//! munged started by `scripts/slurm-local.sh start`): a `--quick` plan through job arrays and a
//! report job gives the local backend's numbers; a task that fails is named by the report, and
//! running the same command again submits only that run and completes the plan.
//!
//! It needs the cluster, so it runs when `FFDQN_SLURM_TEST=1` (CI sets it after starting the
//! cluster, with `SLURM_CONF` pointing at it) and says it was skipped otherwise.

mod common;
use common::*;
use std::path::Path;

#[test]
fn slurm_backend_matches_local_and_resubmits_what_failed() {
    if std::env::var("FFDQN_SLURM_TEST").as_deref() != Ok("1") {
        eprintln!(
            "skipped: start a cluster with `scripts/slurm-local.sh start`, export the SLURM_CONF it prints and FFDQN_SLURM_TEST=1"
        );
        return;
    }
    let paper = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../configs/experiments/paper.toml")
        .display()
        .to_string();
    let dir = temp_dir("slurm");
    let local = dir.join("local");
    let o = ffdqn(&[
        "experiment",
        "run",
        &paper,
        "--quick",
        "--out",
        local.to_str().expect("utf8"),
    ]);
    assert!(o.status.success(), "{}", text(&o));

    let slurm = dir.join("slurm");
    let run = |out: &Path| {
        ffdqn(&[
            "experiment",
            "run",
            &paper,
            "--quick",
            "--backend",
            "slurm",
            "--wait",
            "--jobs",
            "2",
            "--slurm-arg=--time=10",
            "--out",
            out.to_str().expect("utf8"),
        ])
    };
    // Every run of the plan, as the local backend ran them (runs.csv has a header line).
    let n = read(&local.join("runs.csv")).lines().count() - 1;
    assert!(n >= 4, "the quick paper plan has {n} runs");
    let o = run(&slurm);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("submitted {n} run(s)")),
        "{}",
        text(&o)
    );
    assert_eq!(runs_without_time(&slurm), runs_without_time(&local));
    assert_eq!(
        read(&slurm.join("all_epochs.csv")),
        read(&local.join("all_epochs.csv"))
    );
    let script = std::fs::read_dir(slurm.join("slurm"))
        .expect("slurm dir")
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("array-"))
        .expect("an array script");
    let script = read(&script.path());
    assert!(
        script.contains(&format!("#SBATCH --array=0-{}%2", n - 1))
            && script.contains("#SBATCH --time=10"),
        "{script}"
    );

    // A task that cannot write its run directory fails; the report job names it.
    let failing = dir.join("failing");
    std::fs::create_dir_all(failing.join("runs/ff")).expect("dir");
    std::fs::write(failing.join("runs/ff/seed-1"), b"in the way").expect("obstacle");
    let o = run(&failing);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let msg = text(&o);
    assert!(msg.contains("ff seed 1: failed"), "{msg}");
    assert!(
        !msg.contains("ff seed 0: "),
        "only the failed run is named: {msg}"
    );
    assert!(!failing.join("REPORT.md").exists());

    // The obstacle gone, the same command submits that one run and completes the plan.
    std::fs::remove_file(failing.join("runs/ff/seed-1")).expect("remove obstacle");
    let o = run(&failing);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("submitted 1 run(s) ({} already done)", n - 1)),
        "{}",
        text(&o)
    );
    assert_eq!(runs_without_time(&failing), runs_without_time(&local));
    let _ = std::fs::remove_dir_all(&dir);
}
