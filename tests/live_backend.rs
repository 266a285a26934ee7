//! The live backend's view building and action logic, over an in-memory hypervisor (no libvirt
//! needed): CPU from counter deltas, RAM, domain-to-replica mapping, outcomes shown once,
//! refusals, and faults (a failing migration leaves the VM on its source).

use reconf::live::backend::{AppSpec, Backend, Config};
use reconf::live::Clock;
use reconf::live::{DomainInfo, DomainState, HostInfo, HvError, Hypervisor, MigrateOptions};
use reconf_api::{
    Action, AppId, Failed, FailureView, NodeId, NodeState, Outcome, ReplicaId, ReplicaState,
    TierRef, VmId,
};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

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

#[derive(Default)]
struct Fake {
    hosts: Mutex<Vec<(HostInfo, Vec<DomainInfo>, bool)>>,
    /// Migrations fail with this message when set.
    fail_migrations: Mutex<Option<String>>,
    /// Hosts whose calls block (a stopped daemon) while set.
    hung: Mutex<Vec<usize>>,
    /// Hosts that answer `host_info` but cannot list their domains.
    unlistable: Mutex<Vec<usize>>,
    /// Migrations block until cancelled while set.
    slow_migrations: std::sync::atomic::AtomicBool,
}

impl Fake {
    fn block_while_hung(&self, h: usize) {
        while self.hung.lock().unwrap().contains(&h) {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

fn dom(name: &str, vcpus: u32, mib: u64, cpu_s: f64) -> DomainInfo {
    DomainInfo {
        name: name.into(),
        uuid: format!("uuid-{name}"),
        state: DomainState::Running,
        persistent: true,
        job: false,
        vcpus,
        memory_kib: mib * 1024,
        cpu_time_ns: (cpu_s * 1e9) as u64,
    }
}

impl Fake {
    fn set_cpu(&self, h: usize, name: &str, cpu_s: f64) {
        let mut hosts = self.hosts.lock().unwrap();
        let d = hosts[h].1.iter_mut().find(|d| d.name == name).unwrap();
        d.cpu_time_ns = (cpu_s * 1e9) as u64;
    }
    fn names(&self, h: usize) -> Vec<String> {
        self.hosts.lock().unwrap()[h]
            .1
            .iter()
            .map(|d| d.name.clone())
            .collect()
    }
}

impl Hypervisor for Fake {
    fn hosts(&self) -> usize {
        self.hosts.lock().unwrap().len()
    }
    fn label(&self, h: usize) -> String {
        format!("fake://{h}")
    }
    fn host_info(&self, h: usize) -> Result<HostInfo, HvError> {
        self.block_while_hung(h);
        let hosts = self.hosts.lock().unwrap();
        if !hosts[h].2 {
            return Err(HvError("host down".into()));
        }
        Ok(hosts[h].0.clone())
    }
    fn domains(&self, h: usize) -> Result<Vec<DomainInfo>, HvError> {
        if self.unlistable.lock().unwrap().contains(&h) {
            return Err(HvError("cannot list domains".into()));
        }
        Ok(self.hosts.lock().unwrap()[h].1.clone())
    }
    fn migrate(
        &self,
        name: &str,
        from: usize,
        to: usize,
        _: &MigrateOptions,
        cancel: &std::sync::atomic::AtomicBool,
    ) -> Result<reconf::live::hypervisor::MigrationStats, HvError> {
        use std::sync::atomic::Ordering;
        while self.slow_migrations.load(Ordering::SeqCst) {
            if cancel.load(Ordering::SeqCst) {
                return Err(HvError(
                    "operation aborted: migration job: canceled by client".into(),
                ));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        if let Some(m) = self.fail_migrations.lock().unwrap().clone() {
            return Err(HvError(m));
        }
        let mut hosts = self.hosts.lock().unwrap();
        let i = hosts[from]
            .1
            .iter()
            .position(|d| d.name == name)
            .ok_or_else(|| HvError(format!("no domain {name}")))?;
        let mut d = hosts[from].1.remove(i);
        d.cpu_time_ns = 0; // a new QEMU process on the destination
        hosts[to].1.push(d);
        Ok(reconf::live::hypervisor::MigrationStats {
            bytes: Some(140_000_000),
            downtime_ms: Some(25),
            rounds: Some(3),
        })
    }
    fn start(&self, h: usize, xml: &str) -> Result<(), HvError> {
        let name = xml
            .split("<name>")
            .nth(1)
            .unwrap()
            .split("</name>")
            .next()
            .unwrap();
        self.hosts.lock().unwrap()[h].1.push(dom(name, 1, 256, 0.0));
        Ok(())
    }
    fn stop(&self, h: usize, name: &str, _: Duration) -> Result<(), HvError> {
        let mut hosts = self.hosts.lock().unwrap();
        let before = hosts[h].1.len();
        hosts[h].1.retain(|d| d.name != name);
        if hosts[h].1.len() == before {
            return Err(HvError(format!("no domain {name}")));
        }
        Ok(())
    }
    fn remove_copy(&self, h: usize, uuid: &str) -> Result<(), HvError> {
        let mut hosts = self.hosts.lock().unwrap();
        if hosts[h]
            .1
            .iter()
            .any(|d| d.uuid == uuid && d.state == DomainState::Running)
        {
            return Err(HvError("it runs".into()));
        }
        hosts[h].1.retain(|d| d.uuid != uuid);
        Ok(())
    }
    fn resume(&self, h: usize, uuid: &str) -> Result<(), HvError> {
        let mut hosts = self.hosts.lock().unwrap();
        let d = hosts[h].1.iter_mut().find(|d| d.uuid == uuid).unwrap();
        d.state = DomainState::Running;
        Ok(())
    }
}

fn config() -> Config {
    let mut templates = BTreeMap::new();
    templates.insert(
        (0, 1),
        "<domain><name>x</name><memory unit='MiB'>256</memory><vcpu>1</vcpu></domain>".into(),
    );
    Config {
        node_names: vec!["node-0".into(), "node-1".into()],
        apps: vec![AppSpec {
            name: "rubis".into(),
            tiers: vec!["web".into(), "app".into()],
            sla_target_ms: 500.0,
        }],
        host_reserved_ram_mb: 512.0,
        templates,
        migrate: MigrateOptions::default(),
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

/// Two hosts of 4 cores and 4 GiB; node 0 runs rubis-web-0 (2 vCPUs), rubis-app-0 and an
/// unmanaged domain.
fn setup() -> (Arc<Fake>, Backend) {
    let fake = Arc::new(Fake::default());
    let info = HostInfo {
        cores: 4,
        memory_kib: 4096 * 1024,
        uuid: None,
    };
    *fake.hosts.lock().unwrap() = vec![
        (
            info.clone(),
            vec![
                dom("rubis-web-0", 2, 512, 100.0),
                dom("rubis-app-0", 1, 1024, 50.0),
                dom("other", 1, 256, 10.0),
            ],
            true,
        ),
        (info, vec![], true),
    ];
    let backend = Backend::new(fake.clone(), config(), Clock::manual());
    (fake, backend)
}

fn wait(b: &mut Backend) {
    b.drain(Duration::from_secs(5), || false);
}

#[test]
fn view_cpu_is_busy_time_over_the_period_and_ram_is_what_domains_leave() {
    let (fake, mut b) = setup();
    sample_at(&mut b, 0.0);
    // Over 10 s: web used 5 s of CPU (0.5 core of 2 vCPUs), app 8 s, the unmanaged domain 2 s.
    fake.set_cpu(0, "rubis-web-0", 105.0);
    fake.set_cpu(0, "rubis-app-0", 58.0);
    fake.set_cpu(0, "other", 12.0);
    let v = view_at(&mut b, 10.0);
    assert_eq!(v.period_s, 10.0);
    assert_eq!(v.vms.len(), 2, "the unmanaged domain is no replica");
    let by_name = |n: &str| v.vms.iter().find(|x| x.name == n).unwrap();
    let web = by_name("rubis-web-0");
    let app = by_name("rubis-app-0");
    assert!((web.cpu_cores_used - 0.5).abs() < 1e-9);
    assert!((v.replica(web.replica.unwrap()).cpu_utilisation - 0.25).abs() < 1e-9);
    assert!((app.cpu_cores_used - 0.8).abs() < 1e-9);
    assert_eq!(
        v.replica(app.replica.unwrap()).tier,
        TierRef {
            app: AppId(0),
            tier: 1
        }
    );
    assert_eq!(v.replica(app.replica.unwrap()).state, ReplicaState::Active);
    // Node: (0.5 + 0.8 + 0.2) / 4 cores.
    assert!((v.nodes[0].cpu_utilisation - 1.5 / 4.0).abs() < 1e-9);
    assert_eq!(v.nodes[1].cpu_utilisation, 0.0);
    // RAM in MB (10^6 bytes): 4096 MiB - 512 reserved - (512 + 1024 + 256) MiB.
    let mib = 1.048576;
    assert!((v.nodes[0].ram_mb - 4096.0 * mib).abs() < 1e-6);
    assert!((v.nodes[0].free_ram_mb - (4096.0 * mib - 512.0 - 1792.0 * mib)).abs() < 1e-6);
    assert!((v.nodes[1].free_ram_mb - (4096.0 * mib - 512.0)).abs() < 1e-6);
    assert_eq!(v.nodes[0].vms.len(), 2);
    assert_eq!(v.apps[0].clients, 0);
    assert!(v.apps[0].mean_response_ms.is_finite());
    // Ids are stable from view to view.
    let v2 = view_at(&mut b, 20.0);
    assert_eq!(v2.vms[web.id.index()].name, "rubis-web-0");
}

#[test]
fn a_migration_runs_in_the_background_and_its_outcome_is_shown_once() {
    let (fake, mut b) = setup();
    sample_at(&mut b, 0.0);
    let v = view_at(&mut b, 1.0);
    let app = v.vms.iter().find(|x| x.name == "rubis-app-0").unwrap().id;
    exec_at(
        &mut b,
        1.0,
        Action::Migrate {
            vm: app,
            to: NodeId(1),
        },
    );
    // While in flight the destination's RAM is reserved: a second VM too big is refused.
    let web = v.vms.iter().find(|x| x.name == "rubis-web-0").unwrap().id;
    wait(&mut b);
    let v = view_at(&mut b, 2.0);
    assert_eq!(v.vm(app).node, Some(NodeId(1)));
    assert_eq!(v.actions.len(), 1);
    assert_eq!(v.actions[0].outcome, Outcome::Done);
    assert_eq!(fake.names(1), vec!["rubis-app-0"]);
    let v = view_at(&mut b, 3.0);
    assert!(v.actions.is_empty(), "an outcome is shown once");
    // The same VM again to the same node: refused with the simulator's words.
    exec_at(
        &mut b,
        3.0,
        Action::Migrate {
            vm: app,
            to: NodeId(1),
        },
    );
    let v = view_at(&mut b, 4.0);
    assert_eq!(
        v.actions[0].outcome,
        Outcome::Refused("the VM is already on that node".into())
    );
    let rows = b.action_rows();
    assert_eq!(rows[0].mb_sent, 140.0);
    assert_eq!(rows[0].rounds, 3);
    assert_eq!(b.totals.migrations, 1);
    let _ = web;
}

#[test]
fn a_failed_migration_leaves_the_vm_on_its_source_and_the_run_goes_on() {
    let (fake, mut b) = setup();
    sample_at(&mut b, 0.0);
    let v = view_at(&mut b, 1.0);
    let app = v.vms.iter().find(|x| x.name == "rubis-app-0").unwrap().id;
    *fake.fail_migrations.lock().unwrap() = Some("connection reset".into());
    exec_at(
        &mut b,
        1.0,
        Action::Migrate {
            vm: app,
            to: NodeId(1),
        },
    );
    wait(&mut b);
    let v = view_at(&mut b, 2.0);
    assert_eq!(v.vm(app).node, Some(NodeId(0)));
    assert_eq!(v.vm(app).migrating_to, None);
    assert!(matches!(&v.actions[0].outcome, Outcome::Failed(r) if r.contains("connection reset")));
    assert_eq!(b.totals.actions_failed, 1);
    // The next migration works.
    *fake.fail_migrations.lock().unwrap() = None;
    exec_at(
        &mut b,
        2.0,
        Action::Migrate {
            vm: app,
            to: NodeId(1),
        },
    );
    wait(&mut b);
    assert_eq!(view_at(&mut b, 3.0).vm(app).node, Some(NodeId(1)));
}

#[test]
fn impossible_actions_are_refused_with_a_reason() {
    let (fake, mut b) = setup();
    sample_at(&mut b, 0.0);
    let v = view_at(&mut b, 1.0);
    let web = v.vms.iter().find(|x| x.name == "rubis-web-0").unwrap().id;
    let refusals = [
        (
            Action::Migrate {
                vm: VmId(9),
                to: NodeId(1),
            },
            "no such VM",
        ),
        (
            Action::Migrate {
                vm: web,
                to: NodeId(7),
            },
            "no such node",
        ),
        (Action::PowerOn { node: NodeId(0) }, "node is on, not off"),
        (
            Action::PowerOff { node: NodeId(0) },
            "node is busy: it hosts 2 VM(s)",
        ),
        (
            Action::StopReplica {
                replica: reconf_api::ReplicaId(web.0),
                drain: false,
            },
            "it is the last active replica of its tier",
        ),
        (
            Action::StartReplica {
                tier: TierRef {
                    app: AppId(0),
                    tier: 0,
                },
                node: NodeId(1),
            },
            "no template for tier `rubis.web` in [live] templates",
        ),
        (
            Action::StartReplica {
                tier: TierRef {
                    app: AppId(3),
                    tier: 0,
                },
                node: NodeId(1),
            },
            "no such tier",
        ),
    ];
    for (a, why) in &refusals {
        exec_at(&mut b, 1.0, a.clone());
        let _ = why;
    }
    let v = view_at(&mut b, 2.0);
    for ((_, why), av) in refusals.iter().zip(&v.actions) {
        assert_eq!(av.outcome, Outcome::Refused(why.to_string()));
    }
    // A destination without the RAM: fill node 1 with an unmanaged 3.5 GiB domain.
    fake.hosts.lock().unwrap()[1]
        .1
        .push(dom("big", 1, 3500, 0.0));
    let v = view_at(&mut b, 3.0);
    let app = v.vms.iter().find(|x| x.name == "rubis-app-0").unwrap().id;
    exec_at(
        &mut b,
        3.0,
        Action::Migrate {
            vm: app,
            to: NodeId(1),
        },
    );
    let v = view_at(&mut b, 4.0);
    assert!(
        matches!(&v.actions[0].outcome, Outcome::Refused(r) if r.starts_with("destination has") && r.ends_with("the VM needs 1074 MB")),
        "{:?}",
        v.actions[0].outcome
    );
}

#[test]
fn replicas_start_and_stop_and_nodes_power_off_and_on() {
    let (fake, mut b) = setup();
    sample_at(&mut b, 0.0);
    view_at(&mut b, 1.0);
    let tier = TierRef {
        app: AppId(0),
        tier: 1,
    };
    exec_at(
        &mut b,
        1.0,
        Action::StartReplica {
            tier,
            node: NodeId(1),
        },
    );
    let v = view_at(&mut b, 1.5);
    let new = v
        .replicas
        .iter()
        .find(|r| r.name == "rubis-app-1")
        .expect("new replica");
    assert!(matches!(
        new.state,
        ReplicaState::Starting | ReplicaState::Active
    ));
    wait(&mut b);
    let v = view_at(&mut b, 2.0);
    let new = v
        .replicas
        .iter()
        .find(|r| r.name == "rubis-app-1")
        .unwrap()
        .id;
    assert_eq!(v.replica(new).state, ReplicaState::Active);
    assert_eq!(fake.names(1), vec!["rubis-app-1"]);
    exec_at(
        &mut b,
        2.0,
        Action::StopReplica {
            replica: new,
            drain: true,
        },
    );
    wait(&mut b);
    let v = view_at(&mut b, 3.0);
    assert_eq!(v.replica(new).state, ReplicaState::Stopped);
    assert!(fake.names(1).is_empty());
    // Node 1 is empty now: off; a migration to it powers it on first (no power-on command:
    // it is only marked usable, its host answering), so a power-on after that is refused.
    exec_at(&mut b, 3.0, Action::PowerOff { node: NodeId(1) });
    let v = view_at(&mut b, 4.0);
    assert_eq!(v.nodes[1].state, NodeState::Off);
    let app = v.vms.iter().find(|x| x.name == "rubis-app-0").unwrap().id;
    exec_at(
        &mut b,
        4.0,
        Action::Migrate {
            vm: app,
            to: NodeId(1),
        },
    );
    exec_at(&mut b, 4.0, Action::PowerOn { node: NodeId(1) });
    wait(&mut b);
    let v = view_at(&mut b, 5.0);
    assert_eq!(v.actions[0].outcome, Outcome::Done);
    assert_eq!(
        v.actions[1].outcome,
        Outcome::Refused("node is on, not off".into())
    );
    assert_eq!(v.nodes[1].state, NodeState::On);
    assert_eq!(v.vm(app).node, Some(NodeId(1)));
    assert_eq!(b.totals.replicas_started, 1);
    assert_eq!(b.totals.replicas_stopped, 1);
}

#[test]
fn a_vanished_domain_is_a_failed_replica_and_an_unreachable_host_is_failed_each_shown_once() {
    let (fake, mut b) = setup();
    sample_at(&mut b, 0.0);
    let v = view_at(&mut b, 1.0);
    assert!(v.failures.is_empty());
    let app = v.vms.iter().find(|x| x.name == "rubis-app-0").unwrap().id;
    let web = v.vms.iter().find(|x| x.name == "rubis-web-0").unwrap().id;
    // Removed behind reconf's back between the view and the action: the action fails.
    fake.hosts.lock().unwrap()[0]
        .1
        .retain(|d| d.name != "rubis-app-0");
    exec_at(
        &mut b,
        1.0,
        Action::Migrate {
            vm: app,
            to: NodeId(1),
        },
    );
    wait(&mut b);
    let v = view_at(&mut b, 2.0);
    assert!(matches!(&v.actions[0].outcome, Outcome::Failed(r) if r.contains("no domain")));
    assert!(!v.vm(app).alive);
    assert_eq!(v.replica(ReplicaId(app.0)).state, ReplicaState::Failed);
    assert_eq!(
        v.failures,
        [
            FailureView {
                failed: Failed::Vm(app),
                at_s: 2.0
            },
            FailureView {
                failed: Failed::Replica(ReplicaId(app.0)),
                at_s: 2.0
            },
        ]
    );
    // Shown once; still failed in the states.
    let v = view_at(&mut b, 3.0);
    assert!(v.failures.is_empty());
    assert_eq!(v.failed_replicas().count(), 1);
    // Host 0 stops answering: failed, and rubis-web-0 with it; host 1 is unaffected.
    fake.hosts.lock().unwrap()[0].2 = false;
    let v = view_at(&mut b, 4.0);
    assert_eq!(v.nodes[0].state, NodeState::Failed);
    assert_eq!(v.nodes[1].state, NodeState::On);
    assert!(v.nodes[0].vms.is_empty());
    assert_eq!(
        v.failures,
        [
            FailureView {
                failed: Failed::Node(NodeId(0)),
                at_s: 4.0
            },
            FailureView {
                failed: Failed::Vm(web),
                at_s: 4.0
            },
            FailureView {
                failed: Failed::Replica(ReplicaId(web.0)),
                at_s: 4.0
            },
        ]
    );
    assert_eq!(v.replica(ReplicaId(web.0)).state, ReplicaState::Failed);
    let v = view_at(&mut b, 5.0);
    assert!(v.failures.is_empty());
    assert_eq!(v.nodes[0].state, NodeState::Failed);
    // Nothing can be done on a failed node.
    exec_at(&mut b, 5.0, Action::PowerOff { node: NodeId(0) });
    // It answers again with rubis-web-0 still running: on, the replica repaired in place;
    // rubis-app-0 stays failed (its domain is gone).
    fake.hosts.lock().unwrap()[0].2 = true;
    let v = view_at(&mut b, 6.0);
    assert_eq!(
        v.actions.last().unwrap().outcome,
        Outcome::Refused("node is failed, not on".into())
    );
    assert_eq!(v.nodes[0].state, NodeState::On);
    assert!(v.failures.is_empty());
    assert_eq!(v.replica(ReplicaId(web.0)).state, ReplicaState::Active);
    assert_eq!(v.replica(ReplicaId(app.0)).state, ReplicaState::Failed);
    let rows = b.failure_rows();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(
        (
            rows[0].kind.as_str(),
            rows[0].target.as_str(),
            rows[0].cause.as_str()
        ),
        ("vm", "rubis-app-0", "domain undefined outside reconf")
    );
    assert_eq!(
        (rows[0].repaired_s, rows[0].service_restored_s),
        (None, None)
    );
    assert_eq!(
        (
            rows[1].kind.as_str(),
            rows[1].target.as_str(),
            rows[1].vms_lost
        ),
        ("node", "node-0", 1)
    );
    assert_eq!(rows[1].replicas_lost, "rubis-web-0");
    assert_eq!(rows[1].time_s, 4.0);
    assert_eq!(rows[1].repaired_s, Some(6.0));
    assert_eq!(rows[1].service_restored_s, Some(6.0));
    assert_eq!((b.totals.repairs, b.totals.nodes_repaired), (1, 1));
    assert_eq!(b.totals.repair_time_s, 2.0);
}

#[test]
fn a_failed_replica_is_restarted_from_its_template_keeping_its_id_and_name() {
    let (fake, mut b) = setup();
    sample_at(&mut b, 0.0);
    let v = view_at(&mut b, 1.0);
    let app = v.vms.iter().find(|x| x.name == "rubis-app-0").unwrap().id;
    let web = v.vms.iter().find(|x| x.name == "rubis-web-0").unwrap().id;
    // Refused while it has not failed.
    exec_at(
        &mut b,
        1.0,
        Action::RestartVm {
            vm: app,
            node: NodeId(1),
        },
    );
    // Destroyed behind reconf's back: still defined on node 0, not running.
    {
        let mut hosts = fake.hosts.lock().unwrap();
        let d = hosts[0]
            .1
            .iter_mut()
            .find(|d| d.name == "rubis-app-0")
            .unwrap();
        d.state = DomainState::Inactive;
    }
    let v = view_at(&mut b, 2.0);
    assert_eq!(
        v.actions[0].outcome,
        Outcome::Refused("the VM was not lost in a crash".into())
    );
    assert_eq!(v.replica(ReplicaId(app.0)).state, ReplicaState::Failed);
    assert_eq!(b.failure_rows()[0].cause, "domain stopped outside reconf");
    // The repair policy's choice: node 1 (the most RAM free), from the VM's image.
    let mut repair = reconf_policies::build(
        "repair",
        &BTreeMap::new(),
        &reconf_api::PolicyContext { seed: 1 },
    )
    .unwrap();
    let actions = repair.decide(&v);
    assert_eq!(
        actions,
        [Action::RestartVm {
            vm: app,
            node: NodeId(1)
        }]
    );
    // Refusals in the simulator's words.
    exec_at(
        &mut b,
        2.0,
        Action::RestartReplica {
            replica: ReplicaId(web.0),
            node: NodeId(1),
        },
    );
    let a = exec_at(&mut b, 2.0, actions[0].clone());
    exec_at(
        &mut b,
        2.0,
        Action::RestartReplica {
            replica: ReplicaId(app.0),
            node: NodeId(1),
        },
    );
    wait(&mut b);
    let v = view_at(&mut b, 3.0);
    let outcomes: Vec<&Outcome> = v.actions.iter().map(|x| &x.outcome).collect();
    assert_eq!(
        outcomes,
        [
            &Outcome::Refused("the replica has not failed".into()),
            &Outcome::Done,
            &Outcome::Refused("its replica is being restarted already".into()),
        ]
    );
    assert_eq!(v.actions[1].id, a);
    // Back under its own id and name on node 1; its old definition on node 0 is gone.
    assert_eq!(fake.names(0), ["rubis-web-0", "other"]);
    assert_eq!(fake.names(1), ["rubis-app-0"]);
    let v = view_at(&mut b, 4.0);
    assert_eq!(v.replica(ReplicaId(app.0)).state, ReplicaState::Active);
    assert_eq!(v.vm(app).node, Some(NodeId(1)));
    assert!(v.vm(app).alive);
    assert_eq!(v.vms.len(), 2, "no new VM: the same id");
    assert!(v.failures.is_empty());
    let rows = b.failure_rows();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].repaired_s, None, "not repaired in place");
    assert_eq!(rows[0].service_restored_s, Some(2.0));
    assert_eq!((b.totals.repairs, b.totals.repair_time_s), (1, 0.0));
}

#[test]
fn dry_run_carries_nothing_out() {
    let (fake, _) = setup();
    let mut cfg = config();
    cfg.dry_run = true;
    let mut b = Backend::new(fake.clone(), cfg, Clock::manual());
    sample_at(&mut b, 0.0);
    let v = view_at(&mut b, 1.0);
    let app = v.vms.iter().find(|x| x.name == "rubis-app-0").unwrap().id;
    exec_at(
        &mut b,
        1.0,
        Action::Migrate {
            vm: app,
            to: NodeId(1),
        },
    );
    let v = view_at(&mut b, 2.0);
    assert_eq!(
        v.actions[0].outcome,
        Outcome::Refused("dry run: not carried out".into())
    );
    assert!(fake.names(1).is_empty());
}

/// A backend whose hosts are polled with short waits (a hung host costs each view 50 ms).
fn setup_quick() -> (Arc<Fake>, Backend) {
    let (fake, _) = setup();
    let mut cfg = config();
    cfg.poll_wait = Duration::from_millis(50);
    cfg.call_timeout = Duration::from_secs(10);
    let b = Backend::new(fake.clone(), cfg, Clock::manual());
    (fake, b)
}

#[test]
fn a_host_that_hangs_is_waited_for_briefly_then_failed_with_its_vms_and_back_when_it_answers() {
    let (fake, mut b) = setup_quick();
    sample_at(&mut b, 0.0);
    view_at(&mut b, 2.0);
    fake.hung.lock().unwrap().push(0);
    // The view does not wait for it: within its 50 ms, its last figures stand.
    let t = std::time::Instant::now();
    let v = view_at(&mut b, 4.0);
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert_eq!(
        v.nodes[0].state,
        NodeState::On,
        "not yet past the call timeout"
    );
    assert!(v.failures.is_empty());
    // Past the call timeout (10 s since the call): lost, shown failed, its VMs lost with it.
    let v = view_at(&mut b, 14.5);
    assert_eq!(v.nodes[0].state, NodeState::Failed);
    assert!(v.nodes[0].vms.is_empty());
    assert!(v.vms.iter().all(|x| !x.alive));
    assert!(v.replicas.iter().all(|r| r.state == ReplicaState::Failed));
    assert_eq!(v.failures.len(), 1 + 2 * 2, "{:?}", v.failures);
    assert_eq!(v.failures[0].failed, Failed::Node(NodeId(0)));
    assert_eq!(v.nodes[1].state, NodeState::On);
    // Nothing goes to or from it meanwhile.
    let app = v.vms.iter().find(|x| x.name == "rubis-app-0").unwrap().id;
    exec_at(
        &mut b,
        14.5,
        Action::Migrate {
            vm: app,
            to: NodeId(0),
        },
    );
    let v = view_at(&mut b, 16.0);
    assert_eq!(
        v.actions[0].outcome,
        Outcome::Refused("the VM no longer exists".into())
    );
    assert!(v.failures.is_empty(), "each failure shown once");
    // It answers again: on, with its VMs, their replicas repaired in place.
    fake.hung.lock().unwrap().clear();
    let v = view_at(&mut b, 18.0);
    assert_eq!(v.nodes[0].state, NodeState::On);
    assert_eq!(v.nodes[0].vms.len(), 2);
    assert!(v.replicas.iter().all(|r| r.state == ReplicaState::Active));
    let rows = b.failure_rows();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].time_s, rows[0].vms_lost), (14.5, 2));
    assert_eq!(rows[0].repaired_s, Some(18.0));
    assert_eq!(rows[0].service_restored_s, Some(18.0));
}

#[test]
fn a_host_whose_domains_cannot_be_listed_is_failed_not_empty_of_running_vms() {
    let (fake, mut b) = setup_quick();
    sample_at(&mut b, 0.0);
    fake.unlistable.lock().unwrap().push(0);
    let v = view_at(&mut b, 2.0);
    assert_eq!(v.nodes[0].state, NodeState::Failed);
    assert!(v.replicas.iter().all(|r| r.state == ReplicaState::Failed));
    // Not a stop: its replicas are not `stopped`, and come back with it.
    fake.unlistable.lock().unwrap().clear();
    let v = view_at(&mut b, 3.0);
    assert_eq!(v.nodes[0].state, NodeState::On);
    assert_eq!(v.nodes[0].vms.len(), 2);
    assert!(v.replicas.iter().all(|r| r.state == ReplicaState::Active));
}

#[test]
fn after_an_outage_cpu_is_the_mean_over_the_time_that_really_passed() {
    let (fake, mut b) = setup_quick();
    sample_at(&mut b, 0.0);
    fake.set_cpu(0, "rubis-app-0", 52.0);
    let v = view_at(&mut b, 10.0);
    let app = v.vms.iter().find(|x| x.name == "rubis-app-0").unwrap();
    assert!((app.cpu_cores_used - 0.2).abs() < 1e-9);
    // Down from 10 s to 70 s; 30 s of CPU over those 60 s: 0.5 core, not 30 s / 10 s.
    fake.hosts.lock().unwrap()[0].2 = false;
    view_at(&mut b, 20.0);
    fake.hosts.lock().unwrap()[0].2 = true;
    fake.set_cpu(0, "rubis-app-0", 82.0);
    let v = view_at(&mut b, 70.0);
    let app = v.vms.iter().find(|x| x.name == "rubis-app-0").unwrap();
    assert!(
        (app.cpu_cores_used - 0.5).abs() < 1e-9,
        "{}",
        app.cpu_cores_used
    );
    assert_eq!(v.period_s, 50.0);
}

fn paused(mut d: DomainInfo, state: DomainState) -> DomainInfo {
    d.state = state;
    d
}

#[test]
fn a_paused_copy_is_never_the_vm_and_a_stale_one_is_removed_once_seen_twice() {
    let (fake, mut b) = setup_quick();
    {
        // An interrupted migration: the VM runs on node 1, its source copy stayed paused.
        let mut hosts = fake.hosts.lock().unwrap();
        hosts[0].1.retain(|d| d.name != "rubis-app-0");
        hosts[0].1.push(paused(
            dom("rubis-app-0", 1, 1024, 50.0),
            DomainState::PausedByMigration,
        ));
        hosts[1].1.push(dom("rubis-app-0", 1, 1024, 0.0));
    }
    sample_at(&mut b, 0.0);
    let v = view_at(&mut b, 2.0);
    let app = v.vms.iter().find(|x| x.name == "rubis-app-0").unwrap();
    assert_eq!(app.node, Some(NodeId(1)), "the running copy is the VM");
    // Removed at the second sighting (a worker: wait for it).
    for t in [4.0, 6.0, 8.0] {
        view_at(&mut b, t);
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(fake.names(0), ["rubis-web-0", "other"]);
    assert_eq!(fake.names(1), ["rubis-app-0"]);
}

#[test]
fn a_copy_left_paused_by_a_migration_that_runs_nowhere_is_resumed() {
    let (fake, mut b) = setup_quick();
    {
        let mut hosts = fake.hosts.lock().unwrap();
        let d = hosts[0]
            .1
            .iter_mut()
            .find(|d| d.name == "rubis-app-0")
            .unwrap();
        d.state = DomainState::PausedByMigration;
    }
    sample_at(&mut b, 0.0);
    for t in [2.0, 4.0, 6.0] {
        view_at(&mut b, t);
        std::thread::sleep(Duration::from_millis(50));
    }
    let hosts = fake.hosts.lock().unwrap();
    let d = hosts[0].1.iter().find(|d| d.name == "rubis-app-0").unwrap();
    assert_eq!(d.state, DomainState::Running);
}

#[test]
fn a_paused_copy_with_a_job_or_while_a_host_is_unknown_is_left_alone() {
    let (fake, mut b) = setup_quick();
    {
        let mut hosts = fake.hosts.lock().unwrap();
        let d = hosts[0]
            .1
            .iter_mut()
            .find(|d| d.name == "rubis-app-0")
            .unwrap();
        d.state = DomainState::PausedByMigration;
        hosts[1].2 = false; // node 1 is unknown: it may run the VM
    }
    sample_at(&mut b, 0.0);
    for t in [2.0, 4.0, 6.0] {
        view_at(&mut b, t);
        std::thread::sleep(Duration::from_millis(50));
    }
    {
        let mut hosts = fake.hosts.lock().unwrap();
        let d = hosts[0]
            .1
            .iter_mut()
            .find(|d| d.name == "rubis-app-0")
            .unwrap();
        assert_eq!(d.state, DomainState::PausedByMigration);
        // Node 1 back, but a job is under way on the copy (a migration someone drives).
        d.job = true;
        hosts[1].2 = true;
    }
    for t in [8.0, 10.0, 12.0] {
        view_at(&mut b, t);
        std::thread::sleep(Duration::from_millis(50));
    }
    let hosts = fake.hosts.lock().unwrap();
    let d = hosts[0].1.iter().find(|d| d.name == "rubis-app-0").unwrap();
    assert_eq!(d.state, DomainState::PausedByMigration);
}

#[test]
fn two_running_copies_are_left_alone() {
    let (fake, mut b) = setup_quick();
    fake.hosts.lock().unwrap()[1]
        .1
        .push(dom("rubis-app-0", 1, 1024, 0.0));
    sample_at(&mut b, 0.0);
    for t in [2.0, 4.0, 6.0] {
        let v = view_at(&mut b, t);
        assert_eq!(v.vms.iter().filter(|x| x.name == "rubis-app-0").count(), 1);
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(fake.names(0).contains(&"rubis-app-0".to_string()));
    assert_eq!(fake.names(1), ["rubis-app-0"]);
}

fn with_power_on(command: &str) -> (Arc<Fake>, Backend) {
    let (fake, _) = setup();
    let mut cfg = config();
    cfg.poll_wait = Duration::from_millis(200);
    cfg.power_on_command = Some(command.into());
    let b = Backend::new(fake.clone(), cfg, Clock::manual());
    (fake, b)
}

#[test]
fn a_migration_to_an_off_node_powers_it_on_and_starts_once_it_is_on() {
    let (fake, mut b) = with_power_on("true");
    sample_at(&mut b, 0.0);
    exec_at(&mut b, 0.5, Action::PowerOff { node: NodeId(1) });
    let v = view_at(&mut b, 1.0);
    assert_eq!(v.nodes[1].state, NodeState::Off);
    let app = v.vms.iter().find(|x| x.name == "rubis-app-0").unwrap().id;
    exec_at(
        &mut b,
        1.0,
        Action::Migrate {
            vm: app,
            to: NodeId(1),
        },
    );
    // Booting: the action is in progress, the VM marked migrating there.
    let v = view_at(&mut b, 1.0);
    assert!(matches!(
        v.nodes[1].state,
        NodeState::Booting | NodeState::On
    ));
    assert_eq!(v.vm(app).migrating_to.or(v.vm(app).node), Some(NodeId(1)));
    for t in [2.0, 3.0, 4.0] {
        std::thread::sleep(Duration::from_millis(100));
        view_at(&mut b, t);
    }
    wait(&mut b);
    let v = view_at(&mut b, 5.0);
    let rows: Vec<(&str, &str)> = b
        .action_rows()
        .into_iter()
        .map(|r| (r.kind, r.outcome))
        .collect();
    assert_eq!(rows, [("power-off", "done"), ("migrate", "done")]);
    assert_eq!(v.nodes[1].state, NodeState::On);
    assert_eq!(v.vm(app).node, Some(NodeId(1)));
    assert_eq!(fake.names(1), ["rubis-app-0"]);
}

#[test]
fn a_start_on_an_off_node_powers_it_on_and_a_failed_boot_fails_what_waited() {
    let (fake, mut b) = with_power_on("exit 4");
    sample_at(&mut b, 0.0);
    exec_at(&mut b, 0.5, Action::PowerOff { node: NodeId(1) });
    let v = view_at(&mut b, 1.0);
    let app = v.vms.iter().find(|x| x.name == "rubis-app-0").unwrap().id;
    let tier = TierRef {
        app: AppId(0),
        tier: 1,
    };
    exec_at(
        &mut b,
        1.0,
        Action::StartReplica {
            tier,
            node: NodeId(1),
        },
    );
    exec_at(
        &mut b,
        1.0,
        Action::Migrate {
            vm: app,
            to: NodeId(1),
        },
    );
    for t in [2.0, 3.0] {
        std::thread::sleep(Duration::from_millis(100));
        view_at(&mut b, t);
    }
    wait(&mut b);
    let v = view_at(&mut b, 4.0);
    for a in &v.actions {
        assert!(
            matches!(&a.outcome, Outcome::Failed(r) if r.contains("did not come up") && r.contains("power-on command failed")),
            "{:?}",
            a.outcome
        );
    }
    assert_eq!(v.nodes[1].state, NodeState::Off);
    assert_eq!(v.vm(app).node, Some(NodeId(0)));
    assert!(v.vm(app).migrating_to.is_none());
    assert!(fake.names(1).is_empty());
    // A VM that could never fit on the off node is refused at once.
    let mut cfg = config();
    cfg.host_reserved_ram_mb = 4000.0;
    cfg.power_on_command = Some("true".into());
    let mut b2 = Backend::new(fake.clone(), cfg, Clock::manual());
    sample_at(&mut b2, 0.0);
    exec_at(&mut b2, 0.5, Action::PowerOff { node: NodeId(1) });
    exec_at(
        &mut b2,
        0.5,
        Action::Migrate {
            vm: app,
            to: NodeId(1),
        },
    );
    let v = view_at(&mut b2, 1.0);
    assert!(
        matches!(&v.actions[1].outcome, Outcome::Refused(r) if r.contains("the VM needs 1074 MB")),
        "{:?}",
        v.actions[1].outcome
    );
}

#[test]
fn an_interrupt_aborts_the_migration_in_flight_and_the_vm_stays_on_its_source() {
    let (fake, mut b) = setup_quick();
    fake.slow_migrations
        .store(true, std::sync::atomic::Ordering::SeqCst);
    sample_at(&mut b, 0.0);
    let v = view_at(&mut b, 1.0);
    let app = v.vms.iter().find(|x| x.name == "rubis-app-0").unwrap().id;
    exec_at(
        &mut b,
        1.0,
        Action::Migrate {
            vm: app,
            to: NodeId(1),
        },
    );
    assert!(b.busy());
    b.interrupt();
    b.drain(Duration::from_secs(5), || false);
    let v = view_at(&mut b, 2.0);
    assert!(
        matches!(&v.actions[0].outcome, Outcome::Failed(r) if r.contains("canceled")),
        "{:?}",
        v.actions[0].outcome
    );
    assert_eq!(v.vm(app).node, Some(NodeId(0)));
    assert!(fake.names(1).is_empty());
}
