//! A physical node: its capacity, its power states, what it hosts, and the integrals (busy
//! cores, energy, time up) that utilisation, energy and node-hours are computed from.

use crate::engine::SimTime;
use crate::model::power::{EnergyMeter, PowerModel};

/// Power state of a node: `off -> booting -> on -> shutting-down -> off`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeState {
    Off,
    Booting,
    On,
    ShuttingDown,
}

impl NodeState {
    /// The state as written in `nodes.csv` and refusal reasons.
    pub fn label(self) -> &'static str {
        match self {
            NodeState::Off => "off",
            NodeState::Booting => "booting",
            NodeState::On => "on",
            NodeState::ShuttingDown => "shutting-down",
        }
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
    pub(super) bare_want_cores: f64,
    /// Virtualized mode: VMs placed here (including ones migrating away).
    pub vms: Vec<u32>,
    /// RAM reserved for VMs migrating or being created here, in MB.
    pub incoming_ram_mb: f64,
    /// CPU cores used by migrations from or to this node.
    pub migration_cpu_cores: f64,
    /// Cores in use now (VM shares with hypervisor overhead, or the bare load, plus migrations).
    pub busy_cores: f64,
    /// ∫ busy_cores dt in core·ns, up to `busy_since`.
    pub(super) busy_core_ns: f64,
    pub(super) busy_since: SimTime,
    /// Virtualized: the VMs' CPU demands in node cores (hypervisor overhead included), as of
    /// the last update, and whether some VM then got less than it wanted.
    pub(super) vm_demand_total: f64,
    pub(super) overcommitted: bool,
}

impl Node {
    pub(super) fn new(spec: NodeSpec) -> Self {
        let mut meter = EnergyMeter::new(0);
        if spec.on {
            meter.set_watts(0, spec.power.idle_w());
        }
        Node {
            name: spec.name,
            cores: spec.cores,
            speed: spec.speed,
            ram_mb: spec.ram_mb,
            nic_mb_per_s: spec.nic_mb_per_s,
            power: spec.power,
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
            vms: Vec::new(),
            incoming_ram_mb: 0.0,
            migration_cpu_cores: 0.0,
            busy_cores: 0.0,
            busy_core_ns: 0.0,
            busy_since: SimTime::ZERO,
            vm_demand_total: 0.0,
            overcommitted: false,
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
        match self.state {
            NodeState::Off => 0.0,
            NodeState::Booting | NodeState::ShuttingDown => self.power.idle_w(),
            NodeState::On => self.power.watts(self.busy_cores / self.cores),
        }
    }

    /// Integrates the busy cores up to `now` and returns ∫ busy_cores dt (core·ns).
    pub(super) fn settle_busy(&mut self, now: SimTime) -> f64 {
        let dt = now.since(self.busy_since) as f64;
        self.busy_core_ns += self.busy_cores * dt;
        self.busy_since = now;
        self.busy_core_ns
    }

    /// Sets the busy cores from `now` on (integrating the old value first) and the power drawn.
    pub(super) fn set_busy(&mut self, now: SimTime, busy: f64) {
        self.settle_busy(now);
        self.busy_cores = busy;
        let w = self.watts();
        if w != self.meter.watts() {
            self.meter.set_watts(now.0, w);
        }
    }

    /// Moves to `state`, keeping node-hours and power up to date.
    pub(super) fn set_state(&mut self, now: SimTime, state: NodeState) {
        let was_up = self.state != NodeState::Off;
        let is_up = state != NodeState::Off;
        if was_up && !is_up {
            if let Some(since) = self.up_since.take() {
                self.up_ns += now.since(since);
            }
        } else if !was_up && is_up {
            self.up_since = Some(now);
        }
        self.state = state;
        let busy = self.busy_cores;
        self.set_busy(now, busy);
    }
}
