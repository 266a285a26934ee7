//! The cluster's host while the request-level side (or the simulation) calls the cluster: the
//! event queue, through which the cluster schedules its own steps, and the servers, which hear
//! the CPU capacity their VMs are granted.

use super::entities::Server;
use crate::engine::{EventQueue, SimTime};
use crate::sim::cluster::{ClusterEvent, ClusterHost};
use crate::sim::events::Event;
use crate::sim::loads::VmLoad;

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
            VmLoad::Trace => {}
        }
    }
}
