//! The simulated backend: builds the world from a scenario and runs it.
//!
//! A request is issued by a client, visits the tiers of its application in order (skipping those
//! where its demand is zero), and returns. Each tier's balancer picks a replica; each replica is a
//! processor-sharing server. All random draws of a session (think times, choices, demands) come
//! from that session's own stream, so two runs of one seed face the very same users.

pub mod events;
pub mod requests;
pub mod world;

use crate::engine::time::{ns_to_secs, secs_to_ns};
use crate::engine::{rng, EventQueue, SimTime};
use crate::model::balancer::LoadBalancer;
use crate::model::{PsServer, Wakeup};
use crate::report::metrics::{Counters, ResponseStats};
use crate::report::{RunOutput, Summary, TimeseriesRow};
use crate::scenario::schema::{LoopKind, Profile, Scenario};
use crate::workload::distribution::Sampler;
use crate::workload::mix::{Mix, Walker};
use crate::workload::profile::LoadCurve;
use events::Event;
use rand::Rng as _;
use rand_distr::{Distribution as _, Exp1};
use requests::{Request, RequestRef, RequestSlab};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;
use world::{App, Client, ClientState, Server, Tier, NO_SERVER};

/// A simulation: a value that owns its whole world. Many run in parallel threads.
pub struct Simulation {
    q: EventQueue<Event>,
    seed: u64,
    scenario_name: String,
    horizon: SimTime,
    warmup: SimTime,
    report_interval_ns: u64,
    timeout_ns: u64,
    target_ns: u64,
    target_ms: f64,
    apps: Vec<App>,
    servers: Vec<Server>,
    clients: Vec<Client>,
    requests: RequestSlab,
    counters: Counters,
    /// Response times over the measurement window (after warm-up).
    window: ResponseStats,
    /// Response times of the current reporting interval.
    interval: ResponseStats,
    last_report: SimTime,
    rows: Vec<TimeseriesRow>,
    events: u64,
}

/// The curve of a resolved profile (traces are inlined as steps or ramps when loading).
pub fn curve_of(profile: &Profile) -> LoadCurve {
    let pts = |p: &Vec<[f64; 2]>| p.iter().map(|x| (x[0], x[1])).collect::<Vec<_>>();
    match profile {
        Profile::Constant { value } => LoadCurve::constant(*value),
        Profile::Steps { points } => LoadCurve::new(&pts(points), false),
        Profile::Ramp { points } => LoadCurve::new(&pts(points), true),
        Profile::Trace { .. } => panic!("trace profiles are inlined by the scenario loader"),
    }
}

