//! Sweeps on a Slurm cluster (`reconf sweep ... --slurm`): a job array whose tasks run their
//! share of the runs into the usual `DIR/runs/<id>/` folders on the shared file system, and a
//! job that depends on it (`afterany`) and writes the tables.
//!
//! `DIR/slurm/` holds `spec.json` (the sweep, as the tasks read it) and one folder per
//! submission, `DIR/slurm/<n>/`: `tasks/<k>.txt` (the run ids of array task `k`), `array.sh`,
//! `collect.sh`, `submit.sh` (the two `sbatch` calls, for a submission by hand after
//! `--dry-run`), `jobs.txt` (the job ids) and `logs/`.
//!
//! The same command run again reports progress; while jobs of an earlier submission are still
//! queued or running it submits nothing, and once they have all ended it submits only the runs
//! without a `summary.json`: a task cancelled, preempted or out of time loses no finished run,
//! and a task started again skips the runs it finished already, so nothing is done twice. The
//! tables are built from the run folders exactly as a local sweep builds them, so they are
//! byte-identical to the local sweep's whatever the number of tasks.

use super::collect::{collect, run_dir, Collected};
use super::lock::SweepLock;
use super::spec::{RunKey, SweepSpec};
use super::{
    check_folder, preflight_inputs, run_runs, unfinished_runs, write_manifest, Keep, Progress,
    SweepError,
};
use crate::report::atomic::write_atomic;
use crate::scenario::load::load;
use crate::scenario::InputError;
use serde::{Deserialize, Serialize};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

/// How to submit.
#[derive(Clone, Debug, Default)]
pub struct SlurmOptions {
    /// Array tasks; default: one per 100 runs to do, at most [`MAX_TASKS`].
    pub tasks: Option<usize>,
    /// Extra `sbatch` options (`--partition=long`, `--time=02:00:00`, `--cpus-per-task=4`),
    /// written as `#SBATCH` lines of both scripts.
    pub sbatch_args: Vec<String>,
    /// Write the scripts, submit nothing.
    pub dry_run: bool,
}

/// Slurm's default `MaxArraySize` is 1001: task indices 0..=1000.
pub const MAX_TASKS: usize = 1000;

/// Runs per task by default.
pub const DEFAULT_RUNS_PER_TASK: usize = 100;

/// `DIR/slurm/spec.json`: what the tasks run, and from where.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Stored {
    pub spec: SweepSpec,
    pub keep: Keep,
    /// The folder the sweep was submitted from: scenario paths are relative to it.
    pub cwd: PathBuf,
}

/// The runs of a sweep folder by state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub done: u64,
    pub failed: u64,
    pub pending: u64,
}

impl Counts {
    pub fn of(spec: &SweepSpec, out: &Path) -> Counts {
        let mut c = Counts::default();
        for r in spec.runs() {
            let d = run_dir(out, &r.id());
            if d.join("summary.json").is_file() {
                c.done += 1;
            } else if d.join("error.txt").is_file() {
                c.failed += 1;
            } else {
                c.pending += 1;
            }
        }
        c
    }

    pub fn text(&self) -> String {
        format!(
            "{} done, {} failed, {} pending",
            self.done, self.failed, self.pending
        )
    }
}

/// What `reconf sweep --slurm` did.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// A submission (or, with `--dry-run`, its scripts).
    Submitted {
        submission: usize,
        folder: PathBuf,
        tasks: usize,
        runs: usize,
        /// The array and collect job ids (`None` with `--dry-run`).
        jobs: Option<(String, String)>,
    },
    /// Jobs of an earlier submission are still in the queue: nothing submitted.
    InProgress { active: Vec<String> },
    /// Every run has a summary: the tables were written here and then.
    Finished(Collected),
}

/// Whether `program` is on the PATH.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|d| {
            let p = d.join(program);
            p.is_file()
        })
    })
}

