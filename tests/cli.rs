//! The `reconf` command: outputs, exit codes, and bad input reported as one clear line.

use common::{file, reconf, stderr, SMALL};
mod common;
use std::path::Path;

#[test]
fn run_writes_the_three_files_and_a_resolved_scenario_that_replays_identically() {
    let dir = tempfile::tempdir().unwrap();
    let sc = file(dir.path(), "small.toml", SMALL);
    let o = reconf(&["run", &sc, "--out", "a", "--seed", "5"], dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let a = dir.path().join("a");
    for f in ["summary.json", "timeseries.csv", "scenario.toml"] {
        assert!(a.join(f).is_file(), "{f}");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(a.join("summary.json")).unwrap()).unwrap();
    for key in [
        "seed",
        "sim_seconds",
        "events",
        "events_per_s",
        "wall_seconds",
        "requests_completed",
        "requests_failed",
        "throughput_rps",
        "mean_response_ms",
        "p50_response_ms",
        "p95_response_ms",
        "p99_response_ms",
        "sla_violation_fraction",
        "sessions_started",
        "sessions_lost",
        "migrations",
        "migration_downtime_s",
        "replicas_started",
        "replicas_stopped",
        "node_hours",
        "energy_kwh",
        "tier_utilisation",
    ] {
        assert!(summary.get(key).is_some(), "summary lacks {key}");
    }
    assert_eq!(summary["seed"], 5);
    let csv = std::fs::read_to_string(a.join("timeseries.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 12, "a header and one row per 10 s");
    assert!(csv.starts_with(
        "time_s,active_clients,throughput_rps,mean_response_ms,p95_response_ms,failures,\
         apps.shop.active_clients,apps.shop.throughput_rps,apps.shop.mean_response_ms,\
         apps.shop.p95_response_ms,apps.shop.failures,\
         tier_utilisation.shop.web,tier_utilisation.shop.db,nodes_up,power_w,energy_kwh,\
         active_nodes,migrations,slatah,pdm,unmet_demand_core_hours\n"
    ));

    // The resolved scenario, run from its own folder, gives the same outputs.
    let o = reconf(&["run", "a/scenario.toml", "--out", "b"], dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let b = dir.path().join("b");
    assert_eq!(
        std::fs::read(a.join("timeseries.csv")).unwrap(),
        std::fs::read(b.join("timeseries.csv")).unwrap()
    );
    assert_eq!(
        std::fs::read(a.join("scenario.toml")).unwrap(),
        std::fs::read(b.join("scenario.toml")).unwrap()
    );
    let strip = |p: &Path| {
        common::comparable_json(&std::fs::read_to_string(p.join("summary.json")).unwrap())
    };
    assert_eq!(strip(&a), strip(&b));
}

#[test]
fn validate_accepts_every_shipped_scenario() {
    for entry in glob_scenarios() {
        let o = reconf(&["validate", &entry], Path::new(env!("CARGO_MANIFEST_DIR")));
        assert!(o.status.success(), "{entry}: {}", stderr(&o));
    }
}

fn glob_scenarios() -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![common::repo("scenarios")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                // Sweep descriptions are not scenarios (`reconf sweep` checks them).
                if !p.ends_with("sweeps") {
                    stack.push(p);
                }
            } else if p.extension().is_some_and(|x| x == "toml") {
                out.push(p.display().to_string());
            }
        }
    }
    assert!(out.len() >= 2);
    out
}

/// Bad input: exit code 2, one line naming the place, no panic, no output folder.
fn assert_rejected(dir: &Path, args: &[&str], expect: &[&str]) {
    let o = reconf(args, dir);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    for e in expect {
        assert!(err.contains(e), "{args:?}: `{err}` should contain `{e}`");
    }
    assert!(
        !dir.join("out").exists(),
        "no output folder after bad input"
    );
}

#[test]
fn bad_scenarios_are_reported_with_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        (
            "unknown key",
            SMALL.replace("duration_s = 120", "duration_s = 120\ndurations = 3"),
            vec![":4:", "durations"],
        ),
        (
            "wrong type",
            SMALL.replace("duration_s = 120", "duration_s = \"long\""),
            vec![":3:", "duration_s"],
        ),
        (
            "zero duration",
            SMALL.replace("duration_s = 120", "duration_s = 0"),
            vec![":3:", "duration_s", "greater than 0"],
        ),
        (
            "negative capacity",
            SMALL.replace("name = \"db\"", "name = \"db\"\ncores = -2"),
            vec![":18:", "apps[0].tiers[1].cores"],
        ),
        (
            "unknown distribution field",
            SMALL.replace("mean_ms = 4 }", "mean_ms = 4, shape = 2 }"),
            vec![":18:", "apps[0].tiers[1].demand"],
        ),
        (
            "probabilities not summing to 1",
            SMALL.replace(
                "mix = \"bidding\"",
                "mix = \"weighted\"\ninteractions = [{ name = \"a\", probability = 0.5 }, { name = \"b\", probability = 0.3 }]",
            ),
            vec![":10:", "apps[0].clients.interactions", "sum"],
        ),
        (
            "missing trace file",
            SMALL.replace(
                "{ kind = \"constant\", value = 50 }",
                "{ kind = \"trace\", file = \"nowhere.csv\" }",
            ),
            vec!["nowhere.csv", "small.toml:10"],
        ),
        (
            "demand for an interaction that does not exist",
            SMALL.replace("mean_ms = 4 }", "mean_ms = 4 }\ndemands = { Nope = { dist = \"deterministic\", mean_ms = 1 } }"),
            vec!["apps[0].tiers[1].demands", "Nope", "valid names"],
        ),
        (
            "unknown policy",
            format!("{SMALL}\n[policy]\nname = \"nope\"\n"),
            vec![":21:", "policy.name", "valid policies: static, threshold-replication"],
        ),
        (
            "unknown policy parameter",
            format!("{SMALL}\n[policy]\nname = \"threshold-migration\"\nparams = {{ hihg = 0.5 }}\n"),
            vec![":22:", "policy.params.hihg", "valid parameters: high, low"],
        ),
        (
            "an old key without its unit, at the top level",
            SMALL.replace("duration_s = 120", "duration = 120"),
            vec![":3:", "field `duration`", "has no unit in its name: use `duration_s` (seconds)"],
        ),
        (
            "an old key without its unit, in a distribution",
            SMALL.replace("mean_ms = 4 }", "mean = 4 }"),
            vec![":18:", "apps[0].tiers[1].demand.mean", "use `mean_ms` (milliseconds)"],
        ),
        (
            "an old key without its unit, in a node group",
            format!("{SMALL}\n[infrastructure]\nmode = \"bare\"\n\n[[infrastructure.nodes]]\nname = \"n\"\ncores = 2\nram_mb = 4096\nboot = 60\n"),
            vec![":27:", "infrastructure.nodes[0].boot", "use `boot_s` (seconds)"],
        ),
        (
            "an old size key without its unit",
            format!("{SMALL}\n[infrastructure]\nmode = \"bare\"\n\n[[infrastructure.nodes]]\nname = \"n\"\ncores = 2\nram = 4096\n"),
            vec![":26:", "infrastructure.nodes[0].ram", "use `ram_mb` (MB, 10^6 bytes)"],
        ),
        (
            "an old migration key without its unit",
            format!("{SMALL}\n[infrastructure]\nmode = \"virtualized\"\nnodes = [{{ name = \"n\", cores = 2, ram_mb = 4096 }}]\n\n[infrastructure.migration]\nmax_downtime = 30\n"),
            vec![":25:", "infrastructure.migration.max_downtime", "use `max_downtime_ms` (milliseconds)"],
        ),
        (
            "a percentage typed for a fraction",
            format!("{SMALL}\n[policy]\nname = \"threshold-migration\"\n\n[policy.params]\nlow = 0.2\nhigh = 60\n"),
            vec![":25:", "policy.params.high", "in (0, 1), got 60 (a fraction: 0.6 for 60%)"],
        ),
        (
            "low above high",
            format!("{SMALL}\n[policy]\nname = \"threshold-replication\"\n\n[policy.params]\nhigh = 0.6\nlow = 0.9\n"),
            vec![":25:", "policy.params.low", "`low` (0.9) must be less than `high` (0.6)"],
        ),
        (
            "high below the default low",
            format!("{SMALL}\n[policy]\nname = \"threshold-migration\"\nparams = {{ high = 0.1 }}\n"),
            vec![":22:", "policy.params.high", "`low` (0.25, its default)"],
        ),
        (
            "a negative hold time",
            format!("{SMALL}\n[policy]\nname = \"response-time-target\"\n\n[policy.params]\nfor_s = -60\n"),
            vec![":24:", "policy.params.for_s", "must be >= 0, got -60"],
        ),
        (
            "min above max replicas",
            format!("{SMALL}\n[policy]\nname = \"threshold-replication\"\n\n[policy.params]\nmax_replicas = 2\nmin_replicas = 3\n"),
            vec![":25:", "policy.params.min_replicas", "at most `max_replicas` (2)"],
        ),
        (
            "syntax error",
            SMALL.replace("name = \"shop\"", "name = \"shop"),
            vec![":6:"],
        ),
    ];
    for (what, text, expect) in cases {
        let sc = file(d, "small.toml", &text);
        eprintln!("case: {what}");
        assert_rejected(d, &["run", &sc, "--out", "out"], &expect);
        assert_rejected(d, &["validate", &sc], &expect);
    }
}

