//! What a scenario will need in memory, estimated at load, so that a scenario too big for the
//! machine is refused with a clear message (exit 2) instead of aborting mid-run ("memory
//! allocation failed") or swapping: `replicas = 4294967295` or 10^9 clients passed validation
//! and then died.
//!
//! The estimate is a sum of what grows with the scenario: clients (or concurrent open-loop
//! sessions), replicas, nodes, rows of the time series and of `nodes.csv`, trace points. The
//! costs per item were measured as peak resident memory (`/usr/bin/time -v`) of runs that scale
//! one item at a time, on x86-64 Linux: see the constants. They include the outputs' text, which
//! is built before it is written.

use super::schema::{LoopKind, MixKind, Profile, Scenario};
use super::validate::Problem;
use std::sync::atomic::{AtomicU64, Ordering};

/// Fixed cost of a run (the binary, tables, buffers, histograms), measured: 7.3 MB for one
/// client and one tier, 10 MB for the shipped examples.
const BASE_BYTES: f64 = 9e6;
/// Per closed-loop client or concurrent open-loop session: measured 222 B (10^5 to 10^6
/// clients).
const CLIENT_BYTES: f64 = 230.0;
/// Per replica (server, balancer slot, statistics): measured 223 B (10^4 to 10^5 replicas).
const REPLICA_BYTES: f64 = 230.0;
/// Per node: measured 524 B (10^5 nodes).
const NODE_BYTES: f64 = 540.0;
/// Per row of `timeseries.csv`, and per tier column in it: measured 135 B and 8.9 B (10^6 rows,
/// 1 and 10 tiers).
const ROW_BYTES: f64 = 140.0;
const ROW_TIER_BYTES: f64 = 9.0;
/// Per row of `nodes.csv` (a node over one interval): measured 168 B (100 nodes, 10^5 rows).
const NODE_ROW_BYTES: f64 = 175.0;
/// Per trace-driven VM, with a consolidation policy's 30-value history and the view: about
/// 4.5 KB measured at 10^5 VMs (peak resident memory of scenarios/planetlab/scale-100k.toml
/// over its first placement, 477 MB with its 10^4 nodes).
const TRACE_VM_BYTES: f64 = 4500.0;
/// Per point of a profile (a trace inlined in the resolved `scenario.toml`): measured about
/// 1,060 B (604,800 points).
const POINT_BYTES: f64 = 1100.0;

/// Default limit: a third of the 24 GB machines the project runs on, so two runs in parallel
/// (a sweep's `-j 2`) still fit.
pub const DEFAULT_LIMIT_MB: u64 = 8000;

static LIMIT_MB: AtomicU64 = AtomicU64::new(DEFAULT_LIMIT_MB);

/// Sets the limit for every scenario loaded from now on in this process (`--max-memory-mb`).
pub fn set_limit_mb(mb: u64) {
    LIMIT_MB.store(mb, Ordering::Relaxed);
}

pub fn limit_mb() -> u64 {
    LIMIT_MB.load(Ordering::Relaxed)
}

/// One part of the estimate: what it counts, the field that sets it, and its bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct Part {
    pub what: String,
    pub field: String,
    pub bytes: f64,
}

/// The estimated peak memory of a run of `sc` (resolved: traces are points), in bytes, and its
/// parts, largest first.
pub fn estimate(sc: &Scenario) -> (f64, Vec<Part>) {
    let mut parts = Vec::new();
    let mut part =
        |what: String, field: String, bytes: f64| parts.push(Part { what, field, bytes });
    let mut tiers = 0usize;
    for (ai, app) in sc.apps.iter().enumerate() {
        let c = &app.clients;
        let (peak, points) = match &c.profile {
            Profile::Constant { value } => (*value, 0),
            Profile::Steps { points } | Profile::Ramp { points } => (
                points.iter().map(|p| p[1]).fold(0.0, f64::max),
                points.len(),
            ),
            Profile::Trace { .. } => (0.0, 0),
        };
        let sessions = match c.loop_kind {
            LoopKind::Closed => peak.round(),
            LoopKind::Open => {
                // Little's law with an upper bound of a session's length: its mean number of
                // requests for a weighted mix, the cap for a transition table.
                let requests = match c.mix {
                    MixKind::Weighted => c.session_requests.min(c.max_transitions as f64),
                    _ => c.max_transitions as f64,
                };
                peak * requests * c.think.mean_ms() / 1000.0
            }
        };
        part(
            format!("{sessions:.0} clients of app `{}`", app.name),
            format!("apps[{ai}].clients.profile"),
            sessions * CLIENT_BYTES,
        );
        if points > 0 {
            part(
                format!("{points} profile points"),
                format!("apps[{ai}].clients.profile"),
                points as f64 * POINT_BYTES,
            );
        }
        for (ti, t) in app.tiers.iter().enumerate() {
            tiers += 1;
            part(
                format!("{} replicas of `{}.{}`", t.replicas, app.name, t.name),
                format!("apps[{ai}].tiers[{ti}].replicas"),
                t.replicas as f64 * REPLICA_BYTES,
            );
        }
    }
    let rows = (sc.duration_s / sc.report_interval_s).ceil();
    part(
        format!("{rows:.0} rows of timeseries.csv"),
        "report_interval_s".into(),
        rows * (ROW_BYTES + tiers as f64 * ROW_TIER_BYTES),
    );
    if let Some(infra) = &sc.infrastructure {
        for (gi, g) in infra.nodes.iter().enumerate() {
            part(
                format!("{} nodes of group `{}`", g.count, g.name),
                format!("infrastructure.nodes[{gi}].count"),
                g.count as f64 * NODE_BYTES,
            );
            part(
                format!("{:.0} rows of nodes.csv", g.count as f64 * rows),
                format!("infrastructure.nodes[{gi}].count"),
                g.count as f64 * rows * NODE_ROW_BYTES,
            );
        }
    }
    for (gi, g) in sc.vms.iter().enumerate() {
        // Without a count, one VM per series of its trace, not known before the trace is read.
        if let Some(n) = g.count {
            part(
                format!("{n} trace-driven VMs of `{}`", g.name),
                format!("vms[{gi}].count"),
                n as f64 * TRACE_VM_BYTES,
            );
        }
    }
    let total = BASE_BYTES + parts.iter().map(|p| p.bytes).sum::<f64>();
    parts.sort_by(|a, b| b.bytes.total_cmp(&a.bytes));
    (total, parts)
}

