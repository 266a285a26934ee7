//! Invariants checked after every reconfiguration event and at every report: a violation is a
//! bug in the simulator, never bad input, so it panics with what broke.

use super::world::{Host, ServerState};
use super::Simulation;

impl Simulation {
    pub(super) fn check_invariants(&self) {
        if let Err(e) = self.invariants() {
            panic!("simulator invariant violated: {e}");
        }
    }

    /// Checks: host RAM never over-committed; every live VM on exactly one node (two only
    /// through a migration's reservation); bare nodes run at most one replica; requests
    /// conserved.
    pub fn invariants(&self) -> Result<(), String> {
        let c = &self.counters;
        if c.requests_issued != c.requests_completed + c.requests_failed + self.in_flight {
            return Err(format!(
                "requests not conserved: {} issued != {} completed + {} failed + {} in flight",
                c.requests_issued, c.requests_completed, c.requests_failed, self.in_flight
            ));
        }
        let Some(infra) = &self.infra else {
            return Ok(());
        };
        let mut seen = vec![0u32; self.vms.len()];
        for (n, node) in self.nodes.iter().enumerate() {
            for &v in &node.vms {
                seen[v as usize] += 1;
                if self.vms[v as usize].node as usize != n {
                    return Err(format!(
                        "VM {} listed on {} but placed elsewhere",
                        self.vms[v as usize].name, node.name
                    ));
                }
            }
            if infra.virtualized {
                let used: f64 = node.vms.iter().map(|&v| self.vms[v as usize].ram_mb).sum();
                let total = infra.host_reserved_ram_mb + used + node.incoming_ram_mb;
                if total > node.ram_mb + 1e-6 {
                    return Err(format!(
                        "RAM over-committed on {}: {total} MB of {} MB",
                        node.name, node.ram_mb
                    ));
                }
            }
            if let Some(s) = node.bare_server {
                if self.servers[s as usize].host != Host::Node(n as u32) {
                    return Err(format!("bare node {} and its replica disagree", node.name));
                }
            }
        }
        for (v, vm) in self.vms.iter().enumerate() {
            let expected = u32::from(vm.alive);
            if seen[v] != expected {
                return Err(format!("VM {} is on {} node(s)", vm.name, seen[v]));
            }
            if let Some(d) = vm.migrating_to {
                if d == vm.node || self.nodes[d as usize].incoming_ram_mb + 1e-9 < vm.ram_mb {
                    return Err(format!("VM {} migrates without a reservation", vm.name));
                }
            }
        }
        for s in &self.servers {
            if s.state == ServerState::Stopped && s.ps.jobs() > 0 {
                return Err(format!("stopped replica {} still serves requests", s.name));
            }
        }
        Ok(())
    }
}
