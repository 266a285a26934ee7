//! Invariants checked after every reconfiguration event and at every report: a violation is a
//! bug in the simulator, never bad input, so it panics with what broke.

use super::apps::{Host, ServerState};
use super::cluster::NodeState;
use super::Simulation;

/// See [`Simulation::check_invariants_after_event`].
/// 256: the shipped RUBiS scenarios (paper, failures, examples) and the tests' small clusters
/// are checked after every event; CloudSim's PlanetLab day (800 nodes, 1,052 VMs, 25,000
/// migrations) is not: checked after every event, it spent 38% of its run in this check.
pub(super) const FULL_CHECK_MAX: usize = 256;

impl Simulation {
    /// After an event that changed the world: the full check costs O(VMs + nodes), so it runs
    /// after every such event in a cluster of at most [`FULL_CHECK_MAX`] VMs and nodes, and at
    /// each report only in a larger one (where thousands of migrations would make it
    /// quadratic).
    pub(super) fn check_invariants_after_event(&self) {
        if self.cluster.vms().len() + self.cluster.nodes().len() <= FULL_CHECK_MAX {
            self.check_invariants();
        }
    }

    pub(super) fn check_invariants(&self) {
        if let Err(e) = self.invariants() {
            panic!("simulator invariant violated: {e}");
        }
    }

    /// Checks: requests conserved; the cluster's own invariants (host RAM never over-committed,
    /// every live VM placed on exactly one node); bare nodes and their replicas agree; stopped
    /// and crashed replicas serve nothing; crashed nodes host nothing.
    pub fn invariants(&self) -> Result<(), String> {
        let seen = self.apps.seen();
        let c = &seen.counters;
        if c.requests_issued != c.requests_completed + c.requests_failed + seen.in_flight {
            return Err(format!(
                "requests not conserved: {} issued != {} completed + {} failed + {} in flight",
                c.requests_issued, c.requests_completed, c.requests_failed, seen.in_flight
            ));
        }
        self.cluster.invariants()?;
        for (n, node) in self.cluster.nodes().iter().enumerate() {
            if let Some(s) = node.bare {
                if self.apps.server(s).host != Host::Node(n as u32) {
                    return Err(format!("bare node {} and its replica disagree", node.name));
                }
            }
        }
        for s in self.apps.servers() {
            if matches!(s.state, ServerState::Stopped | ServerState::Failed) && s.ps.jobs() > 0 {
                return Err(format!(
                    "{:?} replica {} still serves requests",
                    s.state, s.name
                ));
            }
        }
        for node in self.cluster.nodes() {
            if node.state == NodeState::Failed
                && (node.bare.is_some() || !node.vms.is_empty() || node.busy_cores > 0.0)
            {
                return Err(format!("crashed node {} still hosts something", node.name));
            }
        }
        Ok(())
    }
}
