//! `reconf.live`: a scenario's policy, or a Python one, against libvirt hosts, through the very
//! run `reconf live` makes (`reconf::live::launch`). The live backend needs the package built
//! with the `libvirt` feature; without it `live` raises at once, saying how to build it.
//!
//! The run goes on a thread of its own while the calling thread watches for Ctrl-C (Python
//! handles signals on its main thread only): Ctrl-C, like SIGINT for `reconf live`, ends the
//! run cleanly (migrations in flight aborted, files written), then `KeyboardInterrupt` is
//! raised. A Python policy that raises ends the run the same way, then its exception is raised.

use crate::run::Output;
use crate::scenario::Scenario;
use pyo3::prelude::*;
use std::path::PathBuf;

/// Whether this build has the live backend.
pub const HAS_LIBVIRT: bool = cfg!(feature = "libvirt");

#[cfg(feature = "libvirt")]
pub use with_libvirt::{live, Stopped};

#[cfg(feature = "libvirt")]
mod with_libvirt {
    use super::*;
    use crate::policy::{OnError, PyPolicy};
    use crate::{ScenarioError, SimulationError};
    use reconf::live::interrupt::Interrupt;
    use reconf::live::launch::{launch, LiveRequest};
    use reconf_api::Policy;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    /// Where a live run's Python side notes what ended it early: the first exception (a
    /// policy's, or `KeyboardInterrupt`), and the interruption the control loop watches.
    #[derive(Default)]
    pub struct Stopped {
        pub error: Mutex<Option<PyErr>>,
        pub interrupt: Arc<Interrupt>,
    }

    impl Stopped {
        /// Keeps `e` (unless an earlier exception is kept) and notes an interruption, as
        /// SIGINT would.
        pub fn stop(&self, e: PyErr) {
            const SIGINT: i32 = 2;
            self.error
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_or_insert(e);
            self.interrupt.note(SIGINT);
        }

        fn take(&self) -> Option<PyErr> {
            self.error.lock().unwrap_or_else(|p| p.into_inner()).take()
        }
    }

    /// Runs `scenario` against the hosts `uris` (one libvirt URI per node, in order) for
    /// `duration_s` wall-clock seconds (default: its `duration_s`), with `policy` (a Python
    /// object with `decide(view)`) in place of its own if given; writes the run folder `out`
    /// after every control period. Raises `ScenarioError` for bad input and `SimulationError`
    /// for a host that does not answer, with `reconf live`'s messages.
    #[pyfunction]
    #[pyo3(signature = (scenario, uris, out, policy = None, dry_run = false, duration_s = None))]
    pub fn live(
        py: Python<'_>,
        scenario: &Scenario,
        uris: Vec<String>,
        out: PathBuf,
        policy: Option<&Bound<'_, PyAny>>,
        dry_run: bool,
        duration_s: Option<f64>,
    ) -> PyResult<Output> {
        if uris.is_empty() {
            return Err(ScenarioError::new_err(
                "uris: give one libvirt URI per node (`test:///default`, `qemu:///system`)",
            ));
        }
        let stopped = Arc::new(Stopped::default());
        let policy: Option<Box<dyn Policy>> = match policy {
            Some(p) => Some(Box::new(PyPolicy::new(
                p,
                OnError::Stop(Arc::clone(&stopped)),
            )?)),
            None => None,
        };
        let req = LiveRequest {
            loaded: &scenario.loaded,
            shown: &scenario.shown,
            base_dir: &scenario.base_dir,
            uris: &uris,
            out: &out,
            dry_run,
            duration_s,
        };
        let interrupt = Arc::clone(&stopped.interrupt);
        let finished = std::thread::scope(|s| {
            let run = s.spawn(|| launch(&req, policy, Some(interrupt)));
            // Ctrl-C is seen here, on the calling thread, within 50 ms.
            while !run.is_finished() {
                if let Err(e) = py.check_signals() {
                    stopped.stop(e);
                }
                py.detach(|| std::thread::sleep(Duration::from_millis(50)));
            }
            run.join()
        });
        let finished = match finished {
            Ok(f) => f,
            Err(payload) => std::panic::resume_unwind(payload),
        };
        if let Some(e) = stopped.take() {
            return Err(e);
        }
        match finished {
            Ok(f) => Ok(Output::of(&f.output, &scenario.loaded.resolved_toml())),
            Err(e) if e.code == 2 => Err(ScenarioError::new_err(e.message)),
            Err(e) => Err(SimulationError::new_err(e.message)),
        }
    }
}

/// Without the live backend: says how to build the package with it.
#[cfg(not(feature = "libvirt"))]
#[pyfunction]
#[pyo3(signature = (scenario, uris, out, policy = None, dry_run = false, duration_s = None))]
#[allow(unused_variables)]
pub fn live(
    scenario: &Scenario,
    uris: Vec<String>,
    out: PathBuf,
    policy: Option<&Bound<'_, PyAny>>,
    dry_run: bool,
    duration_s: Option<f64>,
) -> PyResult<Output> {
    Err(pyo3::exceptions::PyRuntimeError::new_err(
        "reconf.live: this reconf package was built without the live backend; reinstall it \
         with MATURIN_PEP517_ARGS=\"--features libvirt\" pip install ./python (needs libvirt's \
         development files, Debian: libvirt-dev)",
    ))
}
