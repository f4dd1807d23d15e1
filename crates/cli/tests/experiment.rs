//! End-to-end: `ffdqn experiment` on real experiment files — the quick paper reproduction
//! writes every file and resumes; sweeps expand into groups; bad files and arguments are
//! refused with exit 2; results do not depend on the thread count; `task` and `report` work
//! on a plan alone; an experiment interrupted by Ctrl-C continues to the same numbers.

mod common;
use common::*;

fn paper() -> String {
    root()
        .join("configs/experiments/paper.toml")
        .display()
        .to_string()
}

#[test]
fn quick_paper_experiment_writes_every_file_and_resumes() {
    let dir = temp_dir("exp-quick");
    let out = dir.join("out");
    let out_s = out.to_str().expect("utf8");
    let o = ffdqn(&["experiment", "run", &paper(), "--quick", "--out", out_s]);
    let log = text(&o);
    assert!(o.status.success(), "{log}");
    assert_eq!(
        log.matches("final greedy return").count(),
        12,
        "one line per run:\n{log}"
    );
    let groups = [
        "bp",
        "ff",
        "ff-text",
        "ff-warmstart",
        "ff-frozen",
        "bp-tuned",
    ];
    for g in groups {
        for seed in 0..2 {
            let run = out.join("runs").join(g).join(format!("seed-{seed}"));
            let summary: serde_json::Value =
                serde_json::from_str(&read(&run.join("summary.json"))).expect("summary parses");
            assert_eq!(summary["seed"], seed);
            assert_eq!(summary["final_eval"]["episodes"], 5);
            let csv = read(&run.join("metrics.csv"));
            assert_eq!(
                csv.lines().count(),
                1 + 6,
                "{g} seed {seed}: header + 6 epochs"
            );
            assert!(read(&run.join("config.toml")).contains("epochs = 6"));
        }
    }
    let plan: serde_json::Value =
        serde_json::from_str(&read(&out.join("plan.json"))).expect("plan parses");
    assert_eq!(plan["runs"].as_array().expect("runs").len(), 12);
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
        8,
        "2 depths × 4 agents"
    );
    assert!(
        mem[0]["working_peak_bytes"].as_u64().expect("bytes") > 0,
        "the counting allocator counted"
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
        "## Initialisation and preset",
        "## The paper's claims",
        "Smoke run",
        "| FF-DQN (paper.toml) | BP-DQN (paper.toml) |",
        "## Questions",
        "*Does FF training of the hidden layers beat not training them at all?* *No answer* (`--quick` smoke run, 2 seeds)",
        "| hidden layers | BP-DQN | FF-DQN | local-td | goodness-q | BP / FF working |",
    ] {
        assert!(report.contains(needle), "REPORT.md lacks {needle:?}");
    }
    for claim in 1..=5 {
        assert!(
            report.contains(&format!("\n{claim}. *")),
            "REPORT.md lacks claim {claim}"
        );
    }
    // Two seeds of a few epochs decide nothing: no bold verdict or answer.
    for verdict in [
        "**supported**",
        "**not supported**",
        "**mixed**",
        "**Yes**",
        "**No**",
        "**Not resolved**",
    ] {
        assert!(!report.contains(verdict), "a smoke run says {verdict}");
    }

    // Resume: nothing is rerun, results are unchanged.
    let before = read(&out.join("runs.csv"));
    let o = ffdqn(&["experiment", "run", &paper(), "--quick", "--out", out_s]);
    let log = text(&o);
    assert!(o.status.success(), "{log}");
    assert!(
        log.contains("0 to run") && log.contains("12 already done"),
        "{log}"
    );
    assert_eq!(read(&out.join("runs.csv")), before);

    // The report alone, from the plan in the output directory.
    std::fs::remove_file(out.join("REPORT.md")).expect("remove");
    let o = ffdqn(&["experiment", "report", "--out", out_s]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(out.join("REPORT.md").exists());

    // Another experiment into the same directory does not silently reuse runs of another
    // config: it names the run and says what to do.
    let other = write(
        &dir,
        "other.toml",
        &format!(
            "name = \"other\"\nseeds = 1\n[[group]]\nname = \"bp\"\nagent = \"bp\"\nconfig = \"{}\"\nset = [\"train.epochs=2\"]\n",
            root().join("configs/paper.toml").display()
        ),
    );
    let o = ffdqn(&["experiment", "run", &other, "--out", out_s]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--force"), "{}", text(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs spread over threads give exactly the results of running them one at a time: on the
/// layer-local experiment, whose report answers its questions and measures every agent.
#[test]
fn results_do_not_depend_on_the_job_count() {
    let dir = temp_dir("exp-jobs");
    let file = root()
        .join("configs/experiments/layer-local.toml")
        .display()
        .to_string();
    let mut tables = Vec::new();
    for jobs in ["1", "2"] {
        let out = dir.join(format!("jobs-{jobs}"));
        let o = ffdqn(&[
            "experiment",
            "run",
            &file,
            "--quick",
            "--jobs",
            jobs,
            "--out",
            out.to_str().expect("utf8"),
        ]);
        assert!(o.status.success(), "{}", text(&o));
        assert_eq!(text(&o).matches("final greedy return").count(), 12);
        tables.push((runs_without_time(&out), read(&out.join("all_epochs.csv"))));
        let report = read(&out.join("REPORT.md"));
        for needle in [
            "## Questions",
            "*Does local-td beat BP-DQN as the paper ran it?* *No answer* (`--quick` smoke run",
            "*Does goodness-q's training of its layers beat frozen features?* *No answer*",
            "| local-td, cells frozen at init (control) |",
        ] {
            assert!(report.contains(needle), "REPORT.md lacks {needle:?}");
        }
    }
    assert_eq!(tables[0], tables[1]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A sweep over two axes names its groups with a comma (`ff.ff.margin=0.5,ff.update-prob=1.0`):
/// the CSVs quote it, so every row still has the header's columns and the name survives.
#[test]
fn two_axis_sweep_names_are_quoted_in_the_csvs() {
    let dir = temp_dir("exp-sweep2");
    let file = write(
        &dir,
        "sweep2.toml",
        &format!(
            "name = \"grid\"\nseeds = 1\n\n[[sweep]]\nname = \"ff\"\nagent = \"ff\"\nconfig = \"{cfg}\"\n{TINY_SET}\naxes = [{{ key = \"ff.margin\", values = [0.5, 1.0] }}, {{ key = \"ff.update-prob\", values = [1.0] }}]\n",
            cfg = root().join("configs/paper.toml").display()
        ),
    );
    let out = dir.join("out");
    let o = ffdqn(&[
        "experiment",
        "run",
        &file,
        "--out",
        out.to_str().expect("utf8"),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    for csv in ["runs.csv", "all_epochs.csv"] {
        let body = read(&out.join(csv));
        let mut lines = body.lines();
        let columns = lines.next().expect("header").split(',').count();
        for line in lines {
            let (name, rest) = line
                .strip_prefix('"')
                .and_then(|l| l.split_once("\","))
                .unwrap_or_else(|| panic!("{csv}: group not quoted: {line}"));
            assert!(
                name.starts_with("ff.ff.margin=") && name.contains(",ff.update-prob=1.0"),
                "{name}"
            );
            assert_eq!(1 + rest.split(',').count(), columns, "{csv}: {line}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

const TINY_SET: &str = "set = [\"train.epochs=2\", \"train.episodes-per-epoch=3\", \"train.learning-starts=128\", \"train.buffer-size=2000\", \"train.eval-episodes=1\", \"train.final-eval-episodes=2\"]";

/// A sweep axis of three values expands into three groups named after the values, each run
/// with its value in its config; a task runs one run of the plan on its own.
#[test]
fn a_sweep_expands_into_groups_named_after_their_values() {
    let dir = temp_dir("exp-sweep");
    let file = write(
        &dir,
        "sweep.toml",
        &format!(
            "name = \"margins\"\nseeds = 2\n\n[[group]]\nname = \"bp\"\nagent = \"bp\"\nconfig = \"{cfg}\"\n{TINY_SET}\n\n[[sweep]]\nname = \"ff\"\nlabel = \"FF-DQN\"\nagent = \"ff\"\nconfig = \"{cfg}\"\n{TINY_SET}\naxes = [{{ key = \"ff.margin\", values = [0.5, 1.0, 2.0] }}]\n\n[[compare]]\nx = \"ff.ff.margin=0.5\"\ny = \"bp\"\n",
            cfg = root().join("configs/paper.toml").display()
        ),
    );
    let out = dir.join("out");
    let o = ffdqn(&[
        "experiment",
        "run",
        &file,
        "--out",
        out.to_str().expect("utf8"),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    for (name, margin) in [
        ("ff.ff.margin=0.5", "0.5"),
        ("ff.ff.margin=1.0", "1.0"),
        ("ff.ff.margin=2.0", "2.0"),
    ] {
        let cfg = read(&out.join("runs").join(name).join("seed-1/config.toml"));
        assert!(cfg.contains(&format!("margin = {margin}")), "{name}: {cfg}");
    }
    let report = read(&out.join("REPORT.md"));
    assert!(report.contains("FF-DQN (ff.margin=0.5)"), "{report}");
    // The experiment file lives outside the repository: the report names the code that ran,
    // the binary's commit, and hashes the file and each group's config.
    let commit = env!("FFDQN_COMMIT");
    assert!(
        report.contains(&format!(
            "- Report written by: ffdqn {}, commit {commit}",
            env!("CARGO_PKG_VERSION")
        )),
        "{report}"
    );
    assert!(
        report.contains(&format!(
            "- Runs trained by: ffdqn {}, commit {commit}",
            env!("CARGO_PKG_VERSION")
        )) && report.contains("(8 runs)"),
        "{report}"
    );
    assert!(
        report.contains("FNV-1a 64 of its bytes: ") && report.contains("config.toml FNV-1a "),
        "{report}"
    );
    // The sweep's goodness figure is written and shown.
    assert!(out.join("goodness.svg").exists());
    assert!(report.contains("![Goodness](goodness.svg)"), "{report}");
    assert!(
        report.contains("| FF-DQN (ff.margin=0.5) | bp |"),
        "{report}"
    );
    assert_eq!(runs_without_time(&out).len(), 1 + 4 * 2);

    // One run of the plan, by its index, as an array task runs it: it is already done; with
    // --force it runs again and gives the same result.
    let summary = out.join("runs/ff.ff.margin=1.0/seed-0/summary.json");
    let before: serde_json::Value = serde_json::from_str(&read(&summary)).expect("json");
    let o = ffdqn(&[
        "experiment",
        "task",
        "--out",
        out.to_str().expect("utf8"),
        "--index",
        "4",
    ]);
    assert!(
        o.status.success() && text(&o).contains("already finished"),
        "{}",
        text(&o)
    );
    let o = ffdqn(&[
        "experiment",
        "task",
        "--out",
        out.to_str().expect("utf8"),
        "--index",
        "4",
        "--force",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let after: serde_json::Value = serde_json::from_str(&read(&summary)).expect("json");
    assert_eq!(before["final_eval"], after["final_eval"]);
    let o = ffdqn(&[
        "experiment",
        "task",
        "--out",
        out.to_str().expect("utf8"),
        "--index",
        "99",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));

    // A report with a run missing names it, and exits 1.
    std::fs::remove_dir_all(out.join("runs/bp/seed-1")).expect("remove a run");
    let o = ffdqn(&["experiment", "report", "--out", out.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("bp seed 1: missing"), "{}", text(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_experiment_files_and_arguments_exit_2_naming_the_problem() {
    let dir = temp_dir("exp-bad");
    let cfg = root().join("configs/paper.toml").display().to_string();
    let group = |extra: &str| {
        format!(
            "name = \"x\"\nseeds = 2\n[[group]]\nname = \"g\"\nagent = \"bp\"\nconfig = \"{cfg}\"\n{extra}\n"
        )
    };
    let cases = [
        ("unknown key", "name = \"x\"\nseedz = 3\n".to_string(), "unknown field `seedz`"),
        ("no groups", "name = \"x\"\nseeds = 2\n".to_string(), "no groups"),
        (
            "missing config",
            "name = \"x\"\nseeds = 2\n[[group]]\nname = \"g\"\nagent = \"bp\"\nconfig = \"nope.toml\"\n".to_string(),
            "nope.toml",
        ),
        ("unknown override key", group("set = [\"ff.margn=1\"]"), "unknown field `margn`"),
        ("bad override value", group("set = [\"train.gamma=2\"]"), "train.gamma"),
        ("override not KEY=VALUE", group("set = [\"train.gamma\"]"), "KEY=VALUE"),
        ("unknown agent", group("").replace("\"bp\"", "\"dqn\""), "unknown variant `dqn`"),
        (
            "compare of an unknown group",
            group("[[compare]]\nx = \"g\"\ny = \"h\""),
            "`h`",
        ),
        (
            "study without its roles",
            format!("studies = [\"paper-claims\"]\n{}", group("")),
            "study `paper-claims` reads the group playing `bp`: add `[roles]`",
        ),
        (
            "a role naming no group",
            format!("studies = [\"init\"]\n{}[roles]\nff = \"nope\"\n", group("")),
            "[roles] ff = \"nope\": the experiment has no group `nope`",
        ),
        ("bad group name", group("").replace("name = \"g\"", "name = \"a/b\""), "a/b"),
        (
            "a setting the group's agent does not read",
            group("set = [\"ff.margin=0.5\"]"),
            "the bp agent does not read [ff]",
        ),
        (
            "a sweep axis the agent does not read",
            format!("name = \"x\"\nseeds = 2\n[[sweep]]\nname = \"s\"\nagent = \"bp\"\nconfig = \"{cfg}\"\naxes = [{{ key = \"ff.margin\", values = [0.5, 1.0] }}]\n"),
            "the bp agent does not read [ff]",
        ),
        (
            "a config without the agent's section",
            group("").replace("\"bp\"", "\"local-td\""),
            "has no [local-td] section",
        ),
        (
            "sweep without axes",
            format!("name = \"x\"\nseeds = 2\n[[sweep]]\nname = \"s\"\nagent = \"ff\"\nconfig = \"{cfg}\"\n"),
            "axes",
        ),
    ];
    for (what, body, needle) in cases {
        let file = write(&dir, "bad.toml", &body);
        let o = ffdqn(&[
            "experiment",
            "run",
            &file,
            "--out",
            dir.join("out").to_str().expect("utf8"),
        ]);
        assert_eq!(o.status.code(), Some(2), "{what}: {}", text(&o));
        assert!(text(&o).contains(needle), "{what}: {}", text(&o));
        assert!(!dir.join("out/runs").exists(), "{what}: no run may start");
    }
    for (args, needle) in [
        (
            vec!["experiment", "run", "/nonexistent.toml"],
            "/nonexistent.toml",
        ),
        (
            vec!["experiment", "run", &paper(), "--seeds", "0"],
            "--seeds",
        ),
        (vec!["experiment", "run", &paper(), "--jobs", "x"], "--jobs"),
        (
            vec!["experiment", "run", &paper(), "--backend", "pbs"],
            "pbs",
        ),
        (
            vec!["experiment", "report", "--out", "/nonexistent"],
            "plan.json",
        ),
    ] {
        let o = ffdqn(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(text(&o).contains(needle), "{args:?}: {}", text(&o));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Ctrl-C on `ffdqn experiment run`: the runs under way stop with checkpoints, the process
/// exits 130 naming the command that continues them, and that command ends with the numbers of
/// an experiment never interrupted.
#[cfg(unix)]
#[test]
fn an_interrupted_experiment_continues_to_the_same_numbers() {
    let dir = temp_dir("exp-sigint");
    let paper = root().join("configs/paper.toml").display().to_string();
    let file = write(
        &dir,
        "long.toml",
        &format!(
            "name = \"long\"\nseeds = 2\n[[group]]\nname = \"bp\"\nagent = \"bp\"\nconfig = {paper:?}\nset = [\"train.epochs=80\", \"train.episodes-per-epoch=4\", \"train.eval-episodes=1\", \"train.final-eval-episodes=3\"]\n"
        ),
    );
    let straight = dir.join("straight");
    let o = ffdqn(&[
        "experiment",
        "run",
        &file,
        "--out",
        straight.to_str().expect("utf8"),
    ]);
    assert!(o.status.success(), "{}", text(&o));

    let out = dir.join("stopped");
    let out_s = out.to_str().expect("utf8");
    let child = spawn(&["experiment", "run", &file, "--jobs", "2", "--out", out_s]);
    // Wait until a run has written a few epochs into its partial directory.
    wait_for_lines(&out.join("runs/bp/.seed-0.partial/metrics.csv"), 3);
    signal(&child, "INT");
    let o = child.wait_with_output().expect("wait");
    let msg = text(&o);
    assert_eq!(o.status.code(), Some(130), "{msg}");
    assert!(
        msg.contains("SIGINT: ")
            && msg.contains("stopped with a checkpoint")
            && msg.contains("again to continue them"),
        "{msg}"
    );
    assert!(out.join("runs/bp/.seed-0.partial/checkpoint.bin").exists());

    let o = ffdqn(&["experiment", "run", &file, "--out", out_s]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(runs_without_time(&out), runs_without_time(&straight));
    assert_eq!(
        read(&out.join("all_epochs.csv")),
        read(&straight.join("all_epochs.csv"))
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A peer group (another implementation's runs, e.g. SB3's) is never trained by ffdqn; the
/// report leaves it out, naming its command, until its runs are there in ffdqn's run-directory
/// form, and then puts it beside ffdqn's groups with its comparison.
#[test]
fn a_peer_groups_runs_are_read_not_trained() {
    let dir = temp_dir("exp-peer");
    let cfg = write(
        &dir,
        "tiny.toml",
        "[train]\ntotal-steps = 600\nlog-every-steps = 300\nlearning-starts = 128\nbuffer-size = 2000\nwarm-up = \"uniform\"\neval-episodes = 1\nfinal-eval-episodes = 2\nepsilon = { start = 1.0, end = 0.05, fraction = 0.5 }\n[bp]\n",
    );
    let file = write(
        &dir,
        "peer.toml",
        &format!(
            "name = \"peer\"\nseeds = 2\n\n[[group]]\nname = \"ours\"\nagent = \"bp\"\nconfig = \"{cfg}\"\n\n[[group]]\nname = \"theirs\"\nagent = \"bp\"\nconfig = \"{cfg}\"\npeer = \"make-theirs --out OUT/runs/theirs\"\n\n[[compare]]\nx = \"ours\"\ny = \"theirs\"\n"
        ),
    );
    let out = dir.join("out");
    let out_s = out.to_str().expect("utf8");
    let o = ffdqn(&["experiment", "run", &file, "--out", out_s]);
    let log = text(&o);
    assert!(o.status.success(), "{log}");
    assert_eq!(log.matches("final greedy return").count(), 2, "{log}");
    assert!(log.contains("2 of peer groups"), "{log}");
    assert!(!out.join("runs/theirs").exists(), "ffdqn trained the peer");
    let report = read(&out.join("REPORT.md"));
    assert!(
        report.contains("`theirs` left out: 0 of its 2 runs found; `make-theirs --out OUT/runs/theirs` writes them"),
        "{report}"
    );
    assert!(!report.contains("| ours | theirs |"), "{report}");
    // The peer writes its runs in ffdqn's form (here: copies of ours, with its peer.json).
    let copy_run = |seed: u64| {
        let from = out.join(format!("runs/ours/seed-{seed}"));
        let to = out.join(format!("runs/theirs/seed-{seed}"));
        std::fs::create_dir_all(&to).expect("mkdir");
        for f in ["config.toml", "run.json", "metrics.csv", "summary.json"] {
            std::fs::copy(from.join(f), to.join(f)).expect("copy");
        }
        write(
            &to,
            "peer.json",
            "{\"peer\": \"a test double\", \"threads\": 1}",
        );
    };
    // One seed of two: the group is reported on the seed it has, and the note says so.
    copy_run(1);
    let o = ffdqn(&["experiment", "report", "--out", out_s]);
    assert!(o.status.success(), "{}", text(&o));
    let report = read(&out.join("REPORT.md"));
    assert!(
        report.contains(
            "`theirs`: 1 of its 2 runs found (seeds 1), and its statistics are over those"
        ),
        "{report}"
    );
    assert!(report.contains("| ours | theirs |"), "{report}");
    copy_run(0);
    let o = ffdqn(&["experiment", "report", "--out", out_s]);
    assert!(o.status.success(), "{}", text(&o));
    let report = read(&out.join("REPORT.md"));
    assert!(
        report.contains("`theirs`: peer a test double, threads 1"),
        "{report}"
    );
    // Identical runs: a tie.
    assert!(report.contains("| ours | theirs | 0.50"), "{report}");
    let runs = read(&out.join("runs.csv"));
    assert_eq!(
        runs.lines().filter(|l| l.starts_with("theirs,")).count(),
        2,
        "{runs}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
