//! Max-min fair sharing by progressive filling (water-filling).
//!
//! The same fluid idea serves the bandwidth of concurrent migrations (each crosses the NIC of its
//! source and of its destination) and the CPU of co-located VMs (one resource, each VM wanting at
//! most its vCPUs' worth). Max-min fairness is what TCP flows sharing links approximately reach
//! and what a fair-share CPU scheduler gives; SimGrid models both this way.
//!
//! Everything here is pure and deterministic: plain `Vec`s indexed by position, no hashing, the
//! same input always giving bit-identical output.

/// A flow over shared resources: the resources it crosses (indices into the capacities; a
/// resource listed twice counts once) and its own rate cap (`f64::INFINITY` for none).
#[derive(Clone, Debug, PartialEq)]
pub struct Flow {
    pub resources: Vec<usize>,
    pub cap: f64,
}

impl Flow {
    pub fn new(resources: Vec<usize>, cap: f64) -> Self {
        Flow { resources, cap }
    }

    /// A flow with no cap of its own.
    pub fn uncapped(resources: Vec<usize>) -> Self {
        Flow {
            resources,
            cap: f64::INFINITY,
        }
    }
}

/// Relative tolerance within which resources count as saturating at the same level. Without it,
/// two resources that saturate together in exact arithmetic but differ by rounding would take one
/// more filling step, which could leave a resource a rounding error over its capacity. With it,
/// flows freeze at most this fraction below the exact level: never over capacity.
const SAME_LEVEL_REL: f64 = 1e-12;

/// Max-min fair rates of flows over shared resources. `capacities[r]` >= 0; each flow uses a set
/// of resources and has its own cap (`f64::INFINITY` for none). Returns one rate per flow. Exact
/// progressive filling (water-filling): raise all unfrozen flows equally until a resource
/// saturates or a flow hits its cap; freeze those; repeat.
///
/// - A flow with no resource gets its cap; an infinite cap is returned as is (`f64::INFINITY`).
///   So does a flow whose resources all have infinite capacity.
/// - NaN or negative capacities and caps count as 0; a flow on a resource of capacity 0 gets 0.
/// - Each filling step computes every level from the capacities and the frozen rates (not by
///   subtracting increments), so rounding errors do not accumulate over steps: three flows on a
///   link of 10 get exactly `10.0 / 3.0`.
/// - Cost: at most one step per flow, each linear in resources plus flow-resource pairs; memory
///   linear in the input.
///
/// # Panics
/// If a flow names a resource index `>= capacities.len()`.
pub fn max_min_fair(capacities: &[f64], flows: &[Flow]) -> Vec<f64> {
    let nres = capacities.len();
    let cap_of = |c: f64| if c > 0.0 { c } else { 0.0 };
    // Each flow's distinct resources, flattened: flow f uses links[start[f]..start[f + 1]].
    let mut start = Vec::with_capacity(flows.len() + 1);
    let mut links = Vec::with_capacity(flows.iter().map(|f| f.resources.len()).sum());
    start.push(0);
    for (f, flow) in flows.iter().enumerate() {
        let first = links.len();
        for &r in &flow.resources {
            assert!(
                r < nres,
                "flow {f} uses resource {r}, but there are {nres} resources"
            );
            links.push(r);
        }
        links[first..].sort_unstable();
        let mut kept = first;
        for i in first..links.len() {
            if i == first || links[i] != links[kept - 1] {
                links[kept] = links[i];
                kept += 1;
            }
        }
        links.truncate(kept);
        start.push(links.len());
    }
    let res_of = |f: usize| &links[start[f]..start[f + 1]];

    let mut rates = vec![0.0; flows.len()];
    let mut frozen = vec![false; flows.len()];
    // Per resource: sum of the frozen flows' rates, and number of unfrozen flows on it.
    let mut frozen_use = vec![0.0; nres];
    let mut active = vec![0usize; nres];
    let mut saturated = vec![false; nres];
    let mut unfrozen = 0usize;
    for (f, flow) in flows.iter().enumerate() {
        if res_of(f).is_empty() {
            // Nothing limits it but its cap (NaN counts as 0, infinity stays).
            rates[f] = if flow.cap.is_nan() {
                0.0
            } else {
                flow.cap.max(0.0)
            };
            frozen[f] = true;
        } else {
            unfrozen += 1;
            for &r in res_of(f) {
                active[r] += 1;
            }
        }
    }

    while unfrozen > 0 {
        // The level at which the next resource saturates or the next flow reaches its cap.
        let mut level = f64::INFINITY;
        for r in 0..nres {
            if active[r] > 0 {
                let l = resource_level(cap_of(capacities[r]), frozen_use[r], active[r]);
                level = level.min(l);
            }
        }
        for (f, flow) in flows.iter().enumerate() {
            if !frozen[f] {
                level = level.min(cap_of(flow.cap));
            }
        }
        if level == f64::INFINITY {
            // No finite limit left: every unfrozen flow is unbounded.
            for f in 0..flows.len() {
                if !frozen[f] {
                    rates[f] = f64::INFINITY;
                    frozen[f] = true;
                }
            }
            break;
        }
        let same = level + SAME_LEVEL_REL * level.abs();
        for r in 0..nres {
            saturated[r] = active[r] > 0
                && resource_level(cap_of(capacities[r]), frozen_use[r], active[r]) <= same;
        }
        // Freeze, at `level`, every flow at its cap or crossing a saturated resource. At least one
        // flow freezes: `level` is some resource's level or some flow's cap.
        let before = unfrozen;
        for (f, flow) in flows.iter().enumerate() {
            if frozen[f] {
                continue;
            }
            let at_cap = cap_of(flow.cap) <= same;
            if at_cap || res_of(f).iter().any(|&r| saturated[r]) {
                // A flow at its cap gets exactly its cap when that cap set the level.
                let rate = if at_cap {
                    cap_of(flow.cap).min(level)
                } else {
                    level
                };
                rates[f] = rate;
                frozen[f] = true;
                unfrozen -= 1;
                for &r in res_of(f) {
                    frozen_use[r] += rate;
                    active[r] -= 1;
                }
            }
        }
        if unfrozen == before {
            // Unreachable in exact arithmetic (see above); a guard against looping forever.
            debug_assert!(false, "no flow froze at level {level}");
            for f in 0..flows.len() {
                if !frozen[f] {
                    rates[f] = level;
                    frozen[f] = true;
                }
            }
            break;
        }
    }
    rates
}

