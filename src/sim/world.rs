//! The entities of a simulated run, in `Vec` arenas addressed by plain indices.

use crate::engine::Rng;
use crate::model::balancer::LoadBalancer;
use crate::model::PsServer;
use crate::scenario::schema::LoopKind;
use crate::workload::distribution::Sampler;
use crate::workload::mix::{Mix, Walker};
use crate::workload::profile::LoadCurve;
use std::sync::Arc;

/// Marks "no replica pinned" in a client's sticky table.
pub const NO_SERVER: u32 = u32::MAX;

/// A replica of a tier.
pub struct Server {
    /// `app.tier.k`, k counting the tier's replicas from 0 in order of creation.
    pub name: String,
    pub ps: PsServer,
    pub app: u16,
    pub tier: u16,
    pub host: Host,
    pub state: ServerState,
    /// Sessions pinned to this replica by a sticky balancer.
    pub pinned_sessions: u64,
    /// Utilisation integrals (busy, capacity) at the start of the current reporting interval.
    pub interval_mark: (f64, f64),
    /// Utilisation integrals at the end of warm-up.
    pub warmup_mark: (f64, f64),
}

pub struct Tier {
    pub name: String,
    /// Server indices of the replicas currently behind the balancer.
    pub servers: Vec<u32>,
    /// Replicas created so far (names `app.tier.k` use this counter).
    pub created: u32,
    pub balancer: LoadBalancer,
}

pub struct App {
    pub name: String,
    pub loop_kind: LoopKind,
    pub mix: Arc<Mix>,
    pub tiers: Vec<Tier>,
    pub think: Sampler,
    pub max_transitions: u32,
    pub curve: LoadCurve,
    /// `demand[interaction * tiers + tier]`.
    pub demand: Vec<Sampler>,
    /// Closed loop: client index (in `World::clients`) of this app's client number i.
    pub population: Vec<u32>,
    /// Closed loop: the number of clients the profile asks for now.
    pub target: u32,
    /// Clients in the loop now (closed: active and not yet stopped; open: visitors present).
    pub in_loop: u64,
    /// Open loop: the arrival process's stream, the number of arrivals so far, and free
    /// visitor slots for reuse.
    pub arrivals: Rng,
    pub arrivals_so_far: u64,
    pub free_visitors: Vec<u32>,
}

impl App {
    #[inline]
    pub fn demand(&self, interaction: usize, tier: usize) -> &Sampler {
        &self.demand[interaction * self.tiers.len() + tier]
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientState {
    /// Not in the loop (closed: beyond the current population; open: a free visitor slot).
    Idle,
    /// Waiting for the end of a think time (a `ThinkDone` event is pending).
    Thinking,
    /// Waiting for a response.
    Waiting,
}

/// An emulated user (closed loop) or a visitor (open loop).
pub struct Client {
    pub app: u16,
    /// Closed: the client number in its app. Open: the arrival number.
    pub number: u64,
    pub state: ClientState,
    /// Leave the loop at the next opportunity (the population shrank).
    pub stop: bool,
    /// Sessions this client has started.
    pub sessions: u64,
    /// The current session's random stream: its think times, choices and demands.
    pub rng: Rng,
    pub walker: Walker,
    /// The interaction to request when the think time ends (`None`: the session has ended).
    pub next: Option<u16>,
    /// Per tier, the replica (server index) this session is pinned to by a sticky balancer.
    pub sticky: Vec<u32>,
    /// Bumped whenever a pending `ThinkDone` must be ignored.
    pub epoch: u32,
    /// The session's state was lost (its replica stopped): the next step starts a new session.
    pub session_lost: bool,
}

/// Where a server runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Host {
    /// No infrastructure model: a dedicated server of the tier's `cores`.
    Dedicated,
    /// Alone on a node (bare mode).
    Node(u32),
    /// In a VM (virtualized mode).
    Vm(u32),
}

/// Life cycle of a replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerState {
    /// Being deployed and started (node boot, deploy, data copy, VM boot, server start).
    Starting,
    /// Behind the load balancer.
    Active,
    /// Out of the balancer for new sessions; serving its pinned sessions until they end.
    Draining,
    /// Gone.
    Stopped,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeState {
    Off,
    Booting,
    On,
    ShuttingDown,
}

impl NodeState {
    pub fn label(self) -> &'static str {
        match self {
            NodeState::Off => "off",
            NodeState::Booting => "booting",
            NodeState::On => "on",
            NodeState::ShuttingDown => "shutting-down",
        }
    }
}

