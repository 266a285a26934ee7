//! Restart-based reconfiguration: starting a replica (boot its node if needed, deploy, copy
//! data, boot its VM, start its server, join the balancer) and stopping one (at once, losing
//! its requests in progress and its sessions, or after draining its sessions). Each involves the
//! cluster (where the replica runs), the application (its balancer, sessions and requests) and
//! the action log; this module ties the three together.

use super::actions::BootWaiter;
use super::apps::{Host, Server, ServerState};
use super::cluster::{NodeState, VmSpec};
use super::events::Event;
use super::loads::VmLoad;
use super::Simulation;
use crate::engine::time::secs_to_ns;
use crate::engine::SimTime;
use crate::model::PsServer;
use crate::workload::distribution::Sampler;
use reconf_api::{NodeId, ReplicaId, TierRef};

/// What starting replicas needs: the infrastructure's settings and each tier's.
pub(crate) struct Starts {
    /// Present when the scenario models an infrastructure.
    pub settings: Option<ReplicaSettings>,
    /// Per app, per tier.
    pub tiers: Vec<Vec<TierStart>>,
}

/// The infrastructure settings of replica starts and stops.
pub(crate) struct ReplicaSettings {
    pub drain_timeout_ns: u64,
    pub vm_boot: Sampler,
}

impl Starts {
    pub fn new(settings: Option<ReplicaSettings>, tiers: Vec<Vec<TierStart>>) -> Self {
        Starts { settings, tiers }
    }

    fn settings(&self) -> &ReplicaSettings {
        self.settings.as_ref().expect("an infrastructure")
    }

    /// A draw of a VM's boot time, in seconds.
    pub fn vm_boot_s(&self, rng: &mut crate::engine::Rng) -> f64 {
        self.settings().vm_boot.sample_s(rng)
    }
}

