//! A replica's life cycle as its application sees it: created (starting), joining its tier's
//! balancer, leaving it, draining its sessions, stopped (its requests in progress fail and the
//! sessions it held are lost). Where it runs — a node, a VM — is the cluster's part; the
//! simulation's `replicas` module ties the two together.

use super::entities::{Host, Server, ServerState};
use super::slab::RequestRef;
use super::{Apps, Env, Loads};
use crate::engine::SimTime;
use crate::sim::events::Event;

impl Apps {
    /// The name the next replica of tier `ti` of app `ai` will get (`app.tier.k`).
    pub fn next_replica_name(&self, ai: usize, ti: usize) -> String {
        let app = &self.apps[ai];
        let tier = &app.tiers[ti];
        format!("{}.{}.{}", app.name, tier.name, tier.created)
    }

    /// Adds a new server (a replica being started, not yet behind its balancer).
    pub fn add_server(&mut self, server: Server) -> u32 {
        let tier = &mut self.apps[server.app as usize].tiers[server.tier as usize];
        tier.created += 1;
        self.servers.push(server);
        (self.servers.len() - 1) as u32
    }

    /// Starting replica `s` is ready: it joins its tier's balancer.
    pub fn activate(&mut self, now: SimTime, s: u32, env: &mut Env<'_>) {
        let server = &mut self.servers[s as usize];
        server.state = ServerState::Active;
        let (ai, ti) = (server.app as usize, server.tier as usize);
        if let Host::Vm(v) = server.host {
            env.cluster.vm_started(v);
        }
        self.apps[ai].tiers[ti].servers.push(s);
        self.balancer_changed(now, ai, ti);
        self.replicas.started += 1;
        self.load_changed(now, s, env);
    }

    /// Whether replica `s` may be stopped, as far as its state goes.
    pub fn check_stoppable(&self, s: u32) -> Result<(), &'static str> {
        let Some(server) = self.servers.get(s as usize) else {
            return Err("no such replica");
        };
        match server.state {
            ServerState::Active => Ok(()),
            ServerState::Starting => Err("replica is still starting"),
            ServerState::Draining => Err("replica is already draining"),
            ServerState::Stopped => Err("replica is already stopped"),
            ServerState::Failed => Err("replica has failed"),
        }
    }

    /// Takes active replica `s` out of its tier's balancer (the first step of a stop), unless
    /// it is the last one.
    pub fn leave_balancer(&mut self, now: SimTime, s: u32) -> Result<(), &'static str> {
        let server = &self.servers[s as usize];
        let (ai, ti) = (server.app as usize, server.tier as usize);
        let tier = &mut self.apps[ai].tiers[ti];
        if tier.servers.len() <= 1 {
            return Err("it is the last active replica of its tier");
        }
        tier.servers.retain(|&x| x != s);
        self.balancer_changed(now, ai, ti);
        Ok(())
    }

    /// Replica `s`, out of its balancer, serves its pinned sessions until they end or
    /// `timeout_ns` passes, then stops.
    pub fn drain(&mut self, now: SimTime, s: u32, timeout_ns: u64, env: &mut Env<'_>) {
        self.servers[s as usize].state = ServerState::Draining;
        env.q
            .schedule(now.plus_ns(timeout_ns), Event::DrainTimeout { server: s });
        self.maybe_finish_drain(now, s, env);
    }

    /// A draining replica whose sessions have all ended and whose requests are served stops.
    pub(super) fn maybe_finish_drain(&mut self, now: SimTime, s: u32, env: &mut Env<'_>) {
        let server = &self.servers[s as usize];
        if server.state == ServerState::Draining
            && server.pinned_sessions == 0
            && server.ps.jobs() == 0
        {
            self.stop(now, s, env);
        }
    }

    pub fn on_drain_timeout(&mut self, now: SimTime, s: u32, env: &mut Env<'_>) {
        if self.servers[s as usize].state == ServerState::Draining {
            self.stop(now, s, env);
        }
    }

    /// Stops replica `s` now: its requests in progress fail, its sessions are lost, its VM is
    /// destroyed (virtualized) or its node freed (bare). Reported by [`Apps::take_stopped`].
    pub fn stop(&mut self, now: SimTime, s: u32, env: &mut Env<'_>) {
        self.servers[s as usize].state = ServerState::Stopped;
        let app = self.servers[s as usize].app;
        let tier = self.servers[s as usize].tier as usize;
        // Sessions held by this replica are lost.
        for c in 0..self.clients.len() as u32 {
            let cl = &self.clients[c as usize];
            if cl.app == app && cl.sticky.get(tier) == Some(&s) {
                self.lose_session(now, c, env);
            }
        }
        // Requests in progress here fail.
        let mut tokens = self.servers[s as usize].ps.drain_all(now);
        tokens.sort_unstable(); // deterministic order whatever the heap's layout
        for token in tokens {
            let r = RequestRef::from_token(token);
            self.fail_request(now, r, env);
            self.requests.remove(r);
        }
        let host = self.servers[s as usize].host;
        let mut h = Loads {
            q: env.q,
            servers: &mut self.servers,
            vm_loads: env.vm_loads,
        };
        match host {
            Host::Vm(v) => env.cluster.destroy_vm(now, v, &mut h),
            Host::Node(n) => env.cluster.vacate(now, n, &mut h),
            Host::Dedicated => {}
        }
        self.replicas.stopped += 1;
        self.stopped.push(s);
    }
}
