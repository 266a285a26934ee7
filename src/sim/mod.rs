//! The simulated backend: builds the world from a scenario and runs it.
//!
//! A request is issued by a client, visits the tiers of its application in order (skipping those
//! where its demand is zero), and returns. Each tier's balancer picks a replica; each replica is a
//! processor-sharing server, dedicated, alone on a node (bare mode) or in a VM sharing its node
//! (virtualized mode). All random draws of a session (think times, choices, demands) come from
//! that session's own stream, so two runs of one seed face the very same users.
//!
//! The code is split by concern: `clients` (sessions and requests), `infra` (nodes, CPU shares,
//! power), `actions` (the reconfiguration actions and their log), `replicas` (start and stop),
//! `migration` (pre-copy live migration), `invariants`, and `output` (reports).

mod actions;
mod build;
mod clients;
mod control;
pub mod events;
mod infra;
mod invariants;
mod migration;
mod output;
mod replicas;
pub mod requests;
pub mod world;

use crate::engine::{EventQueue, Rng, SimTime};
use crate::report::metrics::{Counters, ResponseStats};
use crate::report::{RunOutput, TimeseriesRow};
use crate::scenario::schema::{Profile, ScriptedAction};
use crate::workload::distribution::Sampler;
use crate::workload::profile::LoadCurve;
use events::Event;
use requests::RequestSlab;
use std::time::Instant;
use world::{App, Client, Node, Server, Vm};

pub use actions::ActionRecord;
pub use output::NodeRow;

/// The infrastructure settings the simulation needs at run time.
pub(crate) struct InfraRt {
    pub virtualized: bool,
    pub hypervisor_overhead: f64,
    pub host_reserved_ram_mb: f64,
    pub drain_timeout_ns: u64,
    pub vm_boot: Sampler,
    pub migration: crate::scenario::schema::Migration,
}

/// Counters of reconfigurations.
#[derive(Clone, Debug, Default)]
pub(crate) struct MechanismCounters {
    pub migrations: u64,
    pub migration_downtime_ns: u64,
    pub migration_time_ns: u64,
    pub migration_mb: f64,
    pub replicas_started: u64,
    pub replicas_stopped: u64,
    pub actions_refused: u64,
    pub actions_failed: u64,
}

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
    /// Requests a client still waits for (issued, neither completed nor failed).
    in_flight: u64,
    counters: Counters,
    /// Response times over the measurement window (after warm-up).
    window: ResponseStats,
    /// Response times of the current reporting interval.
    interval: ResponseStats,
    last_report: SimTime,
    rows: Vec<TimeseriesRow>,
    node_rows: Vec<NodeRow>,
    events: u64,
    // ---- infrastructure and reconfiguration ----
    infra: Option<InfraRt>,
    nodes: Vec<Node>,
    vms: Vec<Vm>,
    migrations: Vec<migration::MigrationRt>,
    /// Migrations still sending data (indices in `migrations`), in start order.
    transferring: Vec<u32>,
    scripted: Vec<ScriptedAction>,
    actions: Vec<ActionRecord>,
    mech: MechanismCounters,
    /// Scratch buffers for CPU sharing (no allocation per event).
    scratch_demand: Vec<f64>,
    scratch_share: Vec<f64>,
    /// The policy and its monitoring, if the scenario has one.
    control: Option<control::Control>,
    /// Per app, per tier: what starting a replica needs.
    tier_starts: Vec<Vec<replicas::TierStart>>,
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
    /// Runs to the horizon and returns what the users saw.
    pub fn run(mut self) -> RunOutput {
        let wall = Instant::now();
        self.run_until(self.horizon);
        let end = self.horizon;
        if end > self.last_report {
            self.report(end);
        }
        let wall_seconds = wall.elapsed().as_secs_f64();
        self.finish(wall_seconds)
    }

    /// Processes every event before `until` (at most the horizon); `run` finishes the run.
    /// Lets a caller inspect the world mid-run, or act on it between steps.
    pub fn run_until(&mut self, until: SimTime) {
        let until = until.min(self.horizon);
        while let Some(t) = self.q.peek_time() {
            if t >= until {
                break;
            }
            let (now, ev) = self.q.pop().expect("peeked");
            self.events += 1;
            self.dispatch(now, ev);
        }
    }

    /// Sessions pinned (by a sticky balancer) to the replica named `name` (`app.tier.k`).
    pub fn replica_sessions(&self, name: &str) -> Option<u64> {
        self.servers
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.pinned_sessions)
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
                self.check_invariants();
                let next = now.plus_ns(self.report_interval_ns);
                if next < self.horizon {
                    self.q.schedule(next, Event::Report);
                }
            }
            Event::WarmupEnd => self.on_warmup_end(now),
            Event::Scripted { index } => {
                self.on_scripted(now, index as usize);
                self.check_invariants();
            }
            Event::NodeBooted { node } => {
                self.on_node_booted(now, node);
                self.check_invariants();
            }
            Event::NodeOff { node } => {
                self.on_node_off(now, node);
                self.check_invariants();
            }
            Event::ReplicaReady { server } => {
                self.on_replica_ready(now, server);
                self.check_invariants();
            }
            Event::DrainTimeout { server } => {
                self.on_drain_timeout(now, server);
                self.check_invariants();
            }
            Event::MigrationRound { migration, gen } => {
                self.on_migration_round(now, migration, gen);
                self.check_invariants();
            }
            Event::MigrationResumed { migration } => {
                self.on_migration_resumed(now, migration);
                self.check_invariants();
            }
            Event::Control => {
                self.on_control(now);
                self.check_invariants();
            }
        }
    }

    /// The random stream of the `index`-th reconfiguration action: mechanisms draw from their
    /// own streams, never from the clients'.
    fn mechanism_rng(&self, index: usize) -> Rng {
        crate::engine::rng::stream(self.seed, "mechanism", index as u64, 0, 0)
    }

    /// The log of every reconfiguration action so far.
    pub fn actions(&self) -> &[ActionRecord] {
        &self.actions
    }
}
