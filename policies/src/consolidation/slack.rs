//! The destination overload check as a slack, so that PABFD's index can pass over the hosts that
//! surely fail it without building their history.
//!
//! PABFD only places a VM on an occupied host if the host's detector does not call it
//! overloaded with the VM added. Tried host by host, that check dominates a round at datacenter
//! scale: a search that ends with no host (most of the underload step's) has to try every
//! candidate, and each try rebuilds a host history. But every detector but IQR and MAD is a
//! threshold on a quantity that is a *sum over the host's VMs*:
//!
//! - THR and the fallback threshold: `(R_h + r)/C > T`, `R_h` the host's requests, `r` the VM's:
//!   overloaded iff `r/C > T − R_h/C`;
//! - LR and LRR: the OLS prediction is linear in the history, and the host history is the sum of
//!   its VMs' histories scaled by `M_v/C`, so the prediction with VM `v` added is
//!   `P_h + p_v·M_v/C` (`p_v` the prediction on `v`'s own history, at the same look-ahead):
//!   overloaded iff `p_v·M_v/C ≥ 1/safety − P_h`. This holds when the look-ahead (whole
//!   intervals covering the host's longest migration) is the same for every VM and host, which
//!   [`OverloadModel::new`] checks (on CloudSim's setup every migration takes under 300 s).
//!
//! Which of the two applies depends on the length of the host's history with the VM added (the
//! longer of the two histories, since utilisations are never negative), so a host keeps a slack
//! for each case ([`HostSlack`]) and a VM says what it asks of each ([`VmAsk`]). IQR and MAD
//! thresholds depend on the VM's history in a way that does not split: with a long enough
//! history their slack is unbounded (every candidate is checked).
//!
//! The slack is computed in floating point and the check rounds differently, so a host is passed
//! over only when it fails by more than [`MARGIN`]; within the margin the real check decides.
//! The index therefore finds exactly the host the linear scan finds.

use super::history::VmHistories;
use super::overload::{Detector, IQR_MAD_MIN_HISTORY, LR_WINDOW};
use super::plan::Plan;
use crate::api::{NodeState, View, VmId};

/// Slack differences smaller than this are left to the real check (rounding is about 1e-15).
pub const MARGIN: f64 = 1e-7;

/// What VMs may add to a host before its detector calls it overloaded, per regime; a regime that
/// cannot apply to the host is `−∞`, one that cannot be bounded `+∞`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HostSlack {
    /// Threshold regime (THR, or a history too short with the VM too): `T − R_h/C`.
    pub threshold: f64,
    /// Prediction regime for a VM whose history is too short on its own (applies if the host's
    /// is long enough): `1/safety − P_h`.
    pub predicted_own: f64,
    /// Prediction regime for a VM whose history is long enough (whatever the host's).
    pub predicted_any: f64,
}

impl HostSlack {
    /// A host every VM may try (nothing allocated on it: the check is skipped).
    pub const OPEN: HostSlack = HostSlack {
        threshold: f64::INFINITY,
        predicted_own: f64::INFINITY,
        predicted_any: f64::INFINITY,
    };
    /// The neutral element of [`HostSlack::max`] (no host).
    pub const NONE: HostSlack = HostSlack {
        threshold: f64::NEG_INFINITY,
        predicted_own: f64::NEG_INFINITY,
        predicted_any: f64::NEG_INFINITY,
    };

    /// The slack of a set of hosts: each regime's largest (a set admits a VM if one of its hosts
    /// might).
    #[inline]
    pub fn max(self, o: HostSlack) -> HostSlack {
        HostSlack {
            threshold: self.threshold.max(o.threshold),
            predicted_own: self.predicted_own.max(o.predicted_own),
            predicted_any: self.predicted_any.max(o.predicted_any),
        }
    }

