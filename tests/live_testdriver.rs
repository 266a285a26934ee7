//! Tier 1 of the live backend: libvirt's test driver, no daemon. Each `test:///ABS/node.xml`
//! connection is an independent host; migration is emulated (migratable XML defined and started
//! on the destination, then the source destroyed). Faults: a refused migration, a domain that
//! vanished between view and action, a lost connection — each reported to the policy in its
//! next view, the VM on exactly one host, the run going on. Also `reconf live` end to end with
//! the registered `threshold-migration` policy, and CloudSim's `thr-mmt` consolidation (overload
//! step and underload step) deciding on live views.
#![cfg(feature = "libvirt")]

use reconf::live::backend::{AppSpec, Backend, Config};
use reconf::live::virt::Libvirt;
use reconf::live::Clock;
use reconf::live::{Hypervisor, MigrateOptions};
use reconf_api::{
    Action, AppId, Failed, FailureView, NodeId, NodeState, Outcome, ReplicaId, ReplicaState,
    TierRef, View,
};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
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

fn data(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/libvirt")
        .join(file)
}

fn uri(file: &str) -> String {
    format!("test://{}", data(file).display())
}

fn config(nodes: usize) -> Config {
    let mut templates = BTreeMap::new();
    templates.insert(
        (0, 1),
        std::fs::read_to_string(data("test-vm.xml")).unwrap(),
    );
    Config {
        node_names: (0..nodes).map(|k| format!("node-{k}")).collect(),
        apps: vec![AppSpec {
            name: "rubis".into(),
            tiers: vec!["web".into(), "app".into()],
            sla_target_ms: 500.0,
        }],
        host_reserved_ram_mb: 512.0,
        templates,
        migrate: MigrateOptions::default(),
        stop_timeout: Duration::from_millis(200),
        power_on_command: None,
        power_off_command: None,
        dry_run: false,
        call_timeout: Duration::from_secs(10),
        boot_timeout: Duration::from_secs(30),
        poll_wait: Duration::from_secs(2),
        power: Vec::new(),
    }
}

fn setup(files: &[&str]) -> (Arc<Libvirt>, Backend) {
    let uris: Vec<String> = files.iter().map(|f| uri(f)).collect();
    let hv = Arc::new(Libvirt::connect(&uris, Duration::from_secs(10)).expect("test driver"));
    let b = Backend::new(hv.clone(), config(files.len()), Clock::wall());
    (hv, b)
}

fn names(hv: &Libvirt, h: usize) -> Vec<String> {
    let mut n: Vec<String> = hv.domains(h).unwrap().into_iter().map(|d| d.name).collect();
    n.sort();
    n
}

/// The hosts that list `name` as running.
fn hosts_of(hv: &Libvirt, name: &str) -> Vec<usize> {
    (0..hv.hosts())
        .filter(|&h| {
            hv.domains(h).is_ok_and(|ds| {
                ds.iter()
                    .any(|d| d.name == name && d.state == reconf::live::DomainState::Running)
            })
        })
        .collect()
}

fn vm(v: &View, name: &str) -> reconf_api::VmId {
    v.vms.iter().find(|x| x.name == name).expect(name).id
}

#[test]
fn the_view_maps_domains_to_replicas_with_ram_and_cpu_from_the_hosts() {
    let (_hv, mut b) = setup(&["node0.xml", "node1.xml"]);
    sample_at(&mut b, 0.0);
    std::thread::sleep(Duration::from_millis(200));
    let v = view_at(&mut b, 0.2);
    assert_eq!(v.nodes.len(), 2);
    assert_eq!(v.nodes[0].cores, 4.0);
    let mib = 1.048576;
    assert!((v.nodes[0].ram_mb - 4096.0 * mib).abs() < 1e-6);
    // 4096 MiB - 512 MB reserved - web 512 MiB - app 1024 MiB - unmanaged 256 MiB.
    assert!((v.nodes[0].free_ram_mb - (2304.0 * mib - 512.0)).abs() < 1e-6);
    let mut vms: Vec<&str> = v.vms.iter().map(|x| x.name.as_str()).collect();
    vms.sort();
    assert_eq!(
        vms,
        ["rubis-app-0", "rubis-web-0"],
        "backup-agent is not managed"
    );
    assert_eq!(v.nodes[0].vms.len(), 2);
    assert!(v.nodes[1].vms.is_empty());
    let app = v.replica(reconf_api::ReplicaId(vm(&v, "rubis-app-0").0));
    assert_eq!(
        app.tier,
        TierRef {
            app: AppId(0),
            tier: 1
        }
    );
    assert_eq!(app.state, ReplicaState::Active);
    // The test driver's CPU counter runs with the wall clock: one busy core per domain,
    // whatever the period (within the clamp to its vCPUs).
    assert!(
        (app.cpu_utilisation - 1.0).abs() < 0.05,
        "{}",
        app.cpu_utilisation
    );
    assert!((v.nodes[0].cpu_utilisation - 0.75).abs() < 0.05);
    assert_eq!(v.nodes[1].cpu_utilisation, 0.0);
}

