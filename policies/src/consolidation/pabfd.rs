//! Power-aware best-fit decreasing (PABFD), CloudSim's `findHostForVm`: for a VM with request
//! `r`, among the hosts not excluded, those that are suitable (a core of at least `r`, `r` of
//! CPU free, its RAM free) and — if they already have CPU allocated — not overloaded with the
//! VM added (empty hosts skip that check), the one whose power rises least:
//! `ΔP = P_h((A_h + r)/C_h) − P_h(U_h)`, `A_h` the CPU allocated now (tentative placements of
//! the round included), `U_h` the utilisation at the round's start (not updated by tentative
//! placements, as CloudSim's). Ties go to the lowest host id. Waking an empty host costs
//! `P(r/C) − P(0)`: no idle-power penalty (CloudSim's rule).
//!
//! RAM: CloudSim stops checking it after t = 0 (its VMs then request none); reconf's RAM is
//! real (the backend refuses a migration that does not fit), so it is checked at every
//! placement.
//!
//! [`HostIndex`] finds the same host as the linear scan [`find_host_naive`] without looking at
//! every host: empty hosts of one kind (same capacity, core speed, free RAM and power curve)
//! all give the same ΔP bit for bit and skip the overload check, so only the lowest-numbered
//! one of each kind is a candidate; the other hosts are scanned. The overload check (the costly
//! part) runs only for a host that would beat the best so far.

use super::history::VmHistories;
use super::overload::Detector;
use super::plan::Plan;
use crate::api::{View, VmId};
use std::collections::{BTreeSet, HashMap};

/// What a search needs besides the plan.
pub struct Search<'a> {
    pub view: &'a View,
    pub detector: &'a Detector,
    pub hist: &'a VmHistories,
}

/// ΔP of placing a VM with request `r` on host `h`, if suitable.
#[inline]
fn delta_power(plan: &Plan, s: &Search<'_>, h: usize, v: VmId, r: f64) -> Option<f64> {
    if !plan.suitable(h, v, r) {
        return None;
    }
    let node = &s.view.nodes[h];
    let cap = plan.capacity[h];
    Some(
        node.power_at_w((plan.allocated[h] + r) / cap) - node.power_at_w(plan.start_utilisation[h]),
    )
}

/// Whether host `h` passes the overload check with the VM added (skipped if nothing is
/// allocated on it).
#[inline]
fn passes(plan: &Plan, s: &Search<'_>, h: usize, v: VmId, r: f64, scratch: &mut Vec<f64>) -> bool {
    plan.allocated[h] == 0.0 || !plan.overloaded(h, Some((v, r)), s.detector, s.hist, scratch)
}

/// PABFD by scanning every host in id order (the reference the index must agree with).
pub fn find_host_naive(
    plan: &Plan,
    s: &Search<'_>,
    excluded: &[bool],
    v: VmId,
    r: f64,
    scratch: &mut Vec<f64>,
) -> Option<usize> {
    let mut best: Option<(f64, usize)> = None;
    for (h, _) in excluded.iter().enumerate().filter(|(_, &x)| !x) {
        let Some(dp) = delta_power(plan, s, h, v, r) else {
            continue;
        };
        if best.is_none_or(|(b, _)| dp < b) && passes(plan, s, h, v, r, scratch) {
            best = Some((dp, h));
        }
    }
    best.map(|(_, h)| h)
}

/// The hosts a phase of a round may place on, indexed: empty ones by kind, the others listed.
#[derive(Default)]
pub struct HostIndex {
    excluded: Vec<bool>,
    /// Kind of each host (see the module doc), and per kind its empty eligible hosts.
    kind: Vec<u32>,
    empty: Vec<BTreeSet<u32>>,
    /// Eligible hosts that are not empty, in id order.
    occupied: Vec<u32>,
    is_empty: Vec<bool>,
}

/// Whether a host counts as empty: no VM, nothing allocated or requested, idle at the start.
fn empty_host(plan: &Plan, h: usize) -> bool {
    plan.vms[h].is_empty()
        && plan.allocated[h] == 0.0
        && plan.requested[h] == 0.0
        && plan.start_utilisation[h] == 0.0
}

