//! The baselines of CloudSim's PlanetLab benchmark: no migrations at all, VMs placed first fit.
//!
//! - `npa` (non power aware): CloudSim charges every host its maximum power whatever its load;
//!   in reconf that is the scenario's power model, `power = { constant = ... }` at each host
//!   type's maximum (117 W for the ML110 G4, 135 W for the G5), with `idle_power = true`.
//! - `dvfs`: power follows utilisation (the SPECpower curves), and hosts without load draw
//!   nothing (`idle_power = false`); no frequency is modelled.
//!
//! Both place the VMs not placed yet, in VM id order, on the first node (in node order) that is
//! on, has their RAM free, the CPU of their nominal capacity left (VMs placed so far counted at
//! theirs) and cores fast enough for one of their vCPUs: CloudSim's `PowerVmAllocationPolicySimple`.

use crate::api::{Action, NodeId, NodeState, Policy, View};
use crate::PolicyInfo;

pub const NPA: PolicyInfo = PolicyInfo {
    name: "npa",
    about: "CloudSim's non-power-aware baseline: first-fit placement at nominal size, no migrations. Its energy comes from the scenario: every host at its maximum power (power = { constant = <max W> }, idle_power = true).",
    params: &[],
    build: |_, _| Box::new(FirstFit { name: "npa" }),
};

pub const DVFS: PolicyInfo = PolicyInfo {
    name: "dvfs",
    about: "CloudSim's DVFS baseline: first-fit placement at nominal size, no migrations. Its energy comes from the scenario: power follows utilisation (SPECpower curves) and unused hosts draw 0 (idle_power = false).",
    params: &[],
    build: |_, _| Box::new(FirstFit { name: "dvfs" }),
};

/// First-fit placement of unplaced VMs, nothing else.
pub struct FirstFit {
    name: &'static str,
}

/// Slack on capacity comparisons (the simulator's own first fit uses the same).
const EPS: f64 = 1e-9;

impl Policy for FirstFit {
    fn name(&self) -> &str {
        self.name
    }

    fn decide(&mut self, view: &View) -> Vec<Action> {
        if view.unplaced().next().is_none() {
            return Vec::new();
        }
        let mut nominal: Vec<f64> = view
            .nodes
            .iter()
            .map(|n| n.vms.iter().map(|&v| view.vm(v).cpu_max).sum())
            .collect();
        let mut free_ram: Vec<f64> = view.nodes.iter().map(|n| n.free_ram_mb).collect();
        let mut actions = Vec::new();
        for vm in view.unplaced() {
            let chosen = view.nodes.iter().position(|n| {
                let i = n.id.index();
                n.state == NodeState::On
                    && free_ram[i] + EPS >= vm.ram_mb
                    && nominal[i] + vm.cpu_max <= n.capacity() + EPS
                    && vm.cpu_max / vm.vcpus <= n.speed + EPS
            });
            if let Some(i) = chosen {
                nominal[i] += vm.cpu_max;
                free_ram[i] -= vm.ram_mb;
                actions.push(Action::Place {
                    vm: vm.id,
                    node: NodeId(i as u32),
                });
            }
        }
        actions
    }
}
