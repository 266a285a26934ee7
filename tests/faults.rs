//! Faults and their consequences: node crashes take their VMs, replicas, requests and sessions
//! with them, end the migrations through them and draw no power; server processes crash and
//! are repaired in place; failed replicas and lost VMs are restarted by policy actions; the
//! fault times are the same whatever the strategy; bad fault input is refused. Every run checks
//! the simulator's invariants (requests conserved, RAM, placement) after each event that
//! changes the cluster.

mod common;
use reconf::report::RunOutput;
use reconf::scenario::load::{load_str, Loaded};
use reconf::sim::Simulation;
use reconf_api::{Action, Failed, NodeId, Policy, ReplicaState, View};
use std::path::Path;

fn load(text: &str) -> Loaded {
    load_str(text, "test.toml", Path::new("."), &[]).unwrap_or_else(|e| panic!("{e}"))
}

fn run(text: &str) -> RunOutput {
    Simulation::from_loaded(&load(text)).run()
}

fn example(name: &str) -> String {
    std::fs::read_to_string(common::repo(&format!("scenarios/examples/{name}.toml"))).unwrap()
}

fn conserved(out: &RunOutput) {
    let u = &out.summary.users;
    assert_eq!(
        u.requests_issued,
        u.requests_completed + u.requests_failed + u.requests_in_flight
    );
}

#[test]
fn a_node_crash_loses_its_vms_replicas_requests_and_sessions_and_draws_nothing() {
    // The migration example moves rubis.app.1 and rubis.db.1 to node-1 at 1000 s; node-1
    // crashes at 1500 s, at the peak, and is never repaired.
    let text = example("scripted-migration")
        + "\n[faults]\n[[faults.scripted]]\nat_s = 1500\nnode = \"node-1\"\n";
    let out = run(&text);
    conserved(&out);
    let s = &out.summary;
    assert_eq!(s.faults.failures, Some(1));
    let rows = out.failures.as_ref().unwrap();
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!((r.kind.as_str(), r.target.as_str()), ("node", "node-1"));
    assert_eq!(r.time_s, 1500.0);
    assert_eq!(r.vms_lost, 2);
    // In the order the node listed them (the order the migrations ended).
    let mut lost: Vec<&str> = r.replicas_lost.split(' ').collect();
    lost.sort_unstable();
    assert_eq!(lost, ["rubis.app.1", "rubis.db.1"]);
    assert_eq!(r.repaired_s, None);
    assert_eq!(r.service_restored_s, None);
    // At the peak the sticky Tomcat held sessions.
    assert!(r.sessions_lost > 0, "{r:?}");
    assert_eq!(s.users.requests_failed_to_faults, Some(r.requests_failed));
    assert_eq!(s.users.sessions_lost_to_failures, Some(r.sessions_lost));
    assert!(s.users.sessions_lost >= r.sessions_lost);
    // The other replicas of both tiers carry on: the app stays available.
    assert_eq!(s.users.availability, Some(1.0));
    // The migrations back at 3000 s are refused (the VMs are gone), and so the power-off at
    // 3200 s (the node has failed).
    let at = |t: f64, kind: &str| {
        out.actions
            .iter()
            .filter(|a| a.start_s == t && a.kind == kind)
            .map(|a| (a.outcome, a.reason.clone()))
            .collect::<Vec<_>>()
    };
    for (outcome, reason) in at(3000.0, "migrate") {
        assert_eq!(outcome, "refused");
        assert_eq!(reason, "the VM no longer exists");
    }
    assert_eq!(at(3200.0, "power-off")[0].0, "refused");
    // The crashed node is `failed` and draws 0 W from the crash on.
    let after: Vec<_> = out
        .nodes
        .iter()
        .filter(|n| out.node_names[n.node as usize] == "node-1" && n.time_s > 1500.0)
        .collect();
    assert!(!after.is_empty());
    for n in after {
        assert_eq!(n.state, "failed");
        if n.time_s >= 1510.0 {
            assert_eq!(n.power_w, 0.0);
        }
    }
}

