//! A crash's consequences, at once: on a crashed node every VM and replica is lost (requests in
//! progress fail, sessions are lost, VMs' memory is gone), migrations through it end, actions
//! waiting for it fail; a crashed server process loses its requests and sessions but not its
//! host. Repairs bring a node back off, a process back behind its balancer.

use super::{FaultEvent, FaultRecord};
use crate::engine::time::secs_to_ns;
use crate::engine::SimTime;
use crate::sim::actions::BootWaiter;
use crate::sim::apps::{Host, ServerState};
use crate::sim::events::Event;
use crate::sim::loads::VmLoad;
use crate::sim::Simulation;
use reconf_api::{Action, Failed, NodeId, Outcome, ReplicaId, VmId};

impl Simulation {
    pub(crate) fn on_fault_event(&mut self, now: SimTime, ev: FaultEvent) {
        match ev {
            FaultEvent::NodeFails { node, gen } => {
                let rt = &self.faults.nodes[node as usize];
                if rt.gen != gen {
                    return;
                }
                let class = rt.class.expect("a node with a class process");
                if self.crash_node(now, node, "random".into()).is_some() {
                    self.faults.nodes[node as usize].crew_held = false;
                    let p = &mut self.faults.node_classes[class];
                    if p.repair.is_some() {
                        p.queue.push_back(node);
                        self.start_node_repairs(now, class);
                    }
                } else {
                    // Off, or down already: nothing to break; the next crash counts from now.
                    self.schedule_node_failure(now, node);
                }
            }
            FaultEvent::NodeRepaired { node, gen } => {
                if self.faults.nodes[node as usize].gen == gen {
                    self.repair_node(now, node);
                }
            }
            FaultEvent::GroupFails { group, gen } => {
                let g = &self.faults.groups[group as usize];
                if g.gen == gen {
                    self.crash_group(now, group, None);
                }
            }
            FaultEvent::GroupRepaired { group, gen } => {
                let g = &mut self.faults.groups[group as usize];
                if g.gen != gen {
                    return;
                }
                for (n, ngen) in std::mem::take(&mut g.crashed) {
                    if self.faults.nodes[n as usize].gen == ngen {
                        self.repair_node(now, n);
                    }
                }
                self.schedule_group_failure(now, group);
            }
            FaultEvent::ReplicaFails { server, gen } => {
                if self.faults.server(server).gen != gen {
                    return;
                }
                if self.crash_server(now, server, "random".into()) {
                    self.queue_server_repair(now, server);
                }
            }
            FaultEvent::ReplicaRepaired { server, gen } => {
                if self.faults.server(server).gen != gen {
                    return;
                }
                self.repair_server_in_place(now, server);
            }
            FaultEvent::Scripted { index } => self.on_scripted_fault(now, index as usize),
        }
    }

    fn on_scripted_fault(&mut self, now: SimTime, index: usize) {
        let sf = self.faults.scripted[index].clone();
        let repair_ns = sf.repair_after_s.map(secs_to_ns);
        if let Some(name) = &sf.node {
            let n = self.cluster.node_by_name(name).expect("validated node");
            if self.crash_node(now, n, "scripted".into()).is_some() {
                if let Some(d) = repair_ns {
                    let gen = self.faults.nodes[n as usize].gen;
                    self.schedule_fault(now.plus_ns(d), FaultEvent::NodeRepaired { node: n, gen });
                }
            }
        } else if let Some(name) = &sf.group {
            let g = self
                .faults
                .groups
                .iter()
                .position(|g| &g.name == name)
                .expect("validated fault group") as u32;
            self.crash_group(now, g, Some(repair_ns));
        } else if let Some(name) = &sf.replica {
            let Some(s) = self.apps.server_by_name(name) else {
                return; // never started: nothing to crash
            };
            if self.crash_server(now, s, "scripted".into()) {
                if let Some(d) = repair_ns {
                    let gen = self.faults.server(s).gen;
                    self.schedule_fault(
                        now.plus_ns(d),
                        FaultEvent::ReplicaRepaired { server: s, gen },
                    );
                }
            }
        }
    }

    fn schedule_fault(&mut self, at: SimTime, ev: FaultEvent) {
        if at < self.horizon {
            self.q.schedule(at, Event::Fault(ev.pack()));
        }
    }

