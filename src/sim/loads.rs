//! What each VM carries, and how the cluster's CPU grants reach it.
//!
//! The cluster knows VMs only by number; this table says what runs in each (today the server of
//! a replica), and [`Loads`] is the [`ClusterHost`] through which the cluster schedules its own
//! events and tells a VM's load the capacity it is granted.

use super::apps::Server;
use super::cluster::{ClusterEvent, ClusterHost};
use super::events::Event;
use crate::engine::{EventQueue, SimTime};

/// The load a VM carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum VmLoad {
    /// The server of a replica (its index in `Apps::servers`).
    Replica(u32),
}

/// The cluster's host: the event queue and the servers its VMs run.
pub(crate) struct Loads<'a> {
    pub q: &'a mut EventQueue<Event>,
    pub servers: &'a mut [Server],
    pub vm_loads: &'a [VmLoad],
}

impl ClusterHost for Loads<'_> {
    #[inline]
    fn schedule(&mut self, at: SimTime, event: ClusterEvent) {
        self.q.schedule(at, Event::Cluster(event));
    }

    #[inline]
    fn vm_capacity_changed(&mut self, now: SimTime, vm: u32, cores: f64, speed: f64) {
        match self.vm_loads[vm as usize] {
            VmLoad::Replica(server) => {
                if let Some(w) = self.servers[server as usize]
                    .ps
                    .set_capacity(now, cores, speed)
                {
                    self.q
                        .schedule(w.at, Event::Departure { server, gen: w.gen });
                }
            }
        }
    }
}
