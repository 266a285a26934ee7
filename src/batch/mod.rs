//! Scenario batches (`reconf sweep`): scenarios × the cartesian product of `--set` axes × seeds,
//! run in parallel, resumable, aggregated with confidence intervals.
//!
//! A sweep folder `DIR` holds:
//! - `runs/<id>/`: each run exactly as `reconf run` writes it, `summary.json` last (only
//!   `summary.json` with `--keep summaries`), or `error.txt` when the run failed (a bad parameter
//!   combination, a panic, a write error);
//! - `runs.csv`: a row per run (configuration, seed, status, every numeric summary key);
//! - `runs-long.csv`: a row per run and metric (`config, seed, metric, value`);
//! - `aggregate.csv`: a row per configuration (mean, sd, 95% CI of each key; with a baseline,
//!   the paired per-seed differences and their CI);
//! - each table again as Parquet (`runs.parquet`, `runs-long.parquet`, `aggregate.parquet`);
//! - `sweep.json`: what was swept (scenarios, axes, seeds, baseline, labels) and its provenance;
//! - `.lock`: held by the sweep that is writing the folder.
//!
//! Resuming: a run is finished when its `summary.json` exists (written last and atomically), so a
//! sweep killed at any point and started again with the same arguments redoes only the runs
//! without one, after removing whatever they left. The CSVs are rebuilt from the folders at the
//! end (`collect`).

pub mod collect;
pub mod files;
pub mod folder;
pub mod lock;
pub mod policy;
pub mod slurm;
pub mod spec;
pub mod stats;
pub mod table;

use crate::report::atomic::write_atomic;
use crate::report::provenance::{self, sha256_hex, Build};
use crate::scenario::load::load;
use crate::scenario::InputError;
use crate::sim::Simulation;
use collect::{collect, read_run, run_dir, Collected, RunState};
use indicatif::{ProgressBar, ProgressStyle};
pub use policy::{PolicyOverride, RunAborted};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
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

/// What each run folder keeps.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Keep {
    /// Every file `reconf run` writes (25 to 150 KB in 5 files per run).
    #[default]
    All,
    /// `summary.json` only (about 1.5 KB), except for the runs of `full_seeds`, which keep every
    /// file (so each configuration still has an example time series to plot).
    Summaries { full_seeds: Vec<u64> },
}

impl Keep {
    fn everything_for(&self, seed: u64) -> bool {
        match self {
            Keep::All => true,
            Keep::Summaries { full_seeds } => full_seeds.contains(&seed),
        }
    }
}

/// Above this many runs a sweep is refused unless `--max-runs` raises the limit: a typo like
/// `--seeds 1000000000` must not start hours of work and a billion folders.
pub const DEFAULT_MAX_RUNS: u64 = 1_000_000;

#[derive(Clone, Debug)]
pub struct SweepOptions {
    pub out: PathBuf,
    /// Worker threads (≥ 1).
    pub threads: usize,
    pub progress: Progress,
    pub keep: Keep,
    /// A policy for every run in place of the scenarios' own (`None`: their own).
    pub policy: Option<PolicyOverride>,
}

