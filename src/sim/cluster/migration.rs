//! Pre-copy live migration of a VM between nodes.
//!
//! The arithmetic of rounds lives in `model::precopy`; here the cluster gives it bandwidth and a
//! dirty rate, and carries out its consequences: RAM reserved on the destination from the start,
//! CPU used on both ends (slowing co-located VMs), NIC bandwidth shared max-min fairly by the
//! migrations through each node, the VM paused during stop-and-copy and resume (its load waits,
//! it loses nothing), and the VM moved to its destination at the end.

use super::{Cluster, ClusterEvent, ClusterHost, Notice};
use crate::engine::time::{ns_to_secs, secs_to_ns, secs_to_ns_ceil};
use crate::engine::SimTime;
use crate::model::maxmin::{max_min_fair, Flow};
use crate::model::precopy::{Phase, Precopy, PrecopyParams};
use crate::scenario::schema::MigrationModel;

/// A migration under way (or finished: `done`).
pub(crate) struct MigrationRt {
    /// The caller's reference for it (the action that asked for it), handed back when it ends.
    pub action: usize,
    pub vm: u32,
    pub src: u32,
    pub dst: u32,
    pub precopy: Precopy,
    /// Current bandwidth (MB/s) and dirty rate (MB/s), constant since `last`.
    pub bandwidth: f64,
    pub dirty: f64,
    pub last: SimTime,
    pub gen: u32,
    pub started: SimTime,
    /// Data is still being sent (false from the end of stop-and-copy on).
    pub transferring: bool,
    pub done: bool,
    pub cpu_src: f64,
    pub cpu_dst: f64,
    /// The destination's CPU is still charged after the last byte, while the VM resumes there
    /// (pre-copy: the host is busy restoring it, and must not look idle in between).
    pub dst_cpu_until_resumed: bool,
    /// Counted in its destination's `incoming_asking` (simple model).
    pub asks: bool,
}

/// What the migrations have cost so far.
#[derive(Clone, Debug, Default)]
pub(crate) struct MigrationStats {
    /// Migrations completed.
    pub migrations: u64,
    pub downtime_ns: u64,
    /// First byte to resume, summed.
    pub time_ns: u64,
    pub mb_sent: f64,
}

impl Cluster {
    /// Whether VM `v` could migrate to node `dst`, whatever the node's power state and RAM.
    pub fn check_migration(&self, v: u32, dst: u32) -> Result<(), String> {
        if !self.settings.virtualized {
            return Err("migration needs infrastructure.mode = \"virtualized\"".into());
        }
        let Some(vm) = self.vms.get(v as usize) else {
            return Err("no such VM".into());
        };
        if !vm.alive {
            return Err("the VM no longer exists".into());
        }
        if vm.migrating_to.is_some() {
            return Err("the VM is already migrating".into());
        }
        if vm.starting {
            return Err("the VM is still starting".into());
        }
        if vm.paused {
            return Err("the VM is resuming on its checkpoint backup".into());
        }
        let Some(src) = vm.node else {
            return Err("the VM is not placed yet".into());
        };
        if dst as usize >= self.nodes.len() {
            return Err("no such node".into());
        }
        if dst == src {
            return Err("the VM is already on that node".into());
        }
        Ok(())
    }

