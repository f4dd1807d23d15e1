//! `cargo xtask experiment`: the paper reproduced in one command.
//!
//! Runs BP-DQN and FF-DQN on `configs/paper.toml`, and the two FF ablations
//! (`configs/paper-text.toml`, `configs/paper-ff-warmstart.toml`), each on the same seeds,
//! spread over threads; runs whose `summary.json` exists are skipped, so an interrupted
//! experiment resumes. Then the memory study, the aggregated CSVs, the figures and REPORT.md
//! with a verdict on each of the paper's claims.

mod memory;
mod plots;
mod report;
pub mod stats;

use agents::io::write_atomic;
use agents::output::{Summary, epochs_csv};
use agents::rng::{Stream, stream};
use agents::{AgentKind, Config, LoopState, build, train};
use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

const USAGE: &str = "\
usage: cargo xtask experiment [--seeds N] [--jobs N] [--out DIR] [--quick] [--force]

  --seeds N   seeds per group, 0..N (default 10; 2 with --quick)
  --jobs N    runs in parallel (default: every core)
  --out DIR   where results go (default results/)
  --quick     smoke run: few epochs, 2 seeds, small memory study (under a minute)
  --force     rerun runs whose results already exist
";

pub struct Args {
    seeds: Option<u64>,
    jobs: usize,
    out: PathBuf,
    quick: bool,
    force: bool,
}

fn parse(args: &[String]) -> Result<Args> {
    let mut a = Args {
        seeds: None,
        jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
        out: crate::project_root().join("results"),
        quick: false,
        force: false,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .with_context(|| format!("{name} needs a value\n\n{USAGE}"))
        };
        match flag.as_str() {
            "--seeds" => {
                let v = value("--seeds")?;
                let n: u64 = v
                    .parse()
                    .ok()
                    .filter(|&n| n >= 1)
                    .with_context(|| format!("--seeds {v}: expected an integer >= 1"))?;
                a.seeds = Some(n);
            }
            "--jobs" => {
                let v = value("--jobs")?;
                a.jobs = v
                    .parse()
                    .ok()
                    .filter(|&n| n >= 1)
                    .with_context(|| format!("--jobs {v}: expected an integer >= 1"))?;
            }
            "--out" => a.out = PathBuf::from(value("--out")?),
            "--quick" => a.quick = true,
            "--force" => a.force = true,
            "-h" | "--help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown option `{other}`\n\n{USAGE}"),
        }
    }
    Ok(a)
}

/// A set of runs on one config and agent, one per seed.
pub struct Group {
    pub name: &'static str,
    pub label: &'static str,
    pub agent: AgentKind,
    pub config_file: &'static str,
    pub config: Config,
}

fn load_groups(quick: bool) -> Result<Vec<Group>> {
    let specs: [(&str, &str, AgentKind, &str); 4] = [
        ("bp", "BP-DQN (paper.toml)", AgentKind::Bp, "paper.toml"),
        ("ff", "FF-DQN (paper.toml)", AgentKind::Ff, "paper.toml"),
        (
            "ff-text",
            "FF-DQN (paper-text.toml)",
            AgentKind::Ff,
            "paper-text.toml",
        ),
        (
            "ff-warmstart",
            "FF-DQN, BP warm start (paper-ff-warmstart.toml)",
            AgentKind::Ff,
            "paper-ff-warmstart.toml",
        ),
    ];
    specs
        .into_iter()
        .map(|(name, label, agent, file)| {
            let mut config = Config::load(&crate::project_root().join("configs").join(file))?;
            if quick {
                let mut sets = vec![
                    "train.epochs=6",
                    "train.episodes-per-epoch=6",
                    "train.learning-starts=256",
                    "train.eval-episodes=2",
                    "train.final-eval-episodes=5",
                ];
                if config.ff().bp_warmstart_steps.is_some() {
                    sets.push("ff.bp-warmstart-steps=100");
                }
                config = config.with_overrides(&sets)?;
            }
            Ok(Group {
                name,
                label,
                agent,
                config_file: file,
                config,
            })
        })
        .collect()
}

pub fn run_dir(out: &Path, group: &str, seed: u64) -> PathBuf {
    out.join("runs").join(group).join(format!("seed-{seed}"))
}

/// Trains one run, writing its files atomically as it goes; the summary is written last, so
/// its presence marks a finished run.
fn run_one(g: &Group, seed: u64, dir: &Path) -> Result<Summary> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let cfg = &g.config;
    write_atomic(&dir.join("config.toml"), cfg.to_toml().as_bytes())?;
    let mut agent = build(g.agent, cfg, &mut stream(seed, Stream::Init))?;
    let mut st = LoopState::new(cfg, seed)?;
    let n_hidden = cfg.hidden().len();
    let run = train(agent.as_mut(), cfg, seed, &mut st, &mut |_, st, _| {
        write_atomic(
            &dir.join("metrics.csv"),
            epochs_csv(&st.history, n_hidden).as_bytes(),
        )
    })
    .with_context(|| format!("{} seed {seed}", g.name))?;
    let summary = Summary::new(g.agent, seed, g.config_file, &run);
    write_atomic(
        &dir.join("summary.json"),
        serde_json::to_string_pretty(&summary)?.as_bytes(),
    )?;
    Ok(summary)
}

