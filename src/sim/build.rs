//! Building the world of a run from a resolved scenario.

use super::actions::ActionLog;
use super::apps::{App, Apps, AppsSettings, Host, Seen, Server, ServerState, Tier, UpTime};
use super::cluster::{
    BackupRule, CheckpointSettings, Cluster, ClusterSettings, CpuSharing, NodeSpec,
};
use super::events::Event;
use super::faults::{FaultNames, Faults};
use super::loads::VmLoad;
use super::output::Reporter;
use super::replicas::{ReplicaSettings, Starts, TierStart};
use super::traces::Traces;
use super::{curve_of, Simulation};
use crate::engine::time::secs_to_ns;
use crate::engine::{rng, EventQueue, SimTime};
use crate::model::balancer::LoadBalancer;
use crate::model::power::PowerModel;
use crate::model::PsServer;
use crate::report::metrics::ResponseStats;
use crate::scenario::infra::{CpuSharingKind, RamLimitKind};
use crate::scenario::load::Loaded;
use crate::scenario::placement::{initial_placement, node_names, nodes_on_at_start};
use crate::scenario::schema::{DeployMode, LoopKind, Scenario};
use crate::workload::distribution::Sampler;
use crate::workload::mix::Mix;
use crate::workload::vm_trace::VmTraceSet;
use std::sync::Arc;

impl Simulation {
    /// Builds the world of a validated, resolved scenario; `mixes[i]` is the session mix of app i.
    ///
    /// Panics if the scenario was not validated (e.g. an infeasible initial placement): load
    /// scenarios through `scenario::load`, which reports such problems as input errors.
    pub fn new(sc: &Scenario, mixes: Vec<Arc<Mix>>) -> Self {
        Self::with_policy(sc, mixes, policy_of(sc))
    }

    /// Like [`Simulation::new`], with a policy given as a value rather than named in the
    /// scenario (whose `[policy]` then only sets the period and noise): a researcher's policy
    /// under development runs without being registered.
    pub fn with_policy(
        sc: &Scenario,
        mixes: Vec<Arc<Mix>>,
        policy: Option<Box<dyn reconf_api::Policy>>,
    ) -> Self {
        assert!(
            sc.vms.is_empty(),
            "a scenario with trace-driven VMs needs its traces: use Simulation::from_loaded"
        );
        Self::build(sc, mixes, &[], policy)
    }

    /// Builds the world of a loaded scenario (applications, their mixes, trace-driven VMs and
    /// their traces, the scenario's policy).
    pub fn from_loaded(loaded: &Loaded) -> Self {
        Self::from_loaded_with_policy(loaded, policy_of(&loaded.scenario))
    }

    /// Like [`Simulation::from_loaded`], with a policy given as a value.
    pub fn from_loaded_with_policy(
        loaded: &Loaded,
        policy: Option<Box<dyn reconf_api::Policy>>,
    ) -> Self {
        Self::build(
            &loaded.scenario,
            loaded.mixes.clone(),
            &loaded.vm_traces,
            policy,
        )
    }

