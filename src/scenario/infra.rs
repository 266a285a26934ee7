//! The scenario keys of the infrastructure under the applications: nodes, deployment mode,
//! live migration, and scripted reconfiguration actions.

use super::schema::Distribution;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Physical nodes and how servers are deployed on them.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Infrastructure {
    /// `bare`: one server per node, a replica has the whole node (the restart-based setting).
    /// `virtualized`: one server per VM, VMs share nodes (the migration-based setting).
    pub mode: DeployMode,
    /// Groups of identical nodes; node `k` of group `g` is named `g-k` (from 0).
    pub nodes: Vec<NodeGroup>,
    /// How the groups' nodes are numbered: `grouped` (one group after the other) or
    /// `interleaved` (one node of each group in turn, as CloudSim numbers its PlanetLab hosts:
    /// G4, G5, G4, ...). Node order is the order of first-fit placement and of ties.
    #[serde(default)]
    pub node_order: NodeOrder,
    /// RAM kept for the host (dom0), in MB, on every node in virtualized mode.
    #[serde(default = "default_host_ram_mb")]
    pub host_reserved_ram_mb: f64,
    /// Hypervisor CPU overhead: each CPU-second a VM uses costs `1 + hypervisor_overhead`
    /// CPU-seconds of its node.
    #[serde(default)]
    pub hypervisor_overhead: f64,
    /// Boot time of a new VM (virtualized `start-replica`), before its server starts.
    #[serde(default = "default_vm_boot")]
    pub vm_boot: Distribution,
    /// Longest wait of a draining replica for its sessions to end, in seconds; then it stops.
    #[serde(default = "default_drain_timeout_s")]
    pub drain_timeout_s: f64,
    /// Live migration.
    #[serde(default)]
    pub migration: Migration,
    /// How the VMs of a node share its cores when they want more than it has: `max-min` (fair
    /// shares, as a fair-share hypervisor scheduler gives) or `proportional` (in proportion
    /// to demand, floored to whole CPU units: CloudSim's `VmSchedulerTimeSharedOverSubscription`).
    #[serde(default)]
    pub cpu_sharing: CpuSharingKind,
    /// When a node's RAM limits what it may host: `always` (every placement, migration and
    /// restart needs the VM's RAM free on its destination: real hypervisors) or `at-start`
    /// (only the placements made at time 0; afterwards a VM needs no free RAM where it goes:
    /// CloudSim 5.0, whose VMs request their RAM only while they are created, so that RAM never
    /// binds a migration). RAM in use is still accounted and reported either way.
    #[serde(default)]
    pub ram_limit: RamLimitKind,
}

/// See [`Infrastructure::ram_limit`].
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum RamLimitKind {
    #[default]
    Always,
    AtStart,
}

/// See [`Infrastructure::node_order`].
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum NodeOrder {
    #[default]
    Grouped,
    Interleaved,
}

/// See [`Infrastructure::cpu_sharing`].
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum CpuSharingKind {
    #[default]
    MaxMin,
    Proportional,
}

fn default_host_ram_mb() -> f64 {
    512.0
}
fn default_vm_boot() -> Distribution {
    Distribution::Deterministic { mean_ms: 20_000.0 }
}
fn default_drain_timeout_s() -> f64 {
    300.0
}

/// Deployment mode.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum DeployMode {
    Bare,
    Virtualized,
}

/// A group of identical nodes.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NodeGroup {
    /// Name prefix of the group's nodes.
    pub name: String,
    /// Number of nodes.
    #[serde(default = "one")]
    pub count: u32,
    /// How many of them are on at start (the first ones); absent: all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_at_start: Option<u32>,
    /// CPU cores per node.
    pub cores: f64,
    /// Capacity of one core in the scenario's CPU units: relative to the reference core that
    /// request demands are given for (1.0), or in MIPS for trace-driven VMs whose types are
    /// given in MIPS (CloudSim's hosts: 1860 and 2660).
    #[serde(default = "one_f")]
    pub speed: f64,
    /// RAM per node, in MB (10^6 bytes).
    pub ram_mb: f64,
    /// NIC bandwidth, in Mbit/s, shared by the migrations in and out of the node.
    #[serde(default = "default_nic_mbps")]
    pub nic_mbps: f64,
    /// Power drawn as a function of CPU utilisation. Off: 0 W; booting and shutting down: idle.
    #[serde(default)]
    pub power: Power,
    /// Time from power-on to ready, in seconds.
    #[serde(default = "default_boot_s")]
    pub boot_s: f64,
    /// Time from power-off to off, in seconds.
    #[serde(default = "default_shutdown_s")]
    pub shutdown_s: f64,
    /// `false`: a node that uses no CPU draws nothing (CloudSim's power accounting, which has no
    /// power states: a host without load counts as switched off). `true`: an idle node that is
    /// on draws its idle power.
    #[serde(default = "yes")]
    pub idle_power: bool,
}

