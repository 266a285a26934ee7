//! Per-VM CPU utilisation history, as CloudSim's `PowerVm` keeps it: one value per consolidation
//! round (the VM's demand as a fraction of its type's capacity, not what it was granted), the
//! newest first, at most [`HISTORY_LENGTH`] values. It travels with the VM across migrations.
//!
//! Stored flat, indexed by VM id: a fixed ring of values per VM, so recording a round costs no
//! allocation and reading a host's history is a few array reads per VM.

use super::overload::{ols_window, LR_WINDOW};
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
    /// Per VM, kept up to date at each push so that a round need not read every history:
    /// how many values count up to its oldest non-zero one ([`VmHistories::counted`]), and the
    /// OLS line (intercept, slope) through its [`LR_WINDOW`] newest values
    /// ([`VmHistories::ols`]).
    counted: Vec<u8>,
    ols: Vec<(f64, f64)>,
}

/// The OLS line of a VM without history (an all-zero window).
fn zero_line() -> (f64, f64) {
    ols_window(&[0.0; LR_WINDOW])
}

impl VmHistories {
    fn ensure(&mut self, v: usize) {
        if self.len.len() <= v {
            self.len.resize(v + 1, 0);
            self.head.resize(v + 1, 0);
            self.values.resize((v + 1) * HISTORY_LENGTH, 0.0);
            self.counted.resize(v + 1, 0);
            self.ols.resize(v + 1, zero_line());
        }
    }

    /// Records `u` as VM `v`'s newest value (the oldest goes when the history is full).
    pub fn push(&mut self, v: VmId, u: f64) {
        let v = v.index();
        self.ensure(v);
        let h = (self.head[v] as usize + 1) % HISTORY_LENGTH;
        self.head[v] = h as u8;
        let ring = &mut self.values[v * HISTORY_LENGTH..(v + 1) * HISTORY_LENGTH];
        ring[h] = u;
        let full = self.len[v] as usize == HISTORY_LENGTH;
        if !full {
            self.len[v] += 1;
        }
        // Every older value moves one place back; the oldest leaves a full history, and if
        // it was the oldest non-zero one, the next oldest is looked for.
        let c = self.counted[v] as usize;
        self.counted[v] = if c == HISTORY_LENGTH && full {
            let len = self.len[v] as usize;
            (0..len)
                .rev()
                .find(|&i| ring[(h + HISTORY_LENGTH - i) % HISTORY_LENGTH] != 0.0)
                .map_or(0, |i| i as u8 + 1)
        } else if c > 0 {
            c as u8 + 1
        } else {
            u8::from(u != 0.0)
        };
        // The window as `get` reads it (zeros beyond the length), fitted as the detector does.
        let len = self.len[v] as usize;
        let mut window = [0.0; LR_WINDOW];
        for (i, w) in window.iter_mut().enumerate().take(len) {
            *w = ring[(h + HISTORY_LENGTH - i) % HISTORY_LENGTH];
        }
        self.ols[v] = ols_window(&window);
    }

    /// How many of VM `v`'s values count: up to its oldest non-zero one (older zeros are
    /// trimmed from a host history); 0 if all are zero.
    #[inline]
    pub fn counted(&self, v: VmId) -> usize {
        self.counted.get(v.index()).map_or(0, |&c| c as usize)
    }

    /// The OLS line (intercept, slope) through VM `v`'s [`LR_WINDOW`] newest values (missing
    /// values as zeros), at x = 1…10 from the oldest: [`ols_window`] of that window.
    #[inline]
    pub fn ols(&self, v: VmId) -> (f64, f64) {
        self.ols.get(v.index()).copied().unwrap_or_else(zero_line)
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

    #[test]
    fn the_kept_counts_and_lines_are_those_of_the_values_on_random_pushes() {
        // Values zero half the time (so that the oldest non-zero one moves, and leaves full
        // histories), any otherwise; lengths past the ring's.
        let mut h = VmHistories::default();
        let mut x: u64 = 11;
        let mut rescanned = 0;
        for step in 0..20_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let v = VmId((x >> 60) as u32);
            let u = if (x >> 40) & 1 == 0 {
                0.0
            } else {
                ((x >> 20) % 1000) as f64 / 999.0
            };
            let oldest_nonzero = h.len(v) == HISTORY_LENGTH && h.get(v, HISTORY_LENGTH - 1) != 0.0;
            rescanned += usize::from(oldest_nonzero);
            h.push(v, u);
            let len = h.len(v);
            let counted = (0..len)
                .rev()
                .find(|&i| h.get(v, i) != 0.0)
                .map_or(0, |i| i + 1);
            assert_eq!(h.counted(v), counted, "step {step}");
            let window: Vec<f64> = (0..LR_WINDOW).map(|i| h.get(v, i)).collect();
            let (a, b) = ols_window(&window);
            let (ka, kb) = h.ols(v);
            assert_eq!(
                (ka.to_bits(), kb.to_bits()),
                (a.to_bits(), b.to_bits()),
                "step {step}"
            );
        }
        assert!(rescanned > 1000, "{rescanned}");
        // A VM never pushed: no count, the line of zeros.
        assert_eq!(h.counted(VmId(99)), 0);
        assert_eq!(h.ols(VmId(99)), ols_window(&[0.0; LR_WINDOW]));
    }
}
