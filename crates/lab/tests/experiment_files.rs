//! Every experiment file the project ships expands into a plan, full and quick, with the
//! groups, seeds and questions it promises; a file that stops validating fails here, not in a
//! user's 10-minute run.

mod common;

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
                // Report seeds, never the dev seeds 100–109: all of 0–9, or (the short MinAtar
                // protocol, for its budget) the first of them.
                let n = plan.seeds.len() as u64;
                assert!(
                    (5..=10).contains(&n) && plan.seeds == (0..n).collect::<Vec<u64>>(),
                    "{}: report seeds 0–9 (or a prefix), got {:?}",
                    path.display(),
                    plan.seeds
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
    assert_eq!(
        names,
        [
            "layer-local",
            "minatar",
            "minatar-ff-control",
            "minatar-short",
            "minatar-short-rmsprop",
            "paper",
            "reference",
            "reference-local",
            "reference-local-acrobot",
            "reference-local-mountaincar"
        ]
    );
    // Tuning and variant files (`dev/`) run on dev seeds only, never on report seeds.
    for entry in std::fs::read_dir(dir.join("dev")).expect("configs/experiments/dev/") {
        let path = entry.expect("entry").path();
        let plan = Plan::from_file(&path, &PlanOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            !plan.seeds.is_empty() && plan.seeds.iter().all(|s| (100..110).contains(s)),
            "{}: dev seeds 100–109 only, got {:?}",
            path.display(),
            plan.seeds
        );
    }
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

/// Experiment files that would exhaust memory or hang are refused with the limit named, before
/// anything is expanded: seed counts and sweep grids beyond a plan's bounds, a FIFO; and
/// `--quick` on a file that has no quick settings.
#[test]
fn oversized_and_non_regular_experiment_files_are_refused() {
    let dir = common::fresh_dir("exp-limits");
    let paper = common::paper_toml();
    let refused = |seeds: &str, sweep: &str, opts: &PlanOptions| {
        let file = dir.join("e.toml");
        std::fs::write(
            &file,
            format!(
                "name = \"e\"\nseeds = {seeds}\n[[group]]\nname = \"g\"\nagent = \"bp\"\nconfig = {paper:?}\n{sweep}"
            ),
        )
        .expect("writes");
        match Plan::from_file(&file, opts) {
            Ok(p) => panic!("accepted {} runs", p.runs.len()),
            Err(e) => e.to_string(),
        }
    };
    let msg = refused("4294967296", "", &PlanOptions::default());
    assert!(msg.contains("at most 1000000 runs"), "{msg}");
    let many = PlanOptions {
        quick: false,
        seeds: Some(u64::MAX),
    };
    let msg = refused("2", "", &many);
    assert!(msg.contains("at most 1000000 runs"), "{msg}");
    let values = format!("[{}]", vec!["0.5"; 100].join(", "));
    let axes: Vec<String> = ["train.gamma", "train.lr", "ff.margin", "train.tau"]
        .iter()
        .map(|k| format!("{{ key = \"{k}\", values = {values} }}"))
        .collect();
    let sweep = format!(
        "[[sweep]]\nname = \"s\"\nagent = \"bp\"\nconfig = {paper:?}\naxes = [{}]\n",
        axes.join(", ")
    );
    let msg = refused("2", &sweep, &PlanOptions::default());
    assert!(
        msg.contains("100000001 groups") && msg.contains("at most 10000 groups"),
        "{msg}"
    );
    let msg = refused("[1, 2, 1]", "", &PlanOptions::default());
    assert!(msg.contains("seed 1 is listed twice"), "{msg}");
    // --quick on a file without a [quick] section would run the whole experiment.
    let quick = PlanOptions {
        quick: true,
        seeds: None,
    };
    let msg = refused("2", "", &quick);
    assert!(msg.contains("has no [quick] section"), "{msg}");
    let traversal =
        format!("[[group]]\nname = \"../../etc\"\nagent = \"bp\"\nconfig = {paper:?}\n");
    let msg = refused("2", &traversal, &PlanOptions::default());
    assert!(
        msg.contains("group name \"../../etc\": use letters"),
        "{msg}"
    );

    let list = dir.join("tasks");
    std::fs::write(&list, "3\nabc\n").expect("writes");
    assert_eq!(lab::slurm::task_index(&list, 0).expect("a number"), 3);
    let msg = lab::slurm::task_index(&list, 1)
        .expect_err("not a number")
        .to_string();
    assert!(msg.contains("task 1 is \"abc\", not a plan index"), "{msg}");
    let msg = lab::slurm::task_index(&list, 7)
        .expect_err("no line")
        .to_string();
    assert!(msg.contains("no task 7: the list has 2 lines"), "{msg}");

    let fifo = dir.join("fifo.toml");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if made.is_ok_and(|s| s.success()) {
        let e = Plan::from_file(&fifo, &PlanOptions::default()).expect_err("a FIFO");
        assert!(e.to_string().contains("not a regular file"), "{e}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A plan.json written before `[roles]` existed reads back, and its studies find their groups
/// by the conventional names where the plan has them (the committed reports regenerate).
#[test]
fn a_plan_without_roles_reads_as_the_conventional_names() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/experiments");
    let tmp = std::env::temp_dir().join(format!("ffdqn-roles-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("temp dir");
    for (file, bp, ff) in [
        ("layer-local.toml", Some("bp"), None),
        ("paper.toml", Some("bp"), Some("ff")),
        ("reference.toml", None, None),
    ] {
        let plan = Plan::from_file(&dir.join(file), &PlanOptions::default()).expect("valid");
        let mut json: serde_json::Value =
            serde_json::from_str(&serde_json::to_string(&plan).expect("encodes")).expect("json");
        json.as_object_mut().expect("object").remove("roles");
        let path = tmp.join(format!("{file}.plan.json"));
        std::fs::write(&path, json.to_string()).expect("write");
        let old = Plan::read(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
        let roles = old.roles();
        assert_eq!(roles.bp.as_deref(), bp, "{file}");
        assert_eq!(roles.ff.as_deref(), ff, "{file}");
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
