//! The `reconf` command line.
//!
//! Exit codes: 0 success, 1 failure while running or writing (e.g. disk full), 2 bad input
//! (scenario, trace, table or arguments), with one message naming the file, line and field.

mod compare;
mod keys;
mod live;
mod plot;
mod run;
pub mod sweep;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "reconf",
    version = crate::report::provenance::VERSION_LINE,
    about = "Simulate server clusters that reconfigure themselves under varying load",
    long_about = "reconf simulates replicated multi-tier applications (RUBiS on web, application \
and database tiers) under a load that varies over hours, deterministically: the same scenario and \
seed give byte-identical outputs.",
    after_help = "Examples:\n  reconf run scenarios/examples/rubis.toml --out out/rubis\n  \
reconf run scenarios/examples/rubis.toml --seed 7 --set apps[0].tiers[1].replicas=3\n  \
reconf validate scenarios/examples/rubis.toml\n  reconf keys > docs/scenario-keys.md\n  \
reconf sweep scenarios/examples/rubis.toml --seeds 10 --set apps[0].tiers[1].replicas=1,2,3 --out out/sw\n  \
reconf plot out/sw\n  reconf compare results/baselines/examples/aggregate.csv out/examples"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Where a scenario comes from and how to change it on the command line.
#[derive(clap::Args, Debug, Clone)]
pub struct ScenarioArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    /// Override a key of the scenario: `dotted.path=value`, arrays indexed as `apps[0]` or
    /// `apps.0`. The value is TOML (`4`, `2.5`, `"text"`, `[1, 2]`); a bare word is a string.
    /// Repeatable; applied in order.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub sets: Vec<String>,
    /// Refuse a scenario whose estimated memory exceeds this many MB (default 8000: a third of
    /// a 24 GB machine); the estimate counts clients, replicas, nodes and output rows.
    #[arg(long, value_name = "MB", default_value_t = crate::scenario::budget::DEFAULT_LIMIT_MB)]
    pub max_memory_mb: u64,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a scenario and write summary.json, timeseries.csv and the resolved scenario.toml.
    #[command(
        after_help = "Example:\n  reconf run scenarios/examples/rubis.toml --seed 3 --out out/rubis-3 \
--set sla.response_target_ms=500"
    )]
    Run {
        #[command(flatten)]
        scenario: ScenarioArgs,
        /// Seed of all random streams (overrides the scenario's `seed`), from 0 to
        /// 9223372036854775807 (the largest TOML integer, so that scenario.toml can hold it).
        #[arg(long, value_parser = clap::value_parser!(u64).range(..=i64::MAX as u64))]
        seed: Option<u64>,
        /// Output folder, written as a whole: the run goes into a temporary sibling folder that
        /// then replaces DIR, so DIR holds one complete run, the previous one or this one. An
        /// existing DIR must be a run folder or empty.
        #[arg(long, value_name = "DIR", default_value = "out/run")]
        out: PathBuf,
    },
    /// Check a scenario without running it: exit 0 if it is valid, 2 with a message otherwise.
    #[command(
        after_help = "Example:\n  reconf validate scenarios/examples/rubis.toml --set duration_s=60"
    )]
    Validate {
        #[command(flatten)]
        scenario: ScenarioArgs,
    },
    /// Print the reference of every scenario key (unit, default, meaning) as Markdown.
    #[command(after_help = "Example:\n  reconf keys > docs/scenario-keys.md")]
    Keys,
    /// List the built-in policies and their parameters (for `[policy]` in a scenario).
    #[command(
        after_help = "Example:\n  reconf policies\n\nIn a scenario:\n  [policy]\n  \
name = \"threshold-migration\"\n  period_s = 30\n  params = { high = 0.6, for_s = 30 }"
    )]
    Policies,
    /// Run a batch: scenarios x the product of --set axes x seeds, in parallel and resumable;
    /// writes DIR/runs/<id>/, DIR/runs.csv and DIR/aggregate.csv (mean, sd, 95% CI).
    #[command(
        after_help = "Exit codes: 0 every run finished, 1 some run failed (recorded in \
runs.csv and runs/<id>/error.txt) or a write failed, 2 bad input (nothing written).\n\n\
Examples:\n  reconf sweep scenarios/examples/rubis.toml --seeds 10 -j 2 --out out/sw \\\n      \
--set apps[0].tiers[1].replicas=1,2,3 --set 'apps[0].clients.profile={kind=\"constant\", value=500},{kind=\"constant\", value=900}' \\\n      \
--baseline replicas=2\n  reconf sweep scenarios/examples/scripted-restart.toml scenarios/examples/scripted-migration.toml \\\n      \
--seeds 20 --baseline scenario=scripted-restart --out out/restart-vs-migration\n  \
reconf sweep scenarios/sweeps/replicas.toml --out out/replicas   # a sweep file\n\n\
Rerun the same command after an interruption: finished runs are kept, the others redone.\n\n\
On a Slurm cluster (from the login node, DIR on the shared file system):\n  \
reconf sweep scenarios/sweeps/replicas.toml --out /shared/sw --slurm --tasks 50 \\\n      \
--slurm-arg=--partition=batch --slurm-arg=--time=01:00:00 --slurm-arg=--cpus-per-task=4\n\
Run it again to see progress and, once its jobs have ended, to resubmit what is missing."
    )]
    Sweep(sweep::SweepArgs),
    /// (Internal) One array task of `reconf sweep --slurm`: runs the runs of
    /// DIR/slurm/SUBMISSION/tasks/$SLURM_ARRAY_TASK_ID.txt on $SLURM_CPUS_PER_TASK threads.
    #[command(hide = true)]
    SweepTask(sweep::SweepTaskArgs),
    /// (Internal) The collect job of `reconf sweep --slurm`: writes the tables of DIR.
    #[command(hide = true)]
    SweepCollect(sweep::SweepCollectArgs),
    /// Draw figures (SVG and PNG) of a run folder or a sweep folder into DIR/figures/.
    #[command(
        after_help = "Examples:\n  reconf plot out/rubis          # a run: time series\n  \
reconf plot out/sw             # a sweep: comparisons with 95% CIs\n  \
reconf plot out/sw --out paper/figures --metric p95_response_ms --metric energy_kwh"
    )]
    Plot(plot::PlotArgs),
    /// Compare two summary.json or two aggregate.csv (or run/sweep folders) and flag regressions.
    #[command(
        after_help = "Exit codes: 0 no regression, 1 regression, 2 bad input.\n\n\
With sweeps the seeds are paired: a metric regresses only when the 95% CI of the per-seed \
differences candidate - baseline (from the runs.csv beside each aggregate.csv; Welch on the \
aggregates without it) lies entirely on the worse side beyond the tolerance (relative to the \
baseline mean): noise does not fail, and an unchanged candidate has a zero-width interval. With \
single summaries (of the same seed), worse by more than the tolerance is a regression.\n\n\
Examples:\n  reconf compare results/baselines/examples/aggregate.csv out/examples/aggregate.csv\n  \
reconf compare old/summary.json new/summary.json --metric p95_response_ms=0.05 --metric energy_kwh=0.02\n  \
reconf compare a.csv b.csv --metric tier_utilisation.rubis.app:lower=0.1\n  reconf compare --list"
    )]
    Compare(compare::CompareArgs),
    /// Run the scenario's policy, unchanged, against real hosts through libvirt (one --uri per
    /// node; domains named <app>-<tier>-<k> are the replicas); writes the run's files like `run`.
    #[command(
        after_help = "Exit codes: 0 done, 1 a host could not be reached or a write failed, 2 bad \
input (or built without the `libvirt` feature).\n\n\
Examples:\n  reconf live scenarios/live/two-hosts.toml --uri qemu:///system \\\n      \
--uri 'qemu+unix:///session?socket=/home/reconf/.cache/libvirt/libvirt-sock' --dry-run\n  \
reconf live scenarios/live/two-hosts.toml --uri qemu+ssh://root@host1/system \\\n      \
--uri qemu+ssh://root@host2/system --duration-s 600 --out out/live"
    )]
    Live(live::LiveArgs),
}

/// Runs the command line; returns the process exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // clap: help and version go to stdout with code 0; usage errors get code 2.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match cli.command {
        Command::Run {
            scenario,
            seed,
            out,
        } => run::run(&scenario, seed, &out),
        Command::Validate { scenario } => run::validate(&scenario),
        Command::Keys => {
            print!("{}", keys::reference_markdown());
            ExitCode::SUCCESS
        }
        Command::Policies => {
            print!("{}", keys::policies_markdown());
            ExitCode::SUCCESS
        }
        Command::Sweep(args) => sweep::sweep(&args),
        Command::SweepTask(args) => sweep::sweep_task(&args),
        Command::SweepCollect(args) => sweep::sweep_collect(&args),
        Command::Plot(args) => plot::plot(&args),
        Command::Compare(args) => compare::compare(&args),
        Command::Live(args) => live::live(&args),
    }
}
