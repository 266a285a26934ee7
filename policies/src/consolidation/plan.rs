//! The tentative state a consolidation round works on, as CloudSim's allocation policy does
//! (it creates and destroys VMs on hosts while it plans, then restores the real allocation):
//! per host its VM list, allocated and requested CPU, free RAM, and its utilisation at the
//! round's start; per VM its request. Built from the view at each round into reused buffers.

use super::history::{host_history, VmHistories};
use super::overload::Detector;
use crate::api::{NodeState, View, VmId};

/// One round's tentative allocation.
#[derive(Default)]
pub struct Plan {
    /// Per host: capacity `C_h` and per-core capacity `c_h` (CPU units).
    pub capacity: Vec<f64>,
    pub core: Vec<f64>,
    /// CPU allocated to its VMs now (their grants at the round's start, plus the requests of VMs
    /// tentatively placed since): what the suitability test and the power estimate use.
    pub allocated: Vec<f64>,
    /// Its VMs' requests summed (uncapped): what the overload detectors see.
    pub requested: Vec<f64>,
    /// Utilisation at the round's start (grants over capacity): the base of PABFD's power
    /// difference, and how the underload step ranks hosts.
    pub start_utilisation: Vec<f64>,
    pub free_ram_mb: Vec<f64>,
    pub nic_mbps: Vec<f64>,
    /// Whether it may receive VMs at all (not shutting down).
    pub usable: Vec<bool>,
    /// Its VMs, in arrival order (tentative arrivals appended).
    pub vms: Vec<Vec<VmId>>,
    /// Per VM: its request (CPU units), and its RAM.
    pub request: Vec<f64>,
    pub ram_mb: Vec<f64>,
    pub cpu_max: Vec<f64>,
    /// Undo log of the tentative placements: (host, allocated, requested, free RAM).
    undo: Vec<(u32, f64, f64, f64)>,
}

/// A RAM shortfall smaller than this (MB) is rounding (the simulator's own tolerance).
pub(crate) const RAM_EPS_MB: f64 = 1e-9;

impl Plan {
    /// Rebuilds the plan from `view`: VMs placed where they are, requests their current demands.
    pub fn rebuild(&mut self, view: &View) {
        let n = view.nodes.len();
        self.capacity.clear();
        self.core.clear();
        self.allocated.clear();
        self.requested.clear();
        self.start_utilisation.clear();
        self.free_ram_mb.clear();
        self.nic_mbps.clear();
        self.usable.clear();
        self.vms.resize_with(n, Vec::new);
        self.undo.clear();
        self.request.clear();
        self.ram_mb.clear();
        self.cpu_max.clear();
        for vm in &view.vms {
            self.request
                .push(if vm.alive { vm.cpu_demand } else { 0.0 });
            self.ram_mb.push(vm.ram_mb);
            self.cpu_max.push(vm.cpu_max);
        }
        for (h, node) in view.nodes.iter().enumerate() {
            let list = &mut self.vms[h];
            list.clear();
            let (mut granted, mut requested) = (0.0, 0.0);
            for &v in &node.vms {
                let vm = view.vm(v);
                if vm.alive && vm.node == Some(node.id) {
                    list.push(v);
                    granted += vm.cpu_granted;
                    requested += vm.cpu_demand;
                }
            }
            let cap = node.capacity();
            self.capacity.push(cap);
            self.core.push(node.speed);
            self.allocated.push(granted);
            self.requested.push(requested);
            self.start_utilisation
                .push(if cap > 0.0 { granted / cap } else { 0.0 });
            self.free_ram_mb.push(node.free_ram_mb);
            self.nic_mbps.push(node.nic_mbps);
            self.usable
                .push(matches!(node.state, NodeState::On | NodeState::Off));
        }
    }

    pub fn hosts(&self) -> usize {
        self.capacity.len()
    }

    /// Whether host `h` has VM `v`'s RAM free (CPU suitability is PABFD's, in fixed point).
    #[inline]
    pub fn fits_ram(&self, h: usize, v: VmId) -> bool {
        self.free_ram_mb[h] + RAM_EPS_MB >= self.ram_mb[v.index()]
    }

    /// Places VM `v` tentatively on `h` with request `r` (counted in the host's requests if
    /// `counts_request`: a VM created at t = 0 requests nothing until its load arrives).
    pub fn add(&mut self, h: usize, v: VmId, r: f64, counts_request: bool) {
        self.undo.push((
            h as u32,
            self.allocated[h],
            self.requested[h],
            self.free_ram_mb[h],
        ));
        self.allocated[h] += r;
        if counts_request {
            self.requested[h] += r;
        }
        self.free_ram_mb[h] -= self.ram_mb[v.index()];
        self.vms[h].push(v);
    }

    /// How many tentative placements there are (a mark to undo back to).
    pub fn mark(&self) -> usize {
        self.undo.len()
    }

    /// Undoes the tentative placements made since `mark`, newest first; returns the hosts
    /// touched.
    pub fn undo_to(&mut self, mark: usize, touched: &mut Vec<usize>) {
        while self.undo.len() > mark {
            let (h, a, r, f) = self.undo.pop().expect("non-empty");
            let h = h as usize;
            self.allocated[h] = a;
            self.requested[h] = r;
            self.free_ram_mb[h] = f;
            self.vms[h].pop();
            touched.push(h);
        }
    }

    /// Removes VM `v` from host `h` (selection from an overloaded host): its request leaves the
    /// host's requests (summed again over the VMs left, as CloudSim re-reads them).
    pub fn remove(&mut self, h: usize, v: VmId) {
        self.vms[h].retain(|&w| w != v);
        self.requested[h] = self.vms[h]
            .iter()
            .map(|w| self.request[w.index()])
            .fold(0.0, |a, x| a + x);
        self.free_ram_mb[h] += self.ram_mb[v.index()];
    }

    /// Whether `detector` says host `h` is overloaded with its VMs now, plus `extra` (a VM
    /// tentatively added, with its request) if given. `scratch` holds the host history.
    pub fn overloaded(
        &self,
        h: usize,
        extra: Option<(VmId, f64)>,
        detector: &Detector,
        hist: &VmHistories,
        scratch: &mut Vec<f64>,
    ) -> bool {
        let cap = self.capacity[h];
        let u = (self.requested[h] + extra.map_or(0.0, |(_, r)| r)) / cap;
        let vms = self.vms[h].iter().copied().chain(extra.map(|(v, _)| v));
        if detector.needs_history() {
            host_history(
                hist,
                vms.clone().map(|v| (v, self.cpu_max[v.index()])),
                cap,
                scratch,
            );
        } else {
            scratch.clear();
        }
        // Longest migration of its VMs: RAM over half the NIC (CloudSim's `BW / 2`).
        let nic = self.nic_mbps[h];
        let max_migration_s = if nic > 0.0 {
            vms.map(|v| self.ram_mb[v.index()] * 16.0 / nic)
                .fold(0.0, f64::max)
        } else {
            0.0
        };
        detector.overloaded(u, scratch, max_migration_s)
    }
}
