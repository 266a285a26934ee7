//! Continuous checkpointing of VMs to a backup node, as Remus does it (Cully et al., NSDI 2008).
//!
//! A protected VM keeps a copy of itself on a backup node (its RAM is taken there). The copy
//! starts with the VM's whole memory, sent as fast as the NICs allow; then, at every epoch
//! boundary (every multiple of `period` from the start of the run), a checkpoint is taken: the
//! memory the VM dirtied since the previous one (its dirty rate integrated over its CPU use,
//! as pre-copy migration counts it, at most its RAM) is sent to the backup. The stream is a
//! flow from the VM's node to the backup that shares the NICs max-min fairly with migrations
//! and other streams; it asks for the checkpoint's size over one epoch (the average rate; Remus
//! sends each checkpoint in a burst at link speed, so reconf's checkpoints commit later, by at
//! most one epoch). A checkpoint is *committed* once all its data is sent; one not sent by the
//! next boundary makes the epoch longer (no new checkpoint is taken until it is). The host pays
//! `cpu_cores` plus `cpu_core_s_per_mb` per MB/s sent, out of the cores its VMs share.
//!
//! If the VM's node crashes, the VM resumes on its backup from its last committed checkpoint
//! after `failover`: what it did since that checkpoint is lost (its load is told how long
//! that was), its memory up to it is not. It then runs unprotected until a new backup is chosen
//! (at the next boundary). A backup that crashes, is powered off or becomes the VM's node ends
//! the protection, which starts again, from a full copy, at the next boundary where a backup
//! can be found.

use super::{Cluster, ClusterEvent, ClusterHost, NodeState};
use crate::engine::time::ns_to_secs;
use crate::engine::SimTime;

/// Data left below this (MB) is rounding: the transfer is done.
const SENT_EPS_MB: f64 = 1e-9;

/// Where protected VMs' copies go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BackupRule {
    /// The node that is on, other than the VM's, with the most RAM free (first on a tie).
    Auto,
    /// That node.
    Node(u32),
}

/// The checkpointing settings of a run.
#[derive(Clone, Debug)]
pub(crate) struct CheckpointSettings {
    pub period_ns: u64,
    pub backup: BackupRule,
    pub failover_ns: u64,
    pub cpu_cores: f64,
    pub cpu_core_s_per_mb: f64,
}

/// One VM's protection: its backup and the transfer to it.
#[derive(Clone, Debug)]
pub(crate) struct Protection {
    pub backup: u32,
    /// The node the stream leaves from (the VM's node).
    pub(super) host: u32,
    /// MB still to send of the transfer in flight (the first full copy, or a checkpoint), and
    /// the instant of the VM's state it carries.
    pending_mb: f64,
    pending_at: SimTime,
    /// The instant of the state the backup holds (its last committed checkpoint), once the
    /// first full copy is there.
    pub committed: Option<SimTime>,
    /// Rate the stream asks for (MB/s; infinite for the first copy) and gets, since `last`.
    demand_mb_per_s: f64,
    pub bandwidth_mb_per_s: f64,
    last: SimTime,
    /// When the last checkpoint was taken, and the VM's ∫ cores used dt then (core·ns).
    taken_at: SimTime,
    core_ns_at: f64,
    /// Cores charged on the host now.
    pub cpu_cores: f64,
}

/// A VM resumed on its backup after its node crashed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Recovery {
    pub vm: u32,
    pub backup: u32,
    /// The instant of the checkpoint it resumes from: what it did after is lost.
    pub checkpoint: SimTime,
}

/// What checkpointing has cost and done so far.
#[derive(Clone, Debug, Default)]
pub(crate) struct CheckpointStats {
    pub mb_sent: f64,
    /// ∫ cores charged on hosts dt, in core·ns.
    pub cpu_core_ns: f64,
    pub checkpoints: u64,
    pub recoveries: u64,
    /// Σ over recoveries of the time lost (crash − checkpoint), in ns.
    pub loss_ns: u64,
}

/// The checkpointing of a run: settings, and each VM's protection (indexed by VM).
pub(crate) struct Checkpointing {
    pub settings: CheckpointSettings,
    pub protections: Vec<Option<Protection>>,
    pub stats: CheckpointStats,
    /// When the CPU integral was last brought up to date, and the cores charged since.
    cpu_since: SimTime,
    cpu_total: f64,
}

