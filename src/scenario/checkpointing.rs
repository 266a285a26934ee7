//! The scenario keys of continuous VM checkpointing (`[checkpointing]`), as Remus does it
//! (Cully et al., NSDI 2008): a protected VM runs ahead of a copy of itself kept on a backup
//! node, updated every epoch with the memory it dirtied; if its node crashes it resumes on the
//! backup from the last checkpoint the backup holds. The defaults and their sources are in
//! `docs/checkpointing-defaults.md`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Continuous checkpointing of replicas' VMs to a backup node. Needs a virtualized
/// infrastructure.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Checkpointing {
    /// Length of an epoch, in ms: a checkpoint is taken at every multiple of it (Remus: 25).
    #[serde(default = "default_period_ms")]
    pub period_ms: f64,
    /// The tiers whose VMs are protected, as `app.tier`. Absent: every tier's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tiers: Option<Vec<String>>,
    /// Where each protected VM's copy is kept: `auto` (the node that is on, other than the
    /// VM's, with the most RAM free for the copy; the first in node order on a tie), or a node
    /// by name (`node-7`): every copy there. The copy takes the VM's RAM on the backup node.
    #[serde(default = "default_backup")]
    pub backup: String,
    /// From a crash of a protected VM's node to the VM's running on its backup, in ms: the
    /// backup's detection of the failure and its resume. ASSUMED.
    #[serde(default = "default_failover_ms")]
    pub failover_ms: f64,
    /// Cores of the VM's node the checkpointing uses while it protects the VM, whatever the
    /// VM dirties (the epoch's pause, the bitmap scan). ASSUMED.
    #[serde(default = "default_cpu_cores")]
    pub cpu_cores: f64,
    /// Core-seconds of the VM's node per MB of checkpoint sent (copying dirty pages to the
    /// staging buffer, sending them). ASSUMED.
    #[serde(default = "default_cpu_core_s_per_mb")]
    pub cpu_core_s_per_mb: f64,
}

fn default_period_ms() -> f64 {
    25.0
}
fn default_backup() -> String {
    "auto".into()
}
fn default_failover_ms() -> f64 {
    1000.0
}
fn default_cpu_cores() -> f64 {
    0.02
}
fn default_cpu_core_s_per_mb() -> f64 {
    0.002
}

impl Default for Checkpointing {
    fn default() -> Self {
        Checkpointing {
            period_ms: default_period_ms(),
            tiers: None,
            backup: default_backup(),
            failover_ms: default_failover_ms(),
            cpu_cores: default_cpu_cores(),
            cpu_core_s_per_mb: default_cpu_core_s_per_mb(),
        }
    }
}

impl Checkpointing {
    /// Whether the VMs of tier `tier` of app `app` are protected.
    pub fn protects(&self, app: &str, tier: &str) -> bool {
        match &self.tiers {
            None => true,
            Some(list) => list.iter().any(|t| t.split_once('.') == Some((app, tier))),
        }
    }
}
