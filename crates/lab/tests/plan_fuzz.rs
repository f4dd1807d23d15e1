//! Structure-aware fuzzing (`json-mutate`) of `plan.json`, the file a Slurm array task and the
//! report job read from a shared directory where anyone may have edited it: every field of a
//! finished plan, changed in each of nine ways, is refused by `Plan::read` with an error or,
//! if it still holds together, is described, checked for finished runs and reported on
//! without a panic; so is every field of a finished run's `summary.json` and `run.json`.

mod common;

use lab::plan::{Plan, PlanOptions};

#[test]
fn plans_with_one_field_changed_never_panic() {
    let dir = common::fresh_dir("plan-fuzz");
    let paper = common::paper_toml();
    let file = dir.join("tiny.toml");
    std::fs::write(
        &file,
        format!(
            r#"name = "tiny"
seeds = 2
threshold = 195.0
[[group]]
name = "bp"
agent = "bp"
config = {paper:?}
set = ["train.epochs=2", "train.episodes-per-epoch=2", "train.learning-starts=200", "train.eval-episodes=1", "train.final-eval-episodes=1"]
[[group]]
name = "ff"
agent = "ff"
config = {paper:?}
set = ["train.epochs=2", "train.episodes-per-epoch=2", "train.learning-starts=200", "train.eval-episodes=1", "train.final-eval-episodes=1"]
[[compare]]
x = "ff"
y = "bp"
question = "Does FF beat BP?"
"#
        ),
    )
    .expect("writes");
    let out = dir.join("out");
    std::fs::create_dir_all(&out).expect("out");
    let plan = Plan::from_file(&file, &PlanOptions::default()).expect("a valid experiment");
    plan.write(&out).expect("writes the plan");
    let ran = lab::local::run(
        &plan,
        &out,
        2,
        false,
        &agents::Provenance::unknown(),
        &|_| {},
        &|| false,
    )
    .expect("runs");
    assert!(ran.failed.is_empty(), "{:?}", ran.failed);

    let ctx = lab::report::ReportContext {
        command: "fuzz".into(),
        code: agents::Provenance::unknown(),
        wall: 0.0,
        skipped: 0,
    };
    let valid = serde_json::to_value(&plan).expect("json");
    let plan_file = lab::ExperimentDir::at(&out).plan();
    let mut read = 0;
    let cases = json_mutate::for_each_change(&valid, |changed| {
        std::fs::write(&plan_file, serde_json::to_vec(changed).expect("encodes")).expect("writes");
        let Ok(plan) = Plan::read(&plan_file) else {
            return;
        };
        read += 1;
        for i in 0..plan.runs.len() {
            let _ = plan.describe(i);
            let _ = lab::runner::is_done(&plan, &out, i);
            let _ = lab::runner::failure_of(&plan, &out, i);
        }
        let _ = lab::local::expected_seconds(&plan, &out);
        let _ = lab::report::unfinished(&plan, &out);
        let _ = lab::report::build(&plan, &out, &ctx);
    });
    assert!(
        cases > 300,
        "only {cases} cases: the plan lost its structure"
    );
    assert!(read > 20, "only {read} changed plans were readable");

    // A finished run's own files, as the report reads them.
    std::fs::write(&plan_file, serde_json::to_vec(&valid).expect("encodes")).expect("writes");
    let run_dir = out.join("runs/ff/seed-1");
    for name in ["summary.json", "run.json"] {
        let path = run_dir.join(name);
        let original = std::fs::read(&path).expect("a finished run's file");
        let valid: serde_json::Value = serde_json::from_slice(&original).expect("json");
        let mut reported = 0;
        let cases = json_mutate::for_each_change(&valid, |changed| {
            std::fs::write(&path, serde_json::to_vec(changed).expect("encodes")).expect("writes");
            let _ = lab::runner::is_done(&plan, &out, 3);
            let _ = lab::local::expected_seconds(&plan, &out);
            if lab::report::build(&plan, &out, &ctx).is_ok() {
                reported += 1;
            }
        });
        std::fs::write(&path, &original).expect("restores");
        assert!(cases > 30, "{name}: only {cases} cases");
        assert!(reported > 0, "{name}: no changed file was reported on");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
