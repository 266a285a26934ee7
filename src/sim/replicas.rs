//! Restart-based reconfiguration: starting a replica (boot its node if needed, deploy, copy
//! data, boot its VM, start its server, join the balancer) and stopping one (at once, losing
//! its requests in progress and its sessions, or after draining its sessions).

use super::cluster::{NodeState, VmSpec};
use super::events::Event;
use super::world::{Host, Server, ServerState};
use super::Simulation;
use crate::engine::time::secs_to_ns;
use crate::engine::SimTime;
use crate::model::PsServer;
use crate::workload::distribution::Sampler;
use reconf_api::{NodeId, Outcome, ReplicaId, TierRef};

impl Simulation {
    pub(super) fn start_replica(&mut self, now: SimTime, a: usize, tier: TierRef, node: NodeId) {
        let (ai, ti, n) = (tier.app.index(), tier.tier as usize, node.0);
        if ai >= self.apps.len() || ti >= self.apps[ai].tiers.len() {
            return self.refuse(now, a, "no such tier");
        }
        if n as usize >= self.cluster.nodes().len() {
            return self.refuse(now, a, "no such node");
        }
        let state = self.cluster.node(n).state;
        if state == NodeState::ShuttingDown {
            return self.refuse(now, a, "node is shutting down");
        }
        let virtualized = self.cluster.settings().virtualized;
        let t = self.tier_config(ai, ti);
        let s = self.servers.len() as u32;
        let name = {
            let app = &mut self.apps[ai];
            let tr = &mut app.tiers[ti];
            let k = tr.created;
            tr.created += 1;
            format!("{}.{}.{k}", app.name, tr.name)
        };
        let speed = self.cluster.node(n).speed;
        let host = if virtualized {
            match self.cluster.create_vm(n, t.vm_spec(name.clone()), true) {
                Ok(v) => {
                    debug_assert_eq!(v as usize, self.vm_server.len());
                    self.vm_server.push(s);
                    Host::Vm(v)
                }
                Err(free) => {
                    self.apps[ai].tiers[ti].created -= 1;
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
                self.apps[ai].tiers[ti].created -= 1;
                let other = self.servers[other as usize].name.clone();
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
        self.servers.push(Server {
            name,
            ps: PsServer::new(cores, speed, now),
            app: ai as u16,
            tier: ti as u16,
            host,
            state: ServerState::Starting,
            pinned_sessions: 0,
            interval_mark: (0.0, 0.0),
            warmup_mark: (0.0, 0.0),
        });
        self.actions[a].replica = Some(ReplicaId(s));
        match state {
            NodeState::On => self.deploy_replica(now, s),
            NodeState::Booting => self.boot_waiters.push((n, s)),
            NodeState::Off => {
                self.boot_waiters.push((n, s));
                self.with_cluster(|c, h| c.boot(now, n, h));
            }
            NodeState::ShuttingDown => unreachable!("refused above"),
        }
    }

    /// The scenario's settings of a tier (a copy of what starting a replica needs).
    fn tier_config(&self, ai: usize, ti: usize) -> TierStart {
        self.tier_starts[ai][ti].clone()
    }

    /// The node of a starting replica is on: deploy, copy data, boot the VM, start the server.
    pub(super) fn deploy_replica(&mut self, now: SimTime, s: u32) {
        let server = &self.servers[s as usize];
        let (ai, ti) = (server.app as usize, server.tier as usize);
        let n = self
            .node_of_server(s)
            .expect("a started replica has a node");
        let t = self.tier_config(ai, ti);
        let a = self
            .action_of_replica(s)
            .expect("a starting replica has its action");
        let mut rng = self.mechanism_rng(a);
        let mut delay_s = t.deploy.sample_s(&mut rng);
        if t.data_mb > 0.0 {
            delay_s += t.data_mb / self.cluster.node(n).nic_mb_per_s;
            self.actions[a].mb_sent = t.data_mb;
        }
        if let Host::Vm(_) = self.servers[s as usize].host {
            delay_s += self
                .replica_settings
                .as_ref()
                .expect("an infrastructure")
                .vm_boot
                .sample_s(&mut rng);
        }
        delay_s += t.start.sample_s(&mut rng);
        self.q.schedule(
            now.plus_ns(secs_to_ns(delay_s)),
            Event::ReplicaReady { server: s },
        );
    }

    fn action_of_replica(&self, s: u32) -> Option<usize> {
        self.actions
            .iter()
            .rposition(|r| r.replica == Some(ReplicaId(s)) && r.outcome == Outcome::InProgress)
    }

    pub(super) fn on_replica_ready(&mut self, now: SimTime, s: u32) {
        let server = &mut self.servers[s as usize];
        server.state = ServerState::Active;
        let (ai, ti) = (server.app as usize, server.tier as usize);
        if let Host::Vm(v) = server.host {
            self.cluster.vm_started(v);
        }
        self.apps[ai].tiers[ti].servers.push(s);
        self.mech.replicas_started += 1;
        self.server_load_changed(now, s);
        if let Some(a) = self.action_of_replica(s) {
            self.finish_action(now, a, Outcome::Done);
        }
    }

    pub(super) fn stop_replica(&mut self, now: SimTime, a: usize, replica: ReplicaId, drain: bool) {
        let s = replica.0;
        let Some(server) = self.servers.get(s as usize) else {
            return self.refuse(now, a, "no such replica");
        };
        match server.state {
            ServerState::Active => {}
            ServerState::Starting => return self.refuse(now, a, "replica is still starting"),
            ServerState::Draining => return self.refuse(now, a, "replica is already draining"),
            ServerState::Stopped => return self.refuse(now, a, "replica is already stopped"),
        }
        if let Host::Vm(v) = server.host {
            if self.cluster.vm(v).migrating_to.is_some() {
                return self.refuse(now, a, "its VM is migrating");
            }
        }
        let (ai, ti) = (server.app as usize, server.tier as usize);
        let tier = &mut self.apps[ai].tiers[ti];
        if tier.servers.len() <= 1 {
            return self.refuse(now, a, "it is the last active replica of its tier");
        }
        tier.servers.retain(|&x| x != s);
        self.actions[a].replica = Some(replica);
        if drain {
            self.servers[s as usize].state = ServerState::Draining;
            let timeout = self
                .replica_settings
                .as_ref()
                .expect("an infrastructure")
                .drain_timeout_ns;
            self.q
                .schedule(now.plus_ns(timeout), Event::DrainTimeout { server: s });
            self.maybe_finish_drain(now, s);
        } else {
            self.finish_stop(now, s);
        }
    }

    /// A draining replica whose sessions have all ended and whose requests are served stops.
    pub(super) fn maybe_finish_drain(&mut self, now: SimTime, s: u32) {
        let server = &self.servers[s as usize];
        if server.state == ServerState::Draining
            && server.pinned_sessions == 0
            && server.ps.jobs() == 0
        {
            self.finish_stop(now, s);
        }
    }

    pub(super) fn on_drain_timeout(&mut self, now: SimTime, s: u32) {
        if self.servers[s as usize].state == ServerState::Draining {
            self.finish_stop(now, s);
        }
    }

    /// Stops replica `s` now: its requests in progress fail, its sessions are lost, its VM is
    /// destroyed (virtualized) or its node freed (bare).
    fn finish_stop(&mut self, now: SimTime, s: u32) {
        self.servers[s as usize].state = ServerState::Stopped;
        let app = self.servers[s as usize].app;
        let tier = self.servers[s as usize].tier as usize;
        // Sessions held by this replica are lost.
        for c in 0..self.clients.len() as u32 {
            let cl = &self.clients[c as usize];
            if cl.app == app && cl.sticky.get(tier) == Some(&s) {
                self.lose_session(now, c);
            }
        }
        // Requests in progress here fail.
        let tokens = self.servers[s as usize].ps.drain_all(now);
        let mut tokens = tokens;
        tokens.sort_unstable(); // deterministic order whatever the heap's layout
        for token in tokens {
            let r = super::requests::RequestRef::from_token(token);
            self.fail_request(now, r);
            self.requests.remove(r);
        }
        match self.servers[s as usize].host {
            Host::Vm(v) => self.with_cluster(|c, h| c.destroy_vm(now, v, h)),
            Host::Node(n) => self.with_cluster(|c, h| c.vacate(now, n, h)),
            Host::Dedicated => {}
        }
        self.mech.replicas_stopped += 1;
        if let Some(a) = self.action_of_replica(s) {
            self.finish_action(now, a, Outcome::Done);
        }
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
        }
    }

    /// What starting a replica of scenario tier `t` needs.
    pub fn of(t: &crate::scenario::schema::Tier) -> Self {
        TierStart {
            cores: t.cores,
            vm_ram_mb: t.vm_ram_mb,
            dirty_mb_per_s: t.dirty_mb_per_s,
            dirty_mb_per_cpu_s: t.dirty_mb_per_cpu_s,
            deploy: Sampler::new(&t.deploy_time),
            start: Sampler::new(&t.start_time),
            data_mb: t.data_mb,
        }
    }
}
