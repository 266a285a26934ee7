//! One RUBiS application (scenarios/examples/rubis.toml) with 2,000 clients for one simulated
//! hour. Target: under 1 s of wall time. Memory is reported by `reconf run` under
//! `/usr/bin/time -v` (see the issue notes), not here.

use criterion::{criterion_group, criterion_main, Criterion};
use reconf::scenario::load::load;
use reconf::sim::Simulation;
use std::path::Path;

fn rubis_2000_clients_1h(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/examples/rubis.toml");
    let loaded = load(
        &path,
        &[
            r#"apps[0].clients.profile={ kind = "constant", value = 2000 }"#.to_string(),
            "duration_s=3600".to_string(),
        ],
    )
    .expect("shipped scenario loads");
    let mut g = c.benchmark_group("rubis");
    g.sample_size(10);
    g.bench_function("2000_clients_1h", |b| {
        b.iter(|| {
            let out = Simulation::new(&loaded.scenario, loaded.mixes.clone()).run();
            assert!(out.summary.users.requests_completed > 0);
            out.summary.events
        })
    });
    g.finish();
}

criterion_group!(benches, rubis_2000_clients_1h);
criterion_main!(benches);
