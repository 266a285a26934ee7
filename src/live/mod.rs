//! The live backend: the scenario's policy, unchanged, against real hosts through libvirt
//! (`reconf live`). Each `--uri` is one physical node; each domain named `<app>-<tier>-<k>` is
//! replica `k` of that tier, in its own VM; other domains are left alone.
//!
//! - [`hypervisor`]: the trait the backend drives (hosts, domains, migrate, start, stop);
//! - [`virt`] (feature `libvirt`): its implementation over libvirt, with live migration emulated
//!   on libvirt's test driver (which cannot migrate) so that tests need no daemon;
//! - [`backend`]: the view from the hosts and the actions on them, with the simulator's
//!   semantics (CPU from counter deltas, outcomes shown once, refusals in the simulator's
//!   words), never waiting on a host, and reconciling stray copies of VMs;
//! - [`run`]: the wall-clock control loop and the run's output in the simulator's formats;
//! - [`launch`] (feature `libvirt`): one whole run from a loaded scenario (hosts connected,
//!   loop run, run folder written), for `reconf live` and the Python package's `reconf.live`;
//! - [`clock`]: the run's time axis; [`interrupt`]: SIGINT / SIGTERM;
//! - [`naming`]: domain names of replicas; [`template`]: domain XML templates.

pub mod backend;
pub mod clock;
pub mod hypervisor;
pub mod interrupt;
#[cfg(feature = "libvirt")]
pub mod launch;
pub mod naming;
pub mod run;
pub mod template;
#[cfg(feature = "libvirt")]
pub mod virt;

pub use backend::{Backend, Config};
pub use clock::Clock;
pub use hypervisor::{DomainInfo, DomainState, HostInfo, HvError, Hypervisor, MigrateOptions};
