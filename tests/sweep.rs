//! `reconf sweep`: the product of axes and seeds, paired seeds, determinism whatever `-j`,
//! resuming after a kill, failed runs recorded, confidence intervals, bad input.

mod common;
use common::{reconf, stderr};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// The command-line tests' small scenario, with 30 clients for 60 s.
fn small() -> String {
    common::SMALL
        .replace("value = 50", "value = 30")
        .replace("duration_s = 120", "duration_s = 60")
}

/// A folder with `small.toml`.
fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("small.toml"), small()).unwrap();
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
    let strip = |p: PathBuf| common::comparable_json(&read(p));
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
    assert_same_tables(&dir.path().join("a"), &dir.path().join("b"));
}

/// Two sweep folders hold byte-identical tables (CSV and Parquet) and the same sweep.json but
/// for its provenance.
fn assert_same_tables(a: &Path, b: &Path) {
    for f in reconf::batch::collect::TABLE_FILES {
        assert!(a.join(f).is_file(), "{f}");
        assert!(
            std::fs::read(a.join(f)).unwrap() == std::fs::read(b.join(f)).unwrap(),
            "{f} differs"
        );
    }
    assert_eq!(
        common::comparable_json(&read(a.join("sweep.json"))),
        common::comparable_json(&read(b.join("sweep.json")))
    );
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
        small().replace("value = 30", "value = 60"),
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
        small().replace("value = 30", "value = 31"),
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

/// The provenance of a file: its `provenance` object.
fn provenance_of(p: impl AsRef<Path>) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(&read(p)).unwrap();
    v["provenance"].clone()
}

