//! Clients, sessions and requests: the users' side of the simulation.

use super::events::Event;
use super::requests::{Request, RequestRef};
use super::world::{Client, ClientState, ServerState, NO_SERVER};
use super::Simulation;
use crate::engine::time::secs_to_ns;
use crate::engine::{rng, SimTime};
use crate::model::Wakeup;
use crate::scenario::schema::LoopKind;
use crate::workload::mix::Walker;
use rand::Rng as _;
use rand_distr::{Distribution as _, Exp1};

impl Simulation {
    pub(super) fn new_client(&mut self, app: u16, number: u64) -> u32 {
        let tiers = self.apps[app as usize].tiers.len();
        self.clients.push(Client {
            app,
            number,
            state: ClientState::Idle,
            stop: false,
            sessions: 0,
            rng: rng::stream(self.seed, "unused", 0, 0, 0),
            walker: Walker::default(),
            next: None,
            sticky: vec![NO_SERVER; tiers],
            epoch: 0,
            session_lost: false,
        });
        (self.clients.len() - 1) as u32
    }

    /// Releases the client's sticky pins (its session ended or was lost).
    pub(super) fn unpin(&mut self, now: SimTime, c: u32) {
        for t in 0..self.clients[c as usize].sticky.len() {
            let s = std::mem::replace(&mut self.clients[c as usize].sticky[t], NO_SERVER);
            if s != NO_SERVER {
                let server = &mut self.servers[s as usize];
                server.pinned_sessions -= 1;
                if server.state == ServerState::Draining {
                    self.maybe_finish_drain(now, s);
                }
            }
        }
    }

    /// Starts the client's next session: its own stream, its first interaction.
    fn begin_session(&mut self, now: SimTime, c: u32) {
        self.unpin(now, c);
        let cl = &mut self.clients[c as usize];
        cl.session_lost = false;
        let app = &self.apps[cl.app as usize];
        let (name, index) = match app.loop_kind {
            LoopKind::Closed => ("session", cl.sessions),
            LoopKind::Open => ("visit", 0),
        };
        cl.rng = rng::stream(self.seed, name, u64::from(cl.app), cl.number, index);
        cl.sessions += 1;
        let first = app
            .mix
            .begin(&mut cl.walker, &mut cl.rng, app.max_transitions);
        cl.next = Some(first as u16);
        self.counters.sessions_started += 1;
    }

    /// Draws a think time from the client's session stream and schedules its end.
    fn think(&mut self, now: SimTime, c: u32) {
        let cl = &mut self.clients[c as usize];
        let t = self.apps[cl.app as usize].think.sample_s(&mut cl.rng);
        cl.state = ClientState::Thinking;
        let epoch = cl.epoch;
        self.q.schedule(
            now.plus_ns(secs_to_ns(t)),
            Event::ThinkDone { client: c, epoch },
        );
    }

    fn leave_loop(&mut self, now: SimTime, c: u32) {
        self.unpin(now, c);
        let cl = &mut self.clients[c as usize];
        cl.state = ClientState::Idle;
        cl.stop = false;
        cl.epoch = cl.epoch.wrapping_add(1);
        let app = &mut self.apps[cl.app as usize];
        app.in_loop -= 1;
        if app.loop_kind == LoopKind::Open {
            app.free_visitors.push(c);
        }
    }

    pub(super) fn on_think_done(&mut self, now: SimTime, c: u32, epoch: u32) {
        let cl = &self.clients[c as usize];
        if cl.epoch != epoch || cl.state != ClientState::Thinking {
            return;
        }
        if cl.stop {
            self.leave_loop(now, c);
            return;
        }
        if cl.session_lost {
            // The user's session state is gone: they start over (log in again) right away.
            if self.apps[cl.app as usize].loop_kind == LoopKind::Open {
                self.leave_loop(now, c);
                return;
            }
            self.begin_session(now, c);
            let first = self.clients[c as usize]
                .next
                .expect("a session has a first request");
            self.issue(now, c, first);
            return;
        }
        match cl.next {
            Some(interaction) => self.issue(now, c, interaction),
            None => {
                // The session ended at the last response and the user has thought since: a new
                // session starts with its first page right away (RUBiS: Home after the think).
                self.begin_session(now, c);
                let first = self.clients[c as usize]
                    .next
                    .expect("a session has a first request");
                self.issue(now, c, first);
            }
        }
    }