/// A string for a bash script, single-quoted.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The job ids recorded by earlier submissions in `slurm_dir`.
fn recorded_jobs(slurm_dir: &Path) -> Vec<String> {
    let mut ids = Vec::new();
    for n in submissions(slurm_dir) {
        if let Ok(text) = fs::read_to_string(slurm_dir.join(n.to_string()).join("jobs.txt")) {
            ids.extend(
                text.lines()
                    .filter_map(|l| l.split_whitespace().nth(1))
                    .map(String::from),
            );
        }
    }
    ids
}

/// The submission numbers in `slurm_dir`, in order.
fn submissions(slurm_dir: &Path) -> Vec<usize> {
    let mut n: Vec<usize> = fs::read_dir(slurm_dir)
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    n.sort();
    n
}

/// The jobs among `ids` that Slurm still has queued or running (`squeue` lines `ID STATE`).
pub fn active_jobs(ids: &[String]) -> Vec<String> {
    if ids.is_empty() || !on_path("squeue") {
        return Vec::new();
    }
    let out = Command::new("squeue")
        .args(["-h", "-o", "%i %T", "-j", &ids.join(",")])
        .output();
    match out {
        // squeue fails when none of the jobs is known any more: nothing is active.
        Ok(o) => String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// The jobs of earlier submissions into sweep folder `out` that are still queued or running.
pub fn active_jobs_of(out: &Path) -> Vec<String> {
    active_jobs(&recorded_jobs(&out.join("slurm")))
}

/// Deals `runs` into `tasks` lists so that no task gets all the long ones: sorted by
/// estimated cost, longest first (ties in run order), then dealt in snake order (0, 1, ..., n−1,
/// n−1, ..., 0, ...). Each list keeps the longest runs first, which also balances the task's own
/// threads.
pub fn deal(runs: &[RunKey], cost: impl Fn(&RunKey) -> f64, tasks: usize) -> Vec<Vec<RunKey>> {
    let tasks = tasks.max(1);
    let mut order: Vec<(f64, usize)> = runs.iter().enumerate().map(|(i, r)| (cost(r), i)).collect();
    order.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut out = vec![Vec::new(); tasks];
    for (k, (_, i)) in order.into_iter().enumerate() {
        let round = k / tasks;
        let pos = k % tasks;
        let t = if round.is_multiple_of(2) {
            pos
        } else {
            tasks - 1 - pos
        };
        out[t].push(runs[i].clone());
    }
    out
}

/// The estimated cost of a configuration's runs: its simulated duration (the scenario's
/// `duration_s`, or the value of a `duration_s` axis).
fn costs(spec: &SweepSpec) -> Vec<f64> {
    let per_scenario: Vec<f64> = spec
        .scenarios
        .iter()
        .map(|s| {
            load(&s.path, &spec.fixed_sets)
                .map(|l| l.scenario.duration_s)
                .unwrap_or(1.0)
        })
        .collect();
    let duration_axis = spec.axes.iter().position(|a| a.column == "duration_s");
    (0..spec.config_count())
        .map(|c| {
            let config = spec.config(c);
            duration_axis
                .and_then(|a| config.values[a].map(|v| &spec.axes[a].values[v]))
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(per_scenario[config.scenario])
        })
        .collect()
}

fn io_err(p: &Path) -> impl Fn(io::Error) -> SweepError + '_ {
    move |e| SweepError::Io(format!("{}: {e}", p.display()))
}

/// Checks `--slurm-arg` values: sbatch options, one line each.
fn check_sbatch_args(args: &[String]) -> Result<(), InputError> {
    for a in args {
        if !a.starts_with('-') || a.contains('\n') || a.contains('\r') {
            return Err(InputError::new(
                format!("--slurm-arg {a}"),
                "expected one sbatch option, e.g. --slurm-arg=--partition=long or \
--slurm-arg=--time=02:00:00",
            ));
        }
    }
    Ok(())
}

/// Submits the missing runs of `spec` as a job array into `out`, or reports progress.
pub fn submit(
    spec: &SweepSpec,
    keep: &Keep,
    out: &Path,
    opts: &SlurmOptions,
) -> Result<(Outcome, Counts), SweepError> {
    check_sbatch_args(&opts.sbatch_args)?;
    if opts.tasks == Some(0) || opts.tasks.is_some_and(|t| t > MAX_TASKS) {
        return Err(InputError::new(
            "--tasks",
            format!("must be between 1 and {MAX_TASKS} (Slurm's default MaxArraySize is 1001)"),
        )
        .into());
    }
    if !opts.dry_run && !on_path("sbatch") {
        return Err(InputError::new(
            "--slurm",
            "sbatch is not on the PATH: --slurm submits with Slurm's sbatch, so run it on the \
cluster's login node (or add --dry-run to only write the job scripts)",
        )
        .into());
    }
    preflight_inputs(spec)?;
    if out.exists() && !out.is_dir() {
        return Err(InputError::new(
            out.display().to_string(),
            "--out exists and is not a folder",
        )
        .into());
    }
    let existed = out.exists();
    let lock = SweepLock::acquire(out)?;
    if let Err(e) = check_folder(spec, out) {
        drop(lock);
        if !existed {
            let _ = fs::remove_dir_all(out);
        }
        return Err(e.into());
    }
    // Cluster tasks run the scenarios' own policies.
    if let Err(e) = super::policy::check_policy(spec, out, None) {
        drop(lock);
        return Err(e.into());
    }
    let out_abs = out.canonicalize().map_err(io_err(out))?;
    let slurm_dir = out_abs.join("slurm");
    let active = active_jobs(&recorded_jobs(&slurm_dir));
    if !active.is_empty() {
        return Ok((Outcome::InProgress { active }, Counts::of(spec, out)));
    }
    write_manifest(spec, out, None)?;
    let cwd = std::env::current_dir().map_err(io_err(Path::new(".")))?;
    let stored = Stored {
        spec: spec.clone(),
        keep: keep.clone(),
        cwd,
    };
    fs::create_dir_all(&slurm_dir).map_err(io_err(&slurm_dir))?;
    let spec_path = slurm_dir.join("spec.json");
    let text = serde_json::to_string_pretty(&stored).expect("spec serialises") + "\n";
    write_atomic(&spec_path, text.as_bytes()).map_err(io_err(&spec_path))?;

    let counts = Counts::of(spec, out);
    let todo = unfinished_runs(spec, out);
    if todo.is_empty() {
        let collected = collect(spec, out).map_err(io_err(out))?;
        return Ok((Outcome::Finished(collected), counts));
    }
    let tasks = opts
        .tasks
        .unwrap_or_else(|| {
            todo.len()
                .div_ceil(DEFAULT_RUNS_PER_TASK)
                .clamp(1, MAX_TASKS)
        })
        .min(todo.len());
    let cost = costs(spec);
    let lists = deal(&todo, |r| cost[r.config], tasks);

    let n = submissions(&slurm_dir).last().map_or(1, |l| l + 1);
    let sub = slurm_dir.join(n.to_string());
    let tasks_dir = sub.join("tasks");
    let logs = sub.join("logs");
    fs::create_dir_all(&tasks_dir).map_err(io_err(&tasks_dir))?;
    fs::create_dir_all(&logs).map_err(io_err(&logs))?;
    for (k, list) in lists.iter().enumerate() {
        let text: String = list.iter().map(|r| r.id() + "\n").collect();
        let p = tasks_dir.join(format!("{k}.txt"));
        write_atomic(&p, text.as_bytes()).map_err(io_err(&p))?;
    }
    let exe = std::env::current_exe()
        .and_then(|e| e.canonicalize())
        .map_err(io_err(Path::new("reconf")))?;
    let name = out_abs
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "sweep".into());
    let directives = |job: &str, log: &str, array: Option<usize>| {
        let mut s = format!(
            "#!/bin/bash\n# Written by `reconf sweep --slurm`; see {}.\n#SBATCH --job-name={job}\n\
#SBATCH --output={}\n",
            sub.join("submit.sh").display(),
            logs.join(log).display()
        );
        if let Some(t) = array {
            s += &format!("#SBATCH --array=0-{}\n", t - 1);
        }
        for a in &opts.sbatch_args {
            s += &format!("#SBATCH {a}\n");
        }
        s
    };
    let array_sh = directives(&format!("reconf-{name}"), "task-%a.out", Some(tasks))
        + &format!(
            "set -euo pipefail\n# Each task runs the runs of tasks/$SLURM_ARRAY_TASK_ID.txt on \
$SLURM_CPUS_PER_TASK threads.\nexec {} sweep-task {} {n}\n",
            sh_quote(&exe.display().to_string()),
            sh_quote(&out_abs.display().to_string())
        );
    let collect_sh = directives(&format!("reconf-{name}-collect"), "collect.out", None)
        + &format!(
            "set -euo pipefail\n# Writes runs.csv, aggregate.csv (and the long and Parquet \
tables) from the run folders.\nexec {} sweep-collect {}\n",
            sh_quote(&exe.display().to_string()),
            sh_quote(&out_abs.display().to_string())
        );
    let submit_sh = format!(
        "#!/bin/bash\n# Submits the job array, then the collect job once every task has ended \
(afterany),\n# and records both ids in jobs.txt, as `reconf sweep --slurm` does.\n\
set -euo pipefail\ncd {q}\narray=$(sbatch --parsable array.sh)\n\
collect=$(sbatch --parsable --dependency=afterany:${{array%%;*}} collect.sh)\n\
printf 'array %s\\ncollect %s\\n' \"${{array%%;*}}\" \"${{collect%%;*}}\" > jobs.txt\n\
echo \"submitted job array ${{array%%;*}} ({tasks} tasks) and collect job ${{collect%%;*}}\"\n",
        q = sh_quote(&sub.display().to_string())
    );
    for (f, text) in [
        ("array.sh", array_sh),
        ("collect.sh", collect_sh),
        ("submit.sh", submit_sh),
    ] {
        let p = sub.join(f);
        write_atomic(&p, text.as_bytes()).map_err(io_err(&p))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = fs::set_permissions(&p, fs::Permissions::from_mode(0o755));
        }
    }
    let jobs = if opts.dry_run {
        None
    } else {
        let array = sbatch(&sub, &["--parsable", "array.sh"])?;
        let dep = format!("--dependency=afterany:{array}");
        let collect = sbatch(&sub, &["--parsable", &dep, "collect.sh"])?;
        let p = sub.join("jobs.txt");
        write_atomic(&p, format!("array {array}\ncollect {collect}\n").as_bytes())
            .map_err(io_err(&p))?;
        Some((array, collect))
    };
    drop(lock);
    Ok((
        Outcome::Submitted {
            submission: n,
            folder: sub,
            tasks,
            runs: todo.len(),
            jobs,
        },
        counts,
    ))
}

