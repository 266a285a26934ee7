//! Consolidation on crafted states: PABFD's choice, the t = 0 placement, a round's overload
//! and underload steps, the index against the linear scan, parameter checks.

use super::history::VmHistories;
use super::overload::Detector;
use super::pabfd::{find_host_naive, HostIndex, Search};
use super::plan::Plan;
use crate::api::{Action, Mode, NodeId, NodeState, ParamValue, Policy, PolicyContext, View, VmId};
use crate::testing::ViewBuilder;
use std::collections::BTreeMap;

const G4: [f64; 11] = [
    86.0, 89.4, 92.6, 96.0, 99.5, 102.0, 106.0, 108.0, 112.0, 114.0, 117.0,
];
const G5: [f64; 11] = [
    93.7, 97.0, 101.0, 105.0, 110.0, 116.0, 121.0, 125.0, 129.0, 133.0, 135.0,
];
const THR: Detector = Detector::Thr { threshold: 0.8 };

/// A builder with `kinds` nodes (true: G5 2×2660, false: G4 2×1860), all on, no VM.
fn hosts(kinds: &[bool]) -> ViewBuilder {
    let mut b = ViewBuilder::new(Mode::Virtualized, 300.1);
    for (i, &g5) in kinds.iter().enumerate() {
        b = b
            .node(NodeState::On, 2.0, 4096.0, 0.0)
            .speed(i as u32, if g5 { 2660.0 } else { 1860.0 })
            .power(i as u32, if g5 { G5 } else { G4 });
    }
    b
}

fn find(view: &View, v: VmId, r: f64, detector: &Detector) -> (Option<usize>, Option<usize>) {
    let mut plan = Plan::default();
    plan.rebuild(view);
    let hist = VmHistories::default();
    let s = Search::new(view, detector, &hist);
    let excluded = vec![false; plan.hosts()];
    let mut idx = HostIndex::new(&plan, &s, &excluded);
    let mut scratch = Vec::new();
    (
        idx.find(&plan, &s, v, r, &mut scratch),
        find_host_naive(&plan, &s, &excluded, v, r, &mut scratch),
    )
}

#[test]
fn pabfd_takes_the_smallest_power_increase_and_an_empty_g5_can_beat_a_loaded_g4() {
    // node0: G4 at 0.25 (a 930-unit VM); node1: empty G4; node2: empty G5. A VM of 372 units:
    // node0 +3.45 W (94.3 → 97.75), node1 +3.4 W, node2 ≈ +2.31 W (93.7 → 96.01).
    let view = hosts(&[false, false, true])
        .trace_vm(Some(0), 1.0, 613.0, 1000.0, 930.0)
        .trace_vm(None, 1.0, 613.0, 1000.0, 372.0)
        .build();
    let n0 = &view.nodes[0];
    assert!((n0.power_at_w(1302.0 / 3720.0) - n0.power_at_w(0.25) - 3.45).abs() < 1e-9);
    assert_eq!(find(&view, VmId(1), 372.0, &THR), (Some(2), Some(2)));
}

#[test]
fn pabfd_ties_go_to_the_lowest_host_id() {
    // node0 (G5, 0.6) costs more; node1 and node2 are identical G4s at 0.25: node1.
    let view = hosts(&[true, false, false])
        .trace_vm(Some(0), 1.0, 613.0, 2500.0, 0.6 * 5320.0)
        .trace_vm(Some(1), 1.0, 613.0, 1000.0, 930.0)
        .trace_vm(Some(2), 1.0, 613.0, 1000.0, 930.0)
        .trace_vm(None, 1.0, 613.0, 500.0, 200.0)
        .build();
    assert_eq!(find(&view, VmId(3), 200.0, &THR), (Some(1), Some(1)));
}

#[test]
fn a_vm_asking_more_than_a_g4_core_cannot_go_on_a_g4() {
    // 2500 units on one vCPU: G4 cores have 1860. The empty G4 (node0) would be cheaper per
    // watt but is unsuitable; the G5 is taken. At 1860 it fits on the G4.
    let view = hosts(&[false, true])
        .trace_vm(Some(1), 1.0, 613.0, 2000.0, 1500.0)
        .trace_vm(None, 1.0, 870.0, 2500.0, 2500.0)
        .build();
    assert_eq!(find(&view, VmId(1), 2500.0, &THR), (Some(1), Some(1)));
    assert_eq!(find(&view, VmId(1), 1860.0, &THR), (Some(0), Some(0)));
    assert_eq!(find(&view, VmId(1), 1860.5, &THR), (Some(1), Some(1)));
}

