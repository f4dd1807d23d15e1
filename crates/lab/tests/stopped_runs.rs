//! A run of a plan asked to stop (a signal, or a Slurm time limit's SIGTERM) keeps a checkpoint
//! in its partial directory, and the next invocation continues it to the same result, bit for
//! bit, as a run never stopped; a second process cannot train the same run at the same time.

mod common;

use agents::Provenance;
use lab::plan::{Plan, PlanOptions};
use lab::runner::{TaskOutcome, partial_path, run_task};
use std::cell::Cell;
use std::path::Path;

fn plan_in(dir: &Path) -> Plan {
    let paper = common::paper_toml();
    let file = dir.join("tiny.toml");
    std::fs::write(
        &file,
        format!(
            r#"name = "tiny"
seeds = [3]
[[group]]
name = "ff"
agent = "ff"
config = {paper:?}
set = ["train.epochs=4", "train.episodes-per-epoch=4", "train.learning-starts=200", "train.eval-episodes=2", "train.final-eval-episodes=3"]
"#
        ),
    )
    .expect("writes");
    Plan::from_file(&file, &PlanOptions::default()).expect("a valid experiment")
}

#[test]
fn a_stopped_run_continues_bit_identically_on_the_next_invocation() {
    let dir = common::fresh_dir("stopped-runs");
    let plan = plan_in(&dir);
    let (straight, stopped) = (dir.join("straight"), dir.join("stopped"));
    for out in [&straight, &stopped] {
        std::fs::create_dir_all(out).expect("out");
        plan.write(out).expect("plan");
    }
    let Ok(TaskOutcome::Finished(_)) =
        run_task(&plan, &straight, 0, false, &Provenance::unknown(), &|| {
            false
        })
    else {
        panic!("the straight run did not finish");
    };

    // Stopped after 150 steps: a checkpoint in the partial directory, no finished run.
    let calls = Cell::new(0u32);
    let stop = || {
        calls.set(calls.get() + 1);
        calls.get() > 150
    };
    match run_task(&plan, &stopped, 0, false, &Provenance::unknown(), &stop).expect("stops cleanly")
    {
        TaskOutcome::Stopped { env_steps } => assert_eq!(env_steps, 150),
        other => panic!("not stopped: {other:?}"),
    }
    let partial = partial_path(&plan, &stopped, 0);
    assert!(partial.join("checkpoint.bin").exists(), "no checkpoint");
    assert!(
        !plan.run_path(&stopped, 0).exists(),
        "a stopped run is not finished"
    );

    // While a process trains the run, another cannot.
    let lock = agents::RunDir::at(&partial).lock().expect("lock");
    let err =
        run_task(&plan, &stopped, 0, false, &Provenance::unknown(), &|| false).expect_err("in use");
    let mut msg = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        msg = format!("{msg}: {s}");
        source = s.source();
    }
    assert!(msg.contains("is in use by process"), "{msg}");
    assert!(
        lab::runner::failure_of(&plan, &stopped, 0).is_none(),
        "a run another process trains has not failed"
    );
    drop(lock);

    // The next invocation continues from the checkpoint.
    let Ok(TaskOutcome::Finished(_)) =
        run_task(&plan, &stopped, 0, false, &Provenance::unknown(), &|| false)
    else {
        panic!("the continued run did not finish");
    };
    assert!(!partial.exists());
    let read = |out: &Path, name: &str| {
        std::fs::read(plan.run_path(out, 0).join(name)).expect("a finished run's file")
    };
    assert_eq!(
        read(&straight, "weights.json"),
        read(&stopped, "weights.json")
    );
    let metrics = |out: &Path| {
        String::from_utf8(read(out, "metrics.csv"))
            .expect("utf8")
            .lines()
            .map(|l| {
                // Every column but the wall time.
                let cols: Vec<&str> = l.split(',').collect();
                cols.iter()
                    .enumerate()
                    .filter(|(i, _)| *i != 10)
                    .map(|(_, c)| *c)
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(metrics(&straight), metrics(&stopped));
    let _ = std::fs::remove_dir_all(&dir);
}
