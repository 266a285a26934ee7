//! Reporting: the time-series rows at each interval, and the summary at the end.
//!
//! The [`Reporter`] owns what the reports need beyond the subsystems' own state: the rows so
//! far and the integrals (servers' busy and capacity core·ns, nodes' busy core·ns and energy)
//! at the start of the current interval and at the end of warm-up.

use super::apps::Seen;
use super::cluster::SlaTotals;
use super::Simulation;
use crate::engine::time::ns_to_secs;
use crate::engine::SimTime;
use crate::report::{
    ActionRow, CheckpointFigures, DatacenterFigures, FailureRow, FaultFigures, IntervalFigures,
    RunOutput, Summary, TimeseriesRow, UserFigures,
};
use std::collections::BTreeMap;

pub use crate::report::NodeRow;

const J_PER_KWH: f64 = 3.6e6;
const NS_PER_HOUR: f64 = 3.6e12;

/// The rows reported so far and the marks they are computed from.
pub(crate) struct Reporter {
    pub interval_ns: u64,
    /// End of the last reporting interval.
    pub last: SimTime,
    pub warmup: SimTime,
    pub target_ms: f64,
    rows: Vec<TimeseriesRow>,
    node_rows: Vec<NodeRow>,
    /// Per node: (busy core·ns, joules) at the start of the current interval.
    node_marks: Vec<(f64, f64)>,
    /// Per server: (busy core·ns, capacity core·ns) at the start of the current interval, and
    /// at the end of warm-up (servers created later start at zero).
    server_marks: Vec<(f64, f64)>,
    warmup_marks: Vec<(f64, f64)>,
    /// The cluster's SLA integrals and migrations completed, at the start of the interval.
    sla_mark: SlaTotals,
    migrations_mark: u64,
}

impl Reporter {
    pub fn new(interval_ns: u64, warmup: SimTime, target_ms: f64, nodes: usize) -> Self {
        Reporter {
            interval_ns,
            last: SimTime::ZERO,
            warmup,
            target_ms,
            rows: Vec::new(),
            node_rows: Vec::new(),
            node_marks: vec![(0.0, 0.0); nodes],
            server_marks: Vec::new(),
            warmup_marks: Vec::new(),
            sla_mark: SlaTotals::default(),
            migrations_mark: 0,
        }
    }
}

impl Simulation {
    pub(super) fn on_warmup_end(&mut self, now: SimTime) {
        self.cluster.start_measuring(now);
        let n = self.apps.servers().len();
        self.report.warmup_marks = (0..n)
            .map(|s| self.apps.settle_server(now, s as u32))
            .collect();
    }

    /// Closes the reporting interval that ends at `now`.
    pub(super) fn on_report(&mut self, now: SimTime) {
        let dt_ns = now.since(self.report.last);
        let dt_s = ns_to_secs(dt_ns);
        let mut busy = vec![(0.0, 0.0); self.tier_count()];
        let n_servers = self.apps.servers().len();
        self.report.server_marks.resize(n_servers, (0.0, 0.0));
        for s in 0..n_servers {
            let (b, c) = self.apps.settle_server(now, s as u32);
            let server = self.apps.server(s as u32);
            let k = tier_index(self.apps.apps(), server.app, server.tier);
            let mark = &mut self.report.server_marks[s];
            busy[k].0 += b - mark.0;
            busy[k].1 += c - mark.1;
            *mark = (b, c);
        }
        let mut power_w = 0.0;
        for n in 0..self.cluster.nodes().len() {
            let b = self.cluster.settle_busy(now, n as u32);
            let node = self.cluster.node(n as u32);
            let e = node.joules(now);
            let (b0, e0) = self.report.node_marks[n];
            self.report.node_marks[n] = (b, e);
            let node_power = if dt_s > 0.0 { (e - e0) / dt_s } else { 0.0 };
            power_w += node_power;
            self.report.node_rows.push(NodeRow {
                time_s: now.as_secs(),
                node: n as u32,
                state: node.state.label(),
                utilisation: ratio(b - b0, node.cores * dt_ns as f64),
                power_w: node_power,
            });
        }
        let nodes_up = self
            .cluster
            .nodes()
            .iter()
            .filter(|n| n.state.is_up())
            .count() as u64;
        let energy_kwh = self.cluster.energy_j(now) / J_PER_KWH;
        let sla = self.cluster.sla_totals(now);
        let interval_sla = sla.since(&self.report.sla_mark);
        self.report.sla_mark = sla;
        let migrations = self.cluster.migration_stats().migrations;
        let interval_migrations = migrations - self.report.migrations_mark;
        self.report.migrations_mark = migrations;
        let apps = self.apps.apps();
        self.report.rows.push(TimeseriesRow {
            time_s: now.as_secs(),
            users: interval_figures(self.apps.seen(), apps.iter().map(|a| a.in_loop).sum(), dt_s),
            apps: apps
                .iter()
                .map(|a| interval_figures(&a.seen, a.in_loop, dt_s))
                .collect(),
            utilisation: busy.iter().map(|&(b, c)| ratio(b, c)).collect(),
            nodes_up,
            power_w,
            energy_kwh,
            active_nodes: sla.active_nodes,
            migrations: interval_migrations,
            slatah: interval_sla.slatah(),
            pdm: interval_sla.pdm(),
            unmet_demand_core_hours: interval_sla.unmet_core_ns / NS_PER_HOUR,
        });
        self.apps.reset_interval();
        self.report.last = now;
    }

