//! Continuous VM checkpointing (Remus): what it costs (the stream's bandwidth is the memory
//! dirtied per epoch over the epoch, the host's CPU follows what it sends), what a crash of a
//! protected VM's node loses (what the VM did since its last committed checkpoint, not its
//! sessions nor its requests), what the policies see, and the bad input refused. Every run
//! here checks the simulator's invariants (requests conserved, RAM with the copies, placement,
//! every copy on a node that is on and not its VM's) after each event that changes the cluster.

mod common;
use reconf::report::RunOutput;
use reconf::scenario::load::{load_str, Loaded};
use reconf::sim::Simulation;
use reconf_api::{Action, NodeId, Policy, View, VmId};
use std::path::Path;
use std::sync::{Arc, Mutex};

fn load(text: &str) -> Loaded {
    load_str(text, "test.toml", Path::new("."), &[]).unwrap_or_else(|e| panic!("{e}"))
}

fn run(text: &str) -> RunOutput {
    Simulation::from_loaded(&load(text)).run()
}

fn conserved(out: &RunOutput) {
    let u = &out.summary.users;
    assert_eq!(
        u.requests_issued,
        u.requests_completed + u.requests_failed + u.requests_in_flight
    );
}

/// The checkpointing of [`scenario`]: `a.db` every 25 ms to node-2.
const CHECKPOINTING: &str = r#"[checkpointing]
tiers = ["a.db"]
backup = "node-2"
period_ms = 25
cpu_cores = 0.05
cpu_core_s_per_mb = 0.01
failover_ms = 1000
"#;

/// Three 4-core nodes with 100 MB/s NICs; `a.db` (512 MB, dirtying 10 MB/s whatever it does)
/// on node-1, checkpointed every 25 ms to node-2; `a.web` on node-0, unprotected. `clients`
/// users; `extra` adds keys.
fn scenario(duration_s: f64, clients: u32, extra: &str) -> String {
    without_checkpointing(duration_s, clients, &format!("{CHECKPOINTING}{extra}"))
}

fn without_checkpointing(duration_s: f64, clients: u32, extra: &str) -> String {
    format!(
        r#"
duration_s = {duration_s}
report_interval_s = 10
[infrastructure]
mode = "virtualized"
host_reserved_ram_mb = 512
[[infrastructure.nodes]]
name = "node"
count = 3
cores = 4
ram_mb = 8192
nic_mbps = 800
[[apps]]
name = "a"
[apps.clients]
mix = "weighted"
think = {{ dist = "exponential", mean_ms = 1000 }}
profile = {{ kind = "constant", value = {clients} }}
[[apps.tiers]]
name = "web"
placement = ["node-0"]
vm_ram_mb = 512
demand = {{ dist = "exponential", mean_ms = 5 }}
[[apps.tiers]]
name = "db"
placement = ["node-1"]
vm_ram_mb = 512
dirty_mb_per_s = 10
demand = {{ dist = "exponential", mean_ms = 20 }}
{extra}
"#
    )
}

#[test]
fn the_stream_sends_what_the_vm_dirties_per_epoch_and_the_host_pays_for_it() {
    // Idle: the db VM uses no CPU, so it dirties exactly its base 10 MB/s, 0.25 MB per 25 ms
    // epoch, sent over the next epoch: 10 MB/s to node-2. Its first copy (512 MB at 100 MB/s,
    // 5.12 s) and the catch-up after it are over within 6 s. From then on, each extra second of
    // run sends 10 MB and takes 40 checkpoints, and node-1 spends 0.05 + 0.01 × 10 = 0.15 cores
    // on it: 0.15 / 4 of its cores, its only load.
    let short = run(&scenario(100.0, 0, ""));
    let long = run(&scenario(200.0, 0, ""));
    conserved(&long);
    let (a, b) = (&short.summary.checkpointing, &long.summary.checkpointing);
    let extra_mb = b.checkpoint_mb.unwrap() - a.checkpoint_mb.unwrap();
    assert!((extra_mb - 1000.0).abs() < 1e-6, "{extra_mb}");
    assert_eq!(b.checkpoints.unwrap() - a.checkpoints.unwrap(), 4000);
    let extra_core_h = b.checkpoint_cpu_core_hours.unwrap() - a.checkpoint_cpu_core_hours.unwrap();
    assert!(
        (extra_core_h - 0.15 * 100.0 / 3600.0).abs() < 1e-9,
        "{extra_core_h}"
    );
    // The first copy: at least the whole RAM was sent.
    assert!(a.checkpoint_mb.unwrap() > 512.0 + 10.0 * 94.0);
    let util = |out: &RunOutput, node: &str, t: f64| {
        out.nodes
            .iter()
            .find(|n| out.node_names[n.node as usize] == node && n.time_s == t)
            .unwrap()
            .utilisation
    };
    for t in [20.0, 100.0, 200.0] {
        let u = util(&long, "node-1", t);
        assert!((u - 0.15 / 4.0).abs() < 1e-12, "{t}: {u}");
        // The backup only receives (no CPU cost modelled there).
        assert_eq!(util(&long, "node-2", t), 0.0);
    }
    // During the first copy the stream takes the whole NIC: 0.05 + 0.01 × 100 cores.
    assert!(util(&long, "node-1", 10.0) > 0.15 / 4.0);
    // Nothing crashed: nothing recovered.
    assert_eq!(b.vms_recovered, Some(0));
}

