//! What each VM carries. The cluster knows VMs only by number; the simulation keeps, per VM,
//! what runs in it, so that the CPU the cluster grants a VM reaches the right load (see
//! `apps::host`).

/// The load a VM carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum VmLoad {
    /// The server of a replica (its index in `Apps::servers`).
    Replica(u32),
    /// A utilisation trace (its demand is set by `traces`; the CPU it gets needs no telling).
    Trace,
}
