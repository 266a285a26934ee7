//! The cluster: physical nodes, the VMs on them, how a node's CPU is shared by what it hosts,
//! the NICs that migrations share, live migrations, power and energy.
//!
//! The cluster owns all of this state; the rest of the simulation reads it through `&Node` /
//! `&Vm` and changes it only through the methods of [`Cluster`]. It does not know what a VM
//! runs: a load (a replica's server, a utilisation trace) says how many cores it wants
//! ([`Cluster::set_vm_want`]) and hears back through [`ClusterHost::vm_capacity_changed`] what
//! it is granted. The cluster's own timed steps (a boot, a migration round) are
//! [`ClusterEvent`]s that it schedules through [`ClusterHost::schedule`] and that the simulation
//! hands back to [`Cluster::handle`]; what others must react to (a node came up, a migration
//! ended) comes back from `handle` as a [`Notice`].
//!
//! Files: `node` (a node, its power states and integrals), `vm`, `cpu` (CPU sharing),
//! `migration` (pre-copy and NIC sharing), `migration_table` (the migrations under way, by id),
//! `checkpoint` (continuous checkpointing to a backup
//! node, and the failover to it), `failure` (node crashes and their consequences),
//! `invariants`.

mod checkpoint;
mod cpu;
mod failure;
mod invariants;
mod migration;
mod migration_table;
mod node;
mod sla;
mod vm;

pub(crate) use checkpoint::{BackupRule, CheckpointSettings, Recovery};
pub(crate) use migration::MigrationStats;
pub use node::{Node, NodeSpec, NodeState};
pub(crate) use sla::SlaTotals;
pub use vm::{Vm, VmSpec};

use crate::engine::SimTime;
use crate::scenario::schema::Migration;
use std::collections::BTreeSet;

/// What the cluster reaches of the rest of the simulation.
pub(crate) trait ClusterHost {
    /// Schedules one of the cluster's own events, to be handed back to [`Cluster::handle`].
    fn schedule(&mut self, at: SimTime, event: ClusterEvent);
    /// VM `vm` now has `cores` cores of `speed` each (0 cores while paused): its load must run
    /// at that capacity from `now` on.
    fn vm_capacity_changed(&mut self, now: SimTime, vm: u32, cores: f64, speed: f64);
}

/// The cluster's timed steps.
#[derive(Clone, Copy, Debug)]
pub enum ClusterEvent {
    /// A node finished booting (unless it crashed since: `gen` is its power generation).
    NodeBooted { node: u32, gen: u32 },
    /// A node finished shutting down (unless it crashed since).
    NodeOff { node: u32, gen: u32 },
    /// The current round of a migration may have finished sending.
    MigrationRound { migration: u32, gen: u32 },
    /// A migrated VM resumes on its destination.
    MigrationResumed { migration: u32 },
    /// An epoch boundary of continuous checkpointing.
    CheckpointTick,
    /// VM `vm`, resumed on its backup after its node crashed, runs again (unless `gen` moved).
    FailoverDone { vm: u32, gen: u32 },
}

/// What the rest of the simulation must hear of an event the cluster handled.
#[derive(Clone, Debug, PartialEq)]
pub enum Notice {
    /// Node `node` is on (it was booting).
    NodeUp { node: u32 },
    /// Node `node` is off (it was shutting down).
    NodeDown { node: u32 },
    /// The migration started for `action` is over: the VM runs on its destination.
    MigrationDone {
        action: usize,
        mb_sent: f64,
        downtime_s: f64,
        rounds: u32,
    },
}

/// How the VMs of an over-committed node share its cores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CpuSharing {
    /// Max-min fair (water-filling), as a fair-share hypervisor scheduler.
    #[default]
    MaxMin,
    /// In proportion to demand, floored to whole CPU units (CloudSim).
    Proportional,
}

