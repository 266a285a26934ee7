//! How a node's CPU is shared by what it hosts.
//!
//! In virtualized mode the VMs of a node share its cores: a VM wants at most its `vcpus` cores
//! (a trace VM's demand in CPU units is converted at the node's speed, so a 2500-MIPS VM of one
//! vCPU gets at most one 1860-MIPS core), each costing `1 + hypervisor_overhead` node cores, out
//! of the cores left by running migrations. When they want more than there is, they share
//! max-min fairly (reconf's default, as a fair-share hypervisor scheduler does) or in proportion
//! to their demands, floored to whole CPU units (CloudSim's `VmSchedulerTimeSharedOverSubscription`).
//! A VM that gets all it wants keeps its full `vcpus` of capacity (so a busier neighbour changes
//! nothing for it); only over-committed VMs are slowed to their share. Shares are recomputed
//! only for the node where a demand changed. In bare mode the load on a node uses
//! `min(want, cores)` of it.

use super::sla::SHORT_EPS;
use super::{Cluster, ClusterHost, CpuSharing};
use crate::engine::SimTime;
use crate::model::maxmin::share_one;
use crate::scenario::schema::MigrationModel;

/// Share differences below this (cores) are rounding, not a change worth a reschedule.
const SHARE_EPS: f64 = 1e-9;

impl Cluster {
    /// The load of VM `v` now wants `want`: cores (at most its vCPUs count), or CPU units for a
    /// VM with a nominal capacity.
    #[inline]
    pub fn set_vm_want(&mut self, now: SimTime, v: u32, want: f64, host: &mut impl ClusterHost) {
        self.vms[v as usize].want = want;
        let Some(n) = self.vms[v as usize].node else {
            // Not placed: nothing runs, its demand is all unmet.
            self.vm_sla_changed(now, v);
            return;
        };
        if !self.vm_want_changed_fast(now, v, n) {
            self.rebalance(now, n, host);
        }
    }

    /// Many VMs' loads change at once (a trace update): sets each `(vm, want)`, then recomputes
    /// each node concerned once, in the order the nodes first appear.
    pub fn set_vm_wants(
        &mut self,
        now: SimTime,
        wants: &[(u32, f64)],
        host: &mut impl ClusterHost,
    ) {
        self.stamp += 1;
        let mut nodes = std::mem::take(&mut self.scratch_nodes);
        nodes.clear();
        for &(v, want) in wants {
            let vm = &mut self.vms[v as usize];
            vm.want = want;
            match vm.node {
                Some(n) => {
                    let node = &mut self.nodes[n as usize];
                    if node.stamp != self.stamp {
                        node.stamp = self.stamp;
                        nodes.push(n);
                    }
                }
                None => self.vm_sla_changed(now, v),
            }
        }
        for &n in &nodes {
            self.rebalance(now, n, host);
        }
        self.scratch_nodes = nodes;
    }

    /// The load running directly on node `n` (bare mode) now wants `want_cores` cores.
    #[inline]
    pub fn set_bare_want(
        &mut self,
        now: SimTime,
        n: u32,
        want_cores: f64,
        host: &mut impl ClusterHost,
    ) {
        self.nodes[n as usize].bare_want_cores = want_cores;
        self.rebalance(now, n, host);
    }

    /// The common case of a demand change in a VM, without recomputing the node's shares:
    /// nobody on the node was short of CPU for want of cores and nobody is now, so only this
    /// VM's demand and the node's busy cores change (its load keeps its full vCPUs). Returns
    /// false when the full rebalance is needed.
    #[inline]
    fn vm_want_changed_fast(&mut self, now: SimTime, v: u32, n: u32) -> bool {
        let overhead = 1.0 + self.settings.hypervisor_overhead;
        let vm = &self.vms[v as usize];
        let node = &self.nodes[n as usize];
        if node.overcommitted || vm.paused || vm.migrating_to.is_some() || vm.starting {
            return false;
        }
        let d = vm.wanted_cores(node.speed) * overhead;
        let total = node.vm_demand_total - vm.demand + d;
        let cap = (node.cores - node.overhead_cores()).max(0.0);
        if total > cap {
            return false;
        }
        let vm = &mut self.vms[v as usize];
        vm.demand = d;
        vm.share_cores = d / overhead;
        self.vm_sla_changed(now, v);
        let from = self.measure_from;
        let node = &mut self.nodes[n as usize];
        node.vm_demand_total = total;
        let busy = total + node.overhead_cores();
        node.set_busy(now, busy, from);
        true
    }