impl Simulation {
    /// Builds the world of a validated, resolved scenario; `mixes[i]` is the session mix of app i.
    pub fn new(sc: &Scenario, mixes: Vec<Arc<Mix>>) -> Self {
        assert_eq!(sc.apps.len(), mixes.len());
        let mut servers = Vec::new();
        let mut apps = Vec::new();
        let mut max_tiers = 1;
        for (ai, (a, mix)) in sc.apps.iter().zip(mixes).enumerate() {
            max_tiers = max_tiers.max(a.tiers.len());
            let mut tiers = Vec::new();
            for (ti, t) in a.tiers.iter().enumerate() {
                let ids = (0..t.replicas)
                    .map(|_| {
                        servers.push(Server {
                            ps: PsServer::new(t.cores, 1.0, SimTime::ZERO),
                            app: ai as u16,
                            tier: ti as u16,
                            interval_mark: (0.0, 0.0),
                            warmup_mark: (0.0, 0.0),
                        });
                        (servers.len() - 1) as u32
                    })
                    .collect();
                tiers.push(Tier {
                    name: t.name.clone(),
                    servers: ids,
                    balancer: LoadBalancer::new(t.balancer),
                });
            }
            let mut demand = Vec::new();
            for inter in mix.interactions() {
                for t in &a.tiers {
                    let d = t
                        .demands
                        .get(&inter.name)
                        .or(if inter.write {
                            t.write_demand.as_ref()
                        } else {
                            None
                        })
                        .unwrap_or(&t.demand);
                    demand.push(Sampler::new(d));
                }
            }
            apps.push(App {
                name: a.name.clone(),
                loop_kind: a.clients.loop_kind,
                mix,
                tiers,
                think: Sampler::new(&a.clients.think),
                max_transitions: a.clients.max_transitions,
                curve: curve_of(&a.clients.profile),
                demand,
                population: Vec::new(),
                target: 0,
                in_loop: 0,
                arrivals: rng::stream(sc.seed, "arrivals", ai as u64, 0, 0),
                arrivals_so_far: 0,
                free_visitors: Vec::new(),
            });
        }
        let horizon = SimTime::from_secs(sc.duration_s);
        let mut sim = Simulation {
            q: EventQueue::with_capacity(4096),
            seed: sc.seed,
            scenario_name: sc.name.clone(),
            horizon,
            warmup: SimTime::from_secs(sc.warmup_s).min(horizon),
            report_interval_ns: secs_to_ns(sc.report_interval_s).max(1),
            timeout_ns: secs_to_ns(sc.sla.request_timeout_s),
            target_ns: secs_to_ns(sc.sla.response_target_ms / 1000.0),
            target_ms: sc.sla.response_target_ms,
            apps,
            servers,
            clients: Vec::new(),
            requests: RequestSlab::new(max_tiers),
            counters: Counters::default(),
            window: ResponseStats::default(),
            interval: ResponseStats::default(),
            last_report: SimTime::ZERO,
            rows: Vec::new(),
            events: 0,
        };
        for ai in 0..sim.apps.len() {
            match sim.apps[ai].loop_kind {
                LoopKind::Closed => sim
                    .q
                    .schedule(SimTime::ZERO, Event::PopulationChange { app: ai as u16 }),
                LoopKind::Open => sim.schedule_next_arrival(ai as u16),
            }
        }
        sim.q
            .schedule(SimTime(sim.report_interval_ns), Event::Report);
        if sim.warmup > SimTime::ZERO {
            sim.q.schedule(sim.warmup, Event::WarmupEnd);
        }
        sim
    }

    /// Runs to the horizon and returns what the users saw.
    pub fn run(mut self) -> RunOutput {
        let wall = Instant::now();
        while let Some(t) = self.q.peek_time() {
            if t >= self.horizon {
                break;
            }
            let (now, ev) = self.q.pop().expect("peeked");
            self.events += 1;
            self.dispatch(now, ev);
        }
        let end = self.horizon;
        if self.rows.last().map(|r| r.time_s) != Some(end.as_secs()) && end > self.last_report {
            self.report(end);
        }
        let wall_seconds = wall.elapsed().as_secs_f64();
        self.finish(wall_seconds)
    }

    fn dispatch(&mut self, now: SimTime, ev: Event) {
        match ev {
            Event::ThinkDone { client, epoch } => self.on_think_done(now, client, epoch),
            Event::Departure { server, gen } => self.on_departure(now, server, gen),
            Event::Timeout { request } => self.on_timeout(now, request),
            Event::PopulationChange { app } => self.on_population_change(now, app),
            Event::Arrival { app } => self.on_arrival(now, app),
            Event::Report => {
                self.report(now);
                let next = now.plus_ns(self.report_interval_ns);
                if next < self.horizon {
                    self.q.schedule(next, Event::Report);
                }
            }
            Event::WarmupEnd => self.on_warmup_end(now),
        }
    }

    // ---- clients and sessions ----------------------------------------------------------------