impl Checkpointing {
    pub fn new(settings: CheckpointSettings) -> Self {
        Checkpointing {
            settings,
            protections: Vec::new(),
            stats: CheckpointStats::default(),
            cpu_since: SimTime::ZERO,
            cpu_total: 0.0,
        }
    }

    fn settle_cpu(&mut self, now: SimTime) {
        self.stats.cpu_core_ns += self.cpu_total * now.since(self.cpu_since) as f64;
        self.cpu_since = now;
    }
}

impl Protection {
    /// Sends at the current bandwidth up to `now`; returns the MB sent.
    fn advance(&mut self, now: SimTime) -> f64 {
        let dt = ns_to_secs(now.since(self.last));
        self.last = now;
        if self.pending_mb <= 0.0 || dt <= 0.0 {
            return 0.0;
        }
        let sent = (self.bandwidth_mb_per_s * dt).min(self.pending_mb);
        self.pending_mb -= sent;
        if self.pending_mb <= SENT_EPS_MB {
            self.pending_mb = 0.0;
            self.committed = Some(self.pending_at);
        }
        sent
    }
}

impl Cluster {
    /// VM `v`'s protection now, if it has one.
    pub fn protection(&self, v: u32) -> Option<&Protection> {
        self.checkpointing
            .as_ref()?
            .protections
            .get(v as usize)?
            .as_ref()
    }

    pub(crate) fn checkpoint_stats(&mut self, now: SimTime) -> Option<CheckpointStats> {
        let ck = self.checkpointing.as_mut()?;
        ck.settle_cpu(now);
        Some(ck.stats.clone())
    }

    /// The epoch boundary after `now`.
    pub fn next_checkpoint(&self, now: SimTime) -> Option<SimTime> {
        let p = self.checkpointing.as_ref()?.settings.period_ns;
        Some(SimTime((now.0 / p + 1) * p))
    }

    /// An epoch boundary: protections lapse or start, every stream whose transfer is done
    /// takes a checkpoint of what its VM dirtied since the last one, the streams share the
    /// NICs anew.
    pub(super) fn on_checkpoint_tick(&mut self, now: SimTime, host: &mut impl ClusterHost) {
        let Some(ck) = self.checkpointing.as_mut() else {
            return;
        };
        let period_ns = ck.settings.period_ns;
        let period_s = ns_to_secs(period_ns);
        let ended_on = self.refresh_protections(now);
        for v in 0..self.vms.len() {
            if self.protection(v as u32).is_none() {
                continue;
            }
            let core_ns = self.settle_vm(now, v as u32);
            let vm = &self.vms[v];
            let (base, per_cpu, ram) = (vm.dirty_mb_per_s, vm.dirty_mb_per_cpu_s, vm.ram_mb);
            let ck = self.checkpointing.as_mut().expect("checked");
            let p = ck.protections[v].as_mut().expect("checked");
            ck.stats.mb_sent += p.advance(now);
            if p.pending_mb > 0.0 {
                continue; // still sending: the epoch goes on
            }
            let dt_s = ns_to_secs(now.since(p.taken_at));
            let dirtied = (base * dt_s + per_cpu * (core_ns - p.core_ns_at) / 1e9).min(ram);
            p.pending_mb = dirtied;
            p.pending_at = now;
            p.taken_at = now;
            p.core_ns_at = core_ns;
            p.demand_mb_per_s = dirtied / period_s;
            if dirtied <= 0.0 {
                // Nothing dirtied: the backup holds this state already.
                p.committed = Some(now);
            }
            ck.stats.checkpoints += 1;
        }
        self.reflow(now, host);
        for n in ended_on {
            if self.nodes[n as usize].state.is_up() {
                self.rebalance(now, n, host);
            }
        }
        host.schedule(now.plus_ns(period_ns), ClusterEvent::CheckpointTick);
    }

