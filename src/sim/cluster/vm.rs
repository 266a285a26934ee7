//! A virtual machine as the cluster sees it: its size, where it is, the CPU it wants and the
//! CPU it is granted. What runs inside (a replica's server, a utilisation trace) is not the
//! cluster's business: its load tells it how many cores it wants and hears how many it gets.

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
}

/// A VM. Read-only outside the cluster module.
pub struct Vm {
    pub name: String,
    pub vcpus: f64,
    pub ram_mb: f64,
    pub node: u32,
    /// Set while a live migration to that node runs.
    pub migrating_to: Option<u32>,
    /// That migration (index in the cluster's migrations).
    pub(super) migration: Option<u32>,
    /// Stopped for a migration's stop-and-copy and resume: runs nothing.
    pub paused: bool,
    /// Its guest is still being set up (its load is not running yet): it wants no CPU and
    /// cannot migrate.
    pub starting: bool,
    pub dirty_mb_per_s: f64,
    pub dirty_mb_per_cpu_s: f64,
    /// Cores the VM is granted now (its share of the node, hypervisor overhead excluded).
    pub share_cores: f64,
    /// Cores its load wants (at most `vcpus`), as last told.
    pub(super) want_cores: f64,
    /// Its CPU demand in node cores (hypervisor overhead included) as of the last update.
    pub(super) demand: f64,
    /// The capacity its load was last told it has: (cores, speed of one core).
    pub(super) granted: (f64, f64),
    /// False once the VM was destroyed.
    pub alive: bool,
}

impl Vm {
    pub(super) fn new(spec: VmSpec, node: u32, speed: f64, starting: bool) -> Self {
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
            share_cores: 0.0,
            want_cores: 0.0,
            demand: 0.0,
            granted: (spec.vcpus, speed),
            alive: true,
        }
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
