//! CloudSim 5.0's power-aware VM consolidation (Beloglazov & Buyya, CCPE 2012), composed as
//! CloudSim's PlanetLab runner composes it: an overload detector (`thr`, `iqr`, `mad`, `lr`,
//! `lrr`) and a VM selection rule (`mmt`, `mc`, `rs`, `mu`), named `<detector>-<selection>`;
//! placement by power-aware best-fit decreasing; the underload step; and the baselines `npa`
//! and `dvfs`.
//!
//! One decision per scheduling interval (300 s in CloudSim's setup), as its
//! `optimizeAllocation`:
//! 1. every host's VMs record their utilisation (demand over capacity) in their history;
//! 2. overloaded hosts are found by the detector ([`overload`]);
//! 3. from each, in id order, the selection rule ([`selection`]) picks VMs until the detector
//!    says it no longer is;
//! 4. those VMs, by decreasing demand, are placed by PABFD ([`pabfd`]) on the other hosts;
//! 5. the underload step ([`underload`]) tries to empty every other host, least utilised first;
//! 6. the migrations are asked for at once.
//!
//! At the first decision (t = 0) the VMs not placed yet are placed by PABFD in VM id order at
//! their nominal size (VMs that find no room are tried again at the next decisions) (a VM being created requests its full capacity; those created before it
//! request nothing yet), with the overload check of the policy's detector (its fallback while
//! there is no history). On CloudSim's setup this spreads the VMs one per host first.
//!
//! Deviations from CloudSim, deliberate: RAM is checked at every placement against the free
//! RAM the view shows (infinite after t = 0 with `infrastructure.ram_limit = "at-start"`, which
//! is CloudSim's accounting; real otherwise); random selection draws from a seeded stream; a VM that the same round moves twice
//! (CloudSim can send a VM placed on a host by the overload step off again when the underload
//! step empties that host, starting two migrations) is migrated once, to its final host.

pub mod baseline;
pub mod history;
pub mod overload;
pub mod pabfd;
pub mod plan;
pub mod selection;
pub mod slack;
pub mod underload;

use crate::api::{Action, NodeId, ParamSpec, Params, Policy, PolicyContext, View, VmId};
use crate::PolicyInfo;
use history::VmHistories;
use overload::{Detector, DEFAULT_FALLBACK_THRESHOLD};
use pabfd::{HostIndex, Search};
use plan::Plan;
use selection::Selection;

/// A consolidation policy: a detector, a selection rule and the state they keep.
pub struct Consolidation {
    name: &'static str,
    detector: Detector,
    selection: Selection,
    hist: VmHistories,
    plan: Plan,
    scratch: Vec<f64>,
    /// Per VM: where the round sends it (reused buffer), and the order VMs were first sent.
    dest: Vec<Option<u32>>,
    order: Vec<VmId>,
    /// Size the VMs of the first placement by their demand, not their nominal capacity.
    pub initial_by_demand: bool,
}

impl Consolidation {
    pub fn new(name: &'static str, detector: Detector, selection: Selection) -> Self {
        Consolidation {
            name,
            detector,
            selection,
            hist: VmHistories::default(),
            plan: Plan::default(),
            scratch: Vec::new(),
            dest: Vec::new(),
            order: Vec::new(),
            initial_by_demand: false,
        }
    }

    /// The utilisation histories it keeps (for inspection and tests).
    pub fn histories(&self) -> &VmHistories {
        &self.hist
    }

    /// Places the VMs not placed yet, in id order, by PABFD at their nominal size (or their
    /// demand, with `initial_by_demand`).
    fn initial_placement(&mut self, view: &View) -> Vec<Action> {
        self.plan.rebuild(view);
        let excluded = vec![false; self.plan.hosts()];
        let s = Search::new(view, &self.detector, &self.hist);
        let mut index = HostIndex::new(&self.plan, &s, &excluded);
        let mut actions = Vec::new();
        for vm in view.unplaced() {
            let r = if self.initial_by_demand {
                vm.cpu_demand
            } else {
                vm.cpu_max
            };
            if let Some(h) = index.find(&self.plan, &s, vm.id, r, &mut self.scratch) {
                self.plan.add(h, vm.id, r, false);
                index.refresh(&self.plan, &s, h);
                actions.push(Action::Place {
                    vm: vm.id,
                    node: NodeId(h as u32),
                });
            }
        }
        actions
    }