/// The cluster-wide settings of a run.
#[derive(Clone, Debug)]
pub(crate) struct ClusterSettings {
    /// Whether the scenario models an infrastructure at all (else servers are dedicated).
    pub modelled: bool,
    /// Replicas in VMs (else one replica per node).
    pub virtualized: bool,
    /// Node cores a VM costs per core it uses, beyond that core.
    pub hypervisor_overhead: f64,
    /// RAM each node keeps for its host (dom0), in MB.
    pub host_reserved_ram_mb: f64,
    pub cpu_sharing: CpuSharing,
    pub migration: Migration,
    /// Continuous checkpointing of VMs, if the scenario has it.
    pub checkpoint: Option<CheckpointSettings>,
    /// Whether RAM limits placements after time 0 (else only the placements at 0 need free
    /// RAM: CloudSim's accounting, scenario key `infrastructure.ram_limit = "at-start"`).
    pub ram_binds_after_start: bool,
}

/// Nodes, VMs and migrations, and every rule that relates them.
pub(crate) struct Cluster {
    settings: ClusterSettings,
    /// SLA figures count from here (the end of warm-up).
    measure_from: SimTime,
    nodes: Vec<Node>,
    vms: Vec<Vm>,
    migrations: migration_table::MigrationTable,
    /// Migrations still sending data (indices in `migrations`), in start order (ids grow with
    /// start time; a set, since a migration ends anywhere in it).
    transferring: BTreeSet<u32>,
    /// Migrations not over yet (sending, or their VM resuming), in start order: what a node
    /// crash must look through (not every migration of the run).
    in_flight: BTreeSet<u32>,
    migration_stats: MigrationStats,
    checkpointing: Option<checkpoint::Checkpointing>,
    /// Scratch buffers for CPU sharing (no allocation per event), and for batches of changes.
    scratch_demand: Vec<f64>,
    scratch_share: Vec<f64>,
    scratch_nodes: Vec<u32>,
    stamp: u64,
    /// A batch of migration starts is under way: the nodes they touch wait in `deferred` to be
    /// rebalanced once, at its end (see [`Cluster::begin_migration_batch`]), each marked with
    /// the batch's stamp.
    batching: bool,
    batch_stamp: u64,
    deferred: Vec<u32>,
    /// Whether free RAM limits placements now (see [`ClusterSettings::ram_binds_after_start`]).
    ram_binds: bool,
}

impl Cluster {
    pub fn new(settings: ClusterSettings, nodes: Vec<NodeSpec>) -> Self {
        Cluster {
            checkpointing: settings
                .checkpoint
                .clone()
                .map(checkpoint::Checkpointing::new),
            settings,
            measure_from: SimTime::ZERO,
            nodes: nodes.into_iter().map(Node::new).collect(),
            vms: Vec::new(),
            migrations: Default::default(),
            transferring: BTreeSet::new(),
            in_flight: BTreeSet::new(),
            migration_stats: MigrationStats::default(),
            scratch_demand: Vec::new(),
            scratch_share: Vec::new(),
            scratch_nodes: Vec::new(),
            stamp: 0,
            batching: false,
            batch_stamp: 0,
            deferred: Vec::new(),
            ram_binds: true,
        }
    }

    // ---- reading ------------------------------------------------------------------------------

    pub fn settings(&self) -> &ClusterSettings {
        &self.settings
    }

    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    pub fn node(&self, n: u32) -> &Node {
        &self.nodes[n as usize]
    }

    pub fn vms(&self) -> &[Vm] {
        &self.vms
    }

    pub fn vm(&self, v: u32) -> &Vm {
        &self.vms[v as usize]
    }

    /// The VM named `name` (a linear search: for scripted actions, not hot paths).
    pub fn vm_by_name(&self, name: &str) -> Option<u32> {
        self.vms
            .iter()
            .position(|v| v.name == name)
            .map(|v| v as u32)
    }

    pub fn node_by_name(&self, name: &str) -> Option<u32> {
        self.nodes
            .iter()
            .position(|n| n.name == name)
            .map(|i| i as u32)
    }

    pub fn migration_stats(&self) -> &MigrationStats {
        &self.migration_stats
    }

    /// Simulated time has left 0: from now on RAM limits placements only if the settings say
    /// it does after the start.
    pub fn clock_left_start(&mut self) {
        self.ram_binds = self.settings.ram_binds_after_start;
    }

    /// RAM free for a VM arriving on node `n` now, in MB: [`Cluster::ram_left_mb`], or
    /// infinite when RAM does not limit placements any more (CloudSim's accounting).
    pub fn free_ram_mb(&self, n: u32) -> f64 {
        if self.ram_binds {
            self.ram_left_mb(n)
        } else {
            f64::INFINITY
        }
    }

