//! `threshold-migration`: migration-based elasticity, as the research group did it with Xen.
//! All VMs start consolidated. When a node's CPU stays above `high` (0.6 in the group's own
//! experiment) for `for_s` seconds, the least-loaded VM that fits elsewhere is live-migrated off
//! it; when none fits, a node is powered on first. When nodes are under-loaded, the least
//! loaded one is emptied onto the others (first-fit decreasing, keeping every node below
//! `high`) and empty nodes are powered off.
//!
//! `threshold-migration-batch` is the same policy with the spreading done at once: off an
//! overloaded node it moves, in one decision, as many VMs as its projected load needs to come
//! back below `high`, to nodes that are on or, when those are full, to nodes that are off
//! (which the backend boots first, then migrates: a migration to an off node waits for its
//! boot, as a replica start does). The one-VM-per-period policy pays a control period and a
//! cool-down per VM on a sudden load step, where the restart-based policy adds a whole
//! replica's capacity at once; this variant gives the migration mechanism the same chance.

use crate::api::{
    Action, ActionView, NodeId, NodeState, ParamSpec, Params, Policy, PolicyContext, View, VmId,
};
use crate::placement::idle_nodes;
use crate::sustained::{Sustained, Window};
use crate::PolicyInfo;
use std::collections::BTreeMap;

pub const INFO: PolicyInfo = PolicyInfo {
    name: "threshold-migration",
    about: "Migration-based: spread VMs off nodes above a CPU threshold, consolidate under-loaded nodes (Xen experiment).",
    params: PARAMS,
    build,
};

pub const BATCH_INFO: PolicyInfo = PolicyInfo {
    name: "threshold-migration-batch",
    about: "Migration-based, as threshold-migration, but an overloaded node sheds at once as many VMs as its projected load needs (booting nodes for them if needed).",
    params: PARAMS,
    build: build_batch,
};

const PARAMS: &[ParamSpec] = &[
    ParamSpec::number("high", 0.6, "a node above this CPU (0..1) sheds a VM")
        .above(0.0)
        .below(1.0),
    ParamSpec::number("low", 0.25, "nodes below this CPU (0..1) are consolidated")
        .min(0.0)
        .less_than("high"),
    ParamSpec::number("for_s", 30.0, "seconds a condition must hold, s").non_negative(),
    ParamSpec::number(
        "window_s",
        60.0,
        "averaging window of node CPU, s (0: the last period alone)",
    )
    .non_negative(),
    ParamSpec::number(
        "cooldown_s",
        60.0,
        "no new decision for this long after one, s",
    )
    .non_negative(),
    ParamSpec::flag("power_off_idle", true, "power off nodes left empty"),
];

fn build(p: &Params, _: &PolicyContext) -> Box<dyn Policy> {
    Box::new(ThresholdMigration::new(p, false))
}

fn build_batch(p: &Params, _: &PolicyContext) -> Box<dyn Policy> {
    Box::new(ThresholdMigration::new(p, true))
}

impl ThresholdMigration {
    fn new(p: &Params, batch: bool) -> Self {
        ThresholdMigration {
            batch,
            high: p.number("high"),
            low: p.number("low"),
            for_s: p.number("for_s"),
            window_s: p.number("window_s"),
            cooldown_s: p.number("cooldown_s"),
            power_off_idle: p.flag("power_off_idle"),
            nodes: BTreeMap::new(),
            last_action_s: None,
        }
    }
}

#[derive(Default)]
struct NodeState_ {
    cpu: Window,
    above: Sustained,
    below: Sustained,
}

pub struct ThresholdMigration {
    /// Spread as many VMs as needed at once (`threshold-migration-batch`), not one per node.
    batch: bool,
    high: f64,
    low: f64,
    for_s: f64,
    window_s: f64,
    cooldown_s: f64,
    power_off_idle: bool,
    nodes: BTreeMap<NodeId, NodeState_>,
    last_action_s: Option<f64>,
}

/// A node as the policy plans on it: projected busy cores and free RAM.
#[derive(Clone, Debug)]
struct Plan {
    id: NodeId,
    cores: f64,
    busy_cores: f64,
    free_ram_mb: f64,
}