#[test]
fn malformed_trace_lines_are_reported_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    file(d, "trace.csv", "time_s,clients\n0,10\n60,abc\n");
    let sc = file(
        d,
        "small.toml",
        &SMALL.replace(
            "{ kind = \"constant\", value = 50 }",
            "{ kind = \"trace\", file = \"trace.csv\" }",
        ),
    );
    assert_rejected(
        d,
        &["run", &sc, "--out", "out"],
        &["trace.csv:3", "clients"],
    );
    // A good trace runs.
    file(d, "trace.csv", "time_s,clients\n0,10\n60,30\n");
    let o = reconf(&["run", &sc, "--out", "ok"], d);
    assert!(o.status.success(), "{}", stderr(&o));
    let resolved = std::fs::read_to_string(d.join("ok/scenario.toml")).unwrap();
    assert!(resolved.contains("steps"), "traces are inlined: {resolved}");
}

#[test]
fn bad_command_line_arguments_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sc = file(d, "small.toml", SMALL);
    assert_rejected(
        d,
        &["run", &sc, "--out", "out", "--set", "apps[3].name=x"],
        &["--set apps[3].name=x", "out of range"],
    );
    assert_rejected(
        d,
        &["run", &sc, "--out", "out", "--set", "duration_s"],
        &["--set duration_s"],
    );
    assert_rejected(
        d,
        &[
            "run",
            &sc,
            "--out",
            "out",
            "--set",
            "apps[0].tiers[0].cores=0",
        ],
        &["--set apps[0].tiers[0].cores=0", "greater than 0"],
    );
    // A policy parameter out of range given on the command line names the argument.
    let with_policy = file(
        d,
        "policy.toml",
        &format!("{SMALL}\n[policy]\nname = \"threshold-migration\"\n"),
    );
    assert_rejected(
        d,
        &[
            "run",
            &with_policy,
            "--out",
            "out",
            "--set",
            "policy.params.high=60",
        ],
        &[
            "--set policy.params.high=60",
            "policy.params.high",
            "in (0, 1)",
        ],
    );
    assert_rejected(
        d,
        &["run", &sc, "--out", "out", "--set", "nonsense=1"],
        &["--set nonsense=1", "nonsense"],
    );
    assert_rejected(
        d,
        &["run", "missing.toml", "--out", "out"],
        &["missing.toml", "cannot read"],
    );
    let o = reconf(&["run", &sc, "--seed", "minus-one"], d);
    assert_eq!(o.status.code(), Some(2));
    let o = reconf(&["frobnicate"], d);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn help_teaches_by_example() {
    let d = Path::new(env!("CARGO_MANIFEST_DIR"));
    for args in [
        vec!["--help"],
        vec!["run", "--help"],
        vec!["validate", "--help"],
        vec!["keys", "--help"],
    ] {
        let o = reconf(&args, d);
        assert!(o.status.success());
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.contains("Example"), "{args:?}: {out}");
    }
}

#[test]
fn the_committed_key_reference_is_the_generated_one() {
    let o = reconf(&["keys"], Path::new(env!("CARGO_MANIFEST_DIR")));
    assert!(o.status.success());
    let generated = String::from_utf8(o.stdout).unwrap();
    let committed = std::fs::read_to_string(common::repo("docs/scenario-keys.md")).unwrap();
    assert!(
        committed == generated,
        "docs/scenario-keys.md is stale: regenerate it with `cargo run -- keys > docs/scenario-keys.md`"
    );
    for key in [
        "duration_s",
        "apps[].tiers[].cores",
        "apps[].clients.think",
        "sla.request_timeout_s",
        "infrastructure.nodes[].cores",
        "infrastructure.migration.max_downtime_ms",
        "policy.period_s",
        "policy.name",
    ] {
        assert!(generated.contains(&format!("`{key}`")), "{key} documented");
    }
}
