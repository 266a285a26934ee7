//! What a run produces, and how it is written to its folder.

use super::atomic::AtomicDir;
use super::provenance::Provenance;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;

/// `summary.json`: one run in figures. Keys are stable: sweeps, plots and `compare` read them.
/// Only `wall_seconds` and `events_per_s` depend on the machine; everything else is a pure
/// function of the scenario and seed.
///
/// What the users saw is given for all applications together (the top-level keys of
/// [`UserFigures`]) and for each application (`apps.<name>.<key>`); the infrastructure's
/// figures (reconfigurations, node-hours, energy) are the whole run's.
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq)]
pub struct Summary {
    pub scenario: String,
    pub seed: u64,
    pub sim_seconds: f64,
    pub events: u64,
    pub events_per_s: f64,
    pub wall_seconds: f64,
    pub sla_target_ms: f64,
    /// All applications together.
    #[serde(flatten)]
    pub users: UserFigures,
    pub migrations: u64,
    pub migration_downtime_s: f64,
    /// Total duration of the migrations, first byte to resume, in seconds.
    pub migration_time_s: f64,
    /// Data sent by the migrations, in MB.
    pub migration_mb: f64,
    pub replicas_started: u64,
    pub replicas_stopped: u64,
    /// Actions refused (impossible when asked for) and failed (could not complete).
    pub actions_refused: u64,
    pub actions_failed: u64,
    /// Faults and repairs (present when the scenario has a `[faults]` section, and in every
    /// `reconf live` run, which notices the faults of real hosts).
    #[serde(flatten)]
    pub faults: FaultFigures,
    /// Continuous checkpointing (present when the scenario has a `[checkpointing]` section).
    #[serde(flatten)]
    pub checkpointing: CheckpointFigures,
    /// Hours of nodes not off (booting, on or shutting down), summed over nodes.
    pub node_hours: f64,
    pub energy_kwh: f64,
    /// The datacenter figures of CloudSim's consolidation benchmark, and unmet demand.
    #[serde(flatten)]
    pub datacenter: DatacenterFigures,
    /// Busy share of each tier's CPU capacity over the measurement window, keyed `app.tier`.
    pub tier_utilisation: BTreeMap<String, f64>,
    /// Each application's users, keyed by application name.
    pub apps: BTreeMap<String, UserFigures>,
    /// Where the result comes from (version, commit, scenario SHA-256, seed, command line).
    /// Filled in when the summary is written ([`RunOutput::write_to`]); not a result, and left
    /// out of every determinism comparison ([`UNCOMPARED_KEYS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
}

/// The figures of CloudSim's power-aware consolidation benchmark (Beloglazov & Buyya, CCPE
/// 2012), computed as CloudSim 5.0 computes them, over the measurement window (after warm-up),
/// fractions in 0..1; and the CPU demand the VMs did not get. See `sim::cluster::sla`.
#[derive(Clone, Debug, Default, Serialize, serde::Deserialize, PartialEq)]
pub struct DatacenterFigures {
    /// SLA violation time per active host: time nodes spent with some VM short of CPU, over
    /// the time nodes were active (pooled over nodes). A node is active while it is up and
    /// uses CPU (CloudSim's rule) or runs a request-level server (busy or idle between
    /// requests).
    pub slatah: f64,
    /// Performance degradation due to migrations: CPU that migrating VMs asked for and did not
    /// get on their source, over all the CPU VMs asked for.
    pub pdm: f64,
    /// SLA violation: `slatah × pdm`.
    pub slav: f64,
    /// Energy and SLA violation: `energy_kwh × slav`.
    pub esv: f64,
    /// Times a node went from active to inactive (as CloudSim counts them: a node inactive at
    /// the end of warm-up counts one, every node starting active).
    pub host_shutdowns: u64,
    /// Mean time between a node's becoming active and its next shutdown, in seconds.
    pub mean_time_before_host_shutdown_s: f64,
    /// As CloudSim's "mean time before a VM migration" computes it: the mean duration of a
    /// migration (start to end), in seconds.
    pub mean_time_before_vm_migration_s: f64,
    /// CPU the VMs asked for and did not get, in core-hours of the nodes they ran on (of their
    /// own vCPUs while not placed).
    pub unmet_demand_core_hours: f64,
    /// Trace-driven VMs ended because their demand fell to exactly 0 (`end_at_zero`).
    pub vms_ended: u64,
}

