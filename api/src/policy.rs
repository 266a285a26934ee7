//! The policy trait: pure decision code over a read-only view.

use crate::{Action, View};

/// A reconfiguration policy. At each control period the backend (simulator or libvirt) builds
/// a [`View`] and calls [`Policy::decide`]; the policy returns the actions it wants. It keeps
/// its own state (moving averages, cool-downs) between calls but never touches the backend:
/// the outcomes of its actions appear in later views.
pub trait Policy: Send {
    /// The registered name (`threshold-migration`).
    fn name(&self) -> &str;

    /// The actions to carry out now (possibly none).
    fn decide(&mut self, view: &View) -> Vec<Action>;
}

/// What a policy is given when it is built, beyond its parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PolicyContext {
    /// A seed of its own, derived from the run's seed: a policy that draws random numbers
    /// (random VM selection) seeds its generator with it, so a run stays reproducible and two
    /// policies of one run do not share a stream.
    pub seed: u64,
}
