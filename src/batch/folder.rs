//! What a folder is, for the commands that read results (`reconf plot`, `reconf compare`): a run
//! folder, a finished sweep folder, or a sweep folder whose sweep has not finished (still
//! running, killed, or waiting for cluster jobs), with a message that says which and what to do.

use super::collect::run_dir;
use super::lock::is_in_use;
use super::spec::RunKey;
use super::Manifest;
use std::path::Path;

/// What a folder holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FolderKind {
    /// `timeseries.csv` or `summary.json` of one run.
    Run,
    /// A sweep whose tables are written (`aggregate.csv`) and that no sweep is writing now.
    Sweep,
    /// A sweep folder without its tables yet, or one that a sweep is writing now.
    UnfinishedSweep {
        /// Runs with a summary, of `total` (`None` when `sweep.json` is not written yet).
        done: u64,
        total: Option<u64>,
        in_use: bool,
    },
    /// Anything else.
    Other,
}

/// Looks at `dir`.
pub fn inspect(dir: &Path) -> FolderKind {
    let is_sweep = dir.join("sweep.json").is_file() || dir.join("runs").is_dir();
    if !is_sweep {
        if dir.join("timeseries.csv").is_file() || dir.join("summary.json").is_file() {
            return FolderKind::Run;
        }
        return FolderKind::Other;
    }
    let in_use = is_in_use(dir);
    if dir.join("aggregate.csv").is_file() && !in_use {
        return FolderKind::Sweep;
    }
    let manifest: Option<Manifest> = std::fs::read_to_string(dir.join("sweep.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    let (done, total) = match manifest {
        Some(m) => {
            let mut done = 0;
            for c in &m.configs {
                for i in 0..m.seeds {
                    let id = RunKey {
                        config: c.config,
                        seed: m.first_seed + i,
                    }
                    .id();
                    done += u64::from(run_dir(dir, &id).join("summary.json").is_file());
                }
            }
            (done, Some(m.configs.len() as u64 * m.seeds))
        }
        None => (0, None),
    };
    FolderKind::UnfinishedSweep {
        done,
        total,
        in_use,
    }
}

/// The one-line reason why `dir` cannot be read as a finished run or sweep, or `None` when it
/// can (`Run` or `Sweep`).
pub fn not_ready_message(dir: &Path) -> Option<String> {
    match inspect(dir) {
        FolderKind::Run | FolderKind::Sweep => None,
        FolderKind::UnfinishedSweep {
            done,
            total,
            in_use,
        } => {
            let count = match total {
                Some(t) => format!("{done} of {t} runs finished"),
                None => "it is just starting".to_string(),
            };
            let what = if in_use {
                "a sweep is writing it now: wait for it to end"
            } else {
                "no sweep is writing it now (interrupted, or waiting for cluster jobs): run the \
same `reconf sweep` command again to finish it"
            };
            Some(format!(
                "a sweep folder whose sweep has not finished ({count}; its tables, aggregate.csv \
and runs.csv, are written at the end); {what}"
            ))
        }
        FolderKind::Other => Some(
            "neither a run folder (timeseries.csv, summary.json) nor a sweep folder (sweep.json, \
runs/)"
                .to_string(),
        ),
    }
}