/// Faults and repairs over the run; every key is absent for a simulated scenario without faults.
#[derive(Clone, Debug, Default, Serialize, serde::Deserialize, PartialEq)]
pub struct FaultFigures {
    /// Faults that struck: node crashes (one per node, a fault group's counting each of its
    /// nodes) and server process crashes. Each is a row of `failures.csv`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failures: Option<u64>,
    /// Replica outages that ended: a replica lost to a fault back behind its balancer
    /// (repaired in place, or restarted by a policy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repairs: Option<u64>,
    /// Mean length of those outages, from the fault to the replica's return, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_time_to_repair_s: Option<f64>,
    /// Crashed nodes repaired (off again, ready to be powered on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes_repaired: Option<u64>,
    /// Per tier (`app.tier`): the fraction of the measurement window it had at least one
    /// active replica.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier_availability: Option<BTreeMap<String, f64>>,
}

/// What continuous checkpointing cost and saved over the run; every key is absent for a
/// scenario without checkpointing.
#[derive(Clone, Debug, Default, Serialize, serde::Deserialize, PartialEq)]
pub struct CheckpointFigures {
    /// Checkpoints taken (over all protected VMs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoints: Option<u64>,
    /// Data sent to backups (first copies and checkpoints), in MB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint_mb: Option<f64>,
    /// CPU the checkpointing used on the protected VMs' nodes, in core-hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint_cpu_core_hours: Option<f64>,
    /// VMs that resumed on their backups after their node crashed (not lost).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vms_recovered: Option<u64>,
    /// Mean time those VMs lost (from the checkpoint they resumed from to the crash), in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_checkpoint_loss_ms: Option<f64>,
    /// Requests that had reached a recovered VM's server after its checkpoint, served again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_reexecuted: Option<u64>,
}

/// What a set of users saw over the run (requests and sessions counted over the whole run;
/// throughput and response times over the measurement window, after warm-up).
#[derive(Clone, Debug, Default, Serialize, serde::Deserialize, PartialEq)]
pub struct UserFigures {
    pub requests_issued: u64,
    pub requests_completed: u64,
    pub requests_failed: u64,
    pub requests_in_flight: u64,
    pub throughput_rps: f64,
    pub mean_response_ms: f64,
    pub p50_response_ms: f64,
    pub p95_response_ms: f64,
    pub p99_response_ms: f64,
    pub max_response_ms: f64,
    /// Share of the window's requests that were slower than the SLA target or failed.
    pub sla_violation_fraction: f64,
    pub sessions_started: u64,
    pub sessions_completed: u64,
    pub sessions_lost: u64,
    /// With faults only: the fraction of the measurement window the application had every
    /// tier available (at least one active replica each); for all applications together, the
    /// smallest of the applications' figures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability: Option<f64>,
    /// With faults only: requests failed because of a fault (their server or node crashed, or
    /// their tier had no replica left), of `requests_failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_failed_to_faults: Option<u64>,
    /// With faults only: sessions lost because the replica holding them crashed, of
    /// `sessions_lost` (the others were lost to reconfiguration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions_lost_to_failures: Option<u64>,
}

/// The keys of `summary.json` that depend on the machine, not on the scenario and seed.
pub const WALL_CLOCK_KEYS: [&str; 2] = ["wall_seconds", "events_per_s"];

/// The key of the provenance object in `summary.json` and `sweep.json`.
pub const PROVENANCE_KEY: &str = "provenance";

/// The keys of `summary.json` that are not a function of the scenario and seed (the wall-clock
/// keys and the provenance): every byte-for-byte determinism comparison leaves them out.
pub const UNCOMPARED_KEYS: [&str; 3] = [WALL_CLOCK_KEYS[0], WALL_CLOCK_KEYS[1], PROVENANCE_KEY];

/// One row of `timeseries.csv`: the reporting interval that ends at `time_s`.
#[derive(Clone, Debug, PartialEq)]
pub struct TimeseriesRow {
    pub time_s: f64,
    /// All applications together.
    pub users: IntervalFigures,
    /// Per application, in the order of `RunOutput::app_names`.
    pub apps: Vec<IntervalFigures>,
    /// Per tier, in the order of `RunOutput::tier_names`.
    pub utilisation: Vec<f64>,
    /// Nodes not off at the end of the interval.
    pub nodes_up: u64,
    /// Mean power of all nodes over the interval, in W.
    pub power_w: f64,
    /// Energy used since the start, in kWh.
    pub energy_kwh: f64,
    /// Nodes active (not off, using CPU) at the end of the interval; migrations completed in
    /// the interval; SLATAH and PDM of the interval; unmet CPU demand of the interval, in
    /// core-hours.
    pub active_nodes: u64,
    pub migrations: u64,
    pub slatah: f64,
    pub pdm: f64,
    pub unmet_demand_core_hours: f64,
}

