//! The request-level entities: applications, tiers, the servers of their replicas, clients. They
//! live in `Vec` arenas of [`Apps`](super::Apps), addressed by plain indices.

use super::availability::UpTime;
use super::stats::Seen;
use crate::engine::Rng;
use crate::model::balancer::LoadBalancer;
use crate::model::PsServer;
use crate::report::metrics::ResponseStats;
use crate::scenario::schema::LoopKind;
use crate::workload::distribution::Sampler;
use crate::workload::mix::{Mix, Walker};
use crate::workload::profile::LoadCurve;
use smallvec::SmallVec;
use std::sync::Arc;

/// Marks "no replica pinned" in a client's sticky table.
pub const NO_SERVER: u32 = u32::MAX;

/// A replica of a tier.
pub struct Server {
    /// `app.tier.k`, k counting the tier's replicas from 0 in order of creation.
    pub name: String,
    pub ps: PsServer,
    pub app: u16,
    pub tier: u16,
    pub host: Host,
    pub state: ServerState,
    /// Sessions pinned to this replica by a sticky balancer.
    pub pinned_sessions: u64,
    /// Bumped by every crash: a start begun before it no longer ends.
    pub epoch: u32,
}

pub struct Tier {
    pub name: String,
    /// Server indices of the replicas currently behind the balancer.
    pub servers: Vec<u32>,
    /// Replicas created so far (names `app.tier.k` use this counter).
    pub created: u32,
    pub balancer: LoadBalancer,
    /// Time with at least one replica behind the balancer.
    pub availability: UpTime,
}

pub struct App {
    pub name: String,
    pub loop_kind: LoopKind,
    pub mix: Arc<Mix>,
    pub tiers: Vec<Tier>,
    pub think: Sampler,
    pub max_transitions: u32,
    pub curve: LoadCurve,
    /// `demand[interaction * tiers + tier]`.
    pub demand: Vec<Sampler>,
    /// Closed loop: client index (in `Apps::clients`) of this app's client number i.
    pub population: Vec<u32>,
    /// Closed loop: the number of clients the profile asks for now.
    pub target: u32,
    /// Clients in the loop now (closed: active and not yet stopped; open: visitors present).
    pub in_loop: u64,
    /// Open loop: the arrival process's stream, the number of arrivals so far, and free
    /// visitor slots for reuse.
    pub arrivals: Rng,
    pub arrivals_so_far: u64,
    pub free_visitors: Vec<u32>,
    /// What this application's users saw.
    pub seen: Seen,
    /// Response times of the current control period (reset by each view of the policy).
    pub period: ResponseStats,
    /// Time with every tier available.
    pub availability: UpTime,
}

impl App {
    #[inline]
    pub fn demand(&self, interaction: usize, tier: usize) -> &Sampler {
        &self.demand[interaction * self.tiers.len() + tier]
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientState {
    /// Not in the loop (closed: beyond the current population; open: a free visitor slot).
    Idle,
    /// Waiting for the end of a think time (a `ThinkDone` event is pending).
    Thinking,
    /// Waiting for a response.
    Waiting,
}

/// Sticky pins kept inside the client itself: one per tier, for applications of up to this many
/// tiers (RUBiS has three); more tiers move the pins to the heap.
pub const STICKY_INLINE: usize = 4;

/// An emulated user (closed loop) or a visitor (open loop).
///
/// Each request reads and writes most of its client (state, stream, walker, sticky pins), and a
/// large population's clients are visited in random order, so in a run of tens of thousands of
/// clients the client is not in cache. Everything a request needs therefore lives inline, with no
/// heap buffer to chase (the walker's back stack and the sticky pins are inline small vectors),
/// and a client is aligned on a 64-byte cache line: its two lines are one aligned block whose
/// misses are issued together, instead of three or four dependent misses (the client, then its
/// pins, then its back stack), which made the cost per event grow with the population.
#[repr(align(64))]
pub struct Client {
    pub app: u16,
    /// Closed: the client number in its app. Open: the arrival number.
    pub number: u64,
    pub state: ClientState,
    /// Leave the loop at the next opportunity (the population shrank).
    pub stop: bool,
    /// Sessions this client has started.
    pub sessions: u64,
    /// The current session's random stream: its think times, choices and demands.
    pub rng: Rng,
    pub walker: Walker,
    /// The interaction to request when the think time ends (`None`: the session has ended).
    pub next: Option<u16>,
    /// Per tier, the replica (server index) this session is pinned to by a sticky balancer.
    pub sticky: SmallVec<[u32; STICKY_INLINE]>,
    /// Bumped whenever a pending `ThinkDone` must be ignored.
    pub epoch: u32,
    /// The session's state was lost (its replica stopped): the next step starts a new session.
    pub session_lost: bool,
}

/// Where a server runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Host {
    /// No infrastructure model: a dedicated server of the tier's `cores`.
    Dedicated,
    /// Alone on a node (bare mode).
    Node(u32),
    /// In a VM (virtualized mode).
    Vm(u32),
}

/// Life cycle of a replica.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerState {
    /// Being deployed and started (node boot, deploy, data copy, VM boot, server start).
    Starting,
    /// Behind the load balancer.
    Active,
    /// Out of the balancer for new sessions; serving its pinned sessions until they end.
    Draining,
    /// Gone.
    Stopped,
    /// Crashed (its process, or its node): out of the balancer, serving nothing, until it is
    /// repaired in place or restarted.
    Failed,
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_client_is_two_cache_lines() {
        // A request touches its whole client: keep it to one aligned 128-byte block.
        assert_eq!(std::mem::align_of::<super::Client>(), 64);
        assert!(
            std::mem::size_of::<super::Client>() <= 128,
            "{}",
            std::mem::size_of::<super::Client>()
        );
    }
}
