//! Crashed servers as their application sees them: a server that crashes leaves its balancer at
//! once (even the last one of its tier), its requests in progress fail and the sessions it held
//! are lost; a request reaching a tier with no replica left fails at once. A crashed server
//! comes back by a repair in place (its host survived) or by a restart on a new host.

use super::entities::{Host, ServerState};
use super::slab::RequestRef;
use super::{Apps, Env, Loads};
use crate::engine::SimTime;

/// What a crash cost a server's users.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CrashLoss {
    pub requests_failed: u64,
    pub sessions_lost: u64,
}

impl Apps {
    /// Server `s` crashes now. `host_lost`: its node crashed (its VM, or its node, is gone
    /// already); otherwise only its process did, and its VM or node stays, idle.
    pub fn fail_server(
        &mut self,
        now: SimTime,
        s: u32,
        host_lost: bool,
        env: &mut Env<'_>,
    ) -> CrashLoss {
        let server = &self.servers[s as usize];
        let (app, tier) = (server.app, server.tier as usize);
        let was = server.state;
        self.servers[s as usize].state = ServerState::Failed;
        self.servers[s as usize].epoch = self.servers[s as usize].epoch.wrapping_add(1);
        if was == ServerState::Active {
            let t = &mut self.apps[app as usize].tiers[tier];
            t.servers.retain(|&x| x != s);
            self.balancer_changed(now, app as usize, tier);
        }
        let mut loss = CrashLoss::default();
        for c in 0..self.clients.len() as u32 {
            let cl = &self.clients[c as usize];
            if cl.app == app && cl.sticky.get(tier) == Some(&s) && !cl.session_lost {
                self.lose_session(now, c, env);
                self.count_session_lost_to_failure(c);
                loss.sessions_lost += 1;
            }
        }
        let mut tokens = self.servers[s as usize].ps.drain_all(now);
        tokens.sort_unstable(); // deterministic order whatever the heap's layout
        for token in tokens {
            let r = RequestRef::from_token(token);
            if self.fail_request_to_fault(now, r, env) {
                loss.requests_failed += 1;
            }
            self.requests.remove(r);
        }
        let host = self.servers[s as usize].host;
        if host_lost {
            // Nothing runs it any more.
            let speed = self.servers[s as usize].ps.speed();
            self.servers[s as usize].ps.set_capacity(now, 0.0, speed);
        } else {
            // Its VM or node stays, running nothing.
            let mut h = Loads {
                q: env.q,
                servers: &mut self.servers,
                vm_loads: env.vm_loads,
            };
            match host {
                Host::Node(n) => env.cluster.set_bare_want(now, n, 0.0, &mut h),
                Host::Vm(v) => env.cluster.set_vm_want(now, v, 0.0, &mut h),
                Host::Dedicated => {}
            }
        }
        self.replicas.failed += 1;
        loss
    }

    /// Crashed server `s` loses its host too (its node crashed since): nothing runs it.
    pub fn lose_host(&mut self, now: SimTime, s: u32) {
        let server = &mut self.servers[s as usize];
        let speed = server.ps.speed();
        server.ps.set_capacity(now, 0.0, speed);
    }

    /// Crashed server `s`, whose host survived, is repaired in place: it is back behind its
    /// balancer now, with no sessions.
    pub fn repair_in_place(&mut self, now: SimTime, s: u32, env: &mut Env<'_>) {
        debug_assert_eq!(self.servers[s as usize].state, ServerState::Failed);
        let server = &mut self.servers[s as usize];
        server.state = ServerState::Active;
        let (ai, ti) = (server.app as usize, server.tier as usize);
        self.apps[ai].tiers[ti].servers.push(s);
        self.balancer_changed(now, ai, ti);
        self.load_changed(now, s, env);
    }

    /// Crashed server `s` starts again on a new host (`host`, with `cores` of `speed`): it is
    /// starting, not yet behind its balancer.
    pub fn restart_on(&mut self, now: SimTime, s: u32, host: Host, cores: f64, speed: f64) {
        let server = &mut self.servers[s as usize];
        debug_assert_eq!(server.state, ServerState::Failed);
        server.state = ServerState::Starting;
        server.host = host;
        server.pinned_sessions = 0;
        server.ps.set_capacity(now, cores, speed);
    }

    /// The replicas behind tier `ti` of app `ai` changed: its availability (and its app's)
    /// follows.
    pub(super) fn balancer_changed(&mut self, now: SimTime, ai: usize, ti: usize) {
        let from = self.settings.warmup;
        let app = &mut self.apps[ai];
        let up = !app.tiers[ti].servers.is_empty();
        app.tiers[ti].availability.set(now, up, from);
        let all = app.tiers.iter().all(|t| t.availability.is_up());
        app.availability.set(now, all, from);
    }

    /// Counts request `r` failed because of a fault; false if it had failed already.
    pub(super) fn fail_request_to_fault(
        &mut self,
        now: SimTime,
        r: RequestRef,
        env: &mut Env<'_>,
    ) -> bool {
        let Some(req) = self.requests.get(r) else {
            return false;
        };
        if req.orphan {
            return false;
        }
        let a = req.app as usize;
        self.apps[a].seen.counters.requests_failed_to_faults += 1;
        self.seen.counters.requests_failed_to_faults += 1;
        self.fail_request(now, r, env);
        true
    }

    fn count_session_lost_to_failure(&mut self, c: u32) {
        let a = self.clients[c as usize].app as usize;
        self.apps[a].seen.counters.sessions_lost_to_failures += 1;
        self.seen.counters.sessions_lost_to_failures += 1;
    }
}
