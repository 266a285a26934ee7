//! The seam between the live backend and a hypervisor: what the backend reads (hosts, domains,
//! CPU-time counters) and what it asks for (migrate, start, stop). The libvirt implementation is
//! [`super::virt::Libvirt`] (feature `libvirt`); tests drive the same backend through an
//! in-memory implementation, so view building and action logic are tested without a daemon.
//!
//! Every call may block (a migration takes seconds): the backend calls the action methods from
//! worker threads, hence `Send + Sync`.

use std::fmt;
use std::time::Duration;

/// A host as the hypervisor reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct HostInfo {
    /// Logical CPUs.
    pub cores: u32,
    /// Physical memory, in KiB (libvirt's unit).
    pub memory_kib: u64,
}

/// Whether a domain runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DomainState {
    /// Running, blocked or paused: it holds its RAM on the host.
    Active,
    /// Defined but not running.
    Inactive,
}

/// A domain as the hypervisor reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct DomainInfo {
    pub name: String,
    pub state: DomainState,
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

/// The hosts a live run drives, numbered as `--uri` lists them.
pub trait Hypervisor: Send + Sync {
    /// Number of hosts.
    fn hosts(&self) -> usize;
    /// A short label of host `h` for messages (its URI without query string).
    fn label(&self, h: usize) -> String;
    /// Host `h`'s cores and memory. An error means the host is unreachable now.
    fn host_info(&self, h: usize) -> Result<HostInfo, HvError>;
    /// Every domain defined on host `h`, running or not.
    fn domains(&self, h: usize) -> Result<Vec<DomainInfo>, HvError>;
    /// Live-migrates domain `name` from host `from` to host `to`; blocks until it is done or has
    /// failed. On failure the domain must still run on `from` (libvirt guarantees it for a
    /// pre-copy migration that did not complete).
    fn migrate(
        &self,
        name: &str,
        from: usize,
        to: usize,
        opts: &MigrateOptions,
    ) -> Result<MigrationStats, HvError>;
    /// Defines domain `xml` on host `h` and starts it.
    fn start(&self, h: usize, xml: &str) -> Result<(), HvError>;
    /// Shuts domain `name` down on host `h` (destroys it after `timeout`) and undefines it.
    fn stop(&self, h: usize, name: &str, timeout: Duration) -> Result<(), HvError>;
}
