//! A physical node: its capacity, its power states, what it hosts, and the integrals (busy
//! cores, energy, time up) that utilisation, energy and node-hours are computed from.

use super::sla::NodeSla;
use crate::engine::SimTime;
use crate::model::power::{EnergyMeter, PowerModel};

/// Busy cores below this are rounding: the node uses no CPU.
const IDLE_EPS_CORES: f64 = 1e-12;

/// Power state of a node: `off -> booting -> on -> shutting-down -> off`; any state but off
/// can crash to `failed`, and a repaired node is off again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeState {
    Off,
    Booting,
    On,
    ShuttingDown,
    /// Crashed: it hosts nothing, draws nothing and counts no node-hours until repaired.
    Failed,
}

impl NodeState {
    /// The state as written in `nodes.csv` and refusal reasons.
    pub fn label(self) -> &'static str {
        match self {
            NodeState::Off => "off",
            NodeState::Booting => "booting",
            NodeState::On => "on",
            NodeState::ShuttingDown => "shutting-down",
            NodeState::Failed => "failed",
        }
    }

    /// Whether a node in this state is up (draws power, counts node-hours).
    pub fn is_up(self) -> bool {
        !matches!(self, NodeState::Off | NodeState::Failed)
    }
}

/// What a node is made of, as the scenario describes it.
#[derive(Clone, Debug)]
pub struct NodeSpec {
    pub name: String,
    pub cores: f64,
    /// Relative speed of one core (work units per second).
    pub speed: f64,
    pub ram_mb: f64,
    /// NIC bandwidth in MB/s (10^6 bytes).
    pub nic_mb_per_s: f64,
    pub power: PowerModel,
    pub boot_ns: u64,
    pub shutdown_ns: u64,
    /// On at time 0 (else off).
    pub on: bool,
    /// False: the node draws power only while it uses CPU, nothing when idle (CloudSim's
    /// reading: a host with no load counts as switched off, without power states).
    pub idle_power: bool,
}

/// A physical node. Read-only outside the cluster module: the cluster's methods change it.
pub struct Node {
    pub name: String,
    pub cores: f64,
    pub speed: f64,
    pub ram_mb: f64,
    /// NIC bandwidth in MB/s (10^6 bytes).
    pub nic_mb_per_s: f64,
    pub power: PowerModel,
    pub idle_power: bool,
    pub boot_ns: u64,
    pub shutdown_ns: u64,
    pub state: NodeState,
    pub(super) meter: EnergyMeter,
    /// Nanoseconds spent not off, up to `up_since` (node-hours).
    pub(super) up_ns: u64,
    pub(super) up_since: Option<SimTime>,
    /// Bare mode: the load running directly on this node (the simulation's server index),
    /// and the cores it wants.
    pub bare: Option<u32>,
    /// It runs a request-level server (a replica, bare or in a VM), as of its last rebalance:
    /// it counts as active while it does, busy or idle between two requests (CloudSim's rule,
    /// active while using CPU, is meant for its trace-driven VMs; applied to a server it would
    /// count every idle instant between requests as a host shutdown).
    pub(super) hosts_server: bool,
    pub(super) bare_want_cores: f64,
    /// Virtualized mode: VMs placed here (including ones migrating away).
    pub vms: Vec<u32>,
    /// RAM reserved for VMs migrating or being created here, in MB.
    pub incoming_ram_mb: f64,
    /// CPU cores used by migrations from or to this node.
    pub migration_cpu_cores: f64,
    /// RAM taken by the checkpoint copies of VMs it is the backup of, in MB.
    pub backup_ram_mb: f64,
    /// CPU cores used by the checkpointing of the VMs it runs.
    pub checkpoint_cpu_cores: f64,
    /// Cores in use now (VM shares with hypervisor overhead, or the bare load, plus migrations).
    pub busy_cores: f64,
    /// ∫ busy_cores dt in core·ns, up to `busy_since`.
    pub(super) busy_core_ns: f64,
    pub(super) busy_since: SimTime,
    /// Virtualized: the VMs' CPU demands in node cores (hypervisor overhead included), as of
    /// the last update, and whether some VM then got less than it wanted.
    pub(super) vm_demand_total: f64,
    pub(super) overcommitted: bool,
    /// Activity and SLA violation over time.
    pub(super) sla: NodeSla,
    /// Marks the node as already collected in a batch of changes (of demands, or of migration
    /// starts whose rebalance waits).
    pub(super) stamp: u64,
    /// Bumped by every crash: a boot or shutdown begun before it no longer ends.
    pub(super) power_gen: u32,
}

