//! `reconf sweep`: the product of axes and seeds, paired seeds, determinism whatever `-j`,
//! resuming after a kill, failed runs recorded, confidence intervals, bad input.

mod common;
use common::{reconf, stderr};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const SMALL: &str = r#"
name = "small"
duration_s = 60

[[apps]]
name = "shop"

[apps.clients]
mix = "bidding"
profile = { kind = "constant", value = 30 }

[[apps.tiers]]
name = "web"
demand = { dist = "exponential", mean_ms = 2 }

[[apps.tiers]]
name = "db"
demand = { dist = "exponential", mean_ms = 4 }
"#;

/// A folder with `small.toml`.
fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("small.toml"), SMALL).unwrap();
    dir
}

/// A CSV as rows of column → cell.
fn csv_rows(path: &Path) -> Vec<HashMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            header
                .iter()
                .cloned()
                .zip(rec.iter().map(String::from))
                .collect()
        })
        .collect()
}

fn read(p: impl AsRef<Path>) -> String {
    std::fs::read_to_string(p.as_ref()).unwrap_or_else(|e| panic!("{}: {e}", p.as_ref().display()))
}

const PROFILE_AXIS: &str =
    r#"apps[0].clients.profile={kind = "constant", value = 20},{kind = "constant", value = 40}"#;

