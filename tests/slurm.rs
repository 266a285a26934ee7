//! `reconf sweep --slurm`: the job scripts and the task and collect commands without a cluster
//! (always run), then a real one-node Slurm cluster (scripts/slurm-up.sh; `.ci/run` starts it and
//! sets RECONF_SLURM_REQUIRED=1, elsewhere these tests are skipped when SLURM_CONF is unset): a
//! job array of several tasks gives the local sweep's tables byte for byte whatever the number of
//! tasks, and a task cancelled mid-way is resubmitted with nothing lost and nothing done twice.

mod common;
use common::{reconf, stderr};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant, SystemTime};

/// The command-line tests' small scenario, with 30 clients.
fn small() -> String {
    common::SMALL.replace("value = 50", "value = 30")
}

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("small.toml"), small()).unwrap();
    dir
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The sweep of these tests: 3 configurations x `seeds`, with `extra` arguments.
fn sweep_args<'a>(seeds: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec![
        "sweep",
        "small.toml",
        "--seeds",
        seeds,
        "--set",
        "apps[0].tiers[1].demand.mean_ms=3,4,5",
        "--baseline",
        "mean_ms=4",
        "--out",
        out,
    ];
    a.extend_from_slice(extra);
    a
}

/// The tables and sweep.json of two sweep folders are the same (sweep.json but for provenance).
fn assert_same_tables(a: &Path, b: &Path) {
    for f in reconf::batch::collect::TABLE_FILES {
        let (x, y) = (std::fs::read(a.join(f)), std::fs::read(b.join(f)));
        assert!(x.is_ok() && y.is_ok(), "{f}: {x:?} {y:?}");
        assert!(
            x.unwrap() == y.unwrap(),
            "{f} differs between {a:?} and {b:?}"
        );
    }
    let j =
        |p: &Path| common::comparable_json(&std::fs::read_to_string(p.join("sweep.json")).unwrap());
    assert_eq!(j(a), j(b));
}

#[test]
fn without_sbatch_it_says_so_and_writes_nothing() {
    let dir = setup();
    let o = Command::new(env!("CARGO_BIN_EXE_reconf"))
        .args(sweep_args("2", "sw", &["--slurm"]))
        .current_dir(dir.path())
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("sbatch is not on the PATH"),
        "{}",
        stderr(&o)
    );
    assert_eq!(stderr(&o).trim_end().lines().count(), 1);
    assert!(!dir.path().join("sw").exists());
    // Slurm options without --slurm are refused by the argument parser.
    let o = reconf(&sweep_args("2", "sw", &["--tasks", "3"]), dir.path());
    assert_eq!(o.status.code(), Some(2));
    let o = reconf(
        &sweep_args(
            "2",
            "sw",
            &["--slurm", "--dry-run", "--slurm-arg", "partition"],
        ),
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("expected one sbatch option"),
        "{}",
        stderr(&o)
    );
}