fn yes() -> bool {
    true
}

fn one() -> u32 {
    1
}
fn one_f() -> f64 {
    1.0
}
fn default_nic_mbps() -> f64 {
    1000.0
}
fn default_boot_s() -> f64 {
    60.0
}
fn default_shutdown_s() -> f64 {
    10.0
}

/// A node's power model.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(tag = "model", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Power {
    /// SPECpower: watts at 0, 10, ..., 100% CPU load, interpolated linearly.
    Table { watts: [f64; 11] },
    /// Linear from idle to full load.
    Linear { idle_w: f64, max_w: f64 },
    /// SPECpower table of the HP ProLiant ML110 G4 (86 to 117 W).
    HpMl110G4,
    /// SPECpower table of the HP ProLiant ML110 G5 (93.7 to 135 W).
    #[default]
    HpMl110G5,
    /// The same power whatever the load, while on (CloudSim's non-power-aware baseline counts
    /// every host at its maximum power).
    Constant { watts: f64 },
}

/// Live-migration model and limits. Every default below gives its source; one marked ASSUMED
/// has none (docs/migration-defaults.md explains each and what it does to a comparison).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Migration {
    /// `precopy`: iterative pre-copy rounds then stop-and-copy (Clark et al. 2005, Xen, QEMU).
    /// `simple`: RAM sent once at the available bandwidth, no downtime (CloudSim's model).
    #[serde(default)]
    pub model: MigrationModel,
    /// Stop-and-copy starts once the rest can be sent within this time at the bandwidth of the
    /// round just sent (its size over its duration, as QEMU and SimGrid estimate it), in ms.
    /// Default 30: SimGrid's live-migration plugin (`max_downtime = 0.03` s) and QEMU's early
    /// versions; QEMU today defaults to 300 (`DEFAULT_MIGRATE_SET_DOWNTIME`, set with
    /// `migrate_set_parameter downtime-limit`); Xen has no downtime target (it stops on
    /// rounds, total sent, or below 50 dirty pages).
    #[serde(default = "default_max_downtime_ms")]
    pub max_downtime_ms: f64,
    /// Most rounds in all, the stop-and-copy included. Default 30: Xen's `xc_domain_save`
    /// (`DEF_MAX_ITERS 29`, "30 times round loop": 29 live iterations and the last one); Xen's
    /// newer `xg_sr_save` stops after 5 live iterations (6). 1 makes a cold migration (the VM is
    /// paused for the whole copy).
    #[serde(default = "default_max_rounds")]
    pub max_rounds: u32,
    /// Stop-and-copy once more than this many times the RAM has been sent, tested after each
    /// round as Xen does. Default 3: Xen's `DEF_MAX_FACTOR 3` ("never send more than 3x").
    #[serde(default = "default_max_total_factor")]
    pub max_total_factor: f64,
    /// Time to resume the VM on the destination after the last byte, in ms (part of downtime).
    /// Default 0, ASSUMED: no hypervisor publishes one, and 0 flatters migration (a VM that
    /// dirties nothing then migrates with no downtime at all); the paper scenarios use 10
    /// (also ASSUMED).
    #[serde(default)]
    pub resume_ms: f64,
    /// Bandwidth cap of one migration, in Mbit/s; 0: only the NICs limit it. Default 0: Xen sets
    /// no cap; QEMU's default `max-bandwidth` is 128 MiB/s (about 1074 Mbit/s, above a 1 Gbit/s
    /// NIC; 32 MiB/s before QEMU 2.x), so a NIC of 1000 Mbit/s or less is the limit either way.
    #[serde(default)]
    pub bandwidth_mbps: f64,
    /// CPU used on the source node while a migration runs, in cores. Default 0.1, ASSUMED
    /// (the sender's page scanning and copying; Clark et al. limit the migration's bandwidth to
    /// bound its impact but give no CPU figure).
    #[serde(default = "default_cpu_source")]
    pub cpu_source_cores: f64,
    /// CPU used on the destination node while a migration runs (until the VM has resumed there),
    /// in cores. Default 0.05, ASSUMED (receiving is lighter than scanning and sending).
    #[serde(default = "default_cpu_dest")]
    pub cpu_dest_cores: f64,
    /// `simple` model only: the share of its CPU a migrating VM loses, and its destination is
    /// charged, while it migrates. Default 0.1: CloudSim's power package (a migrating VM gets
    /// 90% of its requested MIPS, 10% is charged to the destination).
    #[serde(default = "default_simple_cpu_penalty")]
    pub simple_cpu_penalty: f64,
    /// `simple` model only: the share of the destination's NIC one migration uses, whatever
    /// else crosses it. Default 0.5: CloudSim's migration delay, RAM / (bandwidth / 2) (half the
    /// bandwidth is taken to be used by the migration).
    #[serde(default = "default_simple_bandwidth_fraction")]
    pub simple_bandwidth_fraction: f64,
}