    fn new_client(&mut self, app: u16, number: u64) -> u32 {
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
        });
        (self.clients.len() - 1) as u32
    }

    /// Starts the client's next session: its own stream, its first interaction.
    fn begin_session(&mut self, c: u32) {
        let cl = &mut self.clients[c as usize];
        let app = &self.apps[cl.app as usize];
        let (name, index) = match app.loop_kind {
            LoopKind::Closed => ("session", cl.sessions),
            LoopKind::Open => ("visit", 0),
        };
        cl.rng = rng::stream(self.seed, name, u64::from(cl.app), cl.number, index);
        cl.sessions += 1;
        cl.sticky.fill(NO_SERVER);
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

    fn leave_loop(&mut self, c: u32) {
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

    fn on_think_done(&mut self, now: SimTime, c: u32, epoch: u32) {
        let cl = &self.clients[c as usize];
        if cl.epoch != epoch || cl.state != ClientState::Thinking {
            return;
        }
        if cl.stop {
            self.leave_loop(c);
            return;
        }
        match cl.next {
            Some(interaction) => self.issue(now, c, interaction),
            None => {
                // The session ended at the last response and the user has thought since: a new
                // session starts with its first page right away (RUBiS: Home after the think).
                self.begin_session(c);
                let first = self.clients[c as usize]
                    .next
                    .expect("a session has a first request");
                self.issue(now, c, first);
            }
        }
    }

    /// After a response (or a failure): the session's next step, then a think time.
    fn after_response(&mut self, now: SimTime, c: u32, failed: bool) {
        let cl = &mut self.clients[c as usize];
        if cl.stop {
            self.leave_loop(c);
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
                self.leave_loop(c);
                return;
            }
        }
        self.think(now, c);
    }

    fn on_population_change(&mut self, now: SimTime, a: u16) {
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
                self.begin_session(c);
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

    fn schedule_next_arrival(&mut self, a: u16) {
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

    fn on_arrival(&mut self, now: SimTime, a: u16) {
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
                    self.clients[c as usize].number = number;
                    self.clients[c as usize].sessions = 0;
                    c
                }
                None => self.new_client(a, number),
            };
            self.begin_session(c);
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
        let tier = &mut self.apps[a].tiers[t];
        let servers = &self.servers;
        let pinned = self.clients[c].sticky[t];
        let pinned_index = if pinned == NO_SERVER {
            None
        } else {
            tier.servers.iter().position(|&s| s == pinned)
        };
        let (i, pin) = tier.balancer.pick(
            tier.servers.len(),
            |i| servers[tier.servers[i] as usize].ps.jobs(),
            pinned_index,
        );
        let s = tier.servers[i];
        if pin {
            self.clients[c].sticky[t] = s;
        }
        self.requests.get_mut(r).expect("exists").tier = t as u16;
        let w = self.servers[s as usize].ps.arrive(now, demand, r.token());
        self.schedule_wakeup(s, w);
    }

    #[inline]
    fn schedule_wakeup(&mut self, server: u32, w: Option<Wakeup>) {
        if let Some(w) = w {
            self.q
                .schedule(w.at, Event::Departure { server, gen: w.gen });
        }
    }

    fn on_departure(&mut self, now: SimTime, s: u32, gen: u32) {
        let (done, next) = self.servers[s as usize].ps.on_wakeup(now, gen);
        self.schedule_wakeup(s, next);
        if let Some(token) = done {
            let r = RequestRef::from_token(token);
            let tier = self.requests.get(r).expect("a served request exists").tier as usize;
            self.route(now, r, tier + 1);
        }
    }

    fn complete(&mut self, now: SimTime, r: RequestRef) {
        let req = self.requests.remove(r).expect("completed request exists");
        if req.orphan {
            return;
        }
        let rt = now.since(req.issued);
        self.counters.requests_completed += 1;
        self.interval.record(rt, self.target_ns);
        if now >= self.warmup {
            self.window.record(rt, self.target_ns);
        }
        self.after_response(now, req.client, false);
    }

    fn on_timeout(&mut self, now: SimTime, r: RequestRef) {
        let Some(req) = self.requests.get_mut(r) else {
            return; // completed in time
        };
        if req.orphan {
            return;
        }
        req.orphan = true;
        let c = req.client;
        self.counters.requests_failed += 1;
        self.interval.record_failure();
        if now >= self.warmup {
            self.window.record_failure();
        }
        self.after_response(now, c, true);
    }

    // ---- reporting ---------------------------------------------------------------------------

    fn on_warmup_end(&mut self, now: SimTime) {
        for s in &mut self.servers {
            s.warmup_mark = s.ps.busy_and_capacity(now);
        }
    }

    /// Closes the reporting interval that ends at `now`.
    fn report(&mut self, now: SimTime) {
        let dt_s = ns_to_secs(now.since(self.last_report));
        let mut busy = vec![(0.0, 0.0); self.tier_count()];
        for s in &mut self.servers {
            let (b, c) = s.ps.busy_and_capacity(now);
            let k = tier_index(&self.apps, s.app, s.tier);
            busy[k].0 += b - s.interval_mark.0;
            busy[k].1 += c - s.interval_mark.1;
            s.interval_mark = (b, c);
        }
        self.rows.push(TimeseriesRow {
            time_s: now.as_secs(),
            active_clients: self.apps.iter().map(|a| a.in_loop).sum(),
            throughput_rps: if dt_s > 0.0 {
                self.interval.completed as f64 / dt_s
            } else {
                0.0
            },
            mean_response_ms: self.interval.mean_ms(),
            p95_response_ms: self.interval.quantile_ms(0.95),
            failures: self.interval.failed,
            utilisation: busy.iter().map(|&(b, c)| ratio(b, c)).collect(),
        });
        self.interval.reset();
        self.last_report = now;
    }

    fn tier_count(&self) -> usize {
        self.apps.iter().map(|a| a.tiers.len()).sum()
    }

    fn tier_names(&self) -> Vec<String> {
        self.apps
            .iter()
            .flat_map(|a| {
                a.tiers
                    .iter()
                    .map(move |t| format!("{}.{}", a.name, t.name))
            })
            .collect()
    }

    fn finish(mut self, wall_seconds: f64) -> RunOutput {
        let end = self.horizon;
        let names = self.tier_names();
        let mut busy = vec![(0.0, 0.0); self.tier_count()];
        for s in &mut self.servers {
            let (b, c) = s.ps.busy_and_capacity(end);
            let k = tier_index(&self.apps, s.app, s.tier);
            busy[k].0 += b - s.warmup_mark.0;
            busy[k].1 += c - s.warmup_mark.1;
        }
        let tier_utilisation: BTreeMap<String, f64> = names
            .iter()
            .cloned()
            .zip(busy.iter().map(|&(b, c)| ratio(b, c)))
            .collect();
        let window_s = ns_to_secs(end.since(self.warmup));
        let w = &self.window;
        let summary = Summary {
            scenario: self.scenario_name.clone(),
            seed: self.seed,
            sim_seconds: end.as_secs(),
            events: self.events,
            events_per_s: if wall_seconds > 0.0 {
                self.events as f64 / wall_seconds
            } else {
                0.0
            },
            wall_seconds,
            requests_issued: self.counters.requests_issued,
            requests_completed: self.counters.requests_completed,
            requests_failed: self.counters.requests_failed,
            requests_in_flight: self.requests.waited_for() as u64,
            throughput_rps: if window_s > 0.0 {
                w.completed as f64 / window_s
            } else {
                0.0
            },
            mean_response_ms: w.mean_ms(),
            p50_response_ms: w.quantile_ms(0.50),
            p95_response_ms: w.quantile_ms(0.95),
            p99_response_ms: w.quantile_ms(0.99),
            sla_target_ms: self.target_ms,
            sla_violation_fraction: w.sla_violation_fraction(),
            sessions_started: self.counters.sessions_started,
            sessions_completed: self.counters.sessions_completed,
            sessions_lost: self.counters.sessions_lost,
            migrations: 0,
            migration_downtime_s: 0.0,
            replicas_started: 0,
            replicas_stopped: 0,
            node_hours: 0.0,
            energy_kwh: 0.0,
            tier_utilisation,
        };
        RunOutput {
            summary,
            tier_names: names,
            timeseries: self.rows,
        }
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        0.0
    }
}

/// Position of (app, tier) in the flattened list of all tiers.
fn tier_index(apps: &[App], app: u16, tier: u16) -> usize {
    apps[..app as usize]
        .iter()
        .map(|a| a.tiers.len())
        .sum::<usize>()
        + tier as usize
}
