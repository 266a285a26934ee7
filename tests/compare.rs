//! `reconf compare`: exit codes 0 / 1 / 2 on crafted and simulated inputs; noise within the
//! confidence interval is not a regression, a real shift is.

mod common;
use common::reconf;
use std::path::Path;
use std::process::Output;

fn out(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// An aggregate with two configurations and two metrics.
fn aggregate(p95: [(f64, f64); 2], thr: [(f64, f64); 2]) -> String {
    let mut s = String::from(
        "config,label,scenario,apps[0].tiers[1].replicas,runs,runs_ok,runs_failed,\
p95_response_ms.n,p95_response_ms.mean,p95_response_ms.sd,p95_response_ms.ci_low,p95_response_ms.ci_high,\
throughput_rps.n,throughput_rps.mean,throughput_rps.sd,throughput_rps.ci_low,throughput_rps.ci_high\n",
    );
    for i in 0..2 {
        s.push_str(&format!(
            "{i},replicas={r},rubis,{r},10,10,0,10,{},{},,,10,{},{},,\n",
            p95[i].0,
            p95[i].1,
            thr[i].0,
            thr[i].1,
            r = i + 1
        ));
    }
    s
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    std::fs::write(dir.join(name), text).unwrap();
    name.to_string()
}

/// Per configuration, (mean, sd) of p95 and of throughput.
type Pairs = [(f64, f64); 2];

const BASE: (Pairs, Pairs) = ([(100.0, 10.0), (50.0, 5.0)], [(80.0, 2.0), (90.0, 2.0)]);

#[test]
fn identical_and_noisy_aggregates_pass() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let b = write(d, "b.csv", &aggregate(BASE.0, BASE.1));
    let o = reconf(&["compare", &b, &b], d);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(out(&o).contains("0 regression(s)"), "{}", out(&o));
    // +8% on p95 with sd 10%: worse than the 5% tolerance in the means, but inside the noise.
    let c = write(
        d,
        "c.csv",
        &aggregate([(108.0, 10.0), (51.0, 5.0)], [(79.5, 2.0), (90.5, 2.0)]),
    );
    let o = reconf(&["compare", &b, &c], d);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(out(&o).contains("worse, within noise"), "{}", out(&o));
    assert!(!out(&o).contains("REGRESSION"), "{}", out(&o));
}

#[test]
fn a_real_shift_is_a_regression_in_either_direction() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let b = write(d, "b.csv", &aggregate(BASE.0, BASE.1));
    // p95 of replicas=2 up 40%.
    let c = write(d, "c.csv", &aggregate([(100.0, 10.0), (70.0, 5.0)], BASE.1));
    let o = reconf(&["compare", &b, &c], d);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    let text = out(&o);
    let line = text
        .lines()
        .find(|l| l.contains("REGRESSION"))
        .expect("a regression line");
    assert!(
        line.contains("replicas=2") && line.contains("p95_response_ms"),
        "{line}"
    );
    // Throughput (higher is better) down 10%.
    let c = write(d, "t.csv", &aggregate(BASE.0, [(72.0, 2.0), (90.0, 2.0)]));
    let o = reconf(&["compare", &b, &c], d);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    // Only the metrics asked for are judged, with their tolerance: a 50% tolerance absorbs it.
    let o = reconf(&["compare", &b, &c, "--metric", "throughput_rps=0.5"], d);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    let o = reconf(&["compare", &b, &c, "--metric", "p95_response_ms"], d);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    // Better is not a regression.
    let o = reconf(&["compare", &c, &b], d);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(out(&o).contains("better"), "{}", out(&o));
}

#[test]
fn summaries_compare_against_the_tolerance() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = |p95: f64, lost: u64| {
        format!(
            "{{\"scenario\": \"x\", \"seed\": 1, \"wall_seconds\": 0.5, \"p95_response_ms\": {p95}, \
\"sessions_lost\": {lost}, \"tier_utilisation\": {{\"a.web\": 0.5}}}}"
        )
    };
    let b = write(d, "b.json", &s(100.0, 0));
    let same = write(d, "same.json", &s(104.0, 0));
    let worse = write(d, "worse.json", &s(106.0, 0));
    let lost = write(d, "lost.json", &s(100.0, 3));
    assert_eq!(reconf(&["compare", &b, &same], d).status.code(), Some(0));
    assert_eq!(reconf(&["compare", &b, &worse], d).status.code(), Some(1));
    let o = reconf(&["compare", &b, &lost], d);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(out(&o).contains("sessions_lost"), "{}", out(&o));
    // A key without a known direction needs one.
    let o = reconf(
        &[
            "compare",
            &b,
            &same,
            "--metric",
            "tier_utilisation.a.web:lower=0",
        ],
        d,
    );
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
}

/// Bad input: exit 2 and one line naming the culprit.
fn assert_bad(d: &Path, args: &[&str], expected: &str) {
    let o = reconf(args, d);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "{args:?}: {}", out(&o));
    assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    assert!(err.contains(expected), "{args:?}: {err}");
    assert!(o.stdout.is_empty(), "{args:?}: no table on bad input");
}