#[test]
fn a_crash_during_a_migration_fails_it_with_the_vm_kept_or_lost() {
    let base = example("scripted-migration");
    // At 1000 s two migrations to node-1 start; they take a few seconds. Crashing the
    // destination leaves the VMs on their source.
    let dst = run(
        &(base.clone() + "\n[faults]\n[[faults.scripted]]\nat_s = 1000.5\nnode = \"node-1\"\n")
    );
    conserved(&dst);
    let migs: Vec<_> = dst
        .actions
        .iter()
        .filter(|a| a.kind == "migrate" && a.start_s == 1000.0)
        .collect();
    assert_eq!(migs.len(), 2);
    for m in &migs {
        assert_eq!(m.outcome, "failed");
        assert_eq!(
            m.reason,
            "the destination node crashed: the VM stays on its source"
        );
        assert_eq!(m.end_s, Some(1000.5));
    }
    assert_eq!(dst.failures.as_ref().unwrap()[0].vms_lost, 0);
    assert_eq!(dst.summary.users.requests_failed_to_faults, Some(0));
    // Crashing the source loses the migrating VMs (and every other VM on it: all of them).
    let src = run(&(base + "\n[faults]\n[[faults.scripted]]\nat_s = 1000.5\nnode = \"node-0\"\n"));
    conserved(&src);
    for m in src
        .actions
        .iter()
        .filter(|a| a.kind == "migrate" && a.start_s == 1000.0)
    {
        assert_eq!(m.outcome, "failed");
        assert_eq!(m.reason, "a node crashed: the VM is lost");
    }
    let row = &src.failures.as_ref().unwrap()[0];
    assert_eq!(row.vms_lost, 6);
    // Nothing left to serve: the application is down from 1000.5 s to the end.
    let a = src.summary.users.availability.unwrap();
    assert!((a - 1000.5 / 3600.0).abs() < 1e-9, "{a}");
    // Requests to a tier with no replica fail at once, because of the fault.
    let u = &src.summary.users;
    assert!(u.requests_failed_to_faults.unwrap() > row.requests_failed);
    assert_eq!(u.requests_failed, u.requests_failed_to_faults.unwrap());
}

/// Node crashes from each node's own stream: every node always on, so the fault times cannot
/// depend on what the strategy does.
fn random_node_faults(actions: bool) -> RunOutput {
    let mut text = example("scripted-restart");
    if !actions {
        let cut = text.find("[[actions]]").unwrap();
        text.truncate(cut);
    }
    text.push_str(
        "\n[faults]\n[[faults.nodes]]\ngroup = \"node\"\n\
         time_to_failure = { dist = \"weibull\", mean_s = 2000, shape = 0.7 }\n\
         repair = { dist = \"lognormal\", mean_s = 300, cv = 1 }\n",
    );
    Simulation::from_loaded(&load(&text)).run()
}