/// What a set of users saw over one reporting interval.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IntervalFigures {
    /// Clients in the loop at the end of the interval.
    pub active_clients: u64,
    pub throughput_rps: f64,
    pub mean_response_ms: f64,
    pub p95_response_ms: f64,
    pub failures: u64,
}

impl IntervalFigures {
    /// The column names, after a prefix (`""` for the totals, `apps.<name>.` per application).
    fn header(prefix: &str) -> impl Iterator<Item = String> + '_ {
        [
            "active_clients",
            "throughput_rps",
            "mean_response_ms",
            "p95_response_ms",
            "failures",
        ]
        .into_iter()
        .map(move |k| format!("{prefix}{k}"))
    }

    fn record(&self) -> [String; 5] {
        [
            self.active_clients.to_string(),
            fmt_f(self.throughput_rps),
            fmt_f(self.mean_response_ms),
            fmt_f(self.p95_response_ms),
            self.failures.to_string(),
        ]
    }
}

/// One row of `actions.csv`: a reconfiguration action and its outcome.
#[derive(Clone, Debug, PartialEq)]
pub struct ActionRow {
    pub id: u32,
    pub start_s: f64,
    /// Absent while still in progress at the end of the run.
    pub end_s: Option<f64>,
    /// The action's kind (`migrate`, `power-off`...; see `Action::kind`).
    pub kind: &'static str,
    /// What it acts on and where to, by name: shared among the rows that name the same node or
    /// VM (a datacenter day has a million and a half rows).
    pub target: Arc<str>,
    pub destination: Arc<str>,
    /// `done`, `refused`, `failed` or `in-progress`.
    pub outcome: &'static str,
    pub reason: String,
    pub mb_sent: f64,
    pub downtime_ms: f64,
    pub rounds: u32,
}

/// One row of `nodes.csv`: a node over one reporting interval.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeRow {
    pub time_s: f64,
    /// Index of the node in [`RunOutput::node_names`] (a datacenter run has millions of rows:
    /// no name per row).
    pub node: u32,
    /// State at the end of the interval.
    pub state: &'static str,
    /// Busy share of its cores over the interval.
    pub utilisation: f64,
    /// Mean power over the interval, in W.
    pub power_w: f64,
}

/// Everything a run produces.
#[derive(Clone, Debug)]
pub struct RunOutput {
    pub summary: Summary,
    /// Application names, the per-application columns of the time series.
    pub app_names: Vec<String>,
    /// `app.tier` names, the utilisation columns of the time series.
    pub tier_names: Vec<String>,
    pub timeseries: Vec<TimeseriesRow>,
    pub actions: Vec<ActionRow>,
    /// Node names, in node order: what [`NodeRow::node`] indexes.
    pub node_names: Vec<String>,
    pub nodes: Vec<NodeRow>,
    /// `failures.csv`, a row per fault: present when the scenario has a `[faults]` section, and
    /// for every `reconf live` run.
    pub failures: Option<Vec<FailureRow>>,
}

/// One row of `failures.csv`: a fault, what it took with it, when it was repaired.
#[derive(Clone, Debug, PartialEq)]
pub struct FailureRow {
    pub time_s: f64,
    /// `node`, `replica` (a server process), or `vm` (live: a domain gone behind reconf's back).
    pub kind: String,
    pub target: String,
    /// `random`, `scripted`, or the fault group's name.
    pub cause: String,
    pub vms_lost: u64,
    /// VMs on the crashed node that resumed on their checkpoint backups.
    pub vms_recovered: u64,
    /// The most time one of them lost (from its checkpoint to the crash), in ms (absent: none
    /// recovered).
    pub checkpoint_loss_ms: Option<f64>,
    /// The replicas it took down, by name, separated by spaces.
    pub replicas_lost: String,
    pub requests_failed: u64,
    /// Requests a recovered VM's server had received since its checkpoint, served again.
    pub requests_reexecuted: u64,
    pub sessions_lost: u64,
    /// When what failed was repaired (absent: never, in the run).
    pub repaired_s: Option<f64>,
    /// When the last replica it took down was back behind its balancer (absent: not all were,
    /// or it took none).
    pub service_restored_s: Option<f64>,
}