    fn tier_count(&self) -> usize {
        self.apps.apps().iter().map(|a| a.tiers.len()).sum()
    }

    fn tier_names(&self) -> Vec<String> {
        self.apps
            .apps()
            .iter()
            .flat_map(|a| {
                a.tiers
                    .iter()
                    .map(move |t| format!("{}.{}", a.name, t.name))
            })
            .collect()
    }

    pub(super) fn finish(mut self, wall_seconds: f64) -> RunOutput {
        let end = self.horizon;
        let names = self.tier_names();
        let mut busy = vec![(0.0, 0.0); self.tier_count()];
        let n_servers = self.apps.servers().len();
        self.report.warmup_marks.resize(n_servers, (0.0, 0.0));
        for s in 0..n_servers {
            let (b, c) = self.apps.settle_server(end, s as u32);
            let server = self.apps.server(s as u32);
            let k = tier_index(self.apps.apps(), server.app, server.tier);
            let mark = self.report.warmup_marks[s];
            busy[k].0 += b - mark.0;
            busy[k].1 += c - mark.1;
        }
        let tier_utilisation: BTreeMap<String, f64> = names
            .iter()
            .cloned()
            .zip(busy.iter().map(|&(b, c)| ratio(b, c)))
            .collect();
        let up_ns: u64 = self.cluster.nodes().iter().map(|n| n.up_ns(end)).sum();
        let sla = self.cluster.sla_totals(end);
        let energy_kwh = self.cluster.energy_j(end) / J_PER_KWH;
        let reexecuted: u64 = self
            .faults
            .records
            .iter()
            .map(|r| r.requests_reexecuted)
            .sum();
        let checkpointing = match self.cluster.checkpoint_stats(end) {
            None => CheckpointFigures::default(),
            Some(st) => CheckpointFigures {
                checkpoints: Some(st.checkpoints),
                checkpoint_mb: Some(st.mb_sent),
                checkpoint_cpu_core_hours: Some(st.cpu_core_ns / NS_PER_HOUR),
                vms_recovered: Some(st.recoveries),
                mean_checkpoint_loss_ms: Some(if st.recoveries > 0 {
                    ns_to_secs(st.loss_ns) * 1000.0 / st.recoveries as f64
                } else {
                    0.0
                }),
                requests_reexecuted: Some(reexecuted),
            },
        };
        let mig = self.cluster.migration_stats();
        let (slatah, pdm) = (sla.slatah(), sla.pdm());
        let datacenter = DatacenterFigures {
            slatah,
            pdm,
            slav: slatah * pdm,
            esv: energy_kwh * slatah * pdm,
            host_shutdowns: sla.shutdowns,
            mean_time_before_host_shutdown_s: if sla.shutdowns > 0 {
                ns_to_secs(sla.time_before_shutdown_ns) / sla.shutdowns as f64
            } else {
                0.0
            },
            mean_time_before_vm_migration_s: if mig.migrations > 0 {
                ns_to_secs(mig.time_ns) / mig.migrations as f64
            } else {
                0.0
            },
            unmet_demand_core_hours: sla.unmet_core_ns / NS_PER_HOUR,
            vms_ended: self.traces.ended(),
        };
        let window_s = ns_to_secs(end.since(self.report.warmup));
        let replicas = self.apps.replica_counters();
        let (actions_refused, actions_failed) = self.log.refused_and_failed();
        let with_faults = self.faults.enabled;
        let warmup = self.report.warmup;
        let fault_user_figures = |mut f: UserFigures, seen: &Seen, availability: f64| {
            if with_faults {
                f.availability = Some(availability);
                f.requests_failed_to_faults = Some(seen.counters.requests_failed_to_faults);
                f.sessions_lost_to_failures = Some(seen.counters.sessions_lost_to_failures);
            }
            f
        };
        let app_availability: Vec<f64> = self
            .apps
            .apps()
            .iter()
            .map(|a| a.availability.fraction(end, warmup))
            .collect();
        let faults = if with_faults {
            let f = &self.faults;
            FaultFigures {
                failures: Some(f.records.len() as u64),
                repairs: Some(f.repairs),
                mean_time_to_repair_s: Some(f.mean_time_to_repair_s()),
                nodes_repaired: Some(f.nodes_repaired),
                tier_availability: Some(
                    self.apps
                        .apps()
                        .iter()
                        .flat_map(|a| {
                            a.tiers.iter().map(move |t| {
                                (
                                    format!("{}.{}", a.name, t.name),
                                    t.availability.fraction(end, warmup),
                                )
                            })
                        })
                        .collect(),
                ),
            }
        } else {
            FaultFigures::default()
        };
        let summary = Summary {
            scenario: self.scenario_name.clone(),
            seed: self.seed,
            sim_seconds: end.as_secs(),
            events: self.events,
            events_per_s: if wall_seconds > 0.0 {
                self.events as f64 / wall_seconds
            } else {
                0.0
            },
            wall_seconds,
            sla_target_ms: self.report.target_ms,
            users: fault_user_figures(
                user_figures(self.apps.seen(), window_s),
                self.apps.seen(),
                app_availability.iter().copied().fold(1.0, f64::min),
            ),
            migrations: mig.migrations,
            migration_downtime_s: ns_to_secs(mig.downtime_ns),
            migration_time_s: ns_to_secs(mig.time_ns),
            migration_mb: mig.mb_sent,
            replicas_started: replicas.started,
            replicas_stopped: replicas.stopped,
            actions_refused,
            actions_failed,
            faults,
            checkpointing,
            node_hours: ns_to_secs(up_ns) / 3600.0,
            energy_kwh,
            datacenter,
            tier_utilisation,
            apps: self
                .apps
                .apps()
                .iter()
                .zip(&app_availability)
                .map(|(a, &av)| {
                    let f = fault_user_figures(user_figures(&a.seen, window_s), &a.seen, av);
                    (a.name.clone(), f)
                })
                .collect(),
            provenance: None,
        };
        // The log is consumed: its names move into the rows (a datacenter day logs 1.5
        // million migrations; two copies of their names would be hundreds of MB).
        let actions = std::mem::take(&mut self.log)
            .into_records()
            .into_iter()
            .map(|r| ActionRow {
                id: r.id.0,
                start_s: r.start.as_secs(),
                end_s: r.end.map(SimTime::as_secs),
                kind: r.action.kind(),
                target: r.target,
                destination: r.destination,
                outcome: r.outcome.label(),
                reason: r.outcome.reason().to_string(),
                mb_sent: r.mb_sent,
                downtime_ms: r.downtime_s * 1000.0,
                rounds: r.rounds,
            })
            .collect();
        RunOutput {
            summary,
            app_names: self.apps.apps().iter().map(|a| a.name.clone()).collect(),
            tier_names: names,
            timeseries: self.report.rows,
            actions,
            node_names: self
                .cluster
                .nodes()
                .iter()
                .map(|n| n.name.clone())
                .collect(),
            nodes: self.report.node_rows,
            failures: with_faults.then(|| {
                self.faults
                    .records
                    .iter()
                    .map(|r| FailureRow {
                        time_s: r.time.as_secs(),
                        kind: r.kind.to_string(),
                        target: r.target.clone(),
                        cause: r.cause.clone(),
                        vms_lost: r.vms_lost,
                        vms_recovered: r.vms_recovered,
                        checkpoint_loss_ms: r.checkpoint_loss_ms,
                        replicas_lost: r.replicas_lost.join(" "),
                        requests_failed: r.requests_failed,
                        requests_reexecuted: r.requests_reexecuted,
                        sessions_lost: r.sessions_lost,
                        repaired_s: r.repaired.map(SimTime::as_secs),
                        service_restored_s: r.restored.map(SimTime::as_secs),
                    })
                    .collect()
            }),
        }
    }
}

