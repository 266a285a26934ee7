//! The control loop: every period, build the policy's view from what a monitoring system would
//! have measured over the period, ask the policy, and carry out its actions.
//!
//! The view is built as a probe would: CPU utilisation is busy time over the period (not an
//! instantaneous sample), per node, VM and replica; response times are those of the requests
//! completed during the period. Optional multiplicative noise, from its own random stream,
//! models imperfect probes.

use super::apps::{Host, ServerState};
use super::cluster::NodeState as SimNodeState;
use super::events::Event;
use super::loads::VmLoad;
use super::Simulation;
use crate::engine::time::ns_to_secs;
use crate::engine::{Rng, SimTime};
use rand_distr::{Distribution as _, StandardNormal};
use reconf_api::{
    ActionView, AppId, AppView, Mode, NodeId, NodeState, NodeView, Outcome, Policy, ReplicaId,
    ReplicaState, ReplicaView, TierRef, TierView, View, VmId, VmView,
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
    /// Per action: whether a view already showed how it ended (each outcome is shown once).
    pub outcome_shown: Vec<bool>,
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

    pub(super) fn on_control(&mut self, now: SimTime) {
        let view = self.build_view(now);
        let actions = self.control.as_mut().expect("control").policy.decide(&view);
        for a in actions {
            self.execute(now, a);
        }
        let period = self.control.as_ref().expect("control").period_ns;
        let next = now.plus_ns(period);
        if next < self.horizon {
            self.q.schedule(next, Event::Control);
        }
    }

    /// The view at `now`, averaging over the period since the previous control instant; resets
    /// the period's marks.
    pub(super) fn build_view(&mut self, now: SimTime) -> View {
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

        let nodes = (0..n_nodes)
            .map(|n| {
                let node = self.cluster.node(n as u32);
                NodeView {
                    id: NodeId(n as u32),
                    name: node.name.clone(),
                    state: match node.state {
                        SimNodeState::Off => NodeState::Off,
                        SimNodeState::Booting => NodeState::Booting,
                        SimNodeState::On => NodeState::On,
                        SimNodeState::ShuttingDown => NodeState::ShuttingDown,
                    },
                    cores: node.cores,
                    speed: node.speed,
                    ram_mb: node.ram_mb,
                    free_ram_mb: if mode == Mode::Virtualized {
                        self.cluster.free_ram_mb(n as u32)
                    } else if node.bare.is_some() {
                        0.0
                    } else {
                        node.ram_mb
                    },
                    cpu_utilisation: node_cpu[n],
                    power_w: node_power[n],
                    vms: node.vms.iter().map(|&v| VmId(v)).collect(),
                    replica: node.bare.map(ReplicaId),
                }
            })
            .collect();
        let vms = self
            .cluster
            .vms()
            .iter()
            .enumerate()
            .map(|(v, vm)| {
                let VmLoad::Replica(server) = self.vm_loads[v];
                VmView {
                    id: VmId(v as u32),
                    name: vm.name.clone(),
                    alive: vm.alive,
                    node: NodeId(vm.node),
                    migrating_to: vm.migrating_to.map(NodeId),
                    vcpus: vm.vcpus,
                    ram_mb: vm.ram_mb,
                    replica: ReplicaId(server),
                    cpu_cores_used: replica_busy_cores[server as usize],
                }
            })
            .collect();
        let replicas: Vec<ReplicaView> = self
            .apps
            .servers()
            .iter()
            .enumerate()
            .map(|(i, s)| ReplicaView {
                id: ReplicaId(i as u32),
                name: s.name.clone(),
                tier: TierRef {
                    app: AppId(u32::from(s.app)),
                    tier: u32::from(s.tier),
                },
                state: match s.state {
                    ServerState::Starting => ReplicaState::Starting,
                    ServerState::Active => ReplicaState::Active,
                    ServerState::Draining => ReplicaState::Draining,
                    ServerState::Stopped => ReplicaState::Stopped,
                },
                node: self.node_of_server(i as u32).map(NodeId),
                vm: match s.host {
                    Host::Vm(v) => Some(VmId(v)),
                    _ => None,
                },
                cpu_utilisation: replica_cpu[i],
                sessions: s.pinned_sessions,
                requests_in_progress: s.ps.jobs() as u64,
            })
            .collect();
        let target_ms = self.report.target_ms;
        let apps = self
            .apps
            .apps()
            .iter()
            .enumerate()
            .map(|(ai, a)| {
                let st = &a.period;
                AppView {
                    id: AppId(ai as u32),
                    name: a.name.clone(),
                    tiers: TierView::of_app(
                        AppId(ai as u32),
                        a.tiers.iter().map(|t| t.name.as_str()),
                        &replicas,
                    ),
                    clients: a.in_loop,
                    throughput_rps: if period_s > 0.0 {
                        st.completed as f64 / period_s
                    } else {
                        0.0
                    },
                    mean_response_ms: st.mean_ms(),
                    p95_response_ms: st.quantile_ms(0.95),
                    failed_requests: st.failed,
                    sla_target_ms: target_ms,
                }
            })
            .collect();
        self.apps.reset_period();
        let c = self.control.as_mut().expect("control");
        let records = self.log.records();
        c.outcome_shown.resize(records.len(), false);
        let mut actions = Vec::new();
        for (i, r) in records.iter().enumerate() {
            let ended = r.outcome != Outcome::InProgress;
            if ended && c.outcome_shown[i] {
                continue;
            }
            c.outcome_shown[i] = ended;
            actions.push(ActionView {
                id: r.id,
                action: r.action.clone(),
                started_s: r.start.as_secs(),
                ended_s: r.end.map(SimTime::as_secs),
                outcome: r.outcome.clone(),
            });
        }
        c.last = now;
        c.node_marks = node_marks;
        c.server_marks = server_marks;
        View {
            now_s: now.as_secs(),
            period_s,
            mode,
            host_reserved_ram_mb,
            nodes,
            vms,
            replicas,
            apps,
            actions,
        }
    }
}
