//! Every experiment file the project ships expands into a plan, full and quick, with the
//! groups, seeds and questions it promises; a file that stops validating fails here, not in a
//! user's 10-minute run.

use lab::plan::{Plan, PlanOptions};
use std::path::Path;

#[test]
fn every_shipped_experiment_file_expands() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/experiments");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("configs/experiments/") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        for quick in [false, true] {
            let opts = PlanOptions { quick, seeds: None };
            let plan =
                Plan::from_file(&path, &opts).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(!plan.groups.is_empty(), "{}", path.display());
            assert_eq!(plan.runs.len(), plan.groups.len() * plan.seeds.len());
            if !quick {
                assert_eq!(
                    plan.seeds,
                    (0..10).collect::<Vec<u64>>(),
                    "report seeds 0–9"
                );
            }
        }
        names.push(
            path.file_stem()
                .expect("stem")
                .to_string_lossy()
                .to_string(),
        );
    }
    names.sort();
    assert_eq!(names, ["classic-control", "layer-local", "paper"]);
    let plan =
        Plan::from_file(&dir.join("layer-local.toml"), &PlanOptions::default()).expect("valid");
    // Every layer-local agent has its frozen-features control and both backprop baselines.
    let groups: Vec<&str> = plan.groups.iter().map(|g| g.name.as_str()).collect();
    for g in [
        "bp",
        "bp-tuned",
        "local-td",
        "local-td-frozen",
        "goodness-q",
        "goodness-q-frozen",
    ] {
        assert!(groups.contains(&g), "layer-local lacks {g}");
    }
    assert!(plan.compares.iter().all(|c| c.question.is_some()));
}
