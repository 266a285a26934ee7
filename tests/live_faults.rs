//! Tier 3 of the live backend: faults injected into real runs of `reconf live` between the two
//! local libvirt daemons of `scripts/libvirt-up.sh` (host 0: the system daemon, host 1: a
//! session daemon), migrating a guest that holds 40 MiB of random data
//! (`tests/data/libvirt/dirty-guest.S`) at 16 Mbit/s, so that a migration lasts about 25 s
//! (`scenarios/live/faults.toml`: scripted at t = 1 s, period 1 s, call timeout 5 s).
//!
//! Each test injects one fault at a chosen instant — mid-migration, or the instant the source
//! is paused for its final copy — and then checks, whatever happened: the VM is defined and
//! running on exactly one host, no gap between two periods of the run is longer than two
//! periods, and the files are whole and consistent (no temporary left). Like `live_qemu`,
//! they skip without the daemons, and fail instead under `.ci/run`
//! (`RECONF_LIVE_QEMU_REQUIRED=1`). Run them one at a time (`--test-threads=1`): they kill and
//! restart the shared daemons.
#![cfg(feature = "libvirt")]

use reconf::live::backend::instantiate_template;
use reconf::live::virt::Libvirt;
use reconf::live::{DomainState, Hypervisor};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const VM: &str = "rubis-app-0";
const PERIOD_S: f64 = 1.0;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn state_dir() -> PathBuf {
    PathBuf::from(
        std::env::var("RECONF_LIBVIRT_STATE").unwrap_or_else(|_| "/tmp/reconf-libvirt".into()),
    )
}

/// The two hosts' URIs, or `None` (after a printed notice) when the daemons are not there.
fn uris(test: &str) -> Option<Vec<String>> {
    let from_env = std::env::var("RECONF_LIBVIRT_URIS").ok().or_else(|| {
        std::fs::read_to_string(state_dir().join("env"))
            .ok()
            .and_then(|s| {
                s.split_once('\'')
                    .and_then(|(_, r)| r.rsplit_once('\''))
                    .map(|(u, _)| u.to_string())
            })
    });
    let uris: Vec<String> = from_env
        .unwrap_or_default()
        .split_whitespace()
        .map(String::from)
        .collect();
    let guest = state_dir().join("dirty-guest.elf");
    let ok = uris.len() == 2
        && guest.exists()
        && Libvirt::connect(&uris, Duration::from_secs(10)).is_ok();
    if ok {
        return Some(uris);
    }
    if std::env::var("RECONF_LIVE_QEMU_REQUIRED").as_deref() == Ok("1") {
        panic!("{test}: the libvirt daemons and the guest are required (RECONF_LIVE_QEMU_REQUIRED=1) but missing: run scripts/libvirt-up.sh");
    }
    eprintln!("SKIPPED {test}: no libvirt daemons (run scripts/libvirt-up.sh as root first)");
    None
}

fn hv(uris: &[String]) -> Libvirt {
    Libvirt::connect(uris, Duration::from_secs(10)).unwrap()
}

/// The daemon of host `h`'s pid.
fn daemon_pid(h: usize) -> String {
    let file = ["libvirtd.pid", "session-libvirtd.pid"][h];
    std::fs::read_to_string(state_dir().join(file))
        .unwrap()
        .trim()
        .to_string()
}

fn signal(pid: &str, sig: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid)
        .status()
        .unwrap();
    assert!(ok.success(), "kill -{sig} {pid}");
}

