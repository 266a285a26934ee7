//! The live control loop: every `policy.period_s` of wall-clock time, build the view from the
//! hosts, ask the policy, carry out its actions; and the run's output in the simulator's formats
//! (wall-clock seconds since the start are the time axis), so `reconf plot` and `reconf compare`
//! read live runs as they read simulated ones.

use super::backend::{round_ms, AppSpec, Backend, Config};
use super::clock::Clock;
use super::hypervisor::MigrateOptions;
use super::interrupt::Interrupt;
use super::naming::domain_name;
use crate::report::output::{NodeRow, RunOutput, Summary, TimeseriesRow};
use crate::scenario::infra::ScriptedAction;
use crate::scenario::schema::Scenario;
use crate::scenario::InputError;
use reconf_api::{Action, AppId, NodeId, Policy, ReplicaId, ReplicaState, TierRef, View, VmId};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The backend's configuration from a loaded scenario: apps and tiers, host reserve, migration
/// settings, and the `[live]` section (templates read now, relative to `base_dir`, so that a
/// missing template is bad input before anything runs).
pub fn config_from_scenario(
    sc: &Scenario,
    src: &str,
    shown: &str,
    base_dir: &Path,
    node_count: usize,
    dry_run: bool,
) -> Result<Config, InputError> {
    let live = sc.live.clone().unwrap_or_default();
    let apps: Vec<AppSpec> = sc
        .apps
        .iter()
        .map(|a| AppSpec {
            name: a.name.clone(),
            tiers: a.tiers.iter().map(|t| t.name.clone()).collect(),
            sla_target_ms: sc.sla.response_target_ms,
        })
        .collect();
    let mut templates = BTreeMap::new();
    for (key, file) in &live.templates {
        let field = format!("live.templates.{key}");
        let found = apps.iter().enumerate().find_map(|(ai, a)| {
            a.tiers
                .iter()
                .position(|t| format!("{}.{}", a.name, t) == *key)
                .map(|ti| (ai, ti))
        });
        let Some(at) = found else {
            return Err(
                InputError::new(shown, format!("no tier `{key}` (keys are `app.tier`)"))
                    .field(field),
            );
        };
        let path = base_dir.join(file);
        let xml = std::fs::read_to_string(&path).map_err(|e| {
            InputError::new(
                shown,
                format!("cannot read template {}: {e}", path.display()),
            )
            .field(field.clone())
        })?;
        templates.insert(at, xml);
    }
    if !(live.stop_timeout_s >= 0.0 && live.stop_timeout_s.is_finite()) {
        return Err(
            InputError::new(shown, "must be a finite number >= 0").field("live.stop_timeout_s")
        );
    }
    if !(live.migration_timeout_s >= 0.0 && live.migration_timeout_s.is_finite()) {
        return Err(InputError::new(shown, "must be a finite number >= 0")
            .field("live.migration_timeout_s"));
    }
    for (value, key) in [
        (live.call_timeout_s, "live.call_timeout_s"),
        (live.boot_timeout_s, "live.boot_timeout_s"),
    ] {
        if !(value > 0.0 && value.is_finite()) {
            return Err(InputError::new(shown, "must be a finite number > 0").field(key));
        }
    }
    check_names_are_unambiguous(&apps, shown)?;
    let infra = sc.infrastructure.as_ref();
    let migration = infra.map(|i| i.migration.clone()).unwrap_or_default();
    // Node names: the scenario's when it describes as many nodes as there are hosts.
    let mut names = Vec::new();
    if let Some(i) = infra {
        for g in &i.nodes {
            for k in 0..g.count {
                names.push(format!("{}-{k}", g.name));
            }
        }
    }
    if names.len() != node_count {
        names = (0..node_count).map(|k| format!("node-{k}")).collect();
    }
    // Power models by node name, checked by the loader; a name must be one of the hosts'.
    let mut power = vec![None; node_count];
    for (host, model) in &live.power {
        let mut field = "live.power".to_string();
        crate::scenario::locate::push_key(&mut field, host);
        let Some(n) = names.iter().position(|x| x == host) else {
            return Err(InputError::new(
                shown,
                format!(
                    "no host `{host}`: the {node_count} host(s) of this run are {}",
                    names.join(", ")
                ),
            )
            .at_line(crate::scenario::locate::line_of(src, &field))
            .field(field));
        };
        power[n] = Some(crate::model::power::PowerModel::of(model));
    }
    Ok(Config {
        node_names: names,
        apps,
        host_reserved_ram_mb: infra.map_or(0.0, |i| i.host_reserved_ram_mb),
        templates,
        migrate: MigrateOptions {
            max_downtime_ms: migration.max_downtime_ms.round().max(1.0) as u64,
            // Mbit/s to libvirt's MiB/s, rounded up so that a small cap stays a cap.
            bandwidth_mib_s: if migration.bandwidth_mbps > 0.0 {
                (migration.bandwidth_mbps * 1e6 / 8.0 / 1_048_576.0).ceil() as u64
            } else {
                0
            },
            uri: live.migration_uri.clone(),
            listen_address: live.migration_listen_address.clone(),
            timeout: (live.migration_timeout_s > 0.0)
                .then(|| Duration::from_secs_f64(live.migration_timeout_s)),
        },
        stop_timeout: Duration::from_secs_f64(live.stop_timeout_s),
        power_on_command: live.power_on_command.clone(),
        power_off_command: live.power_off_command.clone(),
        dry_run,
        call_timeout: Duration::from_secs_f64(live.call_timeout_s),
        boot_timeout: Duration::from_secs_f64(live.boot_timeout_s),
        poll_wait: Duration::from_secs(1),
        power,
    })
}

