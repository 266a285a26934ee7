//! Loading a scenario from Python: from a file, or from TOML text (a dict is turned into TOML
//! text on the Python side), with `--set` assignments, through the same loader as the CLI.

use crate::ScenarioError;
use pyo3::prelude::*;
use reconf::scenario::load::{load, load_str, Loaded};
use std::path::{Path, PathBuf};

/// A loaded, validated scenario, ready to run (any number of times).
#[pyclass(frozen, module = "reconf")]
pub struct Scenario {
    pub loaded: Loaded,
    /// How errors and messages name it: its path, or `<string>` for TOML text.
    pub shown: String,
    /// Where its relative file names start from: its folder, or the folder given with TOML
    /// text (the live backend reads `live.templates` from there).
    pub base_dir: PathBuf,
}

#[pymethods]
impl Scenario {
    #[getter]
    fn name(&self) -> &str {
        &self.loaded.scenario.name
    }
    #[getter]
    fn seed(&self) -> u64 {
        self.loaded.scenario.seed
    }
    /// Simulated duration, in seconds.
    #[getter]
    fn duration_s(&self) -> f64 {
        self.loaded.scenario.duration_s
    }
    /// The control period of its policy, in seconds (30 when it names none).
    #[getter]
    fn policy_period_s(&self) -> f64 {
        self.loaded
            .scenario
            .policy
            .as_ref()
            .map_or(30.0, |p| p.period_s)
    }
    /// The name of the policy the scenario names, if any.
    #[getter]
    fn policy_name(&self) -> Option<String> {
        self.loaded.scenario.policy.as_ref().map(|p| p.name.clone())
    }
    /// Where it comes from, as messages name it.
    #[getter]
    fn source(&self) -> &str {
        &self.shown
    }
    /// The resolved scenario as TOML (what `scenario.toml` of a run folder holds).
    fn resolved_toml(&self) -> String {
        self.loaded.resolved_toml()
    }
    fn __repr__(&self) -> String {
        format!(
            "Scenario(name={:?}, source={:?}, seed={}, duration_s={})",
            self.loaded.scenario.name,
            self.shown,
            self.loaded.scenario.seed,
            self.loaded.scenario.duration_s
        )
    }
}

/// Loads a scenario. `kind` is `"path"` (then `source` is a file name) or `"text"` (TOML text,
/// named `shown` in messages, its relative file names relative to `base_dir`).
#[pyfunction]
#[pyo3(signature = (kind, source, sets, max_memory_mb, shown = None, base_dir = None))]
pub fn load_scenario(
    py: Python<'_>,
    kind: &str,
    source: &str,
    sets: Vec<String>,
    max_memory_mb: u64,
    shown: Option<String>,
    base_dir: Option<PathBuf>,
) -> PyResult<Scenario> {
    reconf::scenario::budget::set_limit_mb(max_memory_mb);
    let (loaded, shown, base_dir) = py.detach(|| match kind {
        "path" => {
            let path = Path::new(source);
            let base = path.parent().map(PathBuf::from).unwrap_or_default();
            (load(path, &sets), source.to_string(), base)
        }
        _ => {
            let shown = shown.unwrap_or_else(|| "<string>".to_string());
            let base = base_dir.unwrap_or_default();
            (load_str(source, &shown, &base, &sets), shown, base)
        }
    });
    let loaded = loaded.map_err(|e| ScenarioError::new_err(e.to_string()))?;
    Ok(Scenario {
        loaded,
        shown,
        base_dir,
    })
}

/// TOML text of a JSON document (a scenario given as a Python dict, dumped as JSON).
#[pyfunction]
pub fn toml_of_json(json: &str) -> PyResult<String> {
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| ScenarioError::new_err(format!("<dict>: {e}")))?;
    let value = toml::Value::try_from(value)
        .map_err(|e| ScenarioError::new_err(format!("<dict>: not a TOML document: {e}")))?;
    if !value.is_table() {
        return Err(ScenarioError::new_err("<dict>: a scenario is a table"));
    }
    toml::to_string(&value)
        .map_err(|e| ScenarioError::new_err(format!("<dict>: not a TOML document: {e}")))
}
