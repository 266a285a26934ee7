//! The simulated backend: builds the world from a scenario and runs it.
//!
//! A [`Simulation`] is a composition of subsystems, each owning its state behind a narrow
//! interface, tied together by one event queue:
//!
//! - `cluster`: nodes, VMs, CPU shares, NICs, migrations, power (it does not know what a VM
//!   runs);
//! - `apps`: applications, replicas' servers, clients, sessions and requests (it reaches the
//!   cluster only to say how many cores a server wants);
//! - `loads`: which load each VM carries, and how the cluster's CPU grants reach it;
//! - `control`: the policy's loop, the view it decides on;
//! - `actions`: the reconfiguration actions and their log; `replicas`: starting and stopping a
//!   replica, which involves the cluster, the application and the log; `repair`: restarting
//!   a failed replica or a lost VM;
//! - `faults`: node and server crashes, their consequences and their repair;
//! - `output`: the reports (time series, node rows, the summary, the faults);
//! - `invariants`: what must hold after every reconfiguration.

mod actions;
mod apps;
mod build;
pub(crate) mod cluster;
mod control;
pub mod events;
mod faults;
mod first_fit;
mod invariants;
mod loads;
mod output;
mod repair;
mod replicas;
mod traces;

use crate::engine::{EventQueue, Rng, SimTime};
use crate::report::RunOutput;
use crate::scenario::schema::{Profile, ScriptedAction};
use crate::workload::profile::LoadCurve;
use actions::ActionLog;
use apps::Loads;
use apps::{Apps, Env};
use cluster::Cluster;
use events::Event;
use loads::VmLoad;
use std::time::Instant;

pub use actions::ActionRecord;
pub use output::NodeRow;

/// A simulation: a value that owns its whole world. Many run in parallel threads.
pub struct Simulation {
    q: EventQueue<Event>,
    seed: u64,
    scenario_name: String,
    horizon: SimTime,
    events: u64,
    cluster: Cluster,
    apps: Apps,
    /// What each VM carries (indexed by VM).
    vm_loads: Vec<VmLoad>,
    log: ActionLog,
    starts: replicas::Starts,
    /// What waits for a node to boot (replica starts, migrations, placements).
    boot_waits: actions::BootWaits,
    traces: traces::Traces,
    scripted: Vec<ScriptedAction>,
    /// The policy and its monitoring, if the scenario has one.
    control: Option<control::Control>,
    /// Faults to inject and what they broke.
    faults: faults::Faults,
    report: output::Reporter,
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

/// Events at one simulated instant beyond which a run is taken to be stuck: simulated time
/// would stand still. The largest legitimate bursts (every client of a large population starting
/// at once) are orders of magnitude smaller.
pub const STALL_EVENTS: u64 = 10_000_000;

/// A run that made no progress in simulated time over [`STALL_EVENTS`] events.
#[derive(Clone, Debug, PartialEq)]
pub struct Stalled {
    /// The instant it was stuck at, in seconds.
    pub at_s: f64,
    pub events: u64,
}

impl std::fmt::Display for Stalled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the simulation made no progress: {} events at t = {} s without simulated time \
             advancing (a zero think time with zero demands, or timeouts and periods too short \
             for the clock's 1 ns resolution?)",
            self.events, self.at_s
        )
    }
}

impl std::error::Error for Stalled {}

impl Simulation {
    /// Runs to the horizon and returns what the users saw. Panics if the run stalls (see
    /// [`Simulation::try_run`]).
    pub fn run(self) -> RunOutput {
        self.try_run().unwrap_or_else(|e| panic!("{e}"))
    }

    /// Runs to the horizon; stops with [`Stalled`] if simulated time stands still.
    pub fn try_run(self) -> Result<RunOutput, Stalled> {
        self.try_run_with_progress(1, |_| {})
    }

    /// [`Simulation::try_run`] in `steps` equal slices of simulated time, calling `progress`
    /// with the fraction done after each (a progress bar); the outputs are the same whatever
    /// `steps` is.
    pub fn try_run_with_progress(
        mut self,
        steps: u32,
        mut progress: impl FnMut(f64),
    ) -> Result<RunOutput, Stalled> {
        let wall = Instant::now();
        let steps = steps.max(1);
        let horizon_ns = self.horizon.0;
        for k in 1..=steps {
            let until = SimTime((horizon_ns as u128 * k as u128 / steps as u128) as u64);
            self.try_run_until(if k == steps { self.horizon } else { until })?;
            progress(k as f64 / steps as f64);
        }
        let end = self.horizon;
        if end > self.report.last {
            self.on_report(end);
        }
        let wall_seconds = wall.elapsed().as_secs_f64();
        Ok(self.finish(wall_seconds))
    }

