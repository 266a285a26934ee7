//! The `[live]` section: what `reconf live` needs beyond the simulated scenario to drive real
//! hosts through libvirt. The simulator ignores it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Settings of `reconf live` (real hosts through libvirt). The hosts themselves are the `--uri`
/// arguments; their cores and RAM are read from libvirt, not from `infrastructure.nodes`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Live {
    /// Domain XML template of each tier, keyed `app.tier` (e.g. `"rubis.app" =
    /// "templates/app.xml"`), relative to the scenario file. `start-replica` defines and starts
    /// a domain from it, with its `<name>` replaced by `<app>-<tier>-<k>` and its `<uuid>`
    /// removed (libvirt makes a fresh one); `restart-replica` and `restart-vm` define a failed
    /// replica's domain again from it, under its own name. A tier without a template cannot
    /// grow nor be repaired.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub templates: BTreeMap<String, String>,
    /// Where the migration data goes, given to libvirt as the migration URI (e.g.
    /// `tcp://127.0.0.1` for two daemons on one machine). Absent: libvirt's default, the
    /// destination's host name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migration_uri: Option<String>,
    /// Address the destination's QEMU listens on for incoming migration data (e.g.
    /// `127.0.0.1`). Absent: libvirt's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migration_listen_address: Option<String>,
    /// Seconds `stop-replica` waits for a guest to shut down (ACPI) before destroying it.
    #[serde(default = "default_stop_timeout_s")]
    pub stop_timeout_s: f64,
    /// Seconds a migration may take before it is aborted and reported failed (0: no limit).
    #[serde(default)]
    pub migration_timeout_s: f64,
    /// Seconds a host may take to answer libvirt: one that has not answered for this long (a
    /// stopped or hung daemon, a host cut off) is lost, shown failed to the policy with its VMs
    /// lost, and asked again at every period. Also the keepalive of every connection (a silent daemon's connection is
    /// closed after about this long) and the longest wait for a host at start.
    #[serde(default = "default_call_timeout_s")]
    pub call_timeout_s: f64,
    /// Seconds a node may take, after its `power_on_command` succeeded, until its host answers
    /// libvirt; past that the power-on (and the migrations and starts waiting for it) fail.
    #[serde(default = "default_boot_timeout_s")]
    pub boot_timeout_s: f64,
    /// The hook for real power control: a shell command run by `power-on` (e.g. `ipmitool -I
    /// lanplus -H bmc-{node} -U "$IPMI_USER" -E chassis power on`). `{node}` is replaced by the
    /// node's name, `{index}` by its position in `--uri`, `{uri}` by its URI. Keep credentials
    /// in environment variables, never in the scenario: reconf logs neither the command nor its
    /// output, only its exit status. The node is on once the command succeeded and its host
    /// answers. `migrate` to an off node and `start-replica` on one run it too, and go on once
    /// the node is on. Absent: power-on only marks the node usable again (refused if its host
    /// does not answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_on_command: Option<String>,
    /// The same for `power-off` (e.g. `... chassis power soft`). Absent: power-off only marks
    /// the node unusable (shown `off` to the policy, which then places nothing on it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_off_command: Option<String>,
    /// Power model of each host, keyed by node name (as `reconf live` names its hosts: from
    /// `infrastructure.nodes` when it lists as many nodes as `--uri`s, else `node-0`,
    /// `node-1`...), in the simulator's terms (`infrastructure.nodes[].power`): e.g. `host-0 =
    /// { model = "hp-ml110-g4" }`, `host-1 = { model = "table", watts = [...11 figures...] }`.
    /// libvirt measures no power: power-aware policies (PABFD) plan with these curves, and the
    /// run reports the power and energy they give for the measured CPU utilisation. A host not
    /// listed has no model (0 W: planning falls back to the lowest-numbered host with room).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub power: BTreeMap<String, super::infra::Power>,
}

fn default_stop_timeout_s() -> f64 {
    30.0
}

fn default_call_timeout_s() -> f64 {
    10.0
}

fn default_boot_timeout_s() -> f64 {
    300.0
}

impl Default for Live {
    fn default() -> Self {
        Live {
            templates: BTreeMap::new(),
            migration_uri: None,
            migration_listen_address: None,
            stop_timeout_s: default_stop_timeout_s(),
            migration_timeout_s: 0.0,
            call_timeout_s: default_call_timeout_s(),
            boot_timeout_s: default_boot_timeout_s(),
            power_on_command: None,
            power_off_command: None,
            power: BTreeMap::new(),
        }
    }
}