#[test]
fn the_destination_overload_check_applies_to_occupied_hosts_only() {
    // node0: G4 at 0.6 (two VMs of 1116); a VM of 930 takes it to 0.85: 106 → 113, +7 W,
    // cheaper than the empty node1 (0 → 0.25: 86 → 94.3, +8.3 W), but above THR 0.8: node1.
    let view = hosts(&[false, false])
        .trace_vm(Some(0), 1.0, 613.0, 1860.0, 1116.0)
        .trace_vm(Some(0), 1.0, 613.0, 1860.0, 1116.0)
        .trace_vm(None, 1.0, 613.0, 1000.0, 930.0)
        .build();
    assert_eq!(find(&view, VmId(2), 930.0, &THR), (Some(1), Some(1)));
    let loose = Detector::Thr { threshold: 0.9 };
    assert_eq!(find(&view, VmId(2), 930.0, &loose), (Some(0), Some(0)));
    // An empty host skips the check: a VM asking 0.9 of a one-core node goes there.
    let view = ViewBuilder::new(Mode::Virtualized, 300.1)
        .node(NodeState::On, 1.0, 4096.0, 0.0)
        .speed(0, 5000.0)
        .power(0, G5)
        .trace_vm(None, 1.0, 613.0, 5000.0, 4500.0)
        .build();
    assert_eq!(find(&view, VmId(0), 4500.0, &THR), (Some(0), Some(0)));
}

#[test]
fn ram_is_checked() {
    // node0 has 613 MB left (4096 − 512 reserve − 2971); the 870 MB VM goes to node1.
    let view = hosts(&[true, true])
        .trace_vm(Some(0), 1.0, 2971.0, 2500.0, 100.0)
        .trace_vm(Some(1), 1.0, 100.0, 2500.0, 4000.0)
        .trace_vm(None, 1.0, 870.0, 500.0, 100.0)
        .build();
    assert_eq!(find(&view, VmId(2), 100.0, &THR), (Some(1), Some(1)));
}

/// A small deterministic generator for random states (SplitMix64).
struct Mix(u64);
impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// CloudSim's four VM types: (CPU units, RAM in MB).
const VM_TYPES: [(f64, f64); 4] = [
    (2500.0, 870.0),
    (2000.0, 1740.0),
    (1000.0, 1740.0),
    (500.0, 613.0),
];

/// Random hosts (`kinds`: G5 or G4) and `n_vms` trace VMs of CloudSim's types, each left
/// unplaced with chance 1/`unplaced_one_in`, demanding `demand(rng, its CPU units)`.
fn random_state(
    rng: &mut Mix,
    kinds: &[bool],
    n_vms: u64,
    unplaced_one_in: u64,
    demand: impl Fn(&mut Mix, f64) -> f64,
) -> View {
    let mut b = hosts(kinds);
    for _ in 0..n_vms {
        let node = if rng.below(unplaced_one_in) == 0 {
            None
        } else {
            Some(rng.below(kinds.len() as u64) as u32)
        };
        let (cpu, ram) = VM_TYPES[rng.below(4) as usize];
        let d = demand(rng, cpu);
        b = b.trace_vm(node, 1.0, ram, cpu, d);
    }
    b.build()
}

