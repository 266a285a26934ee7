//! How keys read on figures: a name and its unit for every axis.

/// The summary keys the figures know by name: (key, description with its unit).
const KNOWN: [(&str, &str); 16] = [
    ("mean_response_ms", "mean response time (ms)"),
    ("p50_response_ms", "median response time (ms)"),
    ("p95_response_ms", "p95 response time (ms)"),
    ("p99_response_ms", "p99 response time (ms)"),
    ("max_response_ms", "maximum response time (ms)"),
    ("throughput_rps", "throughput (requests/s)"),
    (
        "sla_violation_fraction",
        "SLA violations (fraction of requests)",
    ),
    ("sessions_lost", "sessions lost (count)"),
    ("requests_failed", "failed requests (count)"),
    ("node_hours", "node-hours (h)"),
    ("energy_kwh", "energy (kWh)"),
    ("migrations", "migrations (count)"),
    ("migration_downtime_s", "migration downtime (s)"),
    ("migration_time_s", "migration time (s)"),
    ("migration_mb", "data migrated (MB)"),
    ("active_clients", "active clients (count)"),
];

/// Units read from a key's suffix (convention 1: units in names).
const SUFFIXES: [(&str, &str); 10] = [
    ("_ms", "ms"),
    ("_s", "s"),
    ("_kwh", "kWh"),
    ("_mbps", "Mbit/s"),
    ("_mb_per_s", "MB/s"),
    ("_mb", "MB"),
    ("_rps", "requests/s"),
    ("_w", "W"),
    ("_fraction", "fraction"),
    ("_cores", "cores"),
];

/// How a summary key reads on an axis: a name and its unit. Per-application keys
/// (`apps.<app>.<key>`) read as their key (the application is in the title).
pub fn describe(key: &str) -> String {
    if let Some((_, k)) = split_app_key(key) {
        return describe(k);
    }
    if let Some((_, d)) = KNOWN.iter().find(|(k, _)| *k == key) {
        return d.to_string();
    }
    if let Some(rest) = key.strip_prefix("tier_utilisation.") {
        return match rest.split_once('.') {
            Some((app, tier)) => format!("{tier} utilisation of {app} (fraction)"),
            None => format!("{rest} utilisation (fraction)"),
        };
    }
    for (suffix, unit) in SUFFIXES {
        if let Some(base) = key.strip_suffix(suffix) {
            return format!("{} ({unit})", base.replace('_', " "));
        }
    }
    if key.starts_with("sessions_")
        || key.starts_with("requests_")
        || key.starts_with("replicas_")
        || key.starts_with("actions_")
        || key == "events"
    {
        return format!("{} (count)", key.replace('_', " "));
    }
    format!("{} (as written in the summary)", key.replace('_', " "))
}

/// The description without its unit, for titles.
pub fn describe_short(key: &str) -> String {
    let d = describe(key);
    match d.rfind(" (") {
        Some(i) => d[..i].to_string(),
        None => d,
    }
}

/// `apps.<app>.<key>` split into (app, key).
pub fn split_app_key(key: &str) -> Option<(&str, &str)> {
    let rest = key.strip_prefix("apps.")?;
    // Application names have no dots; the key after them may (none do today).
    rest.split_once('.')
}

/// The unit of a swept scenario key, from its last component: the suffix convention, then
/// the keys whose unit is in their meaning (counts, cores, fractions of policies).
pub fn axis_unit(path: &str) -> &'static str {
    let leaf = path
        .rsplit('.')
        .next()
        .unwrap_or(path)
        .split('[')
        .next()
        .unwrap_or(path);
    for (suffix, unit) in SUFFIXES {
        if leaf.ends_with(suffix) {
            return unit;
        }
    }
    match leaf {
        "replicas" | "min_replicas" | "max_replicas" | "clients" | "users" | "sessions"
        | "max_rounds" | "seed" | "count" => "count",
        "cores" => "cores",
        "high" | "low" | "target" => "fraction",
        _ if leaf.ends_with("_factor") => "ratio",
        _ => "as in the scenario",
    }
}

/// A swept axis as an axis label: its path and unit.
pub fn describe_axis(path: &str) -> String {
    format!("{path} ({})", axis_unit(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_metric_has_a_unit() {
        for k in super::super::sweep::DEFAULT_METRICS {
            let d = describe(k);
            assert!(d.ends_with(')') && !d.contains("as written"), "{k}: {d}");
        }
        assert_eq!(
            describe("apps.rubis.p95_response_ms"),
            "p95 response time (ms)"
        );
        assert_eq!(
            describe("tier_utilisation.rubis.app"),
            "app utilisation of rubis (fraction)"
        );
        assert_eq!(describe("boot_s"), "boot (s)");
        assert_eq!(describe("replicas_started"), "replicas started (count)");
    }

    #[test]
    fn swept_axes_carry_their_unit() {
        assert_eq!(
            describe_axis("apps[0].tiers[1].replicas"),
            "apps[0].tiers[1].replicas (count)"
        );
        assert_eq!(axis_unit("apps[0].tiers[1].cores"), "cores");
        assert_eq!(axis_unit("policy.params.high"), "fraction");
        assert_eq!(axis_unit("policy.params.for_s"), "s");
        assert_eq!(
            axis_unit("infrastructure.migration.bandwidth_mbps"),
            "Mbit/s"
        );
        assert_eq!(axis_unit("infrastructure.migration.max_downtime_ms"), "ms");
        assert_eq!(axis_unit("duration_s"), "s");
    }
}
