//! The seam between the live backend and a hypervisor: what the backend reads (hosts, domains,
//! CPU-time counters) and what it asks for (migrate, start, stop). The libvirt implementation is
//! [`super::virt::Libvirt`] (feature `libvirt`); tests drive the same backend through an
//! in-memory implementation, so view building and action logic are tested without a daemon.
//!
//! Every call may block (a migration takes seconds): the backend calls the action methods from
//! worker threads, hence `Send + Sync`.

use std::fmt;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// A host as the hypervisor reports it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HostInfo {
    /// Logical CPUs.
    pub cores: u32,
    /// Physical memory, in KiB (libvirt's unit).
    pub memory_kib: u64,
    /// The host's UUID (libvirt's capabilities), which tells two URIs of one daemon apart from
    /// two hosts; `None` when the hypervisor has none (libvirt's test driver).
    pub uuid: Option<String>,
}

/// What a domain is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DomainState {
    /// Running (or blocked): it serves, and holds its RAM on the host.
    Running,
    /// Paused by a migration: the source during the final copy, the destination until it is
    /// resumed, or a copy an interrupted migration left behind. It holds its RAM, serves nothing.
    PausedByMigration,
    /// Paused for another reason (by an operator, an I/O error...).
    Paused,
    /// Defined but not running.
    Inactive,
}

impl DomainState {
    /// Whether it holds RAM on its host (its QEMU process exists).
    pub fn is_active(self) -> bool {
        self != DomainState::Inactive
    }

    pub fn is_paused(self) -> bool {
        matches!(self, DomainState::Paused | DomainState::PausedByMigration)
    }
}

/// A domain as the hypervisor reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct DomainInfo {
    pub name: String,
    /// Its UUID: a migrated domain keeps it, so two copies of one domain share it.
    pub uuid: String,
    pub state: DomainState,
    /// Defined persistently (it outlives a stop), not only while it runs.
    pub persistent: bool,
    /// A job (a migration) is under way on it; only asked of paused domains, `false` otherwise.
    pub job: bool,
    pub vcpus: u32,
    /// Current memory, in KiB.
    pub memory_kib: u64,
    /// CPU time used since the domain (its QEMU process) started, in ns.
    pub cpu_time_ns: u64,
}

/// Migration settings, from `infrastructure.migration` and `[live]`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MigrateOptions {
    /// Longest pause at the end of the pre-copy, in ms.
    pub max_downtime_ms: u64,
    /// Bandwidth cap in MiB/s (libvirt's unit); 0 = unlimited.
    pub bandwidth_mib_s: u64,
    pub uri: Option<String>,
    pub listen_address: Option<String>,
    /// Abort after this long (None: no limit).
    pub timeout: Option<Duration>,
}

/// What a finished migration cost, when the hypervisor can tell.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MigrationStats {
    /// Data sent, in bytes.
    pub bytes: Option<u64>,
    /// Downtime, in ms.
    pub downtime_ms: Option<u64>,
    /// Pre-copy iterations.
    pub rounds: Option<u32>,
}

/// A hypervisor error: the message libvirt gave (never includes credentials: URIs are not
/// echoed with their query strings).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HvError(pub String);

impl fmt::Display for HvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HvError {}

/// The hosts a live run drives, numbered as `--uri` lists them. Any call may block for as long
/// as its host takes to answer (forever, for a stopped daemon without keepalive): the backend
/// never calls them from its control loop, only from worker threads it waits for with a
/// deadline.
pub trait Hypervisor: Send + Sync {
    /// Number of hosts.
    fn hosts(&self) -> usize;
    /// A short label of host `h` for messages (its URI without query string).
    fn label(&self, h: usize) -> String;
    /// Host `h`'s cores, memory and UUID. An error means the host is unreachable now.
    fn host_info(&self, h: usize) -> Result<HostInfo, HvError>;
    /// Every domain defined on host `h`, running or not. An error means the host cannot tell
    /// (its domains are unknown, not absent).
    fn domains(&self, h: usize) -> Result<Vec<DomainInfo>, HvError>;
    /// Live-migrates domain `name` from host `from` to host `to`; blocks until it is done or has
    /// failed. On failure the domain must still run on `from` (libvirt guarantees it for a
    /// pre-copy migration that did not complete). `cancel` set aborts it (as a timeout does),
    /// unless it is past the point of no return, in which case it completes.
    fn migrate(
        &self,
        name: &str,
        from: usize,
        to: usize,
        opts: &MigrateOptions,
        cancel: &AtomicBool,
    ) -> Result<MigrationStats, HvError>;
    /// Defines domain `xml` on host `h` and starts it.
    fn start(&self, h: usize, xml: &str) -> Result<(), HvError>;
    /// Shuts domain `name` down on host `h` (destroys it after `timeout`) and undefines it.
    fn stop(&self, h: usize, name: &str, timeout: Duration) -> Result<(), HvError>;
    /// Removes the copy of domain `uuid` on host `h` that another host runs: destroys it and
    /// undefines it, after checking that it does not run and no job is under way on it
    /// (refused otherwise).
    fn remove_copy(&self, h: usize, uuid: &str) -> Result<(), HvError>;
    /// Resumes domain `uuid` on host `h`, left paused by an interrupted migration (refused if
    /// it is not paused by a migration, or a job is under way on it).
    fn resume(&self, h: usize, uuid: &str) -> Result<(), HvError>;
}
