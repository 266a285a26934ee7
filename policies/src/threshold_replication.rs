//! `threshold-replication`: restart-based elasticity, as the research group's TUNe manager did
//! it. Per tier, the average CPU of its active replicas over a window: above `high` for `for_s`
//! seconds, start a replica on a free node (booting one if needed); below `low` for `for_s`,
//! stop the most recently added one. A cool-down follows each action; replicas stay within
//! `min_replicas..=max_replicas`. Nodes left empty are powered off.

use crate::api::{Action, ParamSpec, Params, Policy, PolicyContext, ReplicaState, TierRef, View};
use crate::placement::{idle_nodes, node_for_new_replica};
use crate::sustained::{Sustained, Window};
use crate::PolicyInfo;
use std::collections::BTreeMap;

pub const INFO: PolicyInfo = PolicyInfo {
    name: "threshold-replication",
    about: "Restart-based: start or stop replicas of a tier on its average CPU (TUNe).",
    params: &[
        ParamSpec::number("high", 0.7, "start a replica above this average CPU (0..1)")
            .above(0.0)
            .below(1.0),
        ParamSpec::number("low", 0.2, "stop a replica below this average CPU (0..1)")
            .min(0.0)
            .less_than("high"),
        ParamSpec::number("for_s", 60.0, "seconds the condition must hold, s").non_negative(),
        ParamSpec::number(
            "window_s",
            60.0,
            "averaging window of the tier CPU, s (0: the last period alone)",
        )
        .non_negative(),
        ParamSpec::number(
            "cooldown_s",
            120.0,
            "no action on a tier for this long after one, s",
        )
        .non_negative(),
        ParamSpec::number("min_replicas", 1.0, "fewest active replicas per tier")
            .min(1.0)
            .integer()
            .at_most("max_replicas"),
        ParamSpec::number("max_replicas", 8.0, "most replicas per tier")
            .min(1.0)
            .integer(),
        ParamSpec::flag("drain", false, "let a stopped replica's sessions end first"),
        ParamSpec::flag("power_off_idle", true, "power off nodes left empty"),
    ],
    build,
};

fn build(p: &Params, _: &PolicyContext) -> Box<dyn Policy> {
    Box::new(ThresholdReplication {
        high: p.number("high"),
        low: p.number("low"),
        for_s: p.number("for_s"),
        window_s: p.number("window_s"),
        cooldown_s: p.number("cooldown_s"),
        min_replicas: p.number("min_replicas") as usize,
        max_replicas: p.number("max_replicas") as usize,
        drain: p.flag("drain"),
        power_off_idle: p.flag("power_off_idle"),
        tiers: BTreeMap::new(),
    })
}

#[derive(Default)]
struct TierState {
    cpu: Window,
    above: Sustained,
    below: Sustained,
    last_action_s: Option<f64>,
}

pub struct ThresholdReplication {
    high: f64,
    low: f64,
    for_s: f64,
    window_s: f64,
    cooldown_s: f64,
    min_replicas: usize,
    max_replicas: usize,
    drain: bool,
    power_off_idle: bool,
    tiers: BTreeMap<TierRef, TierState>,
}

impl Policy for ThresholdReplication {
    fn name(&self) -> &str {
        INFO.name
    }

