//! Regression tests of issue 11 (hardening): each case found by trying reconf as an attacker or
//! a careless user would, at the level of the `reconf` command.

use common::{file, reconf, stderr, SMALL};
mod common;
use std::path::Path;
use std::process::Command;

/// Bad input: exit code 2, one line containing each of `expect`, no panic.
fn assert_rejected(dir: &Path, args: &[&str], expect: &[&str]) -> String {
    let o = reconf(args, dir);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    for e in expect {
        assert!(err.contains(e), "{args:?}: `{err}` should contain `{e}`");
    }
    err
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn seed_of(run: &Path) -> (u64, String) {
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    let toml = std::fs::read_to_string(run.join("scenario.toml")).unwrap();
    let line = toml
        .lines()
        .find(|l| l.starts_with("seed = "))
        .unwrap()
        .to_string();
    (s["seed"].as_u64().unwrap(), line)
}

// --- 1. A run folder is all old or all new -------------------------------------------------

#[test]
fn a_rerun_replaces_the_run_folder_whole() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sc = file(d, "small.toml", SMALL);
    let o = reconf(&["run", &sc, "--out", "out/run", "--seed", "3"], d);
    assert!(o.status.success(), "{}", stderr(&o));
    // What a previous run or a plot left in the folder does not survive the next run.
    std::fs::write(d.join("out/run/error.txt"), "old").unwrap();
    std::fs::create_dir(d.join("out/run/figures")).unwrap();
    let o = reconf(&["run", &sc, "--out", "out/run", "--seed", "4"], d);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        names(&d.join("out/run")),
        [
            "actions.csv",
            "nodes.csv",
            "scenario.toml",
            "summary.json",
            "timeseries.csv"
        ]
    );
    assert_eq!(seed_of(&d.join("out/run")), (4, "seed = 4".to_string()));
    assert_eq!(names(&d.join("out")), ["run"], "no temporaries left");
}

#[test]
fn an_out_folder_that_is_not_a_run_folder_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sc = file(d, "small.toml", SMALL);
    std::fs::create_dir(d.join("mine")).unwrap();
    std::fs::write(d.join("mine/thesis.tex"), "precious").unwrap();
    assert_rejected(
        d,
        &["run", &sc, "--out", "mine"],
        &["--out", "mine", "not a run folder"],
    );
    assert_eq!(names(&d.join("mine")), ["thesis.tex"]);
    std::fs::write(d.join("plain"), "a file").unwrap();
    assert_rejected(d, &["run", &sc, "--out", "plain"], &["not a folder"]);
    // An empty folder is fine.
    std::fs::create_dir(d.join("empty")).unwrap();
    let o = reconf(&["run", &sc, "--out", "empty"], d);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn a_run_killed_at_any_point_leaves_the_old_run_or_the_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A fine time series makes writing take a noticeable share of the run.
    let text = SMALL.replace(
        "duration_s = 120",
        "duration_s = 600\nreport_interval_s = 0.01",
    );
    let sc = file(d, "small.toml", &text);
    let o = reconf(&["run", &sc, "--out", "out", "--seed", "1"], d);
    assert!(o.status.success(), "{}", stderr(&o));
    let started = std::time::Instant::now();
    let o = reconf(&["run", &sc, "--out", "timing", "--seed", "2"], d);
    assert!(o.status.success());
    let full = started.elapsed();
    std::fs::remove_dir_all(d.join("timing")).unwrap();
    let mut seen_new = false;
    // Kills spread over 1.25 times the timed run, then later ones until a run has finished
    // first (on a loaded machine a run may take longer than the timed one), up to 4 times it.
    for k in 0..48u32 {
        if k >= 16 && seen_new {
            break;
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_reconf"))
            .args(["run", &sc, "--out", "out", "--seed", &(10 + k).to_string()])
            .current_dir(d)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(full * k / 12);
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let (seed, line) = seed_of(&d.join("out"));
        assert_eq!(
            line,
            format!("seed = {seed}"),
            "summary and scenario of one run"
        );
        assert!(seed == 1 || seed >= 10, "{seed}");
        seen_new |= seed >= 10;
        assert_eq!(
            names(&d.join("out")),
            [
                "actions.csv",
                "nodes.csv",
                "scenario.toml",
                "summary.json",
                "timeseries.csv"
            ]
        );
    }
    assert!(
        seen_new,
        "no run finished before its kill, even 4 times the timed run ({full:?}) after its start"
    );
    // Temporaries of killed runs are removed by the next write.
    let o = reconf(&["run", &sc, "--out", "out", "--seed", "5"], d);
    assert!(o.status.success());
    let leftovers: Vec<String> = names(d)
        .into_iter()
        .filter(|n| n.starts_with(".out."))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// A full disk while writing: on a 400 KB tmpfs (in a private mount namespace) a run too big
/// for it fails with exit 1 and leaves the previous run whole, and no temporary.
#[test]
fn a_full_disk_leaves_the_previous_run_whole() {
    let probe = Command::new("unshare")
        .args(["--mount", "--map-root-user", "true"])
        .output();
    if !probe.map(|o| o.status.success()).unwrap_or(false) {
        eprintln!("SKIPPED: cannot make a private mount namespace (unshare --mount)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sc = file(d, "small.toml", SMALL);
    std::fs::create_dir(d.join("disk")).unwrap();
    let bin = env!("CARGO_BIN_EXE_reconf");
    let script = format!(
        "mount -t tmpfs -o size=400k tmpfs disk || exit 99
         {bin} run {sc} --out disk/run --seed 3 2>/dev/null || exit 98
         {bin} run {sc} --out disk/run --seed 4 --set duration_s=600 --set report_interval_s=0.01 2>err.txt
         echo \"status=$?\"
         ls -A disk; ls -A disk/run
         grep '^seed' disk/run/scenario.toml
         grep -m1 '\"seed\"' disk/run/summary.json"
    );
    let o = Command::new("unshare")
        .args(["--mount", "--map-root-user", "sh", "-c", &script])
        .current_dir(d)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out} {}", stderr(&o));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "status=1",
            "run",
            "actions.csv",
            "nodes.csv",
            "scenario.toml",
            "summary.json",
            "timeseries.csv",
            "seed = 3",
            "  \"seed\": 3,"
        ],
        "{out}"
    );
    let err = std::fs::read_to_string(d.join("err.txt")).unwrap();
    assert!(err.contains("cannot write results to disk/run"), "{err}");
}

