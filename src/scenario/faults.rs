//! The scenario keys of faults (`[faults]`): node crashes per node class, correlated crashes of
//! named groups of nodes, server process crashes per tier, crashes scripted at given times, and
//! how long repairs take.
//!
//! Durations here are hours rather than milliseconds, so a random duration is given by its mean
//! in seconds (`{ dist = "weibull", mean_s = 14400, shape = 0.7 }`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Faults injected into the run. Every node and every replica draws its faults from a random
/// stream of its own, derived from the seed: two strategies run with one seed face the very same
/// fault times.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// Node crashes, per node group (`[[faults.nodes]]`): each node of the group fails after a
    /// random time to failure, counted from the start and from each repair.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<NodeFaults>,
    /// Correlated faults (`[[faults.groups]]`): a named set of nodes (a rack, a power domain)
    /// that fails together.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<FaultGroup>,
    /// Server process crashes, per tier (`[[faults.replicas]]`): each replica of the tier fails
    /// after a random time to failure counted from the time it became active.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replicas: Vec<ReplicaFaults>,
    /// Faults at given times (`[[faults.scripted]]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scripted: Vec<ScriptedFault>,
}

/// Crashes of the nodes of one node group (a node class).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NodeFaults {
    /// The node group (`infrastructure.nodes[].name`) whose nodes fail.
    pub group: String,
    /// Time from the start (and from each repair) to a node's next crash. A crash that falls
    /// while the node is off finds nothing to break: the node's next time to failure counts
    /// from then.
    pub time_to_failure: FaultTime,
    /// Time to repair a crashed node; once repaired it is off, ready to be powered on. Absent:
    /// a crashed node stays down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repair: Option<FaultTime>,
    /// Repairs of this group's nodes that can run at once (repair crews); the others wait, first
    /// come first served. 0: as many as there are crashed nodes.
    #[serde(default)]
    pub repair_crews: u32,
}

/// A set of nodes that fail together.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FaultGroup {
    /// Name of the group (a rack, a power domain), unique among the fault groups.
    pub name: String,
    /// The nodes of the group, by name (`node-3`).
    pub nodes: Vec<String>,
    /// Time from the start (and from each repair) to the group's next crash. Absent: the group
    /// fails only when a scripted fault names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_failure: Option<FaultTime>,
    /// Time to repair the group (all its nodes come back, off, at once). Absent: its nodes stay
    /// down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repair: Option<FaultTime>,
}

/// Server process crashes of the replicas of one tier.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ReplicaFaults {
    /// The application and its tier.
    pub app: String,
    pub tier: String,
    /// Time from a replica's becoming active (and from each repair) to its next crash.
    pub time_to_failure: FaultTime,
    /// Time to restart a crashed server in place (the node or VM it ran on stays): it is back
    /// behind its balancer when the repair ends, without the sessions it held. Absent: a
    /// crashed server stays down until a policy restarts it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repair: Option<FaultTime>,
    /// Repairs of this tier's servers that can run at once (repair crews); the others wait,
    /// first come first served. 0: as many as there are crashed servers.
    #[serde(default)]
    pub repair_crews: u32,
}

/// A fault at a given time: a node, a fault group or a replica's server crashes.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScriptedFault {
    /// When, in seconds from the start.
    pub at_s: f64,
    /// What fails: a node (`node-3`), a fault group (`faults.groups[].name`) or a replica
    /// (`app.tier.k`, its server process); exactly one of the three.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica: Option<String>,
    /// Repaired after this many seconds (a node comes back off; a server restarts in place).
    /// Absent: it stays down (a node group's or tier's `repair` does not apply to scripted
    /// faults).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repair_after_s: Option<f64>,
}

/// A random duration of hours rather than milliseconds: a time to failure or to repair, given
/// by its mean in seconds.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(tag = "dist", rename_all = "kebab-case", deny_unknown_fields)]
pub enum FaultTime {
    /// Negative exponential (a constant failure rate, 1 / mean_s).
    Exponential {
        /// Mean, in seconds (> 0).
        mean_s: f64,
    },
    /// Weibull with the given mean and shape (shape < 1: a decreasing failure rate, as the
    /// records of large clusters show, about 0.7–0.8; shape 1 is the exponential).
    Weibull {
        /// Mean, in seconds (> 0).
        mean_s: f64,
        /// Shape k (> 0).
        shape: f64,
    },
    /// Log-normal with the given mean and coefficient of variation (standard deviation /
    /// mean): repair times with a long tail.
    Lognormal {
        /// Mean, in seconds (> 0).
        mean_s: f64,
        /// Standard deviation over mean (>= 0).
        cv: f64,
    },
    /// Always exactly the mean.
    Deterministic {
        /// The duration, in seconds (> 0).
        mean_s: f64,
    },
}

impl FaultTime {
    pub fn mean_s(&self) -> f64 {
        match self {
            FaultTime::Exponential { mean_s }
            | FaultTime::Weibull { mean_s, .. }
            | FaultTime::Lognormal { mean_s, .. }
            | FaultTime::Deterministic { mean_s } => *mean_s,
        }
    }
}
