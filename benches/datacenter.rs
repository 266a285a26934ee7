//! Datacenter consolidation at CloudSim's PlanetLab scale and beyond (issue 9): one PlanetLab
//! day (800 hosts, 1052 VMs, 24 h), loading the trace included, for the DVFS baseline and for
//! `lr-mmt`; and the cost in VMs x intervals at 1k / 10k / 100k trace VMs (one host per 10 VMs,
//! 24 h, each VM on a PlanetLab trace read from its own random offset). Targets: a day under
//! 0.2 s (CloudSim 5.0: about 20 s), 100k VMs under 5 s, cost linear in VMs.
//!
//! `cargo bench --bench datacenter` (`-- day` or `-- scale` for one group; `-- scale/1000_vms`
//! `-- scale/10000_vms` for the quick ones). Memory, from the CLI:
//! `/usr/bin/time -v target/release/reconf run scenarios/planetlab/lr-mmt.toml --out /tmp/day`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use reconf::scenario::load::load;
use reconf::sim::Simulation;
use std::path::Path;

fn scenario(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios/planetlab")
        .join(name)
}

/// Loads (the trace read and checked) and runs one scenario.
fn load_and_run(path: &Path, sets: &[String]) -> f64 {
    let loaded = load(path, sets).unwrap_or_else(|e| panic!("{e}"));
    Simulation::from_loaded(&loaded).run().summary.energy_kwh
}

fn day(c: &mut Criterion) {
    let mut g = c.benchmark_group("day");
    g.sample_size(10);
    for policy in POLICIES {
        let path = scenario(&format!("{policy}.toml"));
        if !path.exists() {
            continue;
        }
        g.bench_function(format!("planetlab_20110303_{policy}"), |b| {
            b.iter(|| load_and_run(&path, &[]))
        });
    }
    g.finish();
}

/// The scenarios of the day benchmark, when shipped.
const POLICIES: [&str; 2] = ["dvfs", "lr-mmt"];

fn scale(c: &mut Criterion) {
    let mut g = c.benchmark_group("scale");
    g.sample_size(10);
    let path = scenario("scale-100k.toml");
    // 100k VMs take 30 to 70 s a sample depending on the machine (10k: 2 to 3.5 s; 1k: 0.1 to
    // 0.2 s): `-- scale/1000_vms` and `-- scale/10000_vms` for the quick ones.
    for vms in [1_000u64, 10_000, 100_000] {
        let hosts = vms / 20; // per group of the two
        let sets = vec![
            format!("vms.0.count={vms}"),
            format!("infrastructure.nodes.0.count={hosts}"),
            format!("infrastructure.nodes.1.count={hosts}"),
        ];
        g.throughput(Throughput::Elements(vms * 288));
        g.bench_function(format!("{vms}_vms_24h"), |b| {
            b.iter(|| load_and_run(&path, &sets))
        });
    }
    g.finish();
}

criterion_group!(benches, day, scale);
criterion_main!(benches);