impl ThresholdMigration {
    fn fits(&self, node: &Plan, vm_cores: f64, vm_ram_mb: f64) -> bool {
        node.free_ram_mb >= vm_ram_mb && (node.busy_cores + vm_cores) / node.cores <= self.high
    }
}

fn migrating(a: &ActionView) -> bool {
    matches!(a.action, Action::Migrate { .. } | Action::PowerOn { .. })
}

impl Policy for ThresholdMigration {
    fn name(&self) -> &str {
        if self.batch {
            BATCH_INFO.name
        } else {
            INFO.name
        }
    }

    fn decide(&mut self, view: &View) -> Vec<Action> {
        let mut actions = Vec::new();
        // Smoothed CPU of every node that is on.
        let mut cpu = BTreeMap::new();
        let mut overloaded = Vec::new();
        let mut underloaded = Vec::new();
        for n in view.nodes.iter().filter(|n| n.state == NodeState::On) {
            let st = self.nodes.entry(n.id).or_default();
            let c = st.cpu.push(view.now_s, n.cpu_utilisation, self.window_s);
            cpu.insert(n.id, c);
            if st.above.update(view.now_s, c > self.high, self.for_s) {
                overloaded.push(n.id);
            }
            if st.below.update(view.now_s, c < self.low, self.for_s) && !n.vms.is_empty() {
                underloaded.push(n.id);
            }
        }
        let busy = view.in_flight().any(migrating);
        let cooling = self
            .last_action_s
            .is_some_and(|t| view.now_s - t < self.cooldown_s);
        if !busy && !cooling {
            let mut plans: Vec<Plan> = view
                .nodes
                .iter()
                .filter(|n| n.state == NodeState::On)
                .map(|n| Plan {
                    id: n.id,
                    cores: n.cores,
                    busy_cores: cpu[&n.id] * n.cores,
                    free_ram_mb: n.free_ram_mb,
                })
                .collect();
            if !overloaded.is_empty() && self.batch {
                actions = self.spread_batch(view, &mut plans, &overloaded);
            } else if !overloaded.is_empty() {
                actions = self.spread(view, &mut plans, &overloaded);
            } else if underloaded.len() >= 2 || (underloaded.len() == 1 && plans.len() >= 2) {
                actions = self.consolidate(view, &mut plans, &underloaded);
            }
            if !actions.is_empty() {
                self.last_action_s = Some(view.now_s);
            }
        }
        // An empty node may be just what an overloaded one needs: power off only when none is.
        let any_hot = cpu.values().any(|&c| c > self.high);
        if self.power_off_idle && !busy && !any_hot {
            let targets: Vec<NodeId> = actions
                .iter()
                .filter_map(|a| match a {
                    Action::Migrate { to, .. } => Some(*to),
                    _ => None,
                })
                .collect();
            // Keep one node on whatever happens.
            let on = view
                .nodes
                .iter()
                .filter(|n| n.state == NodeState::On)
                .count();
            for (k, n) in idle_nodes(view).enumerate() {
                if !targets.contains(&n) && on - k > 1 {
                    actions.push(Action::PowerOff { node: n });
                }
            }
        }
        actions
    }
}