    /// Starts a live migration of VM `v` to node `dst`, or says why it is impossible. `action`
    /// is handed back in the [`Notice::MigrationDone`] that ends it.
    pub fn start_migration(
        &mut self,
        now: SimTime,
        action: usize,
        v: u32,
        dst: u32,
        host: &mut impl ClusterHost,
    ) -> Result<(), String> {
        self.check_migration(v, dst)?;
        if self.protection(v).is_some_and(|p| p.backup == dst) {
            // Its copy is where it goes: the protection ends (a new backup is chosen at the
            // next epoch boundary), and the copy's RAM is free for the VM.
            if let Some(p) = self.end_protection(now, v) {
                self.rebalance(now, p.host, host);
            }
        }
        let vm = &self.vms[v as usize];
        let src = vm.node.expect("checked: placed");
        let state = self.nodes[dst as usize].state;
        if state != super::NodeState::On {
            return Err(format!("destination node is {}", state.label()));
        }
        let free = self.free_ram_mb(dst);
        let ram = vm.ram_mb;
        if free + 1e-9 < ram {
            return Err(format!(
                "destination has {free:.0} MB of RAM free, the VM needs {ram:.0} MB"
            ));
        }
        let m = &self.settings.migration;
        let simple = m.model == MigrationModel::Simple;
        let params = PrecopyParams {
            ram_mb: ram,
            // The simple model sends the RAM once and never pauses the VM.
            max_downtime_s: if simple {
                f64::INFINITY
            } else {
                m.max_downtime_ms / 1000.0
            },
            max_rounds: m.max_rounds,
            max_total_factor: m.max_total_factor,
            resume_s: if simple { 0.0 } else { m.resume_ms / 1000.0 },
        };
        // The simple model charges the destination a share of the VM's CPU (CloudSim: 10% of
        // its request) instead of fixed costs on both ends.
        let (cpu_src, cpu_dst) = if simple {
            let wanted = vm.wanted_cores(self.nodes[dst as usize].speed);
            (0.0, m.simple_cpu_penalty * wanted)
        } else {
            (m.cpu_source_cores, m.cpu_dest_cores)
        };
        let asks = simple && vm.demand_cpu(self.nodes[src as usize].speed) > 0.0;
        let id = self.migrations.next_id();
        let vm = &mut self.vms[v as usize];
        vm.migrating_to = Some(dst);
        vm.migration = Some(id);
        self.transferring.insert(id);
        self.in_flight.insert(id);
        self.nodes[dst as usize].incoming_ram_mb += ram;
        self.nodes[src as usize].migration_cpu_cores += cpu_src;
        self.nodes[dst as usize].migration_cpu_cores += cpu_dst;
        if asks {
            // CloudSim counts the incoming VM's whole request against the destination.
            self.nodes[dst as usize].sla.incoming_asking += 1;
        }
        let dirty = if simple {
            0.0
        } else {
            self.vms[v as usize].dirty_rate()
        };
        self.migrations.push(MigrationRt {
            action,
            vm: v,
            src,
            dst,
            precopy: Precopy::new(params),
            bandwidth: 0.0,
            dirty,
            last: now,
            gen: 0,
            started: now,
            transferring: true,
            done: false,
            cpu_src,
            cpu_dst,
            dst_cpu_until_resumed: false,
            asks,
        });
        if !simple
            && matches!(
                self.migrations[id as usize].precopy.phase(),
                Phase::StopAndCopy { .. }
            )
        {
            // A cold migration (max_rounds = 1): the VM stops for the whole copy.
            self.vms[v as usize].paused = true;
            self.migrations[id as usize].dirty = 0.0;
        }
        self.rebalance_or_defer(now, src, host);
        self.rebalance_or_defer(now, dst, host);
        if simple {
            self.start_simple_transfer(now, id as usize, host);
        }
        self.reflow(now, host);
        Ok(())
    }

    /// The simple model (CloudSim's): a migration gets a fixed share of its destination's NIC,
    /// whatever else crosses it, for its whole transfer; nothing another migration does changes
    /// it, so its rate is set once, here, and its end scheduled.
    fn start_simple_transfer(&mut self, now: SimTime, m: usize, host: &mut impl ClusterHost) {
        let fraction = self.settings.migration.simple_bandwidth_fraction;
        let rate = (self.nodes[self.migrations[m].dst as usize].nic_mb_per_s * fraction)
            .min(self.migration_cap_mb_per_s());
        let mig = &mut self.migrations[m];
        mig.bandwidth = rate;
        mig.gen += 1;
        self.schedule_round_end(now, m, host);
    }

    /// The per-migration bandwidth limit (MB/s; infinite if none).
    fn migration_cap_mb_per_s(&self) -> f64 {
        let cap_mbps = self.settings.migration.bandwidth_mbps;
        if cap_mbps > 0.0 {
            cap_mbps / 8.0
        } else {
            f64::INFINITY
        }
    }

    /// Brings migration `m` up to `now` at its current bandwidth and dirty rate.
    fn advance_migration(&mut self, now: SimTime, m: usize) {
        let mig = &mut self.migrations[m];
        let dt = ns_to_secs(now.since(mig.last));
        if dt > 0.0 && mig.transferring {
            mig.precopy.advance(dt, mig.bandwidth, mig.dirty);
        }
        mig.last = now;
    }

