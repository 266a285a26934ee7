//! The read-only view a policy decides on: what a monitoring system would show at the end of a
//! control period. CPU figures are averages over that period, computed the way a real probe
//! does (busy time / period), so a policy tuned in simulation reads the same numbers on libvirt.

use crate::{Action, ActionId, AppId, NodeId, Outcome, ReplicaId, TierRef, VmId};

/// How servers are deployed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// No infrastructure model: dedicated servers, nothing to reconfigure.
    Dedicated,
    /// One replica per node (restart-based reconfiguration).
    Bare,
    /// One replica per VM, VMs on nodes (migration-based reconfiguration).
    Virtualized,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeState {
    Off,
    Booting,
    On,
    ShuttingDown,
    /// Crashed: it hosts nothing and accepts no action until it is repaired (then it is off).
    Failed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplicaState {
    Starting,
    Active,
    Draining,
    Stopped,
    /// Crashed (its server process, or its node): out of its balancer, its sessions lost. It
    /// comes back if repaired in place, or when a policy restarts it
    /// ([`Action::RestartReplica`], [`Action::RestartVm`]).
    Failed,
}

/// What a fault broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failed {
    /// A node crashed.
    Node(NodeId),
    /// A VM was lost (its node crashed): its memory is gone.
    Vm(VmId),
    /// A replica's server went down (its process crashed, or its node did).
    Replica(ReplicaId),
}

/// One thing a fault broke, shown once, in the first view after it happened.
#[derive(Clone, Debug, PartialEq)]
pub struct FailureView {
    pub failed: Failed,
    /// When, in seconds since the start.
    pub at_s: f64,
}