impl Simulation {
    pub(super) fn start_replica(&mut self, now: SimTime, a: usize, tier: TierRef, node: NodeId) {
        let (ai, ti, n) = (tier.app.index(), tier.tier as usize, node.0);
        if ai >= self.apps.apps().len() || ti >= self.apps.apps()[ai].tiers.len() {
            return self.refuse(now, a, "no such tier");
        }
        if n as usize >= self.cluster.nodes().len() {
            return self.refuse(now, a, "no such node");
        }
        let state = self.cluster.node(n).state;
        if state == NodeState::ShuttingDown {
            return self.refuse(now, a, "node is shutting down");
        }
        if state == NodeState::Failed {
            return self.refuse(now, a, "node has failed");
        }
        let virtualized = self.cluster.settings().virtualized;
        let t = self.starts.tiers[ai][ti].clone();
        let s = self.apps.servers().len() as u32;
        let name = self.apps.next_replica_name(ai, ti);
        let speed = self.cluster.node(n).speed;
        let host = if virtualized {
            match self.cluster.create_vm(n, t.vm_spec(name.clone()), true) {
                Ok(v) => {
                    debug_assert_eq!(v as usize, self.vm_loads.len());
                    self.vm_loads.push(VmLoad::Replica(s));
                    Host::Vm(v)
                }
                Err(free) => {
                    return self.refuse(
                        now,
                        a,
                        format!(
                            "not enough RAM: {free:.0} MB free, {:.0} MB needed",
                            t.vm_ram_mb
                        ),
                    );
                }
            }
        } else {
            if let Err(other) = self.cluster.occupy(n, s) {
                let other = self.apps.server(other).name.clone();
                return self.refuse(
                    now,
                    a,
                    format!("node already runs replica {other} (bare mode)"),
                );
            }
            Host::Node(n)
        };
        let cores = if virtualized {
            t.cores
        } else {
            self.cluster.node(n).cores
        };
        self.apps.add_server(Server {
            name,
            ps: PsServer::new(cores, speed, now),
            app: ai as u16,
            tier: ti as u16,
            host,
            state: ServerState::Starting,
            pinned_sessions: 0,
            epoch: 0,
        });
        self.log.record_mut(a).replica = Some(ReplicaId(s));
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

    /// The node of a starting replica is on: deploy, copy data, boot the VM, start the server.
    pub(super) fn deploy_replica(&mut self, now: SimTime, s: u32) {
        let server = self.apps.server(s);
        let (ai, ti) = (server.app as usize, server.tier as usize);
        let in_vm = matches!(server.host, Host::Vm(_));
        let n = self
            .node_of_server(s)
            .expect("a started replica has a node");
        let a = self
            .log
            .of_replica(s)
            .expect("a starting replica has its action");
        let mut rng = self.mechanism_rng(a);
        let t = &self.starts.tiers[ai][ti];
        let mut delay_s = t.deploy.sample_s(&mut rng);
        if t.data_mb > 0.0 {
            delay_s += t.data_mb / self.cluster.node(n).nic_mb_per_s;
            let data_mb = t.data_mb;
            self.log.record_mut(a).mb_sent = data_mb;
        }
        let t = &self.starts.tiers[ai][ti];
        if in_vm {
            delay_s += self.starts.settings().vm_boot.sample_s(&mut rng);
        }
        delay_s += t.start.sample_s(&mut rng);
        let epoch = self.apps.server(s).epoch;
        self.q.schedule(
            now.plus_ns(secs_to_ns(delay_s)),
            Event::ReplicaReady { server: s, epoch },
        );
    }

    pub(super) fn on_replica_ready(&mut self, now: SimTime, s: u32, epoch: u32) {
        let server = self.apps.server(s);
        if server.epoch != epoch || server.state != ServerState::Starting {
            return; // it crashed while starting
        }
        let (apps, mut env) = self.split();
        apps.activate(now, s, &mut env);
        if let Some(a) = self.log.of_replica(s) {
            self.log.finish(now, a, reconf_api::Outcome::Done);
        }
        self.faults_replica_active(now, s);
    }

    pub(super) fn stop_replica(&mut self, now: SimTime, a: usize, replica: ReplicaId, drain: bool) {
        let s = replica.0;
        if let Err(reason) = self.apps.check_stoppable(s) {
            return self.refuse(now, a, reason);
        }
        if let Host::Vm(v) = self.apps.server(s).host {
            if self.cluster.vm(v).migrating_to.is_some() {
                return self.refuse(now, a, "its VM is migrating");
            }
        }
        if let Err(reason) = self.apps.leave_balancer(now, s) {
            return self.refuse(now, a, reason);
        }
        self.log.record_mut(a).replica = Some(replica);
        let timeout_ns = self.starts.settings().drain_timeout_ns;
        let (apps, mut env) = self.split();
        if drain {
            apps.drain(now, s, timeout_ns, &mut env);
        } else {
            apps.stop(now, s, &mut env);
        }
        self.log_stopped_replicas(now);
    }
}

/// What starting a replica of a tier needs from the scenario.
#[derive(Clone, Debug)]
pub(crate) struct TierStart {
    pub cores: f64,
    pub vm_ram_mb: f64,
    pub dirty_mb_per_s: f64,
    pub dirty_mb_per_cpu_s: f64,
    pub deploy: Sampler,
    pub start: Sampler,
    pub data_mb: f64,
    /// Its VMs are protected by continuous checkpointing.
    pub checkpointed: bool,
}

impl TierStart {
    /// The VM of a replica named `name`.
    pub fn vm_spec(&self, name: String) -> VmSpec {
        VmSpec {
            name,
            vcpus: self.cores,
            ram_mb: self.vm_ram_mb,
            dirty_mb_per_s: self.dirty_mb_per_s,
            dirty_mb_per_cpu_s: self.dirty_mb_per_cpu_s,
            capacity: None,
            checkpointed: self.checkpointed,
        }
    }

    /// What starting a replica of scenario tier `t` (of app `app`) needs.
    pub fn of(
        sc: &crate::scenario::schema::Scenario,
        app: &str,
        t: &crate::scenario::schema::Tier,
    ) -> Self {
        TierStart {
            cores: t.cores,
            vm_ram_mb: t.vm_ram_mb,
            dirty_mb_per_s: t.dirty_mb_per_s,
            dirty_mb_per_cpu_s: t.dirty_mb_per_cpu_s,
            deploy: Sampler::new(&t.deploy_time),
            start: Sampler::new(&t.start_time),
            data_mb: t.data_mb,
            checkpointed: sc
                .checkpointing
                .as_ref()
                .is_some_and(|c| c.protects(app, &t.name)),
        }
    }
}