#[test]
fn a_migration_moves_the_domain_to_exactly_one_other_host() {
    let (hv, mut b) = setup(&["node0.xml", "node1.xml"]);
    sample_at(&mut b, 0.0);
    let v = view_at(&mut b, 0.1);
    let app = vm(&v, "rubis-app-0");
    exec_at(
        &mut b,
        0.1,
        Action::Migrate {
            vm: app,
            to: NodeId(1),
        },
    );
    b.drain(Duration::from_secs(10), || false);
    let v = view_at(&mut b, 0.2);
    assert_eq!(v.actions[0].outcome, Outcome::Done);
    assert_eq!(v.vm(app).node, Some(NodeId(1)));
    assert_eq!(hosts_of(&hv, "rubis-app-0"), vec![1]);
    assert_eq!(names(&hv, 1), ["rubis-app-0"]);
    assert!(
        view_at(&mut b, 0.3).actions.is_empty(),
        "an outcome is shown once"
    );
}

#[test]
fn a_migration_to_a_host_without_ram_is_refused() {
    let (hv, mut b) = setup(&["node0.xml", "small.xml"]);
    sample_at(&mut b, 0.0);
    let v = view_at(&mut b, 0.1);
    exec_at(
        &mut b,
        0.1,
        Action::Migrate {
            vm: vm(&v, "rubis-app-0"),
            to: NodeId(1),
        },
    );
    let v = view_at(&mut b, 0.2);
    assert!(
        matches!(&v.actions[0].outcome, Outcome::Refused(r) if r.contains("MB of RAM free")),
        "{:?}",
        v.actions[0].outcome
    );
    assert_eq!(hosts_of(&hv, "rubis-app-0"), vec![0]);
}

#[test]
fn a_domain_that_vanished_between_view_and_action_fails_the_action() {
    let (hv, mut b) = setup(&["node0.xml", "node1.xml"]);
    sample_at(&mut b, 0.0);
    let v = view_at(&mut b, 0.1);
    let web = vm(&v, "rubis-web-0");
    hv.stop(0, "rubis-web-0", Duration::ZERO).unwrap();
    exec_at(
        &mut b,
        0.1,
        Action::Migrate {
            vm: web,
            to: NodeId(1),
        },
    );
    b.drain(Duration::from_secs(10), || false);
    let v = view_at(&mut b, 0.2);
    assert!(
        matches!(&v.actions[0].outcome, Outcome::Failed(_)),
        "{:?}",
        v.actions[0].outcome
    );
    assert!(!v.vm(web).alive);
    assert!(hosts_of(&hv, "rubis-web-0").is_empty());
    // The run goes on: the other VM still migrates.
    exec_at(
        &mut b,
        0.2,
        Action::Migrate {
            vm: vm(&v, "rubis-app-0"),
            to: NodeId(1),
        },
    );
    b.drain(Duration::from_secs(10), || false);
    assert_eq!(view_at(&mut b, 0.3).actions[0].outcome, Outcome::Done);
}

#[test]
fn a_lost_connection_fails_the_migration_and_the_vm_stays_on_its_source() {
    let (hv, mut b) = setup(&["node0.xml", "node1.xml"]);
    sample_at(&mut b, 0.0);
    let v = view_at(&mut b, 0.1);
    let app = vm(&v, "rubis-app-0");
    hv.disconnect(1);
    exec_at(
        &mut b,
        0.1,
        Action::Migrate {
            vm: app,
            to: NodeId(1),
        },
    );
    b.drain(Duration::from_secs(10), || false);
    let v = view_at(&mut b, 0.2);
    assert!(
        matches!(&v.actions[0].outcome, Outcome::Failed(r) if r.contains("no connection")),
        "{:?}",
        v.actions[0].outcome
    );
    assert_eq!(v.vm(app).node, Some(NodeId(0)));
    assert_eq!(hosts_of(&hv, "rubis-app-0"), vec![0]);
    assert_eq!(
        v.nodes[1].state,
        NodeState::Failed,
        "a host whose connection is lost is failed"
    );
    assert_eq!(v.nodes[0].state, NodeState::On);
    // A source lost mid-run: the action fails, nothing panics.
    hv.disconnect(0);
    exec_at(
        &mut b,
        0.2,
        Action::Migrate {
            vm: app,
            to: NodeId(1),
        },
    );
    b.drain(Duration::from_secs(10), || false);
    let v = view_at(&mut b, 0.3);
    assert!(v.actions.iter().all(|a| a.outcome != Outcome::InProgress));
}

