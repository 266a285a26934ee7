//! The live control loop: every `policy.period_s` of wall-clock time, build the view from the
//! hosts, ask the policy, carry out its actions; and the run's output in the simulator's formats
//! (wall-clock seconds since the start are the time axis), so `reconf plot` and `reconf compare`
//! read live runs as they read simulated ones.

use super::backend::{round_ms, AppSpec, Backend, Config};
use super::hypervisor::MigrateOptions;
use crate::report::output::{NodeRow, RunOutput, Summary, TimeseriesRow};
use crate::scenario::schema::Scenario;
use crate::scenario::InputError;
use reconf_api::{Policy, ReplicaState, View};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// The backend's configuration from a loaded scenario: apps and tiers, host reserve, migration
/// settings, and the `[live]` section (templates read now, relative to `base_dir`, so that a
/// missing template is bad input before anything runs).
pub fn config_from_scenario(
    sc: &Scenario,
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
    })
}

/// What a live run needs beyond the backend.
pub struct LiveRun {
    pub scenario_name: String,
    pub seed: u64,
    pub period: Duration,
    pub duration: Duration,
    /// Longest wait, at the end, for actions still in flight.
    pub drain_limit: Duration,
}

/// Accumulates the output rows.
struct Recorder {
    app_names: Vec<String>,
    tier_names: Vec<String>,
    timeseries: Vec<TimeseriesRow>,
    nodes: Vec<NodeRow>,
    /// Per tier: sum of utilisation × period, and of periods.
    tier_util: Vec<(f64, f64)>,
    node_hours: f64,
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
                k += 1;
            }
        }
        let up = view
            .nodes
            .iter()
            .filter(|n| n.state != reconf_api::NodeState::Off)
            .count();
        self.node_hours += up as f64 * view.period_s / 3600.0;
        self.timeseries.push(TimeseriesRow {
            time_s: round_ms(view.now_s),
            users: Default::default(),
            apps: vec![Default::default(); view.apps.len()],
            utilisation: util,
            nodes_up: up as u64,
            power_w: 0.0,
            energy_kwh: 0.0,
        });
        for n in &view.nodes {
            self.nodes.push(NodeRow {
                time_s: round_ms(view.now_s),
                node: n.name.clone(),
                state: match n.state {
                    reconf_api::NodeState::Off => "off",
                    reconf_api::NodeState::Booting => "booting",
                    reconf_api::NodeState::On => "on",
                    reconf_api::NodeState::ShuttingDown => "shutting-down",
                }
                .into(),
                utilisation: n.cpu_utilisation,
                power_w: 0.0,
            });
        }
    }
}

impl LiveRun {
    /// Runs `policy` (or only monitors, without one) against `backend` until `duration` has
    /// passed; calls `checkpoint` with the output so far after every period (the CLI writes it,
    /// so an interrupted run still leaves its files). Returns the final output.
    pub fn run(
        &self,
        backend: &mut Backend,
        mut policy: Option<&mut Box<dyn Policy>>,
        epoch: Instant,
        mut checkpoint: impl FnMut(&RunOutput),
    ) -> RunOutput {
        let mut rec = Recorder {
            app_names: Vec::new(),
            tier_names: Vec::new(),
            timeseries: Vec::new(),
            nodes: Vec::new(),
            tier_util: Vec::new(),
            node_hours: 0.0,
        };
        backend.sample(epoch.elapsed().as_secs_f64());
        let mut k = 1u32;
        loop {
            let due = self.period * k;
            if due > self.duration {
                break;
            }
            let elapsed = epoch.elapsed();
            if due > elapsed {
                std::thread::sleep(due - elapsed);
            }
            let now_s = epoch.elapsed().as_secs_f64();
            let view = backend.view(now_s);
            if rec.tier_names.is_empty() {
                for a in &view.apps {
                    rec.app_names.push(a.name.clone());
                    for t in &a.tiers {
                        rec.tier_names.push(format!("{}.{}", a.name, t.name));
                        rec.tier_util.push((0.0, 0.0));
                    }
                }
            }
            rec.push(&view);
            if let Some(p) = policy.as_mut() {
                for action in p.decide(&view) {
                    backend.execute(now_s, action);
                }
            }
            checkpoint(&self.output(backend, &rec, epoch));
            // A slow period (a host that took long to answer) skips the missed instants
            // rather than bursting to catch up.
            k = ((epoch.elapsed().as_secs_f64() / self.period.as_secs_f64()).floor() as u32 + 1)
                .max(k + 1);
        }
        backend.drain(self.drain_limit);
        self.output(backend, &rec, epoch)
    }

    fn output(&self, backend: &Backend, rec: &Recorder, epoch: Instant) -> RunOutput {
        let wall = epoch.elapsed().as_secs_f64();
        let t = &backend.totals;
        let tier_utilisation = rec
            .tier_names
            .iter()
            .zip(&rec.tier_util)
            .map(|(n, (s, p))| (n.clone(), if *p > 0.0 { s / p } else { 0.0 }))
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
                node_hours: rec.node_hours,
                energy_kwh: 0.0,
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
            nodes: rec.nodes.clone(),
        }
    }
}

fn backend_sla(b: &Backend) -> f64 {
    b.sla_target_ms()
}
