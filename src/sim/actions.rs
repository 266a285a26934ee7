//! Reconfiguration actions: their log, scripted actions, and node power on/off.
//!
//! Every action gets a record the moment it is asked for; an impossible one is refused at once
//! with a reason (never a panic), a possible one ends later as done or failed. The log becomes
//! `actions.csv`, and policies will read the outcomes in their next view.

use super::events::Event;
use super::world::{Host, NodeState};
use super::Simulation;
use crate::engine::SimTime;
use crate::scenario::schema::ScriptedAction;
use reconf_api::{Action, ActionId, AppId, NodeId, Outcome, ReplicaId, TierRef, VmId};

/// One action and what became of it: a row of `actions.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct ActionRecord {
    pub id: ActionId,
    pub action: Action,
    /// What it acts on, by name (`node-3`, `rubis.app.2`).
    pub target: String,
    /// Where to, by name (the destination node of a migration or a new replica).
    pub destination: String,
    pub start: SimTime,
    pub end: Option<SimTime>,
    pub outcome: Outcome,
    /// Data sent (migration RAM, replica data), in MB.
    pub mb_sent: f64,
    /// Migration downtime, in seconds.
    pub downtime_s: f64,
    /// Migration rounds (pre-copy rounds plus the stop-and-copy).
    pub rounds: u32,
    /// The replica this action created or stops.
    pub replica: Option<ReplicaId>,
}

impl Simulation {
    /// Opens a record for `action`; returns its index.
    pub(super) fn record_action(
        &mut self,
        now: SimTime,
        action: Action,
        target: String,
        destination: String,
    ) -> usize {
        let id = ActionId(self.actions.len() as u32);
        self.actions.push(ActionRecord {
            id,
            action,
            target,
            destination,
            start: now,
            end: None,
            outcome: Outcome::InProgress,
            mb_sent: 0.0,
            downtime_s: 0.0,
            rounds: 0,
            replica: None,
        });
        id.index()
    }

    pub(super) fn refuse(&mut self, now: SimTime, a: usize, reason: impl Into<String>) {
        self.mech.actions_refused += 1;
        let r = &mut self.actions[a];
        r.end = Some(now);
        r.outcome = Outcome::Refused(reason.into());
    }

    pub(super) fn finish_action(&mut self, now: SimTime, a: usize, outcome: Outcome) {
        if matches!(outcome, Outcome::Failed(_)) {
            self.mech.actions_failed += 1;
        }
        let r = &mut self.actions[a];
        r.end = Some(now);
        r.outcome = outcome;
    }

    fn node_by_name(&self, name: &str) -> Option<u32> {
        self.nodes
            .iter()
            .position(|n| n.name == name)
            .map(|i| i as u32)
    }

    fn server_by_name(&self, name: &str) -> Option<u32> {
        self.servers
            .iter()
            .position(|s| s.name == name)
            .map(|i| i as u32)
    }

    /// Carries out `action` as a policy (or a script) asked for it. Returns its id.
    pub fn execute(&mut self, now: SimTime, action: Action) -> ActionId {
        let node_name = |sim: &Self, n: NodeId| {
            sim.nodes
                .get(n.index())
                .map_or_else(|| format!("node#{}", n.0), |x| x.name.clone())
        };
        let a = match &action {
            Action::PowerOn { node } | Action::PowerOff { node } => {
                let t = node_name(self, *node);
                self.record_action(now, action.clone(), t, String::new())
            }
            Action::StartReplica { tier, node } => {
                let t = self
                    .apps
                    .get(tier.app.index())
                    .and_then(|a| {
                        a.tiers
                            .get(tier.tier as usize)
                            .map(|t| format!("{}.{}", a.name, t.name))
                    })
                    .unwrap_or_else(|| format!("tier#{}.{}", tier.app.0, tier.tier));
                let d = node_name(self, *node);
                self.record_action(now, action.clone(), t, d)
            }
            Action::StopReplica { replica, .. } => {
                let t = self
                    .servers
                    .get(replica.index())
                    .map_or_else(|| format!("replica#{}", replica.0), |s| s.name.clone());
                self.record_action(now, action.clone(), t, String::new())
            }
            Action::Migrate { vm, to } => {
                let t = self
                    .vms
                    .get(vm.index())
                    .map_or_else(|| format!("vm#{}", vm.0), |v| v.name.clone());
                let d = node_name(self, *to);
                self.record_action(now, action.clone(), t, d)
            }
        };
        if self.infra.is_none() {
            self.refuse(now, a, "the scenario has no infrastructure section");
            return ActionId(a as u32);
        }
        match action {
            Action::PowerOn { node } => self.power_on(now, a, node),
            Action::PowerOff { node } => self.power_off(now, a, node),
            Action::StartReplica { tier, node } => self.start_replica(now, a, tier, node),
            Action::StopReplica { replica, drain } => self.stop_replica(now, a, replica, drain),
            Action::Migrate { vm, to } => self.start_migration(now, a, vm, to),
        }
        ActionId(a as u32)
    }