    /// Records `v` as sent to `h` this round (in `dest` and `order`, see [`Consolidation`]).
    fn send(dest: &mut Vec<Option<u32>>, order: &mut Vec<VmId>, v: VmId, h: usize) {
        if dest.len() <= v.index() {
            dest.resize(v.index() + 1, None);
        }
        if dest[v.index()].is_none() {
            order.push(v);
        }
        dest[v.index()] = Some(h as u32);
    }

    /// One consolidation round (steps 2–6 of the module doc).
    fn round(&mut self, view: &View) -> Vec<Action> {
        self.plan.rebuild(view);
        let n = self.plan.hosts();
        let s = Search::new(view, &self.detector, &self.hist);
        let mut overloaded = vec![false; n];
        for (h, o) in overloaded.iter_mut().enumerate() {
            *o = !self.plan.vms[h].is_empty() && s.overloaded(&self.plan, h, &mut self.scratch);
        }
        // Selection, host by host in id order.
        let mut to_place: Vec<VmId> = Vec::new();
        let mut migratable: Vec<VmId> = Vec::new();
        for h in (0..n).filter(|&h| overloaded[h]) {
            loop {
                migratable.clear();
                migratable.extend(
                    self.plan.vms[h]
                        .iter()
                        .copied()
                        .filter(|&v| view.vm(v).migrating_to.is_none()),
                );
                let Some(v) = self.selection.select(&migratable, view, &self.hist) else {
                    break;
                };
                to_place.push(v);
                self.plan.remove(h, v);
                if !s.overloaded(&self.plan, h, &mut self.scratch) {
                    break;
                }
            }
        }
        // Placement of the selected VMs, by decreasing demand (stable).
        let request = &self.plan.request;
        to_place.sort_by(|a, b| request[b.index()].total_cmp(&request[a.index()]));
        let mut index = HostIndex::new(&self.plan, &s, &overloaded);
        for &v in &to_place {
            let r = self.plan.request[v.index()];
            if let Some(h) = index.find(&self.plan, &s, v, r, &mut self.scratch) {
                self.plan.add(h, v, r, true);
                index.refresh(&self.plan, &s, h);
                Self::send(&mut self.dest, &mut self.order, v, h);
            }
        }
        // The underload step.
        let moves = underload::evacuate(
            &mut self.plan,
            &s,
            &mut index,
            &overloaded,
            &mut self.scratch,
        );
        for (v, h) in moves {
            Self::send(&mut self.dest, &mut self.order, v, h);
        }
        let mut actions = Vec::with_capacity(self.order.len());
        for v in self.order.drain(..) {
            let to = self.dest[v.index()].take().expect("sent");
            if view.vm(v).node != Some(NodeId(to)) {
                actions.push(Action::Migrate {
                    vm: v,
                    to: NodeId(to),
                });
            }
        }
        actions
    }
}

impl Policy for Consolidation {
    fn name(&self) -> &str {
        self.name
    }

    fn decide(&mut self, view: &View) -> Vec<Action> {
        // Every decision after t = 0 records the VMs' utilisation, even one that only places
        // VMs, so that histories keep one value per interval.
        if view.now_s > 0.0 {
            for vm in &view.vms {
                if vm.alive && vm.node.is_some() {
                    let u = if vm.cpu_max > 0.0 {
                        vm.cpu_demand / vm.cpu_max
                    } else {
                        0.0
                    };
                    self.hist.push(vm.id, u);
                }
            }
        }
        // VMs not placed yet (all of them at t = 0; later, those that found no room) are
        // placed first; a decision that places VMs does nothing else (its plan would not see
        // them).
        if view.unplaced().next().is_some() {
            let placed = self.initial_placement(view);
            if !placed.is_empty() || view.now_s <= 0.0 {
                return placed;
            }
        }
        if view.now_s <= 0.0 {
            return Vec::new();
        }
        self.round(view)
    }
}