    fn build(
        sc: &Scenario,
        mixes: Vec<Arc<Mix>>,
        vm_traces: &[Arc<VmTraceSet>],
        policy: Option<Box<dyn reconf_api::Policy>>,
    ) -> Self {
        assert_eq!(sc.apps.len(), mixes.len());
        assert_eq!(sc.vms.len(), vm_traces.len());
        let mut node_specs = Vec::new();
        let mut replica_settings = None;
        let settings = match &sc.infrastructure {
            None => ClusterSettings {
                modelled: false,
                virtualized: false,
                hypervisor_overhead: 0.0,
                host_reserved_ram_mb: 0.0,
                cpu_sharing: CpuSharing::MaxMin,
                migration: Default::default(),
                checkpoint: None,
                ram_binds_after_start: true,
            },
            Some(inf) => {
                let names = node_names(inf);
                let on = nodes_on_at_start(inf);
                let layout = crate::scenario::placement::node_layout(inf);
                let groups = layout.iter().map(|&(gi, _)| &inf.nodes[gi]);
                for ((name, g), on) in names.into_iter().zip(groups).zip(on) {
                    node_specs.push(NodeSpec {
                        name,
                        cores: g.cores,
                        speed: g.speed,
                        ram_mb: g.ram_mb,
                        nic_mb_per_s: g.nic_mbps / 8.0,
                        power: PowerModel::of(&g.power),
                        boot_ns: secs_to_ns(g.boot_s),
                        shutdown_ns: secs_to_ns(g.shutdown_s),
                        on,
                        idle_power: g.idle_power,
                    });
                }
                replica_settings = Some(ReplicaSettings {
                    drain_timeout_ns: secs_to_ns(inf.drain_timeout_s),
                    vm_boot: Sampler::new(&inf.vm_boot),
                });
                ClusterSettings {
                    modelled: true,
                    virtualized: inf.mode == DeployMode::Virtualized,
                    hypervisor_overhead: inf.hypervisor_overhead,
                    host_reserved_ram_mb: inf.host_reserved_ram_mb,
                    cpu_sharing: match inf.cpu_sharing {
                        CpuSharingKind::MaxMin => CpuSharing::MaxMin,
                        CpuSharingKind::Proportional => CpuSharing::Proportional,
                    },
                    migration: inf.migration.clone(),
                    checkpoint: sc.checkpointing.as_ref().map(|c| CheckpointSettings {
                        period_ns: secs_to_ns(c.period_ms / 1000.0).max(1),
                        backup: if c.backup == "auto" {
                            BackupRule::Auto
                        } else {
                            BackupRule::Node(
                                node_names(inf)
                                    .iter()
                                    .position(|n| *n == c.backup)
                                    .expect("validated backup node")
                                    as u32,
                            )
                        },
                        failover_ns: secs_to_ns(c.failover_ms / 1000.0),
                        cpu_cores: c.cpu_cores,
                        cpu_core_s_per_mb: c.cpu_core_s_per_mb,
                    }),
                    ram_binds_after_start: inf.ram_limit == RamLimitKind::Always,
                }
            }
        };
        let placement = sc
            .infrastructure
            .as_ref()
            .map(|inf| initial_placement(sc, inf).expect("validated scenario has a placement"));
        let mut cluster = Cluster::new(settings, node_specs);
        let virtualized = cluster.settings().virtualized;
        let mut vm_loads = Vec::new();

        let mut servers = Vec::new();
        let mut apps = Vec::new();
        for (ai, (a, mix)) in sc.apps.iter().zip(mixes).enumerate() {
            let mut tiers = Vec::new();
            for (ti, t) in a.tiers.iter().enumerate() {
                let mut ids = Vec::new();
                for r in 0..t.replicas as usize {
                    let s = servers.len() as u32;
                    let name = format!("{}.{}.{r}", a.name, t.name);
                    let (host, ps) = match &placement {
                        Some(p) => {
                            let n = p[ai][ti][r] as u32;
                            let (cores, speed) = (cluster.node(n).cores, cluster.node(n).speed);
                            if virtualized {
                                let spec = TierStart::of(sc, &a.name, t).vm_spec(name.clone());
                                let v = cluster
                                    .create_vm(n, spec, false)
                                    .expect("validated placement fits");
                                vm_loads.push(VmLoad::Replica(s));
                                (Host::Vm(v), PsServer::new(t.cores, speed, SimTime::ZERO))
                            } else {
                                cluster.occupy(n, s).expect("validated placement");
                                (Host::Node(n), PsServer::new(cores, speed, SimTime::ZERO))
                            }
                        }
                        None => (Host::Dedicated, PsServer::new(t.cores, 1.0, SimTime::ZERO)),
                    };
                    servers.push(Server {
                        name,
                        ps,
                        app: ai as u16,
                        tier: ti as u16,
                        host,
                        state: ServerState::Active,
                        pinned_sessions: 0,
                        epoch: 0,
                    });
                    ids.push(s);
                }
                tiers.push(Tier {
                    name: t.name.clone(),
                    servers: ids,
                    created: t.replicas,
                    balancer: LoadBalancer::new(t.balancer),
                    availability: UpTime::new(true),
                });
            }
            let mut demand = Vec::new();
            for inter in mix.interactions() {
                for t in &a.tiers {
                    let d = t
                        .demands
                        .get(&inter.name)
                        .or(if inter.write {
                            t.write_demand.as_ref()
                        } else {
                            None
                        })
                        .unwrap_or(&t.demand);
                    demand.push(Sampler::new(d));
                }
            }
            apps.push(App {
                name: a.name.clone(),
                loop_kind: a.clients.loop_kind,
                mix,
                tiers,
                think: Sampler::new(&a.clients.think),
                max_transitions: a.clients.max_transitions,
                curve: curve_of(&a.clients.profile),
                demand,
                population: Vec::new(),
                target: 0,
                in_loop: 0,
                arrivals: rng::stream(sc.seed, "arrivals", ai as u64, 0, 0),
                arrivals_so_far: 0,
                free_visitors: Vec::new(),
                seen: Seen::default(),
                period: ResponseStats::default(),
                availability: UpTime::new(true),
            });
        }
        let horizon = SimTime::from_secs(sc.duration_s);
        let warmup = SimTime::from_secs(sc.warmup_s).min(horizon);
        let apps = Apps::new(
            AppsSettings {
                seed: sc.seed,
                horizon,
                warmup,
                timeout_ns: secs_to_ns(sc.sla.request_timeout_s),
                target_ns: secs_to_ns(sc.sla.response_target_ms / 1000.0),
            },
            apps,
            servers,
            policy.is_some(),
        );
        // Trace-driven VMs, after the replicas' VMs, not placed yet.
        let traces = Traces::new(sc.seed, &sc.vms, vm_traces, |spec| {
            vm_loads.push(VmLoad::Trace);
            cluster.create_unplaced_vm(spec)
        });
        let (period_s, noise_sd, first_decision_s) =
            sc.policy.as_ref().map_or((30.0, 0.0, None), |p| {
                (p.period_s, p.monitoring_noise, p.first_decision_s)
            });
        let control = policy.map(|policy| {
            super::control::Control::new(
                policy,
                secs_to_ns(period_s).max(1),
                noise_sd,
                rng::stream(sc.seed, "monitoring", 0, 0, 0),
                cluster.nodes().len(),
            )
        });
        let starts = Starts::new(
            replica_settings,
            sc.apps
                .iter()
                .map(|a| {
                    a.tiers
                        .iter()
                        .map(|t| TierStart::of(sc, &a.name, t))
                        .collect()
                })
                .collect(),
        );
        let report = Reporter::new(
            secs_to_ns(sc.report_interval_s).max(1),
            warmup,
            sc.sla.response_target_ms,
            cluster.nodes().len(),
        );
        let faults = match &sc.faults {
            None => Faults::none(),
            Some(cfg) => {
                let nodes = match &sc.infrastructure {
                    None => Vec::new(),
                    Some(inf) => {
                        let layout = crate::scenario::placement::node_layout(inf);
                        node_names(inf)
                            .into_iter()
                            .zip(layout)
                            .map(|(name, (gi, _))| (name, inf.nodes[gi].name.as_str()))
                            .collect()
                    }
                };
                let apps = sc
                    .apps
                    .iter()
                    .map(|a| {
                        (
                            a.name.as_str(),
                            a.tiers.iter().map(|t| t.name.as_str()).collect(),
                        )
                    })
                    .collect();
                Faults::new(sc.seed, cfg, &FaultNames { nodes, apps })
            }
        };
        let mut sim = Simulation {
            q: EventQueue::with_capacity(4096),
            seed: sc.seed,
            scenario_name: sc.name.clone(),
            horizon,
            events: 0,
            cluster,
            apps,
            vm_loads,
            log: ActionLog::default(),
            starts,
            boot_waits: Default::default(),
            traces,
            scripted: sc.actions.clone(),
            control,
            faults,
            report,
        };
        sim.with_cluster(|c, h| c.rebalance_all(SimTime::ZERO, h));
        for ai in 0..sim.apps.apps().len() {
            match sim.apps.apps()[ai].loop_kind {
                LoopKind::Closed => sim
                    .q
                    .schedule(SimTime::ZERO, Event::PopulationChange { app: ai as u16 }),
                LoopKind::Open => {
                    let (apps, mut env) = sim.split();
                    apps.schedule_next_arrival(ai as u16, &mut env);
                }
            }
        }
        for (i, a) in sc.actions.iter().enumerate() {
            sim.q.schedule(
                SimTime::from_secs(a.at_s()),
                Event::Scripted { index: i as u32 },
            );
        }
        traces_first_updates(&mut sim);
        if let Some(c) = &sim.control {
            let first = first_decision_s.map_or(SimTime(c.period_ns), SimTime::from_secs);
            let unplaced = sim.cluster.vms().iter().any(|v| v.node.is_none());
            if unplaced && first > SimTime::ZERO {
                sim.q.schedule(SimTime::ZERO, Event::InitialPlacement);
            }
            if first < sim.horizon {
                sim.q.schedule(first, Event::Control);
            }
        } else {
            sim.place_first_fit();
        }
        sim.q
            .schedule(SimTime(sim.report.interval_ns), Event::Report);
        if warmup > SimTime::ZERO {
            sim.q.schedule(warmup, Event::WarmupEnd);
        }
        sim.start_faults();
        if let Some(at) = sim.cluster.next_checkpoint(SimTime::ZERO) {
            sim.q.schedule(
                at,
                Event::Cluster(super::cluster::ClusterEvent::CheckpointTick),
            );
        }
        sim.check_invariants();
        sim
    }

