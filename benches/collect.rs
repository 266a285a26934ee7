//! Collecting a large sweep: the tables (runs.csv, runs-long.csv, aggregate.csv and their
//! Parquet twins) of a sweep folder of RECONF_BENCH_RUNS runs (default 10^5: 100 configurations
//! x 1000 seeds, summaries only, as `--keep summaries` leaves them), built once before the
//! measurement from a real summary of the seed's experiment with per-run values.
//! Target (issue 13): under a minute, memory flat in the number of runs.
//!
//! Memory, with the folder kept (RECONF_BENCH_KEEP=DIR) and the collect job's own command:
//!   RECONF_BENCH_RUNS=10000 RECONF_BENCH_KEEP=/tmp/c4 cargo bench --bench collect
//!   RECONF_BENCH_KEEP=/tmp/c5 cargo bench --bench collect
//!   /usr/bin/time -v target/release/reconf sweep-collect /tmp/c4   # "Maximum resident set size"
//!   /usr/bin/time -v target/release/reconf sweep-collect /tmp/c5

use criterion::{criterion_group, criterion_main, Criterion};
use reconf::batch::collect::{collect, run_dir};
use reconf::batch::slurm::Stored;
use reconf::batch::spec::{Axis, RunKey, ScenarioRef, Seeds, SweepSpec};
use reconf::batch::Keep;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn spec(runs: u64) -> SweepSpec {
    let configs = 100u64.min(runs);
    SweepSpec {
        scenarios: vec![ScenarioRef {
            label: "synthetic".into(),
            path: PathBuf::from("synthetic.toml"),
        }],
        fixed_sets: vec![],
        axes: vec![Axis {
            column: "policy.params.high".into(),
            values: (0..configs).map(|i| format!("0.{:03}", 500 + i)).collect(),
        }],
        seeds: Seeds::count(runs / configs),
        applies: vec![vec![true]],
        baseline: vec![(0, 0)],
    }
}

/// Writes one summary per run, derived from a committed one: every float scaled a little per
/// run, so that the statistics have something to do.
fn build(spec: &SweepSpec, dir: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let template =
        std::fs::read_to_string(root.join("results/paper/steps/runs/c000-s001/summary.json"))
            .expect("a committed summary");
    let template: serde_json::Value = serde_json::from_str(&template).expect("json");
    fn scale(v: &mut serde_json::Value, f: f64) {
        match v {
            serde_json::Value::Number(n) if n.is_f64() => {
                *v = serde_json::json!(n.as_f64().unwrap() * f);
            }
            serde_json::Value::Object(m) => m.values_mut().for_each(|x| scale(x, f)),
            _ => {}
        }
    }
    for r in spec.runs() {
        let mut v = template.clone();
        scale(
            &mut v,
            1.0 + (r.config as f64) * 1e-3 + (r.seed as f64 % 97.0) * 1e-4,
        );
        v["seed"] = r.seed.into();
        let d = run_dir(
            dir,
            &RunKey {
                config: r.config,
                seed: r.seed,
            }
            .id(),
        );
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            d.join("summary.json"),
            serde_json::to_string_pretty(&v).unwrap(),
        )
        .unwrap();
    }
    // What `reconf sweep-collect DIR` reads, to measure its memory with /usr/bin/time.
    let stored = Stored {
        spec: spec.clone(),
        keep: Keep::Summaries { full_seeds: vec![] },
        cwd: dir.to_path_buf(),
    };
    std::fs::create_dir_all(dir.join("slurm")).unwrap();
    std::fs::write(
        dir.join("slurm/spec.json"),
        serde_json::to_string(&stored).unwrap(),
    )
    .unwrap();
}

fn collect_many_runs(c: &mut Criterion) {
    let runs: u64 = std::env::var("RECONF_BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let spec = spec(runs);
    let tmp = tempfile::tempdir().expect("temporary folder");
    let dir = match std::env::var_os("RECONF_BENCH_KEEP") {
        Some(p) => PathBuf::from(p),
        None => tmp.path().join("sweep"),
    };
    let t = Instant::now();
    build(&spec, &dir);
    eprintln!(
        "built {} run folders in {:.1} s",
        spec.run_count(),
        t.elapsed().as_secs_f64()
    );
    let mut g = c.benchmark_group("collect");
    g.sample_size(10);
    g.bench_function(format!("runs_{}", spec.run_count()), |b| {
        b.iter(|| {
            let got = collect(&spec, &dir).expect("collects");
            assert_eq!(got.ok, spec.run_count());
            got.ok
        })
    });
    g.finish();
    for f in reconf::batch::collect::TABLE_FILES {
        let size = std::fs::metadata(dir.join(f)).map(|m| m.len()).unwrap_or(0);
        eprintln!("{f}: {:.1} MB", size as f64 / 1e6);
    }
}

criterion_group!(benches, collect_many_runs);
criterion_main!(benches);
