//! Repair by reconfiguration: restarting a failed replica on a node as a fresh server (deploy,
//! data copy, VM boot, start: what a restart-based manager does), or restarting a VM lost in a
//! node crash from its disk image (VM boot and server start only: what a VM-based manager
//! does). Either way the replica keeps its id and name and comes back without its sessions. A
//! trace-driven VM (no replica) restarts from its image the same way: once its guest has booted
//! its trace drives it again, from the trace's current reading.

use super::actions::BootWaiter;
use super::apps::{Host, ServerState};
use super::cluster::NodeState;
use super::events::Event;
use super::loads::VmLoad;
use super::Simulation;
use crate::engine::time::secs_to_ns;
use crate::engine::SimTime;
use reconf_api::ReplicaId;

impl Simulation {
    /// Node `n`'s state, or why nothing can be started on it.
    fn restart_target(&self, n: u32) -> Result<NodeState, String> {
        let Some(node) = self.cluster.nodes().get(n as usize) else {
            return Err("no such node".into());
        };
        match node.state {
            NodeState::ShuttingDown | NodeState::Failed => {
                Err(format!("node is {}", node.state.label()))
            }
            s => Ok(s),
        }
    }

    pub(super) fn restart_replica(&mut self, now: SimTime, a: usize, replica: ReplicaId, n: u32) {
        let s = replica.0;
        if self.apps.servers().get(s as usize).map(|x| x.state) != Some(ServerState::Failed) {
            return self.refuse(now, a, "the replica has not failed");
        }
        let state = match self.restart_target(n) {
            Ok(state) => state,
            Err(reason) => return self.refuse(now, a, reason),
        };
        let server = self.apps.server(s);
        let (ai, ti) = (server.app as usize, server.tier as usize);
        let old = server.host;
        let t = self.starts.tiers[ai][ti].clone();
        let virtualized = self.cluster.settings().virtualized;
        // What the old host still holds (a process crash leaves its VM or node) is freed.
        let old_alive = match old {
            Host::Vm(v) => self.cluster.vm(v).alive,
            Host::Node(m) => self.cluster.node(m).bare == Some(s),
            Host::Dedicated => false,
        };
        if virtualized {
            let mut free = self.cluster.free_ram_mb(n);
            if let Host::Vm(v) = old {
                if old_alive && self.cluster.vm(v).node == Some(n) {
                    free += self.cluster.vm(v).ram_mb;
                }
            }
            if free + 1e-9 < t.vm_ram_mb {
                return self.refuse(
                    now,
                    a,
                    format!(
                        "not enough RAM: {free:.0} MB free, {:.0} MB needed",
                        t.vm_ram_mb
                    ),
                );
            }
        } else if let Some(other) = self.cluster.node(n).bare.filter(|&o| o != s) {
            let other = self.apps.server(other).name.clone();
            return self.refuse(
                now,
                a,
                format!("node already runs replica {other} (bare mode)"),
            );
        }
        if old_alive {
            match old {
                Host::Vm(v) => self.with_cluster(|c, h| c.destroy_vm(now, v, h)),
                Host::Node(m) => self.with_cluster(|c, h| c.vacate(now, m, h)),
                Host::Dedicated => {}
            }
        }
        let name = self.apps.server(s).name.clone();
        let speed = self.cluster.node(n).speed;
        let (host, cores) = if virtualized {
            let v = self
                .cluster
                .create_vm(n, t.vm_spec(name), true)
                .expect("checked: the VM fits");
            debug_assert_eq!(v as usize, self.vm_loads.len());
            self.vm_loads.push(VmLoad::Replica(s));
            (Host::Vm(v), t.cores)
        } else {
            self.cluster
                .occupy(n, s)
                .expect("checked: the node is free");
            (Host::Node(n), self.cluster.node(n).cores)
        };
        self.apps.restart_on(now, s, host, cores, speed);
        self.faults_server_restarting(now, s);
        self.log.record_mut(a).replica = Some(replica);
        match state {
            NodeState::On => self.deploy_replica(now, s),
            NodeState::Booting => self.boot_waits.push(n, BootWaiter::Replica(s)),
            NodeState::Off => {
                self.boot_waits.push(n, BootWaiter::Replica(s));
                self.with_cluster(|c, h| c.boot(now, n, h));
            }
            NodeState::ShuttingDown | NodeState::Failed => unreachable!("refused above"),
        }
    }

