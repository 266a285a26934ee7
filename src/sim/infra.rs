//! Nodes: how a node's CPU is shared by what it hosts, its utilisation and its power.
//!
//! In virtualized mode the VMs of a node share its cores max-min fairly: a VM wants
//! `min(jobs, vcpus)` cores, each costing `1 + hypervisor_overhead` node cores, out of the cores
//! left by running migrations. A VM that gets all it wants keeps its PS server at `vcpus` cores
//! (so a busier neighbour changes nothing for it); only over-committed VMs are slowed to their
//! share. Shares are recomputed only for the node where a job count changed.

use super::world::{Host, NodeState, ServerState};
use super::Simulation;
use crate::engine::SimTime;
use crate::model::maxmin::share_one;

/// Share differences below this (cores) are rounding, not a change worth a reschedule.
const SHARE_EPS: f64 = 1e-9;

impl Simulation {
    /// A job arrived at or left server `s`: update its node.
    #[inline]
    pub(super) fn server_load_changed(&mut self, now: SimTime, s: u32) {
        match self.servers[s as usize].host {
            super::world::Host::Dedicated => {}
            super::world::Host::Node(n) => self.rebalance_node(now, n),
            super::world::Host::Vm(v) => {
                if !self.vm_load_changed_fast(now, v) {
                    let n = self.vms[v as usize].node;
                    self.rebalance_node(now, n)
                }
            }
        }
    }

    /// The common case of a job change in a VM, without recomputing the node's shares: nobody
    /// on the node was short of CPU and nobody is now, so only this VM's demand and the node's
    /// busy cores change (its PS server keeps its full vCPUs). Returns false when the full
    /// rebalance is needed.
    #[inline]
    fn vm_load_changed_fast(&mut self, now: SimTime, v: u32) -> bool {
        let Some(infra) = &self.infra else {
            return false;
        };
        let overhead = 1.0 + infra.hypervisor_overhead;
        let vm = &self.vms[v as usize];
        let node = &self.nodes[vm.node as usize];
        if node.overcommitted || vm.paused || vm.migrating_to.is_some() {
            return false;
        }
        let server = &self.servers[vm.server as usize];
        if server.state == ServerState::Starting {
            return false;
        }
        let d = (server.ps.jobs() as f64).min(vm.vcpus) * overhead;
        let total = node.vm_demand_total - vm.demand + d;
        let cap = (node.cores - node.migration_cpu_cores).max(0.0);
        if total > cap {
            return false;
        }
        let n = vm.node;
        let vm = &mut self.vms[v as usize];
        vm.demand = d;
        vm.share_cores = d / overhead;
        let node = &mut self.nodes[n as usize];
        node.vm_demand_total = total;
        let busy = total + node.migration_cpu_cores;
        self.set_node_busy(now, n, busy);
        true
    }

    /// The power the node draws now, from its state and busy cores.
    fn node_watts(&self, n: u32) -> f64 {
        let node = &self.nodes[n as usize];
        match node.state {
            NodeState::Off => 0.0,
            NodeState::Booting | NodeState::ShuttingDown => node.power.idle_w(),
            NodeState::On => node.power.watts(node.busy_cores / node.cores),
        }
    }