/// Refuses a scenario whose estimated memory exceeds `limit_mb`, naming the largest part and
/// the field that sets it.
pub fn check(sc: &Scenario, limit_mb: u64) -> Result<(), Problem> {
    let (total, parts) = estimate(sc);
    refuse_beyond(total, parts, limit_mb)
}

/// [`check`] counting only the nodes and trace-driven VMs: what validation itself lays out,
/// so run before it (the other parts are checked once validation has said what is wrong).
pub fn check_layout(sc: &Scenario, limit_mb: u64) -> Result<(), Problem> {
    let (_, parts) = estimate(sc);
    let parts: Vec<Part> = parts
        .into_iter()
        .filter(|p| p.field.starts_with("infrastructure.nodes") || p.field.starts_with("vms["))
        .collect();
    if parts.is_empty() {
        return Ok(());
    }
    let total = BASE_BYTES + parts.iter().map(|p| p.bytes).sum::<f64>();
    refuse_beyond(total, parts, limit_mb)
}

fn refuse_beyond(total: f64, parts: Vec<Part>, limit_mb: u64) -> Result<(), Problem> {
    if total <= limit_mb as f64 * 1e6 {
        return Ok(());
    }
    let top = &parts[0];
    Err(Problem {
        path: top.field.clone(),
        message: format!(
            "this scenario would need about {:.0} MB of memory, over the limit of {limit_mb} MB \
             (mostly {}: {:.0} MB); reduce it, or raise the limit with --max-memory-mb",
            total / 1e6,
            top.what,
            top.bytes / 1e6
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(extra: &str) -> Scenario {
        let text = format!(
            r#"duration_s = 3600
{extra}
[[apps]]
name = "a"
[apps.clients]
profile = {{ kind = "constant", value = 1000 }}
[[apps.tiers]]
name = "t"
replicas = 3
demand = {{ dist = "exponential", mean_ms = 1 }}
"#
        );
        toml::from_str(&text).unwrap()
    }

    #[test]
    fn the_estimate_adds_up_its_parts() {
        let sc = scenario("");
        let (total, parts) = estimate(&sc);
        let rows = 360.0;
        let expected = BASE_BYTES
            + 1000.0 * CLIENT_BYTES
            + 3.0 * REPLICA_BYTES
            + rows * (ROW_BYTES + ROW_TIER_BYTES);
        assert!((total - expected).abs() < 1e-6, "{total} vs {expected}");
        assert_eq!(parts[0].what, "1000 clients of app `a`");
        assert!(check(&sc, DEFAULT_LIMIT_MB).is_ok());
    }

    #[test]
    fn huge_counts_are_refused_naming_the_field() {
        let mut sc = scenario("");
        sc.apps[0].tiers[0].replicas = u32::MAX;
        let e = check(&sc, DEFAULT_LIMIT_MB).unwrap_err();
        assert_eq!(e.path, "apps[0].tiers[0].replicas");
        assert!(
            e.message.contains("4294967295 replicas of `a.t`"),
            "{}",
            e.message
        );
        assert!(e.message.contains("--max-memory-mb"), "{}", e.message);
        let mut sc = scenario("");
        sc.apps[0].clients.profile = Profile::Constant { value: 1e9 };
        let e = check(&sc, DEFAULT_LIMIT_MB).unwrap_err();
        assert_eq!(e.path, "apps[0].clients.profile");
        // A higher limit lets it through.
        assert!(check(&sc, 1_000_000).is_ok());
    }
}
