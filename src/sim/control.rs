//! The control loop: every period, bring the policy's view up to date with what a monitoring
//! system would have measured over the period, ask the policy, and carry out its actions.
//!
//! The view is built as a probe would: CPU utilisation is busy time over the period (not an
//! instantaneous sample), per node, VM and replica; response times are those of the requests
//! completed during the period. Optional multiplicative noise, from its own random stream,
//! models imperfect probes. Current figures (a VM's demand and grant now) are read as they are.
//!
//! The view is kept from one period to the next and updated in place: names and static facts
//! are written once, when a node, VM or replica appears, so a view of 100,000 VMs costs no
//! allocation per period.

use super::apps::{Host, ServerState};
use super::cluster::NodeState as SimNodeState;
use super::events::Event;
use super::loads::VmLoad;
use super::Simulation;
use crate::engine::time::ns_to_secs;
use crate::engine::{Rng, SimTime};
use rand_distr::{Distribution as _, StandardNormal};
use reconf_api::{
    Action, ActionView, AppId, AppView, FailureView, Mode, NodeId, NodeState, NodeView, Outcome,
    Policy, ReplicaId, ReplicaState, ReplicaView, TierRef, TierView, View, VmId, VmView,
};

/// The policy and what the monitoring measured at the previous control instant.
pub(crate) struct Control {
    pub policy: Box<dyn Policy>,
    pub period_ns: u64,
    pub noise_sd: f64,
    pub noise: Rng,
    pub last: SimTime,
    /// Per node: (busy core·ns, joules) at the last control instant.
    pub node_marks: Vec<(f64, f64)>,
    /// Per server: (busy core·ns, capacity core·ns) at the last control instant.
    pub server_marks: Vec<(f64, f64)>,
    /// Per VM: granted core·ns at the last control instant (trace-driven VMs).
    pub vm_marks: Vec<f64>,
    /// Actions a view showed while they were in progress (ascending): each view shows them
    /// again until one has shown how they ended (each outcome is shown once).
    pub shown_in_progress: Vec<usize>,
    /// Actions logged before this index were in some view.
    pub shown_up_to: usize,
    /// Faults already shown (each failure is shown once).
    pub faults_shown: usize,
    /// The view, kept and updated in place.
    pub view: View,
}

impl Control {
    pub fn new(
        policy: Box<dyn Policy>,
        period_ns: u64,
        noise_sd: f64,
        noise: Rng,
        nodes: usize,
    ) -> Self {
        Control {
            policy,
            period_ns,
            noise_sd,
            noise,
            last: SimTime::ZERO,
            node_marks: vec![(0.0, 0.0); nodes],
            server_marks: Vec::new(),
            vm_marks: Vec::new(),
            shown_in_progress: Vec::new(),
            shown_up_to: 0,
            faults_shown: 0,
            view: View {
                now_s: 0.0,
                period_s: 0.0,
                mode: Mode::Dedicated,
                host_reserved_ram_mb: 0.0,
                nodes: Vec::new(),
                vms: Vec::new(),
                replicas: Vec::new(),
                apps: Vec::new(),
                actions: Vec::new(),
                failures: Vec::new(),
            },
        }
    }
}

impl Simulation {
    fn noisy(&mut self, x: f64) -> f64 {
        let Some(c) = self.control.as_mut() else {
            return x;
        };
        if c.noise_sd <= 0.0 {
            return x;
        }
        let z: f64 = StandardNormal.sample(&mut c.noise);
        (x * (1.0 + c.noise_sd * z)).max(0.0)
    }

    /// A control instant: the policy sees the view and acts; the next instant is scheduled.
    pub(super) fn on_control(&mut self, now: SimTime) {
        self.decide(now);
        let period = self.control.as_ref().expect("control").period_ns;
        let next = now.plus_ns(period);
        if next < self.horizon {
            self.q.schedule(next, Event::Control);
        }
    }