    /// Recomputes the CPU shares on node `n`, the capacity of the servers it hosts, its busy
    /// cores and its power.
    pub(super) fn rebalance_node(&mut self, now: SimTime, n: u32) {
        let Some(infra) = &self.infra else { return };
        let virtualized = infra.virtualized;
        let overhead = 1.0 + infra.hypervisor_overhead;
        let node = &self.nodes[n as usize];
        let speed = node.speed;
        let busy = if virtualized {
            let cap = (node.cores - node.migration_cpu_cores).max(0.0);
            // Scratch buffers, taken out of `self` for the loop and put back after.
            let mut demand = std::mem::take(&mut self.scratch_demand);
            let mut shares = std::mem::take(&mut self.scratch_share);
            demand.clear();
            shares.clear();
            for &v in &node.vms {
                let vm = &self.vms[v as usize];
                let s = &self.servers[vm.server as usize];
                let d = if vm.paused || s.state == ServerState::Starting {
                    0.0
                } else {
                    (s.ps.jobs() as f64).min(vm.vcpus) * overhead
                };
                demand.push(d);
            }
            // Usually nobody is short of CPU: every VM gets what it wants, nothing to share.
            let total: f64 = demand.iter().sum();
            let node = &mut self.nodes[n as usize];
            node.vm_demand_total = total;
            node.overcommitted = total > cap;
            if total <= cap {
                shares.extend_from_slice(&demand);
            } else {
                shares.extend(share_one(cap, &demand));
            }
            for (i, &share) in shares.iter().enumerate() {
                let v = self.nodes[n as usize].vms[i];
                let share_cores = share / overhead;
                let wanted = demand[i] / overhead;
                let vm = &mut self.vms[v as usize];
                let old_share = vm.share_cores;
                vm.share_cores = share_cores;
                vm.demand = demand[i];
                let cores = if vm.paused {
                    0.0
                } else if share_cores + SHARE_EPS >= wanted {
                    vm.vcpus
                } else {
                    share_cores
                };
                let (server, migrating) = (vm.server, vm.migrating_to.is_some());
                if migrating && (old_share - share_cores).abs() > SHARE_EPS {
                    // Its dirty rate follows its CPU use: bring the migration up to now first.
                    self.update_migration_dirty_rate(now, v);
                }
                let ps = &mut self.servers[server as usize].ps;
                if (ps.cores() - cores).abs() > SHARE_EPS || ps.speed() != speed {
                    let w = ps.set_capacity(now, cores, speed);
                    self.schedule_wakeup(server, w);
                }
            }
            let busy = shares.iter().sum::<f64>() + self.nodes[n as usize].migration_cpu_cores;
            self.scratch_demand = demand;
            self.scratch_share = shares;
            busy
        } else {
            match node.bare_server {
                Some(s) if self.servers[s as usize].state != ServerState::Starting => {
                    (self.servers[s as usize].ps.jobs() as f64).min(node.cores)
                }
                _ => 0.0,
            }
        };
        self.set_node_busy(now, n, busy);
    }

    /// Updates the node's busy cores (integrating the old value first) and its power.
    fn set_node_busy(&mut self, now: SimTime, n: u32, busy: f64) {
        let node = &mut self.nodes[n as usize];
        let dt = now.since(node.busy_since) as f64;
        node.busy_core_ns += node.busy_cores * dt;
        node.busy_since = now;
        node.busy_cores = busy;
        let w = self.node_watts(n);
        let node = &mut self.nodes[n as usize];
        if w != node.meter.watts() {
            node.meter.set_watts(now.0, w);
        }
    }

    /// Moves node `n` to `state`, keeping node-hours and power up to date.
    pub(super) fn set_node_state(&mut self, now: SimTime, n: u32, state: NodeState) {
        let node = &mut self.nodes[n as usize];
        let was_up = node.state != NodeState::Off;
        let is_up = state != NodeState::Off;
        if was_up && !is_up {
            if let Some(since) = node.up_since.take() {
                node.up_ns += now.since(since);
            }
        } else if !was_up && is_up {
            node.up_since = Some(now);
        }
        node.state = state;
        let busy = node.busy_cores;
        self.set_node_busy(now, n, busy);
    }

    /// Whether node `n` hosts nothing and expects nothing (it may be powered off).
    pub(super) fn node_is_empty(&self, n: u32) -> bool {
        let node = &self.nodes[n as usize];
        // Reservations and CPU costs are added and removed as floats: what remains of them
        // below a millionth is rounding, not a migration.
        node.vms.is_empty()
            && node.bare_server.is_none()
            && node.incoming_ram_mb < 1e-6
            && node.migration_cpu_cores < 1e-6
            && node.waiting_starts.is_empty()
    }

    /// RAM still free for VMs on node `n`, in MB (host reserve and incoming VMs counted).
    pub(super) fn node_free_ram_mb(&self, n: u32) -> f64 {
        let node = &self.nodes[n as usize];
        let reserved = self.infra.as_ref().map_or(0.0, |i| i.host_reserved_ram_mb);
        let used: f64 = node.vms.iter().map(|&v| self.vms[v as usize].ram_mb).sum();
        node.ram_mb - reserved - used - node.incoming_ram_mb
    }

    /// The node a server runs on, if any.
    pub(super) fn node_of_server(&self, s: u32) -> Option<u32> {
        match self.servers[s as usize].host {
            Host::Dedicated => None,
            Host::Node(n) => Some(n),
            Host::Vm(v) => Some(self.vms[v as usize].node),
        }
    }
}