impl RunOutput {
    /// `summary.json` as written: with its provenance (this process, `resolved_scenario_toml`)
    /// unless the summary already has one.
    pub fn summary_json_with_provenance(&self, resolved_scenario_toml: &str) -> String {
        let mut summary = self.summary.clone();
        summary
            .provenance
            .get_or_insert_with(|| Provenance::of_run(resolved_scenario_toml, self.summary.seed));
        let mut s = to_json(&summary);
        s.push('\n');
        s
    }

    pub fn summary_json(&self) -> String {
        let mut s = to_json(&self.summary);
        s.push('\n');
        s
    }

    /// `timeseries.csv`: `time_s`, the totals, each application's figures
    /// (`apps.<app>.<key>`), each tier's utilisation (`tier_utilisation.<app>.<tier>`), nodes up,
    /// power and cumulative energy.
    pub fn timeseries_csv(&self) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        let mut header = vec!["time_s".to_string()];
        header.extend(IntervalFigures::header(""));
        for a in &self.app_names {
            header.extend(IntervalFigures::header(&format!("apps.{a}.")));
        }
        header.extend(
            self.tier_names
                .iter()
                .map(|t| format!("tier_utilisation.{t}")),
        );
        header.extend(
            [
                "nodes_up",
                "power_w",
                "energy_kwh",
                "active_nodes",
                "migrations",
                "slatah",
                "pdm",
                "unmet_demand_core_hours",
            ]
            .iter()
            .map(|s| s.to_string()),
        );
        w.write_record(&header).expect("in-memory csv");
        for r in &self.timeseries {
            let mut rec = vec![fmt_f(r.time_s)];
            rec.extend(r.users.record());
            for a in &r.apps {
                rec.extend(a.record());
            }
            rec.extend(r.utilisation.iter().map(|u| fmt_f(*u)));
            rec.extend([
                r.nodes_up.to_string(),
                fmt_f(r.power_w),
                fmt_f(r.energy_kwh),
                r.active_nodes.to_string(),
                r.migrations.to_string(),
                fmt_f(r.slatah),
                fmt_f(r.pdm),
                fmt_f(r.unmet_demand_core_hours),
            ]);
            w.write_record(&rec).expect("in-memory csv");
        }
        String::from_utf8(w.into_inner().expect("in-memory csv")).expect("utf-8")
    }

    pub fn actions_csv(&self) -> String {
        in_memory(|buf| self.write_actions_csv(buf))
    }

    /// `actions.csv` streamed to `out` (a datacenter day's 1.5 million rows never sit in
    /// memory as one text).
    pub fn write_actions_csv(&self, out: impl Write) -> csv::Result<()> {
        let mut w = csv::Writer::from_writer(out);
        w.write_record([
            "id",
            "start_s",
            "end_s",
            "kind",
            "target",
            "destination",
            "outcome",
            "reason",
            "mb_sent",
            "downtime_ms",
            "rounds",
        ])?;
        // Field by field through one buffer: a datacenter day has millions of rows, and a
        // record of owned strings would allocate a dozen times per row.
        let mut field = String::new();
        let mut int = itoa::Buffer::new();
        for a in &self.actions {
            w.write_field(int.format(a.id))?;
            w.write_field(fmt_f_into(&mut field, a.start_s))?;
            match a.end_s {
                Some(end) => w.write_field(fmt_f_into(&mut field, end))?,
                None => w.write_field("")?,
            }
            w.write_field(a.kind)?;
            w.write_field(a.target.as_bytes())?;
            w.write_field(a.destination.as_bytes())?;
            w.write_field(a.outcome)?;
            w.write_field(&a.reason)?;
            w.write_field(fmt_f_into(&mut field, a.mb_sent))?;
            w.write_field(fmt_f_into(&mut field, a.downtime_ms))?;
            w.write_field(int.format(a.rounds))?;
            w.write_record(None::<&[u8]>)?;
        }
        w.flush()?;
        Ok(())
    }

    pub fn nodes_csv(&self) -> String {
        in_memory(|buf| self.write_nodes_csv(buf))
    }

    /// `nodes.csv` streamed to `out` (a row per node and interval: millions in a datacenter).
    pub fn write_nodes_csv(&self, out: impl Write) -> csv::Result<()> {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(["time_s", "node", "state", "utilisation", "power_w"])?;
        let mut field = String::new();
        for n in &self.nodes {
            w.write_field(fmt_f_into(&mut field, n.time_s))?;
            w.write_field(&self.node_names[n.node as usize])?;
            w.write_field(n.state)?;
            w.write_field(fmt_f_into(&mut field, n.utilisation))?;
            w.write_field(fmt_f_into(&mut field, n.power_w))?;
            w.write_record(None::<&[u8]>)?;
        }
        w.flush()?;
        Ok(())
    }

    /// `failures.csv`, if the run had faults.
    pub fn failures_csv(&self) -> Option<String> {
        let rows = self.failures.as_ref()?;
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record([
            "time_s",
            "kind",
            "target",
            "cause",
            "vms_lost",
            "vms_recovered",
            "checkpoint_loss_ms",
            "replicas_lost",
            "requests_failed",
            "requests_reexecuted",
            "sessions_lost",
            "repaired_s",
            "service_restored_s",
        ])
        .expect("in-memory csv");
        for r in rows {
            w.write_record([
                fmt_f(r.time_s),
                r.kind.clone(),
                r.target.clone(),
                r.cause.clone(),
                r.vms_lost.to_string(),
                r.vms_recovered.to_string(),
                r.checkpoint_loss_ms.map(fmt_f).unwrap_or_default(),
                r.replicas_lost.clone(),
                r.requests_failed.to_string(),
                r.requests_reexecuted.to_string(),
                r.sessions_lost.to_string(),
                r.repaired_s.map(fmt_f).unwrap_or_default(),
                r.service_restored_s.map(fmt_f).unwrap_or_default(),
            ])
            .expect("in-memory csv");
        }
        Some(String::from_utf8(w.into_inner().expect("in-memory csv")).expect("utf-8"))
    }

    /// Writes the run folder `dir`: `scenario.toml` (the resolved scenario), `timeseries.csv`,
    /// `nodes.csv`, `actions.csv`, `failures.csv` (with faults only) and `summary.json`, as one
    /// unit: they are written into a
    /// temporary sibling folder that then takes the name `dir` (see [`AtomicDir`]), so `dir`
    /// holds either the previous run whole or this one whole, never a mix, and a failed write
    /// leaves no temporary behind. An existing `dir` is replaced whole (figures drawn from the
    /// previous run included), but only if it is a run folder or empty ([`check_run_folder`]).
    /// Parents are created. Callers that rewrite their folder repeatedly (a live run, every
    /// period) call this each time.
    pub fn write_to(&self, dir: &Path, resolved_scenario_toml: &str) -> io::Result<()> {
        let dir = check_run_folder(dir)?;
        let out = AtomicDir::create(&dir)?;
        out.write_file("scenario.toml", resolved_scenario_toml.as_bytes())?;
        out.write_file("timeseries.csv", self.timeseries_csv().as_bytes())?;
        // The large ones streamed, never held as one text, and side by side: a datacenter day
        // has millions of rows in each (formatting and syncing them was a tenth of its run).
        let write_nodes = || -> io::Result<()> {
            let mut nodes = out.create_file("nodes.csv")?;
            self.write_nodes_csv(&mut nodes)?;
            AtomicDir::finish_file(nodes)
        };
        let write_actions = || -> io::Result<()> {
            let mut actions = out.create_file("actions.csv")?;
            self.write_actions_csv(&mut actions)?;
            AtomicDir::finish_file(actions)
        };
        std::thread::scope(|s| -> io::Result<()> {
            match std::thread::Builder::new().spawn_scoped(s, write_actions) {
                Ok(actions) => {
                    let nodes = write_nodes();
                    let actions = actions
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                    nodes.and(actions)
                }
                // No thread to be had: one after the other.
                Err(_) => write_nodes().and_then(|()| write_actions()),
            }
        })?;
        let summary = self.summary_json_with_provenance(resolved_scenario_toml);
        out.write_file("summary.json", summary.as_bytes())?;
        if let Some(text) = self.failures_csv() {
            out.write_file("failures.csv", text.as_bytes())?;
        }
        out.commit()
    }
}