#[test]
fn the_index_chooses_as_the_linear_scan_on_random_states() {
    let detectors = [
        THR,
        Detector::Lr {
            safety: 1.2,
            interval_s: 300.0,
            fallback: 0.7,
        },
        Detector::Mad {
            safety: 2.5,
            fallback: 0.7,
        },
    ];
    let mut rng = Mix(42);
    let (mut agreed_some, mut compared) = (0, 0);
    for case in 0..300 {
        let n_hosts = 1 + rng.below(if case % 5 == 0 { 300 } else { 40 }) as usize;
        let kinds: Vec<bool> = (0..n_hosts).map(|_| rng.below(2) == 1).collect();
        let n_vms = rng.below(3 * n_hosts as u64 + 1);
        // Most hosts loaded, some left empty; coarse demands (ties) in even cases, any value
        // in odd ones.
        let view = random_state(&mut rng, &kinds, n_vms, 4, |rng, cpu| {
            if case % 2 == 0 {
                cpu * (rng.below(11) as f64) / 10.0
            } else {
                cpu * (rng.below(1_000_001) as f64) / 1e6
            }
        });
        let mut plan = Plan::default();
        plan.rebuild(&view);
        let mut hist = VmHistories::default();
        for v in 0..view.vms.len() {
            for _ in 0..rng.below(31) {
                hist.push(VmId(v as u32), (rng.below(11) as f64) / 10.0);
            }
        }
        let detector = detectors[case % 3];
        let s = Search::new(&view, &detector, &hist);
        let mut excluded: Vec<bool> = (0..n_hosts).map(|_| rng.below(5) == 0).collect();
        // Occupied hosts scanned, and filed in buckets: both must agree with the linear scan.
        let mut idx = HostIndex::with_scan_max(&plan, &s, &excluded, usize::MAX);
        let mut filed = HostIndex::with_scan_max(&plan, &s, &excluded, 0);
        let mut scratch = Vec::new();
        // Place a sequence of VMs tentatively, excluding hosts on the way, and undo some.
        let mark = plan.mark();
        for step in 0..20 {
            let v = VmId(rng.below(view.vms.len().max(1) as u64) as u32);
            if view.vms.is_empty() {
                break;
            }
            let r = view.vm(v).cpu_max * (rng.below(11) as f64) / 10.0;
            let a = idx.find(&plan, &s, v, r, &mut scratch);
            let b = find_host_naive(&plan, &s, &excluded, v, r, &mut scratch);
            let c = filed.find(&plan, &s, v, r, &mut scratch);
            assert_eq!(a, b, "case {case} step {step}");
            assert_eq!(c, b, "case {case} step {step} (buckets)");
            agreed_some += usize::from(a.is_some());
            if let Some(h) = a {
                plan.add(h, v, r, true);
                idx.refresh(&plan, &s, h);
                filed.refresh(&plan, &s, h);
            }
            if rng.below(6) == 0 {
                let h = rng.below(n_hosts as u64) as usize;
                excluded[h] = true;
                idx.exclude(h);
                filed.exclude(h);
            }
            if rng.below(8) == 0 {
                let mut touched = Vec::new();
                plan.undo_to(mark, &mut touched);
                for h in touched {
                    idx.refresh(&plan, &s, h);
                    filed.refresh(&plan, &s, h);
                }
            }
            // Kept up to date through the moves, the filed index holds what one filed afresh
            // from the same state holds, its trees consistent with their buckets.
            let fresh = HostIndex::with_scan_max(&plan, &s, &excluded, 0);
            let kept = filed.checked_contents();
            assert_eq!(kept, fresh.checked_contents(), "case {case} step {step}");
            compared += kept.len();
        }
    }
    assert!(agreed_some > 1000, "{agreed_some}");
    assert!(compared > 5000, "{compared}");
}

fn build(
    name: &str,
    params: &[(&str, f64)],
) -> Result<Box<dyn crate::api::Policy>, crate::PolicyError> {
    let given: BTreeMap<String, ParamValue> = params
        .iter()
        .map(|(k, v)| (k.to_string(), ParamValue::Number(*v)))
        .collect();
    crate::build(name, &given, &PolicyContext { seed: 3 })
}

