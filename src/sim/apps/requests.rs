//! A request's way: issued by a client, routed tier by tier to a replica chosen by the tier's
//! balancer (or the one its session is pinned to), served, and completed — or failed, by a
//! timeout or the stop of its replica.

use super::entities::{ClientState, ServerState, NO_SERVER};
use super::slab::{Request, RequestRef};
use super::{Apps, Env};
use crate::engine::SimTime;
use crate::model::Wakeup;
use crate::sim::events::Event;

impl Apps {
    pub(super) fn issue(&mut self, now: SimTime, c: u32, interaction: u16, env: &mut Env<'_>) {
        let cl = &mut self.clients[c as usize];
        cl.state = ClientState::Waiting;
        let a = cl.app as usize;
        let r = self.requests.insert(Request {
            client: c,
            app: a as u16,
            tier: 0,
            issued: now,
            at_tier: now,
            orphan: false,
        });
        let app = &mut self.apps[a];
        let n_tiers = app.tiers.len();
        let demands = self.requests.demands_mut(r);
        for (t, d) in demands.iter_mut().enumerate().take(n_tiers) {
            *d = app.demand(interaction as usize, t).sample_s(&mut cl.rng);
        }
        app.seen.issued();
        if self.several {
            self.seen.issued();
        }
        if self.settings.timeout_ns > 0 {
            // Every timeout is the same delay after now: they come in time order, and wait in
            // the queue's in-order lane rather than its heap (most never fire).
            env.q.schedule_in_order(
                now.plus_ns(self.settings.timeout_ns),
                Event::Timeout { request: r },
            );
        }
        self.route(now, r, 0, env);
    }

    /// Sends request `r` to the first tier from `from` where it has work, or completes it.
    fn route(&mut self, now: SimTime, r: RequestRef, from: usize, env: &mut Env<'_>) {
        let req = self.requests.get(r).expect("routed request exists");
        let (a, c) = (req.app as usize, req.client as usize);
        let n_tiers = self.apps[a].tiers.len();
        let demands = self.requests.demands(r);
        let Some(t) = (from..n_tiers).find(|&t| demands[t] > 0.0) else {
            self.complete(now, r, env);
            return;
        };
        let demand = demands[t];
        // A session pinned to a live replica (active or draining) goes there; others are
        // balanced over the active replicas.
        let pinned = self.clients[c].sticky[t];
        let s = if pinned != NO_SERVER
            && matches!(
                self.servers[pinned as usize].state,
                ServerState::Active | ServerState::Draining
            ) {
            pinned
        } else if self.apps[a].tiers[t].servers.is_empty() {
            // No replica left (they crashed): the request fails at once.
            self.fail_request_to_fault(now, r, env);
            self.requests.remove(r);
            return;
        } else {
            let tier = &mut self.apps[a].tiers[t];
            let servers = &self.servers;
            let (i, pin) = tier.balancer.pick(
                tier.servers.len(),
                |i| servers[tier.servers[i] as usize].ps.jobs(),
                None,
            );
            let s = tier.servers[i];
            if pin {
                self.clients[c].sticky[t] = s;
                self.servers[s as usize].pinned_sessions += 1;
            }
            s
        };
        let req = self.requests.get_mut(r).expect("exists");
        req.tier = t as u16;
        req.at_tier = now;
        let w = self.servers[s as usize].ps.arrive(now, demand, r.token());
        schedule_wakeup(env, s, w);
        self.load_changed(now, s, env);
    }

    pub fn on_departure(&mut self, now: SimTime, s: u32, gen: u32, env: &mut Env<'_>) {
        let (done, next) = self.servers[s as usize].ps.on_wakeup(now, gen);
        schedule_wakeup(env, s, next);
        if let Some(token) = done {
            self.load_changed(now, s, env);
            let r = RequestRef::from_token(token);
            let tier = self.requests.get(r).expect("a served request exists").tier as usize;
            self.route(now, r, tier + 1, env);
            if self.servers[s as usize].state == ServerState::Draining {
                self.maybe_finish_drain(now, s, env);
            }
        }
    }

    fn complete(&mut self, now: SimTime, r: RequestRef, env: &mut Env<'_>) {
        let req = self.requests.remove(r).expect("completed request exists");
        if req.orphan {
            return;
        }
        let rt = now.since(req.issued);
        let (target, in_window) = (self.settings.target_ns, now >= self.settings.warmup);
        if self.several {
            self.seen.completed(rt, target, in_window);
        }
        let app = &mut self.apps[req.app as usize];
        app.seen.completed(rt, target, in_window);
        if self.measure_periods {
            app.period.record(rt, target);
        }
        self.after_response(now, req.client, false, env);
    }

    /// Counts request `r` failed (timeout, or its replica stopped); its client moves on.
    pub(super) fn fail_request(&mut self, now: SimTime, r: RequestRef, env: &mut Env<'_>) {
        let Some(req) = self.requests.get_mut(r) else {
            return;
        };
        if req.orphan {
            return;
        }
        req.orphan = true;
        let (c, a) = (req.client, req.app as usize);
        let in_window = now >= self.settings.warmup;
        if self.several {
            self.seen.failed(in_window);
        }
        let app = &mut self.apps[a];
        app.seen.failed(in_window);
        if self.measure_periods {
            app.period.record_failure();
        }
        self.after_response(now, c, true, env);
    }

    pub fn on_timeout(&mut self, now: SimTime, r: RequestRef, env: &mut Env<'_>) {
        self.fail_request(now, r, env);
    }
}

#[inline]
fn schedule_wakeup(env: &mut Env<'_>, server: u32, w: Option<Wakeup>) {
    if let Some(w) = w {
        env.q
            .schedule(w.at, Event::Departure { server, gen: w.gen });
    }
}
