//! Scenario batches (`reconf sweep`): scenarios × the cartesian product of `--set` axes × seeds,
//! run in parallel, resumable, aggregated with confidence intervals.
//!
//! A sweep folder `DIR` holds:
//! - `runs/<id>/`: each run exactly as `reconf run` writes it, `summary.json` last, or
//!   `error.txt` when the run failed (a bad parameter combination, a panic, a write error);
//! - `runs.csv`: a row per run (configuration, seed, status, every numeric summary key);
//! - `aggregate.csv`: a row per configuration (mean, sd, 95% CI of each key; with a baseline,
//!   the paired per-seed differences and their CI);
//! - `sweep.json`: what was swept (scenarios, axes, seeds, baseline, labels), for `reconf plot`.
//!
//! Resuming: a run is finished when its `summary.json` exists (written last and atomically), so a
//! sweep killed at any point and started again with the same arguments redoes only the runs
//! without one, after removing whatever they left. The CSVs are rebuilt from the folders at the
//! end (`collect`).

pub mod collect;
pub mod files;
pub mod spec;
pub mod stats;

use crate::report::atomic::write_atomic;
use crate::scenario::load::load;
use crate::scenario::InputError;
use crate::sim::Simulation;
use collect::{collect, read_run, run_dir, Collected, RunState};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::Serialize;
use spec::{RunKey, SweepSpec};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// How progress is shown on stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// An indicatif bar (stderr is a terminal).
    Bar,
    /// A plain line now and then (logs, CI).
    Lines,
    /// Nothing (library use, tests, benchmarks).
    Quiet,
}

#[derive(Clone, Debug)]
pub struct SweepOptions {
    pub out: PathBuf,
    /// Worker threads (≥ 1).
    pub threads: usize,
    pub progress: Progress,
}

/// Why a sweep could not run.
#[derive(Debug)]
pub enum SweepError {
    /// Bad input, found before anything was written: exit code 2.
    Input(InputError),
    /// Writing the sweep folder failed: exit code 1.
    Io(String),
}

impl From<InputError> for SweepError {
    fn from(e: InputError) -> Self {
        SweepError::Input(e)
    }
}

/// What a sweep did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SweepReport {
    pub runs: u64,
    /// Finished by an earlier invocation and kept.
    pub skipped: u64,
    /// Run by this invocation (successfully or not).
    pub ran: u64,
    pub collected: Collected,
}

/// `sweep.json`: what the folder holds, for plots and for people.
#[derive(Serialize, serde::Deserialize, Clone, Debug, PartialEq)]
pub struct Manifest {
    pub scenarios: Vec<ManifestScenario>,
    pub fixed_sets: Vec<String>,
    pub axes: Vec<ManifestAxis>,
    pub seeds: u64,
    pub baseline: Vec<String>,
    pub configs: Vec<ManifestConfig>,
}

#[derive(Serialize, serde::Deserialize, Clone, Debug, PartialEq)]
pub struct ManifestScenario {
    pub label: String,
    pub path: String,
}

#[derive(Serialize, serde::Deserialize, Clone, Debug, PartialEq)]
pub struct ManifestAxis {
    pub column: String,
    pub values: Vec<String>,
}

#[derive(Serialize, serde::Deserialize, Clone, Debug, PartialEq)]
pub struct ManifestConfig {
    pub config: usize,
    pub label: String,
    pub baseline: Option<usize>,
}

impl Manifest {
    pub fn of(spec: &SweepSpec) -> Self {
        Manifest {
            scenarios: spec
                .scenarios
                .iter()
                .map(|s| ManifestScenario {
                    label: s.label.clone(),
                    path: s.path.display().to_string(),
                })
                .collect(),
            fixed_sets: spec.fixed_sets.clone(),
            axes: spec
                .axes
                .iter()
                .map(|a| ManifestAxis {
                    column: a.column.clone(),
                    values: a.values.clone(),
                })
                .collect(),
            seeds: spec.seeds,
            baseline: spec.baseline_text(),
            configs: (0..spec.config_count())
                .map(|i| {
                    let c = spec.config(i);
                    ManifestConfig {
                        config: i,
                        label: spec.label(&c),
                        baseline: spec.baseline_of(&c),
                    }
                })
                .collect(),
        }
    }
}

/// The `--set` arguments of one run: the configuration's, then its seed.
fn run_sets(spec: &SweepSpec, run: &RunKey) -> Vec<String> {
    let mut sets = spec.sets(&spec.config(run.config));
    sets.push(format!("seed={}", run.seed));
    sets
}