    /// Fault group `g` crashes: every node of it that is up. `scripted`: `Some(repair)` for a
    /// scripted crash (repaired after that long, or never), `None` for the group's own process.
    fn crash_group(&mut self, now: SimTime, g: u32, scripted: Option<Option<u64>>) {
        let name = self.faults.groups[g as usize].name.clone();
        let nodes = self.faults.groups[g as usize].nodes.clone();
        let mut crashed = Vec::new();
        for n in nodes {
            if self.crash_node(now, n, name.clone()).is_some() {
                crashed.push((n, self.faults.nodes[n as usize].gen));
            }
        }
        let group = &mut self.faults.groups[g as usize];
        group.gen = group.gen.wrapping_add(1);
        group.crashed = crashed;
        let gen = group.gen;
        let repair_ns = match scripted {
            Some(r) => r,
            None => {
                let group = &mut self.faults.groups[g as usize];
                group.repair.map(|r| secs_to_ns(r.sample_s(&mut group.rng)))
            }
        };
        match repair_ns {
            Some(d) => {
                self.schedule_fault(now.plus_ns(d), FaultEvent::GroupRepaired { group: g, gen })
            }
            // Without a repair its nodes stay down; a group whose crash found every node down
            // already fails again later.
            None if self.faults.groups[g as usize].crashed.is_empty() && scripted.is_none() => {
                self.schedule_group_failure(now, g)
            }
            None => {}
        }
    }

    fn schedule_group_failure(&mut self, now: SimTime, g: u32) {
        let group = &mut self.faults.groups[g as usize];
        if let Some(ttf) = group.ttf {
            let t = secs_to_ns(ttf.sample_s(&mut group.rng));
            let gen = group.gen;
            self.schedule_fault(now.plus_ns(t), FaultEvent::GroupFails { group: g, gen });
        }
    }

    /// Node `n`'s next crash of its class, from now.
    fn schedule_node_failure(&mut self, now: SimTime, n: u32) {
        let rt = &mut self.faults.nodes[n as usize];
        let Some(c) = rt.class else { return };
        let t = secs_to_ns(self.faults.node_classes[c].ttf.sample_s(&mut rt.rng));
        let gen = rt.gen;
        self.schedule_fault(now.plus_ns(t), FaultEvent::NodeFails { node: n, gen });
    }

    /// Starts the repairs of class `c`'s crashed nodes that a free crew can take.
    fn start_node_repairs(&mut self, now: SimTime, c: usize) {
        while self.faults.node_classes[c].crew_free() {
            let Some(n) = self.faults.node_classes[c].queue.pop_front() else {
                return;
            };
            let p = &mut self.faults.node_classes[c];
            p.busy += 1;
            let repair = p.repair.expect("queued for a repair");
            let rt = &mut self.faults.nodes[n as usize];
            rt.crew_held = true;
            let d = secs_to_ns(repair.sample_s(&mut rt.rng));
            let gen = rt.gen;
            self.schedule_fault(now.plus_ns(d), FaultEvent::NodeRepaired { node: n, gen });
        }
    }

    /// Node `n` is repaired: it is off, and its class's next crash counts from now.
    fn repair_node(&mut self, now: SimTime, n: u32) {
        if self.cluster.node(n).state != crate::sim::cluster::NodeState::Failed {
            return;
        }
        self.cluster.repair_node(now, n);
        self.faults.nodes_repaired += 1;
        let rt = &mut self.faults.nodes[n as usize];
        if let Some(r) = rt.record.take() {
            self.faults.records[r].repaired = Some(now);
        }
        if std::mem::take(&mut rt.crew_held) {
            let c = rt.class.expect("a crew of its class");
            self.faults.node_classes[c].busy -= 1;
            self.start_node_repairs(now, c);
        }
        self.schedule_node_failure(now, n);
    }