/// The rate at which a resource saturates if its `active` unfrozen flows all get it: what the
/// frozen flows leave, shared equally.
#[inline]
fn resource_level(capacity: f64, frozen_use: f64, active: usize) -> f64 {
    if capacity == f64::INFINITY {
        return f64::INFINITY;
    }
    ((capacity - frozen_use) / active as f64).max(0.0)
}

/// One resource shared by consumers each wanting at most `demands[i]` (e.g. CPU cores among
/// co-located VMs): max-min fair, work-conserving. The shares sum to `min(capacity, Σ demands)`
/// (up to rounding): consumers wanting less than an equal share get all they want, the others
/// split the rest equally.
///
/// NaN or negative capacity and demands count as 0. An infinite capacity gives every consumer its
/// demand; an infinite demand takes whatever is left. Cost: one sort, `O(n log n)`; ties are
/// broken by position, so the result is deterministic.
pub fn share_one(capacity: f64, demands: &[f64]) -> Vec<f64> {
    let clean = |d: f64| if d > 0.0 { d } else { 0.0 };
    let capacity = clean(capacity);
    if capacity == f64::INFINITY {
        return demands.iter().map(|&d| clean(d)).collect();
    }
    let mut order: Vec<usize> = (0..demands.len()).collect();
    order.sort_by(|&a, &b| {
        clean(demands[a])
            .total_cmp(&clean(demands[b]))
            .then(a.cmp(&b))
    });
    let mut shares = vec![0.0; demands.len()];
    let mut left = capacity;
    for (k, &i) in order.iter().enumerate() {
        let fair = left / (order.len() - k) as f64;
        let share = clean(demands[i]).min(fair);
        shares[i] = share;
        left = (left - share).max(0.0);
    }
    shares
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const INF: f64 = f64::INFINITY;

    #[test]
    fn empty_input_gives_no_rates() {
        assert!(max_min_fair(&[], &[]).is_empty());
        assert!(max_min_fair(&[10.0, 5.0], &[]).is_empty());
        assert!(share_one(10.0, &[]).is_empty());
    }

    #[test]
    fn three_flows_on_one_link_get_a_third_each() {
        let flows = vec![Flow::uncapped(vec![0]); 3];
        assert_eq!(max_min_fair(&[10.0], &flows), vec![10.0 / 3.0; 3]);
    }

    #[test]
    fn classic_two_link_example() {
        // Links A (0) and B (1) of capacity 1; a long flow crosses both, one short flow each.
        let flows = vec![
            Flow::uncapped(vec![0, 1]),
            Flow::uncapped(vec![0]),
            Flow::uncapped(vec![1]),
        ];
        assert_eq!(max_min_fair(&[1.0, 1.0], &flows), vec![0.5, 0.5, 0.5]);
        // A = 10, B = 4: B saturates first at 2 (long and B's short flow freeze at 2); A's short
        // flow takes the 8 left on A.
        assert_eq!(max_min_fair(&[10.0, 4.0], &flows), vec![2.0, 8.0, 2.0]);
    }

    #[test]
    fn parking_lot_gives_the_long_flow_one_share_per_link() {
        // Three links of 1 in a row; the long flow crosses all three, a short flow on each:
        // every link is shared by two flows, each gets 1/2.
        let mut flows = vec![Flow::uncapped(vec![0, 1, 2])];
        flows.extend((0..3).map(|r| Flow::uncapped(vec![r])));
        assert_eq!(max_min_fair(&[1.0; 3], &flows), vec![0.5; 4]);
        // Two short flows on link 1: it saturates at 1/3 for all three flows there; links 0 and 2
        // then give their short flows what is left, 1 − 1/3 (computed as such, which in binary is
        // one ulp above 2.0 / 3.0).
        flows.push(Flow::uncapped(vec![1]));
        let rates = max_min_fair(&[1.0; 3], &flows);
        let third = 1.0 / 3.0;
        let rest = 1.0 - third;
        assert_eq!(rates, vec![third, rest, third, rest, third]);
    }

    #[test]
    fn caps_bind_before_the_link() {
        // One flow capped at 1: the other two share the 9 left.
        let flows = vec![
            Flow::new(vec![0], 1.0),
            Flow::uncapped(vec![0]),
            Flow::uncapped(vec![0]),
        ];
        assert_eq!(max_min_fair(&[10.0], &flows), vec![1.0, 4.5, 4.5]);
        // All capped below the fair share: the link is not saturated.
        let flows = vec![Flow::new(vec![0], 1.0), Flow::new(vec![0], 2.0)];
        assert_eq!(max_min_fair(&[10.0], &flows), vec![1.0, 2.0]);
        // A cap above the fair share does not bind.
        let flows = vec![Flow::new(vec![0], 7.0), Flow::new(vec![0], 6.0)];
        assert_eq!(max_min_fair(&[10.0], &flows), vec![5.0, 5.0]);
    }

    #[test]
    fn migrations_share_the_nics_of_both_ends() {
        // NICs of 125 MB/s on nodes 0, 1, 2. Migrations 0→1, 0→2 and 2→1: every NIC carries two
        // migrations, each gets 62.5 MB/s.
        let nics = [125.0; 3];
        let flows = vec![
            Flow::uncapped(vec![0, 1]),
            Flow::uncapped(vec![0, 2]),
            Flow::uncapped(vec![2, 1]),
        ];
        assert_eq!(max_min_fair(&nics, &flows), vec![62.5; 3]);
    }

    #[test]
    fn flows_without_resources_get_their_cap() {
        let flows = vec![
            Flow::new(vec![], 3.0),
            Flow::uncapped(vec![]),
            Flow::new(vec![], f64::NAN),
            Flow::new(vec![], -2.0),
            Flow::uncapped(vec![0]),
        ];
        assert_eq!(max_min_fair(&[4.0], &flows), vec![3.0, INF, 0.0, 0.0, 4.0]);
    }

    #[test]
    fn zero_infinite_and_nan_capacities() {
        let flows = vec![
            Flow::uncapped(vec![0, 1]),
            Flow::uncapped(vec![1]),
            Flow::new(vec![2], 5.0),
            Flow::uncapped(vec![2]),
            Flow::uncapped(vec![3]),
        ];
        let rates = max_min_fair(&[0.0, 6.0, INF, f64::NAN], &flows);
        // Flow 0 is stopped by the zero link; flow 1 then has link 1 alone. Link 2 is infinite:
        // flow 2 gets its cap, flow 3 is unbounded. Link 3's NaN capacity counts as 0.
        assert_eq!(rates, vec![0.0, 6.0, 5.0, INF, 0.0]);
    }

    #[test]
    fn a_resource_listed_twice_counts_once() {
        let flows = vec![Flow::uncapped(vec![0, 0, 0]), Flow::uncapped(vec![0])];
        assert_eq!(max_min_fair(&[10.0], &flows), vec![5.0, 5.0]);
    }

    #[test]
    #[should_panic(expected = "flow 0 uses resource 3")]
    fn an_unknown_resource_panics() {
        max_min_fair(&[1.0], &[Flow::uncapped(vec![3])]);
    }

    #[test]
    fn share_one_textbook_examples() {
        assert_eq!(share_one(10.0, &[2.0, 8.0, 8.0]), vec![2.0, 4.0, 4.0]);
        assert_eq!(share_one(10.0, &[8.0, 2.0, 8.0]), vec![4.0, 2.0, 4.0]);
        assert_eq!(share_one(10.0, &[1.0, 2.0, 3.0]), vec![1.0, 2.0, 3.0]);
        assert_eq!(share_one(4.0, &[INF, INF]), vec![2.0, 2.0]);
        assert_eq!(share_one(4.0, &[1.0, INF]), vec![1.0, 3.0]);
        assert_eq!(share_one(0.0, &[1.0, 2.0]), vec![0.0, 0.0]);
        assert_eq!(share_one(INF, &[1.0, INF]), vec![1.0, INF]);
        assert_eq!(share_one(3.0, &[f64::NAN, -1.0, 5.0]), vec![0.0, 0.0, 3.0]);
        // Four VMs of 2 vCPUs on 4 cores: one core each.
        assert_eq!(share_one(4.0, &[2.0; 4]), vec![1.0; 4]);
    }

    /// Sum of the rates of the flows on each resource.
    fn usage(nres: usize, flows: &[Flow], rates: &[f64]) -> Vec<f64> {
        let mut used = vec![0.0; nres];
        for (flow, &rate) in flows.iter().zip(rates) {
            let mut rs = flow.resources.clone();
            rs.sort_unstable();
            rs.dedup();
            for r in rs {
                used[r] += rate;
            }
        }
        used
    }

    fn arb_capacity() -> impl Strategy<Value = f64> {
        prop_oneof![1 => Just(0.0), 1 => Just(INF), 6 => 0.0f64..100.0]
    }

    fn arb_flows(nres: usize) -> impl Strategy<Value = Vec<Flow>> {
        let flow = (
            proptest::collection::vec(0..nres, 0..4),
            prop_oneof![2 => Just(INF), 3 => 0.0f64..50.0],
        )
            .prop_map(|(resources, cap)| Flow { resources, cap });
        proptest::collection::vec(flow, 0..10)
    }

    fn arb_problem() -> impl Strategy<Value = (Vec<f64>, Vec<Flow>)> {
        (1usize..6).prop_flat_map(|nres| {
            (
                proptest::collection::vec(arb_capacity(), nres),
                arb_flows(nres),
            )
        })
    }

    proptest! {
        #[test]
        fn max_min_rates_are_feasible_and_max_min_fair((caps, flows) in arb_problem()) {
            let rates = max_min_fair(&caps, &flows);
            prop_assert_eq!(rates.len(), flows.len());
            let tol = 1e-9 * 100.0;
            let used = usage(caps.len(), &flows, &rates);
            for (r, (&u, &c)) in used.iter().zip(&caps).enumerate() {
                prop_assert!(u <= c + tol || c == INF, "resource {} uses {} of {}", r, u, c);
            }
            for (f, flow) in flows.iter().enumerate() {
                let rate = rates[f];
                prop_assert!(rate >= 0.0 && rate <= flow.cap + tol, "flow {} rate {}", f, rate);
                if rate >= flow.cap - tol {
                    continue;
                }
                // Below its cap: some resource it crosses is saturated and no flow there gets
                // more (the max-min characterisation: its bottleneck).
                let bottleneck = flow.resources.iter().any(|&r| {
                    used[r] >= caps[r] - tol
                        && flows.iter().zip(&rates).all(|(g, &rg)| {
                            !g.resources.contains(&r) || rg <= rate + tol
                        })
                });
                prop_assert!(bottleneck, "flow {} at {} has no bottleneck: {:?}", f, rate, rates);
            }
            // Deterministic: the same input gives bit-identical output.
            let again = max_min_fair(&caps, &flows);
            prop_assert_eq!(
                rates.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                again.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
            );
        }

        #[test]
        fn share_one_is_work_conserving_and_agrees_with_max_min(
            capacity in prop_oneof![Just(0.0), 0.0f64..64.0],
            demands in proptest::collection::vec(prop_oneof![Just(0.0), 0.0f64..16.0], 0..12),
        ) {
            let shares = share_one(capacity, &demands);
            let total: f64 = shares.iter().sum();
            let wanted: f64 = demands.iter().sum();
            let expected = capacity.min(wanted);
            prop_assert!((total - expected).abs() <= 1e-9 * expected.max(1.0), "{} vs {}", total, expected);
            for (&s, &d) in shares.iter().zip(&demands) {
                prop_assert!((0.0..=d).contains(&s));
            }
            let flows: Vec<Flow> = demands.iter().map(|&d| Flow::new(vec![0], d)).collect();
            let rates = max_min_fair(&[capacity], &flows);
            for (&s, &r) in shares.iter().zip(&rates) {
                prop_assert!((s - r).abs() <= 1e-9 * capacity.max(1.0), "{:?} vs {:?}", shares, rates);
            }
        }
    }
}
