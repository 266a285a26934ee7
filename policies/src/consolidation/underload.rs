//! The underload step of a round (CloudSim's `getMigrationMapFromUnderUtilizedHosts`): every
//! host that is neither overloaded nor switched off (utilisation exactly 0 at the round's start)
//! is tried, least utilised first (`0 < U < 1`, ties to the lowest id), to be emptied: its VMs,
//! by decreasing demand, are placed by PABFD on the hosts that are not overloaded, not switched
//! off and not tried already; if one finds no host, none of its VMs moves. There is no
//! underload threshold. A host that received VMs from an evacuation is not tried later in the
//! round; a host that received VMs from the overload step still is (CloudSim's code means to
//! exclude it but reads an empty list).

use super::pabfd::{HostIndex, Search};
use super::plan::Plan;
use crate::api::VmId;

/// Evacuation moves (VM, destination) of the round, in order; `plan` keeps them tentatively.
/// `index` is the overload step's (the hosts of `plan` but the overloaded ones, up to date):
/// the switched-off hosts are excluded from it here.
pub fn evacuate(
    plan: &mut Plan,
    s: &Search<'_>,
    index: &mut HostIndex,
    overloaded: &[bool],
    scratch: &mut Vec<f64>,
) -> Vec<(VmId, usize)> {
    let n = plan.hosts();
    let mut tried: Vec<bool> = (0..n)
        .map(|h| overloaded[h] || plan.start_utilisation[h] == 0.0)
        .collect();
    for (h, &t) in tried.iter().enumerate() {
        if t {
            index.exclude(h);
        }
    }
    // Start utilisations do not change during the round: the successive least-utilised hosts
    // are this order with the hosts excluded by then skipped.
    let mut order: Vec<usize> = (0..n)
        .filter(|&h| {
            !tried[h] && plan.start_utilisation[h] > 0.0 && plan.start_utilisation[h] < 1.0
        })
        .collect();
    order.sort_by(|&a, &b| {
        plan.start_utilisation[a]
            .total_cmp(&plan.start_utilisation[b])
            .then(a.cmp(&b))
    });
    let mut moves = Vec::new();
    let mut vms: Vec<VmId> = Vec::new();
    let mut placed: Vec<(VmId, usize)> = Vec::new();
    let mut touched = Vec::new();
    for h in order {
        if tried[h] {
            continue;
        }
        let all_migrating = !plan.vms[h].is_empty()
            && plan.vms[h]
                .iter()
                .all(|&v| s.view.vm(v).migrating_to.is_some());
        if all_migrating {
            continue;
        }
        tried[h] = true;
        index.exclude(h);
        vms.clear();
        vms.extend(
            plan.vms[h]
                .iter()
                .copied()
                .filter(|&v| s.view.vm(v).migrating_to.is_none()),
        );
        if vms.is_empty() {
            continue;
        }
        vms.sort_by(|a, b| plan.request[b.index()].total_cmp(&plan.request[a.index()]));
        let mark = plan.mark();
        placed.clear();
        let mut all_fit = true;
        for &v in &vms {
            let r = plan.request[v.index()];
            match index.find(plan, s, v, r, scratch) {
                Some(d) => {
                    plan.add(d, v, r, true);
                    index.refresh(plan, s, d);
                    placed.push((v, d));
                }
                None => {
                    all_fit = false;
                    break;
                }
            }
        }
        if !all_fit {
            touched.clear();
            plan.undo_to(mark, &mut touched);
            for &d in &touched {
                index.refresh(plan, s, d);
            }
            continue;
        }
        for &(_, d) in &placed {
            tried[d] = true;
        }
        moves.extend_from_slice(&placed);
    }
    moves
}