/// Checks everything that can be checked before writing anything: each scenario loads with the
/// fixed overrides; at least one configuration loads (a sweep where every configuration is bad
/// is bad input, not a batch of failed runs); `out` is a sweep folder or new; and every finished
/// run in it is a run of this very sweep (its resolved `scenario.toml` is what this run would
/// write), so a resumed sweep never mixes results of different scenarios or arguments.
pub fn preflight(spec: &SweepSpec, out: &Path) -> Result<(), InputError> {
    for s in &spec.scenarios {
        load(&s.path, &spec.fixed_sets)?;
    }
    let mut first_error = None;
    let mut any_ok = false;
    for c in 0..spec.config_count() {
        match load(
            &spec.scenarios[spec.config(c).scenario].path,
            &spec.sets(&spec.config(c)),
        ) {
            Ok(_) => {
                any_ok = true;
                break;
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if !any_ok {
        if let Some(e) = first_error {
            return Err(e);
        }
    }
    let shown = out.display().to_string();
    if out.exists() {
        if !out.is_dir() {
            return Err(InputError::new(&shown, "--out exists and is not a folder"));
        }
        let empty = fs::read_dir(out)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !empty && !out.join("sweep.json").exists() {
            return Err(InputError::new(
                &shown,
                "--out exists and is not a sweep folder (no sweep.json); choose a new folder",
            ));
        }
    }
    for run in spec.runs() {
        let d = run_dir(out, &run.id());
        if !d.join("summary.json").exists() {
            continue;
        }
        let stored = fs::read_to_string(d.join("scenario.toml")).unwrap_or_default();
        let scenario = &spec.scenarios[spec.config(run.config).scenario];
        let expected = load(&scenario.path, &run_sets(spec, &run))
            .map(|l| l.resolved_toml())
            .unwrap_or_default();
        if stored != expected {
            return Err(InputError::new(
                d.display().to_string(),
                "this finished run is not a run of this sweep (the scenario, an axis or a --set \
changed since); choose a new --out, or delete the folder's runs/ to start over",
            ));
        }
    }
    Ok(())
}

/// Runs one run into its folder; returns its error, if it failed.
fn run_one(spec: &SweepSpec, run: &RunKey, dir: &Path) -> Option<String> {
    let scenario = &spec.scenarios[spec.config(run.config).scenario];
    let result: Result<(), String> = (|| {
        let loaded = load(&scenario.path, &run_sets(spec, run)).map_err(|e| e.to_string())?;
        let output = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Simulation::new(&loaded.scenario, loaded.mixes.clone()).run()
        }))
        .map_err(|p| {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            format!("the simulation panicked: {msg}")
        })?;
        output
            .write_to(dir, &loaded.resolved_toml())
            .map_err(|e| format!("cannot write {}: {e}", dir.display()))
    })();
    match result {
        Ok(()) => None,
        Err(e) => {
            let line = e.split_whitespace().collect::<Vec<_>>().join(" ");
            let _ = fs::create_dir_all(dir);
            let _ = write_atomic(&dir.join("error.txt"), format!("{line}\n").as_bytes());
            Some(line)
        }
    }
}

/// Runs a sweep into `opts.out`: preflight, the unfinished runs in parallel on `opts.threads`
/// threads, then `runs.csv` and `aggregate.csv`.
pub fn run_sweep(spec: &SweepSpec, opts: &SweepOptions) -> Result<SweepReport, SweepError> {
    preflight(spec, &opts.out)?;
    let io_err = |what: &str, e: io::Error| SweepError::Io(format!("{what}: {e}"));
    let runs_root = opts.out.join("runs");
    fs::create_dir_all(&runs_root).map_err(|e| io_err(&runs_root.display().to_string(), e))?;
    let manifest = serde_json::to_string_pretty(&Manifest::of(spec)).expect("manifest") + "\n";
    let manifest_path = opts.out.join("sweep.json");
    write_atomic(&manifest_path, manifest.as_bytes())
        .map_err(|e| io_err(&manifest_path.display().to_string(), e))?;

    // Unfinished runs lose whatever they left (a partial folder, a previous error) and start over.
    let todo: Vec<RunKey> = spec
        .runs()
        .filter(|r| !run_dir(&opts.out, &r.id()).join("summary.json").exists())
        .collect();
    for r in &todo {
        let d = run_dir(&opts.out, &r.id());
        if d.exists() {
            fs::remove_dir_all(&d).map_err(|e| io_err(&d.display().to_string(), e))?;
        }
    }
    let total = spec.run_count();
    let skipped = total - todo.len() as u64;

    let bar = match opts.progress {
        Progress::Bar => {
            let pb = ProgressBar::new(total);
            pb.set_style(
                ProgressStyle::with_template(
                    "{elapsed_precise} [{bar:40}] {pos}/{len} runs, eta {eta} {msg}",
                )
                .expect("template")
                .progress_chars("=> "),
            );
            pb.set_position(skipped);
            Some(pb)
        }
        _ => None,
    };
    let done = AtomicU64::new(skipped);
    let failed = AtomicU64::new(0);
    // About ten progress lines per sweep in logs.
    let step = total.div_ceil(10).max(1);
    let start = Instant::now();
    let lines = opts.progress == Progress::Lines;
    if lines {
        eprintln!(
            "sweep: {total} runs ({} configurations x {} seeds), {skipped} already finished, {} threads",
            spec.config_count(),
            spec.seeds,
            opts.threads
        );
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads.max(1))
        .build()
        .map_err(|e| SweepError::Io(format!("cannot start {} threads: {e}", opts.threads)))?;
    pool.install(|| {
        todo.par_iter().for_each(|r| {
            let id = r.id();
            let error = run_one(spec, r, &run_dir(&opts.out, &id));
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            if let Some(e) = &error {
                failed.fetch_add(1, Ordering::Relaxed);
                let msg = format!("run {id} failed: {e}");
                match &bar {
                    Some(pb) => pb.println(msg),
                    None if lines => eprintln!("{msg}"),
                    None => {}
                }
            }
            if let Some(pb) = &bar {
                pb.inc(1);
            } else if lines && (n.checked_rem(step) == Some(0) || n == total) {
                eprintln!(
                    "sweep: {n}/{total} runs done ({:.1} s)",
                    start.elapsed().as_secs_f64()
                );
            }
        })
    });
    if let Some(pb) = &bar {
        pb.finish_and_clear();
    }
    let collected =
        collect(spec, &opts.out).map_err(|e| io_err(&opts.out.display().to_string(), e))?;
    Ok(SweepReport {
        runs: total,
        skipped,
        ran: todo.len() as u64,
        collected,
    })
}

/// Whether run `id` of a sweep folder is finished.
pub fn is_finished(out: &Path, id: &str) -> bool {
    matches!(read_run(out, id), RunState::Done(_))
}