#[test]
fn two_strategies_of_one_seed_face_the_same_faults() {
    let a = random_node_faults(true);
    let b = random_node_faults(false);
    conserved(&a);
    conserved(&b);
    let times = |o: &RunOutput| {
        o.failures
            .as_ref()
            .unwrap()
            .iter()
            .map(|r| (r.time_s, r.target.clone(), r.repaired_s))
            .collect::<Vec<_>>()
    };
    let (ta, tb) = (times(&a), times(&b));
    assert!(ta.len() >= 3, "{ta:?}");
    // Only node-3 is acted on: the other nodes' faults are the same in both runs.
    let on = |t: &[(f64, String, Option<f64>)]| {
        t.iter()
            .filter(|(_, n, _)| n != "node-3")
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(on(&ta), on(&tb));
    assert!(!on(&ta).is_empty());
    // Same seed, same everything: byte-identical files.
    let c = random_node_faults(true);
    assert_eq!(a.failures_csv(), c.failures_csv());
    let figures = |o: &RunOutput| {
        let mut s = o.summary.clone();
        (s.wall_seconds, s.events_per_s) = (0.0, 0.0);
        s
    };
    assert_eq!(figures(&a), figures(&c));
    assert_eq!(a.timeseries_csv(), c.timeseries_csv());
}

/// Bad fault input: exit code 2, one line naming the file, the line and the field.
#[test]
fn bad_fault_input_exits_2_naming_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let base = example("scripted-restart");
    let cases = [
        (
            "[faults]\n[[faults.nodes]]\ngroup = \"node\"\ntime_to_failure = { dist = \"exponential\", mean_s = 0 }\n",
            "faults.nodes[0].time_to_failure.mean_s",
            "greater than 0",
        ),
        (
            "[faults]\n[[faults.nodes]]\ngroup = \"node\"\ntime_to_failure = { dist = \"weibull\", mean_s = -5, shape = 0.7 }\n",
            "faults.nodes[0].time_to_failure.mean_s",
            "greater than 0",
        ),
        (
            "[faults]\n[[faults.groups]]\nname = \"rack\"\nnodes = [\"node-0\", \"node-9\"]\n",
            "faults.groups[0].nodes[1]",
            "no node `node-9`",
        ),
        (
            "[faults]\n[[faults.nodes]]\ngroup = \"rack\"\ntime_to_failure = { dist = \"exponential\", mean_s = 10 }\n",
            "faults.nodes[0].group",
            "no node group `rack`",
        ),
        (
            "[faults]\n[[faults.replicas]]\napp = \"rubis\"\ntier = \"cache\"\ntime_to_failure = { dist = \"exponential\", mean_s = 10 }\n",
            "faults.replicas[0].tier",
            "no tier `cache`",
        ),
        (
            "[faults]\n[[faults.scripted]]\nat_s = 10\nnode = \"node-0\"\nreplica = \"rubis.app.0\"\n",
            "faults.scripted[0]",
            "exactly one",
        ),
    ];
    for (i, (faults, field, message)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("bad{i}.toml"));
        let text = format!("{base}\n{faults}");
        std::fs::write(&path, &text).unwrap();
        let o = common::reconf(&["validate", path.to_str().unwrap()], dir.path());
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        assert_eq!(o.status.code(), Some(2), "{faults}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(err.contains(&format!("field `{field}`")), "{err}");
        assert!(err.contains(message), "{err}");
        // The line named is the line of the field (or of its table).
        assert!(err.contains(&format!("bad{i}.toml:")), "{err}");
        let line: usize = err
            .split(".toml:")
            .nth(1)
            .and_then(|l| l.split(':').next())
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or_else(|| panic!("a line number in {err}"));
        assert!(line > base.lines().count(), "{err}");
    }
}

/// Restarts every failed replica on `node`, by a fresh deployment or from its VM's image.
struct Restarter {
    node: NodeId,
    from_image: bool,
    seen_failures: std::sync::Arc<std::sync::Mutex<Vec<(f64, Failed)>>>,
}

impl Policy for Restarter {
    fn name(&self) -> &str {
        "test-restarter"
    }

    fn decide(&mut self, view: &View) -> Vec<Action> {
        self.seen_failures
            .lock()
            .unwrap()
            .extend(view.failures.iter().map(|f| (view.now_s, f.failed)));
        for r in view.failed_replicas() {
            assert_eq!(r.state, ReplicaState::Failed);
        }
        let busy: Vec<_> = view.in_flight().map(|a| a.action.clone()).collect();
        view.failed_replicas()
            .filter_map(|r| {
                let a = if self.from_image {
                    Action::RestartVm {
                        vm: r.vm?,
                        node: self.node,
                    }
                } else {
                    Action::RestartReplica {
                        replica: r.id,
                        node: self.node,
                    }
                };
                (!busy.contains(&a)).then_some(a)
            })
            .collect()
    }
}

