//! The events of the simulated backend: a compact enum dispatched by `match`.

use super::cluster::ClusterEvent;
use super::faults::PackedFault;

/// A request in flight, as events and servers refer to it: its slot in the requests' slab and
/// the slot's generation when the reference was taken (a stale reference is recognised).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestRef {
    pub slot: u32,
    pub gen: u32,
}

impl RequestRef {
    /// The opaque token a server carries for this request.
    #[inline]
    pub fn token(self) -> u64 {
        (u64::from(self.gen) << 32) | u64::from(self.slot)
    }

    #[inline]
    pub fn from_token(token: u64) -> Self {
        RequestRef {
            slot: token as u32,
            gen: (token >> 32) as u32,
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub enum Event {
    /// A client's think time is over: it issues its next request (or starts a session).
    ThinkDone { client: u32, epoch: u32 },
    /// A server's departure check (see `PsServer`).
    Departure { server: u32, gen: u32 },
    /// A client gives up waiting for a request.
    Timeout { request: RequestRef },
    /// The closed-loop population of an app may change now.
    PopulationChange { app: u16 },
    /// A candidate session arrival of an open-loop app (thinned Poisson process).
    Arrival { app: u16 },
    /// End of a reporting interval.
    Report,
    /// End of warm-up: statistics start.
    WarmupEnd,
    /// A scripted action (index in the scenario's `actions`) is due.
    Scripted { index: u32 },
    /// One of the cluster's own steps (a boot, a shutdown, a migration round).
    Cluster(ClusterEvent),
    /// A starting replica is ready to join its balancer (unless it crashed since it started:
    /// `epoch` is the server's crash count then).
    ReplicaReady { server: u32, epoch: u32 },
    /// A draining replica waited long enough: it stops now.
    DrainTimeout { server: u32 },
    /// The policy's control period ends: it sees the view and acts.
    Control,
    /// VMs not placed yet are offered to the policy (time 0).
    InitialPlacement,
    /// A trace-driven VM restarted from its image (by `action`) has booted: its trace drives it
    /// again.
    TraceVmReady { vm: u32, action: u32 },
    /// A group of trace-driven VMs reads its traces: their demands change.
    TraceUpdate { group: u32 },
    /// A fault strikes, or a repair ends.
    Fault(PackedFault),
}

#[cfg(test)]
mod tests {
    #[test]
    fn events_stay_small() {
        // The queue moves events around on every push and pop: keep them to 12 bytes.
        assert!(
            std::mem::size_of::<super::Event>() <= 12,
            "{}",
            std::mem::size_of::<super::Event>()
        );
    }
}
