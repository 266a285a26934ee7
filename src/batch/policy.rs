//! A sweep whose runs use a policy given as a value instead of each scenario's own (a Python
//! policy, from the Python package): built afresh for every run, recorded in `sweep.json`, and
//! checked when the sweep is resumed.

use super::spec::SweepSpec;
use super::{unfinished_runs, Manifest};
use crate::scenario::InputError;
use reconf_api::Policy;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// Builds one run's policy from the run's seed, or says why it could not.
pub type BuildPolicy = dyn Fn(u64) -> Result<Box<dyn Policy>, String> + Send + Sync;

/// The policy of every run of a sweep, in place of the scenarios' own (whose `[policy]` then
/// only sets the control period and the monitoring noise). Each run gets a policy of its own,
/// built from its seed, so that runs share no policy state whatever the number of threads.
#[derive(Clone)]
pub struct PolicyOverride {
    /// How `sweep.json` names it (`python:MyPolicy`): a resumed sweep refuses a folder whose
    /// finished runs another policy made.
    pub label: String,
    pub build: Arc<BuildPolicy>,
}

impl fmt::Debug for PolicyOverride {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicyOverride")
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

/// The payload a policy unwinds with to fail its run with a message of its own (a Python
/// policy whose `decide` raised): not a panic, so the run's `error.txt` carries the message as
/// it is, and the other runs go on.
pub struct RunAborted(pub String);

/// Refuses to resume, with the policy `label` (`None`: the scenarios' own), a sweep folder
/// whose finished runs were made with another policy, as `sweep.json` records it.
pub fn check_policy(spec: &SweepSpec, out: &Path, label: Option<&str>) -> Result<(), InputError> {
    let Ok(text) = std::fs::read_to_string(out.join("sweep.json")) else {
        return Ok(());
    };
    let Ok(stored) = serde_json::from_str::<Manifest>(&text) else {
        return Ok(());
    };
    let finished = spec.run_count() > unfinished_runs(spec, out).len() as u64;
    if !finished || stored.policy.as_deref() == label {
        return Ok(());
    }
    let name = |l: Option<&str>| match l {
        Some(l) => format!("the policy `{l}`"),
        None => "the scenarios' own policies".to_string(),
    };
    Err(InputError::new(
        out.join("sweep.json").display().to_string(),
        format!(
            "the finished runs of this sweep folder were made with {}, not {}; choose a new \
--out, or delete the folder's runs/ to start over",
            name(stored.policy.as_deref()),
            name(label)
        ),
    )
    .field("policy"))
}