/// Everything a policy may look at, at one instant.
#[derive(Clone, Debug, PartialEq)]
pub struct View {
    /// Time of the view, in seconds since the start.
    pub now_s: f64,
    /// Length of the control period the averages cover, in seconds.
    pub period_s: f64,
    pub mode: Mode,
    /// RAM every node keeps for its host (dom0), in MB; VMs can use the rest.
    pub host_reserved_ram_mb: f64,
    /// Indexed by `NodeId`.
    pub nodes: Vec<NodeView>,
    /// Indexed by `VmId` (stopped VMs stay, with `alive = false`; VMs not placed yet have no
    /// node).
    pub vms: Vec<VmView>,
    /// Indexed by `ReplicaId` (stopped replicas stay, in state `Stopped`).
    pub replicas: Vec<ReplicaView>,
    /// Indexed by `AppId`.
    pub apps: Vec<AppView>,
    /// Actions still in progress, and those that ended since the previous view.
    pub actions: Vec<ActionView>,
    /// What failed since the previous view (each failure is shown once; what is still down
    /// shows in the states: [`NodeState::Failed`], [`ReplicaState::Failed`]).
    pub failures: Vec<FailureView>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NodeView {
    pub id: NodeId,
    pub name: String,
    pub state: NodeState,
    pub cores: f64,
    /// Capacity of one core, in the scenario's CPU units: a relative speed (1.0) for
    /// request-level scenarios, MIPS for datacenter ones (CloudSim's hosts: 1860, 2660).
    pub speed: f64,
    pub ram_mb: f64,
    /// NIC bandwidth, in Mbit/s.
    pub nic_mbps: f64,
    /// Time to boot from off, and to shut down, in seconds.
    pub boot_s: f64,
    pub shutdown_s: f64,
    /// RAM free for a new VM, in MB (host reserve, VMs and incoming migrations deducted).
    pub free_ram_mb: f64,
    /// Busy share of its cores over the period (0..1), as a probe measures it.
    pub cpu_utilisation: f64,
    /// What its VMs ask for now (their `cpu_demand`, summed), in CPU units: may exceed
    /// [`NodeView::capacity`] (0 in bare mode).
    pub cpu_demand: f64,
    /// Mean power over the period, in W.
    pub power_w: f64,
    /// Its power model: watts drawn at 0, 10, …, 100 % CPU utilisation, linearly interpolated
    /// in between (SPECpower tables; a linear model as its 11 points). All zeros when the
    /// backend does not know the node's power (a live host without a `[live] power` model).
    /// Power-aware placement estimates the power a move adds from it.
    pub power_curve_w: [f64; 11],
    /// VMs on the node (virtualized), including those migrating away.
    pub vms: Vec<VmId>,
    /// The replica on the node (bare), starting or running.
    pub replica: Option<ReplicaId>,
    /// VMs whose checkpoint copy the node holds (it is their backup): their RAM is taken here
    /// (deducted from `free_ram_mb`), and the node cannot be powered off while it holds any.
    pub backups: Vec<VmId>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct VmView {
    pub id: VmId,
    pub name: String,
    pub alive: bool,
    /// The node it runs on; `None` for a VM not placed yet (place it with [`Action::Place`]).
    pub node: Option<NodeId>,
    pub migrating_to: Option<NodeId>,
    pub vcpus: f64,
    pub ram_mb: f64,
    /// Memory it dirties per second whatever it does, and per core of CPU it uses, in MB/s
    /// (what a pre-copy migration of it will have to re-send).
    pub dirty_mb_per_s: f64,
    pub dirty_mb_per_cpu_s: f64,
    /// The replica it runs; `None` for a VM whose load follows a utilisation trace.
    pub replica: Option<ReplicaId>,
    /// Cores of its node it used on average over the period (hypervisor overhead excluded).
    pub cpu_cores_used: f64,
    /// The most CPU it can ask for, in CPU units (a trace VM: its type's capacity, e.g. 2500
    /// MIPS; a replica's VM: its vCPUs at its node's speed).
    pub cpu_max: f64,
    /// What it asks for now and what it is granted now, in CPU units (`cpu_demand − cpu_granted`
    /// is unmet demand). A trace VM's demand is its trace's current utilisation × `cpu_max`.
    pub cpu_demand: f64,
    pub cpu_granted: f64,
    /// The node holding its checkpoint copy, when continuous checkpointing protects it now: if
    /// its node crashes it resumes there from its last checkpoint. `None`: not protected (no
    /// checkpointing, no backup found yet, or just after a failover).
    pub backup: Option<NodeId>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ReplicaView {
    pub id: ReplicaId,
    pub name: String,
    pub tier: TierRef,
    pub state: ReplicaState,
    pub node: Option<NodeId>,
    pub vm: Option<VmId>,
    /// Busy share of the replica's own CPU capacity over the period (0..1).
    pub cpu_utilisation: f64,
    /// Sessions held by the replica (pinned by a sticky balancer): lost if it stops at once.
    pub sessions: u64,
    /// Requests in progress now.
    pub requests_in_progress: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TierView {
    pub tier: TierRef,
    pub name: String,
    /// Its replicas, in order of creation, whatever their state.
    pub replicas: Vec<ReplicaId>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AppView {
    pub id: AppId,
    pub name: String,
    pub tiers: Vec<TierView>,
    /// Clients in the loop now.
    pub clients: u64,
    /// Over the period: completed requests per second, mean and p95 response time, failures.
    pub throughput_rps: f64,
    pub mean_response_ms: f64,
    pub p95_response_ms: f64,
    pub failed_requests: u64,
    pub sla_target_ms: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ActionView {
    pub id: ActionId,
    pub action: Action,
    pub started_s: f64,
    pub ended_s: Option<f64>,
    pub outcome: Outcome,
}

impl TierView {
    /// The tiers of app `app`, named `names` in order, each listing the replicas of `replicas`
    /// (in id order) that belong to it: how every backend fills `AppView::tiers`.
    pub fn of_app<'a>(
        app: AppId,
        names: impl IntoIterator<Item = &'a str>,
        replicas: &[ReplicaView],
    ) -> Vec<TierView> {
        names
            .into_iter()
            .enumerate()
            .map(|(ti, name)| {
                let tier = TierRef {
                    app,
                    tier: ti as u32,
                };
                TierView {
                    tier,
                    name: name.to_string(),
                    replicas: replicas
                        .iter()
                        .filter(|r| r.tier == tier)
                        .map(|r| r.id)
                        .collect(),
                }
            })
            .collect()
    }
}

impl NodeView {
    /// Its CPU capacity, in CPU units (cores × speed).
    pub fn capacity(&self) -> f64 {
        self.cores * self.speed
    }

    /// Power at CPU utilisation `u` (clamped to 0..1) from [`NodeView::power_curve_w`]: the
    /// table point at a multiple of 10 %, linear interpolation between the two around `u`
    /// otherwise.
    pub fn power_at_w(&self, u: f64) -> f64 {
        let u = if u > 0.0 { u.min(1.0) } else { 0.0 };
        let x = u * 10.0;
        let i = (x.floor() as usize).min(9);
        let t = &self.power_curve_w;
        t[i] + (t[i + 1] - t[i]) * (x - i as f64)
    }
}

impl View {
    pub fn node(&self, id: NodeId) -> &NodeView {
        &self.nodes[id.index()]
    }

    pub fn vm(&self, id: VmId) -> &VmView {
        &self.vms[id.index()]
    }

    pub fn replica(&self, id: ReplicaId) -> &ReplicaView {
        &self.replicas[id.index()]
    }

    /// The replicas of a tier in a given state.
    pub fn tier_replicas(
        &self,
        tier: TierRef,
        state: ReplicaState,
    ) -> impl Iterator<Item = &ReplicaView> {
        self.replicas
            .iter()
            .filter(move |r| r.tier == tier && r.state == state)
    }

    /// Live VMs that no node hosts yet, waiting for an [`Action::Place`].
    pub fn unplaced(&self) -> impl Iterator<Item = &VmView> {
        self.vms.iter().filter(|v| v.alive && v.node.is_none())
    }

    /// Actions still in progress.
    pub fn in_flight(&self) -> impl Iterator<Item = &ActionView> {
        self.actions
            .iter()
            .filter(|a| a.outcome == Outcome::InProgress)
    }

    /// Whether an action in progress involves node `n` (powering it, starting on it, migrating
    /// to it).
    pub fn node_busy_with_actions(&self, n: NodeId) -> bool {
        self.in_flight().any(|a| match &a.action {
            Action::PowerOn { node } | Action::PowerOff { node } => *node == n,
            Action::StartReplica { node, .. } => *node == n,
            Action::Migrate { to, vm } => {
                *to == n || self.vms.get(vm.index()).is_some_and(|v| v.node == Some(n))
            }
            Action::Place { node, .. } => *node == n,
            Action::RestartReplica { node, .. } | Action::RestartVm { node, .. } => *node == n,
            Action::StopReplica { .. } => false,
        })
    }

    /// Replicas that are down now (crashed, not yet repaired or restarted).
    pub fn failed_replicas(&self) -> impl Iterator<Item = &ReplicaView> {
        self.replicas
            .iter()
            .filter(|r| r.state == ReplicaState::Failed)
    }
}