#[test]
fn the_product_of_axes_and_seeds_with_stable_ids_and_shared_seeds() {
    let dir = setup();
    let o = reconf(
        &[
            "sweep",
            "small.toml",
            "--seeds",
            "3",
            "--set",
            "apps[0].tiers[0].cores=1,2",
            "--set",
            PROFILE_AXIS,
            "-j",
            "2",
            "--out",
            "sw",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = csv_rows(&dir.path().join("sw/runs.csv"));
    assert_eq!(rows.len(), 2 * 2 * 3);
    let ids: Vec<&str> = rows.iter().map(|r| r["id"].as_str()).collect();
    assert_eq!(
        &ids[..4],
        ["c000-s001", "c000-s002", "c000-s003", "c001-s001"]
    );
    assert_eq!(ids[11], "c003-s003");
    // The profile axis, split on top-level commas only, has two values (inline tables).
    let profiles: Vec<&str> = rows
        .iter()
        .map(|r| r["apps[0].clients.profile"].as_str())
        .collect();
    assert_eq!(profiles[0], r#"{kind = "constant", value = 20}"#);
    assert_eq!(profiles[3], r#"{kind = "constant", value = 40}"#);
    // Every configuration runs seeds 1..=3 (paired), and every combination appears once.
    let mut combos = Vec::new();
    for r in &rows {
        assert_eq!(r["status"], "ok");
        combos.push((
            r["apps[0].tiers[0].cores"].clone(),
            r["apps[0].clients.profile"].clone(),
        ));
    }
    for c in 0..4 {
        let seeds: Vec<&str> = rows
            .iter()
            .filter(|r| r["config"] == c.to_string())
            .map(|r| r["seed"].as_str())
            .collect();
        assert_eq!(seeds, ["1", "2", "3"]);
    }
    combos.dedup();
    assert_eq!(combos.len(), 4);
    // More clients, more requests: the axis really reached the runs.
    let issued = |i: usize| rows[i]["requests_issued"].parse::<f64>().unwrap();
    assert!(
        issued(3) > 1.5 * issued(0),
        "{} vs {}",
        issued(3),
        issued(0)
    );

    // A run folder is exactly what `reconf run` writes for that configuration and seed.
    let o = reconf(
        &[
            "run",
            "small.toml",
            "--seed",
            "2",
            "--set",
            "apps[0].tiers[0].cores=2",
            "--set",
            r#"apps[0].clients.profile={kind = "constant", value = 40}"#,
            "--out",
            "single",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let run = dir.path().join("sw/runs/c003-s002");
    for f in [
        "scenario.toml",
        "timeseries.csv",
        "nodes.csv",
        "actions.csv",
    ] {
        assert_eq!(
            read(run.join(f)),
            read(dir.path().join("single").join(f)),
            "{f}"
        );
    }
    let strip = |p: PathBuf| {
        let mut v: serde_json::Value = serde_json::from_str(&read(p)).unwrap();
        let o = v.as_object_mut().unwrap();
        o.remove("wall_seconds");
        o.remove("events_per_s");
        v
    };
    assert_eq!(
        strip(run.join("summary.json")),
        strip(dir.path().join("single/summary.json"))
    );
}

fn small_sweep(dir: &Path, out: &str, jobs: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "sweep",
        "small.toml",
        "--seeds",
        "4",
        "--set",
        "apps[0].tiers[1].cores=1,2,3",
        "--baseline",
        "cores=2",
        "-j",
        jobs,
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    reconf(&args, dir)
}

#[test]
fn results_are_identical_whatever_the_number_of_threads() {
    let dir = setup();
    let a = small_sweep(dir.path(), "a", "1", &[]);
    let b = small_sweep(dir.path(), "b", "2", &[]);
    assert!(
        a.status.success() && b.status.success(),
        "{}{}",
        stderr(&a),
        stderr(&b)
    );
    for f in ["runs.csv", "aggregate.csv", "sweep.json"] {
        assert_eq!(
            read(dir.path().join("a").join(f)),
            read(dir.path().join("b").join(f)),
            "{f}"
        );
    }
}

#[test]
fn confidence_intervals_and_paired_differences_match_the_runs() {
    let dir = setup();
    let o = small_sweep(dir.path(), "sw", "2", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let runs = csv_rows(&dir.path().join("sw/runs.csv"));
    let agg = csv_rows(&dir.path().join("sw/aggregate.csv"));
    assert_eq!(agg.len(), 3);
    let key = "mean_response_ms";
    let values = |cores: &str| -> Vec<f64> {
        runs.iter()
            .filter(|r| r["apps[0].tiers[1].cores"] == cores)
            .map(|r| r[key].parse().unwrap())
            .collect()
    };
    let t3 = 3.182_446_305; // t(0.975, 3): 4 seeds
    for (row, cores) in agg.iter().zip(["1", "2", "3"]) {
        let xs = values(cores);
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let sd = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        let get = |s: &str| row[&format!("{key}.{s}")].parse::<f64>().unwrap();
        assert_eq!(get("n"), 4.0);
        assert!((get("mean") - mean).abs() < 1e-9 * mean);
        assert!((get("sd") - sd).abs() < 1e-9 * sd.max(1e-12));
        let half = t3 * sd / n.sqrt();
        assert!((get("ci_low") - (mean - half)).abs() < 1e-6 * mean);
        assert!((get("ci_high") - (mean + half)).abs() < 1e-6 * mean);
        // Paired differences against 2 cores, seed by seed.
        let base = values("2");
        let d: Vec<f64> = xs.iter().zip(&base).map(|(x, b)| x - b).collect();
        let dm = d.iter().sum::<f64>() / n;
        assert!((get("diff_mean") - dm).abs() < 1e-9 * mean, "{cores}");
        assert_eq!(row["baseline"], "1");
        if cores == "2" {
            assert_eq!((get("diff_ci_low"), get("diff_ci_high")), (0.0, 0.0));
        }
    }
    // Common random numbers: one core is slower than two on every seed, and the paired
    // interval, unlike the two independent ones, sees it clearly.
    let one = &agg[0];
    let lo = one[&format!("{key}.diff_ci_low")].parse::<f64>().unwrap();
    assert!(lo > 0.0, "paired CI excludes 0: {lo}");
}

/// Modification time of a file, to tell whether a run was redone.
fn mtime(p: &Path) -> std::time::SystemTime {
    std::fs::metadata(p).unwrap().modified().unwrap()
}

#[test]
fn a_resumed_sweep_redoes_only_unfinished_runs_and_gives_the_same_files() {
    let dir = setup();
    let o = small_sweep(dir.path(), "sw", "2", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let sw = dir.path().join("sw");
    let before_runs = read(sw.join("runs.csv"));
    let before_agg = read(sw.join("aggregate.csv"));
    let kept = sw.join("runs/c000-s001/summary.json");
    let kept_time = mtime(&kept);
    std::thread::sleep(Duration::from_millis(20));
    // As after a kill: a run without its summary (killed before the last write), a run folder
    // with only a temporary file, a run never started, and torn CSVs.
    std::fs::remove_file(sw.join("runs/c001-s002/summary.json")).unwrap();
    std::fs::remove_dir_all(sw.join("runs/c002-s004")).unwrap();
    std::fs::create_dir_all(sw.join("runs/c002-s004")).unwrap();
    std::fs::write(sw.join("runs/c002-s004/.summary.json.999.tmp"), "{\"sce").unwrap();
    std::fs::remove_dir_all(sw.join("runs/c000-s003")).unwrap();
    std::fs::write(sw.join("runs.csv"), &before_runs[..before_runs.len() / 2]).unwrap();
    std::fs::remove_file(sw.join("aggregate.csv")).unwrap();

    let o = small_sweep(dir.path(), "sw", "2", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("3 run now, 9 kept from before"),
        "{}",
        stderr(&o)
    );
    assert_eq!(mtime(&kept), kept_time, "a finished run was redone");
    assert!(!sw.join("runs/c002-s004/.summary.json.999.tmp").exists());
    assert_eq!(read(sw.join("runs.csv")), before_runs);
    assert_eq!(read(sw.join("aggregate.csv")), before_agg);
    // Nothing temporary left behind.
    for e in std::fs::read_dir(&sw).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.ends_with(".tmp"), "{name}");
    }
}

#[test]
fn a_sweep_killed_at_any_time_resumes_to_the_same_results() {
    let dir = setup();
    // Longer, busier runs so that the kills land mid-sweep.
    let extra = [
        "--set",
        "duration_s=3600",
        "--set",
        r#"apps[0].clients.profile={kind="constant", value=200}"#,
    ];
    let start = std::time::Instant::now();
    let o = small_sweep(dir.path(), "reference", "2", &extra);
    let full = start.elapsed();
    assert!(o.status.success(), "{}", stderr(&o));
    let mut interrupted = 0;
    for (i, fraction) in [0.2, 0.5, 0.8].into_iter().enumerate() {
        let out = format!("killed-{i}");
        let mut args: Vec<&str> = vec![
            "sweep",
            "small.toml",
            "--seeds",
            "4",
            "--set",
            "apps[0].tiers[1].cores=1,2,3",
            "--baseline",
            "cores=2",
            "-j",
            "2",
            "--out",
            &out,
        ];
        args.extend_from_slice(&extra);
        let mut child = Command::new(env!("CARGO_BIN_EXE_reconf"))
            .args(&args)
            .current_dir(dir.path())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(full.mul_f64(fraction));
        child.kill().unwrap(); // SIGKILL: no cleanup of any kind
        child.wait().unwrap();
        if !dir.path().join(&out).join("aggregate.csv").exists() {
            interrupted += 1;
        }
        let o = small_sweep(dir.path(), &out, "2", &extra);
        assert!(o.status.success(), "{}", stderr(&o));
        for f in ["runs.csv", "aggregate.csv"] {
            assert_eq!(
                read(dir.path().join(&out).join(f)),
                read(dir.path().join("reference").join(f)),
                "{f} after a kill at {fraction} of the sweep"
            );
        }
    }
    assert!(
        interrupted >= 2,
        "the kills did not interrupt the sweep ({full:?})"
    );
}

#[test]
fn a_failing_configuration_is_recorded_and_the_others_complete() {
    let dir = setup();
    let o = reconf(
        &[
            "sweep",
            "small.toml",
            "--seeds",
            "2",
            "--set",
            "apps[0].tiers[1].cores=2,0,-1",
            "--out",
            "sw",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("4 of 6 runs failed"), "{}", stderr(&o));
    let rows = csv_rows(&dir.path().join("sw/runs.csv"));
    let status: Vec<&str> = rows.iter().map(|r| r["status"].as_str()).collect();
    assert_eq!(status, ["ok", "ok", "failed", "failed", "failed", "failed"]);
    assert!(
        rows[2]["error"].contains("apps[0].tiers[1].cores"),
        "{}",
        rows[2]["error"]
    );
    assert!(rows[2]["mean_response_ms"].is_empty());
    let err = read(dir.path().join("sw/runs/c001-s001/error.txt"));
    assert!(err.contains("--set apps[0].tiers[1].cores=0"), "{err}");
    assert!(dir.path().join("sw/runs/c000-s002/summary.json").is_file());
    let agg = csv_rows(&dir.path().join("sw/aggregate.csv"));
    assert_eq!(
        (agg[0]["runs_ok"].as_str(), agg[1]["runs_ok"].as_str()),
        ("2", "0")
    );
    assert_eq!(agg[1]["runs_failed"], "2");
    assert!(agg[1]["mean_response_ms.mean"].is_empty());
}

#[test]
fn a_sweep_file_is_the_same_sweep_as_its_command_line() {
    let dir = setup();
    std::fs::write(
        dir.path().join("s.toml"),
        r#"[sweep]
scenarios = ["small.toml"]
seeds = 2
[[sweep.axes]]
path = "apps[0].tiers[1].cores"
values = [1, 2]
[[sweep.axes]]
path = "apps[0].clients.profile"
values = [{ kind = "constant", value = 20 }, { kind = "constant", value = 40 }]
"#,
    )
    .unwrap();
    let a = reconf(&["sweep", "s.toml", "--out", "a", "-q"], dir.path());
    let b = reconf(
        &[
            "sweep",
            "small.toml",
            "--seeds",
            "2",
            "--set",
            "apps[0].tiers[1].cores=1,2",
            "--set",
            // Spaced as the sweep file's inline tables are rendered, so the columns match too.
            r#"apps[0].clients.profile={ kind = "constant", value = 20 },{ kind = "constant", value = 40 }"#,
            "--out",
            "b",
            "-q",
        ],
        dir.path(),
    );
    assert!(
        a.status.success() && b.status.success(),
        "{}{}",
        stderr(&a),
        stderr(&b)
    );
    assert_eq!(
        read(dir.path().join("a/runs.csv")),
        read(dir.path().join("b/runs.csv"))
    );
}

#[test]
fn several_scenarios_make_a_scenario_axis_with_a_baseline() {
    let dir = setup();
    std::fs::write(
        dir.path().join("bigger.toml"),
        SMALL.replace("value = 30", "value = 60"),
    )
    .unwrap();
    let o = reconf(
        &[
            "sweep",
            "small.toml",
            "bigger.toml",
            "--seeds",
            "2",
            "--baseline",
            "scenario=small",
            "--out",
            "sw",
            "-q",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let agg = csv_rows(&dir.path().join("sw/aggregate.csv"));
    let labels: Vec<&str> = agg.iter().map(|r| r["scenario"].as_str()).collect();
    assert_eq!(labels, ["small", "bigger"]);
    let d: f64 = agg[1]["requests_issued.diff_mean"].parse().unwrap();
    assert!(d > 0.0, "twice the clients issue more requests: {d}");
}

/// Bad input: exit 2, one line on stderr naming the culprit, nothing written.
fn assert_bad(dir: &Path, args: &[&str], expected: &str) {
    let o = reconf(args, dir);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    assert!(err.contains(expected), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!dir.join("bad").exists(), "{args:?} wrote output");
}

#[test]
fn bad_input_is_one_line_exit_2_and_writes_nothing() {
    let dir = setup();
    let d = dir.path();
    assert_bad(
        d,
        &["sweep", "missing.toml", "--seeds", "2", "--out", "bad"],
        "missing.toml",
    );
    assert_bad(d, &["sweep", "small.toml", "--out", "bad"], "--seeds");
    assert_bad(
        d,
        &["sweep", "small.toml", "--seeds", "0", "--out", "bad"],
        "at least 1",
    );
    assert_bad(
        d,
        &[
            "sweep",
            "small.toml",
            "--seeds",
            "2",
            "--set",
            "duration_s",
            "--out",
            "bad",
        ],
        "--set duration_s: expected",
    );
    assert_bad(
        d,
        &[
            "sweep",
            "small.toml",
            "--seeds",
            "2",
            "--set",
            "duration_s=[1,2",
            "--out",
            "bad",
        ],
        "unclosed",
    );
    assert_bad(
        d,
        &[
            "sweep",
            "small.toml",
            "--seeds",
            "2",
            "--set",
            "duration_s=1,,2",
            "--out",
            "bad",
        ],
        "empty",
    );
    // A key that no configuration accepts is bad input, not a batch of failed runs.
    assert_bad(
        d,
        &[
            "sweep",
            "small.toml",
            "--seeds",
            "2",
            "--set",
            "apps[0].nope=1,2",
            "--out",
            "bad",
        ],
        "nope",
    );
    assert_bad(
        d,
        &[
            "sweep",
            "small.toml",
            "--seeds",
            "2",
            "--set",
            "duration_s=60,120",
            "--baseline",
            "duration_s=90",
            "--out",
            "bad",
        ],
        "not a value",
    );
    assert_bad(
        d,
        &[
            "sweep",
            "small.toml",
            "--seeds",
            "2",
            "-j",
            "0",
            "--out",
            "bad",
        ],
        "thread",
    );
    std::fs::write(
        d.join("sweep.toml"),
        "[sweep]\nscenarios = [\"small.toml\"]\nseed = 3\n",
    )
    .unwrap();
    assert_bad(d, &["sweep", "sweep.toml", "--out", "bad"], "sweep.toml:3");
    // An existing folder that is not a sweep folder is not overwritten.
    std::fs::create_dir_all(d.join("other")).unwrap();
    std::fs::write(d.join("other/keep.txt"), "mine").unwrap();
    assert_bad(
        d,
        &["sweep", "small.toml", "--seeds", "1", "--out", "other"],
        "not a sweep folder",
    );
    assert_eq!(read(d.join("other/keep.txt")), "mine");
}

#[test]
fn resuming_with_different_arguments_is_refused() {
    let dir = setup();
    let o = reconf(
        &["sweep", "small.toml", "--seeds", "1", "--out", "sw", "-q"],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let before = read(dir.path().join("sw/runs.csv"));
    // Same folder, but the scenario changed: the finished run is not a run of this sweep.
    std::fs::write(
        dir.path().join("small.toml"),
        SMALL.replace("value = 30", "value = 31"),
    )
    .unwrap();
    let o = reconf(
        &["sweep", "small.toml", "--seeds", "1", "--out", "sw"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("not a run of this sweep"),
        "{}",
        stderr(&o)
    );
    assert_eq!(read(dir.path().join("sw/runs.csv")), before);
}
