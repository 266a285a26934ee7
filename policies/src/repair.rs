//! `repair`: the autonomic manager's first job (TUNe's repair): every replica found failed is
//! redeployed the way it was, on a free node. In virtualized mode a VM lost in a node crash is
//! restarted from its disk image (VM boot and server start); otherwise — bare mode, or
//! `redeploy = true` — the replica is started again from scratch (deploy, data copy, boot,
//! start). It never resizes anything: compose it with an elasticity policy
//! (`[[policy.compose]]`) for both.
//!
//! Where: a node that is on and has room (RAM for the VM; no replica in bare mode) is preferred
//! to one that is off (which must boot first), the one with the most free RAM first, then the
//! lowest id; nodes that failed, are shutting down or that an action in progress involves are
//! never chosen.

use crate::api::{
    Action, Mode, NodeId, NodeState, ParamSpec, Params, Policy, PolicyContext, ReplicaView, View,
};
use crate::PolicyInfo;

pub const INFO: PolicyInfo = PolicyInfo {
    name: "repair",
    about: "Redeploys every failed replica on a free node (from its VM image when it can).",
    params: &[ParamSpec::flag(
        "redeploy",
        false,
        "Virtualized mode: start failed replicas from scratch (deploy, data copy, VM boot, \
         start) rather than restarting their lost VMs from their images.",
    )],
    build,
};

fn build(params: &Params, _: &PolicyContext) -> Box<dyn Policy> {
    Box::new(Repair {
        redeploy: params.flag("redeploy"),
    })
}

pub struct Repair {
    redeploy: bool,
}

impl Repair {
    /// The node to bring replica `r` back on, RAM `ram_mb` still free on each node after this
    /// round's earlier choices (`free`); `None` if no node can take it.
    fn choose(
        &self,
        view: &View,
        r: &ReplicaView,
        ram_mb: f64,
        free: &mut [f64],
        taken: &[NodeId],
    ) -> Option<NodeId> {
        let bare = view.mode == Mode::Bare;
        let candidates = view.nodes.iter().filter(|n| {
            matches!(n.state, NodeState::On | NodeState::Off)
                && !taken.contains(&n.id)
                && !view.node_busy_with_actions(n.id)
                && if bare {
                    n.replica.is_none() || n.replica == Some(r.id)
                } else {
                    free[n.id.index()] + 1e-9 >= ram_mb
                }
        });
        // On before off, then the most RAM free, then the lowest id.
        let best = candidates.min_by(|a, b| {
            let on = |n: &crate::api::NodeView| n.state != NodeState::On;
            on(a)
                .cmp(&on(b))
                .then(free[b.id.index()].total_cmp(&free[a.id.index()]))
                .then(a.id.cmp(&b.id))
        })?;
        free[best.id.index()] -= ram_mb;
        Some(best.id)
    }
}

impl Policy for Repair {
    fn name(&self) -> &str {
        INFO.name
    }

