//! The simulated backend: builds the world from a scenario and runs it.
//!
//! A request is issued by a client, visits the tiers of its application in order (skipping those
//! where its demand is zero), and returns. Each tier's balancer picks a replica; each replica is a
//! processor-sharing server, dedicated, alone on a node (bare mode) or in a VM sharing its node
//! (virtualized mode). All random draws of a session (think times, choices, demands) come from
//! that session's own stream, so two runs of one seed face the very same users.
//!
//! The code is split by concern: `cluster` (nodes, VMs, CPU shares, NICs, migrations, power:
//! its own state behind a narrow interface), `clients` (sessions and requests), `actions` (the
//! reconfiguration actions and their log), `replicas` (start and stop), `control` (the policy's
//! loop), `invariants`, and `output` (reports).

mod actions;
mod build;
mod clients;
pub(crate) mod cluster;
mod control;
pub mod events;
mod invariants;
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
use cluster::{Cluster, ClusterEvent, ClusterHost};
use events::Event;
use requests::RequestSlab;
use std::time::Instant;
use world::{App, Client, Host, Server};

pub use actions::ActionRecord;
pub use output::NodeRow;

/// What starting and stopping replicas needs of the infrastructure settings.
pub(crate) struct ReplicaSettings {
    pub drain_timeout_ns: u64,
    pub vm_boot: Sampler,
}

/// Counters of restart-based reconfigurations and of actions.
#[derive(Clone, Debug, Default)]
pub(crate) struct MechanismCounters {
    pub replicas_started: u64,
    pub replicas_stopped: u64,
    pub actions_refused: u64,
    pub actions_failed: u64,
}

/// What the cluster reaches of the simulation: the event queue, and the servers its VMs run
/// (each told the CPU capacity its VM is granted).
pub(crate) struct Loads<'a> {
    q: &'a mut EventQueue<Event>,
    servers: &'a mut [Server],
    vm_server: &'a [u32],
}

impl ClusterHost for Loads<'_> {
    #[inline]
    fn schedule(&mut self, at: SimTime, event: ClusterEvent) {
        self.q.schedule(at, Event::Cluster(event));
    }

    #[inline]
    fn vm_capacity_changed(&mut self, now: SimTime, vm: u32, cores: f64, speed: f64) {
        let server = self.vm_server[vm as usize];
        if let Some(w) = self.servers[server as usize]
            .ps
            .set_capacity(now, cores, speed)
        {
            self.q
                .schedule(w.at, Event::Departure { server, gen: w.gen });
        }
    }
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
    /// Per node: (busy core·ns, joules) at the start of the current reporting interval.
    report_node_marks: Vec<(f64, f64)>,
    // ---- infrastructure and reconfiguration ----
    cluster: Cluster,
    /// The server each VM runs (indexed by VM).
    vm_server: Vec<u32>,
    replica_settings: Option<ReplicaSettings>,
    /// Replicas waiting for a node to boot before they deploy: (node, server), in order.
    boot_waiters: Vec<(u32, u32)>,
    scripted: Vec<ScriptedAction>,
    actions: Vec<ActionRecord>,
    mech: MechanismCounters,
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
            Event::Cluster(event) => {
                self.on_cluster_event(now, event);
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
            Event::Control => {
                self.on_control(now);
                self.check_invariants();
            }
        }
    }

    /// Runs `f` on the cluster, with the queue and the servers as its host.
    #[inline]
    fn with_cluster<R>(&mut self, f: impl FnOnce(&mut Cluster, &mut Loads<'_>) -> R) -> R {
        let mut host = Loads {
            q: &mut self.q,
            servers: &mut self.servers,
            vm_server: &self.vm_server,
        };
        f(&mut self.cluster, &mut host)
    }

    /// A job arrived at or left server `s`: tell the cluster what it now wants.
    #[inline]
    pub(super) fn server_load_changed(&mut self, now: SimTime, s: u32) {
        let server = &self.servers[s as usize];
        let jobs = server.ps.jobs() as f64;
        match server.host {
            Host::Dedicated => {}
            Host::Node(n) => self.with_cluster(|c, h| c.set_bare_want(now, n, jobs, h)),
            Host::Vm(v) => self.with_cluster(|c, h| c.set_vm_want(now, v, jobs, h)),
        }
    }

    /// The node a server runs on, if any.
    pub(super) fn node_of_server(&self, s: u32) -> Option<u32> {
        match self.servers[s as usize].host {
            Host::Dedicated => None,
            Host::Node(n) => Some(n),
            Host::Vm(v) => Some(self.cluster.vm(v).node),
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
