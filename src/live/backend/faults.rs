//! Faults the backend notices, and repair by restart, with the simulator's semantics (see
//! `src/sim/faults/` and `src/sim/repair.rs`):
//!
//! - **A domain gone behind reconf's back.** A replica's domain that ran, with no action of
//!   reconf on it, and that no answering host lists as active any more (destroyed, undefined,
//!   crashed or shut down from inside) is a VM lost: the VM is not alive, its replica
//!   `failed`; the view's `failures` shows `Vm` and `Replica` once; a `vm` row of
//!   `failures.csv`.
//! - **A host lost.** A host that stops answering (its call failed, or waited the call
//!   timeout) when it was not powered off, booting or shutting down by reconf is `failed`
//!   until it answers again; the VMs it ran (none migrating, starting or stopping) are lost
//!   with it: `Node`, then each `Vm` and `Replica`, once; a `node` row. Whether its guests
//!   still run nobody can tell while it is silent: reconf treats them as gone, as a cluster
//!   manager does once a host misses its deadline.
//! - **Back.** A lost VM found running again (its host answers again with it, or an operator
//!   started it) is repaired in place: its replica active again, the outage ended. A lost host
//!   that answers again is `on` (its row's `repaired_s`).
//! - **Restart** (`restart-replica`, `restart-vm`; both the same live): the replica's domain is
//!   defined again from its tier's template, under its own name (the same id, a fresh UUID), on
//!   the node asked for, and started; a defined-only copy of that name left on its old node or
//!   on the new one is undefined first (a name is defined once per host). The replica is
//!   `starting` meanwhile and active once its domain runs. A restart that fails leaves it
//!   failed (nothing defined), for the policy to try again.
//!
//! A lost host that answers again may still run a guest that was restarted elsewhere meanwhile:
//! the two running copies are reported (see [`super::hosts`]) and neither is touched.

use super::{kib_to_mb, round_ms, template_memory_kib, Backend, Done};
use crate::live::hypervisor::DomainState;
use crate::report::output::{FailureRow, FaultFigures};
use reconf_api::{Failed, FailureView, NodeId, NodeState, ReplicaId, ReplicaState, VmId};
use std::collections::BTreeMap;

/// A VM lost to a fault, until it is back.
#[derive(Clone, Debug)]
pub(crate) struct Loss {
    pub since_s: f64,
    /// Its fault record.
    pub record: usize,
    /// The node it was on.
    pub node: usize,
}

/// A fault: its row of `failures.csv`, and how many of the replicas it took down are not
/// back yet.
#[derive(Clone, Debug)]
pub(crate) struct Fault {
    pub row: FailureRow,
    pub down: u32,
}

impl Backend {
    fn new_fault(&mut self, now_s: f64, kind: &str, target: String, cause: &str) -> usize {
        self.faults.push(Fault {
            row: FailureRow {
                time_s: round_ms(now_s),
                kind: kind.into(),
                target,
                cause: cause.into(),
                vms_lost: 0,
                // The live backend does not checkpoint VMs.
                vms_recovered: 0,
                checkpoint_loss_ms: None,
                replicas_lost: String::new(),
                // libvirt sees no requests nor sessions.
                requests_failed: 0,
                requests_reexecuted: 0,
                sessions_lost: 0,
                repaired_s: None,
                service_restored_s: None,
            },
            down: 0,
        });
        self.faults.len() - 1
    }

    /// Host `h` stopped answering when it should have: failed from now, with a fault record.
    pub(super) fn fail_node(&mut self, h: usize, now_s: f64) {
        if self.nodes[h].failed.is_some() {
            return;
        }
        let r = self.new_fault(now_s, "node", self.node_name(h), "connection lost");
        self.nodes[h].failed = Some(r);
        self.new_failures.push(FailureView {
            failed: Failed::Node(NodeId(h as u32)),
            at_s: now_s,
        });
    }

    /// Lost host `h` answers again (at `at_s`): it is repaired.
    pub(super) fn node_answers_again(&mut self, h: usize, at_s: f64) {
        if let Some(r) = self.nodes[h].failed.take() {
            self.faults[r].row.repaired_s = Some(round_ms(at_s));
            self.totals.nodes_repaired += 1;
        }
    }

    /// VM `i` is lost now: with the fault of its failed host, or (none) as a fault of its own,
    /// `cause` saying how its domain went.
    pub(super) fn lose_vm(&mut self, i: usize, now_s: f64, cause: &str) {
        let node = self.vms[i].node;
        let r = match self.nodes[node].failed {
            Some(r) => r,
            None => {
                eprintln!(
                    "warning: {} is gone from {} ({cause}): its replica is failed",
                    self.vms[i].name,
                    self.hv.label(node)
                );
                self.new_fault(now_s, "vm", self.vms[i].name.clone(), cause)
            }
        };
        let v = &mut self.vms[i];
        v.alive = false;
        v.cores_used = 0.0;
        v.lost = Some(Loss {
            since_s: now_s,
            record: r,
            node,
        });
        let f = &mut self.faults[r];
        f.row.vms_lost += 1;
        if !f.row.replicas_lost.is_empty() {
            f.row.replicas_lost.push(' ');
        }
        f.row.replicas_lost.push_str(&v.name);
        f.down += 1;
        self.new_failures.extend([
            FailureView {
                failed: Failed::Vm(VmId(i as u32)),
                at_s: now_s,
            },
            FailureView {
                failed: Failed::Replica(ReplicaId(i as u32)),
                at_s: now_s,
            },
        ]);
    }

