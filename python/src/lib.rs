//! `reconf._reconf`, the extension module of the `reconf` Python package (`python/reconf/`):
//! scenarios loaded and run through the library's own functions (the ones the CLI uses), the
//! policy's view and actions as Python classes, a Python policy behind the `Policy` seam, sweeps,
//! live runs against libvirt (feature `libvirt`), and step-by-step sessions for the Gymnasium
//! environment.

use pyo3::create_exception;
use pyo3::prelude::*;

mod actions;
mod live;
mod policy;
mod run;
mod scenario;
mod session;
mod sweep;
mod view;

create_exception!(
    reconf,
    ScenarioError,
    pyo3::exceptions::PyValueError,
    "Bad input (scenario, trace, table, `set` assignment): the CLI's one-line message, naming \
     the file, line and field (the CLI exits with code 2)."
);
create_exception!(
    reconf,
    SimulationError,
    pyo3::exceptions::PyRuntimeError,
    "A run that could not finish (a stalled simulation) or a sweep whose runs failed (the CLI \
     exits with code 1)."
);

#[pymodule]
fn _reconf(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("ScenarioError", py.get_type::<ScenarioError>())?;
    m.add("SimulationError", py.get_type::<SimulationError>())?;
    m.add("VERSION", reconf::report::provenance::VERSION_LINE)?;
    m.add("HAS_LIBVIRT", live::HAS_LIBVIRT)?;
    m.add_class::<scenario::Scenario>()?;
    m.add_class::<run::Output>()?;
    m.add_class::<session::Session>()?;
    m.add_function(wrap_pyfunction!(scenario::load_scenario, m)?)?;
    m.add_function(wrap_pyfunction!(scenario::toml_of_json, m)?)?;
    m.add_function(wrap_pyfunction!(run::run, m)?)?;
    m.add_function(wrap_pyfunction!(sweep::sweep, m)?)?;
    m.add_function(wrap_pyfunction!(live::live, m)?)?;
    view::register(m)?;
    actions::register(m)?;
    Ok(())
}
