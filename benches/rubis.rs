//! One RUBiS application (scenarios/examples/rubis.toml) for one simulated hour, at a constant
//! 2,000 clients (1 web, 2 application, 1 database replicas: target under 1 s of wall time) and
//! at 20,000 clients (3 web, 29 application, 14 database replicas, at about the same tier
//! utilisations as the 2,000-client run or lower). The cost of an event should not grow with
//! the population: the 20,000-client run should reach at least 80% of the 2,000-client run's
//! events per second. Throughput is in events (a run's `summary.events`, the same every
//! iteration), so criterion prints events/s. Memory is reported by `reconf run` under
//! `/usr/bin/time -v` (see the issue notes), not here.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use reconf::scenario::load::{load, Loaded};
use reconf::sim::Simulation;
use std::path::Path;

/// The shipped RUBiS scenario for one hour at a constant `clients`, with `replicas` (web, app,
/// db).
fn rubis(clients: u32, replicas: [u32; 3]) -> Loaded {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/examples/rubis.toml");
    let mut sets = vec![
        format!(r#"apps[0].clients.profile={{ kind = "constant", value = {clients} }}"#),
        "duration_s=3600".to_string(),
    ];
    for (tier, n) in replicas.iter().enumerate() {
        sets.push(format!("apps[0].tiers[{tier}].replicas={n}"));
    }
    load(&path, &sets).expect("shipped scenario loads")
}

fn bench_one(c: &mut Criterion, name: &str, loaded: &Loaded) {
    let events = Simulation::new(&loaded.scenario, loaded.mixes.clone())
        .run()
        .summary
        .events;
    let mut g = c.benchmark_group("rubis");
    g.sample_size(10);
    g.throughput(Throughput::Elements(events));
    g.bench_function(name, |b| {
        b.iter(|| {
            let out = Simulation::from_loaded(loaded).run();
            assert!(out.summary.users.requests_completed > 0);
            assert_eq!(out.summary.events, events, "a run is deterministic");
            out.summary.events
        })
    });
    g.finish();
}

fn rubis_2000_clients_1h(c: &mut Criterion) {
    bench_one(c, "2000_clients_1h", &rubis(2000, [1, 2, 1]));
}

fn rubis_20000_clients_1h(c: &mut Criterion) {
    bench_one(c, "20000_clients_1h", &rubis(20_000, [3, 29, 14]));
}

criterion_group!(benches, rubis_2000_clients_1h, rubis_20000_clients_1h);
criterion_main!(benches);