impl ThresholdMigration {
    /// Moves, off each overloaded node, the least-loaded VM that fits on another node; powers a
    /// node on when nothing fits.
    fn spread(&self, view: &View, plans: &mut [Plan], overloaded: &[NodeId]) -> Vec<Action> {
        let mut actions = Vec::new();
        for &src in overloaded {
            if view.node(src).vms.len() < 2 {
                continue; // a VM alone on its node is as well there as anywhere
            }
            let mut vms: Vec<VmId> = view.node(src).vms.clone();
            vms.retain(|v| view.vm(*v).migrating_to.is_none());
            vms.sort_by(|a, b| {
                view.vm(*a)
                    .cpu_cores_used
                    .total_cmp(&view.vm(*b).cpu_cores_used)
                    .then(a.cmp(b))
            });
            let mut moved = false;
            for v in vms {
                let vm = view.vm(v);
                // The least-loaded destination that stays below the threshold.
                let dest = plans
                    .iter()
                    .filter(|p| p.id != src && self.fits(p, vm.cpu_cores_used, vm.ram_mb))
                    .min_by(|a, b| {
                        (a.busy_cores / a.cores)
                            .total_cmp(&(b.busy_cores / b.cores))
                            .then(a.id.cmp(&b.id))
                    })
                    .map(|p| p.id);
                if let Some(to) = dest {
                    for p in plans.iter_mut() {
                        if p.id == to {
                            p.busy_cores += vm.cpu_cores_used;
                            p.free_ram_mb -= vm.ram_mb;
                        }
                        if p.id == src {
                            p.busy_cores -= vm.cpu_cores_used;
                            p.free_ram_mb += vm.ram_mb;
                        }
                    }
                    actions.push(Action::Migrate { vm: v, to });
                    moved = true;
                    break;
                }
            }
            if !moved {
                // A new node helps only if one of this node's VMs would fit on it alone.
                let booting = view.nodes.iter().any(|n| n.state == NodeState::Booting);
                let off = view.nodes.iter().find(|n| n.state == NodeState::Off);
                let helps = off.is_some_and(|n| {
                    let empty = Plan {
                        id: n.id,
                        cores: n.cores,
                        busy_cores: 0.0,
                        free_ram_mb: n.ram_mb - view.host_reserved_ram_mb,
                    };
                    view.node(src).vms.iter().any(|v| {
                        let vm = view.vm(*v);
                        self.fits(&empty, vm.cpu_cores_used, vm.ram_mb)
                    })
                });
                if let (false, true, Some(node)) = (booting, helps, off) {
                    actions.push(Action::PowerOn { node: node.id });
                    return actions;
                }
            }
        }
        actions
    }

    /// Off each overloaded node, moves VMs, largest projected need first, until what stays is
    /// projected below `high` (or one VM is left). A VM's projected need is the cores it used
    /// over the period or, if it is short of CPU now (it asks for more than it is granted), what
    /// it asks now when that is more: on a saturated node its VMs get their fair share and ask
    /// for more, and the unmet part is what the load needs.
    /// Destinations: the least-loaded node that is on and stays below `high`, else a node that
    /// is off (booted by the backend before the migration), filled the same way; a VM whose
    /// need alone is above `high` of a whole node may have an empty node to itself.
    fn spread_batch(
        &self,
        view: &View,
        plans: &mut Vec<Plan>,
        overloaded: &[NodeId],
    ) -> Vec<Action> {
        let need = |v: VmId| {
            let vm = view.vm(v);
            let speed = vm
                .node
                .map_or(1.0, |n| view.node(n).speed)
                .max(f64::MIN_POSITIVE);
            // Only a VM short of CPU now shows more demand than it used: the rest is noise of
            // the instant (a VM with two requests in service asks for two cores for a moment).
            if vm.cpu_demand > vm.cpu_granted * (1.0 + 1e-9) {
                vm.cpu_cores_used.max(vm.cpu_demand / speed)
            } else {
                vm.cpu_cores_used
            }
        };
        // Off nodes join the plan, empty, the first time one is chosen.
        let mut off: Vec<Plan> = view
            .nodes
            .iter()
            .filter(|n| n.state == NodeState::Off)
            .map(|n| Plan {
                id: n.id,
                cores: n.cores,
                busy_cores: 0.0,
                free_ram_mb: n.ram_mb - view.host_reserved_ram_mb,
            })
            .collect();
        let mut hosting: Vec<NodeId> = view
            .nodes
            .iter()
            .filter(|n| !n.vms.is_empty())
            .map(|n| n.id)
            .collect();
        let mut actions = Vec::new();
        for &src in overloaded {
            let mut vms: Vec<VmId> = view.node(src).vms.clone();
            vms.retain(|v| view.vm(*v).migrating_to.is_none());
            vms.sort_by(|a, b| need(*b).total_cmp(&need(*a)).then(a.cmp(b)));
            let cores = view.node(src).cores;
            let mut staying: f64 = vms.iter().map(|v| need(*v)).sum();
            let mut left = vms.len();
            for v in vms {
                if staying / cores <= self.high || left < 2 {
                    break;
                }
                let (n, ram) = (need(v), view.vm(v).ram_mb);
                // Below the threshold, or an empty node all to itself.
                let fits = |p: &Plan, hosting: &[NodeId]| {
                    p.free_ram_mb >= ram
                        && ((p.busy_cores + n) / p.cores <= self.high || !hosting.contains(&p.id))
                };
                let on = plans
                    .iter_mut()
                    .filter(|p| p.id != src && fits(p, &hosting))
                    .min_by(|a, b| {
                        (a.busy_cores / a.cores)
                            .total_cmp(&(b.busy_cores / b.cores))
                            .then(a.id.cmp(&b.id))
                    });
                let to = match on {
                    Some(p) => {
                        p.busy_cores += n;
                        p.free_ram_mb -= ram;
                        p.id
                    }
                    None => {
                        let Some(k) = off.iter().position(|p| fits(p, &hosting)) else {
                            continue; // nowhere to go: try a smaller VM
                        };
                        let mut p = off.remove(k);
                        p.busy_cores += n;
                        p.free_ram_mb -= ram;
                        let id = p.id;
                        plans.push(p);
                        id
                    }
                };
                hosting.push(to);
                staying -= n;
                left -= 1;
                if let Some(p) = plans.iter_mut().find(|p| p.id == src) {
                    p.busy_cores -= n;
                    p.free_ram_mb += ram;
                }
                actions.push(Action::Migrate { vm: v, to });
            }
        }
        actions
    }