/// Refuses applications and tiers whose replicas' domain names could be read two ways: a
/// domain `<app>-<tier>-<k>` must name one tier (`a` + `b-c` and `a-b` + `c` both give
/// `a-b-c-0`).
fn check_names_are_unambiguous(apps: &[AppSpec], shown: &str) -> Result<(), InputError> {
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for a in apps {
        for t in &a.tiers {
            let prefix = format!("{}-{}", a.name, t);
            let this = format!("{}.{}", a.name, t);
            if let Some(other) = seen.insert(prefix.clone(), this.clone()) {
                return Err(InputError::new(
                    shown,
                    format!(
                        "tiers `{other}` and `{this}` both name their replicas' domains `{prefix}-<k>`: rename an application or a tier (reconf live tells replicas by domain name)"
                    ),
                )
                .field("apps"));
            }
        }
    }
    Ok(())
}

/// What a live run needs beyond the backend.
pub struct LiveRun {
    pub scenario_name: String,
    pub seed: u64,
    pub period: Duration,
    pub duration: Duration,
    /// Longest wait, at the end, for actions still in flight.
    pub drain_limit: Duration,
    /// The scenario's `[[actions]]`, carried out when their time comes.
    pub scripted: Vec<ScriptedAction>,
    /// SIGINT / SIGTERM: the run ends early, cleanly.
    pub interrupt: Arc<Interrupt>,
}

/// Accumulates the output rows.
struct Recorder {
    app_names: Vec<String>,
    tier_names: Vec<String>,
    timeseries: Vec<TimeseriesRow>,
    /// The hosts' names, in the view's node order (what `NodeRow::node` indexes).
    node_names: Vec<String>,
    nodes: Vec<NodeRow>,
    /// Per tier: sum of utilisation × period, and of periods.
    tier_util: Vec<(f64, f64)>,
    /// Per tier: the time it had at least one active replica, in seconds.
    tier_up_s: Vec<f64>,
    node_hours: f64,
    /// Energy by the hosts' power models (`[live] power`), each view's power over its period.
    energy_kwh: f64,
}

impl Recorder {
    fn push(&mut self, view: &View) {
        let mut util = Vec::with_capacity(self.tier_names.len());
        let mut k = 0;
        for app in &view.apps {
            for t in &app.tiers {
                let active: Vec<f64> = view
                    .tier_replicas(t.tier, ReplicaState::Active)
                    .map(|r| r.cpu_utilisation)
                    .collect();
                let u = if active.is_empty() {
                    0.0
                } else {
                    active.iter().sum::<f64>() / active.len() as f64
                };
                util.push(u);
                self.tier_util[k].0 += u * view.period_s;
                self.tier_util[k].1 += view.period_s;
                if !active.is_empty() {
                    self.tier_up_s[k] += view.period_s;
                }
                k += 1;
            }
        }
        let up = view
            .nodes
            .iter()
            .filter(|n| {
                !matches!(
                    n.state,
                    reconf_api::NodeState::Off | reconf_api::NodeState::Failed
                )
            })
            .count();
        self.node_hours += up as f64 * view.period_s / 3600.0;
        let power_w: f64 = view.nodes.iter().map(|n| n.power_w).sum();
        self.energy_kwh += power_w * view.period_s / 3.6e6;
        self.timeseries.push(TimeseriesRow {
            time_s: round_ms(view.now_s),
            users: Default::default(),
            apps: vec![Default::default(); view.apps.len()],
            utilisation: util,
            nodes_up: up as u64,
            power_w,
            energy_kwh: self.energy_kwh,
            // Not measured live: libvirt reports use, not demand.
            active_nodes: 0,
            migrations: 0,
            slatah: 0.0,
            pdm: 0.0,
            unmet_demand_core_hours: 0.0,
        });
        if self.node_names.len() != view.nodes.len() {
            self.node_names = view.nodes.iter().map(|n| n.name.clone()).collect();
        }
        for (k, n) in view.nodes.iter().enumerate() {
            self.nodes.push(NodeRow {
                time_s: round_ms(view.now_s),
                node: k as u32,
                state: match n.state {
                    reconf_api::NodeState::Off => "off",
                    reconf_api::NodeState::Booting => "booting",
                    reconf_api::NodeState::On => "on",
                    reconf_api::NodeState::ShuttingDown => "shutting-down",
                    reconf_api::NodeState::Failed => "failed",
                },
                utilisation: n.cpu_utilisation,
                power_w: n.power_w,
            });
        }
    }
}

