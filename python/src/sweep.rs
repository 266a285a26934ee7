//! `reconf sweep` from Python: the same arguments, parsed by the CLI's own parser and run by the
//! library's batch runner; the Python side reads the tables it writes.

use crate::policy::{describe, OnError, PyPolicy};
use crate::{ScenarioError, SimulationError};
use clap::Parser;
use pyo3::prelude::*;
use reconf::batch::{run_sweep, PolicyOverride, Progress, SweepError, SweepOptions};
use reconf::cli::sweep::{keep_of, spec_of, SweepArgs};
use reconf_api::Policy;
use std::sync::Arc;

#[derive(Parser, Debug)]
#[command(name = "reconf sweep")]
struct SweepCommand {
    #[command(flatten)]
    args: SweepArgs,
}

fn sweep_error(e: SweepError) -> PyErr {
    match e {
        SweepError::Input(e) => ScenarioError::new_err(e.to_string()),
        SweepError::Io(e) => pyo3::exceptions::PyOSError::new_err(e),
    }
}

/// The policy of every run: `make(seed)` builds a fresh Python policy for each run (in the
/// worker thread that runs it, with the interpreter attached); `label` names it in `sweep.json`.
fn policy_override(make: Py<PyAny>, label: &str) -> PolicyOverride {
    PolicyOverride {
        label: format!("python:{label}"),
        build: Arc::new(move |seed| {
            Python::attach(|py| {
                let obj = make
                    .bind(py)
                    .call1((seed,))
                    .map_err(|e| format!("cannot make the run's policy: {}", describe(py, &e)))?;
                let p = PyPolicy::new(&obj, OnError::FailRun)
                    .map_err(|e| format!("cannot make the run's policy: {}", describe(py, &e)))?;
                Ok(Box::new(p) as Box<dyn Policy>)
            })
        }),
    }
}

/// Runs `reconf sweep ARGV...` (without `--slurm`); returns (runs, ok, failed, ran now, kept
/// from before). With `policy` (a callable: seed -> a new Python policy), every run uses a
/// policy of its own made by it, named `policy_label` in `sweep.json`. Raises `ScenarioError`
/// for bad input and `SimulationError` if runs failed, with the CLI's messages.
#[pyfunction]
#[pyo3(signature = (argv, policy = None, policy_label = None))]
pub fn sweep(
    py: Python<'_>,
    argv: Vec<String>,
    policy: Option<Py<PyAny>>,
    policy_label: Option<String>,
) -> PyResult<(u64, u64, u64, u64, u64)> {
    let cmd = SweepCommand::try_parse_from(std::iter::once("reconf sweep".to_string()).chain(argv))
        .map_err(|e| {
            let text = e.to_string();
            let line = text.lines().next().unwrap_or("").trim();
            ScenarioError::new_err(line.strip_prefix("error: ").unwrap_or(line).to_string())
        })?;
    let args = cmd.args;
    if args.slurm {
        return Err(ScenarioError::new_err(
            "--slurm: submit sweeps to a cluster with the `reconf sweep` command",
        ));
    }
    let spec = spec_of(&args).map_err(|e| ScenarioError::new_err(e.to_string()))?;
    let keep = keep_of(&args).map_err(|e| ScenarioError::new_err(e.to_string()))?;
    if args.jobs == Some(0) {
        return Err(ScenarioError::new_err("-j: needs at least 1 thread"));
    }
    let threads = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let opts = SweepOptions {
        out: args.out.clone(),
        threads,
        progress: if args.quiet {
            Progress::Quiet
        } else {
            Progress::Lines
        },
        keep,
        policy: policy
            .map(|make| policy_override(make, policy_label.as_deref().unwrap_or("policy"))),
    };
    let r = py.detach(|| run_sweep(&spec, &opts)).map_err(sweep_error)?;
    if r.collected.failed > 0 || r.collected.missing > 0 {
        return Err(SimulationError::new_err(format!(
            "{} of {} runs failed; their errors are in {}/runs.csv (status, error) and \
             runs/<id>/error.txt",
            r.collected.failed + r.collected.missing,
            r.runs,
            args.out.display()
        )));
    }
    Ok((r.runs, r.collected.ok, r.collected.failed, r.ran, r.skipped))
}
