//! Choosing nodes, shared by the policies.

use crate::api::{Mode, NodeId, NodeState, NodeView, View};

/// Whether the node hosts nothing (no replica, no VM, no VM's checkpoint copy: a backup must
/// stay on).
pub fn is_empty(n: &NodeView) -> bool {
    n.replica.is_none() && n.vms.is_empty() && n.backups.is_empty()
}

/// A node for a new replica needing `ram_mb` (virtualized) : an empty node that is on (bare) or
/// the least-loaded node that is on with room (virtualized); failing that, a node that is off
/// (the start will boot it). Nodes that an action in progress involves are skipped.
pub fn node_for_new_replica(view: &View, ram_mb: f64) -> Option<NodeId> {
    let usable = |n: &&NodeView| !view.node_busy_with_actions(n.id);
    let on = view
        .nodes
        .iter()
        .filter(|n| n.state == NodeState::On)
        .filter(usable);
    let chosen = match view.mode {
        Mode::Bare => on.filter(|n| is_empty(n)).map(|n| n.id).next(),
        Mode::Virtualized => on
            .filter(|n| n.free_ram_mb >= ram_mb)
            .min_by(|a, b| {
                a.cpu_utilisation
                    .total_cmp(&b.cpu_utilisation)
                    .then(a.id.cmp(&b.id))
            })
            .map(|n| n.id),
        Mode::Dedicated => None,
    };
    chosen.or_else(|| {
        view.nodes
            .iter()
            .filter(|n| n.state == NodeState::Off)
            .find(usable)
            .map(|n| n.id)
    })
}

/// Nodes that are on, host nothing and are not involved in an action: candidates to power off.
pub fn idle_nodes(view: &View) -> impl Iterator<Item = NodeId> + '_ {
    view.nodes
        .iter()
        .filter(move |n| {
            n.state == NodeState::On && is_empty(n) && !view.node_busy_with_actions(n.id)
        })
        .map(|n| n.id)
}