#[test]
fn the_first_decision_places_by_pabfd_in_vm_id_order_at_nominal_size() {
    // G4, G5, G4, G5; VMs of 2500, 2000, 1000, 500, 500, 500 units, none placed, at t = 0.
    let mut b = hosts(&[false, true, false, true]);
    b.view.now_s = 0.0;
    for (cpu, ram) in [
        (2500.0, 870.0),
        (2000.0, 1740.0),
        (1000.0, 1740.0),
        (500.0, 613.0),
        (500.0, 613.0),
        (500.0, 613.0),
    ] {
        b = b.trace_vm(None, 1.0, ram, cpu, 0.0);
    }
    let view = b.build();
    let placed = |name: &str| -> Vec<u32> {
        build(name, &[])
            .unwrap()
            .decide(&view)
            .into_iter()
            .map(|a| match a {
                Action::Place { node, .. } => node.0,
                other => panic!("{other:?}"),
            })
            .collect()
    };
    // 2500 → the first G5; 2000 → the empty G5 (+15.1 W; a G4 core is too small for it, and
    // adding it to node1 would cost +37.1 W);
    // 1000 → the first empty G4 (+8.94 W); 500 → the other empty G4; 500 → node2 again
    // (1000 on it: +8.94 W, the cheapest); the last 500: node0 and node2 both at 1000 of
    // 3720, the same +13.58 W: the lowest id, node0.
    assert_eq!(placed("lr-mmt"), vec![1, 3, 0, 2, 2, 0]);
    assert_eq!(placed("thr-mmt"), vec![1, 3, 0, 2, 2, 0]);
    // First fit: the 2000 cannot go on a G4 core either; then node0 takes the rest.
    assert_eq!(placed("dvfs"), vec![1, 1, 0, 0, 0, 0]);
    assert_eq!(placed("npa"), vec![1, 1, 0, 0, 0, 0]);
}

#[test]
fn a_round_evacuates_the_least_utilised_host_and_relieves_an_overloaded_one() {
    // node0: G5 with two VMs asking 0.5 + 0.4 of it (overloaded for THR 0.8); node1: G5 at 0.3;
    // node2: G5 at 0.1; node3: empty G5.
    let c = 5320.0;
    let view = hosts(&[true, true, true, true])
        .trace_vm(Some(0), 1.0, 1740.0, 2500.0, 0.5 * c)
        .trace_vm(Some(0), 1.0, 870.0, 2500.0, 0.4 * c)
        .trace_vm(Some(1), 1.0, 613.0, 2500.0, 0.3 * c)
        .trace_vm(Some(2), 1.0, 613.0, 2500.0, 0.1 * c)
        .build();
    let mut p = build("thr-mmt", &[]).unwrap();
    let actions = p.decide(&view);
    // Overload: MMT takes vm1 (870 MB < 1740), leaving 0.5. PABFD for 0.4 of a G5: node1
    // (0.3 → 0.7: 105 → 125, +20 W), node2 (0.1 → 0.5: 97 → 116, +19 W), node3 (empty,
    // 0 → 0.4: +16.3 W): node3. Underload: node3 is off at the start
    // (excluded); least utilised node2 (0.1): vm3 → node1 (0.3 → 0.4: +5 W) vs node3
    // (0.4 → 0.5 from its start 0: 116 − 93.7 = +22.3 W): node1. node1 is then a destination
    // and is not tried; nothing else is left to try.
    assert_eq!(
        actions,
        vec![
            Action::Migrate {
                vm: VmId(1),
                to: NodeId(3)
            },
            Action::Migrate {
                vm: VmId(3),
                to: NodeId(1)
            },
        ]
    );
}

#[test]
fn an_evacuation_that_does_not_fit_entirely_moves_nothing() {
    // node0: G4 at 0.1 with two VMs; node1: G4 at 0.75: one of node0's VMs fits below 0.8,
    // not both. Nothing moves.
    let c = 3720.0;
    let view = hosts(&[false, false])
        .trace_vm(Some(0), 1.0, 613.0, 500.0, 0.05 * c)
        .trace_vm(Some(0), 1.0, 613.0, 500.0, 0.05 * c)
        .trace_vm(Some(1), 1.0, 613.0, 1860.0, 0.75 * c / 2.0)
        .trace_vm(Some(1), 1.0, 613.0, 1860.0, 0.75 * c / 2.0)
        .build();
    assert!(build("thr-mmt", &[]).unwrap().decide(&view).is_empty());
    // With threshold 0.9 both fit: both move, node0 is emptied.
    let actions = build("thr-mmt", &[("threshold", 0.9)])
        .unwrap()
        .decide(&view);
    assert_eq!(
        actions,
        vec![
            Action::Migrate {
                vm: VmId(0),
                to: NodeId(1)
            },
            Action::Migrate {
                vm: VmId(1),
                to: NodeId(1)
            },
        ]
    );
}

