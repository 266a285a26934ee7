//! A policy written in Python, behind the same `reconf_api::Policy` seam as a Rust one: at each
//! control instant the simulator's view is handed to the object's `decide(view)` (with the
//! interpreter attached) and the actions it returns are carried out.

use crate::actions::actions_from_py;
use crate::view::View;
use pyo3::intern;
use pyo3::prelude::*;
use reconf_api::{Action, Policy};

pub struct PyPolicy {
    obj: Py<PyAny>,
    name: String,
}

/// The payload a run unwinds with when a Python `decide` raised: the run stops at that control
/// instant and the exception reaches the caller of `run` unchanged.
pub struct PolicyRaised(pub PyErr);

impl PyPolicy {
    /// Wraps `obj`, which must have a callable `decide`; its name is its `name` attribute if it
    /// has one, else its class's name.
    pub fn new(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        let py = obj.py();
        let decide = obj.getattr(intern!(py, "decide")).map_err(|_| {
            pyo3::exceptions::PyTypeError::new_err(
                "a policy is an object with a method decide(view) -> list of actions",
            )
        })?;
        if !decide.is_callable() {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "the policy's `decide` is not callable",
            ));
        }
        let name = match obj.getattr(intern!(py, "name")) {
            Ok(n) if n.is_instance_of::<pyo3::types::PyString>() => n.extract::<String>()?,
            _ => obj.get_type().name()?.to_string(),
        };
        Ok(PyPolicy {
            obj: obj.clone().unbind(),
            name,
        })
    }
}

impl Policy for PyPolicy {
    fn name(&self) -> &str {
        &self.name
    }

    fn decide(&mut self, view: &reconf_api::View) -> Vec<Action> {
        let decided = Python::attach(|py| -> PyResult<Vec<Action>> {
            // Ctrl-C (KeyboardInterrupt) stops the run at the next control instant.
            py.check_signals()?;
            let v = Bound::new(py, View::new(view.clone()))?;
            let out = self
                .obj
                .bind(py)
                .call_method1(intern!(py, "decide"), (v,))?;
            actions_from_py(&out)
        });
        match decided {
            Ok(actions) => actions,
            // Not a panic: resume_unwind runs no panic hook, so nothing is printed; the run's
            // caller catches this payload and raises the exception.
            Err(e) => std::panic::resume_unwind(Box::new(PolicyRaised(e))),
        }
    }
}
