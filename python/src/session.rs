//! A run driven step by step from outside (the Gymnasium environment): the simulation runs in a
//! thread of its own, with a policy whose `decide` hands the view over a channel and waits for
//! the actions to come back. So an agent decides at exactly the instants, and through exactly
//! the seam, that a policy does; the simulator is unchanged.

use crate::actions::actions_from_py;
use crate::run::Output;
use crate::scenario::Scenario;
use crate::view::View;
use crate::SimulationError;
use pyo3::prelude::*;
use reconf::sim::Simulation;
use reconf_api::{Action, Policy};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Mutex;
use std::thread::JoinHandle;

/// What the simulation's thread says.
enum Message {
    /// A control instant: the view; the thread waits for the actions.
    Decide(reconf_api::View),
    /// The run ended: its output, or why it stopped.
    Finished(Result<Output, String>),
}

/// The session was dropped while its run waited for actions: the thread unwinds with this
/// payload (no panic hook runs, nothing is printed) and ends.
struct Abandoned;

struct ChannelPolicy {
    to_session: SyncSender<Message>,
    from_session: Receiver<Vec<Action>>,
}

impl Policy for ChannelPolicy {
    fn name(&self) -> &str {
        "external"
    }

    fn decide(&mut self, view: &reconf_api::View) -> Vec<Action> {
        if self.to_session.send(Message::Decide(view.clone())).is_err() {
            std::panic::resume_unwind(Box::new(Abandoned));
        }
        match self.from_session.recv() {
            Ok(actions) => actions,
            Err(_) => std::panic::resume_unwind(Box::new(Abandoned)),
        }
    }
}

struct Running {
    to_sim: Option<SyncSender<Vec<Action>>>,
    /// In a mutex only so that a reference to it may cross into `detach`.
    from_sim: Mutex<Receiver<Message>>,
    thread: Option<JoinHandle<()>>,
    /// Whether the run waits for actions (a view was handed out and not answered).
    waiting: bool,
    finished: bool,
}

impl Drop for Running {
    fn drop(&mut self) {
        // Closing the channel ends a run that waits for actions; one still computing ends at
        // its next control instant.
        self.to_sim = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A run of a scenario, advanced one decision at a time: `start()` runs to the first control
/// instant and returns its `View`; `act(actions)` carries the actions out at that instant, runs
/// to the next one and returns its `View`, or the run's `Output` once the scenario's end is
/// reached.
#[pyclass(module = "reconf")]
pub struct Session {
    running: Mutex<Running>,
    shown: String,
}

#[pymethods]
impl Session {
    #[new]
    fn new(scenario: &Scenario) -> PyResult<Self> {
        let (to_session, from_sim) = sync_channel(1);
        let (to_sim, from_session) = sync_channel(1);
        let loaded = scenario.loaded.clone();
        let shown = scenario.shown.clone();
        let finished_tx = to_session.clone();
        let policy = ChannelPolicy {
            to_session,
            from_session,
        };
        let shown_thread = shown.clone();
        let thread = std::thread::Builder::new()
            .name("reconf-session".into())
            .spawn(move || {
                let sim = Simulation::from_loaded_with_policy(&loaded, Some(Box::new(policy)));
                let result =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sim.try_run()));
                let message = match result {
                    Ok(Ok(o)) => Ok(Output::of(&o, &loaded.resolved_toml())),
                    Ok(Err(stalled)) => Err(format!("{shown_thread}: {stalled}")),
                    Err(payload) if payload.is::<Abandoned>() => return,
                    Err(payload) => Err(format!(
                        "{shown_thread}: the simulation panicked: {}",
                        payload
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_default()
                    )),
                };
                let _ = finished_tx.send(Message::Finished(message));
            })
            .map_err(|e| SimulationError::new_err(format!("cannot start a run: {e}")))?;
        Ok(Session {
            running: Mutex::new(Running {
                to_sim: Some(to_sim),
                from_sim: Mutex::new(from_sim),
                thread: Some(thread),
                waiting: false,
                finished: false,
            }),
            shown,
        })
    }

    /// Runs to the first control instant: its `View` (or the `Output` of a run that has none).
    fn start(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let mut r = self.running.lock().expect("session lock");
        if r.waiting || r.finished {
            return Err(pyo3::exceptions::PyRuntimeError::new_err(
                "the session has started already",
            ));
        }
        self.next_message(py, &mut r)
    }

    /// Carries out `actions` (a list of reconf actions) at the current control instant and runs
    /// to the next: its `View`, or the run's `Output` at the end of the scenario.
    fn act(&self, py: Python<'_>, actions: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let actions = actions_from_py(actions)?;
        let mut r = self.running.lock().expect("session lock");
        if !r.waiting {
            return Err(pyo3::exceptions::PyRuntimeError::new_err(if r.finished {
                "the run has ended"
            } else {
                "call start() first"
            }));
        }
        let sent = r.to_sim.as_ref().expect("open").send(actions);
        if sent.is_err() {
            return Err(SimulationError::new_err(format!(
                "{}: the run's thread ended",
                self.shown
            )));
        }
        self.next_message(py, &mut r)
    }

    /// Whether the run has reached its end.
    #[getter]
    fn finished(&self) -> bool {
        self.running.lock().expect("session lock").finished
    }
}

impl Session {
    fn next_message(&self, py: Python<'_>, r: &mut Running) -> PyResult<Py<PyAny>> {
        let from_sim = &r.from_sim;
        let message = py.detach(|| from_sim.lock().expect("receiver lock").recv());
        match message {
            Ok(Message::Decide(view)) => {
                r.waiting = true;
                Ok(Py::new(py, View::new(view))?.into_any())
            }
            Ok(Message::Finished(result)) => {
                r.waiting = false;
                r.finished = true;
                match result {
                    Ok(output) => Ok(Py::new(py, output)?.into_any()),
                    Err(e) => Err(SimulationError::new_err(e)),
                }
            }
            Err(_) => Err(SimulationError::new_err(format!(
                "{}: the run's thread ended",
                self.shown
            ))),
        }
    }
}
