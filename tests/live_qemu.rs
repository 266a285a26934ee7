//! Tier 2 of the live backend: two real libvirt daemons on this machine running QEMU guests
//! (TCG, 128 MiB, no disk), started by `scripts/libvirt-up.sh`, which writes their URIs to
//! `/tmp/reconf-libvirt/env` (`RECONF_LIBVIRT_URIS`). `.ci/run` starts them and sets
//! `RECONF_LIVE_QEMU_REQUIRED=1`, so there a missing daemon fails the tests; elsewhere the
//! tests print a SKIPPED notice and pass. Run them one at a time (`--test-threads=1`): they
//! share the daemons, and CPU measurements of idle guests are easily disturbed.
#![cfg(feature = "libvirt")]

use reconf::live::backend::{instantiate_template, AppSpec, Backend, Config};
use reconf::live::virt::Libvirt;
use reconf::live::Clock;
use reconf::live::{DomainState, Hypervisor, MigrateOptions};
use reconf_api::{Action, NodeId, Outcome, View};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn sample_at(b: &mut Backend, t: f64) {
    b.clock().set(t);
    b.sample();
}

fn view_at(b: &mut Backend, t: f64) -> reconf_api::View {
    b.clock().set(t);
    b.view()
}

fn exec_at(b: &mut Backend, t: f64, action: Action) -> reconf_api::ActionId {
    b.clock().set(t);
    b.execute(action)
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The two hosts' URIs, or `None` (after a printed notice) when the daemons are not there.
fn uris(test: &str) -> Option<Vec<String>> {
    let from_env = std::env::var("RECONF_LIBVIRT_URIS").ok().or_else(|| {
        std::fs::read_to_string("/tmp/reconf-libvirt/env")
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
    let ok = uris.len() == 2 && Libvirt::connect(&uris, Duration::from_secs(10)).is_ok();
    if ok {
        return Some(uris);
    }
    if std::env::var("RECONF_LIVE_QEMU_REQUIRED").as_deref() == Ok("1") {
        panic!("{test}: the libvirt daemons are required (RECONF_LIVE_QEMU_REQUIRED=1) but do not answer: run scripts/libvirt-up.sh");
    }
    eprintln!("SKIPPED {test}: no libvirt daemons (run scripts/libvirt-up.sh as root first)");
    None
}

fn template() -> String {
    std::fs::read_to_string(root().join("tests/data/libvirt/qemu-vm.xml")).unwrap()
}

/// Removes every domain whose name starts with `prefix` from both hosts.
fn clean(hv: &Libvirt, prefix: &str) {
    for h in 0..hv.hosts() {
        for d in hv.domains(h).unwrap_or_default() {
            if d.name.starts_with(prefix) {
                let _ = hv.stop(h, &d.name, Duration::ZERO);
            }
        }
    }
}

/// The hosts on which `name` runs.
fn running_on(hv: &Libvirt, name: &str) -> Vec<usize> {
    (0..hv.hosts())
        .filter(|&h| {
            hv.domains(h)
                .unwrap_or_default()
                .iter()
                .any(|d| d.name == name && d.state == DomainState::Running)
        })
        .collect()
}

/// The `high` threshold for this machine's idle guests. threshold-migration sheds a VM off a
/// node above `high` only to a node where that VM stays below it, so `high` must lie between
/// one guest's share of a host and three guests' share. How much CPU an idle TCG guest burns
/// depends on the machine (a fixed 0.004 worked for years and then, on one CI machine, was
/// below a single guest's share, about 0.006 of its 2 cores), so it is measured here: the three guests on host 0 over 4 s, and `high`
/// set to the geometric mean of one guest's share and three's (√3 times one guest's), which
/// leaves a factor of 1.7 either way for the load to drift during the run.
fn calibrated_high(hv: &Libvirt) -> f64 {
    let total_ns = |hv: &Libvirt| -> u64 {
        hv.domains(0)
            .unwrap()
            .iter()
            .filter(|d| d.name.starts_with("rubis-app-") && d.state == DomainState::Running)
            .map(|d| d.cpu_time_ns)
            .sum()
    };
    let cores = f64::from(hv.host_info(0).unwrap().cores.max(1));
    let (before_ns, t0) = (total_ns(hv), Instant::now());
    std::thread::sleep(Duration::from_secs(4));
    let (after_ns, dt_s) = (total_ns(hv), t0.elapsed().as_secs_f64());
    let three_guests = after_ns.saturating_sub(before_ns) as f64 / 1e9 / dt_s / cores;
    assert!(
        three_guests > 0.0,
        "the three idle guests used no CPU in {dt_s:.1} s: nothing to calibrate on"
    );
    let high = three_guests / 3f64.sqrt();
    eprintln!(
        "calibration: three idle guests use {:.4} of host 0 ({cores} cores): high = {high:.5}",
        three_guests
    );
    high
}

#[test]
fn reconf_live_migrates_a_real_vm_with_threshold_migration() {
    let Some(uris) = uris("reconf_live_migrates_a_real_vm_with_threshold_migration") else {
        return;
    };
    let hv = Libvirt::connect(&uris, Duration::from_secs(10)).unwrap();
    clean(&hv, "rubis-");
    for k in 0..3 {
        hv.start(
            0,
            &instantiate_template(&template(), &format!("rubis-app-{k}")),
        )
        .unwrap();
    }
    std::thread::sleep(Duration::from_secs(2));
    let high = calibrated_high(&hv);
    let out = tempfile::tempdir().unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_reconf"))
        .arg("live")
        .arg(root().join("scenarios/live/two-hosts.toml"))
        .args(["--uri", &uris[0], "--uri", &uris[1], "--duration-s", "20"])
        .args(["--set", &format!("policy.params.high={high}")])
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    let actions = std::fs::read_to_string(out.path().join("actions.csv")).unwrap_or_default();
    let summary = std::fs::read_to_string(out.path().join("summary.json")).unwrap_or_default();
    let moved: Vec<Vec<String>> = actions
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(String::from).collect())
        .filter(|c: &Vec<String>| c[3] == "migrate" && c[6] == "done")
        .collect();
    let placement: Vec<(String, Vec<usize>)> = (0..3)
        .map(|k| format!("rubis-app-{k}"))
        .map(|n| (n.clone(), running_on(&hv, &n)))
        .collect();
    clean(&hv, "rubis-");
    assert!(o.status.success(), "{stderr}");
    assert!(!moved.is_empty(), "no migration done:\n{actions}\n{stderr}");
    let (start, end): (f64, f64) = (moved[0][1].parse().unwrap(), moved[0][2].parse().unwrap());
    eprintln!(
        "real migration of {} (128 MiB, TCG) to {}: {:.2} s, downtime {} ms, {} MB sent, {} rounds",
        moved[0][4],
        moved[0][5],
        end - start,
        moved[0][9],
        moved[0][8],
        moved[0][10]
    );
    for (name, hosts) in &placement {
        assert_eq!(hosts.len(), 1, "{name} runs on {hosts:?}");
        let expected = if *name == moved[0][4] { 1 } else { 0 };
        assert_eq!(hosts[0], expected, "{name}");
    }
    assert!(summary.contains("\"migrations\": 1"), "{summary}");
}

fn config(reserve_mb: f64, opts: MigrateOptions) -> Config {
    Config {
        node_names: vec!["host-0".into(), "host-1".into()],
        apps: vec![AppSpec {
            name: "faulty".into(),
            tiers: vec!["app".into()],
            sla_target_ms: 500.0,
        }],
        host_reserved_ram_mb: reserve_mb,
        templates: BTreeMap::new(),
        migrate: opts,
        stop_timeout: Duration::from_secs(1),
        power_on_command: None,
        power_off_command: None,
        dry_run: false,
        call_timeout: Duration::from_secs(10),
        boot_timeout: Duration::from_secs(30),
        poll_wait: Duration::from_secs(2),
        power: Vec::new(),
    }
}

fn loopback() -> MigrateOptions {
    MigrateOptions {
        max_downtime_ms: 300,
        bandwidth_mib_s: 0,
        uri: Some("tcp://127.0.0.1".into()),
        listen_address: Some("127.0.0.1".into()),
        timeout: Some(Duration::from_secs(60)),
    }
}

fn the_vm(v: &View) -> reconf_api::VmId {
    v.vms
        .iter()
        .find(|x| x.name == "faulty-app-0")
        .expect("faulty-app-0")
        .id
}

#[test]
fn real_faults_leave_the_vm_running_on_exactly_one_host() {
    let Some(uris) = uris("real_faults_leave_the_vm_running_on_exactly_one_host") else {
        return;
    };
    let hv = Arc::new(Libvirt::connect(&uris, Duration::from_secs(10)).unwrap());
    clean(&hv, "faulty-");
    hv.start(0, &instantiate_template(&template(), "faulty-app-0"))
        .unwrap();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // 1. Refused: the destination has no RAM left once its host reserve is deducted.
        let mut b = Backend::new(hv.clone(), config(1e9, loopback()), Clock::wall());
        sample_at(&mut b, 0.0);
        let v = view_at(&mut b, 0.1);
        exec_at(
            &mut b,
            0.1,
            Action::Migrate {
                vm: the_vm(&v),
                to: NodeId(1),
            },
        );
        let v = view_at(&mut b, 0.2);
        assert!(matches!(&v.actions[0].outcome, Outcome::Refused(r) if r.contains("RAM free")));
        assert_eq!(running_on(&hv, "faulty-app-0"), [0]);

        // 2. Failing mid-way: capped at 1 MiB/s and aborted after 0.3 s.
        let slow = MigrateOptions {
            bandwidth_mib_s: 1,
            timeout: Some(Duration::from_millis(300)),
            ..loopback()
        };
        let mut b = Backend::new(hv.clone(), config(0.0, slow), Clock::wall());
        sample_at(&mut b, 0.0);
        let v = view_at(&mut b, 0.1);
        exec_at(
            &mut b,
            0.1,
            Action::Migrate {
                vm: the_vm(&v),
                to: NodeId(1),
            },
        );
        b.drain(Duration::from_secs(60), || false);
        let v = view_at(&mut b, 0.2);
        assert!(
            matches!(&v.actions[0].outcome, Outcome::Failed(_)),
            "{:?}",
            v.actions[0].outcome
        );
        assert_eq!(running_on(&hv, "faulty-app-0"), [0]);
        assert_eq!(v.vm(the_vm(&v)).node, Some(NodeId(0)));

        // 3. The same VM migrates for real afterwards: the run goes on.
        let mut b = Backend::new(hv.clone(), config(0.0, loopback()), Clock::wall());
        sample_at(&mut b, 0.0);
        let v = view_at(&mut b, 0.1);
        let t = Instant::now();
        exec_at(
            &mut b,
            0.1,
            Action::Migrate {
                vm: the_vm(&v),
                to: NodeId(1),
            },
        );
        b.drain(Duration::from_secs(60), || false);
        let v = view_at(&mut b, 0.2);
        assert_eq!(v.actions[0].outcome, Outcome::Done);
        eprintln!(
            "real migration after faults: {:.2} s",
            t.elapsed().as_secs_f64()
        );
        assert_eq!(running_on(&hv, "faulty-app-0"), [1]);

        // 4. Vanished between view and action: it fails, nothing else happens.
        hv.stop(1, "faulty-app-0", Duration::ZERO).unwrap();
        exec_at(
            &mut b,
            0.2,
            Action::Migrate {
                vm: the_vm(&v),
                to: NodeId(0),
            },
        );
        b.drain(Duration::from_secs(30), || false);
        let v = view_at(&mut b, 0.3);
        assert!(matches!(&v.actions[0].outcome, Outcome::Failed(_)));
        assert!(running_on(&hv, "faulty-app-0").is_empty());
    }));
    clean(&hv, "faulty-");
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

#[test]
fn one_daemon_given_twice_is_refused_with_exit_2() {
    let Some(uris) = uris("one_daemon_given_twice_is_refused_with_exit_2") else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    // The system daemon through two URIs: one host UUID.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_reconf"))
        .arg("live")
        .arg(root().join("scenarios/live/two-hosts.toml"))
        .args(["--uri", &uris[0], "--uri", "qemu+unix:///system"])
        .args(["--duration-s", "2"])
        .arg("--out")
        .arg(out.path().join("run"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: --uri qemu+unix:///system (node 1) and --uri qemu:///system (node 0) are the same host (host UUID 5ec0f1ee-0000-4000-8000-000000000001)"),
        "{stderr}"
    );
    assert!(!out.path().join("run").exists(), "nothing written");
}
