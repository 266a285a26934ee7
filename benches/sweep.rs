//! Sweep throughput: the three example scenarios (full length, one simulated hour each) x 20
//! seeds on 2 threads, through the same engine as `reconf sweep` (run folders written, CSVs
//! aggregated), into a fresh folder each iteration so that nothing is resumed.
//! Target (issue 5): the paper scenarios x 20 seeds on 2 cores under 60 s; until they exist,
//! this measures the examples.

use criterion::{criterion_group, criterion_main, Criterion};
use reconf::batch::spec::{build, Seeds};
use reconf::batch::{run_sweep, Progress, SweepOptions};
use std::path::Path;

fn examples_20_seeds_2_threads(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let scenarios = ["rubis", "scripted-migration", "scripted-restart"]
        .iter()
        .map(|s| root.join(format!("scenarios/examples/{s}.toml")))
        .collect();
    let spec = build(scenarios, vec![], vec![], Seeds::count(20), &[]).expect("the examples load");
    let mut g = c.benchmark_group("sweep");
    g.sample_size(10);
    g.bench_function("examples_x20_seeds_2_threads", |b| {
        b.iter(|| {
            let dir = tempfile::tempdir().expect("temporary folder");
            let opts = SweepOptions::new(dir.path().join("sweep"), 2, Progress::Quiet);
            let report = run_sweep(&spec, &opts).expect("the sweep runs");
            assert_eq!(report.collected.ok, 60);
            report.collected.ok
        })
    });
    g.finish();
}

criterion_group!(benches, examples_20_seeds_2_threads);
criterion_main!(benches);
