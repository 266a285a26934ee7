//! Running a scenario from Python: the CLI's `Simulation::from_loaded(..).try_run()`, with the
//! interpreter released while it runs (a Python policy attaches it at each control instant).

use crate::policy::{OnError, PolicyRaised, PyPolicy};
use crate::scenario::Scenario;
use crate::SimulationError;
use pyo3::prelude::*;
use reconf::report::RunOutput;
use reconf::sim::Simulation;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::path::PathBuf;

/// What a run produced, as the texts of its files (`summary.json` with its provenance,
/// `timeseries.csv`, `actions.csv`, `nodes.csv`): the Python side parses them.
#[pyclass(frozen, module = "reconf")]
pub struct Output {
    #[pyo3(get)]
    summary_json: String,
    #[pyo3(get)]
    timeseries_csv: String,
    #[pyo3(get)]
    actions_csv: String,
    #[pyo3(get)]
    nodes_csv: String,
}

impl Output {
    pub fn of(output: &RunOutput, resolved_toml: &str) -> Self {
        Output {
            summary_json: output.summary_json_with_provenance(resolved_toml),
            timeseries_csv: output.timeseries_csv(),
            actions_csv: output.actions_csv(),
            nodes_csv: output.nodes_csv(),
        }
    }
}

/// The exception of a run that unwound: the Python policy's own exception; any other unwind
/// (a bug) goes on unwinding, and reaches Python as a `PanicException`.
pub fn run_error(payload: Box<dyn std::any::Any + Send>) -> PyErr {
    match payload.downcast::<PolicyRaised>() {
        Ok(raised) => raised.0,
        Err(other) => resume_unwind(other),
    }
}

/// Runs `scenario` to its end with its own policy, or with `policy` (a Python object with
/// `decide(view)`) in its place; writes the run folder `out` as `reconf run --out` does if given.
#[pyfunction]
#[pyo3(signature = (scenario, policy = None, out = None))]
pub fn run(
    py: Python<'_>,
    scenario: &Scenario,
    policy: Option<&Bound<'_, PyAny>>,
    out: Option<PathBuf>,
) -> PyResult<Output> {
    let loaded = &scenario.loaded;
    if let Some(out) = &out {
        reconf::report::output::check_run_folder(out).map_err(|e| {
            crate::ScenarioError::new_err(
                reconf::scenario::InputError::new("out", e.to_string()).to_string(),
            )
        })?;
    }
    let sim = match policy {
        Some(p) => Simulation::from_loaded_with_policy(
            loaded,
            Some(Box::new(PyPolicy::new(p, OnError::Raise)?)),
        ),
        None => Simulation::from_loaded(loaded),
    };
    let result = py.detach(|| catch_unwind(AssertUnwindSafe(|| sim.try_run())));
    let output = match result {
        Ok(Ok(o)) => o,
        Ok(Err(stalled)) => {
            return Err(SimulationError::new_err(format!(
                "{}: {stalled}",
                scenario.shown
            )))
        }
        Err(payload) => return Err(run_error(payload)),
    };
    let resolved = loaded.resolved_toml();
    if let Some(out) = &out {
        py.detach(|| output.write_to(out, &resolved)).map_err(|e| {
            pyo3::exceptions::PyOSError::new_err(format!(
                "cannot write results to {}: {e}",
                out.display()
            ))
        })?;
    }
    Ok(Output::of(&output, &resolved))
}
