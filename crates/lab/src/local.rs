//! The local backend: a pool of threads over this machine's cores, longest runs first.
//!
//! Runs of one plan differ several-fold in length (BP-DQN survives longer episodes than
//! FF-DQN), and a pool that starts them in plan order leaves the last long runs finishing
//! alone. The pool starts them in order of expected duration, longest first (the LPT rule,
//! within 4/3 of the best possible schedule): the expected duration of a group is the mean wall
//! time of its runs already finished in the output directory, or, before any has, a prior from
//! its budget (epochs × episodes × episode cap) and agent.

use crate::error::{Result, chain};
use crate::plan::Plan;
use crate::runner::{TaskOutcome, is_done, run_task};
use agents::config::Budget;
use agents::{Family, QRule, RunDir};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// What the local backend reports as it goes.
#[derive(Debug, Clone)]
pub enum Event {
    /// The schedule: runs to do (plan indices, in start order) and runs already finished.
    Planned {
        /// Runs to do, in the order they start.
        todo: Vec<usize>,
        /// Runs skipped because they had finished.
        skipped: usize,
        /// Threads.
        jobs: usize,
    },
    /// A run finished.
    Finished {
        /// Plan index.
        index: usize,
        /// Mean final greedy return.
        final_return: f64,
        /// Its environment steps.
        env_steps: u64,
        /// Its wall time.
        seconds: f64,
        /// Runs finished or failed so far in this invocation.
        done: usize,
        /// Runs to do in this invocation.
        total: usize,
    },
    /// A run failed (the others go on).
    Failed {
        /// Plan index.
        index: usize,
        /// The error, with its causes.
        error: String,
        /// Runs finished or failed so far.
        done: usize,
        /// Runs to do.
        total: usize,
    },
}

/// What an invocation of the local backend did.
#[derive(Debug, Clone)]
pub struct LocalOutcome {
    /// Runs trained.
    pub ran: usize,
    /// Runs skipped (already finished).
    pub skipped: usize,
    /// Runs that failed: `(plan index, error)`.
    pub failed: Vec<(usize, String)>,
    /// Runs stopped on request, each with a checkpoint to continue from.
    pub stopped: Vec<usize>,
    /// Threads the runs were spread over (`jobs`, or fewer when there were fewer runs).
    pub threads: usize,
    /// Wall time of the runs.
    pub seconds: f64,
    /// The sum of the runs' own wall times (CPU time, one thread each).
    pub run_seconds: f64,
    /// The longest run.
    pub longest: f64,
}

/// A prior on a group's duration, before any of its runs has finished: the budget in
/// environment steps, weighted by how long the agent's episodes tend to be (an agent that
/// learns plays the full episodes; FF-DQN's stay short) and by its network's size.
fn prior_seconds(plan: &Plan, g: usize) -> f64 {
    let Ok(cfg) = plan.config(g) else { return 0.0 };
    let t = cfg.train();
    let Some(steps) = t.max_env_steps(cfg.env().max_episode_steps) else {
        return 0.0;
    };
    // An epochs budget counts full-length episodes: agents that learn play them, FF-DQN's
    // stay short. A step budget is taken whole, its cost per step growing with the updates.
    let weight = match (t.budget, plan.groups[g].agent.family()) {
        (Budget::Steps { .. }, _) => 3.0 * t.gradient_steps as f64 / t.train_frequency as f64,
        (Budget::Episodes { .. }, Family::Q(QRule::Ff)) => 1.0,
        (Budget::Episodes { .. }, Family::Q(QRule::Bp) | Family::Local(_)) => 3.0,
    };
    let budget = steps as f64 * weight;
    let widths: Vec<f64> = std::iter::once(4.0)
        .chain(cfg.hidden().iter().map(|&w| w as f64))
        .collect();
    let params: f64 = widths.windows(2).map(|w| w[0] * w[1]).sum();
    budget * (1.0 + params / 10_000.0)
}

/// Expected seconds of each group: measured where runs have finished, the prior otherwise
/// (scaled so that the two agree on groups that have both).
pub fn expected_seconds(plan: &Plan, out: &Path) -> Vec<f64> {
    let measured: Vec<Option<f64>> = (0..plan.groups.len())
        .map(|g| {
            let walls: Vec<f64> = plan
                .runs_of(g)
                .filter_map(|i| RunDir::at(plan.run_path(out, i)).read_summary().ok())
                .map(|s| s.wall_seconds)
                .collect();
            (!walls.is_empty()).then(|| walls.iter().sum::<f64>() / walls.len() as f64)
        })
        .collect();
    let priors: Vec<f64> = (0..plan.groups.len())
        .map(|g| prior_seconds(plan, g))
        .collect();
    let (m, p) = measured
        .iter()
        .zip(&priors)
        .filter_map(|(m, &p)| m.map(|m| (m, p)))
        .fold((0.0, 0.0), |(a, b), (m, p)| (a + m, b + p));
    let scale = if p > 0.0 { m / p } else { 1.0 };
    measured
        .iter()
        .zip(&priors)
        .map(|(m, &p)| m.unwrap_or(p * if scale > 0.0 { scale } else { 1.0 }))
        .collect()
}

