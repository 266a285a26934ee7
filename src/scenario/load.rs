//! Loading a scenario: read the file, apply `--set` overrides, deserialise, validate, read the
//! files it names (traces, tables), and resolve it into a self-contained scenario that a run
//! folder can hold and replay.

use super::deserialize::{from_toml_str, parse_document};
use super::error::InputError;
use super::locate::line_of;
use super::overrides::{apply_set, covering, Override};
use super::schema::{LoopKind, MixKind, Profile, Scenario};
use super::validate::{self, Problem};
use super::vms::TraceFormat;
use crate::workload::mix::{Mix, TransitionTable, WeightedMix};
use crate::workload::trace::read_trace;
use crate::workload::vm_trace::{parse_vm_traces, Layout, VmTraceSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A loaded, validated, resolved scenario, ready to simulate.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// Resolved: defaults filled in, overrides applied, traces inlined as steps or ramps, file
    /// paths absolute.
    pub scenario: Scenario,
    /// Per app, its session mix.
    pub mixes: Vec<Arc<Mix>>,
    /// Per group of trace-driven VMs (`vms`), its utilisation traces.
    pub vm_traces: Vec<Arc<VmTraceSet>>,
}

impl Loaded {
    /// The resolved scenario as TOML: loading it again gives the same scenario.
    pub fn resolved_toml(&self) -> String {
        toml::to_string_pretty(&self.scenario).expect("a scenario serialises to TOML")
    }
}

/// Loads the scenario file at `path` with `--set` assignments `sets` (applied in order).
pub fn load(path: &Path, sets: &[String]) -> Result<Loaded, InputError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path)
        .map_err(|e| InputError::new(&shown, format!("cannot read scenario: {e}")))?;
    let src = super::deserialize::text_of(bytes, &shown)?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    load_str(&src, &shown, &base, sets)
}

/// Loads a scenario from its text. `shown` names it in errors; relative file names in it are
/// relative to `base_dir`.
pub fn load_str(
    src: &str,
    shown: &str,
    base_dir: &Path,
    sets: &[String],
) -> Result<Loaded, InputError> {
    let mut doc = parse_document(src, shown)?;
    let mut overrides = Vec::new();
    for s in sets {
        overrides.push(apply_set(&mut doc, s)?);
    }
    let text = doc.to_string();
    let scenario: Scenario =
        from_toml_str(&text, shown).map_err(|e| relocate(e, src, shown, &overrides))?;
    let locate = |p: Problem| locate_problem(p, src, shown, &overrides);
    validate::check(&scenario).map_err(locate)?;
    // The nodes and VMs first, before the checks that lay them out (a count of 10^9 nodes must
    // not be allocated to be refused); the whole estimate below, with the traces read.
    super::budget::check_layout(&scenario, super::budget::limit_mb()).map_err(locate)?;
    validate::check_infrastructure(&scenario).map_err(locate)?;
    validate::check_policy(&scenario).map_err(locate)?;
    validate::check_faults(&scenario).map_err(locate)?;
    validate::check_checkpointing(&scenario).map_err(locate)?;
    validate::check_live(&scenario).map_err(locate)?;
    let scenario = resolve_files(scenario, src, shown, base_dir, &overrides)?;
    // After resolving: a trace is points by now.
    validate::check_progress(&scenario).map_err(locate)?;
    super::budget::check(&scenario, super::budget::limit_mb()).map_err(locate)?;
    let mixes = build_mixes(&scenario, src, shown, &overrides)?;
    validate::check_demand_names(&scenario, &mixes).map_err(locate)?;
    let mut scenario = scenario;
    let vm_traces = read_vm_traces(&mut scenario, base_dir).map_err(|(e, field)| {
        // A problem inside a trace names the trace's file and line; one about the group names
        // the scenario's field.
        match field {
            None => e,
            Some(field) => locate(Problem {
                path: field,
                message: e.message,
            }),
        }
    })?;
    check_scripted_trace_vms(&scenario, &vm_traces).map_err(locate)?;
    Ok(Loaded {
        scenario,
        mixes,
        vm_traces,
    })
}

