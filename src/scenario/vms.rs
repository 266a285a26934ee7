//! The scenario keys of trace-driven VMs (`[[vms]]`): VMs whose CPU demand follows a
//! utilisation trace, with no requests and no replica — the datacenter workloads of CloudSim's
//! PlanetLab benchmark, or of Azure, Google and Alibaba exports.

use super::schema::{DeployMode, Scenario};
use super::validate::Problem;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A group of VMs whose CPU demand follows utilisation traces.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct VmGroup {
    /// Name of the group; its VMs are named after their trace's VM (`<group>.<trace vm>`, with
    /// `#k` added for the k-th reuse of a trace when `repeat` is on).
    pub name: String,
    /// The traces (one per VM).
    pub trace: VmTrace,
    /// Number of VMs. Absent: one per VM of the trace. More than the trace has needs `repeat`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// More VMs than the trace has: VM k follows the trace's VM `k mod n` (with `time_shift`,
    /// each from its own shift). False: asking for more is an error.
    #[serde(default)]
    pub repeat: bool,
    /// The VM types; a VM's demand is its trace's utilisation × its type's `cpu`.
    pub types: Vec<VmType>,
    /// How types are given to VMs: `blocks` (VM k gets type ⌊k / ⌈N/T⌉⌋, contiguous blocks, as
    /// CloudSim's PlanetLab examples do) or `cycle` (VM k gets type k mod T).
    #[serde(default)]
    pub type_assignment: TypeAssignment,
    /// `none`, or `random`: each VM's trace is read shifted by a whole number of samples drawn
    /// uniformly from the VM's own random stream (the trace wraps around), so that VMs reusing
    /// one trace do not move in step.
    #[serde(default)]
    pub time_shift: TimeShift,
    /// How utilisation is read between two samples: `step` (the last sample holds) or `linear`
    /// (interpolated, as CloudSim's `UtilizationModelPlanetLabInMemory`). After the last sample
    /// the last value holds.
    #[serde(default)]
    pub sampling: Sampling,
    /// The VMs' demand is read at `first_update_s`, then every `update_every_s`, and holds in
    /// between (CloudSim reads it at each scheduling tick: 300.1 s, then every 300 s). Absent:
    /// from 0, at the trace's interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_every_s: Option<f64>,
    #[serde(default)]
    pub first_update_s: f64,
    /// A VM whose demand is exactly 0 at an update (and is not migrating) ends for good, as
    /// CloudSim removes a VM whose cloudlet requests nothing (about half the PlanetLab VMs of a
    /// day end this way).
    #[serde(default)]
    pub end_at_zero: bool,
    /// Memory each VM dirties per second, and per core of CPU it uses, in MB/s (pre-copy
    /// migration). ASSUMED defaults: 0 (CloudSim's model ignores memory dirtying).
    #[serde(default)]
    pub dirty_mb_per_s: f64,
    #[serde(default)]
    pub dirty_mb_per_cpu_s: f64,
}

/// A VM type.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct VmType {
    /// CPU capacity, in the scenario's CPU units (MIPS for CloudSim's types: 2500, 2000, 1000,
    /// 500); a VM at 100% utilisation asks for this much.
    pub cpu: f64,
    /// RAM, in MB.
    pub ram_mb: f64,
    /// Virtual CPUs: a VM gets at most this many of its node's cores.
    #[serde(default = "one")]
    pub vcpus: f64,
}

fn one() -> f64 {
    1.0
}

/// Where the utilisation of the VMs comes from.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct VmTrace {
    /// CSV file, relative to the scenario file's folder.
    pub file: String,
    /// Traces as replicates: a run of seed `s` reads the `((s - 1) mod n)`-th of these files
    /// instead of `file` (seed 1 the first), so that a sweep over seeds 1..=n runs every trace
    /// once and pairs the configurations trace by trace (CloudSim's ten PlanetLab days: see
    /// `scenarios/sweeps/planetlab.toml`). The resolved scenario names the file read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub by_seed: Vec<String>,
    /// `planetlab`: one row per VM, `vm,u0,u1,...` with CPU utilisation in percent (0-100) at
    /// regular intervals (the repacked PlanetLab days in `data/planetlab/`). `long`: rows
    /// `vm,time_s,cpu_fraction` (0-1), a VM's rows in increasing time (Azure, Google or Alibaba
    /// exports).
    #[serde(default)]
    pub format: TraceFormat,
    /// `planetlab` format: seconds between two samples.
    #[serde(default = "default_interval_s")]
    pub interval_s: f64,
    /// Filled in when the scenario is loaded: SHA-256 of the file's contents, checked when the
    /// resolved scenario is run again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

fn default_interval_s() -> f64 {
    300.0
}

#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum TraceFormat {
    #[default]
    Planetlab,
    Long,
}

#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum TypeAssignment {
    #[default]
    Blocks,
    Cycle,
}

