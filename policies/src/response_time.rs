//! `response-time-target`: restart-based elasticity driven by what users see rather than by
//! CPU. When an application's p95 response time stays above its SLA target for `for_s`
//! seconds, a replica is added to its busiest tier; when it stays below `low_fraction` of the
//! target and the busiest tier is under `idle_cpu`, the newest replica of its least busy
//! elastic tier is removed.

use crate::api::{Action, AppId, ParamSpec, Params, Policy, PolicyContext, ReplicaState, View};
use crate::placement::{idle_nodes, node_for_new_replica};
use crate::sustained::{Sustained, Window};
use crate::PolicyInfo;
use std::collections::BTreeMap;

pub const INFO: PolicyInfo = PolicyInfo {
    name: "response-time-target",
    about: "Restart-based: add a replica to the busiest tier when p95 exceeds the SLA target.",
    params: &[
        ParamSpec::number(
            "low_fraction",
            0.3,
            "remove capacity below this fraction of the target",
        )
        .min(0.0)
        .below(1.0),
        ParamSpec::number(
            "idle_cpu",
            0.3,
            "and only if the busiest tier is below this CPU (0..1)",
        )
        .fraction(),
        ParamSpec::number("for_s", 60.0, "seconds a condition must hold, s").non_negative(),
        ParamSpec::number(
            "window_s",
            60.0,
            "averaging window of the p95, s (0: the last period alone)",
        )
        .non_negative(),
        ParamSpec::number("cooldown_s", 120.0, "no action for this long after one, s")
            .non_negative(),
        ParamSpec::number("max_replicas", 8.0, "most replicas per tier")
            .min(1.0)
            .integer(),
        ParamSpec::flag("drain", false, "let a stopped replica's sessions end first"),
    ],
    build,
};

fn build(p: &Params, _: &PolicyContext) -> Box<dyn Policy> {
    Box::new(ResponseTime {
        low_fraction: p.number("low_fraction"),
        idle_cpu: p.number("idle_cpu"),
        for_s: p.number("for_s"),
        window_s: p.number("window_s"),
        cooldown_s: p.number("cooldown_s"),
        max_replicas: p.number("max_replicas") as usize,
        drain: p.flag("drain"),
        apps: BTreeMap::new(),
    })
}

#[derive(Default)]
struct AppState {
    p95: Window,
    slow: Sustained,
    fast: Sustained,
    last_action_s: Option<f64>,
}

pub struct ResponseTime {
    low_fraction: f64,
    idle_cpu: f64,
    for_s: f64,
    window_s: f64,
    cooldown_s: f64,
    max_replicas: usize,
    drain: bool,
    apps: BTreeMap<AppId, AppState>,
}

impl Policy for ResponseTime {
    fn name(&self) -> &str {
        INFO.name
    }

    fn decide(&mut self, view: &View) -> Vec<Action> {
        let mut actions = Vec::new();
        for app in &view.apps {
            let st = self.apps.entry(app.id).or_default();
            let p95 = st.p95.push(view.now_s, app.p95_response_ms, self.window_s);
            let slow = st
                .slow
                .update(view.now_s, p95 > app.sla_target_ms, self.for_s);
            let fast = st.fast.update(
                view.now_s,
                p95 < self.low_fraction * app.sla_target_ms,
                self.for_s,
            );
            let cooling = st
                .last_action_s
                .is_some_and(|t| view.now_s - t < self.cooldown_s);
            let starting = app.tiers.iter().any(|t| {
                view.tier_replicas(t.tier, ReplicaState::Starting)
                    .next()
                    .is_some()
            });
            if cooling || starting {
                continue;
            }
            // Tier CPU: mean over its active replicas.
            let tier_cpu = |t: &crate::api::TierView| {
                let rs: Vec<f64> = view
                    .tier_replicas(t.tier, ReplicaState::Active)
                    .map(|r| r.cpu_utilisation)
                    .collect();
                if rs.is_empty() {
                    0.0
                } else {
                    rs.iter().sum::<f64>() / rs.len() as f64
                }
            };
            let busiest = app
                .tiers
                .iter()
                .max_by(|a, b| tier_cpu(a).total_cmp(&tier_cpu(b)));
            let Some(busiest) = busiest else { continue };
            if slow {
                let n = view
                    .tier_replicas(busiest.tier, ReplicaState::Active)
                    .count();
                let ram = view
                    .tier_replicas(busiest.tier, ReplicaState::Active)
                    .find_map(|r| r.vm)
                    .map_or(0.0, |v| view.vm(v).ram_mb);
                if n < self.max_replicas {
                    if let Some(node) = node_for_new_replica(view, ram) {
                        actions.push(Action::StartReplica {
                            tier: busiest.tier,
                            node,
                        });
                        st.last_action_s = Some(view.now_s);
                        st.slow.reset();
                    }
                }
            } else if fast && tier_cpu(busiest) < self.idle_cpu {
                // The least busy tier that has a replica to spare gives one back.
                let spare = app
                    .tiers
                    .iter()
                    .filter(|t| view.tier_replicas(t.tier, ReplicaState::Active).count() > 1)
                    .min_by(|a, b| tier_cpu(a).total_cmp(&tier_cpu(b)));
                if let Some(t) = spare {
                    let newest = view
                        .tier_replicas(t.tier, ReplicaState::Active)
                        .map(|r| r.id)
                        .max()
                        .expect("more than one");
                    actions.push(Action::StopReplica {
                        replica: newest,
                        drain: self.drain,
                    });
                    st.last_action_s = Some(view.now_s);
                    st.fast.reset();
                }
            }
        }
        let busy = view.in_flight().next().is_some();
        if !busy && actions.is_empty() {
            for n in idle_nodes(view) {
                actions.push(Action::PowerOff { node: n });
            }
        }
        actions
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{Mode, NodeId, NodeState, TierRef};
    use crate::testing::{at, ViewBuilder};

    #[test]
    fn a_slow_application_gets_a_replica_in_its_busiest_tier() {
        let mut v = ViewBuilder::new(Mode::Bare, 0.0)
            .node(NodeState::On, 2.0, 4096.0, 0.3)
            .node(NodeState::On, 2.0, 4096.0, 0.95)
            .node(NodeState::Off, 2.0, 4096.0, 0.0)
            .replica(0, 0, 0.3, 1.0, 0.0)
            .replica(1, 1, 0.95, 1.0, 0.0)
            .build();
        v.apps[0].p95_response_ms = 900.0;
        let mut p = crate::build(
            "response-time-target",
            &BTreeMap::new(),
            &crate::api::PolicyContext { seed: 1 },
        )
        .unwrap();
        assert!(p.decide(&at(&v, 0.0)).is_empty());
        let tier = TierRef {
            app: AppId(0),
            tier: 1,
        };
        assert_eq!(
            p.decide(&at(&v, 60.0)),
            vec![Action::StartReplica {
                tier,
                node: NodeId(2)
            }]
        );
    }

    #[test]
    fn static_never_acts() {
        let v = ViewBuilder::new(Mode::Bare, 0.0)
            .node(NodeState::On, 2.0, 4096.0, 1.0)
            .node(NodeState::On, 2.0, 4096.0, 0.0)
            .replica(0, 0, 1.0, 1.0, 0.0)
            .build();
        let mut p = crate::build(
            "static",
            &BTreeMap::new(),
            &crate::api::PolicyContext { seed: 1 },
        )
        .unwrap();
        assert!(p.decide(&v).is_empty());
        assert!(p.decide(&at(&v, 1e6)).is_empty());
    }
}