    /// Ends protections that cannot go on (VM gone, backup down, VM on its backup now) and
    /// starts one, from a full copy, for every protected VM that runs without.
    fn refresh_protections(&mut self, now: SimTime) -> Vec<u32> {
        let mut ended_on = Vec::new();
        let Some(ck) = self.checkpointing.as_ref() else {
            return ended_on;
        };
        let rule = ck.settings.backup;
        for v in 0..self.vms.len() {
            let vm = &self.vms[v];
            let current = self.protection(v as u32).map(|p| (p.backup, p.host));
            // A migrating VM is protected again once it has arrived (its copy must not be
            // where it goes).
            let runs = vm.alive
                && vm.checkpointed
                && !vm.starting
                && !vm.paused
                && vm.migrating_to.is_none();
            if let Some((b, h)) = current {
                let ok = vm.alive
                    && vm.node.is_some()
                    && vm.node != Some(b)
                    && self.nodes[b as usize].state == NodeState::On;
                if !ok {
                    if let Some(p) = self.end_protection(now, v as u32) {
                        ended_on.push(p.host);
                    }
                } else if vm.node != Some(h) {
                    // It migrated: the stream leaves from its new node.
                    let ck = self.checkpointing.as_mut().expect("checked");
                    ck.protections[v].as_mut().expect("checked").host = vm.node.expect("placed");
                }
                continue;
            }
            let Some(n) = vm.node.filter(|_| runs) else {
                continue;
            };
            let ram = vm.ram_mb;
            let fits = |c: &Cluster, b: u32| {
                b != n
                    && c.nodes[b as usize].state == NodeState::On
                    && c.free_ram_mb(b) + 1e-9 >= ram
            };
            let backup = match rule {
                BackupRule::Node(b) => fits(self, b).then_some(b),
                BackupRule::Auto => {
                    let mut best: Option<(u32, f64)> = None;
                    for b in 0..self.nodes.len() as u32 {
                        if fits(self, b) {
                            let free = self.free_ram_mb(b);
                            if best.is_none_or(|(_, f)| free > f) {
                                best = Some((b, free));
                            }
                        }
                    }
                    best.map(|(b, _)| b)
                }
            };
            let Some(b) = backup else { continue };
            let core_ns = self.settle_vm(now, v as u32);
            self.nodes[b as usize].backup_ram_mb += ram;
            let ck = self.checkpointing.as_mut().expect("checked");
            if ck.protections.len() <= v {
                ck.protections.resize(v + 1, None);
            }
            ck.protections[v] = Some(Protection {
                backup: b,
                host: n,
                pending_mb: ram,
                pending_at: now,
                committed: None,
                demand_mb_per_s: f64::INFINITY,
                bandwidth_mb_per_s: 0.0,
                last: now,
                taken_at: now,
                core_ns_at: core_ns,
                cpu_cores: 0.0,
            });
        }
        ended_on
    }

    /// VM `v`'s protection ends: the copy's RAM on its backup and the CPU on its host are
    /// freed (the caller rebalances).
    pub(super) fn end_protection(&mut self, now: SimTime, v: u32) -> Option<Protection> {
        let ck = self.checkpointing.as_mut()?;
        let mut p = ck.protections.get_mut(v as usize)?.take()?;
        ck.stats.mb_sent += p.advance(now);
        ck.settle_cpu(now);
        ck.cpu_total -= p.cpu_cores;
        let ram = self.vms[v as usize].ram_mb;
        let b = &mut self.nodes[p.backup as usize];
        b.backup_ram_mb = (b.backup_ram_mb - ram).max(0.0);
        if b.backup_ram_mb < 1e-6 {
            b.backup_ram_mb = 0.0;
        }
        let h = &mut self.nodes[p.host as usize];
        h.checkpoint_cpu_cores -= p.cpu_cores;
        if h.checkpoint_cpu_cores < 1e-9 {
            h.checkpoint_cpu_cores = 0.0;
        }
        Some(p)
    }

    /// The streams as flows over the NICs: (VM, its node, its backup, the rate it asks for).
    pub(super) fn checkpoint_flows(&mut self, now: SimTime) -> Vec<(u32, u32, u32, f64)> {
        let Some(ck) = self.checkpointing.as_mut() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (v, p) in ck.protections.iter_mut().enumerate() {
            if let Some(p) = p {
                ck.stats.mb_sent += p.advance(now);
                out.push((v as u32, p.host, p.backup, p.demand_mb_per_s));
            }
        }
        out
    }