    /// After a response (or a failure): the session's next step, then a think time.
    pub(super) fn after_response(&mut self, now: SimTime, c: u32, failed: bool) {
        let cl = &mut self.clients[c as usize];
        if cl.stop {
            self.leave_loop(now, c);
            return;
        }
        if cl.session_lost {
            // Whatever the response, the session is gone; the next step starts a new one.
            self.think(now, c);
            return;
        }
        let app = &self.apps[cl.app as usize];
        let next = if failed {
            app.mix.restart(&mut cl.walker, &mut cl.rng)
        } else {
            app.mix.advance(&mut cl.walker, &mut cl.rng)
        };
        cl.next = next.map(|i| i as u16);
        if next.is_none() {
            self.counters.sessions_completed += 1;
            if app.loop_kind == LoopKind::Open {
                self.leave_loop(now, c);
                return;
            }
            // The session's replicas no longer hold it.
            self.unpin(now, c);
        }
        self.think(now, c);
    }

    /// Marks the session of client `c` lost (its replica stopped without draining).
    pub(super) fn lose_session(&mut self, now: SimTime, c: u32) {
        if self.clients[c as usize].session_lost {
            return;
        }
        self.clients[c as usize].session_lost = true;
        self.counters.sessions_lost += 1;
        self.unpin(now, c);
    }

    pub(super) fn on_population_change(&mut self, now: SimTime, a: u16) {
        let app = &mut self.apps[a as usize];
        let target = app.curve.count_at(now);
        let old = app.target;
        app.target = target;
        if let Some(next) = app.curve.next_count_change(now) {
            if next < self.horizon {
                self.q.schedule(next, Event::PopulationChange { app: a });
            }
        }
        // Grow: clients below the target that are leaving stay; idle ones start.
        for i in 0..target {
            let c = if (i as usize) < self.apps[a as usize].population.len() {
                self.apps[a as usize].population[i as usize]
            } else {
                let c = self.new_client(a, u64::from(i));
                self.apps[a as usize].population.push(c);
                c
            };
            let cl = &mut self.clients[c as usize];
            if cl.state == ClientState::Idle {
                self.apps[a as usize].in_loop += 1;
                self.begin_session(now, c);
                self.think(now, c);
            } else {
                cl.stop = false;
            }
        }
        // Shrink: clients at or above the target leave at their next step.
        let upto = (old as usize).min(self.apps[a as usize].population.len());
        for i in target as usize..upto {
            let c = self.apps[a as usize].population[i];
            let cl = &mut self.clients[c as usize];
            if cl.state != ClientState::Idle {
                cl.stop = true;
            }
        }
    }

    pub(super) fn schedule_next_arrival(&mut self, a: u16) {
        let app = &mut self.apps[a as usize];
        let rate_max = app.curve.max_value();
        if rate_max <= 0.0 {
            return;
        }
        let gap: f64 = Exp1.sample(&mut app.arrivals);
        let at = self.q.now().plus_ns(secs_to_ns(gap / rate_max));
        if at < self.horizon {
            self.q.schedule(at, Event::Arrival { app: a });
        }
    }

    pub(super) fn on_arrival(&mut self, now: SimTime, a: u16) {
        let app = &mut self.apps[a as usize];
        // Thinning: accept the candidate with probability rate(now) / max rate.
        let u: f64 = app.arrivals.random();
        let accept = u * app.curve.max_value() < app.curve.value_at(now);
        if accept {
            let number = app.arrivals_so_far;
            app.arrivals_so_far += 1;
            app.in_loop += 1;
            let c = match app.free_visitors.pop() {
                Some(c) => {
                    let cl = &mut self.clients[c as usize];
                    cl.number = number;
                    cl.sessions = 0;
                    cl.state = ClientState::Thinking;
                    c
                }
                None => self.new_client(a, number),
            };
            self.begin_session(now, c);
            let first = self.clients[c as usize]
                .next
                .expect("a session has a first request");
            self.issue(now, c, first);
        }
        self.schedule_next_arrival(a);
    }