#[test]
fn out_of_range_parameters_are_rejected_and_defaults_are_cloudsims() {
    for (name, field, value) in [
        ("thr-mmt", "threshold", 1.5),
        ("thr-mmt", "threshold", 0.0),
        ("iqr-mmt", "safety", -1.0),
        ("mad-mu", "fallback_threshold", 2.0),
        ("lr-mmt", "safety", 0.0),
        ("lrr-mc", "scheduling_interval_s", 0.0),
    ] {
        let err = build(name, &[(field, value)]).err().expect("rejected");
        assert_eq!(err.field, field);
        assert!(err.message.contains(field), "{}", err.message);
    }
    let default = |policy: &str, param: &str| {
        crate::REGISTRY
            .iter()
            .find(|p| p.name == policy)
            .unwrap()
            .params
            .iter()
            .find(|s| s.name == param)
            .unwrap()
            .default
            .clone()
    };
    assert_eq!(default("thr-mmt", "threshold"), ParamValue::Number(0.8));
    assert_eq!(default("iqr-mmt", "safety"), ParamValue::Number(1.5));
    assert_eq!(default("mad-mmt", "safety"), ParamValue::Number(2.5));
    assert_eq!(default("lr-rs", "safety"), ParamValue::Number(1.2));
    assert_eq!(default("lrr-mmt", "safety"), ParamValue::Number(1.2));
    assert_eq!(
        default("lr-mmt", "scheduling_interval_s"),
        ParamValue::Number(300.0)
    );
    assert_eq!(
        default("lr-mmt", "fallback_threshold"),
        ParamValue::Number(0.7)
    );
    assert!(build("lr-mmt", &[("safety", 1.2)]).is_ok());
}

#[test]
fn a_decision_that_places_late_vms_still_records_history() {
    // One G5 that takes one 2500 VM at nominal size; the second waits. At 300.1 both VMs are
    // offered again: the placed one records its utilisation even though the decision places.
    let mut b = hosts(&[true]);
    b.view.now_s = 0.0;
    let view = b
        .trace_vm(None, 1.0, 870.0, 2500.0, 0.0)
        .trace_vm(None, 1.0, 870.0, 2500.0, 0.0)
        .trace_vm(None, 1.0, 870.0, 2500.0, 0.0)
        .build();
    let mut p = super::Consolidation::new(
        "lr-mmt",
        Detector::Lr {
            safety: 1.2,
            interval_s: 300.0,
            fallback: 0.7,
        },
        super::selection::Selection::Mmt,
    );
    assert_eq!(
        p.decide(&view),
        vec![
            Action::Place {
                vm: VmId(0),
                node: NodeId(0)
            },
            Action::Place {
                vm: VmId(1),
                node: NodeId(0)
            },
        ]
    );
    // At 300.1: vm0 and vm1 on node0 asking 0.1 each (500 of 5320 allocated): vm2 now fits.
    let mut later = view.clone();
    later.now_s = 300.1;
    for v in 0..2 {
        later.vms[v].node = Some(NodeId(0));
        later.vms[v].cpu_demand = 250.0;
        later.vms[v].cpu_granted = 250.0;
        later.nodes[0].vms.push(VmId(v as u32));
    }
    assert_eq!(
        p.decide(&later),
        vec![Action::Place {
            vm: VmId(2),
            node: NodeId(0)
        }]
    );
    assert_eq!(p.histories().len(VmId(0)), 1);
    assert_eq!(p.histories().get(VmId(0), 0), 0.1);
    assert_eq!(p.histories().len(VmId(2)), 0);
}

