//! `reconf sweep`: scenario batches.

use super::run::input_error;
use crate::batch::spec::{self, is_sweep_file, parse_axis, read_sweep_file, Seeds};
use crate::batch::{run_sweep, slurm, Keep, Progress, SweepError, SweepOptions, DEFAULT_MAX_RUNS};
use crate::scenario::InputError;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// The arguments of `reconf sweep`.
#[derive(clap::Args, Debug, Clone)]
pub struct SweepArgs {
    /// Scenario files (several make a `scenario` axis), or one sweep file (a TOML file with a
    /// `[sweep]` table: `scenarios`, `seeds`, `set`, `axes`, `baseline`).
    #[arg(required = true, value_name = "FILE")]
    pub inputs: Vec<PathBuf>,
    /// The seeds of every configuration: `N` for seeds 1..=N, or `FIRST..LAST` (both included,
    /// `11..20` is ten seeds), the same for every configuration (common random numbers:
    /// comparisons are paired). Overrides the sweep file's `seeds`.
    #[arg(long, value_name = "N|FIRST..LAST")]
    pub seeds: Option<String>,
    /// An axis: `path=v1,v2,...` (one value is an axis of one value). Values are TOML and are
    /// split on top-level commas only (not inside `[]`, `{}` or quotes). Repeatable: the sweep
    /// is the cartesian product of the axes.
    #[arg(long = "set", value_name = "PATH=V1,V2,...")]
    pub sets: Vec<String>,
    /// Worker threads [default: the number of cores].
    #[arg(short = 'j', long = "jobs", value_name = "THREADS")]
    pub jobs: Option<usize>,
    /// The sweep folder (created; an existing sweep folder is resumed).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The baseline configuration: `AXIS=VALUE` (repeatable), or `scenario=LABEL`. Every
    /// configuration is then compared, seed by seed, with the configuration that differs from
    /// it only on these axes; `aggregate.csv` gets the differences and their 95% CI.
    #[arg(long, value_name = "AXIS=VALUE")]
    pub baseline: Vec<String>,
    /// What each run folder keeps: `all` (every file of `reconf run`, 25 to 150 KB in 5 files),
    /// or `summaries` (summary.json only, about 1.5 KB: for sweeps of 10^4 runs and more, and for
    /// cluster file systems that suffer from many small files).
    #[arg(long, value_name = "all|summaries", default_value = "all")]
    pub keep: KeepArg,
    /// With `--keep summaries`: the seeds whose runs keep every file anyway (an example time
    /// series per configuration), e.g. `--keep-full 1`.
    #[arg(
        long = "keep-full",
        value_name = "SEED[,SEED...]",
        value_delimiter = ','
    )]
    pub keep_full: Vec<u64>,
    /// Refuse sweeps of more runs than this (a typo in --seeds must not start a billion runs).
    #[arg(long = "max-runs", value_name = "N", default_value_t = DEFAULT_MAX_RUNS)]
    pub max_runs: u64,
    /// Run on a Slurm cluster: write a job array (DIR/slurm/) whose tasks run their share of the
    /// runs, and a collect job after it (afterany), and submit both with sbatch. Run the same
    /// command again for progress and to resubmit only what is missing.
    #[arg(long)]
    pub slurm: bool,
    /// With --slurm: the number of array tasks [default: one per 100 runs to do, at most 1000].
    #[arg(long, value_name = "N", requires = "slurm")]
    pub tasks: Option<usize>,
    /// With --slurm: an sbatch option for both jobs (repeatable), e.g.
    /// `--slurm-arg=--partition=long --slurm-arg=--time=02:00:00 --slurm-arg=--cpus-per-task=4`.
    #[arg(
        long = "slurm-arg",
        value_name = "OPTION",
        requires = "slurm",
        allow_hyphen_values = true
    )]
    pub slurm_args: Vec<String>,
    /// With --slurm: write the job scripts (and DIR/slurm/N/submit.sh) without submitting.
    #[arg(long = "dry-run", requires = "slurm")]
    pub dry_run: bool,
    /// No progress output.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// `reconf sweep-task DIR SUBMISSION` (run by the job array).