pub fn run(args: &[String]) -> Result<()> {
    let a = parse(args)?;
    let started = Instant::now();
    let seeds = a.seeds.unwrap_or(if a.quick { 2 } else { 10 });
    let groups = load_groups(a.quick)?;
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("cannot create {}", a.out.display()))?;
    plots::register_font()?;

    // The memory study first, alone: the counting allocator must see no other thread.
    let (depths, width, batch): (&[usize], usize, usize) = if a.quick {
        (&[2, 4], 64, 32)
    } else {
        (&[2, 4, 8, 16, 32], 256, 128)
    };
    eprintln!("memory study: depths {depths:?}, width {width}, batch {batch}");
    let mem = memory::study(&groups[0].config, depths, width, batch)?;
    write_atomic(
        &a.out.join("memory.json"),
        serde_json::to_string_pretty(&mem)?.as_bytes(),
    )?;

    // The runs.
    let plan: Vec<(usize, u64)> = (0..groups.len())
        .flat_map(|g| (0..seeds).map(move |s| (g, s)))
        .collect();
    let todo: Vec<(usize, u64)> = plan
        .iter()
        .copied()
        .filter(|&(g, s)| {
            a.force
                || !run_dir(&a.out, groups[g].name, s)
                    .join("summary.json")
                    .exists()
        })
        .collect();
    let skipped = plan.len() - todo.len();
    eprintln!(
        "{} runs ({} groups × {seeds} seeds): {} to run on {} threads, {skipped} already done (skipped; --force reruns)",
        plan.len(),
        groups.len(),
        todo.len(),
        a.jobs.min(todo.len().max(1))
    );
    let bar = (std::io::stderr().is_terminal() && !todo.is_empty()).then(|| {
        let bar = ProgressBar::new(todo.len() as u64);
        bar.set_style(
            ProgressStyle::with_template("[{bar:40}] {pos}/{len} runs ({elapsed}, eta {eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar
    });
    let next = AtomicUsize::new(0);
    let finished = AtomicUsize::new(0);
    let errors = Mutex::new(Vec::new());
    let runs_started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..a.jobs.min(todo.len()) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&(g, seed)) = todo.get(i) else { break };
                    let group = &groups[g];
                    let t0 = Instant::now();
                    let result = run_one(group, seed, &run_dir(&a.out, group.name, seed));
                    let done = finished.fetch_add(1, Ordering::Relaxed) + 1;
                    let line = match &result {
                        Ok(s) => format!(
                            "[{done}/{}] {} seed {seed}: final greedy return {:.1} ± {:.1}, {} env steps in {:.1} s",
                            todo.len(),
                            group.name,
                            s.final_eval.mean,
                            s.final_eval.std,
                            s.env_steps,
                            t0.elapsed().as_secs_f64()
                        ),
                        Err(e) => format!("[{done}/{}] {} seed {seed}: FAILED: {e:#}", todo.len(), group.name),
                    };
                    match &bar {
                        Some(bar) => {
                            bar.println(line);
                            bar.inc(1);
                        }
                        None => {
                            let elapsed = runs_started.elapsed().as_secs_f64();
                            let eta = elapsed / done as f64 * (todo.len() - done) as f64;
                            eprintln!("{line} (eta {eta:.0} s)");
                        }
                    }
                    if let Err(e) = result {
                        errors.lock().unwrap_or_else(|p| p.into_inner()).push(format!("{e:#}"));
                    }
                }
            });
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let errors = errors.into_inner().unwrap_or_else(|p| p.into_inner());
    if !errors.is_empty() {
        bail!(
            "{} run(s) failed (finished runs are kept; rerun to resume):\n  {}",
            errors.len(),
            errors.join("\n  ")
        );
    }
    let data = report::load_all(&a.out, &groups, seeds)?;
    report::write_csvs(&a.out, &groups, &data)?;
    report::figures(&a.out, &groups, &data, &mem)?;
    let wall = started.elapsed().as_secs_f64();
    let text = report::report(&a.out, &groups, &data, &mem, seeds, a.quick, wall, skipped)?;
    write_atomic(&a.out.join("REPORT.md"), text.as_bytes())?;
    eprintln!("done in {wall:.0} s: {}", a.out.join("REPORT.md").display());
    Ok(())
}
