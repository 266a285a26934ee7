//! The scenario schema: every key a scenario file may hold, with its unit and default.
//!
//! The doc comment of each field is its documentation: `reconf keys` prints the reference
//! generated from these types (and `docs/scenario-keys.md` is that output, kept true by a test).
//! Units are in the key names (`_s`, `_ms`). Unknown keys are rejected.

pub use super::infra::{
    ComposedPolicy, DeployMode, Infrastructure, Migration, MigrationModel, NodeGroup, ParamToml,
    PolicyConfig, Power, ScriptedAction,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A scenario: one or more applications sharing a cluster, their users, and how long to run.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name of the scenario, used in reports.
    #[serde(default = "default_name")]
    pub name: String,
    /// Free text: what the scenario is for, where its figures come from.
    #[serde(default)]
    pub description: String,
    /// Seed of every random stream; `reconf run --seed` overrides it.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Simulated time to run, in seconds.
    pub duration_s: f64,
    /// Response-time statistics, throughput and utilisation ignore the first `warmup_s` seconds
    /// (the time series still covers them). Counters of requests and sessions cover the whole run.
    #[serde(default)]
    pub warmup_s: f64,
    /// Length of one row of `timeseries.csv`, in seconds.
    #[serde(default = "default_report_interval_s")]
    pub report_interval_s: f64,
    /// Service-level objective and request timeout.
    #[serde(default)]
    pub sla: Sla,
    /// The request-level applications (at least one application or one group of `vms`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub apps: Vec<App>,
    /// Groups of VMs whose CPU demand follows utilisation traces (`[[vms]]`; needs a
    /// virtualized infrastructure). Their initial placement is the policy's (`place` actions at
    /// time 0), first fit in node order without a policy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vms: Vec<super::vms::VmGroup>,
    /// Nodes and deployment. Absent: every replica is a dedicated server of its tier's `cores`,
    /// with no nodes, energy or reconfiguration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub infrastructure: Option<Infrastructure>,
    /// The reconfiguration policy, called every control period. Absent: no policy (scripted
    /// actions only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicyConfig>,
    /// Faults: node and server crashes, and their repair. Absent: nothing fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faults: Option<super::faults::Faults>,
    /// Continuous checkpointing of VMs to a backup node (Remus). Absent: a VM lost in a crash
    /// is lost with its memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpointing: Option<super::checkpointing::Checkpointing>,
    /// Reconfiguration actions scripted at given times (`[[actions]]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<ScriptedAction>,
    /// Settings of `reconf live`, which runs the policy against real hosts through libvirt;
    /// ignored by the simulator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<super::live::Live>,
}

fn default_name() -> String {
    "scenario".into()
}
fn default_seed() -> u64 {
    1
}
fn default_report_interval_s() -> f64 {
    10.0
}

/// Service-level objective: a response-time target and a client-side timeout.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Sla {
    /// A request slower than this, in milliseconds, violates the SLA (failed requests do too).
    #[serde(default = "default_target_ms")]
    pub response_target_ms: f64,
    /// A client gives up on a request after this many seconds: the request counts as failed and
    /// the client goes back to its session's first page (as RUBiS's emulator does on an error).
    /// 0 means no timeout.
    #[serde(default)]
    pub request_timeout_s: f64,
}

fn default_target_ms() -> f64 {
    1000.0
}

impl Default for Sla {
    fn default() -> Self {
        Sla {
            response_target_ms: default_target_ms(),
            request_timeout_s: 0.0,
        }
    }
}

/// One application: its users and its tiers.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct App {
    /// Name of the application, unique in the scenario.
    pub name: String,
    /// Who uses the application and how many of them over time.
    pub clients: Clients,
    /// The tiers a request visits, in order (e.g. web, app, db); at least one.
    pub tiers: Vec<Tier>,
}

/// The users of an application.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Clients {
    /// `closed`: a population of emulated users, each in a loop of request and think time (as
    /// RUBiS's client emulator); the profile gives how many are active. `open`: sessions arrive
    /// as a Poisson process; the profile gives the arrival rate in sessions per second.
    #[serde(default)]
    pub loop_kind: LoopKind,
    /// What a session does: `bidding` and `browsing` are RUBiS's transition tables, `table` reads
    /// `table_file`, `weighted` picks each request independently from `interactions`.
    #[serde(default)]
    pub mix: MixKind,
    /// A transition table in RUBiS's format, for `mix = "table"`; relative to the scenario file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_file: Option<String>,
    /// For `mix = "weighted"`: the interactions with their probabilities (summing to 1).
    #[serde(default = "default_interactions")]
    pub interactions: Vec<WeightedInteraction>,
    /// For `mix = "weighted"`: mean number of requests per session (geometric; 1 = exactly one).
    #[serde(default = "default_session_requests")]
    pub session_requests: f64,
    /// A session ends after this many requests at most (RUBiS's cap).
    #[serde(default = "default_max_transitions")]
    pub max_transitions: u32,
    /// Think time between a response and the next request of the same user.
    #[serde(default = "default_think")]
    pub think: Distribution,
    /// Number of active clients (closed loop) or session arrival rate per second (open loop)
    /// over time.
    pub profile: Profile,
}

fn default_interactions() -> Vec<WeightedInteraction> {
    vec![WeightedInteraction {
        name: "request".into(),
        probability: 1.0,
        write: false,
    }]
}
fn default_session_requests() -> f64 {
    1.0
}
fn default_max_transitions() -> u32 {
    1000
}
fn default_think() -> Distribution {
    Distribution::Exponential { mean_ms: 7000.0 }
}

/// Closed or open loop.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum LoopKind {
    #[default]
    Closed,
    Open,
}