/// Run ids of a task file.
fn task_runs(sub: &Path, task: usize) -> Vec<String> {
    std::fs::read_to_string(sub.join(format!("tasks/{task}.txt")))
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn the_dry_run_scripts_and_the_task_commands_give_the_local_sweep() {
    let dir = setup();
    let d = dir.path();
    let o = reconf(&sweep_args("5", "local", &["-q"]), d);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = reconf(
        &sweep_args(
            "5",
            "sw",
            &[
                "--slurm",
                "--dry-run",
                "--tasks",
                "4",
                "--slurm-arg=--partition=short",
                "--slurm-arg=--time=00:10:00",
            ],
        ),
        d,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("dry run: submission 1: 15 runs in 4 array tasks"),
        "{}",
        stdout(&o)
    );
    let sub = d.join("sw/slurm/1");
    let array = std::fs::read_to_string(sub.join("array.sh")).unwrap();
    for line in [
        "#SBATCH --array=0-3",
        "#SBATCH --partition=short",
        "#SBATCH --time=00:10:00",
        "sweep-task",
    ] {
        assert!(array.contains(line), "{line}: {array}");
    }
    let collect = std::fs::read_to_string(sub.join("collect.sh")).unwrap();
    assert!(
        collect.contains("sweep-collect") && !collect.contains("--array"),
        "{collect}"
    );
    let submit = std::fs::read_to_string(sub.join("submit.sh")).unwrap();
    assert!(submit.contains("--dependency=afterany:"), "{submit}");
    // Every run in exactly one task, and tasks of even size.
    let mut all: Vec<String> = (0..4).flat_map(|t| task_runs(&sub, t)).collect();
    let sizes: Vec<usize> = (0..4).map(|t| task_runs(&sub, t).len()).collect();
    assert!(
        sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1,
        "{sizes:?}"
    );
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 15);
    // The tasks as the array would run them (one twice: its second attempt skips its runs).
    for t in [0, 1, 2, 3, 2] {
        let o = reconf(&["sweep-task", "sw", "1", "--task", &t.to_string()], d);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let o = reconf(&["sweep-task", "sw", "1", "--task", "2"], d);
    assert!(
        stderr(&o).contains("finished before, 0 run now"),
        "{}",
        stderr(&o)
    );
    let o = reconf(&["sweep-collect", "sw"], d);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_tables(&d.join("local"), &d.join("sw"));
    // The same command again: everything is finished, nothing is submitted.
    let o = reconf(
        &sweep_args("5", "sw", &["--slurm", "--dry-run", "--tasks", "4"]),
        d,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("all 15 runs finished"),
        "{}",
        stdout(&o)
    );
    assert!(!d.join("sw/slurm/2").exists());
}

/// Whether this machine has a Slurm cluster to submit to (see the module comment).
fn cluster() -> bool {
    let up = std::env::var_os("SLURM_CONF").is_some()
        && Command::new("sinfo")
            .arg("-h")
            .output()
            .is_ok_and(|o| o.status.success());
    if !up && std::env::var_os("RECONF_SLURM_REQUIRED").is_some() {
        panic!("RECONF_SLURM_REQUIRED is set but there is no Slurm cluster (scripts/slurm-up.sh)");
    }
    if !up {
        eprintln!(
            "skipped: no Slurm cluster (run scripts/slurm-up.sh and . /tmp/reconf-slurm/env)"
        );
    }
    up
}

/// The job ids a submission recorded.
fn jobs(sub: &Path) -> (String, String) {
    let text = std::fs::read_to_string(sub.join("jobs.txt")).unwrap();
    let id = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(k).map(|s| s.trim().to_string()))
            .unwrap()
    };
    (id("array "), id("collect "))
}

/// Whether Slurm no longer lists any of `ids`.
fn slurm_jobs_ended(ids: &[&str]) -> bool {
    let o = Command::new("squeue")
        .args(["-h", "-o", "%i", "-j", &ids.join(",")])
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).trim().is_empty()
}

