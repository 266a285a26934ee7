//! Per-application results: each application of a multi-application run is reported on its
//! own, and the totals are exactly the union of the applications.
//!
//! Two independent closed networks (own clients, own dedicated servers) run in one scenario:
//! each must agree with its own exact Mean Value Analysis, as a single-application run would,
//! so nothing of one application leaks into the other's figures.

mod common;
use reconf::scenario::load::load;

/// Exact MVA of N clients, think time z_s, single-server PS stations of demands d_s:
/// (throughput in req/s, mean response time in s).
fn mva(n: u32, z_s: f64, d_s: &[f64]) -> (f64, f64) {
    let mut q = vec![0.0; d_s.len()];
    let (mut x, mut r) = (0.0, 0.0);
    for k in 1..=n {
        let rk: Vec<f64> = d_s.iter().zip(&q).map(|(d, qi)| d * (1.0 + qi)).collect();
        r = rk.iter().sum();
        x = f64::from(k) / (z_s + r);
        q = rk.iter().map(|ri| x * ri).collect();
    }
    (x, r)
}

/// An application of `n` clients (think time 1 s) on two single-core tiers.
fn app(name: &str, n: u32, d_ms: [f64; 2]) -> String {
    format!(
        r#"
[[apps]]
name = "{name}"
[apps.clients]
mix = "weighted"
interactions = [{{ name = "request", probability = 1.0 }}]
session_requests = 1
think = {{ dist = "exponential", mean_ms = 1000 }}
profile = {{ kind = "constant", value = {n} }}
[[apps.tiers]]
name = "front"
demand = {{ dist = "exponential", mean_ms = {} }}
[[apps.tiers]]
name = "back"
demand = {{ dist = "exponential", mean_ms = {} }}
"#,
        d_ms[0], d_ms[1]
    )
}

#[test]
fn each_application_matches_its_own_mva_and_the_totals_are_their_union() {
    const Z_S: f64 = 1.0;
    let (shop, wiki) = ((40u32, [5.0, 20.0]), (15u32, [30.0, 2.0]));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("two-apps.toml");
    let text = format!(
        "name = \"two-apps\"\nseed = 3\nduration_s = 20000\nwarmup_s = 100\nreport_interval_s = 1000\n\
         [sla]\nresponse_target_ms = 100\nrequest_timeout_s = 0\n{}{}",
        app("shop", shop.0, shop.1),
        app("wiki", wiki.0, wiki.1)
    );
    std::fs::write(&path, text).unwrap();
    let loaded = load(&path, &[]).unwrap();
    let out = common::run(&loaded);
    let s = &out.summary;
    assert_eq!(s.apps.len(), 2);
    for (name, (n, d_ms)) in [("shop", shop), ("wiki", wiki)] {
        let a = &s.apps[name];
        let d_s: Vec<f64> = d_ms.iter().map(|d| d / 1000.0).collect();
        let (x, r) = mva(n, Z_S, &d_s);
        let (xs, rs) = (a.throughput_rps, a.mean_response_ms / 1000.0);
        eprintln!(
            "{name}: X {xs:.3} vs MVA {x:.3}; R {:.2} vs {:.2} ms",
            rs * 1e3,
            r * 1e3
        );
        // About 20,000 s x 30 req/s of each: well within 3% of exact theory.
        assert!(
            (xs - x).abs() / x < 0.03,
            "{name}: throughput {xs} vs MVA {x}"
        );
        assert!(
            (rs - r).abs() / r < 0.03,
            "{name}: response {rs} vs MVA {r}"
        );
    }
    // The totals are the union of the applications, exactly.
    let (a, b) = (&s.apps["shop"], &s.apps["wiki"]);
    let u = &s.users;
    assert_eq!(u.requests_issued, a.requests_issued + b.requests_issued);
    assert_eq!(
        u.requests_completed,
        a.requests_completed + b.requests_completed
    );
    assert_eq!(u.sessions_started, a.sessions_started + b.sessions_started);
    assert_eq!(
        u.requests_in_flight,
        a.requests_in_flight + b.requests_in_flight
    );
    assert!((u.throughput_rps - (a.throughput_rps + b.throughput_rps)).abs() < 1e-9);
    // Window counts: completed requests = throughput x window for each.
    let (na, nb) = (a.throughput_rps * 19_900.0, b.throughput_rps * 19_900.0);
    let mean = (a.mean_response_ms * na + b.mean_response_ms * nb) / (na + nb);
    assert!(
        (u.mean_response_ms - mean).abs() < 1e-9 * mean,
        "{} vs {mean}",
        u.mean_response_ms
    );
    let (lo, hi) = (
        a.p95_response_ms.min(b.p95_response_ms),
        a.p95_response_ms.max(b.p95_response_ms),
    );
    assert!(lo <= u.p95_response_ms && u.p95_response_ms <= hi);
    // The time series has each application's columns, and they add up to the totals.
    let csv = out.timeseries_csv();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    for col in [
        "apps.shop.throughput_rps",
        "apps.wiki.p95_response_ms",
        "tier_utilisation.wiki.back",
    ] {
        assert!(header.contains(&col), "{col} in {header:?}");
    }
    for r in &out.timeseries {
        assert_eq!(
            r.users.active_clients,
            r.apps[0].active_clients + r.apps[1].active_clients
        );
        assert!(
            (r.users.throughput_rps - r.apps[0].throughput_rps - r.apps[1].throughput_rps).abs()
                < 1e-9
        );
    }
}

#[test]
fn a_single_application_is_its_own_total() {
    let loaded = common::load_with("scenarios/examples/rubis.toml", &["duration_s=600"]);
    let out = common::run(&loaded);
    let s = &out.summary;
    assert_eq!(s.apps.len(), 1);
    assert_eq!(s.apps["rubis"], s.users);
    for r in &out.timeseries {
        assert_eq!(r.apps, vec![r.users.clone()]);
    }
}