    /// Lost VM `i` is back at `now_s` (restarted, or `in_place`: found running again).
    pub(super) fn restore_vm(&mut self, i: usize, now_s: f64, in_place: bool) {
        let Some(loss) = self.vms[i].lost.take() else {
            return;
        };
        self.totals.repairs += 1;
        self.totals.repair_time_s += (now_s - loss.since_s).max(0.0);
        let f = &mut self.faults[loss.record];
        f.down = f.down.saturating_sub(1);
        if in_place && f.row.kind == "vm" {
            f.row.repaired_s = Some(round_ms(now_s));
        }
        if f.down == 0 {
            f.row.service_restored_s = Some(round_ms(now_s));
        }
    }

    /// Why replica (= VM) `i` cannot be restarted on `node` now, if it cannot.
    pub(super) fn check_restart(&self, i: usize, node: NodeId, vm: bool) -> Result<(), String> {
        let Some(v) = self.vms.get(i) else {
            return Err(if vm { "no such VM" } else { "no such replica" }.into());
        };
        if v.lost.is_some() && v.starting {
            return Err("its replica is being restarted already".into());
        }
        if self.replica_state(v) != ReplicaState::Failed {
            return Err(if vm {
                "the VM was not lost in a crash"
            } else {
                "the replica has not failed"
            }
            .into());
        }
        let state = self.check_node(node)?;
        let n = node.index();
        match state {
            NodeState::On | NodeState::Booting => {}
            NodeState::ShuttingDown | NodeState::Failed => {
                return Err(format!("node is {}", Self::state_label(state)))
            }
            NodeState::Off => self.check_can_boot(n)?,
        }
        let app = &self.cfg.apps[v.app];
        let Some(template) = self.cfg.templates.get(&(v.app, v.tier)) else {
            return Err(format!(
                "no template for tier `{}.{}` in [live] templates",
                app.name, app.tiers[v.tier]
            ));
        };
        if let Some(kib) = template_memory_kib(template) {
            let free = if state == NodeState::On {
                self.node_free_ram_mb(n)
            } else {
                self.capacity_free_ram_mb(n)
            };
            let ram = kib_to_mb(kib);
            if free + 1e-9 < ram {
                return Err(format!(
                    "node has {free:.0} MB of RAM free, the VM needs {ram:.0} MB"
                ));
            }
        }
        Ok(())
    }

    /// Restarts failed replica `i` on node `n` (checked): starting there from now.
    pub(super) fn restart(&mut self, a: usize, i: usize, n: usize) {
        let template = &self.cfg.templates[&(self.vms[i].app, self.vms[i].tier)];
        let ram_mb = template_memory_kib(template).map_or(0.0, kib_to_mb);
        let vcpus = super::template_vcpus(template).unwrap_or(1.0);
        let v = &mut self.vms[i];
        v.node = n;
        v.alive = true;
        v.starting = true;
        v.migrating_to = None;
        v.ram_mb = ram_mb;
        v.vcpus = vcpus;
        self.actions[a].vm = Some(i);
        if self.node_state(n) == NodeState::On {
            self.launch_restart(a);
        } else {
            self.wait_for_boot(a, n);
        }
    }

    /// Defines and starts the domain of restart `a` from its template, after undefining the
    /// defined-only copies of its name on its old node and on the new one.
    pub(super) fn launch_restart(&mut self, a: usize) {
        let i = self.actions[a].vm.expect("a restart of a VM");
        let v = &self.vms[i];
        let (name, node) = (v.name.clone(), v.node);
        let old = v.lost.as_ref().map_or(node, |l| l.node);
        let xml = super::instantiate_template(&self.cfg.templates[&(v.app, v.tier)], &name);
        self.spawn(a, move |hv| {
            let mut hosts = vec![old];
            if node != old {
                hosts.push(node);
            }
            for h in hosts {
                // A host that does not answer keeps its copy: the new one goes elsewhere.
                let Ok(domains) = hv.domains(h) else { continue };
                for d in domains
                    .iter()
                    .filter(|d| d.name == name && d.state == DomainState::Inactive)
                {
                    hv.remove_copy(h, &d.uuid).map_err(|e| {
                        format!("restart failed: its old definition could not be removed: {e}")
                    })?;
                }
            }
            hv.start(node, &xml)
                .map(|()| Done::Started)
                .map_err(|e| format!("restart failed: {e}"))
        });
    }

    /// Restart of VM `i` ended at `end_s`: the replica is back, or failed still.
    pub(super) fn restart_ended(&mut self, i: usize, end_s: f64, ok: bool) {
        self.vms[i].starting = false;
        if ok {
            self.restore_vm(i, end_s, false);
        } else {
            self.vms[i].alive = false;
        }
    }

    /// Every fault so far, as rows of `failures.csv`.
    pub fn failure_rows(&self) -> Vec<FailureRow> {
        self.faults.iter().map(|f| f.row.clone()).collect()
    }

    /// The faults' figures for `summary.json`, with the tiers' availability as the run
    /// measured it.
    pub fn fault_figures(&self, tier_availability: BTreeMap<String, f64>) -> FaultFigures {
        let t = &self.totals;
        FaultFigures {
            failures: Some(self.faults.len() as u64),
            repairs: Some(t.repairs),
            mean_time_to_repair_s: Some(if t.repairs > 0 {
                t.repair_time_s / t.repairs as f64
            } else {
                0.0
            }),
            nodes_repaired: Some(t.nodes_repaired),
            tier_availability: Some(tier_availability),
        }
    }
}
