//! Reconfiguration actions: their log, scripted actions, and node power on/off.
//!
//! Every action gets a record the moment it is asked for; an impossible one is refused at once
//! with a reason (never a panic), a possible one ends later as done or failed. The log becomes
//! `actions.csv`, and policies will read the outcomes in their next view.

use super::apps::Host;
use super::cluster::{NodeState, Notice};
use super::Simulation;
use crate::engine::SimTime;
use crate::scenario::schema::ScriptedAction;
use reconf_api::{Action, ActionId, AppId, NodeId, Outcome, ReplicaId, TierRef, VmId};
use std::collections::BTreeSet;
use std::sync::Arc;

/// One action and what became of it: a row of `actions.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct ActionRecord {
    pub id: ActionId,
    pub action: Action,
    /// What it acts on, by name (`node-3`, `rubis.app.2`).
    pub target: Arc<str>,
    /// Where to, by name (the destination node of a migration or a new replica).
    pub destination: Arc<str>,
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

/// What waits for a node to boot.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum BootWaiter {
    /// A starting replica (its server), to deploy.
    Replica(u32),
    /// A migration (its action) of VM `vm`, holding `ram_mb` reserved on the node.
    Migrate { action: usize, vm: u32, ram_mb: f64 },
    /// A placement (its action) of VM `vm`, holding `ram_mb` reserved on the node.
    Place { action: usize, vm: u32, ram_mb: f64 },
    /// A restart (its action) of lost VM `vm` from its image, holding `ram_mb` reserved.
    RestartVm { action: usize, vm: u32, ram_mb: f64 },
}

/// What waits for nodes to boot, in the order it was asked for.
#[derive(Default)]
pub(crate) struct BootWaits {
    waiting: Vec<(u32, BootWaiter)>,
}

impl BootWaits {
    pub fn push(&mut self, node: u32, w: BootWaiter) {
        self.waiting.push((node, w));
    }

    /// What waited for node `n`, in order; it waits no more.
    pub fn take(&mut self, n: u32) -> Vec<BootWaiter> {
        let mut out = Vec::new();
        self.waiting.retain(|&(node, w)| {
            if node == n {
                out.push(w);
            }
            node != n
        });
        out
    }
}

/// Every action asked for, in order, and what became of it.
#[derive(Default)]
pub(crate) struct ActionLog {
    records: Vec<ActionRecord>,
    /// The records still in progress (indices, ascending): what the searches for an action in
    /// progress look through, instead of the whole log (a datacenter day logs 1.5 million
    /// migrations, almost all of them over).
    in_progress: BTreeSet<u32>,
    refused: u64,
    failed: u64,
    names: SharedNames,
}

/// The names of nodes and VMs as the records share them: a datacenter day logs a million and a
/// half migrations, and a string per name and record was as many allocations (and 100 MB).
#[derive(Default)]
struct SharedNames {
    nodes: Vec<Option<Arc<str>>>,
    vms: Vec<Option<Arc<str>>>,
}

/// Name `i` of `table`, made by `name` the first time it is asked for.
fn shared(table: &mut Vec<Option<Arc<str>>>, i: usize, name: impl FnOnce() -> String) -> Arc<str> {
    if table.len() <= i {
        table.resize(i + 1, None);
    }
    table[i].get_or_insert_with(|| name().into()).clone()
}

impl ActionLog {
    /// Node `n`'s name, shared (`name` makes it the first time).
    pub fn node_name(&mut self, n: usize, name: impl FnOnce() -> String) -> Arc<str> {
        shared(&mut self.names.nodes, n, name)
    }

    /// VM `v`'s name, shared (`name` makes it the first time).
    pub fn vm_name(&mut self, v: usize, name: impl FnOnce() -> String) -> Arc<str> {
        shared(&mut self.names.vms, v, name)
    }

    pub fn records(&self) -> &[ActionRecord] {
        &self.records
    }

    /// The records, the log consumed (the run's output takes their names without copying).
    pub fn into_records(self) -> Vec<ActionRecord> {
        self.records
    }