    /// Whether the VM might pass the check here (false: it surely fails by more than
    /// [`MARGIN`]).
    #[inline]
    pub fn admits(&self, ask: &VmAsk) -> bool {
        if ask.long_history {
            ask.predicted <= self.predicted_any + MARGIN
        } else {
            ask.threshold <= self.threshold + MARGIN || ask.predicted <= self.predicted_own + MARGIN
        }
    }

    /// Whether the VM surely passes the check here (by more than [`MARGIN`], in a regime where
    /// the slack is exact): then the detector need not be asked. False: ask it.
    #[inline]
    pub fn surely_admits(&self, ask: &VmAsk) -> bool {
        let (asked, left) = if ask.long_history {
            (ask.predicted, self.predicted_any)
        } else if self.threshold != f64::NEG_INFINITY {
            (ask.threshold, self.threshold)
        } else {
            (ask.predicted, self.predicted_own)
        };
        left.is_finite() && asked < left - MARGIN
    }
}

/// What a VM asks of the slack of a host of capacity `C`.
#[derive(Clone, Copy, Debug)]
pub struct VmAsk {
    /// `r/C`.
    pub threshold: f64,
    /// `p_v·M_v/C` (0 if the prediction regime is not modelled).
    pub predicted: f64,
    /// Its history alone is long enough for the detector's adaptive regime.
    pub long_history: bool,
}

/// The detector's regimes for one round: per VM what its history contributes.
pub struct OverloadModel {
    detector: Detector,
    /// History length the adaptive regime needs (`usize::MAX` for THR).
    need: usize,
    /// `1/safety` if LR's prediction is linear this round (constant look-ahead), else none.
    inverse_safety: Option<f64>,
    /// Per VM: how many of its history values count (up to its oldest non-zero one: older zeros
    /// are trimmed from a host history), and its predicted utilisation times its capacity,
    /// `p_v·M_v` (CPU units).
    counted: Vec<u8>,
    predicted_cpu: Vec<f64>,
}

impl OverloadModel {
    /// The model for a round in which `hist` no longer changes.
    pub fn new(view: &View, detector: &Detector, hist: &VmHistories) -> Self {
        let need = match detector {
            Detector::Thr { .. } => usize::MAX,
            Detector::Iqr { .. } | Detector::Mad { .. } => IQR_MAD_MIN_HISTORY,
            Detector::Lr { .. } | Detector::Lrr { .. } => LR_WINDOW,
        };
        let n = view.vms.len();
        // The lines and counts are kept by the histories as they grow: reading them is one pass
        // over the VMs, without their values.
        let counted: Vec<u8> = if need == usize::MAX {
            vec![0; n]
        } else {
            view.vms
                .iter()
                .enumerate()
                .map(|(v, vm)| {
                    if vm.cpu_max != 0.0 {
                        hist.counted(VmId(v as u32)) as u8
                    } else {
                        0
                    }
                })
                .collect()
        };
        let mut inverse_safety = None;
        let mut predicted_cpu = Vec::new();
        if let Detector::Lr {
            safety, interval_s, ..
        }
        | Detector::Lrr {
            safety, interval_s, ..
        } = *detector
        {
            if let Some(steps) = constant_look_ahead(view, interval_s) {
                let x = LR_WINDOW as f64 + steps;
                predicted_cpu = view
                    .vms
                    .iter()
                    .enumerate()
                    .map(|(v, vm)| {
                        let (a, b) = hist.ols(VmId(v as u32));
                        (a + b * x) * vm.cpu_max
                    })
                    .collect();
                inverse_safety = Some(1.0 / safety);
            }
        }
        OverloadModel {
            detector: *detector,
            need,
            inverse_safety,
            counted,
            predicted_cpu,
        }
    }

    /// The slack of host `h` in `plan` as a destination (open if nothing is allocated on it:
    /// PABFD skips the check there).
    pub fn host(&self, plan: &Plan, h: usize) -> HostSlack {
        if plan.allocated[h] == 0.0 {
            return HostSlack::OPEN;
        }
        self.slack(plan, h)
    }