impl HostIndex {
    /// The index of the hosts of `plan` not in `excluded`.
    pub fn new(plan: &Plan, view: &View, excluded: &[bool]) -> Self {
        let n = plan.hosts();
        let mut kinds: HashMap<[u64; 15], u32> = HashMap::new();
        let mut kind = Vec::with_capacity(n);
        for h in 0..n {
            let mut key = [0u64; 15];
            key[0] = plan.capacity[h].to_bits();
            key[1] = plan.core[h].to_bits();
            key[2] = plan.free_ram_mb[h].to_bits();
            key[3] = u64::from(plan.usable[h]);
            for (k, w) in key[4..].iter_mut().zip(view.nodes[h].power_curve_w) {
                *k = w.to_bits();
            }
            let next = kinds.len() as u32;
            kind.push(*kinds.entry(key).or_insert(next));
        }
        let mut idx = HostIndex {
            excluded: excluded.to_vec(),
            kind,
            empty: vec![BTreeSet::new(); kinds.len()],
            occupied: Vec::new(),
            is_empty: vec![false; n],
        };
        for (h, _) in excluded.iter().enumerate().filter(|(_, &x)| !x) {
            if empty_host(plan, h) {
                idx.is_empty[h] = true;
                idx.empty[idx.kind[h] as usize].insert(h as u32);
            } else {
                idx.occupied.push(h as u32);
            }
        }
        idx
    }

    /// The exclusion flags it honours.
    pub fn excluded(&self) -> &[bool] {
        &self.excluded
    }

    /// Excludes host `h` from now on.
    pub fn exclude(&mut self, h: usize) {
        if self.excluded[h] {
            return;
        }
        self.excluded[h] = true;
        if self.is_empty[h] {
            self.empty[self.kind[h] as usize].remove(&(h as u32));
        } else if let Ok(i) = self.occupied.binary_search(&(h as u32)) {
            self.occupied.remove(i);
        }
    }

    /// Host `h` changed in the plan (a tentative placement or its undo): re-file it. An empty
    /// host that is re-filed as empty has the same figures as before (undo restores them).
    pub fn refresh(&mut self, plan: &Plan, h: usize) {
        if self.excluded[h] {
            return;
        }
        let now_empty = empty_host(plan, h);
        if now_empty == self.is_empty[h] {
            return;
        }
        let k = self.kind[h] as usize;
        if now_empty {
            if let Ok(i) = self.occupied.binary_search(&(h as u32)) {
                self.occupied.remove(i);
            }
            self.empty[k].insert(h as u32);
        } else {
            self.empty[k].remove(&(h as u32));
            if let Err(i) = self.occupied.binary_search(&(h as u32)) {
                self.occupied.insert(i, h as u32);
            }
        }
        self.is_empty[h] = now_empty;
    }

    /// PABFD's host for VM `v` with request `r` (the same as [`find_host_naive`]'s).
    pub fn find(
        &self,
        plan: &Plan,
        s: &Search<'_>,
        v: VmId,
        r: f64,
        scratch: &mut Vec<f64>,
    ) -> Option<usize> {
        // Best by (ΔP, id): candidates are not visited in id order.
        let mut best: Option<(f64, usize)> = None;
        let better = |dp: f64, h: usize, best: Option<(f64, usize)>| {
            best.is_none_or(|(b, bh)| dp < b || (dp == b && h < bh))
        };
        for set in &self.empty {
            let Some(&h) = set.first() else { continue };
            let h = h as usize;
            if let Some(dp) = delta_power(plan, s, h, v, r) {
                if better(dp, h, best) {
                    best = Some((dp, h)); // empty: no overload check
                }
            }
        }
        for &h in &self.occupied {
            let h = h as usize;
            let Some(dp) = delta_power(plan, s, h, v, r) else {
                continue;
            };
            if better(dp, h, best) && passes(plan, s, h, v, r, scratch) {
                best = Some((dp, h));
            }
        }
        best.map(|(_, h)| h)
    }
}
