//! What the SLA figures of a datacenter are computed from: for each VM, its demand and its
//! grant over time; for each node, the time it is active and the time it violates the SLA.
//!
//! The definitions are CloudSim's (Beloglazov & Buyya, CCPE 2012, as `Helper.printResults`
//! computes them), in reconf's terms:
//! - a node is **active** while it is not off and uses some CPU;
//! - it **violates** the SLA while some VM on it gets less CPU than it asks for (including a VM
//!   asking for more than its vCPUs can get from the node's cores), or, with the `simple`
//!   migration model, while a VM migrates to it (CloudSim counts the incoming VM's full request
//!   against the 10% the destination grants it);
//! - SLATAH = Σ violation time / Σ active time over nodes (a pooled ratio, as CloudSim's code);
//! - PDM = Σ over VMs of the CPU they asked for but did not get while migrating away (source
//!   side) / Σ of the CPU they asked for (CPU units × time);
//! - unmet demand = ∫ (demand − grant)⁺ dt over VMs, in core-hours of the nodes they ran on.
//!
//! Integrals count only from the start of the measurement window (after warm-up).

use crate::engine::SimTime;

/// One VM's demand and grant, in CPU units (cores × speed), piecewise constant. `repr(C)`:
/// what every update reads first, the integrals after (see [`super::Vm`]'s layout).
#[derive(Clone, Debug, Default)]
#[repr(C)]
pub(crate) struct VmSla {
    /// Current demand (uncapped) and grant, and its node's speed.
    demand: f64,
    granted: f64,
    speed: f64,
    /// Migrating away: a shortfall now counts as performance degradation due to migration.
    migrating: bool,
    /// The node whose count of VMs short of CPU includes this VM, if it is short.
    pub counted_on: Option<u32>,
    since: SimTime,
    /// ∫ demand dt and ∫ grant dt in CPU units · ns; ∫ unmet dt in core · ns; ∫ unmet while
    /// migrating, in CPU units · ns.
    pub demand_ns: f64,
    pub granted_ns: f64,
    pub unmet_core_ns: f64,
    pub migration_unmet_ns: f64,
    /// ∫ granted cores dt from the start of the run (not windowed), in core · ns: what a probe
    /// of the VM's CPU use measures.
    pub granted_core_ns_all: f64,
}

/// A shortfall smaller than this (CPU units) is rounding, not unmet demand.
pub(super) const SHORT_EPS: f64 = 1e-9;

impl VmSla {
    /// Integrates up to `now`, counting only what lies after `from`.
    pub fn settle(&mut self, now: SimTime, from: SimTime) {
        if now > self.since && self.speed > 0.0 {
            self.granted_core_ns_all += self.granted / self.speed * now.since(self.since) as f64;
        }
        let start = self.since.max(from);
        if now > start {
            let dt = now.since(start) as f64;
            self.demand_ns += self.demand * dt;
            self.granted_ns += self.granted * dt;
            let unmet = self.demand - self.granted;
            if unmet > SHORT_EPS {
                if self.speed > 0.0 {
                    self.unmet_core_ns += unmet / self.speed * dt;
                }
                if self.migrating {
                    self.migration_unmet_ns += unmet * dt;
                }
            }
        }
        self.since = self.since.max(now);
    }

    /// From `now` on the VM asks for `demand` and gets `granted` on a node of `speed`.
    /// Returns whether it is short of CPU now.
    pub fn set(
        &mut self,
        now: SimTime,
        from: SimTime,
        demand: f64,
        granted: f64,
        speed: f64,
        migrating: bool,
    ) -> bool {
        self.settle(now, from);
        self.demand = demand;
        self.granted = granted;
        self.speed = speed;
        self.migrating = migrating;
        self.is_short()
    }

    #[inline]
    pub fn is_short(&self) -> bool {
        self.demand - self.granted > SHORT_EPS
    }

    pub fn demand(&self) -> f64 {
        self.demand
    }

    pub fn granted(&self) -> f64 {
        self.granted
    }
}

/// One node's activity and SLA violation over time.
#[derive(Clone, Debug, Default)]
pub(crate) struct NodeSla {
    /// VMs on it short of CPU now, and VMs migrating to it (simple model) that ask for CPU.
    pub short_vms: u32,
    pub incoming_asking: u32,
    active: bool,
    violating: bool,
    since: SimTime,
    /// When it last became active (0 at the start of the run: every node counts as active
    /// then, as in CloudSim).
    active_since: SimTime,
    pub active_ns: u64,
    pub violation_ns: u64,
    /// Transitions from active to inactive in the measurement window, and the time each
    /// followed the node's last becoming active, summed.
    pub shutdowns: u64,
    pub time_before_shutdown_ns: u64,
}

impl NodeSla {
    pub fn new(active: bool) -> Self {
        NodeSla {
            active,
            ..Default::default()
        }
    }

    pub fn settle(&mut self, now: SimTime, from: SimTime) {
        let start = self.since.max(from);
        if now > start {
            let dt = now.since(start);
            if self.active {
                self.active_ns += dt;
                if self.violating {
                    self.violation_ns += dt;
                }
            }
        }
        self.since = self.since.max(now);
    }

    /// The node is active or not from `now` on; its violation follows its counters.
    pub fn update(&mut self, now: SimTime, from: SimTime, active: bool) {
        let violating = active && (self.short_vms > 0 || self.incoming_asking > 0);
        if active == self.active && violating == self.violating {
            return;
        }
        self.settle(now, from);
        if self.active && !active {
            if now >= from {
                self.shutdowns += 1;
                self.time_before_shutdown_ns += now.since(self.active_since);
            }
        } else if !self.active && active {
            self.active_since = now;
        }
        self.active = active;
        self.violating = violating;
    }

    /// The measurement window starts at `now`: a node inactive then counts one shutdown, at the
    /// window's start, after having been active since the start of the run (CloudSim's
    /// convention: every host starts "active").
    pub fn start_measuring(&mut self, now: SimTime) {
        if !self.active {
            self.shutdowns += 1;
            self.time_before_shutdown_ns += now.since(SimTime::ZERO);
        }
    }
}

/// The SLA integrals of a whole cluster at one instant (see the module doc).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct SlaTotals {
    pub active_ns: u64,
    pub violation_ns: u64,
    pub demand_ns: f64,
    pub migration_unmet_ns: f64,
    pub unmet_core_ns: f64,
    pub shutdowns: u64,
    pub time_before_shutdown_ns: u64,
    /// Nodes active now.
    pub active_nodes: u64,
}

impl SlaTotals {
    /// SLA violation time per active host (fraction).
    pub fn slatah(&self) -> f64 {
        ratio(self.violation_ns as f64, self.active_ns as f64)
    }

    /// Performance degradation due to migrations (fraction).
    pub fn pdm(&self) -> f64 {
        ratio(self.migration_unmet_ns, self.demand_ns)
    }

    /// What accrued between `earlier` and `self`.
    pub fn since(&self, earlier: &SlaTotals) -> SlaTotals {
        SlaTotals {
            active_ns: self.active_ns - earlier.active_ns,
            violation_ns: self.violation_ns - earlier.violation_ns,
            demand_ns: self.demand_ns - earlier.demand_ns,
            migration_unmet_ns: self.migration_unmet_ns - earlier.migration_unmet_ns,
            unmet_core_ns: self.unmet_core_ns - earlier.unmet_core_ns,
            shutdowns: self.shutdowns - earlier.shutdowns,
            time_before_shutdown_ns: self.time_before_shutdown_ns - earlier.time_before_shutdown_ns,
            active_nodes: self.active_nodes,
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