impl LiveRun {
    /// Runs `policy` (or only monitors, without one) against `backend` until `duration` has
    /// passed or a signal came; calls `checkpoint` with the output so far after every period
    /// (the CLI writes it, so an interrupted run still leaves its files). Each period's view is
    /// built within half a period of its instant whatever the hosts do (see
    /// [`Backend::refresh`]). Returns the final output, after the actions in flight ended (on a
    /// signal: after the migrations in flight were aborted).
    pub fn run(
        &self,
        backend: &mut Backend,
        mut policy: Option<&mut Box<dyn Policy>>,
        mut checkpoint: impl FnMut(&RunOutput),
    ) -> RunOutput {
        let clock = backend.clock().clone();
        let mut rec = Recorder {
            app_names: Vec::new(),
            tier_names: Vec::new(),
            timeseries: Vec::new(),
            node_names: Vec::new(),
            nodes: Vec::new(),
            tier_util: Vec::new(),
            tier_up_s: Vec::new(),
            node_hours: 0.0,
            energy_kwh: 0.0,
        };
        let period_s = self.period.as_secs_f64();
        let mut scripted: Vec<&ScriptedAction> = self.scripted.iter().collect();
        scripted.sort_by(|a, b| a.at_s().total_cmp(&b.at_s()));
        let mut next_script = 0;
        backend.sample();
        let mut k = 1u32;
        'run: loop {
            let due_s = period_s * f64::from(k);
            if due_s > self.duration.as_secs_f64() + 1e-9 {
                break;
            }
            // Sleep until the period's instant, waking up for a signal.
            loop {
                if self.interrupt.count() > 0 {
                    break 'run;
                }
                let left = due_s - clock.now_s();
                if left <= 0.0 {
                    break;
                }
                std::thread::sleep(Duration::from_secs_f64(left.min(0.02)));
            }
            let view = backend.view();
            if rec.tier_names.is_empty() {
                for a in &view.apps {
                    rec.app_names.push(a.name.clone());
                    for t in &a.tiers {
                        rec.tier_names.push(format!("{}.{}", a.name, t.name));
                        rec.tier_util.push((0.0, 0.0));
                        rec.tier_up_s.push(0.0);
                    }
                }
            }
            rec.push(&view);
            while next_script < scripted.len() && scripted[next_script].at_s() <= view.now_s {
                execute_scripted(backend, scripted[next_script]);
                next_script += 1;
            }
            if let Some(p) = policy.as_mut() {
                for action in p.decide(&view) {
                    backend.execute(action);
                }
            }
            checkpoint(&self.output(backend, &rec, &clock));
            // A slow period skips the missed instants rather than bursting to catch up.
            k = ((clock.now_s() / period_s).floor() as u32 + 1).max(k + 1);
        }
        // Wait for what is in flight. On a signal (before or now) the migrations are aborted
        // first; a signal after that stops the waiting.
        let interrupt = &self.interrupt;
        let mut aborted_at = None;
        let until = std::time::Instant::now() + self.drain_limit;
        while backend.busy() && std::time::Instant::now() < until {
            let seen = interrupt.count();
            match aborted_at {
                None if seen > 0 => {
                    backend.interrupt();
                    aborted_at = Some(seen);
                }
                Some(at) if seen > at => break,
                _ => {}
            }
            backend.drain(Duration::from_millis(200), || interrupt.count() != seen);
        }
        self.output(backend, &rec, &clock)
    }

    fn output(&self, backend: &Backend, rec: &Recorder, clock: &Clock) -> RunOutput {
        let wall = clock.now_s();
        let t = &backend.totals;
        let tier_utilisation = rec
            .tier_names
            .iter()
            .zip(&rec.tier_util)
            .map(|(n, (s, p))| (n.clone(), if *p > 0.0 { s / p } else { 0.0 }))
            .collect();
        // The fraction of the views' time each tier had an active replica (1 before any).
        let tier_availability = rec
            .tier_names
            .iter()
            .zip(rec.tier_util.iter().zip(&rec.tier_up_s))
            .map(|(n, ((_, p), up))| (n.clone(), if *p > 0.0 { up / p } else { 1.0 }))
            .collect();
        RunOutput {
            summary: Summary {
                scenario: self.scenario_name.clone(),
                seed: self.seed,
                sim_seconds: round_ms(wall),
                events: rec.timeseries.len() as u64,
                events_per_s: 0.0,
                wall_seconds: wall,
                sla_target_ms: backend_sla(backend),
                // libvirt knows nothing of the applications' users: their figures are 0.
                users: Default::default(),
                migrations: t.migrations,
                migration_downtime_s: t.migration_downtime_s,
                migration_time_s: t.migration_time_s,
                migration_mb: t.migration_mb,
                replicas_started: t.replicas_started,
                replicas_stopped: t.replicas_stopped,
                actions_refused: t.actions_refused,
                actions_failed: t.actions_failed,
                faults: backend.fault_figures(tier_availability),
                checkpointing: Default::default(),
                node_hours: rec.node_hours,
                energy_kwh: rec.energy_kwh,
                datacenter: Default::default(),
                tier_utilisation,
                apps: rec
                    .app_names
                    .iter()
                    .map(|a| (a.clone(), Default::default()))
                    .collect(),
                provenance: None,
            },
            app_names: rec.app_names.clone(),
            tier_names: rec.tier_names.clone(),
            timeseries: rec.timeseries.clone(),
            actions: backend.action_rows(),
            node_names: rec.node_names.clone(),
            nodes: rec.nodes.clone(),
            // A live run always watches for faults: `failures.csv` is written, if empty.
            failures: Some(backend.failure_rows()),
        }
    }
}