    fn decide(&mut self, view: &View) -> Vec<Action> {
        let mut actions = Vec::new();
        let mut nodes_taken = Vec::new();
        for app in &view.apps {
            for tier in &app.tiers {
                let active: Vec<_> = view
                    .tier_replicas(tier.tier, ReplicaState::Active)
                    .collect();
                let starting = view
                    .tier_replicas(tier.tier, ReplicaState::Starting)
                    .count();
                if active.is_empty() {
                    continue;
                }
                let mean =
                    active.iter().map(|r| r.cpu_utilisation).sum::<f64>() / active.len() as f64;
                let st = self.tiers.entry(tier.tier).or_default();
                let cpu = st.cpu.push(view.now_s, mean, self.window_s);
                let above = st.above.update(view.now_s, cpu > self.high, self.for_s);
                let below = st.below.update(view.now_s, cpu < self.low, self.for_s);
                let cooling = st
                    .last_action_s
                    .is_some_and(|t| view.now_s - t < self.cooldown_s);
                if cooling || starting > 0 {
                    continue;
                }
                if above && active.len() + starting < self.max_replicas {
                    // A VM of the tier tells how much RAM a new one needs (virtualized mode).
                    let ram = active[0].vm.map_or(0.0, |v| view.vm(v).ram_mb);
                    let node = node_for_new_replica(view, ram).filter(|n| !nodes_taken.contains(n));
                    if let Some(node) = node {
                        nodes_taken.push(node);
                        actions.push(Action::StartReplica {
                            tier: tier.tier,
                            node,
                        });
                        st.last_action_s = Some(view.now_s);
                        st.above.reset();
                    }
                } else if below && active.len() > self.min_replicas {
                    let newest = active.iter().map(|r| r.id).max().expect("non-empty");
                    actions.push(Action::StopReplica {
                        replica: newest,
                        drain: self.drain,
                    });
                    st.last_action_s = Some(view.now_s);
                    st.below.reset();
                }
            }
        }
        if self.power_off_idle {
            for n in idle_nodes(view) {
                if !nodes_taken.contains(&n) {
                    actions.push(Action::PowerOff { node: n });
                }
            }
        }
        actions
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{Mode, NodeId, NodeState, ReplicaId};
    use crate::testing::{at, ViewBuilder};

    fn decide_sustained(view: &View) -> Vec<Action> {
        let mut p = crate::build(
            "threshold-replication",
            &BTreeMap::new(),
            &crate::api::PolicyContext { seed: 1 },
        )
        .unwrap();
        p.decide(&at(view, 0.0));
        p.decide(&at(view, 60.0))
    }

    #[test]
    fn a_hot_tier_gets_a_replica_on_a_free_node_or_a_node_to_boot() {
        let with_free = ViewBuilder::new(Mode::Bare, 0.0)
            .node(NodeState::On, 2.0, 4096.0, 0.9)
            .node(NodeState::Off, 2.0, 4096.0, 0.0)
            .node(NodeState::On, 2.0, 4096.0, 0.0)
            .replica(0, 0, 0.9, 1.0, 0.0)
            .build();
        let tier = TierRef {
            app: crate::api::AppId(0),
            tier: 0,
        };
        assert_eq!(
            decide_sustained(&with_free),
            vec![Action::StartReplica {
                tier,
                node: NodeId(2)
            }]
        );
        let none_free = ViewBuilder::new(Mode::Bare, 0.0)
            .node(NodeState::On, 2.0, 4096.0, 0.9)
            .node(NodeState::Off, 2.0, 4096.0, 0.0)
            .replica(0, 0, 0.9, 1.0, 0.0)
            .build();
        assert_eq!(
            decide_sustained(&none_free),
            vec![Action::StartReplica {
                tier,
                node: NodeId(1)
            }]
        );
    }

    #[test]
    fn a_cold_tier_loses_its_newest_replica_but_never_its_last() {
        let two = ViewBuilder::new(Mode::Bare, 0.0)
            .node(NodeState::On, 2.0, 4096.0, 0.05)
            .node(NodeState::On, 2.0, 4096.0, 0.05)
            .replica(0, 0, 0.05, 1.0, 0.0)
            .replica(0, 1, 0.05, 1.0, 0.0)
            .build();
        assert_eq!(
            decide_sustained(&two),
            vec![Action::StopReplica {
                replica: ReplicaId(1),
                drain: false
            }]
        );
        let one = ViewBuilder::new(Mode::Bare, 0.0)
            .node(NodeState::On, 2.0, 4096.0, 0.05)
            .replica(0, 0, 0.05, 1.0, 0.0)
            .build();
        assert!(decide_sustained(&one).is_empty());
    }

    #[test]
    fn a_moderate_tier_is_left_alone_and_empty_nodes_are_powered_off() {
        let v = ViewBuilder::new(Mode::Bare, 0.0)
            .node(NodeState::On, 2.0, 4096.0, 0.4)
            .node(NodeState::On, 2.0, 4096.0, 0.0)
            .replica(0, 0, 0.4, 1.0, 0.0)
            .build();
        assert_eq!(
            decide_sustained(&v),
            vec![Action::PowerOff { node: NodeId(1) }]
        );
    }
}
