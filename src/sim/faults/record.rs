//! The record of one fault: a row of `failures.csv`.

use crate::engine::SimTime;

/// One fault: what failed, what it took with it, when it was repaired.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct FaultRecord {
    pub time: SimTime,
    /// `node` (a node crashed) or `replica` (a server process crashed).
    pub kind: &'static str,
    /// The node or replica, by name.
    pub target: String,
    /// `random` (its class's time to failure), `scripted`, or the fault group's name.
    pub cause: String,
    pub vms_lost: u64,
    /// VMs on the crashed node that resumed on their checkpoint backups, the most time any of
    /// them lost (from its checkpoint to the crash), in ms, and the requests they were serving
    /// that arrived after their checkpoint (served again from the start).
    pub vms_recovered: u64,
    pub checkpoint_loss_ms: Option<f64>,
    pub requests_reexecuted: u64,
    /// The replicas it took down, by name.
    pub replicas_lost: Vec<String>,
    pub requests_failed: u64,
    pub sessions_lost: u64,
    /// When what failed was repaired (the node is off again, the process restarted in place).
    pub repaired: Option<SimTime>,
    /// When the last replica it took down was back behind its balancer, and how many are not.
    pub restored: Option<SimTime>,
    pub replicas_down: u32,
    /// What it broke, as policies see it: the node, the VMs, the replicas.
    pub failed: Vec<reconf_api::Failed>,
}

impl FaultRecord {
    pub fn new(time: SimTime, kind: &'static str, target: String, cause: String) -> Self {
        FaultRecord {
            time,
            kind,
            target,
            cause,
            vms_lost: 0,
            vms_recovered: 0,
            checkpoint_loss_ms: None,
            requests_reexecuted: 0,
            replicas_lost: Vec::new(),
            requests_failed: 0,
            sessions_lost: 0,
            repaired: None,
            restored: None,
            replicas_down: 0,
            failed: Vec::new(),
        }
    }
}
