//! A virtual machine as the cluster sees it: its size, where it is, the CPU it wants and the
//! CPU it is granted. What runs inside (a replica's server, a utilisation trace) is not the
//! cluster's business: its load tells it how much CPU it wants and hears what it gets.

use super::sla::VmSla;

/// What a new VM is made of.
#[derive(Clone, Debug)]
pub struct VmSpec {
    pub name: String,
    pub vcpus: f64,
    pub ram_mb: f64,
    /// Memory dirtied per second whatever the VM does, in MB/s.
    pub dirty_mb_per_s: f64,
    /// Memory dirtied per second per core of CPU the VM uses, in MB/s.
    pub dirty_mb_per_cpu_s: f64,
    /// `Some(capacity)`: its load states its demand in CPU units (cores × speed), up to this
    /// nominal capacity (a trace VM of a CloudSim type: 2500 MIPS). `None`: in cores (a
    /// replica's server: its jobs in service), whatever the node's speed.
    pub capacity: Option<f64>,
    /// Protected by continuous checkpointing (when the scenario has it).
    pub checkpointed: bool,
}

/// A VM. Read-only outside the cluster module.
///
/// Laid out by hand (`repr(C)`, cache-line aligned): the fields a CPU rebalance reads for every
/// VM of a node come first, then its SLA accounting, then what only migrations, failures and
/// reports read. A datacenter's VMs are scattered in memory (a node's VMs are any ids), so
/// each VM a rebalance touches costs cache misses: three lines instead of four or five.
#[repr(C, align(64))]
pub struct Vm {
    /// What its load wants, as last told: cores, or CPU units if `capacity` is set.
    pub(super) want: f64,
    pub vcpus: f64,
    /// See [`VmSpec::capacity`].
    pub capacity: Option<f64>,
    /// Cores the VM is granted now (its share of the node, hypervisor overhead excluded).
    pub share_cores: f64,
    /// Its CPU demand in node cores (hypervisor overhead included) as of the last update.
    pub(super) demand: f64,
    /// The node it runs on; `None` while not placed yet.
    pub node: Option<u32>,
    /// Set while a live migration to that node runs.
    pub migrating_to: Option<u32>,
    /// Stopped for a migration's stop-and-copy and resume: runs nothing.
    pub paused: bool,
    /// Its guest is still being set up (its load is not running yet): it wants no CPU and
    /// cannot migrate.
    pub starting: bool,
    /// False once the VM was destroyed.
    pub alive: bool,
    /// The capacity its load was last told it has: (cores, speed of one core).
    pub(super) granted: (f64, f64),
    /// Its demand and grant over time, for the SLA figures.
    pub(super) sla: VmSla,
    pub ram_mb: f64,
    /// That migration (index in the cluster's migrations).
    pub(super) migration: Option<u32>,
    pub name: String,
    pub dirty_mb_per_s: f64,
    pub dirty_mb_per_cpu_s: f64,
    /// Destroyed by the crash of its node (not stopped): it can be restarted from its image.
    pub failed: bool,
    /// See [`VmSpec::checkpointed`].
    pub checkpointed: bool,
    /// Bumped at each failover to its backup: a failover's end names the one it ends.
    pub(super) failover_gen: u32,
}

impl Vm {
    pub(super) fn new(spec: VmSpec, node: Option<u32>, speed: f64, starting: bool) -> Self {
        Vm {
            name: spec.name,
            vcpus: spec.vcpus,
            ram_mb: spec.ram_mb,
            node,
            migrating_to: None,
            migration: None,
            paused: false,
            starting,
            dirty_mb_per_s: spec.dirty_mb_per_s,
            dirty_mb_per_cpu_s: spec.dirty_mb_per_cpu_s,
            capacity: spec.capacity,
            share_cores: 0.0,
            want: 0.0,
            demand: 0.0,
            granted: (spec.vcpus, speed),
            sla: VmSla::default(),
            alive: true,
            failed: false,
            checkpointed: spec.checkpointed,
            failover_gen: 0,
        }
    }

    /// Cores it wants on a node of `speed`, at most its vCPUs (before hypervisor overhead).
    #[inline]
    pub(super) fn wanted_cores(&self, speed: f64) -> f64 {
        match self.capacity {
            None => self.want.min(self.vcpus),
            Some(_) => (self.want / speed).min(self.vcpus),
        }
    }

    /// What it asks for now, uncapped, in CPU units on a node of `speed` (0 while paused or
    /// starting: it runs nothing).
    #[inline]
    pub(super) fn demand_cpu(&self, speed: f64) -> f64 {
        if self.starting {
            0.0
        } else {
            match self.capacity {
                None => self.want.min(self.vcpus) * speed,
                Some(_) => self.want,
            }
        }
    }

    /// The most it can ask for, in CPU units on a node of `speed`.
    pub fn cpu_max(&self, speed: f64) -> f64 {
        self.capacity.unwrap_or(self.vcpus * speed)
    }

    /// Memory it dirties per second now, in MB/s: a base rate plus a rate per core it uses.
    pub(super) fn dirty_rate(&self) -> f64 {
        if self.paused {
            0.0
        } else {
            self.dirty_mb_per_s + self.dirty_mb_per_cpu_s * self.share_cores
        }
    }
}