    /// The VM's CPU share changed: bring its migration up to now with the old dirty rate, then
    /// switch to the new one.
    pub(super) fn update_migration_dirty_rate(&mut self, now: SimTime, v: u32) {
        if self.settings.migration.model == MigrationModel::Simple {
            return;
        }
        if let Some(m) = self.vms[v as usize].migration {
            let m = m as usize;
            self.advance_migration(now, m);
            self.migrations[m].dirty = self.vms[v as usize].dirty_rate();
        }
    }

    /// Recomputes the bandwidth of every transferring migration (pre-copy: max-min fair over the
    /// NICs of both ends, each capped by the per-migration limit) and of the checkpoint streams
    /// that share the NICs, and reschedules the round ends of those whose bandwidth changed.
    /// Under the simple model migrations keep the rate they started with
    /// ([`Cluster::start_simple_transfer`]): only the streams are shared out.
    pub(super) fn reflow(&mut self, now: SimTime, host: &mut impl ClusterHost) {
        let simple = self.settings.migration.model == MigrationModel::Simple;
        // Checkpoint streams share the NICs with migrations, each asking for its rate.
        let streams = self.checkpoint_flows(now);
        if streams.is_empty() && (simple || self.transferring.is_empty()) {
            return;
        }
        let mut flows: Vec<Flow> = Vec::new();
        let active: Vec<usize> = if simple {
            Vec::new()
        } else {
            self.transferring.iter().map(|&m| m as usize).collect()
        };
        for &m in &active {
            self.advance_migration(now, m);
        }
        let cap = self.migration_cap_mb_per_s();
        flows.extend(active.iter().map(|&m| {
            let mig = &self.migrations[m];
            Flow::new(vec![mig.src as usize, mig.dst as usize], cap)
        }));
        flows.extend(
            streams
                .iter()
                .map(|&(_, h, b, rate)| Flow::new(vec![h as usize, b as usize], rate)),
        );
        let capacities: Vec<f64> = self.nodes.iter().map(|n| n.nic_mb_per_s).collect();
        let mut rates = max_min_fair(&capacities, &flows);
        let stream_rates = rates.split_off(active.len());
        for (&m, &rate) in active.iter().zip(&rates) {
            let mig = &mut self.migrations[m];
            if mig.bandwidth != rate || mig.gen == 0 {
                mig.bandwidth = rate;
                mig.gen += 1;
                self.schedule_round_end(now, m, host);
            }
        }
        for n in self.set_checkpoint_rates(now, &streams, &stream_rates) {
            self.rebalance(now, n, host);
        }
    }

    fn schedule_round_end(&mut self, now: SimTime, m: usize, host: &mut impl ClusterHost) {
        let mig = &self.migrations[m];
        let t = mig.precopy.time_to_round_end(mig.bandwidth);
        if t.is_finite() {
            let at = now.plus_ns(secs_to_ns_ceil(t));
            host.schedule(
                at,
                ClusterEvent::MigrationRound {
                    migration: m as u32,
                    gen: mig.gen,
                },
            );
        }
    }

    pub(super) fn on_migration_round(
        &mut self,
        now: SimTime,
        m: u32,
        gen: u32,
        host: &mut impl ClusterHost,
    ) -> Option<Notice> {
        let m = m as usize;
        if !self
            .migrations
            .get(m)
            .is_some_and(|x| x.gen == gen && x.transferring && !x.done)
        {
            return None;
        }
        self.advance_migration(now, m);
        let mig = &mut self.migrations[m];
        let before = mig.precopy.phase();
        let phase = mig.precopy.end_round(mig.bandwidth);
        if phase == before {
            // Checked a hair early: check again when the round is really sent.
            self.schedule_round_end(now, m, host);
            return None;
        }
        match phase {
            Phase::PreCopy { .. } => {
                self.schedule_round_end(now, m, host);
                None
            }
            Phase::StopAndCopy { .. } => {
                let v = self.migrations[m].vm;
                if self.migrations[m]
                    .precopy
                    .params()
                    .max_downtime_s
                    .is_finite()
                {
                    self.vms[v as usize].paused = true;
                    self.migrations[m].dirty = 0.0;
                    let src = self.migrations[m].src;
                    self.rebalance(now, src, host);
                }
                self.schedule_round_end(now, m, host);
                None
            }
            Phase::Done => self.end_transfer(now, m, host),
        }
    }