    fn decide(&mut self, view: &View) -> Vec<Action> {
        // Replicas a restart is already bringing back.
        let restarting: Vec<_> = view
            .in_flight()
            .filter_map(|a| match &a.action {
                Action::RestartReplica { replica, .. } => Some(*replica),
                Action::RestartVm { vm, .. } => view.vms.get(vm.index()).and_then(|v| v.replica),
                _ => None,
            })
            .collect();
        // Free RAM as a node that is off will have it (its whole RAM less the host's share).
        let mut free: Vec<f64> = view
            .nodes
            .iter()
            .map(|n| match n.state {
                NodeState::Off => n.ram_mb - view.host_reserved_ram_mb,
                _ => n.free_ram_mb,
            })
            .collect();
        let mut taken = Vec::new();
        let mut out = Vec::new();
        for r in view.failed_replicas() {
            if restarting.contains(&r.id) {
                continue;
            }
            let vm = r.vm.and_then(|v| view.vms.get(v.index()));
            let ram_mb = vm.map_or(0.0, |v| v.ram_mb);
            let Some(node) = self.choose(view, r, ram_mb, &mut free, &taken) else {
                continue; // nowhere now: next period
            };
            if view.mode == Mode::Bare {
                taken.push(node);
            }
            let lost_vm = vm.filter(|v| !v.alive);
            out.push(match lost_vm {
                Some(v) if !self.redeploy => Action::RestartVm { vm: v.id, node },
                _ => Action::RestartReplica {
                    replica: r.id,
                    node,
                },
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{Failed, FailureView, ReplicaId, ReplicaState, VmId};
    use crate::testing::ViewBuilder;

    #[test]
    fn a_lost_vm_is_restarted_from_its_image_on_the_node_with_most_room() {
        // node-0 crashed with the replica's VM; node-1 is on with a 1 GB VM, node-2 on and
        // empty, node-3 off and bigger.
        let mut view = ViewBuilder::new(Mode::Virtualized, 100.0)
            .node(NodeState::On, 4.0, 4096.0, 0.0)
            .node(NodeState::On, 4.0, 4096.0, 0.2)
            .node(NodeState::On, 4.0, 4096.0, 0.1)
            .node(NodeState::Off, 4.0, 8192.0, 0.0)
            .replica(0, 0, 0.5, 1.0, 512.0)
            .replica(0, 1, 0.5, 1.0, 1024.0)
            .build();
        view.nodes[0].state = NodeState::Failed;
        view.nodes[0].vms.clear();
        view.replicas[0].state = ReplicaState::Failed;
        view.vms[0].alive = false;
        view.failures.push(FailureView {
            failed: Failed::Node(NodeId(0)),
            at_s: 99.0,
        });
        let mut p = Repair { redeploy: false };
        // node-2 has the most RAM free of the nodes that are on; off node-3 comes after.
        assert_eq!(
            p.decide(&view),
            vec![Action::RestartVm {
                vm: VmId(0),
                node: NodeId(2)
            }]
        );
        let mut p = Repair { redeploy: true };
        assert_eq!(
            p.decide(&view),
            vec![Action::RestartReplica {
                replica: ReplicaId(0),
                node: NodeId(2)
            }]
        );
        // A restart in progress is not asked for again.
        let mut busy = view.clone();
        busy.actions.push(crate::api::ActionView {
            id: crate::api::ActionId(0),
            action: Action::RestartVm {
                vm: VmId(0),
                node: NodeId(2),
            },
            started_s: 90.0,
            ended_s: None,
            outcome: crate::api::Outcome::InProgress,
        });
        assert!(Repair { redeploy: false }.decide(&busy).is_empty());
    }

    #[test]
    fn bare_replicas_go_to_distinct_free_nodes_on_first() {
        let mut view = ViewBuilder::new(Mode::Bare, 100.0)
            .node(NodeState::On, 4.0, 4096.0, 0.0)
            .node(NodeState::On, 4.0, 4096.0, 0.5)
            .node(NodeState::Off, 4.0, 4096.0, 0.0)
            .node(NodeState::On, 4.0, 4096.0, 0.0)
            .replica(0, 0, 0.5, 1.0, 0.0)
            .replica(1, 1, 0.5, 1.0, 0.0)
            .build();
        // node-0 crashed with replica 0; replica 1's process crashed on node-1 (which it keeps).
        view.nodes[0].state = NodeState::Failed;
        view.nodes[0].replica = None;
        view.replicas[0].state = ReplicaState::Failed;
        view.replicas[1].state = ReplicaState::Failed;
        let got = Repair { redeploy: false }.decide(&view);
        assert_eq!(
            got,
            vec![
                // Replica 0 to node-3, on and free (node-1 still holds replica 1, node-2 is
                // off); replica 1 back on its own node.
                Action::RestartReplica {
                    replica: ReplicaId(0),
                    node: NodeId(3)
                },
                Action::RestartReplica {
                    replica: ReplicaId(1),
                    node: NodeId(1)
                },
            ]
        );
    }
}