/// Which session mix the clients follow.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum MixKind {
    /// RUBiS bidding mix (`default_transitions_7.txt`).
    #[default]
    Bidding,
    /// RUBiS browsing mix (`browse_only_transitions_7.txt`).
    Browsing,
    /// A RUBiS-format table read from `table_file`.
    Table,
    /// Independent picks from `interactions`.
    Weighted,
}

/// One interaction of a weighted mix.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WeightedInteraction {
    /// Name, used to give it per-tier demands.
    pub name: String,
    /// Probability that a request is this interaction.
    pub probability: f64,
    /// Whether it writes to the database (it then uses the tier's `write_demand`).
    #[serde(default)]
    pub write: bool,
}

/// A random duration. All are given by their mean in milliseconds.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(tag = "dist", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Distribution {
    /// Negative exponential with the given mean.
    Exponential { mean_ms: f64 },
    /// Always exactly the mean.
    Deterministic { mean_ms: f64 },
    /// Log-normal with the given mean and coefficient of variation (standard deviation / mean).
    Lognormal { mean_ms: f64, cv: f64 },
}

impl Distribution {
    pub fn mean_ms(&self) -> f64 {
        match self {
            Distribution::Exponential { mean_ms }
            | Distribution::Deterministic { mean_ms }
            | Distribution::Lognormal { mean_ms, .. } => *mean_ms,
        }
    }
}

/// A value over time: active clients (closed loop) or sessions per second (open loop).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Profile {
    /// The same value all the time.
    Constant { value: f64 },
    /// `points = [[time_s, value], ...]`, the first at 0 s: each value holds from its time until
    /// the next point.
    Steps { points: Vec<[f64; 2]> },
    /// `points = [[time_s, value], ...]`, the first at 0 s: linear between points, held after
    /// the last one.
    Ramp { points: Vec<[f64; 2]> },
    /// A CSV file with a header `time_s,clients` (closed loop) or `time_s,sessions_per_s` (open
    /// loop), its first row at 0 s; `linear = true` interpolates between rows like `ramp`,
    /// otherwise rows are steps. A relative `file` is relative to the scenario file's folder,
    /// also when given with `--set` (not to the current folder); errors show the path looked for.
    Trace {
        file: String,
        #[serde(default)]
        linear: bool,
    },
}

/// A tier: identical replicas behind a load balancer.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    /// Name of the tier, unique in its application (e.g. `web`, `app`, `db`).
    pub name: String,
    /// Number of replicas at start.
    #[serde(default = "default_replicas")]
    pub replicas: u32,
    /// CPU capacity of one replica, in cores of reference speed: demands are CPU times on one
    /// such core. Jobs share the cores by processor sharing, at most one core per job. In
    /// virtualized mode, the vCPUs of the tier's VMs; in bare mode unused (a replica has its
    /// whole node).
    #[serde(default = "default_cores")]
    pub cores: f64,
    /// Virtualized mode: RAM of each of the tier's VMs, in MB.
    #[serde(default = "default_vm_ram_mb")]
    pub vm_ram_mb: f64,
    /// Virtualized mode: memory a VM dirties per second regardless of activity, in MB/s.
    /// Default 0, ASSUMED: a dirty rate belongs to the workload (the writable working sets that
    /// Clark et al., NSDI 2005, measured differ widely from one program to another), and 0
    /// flatters migration (one round, no re-sends); set it for the application modelled.
    #[serde(default)]
    pub dirty_mb_per_s: f64,
    /// Virtualized mode: memory dirtied per CPU-second of work, in MB (the dirty rate grows
    /// with the CPU the VM uses). Default 0, ASSUMED, as `dirty_mb_per_s`; SimGrid's plugin
    /// models the same proportionality (its `dp_intensity`, no default either).
    #[serde(default)]
    pub dirty_mb_per_cpu_s: f64,
    /// Time to deploy a new replica's software on its node, before it starts.
    #[serde(default = "zero_time")]
    pub deploy_time: Distribution,
    /// Time for a new replica's server to start (e.g. Tomcat a few s, JBoss tens of s).
    #[serde(default = "default_start_time")]
    pub start_time: Distribution,
    /// Data a new replica copies before it starts (a database replica), in MB, at its node's
    /// NIC bandwidth.
    #[serde(default)]
    pub data_mb: f64,
    /// Nodes of the initial replicas, in order (one per replica); absent: first fit over the
    /// nodes that are on, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<Vec<String>>,
    /// How requests are spread over the replicas.
    #[serde(default)]
    pub balancer: Balancer,
    /// CPU demand of a request in this tier, for interactions not listed in `demands`.
    pub demand: Distribution,
    /// CPU demand of write interactions (database writes), when not listed in `demands`.
    /// Absent: writes use `demand`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_demand: Option<Distribution>,
    /// Per-interaction demands, by interaction name (e.g. `"StoreBid" = { dist = ..., ... }`).
    /// A mean of 0 means the request does not visit this tier.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub demands: std::collections::BTreeMap<String, Distribution>,
}

fn default_vm_ram_mb() -> f64 {
    512.0
}
fn zero_time() -> Distribution {
    Distribution::Deterministic { mean_ms: 0.0 }
}
fn default_start_time() -> Distribution {
    Distribution::Deterministic { mean_ms: 5000.0 }
}
fn default_replicas() -> u32 {
    1
}
fn default_cores() -> f64 {
    1.0
}

/// Load-balancing discipline of a tier.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Balancer {
    /// Replicas in turn.
    #[default]
    RoundRobin,
    /// The replica with the fewest requests in progress (lowest index on ties).
    LeastOutstanding,
    /// A session stays on the replica that served its first request in this tier (chosen
    /// round-robin); stopping that replica loses the session.
    Sticky,
}