    /// RAM not used on node `n`, in MB (host reserve, its VMs and incoming VMs deducted; below
    /// 0 when RAM does not limit placements and more is in use than the node has).
    pub fn ram_left_mb(&self, n: u32) -> f64 {
        let node = &self.nodes[n as usize];
        let reserved = if self.settings.modelled {
            self.settings.host_reserved_ram_mb
        } else {
            0.0
        };
        let used: f64 = node.vms.iter().map(|&v| self.vms[v as usize].ram_mb).sum();
        node.ram_mb - reserved - used - node.incoming_ram_mb - node.backup_ram_mb
    }

    /// Whether node `n` hosts nothing and expects nothing (it may be powered off).
    pub fn is_empty(&self, n: u32) -> bool {
        let node = &self.nodes[n as usize];
        // Reservations and CPU costs are added and removed as floats: what remains of them
        // below a millionth is rounding, not a migration.
        node.vms.is_empty()
            && node.bare.is_none()
            && node.incoming_ram_mb < 1e-6
            && node.backup_ram_mb < 1e-6
            && node.migration_cpu_cores < 1e-6
    }

    /// Energy drawn by all nodes from the start up to `now`, in J.
    pub fn energy_j(&self, now: SimTime) -> f64 {
        // A fold from +0: a float sum of no node is -0.
        self.nodes.iter().fold(0.0, |e, n| e + n.joules(now))
    }

    /// Integrates node `n`'s busy cores up to `now`; returns ∫ busy cores dt in core·ns.
    pub fn settle_busy(&mut self, now: SimTime, n: u32) -> f64 {
        self.nodes[n as usize].settle_busy(now)
    }

    /// Integrates VM `v`'s grant up to `now`; returns ∫ granted cores dt from the start, in
    /// core·ns.
    pub fn settle_vm(&mut self, now: SimTime, v: u32) -> f64 {
        let from = self.measure_from;
        let sla = &mut self.vms[v as usize].sla;
        sla.settle(now, from);
        sla.granted_core_ns_all
    }

    /// What VM `v` asks for now and what it gets now, in CPU units.
    pub fn vm_demand_cpu(&self, v: u32) -> f64 {
        let vm = &self.vms[v as usize];
        match vm.node {
            Some(_) => vm.sla.demand(),
            // Not placed: all it would ask for is unmet.
            None => vm.demand_cpu(1.0),
        }
    }

    pub fn vm_granted_cpu(&self, v: u32) -> f64 {
        self.vms[v as usize].sla.granted()
    }

    // ---- placing loads ------------------------------------------------------------------------

    /// Creates a VM on node `n` (RAM is taken at once). A `starting` VM wants no CPU until
    /// [`Cluster::vm_started`]. Refused, with the RAM free, when it does not fit.
    pub fn create_vm(&mut self, n: u32, spec: VmSpec, starting: bool) -> Result<u32, f64> {
        let free = self.free_ram_mb(n);
        if free + 1e-9 < spec.ram_mb {
            return Err(free);
        }
        let v = self.vms.len() as u32;
        let speed = self.nodes[n as usize].speed;
        self.vms.push(Vm::new(spec, Some(n), speed, starting));
        self.nodes[n as usize].vms.push(v);
        Ok(v)
    }

    /// Creates a VM that no node hosts yet (it waits for [`Cluster::place`]).
    pub fn create_unplaced_vm(&mut self, spec: VmSpec) -> u32 {
        let v = self.vms.len() as u32;
        self.vms.push(Vm::new(spec, None, 1.0, false));
        v
    }

