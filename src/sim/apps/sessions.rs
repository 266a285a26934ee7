//! Clients and their sessions: the closed-loop population following its load profile, open-loop
//! arrivals, think times, and what a session does after each response.

use super::entities::{Client, ClientState, ServerState, NO_SERVER};
use super::{Apps, Env};
use crate::engine::time::secs_to_ns;
use crate::engine::{rng, SimTime};
use crate::scenario::schema::LoopKind;
use crate::sim::events::Event;
use crate::workload::mix::Walker;
use rand::Rng as _;
use rand_distr::{Distribution as _, Exp1};

impl Apps {
    fn new_client(&mut self, app: u16, number: u64) -> u32 {
        let tiers = self.apps[app as usize].tiers.len();
        self.clients.push(Client {
            app,
            number,
            state: ClientState::Idle,
            stop: false,
            sessions: 0,
            rng: rng::stream(self.settings.seed, "unused", 0, 0, 0),
            walker: Walker::default(),
            next: None,
            sticky: smallvec::smallvec![NO_SERVER; tiers],
            epoch: 0,
            session_lost: false,
        });
        (self.clients.len() - 1) as u32
    }

    /// Releases the client's sticky pins (its session ended or was lost).
    pub(super) fn unpin(&mut self, now: SimTime, c: u32, env: &mut Env<'_>) {
        for t in 0..self.clients[c as usize].sticky.len() {
            let s = std::mem::replace(&mut self.clients[c as usize].sticky[t], NO_SERVER);
            if s != NO_SERVER {
                let server = &mut self.servers[s as usize];
                server.pinned_sessions -= 1;
                if server.state == ServerState::Draining {
                    self.maybe_finish_drain(now, s, env);
                }
            }
        }
    }

    /// Starts the client's next session: its own stream, its first interaction.
    fn begin_session(&mut self, now: SimTime, c: u32, env: &mut Env<'_>) {
        self.unpin(now, c, env);
        let cl = &mut self.clients[c as usize];
        cl.session_lost = false;
        let app = &mut self.apps[cl.app as usize];
        let (name, index) = match app.loop_kind {
            LoopKind::Closed => ("session", cl.sessions),
            LoopKind::Open => ("visit", 0),
        };
        cl.rng = rng::stream(
            self.settings.seed,
            name,
            u64::from(cl.app),
            cl.number,
            index,
        );
        cl.sessions += 1;
        let first = app
            .mix
            .begin(&mut cl.walker, &mut cl.rng, app.max_transitions);
        cl.next = Some(first as u16);
        app.seen.counters.sessions_started += 1;
        self.seen.counters.sessions_started += 1;
    }

    /// Draws a think time from the client's session stream and schedules its end.
    fn think(&mut self, now: SimTime, c: u32, env: &mut Env<'_>) {
        let cl = &mut self.clients[c as usize];
        let t = self.apps[cl.app as usize].think.sample_s(&mut cl.rng);
        cl.state = ClientState::Thinking;
        let epoch = cl.epoch;
        env.q.schedule(
            now.plus_ns(secs_to_ns(t)),
            Event::ThinkDone { client: c, epoch },
        );
    }

    fn leave_loop(&mut self, now: SimTime, c: u32, env: &mut Env<'_>) {
        self.unpin(now, c, env);
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

    /// Starts the client's next session and issues its first request right away.
    fn begin_session_now(&mut self, now: SimTime, c: u32, env: &mut Env<'_>) {
        self.begin_session(now, c, env);
        let first = self.clients[c as usize]
            .next
            .expect("a session has a first request");
        self.issue(now, c, first, env);
    }

    pub fn on_think_done(&mut self, now: SimTime, c: u32, epoch: u32, env: &mut Env<'_>) {
        let cl = &self.clients[c as usize];
        if cl.epoch != epoch || cl.state != ClientState::Thinking {
            return;
        }
        if cl.stop {
            self.leave_loop(now, c, env);
            return;
        }
        if cl.session_lost {
            // The user's session state is gone: they start over (log in again) right away.
            if self.apps[cl.app as usize].loop_kind == LoopKind::Open {
                self.leave_loop(now, c, env);
                return;
            }
            self.begin_session_now(now, c, env);
            return;
        }
        match cl.next {
            Some(interaction) => self.issue(now, c, interaction, env),
            // The session ended at the last response and the user has thought since: a new
            // session starts with its first page right away (RUBiS: Home after the think).
            None => self.begin_session_now(now, c, env),
        }
    }

    /// After a response (or a failure): the session's next step, then a think time.
    pub(super) fn after_response(&mut self, now: SimTime, c: u32, failed: bool, env: &mut Env<'_>) {
        let cl = &mut self.clients[c as usize];
        if cl.stop {
            self.leave_loop(now, c, env);
            return;
        }
        if cl.session_lost {
            // Whatever the response, the session is gone; the next step starts a new one.
            self.think(now, c, env);
            return;
        }
        let app = &mut self.apps[cl.app as usize];
        let next = if failed {
            app.mix.restart(&mut cl.walker, &mut cl.rng)
        } else {
            app.mix.advance(&mut cl.walker, &mut cl.rng)
        };
        cl.next = next.map(|i| i as u16);
        if next.is_none() {
            app.seen.counters.sessions_completed += 1;
            self.seen.counters.sessions_completed += 1;
            if app.loop_kind == LoopKind::Open {
                self.leave_loop(now, c, env);
                return;
            }
            // The session's replicas no longer hold it.
            self.unpin(now, c, env);
        }
        self.think(now, c, env);
    }

    /// Marks the session of client `c` lost (its replica stopped without draining).
    pub(super) fn lose_session(&mut self, now: SimTime, c: u32, env: &mut Env<'_>) {
        let cl = &mut self.clients[c as usize];
        if cl.session_lost {
            return;
        }
        cl.session_lost = true;
        self.apps[cl.app as usize].seen.counters.sessions_lost += 1;
        self.seen.counters.sessions_lost += 1;
        self.unpin(now, c, env);
    }

    /// The closed-loop population of app `a` follows its profile: clients join or leave.
    pub fn on_population_change(&mut self, now: SimTime, a: u16, env: &mut Env<'_>) {
        let app = &mut self.apps[a as usize];
        let target = app.curve.count_at(now);
        let old = app.target;
        app.target = target;
        if let Some(next) = app.curve.next_count_change(now) {
            if next < self.settings.horizon {
                env.q.schedule(next, Event::PopulationChange { app: a });
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
                self.begin_session(now, c, env);
                self.think(now, c, env);
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

    /// Schedules the next candidate arrival of open-loop app `a` (a Poisson process at the
    /// profile's highest rate, thinned at each candidate).
    pub fn schedule_next_arrival(&mut self, a: u16, env: &mut Env<'_>) {
        let app = &mut self.apps[a as usize];
        let rate_max = app.curve.max_value();
        if rate_max <= 0.0 {
            return;
        }
        let gap: f64 = Exp1.sample(&mut app.arrivals);
        let at = env.q.now().plus_ns(secs_to_ns(gap / rate_max));
        if at < self.settings.horizon {
            env.q.schedule(at, Event::Arrival { app: a });
        }
    }

    pub fn on_arrival(&mut self, now: SimTime, a: u16, env: &mut Env<'_>) {
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
            self.begin_session_now(now, c, env);
        }
        self.schedule_next_arrival(a, env);
    }
}