    pub(super) fn restart_vm(&mut self, now: SimTime, a: usize, v: u32, n: u32) {
        let Some(vm) = self.cluster.vms().get(v as usize) else {
            return self.refuse(now, a, "no such VM");
        };
        if vm.alive || !vm.failed {
            return self.refuse(now, a, "the VM was not lost in a crash");
        }
        let replica = match self.vm_loads[v as usize] {
            VmLoad::Replica(s) => Some(s),
            VmLoad::Trace => None,
        };
        match replica {
            Some(s) => {
                if self.apps.server(s).state != ServerState::Failed
                    || self.log.of_replica(s).is_some()
                {
                    return self.refuse(now, a, "its replica is being restarted already");
                }
            }
            None => {
                if self.log.restart_of_vm(v, Some(a)).is_some() {
                    return self.refuse(now, a, "the VM is being restarted already");
                }
            }
        }
        let state = match self.restart_target(n) {
            Ok(state) => state,
            Err(reason) => return self.refuse(now, a, reason),
        };
        let ram = vm.ram_mb;
        let free = self.cluster.free_ram_mb(n);
        if free + 1e-9 < ram {
            return self.refuse(
                now,
                a,
                format!("node has {free:.0} MB of RAM free, the VM needs {ram:.0} MB"),
            );
        }
        if let Some(s) = replica {
            self.log.record_mut(a).replica = Some(ReplicaId(s));
            self.faults_server_restarting(now, s);
        }
        match state {
            NodeState::On => self.boot_restarted_vm(now, a, v, n),
            NodeState::Booting | NodeState::Off => {
                self.cluster.reserve_incoming(n, ram);
                if state == NodeState::Off {
                    self.with_cluster(|c, h| c.boot(now, n, h));
                }
                self.boot_waits.push(
                    n,
                    BootWaiter::RestartVm {
                        action: a,
                        vm: v,
                        ram_mb: ram,
                    },
                );
            }
            NodeState::ShuttingDown | NodeState::Failed => unreachable!("refused above"),
        }
    }

    /// VM `v` (lost, its replica failed) restarts from its image on node `n`, which is on: its
    /// guest boots, then its server starts.
    pub(super) fn boot_restarted_vm(&mut self, now: SimTime, a: usize, v: u32, n: u32) {
        if let Err(reason) = self.with_cluster(|c, h| c.restart_vm(now, v, n, h)) {
            return self.log.finish(now, a, reconf_api::Outcome::Failed(reason));
        }
        let VmLoad::Replica(s) = self.vm_loads[v as usize] else {
            // A trace-driven VM: its guest boots, then its trace drives it again.
            let mut rng = self.mechanism_rng(a);
            let delay_s = self.starts.vm_boot_s(&mut rng);
            self.q.schedule(
                now.plus_ns(secs_to_ns(delay_s)),
                Event::TraceVmReady {
                    vm: v,
                    action: a as u32,
                },
            );
            return;
        };
        let server = self.apps.server(s);
        let (ai, ti) = (server.app as usize, server.tier as usize);
        let cores = self.starts.tiers[ai][ti].cores;
        let speed = self.cluster.node(n).speed;
        self.apps.restart_on(now, s, Host::Vm(v), cores, speed);
        let mut rng = self.mechanism_rng(a);
        let delay_s =
            self.starts.vm_boot_s(&mut rng) + self.starts.tiers[ai][ti].start.sample_s(&mut rng);
        let epoch = self.apps.server(s).epoch;
        self.q.schedule(
            now.plus_ns(secs_to_ns(delay_s)),
            Event::ReplicaReady { server: s, epoch },
        );
    }

    /// Trace-driven VM `v`, restarted by action `a`, has booted (unless its node crashed since,
    /// which failed the action): it asks for its trace's current demand again.
    pub(super) fn on_trace_vm_ready(&mut self, now: SimTime, v: u32, a: usize) {
        if self.log.records()[a].outcome != reconf_api::Outcome::InProgress {
            return;
        }
        self.cluster.vm_started(v);
        let demand = self.traces.demand_of(v).unwrap_or(0.0);
        self.with_cluster(|c, h| c.set_vm_want(now, v, demand, h));
        self.log.finish(now, a, reconf_api::Outcome::Done);
    }
}