/// Runs `sbatch ARGS` in `dir`; returns the job id (`--parsable` prints `ID[;CLUSTER]`).
fn sbatch(dir: &Path, args: &[&str]) -> Result<String, SweepError> {
    let o = Command::new("sbatch")
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| SweepError::Io(format!("sbatch: {e}")))?;
    let stdout = String::from_utf8_lossy(&o.stdout);
    let id = stdout.trim().split(';').next().unwrap_or("").to_string();
    if !o.status.success() || id.is_empty() {
        let err = String::from_utf8_lossy(&o.stderr);
        return Err(SweepError::Io(format!(
            "sbatch {} failed: {}",
            args.join(" "),
            err.split_whitespace().collect::<Vec<_>>().join(" ")
        )));
    }
    Ok(id)
}

/// Reads `DIR/slurm/spec.json`.
pub fn read_stored(out: &Path) -> Result<Stored, SweepError> {
    let p = out.join("slurm").join("spec.json");
    let text = fs::read_to_string(&p).map_err(io_err(&p))?;
    serde_json::from_str(&text).map_err(|e| SweepError::Io(format!("{}: {e}", p.display())))
}

/// What one array task did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskReport {
    pub assigned: usize,
    /// Finished before this task started (by an earlier attempt of the same task).
    pub skipped: usize,
    pub ran: usize,
    pub failed: u64,
}