#[test]
fn summaries_and_sweeps_record_their_provenance() {
    let dir = setup();
    let d = dir.path();
    let o = reconf(&["--version"], d);
    let version = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success() && version.contains("commit "),
        "{version}"
    );
    let o = small_sweep(d, "sw", "2", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let run = d.join("sw/runs/c001-s003");
    let p = provenance_of(run.join("summary.json"));
    let commit = p["git_commit"].as_str().unwrap();
    assert!(version.contains(commit), "{version} vs {commit}");
    assert_eq!(p["reconf_version"], env!("CARGO_PKG_VERSION"));
    assert!(p["git_dirty"].is_boolean() || p["git_dirty"].is_null());
    assert_eq!(p["seed"], 3);
    // The SHA-256 of the resolved scenario written beside it.
    let sha = reconf::report::provenance::sha256_hex(read(run.join("scenario.toml")).as_bytes());
    assert_eq!(p["scenario_sha256"], sha);
    let cmd: Vec<&str> = p["command_line"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(&cmd[1..3], ["sweep", "small.toml"]);
    // sweep.json: the scenario file's own SHA-256, the seeds, the command line.
    let p = provenance_of(d.join("sw/sweep.json"));
    assert_eq!(p["git_commit"], commit);
    assert_eq!(
        p["scenarios"][0]["sha256"],
        reconf::report::provenance::sha256_hex(small().as_bytes())
    );
    assert_eq!(p["seeds"], "4");
    // `reconf run` too; and the tables carry none of it (no `provenance.seed` column).
    let o = reconf(&["run", "small.toml", "--out", "single"], d);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(provenance_of(d.join("single/summary.json"))["seed"], 1);
    assert!(!read(d.join("sw/runs.csv")).contains("provenance"));
}

#[test]
fn tables_are_typed_and_the_long_and_parquet_tables_hold_the_same_values() {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let dir = setup();
    let o = small_sweep(dir.path(), "sw", "2", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let sw = dir.path().join("sw");
    let runs = csv_rows(&sw.join("runs.csv"));
    let long = csv_rows(&sw.join("runs-long.csv"));
    let header = read(sw.join("runs-long.csv"));
    assert!(header.starts_with("config,seed,metric,value\n"), "{header}");
    // Every value of runs.csv once in the long table, and nothing else.
    let metric_cols: Vec<&String> = {
        let mut r = csv::Reader::from_path(sw.join("runs.csv")).unwrap();
        let h: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
        let start = h.iter().position(|c| c == "error").unwrap() + 1;
        let names: Vec<String> = h[start..].to_vec();
        Box::leak(Box::new(names)).iter().collect()
    };
    let mut expected = 0;
    for r in &runs {
        for m in &metric_cols {
            if r[*m].is_empty() {
                continue;
            }
            expected += 1;
            let row = long
                .iter()
                .find(|l| {
                    l["config"] == r["config"] && l["seed"] == r["seed"] && &l["metric"] == *m
                })
                .unwrap_or_else(|| panic!("{} {} {m}", r["config"], r["seed"]));
            assert_eq!(
                row["value"].parse::<f64>().unwrap(),
                r[*m].parse::<f64>().unwrap(),
                "{m}"
            );
        }
    }
    assert_eq!(long.len(), expected);
    // Counts are integers, measures are floats on every row, whatever their value.
    for r in &runs {
        assert!(!r["events"].contains('.'), "{}", r["events"]);
        assert!(r["migration_mb"].contains('.'), "{}", r["migration_mb"]);
        assert!(r["mean_response_ms"].contains('.'));
        assert_eq!(r["error"], "");
    }
    let agg = csv_rows(&sw.join("aggregate.csv"));
    assert!(agg
        .iter()
        .all(|r| !r["events.n"].contains('.') && r["events.mean"].contains('.')));
    // The Parquet twins: same rows, typed columns, a string `error` column of nulls.
    for (csv_name, pq, rows) in [
        ("runs.csv", "runs.parquet", runs.len()),
        ("runs-long.csv", "runs-long.parquet", long.len()),
        ("aggregate.csv", "aggregate.parquet", agg.len()),
    ] {
        let r = SerializedFileReader::new(std::fs::File::open(sw.join(pq)).unwrap()).unwrap();
        assert_eq!(
            r.metadata().file_metadata().num_rows() as usize,
            rows,
            "{csv_name}"
        );
    }
    let r =
        SerializedFileReader::new(std::fs::File::open(sw.join("runs.parquet")).unwrap()).unwrap();
    let schema = r.metadata().file_metadata().schema_descr();
    let col = |name: &str| {
        (0..schema.num_columns())
            .map(|i| schema.column(i))
            .find(|c| c.name() == name)
            .unwrap()
    };
    use parquet::basic::Type;
    assert_eq!(col("error").physical_type(), Type::BYTE_ARRAY);
    assert_eq!(col("events").physical_type(), Type::INT64);
    assert_eq!(col("migration_mb").physical_type(), Type::DOUBLE);
    let first = r.get_row_iter(None).unwrap().next().unwrap().unwrap();
    let fields: HashMap<String, String> = first
        .get_column_iter()
        .map(|(n, f)| (n.clone(), f.to_string()))
        .collect();
    assert_eq!(fields["error"], "null");
    assert_eq!(fields["id"], "\"c000-s001\"");
    assert_eq!(fields["events"], runs[0]["events"]);
}

#[test]
fn an_axis_applies_only_where_its_key_exists_and_the_baseline_runs_once() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let restart = root.join("scenarios/paper/restart-steps.toml");
    let static_peak = root.join("scenarios/paper/static-peak-steps.toml");
    let o = reconf(
        &[
            "sweep",
            restart.to_str().unwrap(),
            static_peak.to_str().unwrap(),
            "--seeds",
            "2",
            "--set",
            "duration_s=120",
            "--set",
            "policy.params.for_s=30,90",
            "--baseline",
            "scenario=static-peak-steps",
            "--out",
            "sw",
            "-q",
        ],
        dir.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let sw = dir.path().join("sw");
    let agg = csv_rows(&sw.join("aggregate.csv"));
    // restart x 2 values + static once.
    assert_eq!(agg.len(), 3, "{agg:?}");
    let col = "policy.params.for_s";
    let values: Vec<(&str, &str)> = agg
        .iter()
        .map(|r| (r["scenario"].as_str(), r[col].as_str()))
        .collect();
    assert_eq!(
        values,
        [
            ("restart-steps", "30"),
            ("restart-steps", "90"),
            ("static-peak-steps", "n/a")
        ]
    );
    assert_eq!(agg[2]["label"], "static-peak-steps");
    for r in &agg {
        assert_eq!(r["runs_failed"], "0");
        assert_eq!(r["baseline"], "2");
    }
    let runs = csv_rows(&sw.join("runs.csv"));
    assert_eq!(runs.len(), 6);
    assert!(runs.iter().all(|r| r["status"] == "ok"));
    // The static baseline compared with itself: a zero difference.
    assert_eq!(agg[2]["requests_completed.diff_mean"], "0.0");
    // The axis value reached the runs that have the key.
    let scen = read(sw.join("runs/c001-s001/scenario.toml"));
    assert!(scen.contains("for_s = 90"), "{scen}");
    // An axis that exists in no scenario is still a typo: exit 2.
    let o = reconf(
        &[
            "sweep",
            static_peak.to_str().unwrap(),
            "--seeds",
            "1",
            "--set",
            "policy.params.for_s=30,90",
            "--out",
            "bad",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("for_s"), "{}", stderr(&o));
    assert!(!dir.path().join("bad").exists());
}

#[test]
fn seeds_can_start_anywhere() {
    let dir = setup();
    let d = dir.path();
    let o = reconf(
        &[
            "sweep",
            "small.toml",
            "--seeds",
            "11..13",
            "--out",
            "sw",
            "-q",
        ],
        d,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let runs = csv_rows(&d.join("sw/runs.csv"));
    let ids: Vec<&str> = runs.iter().map(|r| r["id"].as_str()).collect();
    assert_eq!(ids, ["c000-s011", "c000-s012", "c000-s013"]);
    assert_eq!(runs[0]["seed"], "11");
    let manifest: serde_json::Value = serde_json::from_str(&read(d.join("sw/sweep.json"))).unwrap();
    assert_eq!(
        (manifest["seeds"].as_u64(), manifest["first_seed"].as_u64()),
        (Some(3), Some(11))
    );
    // The same run as `reconf run --seed 12`.
    let o = reconf(&["run", "small.toml", "--seed", "12", "--out", "one"], d);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        common::comparable_json(&read(d.join("sw/runs/c000-s012/summary.json"))),
        common::comparable_json(&read(d.join("one/summary.json")))
    );
    // In a sweep file too.
    std::fs::write(
        d.join("s.toml"),
        "[sweep]\nscenarios = [\"small.toml\"]\nseeds = \"11..13\"\n",
    )
    .unwrap();
    let o = reconf(&["sweep", "s.toml", "--out", "sw2", "-q"], d);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(read(d.join("sw/runs.csv")), read(d.join("sw2/runs.csv")));
    assert_bad(
        d,
        &["sweep", "small.toml", "--seeds", "5..3", "--out", "bad"],
        "below the first",
    );
    assert_bad(
        d,
        &["sweep", "small.toml", "--seeds", "a..3", "--out", "bad"],
        "`a` is not a whole number",
    );
    std::fs::write(
        d.join("b.toml"),
        "[sweep]\nscenarios = [\"small.toml\"]\nseeds = \"9..x\"\n",
    )
    .unwrap();
    assert_bad(d, &["sweep", "b.toml", "--out", "bad"], "b.toml:3");
}

#[test]
fn a_huge_sweep_is_refused_at_once_unless_the_limit_is_raised() {
    let dir = setup();
    let d = dir.path();
    let start = std::time::Instant::now();
    assert_bad(
        d,
        &[
            "sweep",
            "small.toml",
            "--seeds",
            "1000000000",
            "--out",
            "bad",
        ],
        "1000000000 runs",
    );
    let o = reconf(
        &[
            "sweep",
            "small.toml",
            "--seeds",
            "1000000000",
            "--out",
            "bad",
        ],
        d,
    );
    assert!(stderr(&o).contains("--max-runs"), "{}", stderr(&o));
    // Refused before anything is enumerated (well under the minutes it used to take).
    assert!(start.elapsed() < Duration::from_secs(30));
    // The limit is a flag.
    assert_bad(
        d,
        &[
            "sweep",
            "small.toml",
            "--seeds",
            "3",
            "--max-runs",
            "2",
            "--out",
            "bad",
        ],
        "more than the limit of 2",
    );
    let o = reconf(
        &[
            "sweep",
            "small.toml",
            "--seeds",
            "3",
            "--max-runs",
            "3",
            "--out",
            "ok",
            "-q",
        ],
        d,
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn a_second_sweep_on_a_folder_in_use_is_refused_with_a_clear_message() {
    let dir = setup();
    let d = dir.path();
    let args = [
        "sweep",
        "small.toml",
        "--seeds",
        "12",
        "--set",
        "duration_s=3600",
        "--set",
        r#"apps[0].clients.profile={kind="constant", value=200}"#,
        "-j",
        "1",
        "--out",
        "sw",
        "-q",
    ];
    let mut first = Command::new(env!("CARGO_BIN_EXE_reconf"))
        .args(args)
        .current_dir(d)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the first sweep holds the folder (its pid is in the lock file).
    let lock = d.join("sw/.lock");
    let t0 = std::time::Instant::now();
    while std::fs::read_to_string(&lock).map_or(true, |s| s.trim().is_empty()) {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "the first sweep never started"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let second = reconf(&args, d);
    // Twelve simulated hours on one thread: still running when the second one starts.
    assert!(
        first.try_wait().unwrap().is_none(),
        "the first sweep ended too soon"
    );
    let err = stderr(&second);
    {
        assert_eq!(second.status.code(), Some(2), "{err}");
        assert!(err.contains("in use by another reconf sweep"), "{err}");
        assert!(err.contains(&first.id().to_string()), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        // And reading it meanwhile says it is not finished.
        let o = reconf(&["compare", "sw", "sw"], d);
        assert_eq!(o.status.code(), Some(2));
        assert!(stderr(&o).contains("has not finished"), "{}", stderr(&o));
        assert!(
            stderr(&o).contains("a sweep is writing it now"),
            "{}",
            stderr(&o)
        );
    }
    assert!(first.wait().unwrap().success());
    // The first one's results are whole, and the folder is free again: resuming works.
    assert_eq!(csv_rows(&d.join("sw/runs.csv")).len(), 12);
    let o = reconf(&args, d);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn an_unfinished_sweep_folder_is_named_as_such() {
    use reconf::batch::folder::{inspect, not_ready_message, FolderKind};
    let dir = setup();
    let o = small_sweep(dir.path(), "sw", "2", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let sw = dir.path().join("sw");
    assert_eq!(inspect(&sw), FolderKind::Sweep);
    assert_eq!(inspect(&sw.join("runs/c000-s001")), FolderKind::Run);
    // As after a kill: two runs gone, no tables yet.
    std::fs::remove_file(sw.join("aggregate.csv")).unwrap();
    std::fs::remove_dir_all(sw.join("runs/c000-s001")).unwrap();
    std::fs::remove_file(sw.join("runs/c002-s004/summary.json")).unwrap();
    assert_eq!(
        inspect(&sw),
        FolderKind::UnfinishedSweep {
            done: 10,
            total: Some(12),
            in_use: false
        }
    );
    let m = not_ready_message(&sw).unwrap();
    assert!(
        m.contains("10 of 12 runs finished") && m.contains("run the same `reconf sweep`"),
        "{m}"
    );
    let o = reconf(&["compare", "sw", "sw"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("10 of 12 runs finished"),
        "{}",
        stderr(&o)
    );
    assert_eq!(inspect(dir.path()), FolderKind::Other);
}

#[test]
fn keep_summaries_writes_only_summaries_and_the_same_tables() {
    let dir = setup();
    let d = dir.path();
    let full = small_sweep(d, "full", "2", &[]);
    let lean = small_sweep(d, "lean", "2", &["--keep", "summaries", "--keep-full", "1"]);
    assert!(
        full.status.success() && lean.status.success(),
        "{}",
        stderr(&lean)
    );
    assert_same_tables(&d.join("full"), &d.join("lean"));
    let files = |id: &str| -> Vec<String> {
        let mut f: Vec<String> = std::fs::read_dir(d.join("lean/runs").join(id))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        f.sort();
        f
    };
    assert_eq!(files("c000-s002"), ["summary.json"]);
    assert_eq!(files("c000-s001").len(), 5, "{:?}", files("c000-s001"));
    // Resuming checks the finished runs by their provenance, with no scenario.toml to read.
    let o = small_sweep(d, "lean", "2", &["--keep", "summaries", "--keep-full", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("0 run now, 12 kept from before"),
        "{}",
        stderr(&o)
    );
    let o = small_sweep(
        d,
        "lean",
        "2",
        &["--keep", "summaries", "--set", "duration_s=61"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("not a run of this sweep"),
        "{}",
        stderr(&o)
    );
    assert_bad(
        d,
        &[
            "sweep",
            "small.toml",
            "--seeds",
            "1",
            "--keep-full",
            "1",
            "--out",
            "bad",
        ],
        "--keep-full",
    );
}
