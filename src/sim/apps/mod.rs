//! The request-level side of a run: applications, their tiers and the servers of their
//! replicas, the emulated clients and their sessions, and the requests in flight.
//!
//! A request is issued by a client, visits the tiers of its application in order (skipping those
//! where its demand is zero), and returns. Each tier's balancer picks a replica; each replica is
//! a processor-sharing server, dedicated, alone on a node (bare mode) or in a VM sharing its node
//! (virtualized mode). All random draws of a session (think times, choices, demands) come from
//! that session's own stream, so two runs of one seed face the very same users.
//!
//! [`Apps`] owns this state. It reaches the rest of the simulation only through an [`Env`]: the
//! event queue, and the cluster, told how many cores each server wants. Files: `entities` (the
//! types), `sessions` (clients, population, arrivals), `requests` (a request's way through the
//! tiers), `slab` (requests in flight), `stats` (what the users saw), `replicas` (a replica's
//! life cycle as the application sees it), `failures` (crashed servers), `rewind` (a server
//! whose VM resumed from a checkpoint), `availability`.

mod availability;
mod entities;
mod failures;
mod host;
mod replicas;
mod requests;
mod rewind;
mod sessions;
mod slab;
mod stats;

pub use availability::UpTime;
pub use entities::{App, Client, Host, Server, ServerState, Tier};
pub use slab::RequestSlab;
pub use stats::Seen;

use super::cluster::Cluster;
use super::events::Event;
use super::loads::VmLoad;
use crate::engine::{EventQueue, SimTime};
pub(crate) use host::Loads;

/// What the request-level side reaches of the rest of the simulation.
pub(crate) struct Env<'a> {
    pub q: &'a mut EventQueue<Event>,
    pub cluster: &'a mut Cluster,
    pub vm_loads: &'a [VmLoad],
}

/// The settings the request-level side runs with.
#[derive(Clone, Debug)]
pub(crate) struct AppsSettings {
    pub seed: u64,
    pub horizon: SimTime,
    pub warmup: SimTime,
    /// A client gives up on a request after this long (0: never).
    pub timeout_ns: u64,
    /// Response-time target of the SLA.
    pub target_ns: u64,
}

/// Counters of replica life cycles.
#[derive(Clone, Debug, Default)]
pub(crate) struct ReplicaCounters {
    pub started: u64,
    pub stopped: u64,
    /// Servers crashed (their process, or their node).
    pub failed: u64,
}

/// Applications, servers, clients and requests.
pub(crate) struct Apps {
    settings: AppsSettings,
    apps: Vec<App>,
    servers: Vec<Server>,
    clients: Vec<Client>,
    requests: RequestSlab,
    /// What all users saw, kept apart only when there are several applications (with one,
    /// the application's own figures are the totals: nothing is recorded twice).
    seen: Seen,
    several: bool,
    /// Whether a policy reads the applications' per-period statistics.
    measure_periods: bool,
    replicas: ReplicaCounters,
    /// Servers that stopped since the last [`Apps::take_stopped`] (a drain that ended).
    stopped: Vec<u32>,
}

impl Apps {
    pub fn new(
        settings: AppsSettings,
        apps: Vec<App>,
        servers: Vec<Server>,
        measure_periods: bool,
    ) -> Self {
        let max_tiers = apps.iter().map(|a| a.tiers.len()).max().unwrap_or(1);
        Apps {
            several: apps.len() > 1,
            measure_periods,
            settings,
            apps,
            servers,
            clients: Vec::new(),
            requests: RequestSlab::new(max_tiers),
            seen: Seen::default(),
            replicas: ReplicaCounters::default(),
            stopped: Vec::new(),
        }
    }

    // ---- reading ------------------------------------------------------------------------------

    pub fn apps(&self) -> &[App] {
        &self.apps
    }

    pub fn servers(&self) -> &[Server] {
        &self.servers
    }

    pub fn server(&self, s: u32) -> &Server {
        &self.servers[s as usize]
    }

    pub fn server_by_name(&self, name: &str) -> Option<u32> {
        self.servers
            .iter()
            .position(|s| s.name == name)
            .map(|i| i as u32)
    }

    /// What all users saw.
    pub fn seen(&self) -> &Seen {
        match &self.apps[..] {
            [only] => &only.seen,
            _ => &self.seen,
        }
    }

    pub fn replica_counters(&self) -> &ReplicaCounters {
        &self.replicas
    }

    /// Resets the current reporting interval's statistics, in total and per application.
    pub fn reset_interval(&mut self) {
        if self.several {
            self.seen.interval.reset();
        }
        for a in &mut self.apps {
            a.seen.interval.reset();
        }
    }

    /// Resets the current control period's statistics of every application.
    pub fn reset_period(&mut self) {
        for a in &mut self.apps {
            a.period.reset();
        }
    }

    /// Servers whose drain ended since the last call (their stop is done).
    pub fn take_stopped(&mut self) -> Vec<u32> {
        std::mem::take(&mut self.stopped)
    }

    /// Whether a drain ended since the last [`Apps::take_stopped`].
    #[inline]
    pub fn has_stopped(&self) -> bool {
        !self.stopped.is_empty()
    }

    // ---- the cluster ----------------------------------------------------------------------------

    /// A job arrived at or left server `s`: tell the cluster how many cores it now wants.
    #[inline]
    fn load_changed(&mut self, now: SimTime, s: u32, env: &mut Env<'_>) {
        let server = &self.servers[s as usize];
        let jobs = server.ps.jobs() as f64;
        let host = server.host;
        let mut h = Loads {
            q: env.q,
            servers: &mut self.servers,
            vm_loads: env.vm_loads,
        };
        match host {
            Host::Dedicated => {}
            Host::Node(n) => env.cluster.set_bare_want(now, n, jobs, &mut h),
            Host::Vm(v) => env.cluster.set_vm_want(now, v, jobs, &mut h),
        }
    }
}

impl Apps {
    /// The cluster's host while the simulation (not a request) calls the cluster.
    pub fn cluster_host<'a>(
        &'a mut self,
        q: &'a mut EventQueue<Event>,
        vm_loads: &'a [VmLoad],
    ) -> Loads<'a> {
        Loads {
            q,
            servers: &mut self.servers,
            vm_loads,
        }
    }

    /// Starts loading what `event` will touch first (its client, or its server): called for
    /// the next event while the current one runs. A hint: it changes no result.
    #[inline]
    pub fn prefetch_for(&self, event: &Event) {
        match *event {
            Event::ThinkDone { client, .. } => {
                if let Some(c) = self.clients.get(client as usize) {
                    crate::engine::prefetch::prefetch(c);
                }
            }
            Event::Departure { server, .. } => {
                if let Some(s) = self.servers.get(server as usize) {
                    crate::engine::prefetch::prefetch(s);
                }
            }
            _ => {}
        }
    }

    /// Brings server `s`'s integrals up to `now`: (busy core·ns, capacity core·ns).
    pub fn settle_server(&mut self, now: SimTime, s: u32) -> (f64, f64) {
        self.servers[s as usize].ps.busy_and_capacity(now)
    }
}
