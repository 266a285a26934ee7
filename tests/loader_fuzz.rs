//! The loader's and the trace reader's fuzz targets (proptest, structured mutations): no input
//! makes them panic, hang or answer without saying what and where. Random mutations of the
//! shipped scenarios and random `--set` overrides either load or give an `InputError` with a
//! message on one line and a line inside the file; what loads also runs without panicking.
//! Traces: random rows, random bytes and mutated valid traces either read or fail with a line.

mod common;
use proptest::prelude::*;
use reconf::scenario::load::load_str;
use reconf::sim::Simulation;
use std::path::Path;

fn shipped() -> Vec<String> {
    [
        "scenarios/examples/rubis.toml",
        "scenarios/validation/mva.toml",
        "scenarios/examples/scripted-migration.toml",
    ]
    .iter()
    .map(|p| std::fs::read_to_string(common::repo(p)).unwrap())
    .collect()
}

const PATHS: &[&str] = &[
    "duration_s",
    "warmup_s",
    "report_interval_s",
    "seed",
    "name",
    "sla.response_target_ms",
    "sla.request_timeout_s",
    "apps[0].name",
    "apps[0].clients.loop_kind",
    "apps[0].clients.mix",
    "apps[0].clients.think",
    "apps[0].clients.think.mean_ms",
    "apps[0].clients.think.dist",
    "apps[0].clients.profile",
    "apps[0].clients.profile.value",
    "apps[0].clients.profile.kind",
    "apps[0].clients.max_transitions",
    "apps[0].clients.session_requests",
    "apps[0].clients.interactions",
    "apps[0].tiers[0].replicas",
    "apps[0].tiers[0].cores",
    "apps[0].tiers[0].balancer",
    "apps[0].tiers[0].demand",
    "apps[0].tiers[1].demand.mean_ms",
    "apps[0].tiers[2].demands.Home",
    "apps[1].name",
    "apps[0].tiers[7].cores",
    "apps",
    "x.y.z",
    "apps[0].clients.table_file",
    "policy.period_s",
    "infrastructure.nodes[0].count",
    "apps[0].clients.think.mean_ms",
    "apps[0].tiers[0].demand.mean_ms",
];

const VALUES: &[&str] = &[
    "0",
    "-1",
    "1",
    "2.5",
    "1e308",
    "nan",
    "inf",
    "-inf",
    "\"\"",
    "\"x\"",
    "true",
    "[]",
    "[1, 2]",
    "[[0, 1], [10, 2]]",
    "[[10, 1], [0, 2]]",
    "{}",
    "{ kind = \"constant\", value = 3 }",
    "{ kind = \"ramp\", points = [] }",
    "{ kind = \"steps\", points = [[0, 1e9]] }",
    "{ dist = \"lognormal\", mean_ms = 5, cv = -1 }",
    "{ dist = \"exponential\", mean_ms = 0 }",
    "\"open\"",
    "\"weighted\"",
    "\"table\"",
    "\"sticky\"",
    "18446744073709551615",
    "[{ name = \"a\", probability = 2 }]",
    "{ kind = \"trace\", file = \"/nonexistent\" }",
    "=",
    "[",
    "\"unterminated",
    "1e-9",
    "4294967295",
    "1e12",
    "{ kind = \"steps\", points = [[60, 5]] }",
];