// ---- Registration: parameters (with their ranges), one entry per detector × selection ----

const THRESHOLD: ParamSpec = ParamSpec::number(
    "threshold",
    0.8,
    "THR: a host whose VMs ask for more than this share of its CPU is overloaded",
)
.above(0.0)
.max(1.0);
const FALLBACK: ParamSpec = ParamSpec::number(
    "fallback_threshold",
    DEFAULT_FALLBACK_THRESHOLD,
    "static threshold used while a host's history is too short (12 values for IQR and MAD, 10 for LR and LRR)",
)
.above(0.0)
.max(1.0);
const INTERVAL: ParamSpec = ParamSpec::number(
    "scheduling_interval_s",
    300.0,
    "LR, LRR: the decision interval the prediction looks ahead by (whole intervals covering the longest migration of the host's VMs), s",
)
.positive();

const INITIAL_BY_DEMAND: ParamSpec = ParamSpec::flag(
    "initial_by_demand",
    false,
    "size the VMs placed at the first decision by their demand then instead of their nominal capacity (CloudSim: nominal; by demand, more VMs than the hosts' nominal capacity can start)",
);

const THR_PARAMS: &[ParamSpec] = &[THRESHOLD, INITIAL_BY_DEMAND];
const IQR_PARAMS: &[ParamSpec] = &[
    ParamSpec::number(
        "safety",
        1.5,
        "IQR: the threshold is 1 − safety × the inter-quartile range of the host history",
    )
    .non_negative(),
    FALLBACK,
    INITIAL_BY_DEMAND,
];
const MAD_PARAMS: &[ParamSpec] = &[
    ParamSpec::number(
        "safety",
        2.5,
        "MAD: the threshold is 1 − safety × the median absolute deviation of the host history",
    )
    .non_negative(),
    FALLBACK,
    INITIAL_BY_DEMAND,
];
const LR_PARAMS: &[ParamSpec] = &[
    ParamSpec::number(
        "safety",
        1.2,
        "LR, LRR: overloaded when safety × the utilisation predicted by a regression on the 10 newest history values is >= 1",
    )
    .positive(),
    INTERVAL,
    FALLBACK,
    INITIAL_BY_DEMAND,
];

/// Detector codes of the registry's build functions.
const THR: u8 = 0;
const IQR: u8 = 1;
const MAD: u8 = 2;
const LR: u8 = 3;
const LRR: u8 = 4;
/// Selection codes.
const MMT: u8 = 0;
const MC: u8 = 1;
const RS: u8 = 2;
const MU: u8 = 3;

fn detector<const D: u8>(p: &Params) -> Detector {
    let fallback = || p.number("fallback_threshold");
    match D {
        THR => Detector::Thr {
            threshold: p.number("threshold"),
        },
        IQR => Detector::Iqr {
            safety: p.number("safety"),
            fallback: fallback(),
        },
        MAD => Detector::Mad {
            safety: p.number("safety"),
            fallback: fallback(),
        },
        LR => Detector::Lr {
            safety: p.number("safety"),
            interval_s: p.number("scheduling_interval_s"),
            fallback: fallback(),
        },
        _ => Detector::Lrr {
            safety: p.number("safety"),
            interval_s: p.number("scheduling_interval_s"),
            fallback: fallback(),
        },
    }
}

fn selection<const S: u8>(c: &PolicyContext) -> Selection {
    match S {
        MMT => Selection::Mmt,
        MC => Selection::Mc,
        RS => Selection::random(c.seed),
        _ => Selection::Mu,
    }
}

const fn params(d: u8) -> &'static [ParamSpec] {
    match d {
        THR => THR_PARAMS,
        IQR => IQR_PARAMS,
        MAD => MAD_PARAMS,
        _ => LR_PARAMS,
    }
}