#[test]
fn bad_input_exits_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let b = write(d, "b.csv", &aggregate(BASE.0, BASE.1));
    assert_bad(
        d,
        &["compare", &b, "missing.csv"],
        "missing.csv: no such file",
    );
    let bad = aggregate(BASE.0, BASE.1).replace(",50,5,", ",fifty,5,");
    let bad = write(d, "bad.csv", &bad);
    assert_bad(
        d,
        &["compare", &b, &bad],
        "bad.csv:3: field `p95_response_ms.mean`",
    );
    let torn = write(
        d,
        "torn.csv",
        "config,label,scenario,runs\n0,a,b,10,extra\n",
    );
    assert_bad(d, &["compare", &b, &torn], "torn.csv");
    let nohead = write(d, "nohead.csv", "a,b\n1,2\n");
    assert_bad(d, &["compare", &b, &nohead], "no `label` column");
    let js = write(d, "x.json", "{\"p95_response_ms\": 1,\n \"x\": }");
    assert_bad(d, &["compare", &js, &js], "x.json:2");
    let ok = write(d, "ok.json", "{\"p95_response_ms\": 1}");
    assert_bad(d, &["compare", &b, &ok], "not one of each");
    assert_bad(
        d,
        &["compare", &b, &b, "--metric", "events=0.1"],
        "unknown metric `events`",
    );
    assert_bad(
        d,
        &["compare", &b, &b, "--metric", "p95_response_ms=-1"],
        "tolerance",
    );
    assert_bad(
        d,
        &["compare", &b, &b, "--metric", "energy_kwh"],
        "in neither input",
    );
    let other = aggregate(BASE.0, BASE.1).replace("rubis", "other");
    let other = write(d, "other.csv", &other);
    assert_bad(d, &["compare", &b, &other], "no configuration");
    std::fs::create_dir_all(d.join("empty")).unwrap();
    assert_bad(d, &["compare", &b, "empty"], "neither aggregate.csv");
}

fn small(dir: &Path) {
    std::fs::write(
        dir.join("small.toml"),
        r#"
name = "small"
duration_s = 300
[[apps]]
name = "shop"
[apps.clients]
mix = "bidding"
profile = { kind = "constant", value = 120 }
[[apps.tiers]]
name = "web"
demand = { dist = "exponential", mean_ms = 2 }
[[apps.tiers]]
name = "db"
cores = 1
demand = { dist = "exponential", mean_ms = 20 }
"#,
    )
    .unwrap();
}

fn sweep_file(dir: &Path, name: &str, db_ms: f64, seeds: u64) {
    std::fs::write(
        dir.join(name),
        format!(
            "[sweep]\nscenarios = [\"small.toml\"]\nseeds = {seeds}\n\
set = [\"apps[0].tiers[1].demand.mean_ms={db_ms}\"]\n"
        ),
    )
    .unwrap();
}

#[test]
fn simulated_sweeps_flag_a_slower_database_but_not_other_seeds() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    small(d);
    sweep_file(d, "base.toml", 20.0, 8);
    sweep_file(d, "slow.toml", 26.0, 8);
    sweep_file(d, "more-seeds.toml", 20.0, 12);
    for (f, o) in [
        ("base.toml", "base"),
        ("slow.toml", "slow"),
        ("more-seeds.toml", "more"),
    ] {
        let r = reconf(&["sweep", f, "--out", o, "-q"], d);
        assert!(r.status.success(), "{}", out(&r));
    }
    // Folders are accepted: their aggregate.csv is compared.
    let o = reconf(&["compare", "base", "base"], d);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    // Four more seeds of the same configuration: different numbers, same system.
    let o = reconf(&["compare", "base", "more"], d);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    // A database 30% slower makes responses slower beyond noise.
    let o = reconf(&["compare", "base", "slow"], d);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(
        out(&o)
            .lines()
            .any(|l| l.contains("mean_response_ms") && l.contains("REGRESSION")),
        "{}",
        out(&o)
    );
    // And the other way round it is an improvement.
    let o = reconf(&["compare", "slow", "base"], d);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
}

#[test]
fn the_committed_baselines_are_well_formed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let b = root.join("results/baselines/examples/aggregate.csv");
    let b = b.to_str().unwrap();
    let o = reconf(&["compare", b, b], root);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    for s in ["rubis", "scripted-migration", "scripted-restart"] {
        assert!(out(&o).contains(s), "{s}: {}", out(&o));
    }
}

/// The JSON verdict of `reconf compare ... --format json`.
fn json_verdict(d: &Path, args: &[&str]) -> (Option<i32>, serde_json::Value) {
    let mut a = vec!["compare"];
    a.extend_from_slice(args);
    a.extend_from_slice(&["--format", "json"]);
    let o = reconf(&a, d);
    let v = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", out(&o)));
    (o.status.code(), v)
}

