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
            if self.settings.virtualized && self.ram_binds {
                let used: f64 = node.vms.iter().map(|&v| self.vms[v as usize].ram_mb).sum();
                let total = self.settings.host_reserved_ram_mb
                    + used
                    + node.incoming_ram_mb
                    + node.backup_ram_mb;
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
        self.checkpoint_invariants()
    }

    /// Every protected VM's copy is on a node that is on and is not its own; each node's
    /// reserve for copies is the RAM of the VMs it is the backup of.
    fn checkpoint_invariants(&self) -> Result<(), String> {
        let mut copies = vec![0.0; self.nodes.len()];
        for v in 0..self.vms.len() as u32 {
            let Some(p) = self.protection(v) else {
                continue;
            };
            let vm = &self.vms[v as usize];
            if !vm.alive || vm.node == Some(p.backup) {
                return Err(format!(
                    "VM {} is protected on {} (alive: {}, on {:?})",
                    vm.name, self.nodes[p.backup as usize].name, vm.alive, vm.node
                ));
            }
            if self.nodes[p.backup as usize].state != super::NodeState::On {
                return Err(format!("VM {}'s backup is not on", vm.name));
            }
            copies[p.backup as usize] += vm.ram_mb;
        }
        for (n, node) in self.nodes.iter().enumerate() {
            if (node.backup_ram_mb - copies[n]).abs() > 1e-6 {
                return Err(format!(
                    "{} reserves {} MB for copies, its copies take {} MB",
                    node.name, node.backup_ram_mb, copies[n]
                ));
            }
        }
        Ok(())
    }
}