    /// VM `v`'s demand or grant changed: bring its SLA accounting (and the count of VMs short of
    /// CPU of the node it is on) up to date.
    #[inline]
    pub(super) fn vm_sla_changed(&mut self, now: SimTime, v: u32) {
        let from = self.measure_from;
        let simple = self.settings.migration.model == MigrationModel::Simple;
        let vm = &mut self.vms[v as usize];
        let short_on = match vm.node {
            None => {
                // Not placed: whatever it asks for is unmet, counted in cores of its own vCPUs
                // (it has no node whose cores to count it in): a trace VM's vCPU is its
                // capacity over its vCPUs, a replica's the reference core.
                let speed = vm.capacity.map_or(1.0, |c| c / vm.vcpus);
                let demand = vm.demand_cpu(speed);
                vm.sla.set(now, from, demand, 0.0, speed, false);
                None
            }
            Some(n) => {
                let speed = self.nodes[n as usize].speed;
                let migrating = vm.migrating_to.is_some();
                let granted_cores = if vm.paused {
                    0.0
                } else if migrating && simple {
                    vm.share_cores * (1.0 - self.settings.migration.simple_cpu_penalty)
                } else {
                    vm.share_cores
                };
                let demand = if vm.alive { vm.demand_cpu(speed) } else { 0.0 };
                let short = vm
                    .sla
                    .set(now, from, demand, granted_cores * speed, speed, migrating);
                // The simple model's penalty is CPU the migration uses on the source, not CPU
                // the source fails to give: CloudSim counts the migrating VM's full share in
                // its source's utilisation, so the penalty alone does not make the source
                // violate (it still counts, VM side, in PDM).
                let host_short = if migrating && simple && !vm.paused {
                    demand - vm.share_cores * speed > SHORT_EPS
                } else {
                    short
                };
                host_short.then_some(n)
            }
        };
        let counted = vm.sla.counted_on;
        if counted != short_on {
            vm.sla.counted_on = short_on;
            if let Some(old) = counted {
                let node = &mut self.nodes[old as usize];
                node.sla.short_vms -= 1;
                node.update_sla(now, from);
            }
            if let Some(new) = short_on {
                let node = &mut self.nodes[new as usize];
                node.sla.short_vms += 1;
                node.update_sla(now, from);
            }
        }
    }

    /// Starts a batch of migration starts (the `Migrate` actions of one control instant): until
    /// [`Cluster::end_migration_batch`], a node that a start would rebalance is rebalanced once,
    /// at the end, from the batch's final state. A datacenter policy empties a host by moving
    /// its VMs one after the other; rebalancing the host at each start cost a pass over all of
    /// its VMs per VM moved.
    ///
    /// The results are exactly those of rebalancing at each start, because every step of the
    /// batch happens at one instant and nothing in it reads what a rebalance writes: the
    /// integrals (busy cores, energy, SLA) gain nothing over zero time, and a start reads RAM,
    /// power states and demands, never CPU shares. Nodes are deferred only where that holds
    /// (see [`Cluster::rebalance_or_defer`]).
    pub fn begin_migration_batch(&mut self) {
        self.batching = true;
        self.stamp += 1;
        self.batch_stamp = self.stamp;
    }

    /// Ends a batch of migration starts: rebalances each deferred node once, in the order it was
    /// first deferred.
    pub fn end_migration_batch(&mut self, now: SimTime, host: &mut impl ClusterHost) {
        self.batching = false;
        let mut nodes = std::mem::take(&mut self.deferred);
        for &n in &nodes {
            self.rebalance(now, n, host);
        }
        nodes.clear();
        self.deferred = nodes;
    }

    /// Rebalances node `n` now, or at the end of the batch of migration starts under way. A node
    /// waits only where waiting changes nothing: in CloudSim's `simple` migration model (pre-copy
    /// couples a migrating VM's dirty rate, and so the NIC shares computed at each start, to its
    /// CPU share), without checkpointing (whose streams' rates follow the CPU shares too), and
    /// when no request-level server runs on it (its server would hear of each intermediate
    /// capacity and schedule events for it). A zero-length idle spell is still not possible here:
    /// a start adds CPU use to both its nodes, never removes any.
    pub(super) fn rebalance_or_defer(&mut self, now: SimTime, n: u32, host: &mut impl ClusterHost) {
        let can_wait = self.batching
            && self.settings.migration.model == MigrationModel::Simple
            && self.checkpointing.is_none()
            && !self.nodes[n as usize].hosts_server;
        if !can_wait {
            return self.rebalance(now, n, host);
        }
        let node = &mut self.nodes[n as usize];
        if node.stamp != self.batch_stamp {
            node.stamp = self.batch_stamp;
            self.deferred.push(n);
        }
    }