#[test]
fn a_crash_loses_what_the_vm_did_since_its_last_committed_checkpoint() {
    // Steady state: the checkpoint of 49.975 s is sent during the epoch that ends at 50 s; the
    // one of 50 s is being sent when node-1 crashes at 50.010 s. The VM resumes on node-2
    // from its state at 49.975 s: 35 ms lost. It runs again 1 s later.
    let out = run(&scenario(
        100.0,
        0,
        "[faults]\n[[faults.scripted]]\nat_s = 50.010\nnode = \"node-1\"\n",
    ));
    conserved(&out);
    let rows = out.failures.as_ref().unwrap();
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!((r.vms_lost, r.vms_recovered), (0, 1));
    assert!((r.checkpoint_loss_ms.unwrap() - 35.0).abs() < 1e-9, "{r:?}");
    assert_eq!(r.replicas_lost, "");
    let c = &out.summary.checkpointing;
    assert_eq!(c.vms_recovered, Some(1));
    assert!((c.mean_checkpoint_loss_ms.unwrap() - 35.0).abs() < 1e-9);
    // With the backup now the VM's node, the fixed rule has nowhere else to put a copy: the
    // stream stops, and so does the CPU it cost (node-1 is failed, node-2 runs an idle VM).
    let d = &out.summary.checkpointing;
    let sent_by_50 = run(&scenario(50.010, 0, "")).summary.checkpointing;
    assert!(
        (d.checkpoint_mb.unwrap() - sent_by_50.checkpoint_mb.unwrap()).abs() < 0.25 + 1e-9,
        "{d:?} vs {sent_by_50:?}"
    );
    // The tier never lost its replica.
    assert_eq!(out.summary.users.availability, Some(1.0));
    assert_eq!(out.summary.faults.failures, Some(1));
}

#[test]
fn a_crash_just_after_a_boundary_also_loses_the_epoch_being_sent() {
    // At 50.000 s the checkpoint of 49.975 s commits; at 50.0001 s the backup holds it.
    let out = run(&scenario(
        60.0,
        0,
        "[faults]\n[[faults.scripted]]\nat_s = 50.0001\nnode = \"node-1\"\n",
    ));
    let r = &out.failures.as_ref().unwrap()[0];
    assert!((r.checkpoint_loss_ms.unwrap() - 25.1).abs() < 1e-9, "{r:?}");
    // A crash before the first copy is there loses the VM as without checkpointing.
    let early = run(&scenario(
        60.0,
        0,
        "[faults]\n[[faults.scripted]]\nat_s = 3\nnode = \"node-1\"\n",
    ));
    let r = &early.failures.as_ref().unwrap()[0];
    assert_eq!((r.vms_lost, r.vms_recovered), (1, 0), "{r:?}");
    assert_eq!(r.checkpoint_loss_ms, None);
    assert_eq!(r.replicas_lost, "a.db.0");
}