#[test]
fn an_identical_candidate_has_a_zero_width_paired_interval() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    small(d);
    sweep_file(d, "base.toml", 20.0, 8);
    for o in ["a", "b"] {
        let r = reconf(&["sweep", "base.toml", "--out", o, "-q"], d);
        assert!(r.status.success(), "{}", out(&r));
    }
    let (code, v) = json_verdict(d, &["a", "b"]);
    assert_eq!(code, Some(0));
    assert_eq!(v["verdict"], "pass");
    let lines = v["lines"].as_array().unwrap();
    assert!(lines.len() >= 10);
    for l in lines.iter().filter(|l| l["metric"] != "runs_failed") {
        assert_eq!(l["method"], "paired", "{l}");
        assert_eq!(l["pairs"], 8, "{l}");
        assert_eq!(
            (l["diff_ci_low"].as_f64(), l["diff_ci_high"].as_f64()),
            (Some(0.0), Some(0.0)),
            "{l}"
        );
        assert_eq!(l["verdict"], "ok");
    }
    // Without runs.csv the same sweeps are compared unpaired, with a wide interval, and it says so.
    std::fs::remove_file(d.join("b/runs.csv")).unwrap();
    let (code, v) = json_verdict(d, &["a", "b"]);
    assert_eq!(code, Some(0));
    assert!(
        v["warnings"][0].as_str().unwrap().contains("unpaired"),
        "{v}"
    );
    let l = v["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["metric"] == "mean_response_ms")
        .unwrap();
    assert_eq!(l["method"], "welch");
    assert!(l["diff_ci_high"].as_f64().unwrap() > 0.0);
}

#[test]
fn pairing_the_seeds_detects_a_shift_that_the_unpaired_interval_misses() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    small(d);
    sweep_file(d, "base.toml", 20.0, 8);
    // A database 1% slower.
    sweep_file(d, "slow.toml", 20.2, 8);
    for (f, o) in [("base.toml", "base"), ("slow.toml", "slow")] {
        let r = reconf(&["sweep", f, "--out", o, "-q"], d);
        assert!(r.status.success(), "{}", out(&r));
    }
    let metric = ["--metric", "mean_response_ms=0"];
    let (code, v) = json_verdict(d, &["base", "slow", metric[0], metric[1]]);
    let paired = v["lines"][0].clone();
    assert_eq!(paired["method"], "paired");
    assert_eq!(
        (code, paired["verdict"].as_str()),
        (Some(1), Some("regression")),
        "{v}"
    );
    // The same sweeps, their seeds unpaired: the interval straddles zero.
    for f in ["base/runs.csv", "slow/runs.csv"] {
        std::fs::remove_file(d.join(f)).unwrap();
    }
    let (code, v) = json_verdict(d, &["base", "slow", metric[0], metric[1]]);
    let welch = v["lines"][0].clone();
    assert_eq!(welch["method"], "welch");
    assert_eq!(code, Some(0), "{v}");
    assert!(welch["diff_ci_low"].as_f64().unwrap() < 0.0, "{welch}");
    let width = |l: &serde_json::Value| {
        l["diff_ci_high"].as_f64().unwrap() - l["diff_ci_low"].as_f64().unwrap()
    };
    assert!(width(&paired) * 3.0 < width(&welch), "{paired} vs {welch}");
}

#[test]
fn the_failures_only_view_and_the_json_verdict_list_the_regressions() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let b = write(d, "b.csv", &aggregate(BASE.0, BASE.1));
    let c = write(d, "c.csv", &aggregate([(100.0, 10.0), (70.0, 5.0)], BASE.1));
    let o = reconf(&["compare", &b, &c, "--failures-only"], d);
    assert_eq!(o.status.code(), Some(1));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let body: Vec<&str> = text.lines().collect();
    // The header, the one regression, the summary line.
    assert_eq!(body.len(), 3, "{text}");
    assert!(
        body[1].contains("REGRESSION") && body[1].contains("replicas=2"),
        "{text}"
    );
    assert!(body[2].starts_with("compare: "), "{text}");
    let (code, v) = json_verdict(d, &[&b, &c, "--failures-only"]);
    assert_eq!(code, Some(1));
    assert_eq!(v["verdict"], "regression");
    assert_eq!(v["regressions"], 1);
    assert_eq!(v["lines"].as_array().unwrap().len(), 1);
    assert_eq!(v["lines"][0]["metric"], "p95_response_ms");
    assert_eq!(v["lines"][0]["config"], "replicas=2");
    assert!(v["lines"][0]["diff_ci_low"].as_f64().unwrap() > 0.0);
    // Nothing failing: an empty list and `pass`.
    let (code, v) = json_verdict(d, &[&b, &b, "--failures-only"]);
    assert_eq!((code, v["verdict"].as_str()), (Some(0), Some("pass")));
    assert!(v["lines"].as_array().unwrap().is_empty());
}

#[test]
fn single_runs_of_different_seeds_are_refused_unless_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let s = |seed: u64| {
        format!("{{\"scenario\": \"x\", \"seed\": {seed}, \"p95_response_ms\": 100.0}}")
    };
    let a = write(d, "a.json", &s(1));
    let b = write(d, "b.json", &s(2));
    assert_bad(d, &["compare", &a, &b], "seed 1 and the candidate seed 2");
    let o = reconf(&["compare", &a, &b, "--allow-different-seeds"], d);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("warning: the baseline is seed 1"));
}