/// The files that mark a folder as one that reconf wrote for a run (a sweep's failed run holds
/// `error.txt` alone).
pub const RUN_FOLDER_MARKERS: [&str; 3] = ["summary.json", "scenario.toml", "error.txt"];

/// Checks that a run may be written to `dir`, which it replaces whole: `dir` does not exist, is
/// an empty folder, or is a run folder (it holds one of [`RUN_FOLDER_MARKERS`]). Anything else
/// (`--out .`, a folder of the user's own files) is refused with an `InvalidInput` error rather
/// than deleted. Returns the folder to write: `dir`, or the folder a symbolic link `dir` points
/// to. Cheap: the CLI calls it before running, to refuse a bad `--out` at once (exit 2).
pub fn check_run_folder(dir: &Path) -> io::Result<std::path::PathBuf> {
    let refuse = |why: &str| {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} {why}", dir.display()),
        ))
    };
    let meta = match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(dir.to_path_buf()),
        Err(e) => return Err(e),
        Ok(m) => m,
    };
    let real = if meta.file_type().is_symlink() {
        std::fs::canonicalize(dir)?
    } else {
        dir.to_path_buf()
    };
    if !real.is_dir() {
        return refuse("exists and is not a folder");
    }
    let empty = std::fs::read_dir(&real)?.next().is_none();
    if empty || RUN_FOLDER_MARKERS.iter().any(|m| real.join(m).exists()) {
        Ok(real)
    } else {
        refuse(
            "exists and is not a run folder (no summary.json, scenario.toml or error.txt), so \
             it is not replaced: choose another output folder, or empty it",
        )
    }
}