#[test]
fn the_overload_slack_rules_out_only_hosts_that_fail_and_is_tight_where_linear() {
    // Every (host, VM) pair of random states, for every detector: a slack that rules the VM out
    // means the real check fails; a slack that admits it with twice the margin to spare means
    // the real check passes, wherever the detector is linear (THR, the fallback, LR and LRR).
    // And every host alone: the slack's verdict, where it gives one, is the detector's.
    use super::slack::{HostSlack, OverloadModel, MARGIN};
    let detectors = [
        THR,
        Detector::Thr { threshold: 0.55 },
        Detector::Lr {
            safety: 1.2,
            interval_s: 300.0,
            fallback: 0.7,
        },
        Detector::Lrr {
            safety: 0.9,
            interval_s: 300.0,
            fallback: 0.6,
        },
        Detector::Iqr {
            safety: 1.5,
            fallback: 0.7,
        },
        Detector::Mad {
            safety: 2.5,
            fallback: 0.7,
        },
    ];
    let mut rng = Mix(7);
    let (mut ruled_out, mut tight_checked, mut exact_band) = (0, 0, 0);
    let (mut verdicts, mut unsure, mut surely, mut open) = (0, 0, 0, 0);
    for case in 0..400 {
        let n_hosts = 1 + rng.below(12) as usize;
        let kinds: Vec<bool> = (0..n_hosts).map(|_| rng.below(2) == 1).collect();
        let n_vms = rng.below(4 * n_hosts as u64 + 2);
        let view = random_state(&mut rng, &kinds, n_vms, 5, |rng, cpu| {
            cpu * (rng.below(1001) as f64) / 1000.0
        });
        let mut plan = Plan::default();
        plan.rebuild(&view);
        // Histories around the lengths where regimes switch (9 to 13 values), some with zeros
        // at the oldest end, coarse values in even cases (ties with thresholds), any in odd.
        let mut hist = VmHistories::default();
        for v in 0..view.vms.len() {
            let len = [0, 3, 9, 10, 11, 12, 13, 30][rng.below(8) as usize];
            let zeros = rng.below(3);
            for k in 0..len {
                let u = if k < zeros {
                    0.0
                } else if case % 2 == 0 {
                    rng.below(11) as f64 / 10.0
                } else {
                    rng.below(1_000_001) as f64 / 1e6
                };
                hist.push(VmId(v as u32), u);
            }
        }
        let detector = detectors[case % detectors.len()];
        let model = OverloadModel::new(&view, &detector, &hist);
        let linear = !matches!(detector, Detector::Iqr { .. } | Detector::Mad { .. });
        let mut scratch = Vec::new();
        for h in 0..n_hosts {
            let alone = plan.overloaded(h, None, &detector, &hist, &mut scratch);
            match model.overloaded(&plan, h) {
                Some(verdict) => {
                    assert_eq!(verdict, alone, "case {case} host {h}");
                    verdicts += 1;
                }
                None => unsure += 1,
            }
            let slack = model.host(&plan, h);
            for v in 0..view.vms.len() {
                let v = VmId(v as u32);
                let r = plan.request[v.index()];
                let ask = model.ask(v, r, plan.capacity[h]);
                let fails = plan.allocated[h] != 0.0
                    && plan.overloaded(h, Some((v, r)), &detector, &hist, &mut scratch);
                if !slack.admits(&ask) {
                    ruled_out += 1;
                    assert!(fails, "case {case} host {h} {v:?}: ruled out but passes");
                }
                let spare = HostSlack {
                    threshold: slack.threshold - 2.0 * MARGIN,
                    predicted_own: slack.predicted_own - 2.0 * MARGIN,
                    predicted_any: slack.predicted_any - 2.0 * MARGIN,
                };
                if slack.surely_admits(&ask) {
                    assert!(
                        !fails,
                        "case {case} host {h} {v:?}: surely admitted but fails"
                    );
                    surely += 1;
                }
                let short = !ask.long_history && slack.threshold != f64::NEG_INFINITY;
                if (linear || short) && spare.admits(&ask) {
                    tight_checked += 1;
                    open += usize::from(plan.allocated[h] == 0.0);
                    assert!(
                        !fails,
                        "case {case} host {h} {v:?}: admitted with room but fails"
                    );
                } else if slack.admits(&ask) && linear {
                    exact_band += 1;
                }
            }
        }
    }
    // The states exercise both verdicts, and the band left to the real check stays small.
    assert!(
        ruled_out > 3000 && tight_checked > 3000,
        "{ruled_out} {tight_checked}"
    );
    assert!(exact_band * 20 < ruled_out + tight_checked, "{exact_band}");
    // Where the slack is exact, it tells a pass for sure nearly everywhere the check passes
    // (hosts with nothing allocated skip the check: their slack is open, not sure).
    assert!(
        surely * 10 > (tight_checked - open) * 9,
        "{surely} {tight_checked} {open}"
    );
    // Whether a host is overloaded on its own: told by the slack for most hosts.
    assert!(verdicts > 4 * unsure, "{verdicts} {unsure}");
}