/// Points a deserialisation error at the `--set` argument that produced the field, if one did;
/// otherwise at the line of the original file (the edited text may have moved lines).
fn relocate(mut e: InputError, src: &str, shown: &str, overrides: &[Override]) -> InputError {
    if overrides.is_empty() {
        return e;
    }
    if let Some(field) = e.field.clone() {
        if let Some(o) = covering(overrides, &field) {
            e.source = format!("--set {}", o.arg);
            e.line = None;
        } else {
            e.source = shown.to_string();
            e.line = line_of(src, &field).or(e.line);
        }
    }
    e
}

fn locate_problem(p: Problem, src: &str, shown: &str, overrides: &[Override]) -> InputError {
    match covering(overrides, &p.path) {
        Some(o) => InputError::new(format!("--set {}", o.arg), p.message).field(p.path),
        None => InputError::new(shown, p.message)
            .at_line(line_of(src, &p.path))
            .field(p.path),
    }
}

/// The scenario's folder as shown in messages (`.` rather than nothing).
fn shown_folder(base_dir: &Path) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    let folder = cwd.join(base_dir);
    std::fs::canonicalize(&folder)
        .unwrap_or(folder)
        .display()
        .to_string()
}

fn absolute(base_dir: &Path, file: &str) -> PathBuf {
    let p = Path::new(file);
    let mut joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        base_dir.join(p)
    };
    if joined.is_relative() {
        if let Ok(cwd) = std::env::current_dir() {
            joined = cwd.join(joined);
        }
    }
    std::fs::canonicalize(&joined).unwrap_or(joined)
}

/// Inlines traces as steps or ramps and makes table paths absolute.
fn resolve_files(
    mut sc: Scenario,
    src: &str,
    shown: &str,
    base_dir: &Path,
    overrides: &[Override],
) -> Result<Scenario, InputError> {
    for (ai, app) in sc.apps.iter_mut().enumerate() {
        if let Profile::Trace { file, linear } = &app.clients.profile {
            let path = absolute(base_dir, file);
            // The trace's value column says what it counts: clients, or session arrivals per second.
            let column = match app.clients.loop_kind {
                LoopKind::Closed => "clients",
                LoopKind::Open => "sessions_per_s",
            };
            let points = read_trace(&path, file, column).map_err(|mut e| {
                // Say which scenario field named the trace.
                let field = format!("apps[{ai}].clients.profile.file");
                let origin = match covering(overrides, &field) {
                    Some(o) => format!("--set {}", o.arg),
                    None => match line_of(src, &field) {
                        Some(l) => format!("{shown}:{l}"),
                        None => shown.to_string(),
                    },
                };
                let rule = if Path::new(file).is_absolute() {
                    String::new()
                } else {
                    format!(
                        "; relative paths, in the file or in --set, are relative to the \
                         scenario's folder {}",
                        shown_folder(base_dir)
                    )
                };
                e.message = format!("{} (named by {origin}{rule})", e.message);
                e
            })?;
            let points: Vec<[f64; 2]> = points.into_iter().map(|(t, v)| [t, v]).collect();
            app.clients.profile = if *linear {
                Profile::Ramp { points }
            } else {
                Profile::Steps { points }
            };
        }
        if let Some(f) = &app.clients.table_file {
            app.clients.table_file = Some(absolute(base_dir, f).display().to_string());
        }
    }
    Ok(sc)
}

/// A scripted migration of a trace-driven VM names one of its group's VMs (known only once the
/// traces are read).
fn check_scripted_trace_vms(sc: &Scenario, traces: &[Arc<VmTraceSet>]) -> Result<(), Problem> {
    use super::schema::ScriptedAction;
    for (i, a) in sc.actions.iter().enumerate() {
        let ScriptedAction::Migrate { vm, .. } = a else {
            continue;
        };
        for (group, set) in sc.vms.iter().zip(traces) {
            if !vm.starts_with(&format!("{}.", group.name)) {
                continue;
            }
            let count = super::vms::vm_count(group, set.names.len()).unwrap_or(0);
            if !super::vms::has_vm(group, &set.names, count, vm) {
                let first = super::vms::vm_name(group, &set.names, 0);
                return Err(Problem {
                    path: format!("actions[{i}].vm"),
                    message: format!(
                        "no VM `{vm}` in group `{}`; its VMs are named like `{first}`",
                        group.name
                    ),
                });
            }
        }
    }
    Ok(())
}

