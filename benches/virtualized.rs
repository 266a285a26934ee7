//! Reconfiguration mechanisms at scale.
//! - A virtualized RUBiS application: 50 VMs on 20 nodes, 2,000 clients, a live migration every
//!   minute, one simulated hour. Target: under 1 s.
//! - A hosting centre: 100 applications (500 VMs) on 200 nodes, 20,000 clients in all, one
//!   simulated hour. Target: under 15 s and 500 MB (memory: see the issue notes, measured with
//!   `/usr/bin/time -v` on the `hosting_centre` example); at least 8 M events/s.
//!
//! Throughput is in events (a run's `summary.events`, the same every iteration), so criterion
//! prints events/s.

mod common;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use reconf::scenario::load::Loaded;
use reconf::sim::Simulation;

/// Events of one run of `loaded` (the same every run).
fn events(loaded: &Loaded) -> u64 {
    Simulation::new(&loaded.scenario, loaded.mixes.clone())
        .run()
        .summary
        .events
}

fn virtualized(c: &mut Criterion) {
    let one_app = common::cluster(1, [10, 25, 15], 20, 2000, 3600.0, 60.0);
    let centre = common::cluster(100, [1, 2, 2], 200, 200, 3600.0, 0.0);
    let mut g = c.benchmark_group("virtualized");
    g.sample_size(10);
    g.throughput(Throughput::Elements(events(&one_app)));
    g.bench_function("50vms_20nodes_2000_clients_migration_per_minute_1h", |b| {
        b.iter(|| {
            let out = Simulation::new(&one_app.scenario, one_app.mixes.clone()).run();
            assert!(out.summary.migrations >= 50, "{}", out.summary.migrations);
            out.summary.events
        })
    });
    g.throughput(Throughput::Elements(events(&centre)));
    g.bench_function(
        "hosting_centre_100apps_500vms_200nodes_20000_clients_1h",
        |b| {
            b.iter(|| {
                let out = Simulation::new(&centre.scenario, centre.mixes.clone()).run();
                out.summary.events
            })
        },
    );
    g.finish();
}

criterion_group!(benches, virtualized);
criterion_main!(benches);