impl Node {
    /// Cores its VMs cannot have: those migrations and checkpointing use.
    #[inline]
    pub(super) fn overhead_cores(&self) -> f64 {
        self.migration_cpu_cores + self.checkpoint_cpu_cores
    }

    pub(super) fn new(spec: NodeSpec) -> Self {
        let mut meter = EnergyMeter::new(0);
        if spec.on && spec.idle_power {
            meter.set_watts(0, spec.power.idle_w());
        }
        Node {
            name: spec.name,
            cores: spec.cores,
            speed: spec.speed,
            ram_mb: spec.ram_mb,
            nic_mb_per_s: spec.nic_mb_per_s,
            power: spec.power,
            idle_power: spec.idle_power,
            boot_ns: spec.boot_ns,
            shutdown_ns: spec.shutdown_ns,
            state: if spec.on {
                NodeState::On
            } else {
                NodeState::Off
            },
            meter,
            up_ns: 0,
            up_since: spec.on.then_some(SimTime::ZERO),
            bare: None,
            bare_want_cores: 0.0,
            hosts_server: false,
            vms: Vec::new(),
            incoming_ram_mb: 0.0,
            migration_cpu_cores: 0.0,
            backup_ram_mb: 0.0,
            checkpoint_cpu_cores: 0.0,
            busy_cores: 0.0,
            busy_core_ns: 0.0,
            busy_since: SimTime::ZERO,
            vm_demand_total: 0.0,
            overcommitted: false,
            sla: NodeSla::new(false),
            stamp: 0,
            power_gen: 0,
        }
    }

    /// Energy drawn since the start up to `now`, in J.
    pub fn joules(&self, now: SimTime) -> f64 {
        self.meter.joules(now.0)
    }

    /// Nanoseconds spent not off, up to `now`.
    pub fn up_ns(&self, now: SimTime) -> u64 {
        self.up_ns + self.up_since.map_or(0, |s| now.since(s))
    }

    /// The power the node draws now, from its state and busy cores.
    pub(super) fn watts(&self) -> f64 {
        if !self.idle_power && self.busy_cores <= IDLE_EPS_CORES {
            return 0.0;
        }
        match self.state {
            NodeState::Off | NodeState::Failed => 0.0,
            NodeState::Booting | NodeState::ShuttingDown => self.power.idle_w(),
            NodeState::On => self.power.watts(self.busy_cores / self.cores),
        }
    }

    /// Whether it is active now: not off, and using some CPU or running a server.
    pub(super) fn active_now(&self) -> bool {
        self.state.is_up() && (self.busy_cores > IDLE_EPS_CORES || self.hosts_server)
    }

    /// Brings its SLA accounting up to date after a change of load, state or short VMs.
    #[inline]
    pub(super) fn update_sla(&mut self, now: SimTime, from: SimTime) {
        let active = self.active_now();
        self.sla.update(now, from, active);
    }

    /// Integrates the busy cores up to `now` and returns ∫ busy_cores dt (core·ns).
    pub(super) fn settle_busy(&mut self, now: SimTime) -> f64 {
        let dt = now.since(self.busy_since) as f64;
        self.busy_core_ns += self.busy_cores * dt;
        self.busy_since = now;
        self.busy_core_ns
    }

    /// Sets the busy cores from `now` on (integrating the old value first), the power drawn
    /// and the SLA accounting (which counts from `from`).
    pub(super) fn set_busy(&mut self, now: SimTime, busy: f64, from: SimTime) {
        self.settle_busy(now);
        self.busy_cores = busy;
        let w = self.watts();
        if w != self.meter.watts() {
            self.meter.set_watts(now.0, w);
        }
        self.update_sla(now, from);
    }

    /// Moves to `state`, keeping node-hours, power and SLA accounting up to date.
    pub(super) fn set_state(&mut self, now: SimTime, state: NodeState, from: SimTime) {
        let was_up = self.state.is_up();
        let is_up = state.is_up();
        if was_up && !is_up {
            if let Some(since) = self.up_since.take() {
                self.up_ns += now.since(since);
            }
        } else if !was_up && is_up {
            self.up_since = Some(now);
        }
        self.state = state;
        let busy = self.busy_cores;
        self.set_busy(now, busy, from);
    }
}