fn default_simple_cpu_penalty() -> f64 {
    0.1
}
fn default_simple_bandwidth_fraction() -> f64 {
    0.5
}

fn default_max_downtime_ms() -> f64 {
    30.0
}
fn default_max_rounds() -> u32 {
    30
}
fn default_max_total_factor() -> f64 {
    3.0
}
fn default_cpu_source() -> f64 {
    0.1
}
fn default_cpu_dest() -> f64 {
    0.05
}

impl Default for Migration {
    fn default() -> Self {
        Migration {
            model: MigrationModel::default(),
            max_downtime_ms: default_max_downtime_ms(),
            max_rounds: default_max_rounds(),
            max_total_factor: default_max_total_factor(),
            resume_ms: 0.0,
            bandwidth_mbps: 0.0,
            cpu_source_cores: default_cpu_source(),
            cpu_dest_cores: default_cpu_dest(),
            simple_cpu_penalty: default_simple_cpu_penalty(),
            simple_bandwidth_fraction: default_simple_bandwidth_fraction(),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum MigrationModel {
    #[default]
    Precopy,
    Simple,
}

/// A reconfiguration scripted at a given time (policies issue the same actions).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ScriptedAction {
    /// Boot node `node`.
    PowerOn { at_s: f64, node: String },
    /// Shut node `node` down (refused while it hosts anything).
    PowerOff { at_s: f64, node: String },
    /// Start a new replica of `app`'s tier `tier` on node `node`.
    StartReplica {
        at_s: f64,
        app: String,
        tier: String,
        node: String,
    },
    /// Stop replica `replica` (named `app.tier.k`); `drain` waits for its sessions first.
    StopReplica {
        at_s: f64,
        replica: String,
        #[serde(default)]
        drain: bool,
    },
    /// Live-migrate VM `vm` (named like its replica, `app.tier.k`) to node `to`.
    Migrate { at_s: f64, vm: String, to: String },
}

impl ScriptedAction {
    pub fn at_s(&self) -> f64 {
        match self {
            ScriptedAction::PowerOn { at_s, .. }
            | ScriptedAction::PowerOff { at_s, .. }
            | ScriptedAction::StartReplica { at_s, .. }
            | ScriptedAction::StopReplica { at_s, .. }
            | ScriptedAction::Migrate { at_s, .. } => *at_s,
        }
    }
}

/// The reconfiguration policy and its control loop.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// A built-in policy: `static`, `threshold-replication`, `threshold-migration`,
    /// `response-time-target` (`reconf policies` lists them with their parameters).
    pub name: String,
    /// Control period: the policy sees the averages of the last period and acts, every
    /// `period_s` seconds.
    #[serde(default = "default_period_s")]
    pub period_s: f64,
    /// Time of the first decision, in seconds (then every `period_s`); absent: `period_s`.
    /// CloudSim's consolidation runs at 300.1 s, then every 300 s. VMs not placed yet (trace-
    /// driven VMs) are also offered to the policy at time 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_decision_s: Option<f64>,
    /// Monitoring noise: standard deviation of a multiplicative Gaussian error on the CPU
    /// figures of the view (0: exact), drawn from its own random stream.
    #[serde(default)]
    pub monitoring_noise: f64,
    /// The policy's parameters (`reconf policies` lists them with their defaults).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub params: std::collections::BTreeMap<String, ParamToml>,
    /// Further policies run together with this one (`[[policy.compose]]`), each deciding on
    /// the same view every period (e.g. `repair` with an elasticity policy). The rule that
    /// settles conflicts: the first listed wins, `policy.name` first; an action of a later
    /// policy is dropped if it touches a node, VM, replica or tier (resized) that an action
    /// kept earlier in the round touches. A policy may appear once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compose: Vec<ComposedPolicy>,
}

/// A policy composed with the scenario's `policy`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ComposedPolicy {
    /// A built-in policy (`reconf policies` lists them).
    pub name: String,
    /// Its parameters.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub params: std::collections::BTreeMap<String, ParamToml>,
}

fn default_period_s() -> f64 {
    30.0
}

/// A policy parameter's value.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(untagged)]
pub enum ParamToml {
    Bool(bool),
    Number(f64),
    Text(String),
}
