//! Per-VM CPU utilisation history, as CloudSim's `PowerVm` keeps it: one value per consolidation
//! round (the VM's demand as a fraction of its type's capacity, not what it was granted), the
//! newest first, at most [`HISTORY_LENGTH`] values. It travels with the VM across migrations.
//!
//! Stored flat, indexed by VM id: a fixed ring of values per VM, so recording a round costs no
//! allocation and reading a host's history is a few array reads per VM.

use crate::api::VmId;

/// Values kept per VM (CloudSim's `PowerVm.HISTORY_LENGTH`).
pub const HISTORY_LENGTH: usize = 30;

/// The utilisation histories of every VM of a run.
#[derive(Clone, Debug, Default)]
pub struct VmHistories {
    /// `HISTORY_LENGTH` values per VM, a ring: the newest at `head[v]`.
    values: Vec<f64>,
    head: Vec<u8>,
    len: Vec<u8>,
}

impl VmHistories {
    fn ensure(&mut self, v: usize) {
        if self.len.len() <= v {
            self.len.resize(v + 1, 0);
            self.head.resize(v + 1, 0);
            self.values.resize((v + 1) * HISTORY_LENGTH, 0.0);
        }
    }

    /// Records `u` as VM `v`'s newest value (the oldest goes when the history is full).
    pub fn push(&mut self, v: VmId, u: f64) {
        let v = v.index();
        self.ensure(v);
        let h = (self.head[v] as usize + 1) % HISTORY_LENGTH;
        self.head[v] = h as u8;
        self.values[v * HISTORY_LENGTH + h] = u;
        if (self.len[v] as usize) < HISTORY_LENGTH {
            self.len[v] += 1;
        }
    }

    /// How many values VM `v` has.
    pub fn len(&self, v: VmId) -> usize {
        self.len.get(v.index()).map_or(0, |&n| n as usize)
    }

    pub fn is_empty(&self, v: VmId) -> bool {
        self.len(v) == 0
    }

    /// VM `v`'s `i`-th value, 0 being the newest; 0 beyond its length.
    #[inline]
    pub fn get(&self, v: VmId, i: usize) -> f64 {
        let vi = v.index();
        if i >= self.len(v) {
            return 0.0;
        }
        let h = self.head[vi] as usize;
        self.values[vi * HISTORY_LENGTH + (h + HISTORY_LENGTH - i) % HISTORY_LENGTH]
    }
}

/// The utilisation history of a host made of `vms` (with their capacities `cpu_max`) on a host
/// of capacity `capacity_cpu`, as CloudSim's `PowerHostUtilizationHistory` rebuilds it: value
/// `i` is Σ hist_v[i] · M_v / C over the VMs now on the host (a reconstruction from the present
/// VM set, not the host's real past; it can exceed 1), then the oldest zeros trimmed (an
/// all-zero history keeps one value, as CloudSim's `countNonZeroBeginning`). Written to `out`.
pub fn host_history(
    histories: &VmHistories,
    vms: impl Iterator<Item = (VmId, f64)>,
    capacity_cpu: f64,
    out: &mut Vec<f64>,
) {
    out.clear();
    out.resize(HISTORY_LENGTH, 0.0);
    for (v, cpu_max) in vms {
        for (i, h) in out.iter_mut().enumerate().take(histories.len(v)) {
            *h += histories.get(v, i) * cpu_max / capacity_cpu;
        }
    }
    let keep = out.iter().rposition(|&x| x != 0.0).map_or(1, |i| i + 1);
    out.truncate(keep);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_value_comes_first_and_only_thirty_are_kept() {
        let mut h = VmHistories::default();
        for k in 1..=35 {
            h.push(VmId(2), k as f64);
        }
        assert_eq!(h.len(VmId(2)), 30);
        assert_eq!(h.get(VmId(2), 0), 35.0);
        assert_eq!(h.get(VmId(2), 29), 6.0);
        assert_eq!(h.get(VmId(2), 30), 0.0);
        assert_eq!(h.len(VmId(0)), 0);
        assert_eq!(h.get(VmId(7), 0), 0.0);
    }

    #[test]
    fn a_host_history_sums_its_vms_scaled_and_trims_the_oldest_zeros() {
        let mut h = VmHistories::default();
        // vm0 (1000 units): 0.5 then 0.2 (newest); vm1 (500 units): 0.4 only.
        h.push(VmId(0), 0.5);
        h.push(VmId(0), 0.2);
        h.push(VmId(1), 0.4);
        let mut out = Vec::new();
        host_history(
            &h,
            [(VmId(0), 1000.0), (VmId(1), 500.0)].into_iter(),
            2000.0,
            &mut out,
        );
        assert_eq!(
            out,
            vec![0.2 * 1000.0 / 2000.0 + 0.4 * 500.0 / 2000.0, 0.25]
        );
        host_history(&h, std::iter::empty(), 2000.0, &mut out);
        assert_eq!(out, vec![0.0]);
    }
}