#[test]
fn repair_restarts_a_vanished_domain_and_the_vms_of_a_lost_host_from_the_template_elsewhere() {
    let (hv, _) = setup(&["node0.xml", "node1.xml"]);
    // A manual clock: the failures' times are exact.
    let mut b = Backend::new(hv.clone(), config(2), Clock::manual());
    let mut repair = reconf_policies::build(
        "repair",
        &BTreeMap::new(),
        &reconf_api::PolicyContext { seed: 1 },
    )
    .unwrap();
    sample_at(&mut b, 0.0);
    let v = view_at(&mut b, 0.1);
    let app = vm(&v, "rubis-app-0");
    assert!(v.failures.is_empty());
    assert!(repair.decide(&v).is_empty(), "nothing failed");
    // Destroyed and undefined behind reconf's back.
    hv.stop(0, "rubis-app-0", Duration::ZERO).unwrap();
    let v = view_at(&mut b, 0.2);
    assert_eq!(
        v.failures,
        [
            FailureView {
                failed: Failed::Vm(app),
                at_s: 0.2
            },
            FailureView {
                failed: Failed::Replica(ReplicaId(app.0)),
                at_s: 0.2
            },
        ]
    );
    assert_eq!(v.replica(ReplicaId(app.0)).state, ReplicaState::Failed);
    assert!(!v.vm(app).alive);
    // node-1 (empty) has more RAM free than node-0 (web and an unmanaged domain).
    let actions = repair.decide(&v);
    assert_eq!(
        actions,
        [Action::RestartVm {
            vm: app,
            node: NodeId(1)
        }]
    );
    exec_at(&mut b, 0.2, actions[0].clone());
    b.drain(Duration::from_secs(10), || false);
    let v = view_at(&mut b, 0.3);
    assert_eq!(v.actions.len(), 1);
    assert_eq!(v.actions[0].outcome, Outcome::Done);
    assert!(v.failures.is_empty(), "shown once");
    // Back from the template: the same id and name, on node-1 only, 256 MiB.
    assert_eq!(v.replica(ReplicaId(app.0)).state, ReplicaState::Active);
    assert_eq!(v.vm(app).node, Some(NodeId(1)));
    assert!((v.vm(app).ram_mb - 256.0 * 1.048576).abs() < 1e-6);
    assert_eq!(hosts_of(&hv, "rubis-app-0"), vec![1]);
    assert_eq!(names(&hv, 1), ["rubis-app-0"]);
    // node-1's connection is lost: failed, the replica lost with it; repair brings it back
    // on node-0, the only host left.
    hv.disconnect(1);
    let v = view_at(&mut b, 0.4);
    assert_eq!(v.nodes[1].state, NodeState::Failed);
    assert_eq!(
        v.failures,
        [
            FailureView {
                failed: Failed::Node(NodeId(1)),
                at_s: 0.4
            },
            FailureView {
                failed: Failed::Vm(app),
                at_s: 0.4
            },
            FailureView {
                failed: Failed::Replica(ReplicaId(app.0)),
                at_s: 0.4
            },
        ]
    );
    let actions = repair.decide(&v);
    assert_eq!(
        actions,
        [Action::RestartVm {
            vm: app,
            node: NodeId(0)
        }]
    );
    exec_at(&mut b, 0.4, actions[0].clone());
    b.drain(Duration::from_secs(10), || false);
    let v = view_at(&mut b, 0.5);
    assert_eq!(v.actions[0].outcome, Outcome::Done);
    assert_eq!(v.replica(ReplicaId(app.0)).state, ReplicaState::Active);
    assert_eq!(v.vm(app).node, Some(NodeId(0)));
    assert_eq!(hosts_of(&hv, "rubis-app-0"), vec![0]);
    assert_eq!(v.nodes[1].state, NodeState::Failed, "still lost");
    // Each fault once in failures.csv, with what it took and when service came back.
    let rows = b.failure_rows();
    let got: Vec<(&str, &str, &str, u64, &str)> = rows
        .iter()
        .map(|r| {
            (
                r.kind.as_str(),
                r.target.as_str(),
                r.cause.as_str(),
                r.vms_lost,
                r.replicas_lost.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "vm",
                "rubis-app-0",
                "domain undefined outside reconf",
                1,
                "rubis-app-0"
            ),
            ("node", "node-1", "connection lost", 1, "rubis-app-0"),
        ]
    );
    assert_eq!((rows[0].time_s, rows[1].time_s), (0.2, 0.4));
    assert!(rows.iter().all(|r| r.service_restored_s.is_some()));
    assert_eq!(rows[1].repaired_s, None, "node-1 never answered again");
    assert_eq!(b.totals.repairs, 2);
}

#[test]
fn replicas_start_from_the_template_and_stop_and_nodes_power_off_and_on() {
    let (hv, mut b) = setup(&["node0.xml", "node1.xml"]);
    sample_at(&mut b, 0.0);
    view_at(&mut b, 0.1);
    let tier = TierRef {
        app: AppId(0),
        tier: 1,
    };
    exec_at(
        &mut b,
        0.1,
        Action::StartReplica {
            tier,
            node: NodeId(1),
        },
    );
    b.drain(Duration::from_secs(10), || false);
    let v = view_at(&mut b, 0.2);
    assert_eq!(v.actions[0].outcome, Outcome::Done);
    assert_eq!(names(&hv, 1), ["rubis-app-1"]);
    let new = v.replicas.iter().find(|r| r.name == "rubis-app-1").unwrap();
    assert_eq!(new.state, ReplicaState::Active);
    assert_eq!(new.node, Some(NodeId(1)));
    exec_at(
        &mut b,
        0.2,
        Action::StopReplica {
            replica: new.id,
            drain: false,
        },
    );
    b.drain(Duration::from_secs(10), || false);
    let v = view_at(&mut b, 0.3);
    assert_eq!(v.actions[0].outcome, Outcome::Done);
    assert!(names(&hv, 1).is_empty(), "stopped and undefined");
    assert_eq!(v.replica(new.id).state, ReplicaState::Stopped);
    exec_at(&mut b, 0.3, Action::PowerOff { node: NodeId(1) });
    exec_at(
        &mut b,
        0.3,
        Action::StartReplica {
            tier,
            node: NodeId(1),
        },
    );
    exec_at(&mut b, 0.3, Action::PowerOn { node: NodeId(1) });
    b.drain(Duration::from_secs(10), || false);
    let v = view_at(&mut b, 0.4);
    // A start on an off node powers it on first (no power-on command: it is only marked
    // usable again), so the power-on after it is refused.
    assert_eq!(v.actions[0].outcome, Outcome::Done);
    assert_eq!(v.actions[1].outcome, Outcome::Done);
    assert_eq!(
        v.actions[2].outcome,
        Outcome::Refused("node is on, not off".into())
    );
    assert_eq!(v.nodes[1].state, NodeState::On);
    assert_eq!(names(&hv, 1), ["rubis-app-2"]);
}