    /// A scripted action is due: resolve its names to ids and execute it. Names that do not
    /// (or no longer) exist make a refused action, as an impossible policy action would.
    pub(super) fn on_scripted(&mut self, now: SimTime, index: usize) {
        let sa = self.scripted[index].clone();
        let unknown = |sim: &mut Self, action: Action, target: &str, what: &str| {
            let a = sim.record_action(now, action, target.to_string(), String::new());
            sim.refuse(now, a, format!("no {what} `{target}`"));
        };
        let action = match &sa {
            ScriptedAction::PowerOn { node, .. } | ScriptedAction::PowerOff { node, .. } => {
                let Some(n) = self.node_by_name(node) else {
                    return unknown(
                        self,
                        Action::PowerOn {
                            node: NodeId(u32::MAX),
                        },
                        node,
                        "node",
                    );
                };
                if matches!(sa, ScriptedAction::PowerOn { .. }) {
                    Action::PowerOn { node: NodeId(n) }
                } else {
                    Action::PowerOff { node: NodeId(n) }
                }
            }
            ScriptedAction::StartReplica {
                app, tier, node, ..
            } => {
                let n = self.node_by_name(node);
                let ai = self.apps.iter().position(|a| &a.name == app);
                let ti = ai.and_then(|ai| self.apps[ai].tiers.iter().position(|t| &t.name == tier));
                let (Some(n), Some(ai), Some(ti)) = (n, ai, ti) else {
                    let target = format!("{app}.{tier} on {node}");
                    return unknown(
                        self,
                        Action::StartReplica {
                            tier: TierRef {
                                app: AppId(u32::MAX),
                                tier: 0,
                            },
                            node: NodeId(u32::MAX),
                        },
                        &target,
                        "tier or node",
                    );
                };
                Action::StartReplica {
                    tier: TierRef {
                        app: AppId(ai as u32),
                        tier: ti as u32,
                    },
                    node: NodeId(n),
                }
            }
            ScriptedAction::StopReplica { replica, drain, .. } => {
                let Some(s) = self.server_by_name(replica) else {
                    return unknown(
                        self,
                        Action::StopReplica {
                            replica: ReplicaId(u32::MAX),
                            drain: *drain,
                        },
                        replica,
                        "replica",
                    );
                };
                Action::StopReplica {
                    replica: ReplicaId(s),
                    drain: *drain,
                }
            }
            ScriptedAction::Migrate { vm, to, .. } => {
                let v = self
                    .server_by_name(vm)
                    .and_then(|s| match self.servers[s as usize].host {
                        Host::Vm(v) => Some(v),
                        _ => None,
                    });
                let n = self.node_by_name(to);
                let (Some(v), Some(n)) = (v, n) else {
                    return unknown(
                        self,
                        Action::Migrate {
                            vm: VmId(u32::MAX),
                            to: NodeId(u32::MAX),
                        },
                        &format!("{vm} to {to}"),
                        "VM or node",
                    );
                };
                Action::Migrate {
                    vm: VmId(v),
                    to: NodeId(n),
                }
            }
        };
        self.execute(now, action);
    }

    fn power_on(&mut self, now: SimTime, a: usize, node: NodeId) {
        let Some(state) = self.nodes.get(node.index()).map(|n| n.state) else {
            return self.refuse(now, a, "no such node");
        };
        if state != NodeState::Off {
            return self.refuse(now, a, format!("node is {}, not off", state.label()));
        }
        self.boot_node(now, node.0);
    }

    /// Starts booting node `n` (which is off).
    pub(super) fn boot_node(&mut self, now: SimTime, n: u32) {
        self.set_node_state(now, n, NodeState::Booting);
        let at = now.plus_ns(self.nodes[n as usize].boot_ns);
        self.q.schedule(at, Event::NodeBooted { node: n });
    }

    pub(super) fn on_node_booted(&mut self, now: SimTime, n: u32) {
        self.set_node_state(now, n, NodeState::On);
        self.rebalance_node(now, n);
        // The power-on actions of this node are done.
        for a in 0..self.actions.len() {
            let r = &self.actions[a];
            if r.outcome == Outcome::InProgress
                && matches!(r.action, Action::PowerOn { node } if node.0 == n)
            {
                self.finish_action(now, a, Outcome::Done);
            }
        }
        // Replicas that waited for the boot now deploy.
        let waiting = std::mem::take(&mut self.nodes[n as usize].waiting_starts);
        for s in waiting {
            self.deploy_replica(now, s);
        }
    }

    fn power_off(&mut self, now: SimTime, a: usize, node: NodeId) {
        let Some(state) = self.nodes.get(node.index()).map(|n| n.state) else {
            return self.refuse(now, a, "no such node");
        };
        if state != NodeState::On {
            return self.refuse(now, a, format!("node is {}, not on", state.label()));
        }
        if !self.node_is_empty(node.0) {
            let n = &self.nodes[node.index()];
            let what = if !n.vms.is_empty() {
                format!("it hosts {} VM(s)", n.vms.len())
            } else if n.bare_server.is_some() {
                "it hosts a replica".to_string()
            } else {
                "a migration or a replica start involves it".to_string()
            };
            return self.refuse(now, a, format!("node is busy: {what}"));
        }
        self.set_node_state(now, node.0, NodeState::ShuttingDown);
        let at = now.plus_ns(self.nodes[node.index()].shutdown_ns);
        self.q.schedule(at, Event::NodeOff { node: node.0 });
    }

    pub(super) fn on_node_off(&mut self, now: SimTime, n: u32) {
        self.set_node_state(now, n, NodeState::Off);
        for a in 0..self.actions.len() {
            let r = &self.actions[a];
            if r.outcome == Outcome::InProgress
                && matches!(r.action, Action::PowerOff { node } if node.0 == n)
            {
                self.finish_action(now, a, Outcome::Done);
            }
        }
    }
}
