//! How a node's CPU is shared by what it hosts.
//!
//! In virtualized mode the VMs of a node share its cores max-min fairly: a VM wants
//! `min(want, vcpus)` cores, each costing `1 + hypervisor_overhead` node cores, out of the cores
//! left by running migrations. A VM that gets all it wants keeps its full `vcpus` of capacity (so
//! a busier neighbour changes nothing for it); only over-committed VMs are slowed to their share.
//! Shares are recomputed only for the node where a demand changed. In bare mode the load on a
//! node uses `min(want, cores)` of it.

use super::{Cluster, ClusterHost};
use crate::engine::SimTime;
use crate::model::maxmin::share_one;

/// Share differences below this (cores) are rounding, not a change worth a reschedule.
const SHARE_EPS: f64 = 1e-9;

impl Cluster {
    /// The load of VM `v` now wants `want_cores` cores (at most its vCPUs count).
    #[inline]
    pub fn set_vm_want(
        &mut self,
        now: SimTime,
        v: u32,
        want_cores: f64,
        host: &mut impl ClusterHost,
    ) {
        let vm = &mut self.vms[v as usize];
        vm.want_cores = want_cores.min(vm.vcpus);
        if !self.vm_want_changed_fast(now, v) {
            let n = self.vms[v as usize].node;
            self.rebalance(now, n, host);
        }
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
    /// nobody on the node was short of CPU and nobody is now, so only this VM's demand and the
    /// node's busy cores change (its load keeps its full vCPUs). Returns false when the full
    /// rebalance is needed.
    #[inline]
    fn vm_want_changed_fast(&mut self, now: SimTime, v: u32) -> bool {
        let overhead = 1.0 + self.settings.hypervisor_overhead;
        let vm = &self.vms[v as usize];
        let node = &self.nodes[vm.node as usize];
        if node.overcommitted || vm.paused || vm.migrating_to.is_some() || vm.starting {
            return false;
        }
        let d = vm.want_cores * overhead;
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
        node.set_busy(now, busy);
        true
    }

    /// Recomputes the CPU shares on node `n`, the capacity granted to the VMs it hosts (telling
    /// their loads of any change), its busy cores and its power.
    pub(super) fn rebalance(&mut self, now: SimTime, n: u32, host: &mut impl ClusterHost) {
        if !self.settings.modelled {
            return;
        }
        let overhead = 1.0 + self.settings.hypervisor_overhead;
        let node = &self.nodes[n as usize];
        let speed = node.speed;
        let busy = if self.settings.virtualized {
            let cap = (node.cores - node.migration_cpu_cores).max(0.0);
            // Scratch buffers, taken out of `self` for the loop and put back after.
            let mut demand = std::mem::take(&mut self.scratch_demand);
            let mut shares = std::mem::take(&mut self.scratch_share);
            demand.clear();
            shares.clear();
            for &v in &node.vms {
                let vm = &self.vms[v as usize];
                let d = if vm.paused || vm.starting {
                    0.0
                } else {
                    vm.want_cores * overhead
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
                let migrating = vm.migrating_to.is_some();
                if migrating && (old_share - share_cores).abs() > SHARE_EPS {
                    // Its dirty rate follows its CPU use: bring the migration up to now first.
                    self.update_migration_dirty_rate(now, v);
                }
                let vm = &mut self.vms[v as usize];
                if (vm.granted.0 - cores).abs() > SHARE_EPS || vm.granted.1 != speed {
                    vm.granted = (cores, speed);
                    host.vm_capacity_changed(now, v, cores, speed);
                }
            }
            let busy = shares.iter().sum::<f64>() + self.nodes[n as usize].migration_cpu_cores;
            self.scratch_demand = demand;
            self.scratch_share = shares;
            busy
        } else {
            match node.bare {
                Some(_) => node.bare_want_cores.min(node.cores),
                None => 0.0,
            }
        };
        self.nodes[n as usize].set_busy(now, busy);
    }
}
