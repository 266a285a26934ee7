//! Trace-driven VMs: VMs whose CPU demand follows a utilisation trace (no requests, no
//! replica). At each update instant of its group, every VM asks the cluster for its trace's
//! utilisation × its type's capacity; what the cluster cannot grant is unmet demand, not queued
//! work. The cluster does not know these VMs from replicas' VMs: only this module does.

use super::cluster::{Cluster, ClusterHost, VmSpec};
use super::events::Event;
use crate::engine::{rng, EventQueue, SimTime};
use crate::scenario::vms::{Sampling, TimeShift, TypeAssignment, VmGroup};
use crate::workload::vm_trace::VmTraceSet;
use rand::Rng as _;
use std::sync::Arc;

/// One trace-driven VM.
struct TraceVm {
    /// Its id in the cluster.
    vm: u32,
    /// Its series in the group's trace set, and the shift (in samples) it is read with.
    series: u32,
    shift: u32,
    /// Its type's capacity, in CPU units: its demand is utilisation × this.
    cpu: f64,
    /// Its demand as last told to the cluster.
    demand: f64,
    /// Ended (end-at-zero rule): no longer updated.
    ended: bool,
}

/// A group of trace-driven VMs and when they are updated.
struct Group {
    traces: Arc<VmTraceSet>,
    vms: Vec<TraceVm>,
    linear: bool,
    end_at_zero: bool,
    first_update: SimTime,
    every_ns: u64,
}

/// The trace-driven VMs of a run.
#[derive(Default)]
pub(crate) struct Traces {
    groups: Vec<Group>,
    /// VMs ended by the end-at-zero rule.
    ended: u64,
    /// Scratch: (vm, demand) pairs of one update.
    scratch: Vec<(u32, f64)>,
}

impl Traces {
    /// The groups of a scenario, creating their VMs (unplaced) in the cluster with `create`,
    /// which returns each VM's id. Shifts are drawn from each VM's own stream.
    pub fn new(
        seed: u64,
        groups: &[VmGroup],
        traces: &[Arc<VmTraceSet>],
        mut create: impl FnMut(VmSpec) -> u32,
    ) -> Self {
        let mut out = Traces::default();
        for (g, (group, set)) in groups.iter().zip(traces).enumerate() {
            let n_series = set.names.len();
            let count = crate::scenario::vms::vm_count(group, n_series).expect("validated count");
            let n_types = group.types.len();
            let block = count.div_ceil(n_types).max(1);
            let mut vms = Vec::with_capacity(count);
            for k in 0..count {
                let series = k % n_series;
                let ty = &group.types[match group.type_assignment {
                    TypeAssignment::Blocks => (k / block).min(n_types - 1),
                    TypeAssignment::Cycle => k % n_types,
                }];
                let shift = match group.time_shift {
                    TimeShift::None => 0,
                    TimeShift::Random => {
                        let len = set.series[series].len() as u32;
                        let mut r = rng::stream(seed, "trace-shift", g as u64, k as u64, 0);
                        r.random_range(0..len.max(1))
                    }
                };
                let vm = create(VmSpec {
                    name: crate::scenario::vms::vm_name(group, &set.names, k),
                    vcpus: ty.vcpus,
                    ram_mb: ty.ram_mb,
                    dirty_mb_per_s: group.dirty_mb_per_s,
                    dirty_mb_per_cpu_s: group.dirty_mb_per_cpu_s,
                    capacity: Some(ty.cpu),
                    checkpointed: false,
                });
                vms.push(TraceVm {
                    vm,
                    series: series as u32,
                    shift,
                    cpu: ty.cpu,
                    demand: 0.0,
                    ended: false,
                });
            }
            let every_s = group.update_every_s.unwrap_or(group.trace.interval_s);
            out.groups.push(Group {
                traces: set.clone(),
                vms,
                linear: group.sampling == Sampling::Linear,
                end_at_zero: group.end_at_zero,
                first_update: SimTime::from_secs(group.first_update_s),
                every_ns: crate::engine::time::secs_to_ns(every_s).max(1),
            });
        }
        out
    }

    /// Schedules each group's first update.
    pub fn schedule_first(&self, q: &mut EventQueue<Event>, horizon: SimTime) {
        for (g, group) in self.groups.iter().enumerate() {
            if group.first_update < horizon {
                q.schedule(group.first_update, Event::TraceUpdate { group: g as u32 });
            }
        }
    }

    /// What trace-driven VM `vm` asks for now, in CPU units (its trace's last reading).
    pub fn demand_of(&self, vm: u32) -> Option<f64> {
        self.groups
            .iter()
            .flat_map(|g| &g.vms)
            .find(|tv| tv.vm == vm)
            .map(|tv| tv.demand)
    }

    /// VMs ended by the end-at-zero rule so far.
    pub fn ended(&self) -> u64 {
        self.ended
    }

    /// Group `g` reads its traces at `now`: each VM asks for its new demand; VMs whose demand is
    /// exactly 0 end, when the group says so. Returns when the group's next update is due.
    pub fn update(
        &mut self,
        now: SimTime,
        g: u32,
        cluster: &mut Cluster,
        host: &mut impl ClusterHost,
    ) -> SimTime {
        let t_s = now.as_secs();
        let group = &mut self.groups[g as usize];
        let mut changes = std::mem::take(&mut self.scratch);
        changes.clear();
        for tv in &mut group.vms {
            if tv.ended || !cluster.vm(tv.vm).alive {
                continue;
            }
            let u =
                group.traces.series[tv.series as usize].at(t_s, tv.shift as usize, group.linear);
            let demand = u * tv.cpu;
            if group.end_at_zero && demand == 0.0 && cluster.vm(tv.vm).migrating_to.is_none() {
                tv.ended = true;
                self.ended += 1;
                cluster.destroy_vm(now, tv.vm, host);
                continue;
            }
            if demand != tv.demand {
                tv.demand = demand;
                changes.push((tv.vm, demand));
            }
        }
        cluster.set_vm_wants(now, &changes, host);
        self.scratch = changes;
        now.plus_ns(group.every_ns)
    }
}