#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum TimeShift {
    #[default]
    None,
    Random,
}

#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Sampling {
    #[default]
    Step,
    Linear,
}

/// Checks what can be checked without reading the traces (their contents and VM counts are
/// checked when they are read).
pub fn check(sc: &Scenario) -> Result<(), Problem> {
    let problem = |path: String, message: String| Err(Problem { path, message });
    if sc.vms.is_empty() {
        return Ok(());
    }
    match &sc.infrastructure {
        Some(inf) if inf.mode == DeployMode::Virtualized => {}
        _ => {
            return problem(
                "vms".into(),
                "trace-driven VMs need `infrastructure.mode = \"virtualized\"`".into(),
            )
        }
    }
    let mut names = std::collections::HashSet::new();
    for (g, group) in sc.vms.iter().enumerate() {
        let p = format!("vms[{g}]");
        if group.name.trim().is_empty() {
            return problem(format!("{p}.name"), "must not be empty".into());
        }
        if !names.insert(group.name.as_str()) {
            return problem(
                format!("{p}.name"),
                format!("another group is already named `{}`", group.name),
            );
        }
        if group.types.is_empty() {
            return problem(
                format!("{p}.types"),
                "at least one VM type is needed".into(),
            );
        }
        for (t, ty) in group.types.iter().enumerate() {
            for (key, x) in [("cpu", ty.cpu), ("ram_mb", ty.ram_mb), ("vcpus", ty.vcpus)] {
                if !(x.is_finite() && x > 0.0) {
                    return problem(
                        format!("{p}.types[{t}].{key}"),
                        format!("must be a positive number, got {x}"),
                    );
                }
            }
        }
        if group.count == Some(0) {
            return problem(format!("{p}.count"), "must be at least 1".into());
        }
        if let Some(k) = group.trace.by_seed.iter().position(|f| f.trim().is_empty()) {
            return problem(format!("{p}.trace.by_seed[{k}]"), "must name a file".into());
        }
        if !(group.trace.interval_s.is_finite() && group.trace.interval_s >= 1e-3) {
            return problem(
                format!("{p}.trace.interval_s"),
                format!("must be at least 1 ms, got {}", group.trace.interval_s),
            );
        }
        if let Some(every) = group.update_every_s {
            if !(every.is_finite() && every >= 1e-3) {
                return problem(
                    format!("{p}.update_every_s"),
                    format!("must be at least 1 ms, got {every}"),
                );
            }
        }
        if !(group.first_update_s.is_finite() && group.first_update_s >= 0.0) {
            return problem(
                format!("{p}.first_update_s"),
                format!("must be a number >= 0, got {}", group.first_update_s),
            );
        }
        for (key, x) in [
            ("dirty_mb_per_s", group.dirty_mb_per_s),
            ("dirty_mb_per_cpu_s", group.dirty_mb_per_cpu_s),
        ] {
            if !(x.is_finite() && x >= 0.0) {
                return problem(
                    format!("{p}.{key}"),
                    format!("must be a number >= 0, got {x}"),
                );
            }
        }
    }
    Ok(())
}

/// The name of VM `k` of group `group` whose trace has `trace_names`: `<group>.<trace vm>`, with
/// `#r` for the r-th reuse of a trace (`repeat`).
pub fn vm_name(group: &VmGroup, trace_names: &[String], k: usize) -> String {
    let n = trace_names.len().max(1);
    let (series, reuse) = (k % n, k / n);
    if reuse == 0 {
        format!("{}.{}", group.name, trace_names[series])
    } else {
        format!("{}.{}#{reuse}", group.name, trace_names[series])
    }
}

/// Whether group `group` with `count` VMs over a trace of `trace_names` has a VM named `name`.
pub fn has_vm(group: &VmGroup, trace_names: &[String], count: usize, name: &str) -> bool {
    let Some(rest) = name
        .strip_prefix(group.name.as_str())
        .and_then(|r| r.strip_prefix('.'))
    else {
        return false;
    };
    let (trace_vm, reuse) = match rest.rsplit_once('#') {
        Some((v, r)) => match r.parse::<usize>() {
            Ok(r) if r > 0 => (v, r),
            _ => return false,
        },
        None => (rest, 0),
    };
    trace_names
        .iter()
        .position(|t| t == trace_vm)
        .is_some_and(|series| reuse * trace_names.len() + series < count)
}

/// How many VMs group `group` makes from a trace of `trace_vms` VMs, or why it cannot.
pub fn vm_count(group: &VmGroup, trace_vms: usize) -> Result<usize, String> {
    match group.count {
        None => Ok(trace_vms),
        Some(n) if (n as usize) <= trace_vms || group.repeat => Ok(n as usize),
        Some(n) => Err(format!(
            "asks for {n} VMs but the trace has only {trace_vms}; set `repeat = true` to reuse \
             its VMs (with `time_shift = \"random\"` so that they do not move in step)"
        )),
    }
}