fn check(text: &str, sets: &[String]) {
    let result = load_str(text, "fuzz.toml", Path::new("."), sets);
    if let Err(e) = &result {
        // Always what is wrong and where.
        assert!(!e.message.trim().is_empty(), "{e:?}");
        assert!(!e.to_string().contains('\n'), "{e}");
        if e.source == "fuzz.toml" {
            if let Some(line) = e.line {
                assert!(line >= 1 && line <= text.lines().count() + 1, "{e}");
            }
        }
    }
    if let Ok(loaded) = result {
        let sc = &loaded.scenario;
        let clients: f64 = sc
            .apps
            .iter()
            .map(|a| match &a.clients.profile {
                reconf::scenario::schema::Profile::Constant { value } => *value,
                reconf::scenario::schema::Profile::Steps { points }
                | reconf::scenario::schema::Profile::Ramp { points } => {
                    points.iter().map(|p| p[1]).fold(0.0, f64::max)
                }
                reconf::scenario::schema::Profile::Trace { .. } => 0.0,
            })
            .sum();
        // Run what is cheap enough to run in a test.
        if sc.duration_s <= 120.0 && clients <= 200.0 && sc.report_interval_s >= 1.0 {
            let out = Simulation::new(sc, loaded.mixes.clone()).run();
            let s = out.summary;
            assert_eq!(
                s.users.requests_issued,
                s.users.requests_completed + s.users.requests_failed + s.users.requests_in_flight
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn mutated_scenarios_never_panic(
        which in 0usize..3,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..3, any::<u8>()), 0..6),
    ) {
        let mut bytes = shipped()[which].clone().into_bytes();
        for (at, op, b) in edits {
            if bytes.is_empty() { break; }
            let i = at.index(bytes.len());
            match op {
                0 => { bytes.remove(i); }
                1 => bytes.insert(i, b),
                _ => bytes[i] = b,
            }
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        check(&text, &["duration_s=30".to_string()]);
    }

    #[test]
    fn random_overrides_never_panic(
        which in 0usize..3,
        sets in proptest::collection::vec((0..PATHS.len(), 0..VALUES.len()), 1..4),
    ) {
        let text = &shipped()[which];
        let mut args = vec!["duration_s=30".to_string()];
        args.extend(sets.into_iter().map(|(p, v)| format!("{}={}", PATHS[p], VALUES[v])));
        check(text, &args);
    }
}

/// Traces: each error names the file and a line of it (or none for an empty trace).
fn check_trace(bytes: &[u8]) {
    match reconf::workload::trace::parse_trace(bytes, "t.csv", "clients") {
        Ok(points) => {
            assert!(!points.is_empty());
            assert_eq!(points[0].0, 0.0);
            assert!(points.windows(2).all(|w| w[0].0 < w[1].0));
            assert!(points.iter().all(|p| p.1 >= 0.0 && p.1.is_finite()));
        }
        Err(e) => {
            assert_eq!(e.source, "t.csv");
            assert!(!e.message.trim().is_empty(), "{e:?}");
            assert!(!e.to_string().contains('\n'), "{e}");
            if let Some(line) = e.line {
                let lines = bytes.iter().filter(|&&b| b == b'\n').count() + 1;
                assert!(line >= 1 && line <= lines, "{e} ({lines} lines)");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn random_trace_rows_never_panic(
        rows in proptest::collection::vec(("[-0-9.e ]{0,6}|nan|inf|#.*|", "[-0-9.e ]{0,6}|x|", 0u8..4), 0..40),
    ) {
        let mut text = String::from("time_s,clients\n");
        for (t, v, sep) in rows {
            let line = match sep {
                0 => format!("{t},{v}\n"),
                1 => format!("{t},{v}\r\n"),
                2 => format!("{t}\n"),
                _ => format!("{t},{v},{v}\n"),
            };
            text.push_str(&line);
        }
        check_trace(text.as_bytes());
    }

    #[test]
    fn mutated_traces_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..3, any::<u8>()), 0..8),
    ) {
        let mut bytes = b"# measured\ntime_s,clients\n0,10\n60,20\n\n120,5\n# end\n".to_vec();
        for (at, op, b) in edits {
            if bytes.is_empty() { break; }
            let i = at.index(bytes.len());
            match op {
                0 => { bytes.remove(i); }
                1 => bytes.insert(i, b),
                _ => bytes[i] = b,
            }
        }
        check_trace(&bytes);
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_trace_reader(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        check_trace(&bytes);
    }
}
