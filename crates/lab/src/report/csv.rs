//! The report's CSVs: `all_epochs.csv` (every epoch of every run) and `runs.csv` (one row per run).

use super::{Group, RunData};
use crate::error::Result;
use crate::plan::Plan;
use crate::write_file;
use std::fmt::Write;
use std::path::Path;

fn cell(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        String::new()
    }
}

/// A text field of a CSV row, quoted when it holds a comma, a quote or a line break (RFC 4180):
/// a sweep over two axes names its groups `ff.ff.margin=2,ff.update-prob=1`.
fn csv_text(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\"")).into()
    } else {
        s.into()
    }
}

/// `all_epochs.csv` (every epoch of every run, long format) and `runs.csv` (one row per run).
pub(super) fn write_csvs(
    out: &Path,
    plan: &Plan,
    groups: &[Group],
    data: &[Vec<RunData>],
) -> Result<()> {
    let max_layers = groups
        .iter()
        .map(|g| g.config.hidden().len())
        .max()
        .unwrap_or(0);
    let mut csv =
        String::from("group,agent,config,seed,epoch,env_steps,train_return,eval_return,td_loss");
    for k in 1..=max_layers {
        let _ = write!(csv, ",ff_l{k}_g_pos,ff_l{k}_g_neg");
    }
    csv.push('\n');
    let threshold_name = plan
        .common_threshold()
        .map_or_else(|| "threshold".to_string(), |t| t.to_string());
    let mut runs = format!(
        "group,agent,config,seed,final_return_mean,final_return_std,epochs_to_ma10_{threshold_name},last20_train_std,wall_seconds\n",
    );
    for ((g, runs_of), gp) in groups.iter().zip(data).zip(&plan.groups) {
        let threshold = gp.threshold;
        for r in runs_of {
            for e in 0..r.train.len() {
                let _ = write!(
                    csv,
                    "{},{},{},{},{},{},{},{},{}",
                    csv_text(&g.name),
                    g.agent,
                    csv_text(&g.config_file),
                    r.seed,
                    e + 1,
                    r.env_steps[e],
                    cell(r.train[e]),
                    cell(r.eval[e]),
                    cell(r.td_loss[e])
                );
                for k in 0..max_layers {
                    let at = |v: &Vec<Vec<f64>>| {
                        v.get(k).and_then(|l| l.get(e)).copied().unwrap_or(f64::NAN)
                    };
                    let _ = write!(csv, ",{},{}", cell(at(&r.g_pos)), cell(at(&r.g_neg)));
                }
                csv.push('\n');
            }
            let _ = writeln!(
                runs,
                "{},{},{},{},{},{},{},{},{:.2}",
                csv_text(&g.name),
                g.agent,
                csv_text(&g.config_file),
                r.seed,
                r.final_mean,
                r.final_std,
                r.epochs_to_threshold(threshold)
                    .map_or(String::new(), |e| e.to_string()),
                r.last20_std(),
                r.wall
            );
        }
    }
    let dir = crate::ExperimentDir::at(out);
    write_file(&dir.all_epochs_csv(), csv.as_bytes())?;
    write_file(&dir.runs_csv(), runs.as_bytes())?;
    Ok(())
}