    /// The indices of the records still in progress, ascending.
    pub fn in_progress(&self) -> impl DoubleEndedIterator<Item = usize> + '_ {
        self.in_progress.iter().map(|&a| a as usize)
    }

    pub fn record_mut(&mut self, a: usize) -> &mut ActionRecord {
        &mut self.records[a]
    }

    /// Actions refused (impossible when asked for) and failed (could not complete).
    pub fn refused_and_failed(&self) -> (u64, u64) {
        (self.refused, self.failed)
    }

    /// Opens a record for `action`; returns its index.
    pub fn open(
        &mut self,
        now: SimTime,
        action: Action,
        target: Arc<str>,
        destination: Arc<str>,
    ) -> usize {
        let id = ActionId(self.records.len() as u32);
        self.in_progress.insert(id.0);
        self.records.push(ActionRecord {
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

    pub fn refuse(&mut self, now: SimTime, a: usize, reason: impl Into<String>) {
        self.refused += 1;
        self.in_progress.remove(&(a as u32));
        let r = &mut self.records[a];
        r.end = Some(now);
        r.outcome = Outcome::Refused(reason.into());
    }

    pub fn finish(&mut self, now: SimTime, a: usize, outcome: Outcome) {
        if matches!(outcome, Outcome::Failed(_)) {
            self.failed += 1;
        }
        self.in_progress.remove(&(a as u32));
        let r = &mut self.records[a];
        r.end = Some(now);
        r.outcome = outcome;
    }

    /// Every action in progress that `matches` is done.
    fn finish_in_progress(&mut self, now: SimTime, matches: impl Fn(&Action) -> bool) {
        let done: Vec<usize> = self
            .in_progress()
            .filter(|&a| matches(&self.records[a].action))
            .collect();
        for a in done {
            self.finish(now, a, Outcome::Done);
        }
    }

    /// The `RestartVm` in progress that restarts VM `v`, other than action `except`.
    pub fn restart_of_vm(&self, v: u32, except: Option<usize>) -> Option<usize> {
        self.in_progress().rev().find(|&a| {
            Some(a) != except
                && matches!(self.records[a].action, Action::RestartVm { vm, .. } if vm.0 == v)
        })
    }

    /// The action in progress that starts or stops replica `s`.
    pub fn of_replica(&self, s: u32) -> Option<usize> {
        self.in_progress()
            .rev()
            .find(|&a| self.records[a].replica == Some(ReplicaId(s)))
    }
}

impl Simulation {
    pub(super) fn refuse(&mut self, now: SimTime, a: usize, reason: impl Into<String>) {
        self.log.refuse(now, a, reason);
    }

    /// Carries out `action` as a policy (or a script) asked for it. Returns its id.
    pub fn execute(&mut self, now: SimTime, action: Action) -> ActionId {
        let node_name = |sim: &mut Self, n: NodeId| -> Arc<str> {
            match sim.cluster.nodes().get(n.index()) {
                Some(x) => sim.log.node_name(n.index(), || x.name.clone()),
                None => format!("node#{}", n.0).into(),
            }
        };
        let none = || Arc::<str>::from("");
        let a = match &action {
            Action::PowerOn { node } | Action::PowerOff { node } => {
                let t = node_name(self, *node);
                self.log.open(now, action.clone(), t, none())
            }
            Action::StartReplica { tier, node } => {
                let t = self
                    .apps
                    .apps()
                    .get(tier.app.index())
                    .and_then(|a| {
                        a.tiers
                            .get(tier.tier as usize)
                            .map(|t| format!("{}.{}", a.name, t.name))
                    })
                    .unwrap_or_else(|| format!("tier#{}.{}", tier.app.0, tier.tier));
                let d = node_name(self, *node);
                self.log.open(now, action.clone(), t.into(), d)
            }
            Action::StopReplica { replica, .. } => {
                let t = self
                    .apps
                    .servers()
                    .get(replica.index())
                    .map_or_else(|| format!("replica#{}", replica.0), |s| s.name.clone());
                self.log.open(now, action.clone(), t.into(), none())
            }
            Action::RestartReplica { replica, node } => {
                let t = self
                    .apps
                    .servers()
                    .get(replica.index())
                    .map_or_else(|| format!("replica#{}", replica.0), |s| s.name.clone());
                let d = node_name(self, *node);
                self.log.open(now, action.clone(), t.into(), d)
            }
            Action::Migrate { vm, to: node }
            | Action::Place { vm, node }
            | Action::RestartVm { vm, node } => {
                let t: Arc<str> = match self.cluster.vms().get(vm.index()) {
                    Some(x) => self.log.vm_name(vm.index(), || x.name.clone()),
                    None => format!("vm#{}", vm.0).into(),
                };
                let d = node_name(self, *node);
                self.log.open(now, action.clone(), t, d)
            }
        };
        if !self.cluster.settings().modelled {
            self.refuse(now, a, "the scenario has no infrastructure section");
            return ActionId(a as u32);
        }
        match action {
            Action::PowerOn { node } => {
                if let Err(reason) = self.with_cluster(|c, h| c.power_on(now, node.0, h)) {
                    self.refuse(now, a, reason);
                }
            }
            Action::PowerOff { node } => {
                if let Err(reason) = self.with_cluster(|c, h| c.power_off(now, node.0, h)) {
                    self.refuse(now, a, reason);
                }
            }
            Action::StartReplica { tier, node } => self.start_replica(now, a, tier, node),
            Action::StopReplica { replica, drain } => self.stop_replica(now, a, replica, drain),
            Action::Migrate { vm, to } => self.migrate(now, a, vm.0, to.0),
            Action::Place { vm, node } => self.place(now, a, vm.0, node.0),
            Action::RestartReplica { replica, node } => {
                self.restart_replica(now, a, replica, node.0)
            }
            Action::RestartVm { vm, node } => self.restart_vm(now, a, vm.0, node.0),
        }
        ActionId(a as u32)
    }

    /// A scripted action is due: resolve its names to ids and execute it. Names that do not
    /// (or no longer) exist make a refused action, as an impossible policy action would.
    pub(super) fn on_scripted(&mut self, now: SimTime, index: usize) {
        let sa = self.scripted[index].clone();
        let unknown = |sim: &mut Self, action: Action, target: &str, what: &str| {
            let a = sim.log.open(now, action, target.into(), "".into());
            sim.refuse(now, a, format!("no {what} `{target}`"));
        };
        let action = match &sa {
            ScriptedAction::PowerOn { node, .. } | ScriptedAction::PowerOff { node, .. } => {
                let Some(n) = self.cluster.node_by_name(node) else {
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
                let n = self.cluster.node_by_name(node);
                let apps = self.apps.apps();
                let ai = apps.iter().position(|a| &a.name == app);
                let ti = ai.and_then(|ai| apps[ai].tiers.iter().position(|t| &t.name == tier));
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
                let Some(s) = self.apps.server_by_name(replica) else {
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
                    .apps
                    .server_by_name(vm)
                    .and_then(|s| match self.apps.server(s).host {
                        Host::Vm(v) => Some(v),
                        _ => None,
                    })
                    .or_else(|| self.cluster.vm_by_name(vm));
                let n = self.cluster.node_by_name(to);
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

    /// One of the cluster's events is due: carry it out, then what follows from it.
    pub(super) fn on_cluster_event(&mut self, now: SimTime, event: super::cluster::ClusterEvent) {
        let Some(notice) = self.with_cluster(|c, h| c.handle(now, event, h)) else {
            return;
        };
        match notice {
            Notice::NodeUp { node } => {
                // The power-on actions of this node are done.
                self.log.finish_in_progress(
                    now,
                    |a| matches!(a, Action::PowerOn { node: n } if n.0 == node),
                );
                // What waited for the boot goes on, in the order it was asked for.
                for w in self.boot_waits.take(node) {
                    match w {
                        BootWaiter::Replica(s) => self.deploy_replica(now, s),
                        BootWaiter::Migrate { action, vm, ram_mb } => {
                            self.cluster.release_incoming(node, ram_mb);
                            if let Err(reason) = self
                                .with_cluster(|c, h| c.start_migration(now, action, vm, node, h))
                            {
                                self.log.finish(now, action, Outcome::Failed(reason));
                            }
                        }
                        BootWaiter::RestartVm { action, vm, ram_mb } => {
                            self.cluster.release_incoming(node, ram_mb);
                            self.boot_restarted_vm(now, action, vm, node);
                        }
                        BootWaiter::Place { action, vm, ram_mb } => {
                            self.cluster.release_incoming(node, ram_mb);
                            match self.with_cluster(|c, h| c.place(now, vm, node, h)) {
                                Ok(()) => self.log.finish(now, action, Outcome::Done),
                                Err(reason) => {
                                    self.log.finish(now, action, Outcome::Failed(reason))
                                }
                            }
                        }
                    }
                }
            }
            Notice::NodeDown { node } => {
                self.log.finish_in_progress(
                    now,
                    |a| matches!(a, Action::PowerOff { node: n } if n.0 == node),
                );
            }
            Notice::MigrationDone {
                action,
                mb_sent,
                downtime_s,
                rounds,
            } => {
                let r = self.log.record_mut(action);
                r.mb_sent = mb_sent;
                r.downtime_s = downtime_s;
                r.rounds = rounds;
                self.log.finish(now, action, Outcome::Done);
            }
        }
    }

    /// Migrates VM `v` to node `n`; an off node is powered on first (the migration starts once
    /// it is on, the VM's RAM reserved there meanwhile).
    fn migrate(&mut self, now: SimTime, a: usize, v: u32, n: u32) {
        if let Err(reason) = self.cluster.check_migration(v, n) {
            return self.refuse(now, a, reason);
        }
        match self.prepare_off_node(now, v, n) {
            Ok(Some(ram_mb)) => {
                let (action, vm) = (a, v);
                self.boot_waits
                    .push(n, BootWaiter::Migrate { action, vm, ram_mb });
            }
            Ok(None) => {
                if let Err(reason) = self.with_cluster(|c, h| c.start_migration(now, a, v, n, h)) {
                    self.refuse(now, a, reason);
                }
            }
            Err(reason) => self.refuse(now, a, reason),
        }
    }

    /// Starts unplaced VM `v` on node `n`; an off node is powered on first.
    fn place(&mut self, now: SimTime, a: usize, v: u32, n: u32) {
        if let Some(vm) = self.cluster.vms().get(v as usize) {
            if vm.node.is_some() {
                return self.refuse(now, a, "the VM is already placed");
            }
        }
        match self.prepare_off_node(now, v, n) {
            Ok(Some(ram_mb)) => {
                let (action, vm) = (a, v);
                self.boot_waits
                    .push(n, BootWaiter::Place { action, vm, ram_mb });
            }
            Ok(None) => match self.with_cluster(|c, h| c.place(now, v, n, h)) {
                Ok(()) => self.log.finish(now, a, Outcome::Done),
                Err(reason) => self.refuse(now, a, reason),
            },
            Err(reason) => self.refuse(now, a, reason),
        }
    }

    /// For moving VM `v` to node `n`: if `n` is off or booting, reserves the VM's RAM there and
    /// boots it if off, returning the RAM reserved (the move waits for the boot); if `n` is on,
    /// `None` (the move goes ahead). Refused if the VM could never fit there or the node is
    /// shutting down.
    fn prepare_off_node(&mut self, now: SimTime, v: u32, n: u32) -> Result<Option<f64>, String> {
        let Some(node) = self.cluster.nodes().get(n as usize) else {
            return Err("no such node".into());
        };
        let state = node.state;
        if !matches!(state, NodeState::Off | NodeState::Booting) {
            return Ok(None);
        }
        let Some(vm) = self.cluster.vms().get(v as usize) else {
            return Err("no such VM".into());
        };
        if !vm.alive {
            return Err("the VM no longer exists".into());
        }
        let ram = vm.ram_mb;
        let free = self.cluster.free_ram_mb(n);
        if free + 1e-9 < ram {
            return Err(format!(
                "destination has {free:.0} MB of RAM free, the VM needs {ram:.0} MB"
            ));
        }
        self.cluster.reserve_incoming(n, ram);
        if state == NodeState::Off {
            self.with_cluster(|c, h| c.boot(now, n, h));
        }
        Ok(Some(ram))
    }

    /// The replicas whose stop completed: their actions are done.
    pub(super) fn log_stopped_replicas(&mut self, now: SimTime) {
        for s in self.apps.take_stopped() {
            if let Some(a) = self.log.of_replica(s) {
                self.log.finish(now, a, Outcome::Done);
            }
        }
    }
}
