//! Node crashes as the cluster sees them: everything the node hosted is gone at once (its VMs
//! and their memory, its bare load), the migrations through it end (one from it loses its VM,
//! one to it leaves the VM on its source), and the node draws nothing until it is repaired, when
//! it is off again. A VM lost this way can be restarted from its disk image on another node.

use super::{Cluster, ClusterHost, NodeState};
use crate::engine::SimTime;

/// What a node crash took with it.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct NodeCrash {
    /// The live VMs it hosted (now destroyed), in the order the node listed them.
    pub vms_lost: Vec<u32>,
    /// The load running directly on it (bare mode).
    pub bare_lost: Option<u32>,
    /// Migrations it ended, by the action that asked for them, whether the VM was lost (a
    /// migration from the node, or to it once the VM had moved there) or stays on its source,
    /// and the VM.
    pub migrations_ended: Vec<(usize, bool, u32)>,
    /// Protected VMs that resume on their backups (they are not in `vms_lost`).
    pub recovered: Vec<super::Recovery>,
}

impl Cluster {
    /// Node `n` crashes now (it must not be off or failed already).
    pub fn fail_node(&mut self, now: SimTime, n: u32, host: &mut impl ClusterHost) -> NodeCrash {
        debug_assert!(self.nodes[n as usize].state.is_up());
        let mut crash = NodeCrash::default();
        // Migrations through the node end first, while the VMs are still where they were.
        let mut touched = Vec::new();
        let in_flight: Vec<usize> = self.in_flight.iter().map(|&m| m as usize).collect();
        for m in in_flight {
            let mig = &self.migrations[m];
            if mig.done || (mig.src != n && mig.dst != n) {
                continue;
            }
            let (v, src, dst) = (mig.vm, mig.src, mig.dst);
            let lost = if mig.transferring { src == n } else { dst == n };
            if mig.transferring {
                self.abort_transfer(m);
            } else if src == n {
                // The VM already lives on its destination, resuming: it survives the crash of
                // its old host and its migration ends normally.
                continue;
            }
            self.migrations[m].done = true;
            self.in_flight.remove(&(m as u32));
            crash
                .migrations_ended
                .push((self.migrations[m].action, lost, v));
            let vm = &mut self.vms[v as usize];
            vm.migrating_to = None;
            vm.migration = None;
            if !lost {
                // Back to running on its source, as if it had never left.
                vm.paused = false;
                touched.push(src);
            } else if dst != n {
                touched.push(dst);
            }
        }
        self.migrations.retire();
        // Protected VMs resume on their backups; the copies the node held are gone.
        crash.recovered = self.checkpoint_node_crash(now, n, &mut touched, host);
        let from = self.measure_from;
        let node = &mut self.nodes[n as usize];
        crash.vms_lost = std::mem::take(&mut node.vms);
        crash.bare_lost = node.bare.take();
        node.bare_want_cores = 0.0;
        node.hosts_server = false;
        node.incoming_ram_mb = 0.0;
        node.migration_cpu_cores = 0.0;
        node.backup_ram_mb = 0.0;
        node.checkpoint_cpu_cores = 0.0;
        node.vm_demand_total = 0.0;
        node.overcommitted = false;
        node.power_gen = node.power_gen.wrapping_add(1);
        for &v in &crash.vms_lost {
            let vm = &mut self.vms[v as usize];
            vm.alive = false;
            vm.failed = true;
            vm.paused = false;
            vm.share_cores = 0.0;
            self.vm_sla_changed(now, v);
        }
        let node = &mut self.nodes[n as usize];
        node.set_busy(now, 0.0, from);
        node.set_state(now, NodeState::Failed, from);
        touched.sort_unstable();
        touched.dedup();
        for m in touched {
            if m != n {
                self.rebalance(now, m, host);
            }
        }
        self.reflow(now, host);
        crash
    }

    /// Stops the data transfer of migration `m` (its destination or source crashed): the
    /// reservation on the destination, the CPU on both ends and the NIC share are released.
    fn abort_transfer(&mut self, m: usize) {
        self.transferring.remove(&(m as u32));
        let mig = &mut self.migrations[m];
        mig.transferring = false;
        let (v, src, dst, cpu_src, cpu_dst, asks) =
            (mig.vm, mig.src, mig.dst, mig.cpu_src, mig.cpu_dst, mig.asks);
        if asks {
            self.nodes[dst as usize].sla.incoming_asking -= 1;
        }
        let ram = self.vms[v as usize].ram_mb;
        self.release_incoming(dst, ram);
        self.release_migration_cpu(src, cpu_src);
        self.release_migration_cpu(dst, cpu_dst);
    }

    /// Node `n`, crashed, is repaired: it is off, ready to be powered on.
    pub fn repair_node(&mut self, now: SimTime, n: u32) {
        let from = self.measure_from;
        let node = &mut self.nodes[n as usize];
        debug_assert_eq!(node.state, NodeState::Failed);
        node.set_state(now, NodeState::Off, from);
    }

    /// Starts VM `v`, lost in a crash, again from its disk image on node `n` (on): its memory
    /// is gone, its guest boots (it wants no CPU until [`Cluster::vm_started`]). Refused with
    /// the reason when it cannot.
    pub fn restart_vm(
        &mut self,
        now: SimTime,
        v: u32,
        n: u32,
        host: &mut impl ClusterHost,
    ) -> Result<(), String> {
        let Some(vm) = self.vms.get(v as usize) else {
            return Err("no such VM".into());
        };
        if vm.alive || !vm.failed {
            return Err("the VM has not failed".into());
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
        let vm = &mut self.vms[v as usize];
        vm.alive = true;
        vm.failed = false;
        vm.starting = true;
        vm.node = Some(n);
        vm.want = 0.0;
        vm.granted = (vm.vcpus, speed);
        self.nodes[n as usize].vms.push(v);
        self.vm_sla_changed(now, v);
        self.rebalance(now, n, host);
        Ok(())
    }
}