/// Starts the daemons that are not running (scripts/libvirt-up.sh is idempotent).
fn restart_daemons() {
    let o = Command::new(root().join("scripts/libvirt-up.sh"))
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "libvirt-up: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Host `h`'s domains, retried for a while (the first call after a daemon restart finds the
/// old connection dead and reconnects at the next).
fn listing(hv: &Libvirt, h: usize) -> Vec<reconf::live::DomainInfo> {
    for _ in 0..20 {
        if let Ok(ds) = hv.domains(h) {
            return ds;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!("host {h} does not answer");
}

/// Every copy of `name`: (host, state).
fn copies(hv: &Libvirt, name: &str) -> Vec<(usize, DomainState)> {
    (0..hv.hosts())
        .flat_map(|h| {
            listing(hv, h)
                .into_iter()
                .filter(|d| d.name == name)
                .map(move |d| (h, d.state))
        })
        .collect()
}

/// Removes every copy of `name` from both hosts.
fn clean(hv: &Libvirt, name: &str) {
    for h in 0..hv.hosts() {
        let _ = hv.stop(h, name, Duration::ZERO);
    }
}

/// Defines and starts the dirty guest as `name` on host 0, and lets it fill its memory.
fn start_guest(hv: &Libvirt, name: &str) {
    clean(hv, name);
    let kernel = state_dir().join("dirty-guest.elf");
    let template = std::fs::read_to_string(root().join("tests/data/libvirt/dirty-vm.xml"))
        .unwrap()
        .replace("GUEST_KERNEL", &kernel.display().to_string());
    hv.start(0, &instantiate_template(&template, name)).unwrap();
    std::thread::sleep(Duration::from_secs(2));
}

/// `reconf live` on the fault scenario for `duration_s`, writing into `out`.
fn reconf_live(uris: &[String], out: &Path, duration_s: u32) -> Child {
    Command::new(env!("CARGO_BIN_EXE_reconf"))
        .arg("live")
        .arg(root().join("scenarios/live/faults.toml"))
        .args(["--uri", &uris[0], "--uri", &uris[1]])
        .args(["--duration-s", &duration_s.to_string()])
        .arg("--out")
        .arg(out)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until the migration of `name` is under way (its incoming copy listed on host 1).
fn wait_for_migration(hv: &Libvirt, name: &str) -> Instant {
    let until = Instant::now() + Duration::from_secs(30);
    while Instant::now() < until {
        if copies(hv, name).iter().any(|c| c.0 == 1) {
            return Instant::now();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the migration of {name} did not start");
}

/// Waits until the source copy of `name` is paused for its final copy.
fn wait_for_the_paused_instant(hv: &Libvirt, name: &str) {
    let until = Instant::now() + Duration::from_secs(90);
    while Instant::now() < until {
        let paused = hv
            .domains(0)
            .unwrap_or_default()
            .iter()
            .any(|d| d.name == name && d.state.is_paused());
        if paused {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("the source copy of {name} was never paused");
}

/// Waits for `child` to end; its exit status and stderr.
fn finish(child: Child) -> (Option<i32>, String) {
    let o = child.wait_with_output().unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The VM is defined and running on exactly one host: that host.
fn assert_one_running_copy(hv: &Libvirt, name: &str, log: &str) -> usize {
    let found = copies(hv, name);
    assert_eq!(found.len(), 1, "copies of {name}: {found:?}\n{log}");
    assert_eq!(found[0].1, DomainState::Running, "{found:?}\n{log}");
    found[0].0
}

/// The run's files: whole, consistent, no temporary; periods never more than two apart.
/// Returns the rows of actions.csv.
fn assert_consistent_files(out: &Path, log: &str) -> Vec<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "actions.csv",
            "failures.csv",
            "nodes.csv",
            "scenario.toml",
            "summary.json",
            "timeseries.csv"
        ],
        "{log}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let ts = std::fs::read_to_string(out.join("timeseries.csv")).unwrap();
    let times: Vec<f64> = ts
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(
        summary["events"].as_u64(),
        Some(times.len() as u64),
        "{log}"
    );
    let gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    let longest = gaps.iter().cloned().fold(times[0], f64::max);
    eprintln!(
        "  {} periods, longest gap {longest:.3} s (period {PERIOD_S} s)",
        times.len()
    );
    assert!(
        longest <= 2.0 * PERIOD_S,
        "a gap of {longest} s between periods:\n{ts}\n{log}"
    );
    let nodes = std::fs::read_to_string(out.join("nodes.csv")).unwrap();
    assert_eq!(nodes.lines().count(), 1 + 2 * times.len(), "{log}");
    std::fs::read_to_string(out.join("actions.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(String::from).collect::<Vec<_>>())
        .inspect(|c| assert_eq!(c.len(), 11, "{c:?}"))
        .collect()
}

/// The states of host `h` in nodes.csv, in time order.
fn host_states(out: &Path, h: usize) -> Vec<String> {
    std::fs::read_to_string(out.join("nodes.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| l.split(',').nth(1) == Some(&format!("host-{h}")))
        .map(|l| l.split(',').nth(2).unwrap().to_string())
        .collect()
}

/// Runs `fault` against a migration of a fresh guest, with cleanup whatever happens.
fn with_guest(test: &str, fault: impl FnOnce(&[String], &Libvirt, &Path)) {
    let Some(uris) = uris(test) else {
        return;
    };
    let hv = hv(&uris);
    start_guest(&hv, VM);
    let out = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        fault(&uris, &hv, out.path())
    }));
    // Whatever happened, both daemons run again and the guest goes.
    restart_daemons();
    let hv = self::hv(&uris);
    clean(&hv, VM);
    eprintln!("{test}: {:.1} s", t.elapsed().as_secs_f64());
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

/// Kills host `h`'s daemon with SIGKILL, restarts it 3 s later, and checks the outcome.
fn kill_daemon(test: &str, h: usize, at_the_paused_instant: bool) {
    with_guest(test, |uris, hv, out| {
        let run = reconf_live(uris, out, if at_the_paused_instant { 45 } else { 30 });
        let started = wait_for_migration(hv, VM);
        if at_the_paused_instant {
            wait_for_the_paused_instant(hv, VM);
        } else {
            std::thread::sleep(Duration::from_secs(6));
        }
        signal(&daemon_pid(h), "KILL");
        let killed_s = started.elapsed().as_secs_f64();
        std::thread::sleep(Duration::from_secs(3));
        restart_daemons();
        let (code, log) = finish(run);
        eprintln!("{test}: daemon {h} killed {killed_s:.1} s into the migration\n{log}");
        assert_eq!(code, Some(0), "{log}");
        let on = assert_one_running_copy(hv, VM, &log);
        let actions = assert_consistent_files(out, &log);
        assert_eq!(actions.len(), 1, "{actions:?}");
        // The migration ended one way or the other, and says where the VM went.
        let outcome = &actions[0][6];
        assert!(outcome == "done" || outcome == "failed", "{actions:?}");
        assert_eq!(on, usize::from(outcome == "done"), "{actions:?}\n{log}");
        // While its daemon was down the host was shown failed, never on and empty.
        assert!(
            host_states(out, h).iter().any(|s| s == "failed"),
            "{:?}",
            host_states(out, h)
        );
    });
}

#[test]
fn kill_9_of_the_source_daemon_mid_migration() {
    kill_daemon("kill_9_of_the_source_daemon_mid_migration", 0, false);
}

#[test]
fn kill_9_of_the_destination_daemon_mid_migration() {
    kill_daemon("kill_9_of_the_destination_daemon_mid_migration", 1, false);
}

#[test]
fn kill_9_of_the_source_daemon_at_the_paused_instant() {
    kill_daemon("kill_9_of_the_source_daemon_at_the_paused_instant", 0, true);
}

#[test]
fn kill_9_of_the_destination_daemon_at_the_paused_instant() {
    kill_daemon(
        "kill_9_of_the_destination_daemon_at_the_paused_instant",
        1,
        true,
    );
}

#[test]
fn kill_9_of_reconf_at_the_paused_instant_then_a_rerun() {
    with_guest(
        "kill_9_of_reconf_at_the_paused_instant_then_a_rerun",
        |uris, hv, out| {
            let run = reconf_live(uris, out, 60);
            wait_for_migration(hv, VM);
            wait_for_the_paused_instant(hv, VM);
            signal(&run.id().to_string(), "KILL");
            let (code, _) = finish(run);
            assert_eq!(code, None, "killed by a signal");
            std::thread::sleep(Duration::from_secs(2));
            let left = copies(hv, VM);
            eprintln!("after kill -9 of reconf at the paused instant: {left:?}");
            // The rerun (no migration this time: the VM is not on host-0 any more, or is and
            // migrates again) reconciles at start: one copy, running.
            let run = reconf_live(uris, out, 6);
            let (code, log) = finish(run);
            assert_eq!(code, Some(0), "{log}");
            if left.len() > 1 || left.iter().any(|c| c.1 != DomainState::Running) {
                assert!(log.contains("reconciled: "), "{log}");
            }
            let on = assert_one_running_copy(hv, VM, &log);
            let actions = assert_consistent_files(out, &log);
            // The rerun's scripted migration: refused if the VM is already on host-1.
            if on == 1 {
                assert!(actions.iter().all(|a| a[6] != "in-progress"), "{actions:?}");
            }
        },
    );
}

#[test]
fn sigterm_mid_migration_aborts_it_writes_the_files_and_exits_143() {
    with_guest(
        "sigterm_mid_migration_aborts_it_writes_the_files_and_exits_143",
        |uris, hv, out| {
            let run = reconf_live(uris, out, 60);
            wait_for_migration(hv, VM);
            std::thread::sleep(Duration::from_secs(5));
            let t = Instant::now();
            signal(&run.id().to_string(), "TERM");
            let (code, log) = finish(run);
            let took = t.elapsed();
            eprintln!("SIGTERM mid-migration: exit {code:?} after {took:?}\n{log}");
            assert_eq!(code, Some(143), "{log}");
            assert!(took < Duration::from_secs(10), "{took:?}");
            assert_eq!(
                assert_one_running_copy(hv, VM, &log),
                0,
                "aborted: on its source"
            );
            let actions = assert_consistent_files(out, &log);
            assert_eq!(actions.len(), 1);
            assert_eq!(actions[0][6], "failed", "{actions:?}");
            assert!(actions[0][7].contains("cancelled"), "{actions:?}");
        },
    );
}

#[test]
fn a_daemon_stopped_for_20_s_mid_migration() {
    with_guest(
        "a_daemon_stopped_for_20_s_mid_migration",
        |uris, hv, out| {
            let run = reconf_live(uris, out, 45);
            wait_for_migration(hv, VM);
            std::thread::sleep(Duration::from_secs(4));
            let pid = daemon_pid(0);
            signal(&pid, "STOP");
            std::thread::sleep(Duration::from_secs(20));
            signal(&pid, "CONT");
            let (code, log) = finish(run);
            eprintln!("source daemon stopped for 20 s mid-migration:\n{log}");
            assert_eq!(code, Some(0), "{log}");
            let on = assert_one_running_copy(hv, VM, &log);
            let actions = assert_consistent_files(out, &log);
            assert_eq!(actions.len(), 1);
            assert_eq!(on, usize::from(actions[0][6] == "done"), "{actions:?}");
            let states = host_states(out, 0);
            let failed = states.iter().filter(|s| *s == "failed").count();
            // Shown failed once its calls had waited the call timeout (5 s), for most of the 20 s.
            assert!(
                (10..=20).contains(&failed),
                "{failed} periods failed: {states:?}"
            );
            // One fault, the host's, repaired when it answered again.
            let failures = std::fs::read_to_string(out.join("failures.csv")).unwrap();
            let rows: Vec<&str> = failures.lines().skip(1).collect();
            assert_eq!(rows.len(), 1, "{failures}");
            assert!(
                rows[0].contains(",node,host-0,connection lost,"),
                "{failures}"
            );
            assert!(!rows[0].ends_with(",,"), "repaired: {failures}");
            assert_eq!(states.last().map(String::as_str), Some("on"), "{states:?}");
        },
    );
}

#[test]
fn a_migration_to_a_powered_off_host_powers_it_on_and_migrates_once_it_answers() {
    // Convention 5 on real daemons: host-1's "power" is its daemon. power-off kills it (the
    // host no longer answers); the migration to it then runs the power-on command (which starts
    // the daemon again), waits for the host to answer, and migrates.
    let test = "a_migration_to_a_powered_off_host_powers_it_on_and_migrates_once_it_answers";
    let Some(uris) = uris(test) else {
        return;
    };
    let hv = hv(&uris);
    clean(&hv, VM);
    let template = std::fs::read_to_string(root().join("tests/data/libvirt/qemu-vm.xml")).unwrap();
    hv.start(0, &instantiate_template(&template, VM)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let base = std::fs::read_to_string(root().join("scenarios/live/faults.toml")).unwrap();
    let head = &base[..base.find("[[actions]]").unwrap()];
    let tail = &base[base.find("[[apps]]").unwrap()..];
    let state = state_dir().display().to_string();
    let scenario = format!(
        "{head}power_off_command = \"kill $(cat {state}/session-libvirtd.pid)\"\npower_on_command = \"{}\"\nboot_timeout_s = 60\n\n[[actions]]\nkind = \"power-off\"\nat_s = 1\nnode = \"host-1\"\n\n[[actions]]\nkind = \"migrate\"\nat_s = 3\nvm = \"rubis.app.0\"\nto = \"host-1\"\n\n{tail}",
        root().join("scripts/libvirt-up.sh").display()
    )
    .replace("bandwidth_mbps = 16", "bandwidth_mbps = 0");
    // The [live] table ends where [[actions]] began: the hooks belong to it.
    let path = dir.path().join("power.toml");
    std::fs::write(&path, scenario).unwrap();
    let out = dir.path().join("out");
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let run = Command::new(env!("CARGO_BIN_EXE_reconf"))
            .arg("live")
            .arg(&path)
            .args(["--uri", &uris[0], "--uri", &uris[1], "--duration-s", "25"])
            .arg("--out")
            .arg(&out)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (code, log) = finish(run);
        assert_eq!(code, Some(0), "{log}");
        let actions = assert_consistent_files(&out, &log);
        let rows: Vec<(&str, &str)> = actions
            .iter()
            .map(|a| (a[3].as_str(), a[6].as_str()))
            .collect();
        assert_eq!(
            rows,
            [("power-off", "done"), ("migrate", "done")],
            "{actions:?}\n{log}"
        );
        assert_eq!(assert_one_running_copy(&hv, VM, &log), 1);
        let states = host_states(&out, 1);
        assert!(states.iter().any(|s| s == "off"), "{states:?}");
        assert!(states.iter().any(|s| s == "booting"), "{states:?}");
        assert_eq!(states.last().map(String::as_str), Some("on"), "{states:?}");
        let (start, end): (f64, f64) = (
            actions[1][1].parse().unwrap(),
            actions[1][2].parse().unwrap(),
        );
        eprintln!(
            "migration to a powered-off host, boot included: {:.1} s",
            end - start
        );
    }));
    restart_daemons();
    clean(&self::hv(&uris), VM);
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

#[test]
fn a_guest_destroyed_mid_run_is_restarted_by_repair_and_the_failure_and_repair_recorded() {
    // `virsh destroy` behind reconf's back: the replica is failed at the next period, `repair`
    // restarts it from its tier's template (the domain left defined is undefined first), and
    // failures.csv and summary.json say so.
    let test =
        "a_guest_destroyed_mid_run_is_restarted_by_repair_and_the_failure_and_repair_recorded";
    let Some(uris) = uris(test) else {
        return;
    };
    let hv = hv(&uris);
    clean(&hv, VM);
    let template = root().join("tests/data/libvirt/qemu-vm.xml");
    let xml = std::fs::read_to_string(&template).unwrap();
    hv.start(0, &instantiate_template(&xml, VM)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let base = std::fs::read_to_string(root().join("scenarios/live/faults.toml")).unwrap();
    let head = &base[..base.find("[[actions]]").unwrap()];
    let tail = &base[base.find("[[apps]]").unwrap()..];
    // The [live] table ends where [[actions]] began: the template belongs to it.
    let scenario = format!(
        "{head}templates = {{ \"rubis.app\" = \"{}\" }}\n\n[policy]\nname = \"repair\"\nperiod_s = 1\n\n{tail}",
        template.display()
    );
    let path = dir.path().join("repair.toml");
    std::fs::write(&path, scenario).unwrap();
    let out = dir.path().join("out");
    let t = Instant::now();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let run = Command::new(env!("CARGO_BIN_EXE_reconf"))
            .arg("live")
            .arg(&path)
            .args(["--uri", &uris[0], "--uri", &uris[1], "--duration-s", "12"])
            .arg("--out")
            .arg(&out)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_secs(4));
        let destroyed = Command::new("virsh")
            .args(["-c", &uris[0], "destroy", VM])
            .output()
            .unwrap();
        assert!(
            destroyed.status.success(),
            "{}",
            String::from_utf8_lossy(&destroyed.stderr)
        );
        let destroyed_s = t.elapsed().as_secs_f64();
        let (code, log) = finish(run);
        eprintln!("{test}: destroyed at {destroyed_s:.1} s\n{log}");
        assert_eq!(code, Some(0), "{log}");
        // Running again, defined on exactly one host.
        assert_one_running_copy(&hv, VM, &log);
        let actions = assert_consistent_files(&out, &log);
        let rows: Vec<(&str, &str, &str)> = actions
            .iter()
            .map(|a| (a[3].as_str(), a[4].as_str(), a[6].as_str()))
            .collect();
        assert_eq!(rows, [("restart-vm", VM, "done")], "{actions:?}\n{log}");
        let failures = std::fs::read_to_string(out.join("failures.csv")).unwrap();
        let header: Vec<&str> = failures.lines().next().unwrap().split(',').collect();
        let lines: Vec<Vec<&str>> = failures
            .lines()
            .skip(1)
            .map(|l| l.split(',').collect())
            .collect();
        assert_eq!(lines.len(), 1, "{failures}");
        // By column name: the file's columns grow.
        let cell = |name: &str| lines[0][header.iter().position(|h| *h == name).unwrap()];
        let got = ["kind", "target", "cause", "vms_lost", "replicas_lost"].map(cell);
        assert_eq!(
            got,
            ["vm", VM, "domain stopped outside reconf", "1", VM],
            "{failures}"
        );
        let failed_s: f64 = cell("time_s").parse().unwrap();
        let restored_s: f64 = cell("service_restored_s").parse().unwrap();
        // Seen at the first period after the destroy; back once the restart ran.
        assert!(failed_s > 3.0 && failed_s < destroyed_s + 2.5, "{failures}");
        assert!(
            restored_s >= failed_s && restored_s < failed_s + 5.0,
            "{failures}"
        );
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap())
                .unwrap();
        let faults = &summary; // the fault figures are top-level keys
        assert_eq!(faults["failures"], 1, "{summary}");
        assert_eq!(faults["repairs"], 1, "{summary}");
        let mttr = faults["mean_time_to_repair_s"].as_f64().unwrap();
        assert!((mttr - (restored_s - failed_s)).abs() < 0.01, "{summary}");
        let availability = faults["tier_availability"]["rubis.app"].as_f64().unwrap();
        assert!(availability > 0.5 && availability < 1.0, "{summary}");
    }));
    clean(&self::hv(&uris), VM);
    eprintln!("{test}: {:.1} s", t.elapsed().as_secs_f64());
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}