    /// The streams' new rates (in the order of [`Cluster::checkpoint_flows`]): the CPU they
    /// cost their hosts follows; returns the hosts whose CPU changed.
    pub(super) fn set_checkpoint_rates(
        &mut self,
        now: SimTime,
        flows: &[(u32, u32, u32, f64)],
        rates: &[f64],
    ) -> Vec<u32> {
        let Some(ck) = self.checkpointing.as_mut() else {
            return Vec::new();
        };
        ck.settle_cpu(now);
        let (fixed, per_mb) = (ck.settings.cpu_cores, ck.settings.cpu_core_s_per_mb);
        let mut changed = Vec::new();
        for (&(v, host, _, _), &rate) in flows.iter().zip(rates) {
            let p = ck.protections[v as usize].as_mut().expect("a stream");
            p.bandwidth_mb_per_s = rate;
            let cpu = fixed + per_mb * rate;
            if (cpu - p.cpu_cores).abs() > 1e-12 {
                ck.cpu_total += cpu - p.cpu_cores;
                self.nodes[host as usize].checkpoint_cpu_cores += cpu - p.cpu_cores;
                p.cpu_cores = cpu;
                changed.push(host);
            }
        }
        changed.sort_unstable();
        changed.dedup();
        changed
    }

    /// Node `n` crashes: the copies it held are gone (their VMs run unprotected), and each
    /// protected VM on it that has a committed checkpoint is taken off it to resume on its
    /// backup after the failover. Called before the node's VMs are destroyed; returns the
    /// recoveries, and pushes onto `touched` the nodes whose shares must be recomputed.
    pub(super) fn checkpoint_node_crash(
        &mut self,
        now: SimTime,
        n: u32,
        touched: &mut Vec<u32>,
        host: &mut impl ClusterHost,
    ) -> Vec<Recovery> {
        let Some(ck) = self.checkpointing.as_ref() else {
            return Vec::new();
        };
        let failover_ns = ck.settings.failover_ns;
        let lapsed: Vec<u32> = ck
            .protections
            .iter()
            .enumerate()
            .filter(|(_, p)| p.as_ref().is_some_and(|p| p.backup == n))
            .map(|(v, _)| v as u32)
            .collect();
        for v in lapsed {
            if let Some(p) = self.end_protection(now, v) {
                touched.push(p.host);
            }
        }
        let mut out = Vec::new();
        for v in self.nodes[n as usize].vms.clone() {
            let Some(p) = self.end_protection(now, v) else {
                continue;
            };
            let Some(checkpoint) = p.committed else {
                continue; // the first copy was not there yet: the VM is lost
            };
            let b = p.backup;
            if self.nodes[b as usize].state != NodeState::On {
                continue;
            }
            // The copy becomes the VM: its RAM moves from the backup reserve to the VM.
            self.nodes[n as usize].vms.retain(|&x| x != v);
            self.nodes[b as usize].vms.push(v);
            // (The copy's RAM, released from the backup's reserve above, is the VM's now.)
            let vm = &mut self.vms[v as usize];
            vm.node = Some(b);
            vm.paused = true;
            vm.failover_gen = vm.failover_gen.wrapping_add(1);
            let gen = vm.failover_gen;
            self.vm_sla_changed(now, v);
            let ck = self.checkpointing.as_mut().expect("checked");
            ck.stats.recoveries += 1;
            ck.stats.loss_ns += now.since(checkpoint);
            out.push(Recovery {
                vm: v,
                backup: b,
                checkpoint,
            });
            touched.push(b);
            host.schedule(
                now.plus_ns(failover_ns),
                ClusterEvent::FailoverDone { vm: v, gen },
            );
        }
        out
    }

    /// VM `v` runs again on its backup, its failover over (unless it was lost since).
    pub(super) fn on_failover_done(
        &mut self,
        now: SimTime,
        v: u32,
        gen: u32,
        host: &mut impl ClusterHost,
    ) {
        let vm = &mut self.vms[v as usize];
        if vm.failover_gen != gen || !vm.alive || !vm.paused {
            return;
        }
        vm.paused = false;
        if let Some(n) = vm.node {
            self.rebalance(now, n, host);
        }
    }
}
