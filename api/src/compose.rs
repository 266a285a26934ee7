//! Composing policies: several policies run as one (a repair policy with an elasticity policy),
//! each deciding on the same view.
//!
//! The rule that settles conflicts: **the first policy listed wins.** The policies decide in
//! order; an action of a later policy is dropped if it touches what an action kept earlier in
//! the same round touches. What an action touches: the nodes it powers, starts on, migrates
//! from or to; the VM it moves, places or restarts; the replica it stops or restarts; and the
//! tier it resizes (starting, stopping or restarting a replica of a tier), so that two policies
//! never both compensate for one tier in the same round. A later policy sees the kept actions in
//! progress in the next view, as if it had asked for them itself.

use crate::{Action, Policy, ReplicaId, TierRef, View};

/// Several policies run as one, the first listed having priority (see the module's rule).
pub struct Composed {
    name: String,
    policies: Vec<Box<dyn Policy>>,
    /// Actions dropped so far because an earlier policy's action touched the same thing.
    dropped: u64,
}

/// What an action touches, for the conflict rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Touch {
    Node(u32),
    Vm(u32),
    Replica(u32),
    Tier(TierRef),
}

impl Composed {
    /// The policies, in priority order; named `a+b+...`.
    pub fn new(policies: Vec<Box<dyn Policy>>) -> Self {
        let name = policies
            .iter()
            .map(|p| p.name().to_string())
            .collect::<Vec<_>>()
            .join("+");
        Composed {
            name,
            policies,
            dropped: 0,
        }
    }

    /// Actions dropped so far by the conflict rule.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

/// What `action` touches, read in `view` (a migration touches its VM's source node too; a
/// replica's tier is the one the view gives it).
fn touches(action: &Action, view: &View) -> Vec<Touch> {
    let tier_of = |r: ReplicaId| view.replicas.get(r.index()).map(|r| Touch::Tier(r.tier));
    match action {
        Action::PowerOn { node } | Action::PowerOff { node } => vec![Touch::Node(node.0)],
        Action::StartReplica { tier, node } => vec![Touch::Node(node.0), Touch::Tier(*tier)],
        Action::StopReplica { replica, .. } => std::iter::once(Touch::Replica(replica.0))
            .chain(tier_of(*replica))
            .collect(),
        Action::Migrate { vm, to } => {
            let mut t = vec![Touch::Vm(vm.0), Touch::Node(to.0)];
            if let Some(n) = view.vms.get(vm.index()).and_then(|v| v.node) {
                t.push(Touch::Node(n.0));
            }
            t
        }
        Action::Place { vm, node } => vec![Touch::Vm(vm.0), Touch::Node(node.0)],
        Action::RestartReplica { replica, node } => {
            let mut t = vec![Touch::Replica(replica.0), Touch::Node(node.0)];
            t.extend(tier_of(*replica));
            t
        }
        Action::RestartVm { vm, node } => {
            let mut t = vec![Touch::Vm(vm.0), Touch::Node(node.0)];
            if let Some(r) = view.vms.get(vm.index()).and_then(|v| v.replica) {
                t.push(Touch::Replica(r.0));
                t.extend(tier_of(r));
            }
            t
        }
    }
}

impl Policy for Composed {
    fn name(&self) -> &str {
        &self.name
    }

    fn decide(&mut self, view: &View) -> Vec<Action> {
        let mut kept: Vec<Action> = Vec::new();
        let mut taken: Vec<Touch> = Vec::new();
        for p in &mut self.policies {
            // Each policy's own actions do not conflict with one another: it knows what it does.
            let mut mine = Vec::new();
            for a in p.decide(view) {
                let t = touches(&a, view);
                if t.iter().any(|x| taken.contains(x)) {
                    self.dropped += 1;
                } else {
                    mine.extend(t);
                    kept.push(a);
                }
            }
            taken.extend(mine);
        }
        kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AppId, Mode, NodeId};

    struct Fixed(&'static str, Vec<Action>);

    impl Policy for Fixed {
        fn name(&self) -> &str {
            self.0
        }
        fn decide(&mut self, _: &View) -> Vec<Action> {
            self.1.clone()
        }
    }

    fn empty_view() -> View {
        View {
            now_s: 0.0,
            period_s: 30.0,
            mode: Mode::Bare,
            host_reserved_ram_mb: 0.0,
            nodes: Vec::new(),
            vms: Vec::new(),
            replicas: Vec::new(),
            apps: Vec::new(),
            actions: Vec::new(),
            failures: Vec::new(),
        }
    }

    #[test]
    fn the_first_policy_wins_a_conflict_and_the_rest_is_kept() {
        let tier = TierRef {
            app: AppId(0),
            tier: 1,
        };
        let first = Fixed(
            "repair",
            vec![
                Action::StartReplica {
                    tier,
                    node: NodeId(2),
                },
                // Its own actions never conflict with one another.
                Action::PowerOn { node: NodeId(2) },
            ],
        );
        let second = Fixed(
            "elastic",
            vec![
                // Same tier: dropped.
                Action::StartReplica {
                    tier,
                    node: NodeId(3),
                },
                // Same node: dropped.
                Action::PowerOff { node: NodeId(2) },
                // Untouched: kept.
                Action::PowerOff { node: NodeId(4) },
            ],
        );
        let mut c = Composed::new(vec![Box::new(first), Box::new(second)]);
        assert_eq!(c.name(), "repair+elastic");
        let got = c.decide(&empty_view());
        assert_eq!(
            got,
            vec![
                Action::StartReplica {
                    tier,
                    node: NodeId(2)
                },
                Action::PowerOn { node: NodeId(2) },
                Action::PowerOff { node: NodeId(4) },
            ]
        );
        assert_eq!(c.dropped(), 2);
    }
}