/// Pretty JSON of `value`, with no negative zero anywhere (`-0.0` is written `0.0`: a sum of
/// nothing, or a product with a negative factor, is no reason to show a sign). Keys keep their
/// declaration order.
pub fn to_json(value: &impl Serialize) -> String {
    let text = serde_json::to_string_pretty(value).expect("serialises to JSON");
    unsign_zeros(&text)
}

/// `text` (JSON) with every number token `-0.0` (outside strings) written `0.0`.
fn unsign_zeros(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if in_string {
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if c == b'"' {
                in_string = false;
            }
        } else if c == b'"' {
            in_string = true;
        } else if c == b'-' && text[i..].starts_with("-0.0") {
            let end = i + 4;
            let ends_token = bytes
                .get(end)
                .is_none_or(|b| !b.is_ascii_digit() && *b != b'e' && *b != b'E');
            if ends_token {
                out.extend_from_slice(b"0.0");
                i = end;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    String::from_utf8(out).expect("JSON stays UTF-8: only ASCII bytes were replaced")
}

/// Floats in the CSV: shortest round-trip representation (deterministic), no exponent noise
/// for the common cases.
fn fmt_f(x: f64) -> String {
    let mut s = String::new();
    fmt_f_into(&mut s, x);
    s
}

/// Writes `x` into `buf` (cleared first) as [`fmt_f`] does, and returns it: whole numbers
/// without a fraction, others in the shortest form that reads back exactly.
fn fmt_f_into(buf: &mut String, x: f64) -> &str {
    use std::fmt::Write;
    buf.clear();
    let x = x + 0.0; // -0 is written 0
    if x == x.trunc() && x.abs() < 1e15 {
        // The integer path (`{:.0}` of a float takes the slow exact formatter).
        buf.push_str(itoa::Buffer::new().format(x as i64));
    } else {
        write!(buf, "{x}").expect("write to String");
    }
    buf
}

/// The text a streamed CSV writer produces, written to memory (cannot fail there).
fn in_memory(write: impl FnOnce(&mut Vec<u8>) -> csv::Result<()>) -> String {
    let mut buf = Vec::new();
    write(&mut buf).expect("in-memory csv");
    String::from_utf8(buf).expect("csv of UTF-8 fields")
}

#[cfg(test)]
mod json_tests {
    #[test]
    fn negative_zeros_are_written_without_sign_outside_strings() {
        let v = serde_json::json!({"a": -0.0, "b": [-0.0, -0.05, 1.0], "s": "x=-0.0 é"});
        let text = super::to_json(&v);
        for line in text.lines() {
            let value = line.trim().trim_end_matches(',');
            let value = value.rsplit(": ").next().unwrap();
            assert_ne!(value, "-0.0", "{text}");
        }
        assert!(
            text.contains("-0.05") && text.contains("\"x=-0.0 é\""),
            "{text}"
        );
    }
}
