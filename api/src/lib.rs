//! The seam between policies and backends: typed ids, actions, outcomes.
//!
//! A backend (the simulator, or libvirt) numbers its nodes, VMs and replicas with these ids;
//! ids are never reused within a run, so an id in an old view still designates the same thing
//! (which may since have stopped). A policy asks for [`Action`]s; each takes time and ends in an
//! [`Outcome`] that the policy sees in a later view.

use std::fmt;

mod compose;
mod params;
mod policy;
mod view;

pub use compose::Composed;
pub use params::{Bound, ParamSpec, ParamValue, Params, Relation};
pub use policy::{Policy, PolicyContext};
pub use view::{
    ActionView, AppView, Failed, FailureView, Mode, NodeState, NodeView, ReplicaState, ReplicaView,
    TierView, View, VmView,
};

macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub u32);

        impl $name {
            #[inline]
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }
    };
}

id!(
    /// A physical node (a host).
    NodeId
);
id!(
    /// A virtual machine.
    VmId
);
id!(
    /// A server replica of a tier.
    ReplicaId
);
id!(
    /// An application.
    AppId
);
id!(
    /// An action, numbered in the order the backend received them.
    ActionId
);

/// A tier of an application.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TierRef {
    pub app: AppId,
    pub tier: u32,
}

/// A reconfiguration a policy asks for. Each takes time and can fail.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Boot a node that is off.
    PowerOn { node: NodeId },
    /// Shut down a node; refused while it hosts VMs or replicas.
    PowerOff { node: NodeId },
    /// Deploy and start a new replica of `tier` on `node` (powered on first if off); it joins
    /// the tier's load balancer when started.
    StartReplica { tier: TierRef, node: NodeId },
    /// Stop a replica: it leaves the load balancer at once. Without `drain`, its requests in
    /// progress fail and its sessions are lost; with `drain`, it first waits (bounded) for its
    /// sessions to end.
    StopReplica { replica: ReplicaId, drain: bool },
    /// Live-migrate a VM to another node (powered on first if off: the migration starts once
    /// it is on).
    Migrate { vm: VmId, to: NodeId },
    /// Start a VM that no node hosts yet (see [`View::unplaced`]) on `node`.
    Place { vm: VmId, node: NodeId },
    /// Start a failed replica again on `node` (powered on first if off) as a fresh server:
    /// deployed, its data copied, (its new VM booted,) started; it keeps its id and name, its
    /// sessions are gone. Refused unless the replica is [`ReplicaState::Failed`].
    RestartReplica { replica: ReplicaId, node: NodeId },
    /// Start a VM lost in a node crash again from its disk image on `node` (powered on first
    /// if off): the guest boots and its server starts, without deploying or copying anything;
    /// its memory (sessions, caches) is gone. Refused unless the VM was lost in a crash.
    RestartVm { vm: VmId, node: NodeId },
}

impl Action {
    /// The kind, as written in `actions.csv`.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::PowerOn { .. } => "power-on",
            Action::PowerOff { .. } => "power-off",
            Action::StartReplica { .. } => "start-replica",
            Action::StopReplica { .. } => "stop-replica",
            Action::Migrate { .. } => "migrate",
            Action::Place { .. } => "place",
            Action::RestartReplica { .. } => "restart-replica",
            Action::RestartVm { .. } => "restart-vm",
        }
    }
}

/// How an action ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Still being carried out.
    InProgress,
    /// Carried out.
    Done,
    /// Not started: impossible in the current state (the reason says why).
    Refused(String),
    /// Started but did not complete (the reason says why).
    Failed(String),
}

impl Outcome {
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::InProgress => "in-progress",
            Outcome::Done => "done",
            Outcome::Refused(_) => "refused",
            Outcome::Failed(_) => "failed",
        }
    }

    pub fn reason(&self) -> &str {
        match self {
            Outcome::Refused(r) | Outcome::Failed(r) => r,
            _ => "",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Refused(r) | Outcome::Failed(r) => write!(f, "{}: {r}", self.label()),
            _ => write!(f, "{}", self.label()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_and_kinds_are_labelled() {
        assert_eq!(
            Outcome::Refused("node is off".into()).to_string(),
            "refused: node is off"
        );
        assert_eq!(Outcome::Done.reason(), "");
        assert_eq!(
            Action::Migrate {
                vm: VmId(1),
                to: NodeId(2)
            }
            .kind(),
            "migrate"
        );
        assert_eq!(NodeId(3).index(), 3);
    }
}