    /// The last byte is sent: the VM now lives on its destination (still paused while it
    /// resumes); the network and CPU the migration used are released.
    fn end_transfer(
        &mut self,
        now: SimTime,
        m: usize,
        host: &mut impl ClusterHost,
    ) -> Option<Notice> {
        let (v, src, dst, cpu_src, cpu_dst, asks) = {
            self.transferring.remove(&(m as u32));
            let mig = &mut self.migrations[m];
            mig.transferring = false;
            (mig.vm, mig.src, mig.dst, mig.cpu_src, mig.cpu_dst, mig.asks)
        };
        if asks {
            self.nodes[dst as usize].sla.incoming_asking -= 1;
        }
        // Its SLA accounting closes on the source before the VM moves.
        self.vm_sla_changed(now, v);
        let ram = self.vms[v as usize].ram_mb;
        self.nodes[src as usize].vms.retain(|&x| x != v);
        self.nodes[dst as usize].vms.push(v);
        let incoming = &mut self.nodes[dst as usize].incoming_ram_mb;
        *incoming -= ram;
        if *incoming < 1e-6 {
            *incoming = 0.0;
        }
        // A VM paused for the stop-and-copy resumes on its destination, which stays charged
        // its migration CPU until then: were it released now, a destination with nothing else
        // to run would look idle (switched off, in CloudSim's count) until the VM runs again,
        // even for no time at all.
        let paused = self.vms[v as usize].paused;
        self.release_migration_cpu(src, cpu_src);
        if paused {
            self.migrations[m].dst_cpu_until_resumed = true;
        } else {
            self.release_migration_cpu(dst, cpu_dst);
        }
        let vm = &mut self.vms[v as usize];
        vm.node = Some(dst);
        vm.migrating_to = None;
        vm.migration = None;
        let resume_s = self.migrations[m].precopy.params().resume_s;
        self.rebalance(now, src, host);
        self.rebalance(now, dst, host);
        self.reflow(now, host);
        if paused && resume_s > 0.0 {
            let at = now.plus_ns(secs_to_ns_ceil(resume_s));
            host.schedule(
                at,
                ClusterEvent::MigrationResumed {
                    migration: m as u32,
                },
            );
            None
        } else {
            Some(self.on_migration_resumed(now, m as u32, host))
        }
    }

    /// Node `n` no longer spends `cores` on a migration.
    pub(super) fn release_migration_cpu(&mut self, n: u32, cores: f64) {
        let node = &mut self.nodes[n as usize];
        node.migration_cpu_cores -= cores;
        if node.migration_cpu_cores < 1e-9 {
            node.migration_cpu_cores = 0.0; // no rounding residue once none runs
        }
    }

    /// The VM runs again on its destination: the migration is over.
    pub(super) fn on_migration_resumed(
        &mut self,
        now: SimTime,
        m: u32,
        host: &mut impl ClusterHost,
    ) -> Notice {
        let m = m as usize;
        let (v, dst) = (self.migrations[m].vm, self.migrations[m].dst);
        // A VM that was never paused (the simple model) changes nothing here: its destination
        // was rebalanced when it arrived.
        let was_paused = std::mem::replace(&mut self.vms[v as usize].paused, false);
        if std::mem::take(&mut self.migrations[m].dst_cpu_until_resumed) {
            let cpu_dst = self.migrations[m].cpu_dst;
            self.release_migration_cpu(dst, cpu_dst);
        }
        if was_paused {
            self.rebalance(now, dst, host);
        }
        let mig = &mut self.migrations[m];
        mig.done = true;
        self.in_flight.remove(&(m as u32));
        let downtime_s = if mig.precopy.params().max_downtime_s.is_finite() {
            mig.precopy.downtime_transfer_s() + mig.precopy.params().resume_s
        } else {
            0.0
        };
        let (mb_sent, rounds, started) = (mig.precopy.sent_mb(), mig.precopy.rounds(), mig.started);
        let action = mig.action;
        self.migrations.retire();
        let stats = &mut self.migration_stats;
        stats.migrations += 1;
        stats.downtime_ns += secs_to_ns(downtime_s);
        stats.time_ns += now.since(started);
        stats.mb_sent += mb_sent;
        Notice::MigrationDone {
            action,
            mb_sent,
            downtime_s,
            rounds,
        }
    }
}