impl SweepOptions {
    /// Options with every file kept, and the scenarios' own policies.
    pub fn new(out: PathBuf, threads: usize, progress: Progress) -> Self {
        SweepOptions {
            out,
            threads,
            progress,
            keep: Keep::All,
            policy: None,
        }
    }
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
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Manifest {
    pub scenarios: Vec<ManifestScenario>,
    pub fixed_sets: Vec<String>,
    pub axes: Vec<ManifestAxis>,
    /// The number of seeds, `first_seed` to `first_seed + seeds - 1`.
    pub seeds: u64,
    #[serde(default = "one")]
    pub first_seed: u64,
    pub baseline: Vec<String>,
    pub configs: Vec<ManifestConfig>,
    /// The policy every run used in place of the scenarios' own ([`PolicyOverride::label`]);
    /// absent when the runs used their scenarios' policies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// Where the folder comes from; not part of what is compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<SweepProvenance>,
}

fn one() -> u64 {
    1
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ManifestScenario {
    pub label: String,
    pub path: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ManifestAxis {
    pub column: String,
    pub values: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ManifestConfig {
    pub config: usize,
    pub label: String,
    /// The value of each axis, `n/a` where the axis does not apply to the scenario.
    #[serde(default)]
    pub values: Vec<String>,
    pub baseline: Option<usize>,
}

/// The `provenance` object of `sweep.json`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SweepProvenance {
    pub reconf_version: String,
    pub git_commit: String,
    pub git_dirty: Option<bool>,
    /// Each scenario file and the SHA-256 of its bytes.
    pub scenarios: Vec<ScenarioHash>,
    /// The seeds, as `--seeds` takes them.
    pub seeds: String,
    pub command_line: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ScenarioHash {
    pub path: String,
    pub sha256: String,
}

impl SweepProvenance {
    pub fn of(spec: &SweepSpec) -> Self {
        let b = Build::current();
        SweepProvenance {
            reconf_version: b.reconf_version,
            git_commit: b.git_commit,
            git_dirty: b.git_dirty,
            scenarios: spec
                .scenarios
                .iter()
                .map(|s| ScenarioHash {
                    path: s.path.display().to_string(),
                    sha256: fs::read(&s.path)
                        .map(|b| sha256_hex(&b))
                        .unwrap_or_default(),
                })
                .collect(),
            seeds: spec.seeds.text(),
            command_line: provenance::command_line(),
        }
    }
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
            seeds: spec.seeds.count,
            first_seed: spec.seeds.first,
            baseline: spec.baseline_text(),
            configs: (0..spec.config_count())
                .map(|i| {
                    let c = spec.config(i);
                    ManifestConfig {
                        config: i,
                        label: spec.label(&c),
                        values: spec.key_values(&c).split_off(1),
                        baseline: spec.baseline_of(&c),
                    }
                })
                .collect(),
            policy: None,
            provenance: Some(SweepProvenance::of(spec)),
        }
    }
}

/// The `--set` arguments of one run: the configuration's, then its seed.
fn run_sets(spec: &SweepSpec, run: &RunKey) -> Vec<String> {
    let mut sets = spec.sets(&spec.config(run.config));
    sets.push(format!("seed={}", run.seed));
    sets
}

/// Refuses a sweep of more than `max_runs` runs (exit 2), before anything is read or written.
pub fn check_size(spec: &SweepSpec, max_runs: u64) -> Result<(), InputError> {
    let runs = spec.run_count();
    if runs > max_runs {
        return Err(InputError::new(
            "--seeds",
            format!(
                "this sweep has {runs} runs ({} configurations x {} seeds), more than the limit \
of {max_runs}; at 8 KB (--keep summaries) to 150 KB per run folder on disk that is {:.1} to {:.1} \
GB: raise the limit with --max-runs {runs} if you mean it",
                spec.config_count(),
                spec.seeds.count,
                runs as f64 * 8e3 / 1e9,
                runs as f64 * 150e3 / 1e9
            ),
        ));
    }
    Ok(())
}

/// Checks the inputs before anything is written: each scenario loads with the fixed overrides;
/// at least one configuration loads (a sweep where every configuration is bad is bad input, not
/// a batch of failed runs).
pub fn preflight_inputs(spec: &SweepSpec) -> Result<(), InputError> {
    for s in &spec.scenarios {
        load(&s.path, &spec.fixed_sets)?;
    }
    let mut first_error = None;
    for c in 0..spec.config_count() {
        match load(
            &spec.scenarios[spec.config(c).scenario].path,
            &spec.sets(&spec.config(c)),
        ) {
            Ok(_) => return Ok(()),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
        // One loadable configuration is enough; do not load thousands to find it.
        if c >= 64 {
            break;
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Whether a finished run folder holds a run of exactly `expected_resolved_toml`: by the
/// scenario SHA-256 of its summary's provenance, or, for folders written before provenance
/// existed, by its `scenario.toml`.
fn is_run_of(dir: &Path, expected_resolved_toml: &str) -> bool {
    let stored_sha = fs::read_to_string(dir.join("summary.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| {
            v["provenance"]["scenario_sha256"]
                .as_str()
                .map(String::from)
        });
    match stored_sha {
        Some(sha) => sha == sha256_hex(expected_resolved_toml.as_bytes()),
        None => {
            fs::read_to_string(dir.join("scenario.toml")).unwrap_or_default()
                == expected_resolved_toml
        }
    }
}

/// Checks the sweep folder: `out` is a sweep folder or new, and the finished runs in it are
/// runs of this very sweep (one finished run per configuration is checked: what differs between
/// sweeps is a scenario, an axis or a `--set`, which every run of a configuration shares), so a
/// resumed sweep never mixes results of different scenarios or arguments.
pub fn check_folder(spec: &SweepSpec, out: &Path) -> Result<(), InputError> {
    let shown = out.display().to_string();
    if out.exists() {
        if !out.is_dir() {
            return Err(InputError::new(&shown, "--out exists and is not a folder"));
        }
        let foreign = fs::read_dir(out)
            .map(|d| {
                d.flatten().any(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    // Ours: runs/, the lock, temporaries of an interrupted write.
                    name != "runs" && !name.starts_with('.')
                })
            })
            .unwrap_or(false);
        if foreign && !out.join("sweep.json").exists() {
            return Err(InputError::new(
                &shown,
                "--out exists and is not a sweep folder (no sweep.json); choose a new folder",
            ));
        }
    }
    for c in 0..spec.config_count() {
        let Some(run) = spec
            .seeds
            .iter()
            .map(|seed| RunKey { config: c, seed })
            .find(|r| run_dir(out, &r.id()).join("summary.json").exists())
        else {
            continue;
        };
        let d = run_dir(out, &run.id());
        let scenario = &spec.scenarios[spec.config(run.config).scenario];
        let expected = load(&scenario.path, &run_sets(spec, &run))
            .map(|l| l.resolved_toml())
            .unwrap_or_default();
        if !is_run_of(&d, &expected) {
            return Err(InputError::new(
                d.display().to_string(),
                "this finished run is not a run of this sweep (the scenario, an axis or a --set \
changed since); choose a new --out, or delete the folder's runs/ to start over",
            ));
        }
    }
    Ok(())
}

/// [`preflight_inputs`] then [`check_folder`].
pub fn preflight(spec: &SweepSpec, out: &Path) -> Result<(), InputError> {
    preflight_inputs(spec)?;
    check_folder(spec, out)
}

/// Runs one run into its folder, with `policy` in place of its scenario's if given; returns its
/// error, if it failed.
pub fn run_one(
    spec: &SweepSpec,
    run: &RunKey,
    dir: &Path,
    keep: &Keep,
    policy: Option<&PolicyOverride>,
) -> Option<String> {
    let scenario = &spec.scenarios[spec.config(run.config).scenario];
    let result: Result<(), String> = (|| {
        let loaded = load(&scenario.path, &run_sets(spec, run)).map_err(|e| e.to_string())?;
        let output = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let sim = match policy {
                Some(p) => Simulation::from_loaded_with_policy(&loaded, Some((p.build)(run.seed)?)),
                None => Simulation::from_loaded(&loaded),
            };
            sim.try_run().map_err(|e| e.to_string())
        }))
        .map_err(|p| {
            if let Some(aborted) = p.downcast_ref::<RunAborted>() {
                return aborted.0.clone();
            }
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            format!("the simulation panicked: {msg}")
        })??;
        let resolved = loaded.resolved_toml();
        let written = if keep.everything_for(run.seed) {
            output.write_to(dir, &resolved)
        } else {
            fs::create_dir_all(dir).and_then(|()| {
                write_atomic(
                    &dir.join("summary.json"),
                    output.summary_json_with_provenance(&resolved).as_bytes(),
                )
            })
        };
        written.map_err(|e| format!("cannot write {}: {e}", dir.display()))
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

/// The runs of `spec` without a `summary.json` in `out`, in run order.
pub fn unfinished_runs(spec: &SweepSpec, out: &Path) -> Vec<RunKey> {
    spec.runs()
        .filter(|r| !run_dir(out, &r.id()).join("summary.json").exists())
        .collect()
}

/// Writes `sweep.json` (naming `policy`, the label of the policy that replaces the scenarios'
/// own, if any) and creates `runs/`.
pub fn write_manifest(
    spec: &SweepSpec,
    out: &Path,
    policy: Option<&str>,
) -> Result<(), SweepError> {
    let io_err = |what: &Path, e: io::Error| SweepError::Io(format!("{}: {e}", what.display()));
    let runs_root = out.join("runs");
    fs::create_dir_all(&runs_root).map_err(|e| io_err(&runs_root, e))?;
    let mut manifest = Manifest::of(spec);
    manifest.policy = policy.map(String::from);
    let manifest = serde_json::to_string_pretty(&manifest).expect("manifest") + "\n";
    let manifest_path = out.join("sweep.json");
    write_atomic(&manifest_path, manifest.as_bytes()).map_err(|e| io_err(&manifest_path, e))
}

/// Runs `todo` (runs of `spec`) into `out` on `threads` threads, each after removing whatever
/// an earlier attempt left in its folder, with `policy` in place of the scenarios' own if
/// given. Returns how many failed. Progress counts from `already` of `total`.
#[allow(clippy::too_many_arguments)]
pub fn run_runs(
    spec: &SweepSpec,
    out: &Path,
    todo: &[RunKey],
    threads: usize,
    progress: Progress,
    keep: &Keep,
    policy: Option<&PolicyOverride>,
    (already, total): (u64, u64),
) -> Result<u64, SweepError> {
    for r in todo {
        let d = run_dir(out, &r.id());
        if d.exists() {
            fs::remove_dir_all(&d).map_err(|e| SweepError::Io(format!("{}: {e}", d.display())))?;
        }
    }
    let bar = match progress {
        Progress::Bar => {
            let pb = ProgressBar::new(total);
            pb.set_style(
                ProgressStyle::with_template(
                    "{elapsed_precise} [{bar:40}] {pos}/{len} runs, eta {eta} {msg}",
                )
                .expect("template")
                .progress_chars("=> "),
            );
            pb.set_position(already);
            Some(pb)
        }
        _ => None,
    };
    let done = AtomicU64::new(already);
    let failed = AtomicU64::new(0);
    // About ten progress lines per sweep in logs.
    let step = total.div_ceil(10).max(1);
    let start = Instant::now();
    let lines = progress == Progress::Lines;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()
        .map_err(|e| SweepError::Io(format!("cannot start {threads} threads: {e}")))?;
    pool.install(|| {
        todo.par_iter().for_each(|r| {
            let id = r.id();
            let error = run_one(spec, r, &run_dir(out, &id), keep, policy);
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
    Ok(failed.load(Ordering::Relaxed))
}

/// Runs a sweep into `opts.out`: preflight, the folder locked against a second sweep, the
/// unfinished runs in parallel on `opts.threads` threads, then the tables.
pub fn run_sweep(spec: &SweepSpec, opts: &SweepOptions) -> Result<SweepReport, SweepError> {
    let total = spec.run_count();
    let lines = opts.progress == Progress::Lines;
    if lines && total >= 10_000 {
        eprintln!(
            "sweep: {total} runs; checking the inputs and {}",
            opts.out.display()
        );
    }
    preflight_inputs(spec)?;
    if opts.out.exists() && !opts.out.is_dir() {
        return Err(InputError::new(
            opts.out.display().to_string(),
            "--out exists and is not a folder",
        )
        .into());
    }
    // The lock first: a second sweep on a folder in use stops here, whatever the first one is
    // writing; then the folder is checked with no one else writing it.
    let existed = opts.out.exists();
    let lock = lock::SweepLock::acquire(&opts.out)?;
    // Cluster tasks write the folder without the lock: no local sweep while they may run.
    let active = slurm::active_jobs_of(&opts.out);
    if !active.is_empty() {
        return Err(InputError::new(
            opts.out.display().to_string(),
            format!(
                "Slurm jobs of `reconf sweep --slurm` are still queued or running on this folder \
({}); wait for them to end, or scancel them",
                active.join(", ")
            ),
        )
        .into());
    }
    if let Err(e) = check_folder(spec, &opts.out) {
        drop(lock);
        if !existed {
            let _ = fs::remove_dir_all(&opts.out);
        }
        return Err(e.into());
    }
    let label = opts.policy.as_ref().map(|p| p.label.as_str());
    policy::check_policy(spec, &opts.out, label)?;
    write_manifest(spec, &opts.out, label)?;

    // Unfinished runs lose whatever they left (a partial folder, a previous error) and start over.
    let todo = unfinished_runs(spec, &opts.out);
    let skipped = total - todo.len() as u64;
    if lines {
        eprintln!(
            "sweep: {total} runs ({} configurations x {} seeds), {skipped} already finished, {} threads",
            spec.config_count(),
            spec.seeds.count,
            opts.threads
        );
    }
    run_runs(
        spec,
        &opts.out,
        &todo,
        opts.threads,
        opts.progress,
        &opts.keep,
        opts.policy.as_ref(),
        (skipped, total),
    )?;
    let collected = collect(spec, &opts.out)
        .map_err(|e| SweepError::Io(format!("{}: {e}", opts.out.display())))?;
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