/// A physical node.
pub struct Node {
    pub name: String,
    pub cores: f64,
    pub speed: f64,
    pub ram_mb: f64,
    /// NIC bandwidth in MB/s (10^6 bytes).
    pub nic_mb_per_s: f64,
    pub power: crate::model::power::PowerModel,
    pub boot_ns: u64,
    pub shutdown_ns: u64,
    pub state: NodeState,
    pub meter: crate::model::power::EnergyMeter,
    /// Nanoseconds spent not off, up to `up_since` (node-hours).
    pub up_ns: u64,
    pub up_since: Option<crate::engine::SimTime>,
    /// Bare mode: the server on this node (starting or running).
    pub bare_server: Option<u32>,
    /// Virtualized mode: VMs placed here (including ones migrating away).
    pub vms: Vec<u32>,
    /// RAM reserved for VMs migrating or being created here, in MB.
    pub incoming_ram_mb: f64,
    /// CPU cores used by migrations from or to this node.
    pub migration_cpu_cores: f64,
    /// Cores in use now (VM shares with hypervisor overhead, or the bare server, plus
    /// migrations).
    pub busy_cores: f64,
    /// ∫ busy_cores dt in core·ns, up to `busy_since`.
    pub busy_core_ns: f64,
    pub busy_since: crate::engine::SimTime,
    /// `busy_core_ns` and energy (J) at the start of the current reporting interval.
    pub interval_mark: (f64, f64),
    /// Replicas waiting for this node to boot before they deploy.
    pub waiting_starts: Vec<u32>,
    /// Virtualized: the VMs' CPU demands in node cores (hypervisor overhead included), as of
    /// the last update, and whether some VM then got less than it wanted.
    pub vm_demand_total: f64,
    pub overcommitted: bool,
}

/// A virtual machine hosting one server.
pub struct Vm {
    pub name: String,
    pub server: u32,
    pub vcpus: f64,
    pub ram_mb: f64,
    pub node: u32,
    /// Set while a live migration to that node runs.
    pub migrating_to: Option<u32>,
    /// That migration (index in the simulation's migrations).
    pub migration: Option<u32>,
    /// Stopped for a migration's stop-and-copy and resume: serves nothing.
    pub paused: bool,
    pub dirty_mb_per_s: f64,
    pub dirty_mb_per_cpu_s: f64,
    /// Cores the VM is granted now (its share of the node).
    pub share_cores: f64,
    /// Its CPU demand in node cores (hypervisor overhead included) as of the last update.
    pub demand: f64,
    /// False once its replica stopped and the VM was destroyed.
    pub alive: bool,
}

impl Vm {
    /// A new, running VM of `vcpus` and `ram_mb` on node `node`, hosting server `server`.
    pub(crate) fn new(
        name: String,
        server: u32,
        node: u32,
        tier: &super::replicas::TierStart,
    ) -> Self {
        Vm {
            name,
            server,
            vcpus: tier.cores,
            ram_mb: tier.vm_ram_mb,
            node,
            migrating_to: None,
            migration: None,
            paused: false,
            dirty_mb_per_s: tier.dirty_mb_per_s,
            dirty_mb_per_cpu_s: tier.dirty_mb_per_cpu_s,
            share_cores: 0.0,
            demand: 0.0,
            alive: true,
        }
    }
}