/// What `seen` users saw over the run, throughput over a window of `window_s`.
fn user_figures(seen: &Seen, window_s: f64) -> UserFigures {
    let (w, counters) = (&seen.window, &seen.counters);
    UserFigures {
        requests_issued: counters.requests_issued,
        requests_completed: counters.requests_completed,
        requests_failed: counters.requests_failed,
        requests_in_flight: seen.in_flight,
        throughput_rps: if window_s > 0.0 {
            w.completed as f64 / window_s
        } else {
            0.0
        },
        mean_response_ms: w.mean_ms(),
        p50_response_ms: w.quantile_ms(0.50),
        p95_response_ms: w.quantile_ms(0.95),
        p99_response_ms: w.quantile_ms(0.99),
        max_response_ms: w.max_ms(),
        sla_violation_fraction: w.sla_violation_fraction(),
        sessions_started: counters.sessions_started,
        sessions_completed: counters.sessions_completed,
        sessions_lost: counters.sessions_lost,
        ..Default::default()
    }
}

/// What `seen` users saw over the current reporting interval of `dt_s`.
fn interval_figures(seen: &Seen, active_clients: u64, dt_s: f64) -> IntervalFigures {
    let interval = &seen.interval;
    IntervalFigures {
        active_clients,
        throughput_rps: if dt_s > 0.0 {
            interval.completed as f64 / dt_s
        } else {
            0.0
        },
        mean_response_ms: interval.mean_ms(),
        p95_response_ms: interval.quantile_ms(0.95),
        failures: interval.failed,
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        0.0
    }
}

/// Position of (app, tier) in the flattened list of all tiers.
fn tier_index(apps: &[super::apps::App], app: u16, tier: u16) -> usize {
    apps[..app as usize]
        .iter()
        .map(|a| a.tiers.len())
        .sum::<usize>()
        + tier as usize
}
