//! An experiment's output directory: the one owner of every path in it, as `RunDir` is of a
//! run's files.
//!
//! ```text
//! plan.json                             the expanded experiment
//! runs/<group>/seed-<n>/                a finished run (a RunDir), renamed into place
//! runs/<group>/.seed-<n>.partial/       a run being trained, or stopped with a checkpoint
//! failures/<group>.seed-<n>.txt         the error a failed run left
//! REPORT.md, runs.csv, all_epochs.csv   the report and its tables
//! memory.json, <figure>.svg, .png       the memory study and the figures
//! slurm/tasks-<stamp>.txt               a submission's run indices
//! slurm/array-<stamp>-<k>.sbatch        its job arrays
//! slurm/report-<stamp>.sbatch           its report job
//! slurm/logs/task-<job>_<task>.log      the jobs' logs (report-<job>.log for the report job)
//! ```

use std::path::{Path, PathBuf};

/// An experiment's output directory (nothing is read or created by naming it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExperimentDir {
    root: PathBuf,
}

impl ExperimentDir {
    /// The experiment directory at `root`.
    pub fn at(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `plan.json`.
    pub fn plan(&self) -> PathBuf {
        self.root.join("plan.json")
    }

    /// `REPORT.md`.
    pub fn report(&self) -> PathBuf {
        self.root.join("REPORT.md")
    }

    /// `runs.csv`: one row per run.
    pub fn runs_csv(&self) -> PathBuf {
        self.root.join("runs.csv")
    }

    /// `all_epochs.csv`: every epoch of every run.
    pub fn all_epochs_csv(&self) -> PathBuf {
        self.root.join("all_epochs.csv")
    }

    /// `memory.json`: the memory study's rows.
    pub fn memory_json(&self) -> PathBuf {
        self.root.join("memory.json")
    }

    /// A figure, `<stem>.<ext>` (`svg` or `png`).
    pub fn figure(&self, stem: &str, ext: &str) -> PathBuf {
        self.root.join(format!("{stem}.{ext}"))
    }

    /// A finished run: `runs/<group>/seed-<seed>`.
    pub fn run(&self, group: &str, seed: u64) -> PathBuf {
        self.root
            .join("runs")
            .join(group)
            .join(format!("seed-{seed}"))
    }

    /// Where a run trains until it has finished, beside its final place.
    pub fn partial(&self, group: &str, seed: u64) -> PathBuf {
        self.root
            .join("runs")
            .join(group)
            .join(format!(".seed-{seed}.partial"))
    }

    /// The error a failed run left.
    pub fn failure(&self, group: &str, seed: u64) -> PathBuf {
        self.root
            .join("failures")
            .join(format!("{group}.seed-{seed}.txt"))
    }

    /// `slurm/`: a submission's scripts and task lists.
    pub fn slurm(&self) -> PathBuf {
        self.root.join("slurm")
    }

    /// `slurm/logs/`.
    pub fn slurm_logs(&self) -> PathBuf {
        self.slurm().join("logs")
    }

    /// The task list of the submission `stamp`.
    pub fn task_list(&self, stamp: u128) -> PathBuf {
        self.slurm().join(format!("tasks-{stamp}.txt"))
    }

    /// Job array `k` of the submission `stamp`.
    pub fn array_script(&self, stamp: u128, k: usize) -> PathBuf {
        self.slurm().join(format!("array-{stamp}-{k}.sbatch"))
    }

    /// The report job of the submission `stamp`.
    pub fn report_script(&self, stamp: u128) -> PathBuf {
        self.slurm().join(format!("report-{stamp}.sbatch"))
    }

    /// Slurm's `--output` pattern of array tasks (`%A` the array's job, `%a` the task).
    pub fn task_log_pattern(&self) -> PathBuf {
        self.slurm_logs().join("task-%A_%a.log")
    }

    /// Slurm's `--output` pattern of the report job (`%j` its job).
    pub fn report_log_pattern(&self) -> PathBuf {
        self.slurm_logs().join("report-%j.log")
    }

    /// The report job `job`'s log.
    pub fn report_log(&self, job: u64) -> PathBuf {
        self.slurm_logs().join(format!("report-{job}.log"))
    }
}