    /// Whether host `h` is overloaded with its VMs in `plan`, if the slack tells for sure (none
    /// within [`MARGIN`] of the limit, or where the detector is not linear: ask the detector).
    pub fn overloaded(&self, plan: &Plan, h: usize) -> Option<bool> {
        let s = self.slack(plan, h);
        // A long history: the prediction regime (overloaded iff nothing is left); a short one:
        // the threshold (overloaded iff strictly below it). Within the margin: the detector.
        let left = if s.threshold == f64::NEG_INFINITY {
            s.predicted_own
        } else {
            s.threshold
        };
        if !left.is_finite() {
            None
        } else if left < -MARGIN {
            Some(true)
        } else if left > MARGIN {
            Some(false)
        } else {
            None
        }
    }

    /// The slack of host `h` with its VMs in `plan`.
    fn slack(&self, plan: &Plan, h: usize) -> HostSlack {
        let cap = plan.capacity[h];
        let requested = plan.requested[h] / cap;
        let fallback = match self.detector {
            Detector::Thr { threshold } => {
                return HostSlack {
                    threshold: threshold - requested,
                    ..HostSlack::NONE
                }
            }
            Detector::Iqr { fallback, .. }
            | Detector::Mad { fallback, .. }
            | Detector::Lr { fallback, .. }
            | Detector::Lrr { fallback, .. } => fallback,
        };
        let vms = &plan.vms[h];
        let long_host = vms
            .iter()
            .any(|v| self.counted[v.index()] as usize >= self.need);
        let predicted = match self.inverse_safety {
            Some(inv) => {
                inv - vms
                    .iter()
                    .map(|v| self.predicted_cpu[v.index()])
                    .fold(0.0, |a, x| a + x)
                    / cap
            }
            None => f64::INFINITY,
        };
        if long_host {
            HostSlack {
                threshold: f64::NEG_INFINITY,
                predicted_own: predicted,
                predicted_any: predicted,
            }
        } else {
            HostSlack {
                threshold: fallback - requested,
                predicted_own: f64::NEG_INFINITY,
                predicted_any: predicted,
            }
        }
    }

    /// What VM `v` with request `r` asks of a host of capacity `cap`.
    #[inline]
    pub fn ask(&self, v: VmId, r: f64, cap: f64) -> VmAsk {
        let i = v.index();
        VmAsk {
            threshold: r / cap,
            predicted: self.predicted_cpu.get(i).map_or(0.0, |p| p / cap),
            long_history: self.need != usize::MAX
                && self
                    .counted
                    .get(i)
                    .is_some_and(|&c| c as usize >= self.need),
        }
    }
}

/// The LR look-ahead in whole intervals if it is the same for every VM on every host that may
/// receive VMs (`⌈T_mig/interval⌉`, `T_mig` = RAM over half the NIC; 0 without a NIC).
fn constant_look_ahead(view: &View, interval_s: f64) -> Option<f64> {
    let (mut ram_lo, mut ram_hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for vm in &view.vms {
        ram_lo = ram_lo.min(vm.ram_mb);
        ram_hi = ram_hi.max(vm.ram_mb);
    }
    if ram_lo > ram_hi {
        return Some(0.0);
    }
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for node in &view.nodes {
        if !matches!(node.state, NodeState::On | NodeState::Off) {
            continue;
        }
        let (a, b) = if node.nic_mbps > 0.0 {
            (
                (ram_lo * 16.0 / node.nic_mbps / interval_s).ceil(),
                (ram_hi * 16.0 / node.nic_mbps / interval_s).ceil(),
            )
        } else {
            (0.0, 0.0)
        };
        lo = lo.min(a);
        hi = hi.max(b);
    }
    if lo > hi {
        return Some(0.0); // no host may receive VMs
    }
    (lo == hi).then_some(lo)
}