    /// Without a policy, VMs not placed yet go to the first node (in node order) that is on,
    /// has their RAM free and the CPU of their nominal capacity left (VMs placed so far counted
    /// at theirs), and whose cores are fast enough for one of their vCPUs: CloudSim's
    /// `PowerVmAllocationPolicySimple`. A VM that fits nowhere stays unplaced (its demand unmet).
    fn place_first_fit(&mut self) {
        use crate::sim::cluster::NodeState;
        let n_nodes = self.cluster.nodes().len();
        let mut nominal = vec![0.0; n_nodes];
        let mut free_ram: Vec<f64> = (0..n_nodes as u32)
            .map(|n| self.cluster.free_ram_mb(n))
            .collect();
        let free = |node: &crate::sim::cluster::Node, nominal: f64, ram: f64| {
            if node.state == NodeState::On {
                (node.cores * node.speed - nominal, ram)
            } else {
                (f64::NEG_INFINITY, f64::NEG_INFINITY)
            }
        };
        let mut index = super::first_fit::FirstFit::new(
            &(0..n_nodes)
                .map(|n| free(self.cluster.node(n as u32), 0.0, free_ram[n]))
                .collect::<Vec<_>>(),
        );
        for v in 0..self.cluster.vms().len() as u32 {
            let vm = self.cluster.vm(v);
            if vm.node.is_some() || !vm.alive {
                continue;
            }
            let (ram, vcpus) = (vm.ram_mb, vm.vcpus);
            // A replica's VM asks for its vCPUs' worth of each node's speed: no CPU bound for
            // the filter, the exact test below decides.
            let cpu_bound = vm.capacity.unwrap_or(0.0);
            let chosen = index.first(cpu_bound, ram, |n| {
                let node = self.cluster.node(n as u32);
                let cpu = vm.cpu_max(node.speed);
                node.state == NodeState::On
                    && free_ram[n] + 1e-9 >= ram
                    && nominal[n] + cpu <= node.cores * node.speed + 1e-9
                    && cpu / vcpus <= node.speed + 1e-9
            });
            if let Some(n) = chosen {
                let n32 = n as u32;
                nominal[n] += vm.cpu_max(self.cluster.node(n32).speed);
                self.with_cluster(|c, h| c.place(SimTime::ZERO, v, n32, h))
                    .expect("checked: the VM fits");
                free_ram[n] = self.cluster.free_ram_mb(n32);
                let (c, r) = free(self.cluster.node(n32), nominal[n], free_ram[n]);
                index.update(n, c, r);
            }
        }
    }
}

/// Each trace group's first update.
fn traces_first_updates(sim: &mut Simulation) {
    sim.traces.schedule_first(&mut sim.q, sim.horizon);
}

/// The policy a scenario names (composed with its `policy.compose` ones), built with its
/// parameters and its own seed.
fn policy_of(sc: &Scenario) -> Option<Box<dyn reconf_api::Policy>> {
    sc.policy.as_ref().map(|p| {
        // Policy i of a composition draws from its own stream (the first one's is unchanged).
        let seed = |i: usize| {
            use rand::RngCore as _;
            rng::stream(sc.seed, "policy", i as u64, 0, 0).next_u64()
        };
        crate::scenario::validate::build_policy(p, &seed).expect("validated policy")
    })
}