    /// Node `n` crashes now, if it is up; returns the index of the fault's record.
    pub(crate) fn crash_node(&mut self, now: SimTime, n: u32, cause: String) -> Option<usize> {
        if !self.cluster.node(n).state.is_up() {
            return None;
        }
        let node = self.cluster.node(n);
        let mut record = FaultRecord::new(now, "node", node.name.clone(), cause);
        // What it ran: its bare replica, its VMs' replicas.
        let mut servers: Vec<u32> = node.bare.into_iter().collect();
        servers.extend(
            node.vms
                .iter()
                .filter_map(|&v| match self.vm_loads[v as usize] {
                    VmLoad::Replica(s) => Some(s),
                    VmLoad::Trace => None,
                }),
        );
        // What waited for it to boot.
        for w in self.boot_waits.take(n) {
            match w {
                BootWaiter::Replica(_) => {} // its VM is on the node: lost with it below
                BootWaiter::Migrate { action, .. } => self.log.finish(
                    now,
                    action,
                    Outcome::Failed("the destination node crashed while booting".into()),
                ),
                BootWaiter::RestartVm { action, .. } => self.log.finish(
                    now,
                    action,
                    Outcome::Failed("the node crashed while booting".into()),
                ),
                BootWaiter::Place { action, .. } => self.log.finish(
                    now,
                    action,
                    Outcome::Failed("the node crashed while booting".into()),
                ),
            }
        }
        let crash = self.with_cluster(|c, h| c.fail_node(now, n, h));
        record.vms_lost = crash.vms_lost.len() as u64;
        record.failed.push(Failed::Node(NodeId(n)));
        record
            .failed
            .extend(crash.vms_lost.iter().map(|&v| Failed::Vm(VmId(v))));
        // A trace-driven VM restarting here is lost again: its restart fails.
        for &v in &crash.vms_lost {
            if matches!(self.vm_loads[v as usize], VmLoad::Trace) {
                if let Some(a) = self.log.restart_of_vm(v, None) {
                    self.log
                        .finish(now, a, Outcome::Failed("its node crashed".into()));
                }
            }
        }
        for (action, lost, v) in crash.migrations_ended {
            let reason = if crash.recovered.iter().any(|r| r.vm == v) {
                "a node crashed: the VM resumes on its checkpoint backup"
            } else if lost {
                "a node crashed: the VM is lost"
            } else {
                "the destination node crashed: the VM stays on its source"
            };
            self.log.finish(now, action, Outcome::Failed(reason.into()));
        }
        // The servers of VMs that resume on their backups are not lost: what they did since
        // their checkpoint is.
        for rec in &crash.recovered {
            let loss_ms = crate::engine::time::ns_to_secs(now.since(rec.checkpoint)) * 1000.0;
            record.vms_recovered += 1;
            record.checkpoint_loss_ms = Some(record.checkpoint_loss_ms.unwrap_or(0.0).max(loss_ms));
            if let VmLoad::Replica(s) = self.vm_loads[rec.vm as usize] {
                servers.retain(|&x| x != s);
                let (apps, mut env) = self.split();
                record.requests_reexecuted += apps.rewind_server(now, s, rec.checkpoint, &mut env);
            }
        }
        let r = self.faults.records.len();
        for s in servers {
            self.server_lost(now, s, true, r, &mut record);
        }
        // Its own power actions end with it.
        let records = self.log.records();
        let in_progress: Vec<usize> = self
            .log
            .in_progress()
            .filter(|&a| {
                matches!(records[a].action, Action::PowerOn { node } | Action::PowerOff { node }
                        if node.0 == n)
            })
            .collect();
        for a in in_progress {
            self.log
                .finish(now, a, Outcome::Failed("the node crashed".into()));
        }
        self.faults.records.push(record);
        let rt = &mut self.faults.nodes[n as usize];
        rt.gen = rt.gen.wrapping_add(1);
        rt.record = Some(r);
        Some(r)
    }

    /// Server `s` goes down with fault record `r`: `host_lost` if its node crashed.
    fn server_lost(
        &mut self,
        now: SimTime,
        s: u32,
        host_lost: bool,
        r: usize,
        record: &mut FaultRecord,
    ) {
        let state = self.apps.server(s).state;
        if state == ServerState::Stopped {
            return;
        }
        if state == ServerState::Failed {
            // Its process had crashed already (its outage counts from then): its host is gone
            // now, and with it the repair in place.
            self.apps.lose_host(now, s);
            self.faults_server_restarting(now, s);
            return;
        }
        let name = self.apps.server(s).name.clone();
        let (apps, mut env) = self.split();
        let loss = apps.fail_server(now, s, host_lost, &mut env);
        record.requests_failed += loss.requests_failed;
        record.sessions_lost += loss.sessions_lost;
        if let Some(a) = self.log.of_replica(s) {
            let reason = if host_lost {
                "its node crashed"
            } else {
                "its server crashed"
            };
            self.log.finish(now, a, Outcome::Failed(reason.into()));
        }
        record.replicas_lost.push(name);
        record.failed.push(Failed::Replica(ReplicaId(s)));
        record.replicas_down += 1;
        let rt = self.faults.server(s);
        rt.gen = rt.gen.wrapping_add(1); // its pending crash is moot
        rt.lost = Some((now, r));
    }

    /// Server `s`'s process crashes now, if it runs; true if it did.
    fn crash_server(&mut self, now: SimTime, s: u32, cause: String) -> bool {
        if !matches!(
            self.apps.server(s).state,
            ServerState::Active | ServerState::Draining
        ) {
            return false;
        }
        let name = self.apps.server(s).name.clone();
        let mut record = FaultRecord::new(now, "replica", name, cause);
        let r = self.faults.records.len();
        self.server_lost(now, s, false, r, &mut record);
        self.faults.records.push(record);
        true
    }

    /// Crashed server `s` waits for a crew of its tier to restart it in place (if the tier
    /// has a repair).
    fn queue_server_repair(&mut self, now: SimTime, s: u32) {
        let Some(c) = self.tier_class_of(s) else {
            return;
        };
        if self.faults.tier_classes[c].repair.is_none() {
            return;
        }
        self.faults.tier_classes[c].queue.push_back(s);
        self.faults.server(s).queued = true;
        self.start_server_repairs(now, c);
    }