#[test]
fn the_power_hook_runs_its_command_template() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(2);
    cfg.power_off_command = Some(format!(
        "touch {}/off-{{node}}-{{index}}",
        dir.path().display()
    ));
    cfg.power_on_command = Some("exit 3".into());
    let hv = Arc::new(
        Libvirt::connect(
            &[uri("node0.xml"), uri("node1.xml")],
            Duration::from_secs(10),
        )
        .unwrap(),
    );
    let mut b = Backend::new(hv, cfg, Clock::wall());
    sample_at(&mut b, 0.0);
    view_at(&mut b, 0.1);
    exec_at(&mut b, 0.1, Action::PowerOff { node: NodeId(1) });
    assert_eq!(
        view_at(&mut b, 0.15).nodes[1].state,
        NodeState::ShuttingDown
    );
    b.drain(Duration::from_secs(10), || false);
    let v = view_at(&mut b, 0.2);
    assert_eq!(v.actions[0].outcome, Outcome::Done);
    assert!(dir.path().join("off-node-1-1").exists());
    exec_at(&mut b, 0.2, Action::PowerOn { node: NodeId(1) });
    b.drain(Duration::from_secs(10), || false);
    let v = view_at(&mut b, 0.3);
    assert!(
        matches!(&v.actions[0].outcome, Outcome::Failed(r) if r.contains("power-on command failed"))
    );
    assert_eq!(v.nodes[1].state, NodeState::Off);
}

fn reconf() -> Command {
    Command::new(env!("CARGO_BIN_EXE_reconf"))
}

/// `reconf live SCENARIO` on the two test-driver hosts, writing to `out`, for `duration_s`.
fn live_on_both_nodes(
    scenario: impl AsRef<std::ffi::OsStr>,
    out: impl AsRef<std::ffi::OsStr>,
    duration_s: &str,
) -> Command {
    let mut c = reconf();
    c.arg("live")
        .arg(scenario)
        .args(["--uri", &uri("node0.xml"), "--uri", &uri("node1.xml")])
        .arg("--out")
        .arg(out)
        .args(["--duration-s", duration_s]);
    c
}

