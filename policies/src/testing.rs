//! Hand-built views, for the unit tests of policies (those of this crate and those written
//! outside it): nodes, VMs and replicas added one by one, with the figures a backend would fill.

use crate::api::*;

/// A view under construction: nodes, then VMs (virtualized) or replicas (bare).
pub struct ViewBuilder {
    pub view: View,
}

impl ViewBuilder {
    pub fn new(mode: Mode, now_s: f64) -> Self {
        ViewBuilder {
            view: View {
                now_s,
                period_s: 30.0,
                mode,
                host_reserved_ram_mb: 512.0,
                nodes: Vec::new(),
                vms: Vec::new(),
                replicas: Vec::new(),
                apps: vec![AppView {
                    id: AppId(0),
                    name: "a".into(),
                    tiers: Vec::new(),
                    clients: 100,
                    throughput_rps: 10.0,
                    mean_response_ms: 50.0,
                    p95_response_ms: 100.0,
                    failed_requests: 0,
                    sla_target_ms: 500.0,
                }],
                actions: Vec::new(),
                failures: Vec::new(),
            },
        }
    }

    /// A node with `cores`, `ram_mb`, state and CPU utilisation.
    pub fn node(mut self, state: NodeState, cores: f64, ram_mb: f64, cpu: f64) -> Self {
        let id = NodeId(self.view.nodes.len() as u32);
        self.view.nodes.push(NodeView {
            id,
            name: format!("node-{}", id.0),
            state,
            cores,
            speed: 1.0,
            ram_mb,
            nic_mbps: 1000.0,
            boot_s: 60.0,
            shutdown_s: 10.0,
            free_ram_mb: if state == NodeState::On {
                ram_mb - 512.0
            } else {
                0.0
            },
            cpu_utilisation: cpu,
            cpu_demand: 0.0,
            power_w: 100.0,
            power_curve_w: [0.0; 11],
            vms: Vec::new(),
            replica: None,
            backups: Vec::new(),
        });
        self
    }

    fn tier(&mut self, tier: u32) -> TierRef {
        let t = TierRef {
            app: AppId(0),
            tier,
        };
        let app = &mut self.view.apps[0];
        while app.tiers.len() <= tier as usize {
            let k = app.tiers.len() as u32;
            app.tiers.push(TierView {
                tier: TierRef {
                    app: AppId(0),
                    tier: k,
                },
                name: format!("t{k}"),
                replicas: Vec::new(),
            });
        }
        t
    }

    /// A replica of `tier` on node `node` (bare) or in a new VM on it (virtualized), with its
    /// CPU utilisation; a VM uses `cpu × vcpus` cores of its node.
    pub fn replica(mut self, tier: u32, node: u32, cpu: f64, vcpus: f64, ram_mb: f64) -> Self {
        let t = self.tier(tier);
        let id = ReplicaId(self.view.replicas.len() as u32);
        let n = NodeId(node);
        let vm = if self.view.mode == Mode::Virtualized {
            let v = VmId(self.view.vms.len() as u32);
            self.view.vms.push(VmView {
                id: v,
                name: format!("vm{}", v.0),
                alive: true,
                node: Some(n),
                migrating_to: None,
                vcpus,
                ram_mb,
                dirty_mb_per_s: 0.0,
                dirty_mb_per_cpu_s: 0.0,
                replica: Some(id),
                cpu_cores_used: cpu * vcpus,
                cpu_max: vcpus,
                cpu_demand: cpu * vcpus,
                cpu_granted: cpu * vcpus,
                backup: None,
            });
            let node = &mut self.view.nodes[node as usize];
            node.cpu_demand += cpu * vcpus;
            node.vms.push(v);
            node.free_ram_mb -= ram_mb;
            Some(v)
        } else {
            self.view.nodes[node as usize].replica = Some(id);
            None
        };
        self.view.replicas.push(ReplicaView {
            id,
            name: format!("a.t{tier}.{}", id.0),
            tier: t,
            state: ReplicaState::Active,
            node: Some(n),
            vm,
            cpu_utilisation: cpu,
            sessions: 10,
            requests_in_progress: 1,
        });
        self.view.apps[0].tiers[tier as usize].replicas.push(id);
        self
    }

    /// A VM whose load follows a trace (no replica): `cpu_max` and `demand` in CPU units, on
    /// node `node` or not placed yet (`None`); granted its demand up to its node's speed per vCPU.
    pub fn trace_vm(
        mut self,
        node: Option<u32>,
        vcpus: f64,
        ram_mb: f64,
        cpu_max: f64,
        demand: f64,
    ) -> Self {
        let v = VmId(self.view.vms.len() as u32);
        let speed = node.map_or(1.0, |n| self.view.nodes[n as usize].speed);
        let granted = if node.is_some() {
            demand.min(vcpus * speed)
        } else {
            0.0
        };
        self.view.vms.push(VmView {
            id: v,
            name: format!("vm{}", v.0),
            alive: true,
            node: node.map(NodeId),
            migrating_to: None,
            vcpus,
            ram_mb,
            dirty_mb_per_s: 0.0,
            dirty_mb_per_cpu_s: 0.0,
            replica: None,
            cpu_cores_used: granted / speed,
            cpu_max,
            cpu_demand: demand,
            cpu_granted: granted,
            backup: None,
        });
        if let Some(n) = node {
            let node = &mut self.view.nodes[n as usize];
            node.vms.push(v);
            node.free_ram_mb -= ram_mb;
            node.cpu_demand += demand;
        }
        self
    }

    /// Sets the speed (capacity of one core, in CPU units) of node `n`.
    pub fn speed(mut self, n: u32, speed: f64) -> Self {
        self.view.nodes[n as usize].speed = speed;
        self
    }

    /// Sets the power curve (watts at 0, 10, …, 100 % CPU) of node `n`.
    pub fn power(mut self, n: u32, curve_w: [f64; 11]) -> Self {
        self.view.nodes[n as usize].power_curve_w = curve_w;
        self
    }

    pub fn action(mut self, action: Action, outcome: Outcome) -> Self {
        let id = ActionId(self.view.actions.len() as u32);
        self.view.actions.push(ActionView {
            id,
            action,
            started_s: 0.0,
            ended_s: None,
            outcome,
        });
        self
    }

    pub fn build(self) -> View {
        self.view
    }
}

/// The view at a later time with the same state (to make conditions last).
pub fn at(view: &View, now_s: f64) -> View {
    let mut v = view.clone();
    v.now_s = now_s;
    v
}