/// Reads each group's traces (paths made absolute, contents' SHA-256 recorded; a recorded one
/// must match) and checks the VM counts. An error inside a trace comes with no field; one about
/// the group, with the scenario field to name.
fn read_vm_traces(
    sc: &mut Scenario,
    base_dir: &Path,
) -> Result<Vec<Arc<VmTraceSet>>, (InputError, Option<String>)> {
    let mut out = Vec::new();
    let seed = sc.seed;
    for (g, group) in sc.vms.iter_mut().enumerate() {
        let mut field = format!("vms[{g}].trace.file");
        if !group.trace.by_seed.is_empty() {
            let n = group.trace.by_seed.len() as u64;
            let k = (seed.wrapping_sub(1) % n) as usize;
            group.trace.file = std::mem::take(&mut group.trace.by_seed)[k].clone();
            field = format!("vms[{g}].trace.by_seed[{k}]");
        }
        let path = absolute(base_dir, &group.trace.file);
        let shown = path.display().to_string();
        let bytes = std::fs::read(&path).map_err(|e| {
            (
                InputError::new(
                    &shown,
                    format!("cannot read trace: {e} (looked for {shown})"),
                ),
                Some(field.clone()),
            )
        })?;
        let sha = crate::report::provenance::sha256_hex(&bytes);
        if let Some(expected) = &group.trace.sha256 {
            if *expected != sha {
                return Err((
                    InputError::new(
                        &shown,
                        format!(
                            "the trace changed since this scenario was resolved: SHA-256 {sha}, \
                             expected {expected}"
                        ),
                    ),
                    Some(format!("vms[{g}].trace.sha256")),
                ));
            }
        }
        let layout = match group.trace.format {
            TraceFormat::Planetlab => Layout::Planetlab {
                interval_s: group.trace.interval_s,
            },
            TraceFormat::Long => Layout::Long,
        };
        let set = parse_vm_traces(&bytes, &shown, layout).map_err(|e| (e, None))?;
        super::vms::vm_count(group, set.names.len()).map_err(|m| {
            (
                InputError::new(&shown, m.clone()),
                Some(format!("vms[{g}].count")),
            )
        })?;
        group.trace.file = shown;
        group.trace.sha256 = Some(sha);
        out.push(Arc::new(set));
    }
    Ok(out)
}

fn build_mixes(
    sc: &Scenario,
    src: &str,
    shown: &str,
    overrides: &[Override],
) -> Result<Vec<Arc<Mix>>, InputError> {
    let mut out = Vec::new();
    for (ai, app) in sc.apps.iter().enumerate() {
        let c = &app.clients;
        let mix = match c.mix {
            MixKind::Bidding => Mix::bidding(),
            MixKind::Browsing => Mix::browsing(),
            MixKind::Table => {
                let file = c.table_file.as_deref().expect("validated");
                let text = std::fs::read_to_string(file).map_err(|e| {
                    locate_problem(
                        Problem {
                            path: format!("apps[{ai}].clients.table_file"),
                            message: format!(
                                "cannot read transition table {file}: {e} (a relative \
                                 table_file is relative to the scenario's folder)"
                            ),
                        },
                        src,
                        shown,
                        overrides,
                    )
                })?;
                Mix::Table(TransitionTable::parse(&text, file)?)
            }
            MixKind::Weighted => {
                let list = c
                    .interactions
                    .iter()
                    .map(|i| (i.name.clone(), i.probability, i.write))
                    .collect();
                let field = if c.session_requests < 1.0 || !c.session_requests.is_finite() {
                    "session_requests"
                } else {
                    "interactions"
                };
                Mix::Weighted(WeightedMix::new(list, c.session_requests).map_err(|m| {
                    locate_problem(
                        Problem {
                            path: format!("apps[{ai}].clients.{field}"),
                            message: m,
                        },
                        src,
                        shown,
                        overrides,
                    )
                })?)
            }
        };
        // Applications with the same mix share one copy: a hundred applications of the bidding
        // mix would otherwise walk a hundred copies of its table, and each step of a session
        // would miss the cache on its own application's copy.
        let shared = out.iter().find(|m: &&Arc<Mix>| ***m == mix).cloned();
        out.push(shared.unwrap_or_else(|| Arc::new(mix)));
    }
    Ok(out)
}