// --- 2. and 7. Traces ------------------------------------------------------------------------

#[test]
fn a_trace_starting_after_0_s_is_refused_at_load() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    file(d, "late.csv", "time_s,clients\n60,10\n120,20\n");
    let sc = file(
        d,
        "small.toml",
        &SMALL.replace(
            "{ kind = \"constant\", value = 50 }",
            "{ kind = \"trace\", file = \"late.csv\" }",
        ),
    );
    assert_rejected(
        d,
        &["validate", &sc],
        &[
            "late.csv:2",
            "time_s",
            "first row is at 60 s",
            "must start at 0 s",
        ],
    );
    let steps = SMALL.replace(
        "{ kind = \"constant\", value = 50 }",
        "{ kind = \"steps\", points = [[60, 10]] }",
    );
    let sc = file(d, "steps.toml", &steps);
    assert_rejected(
        d,
        &["validate", &sc],
        &["steps.toml:10", "profile.points[0][0]", "must start at 0 s"],
    );
}

#[test]
fn a_long_trace_validates() {
    // A week at 1 s: 604,800 rows (the quadratic reader took tens of minutes).
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut csv = String::from("time_s,clients\n");
    for i in 0..604_800 {
        csv.push_str(&format!("{i},{}\n", 10 + i % 7));
    }
    file(d, "week.csv", &csv);
    let o = reconf(
        &[
            "validate",
            &file(d, "small.toml", SMALL),
            "--set",
            "apps[0].clients.profile={kind=\"trace\", file=\"week.csv\"}",
        ],
        d,
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

// --- 6. Paths ---------------------------------------------------------------------------------

#[test]
fn a_trace_given_with_set_shows_the_path_looked_for_and_the_rule() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("scenarios")).unwrap();
    let sc = file(&d.join("scenarios"), "small.toml", SMALL);
    file(d, "here.csv", "time_s,clients\n0,10\n");
    let looked_for = std::fs::canonicalize(d)
        .unwrap()
        .join("scenarios/here.csv")
        .display()
        .to_string();
    let err = assert_rejected(
        d,
        &[
            "validate",
            &sc,
            "--set",
            "apps[0].clients.profile={kind=\"trace\", file=\"here.csv\"}",
        ],
        &[
            &format!("cannot read trace {looked_for}:"),
            "named by --set apps[0].clients.profile=",
            "relative to the scenario's folder",
        ],
    );
    assert!(err.starts_with("error: here.csv: "), "{err}");
    // The same path relative to the scenario's folder works.
    let o = reconf(
        &[
            "validate",
            &sc,
            "--set",
            "apps[0].clients.profile={kind=\"trace\", file=\"../here.csv\"}",
        ],
        d,
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

// --- 5. Messages ------------------------------------------------------------------------------

#[test]
fn every_message_says_what_is_wrong_and_where() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let control = format!("# a comment with a \u{1} in it\n{SMALL}");
    let sc = file(d, "control.toml", &control);
    assert_rejected(
        d,
        &["validate", &sc],
        &["control.toml:1: ", "control character U+0001 at column 20"],
    );
    let mut bytes = SMALL.as_bytes().to_vec();
    let at = SMALL.find("small").unwrap();
    bytes[at] = 0xff;
    std::fs::write(d.join("latin.toml"), bytes).unwrap();
    assert_rejected(
        d,
        &["validate", "latin.toml"],
        &["latin.toml:2: ", "not valid UTF-8", "0xFF at column 9"],
    );
    let sc = file(d, "nodur.toml", &SMALL.replace("duration_s = 120", ""));
    assert_rejected(
        d,
        &["validate", &sc],
        &[
            "nodur.toml:1: ",
            "field `duration_s`",
            "missing key `duration_s`",
            "top level",
        ],
    );
}

// --- 7. Small ones ----------------------------------------------------------------------------

#[test]
fn a_seed_too_large_for_toml_is_refused_as_the_seed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sc = file(d, "small.toml", SMALL);
    let o = reconf(
        &["run", &sc, "--seed", "18446744073709551615", "--out", "out"],
        d,
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("'--seed <SEED>'"), "{err}");
    assert!(err.contains("0..=9223372036854775807"), "{err}");
    assert!(!err.contains("--set"), "{err}");
    assert!(!d.join("out").exists());
    // The largest seed TOML holds runs and is stored as given.
    let o = reconf(
        &["run", &sc, "--seed", "9223372036854775807", "--out", "out"],
        d,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let resolved = std::fs::read_to_string(d.join("out/scenario.toml")).unwrap();
    assert!(
        resolved.contains("seed = 9223372036854775807"),
        "{resolved}"
    );
    assert_rejected(
        d,
        &["validate", &sc, "--set", "seed=18446744073709551615"],
        &["--set seed=18446744073709551615", "out of range"],
    );
}

// --- 8. Scripts -------------------------------------------------------------------------------

#[test]
fn scripts_find_the_binary_where_cargo_puts_it() {
    // No script assumes ./target: they all ask cargo (scripts/reconf-bin.sh).
    let mut scripts: Vec<_> = std::fs::read_dir(common::repo("scripts"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    scripts.push(common::repo(".ci/run"));
    for s in &scripts {
        let text = std::fs::read_to_string(s).unwrap();
        assert!(
            !text.contains("target/release"),
            "{} assumes target/release",
            s.display()
        );
    }
    // reconf-bin.sh takes the path from cargo's build report: a stand-in cargo reports a
    // binary in a target folder of its own.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let exe = d.join("elsewhere/release/reconf");
    std::fs::create_dir_all(exe.parent().unwrap()).unwrap();
    std::fs::write(&exe, "#!/bin/sh\necho fake reconf\n").unwrap();
    let cargo = format!(
        "#!/bin/sh\necho '{{\"reason\":\"compiler-artifact\",\"executable\":null}}'\n\
         echo '{{\"reason\":\"compiler-artifact\",\"target\":{{\"name\":\"reconf\"}},\"executable\":\"{}\",\"fresh\":true}}'\n\
         echo '{{\"reason\":\"build-finished\",\"success\":true}}'\n",
        exe.display()
    );
    std::fs::create_dir(d.join("bin")).unwrap();
    std::fs::write(d.join("bin/cargo"), cargo).unwrap();
    for f in [d.join("bin/cargo"), exe.clone()] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!(
        "{}:{}",
        d.join("bin").display(),
        std::env::var("PATH").unwrap()
    );
    let o = Command::new("bash")
        .args(["-c", ". scripts/reconf-bin.sh && \"$reconf\""])
        .current_dir(common::repo(""))
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "fake reconf\n");
}

// --- 4. Simulated time that stands still is refused at load ---------------------------------

#[test]
fn scenarios_that_would_stop_simulated_time_are_refused_at_load() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let frozen = SMALL
        .replace("duration_s = 120", "duration_s = 1")
        .replace("value = 50", "value = 1")
        .replace(
            "mix = \"bidding\"",
            "mix = \"bidding\"\nthink = { dist = \"deterministic\", mean_ms = 0 }",
        )
        .replace("mean_ms = 2 }", "mean_ms = 0 }")
        .replace("mean_ms = 4 }", "mean_ms = 0 }");
    let sc = file(d, "frozen.toml", &frozen);
    assert_rejected(
        d,
        &["run", &sc, "--out", "out"],
        &[
            "frozen.toml:10",
            "apps[0].clients.think",
            "simulated time would stand still",
        ],
    );
    assert!(!d.join("out").exists());
    // Below the 1 ns resolution is 0.
    let sc = file(
        d,
        "tiny.toml",
        &frozen.replace("mean_ms = 0 }", "mean_ms = 1e-9 }"),
    );
    assert_rejected(d, &["validate", &sc], &["stand still"]);
    // One demand above 0 is enough for time to move.
    let sc = file(
        d,
        "moving.toml",
        &frozen.replacen("mean_ms = 0 }", "mean_ms = 0.001 }", 2),
    );
    let o = reconf(&["validate", &sc], d);
    assert!(o.status.success(), "{}", stderr(&o));
    // A control period of a nanosecond.
    let sc = file(
        d,
        "period.toml",
        &format!("{SMALL}\n[policy]\nname = \"static\"\nperiod_s = 1e-9\n"),
    );
    assert_rejected(
        d,
        &["validate", &sc],
        &["period.toml:22", "policy.period_s", "at least 0.001 s"],
    );
    // Open-loop arrivals closer than a nanosecond.
    let sc = file(
        d,
        "flood.toml",
        &SMALL
            .replace(
                "mix = \"bidding\"",
                "mix = \"bidding\"\nloop_kind = \"open\"",
            )
            .replace("value = 50", "value = 1e12"),
    );
    assert_rejected(
        d,
        &["validate", &sc],
        &["apps[0].clients.profile", "1 ns time resolution"],
    );
}

// --- 3. Sizes are bounded at load -------------------------------------------------------------

#[test]
fn scenarios_too_big_for_memory_are_refused_unless_the_limit_is_raised() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sc = file(d, "small.toml", SMALL);
    assert_rejected(
        d,
        &[
            "run",
            &sc,
            "--out",
            "out",
            "--set",
            "apps[0].tiers[0].replicas=4294967295",
        ],
        &[
            "--set apps[0].tiers[0].replicas=4294967295",
            "about 987",
            "over the limit of 8000 MB",
            "--max-memory-mb",
        ],
    );
    assert!(!d.join("out").exists());
    let huge = SMALL.replace("value = 50", "value = 1e9");
    let sc = file(d, "huge.toml", &huge);
    assert_rejected(
        d,
        &["validate", &sc],
        &[
            "huge.toml:10",
            "apps[0].clients.profile",
            "1000000000 clients",
        ],
    );
    let o = reconf(&["validate", &sc, "--max-memory-mb", "300000"], d);
    assert!(o.status.success(), "{}", stderr(&o));
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(said.contains("about 2300"), "{said}");
    // Nodes and trace-driven VMs are counted before anything is laid out or read: 4·10^9
    // nodes once took 24 GB in validation before the estimate refused them.
    let dc = common::repo("scenarios/planetlab/dvfs.toml");
    let dc = dc.to_str().unwrap();
    for (set, field) in [
        (
            "infrastructure.nodes[0].count=4000000000",
            "infrastructure.nodes[0].count",
        ),
        ("vms[0].count=1000000000", "vms[0].count"),
    ] {
        assert_rejected(
            d,
            &["validate", dc, "--set", set],
            &[field, "over the limit of 8000 MB"],
        );
    }
    // A lower limit refuses what the default lets through.
    let sc = file(d, "small.toml", SMALL);
    assert_rejected(
        d,
        &["validate", &sc, "--max-memory-mb", "1"],
        &["over the limit of 1 MB"],
    );
}