/// Waits until Slurm no longer lists any of `ids`.
fn wait_for(ids: &[&str]) {
    let start = Instant::now();
    loop {
        let o = Command::new("squeue")
            .args(["-h", "-o", "%i", "-j", &ids.join(",")])
            .output()
            .unwrap();
        if String::from_utf8_lossy(&o.stdout).trim().is_empty() {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "jobs {ids:?} never ended"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn summaries(sw: &Path) -> BTreeMap<String, SystemTime> {
    let mut m = BTreeMap::new();
    for e in std::fs::read_dir(sw.join("runs")).unwrap() {
        let p: PathBuf = e.unwrap().path().join("summary.json");
        if let Ok(meta) = std::fs::metadata(&p) {
            m.insert(
                p.parent()
                    .unwrap()
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
                meta.modified().unwrap(),
            );
        }
    }
    m
}

#[test]
fn on_a_real_cluster_the_tables_equal_the_local_sweep_whatever_the_number_of_tasks() {
    if !cluster() {
        return;
    }
    let dir = setup();
    let d = dir.path();
    // 3 configurations x 12 seeds = 36 runs, as 4 and as 7 array tasks.
    let mut submitted = Vec::new();
    for (out, tasks) in [("s4", "4"), ("s7", "7")] {
        let o = reconf(&sweep_args("12", out, &["--slurm", "--tasks", tasks]), d);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(
            stdout(&o).contains(&format!("36 runs in {tasks} array tasks")),
            "{}",
            stdout(&o)
        );
        submitted.push(jobs(&d.join(out).join("slurm/1")));
    }
    let start = Instant::now();
    let o = reconf(&sweep_args("12", "local", &["-q", "-j", "2"]), d);
    assert!(o.status.success(), "{}", stderr(&o));
    let local_s = start.elapsed().as_secs_f64();
    for (a, c) in &submitted {
        wait_for(&[a, c]);
    }
    let slurm_s = start.elapsed().as_secs_f64();
    for out in ["s4", "s7"] {
        let log = std::fs::read_to_string(d.join(out).join("slurm/1/logs/collect.out")).unwrap();
        assert!(log.contains("36 ok, 0 failed, 0 missing"), "{log}");
        assert_same_tables(&d.join("local"), &d.join(out));
    }
    eprintln!(
        "36 runs: local sweep on 2 threads {local_s:.1} s; both Slurm sweeps (72 runs, 11 tasks, \
one CPU each) done after {slurm_s:.1} s"
    );
    // Run again: finished, nothing submitted.
    let o = reconf(&sweep_args("12", "s4", &["--slurm", "--tasks", "4"]), d);
    assert!(
        stdout(&o).contains("all 36 runs finished"),
        "{}",
        stdout(&o)
    );
    assert!(!d.join("s4/slurm/2").exists());
}

#[test]
fn on_a_real_cluster_a_cancelled_task_is_resubmitted_and_nothing_is_done_twice() {
    if !cluster() {
        return;
    }
    let dir = setup();
    let d = dir.path();
    // Longer runs (an hour of 300 clients), so that a task is cancelled with runs left to do.
    let extra = [
        "--set",
        "duration_s=3600",
        "--set",
        r#"apps[0].clients.profile={kind="constant", value=300}"#,
    ];
    let mut args = sweep_args("8", "sw", &extra);
    args.extend(["--slurm", "--tasks", "3"]);
    let o = reconf(&args, d);
    assert!(o.status.success(), "{}", stderr(&o));
    let sub = d.join("sw/slurm/1");
    let (array, collect) = jobs(&sub);
    // Cancel task 1 once it has finished one of its runs.
    let mine = task_runs(&sub, 1);
    let start = Instant::now();
    while !mine
        .iter()
        .any(|id| d.join("sw/runs").join(id).join("summary.json").is_file())
    {
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "task 1 never finished a run"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let o = Command::new("scancel")
        .arg(format!("{array}_1"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    // Run again while the other tasks run: progress, nothing submitted.
    let o = reconf(&args, d);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    if text.contains("still queued or running") {
        assert!(text.contains("Nothing submitted"), "{text}");
        assert!(!d.join("sw/slurm/2").exists());
        // Nor does a local sweep of the folder race the cluster's tasks.
        let o = reconf(&sweep_args("8", "sw", &extra), d);
        if o.status.code() == Some(2) {
            assert!(
                stderr(&o).contains("still queued or running"),
                "{}",
                stderr(&o)
            );
        } else {
            // The jobs ended in between: then the local sweep may finish the sweep.
            assert!(slurm_jobs_ended(&[&array, &collect]), "{}", stderr(&o));
        }
    }
    wait_for(&[&array, &collect]);
    let before = summaries(&d.join("sw"));
    let lost: Vec<&String> = mine.iter().filter(|id| !before.contains_key(*id)).collect();
    assert!(
        !lost.is_empty(),
        "task 1 finished every run before it was cancelled"
    );
    assert!(lost.len() < mine.len());
    let log = std::fs::read_to_string(sub.join("logs/collect.out")).unwrap();
    assert!(log.contains(&format!("{} missing", lost.len())), "{log}");
    // Resubmit: only what is missing.
    let o = reconf(&args, d);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains(&format!("{} runs (of 24: ", lost.len())),
        "{}",
        stdout(&o)
    );
    let sub2 = d.join("sw/slurm/2");
    let mut resubmitted: Vec<String> = (0..3)
        .filter(|t| sub2.join(format!("tasks/{t}.txt")).is_file())
        .flat_map(|t| task_runs(&sub2, t))
        .collect();
    resubmitted.sort();
    let mut expected: Vec<String> = lost.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(resubmitted, expected);
    let (a2, c2) = jobs(&sub2);
    let mut local = sweep_args("8", "local", &extra);
    local.extend(["-q", "-j", "1"]);
    let o = reconf(&local, d);
    assert!(o.status.success(), "{}", stderr(&o));
    wait_for(&[&a2, &c2]);
    // Nothing done twice: every summary that existed is untouched; nothing lost.
    let after = summaries(&d.join("sw"));
    for (id, t) in &before {
        assert_eq!(after.get(id), Some(t), "{id} was redone");
    }
    assert_eq!(after.len(), 24);
    assert_same_tables(&d.join("local"), &d.join("sw"));
}