    /// Starts unplaced VM `v` on node `n`, or says why it cannot.
    pub fn place(
        &mut self,
        now: SimTime,
        v: u32,
        n: u32,
        host: &mut impl ClusterHost,
    ) -> Result<(), String> {
        if !self.settings.virtualized {
            return Err("placing a VM needs infrastructure.mode = \"virtualized\"".into());
        }
        let Some(vm) = self.vms.get(v as usize) else {
            return Err("no such VM".into());
        };
        if !vm.alive {
            return Err("the VM no longer exists".into());
        }
        if vm.node.is_some() {
            return Err("the VM is already placed".into());
        }
        let Some(node) = self.nodes.get(n as usize) else {
            return Err("no such node".into());
        };
        if node.state != NodeState::On {
            return Err(format!("node is {}", node.state.label()));
        }
        let free = self.free_ram_mb(n);
        let ram = vm.ram_mb;
        if free + 1e-9 < ram {
            return Err(format!(
                "node has {free:.0} MB of RAM free, the VM needs {ram:.0} MB"
            ));
        }
        let speed = node.speed;
        // Its demand so far (unplaced, all unmet) closes before it runs.
        self.vm_sla_changed(now, v);
        let vm = &mut self.vms[v as usize];
        vm.node = Some(n);
        vm.granted = (vm.vcpus, speed);
        self.nodes[n as usize].vms.push(v);
        self.rebalance(now, n, host);
        Ok(())
    }

    /// Reserves `ram_mb` on node `n` for a VM that will arrive once it has booted.
    pub fn reserve_incoming(&mut self, n: u32, ram_mb: f64) {
        self.nodes[n as usize].incoming_ram_mb += ram_mb;
    }

    /// Releases a reservation of [`Cluster::reserve_incoming`].
    pub fn release_incoming(&mut self, n: u32, ram_mb: f64) {
        let incoming = &mut self.nodes[n as usize].incoming_ram_mb;
        *incoming -= ram_mb;
        if *incoming < 1e-6 {
            *incoming = 0.0; // no rounding residue once nothing is reserved
        }
    }

    /// The guest of VM `v` is up: its load runs from now on.
    pub fn vm_started(&mut self, v: u32) {
        self.vms[v as usize].starting = false;
    }

    /// Destroys VM `v` (its load has ended): its RAM and CPU are freed.
    pub fn destroy_vm(&mut self, now: SimTime, v: u32, host: &mut impl ClusterHost) {
        // Its demand ends: nothing more counts for it.
        self.vms[v as usize].alive = false;
        self.vm_sla_changed(now, v);
        self.end_protection(now, v);
        if let Some(n) = self.vms[v as usize].node {
            self.nodes[n as usize].vms.retain(|&x| x != v);
            self.rebalance(now, n, host);
        }
    }

    /// The SLA integrals of all nodes and VMs, brought up to `now`.
    pub fn sla_totals(&mut self, now: SimTime) -> SlaTotals {
        let from = self.measure_from;
        let mut t = SlaTotals::default();
        for node in &mut self.nodes {
            node.sla.settle(now, from);
            t.active_ns += node.sla.active_ns;
            t.violation_ns += node.sla.violation_ns;
            t.shutdowns += node.sla.shutdowns;
            t.time_before_shutdown_ns += node.sla.time_before_shutdown_ns;
            if node.active_now() {
                t.active_nodes += 1;
            }
        }
        for vm in &mut self.vms {
            vm.sla.settle(now, from);
            t.demand_ns += vm.sla.demand_ns;
            t.migration_unmet_ns += vm.sla.migration_unmet_ns;
            t.unmet_core_ns += vm.sla.unmet_core_ns;
        }
        t
    }

    /// The measurement window starts now: SLA figures count from here.
    pub fn start_measuring(&mut self, now: SimTime) {
        for n in 0..self.nodes.len() {
            let node = &mut self.nodes[n];
            node.sla.settle(now, now);
            node.sla.start_measuring(now);
        }
        for vm in &mut self.vms {
            vm.sla.settle(now, now);
        }
        self.measure_from = now;
    }

    /// Puts load `occupant` directly on node `n` (bare mode); refused with the current occupant
    /// if the node already runs one.
    pub fn occupy(&mut self, n: u32, occupant: u32) -> Result<(), u32> {
        let node = &mut self.nodes[n as usize];
        match node.bare {
            Some(other) => Err(other),
            None => {
                node.bare = Some(occupant);
                node.bare_want_cores = 0.0;
                Ok(())
            }
        }
    }

    /// Node `n`'s bare load has ended.
    pub fn vacate(&mut self, now: SimTime, n: u32, host: &mut impl ClusterHost) {
        let node = &mut self.nodes[n as usize];
        node.bare = None;
        node.bare_want_cores = 0.0;
        self.rebalance(now, n, host);
    }

