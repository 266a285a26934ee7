//! Properties of whole runs: conservation of requests, determinism, seeds that matter.

mod common;

#[test]
fn requests_are_conserved_even_with_timeouts() {
    // An overloaded site with a short timeout: many requests fail, some are in flight at the end.
    let loaded = common::load_with(
        "scenarios/examples/rubis.toml",
        &[
            "duration_s=600",
            r#"apps[0].clients.profile={ kind = "constant", value = 3000 }"#,
            "apps[0].tiers[1].replicas=1",
            "sla.request_timeout_s=2",
        ],
    );
    let s = common::run(&loaded).summary;
    assert!(
        s.users.requests_failed > 100,
        "the scenario must overload: {s:?}"
    );
    assert!(s.users.requests_in_flight > 0);
    assert_eq!(
        s.users.requests_issued,
        s.users.requests_completed + s.users.requests_failed + s.users.requests_in_flight
    );
    // Failed requests count as SLA violations.
    assert!(
        s.users.sla_violation_fraction
            >= s.users.requests_failed as f64 / s.users.requests_issued as f64 * 0.9
    );
}

#[test]
fn same_seed_gives_identical_outputs_and_another_seed_differs() {
    let sets = ["duration_s=900"];
    let a = common::run(&common::load_with("scenarios/examples/rubis.toml", &sets));
    let b = common::run(&common::load_with("scenarios/examples/rubis.toml", &sets));
    assert_eq!(a.timeseries_csv(), b.timeseries_csv());
    let strip = |mut s: reconf::report::Summary| {
        s.wall_seconds = 0.0;
        s.events_per_s = 0.0;
        s
    };
    assert_eq!(strip(a.summary.clone()), strip(b.summary.clone()));
    let c = common::run(&common::load_with(
        "scenarios/examples/rubis.toml",
        &["duration_s=900", "seed=2"],
    ));
    assert_ne!(a.timeseries_csv(), c.timeseries_csv());
    assert_ne!(
        a.summary.users.requests_completed,
        c.summary.users.requests_completed
    );
}

#[test]
fn open_loop_arrivals_follow_the_rate_profile() {
    // Poisson session arrivals at 5/s for 2000 s, each session one request: the expected
    // number of requests is 10,000, with a standard deviation of 100.
    let loaded = common::load_with(
        "scenarios/validation/mva.toml",
        &[
            r#"apps[0].clients.loop_kind="open""#,
            r#"apps[0].clients.profile={ kind = "steps", points = [[0, 5], [1000, 5]] }"#,
            "duration_s=2000",
            "warmup_s=0",
        ],
    );
    let s = common::run(&loaded).summary;
    let n = s.users.requests_issued as f64;
    assert!((n - 10_000.0).abs() < 4.0 * 100.0, "{n}");
    assert_eq!(s.users.sessions_started, s.users.requests_issued);
}

#[test]
fn active_clients_follow_the_closed_profile() {
    let loaded = common::load_with(
        "scenarios/examples/rubis.toml",
        &[
            "duration_s=300",
            r#"apps[0].clients.profile={ kind = "steps", points = [[0, 50], [100, 200], [200, 20]] }"#,
        ],
    );
    let out = common::run(&loaded);
    let at = |t: f64| {
        out.timeseries
            .iter()
            .find(|r| r.time_s == t)
            .expect("row")
            .users
            .active_clients
    };
    assert_eq!(at(90.0), 50);
    assert_eq!(at(190.0), 200);
    // Leaving clients finish their current step first: within a minute all 180 have gone.
    assert_eq!(at(290.0), 20);
}

#[test]
fn a_run_whose_simulated_time_stands_still_is_stopped_with_a_clear_error() {
    // The loader refuses what it can see stands still; a scenario changed behind its back (think
    // time and every demand 0: requests complete in no time, forever) is stopped at run time.
    let mut loaded = common::load_with(
        "scenarios/validation/mva.toml",
        &["duration_s=10", "warmup_s=0", "report_interval_s=1"],
    );
    let zero = reconf::scenario::schema::Distribution::Deterministic { mean_ms: 0.0 };
    let app = &mut loaded.scenario.apps[0];
    app.clients.think = zero.clone();
    for t in &mut app.tiers {
        t.demand = zero.clone();
    }
    let err = reconf::sim::Simulation::from_loaded(&loaded)
        .try_run()
        .expect_err("a stalled run is stopped");
    assert_eq!(err.at_s, 0.0);
    assert!(err.events > reconf::sim::STALL_EVENTS);
    let msg = err.to_string();
    assert!(
        msg.contains("no progress") && msg.contains("t = 0 s"),
        "{msg}"
    );
}