#[test]
fn reconf_live_runs_threshold_migration_and_writes_the_simulator_files() {
    let out = tempfile::tempdir().unwrap();
    let o = live_on_both_nodes(data("testdriver.toml"), out.path(), "2")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let actions = std::fs::read_to_string(out.path().join("actions.csv")).unwrap();
    let lines: Vec<&str> = actions.lines().collect();
    assert!(lines.len() >= 2, "{actions}");
    assert!(
        lines[1].contains(",migrate,rubis-") && lines[1].contains(",node-1,done,"),
        "{actions}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("summary.json")).unwrap())
            .unwrap();
    assert_eq!(summary["migrations"], 1);
    assert_eq!(summary["actions_failed"], 0);
    let ts = std::fs::read_to_string(out.path().join("timeseries.csv")).unwrap();
    assert!(ts.starts_with("time_s,active_clients,"));
    assert!(ts.lines().count() >= 3);
    let nodes = std::fs::read_to_string(out.path().join("nodes.csv")).unwrap();
    assert!(nodes.contains(",node-0,on,"));
    // The run folder is a run folder: `reconf plot` draws it.
    let p = reconf().arg("plot").arg(out.path()).output().unwrap();
    assert!(p.status.success(), "{}", String::from_utf8_lossy(&p.stderr));
}

#[test]
fn reconf_live_dry_run_prints_the_actions_and_moves_nothing() {
    let out = tempfile::tempdir().unwrap();
    let o = reconf()
        .arg("live")
        .arg(data("testdriver.toml"))
        .args([
            "--uri",
            &uri("node0.xml"),
            "--uri",
            &uri("node1.xml"),
            "--dry-run",
        ])
        .arg("--out")
        .arg(out.path())
        .args(["--duration-s", "1"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("dry run: ") && stdout.contains("migrate rubis-"),
        "{stdout}"
    );
    let actions = std::fs::read_to_string(out.path().join("actions.csv")).unwrap();
    assert!(actions.contains("dry run: not carried out"));
}

#[test]
fn reconf_live_exit_codes() {
    // A host that does not answer: a runtime failure, exit 1, one clear line.
    let o = reconf()
        .arg("live")
        .arg(data("testdriver.toml"))
        .args([
            "--uri",
            &uri("node0.xml"),
            "--uri",
            "qemu+unix:///system?socket=/nonexistent/libvirt-sock",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.starts_with("error: cannot connect to --uri qemu+unix:///system (node 1): "),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    // Bad input: exit 2.
    for args in [
        vec!["--duration-s", "-1"],
        vec!["--duration-s", "abc"],
        vec!["--set", "live.templates={\"rubis.cache\"=\"x.xml\"}"],
        vec!["--set", "live.templates={\"rubis.app\"=\"missing.xml\"}"],
        vec!["--set", "live.bogus=1"],
    ] {
        let o = reconf()
            .arg("live")
            .arg(data("testdriver.toml"))
            .args(["--uri", &uri("node0.xml")])
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    // No --uri at all.
    let o = reconf()
        .arg("live")
        .arg(data("testdriver.toml"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

/// The test-driver scenario with its `[policy]` replaced by `extra` (TOML appended).
fn scenario_without_policy(dir: &std::path::Path, extra: &str) -> PathBuf {
    let base = std::fs::read_to_string(data("testdriver.toml")).unwrap();
    let start = base.find("[policy]").unwrap();
    let end = base.find("[live]").unwrap();
    let mut text = format!("{}{}", &base[..start], &base[end..]);
    // Top-level keys of `extra` (before its first table) go before the tables.
    let (top, extra) = match extra.find("\n[") {
        Some(i) => extra.split_at(i),
        None => (extra, ""),
    };
    text = text.replacen("duration_s = 3\n", &format!("duration_s = 3\n{top}\n"), 1);
    text = text.replace("\"test-vm.xml\"", &format!("{:?}", data("test-vm.xml")));
    text.push_str(extra);
    let path = dir.join("scenario.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn reconf_live_carries_out_the_scenarios_scripted_actions() {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario_without_policy(
        dir.path(),
        "\nreport_interval_s = 0.5\n\n[[actions]]\nkind = \"migrate\"\nat_s = 0.4\nvm = \"rubis.app.0\"\nto = \"node-1\"\n\n[[actions]]\nkind = \"migrate\"\nat_s = 0.4\nvm = \"rubis.web.0\"\nto = \"nowhere-1\"\n",
    );
    let out = dir.path().join("out");
    let o = live_on_both_nodes(&sc, &out, "1.5").output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    // The second names a node the scenario does not have: refused at validation.
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("actions[1].to"), "{stderr}");
    let sc = scenario_without_policy(
        dir.path(),
        "\nreport_interval_s = 0.5\n\n[[actions]]\nkind = \"migrate\"\nat_s = 0.4\nvm = \"rubis.app.0\"\nto = \"node-1\"\n",
    );
    let o = live_on_both_nodes(&sc, &out, "1.5").output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let actions = std::fs::read_to_string(out.join("actions.csv")).unwrap();
    let rows: Vec<&str> = actions.lines().skip(1).collect();
    assert_eq!(rows.len(), 1, "{actions}");
    assert!(
        rows[0].contains(",migrate,rubis-app-0,node-1,done,"),
        "{actions}"
    );
}

#[test]
fn reconf_live_refuses_tiers_whose_domain_names_clash() {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario_without_policy(
        dir.path(),
        "\n[[apps]]\nname = \"a\"\nclients = { profile = { kind = \"constant\", value = 0 } }\n[[apps.tiers]]\nname = \"b-c\"\ndemand = { dist = \"exponential\", mean_ms = 1.0 }\n\n[[apps]]\nname = \"a-b\"\nclients = { profile = { kind = \"constant\", value = 0 } }\n[[apps.tiers]]\nname = \"c\"\ndemand = { dist = \"exponential\", mean_ms = 1.0 }\n",
    );
    let o = reconf()
        .arg("live")
        .arg(&sc)
        .args(["--uri", &uri("node0.xml")])
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("field `apps`")
            && stderr.contains("`a.b-c` and `a-b.c`")
            && stderr.contains("`a-b-c-<k>`"),
        "{stderr}"
    );
    assert!(!dir.path().join("out").exists(), "nothing written");
}

#[test]
fn reconf_live_on_sigint_or_sigterm_writes_its_files_and_exits_128_plus_the_signal() {
    for (signal, code) in [("INT", 130), ("TERM", 143)] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let child = live_on_both_nodes(data("testdriver.toml"), &out, "60")
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        let t = Instant::now();
        let kill = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(kill.success());
        let o = child.wait_with_output().unwrap();
        let took = t.elapsed();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(code), "SIG{signal}: {stderr}");
        assert!(took < Duration::from_secs(5), "SIG{signal}: {took:?}");
        assert!(stderr.contains("interrupted (signal"), "{stderr}");
        let ts = std::fs::read_to_string(out.join("timeseries.csv")).unwrap();
        assert!(ts.lines().count() >= 2, "{ts}");
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap())
                .unwrap();
        assert!(summary["sim_seconds"].as_f64().unwrap() >= 1.0);
        eprintln!("SIG{signal}: exit {code} after {took:?}");
    }
}

/// Mounts a tmpfs of `kib` KiB at `dir` (root only); `false` if that cannot be done here.
fn mount_small_disk(dir: &std::path::Path, kib: u32) -> bool {
    Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={kib}k"), "tmpfs"])
        .arg(dir)
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn reconf_live_on_a_full_disk_warns_once_retries_and_leaves_no_temporaries() {
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("disk");
    std::fs::create_dir(&disk).unwrap();
    if !mount_small_disk(&disk, 256) {
        if std::env::var("RECONF_LIVE_QEMU_REQUIRED").as_deref() == Ok("1") {
            panic!("cannot mount a tmpfs (root needed) for the full-disk test");
        }
        eprintln!("SKIPPED: a full disk needs a tmpfs mount (root)");
        return;
    }
    let result = std::panic::catch_unwind(|| {
        // Fill the disk.
        let filler = disk.join("filler");
        let _ = std::fs::write(&filler, vec![7u8; 1024 * 1024]);
        let out = disk.join("out");
        let child = live_on_both_nodes(data("testdriver.toml"), &out, "4")
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(2000));
        // Full so far: no file (and no temporary) under the output folder.
        let listed: Vec<String> = std::fs::read_dir(&out)
            .map(|d| {
                d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        assert!(
            listed.iter().all(|n| !n.ends_with(".tmp")),
            "temporaries left: {listed:?}"
        );
        // Room again: the next period writes the files.
        std::fs::remove_file(&filler).unwrap();
        let o = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{stderr}");
        assert_eq!(
            stderr.matches("warning: cannot write results").count(),
            1,
            "{stderr}"
        );
        assert!(stderr.contains("results written again"), "{stderr}");
        let mut names: Vec<String> = std::fs::read_dir(&out)
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
            ]
        );
        let ts = std::fs::read_to_string(out.join("timeseries.csv")).unwrap();
        assert!(
            ts.lines().count() >= 7,
            "every period is in the final file:\n{ts}"
        );
    });
    let _ = Command::new("umount").arg(&disk).status();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

#[test]
fn a_host_that_accepts_the_connection_but_never_answers_is_exit_1_within_the_call_timeout() {
    // A socket that takes connections (the kernel's backlog) and never answers, like a stopped
    // daemon: opening it must not hang reconf.
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("silent.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let silent = format!("qemu+unix:///system?socket={}", sock.display());
    let t = Instant::now();
    let o = reconf()
        .arg("live")
        .arg(data("testdriver.toml"))
        .args(["--uri", &uri("node0.xml"), "--uri", &silent])
        .args(["--set", "live.call_timeout_s=2"])
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    let took = t.elapsed();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("error: cannot connect to --uri qemu+unix:///system (node 1): ")
            && err.contains("did not answer within 2 s"),
        "{err}"
    );
    assert!(took < Duration::from_secs(6), "{took:?}");
    eprintln!("a silent host at start: exit 1 after {took:?}");
}

// ---- A CloudSim consolidation policy (`thr-mmt`) against the live backend ----
//
// These policies read only CPU and RAM, which libvirt reports: CPU in cores (a node's
// `capacity()` is its core count, `speed` 1 core), a VM's demand is what it used. libvirt
// measures no power (`power_curve_w` is zeros), so PABFD's power rise is 0 on every host and it
// takes the lowest-numbered suitable host that its overload check accepts. On the test driver
// every running domain uses one busy core, so the hosts' utilisations are set by how many
// 1-vCPU domains they run (see the `cons-*.xml` files): 1.0, 0.75, 0.5, 0.25, each far from the
// 0.8 threshold whatever the measurement noise.

/// A backend over `files` whose managed domains are `batch-vm-<k>` (no templates: nothing is
/// started), with the 512 MB host reserve of [`config`].
fn consolidation_setup(files: &[&str]) -> (Arc<Libvirt>, Backend) {
    let uris: Vec<String> = files.iter().map(|f| uri(f)).collect();
    let hv = Arc::new(Libvirt::connect(&uris, Duration::from_secs(10)).expect("test driver"));
    let cfg = Config {
        apps: vec![AppSpec {
            name: "batch".into(),
            tiers: vec!["vm".into()],
            sla_target_ms: 500.0,
        }],
        templates: BTreeMap::new(),
        ..config(files.len())
    };
    (hv.clone(), Backend::new(hv, cfg, Clock::wall()))
}

fn thr_mmt() -> Box<dyn reconf_api::Policy> {
    let params = BTreeMap::from([("threshold".to_string(), reconf_api::ParamValue::Number(0.8))]);
    reconf_policies::build("thr-mmt", &params, &reconf_api::PolicyContext { seed: 1 })
        .expect("thr-mmt")
}

/// A view after `wait` of busy domains since the previous read of their counters.
fn busy_view(b: &mut Backend, wait: Duration) -> View {
    std::thread::sleep(wait);
    b.view()
}

/// The migrations among `actions`, as (VM name, destination).
fn migrations(v: &View, actions: &[Action]) -> Vec<(String, NodeId)> {
    actions
        .iter()
        .map(|a| match a {
            Action::Migrate { vm, to } => (v.vm(*vm).name.clone(), *to),
            other => panic!("only migrations expected, got {other:?}"),
        })
        .collect()
}

fn node_vm_names(v: &View, n: usize) -> Vec<String> {
    let mut names: Vec<String> = v.nodes[n]
        .vms
        .iter()
        .map(|&id| v.vm(id).name.clone())
        .collect();
    names.sort();
    names
}

#[test]
fn thr_mmt_moves_the_smallest_vm_off_the_overloaded_host_to_the_host_pabfd_accepts() {
    // node-0: 2 cores, batch-vm-0 (1024 MiB) and batch-vm-1 (512 MiB): utilisation 1.0 > 0.8.
    // node-1: 4 cores, 3 VMs: 0.75, but 1.0 with one more VM, so PABFD's overload check
    // rejects it although it is the lowest-numbered host with room.
    // node-2: 4 cores, 1 VM: 0.25, 0.5 with one more: accepted.
    let (hv, mut b) = consolidation_setup(&[
        "cons-2core-2vms.xml",
        "cons-4core-3vms.xml",
        "cons-4core-1vm.xml",
    ]);
    let mut policy = thr_mmt();
    b.sample();
    let v = busy_view(&mut b, Duration::from_millis(300));
    assert!(v.now_s > 0.0, "a decision after t = 0 runs a round");
    // What the policy reads, in the live backend's units (cores).
    assert_eq!(v.nodes[0].capacity(), 2.0);
    assert_eq!(v.nodes[1].capacity(), 4.0);
    assert!(v.unplaced().next().is_none(), "every domain runs somewhere");
    for x in &v.vms {
        assert_eq!(x.cpu_max, 1.0, "{}", x.name);
        assert!(
            (x.cpu_demand - 1.0).abs() < 0.05,
            "{}: {}",
            x.name,
            x.cpu_demand
        );
    }
    let small = vm(&v, "batch-vm-1");
    assert!((v.vm(small).ram_mb - 512.0 * 1.048576).abs() < 1e-6);

    let actions = policy.decide(&v);
    // MMT: the VM with the least RAM (not the first listed); one is enough (0.5 <= 0.8).
    // The underload step then finds nothing to empty: node-2's VMs (its own and the one just
    // sent) would overload node-1, and node-1's have nowhere else to go.
    assert_eq!(
        migrations(&v, &actions),
        [("batch-vm-1".to_string(), NodeId(2))]
    );
    for a in actions {
        b.execute(a);
    }
    b.drain(Duration::from_secs(10), || false);
    let v = b.view();
    assert_eq!(v.actions.len(), 1);
    assert_eq!(v.actions[0].outcome, Outcome::Done);
    assert_eq!(v.vm(small).node, Some(NodeId(2)));
    assert_eq!(v.vm(small).migrating_to, None);
    assert_eq!(node_vm_names(&v, 0), ["batch-vm-0"]);
    assert_eq!(node_vm_names(&v, 2), ["batch-vm-1", "batch-vm-5"]);
    assert_eq!(hosts_of(&hv, "batch-vm-1"), vec![2]);
    assert_eq!(hosts_of(&hv, "batch-vm-0"), vec![0]);
}

#[test]
fn thr_mmt_empties_the_least_used_host_onto_one_that_stays_under_the_threshold() {
    // node-0: 4 cores, 1 VM (0.25); node-1: 4 cores, 2 VMs (0.5). Nothing is overloaded; the
    // underload step tries node-0 first (least used): its VM fits on node-1 at 0.75 <= 0.8.
    let (hv, mut b) = consolidation_setup(&["cons-4core-1vm.xml", "cons-4core-2vms.xml"]);
    let mut policy = thr_mmt();
    b.sample();
    let v = busy_view(&mut b, Duration::from_millis(300));
    let actions = policy.decide(&v);
    assert_eq!(
        migrations(&v, &actions),
        [("batch-vm-5".to_string(), NodeId(1))]
    );
    for a in actions {
        b.execute(a);
    }
    b.drain(Duration::from_secs(10), || false);
    let v = b.view();
    assert_eq!(v.actions.len(), 1);
    assert_eq!(v.actions[0].outcome, Outcome::Done);
    assert!(v.nodes[0].vms.is_empty(), "node-0 emptied");
    assert_eq!(
        node_vm_names(&v, 1),
        ["batch-vm-5", "batch-vm-6", "batch-vm-7"]
    );
    assert_eq!(hosts_of(&hv, "batch-vm-5"), vec![1]);
    assert!(names(&hv, 0).is_empty(), "the source copy is gone");
    // The next round leaves it so: node-0, idle, counts as switched off, and node-1's VMs
    // have nowhere else to go.
    let v = busy_view(&mut b, Duration::from_millis(300));
    assert_eq!(migrations(&v, &policy.decide(&v)), []);
}

#[test]
fn pabfd_sends_the_vm_to_the_host_whose_power_rises_least_by_the_hosts_power_models() {
    // node-0 (2 cores, 2 VMs: 1.0) is overloaded; node-1 (4 cores, 1 VM: 0.25 -> 0.5 with the
    // VM) and node-2 (4 cores, 2 VMs: 0.5 -> 0.75) both accept it. node-1's power rises steeply
    // (linear 100 -> 300 W: +50 W), node-2's gently (a table 100 -> 120 W: +5 W).
    use reconf::model::power::PowerModel;
    let files = [
        "cons-2core-2vms.xml",
        "cons-4core-1vm.xml",
        "cons-4core-2vms.xml",
    ];
    let (hv, mut b) = consolidation_setup(&files);
    let flat = PowerModel::Table {
        watts: std::array::from_fn(|i| 100.0 + 2.0 * i as f64),
    };
    let steep = PowerModel::Linear {
        idle_w: 100.0,
        max_w: 300.0,
    };
    let cfg = Config {
        power: vec![None, Some(steep), Some(flat)],
        apps: vec![AppSpec {
            name: "batch".into(),
            tiers: vec!["vm".into()],
            sla_target_ms: 500.0,
        }],
        templates: BTreeMap::new(),
        ..config(files.len())
    };
    drop(b);
    b = Backend::new(hv.clone(), cfg, Clock::wall());
    b.sample();
    let v = busy_view(&mut b, Duration::from_millis(300));
    // The curves the policy plans with, and the power they give at the measured utilisation.
    assert_eq!(v.nodes[0].power_curve_w, [0.0; 11], "no model: 0 W");
    assert_eq!(v.nodes[1].power_curve_w, steep.curve_w());
    assert_eq!(v.nodes[2].power_curve_w, flat.curve_w());
    assert_eq!(v.nodes[0].power_w, 0.0);
    for n in [1, 2] {
        let expected = v.nodes[n].power_at_w(v.nodes[n].cpu_utilisation);
        assert!((v.nodes[n].power_w - expected).abs() < 1e-9, "node-{n}");
    }
    assert!(
        (v.nodes[1].power_w - 150.0).abs() < 10.0,
        "{}",
        v.nodes[1].power_w
    );
    let actions = thr_mmt().decide(&v);
    assert_eq!(
        migrations(&v, &actions),
        [("batch-vm-1".to_string(), NodeId(2))],
        "the least power increase, not the lowest id"
    );
    // Without the models PABFD sees no power and falls back to the lowest id with room.
    let mut blind = v.clone();
    for n in &mut blind.nodes {
        n.power_curve_w = [0.0; 11];
    }
    assert_eq!(
        migrations(&blind, &thr_mmt().decide(&blind)),
        [("batch-vm-1".to_string(), NodeId(1))]
    );
}

/// `testdriver.toml` with `extra` appended, in `dir`.
fn testdriver_scenario_with(dir: &std::path::Path, extra: &str) -> PathBuf {
    let base = std::fs::read_to_string(data("testdriver.toml")).unwrap();
    let path = dir.join("power.toml");
    std::fs::write(&path, format!("{base}\n{extra}")).unwrap();
    // The template is relative to the scenario.
    std::fs::copy(data("test-vm.xml"), dir.join("test-vm.xml")).unwrap();
    path
}

#[test]
fn reconf_live_reports_the_power_and_energy_of_the_hosts_power_models() {
    let dir = tempfile::tempdir().unwrap();
    let path = testdriver_scenario_with(
        dir.path(),
        "[live.power]\nnode-0 = { model = \"hp-ml110-g4\" }\nnode-1 = { model = \"linear\", idle_w = 50, max_w = 150 }\n",
    );
    let out = dir.path().join("out");
    let o = live_on_both_nodes(&path, &out, "2").output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Each node's power is its model at its utilisation.
    let g4 = reconf::model::power::PowerModel::hp_proliant_ml110_g4();
    let nodes = std::fs::read_to_string(out.join("nodes.csv")).unwrap();
    let mut rows = 0;
    for line in nodes.lines().skip(1) {
        let c: Vec<&str> = line.split(',').collect();
        let (u, w): (f64, f64) = (c[3].parse().unwrap(), c[4].parse().unwrap());
        let expected = match c[1] {
            "node-0" => g4.watts(u),
            _ => 50.0 + 100.0 * u,
        };
        assert!((w - expected).abs() < 1e-6, "{line}");
        rows += 1;
    }
    assert!(rows >= 6, "{nodes}");
    // Energy: each view's power over its period, summed: from one row to the next it grows by
    // the row's power times the time between them (to the ms the time axis is rounded to).
    let ts = std::fs::read_to_string(out.join("timeseries.csv")).unwrap();
    let header: Vec<&str> = ts.lines().next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (t_col, p_col, e_col) = (col("time_s"), col("power_w"), col("energy_kwh"));
    let rows: Vec<Vec<f64>> = ts
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|x| x.parse().unwrap_or(0.0)).collect())
        .collect();
    assert!(rows.len() >= 3, "{ts}");
    for r in &rows {
        assert!(
            r[p_col] >= 86.0 + 50.0,
            "both hosts draw at least idle: {r:?}"
        );
    }
    for w in rows.windows(2) {
        let grown_kwh = w[1][e_col] - w[0][e_col];
        let expected_kwh = w[1][p_col] * (w[1][t_col] - w[0][t_col]) / 3.6e6;
        let slack_kwh = w[1][p_col] * 0.0011 / 3.6e6;
        assert!((grown_kwh - expected_kwh).abs() <= slack_kwh, "{w:?}");
    }
    let last_e = rows.last().unwrap()[e_col];
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    // (serde_json's default float parsing may miss the last digit.)
    let summary_kwh = summary["energy_kwh"].as_f64().unwrap();
    assert!(
        (summary_kwh - last_e).abs() <= 1e-12 * last_e,
        "{summary_kwh} vs {last_e}"
    );
}

#[test]
fn reconf_live_refuses_bad_power_models_with_file_line_and_field() {
    // As the simulator refuses a node group's: a table falling with load is accepted (some
    // measured ones do), a negative figure is not.
    let cases = [
        (
            "[live.power]\nnode-1 = { model = \"table\", watts = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] }\n",
            "field `live.power.node-1`",
            "invalid length 10, expected an array of length 11",
        ),
        (
            "[live.power]\nnode-1 = { model = \"tabel\" }\n",
            "field `live.power.node-1.model`",
            "unknown variant `tabel`",
        ),
        (
            "[live.power]\nnode-1 = { model = \"table\", watts = [1, 2, 3, -4, 5, 6, 7, 8, 9, 10, 11] }\n",
            "field `live.power.node-1.watts[3]`",
            "must be a number >= 0, got -4",
        ),
        (
            "[live.power]\nnode-0 = { model = \"linear\", idle_w = 90, max_w = 80 }\n",
            "field `live.power.node-0.max_w`",
            "below idle_w",
        ),
        (
            "[live.power]\nnode-0 = { model = \"hp-ml110-g4\" }\nhost-9 = { model = \"hp-ml110-g5\" }\n",
            "field `live.power.host-9`",
            "no host `host-9`: the 2 host(s) of this run are node-0, node-1",
        ),
    ];
    for (extra, field, message) in cases {
        let dir = tempfile::tempdir().unwrap();
        let path = testdriver_scenario_with(dir.path(), extra);
        let lines = std::fs::read_to_string(&path).unwrap().lines().count();
        let out = dir.path().join("out");
        let o = live_on_both_nodes(&path, &out, "1").output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{extra}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        // The file, the line of the bad entry (the last one written), the field.
        let at = format!("{}:{}", path.display(), lines);
        assert!(stderr.contains(&at), "{at}: {stderr}");
        assert!(stderr.contains(field), "{field}: {stderr}");
        assert!(stderr.contains(message), "{message}: {stderr}");
        assert!(!out.exists(), "no output on bad input");
    }
    let dir = tempfile::tempdir().unwrap();
    let falling = "[live.power]\nnode-1 = { model = \"table\", watts = [90, 95, 93, 99, 100, 104, 103, 110, 112, 111, 120] }\n";
    let o = live_on_both_nodes(
        testdriver_scenario_with(dir.path(), falling),
        dir.path().join("out"),
        "0.5",
    )
    .output()
    .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}
