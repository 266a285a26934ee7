//! Which VM leaves an overloaded host: CloudSim's four selection rules. Each picks among the
//! host's migratable VMs (not migrating already), given in the host's list order (the order they
//! arrived in); ties go to the first.
//!
//! - **MMT** (minimum migration time): the smallest RAM (every host has the same NIC, so RAM
//!   stands for migration time).
//! - **MU** (minimum utilisation): the smallest current utilisation (demand over capacity).
//! - **RS** (random selection): a uniform pick, from the policy's seeded stream (CloudSim draws
//!   from an unseeded generator per call: not reproducible; this is the deliberate deviation).
//! - **MC** (maximum correlation): for each VM, the R² of an OLS regression (with intercept) of
//!   its history on the other VMs' histories (the `m` newest values, `m` the shortest history);
//!   the largest R² wins (strictly above the running best, which starts just above 0). When a
//!   regression cannot be made (one VM, fewer values than VMs, a singular design) the whole
//!   selection falls back to MMT, as CloudSim's.

use super::history::VmHistories;
use crate::api::{View, VmId};
use rand::{Rng as _, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// A VM selection rule.
pub enum Selection {
    Mmt,
    Mu,
    Rs(Box<Xoshiro256PlusPlus>),
    Mc,
}

impl Selection {
    /// Random selection drawing from a stream seeded with `seed`.
    pub fn random(seed: u64) -> Self {
        Selection::Rs(Box::new(Xoshiro256PlusPlus::seed_from_u64(seed)))
    }

    /// The VM to migrate among `vms` (migratable, in host-list order), or `None` if empty.
    pub fn select(&mut self, vms: &[VmId], view: &View, hist: &VmHistories) -> Option<VmId> {
        if vms.is_empty() {
            return None;
        }
        match self {
            Selection::Mmt => min_by_key(vms, |v| view.vm(v).ram_mb),
            Selection::Mu => min_by_key(vms, |v| utilisation(view, v)),
            Selection::Rs(rng) => Some(vms[rng.random_range(0..vms.len())]),
            Selection::Mc => {
                max_correlation(vms, hist).or_else(|| min_by_key(vms, |v| view.vm(v).ram_mb))
            }
        }
    }
}

/// A VM's current demand as a fraction of its capacity (CloudSim's `u_v(clock)`).
pub fn utilisation(view: &View, v: VmId) -> f64 {
    let vm = view.vm(v);
    if vm.cpu_max > 0.0 {
        vm.cpu_demand / vm.cpu_max
    } else {
        0.0
    }
}

/// The first VM with the smallest key (strict `<`).
fn min_by_key(vms: &[VmId], key: impl Fn(VmId) -> f64) -> Option<VmId> {
    let mut best: Option<(VmId, f64)> = None;
    for &v in vms {
        let k = key(v);
        if best.is_none_or(|(_, b)| k < b) {
            best = Some((v, k));
        }
    }
    best.map(|(v, _)| v)
}

/// MC's choice, or `None` when a regression cannot be made (the caller falls back to MMT).
fn max_correlation(vms: &[VmId], hist: &VmHistories) -> Option<VmId> {
    let n = vms.len();
    let m = vms.iter().map(|&v| hist.len(v)).min().unwrap_or(0);
    if n < 2 || m < n {
        return None;
    }
    let mut best = (0usize, f64::MIN_POSITIVE * f64::EPSILON); // ≈ Double.MIN_VALUE
    let mut x = vec![0.0; m * n];
    let mut y = vec![0.0; m];
    for i in 0..n {
        for (r, yr) in y.iter_mut().enumerate() {
            *yr = hist.get(vms[i], r);
            x[r * n] = 1.0;
            let mut c = 1;
            for (j, &v) in vms.iter().enumerate() {
                if j != i {
                    x[r * n + c] = hist.get(v, r);
                    c += 1;
                }
            }
        }
        let r2 = ols_r_squared(&mut x, &y, m, n)?;
        if r2 > best.1 {
            best = (i, r2);
        }
    }
    Some(vms[best.0])
}

/// R² = 1 − RSS/TSS of the least-squares fit of `y` (m values) on the m × p design `x` (row
/// major, its first column the intercept), by Householder QR; `None` if the design is singular.
/// CloudSim's library calls a design singular only when a diagonal entry of R is exactly 0,
/// which rounding all but prevents for collinear columns; here a column whose part independent
/// of the previous ones is below 10⁻¹⁰ of its norm counts as singular, so that an exactly
/// collinear design is detected as the arithmetic intends. `x` is overwritten.
pub fn ols_r_squared(x: &mut [f64], y: &[f64], m: usize, p: usize) -> Option<f64> {
    let mut qty = y.to_vec();
    let original: Vec<f64> = x.to_vec();
    let mut rdiag = vec![0.0; p];
    let col_norms: Vec<f64> = (0..p)
        .map(|c| (0..m).map(|r| x[r * p + c].powi(2)).sum::<f64>().sqrt())
        .collect();
    for k in 0..p {
        let norm = (k..m).map(|r| x[r * p + k].powi(2)).sum::<f64>().sqrt();
        if norm <= 1e-10 * col_norms[k] || norm == 0.0 {
            return None;
        }
        let alpha = if x[k * p + k] > 0.0 { -norm } else { norm };
        // Householder vector v = x[k.., k] − alpha e_k, stored in place.
        x[k * p + k] -= alpha;
        let vnorm2: f64 = (k..m).map(|r| x[r * p + k].powi(2)).sum();
        rdiag[k] = alpha;
        if vnorm2 == 0.0 {
            continue;
        }
        for c in k + 1..p {
            let dot: f64 = (k..m).map(|r| x[r * p + k] * x[r * p + c]).sum();
            let f = 2.0 * dot / vnorm2;
            for r in k..m {
                x[r * p + c] -= f * x[r * p + k];
            }
        }
        let dot: f64 = (k..m).map(|r| x[r * p + k] * qty[r]).sum();
        let f = 2.0 * dot / vnorm2;
        for r in k..m {
            qty[r] -= f * x[r * p + k];
        }
    }
    if rdiag.contains(&0.0) {
        return None;
    }
    // Back substitution R b = (Qᵀy)[..p]; R's strict upper part is in x, its diagonal in rdiag.
    let mut b = vec![0.0; p];
    for k in (0..p).rev() {
        let s: f64 = (k + 1..p).map(|c| x[k * p + c] * b[c]).sum();
        b[k] = (qty[k] - s) / rdiag[k];
    }
    let mean = y.iter().sum::<f64>() / m as f64;
    let (mut rss, mut tss) = (0.0, 0.0);
    for r in 0..m {
        let fit: f64 = (0..p).map(|c| original[r * p + c] * b[c]).sum();
        rss += (y[r] - fit).powi(2);
        tss += (y[r] - mean).powi(2);
    }
    Some(1.0 - rss / tss)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{Mode, NodeState};
    use crate::testing::ViewBuilder;

    fn view() -> View {
        // Three VMs on node 0: RAM 1740, 613, 613; demand fractions 0.5, 0.3, 0.2.
        ViewBuilder::new(Mode::Virtualized, 300.0)
            .node(NodeState::On, 2.0, 4096.0, 0.5)
            .speed(0, 2660.0)
            .trace_vm(Some(0), 1.0, 1740.0, 1000.0, 500.0)
            .trace_vm(Some(0), 1.0, 613.0, 500.0, 150.0)
            .trace_vm(Some(0), 1.0, 613.0, 2500.0, 500.0)
            .build()
    }

    const VMS: [VmId; 3] = [VmId(0), VmId(1), VmId(2)];

    #[test]
    fn mmt_takes_the_first_smallest_ram_and_mu_the_least_utilised() {
        let (v, h) = (view(), VmHistories::default());
        assert_eq!(Selection::Mmt.select(&VMS, &v, &h), Some(VmId(1)));
        assert_eq!(
            Selection::Mmt.select(&[VmId(2), VmId(1)], &v, &h),
            Some(VmId(2))
        );
        assert_eq!(Selection::Mu.select(&VMS, &v, &h), Some(VmId(2)));
        assert_eq!(Selection::Mmt.select(&[], &v, &h), None);
    }

    #[test]
    fn rs_is_reproducible_per_seed_and_covers_every_vm() {
        let (v, h) = (view(), VmHistories::default());
        let picks = |seed| {
            let mut s = Selection::random(seed);
            (0..200)
                .map(|_| s.select(&VMS, &v, &h).unwrap().0)
                .collect::<Vec<_>>()
        };
        assert_eq!(picks(7), picks(7));
        assert_ne!(picks(7), picks(8));
        for k in 0..3 {
            let c = picks(7).iter().filter(|&&x| x == k).count();
            // 200 uniform draws: each VM about 67 times (sd 6.7); 5 sd either side.
            assert!((33..=100).contains(&c), "{k}: {c}");
        }
    }

    #[test]
    fn mc_picks_the_vm_best_explained_by_the_others() {
        let v = view();
        let mut h = VmHistories::default();
        // vm0 = vm1 + vm2 exactly (R² = 1 for it); vm1 and vm2 independent-ish.
        let a = [0.1, 0.5, 0.2, 0.9, 0.4, 0.3, 0.8, 0.6];
        let b = [0.7, 0.1, 0.3, 0.2, 0.9, 0.5, 0.1, 0.4];
        for k in 0..8 {
            h.push(VmId(0), a[k] + b[k]);
            h.push(VmId(1), a[k]);
            h.push(VmId(2), b[k]);
        }
        // Every VM is an exact linear function of the two others here: R² = 1 for all, the
        // first wins ties.
        assert_eq!(Selection::Mc.select(&VMS, &v, &h), Some(VmId(0)));
        // With noise on vm0, vm1 and vm2 are no longer exact combinations; compare with R²
        // computed independently through the normal equations.
        let mut h2 = VmHistories::default();
        let noise = [0.05, -0.02, 0.03, 0.0, -0.04, 0.01, 0.02, -0.03];
        let c = [0.3, 0.3, 0.5, 0.1, 0.2, 0.6, 0.4, 0.2];
        for k in 0..8 {
            h2.push(VmId(0), a[k] + b[k] + noise[k]);
            h2.push(VmId(1), a[k]);
            h2.push(VmId(2), c[k]);
        }
        let r2 = |i: usize| {
            let mut x = Vec::new();
            let mut y = Vec::new();
            for r in 0..8 {
                y.push(h2.get(VMS[i], r));
                x.push(1.0);
                for (j, &w) in VMS.iter().enumerate() {
                    if j != i {
                        x.push(h2.get(w, r));
                    }
                }
            }
            (
                normal_equations_r2(&x, &y, 3),
                ols_r_squared(&mut x, &y, 8, 3).unwrap(),
            )
        };
        let mut best = (0, f64::MIN);
        for i in 0..3 {
            let (ne, qr) = r2(i);
            assert!((ne - qr).abs() < 1e-9, "{ne} {qr}");
            if qr > best.1 {
                best = (i, qr);
            }
        }
        assert_eq!(Selection::Mc.select(&VMS, &v, &h2), Some(VMS[best.0]));
        // Fewer values than VMs: MMT's choice.
        let mut short = VmHistories::default();
        for k in 0..2 {
            for vm in VMS {
                short.push(vm, 0.1 * (k + vm.0 as usize) as f64);
            }
        }
        assert_eq!(Selection::Mc.select(&VMS, &v, &short), Some(VmId(1)));
        // A singular design (vm1 and vm2 identical columns when regressing vm0): MMT.
        let mut sing = VmHistories::default();
        for &ak in &a {
            sing.push(VmId(0), ak);
            sing.push(VmId(1), 0.5);
            sing.push(VmId(2), 0.5);
        }
        assert_eq!(Selection::Mc.select(&VMS, &v, &sing), Some(VmId(1)));
    }

    /// R² by solving XᵀX b = Xᵀy with Gaussian elimination (an independent check of the QR).
    #[allow(clippy::needless_range_loop)]
    fn normal_equations_r2(x: &[f64], y: &[f64], p: usize) -> f64 {
        let m = y.len();
        let mut a = vec![vec![0.0; p + 1]; p];
        for i in 0..p {
            for j in 0..p {
                a[i][j] = (0..m).map(|r| x[r * p + i] * x[r * p + j]).sum();
            }
            a[i][p] = (0..m).map(|r| x[r * p + i] * y[r]).sum();
        }
        for k in 0..p {
            for i in k + 1..p {
                let f = a[i][k] / a[k][k];
                for j in k..=p {
                    a[i][j] -= f * a[k][j];
                }
            }
        }
        let mut b = vec![0.0; p];
        for k in (0..p).rev() {
            let s: f64 = (k + 1..p).map(|j| a[k][j] * b[j]).sum();
            b[k] = (a[k][p] - s) / a[k][k];
        }
        let mean = y.iter().sum::<f64>() / m as f64;
        let rss: f64 = (0..m)
            .map(|r| (y[r] - (0..p).map(|c| x[r * p + c] * b[c]).sum::<f64>()).powi(2))
            .sum();
        let tss: f64 = y.iter().map(|v| (v - mean).powi(2)).sum();
        1.0 - rss / tss
    }
}