    /// Empties the least-loaded under-loaded node onto the others, first-fit decreasing, if all
    /// of its VMs fit below the threshold.
    fn consolidate(&self, view: &View, plans: &mut [Plan], underloaded: &[NodeId]) -> Vec<Action> {
        let Some(&src) = underloaded.iter().min_by(|a, b| {
            let ua = plans
                .iter()
                .find(|p| p.id == **a)
                .map_or(0.0, |p| p.busy_cores / p.cores);
            let ub = plans
                .iter()
                .find(|p| p.id == **b)
                .map_or(0.0, |p| p.busy_cores / p.cores);
            ua.total_cmp(&ub).then(a.cmp(b))
        }) else {
            return Vec::new();
        };
        let mut vms: Vec<VmId> = view.node(src).vms.clone();
        // Decreasing CPU, then decreasing RAM: the classic first-fit decreasing order.
        vms.sort_by(|a, b| {
            let (va, vb) = (view.vm(*a), view.vm(*b));
            vb.cpu_cores_used
                .total_cmp(&va.cpu_cores_used)
                .then(vb.ram_mb.total_cmp(&va.ram_mb))
                .then(a.cmp(b))
        });
        // Only nodes that already host VMs receive: moving everything to an empty node would
        // save nothing.
        let mut trial: Vec<Plan> = plans
            .iter()
            .filter(|p| p.id != src && !view.node(p.id).vms.is_empty())
            .cloned()
            .collect();
        // Fill the fullest nodes first, so that the emptiest stay empty.
        trial.sort_by(|a, b| {
            (b.busy_cores / b.cores)
                .total_cmp(&(a.busy_cores / a.cores))
                .then(a.id.cmp(&b.id))
        });
        let mut moves = Vec::new();
        for v in vms {
            let vm = view.vm(v);
            let Some(p) = trial.iter_mut().find(|p| {
                p.free_ram_mb >= vm.ram_mb
                    && (p.busy_cores + vm.cpu_cores_used) / p.cores <= self.high
            }) else {
                return Vec::new(); // not everything fits: keep the node
            };
            p.busy_cores += vm.cpu_cores_used;
            p.free_ram_mb -= vm.ram_mb;
            moves.push(Action::Migrate { vm: v, to: p.id });
        }
        moves
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{Mode, Outcome};
    use crate::testing::{at, ViewBuilder};

    fn policy() -> Box<dyn Policy> {
        crate::build(
            "threshold-migration",
            &BTreeMap::new(),
            &crate::api::PolicyContext { seed: 1 },
        )
        .unwrap()
    }

    /// Runs the policy on the same view at 0 s and 30 s (conditions must hold 30 s).
    fn decide_sustained(view: &View) -> Vec<Action> {
        let mut p = policy();
        p.decide(&at(view, 0.0));
        p.decide(&at(view, 30.0))
    }

    #[test]
    fn an_overloaded_node_sheds_its_least_loaded_vm_that_fits() {
        let v = ViewBuilder::new(Mode::Virtualized, 0.0)
            .node(NodeState::On, 4.0, 4096.0, 0.9)
            .node(NodeState::On, 4.0, 4096.0, 0.1)
            .replica(0, 0, 1.0, 2.0, 512.0) // vm0: 2 cores
            .replica(1, 0, 0.5, 1.0, 512.0) // vm1: 0.5 core, the least loaded
            .replica(2, 0, 0.9, 1.0, 512.0) // vm2: 0.9 core
            .build();
        let actions = decide_sustained(&v);
        assert_eq!(
            actions,
            vec![Action::Migrate {
                vm: VmId(1),
                to: NodeId(1)
            }]
        );
    }

    #[test]
    fn a_node_is_powered_on_when_no_vm_fits_anywhere() {
        let v = ViewBuilder::new(Mode::Virtualized, 0.0)
            .node(NodeState::On, 4.0, 4096.0, 0.9)
            .node(NodeState::On, 4.0, 4096.0, 0.59)
            .node(NodeState::Off, 4.0, 4096.0, 0.0)
            .replica(0, 0, 1.0, 2.0, 512.0)
            .replica(1, 0, 0.5, 1.0, 512.0)
            .replica(2, 1, 1.0, 2.0, 512.0)
            .build();
        assert_eq!(
            decide_sustained(&v),
            vec![Action::PowerOn { node: NodeId(2) }]
        );
    }

    #[test]
    fn no_node_is_powered_on_for_a_vm_too_big_for_any_node() {
        // The only VM uses 1.9 of 2 cores: alone on a fresh node it would still be above 60%.
        let v = ViewBuilder::new(Mode::Virtualized, 0.0)
            .node(NodeState::On, 2.0, 4096.0, 0.95)
            .node(NodeState::Off, 2.0, 4096.0, 0.0)
            .replica(0, 0, 0.95, 2.0, 512.0)
            .build();
        assert!(decide_sustained(&v).is_empty());
    }

    /// A saturated node whose VMs ask for more than they get (demand above use), one node on
    /// with room for one of them, two nodes off.
    fn saturated() -> View {
        let mut v = ViewBuilder::new(Mode::Virtualized, 0.0)
            .node(NodeState::On, 2.0, 4096.0, 1.0)
            .node(NodeState::On, 2.0, 4096.0, 0.1)
            .node(NodeState::Off, 2.0, 4096.0, 0.0)
            .node(NodeState::Off, 2.0, 4096.0, 0.0)
            .replica(0, 0, 0.4, 2.0, 512.0) // vm0: uses 0.8 core, asks for 2
            .replica(1, 0, 0.5, 1.0, 512.0) // vm1: uses 0.5, asks for 1
            .replica(2, 0, 0.4, 1.0, 512.0) // vm2: uses 0.4, asks for 0.6
            .replica(3, 0, 0.1, 1.0, 512.0) // vm3: uses 0.1, asks for 0.1
            .replica(4, 1, 0.1, 2.0, 512.0) // vm4 on node1: 0.2 core
            .build();
        for (vm, demand) in [(0, 2.0), (1, 1.0), (2, 0.6)] {
            v.vms[vm].cpu_demand = demand;
        }
        v
    }

    #[test]
    fn the_batch_variant_moves_what_the_projected_load_needs_at_once() {
        let v = saturated();
        let mut batch = crate::build(
            "threshold-migration-batch",
            &BTreeMap::new(),
            &crate::api::PolicyContext { seed: 1 },
        )
        .unwrap();
        assert_eq!(batch.name(), "threshold-migration-batch");
        batch.decide(&at(&v, 0.0));
        // Projected: 2 + 1 + 0.6 + 0.1 = 3.7 cores on 2 (0.6 x 2 = 1.2 allowed). Largest first:
        // vm0 (2 cores) fits on no node that is on (node1: 0.2 + 2 > 1.2) and goes alone to the
        // off node2 (booted first); vm1 (1 core) fits on node1 (0.2 + 1 = 1.2); the 0.7 core
        // left is below the threshold, so vm2 and vm3 stay.
        assert_eq!(
            batch.decide(&at(&v, 30.0)),
            vec![
                Action::Migrate {
                    vm: VmId(0),
                    to: NodeId(2)
                },
                Action::Migrate {
                    vm: VmId(1),
                    to: NodeId(1)
                },
            ]
        );
        // The one-VM policy moves only its least-loaded VM that fits, by what it used.
        assert_eq!(
            decide_sustained(&v),
            vec![Action::Migrate {
                vm: VmId(3),
                to: NodeId(1)
            }]
        );
    }

    #[test]
    fn the_batch_variant_projects_by_what_it_used_unless_a_vm_is_short_of_cpu() {
        // vm1 asks for 2 cores at this instant but is granted them (two requests in service on
        // a node with room): its need is the 0.8 core it used, so vm0 (0.9) is the larger.
        let mut v = ViewBuilder::new(Mode::Virtualized, 0.0)
            .node(NodeState::On, 2.0, 4096.0, 0.9)
            .node(NodeState::On, 2.0, 4096.0, 0.1)
            .replica(0, 0, 0.9, 1.0, 512.0)
            .replica(1, 0, 0.4, 2.0, 512.0)
            .build();
        v.vms[1].cpu_demand = 2.0;
        v.vms[1].cpu_granted = 2.0;
        let mut batch = crate::build(
            "threshold-migration-batch",
            &BTreeMap::new(),
            &crate::api::PolicyContext { seed: 1 },
        )
        .unwrap();
        batch.decide(&at(&v, 0.0));
        // 0.9 + 0.8 = 1.7 cores (0.85 > 0.6); moving vm0 leaves 0.8 (0.4): done.
        assert_eq!(
            batch.decide(&at(&v, 30.0)),
            vec![Action::Migrate {
                vm: VmId(0),
                to: NodeId(1)
            }]
        );
    }

    #[test]
    fn the_batch_variant_fills_a_booted_node_and_leaves_a_lone_vm_alone() {
        // Four 0.5-core VMs on a saturated 2-core node, no other node on: the first goes to the
        // off node1, the second joins it there (0.5 + 0.5 = 1.0 <= 1.2), and the 1.0 core left
        // is below the threshold (0.5 <= 0.6).
        let v = ViewBuilder::new(Mode::Virtualized, 0.0)
            .node(NodeState::On, 2.0, 4096.0, 1.0)
            .node(NodeState::Off, 2.0, 4096.0, 0.0)
            .replica(0, 0, 0.5, 1.0, 512.0)
            .replica(1, 0, 0.5, 1.0, 512.0)
            .replica(2, 0, 0.5, 1.0, 512.0)
            .replica(3, 0, 0.5, 1.0, 512.0)
            .build();
        let mut batch = crate::build(
            "threshold-migration-batch",
            &BTreeMap::new(),
            &crate::api::PolicyContext { seed: 1 },
        )
        .unwrap();
        batch.decide(&at(&v, 0.0));
        assert_eq!(
            batch.decide(&at(&v, 30.0)),
            vec![
                Action::Migrate {
                    vm: VmId(0),
                    to: NodeId(1)
                },
                Action::Migrate {
                    vm: VmId(1),
                    to: NodeId(1)
                },
            ]
        );
        // A VM alone on its saturated node stays.
        let alone = ViewBuilder::new(Mode::Virtualized, 0.0)
            .node(NodeState::On, 2.0, 4096.0, 1.0)
            .node(NodeState::Off, 2.0, 4096.0, 0.0)
            .replica(0, 0, 1.0, 2.0, 512.0)
            .build();
        let mut batch = crate::build(
            "threshold-migration-batch",
            &BTreeMap::new(),
            &crate::api::PolicyContext { seed: 1 },
        )
        .unwrap();
        batch.decide(&at(&alone, 0.0));
        assert!(batch.decide(&at(&alone, 30.0)).is_empty());
    }

    #[test]
    fn a_short_spike_does_nothing() {
        let v = ViewBuilder::new(Mode::Virtualized, 0.0)
            .node(NodeState::On, 4.0, 4096.0, 0.9)
            .node(NodeState::On, 4.0, 4096.0, 0.1)
            .replica(0, 0, 1.0, 2.0, 512.0)
            .replica(1, 0, 0.5, 1.0, 512.0)
            .replica(2, 1, 0.4, 1.0, 512.0)
            .build();
        assert!(policy().decide(&v).is_empty());
    }

    #[test]
    fn under_loaded_nodes_are_consolidated_first_fit_decreasing() {
        let v = ViewBuilder::new(Mode::Virtualized, 0.0)
            .node(NodeState::On, 4.0, 4096.0, 0.05)
            .node(NodeState::On, 4.0, 4096.0, 0.2)
            .replica(0, 0, 0.1, 2.0, 512.0) // vm0 on node0: 0.2 core
            .replica(1, 1, 0.8, 1.0, 512.0) // vm1 on node1: 0.8 core
            .build();
        assert_eq!(
            decide_sustained(&v),
            vec![Action::Migrate {
                vm: VmId(0),
                to: NodeId(1)
            }]
        );
    }

    #[test]
    fn consolidation_never_pushes_a_node_above_the_threshold() {
        let v = ViewBuilder::new(Mode::Virtualized, 0.0)
            .node(NodeState::On, 2.0, 4096.0, 0.2)
            .node(NodeState::On, 2.0, 4096.0, 0.2)
            .replica(0, 0, 0.8, 1.0, 512.0)
            .replica(1, 1, 0.8, 1.0, 512.0)
            .build();
        // Either move would put 1.6 cores on a 2-core node (0.8 > 0.6): nothing moves.
        assert!(decide_sustained(&v).is_empty());
    }

    #[test]
    fn empty_nodes_are_powered_off_and_migrations_in_flight_are_awaited() {
        let v = ViewBuilder::new(Mode::Virtualized, 0.0)
            .node(NodeState::On, 4.0, 4096.0, 0.9)
            .node(NodeState::On, 4.0, 4096.0, 0.0)
            .node(NodeState::On, 4.0, 4096.0, 0.3)
            .replica(0, 0, 1.0, 2.0, 512.0)
            .replica(1, 0, 0.5, 1.0, 512.0)
            .replica(2, 2, 0.5, 1.0, 512.0)
            .build();
        // Overloaded node 0, node 1 empty: the VM goes to node 1, which therefore stays on.
        let actions = decide_sustained(&v);
        assert_eq!(
            actions,
            vec![Action::Migrate {
                vm: VmId(1),
                to: NodeId(1)
            }]
        );
        // With a migration in flight the policy waits, and powers nothing off meanwhile.
        let busy = ViewBuilder::new(Mode::Virtualized, 0.0)
            .node(NodeState::On, 4.0, 4096.0, 0.9)
            .node(NodeState::On, 4.0, 4096.0, 0.0)
            .replica(0, 0, 1.0, 2.0, 512.0)
            .replica(1, 0, 0.5, 1.0, 512.0)
            .action(
                Action::Migrate {
                    vm: VmId(1),
                    to: NodeId(1),
                },
                Outcome::InProgress,
            )
            .build();
        assert!(decide_sustained(&busy).is_empty());
        // An empty node with nothing going on is powered off.
        let idle = ViewBuilder::new(Mode::Virtualized, 0.0)
            .node(NodeState::On, 4.0, 4096.0, 0.3)
            .node(NodeState::On, 4.0, 4096.0, 0.0)
            .replica(0, 0, 0.5, 2.0, 512.0)
            .build();
        assert_eq!(
            policy().decide(&idle),
            vec![Action::PowerOff { node: NodeId(1) }]
        );
    }
}