#[test]
fn a_protected_vm_survives_its_node_with_its_sessions_and_requests() {
    // The migration example: rubis.app.1 and rubis.db.1 move to node-1 at 1000 s, and node-1
    // crashes at 1500 s, at the peak. Without checkpointing both VMs, their requests and the
    // sessions the sticky Tomcat held are lost; with it (copies on the other node that is on)
    // both VMs resume on node-0 from their last checkpoints.
    let base = std::fs::read_to_string(common::repo("scenarios/examples/scripted-migration.toml"))
        .unwrap();
    let crash = "\n[faults]\n[[faults.scripted]]\nat_s = 1500\nnode = \"node-1\"\n";
    let lost = run(&(base.clone() + crash));
    let saved = run(&(base + crash + "\n[checkpointing]\nbackup = \"auto\"\n"));
    conserved(&lost);
    conserved(&saved);
    let (l, s) = (
        &lost.failures.as_ref().unwrap()[0],
        &saved.failures.as_ref().unwrap()[0],
    );
    assert_eq!((l.vms_lost, l.vms_recovered), (2, 0));
    assert!(l.sessions_lost > 0, "{l:?}");
    assert_eq!((s.vms_lost, s.vms_recovered), (0, 2), "{s:?}");
    assert_eq!((s.sessions_lost, s.requests_failed), (0, 0), "{s:?}");
    assert_eq!(s.replicas_lost, "");
    // Between one and two epochs of 25 ms lost (the checkpoint being sent is not there; a
    // crash at a boundary, as here, comes before the boundary's checkpoint).
    let loss = s.checkpoint_loss_ms.unwrap();
    assert!((25.0..50.0).contains(&loss), "{loss}");
    let u = &saved.summary.users;
    assert_eq!(u.sessions_lost_to_failures, Some(0));
    assert_eq!(u.requests_failed_to_faults, Some(0));
    assert_eq!(u.availability, Some(1.0));
    // The VMs run on, on node-0: the migrations back there at 3000 s have nothing to do
    // (without checkpointing they are refused because the VMs are gone).
    let back = |out: &RunOutput| {
        out.actions
            .iter()
            .filter(|a| a.kind == "migrate" && a.start_s == 3000.0)
            .map(|a| a.reason.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(back(&saved), ["the VM is already on that node"; 2]);
    assert_eq!(back(&lost), ["the VM no longer exists"; 2]);
    // Protection costs: the copies were sent, on the CPU of the hosts.
    let c = &saved.summary.checkpointing;
    assert!(c.checkpoint_mb.unwrap() > 6.0 * 512.0);
    assert!(c.checkpoint_cpu_core_hours.unwrap() > 0.0);
}

#[test]
fn requests_that_reached_a_recovered_server_after_its_checkpoint_are_served_again() {
    // 30 users keep a.db 60% busy. Whatever a crash of node-1 finds on a.db.0 waits for the
    // failover (1 s) and completes; nothing fails, and what had arrived since the checkpoint is
    // served again from the start.
    let mut again = 0;
    let mut waited = 0;
    for at in [31.017, 32.023, 33.029, 39.047, 41.053] {
        let out = run(&scenario(
            80.0,
            30,
            &format!("[faults]\n[[faults.scripted]]\nat_s = {at}\nnode = \"node-1\"\n"),
        ));
        conserved(&out);
        let u = &out.summary.users;
        assert_eq!(u.requests_failed, 0);
        assert_eq!(u.sessions_lost_to_failures, Some(0));
        let r = &out.failures.as_ref().unwrap()[0];
        assert_eq!(r.vms_recovered, 1);
        assert_eq!(
            out.summary.checkpointing.requests_reexecuted,
            Some(r.requests_reexecuted)
        );
        again += r.requests_reexecuted;
        if u.max_response_ms >= 1000.0 {
            waited += 1;
        }
    }
    assert!(again > 0, "{again}");
    assert!(waited > 0, "{waited}");
}

/// What a policy saw at one control instant: its time, each live VM's backup, each node's
/// copies.
type Seen = (f64, Vec<(VmId, Option<NodeId>)>, Vec<(NodeId, Vec<VmId>)>);

/// Records, at each control instant, each live VM's backup and each node's copies.
struct Watcher {
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Policy for Watcher {
    fn name(&self) -> &str {
        "test-watcher"
    }
    fn decide(&mut self, view: &View) -> Vec<Action> {
        self.seen.lock().unwrap().push((
            view.now_s,
            view.vms
                .iter()
                .filter(|v| v.alive)
                .map(|v| (v.id, v.backup))
                .collect(),
            view.nodes
                .iter()
                .map(|n| (n.id, n.backups.clone()))
                .collect(),
        ));
        Vec::new()
    }
}

#[test]
fn the_view_shows_each_vms_backup_and_each_nodes_copies_and_a_backup_cannot_power_off() {
    let text = scenario(
        120.0,
        0,
        "[policy]\nname = \"static\"\nperiod_s = 10\n\
         [[actions]]\nkind = \"power-off\"\nat_s = 30\nnode = \"node-2\"\n\
         [faults]\n[[faults.scripted]]\nat_s = 60.01\nnode = \"node-1\"\n",
    );
    let seen = Arc::new(Mutex::new(Vec::new()));
    let policy = Box::new(Watcher { seen: seen.clone() });
    let out = Simulation::from_loaded_with_policy(&load(&text), Some(policy)).run();
    let seen = seen.lock().unwrap();
    let at = |t: f64| seen.iter().find(|s| s.0 == t).unwrap();
    // a.web.0 (VM 0) is not protected; a.db.0 (VM 1) has its copy on node-2.
    let (_, vms, nodes) = at(50.0);
    assert_eq!(vms, &[(VmId(0), None), (VmId(1), Some(NodeId(2)))]);
    assert_eq!(nodes[2], (NodeId(2), vec![VmId(1)]));
    assert!(nodes[0].1.is_empty() && nodes[1].1.is_empty());
    // After the failover to node-2 nothing protects it (the fixed backup is its node now).
    let (_, vms, nodes) = at(70.0);
    assert_eq!(vms, &[(VmId(0), None), (VmId(1), None)]);
    assert!(nodes.iter().all(|n| n.1.is_empty()));
    // Powering off a node that holds a copy is refused, with the reason.
    let off = out.actions.iter().find(|a| a.kind == "power-off").unwrap();
    assert_eq!(off.outcome, "refused");
    assert!(off.reason.contains("checkpoint copies"), "{off:?}");
}

#[test]
fn auto_backups_go_to_the_node_with_most_ram_free_and_come_back_after_a_failover() {
    // backup = auto: at the first boundary node-2 has 7680 MB free for a.db's copy, node-0
    // 7168 (it runs a.web): node-2 has more. After node-2 crashes (the copy is gone)
    // the next boundary puts a new copy on node-0, the only other node on.
    let text = scenario(60.0, 0, "").replace("backup = \"node-2\"", "backup = \"auto\"")
        + "[faults]\n[[faults.scripted]]\nat_s = 20\nnode = \"node-2\"\n\
           [[faults.scripted]]\nat_s = 40\nnode = \"node-1\"\n";
    let out = run(&text);
    conserved(&out);
    let rows = out.failures.as_ref().unwrap();
    // node-2 held only a copy: nothing lost, nothing recovered.
    assert_eq!((rows[0].vms_lost, rows[0].vms_recovered), (0, 0));
    // By 40 s the new copy on node-0 is there (512 MB at 100 MB/s from 20.025 s): a.db resumes
    // on node-0.
    assert_eq!(
        (rows[1].vms_lost, rows[1].vms_recovered),
        (0, 1),
        "{:?}",
        rows[1]
    );
    assert_eq!(out.summary.users.availability, Some(1.0));
}

#[test]
fn bad_checkpointing_input_exits_2_naming_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let base = without_checkpointing(60.0, 0, "");
    let cases = [
        (
            "[checkpointing]\nperiod_ms = 0\n",
            "checkpointing.period_ms",
            "greater than 0",
        ),
        (
            "[checkpointing]\nperiod_ms = -25\n",
            "checkpointing.period_ms",
            "greater than 0",
        ),
        (
            "[checkpointing]\nbackup = \"node-9\"\n",
            "checkpointing.backup",
            "no node `node-9`",
        ),
        (
            "[checkpointing]\nbackup = \"node-1\"\ntiers = [\"a.db\"]\n",
            "checkpointing.backup",
            "its own host",
        ),
        (
            "[checkpointing]\ntiers = [\"a.cache\"]\n",
            "checkpointing.tiers[0]",
            "not a tier",
        ),
        (
            "[checkpointing]\ncpu_cores = -1\n",
            "checkpointing.cpu_cores",
            ">= 0",
        ),
    ];
    for (i, (section, field, message)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("bad{i}.toml"));
        let text = format!("{base}\n{section}");
        std::fs::write(&path, &text).unwrap();
        let o = common::reconf(&["validate", path.to_str().unwrap()], dir.path());
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        assert_eq!(o.status.code(), Some(2), "{section}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(err.contains(&format!("field `{field}`")), "{err}");
        assert!(err.contains(message), "{err}");
        let line: usize = err
            .split(".toml:")
            .nth(1)
            .and_then(|l| l.split(':').next())
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or_else(|| panic!("a line number in {err}"));
        let want = text
            .lines()
            .position(|l| {
                let key = field.rsplit('.').next().unwrap();
                let key = key.split('[').next().unwrap();
                l.starts_with(key) || (key == "checkpointing" && l == "[checkpointing]")
            })
            .map(|k| k + 1);
        assert_eq!(Some(line), want, "{err}\n{text}");
    }
}