    fn tier_class_of(&self, s: u32) -> Option<usize> {
        let server = self.apps.server(s);
        self.faults
            .tiers
            .get(server.app as usize)
            .and_then(|t| t[server.tier as usize])
    }

    fn start_server_repairs(&mut self, now: SimTime, c: usize) {
        while self.faults.tier_classes[c].crew_free() {
            let Some(s) = self.faults.tier_classes[c].queue.pop_front() else {
                return;
            };
            if !std::mem::take(&mut self.faults.server(s).queued) {
                continue; // it left the queue (its node crashed, a policy restarted it)
            }
            let p = &mut self.faults.tier_classes[c];
            p.busy += 1;
            let repair = p.repair.expect("queued for a repair");
            let rt = self.faults.server(s);
            rt.crew_held = true;
            let rng = rt.rng.as_mut().expect("a server with a fault process");
            let d = secs_to_ns(repair.sample_s(rng));
            let gen = rt.gen;
            self.schedule_fault(
                now.plus_ns(d),
                FaultEvent::ReplicaRepaired { server: s, gen },
            );
        }
    }

    /// A crew of server `s`'s tier is free again (`freed`): the next repair starts.
    fn release_server_crew(&mut self, now: SimTime, s: u32, freed: bool) {
        if !freed {
            return;
        }
        let c = self.tier_class_of(s).expect("a crew of its tier");
        self.faults.tier_classes[c].busy -= 1;
        self.start_server_repairs(now, c);
    }

    /// Crashed server `s` restarts in place, if its host is still there.
    fn repair_server_in_place(&mut self, now: SimTime, s: u32) {
        let freed = std::mem::take(&mut self.faults.server(s).crew_held);
        let server = self.apps.server(s);
        let host_alive = match server.host {
            Host::Dedicated => true,
            Host::Node(n) => self.cluster.node(n).bare == Some(s),
            Host::Vm(v) => self.cluster.vm(v).alive,
        };
        if server.state == ServerState::Failed && host_alive {
            let (apps, mut env) = self.split();
            apps.repair_in_place(now, s, &mut env);
            if let Some((_, r)) = self.faults.server(s).lost {
                self.faults.records[r].repaired = Some(now);
            }
            self.faults_replica_active(now, s);
        }
        self.release_server_crew(now, s, freed);
    }

    /// Server `s` is behind its balancer now (it started, or came back): an outage it was in
    /// ends, and its process's next crash is drawn.
    pub(crate) fn faults_replica_active(&mut self, now: SimTime, s: u32) {
        if !self.faults.enabled {
            return;
        }
        if let Some((since, r)) = self.faults.server(s).lost.take() {
            self.faults.repairs += 1;
            self.faults.repair_ns += now.since(since);
            let rec = &mut self.faults.records[r];
            rec.replicas_down -= 1;
            if rec.replicas_down == 0 {
                rec.restored = Some(now);
            }
        }
        let Some(c) = self.tier_class_of(s) else {
            return;
        };
        let seed = self.faults.seed;
        let (ai, ti) = {
            let server = self.apps.server(s);
            (u64::from(server.app), u64::from(server.tier))
        };
        let k = replica_number(&self.apps.server(s).name);
        let ttf = self.faults.tier_classes[c].ttf;
        let rt = self.faults.server(s);
        let rng = rt
            .rng
            .get_or_insert_with(|| crate::engine::rng::stream(seed, "replica-faults", ai, ti, k));
        let t = secs_to_ns(ttf.sample_s(rng));
        let gen = rt.gen;
        self.schedule_fault(now.plus_ns(t), FaultEvent::ReplicaFails { server: s, gen });
    }

    /// The fault processes start: first crashes of nodes, groups and the initial replicas.
    pub(crate) fn start_faults(&mut self) {
        for (at, ev) in self.faults.first_events() {
            self.schedule_fault(at, ev);
        }
        if self.faults.tier_classes.is_empty() {
            return;
        }
        for s in 0..self.apps.servers().len() as u32 {
            if self.apps.server(s).state == ServerState::Active {
                self.faults_replica_active(SimTime::ZERO, s);
            }
        }
    }

    /// A policy restarted crashed server `s`: it waits no more for a repair in place.
    pub(crate) fn faults_server_restarting(&mut self, now: SimTime, s: u32) {
        if !self.faults.enabled {
            return;
        }
        let rt = self.faults.server(s);
        rt.gen = rt.gen.wrapping_add(1);
        rt.queued = false;
        let freed = std::mem::take(&mut rt.crew_held);
        self.release_server_crew(now, s, freed);
    }
}

/// The number `k` of a replica named `app.tier.k`.
fn replica_number(name: &str) -> u64 {
    name.rsplit('.')
        .next()
        .and_then(|k| k.parse().ok())
        .unwrap_or(0)
}