macro_rules! combo {
    ($konst:ident, $name:literal, $d:ident, $s:ident, $about:literal) => {
        pub const $konst: PolicyInfo = PolicyInfo {
            name: $name,
            about: $about,
            params: params($d),
            build: |p, c| {
                let mut policy = Consolidation::new($name, detector::<$d>(p), selection::<$s>(c));
                policy.initial_by_demand = p.flag("initial_by_demand");
                Box::new(policy)
            },
        };
    };
}

combo!(THR_MMT, "thr-mmt", THR, MMT, "CloudSim consolidation: static-threshold overload detection, minimum-migration-time selection, PABFD placement, underload evacuation.");
combo!(THR_MC, "thr-mc", THR, MC, "CloudSim consolidation: static threshold, maximum-correlation selection (MMT fallback), PABFD, underload evacuation.");
combo!(THR_RS, "thr-rs", THR, RS, "CloudSim consolidation: static threshold, random selection (seeded), PABFD, underload evacuation.");
combo!(THR_MU, "thr-mu", THR, MU, "CloudSim consolidation: static threshold, minimum-utilisation selection, PABFD, underload evacuation.");
combo!(IQR_MMT, "iqr-mmt", IQR, MMT, "CloudSim consolidation: inter-quartile-range threshold (0.7 fallback), minimum-migration-time selection, PABFD, underload evacuation.");
combo!(IQR_MC, "iqr-mc", IQR, MC, "CloudSim consolidation: inter-quartile-range threshold, maximum-correlation selection (MMT fallback), PABFD, underload evacuation.");
combo!(IQR_RS, "iqr-rs", IQR, RS, "CloudSim consolidation: inter-quartile-range threshold, random selection (seeded), PABFD, underload evacuation.");
combo!(IQR_MU, "iqr-mu", IQR, MU, "CloudSim consolidation: inter-quartile-range threshold, minimum-utilisation selection, PABFD, underload evacuation.");
combo!(MAD_MMT, "mad-mmt", MAD, MMT, "CloudSim consolidation: median-absolute-deviation threshold (0.7 fallback), minimum-migration-time selection, PABFD, underload evacuation.");
combo!(MAD_MC, "mad-mc", MAD, MC, "CloudSim consolidation: median-absolute-deviation threshold, maximum-correlation selection (MMT fallback), PABFD, underload evacuation.");
combo!(MAD_RS, "mad-rs", MAD, RS, "CloudSim consolidation: median-absolute-deviation threshold, random selection (seeded), PABFD, underload evacuation.");
combo!(MAD_MU, "mad-mu", MAD, MU, "CloudSim consolidation: median-absolute-deviation threshold, minimum-utilisation selection, PABFD, underload evacuation.");
combo!(LR_MMT, "lr-mmt", LR, MMT, "CloudSim consolidation: local-regression overload prediction (OLS on the 10 newest values, 0.7 fallback), minimum-migration-time selection, PABFD, underload evacuation.");
combo!(LR_MC, "lr-mc", LR, MC, "CloudSim consolidation: local-regression prediction, maximum-correlation selection (MMT fallback), PABFD, underload evacuation.");
combo!(LR_RS, "lr-rs", LR, RS, "CloudSim consolidation: local-regression prediction, random selection (seeded), PABFD, underload evacuation.");
combo!(LR_MU, "lr-mu", LR, MU, "CloudSim consolidation: local-regression prediction, minimum-utilisation selection, PABFD, underload evacuation.");
combo!(LRR_MMT, "lrr-mmt", LRR, MMT, "CloudSim consolidation: robust local regression (decides as LR in CloudSim 5.0), minimum-migration-time selection, PABFD, underload evacuation.");
combo!(LRR_MC, "lrr-mc", LRR, MC, "CloudSim consolidation: robust local regression, maximum-correlation selection (MMT fallback), PABFD, underload evacuation.");
combo!(LRR_RS, "lrr-rs", LRR, RS, "CloudSim consolidation: robust local regression, random selection (seeded), PABFD, underload evacuation.");
combo!(LRR_MU, "lrr-mu", LRR, MU, "CloudSim consolidation: robust local regression, minimum-utilisation selection, PABFD, underload evacuation.");

#[cfg(test)]
mod tests;
