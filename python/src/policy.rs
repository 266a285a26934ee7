//! A policy written in Python, behind the same `reconf_api::Policy` seam as a Rust one: at each
//! control instant the simulator's view is handed to the object's `decide(view)` (with the
//! interpreter attached) and the actions it returns are carried out.

use crate::actions::actions_from_py;
use crate::view::View;
use pyo3::intern;
use pyo3::prelude::*;
use reconf::batch::RunAborted;
use reconf_api::{Action, Policy};

pub struct PyPolicy {
    obj: Py<PyAny>,
    name: String,
    on_error: OnError,
}

/// What a run does when the Python `decide` raises.
pub enum OnError {
    /// Unwinds with [`PolicyRaised`]: the run stops there, and its caller raises the exception
    /// (`reconf.run`, the Gymnasium environment).
    Raise,
    /// Unwinds with [`RunAborted`]: that run of a sweep fails with the exception's message in
    /// its `error.txt`, and the other runs go on.
    FailRun,
    #[cfg(feature = "libvirt")]
    /// Keeps the exception for the caller and ends the run as Ctrl-C does (a live run: its
    /// migrations in flight are aborted and its files written; no unwinding through the
    /// control loop); the policy decides nothing from then on.
    Stop(std::sync::Arc<crate::live::Stopped>),
}

/// The payload a run unwinds with when a Python `decide` raised: the run stops at that control
/// instant and the exception reaches the caller of `run` unchanged.
pub struct PolicyRaised(pub PyErr);

impl PyPolicy {
    /// Wraps `obj`, which must have a callable `decide`; its name is its `name` attribute if it
    /// has one, else its class's name.
    pub fn new(obj: &Bound<'_, PyAny>, on_error: OnError) -> PyResult<Self> {
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
            on_error,
        })
    }
}

impl Policy for PyPolicy {
    fn name(&self) -> &str {
        &self.name
    }

    fn decide(&mut self, view: &reconf_api::View) -> Vec<Action> {
        #[cfg(feature = "libvirt")]
        if let OnError::Stop(stopped) = &self.on_error {
            if stopped.interrupt.count() > 0 {
                return Vec::new();
            }
        }
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
            // caller catches this payload.
            Err(e) => match &self.on_error {
                OnError::Raise => std::panic::resume_unwind(Box::new(PolicyRaised(e))),
                OnError::FailRun => {
                    let msg = format!(
                        "the policy {} raised {}",
                        self.name,
                        Python::attach(|py| describe(py, &e))
                    );
                    std::panic::resume_unwind(Box::new(RunAborted(msg)))
                }
                #[cfg(feature = "libvirt")]
                OnError::Stop(stopped) => {
                    stopped.stop(e);
                    Vec::new()
                }
            },
        }
    }
}

/// A Python exception in one line: `ValueError: bad value (at policy.py:12)`, the place being
/// the innermost frame of its traceback.
pub fn describe(py: Python<'_>, e: &PyErr) -> String {
    let mut text = e.to_string();
    if let Some(place) = e
        .traceback(py)
        .and_then(|tb| tb.format().ok())
        .and_then(|tb| {
            tb.lines()
                .filter_map(|l| l.trim().strip_prefix("File \""))
                .next_back()
                .map(String::from)
        })
    {
        // `File "/path/policy.py", line 12, in decide` -> `policy.py:12`.
        let mut parts = place.splitn(2, "\", line ");
        let file = parts.next().unwrap_or_default();
        let line = parts
            .next()
            .and_then(|r| r.split(',').next())
            .unwrap_or_default();
        let file = std::path::Path::new(file)
            .file_name()
            .map_or(file.to_string(), |f| f.to_string_lossy().into_owned());
        text.push_str(&format!(" (at {file}:{line})"));
    }
    text
}
