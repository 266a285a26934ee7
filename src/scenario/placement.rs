//! Node names and the initial placement of replicas, derived from the scenario alone (so the
//! loader can reject an infeasible one before anything runs).

use super::infra::NodeOrder;
use super::schema::{DeployMode, Infrastructure, Scenario};
use super::validate::Problem;

/// All nodes, in order: (index of their group, index in the group). Grouped: the groups one
/// after the other; interleaved: one node of each group in turn (CloudSim's PlanetLab hosts
/// alternate G4 and G5), the longer groups finishing alone.
pub fn node_layout(infra: &Infrastructure) -> Vec<(usize, u32)> {
    match infra.node_order {
        NodeOrder::Grouped => infra
            .nodes
            .iter()
            .enumerate()
            .flat_map(|(gi, g)| (0..g.count).map(move |k| (gi, k)))
            .collect(),
        NodeOrder::Interleaved => {
            let most = infra.nodes.iter().map(|g| g.count).max().unwrap_or(0);
            (0..most)
                .flat_map(|k| {
                    infra
                        .nodes
                        .iter()
                        .enumerate()
                        .filter(move |(_, g)| k < g.count)
                        .map(move |(gi, _)| (gi, k))
                })
                .collect()
        }
    }
}

/// Names of all nodes, in order: node `k` of group `g` is `g-k`.
pub fn node_names(infra: &Infrastructure) -> Vec<String> {
    node_layout(infra)
        .into_iter()
        .map(|(gi, k)| format!("{}-{k}", infra.nodes[gi].name))
        .collect()
}

/// Whether each node is on at start, in the order of [`node_names`].
pub fn nodes_on_at_start(infra: &Infrastructure) -> Vec<bool> {
    node_layout(infra)
        .into_iter()
        .map(|(gi, k)| {
            let g = &infra.nodes[gi];
            k < g.on_at_start.unwrap_or(g.count)
        })
        .collect()
}

/// Per app, per tier, per initial replica: the index of its node.
pub type Placement = Vec<Vec<Vec<usize>>>;

/// The initial placement: explicit `placement` lists, else first fit over the nodes that are on
/// (bare: a free node; virtualized: a node with RAM left for the VM, host reserve kept).
pub fn initial_placement(sc: &Scenario, infra: &Infrastructure) -> Result<Placement, Problem> {
    let names = node_names(infra);
    let on = nodes_on_at_start(infra);
    let ram: Vec<f64> = node_layout(infra)
        .into_iter()
        .map(|(gi, _)| infra.nodes[gi].ram_mb)
        .collect();
    let mut used_ram = vec![infra.host_reserved_ram_mb; names.len()];
    let mut taken = vec![false; names.len()];
    let mut out = Vec::new();
    for (ai, app) in sc.apps.iter().enumerate() {
        let mut tiers = Vec::new();
        for (ti, tier) in app.tiers.iter().enumerate() {
            let path = format!("apps[{ai}].tiers[{ti}]");
            let mut nodes = Vec::new();
            if let Some(list) = &tier.placement {
                if list.len() != tier.replicas as usize {
                    return Err(Problem {
                        path: format!("{path}.placement"),
                        message: format!(
                            "names {} node(s) for {} replica(s): give one node per replica",
                            list.len(),
                            tier.replicas
                        ),
                    });
                }
            }
            for r in 0..tier.replicas as usize {
                let fits = |n: usize, taken: &[bool], used: &[f64]| match infra.mode {
                    DeployMode::Bare => !taken[n],
                    DeployMode::Virtualized => used[n] + tier.vm_ram_mb <= ram[n] + 1e-9,
                };
                let n = match &tier.placement {
                    Some(list) => {
                        let field = format!("{path}.placement[{r}]");
                        let Some(n) = names.iter().position(|x| *x == list[r]) else {
                            return Err(Problem {
                                path: field,
                                message: format!(
                                    "no node `{}`; nodes are {}",
                                    list[r],
                                    summarize(&names)
                                ),
                            });
                        };
                        if !on[n] {
                            return Err(Problem {
                                path: field,
                                message: format!("node `{}` is off at start", list[r]),
                            });
                        }
                        if !fits(n, &taken, &used_ram) {
                            return Err(Problem {
                                path: field,
                                message: match infra.mode {
                                    DeployMode::Bare => format!(
                                        "node `{}` already hosts a replica (bare mode: one per node)",
                                        list[r]
                                    ),
                                    DeployMode::Virtualized => format!(
                                        "node `{}` has no RAM left for a {} MB VM",
                                        list[r], tier.vm_ram_mb
                                    ),
                                },
                            });
                        }
                        n
                    }
                    None => (0..names.len())
                        .find(|&n| on[n] && fits(n, &taken, &used_ram))
                        .ok_or_else(|| Problem {
                            path: format!("{path}.replicas"),
                            message: match infra.mode {
                                DeployMode::Bare => format!(
                                    "replica {r} finds no free node that is on (bare mode: one replica per node)"
                                ),
                                DeployMode::Virtualized => format!(
                                    "replica {r} finds no node that is on with {} MB of RAM left",
                                    tier.vm_ram_mb
                                ),
                            },
                        })?,
                };
                taken[n] = true;
                used_ram[n] += tier.vm_ram_mb;
                nodes.push(n);
            }
            tiers.push(nodes);
        }
        out.push(tiers);
    }
    Ok(out)
}

fn summarize(names: &[String]) -> String {
    if names.len() <= 6 {
        names.join(", ")
    } else {
        format!(
            "{} … {} ({} in all)",
            names[0],
            names[names.len() - 1],
            names.len()
        )
    }
}