/// Array task `task` of submission `submission`: runs its runs that have no summary yet on
/// `threads` threads.
pub fn run_task(
    out: &Path,
    submission: usize,
    task: usize,
    threads: usize,
) -> Result<TaskReport, SweepError> {
    let stored = read_stored(out)?;
    std::env::set_current_dir(&stored.cwd).map_err(io_err(&stored.cwd))?;
    let list = out
        .join("slurm")
        .join(submission.to_string())
        .join("tasks")
        .join(format!("{task}.txt"));
    let text = fs::read_to_string(&list).map_err(io_err(&list))?;
    let assigned: Vec<RunKey> = text.lines().filter_map(RunKey::parse).collect();
    let todo: Vec<RunKey> = assigned
        .iter()
        .filter(|r| !run_dir(out, &r.id()).join("summary.json").is_file())
        .cloned()
        .collect();
    let failed = run_runs(
        &stored.spec,
        out,
        &todo,
        threads,
        Progress::Lines,
        &stored.keep,
        None,
        (0, todo.len() as u64),
    )?;
    Ok(TaskReport {
        assigned: assigned.len(),
        skipped: assigned.len() - todo.len(),
        ran: todo.len(),
        failed,
    })
}

/// The collect job: the tables from the run folders.
pub fn collect_stored(out: &Path) -> Result<Collected, SweepError> {
    let stored = read_stored(out)?;
    std::env::set_current_dir(&stored.cwd).map_err(io_err(&stored.cwd))?;
    collect(&stored.spec, out).map_err(io_err(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_dealt_so_that_no_task_gets_all_the_long_ones() {
        // Config 0 runs 10x longer than config 1; 6 seeds each; 4 tasks.
        let runs: Vec<RunKey> = (0..2)
            .flat_map(|config| (1..=6).map(move |seed| RunKey { config, seed }))
            .collect();
        let cost = |r: &RunKey| if r.config == 0 { 10.0 } else { 1.0 };
        let tasks = deal(&runs, cost, 4);
        assert_eq!(tasks.iter().map(Vec::len).sum::<usize>(), 12);
        let loads: Vec<f64> = tasks.iter().map(|t| t.iter().map(cost).sum()).collect();
        let (lo, hi) = (
            loads.iter().cloned().fold(f64::INFINITY, f64::min),
            loads.iter().cloned().fold(0.0, f64::max),
        );
        // Six long runs over four tasks: no task has more than two, and the spread is at most
        // one long run.
        for t in &tasks {
            assert!(t.iter().filter(|r| r.config == 0).count() <= 2, "{tasks:?}");
        }
        assert!(hi - lo <= 10.0, "{loads:?}");
        // Every run exactly once.
        let mut all: Vec<String> = tasks.iter().flatten().map(RunKey::id).collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 12);
        // More tasks than runs: some get none, none gets two.
        let t = deal(&runs[..3], cost, 5);
        assert_eq!(t.iter().filter(|l| l.len() == 1).count(), 3);
    }

    #[test]
    fn run_ids_parse_back() {
        let r = RunKey {
            config: 1234,
            seed: 18_446_744_073_709_551_615,
        };
        assert_eq!(RunKey::parse(&r.id()), Some(r));
        assert_eq!(RunKey::parse("c1-x2"), None);
    }

    #[test]
    fn sbatch_arguments_are_options() {
        assert!(check_sbatch_args(&["--time=01:00:00".into()]).is_ok());
        assert!(check_sbatch_args(&["partition".into()]).is_err());
        assert!(check_sbatch_args(&["--x\n#SBATCH --y".into()]).is_err());
        assert_eq!(sh_quote("a'b"), r"'a'\''b'");
    }
}