#[test]
fn failed_replicas_come_back_by_a_fresh_restart_or_from_their_vm_image() {
    // node-1 crashes at 1500 s with rubis.app.1 and rubis.db.1; a policy restarts them on
    // node-2 (on since the migration of rubis.web.0 there at 1200 s powered it on). A fresh
    // restart also deploys (no deploy time here) and copies no data; both boot the VM (20 s)
    // and start the server (5 s by default).
    let mut text = example("scripted-migration");
    text = text.replace(
        "[[apps]]",
        "[policy]\nname = \"static\"\nperiod_s = 10\n\n[[apps]]",
    );
    text.push_str("\n[faults]\n[[faults.scripted]]\nat_s = 1500\nnode = \"node-1\"\n");
    for from_image in [false, true] {
        let loaded = load(&text);
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let policy = Restarter {
            node: NodeId(2),
            from_image,
            seen_failures: seen.clone(),
        };
        let out = Simulation::from_loaded_with_policy(&loaded, Some(Box::new(policy))).run();
        conserved(&out);
        let kind = if from_image {
            "restart-vm"
        } else {
            "restart-replica"
        };
        let restarts: Vec<_> = out.actions.iter().filter(|a| a.kind == kind).collect();
        assert_eq!(restarts.len(), 2, "{:?}", out.actions);
        for r in &restarts {
            assert_eq!(r.outcome, "done", "{r:?}");
            // Decided at the control instant of the crash (1500 s, after it): the VM boots in
            // 20 s, the server starts in 5 s.
            assert_eq!(r.start_s, 1500.0);
            assert!(
                (r.end_s.unwrap() - (1500.0 + 20.0 + 5.0)).abs() < 1e-6,
                "{r:?}"
            );
            assert_eq!(&*r.destination, "node-2");
        }
        let s = &out.summary;
        assert_eq!(s.faults.repairs, Some(2));
        assert!((s.faults.mean_time_to_repair_s.unwrap() - 25.0).abs() < 1e-6);
        let row = &out.failures.as_ref().unwrap()[0];
        assert_eq!(row.service_restored_s, Some(1525.0));
        // The policy was shown the node, its two VMs and their replicas, once each.
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 5, "{seen:?}");
        assert!(seen.iter().all(|(t, _)| *t == 1500.0));
        assert_eq!(seen[0].1, Failed::Node(NodeId(1)));
        assert_eq!(
            seen.iter()
                .filter(|(_, f)| matches!(f, Failed::Vm(_)))
                .count(),
            2
        );
        // The scripted migrations back at 3000 s name the replicas: they move the restarted
        // VMs (the old one from its image, or the fresh one).
        let back: Vec<_> = out
            .actions
            .iter()
            .filter(|a| a.kind == "migrate" && a.start_s == 3000.0)
            .collect();
        assert_eq!(back.len(), 2);
        for b in back {
            assert_eq!(b.outcome, "done", "{b:?}");
        }
    }
}

#[test]
fn a_policy_composed_with_itself_exits_2_and_a_composition_runs() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(common::repo("scenarios/failures/restart.toml")).unwrap();
    let bad = text.replace(
        "[[policy.compose]]\nname = \"threshold-replication\"",
        "[[policy.compose]]\nname = \"repair\"",
    );
    assert_ne!(bad, text);
    let path = dir.path().join("twice.toml");
    std::fs::write(&path, &bad).unwrap();
    let o = common::reconf(&["validate", path.to_str().unwrap()], dir.path());
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("twice.toml:") && err.contains("field `policy.compose[0].name`"),
        "{err}"
    );
    assert!(err.contains("composed with itself"), "{err}");
    // The shipped composition: repair brings every crashed replica back, the elasticity policy
    // still resizes; the composed policy is named after both.
    let out = Simulation::from_loaded(&load(&text)).run();
    conserved(&out);
    let kinds = |k: &str| out.actions.iter().filter(|a| a.kind == k).count();
    assert!(kinds("restart-replica") > 0);
    assert!(kinds("start-replica") > 0);
    let rows = out.failures.as_ref().unwrap();
    assert!(!rows.is_empty());
    // Every replica a crash took down came back (the run ends long after the last crash
    // would be repaired: at most 30 s period + deploy 10 s + start 5 s + boot 60 s).
    for r in rows {
        if !r.replicas_lost.is_empty() && r.time_s < 3400.0 {
            assert!(r.service_restored_s.is_some(), "{r:?}");
            assert!(r.service_restored_s.unwrap() - r.time_s <= 30.0 + 10.0 + 5.0 + 60.0 + 1e-6);
        }
    }
}