    /// Recomputes every node's shares (at the start of a run).
    pub fn rebalance_all(&mut self, now: SimTime, host: &mut impl ClusterHost) {
        for n in 0..self.nodes.len() {
            self.rebalance(now, n as u32, host);
        }
    }

    // ---- power --------------------------------------------------------------------------------

    /// Starts booting node `n`, which must be off.
    pub fn power_on(
        &mut self,
        now: SimTime,
        n: u32,
        host: &mut impl ClusterHost,
    ) -> Result<(), String> {
        let Some(state) = self.nodes.get(n as usize).map(|n| n.state) else {
            return Err("no such node".into());
        };
        if state != NodeState::Off {
            return Err(format!("node is {}, not off", state.label()));
        }
        self.boot(now, n, host);
        Ok(())
    }

    /// Starts booting node `n` (which is off).
    pub fn boot(&mut self, now: SimTime, n: u32, host: &mut impl ClusterHost) {
        let from = self.measure_from;
        let node = &mut self.nodes[n as usize];
        node.set_state(now, NodeState::Booting, from);
        host.schedule(
            now.plus_ns(node.boot_ns),
            ClusterEvent::NodeBooted {
                node: n,
                gen: node.power_gen,
            },
        );
    }

    /// Starts shutting node `n` down: it must be on and empty.
    pub fn power_off(
        &mut self,
        now: SimTime,
        n: u32,
        host: &mut impl ClusterHost,
    ) -> Result<(), String> {
        let Some(state) = self.nodes.get(n as usize).map(|n| n.state) else {
            return Err("no such node".into());
        };
        if state != NodeState::On {
            return Err(format!("node is {}, not on", state.label()));
        }
        if !self.is_empty(n) {
            let node = &self.nodes[n as usize];
            let what = if !node.vms.is_empty() {
                format!("it hosts {} VM(s)", node.vms.len())
            } else if node.bare.is_some() {
                "it hosts a replica".to_string()
            } else if node.backup_ram_mb >= 1e-6 {
                "it holds checkpoint copies of VMs (their backup)".to_string()
            } else {
                "a migration or a replica start involves it".to_string()
            };
            return Err(format!("node is busy: {what}"));
        }
        let from = self.measure_from;
        let node = &mut self.nodes[n as usize];
        node.set_state(now, NodeState::ShuttingDown, from);
        host.schedule(
            now.plus_ns(node.shutdown_ns),
            ClusterEvent::NodeOff {
                node: n,
                gen: node.power_gen,
            },
        );
        Ok(())
    }

    // ---- events -------------------------------------------------------------------------------

    /// Carries out one of the cluster's own events.
    pub fn handle(
        &mut self,
        now: SimTime,
        event: ClusterEvent,
        host: &mut impl ClusterHost,
    ) -> Option<Notice> {
        match event {
            ClusterEvent::NodeBooted { node, gen } => {
                if self.nodes[node as usize].power_gen != gen {
                    return None;
                }
                let from = self.measure_from;
                self.nodes[node as usize].set_state(now, NodeState::On, from);
                self.rebalance(now, node, host);
                Some(Notice::NodeUp { node })
            }
            ClusterEvent::NodeOff { node, gen } => {
                if self.nodes[node as usize].power_gen != gen {
                    return None;
                }
                let from = self.measure_from;
                self.nodes[node as usize].set_state(now, NodeState::Off, from);
                Some(Notice::NodeDown { node })
            }
            ClusterEvent::MigrationRound { migration, gen } => {
                self.on_migration_round(now, migration, gen, host)
            }
            ClusterEvent::MigrationResumed { migration } => {
                // A migration whose destination crashed during the resume is over already.
                if self.migrations.is_over(migration as usize) {
                    return None;
                }
                Some(self.on_migration_resumed(now, migration, host))
            }
            ClusterEvent::CheckpointTick => {
                self.on_checkpoint_tick(now, host);
                None
            }
            ClusterEvent::FailoverDone { vm, gen } => {
                self.on_failover_done(now, vm, gen, host);
                None
            }
        }
    }
}