fn backend_sla(b: &Backend) -> f64 {
    b.sla_target_ms()
}

/// Carries out one of the scenario's `[[actions]]`: names as the simulator writes them (nodes
/// by their scenario name, replicas and VMs `app.tier.k`, which are domains `app-tier-k`).
/// A name that matches nothing (yet) is an action refused, as the simulator does.
fn execute_scripted(backend: &mut Backend, s: &ScriptedAction) {
    let node = |b: &Backend, name: &str| b.node_by_name(name).unwrap_or(NodeId(u32::MAX));
    let vm = |b: &Backend, name: &str| {
        b.vm_by_name(&live_domain_name(b, name).unwrap_or_default())
            .unwrap_or(VmId(u32::MAX))
    };
    let action = match s {
        ScriptedAction::PowerOn { node: n, .. } => Action::PowerOn {
            node: node(backend, n),
        },
        ScriptedAction::PowerOff { node: n, .. } => Action::PowerOff {
            node: node(backend, n),
        },
        ScriptedAction::StartReplica {
            app, tier, node: n, ..
        } => {
            let found = backend.tier_by_name(app, tier);
            Action::StartReplica {
                tier: found.unwrap_or(TierRef {
                    app: AppId(u32::MAX),
                    tier: 0,
                }),
                node: node(backend, n),
            }
        }
        ScriptedAction::StopReplica { replica, drain, .. } => Action::StopReplica {
            replica: ReplicaId(vm(backend, replica).0),
            drain: *drain,
        },
        ScriptedAction::Migrate { vm: name, to, .. } => Action::Migrate {
            vm: vm(backend, name),
            to: node(backend, to),
        },
    };
    backend.execute(action);
}

/// The domain name of a replica named `app.tier.k` in the scenario.
fn live_domain_name(b: &Backend, name: &str) -> Option<String> {
    let (prefix, k) = name.rsplit_once('.')?;
    let k: u32 = k.parse().ok()?;
    let (app, tier) = b
        .app_tier_names()
        .into_iter()
        .find(|(a, t)| format!("{a}.{t}") == prefix)?;
    Some(domain_name(&app, &tier, k))
}
