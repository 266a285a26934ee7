//! Helpers shared by the integration tests.
#![allow(dead_code)]

use reconf::report::RunOutput;
use reconf::scenario::load::{load, Loaded};
use reconf::sim::Simulation;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

pub fn load_with(path: &str, sets: &[&str]) -> Loaded {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    load(&repo(path), &sets).unwrap_or_else(|e| panic!("{path} loads: {e}"))
}

pub fn run(loaded: &Loaded) -> RunOutput {
    Simulation::from_loaded(loaded).run()
}

/// Mean and half-width of a 95% confidence interval (Student t) of independent samples.
pub fn mean_ci95(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    // t quantiles for 2..=10 samples (n-1 = 1..=9 degrees of freedom).
    let t = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262,
    ];
    let q = t.get(xs.len() - 2).copied().unwrap_or(2.0);
    (mean, q * (var / n).sqrt())
}

/// Runs the `reconf` binary with `args` in `cwd`.
pub fn reconf(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_reconf"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("reconf runs")
}

/// A command's standard error, as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A `summary.json` or `sweep.json` without the keys that are not results (wall-clock time,
/// provenance): what every byte-for-byte determinism comparison compares.
#[allow(dead_code)]
pub fn comparable_json(text: &str) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_str(text).expect("json");
    if let Some(o) = v.as_object_mut() {
        for k in reconf::report::output::UNCOMPARED_KEYS {
            o.remove(k);
        }
    }
    v
}

/// Writes `text` as `name` in `dir` and returns its path as a string.
pub fn file(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// A small valid scenario (one two-tier application, 2 minutes) for the command-line tests.
pub const SMALL: &str = r#"
name = "small"
duration_s = 120

[[apps]]
name = "shop"

[apps.clients]
mix = "bidding"
profile = { kind = "constant", value = 50 }

[[apps.tiers]]
name = "web"
demand = { dist = "exponential", mean_ms = 2 }

[[apps.tiers]]
name = "db"
demand = { dist = "exponential", mean_ms = 4 }
"#;
