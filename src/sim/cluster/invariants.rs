//! What must hold of the cluster after every event that changes it: host RAM never
//! over-committed, every live VM on exactly one node (two only through a migration's
//! reservation) once it is placed (a trace-driven VM waits unplaced for its first placement). A violation is a bug in the simulator, never bad input.

use super::Cluster;

impl Cluster {
    pub fn invariants(&self) -> Result<(), String> {
        if !self.settings.modelled {
            return Ok(());
        }
        let mut seen = vec![0u32; self.vms.len()];
        for (n, node) in self.nodes.iter().enumerate() {
            for &v in &node.vms {
                seen[v as usize] += 1;
                if self.vms[v as usize].node != Some(n as u32) {
                    return Err(format!(
                        "VM {} listed on {} but placed elsewhere",
                        self.vms[v as usize].name, node.name
                    ));
                }
            }
            if self.settings.virtualized {
                let used: f64 = node.vms.iter().map(|&v| self.vms[v as usize].ram_mb).sum();
                let total = self.settings.host_reserved_ram_mb + used + node.incoming_ram_mb;
                if total > node.ram_mb + 1e-6 {
                    return Err(format!(
                        "RAM over-committed on {}: {total} MB of {} MB",
                        node.name, node.ram_mb
                    ));
                }
            }
        }
        for (v, vm) in self.vms.iter().enumerate() {
            let expected = u32::from(vm.alive && vm.node.is_some());
            if seen[v] != expected {
                return Err(format!("VM {} is on {} node(s)", vm.name, seen[v]));
            }
            if let Some(d) = vm.migrating_to {
                if Some(d) == vm.node || self.nodes[d as usize].incoming_ram_mb + 1e-9 < vm.ram_mb {
                    return Err(format!("VM {} migrates without a reservation", vm.name));
                }
            }
        }
        Ok(())
    }
}
