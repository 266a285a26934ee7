//! No input makes the scenario loader panic: random mutations of the shipped scenarios and random
//! `--set` overrides either load or give an `InputError`. What loads also runs without panicking.

mod common;
use proptest::prelude::*;
use reconf::scenario::load::load_str;
use reconf::sim::Simulation;
use std::path::Path;

fn shipped() -> Vec<String> {
    [
        "scenarios/examples/rubis.toml",
        "scenarios/validation/mva.toml",
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
];

fn check(text: &str, sets: &[String]) {
    if let Ok(loaded) = load_str(text, "fuzz.toml", Path::new("."), sets) {
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
        which in 0usize..2,
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
        which in 0usize..2,
        sets in proptest::collection::vec((0..PATHS.len(), 0..VALUES.len()), 1..4),
    ) {
        let text = &shipped()[which];
        let mut args = vec!["duration_s=30".to_string()];
        args.extend(sets.into_iter().map(|(p, v)| format!("{}={}", PATHS[p], VALUES[v])));
        check(text, &args);
    }
}