    /// Processes every event before `until` (at most the horizon); `run` finishes the run.
    /// Lets a caller inspect the world mid-run, or act on it between steps. Panics if the run
    /// stalls.
    pub fn run_until(&mut self, until: SimTime) {
        self.try_run_until(until).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Simulation::run_until`], stopping with [`Stalled`] if simulated time stands still.
    pub fn try_run_until(&mut self, until: SimTime) -> Result<(), Stalled> {
        let until = until.min(self.horizon);
        let (mut instant, mut at_instant) = (SimTime::ZERO, 0u64);
        while let Some((now, ev)) = self.q.pop_before(until) {
            self.events += 1;
            if now == instant {
                at_instant += 1;
                if at_instant > STALL_EVENTS {
                    return Err(Stalled {
                        at_s: now.as_secs(),
                        events: at_instant,
                    });
                }
            } else {
                (instant, at_instant) = (now, 1);
                if now > SimTime::ZERO {
                    self.cluster.clock_left_start();
                }
            }
            // The next event's client or server, most likely not in cache, loads while this
            // one runs.
            if let Some(next) = self.q.peek_hint() {
                self.apps.prefetch_for(next);
            }
            self.dispatch(now, ev);
        }
        Ok(())
    }

    /// Sessions pinned (by a sticky balancer) to the replica named `name` (`app.tier.k`).
    pub fn replica_sessions(&self, name: &str) -> Option<u64> {
        self.apps
            .server_by_name(name)
            .map(|s| self.apps.server(s).pinned_sessions)
    }

    fn dispatch(&mut self, now: SimTime, ev: Event) {
        match ev {
            Event::ThinkDone { client, epoch } => {
                let (apps, mut env) = self.split();
                apps.on_think_done(now, client, epoch, &mut env);
            }
            Event::Departure { server, gen } => {
                let (apps, mut env) = self.split();
                apps.on_departure(now, server, gen, &mut env);
            }
            Event::Timeout { request } => {
                let (apps, mut env) = self.split();
                apps.on_timeout(now, request, &mut env);
            }
            Event::PopulationChange { app } => {
                let (apps, mut env) = self.split();
                apps.on_population_change(now, app, &mut env);
            }
            Event::Arrival { app } => {
                let (apps, mut env) = self.split();
                apps.on_arrival(now, app, &mut env);
            }
            Event::Report => {
                self.on_report(now);
                self.check_invariants();
                let next = now.plus_ns(self.report.interval_ns);
                if next < self.horizon {
                    self.q.schedule(next, Event::Report);
                }
            }
            Event::WarmupEnd => self.on_warmup_end(now),
            Event::Scripted { index } => {
                self.on_scripted(now, index as usize);
                self.check_invariants_after_event();
            }
            Event::Cluster(event) => {
                self.on_cluster_event(now, event);
                self.check_invariants_after_event();
            }
            Event::ReplicaReady { server, epoch } => {
                self.on_replica_ready(now, server, epoch);
                self.check_invariants_after_event();
            }
            Event::DrainTimeout { server } => {
                let (apps, mut env) = self.split();
                apps.on_drain_timeout(now, server, &mut env);
                self.check_invariants_after_event();
            }
            Event::Control => {
                self.on_control(now);
                self.check_invariants_after_event();
            }
            Event::InitialPlacement => {
                self.decide(now);
                self.check_invariants_after_event();
            }
            Event::TraceUpdate { group } => {
                let mut host = self.apps.cluster_host(&mut self.q, &self.vm_loads);
                let next = self.traces.update(now, group, &mut self.cluster, &mut host);
                if next < self.horizon {
                    self.q.schedule(next, Event::TraceUpdate { group });
                }
                self.check_invariants_after_event();
            }
            Event::TraceVmReady { vm, action } => {
                self.on_trace_vm_ready(now, vm, action as usize);
                self.check_invariants_after_event();
            }
            Event::Fault(event) => {
                self.on_fault_event(now, event.unpack());
                self.check_invariants_after_event();
            }
        }
        if self.apps.has_stopped() {
            self.log_stopped_replicas(now);
        }
    }

    /// The request-level side and what it reaches of the rest.
    #[inline]
    fn split(&mut self) -> (&mut Apps, Env<'_>) {
        (
            &mut self.apps,
            Env {
                q: &mut self.q,
                cluster: &mut self.cluster,
                vm_loads: &self.vm_loads,
            },
        )
    }

    /// Runs `f` on the cluster, with the queue and the VMs' loads as its host.
    #[inline]
    fn with_cluster<R>(&mut self, f: impl FnOnce(&mut Cluster, &mut Loads<'_>) -> R) -> R {
        let mut host = self.apps.cluster_host(&mut self.q, &self.vm_loads);
        f(&mut self.cluster, &mut host)
    }

    /// The node a server runs on, if any.
    fn node_of_server(&self, s: u32) -> Option<u32> {
        match self.apps.server(s).host {
            apps::Host::Dedicated => None,
            apps::Host::Node(n) => Some(n),
            apps::Host::Vm(v) => self.cluster.vm(v).node,
        }
    }

    /// The random stream of the `index`-th reconfiguration action: mechanisms draw from their
    /// own streams, never from the clients'.
    fn mechanism_rng(&self, index: usize) -> Rng {
        crate::engine::rng::stream(self.seed, "mechanism", index as u64, 0, 0)
    }

    /// The log of every reconfiguration action so far.
    pub fn actions(&self) -> &[ActionRecord] {
        self.log.records()
    }
}