    /// Recomputes the CPU shares on node `n`, the capacity granted to the VMs it hosts (telling
    /// their loads of any change), its busy cores and its power.
    pub(super) fn rebalance(&mut self, now: SimTime, n: u32, host: &mut impl ClusterHost) {
        if !self.settings.modelled {
            return;
        }
        let overhead = 1.0 + self.settings.hypervisor_overhead;
        let simple = self.settings.migration.model == MigrationModel::Simple;
        let penalty = self.settings.migration.simple_cpu_penalty;
        let node = &self.nodes[n as usize];
        let speed = node.speed;
        let busy = if self.settings.virtualized {
            prefetch_vms(&self.vms, &node.vms);
            let cap = (node.cores - node.overhead_cores()).max(0.0);
            // Scratch buffers, taken out of `self` for the loop and put back after.
            let mut demand = std::mem::take(&mut self.scratch_demand);
            let mut shares = std::mem::take(&mut self.scratch_share);
            demand.clear();
            shares.clear();
            // A VM whose demand is in cores runs a request-level server.
            let mut server = false;
            for &v in &node.vms {
                let vm = &self.vms[v as usize];
                server |= vm.capacity.is_none();
                let d = if vm.paused || vm.starting {
                    0.0
                } else {
                    vm.wanted_cores(speed) * overhead
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
                match self.settings.cpu_sharing {
                    CpuSharing::MaxMin => shares.extend(share_one(cap, &demand)),
                    CpuSharing::Proportional => {
                        // Shares in proportion to demand, each floored to whole CPU units.
                        let f = cap / total;
                        shares.extend(demand.iter().map(|d| (d * f * speed).floor() / speed));
                    }
                }
            }
            for (i, &share) in shares.iter().enumerate() {
                let v = self.nodes[n as usize].vms[i];
                let share_cores = share / overhead;
                let wanted = demand[i] / overhead;
                let vm = &mut self.vms[v as usize];
                let old_share = vm.share_cores;
                vm.share_cores = share_cores;
                vm.demand = demand[i];
                let migrating = vm.migrating_to.is_some();
                let slowed = migrating && simple;
                let cores = if vm.paused {
                    0.0
                } else if slowed {
                    // CloudSim's migration penalty: the VM gets 90% of its share; its source
                    // still counts the whole share as busy.
                    share_cores * (1.0 - penalty)
                } else if share_cores + SHARE_EPS >= wanted {
                    vm.vcpus
                } else {
                    share_cores
                };
                if migrating && (old_share - share_cores).abs() > SHARE_EPS {
                    // Its dirty rate follows its CPU use: bring the migration up to now first.
                    self.update_migration_dirty_rate(now, v);
                }
                self.vm_sla_changed(now, v);
                let vm = &mut self.vms[v as usize];
                if (vm.granted.0 - cores).abs() > SHARE_EPS || vm.granted.1 != speed {
                    vm.granted = (cores, speed);
                    host.vm_capacity_changed(now, v, cores, speed);
                }
            }
            let busy = shares.iter().sum::<f64>() + self.nodes[n as usize].overhead_cores();
            self.scratch_demand = demand;
            self.scratch_share = shares;
            self.nodes[n as usize].hosts_server = server;
            busy
        } else {
            let busy = match node.bare {
                Some(_) => node.bare_want_cores.min(node.cores),
                None => 0.0,
            };
            let server = node.bare.is_some();
            self.nodes[n as usize].hosts_server = server;
            busy
        };
        let from = self.measure_from;
        self.nodes[n as usize].set_busy(now, busy, from);
    }
}

/// Starts loading the cache lines of these VMs that a rebalance reads (the whole struct: its
/// share, then its SLA accounting), all at once. A datacenter node's VMs are any ids, scattered
/// over the VM array, so without this the rebalance waits for one VM's miss after another;
/// with it, the misses overlap. A hint: it changes no result.
#[inline]
fn prefetch_vms(vms: &[super::Vm], ids: &[u32]) {
    for &v in ids {
        if let Some(vm) = vms.get(v as usize) {
            crate::engine::prefetch::prefetch(vm);
        }
    }
}