/// The shared state of the local backend's threads: the runs to do, and what came of them.
struct Pool<'a> {
    plan: &'a Plan,
    out: &'a Path,
    force: bool,
    code: &'a agents::Provenance,
    on_event: &'a (dyn Fn(Event) + Sync),
    stop: &'a (dyn Fn() -> bool + Sync),
    /// Plan indices, in the order they start.
    todo: &'a [usize],
    next: AtomicUsize,
    done: AtomicUsize,
    failed: Mutex<Vec<(usize, String)>>,
    stopped: Mutex<Vec<usize>>,
    walls: Mutex<Vec<f64>>,
}

impl Pool<'_> {
    /// One thread: takes the next run until none is left; once a stop is asked for, no run
    /// starts (the running ones checkpoint).
    fn work(&self) {
        while !(self.stop)() {
            let k = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(&index) = self.todo.get(k) else {
                break;
            };
            let t0 = Instant::now();
            let result = run_task(self.plan, self.out, index, self.force, self.code, self.stop);
            let seconds = t0.elapsed().as_secs_f64();
            let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
            let total = self.todo.len();
            match result {
                Ok(TaskOutcome::Finished(s)) => {
                    lock(&self.walls).push(s.wall_seconds);
                    (self.on_event)(Event::Finished {
                        index,
                        final_return: s.final_eval.mean,
                        env_steps: s.env_steps,
                        seconds,
                        done,
                        total,
                    });
                }
                Ok(TaskOutcome::AlreadyDone) => {}
                Ok(TaskOutcome::Stopped { .. }) => lock(&self.stopped).push(index),
                Err(e) => {
                    let error = chain(&e);
                    (self.on_event)(Event::Failed {
                        index,
                        error: error.clone(),
                        done,
                        total,
                    });
                    lock(&self.failed).push((index, error));
                }
            }
        }
    }
}

/// A mutex's contents, also after a thread panicked while holding it (the data are plain
/// lists, valid at every step).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs every unfinished run of `plan` (every run, with `force`) on `jobs` threads, longest
/// expected first. A failed run is reported and the others go on.
pub fn run(
    plan: &Plan,
    out: &Path,
    jobs: usize,
    force: bool,
    code: &agents::Provenance,
    on_event: &(dyn Fn(Event) + Sync),
    stop: &(dyn Fn() -> bool + Sync),
) -> Result<LocalOutcome> {
    let mut todo = Vec::new();
    for i in 0..plan.runs.len() {
        if !plan.is_peer_run(i) && (force || !is_done(plan, out, i)?) {
            todo.push(i);
        }
    }
    // Already done; a peer group's runs are neither done nor to do here.
    let skipped = plan.runs.len() - todo.len() - plan.peer_runs();
    let expected = expected_seconds(plan, out);
    // Longest first; ties keep plan order, so the schedule is deterministic.
    todo.sort_by(|&a, &b| {
        expected[plan.runs[b].group]
            .total_cmp(&expected[plan.runs[a].group])
            .then(a.cmp(&b))
    });
    let jobs = jobs.max(1).min(todo.len().max(1));
    on_event(Event::Planned {
        todo: todo.clone(),
        skipped,
        jobs,
    });
    let pool = Pool {
        plan,
        out,
        force,
        code,
        on_event,
        stop,
        todo: &todo,
        next: AtomicUsize::new(0),
        done: AtomicUsize::new(0),
        failed: Mutex::new(Vec::new()),
        stopped: Mutex::new(Vec::new()),
        walls: Mutex::new(Vec::new()),
    };
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| pool.work());
        }
    });
    let Pool {
        failed,
        stopped,
        walls,
        ..
    } = pool;
    let mut failed = failed.into_inner().unwrap_or_else(|p| p.into_inner());
    failed.sort_by_key(|(i, _)| *i);
    let walls = walls.into_inner().unwrap_or_else(|p| p.into_inner());
    let mut stopped = stopped.into_inner().unwrap_or_else(|p| p.into_inner());
    stopped.sort_unstable();
    Ok(LocalOutcome {
        stopped,
        ran: walls.len(),
        skipped,
        failed,
        threads: jobs,
        seconds: started.elapsed().as_secs_f64(),
        run_seconds: walls.iter().sum(),
        longest: walls.iter().copied().fold(0.0, f64::max),
    })
}