    /// The policy sees the view at `now` and its actions are carried out.
    pub(super) fn decide(&mut self, now: SimTime) {
        self.update_view(now);
        let c = self.control.as_mut().expect("control");
        let actions = c.policy.decide(&c.view);
        // Consecutive migrations start as one batch (each node they touch rebalanced once);
        // any other action sees the cluster up to date.
        let mut batching = false;
        for a in actions {
            let migrate = matches!(a, Action::Migrate { .. });
            if migrate != batching {
                batching = migrate;
                if migrate {
                    self.cluster.begin_migration_batch();
                } else {
                    self.with_cluster(|c, h| c.end_migration_batch(now, h));
                }
            }
            self.execute(now, a);
        }
        if batching {
            self.with_cluster(|c, h| c.end_migration_batch(now, h));
        }
    }

    /// Brings the view up to `now`, averaging over the period since the previous control
    /// instant; resets the period's marks.
    pub(super) fn update_view(&mut self, now: SimTime) {
        let c = self.control.as_ref().expect("control");
        let last = c.last;
        let dt_ns = now.since(last) as f64;
        let period_s = ns_to_secs(now.since(last));
        let settings = self.cluster.settings();
        let mode = if !settings.modelled {
            Mode::Dedicated
        } else if settings.virtualized {
            Mode::Virtualized
        } else {
            Mode::Bare
        };
        let host_reserved_ram_mb = if settings.modelled {
            settings.host_reserved_ram_mb
        } else {
            0.0
        };
        // Servers: busy share of their capacity over the period.
        let n_servers = self.apps.servers().len();
        let mut replica_cpu = Vec::with_capacity(n_servers);
        let mut replica_busy_cores = Vec::with_capacity(n_servers);
        let mut server_marks =
            std::mem::take(&mut self.control.as_mut().expect("control").server_marks);
        server_marks.resize(n_servers, (0.0, 0.0));
        for (i, mark) in server_marks.iter_mut().enumerate() {
            let (b, cap) = self.apps.settle_server(now, i as u32);
            let (b0, c0) = *mark;
            *mark = (b, cap);
            replica_cpu.push(if cap - c0 > 0.0 {
                (b - b0) / (cap - c0)
            } else {
                0.0
            });
            replica_busy_cores.push(if dt_ns > 0.0 { (b - b0) / dt_ns } else { 0.0 });
        }
        // Nodes: busy cores and energy over the period.
        let mut node_marks =
            std::mem::take(&mut self.control.as_mut().expect("control").node_marks);
        let n_nodes = self.cluster.nodes().len();
        let mut node_cpu = Vec::with_capacity(n_nodes);
        let mut node_power = Vec::with_capacity(n_nodes);
        for (n, mark) in node_marks.iter_mut().enumerate() {
            let b = self.cluster.settle_busy(now, n as u32);
            let node = self.cluster.node(n as u32);
            let e = node.joules(now);
            let (b0, e0) = *mark;
            *mark = (b, e);
            node_cpu.push(if dt_ns > 0.0 {
                (b - b0) / (node.cores * dt_ns)
            } else {
                0.0
            });
            node_power.push(if period_s > 0.0 {
                (e - e0) / period_s
            } else {
                0.0
            });
        }
        let node_cpu: Vec<f64> = node_cpu.into_iter().map(|u| self.noisy(u)).collect();
        let replica_cpu: Vec<f64> = replica_cpu.into_iter().map(|u| self.noisy(u)).collect();
        // Trace-driven VMs: granted cores over the period (settled in the VMs' pass below).
        let n_vms = self.cluster.vms().len();
        let mut vm_marks = std::mem::take(&mut self.control.as_mut().expect("control").vm_marks);
        vm_marks.resize(n_vms, 0.0);

        let c = self.control.as_mut().expect("control");
        let view = &mut c.view;
        view.now_s = now.as_secs();
        view.period_s = period_s;
        view.mode = mode;
        view.host_reserved_ram_mb = host_reserved_ram_mb;
        // Nodes never appear during a run: their static facts are written once.
        for n in 0..n_nodes {
            let node = self.cluster.node(n as u32);
            if view.nodes.len() <= n {
                view.nodes.push(NodeView {
                    id: NodeId(n as u32),
                    name: node.name.clone(),
                    state: NodeState::Off,
                    cores: node.cores,
                    speed: node.speed,
                    ram_mb: node.ram_mb,
                    nic_mbps: node.nic_mb_per_s * 8.0,
                    boot_s: ns_to_secs(node.boot_ns),
                    shutdown_s: ns_to_secs(node.shutdown_ns),
                    free_ram_mb: 0.0,
                    cpu_utilisation: 0.0,
                    cpu_demand: 0.0,
                    power_w: 0.0,
                    power_curve_w: node.power.curve_w(),
                    vms: Vec::new(),
                    replica: None,
                    backups: Vec::new(),
                });
            }
            let nv = &mut view.nodes[n];
            nv.state = match node.state {
                SimNodeState::Off => NodeState::Off,
                SimNodeState::Booting => NodeState::Booting,
                SimNodeState::On => NodeState::On,
                SimNodeState::ShuttingDown => NodeState::ShuttingDown,
                SimNodeState::Failed => NodeState::Failed,
            };
            nv.free_ram_mb = if mode == Mode::Virtualized {
                self.cluster.free_ram_mb(n as u32)
            } else if node.bare.is_some() {
                0.0
            } else {
                node.ram_mb
            };
            nv.cpu_utilisation = node_cpu[n];
            nv.power_w = node_power[n];
            nv.vms.clear();
            nv.vms.extend(node.vms.iter().map(|&v| VmId(v)));
            nv.replica = node.bare.map(ReplicaId);
            nv.backups.clear();
            nv.cpu_demand = node
                .vms
                .iter()
                .map(|&v| self.cluster.vm_demand_cpu(v))
                .fold(0.0, |a, d| a + d);
        }
        // One pass over the VMs (at 100,000 VMs each pass over them misses the cache at every
        // VM): the trace VMs' grants settled, and the view.
        for (v, mark) in vm_marks.iter_mut().enumerate() {
            let replica = match self.vm_loads[v] {
                VmLoad::Replica(s) => Some(s),
                VmLoad::Trace => None,
            };
            let trace_cores = match replica {
                Some(_) => 0.0,
                None => {
                    let g = self.cluster.settle_vm(now, v as u32);
                    let cores = if dt_ns > 0.0 {
                        (g - *mark) / dt_ns
                    } else {
                        0.0
                    };
                    *mark = g;
                    cores
                }
            };
            let vm = self.cluster.vm(v as u32);
            if view.vms.len() <= v {
                view.vms.push(VmView {
                    id: VmId(v as u32),
                    name: vm.name.clone(),
                    alive: true,
                    node: None,
                    migrating_to: None,
                    vcpus: vm.vcpus,
                    ram_mb: vm.ram_mb,
                    dirty_mb_per_s: vm.dirty_mb_per_s,
                    dirty_mb_per_cpu_s: vm.dirty_mb_per_cpu_s,
                    replica: replica.map(ReplicaId),
                    cpu_cores_used: 0.0,
                    cpu_max: 0.0,
                    cpu_demand: 0.0,
                    cpu_granted: 0.0,
                    backup: None,
                });
            }
            let vv = &mut view.vms[v];
            vv.alive = vm.alive;
            vv.node = vm.node.map(NodeId);
            vv.migrating_to = vm.migrating_to.map(NodeId);
            vv.cpu_cores_used = match replica {
                Some(s) => replica_busy_cores[s as usize],
                None => trace_cores,
            };
            let speed = vm.node.map_or(1.0, |n| self.cluster.node(n).speed);
            vv.cpu_max = vm.cpu_max(speed);
            vv.cpu_demand = self.cluster.vm_demand_cpu(v as u32);
            vv.cpu_granted = self.cluster.vm_granted_cpu(v as u32);
            vv.backup = self.cluster.protection(v as u32).map(|p| NodeId(p.backup));
            if let Some(b) = vv.backup {
                view.nodes[b.0 as usize].backups.push(VmId(v as u32));
            }
        }
        for (i, s) in self.apps.servers().iter().enumerate() {
            let tier = TierRef {
                app: AppId(u32::from(s.app)),
                tier: u32::from(s.tier),
            };
            if view.replicas.len() <= i {
                view.replicas.push(ReplicaView {
                    id: ReplicaId(i as u32),
                    name: s.name.clone(),
                    tier,
                    state: ReplicaState::Starting,
                    node: None,
                    vm: None,
                    cpu_utilisation: 0.0,
                    sessions: 0,
                    requests_in_progress: 0,
                });
            }
            let rv = &mut view.replicas[i];
            rv.state = match s.state {
                ServerState::Starting => ReplicaState::Starting,
                ServerState::Active => ReplicaState::Active,
                ServerState::Draining => ReplicaState::Draining,
                ServerState::Stopped => ReplicaState::Stopped,
                ServerState::Failed => ReplicaState::Failed,
            };
            rv.node = match s.host {
                Host::Dedicated => None,
                Host::Node(n) => Some(NodeId(n)),
                Host::Vm(v) => self.cluster.vm(v).node.map(NodeId),
            };
            rv.vm = match s.host {
                Host::Vm(v) => Some(VmId(v)),
                _ => None,
            };
            rv.cpu_utilisation = replica_cpu[i];
            rv.sessions = s.pinned_sessions;
            rv.requests_in_progress = s.ps.jobs() as u64;
        }
        let target_ms = self.report.target_ms;
        for (ai, a) in self.apps.apps().iter().enumerate() {
            if view.apps.len() <= ai {
                view.apps.push(AppView {
                    id: AppId(ai as u32),
                    name: a.name.clone(),
                    tiers: Vec::new(),
                    clients: 0,
                    throughput_rps: 0.0,
                    mean_response_ms: 0.0,
                    p95_response_ms: 0.0,
                    failed_requests: 0,
                    sla_target_ms: target_ms,
                });
            }
            let st = &a.period;
            let av = &mut view.apps[ai];
            av.tiers = TierView::of_app(
                AppId(ai as u32),
                a.tiers.iter().map(|t| t.name.as_str()),
                &view.replicas,
            );
            av.clients = a.in_loop;
            av.throughput_rps = if period_s > 0.0 {
                st.completed as f64 / period_s
            } else {
                0.0
            };
            av.mean_response_ms = st.mean_ms();
            av.p95_response_ms = st.quantile_ms(0.95);
            av.failed_requests = st.failed;
        }
        self.apps.reset_period();
        // The actions in progress at the previous view, then the ones logged since, in log
        // order (not the whole log: it grows by thousands of migrations a period).
        let records = self.log.records();
        view.actions.clear();
        let mut still = Vec::new();
        let old = std::mem::take(&mut c.shown_in_progress);
        for i in old.into_iter().chain(c.shown_up_to..records.len()) {
            let r = &records[i];
            if r.outcome == Outcome::InProgress {
                still.push(i);
            }
            view.actions.push(ActionView {
                id: r.id,
                action: r.action.clone(),
                started_s: r.start.as_secs(),
                ended_s: r.end.map(SimTime::as_secs),
                outcome: r.outcome.clone(),
            });
        }
        c.shown_in_progress = still;
        c.shown_up_to = records.len();
        view.failures.clear();
        for r in &self.faults.records[c.faults_shown..] {
            view.failures
                .extend(r.failed.iter().map(|&failed| FailureView {
                    failed,
                    at_s: r.time.as_secs(),
                }));
        }
        c.faults_shown = self.faults.records.len();
        c.last = now;
        c.node_marks = node_marks;
        c.server_marks = server_marks;
        c.vm_marks = vm_marks;
    }
}