#[derive(clap::Args, Debug, Clone)]
pub struct SweepTaskArgs {
    pub dir: PathBuf,
    pub submission: usize,
    /// The task [default: $SLURM_ARRAY_TASK_ID].
    #[arg(long)]
    pub task: Option<usize>,
    /// Threads [default: $SLURM_CPUS_PER_TASK, else 1].
    #[arg(short = 'j', long = "jobs")]
    pub jobs: Option<usize>,
}

/// `reconf sweep-collect DIR` (the job after the array).
#[derive(clap::Args, Debug, Clone)]
pub struct SweepCollectArgs {
    pub dir: PathBuf,
}

fn env_number(name: &str) -> Option<usize> {
    std::env::var(name).ok()?.trim().parse().ok()
}

pub fn sweep_task(args: &SweepTaskArgs) -> ExitCode {
    let Some(task) = args.task.or_else(|| env_number("SLURM_ARRAY_TASK_ID")) else {
        return input_error(&InputError::new(
            "sweep-task",
            "no --task and no SLURM_ARRAY_TASK_ID: this command is run by the job array of \
`reconf sweep --slurm`",
        ));
    };
    let threads = args
        .jobs
        .or_else(|| env_number("SLURM_CPUS_PER_TASK"))
        .unwrap_or(1)
        .max(1);
    let start = Instant::now();
    match slurm::run_task(&args.dir, args.submission, task, threads) {
        Ok(r) => {
            eprintln!(
                "sweep-task {task}: {} runs assigned, {} finished before, {} run now ({} failed) \
on {threads} threads in {:.1} s",
                r.assigned,
                r.skipped,
                r.ran,
                r.failed,
                start.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(SweepError::Input(e)) => input_error(&e),
        Err(SweepError::Io(e)) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

pub fn sweep_collect(args: &SweepCollectArgs) -> ExitCode {
    match slurm::collect_stored(&args.dir) {
        Ok(c) => {
            eprintln!(
                "sweep-collect: {} ok, {} failed, {} missing; tables in {}",
                c.ok,
                c.failed,
                c.missing,
                args.dir.display()
            );
            if c.missing > 0 {
                eprintln!(
                    "sweep-collect: {} runs are missing (a task cancelled, preempted or out of \
time): run the same `reconf sweep ... --slurm` again to resubmit them",
                    c.missing
                );
            }
            if c.failed > 0 || c.missing > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(SweepError::Input(e)) => input_error(&e),
        Err(SweepError::Io(e)) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn slurm_sweep(args: &SweepArgs, spec: &spec::SweepSpec, keep: &Keep) -> ExitCode {
    let opts = slurm::SlurmOptions {
        tasks: args.tasks,
        sbatch_args: args.slurm_args.clone(),
        dry_run: args.dry_run,
    };
    let total = spec.run_count();
    match slurm::submit(spec, keep, &args.out, &opts) {
        Ok((outcome, counts)) => {
            match outcome {
                slurm::Outcome::InProgress { active } => println!(
                    "slurm: {total} runs: {}; jobs still queued or running: {}. Nothing \
submitted: run this command again once they have ended to resubmit what is missing.",
                    counts.text(),
                    active.join(", ")
                ),
                slurm::Outcome::Finished(c) => println!(
                    "slurm: all {total} runs finished ({} ok, {} failed); tables written in {}",
                    c.ok,
                    c.failed,
                    args.out.display()
                ),
                slurm::Outcome::Submitted {
                    submission,
                    folder,
                    tasks,
                    runs,
                    jobs,
                } => {
                    let before = if counts.done + counts.failed > 0 {
                        format!(" (of {}: {})", total, counts.text())
                    } else {
                        String::new()
                    };
                    match jobs {
                        Some((array, collect)) => println!(
                            "slurm: submission {submission}: {runs} runs{before} in {tasks} array \
tasks, job array {array}, collect job {collect} (afterany); scripts and logs in {}",
                            folder.display()
                        ),
                        None => println!(
                            "slurm: dry run: submission {submission}: {runs} runs{before} in \
{tasks} array tasks; scripts in {}; submit with {}",
                            folder.display(),
                            folder.join("submit.sh").display()
                        ),
                    }
                }
            }
            ExitCode::SUCCESS
        }
        Err(SweepError::Input(e)) => input_error(&e),
        Err(SweepError::Io(e)) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// `--keep`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeepArg {
    All,
    Summaries,
}

/// Turns the arguments into a sweep.
pub fn spec_of(args: &SweepArgs) -> Result<spec::SweepSpec, InputError> {
    let mut axes = Vec::new();
    let cli_seeds = match &args.seeds {
        Some(t) => Some(Seeds::parse(t).map_err(|m| InputError::new(format!("--seeds {t}"), m))?),
        None => None,
    };
    let (scenarios, fixed_sets, seeds, baseline) =
        if args.inputs.len() == 1 && is_sweep_file(&args.inputs[0]) {
            let f = read_sweep_file(&args.inputs[0])?;
            axes = f.axes;
            let baseline = if args.baseline.is_empty() {
                f.baseline
            } else {
                args.baseline.clone()
            };
            (f.scenarios, f.fixed_sets, cli_seeds.or(f.seeds), baseline)
        } else {
            if let Some(p) = args.inputs.iter().find(|p| is_sweep_file(p)) {
                return Err(InputError::new(
                    p.display().to_string(),
                    "a sweep file is given alone, not with scenario files",
                ));
            }
            (
                args.inputs.clone(),
                Vec::new(),
                cli_seeds,
                args.baseline.clone(),
            )
        };
    for s in &args.sets {
        axes.push(parse_axis(s)?);
    }
    let seeds = seeds.ok_or_else(|| {
        InputError::new(
            "--seeds",
            "give the seeds of each configuration, e.g. --seeds 10 (1..=10) or --seeds 11..20",
        )
    })?;
    let spec = spec::build(scenarios, fixed_sets, axes, seeds, &baseline)?;
    crate::batch::check_size(&spec, args.max_runs)?;
    Ok(spec)
}

/// `--keep` and `--keep-full` together.
pub fn keep_of(args: &SweepArgs) -> Result<Keep, InputError> {
    match args.keep {
        KeepArg::All if !args.keep_full.is_empty() => Err(InputError::new(
            "--keep-full",
            "only with --keep summaries (every run keeps every file already)",
        )),
        KeepArg::All => Ok(Keep::All),
        KeepArg::Summaries => Ok(Keep::Summaries {
            full_seeds: args.keep_full.clone(),
        }),
    }
}

pub fn sweep(args: &SweepArgs) -> ExitCode {
    let spec = match spec_of(args) {
        Ok(s) => s,
        Err(e) => return input_error(&e),
    };
    if args.jobs == Some(0) {
        return input_error(&InputError::new("-j", "needs at least 1 thread"));
    }
    let threads = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let progress = if args.quiet {
        Progress::Quiet
    } else if std::io::stderr().is_terminal() {
        Progress::Bar
    } else {
        Progress::Lines
    };
    let keep = match keep_of(args) {
        Ok(k) => k,
        Err(e) => return input_error(&e),
    };
    if args.slurm {
        return slurm_sweep(args, &spec, &keep);
    }
    let opts = SweepOptions {
        out: args.out.clone(),
        threads,
        progress,
        keep,
        policy: None,
    };
    let start = Instant::now();
    match run_sweep(&spec, &opts) {
        Ok(r) => {
            if !args.quiet {
                eprintln!(
                    "sweep: {} runs ({} configurations x {} seeds): {} ok, {} failed, {} run now, \
{} kept from before, in {:.1} s; results in {} (runs.csv, aggregate.csv)",
                    r.runs,
                    spec.config_count(),
                    spec.seeds.count,
                    r.collected.ok,
                    r.collected.failed,
                    r.ran,
                    r.skipped,
                    start.elapsed().as_secs_f64(),
                    args.out.display()
                );
            }
            if r.collected.failed > 0 || r.collected.missing > 0 {
                eprintln!(
                    "error: {} of {} runs failed; their errors are in runs.csv (status, error) \
and runs/<id>/error.txt",
                    r.collected.failed + r.collected.missing,
                    r.runs
                );
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(SweepError::Input(e)) => input_error(&e),
        Err(SweepError::Io(e)) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