    // ---- requests ----------------------------------------------------------------------------

    fn issue(&mut self, now: SimTime, c: u32, interaction: u16) {
        let cl = &mut self.clients[c as usize];
        cl.state = ClientState::Waiting;
        let a = cl.app as usize;
        let r = self.requests.insert(Request {
            client: c,
            app: a as u16,
            interaction,
            tier: 0,
            issued: now,
            orphan: false,
        });
        let app = &self.apps[a];
        let n_tiers = app.tiers.len();
        let demands = self.requests.demands_mut(r);
        for (t, d) in demands.iter_mut().enumerate().take(n_tiers) {
            *d = app.demand(interaction as usize, t).sample_s(&mut cl.rng);
        }
        self.counters.requests_issued += 1;
        self.in_flight += 1;
        if self.timeout_ns > 0 {
            self.q
                .schedule(now.plus_ns(self.timeout_ns), Event::Timeout { request: r });
        }
        self.route(now, r, 0);
    }

    /// Sends request `r` to the first tier from `from` where it has work, or completes it.
    fn route(&mut self, now: SimTime, r: RequestRef, from: usize) {
        let req = self.requests.get(r).expect("routed request exists");
        let (a, c) = (req.app as usize, req.client as usize);
        let n_tiers = self.apps[a].tiers.len();
        let demands = self.requests.demands(r);
        let Some(t) = (from..n_tiers).find(|&t| demands[t] > 0.0) else {
            self.complete(now, r);
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
        self.requests.get_mut(r).expect("exists").tier = t as u16;
        let w = self.servers[s as usize].ps.arrive(now, demand, r.token());
        self.schedule_wakeup(s, w);
        self.server_load_changed(now, s);
    }

    #[inline]
    pub(super) fn schedule_wakeup(&mut self, server: u32, w: Option<Wakeup>) {
        if let Some(w) = w {
            self.q
                .schedule(w.at, Event::Departure { server, gen: w.gen });
        }
    }

    pub(super) fn on_departure(&mut self, now: SimTime, s: u32, gen: u32) {
        let (done, next) = self.servers[s as usize].ps.on_wakeup(now, gen);
        self.schedule_wakeup(s, next);
        if let Some(token) = done {
            self.server_load_changed(now, s);
            let r = RequestRef::from_token(token);
            let tier = self.requests.get(r).expect("a served request exists").tier as usize;
            self.route(now, r, tier + 1);
            if self.servers[s as usize].state == ServerState::Draining {
                self.maybe_finish_drain(now, s);
            }
        }
    }

    fn complete(&mut self, now: SimTime, r: RequestRef) {
        let req = self.requests.remove(r).expect("completed request exists");
        if req.orphan {
            return;
        }
        self.in_flight -= 1;
        let rt = now.since(req.issued);
        self.counters.requests_completed += 1;
        self.interval.record(rt, self.target_ns);
        if let Some(c) = &mut self.control {
            c.app_stats[req.app as usize].record(rt, self.target_ns);
        }
        if now >= self.warmup {
            self.window.record(rt, self.target_ns);
        }
        self.after_response(now, req.client, false);
    }

    /// Counts request `r` failed (timeout, or its replica stopped); its client moves on.
    pub(super) fn fail_request(&mut self, now: SimTime, r: RequestRef) {
        let Some(req) = self.requests.get_mut(r) else {
            return;
        };
        if req.orphan {
            return;
        }
        req.orphan = true;
        let (c, app) = (req.client, req.app);
        self.in_flight -= 1;
        self.counters.requests_failed += 1;
        self.interval.record_failure();
        if let Some(c) = &mut self.control {
            c.app_stats[app as usize].record_failure();
        }
        if now >= self.warmup {
            self.window.record_failure();
        }
        self.after_response(now, c, true);
    }

    pub(super) fn on_timeout(&mut self, now: SimTime, r: RequestRef) {
        self.fail_request(now, r);
    }
}
