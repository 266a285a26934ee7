//! Trace-driven VMs in a datacenter, against figures worked out by hand: CloudSim's metrics
//! (energy, SLATAH, PDM, SLAV, ESV, host shutdowns, mean migration time) on a 2-host / 3-VM case,
//! and the bad traces a user can bring.

use reconf::report::RunOutput;
use reconf::scenario::load::{load_str, Loaded};
use reconf::sim::Simulation;
use std::path::Path;

fn load(text: &str, dir: &Path) -> Result<Loaded, String> {
    load_str(text, "test.toml", dir, &[]).map_err(|e| e.to_string())
}

fn run(text: &str, dir: &Path) -> RunOutput {
    let l = load(text, dir).unwrap_or_else(|e| panic!("{e}"));
    Simulation::from_loaded(&l).run()
}

/// Two hosts of 2 cores × 1000 CPU units, a linear power model from 100 W idle to 200 W (a host
/// with no load draws nothing, as CloudSim counts it), 1 Gbit/s; three 1-vCPU VMs of 1000 units
/// and 500 MB at constant utilisation `a` = 1.0, `b` = 0.8, `c` = 0.6; CloudSim's simple
/// migration; 200 s; `actions` scripted.
fn two_hosts_three_vms(actions: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("trace.csv"),
        "vm,time_s,cpu_fraction\na,0,1.0\nb,0,0.8\nc,0,0.6\n",
    )
    .unwrap();
    let text = format!(
        r#"
name = "two-hosts-three-vms"
duration_s = 200
report_interval_s = 100

[infrastructure]
mode = "virtualized"
host_reserved_ram_mb = 0
cpu_sharing = "proportional"
migration = {{ model = "simple" }}

[[infrastructure.nodes]]
name = "h"
count = 2
cores = 2
speed = 1000
ram_mb = 4096
nic_mbps = 1000
power = {{ model = "linear", idle_w = 100, max_w = 200 }}
boot_s = 0
shutdown_s = 0
idle_power = false

[[vms]]
name = "vm"
trace = {{ file = "trace.csv", format = "long" }}
types = [{{ cpu = 1000, ram_mb = 500 }}]
update_every_s = 100

{actions}
"#
    );
    (dir, text)
}

fn close(what: &str, got: f64, want: f64) {
    assert!(
        (got - want).abs() <= 1e-9 * want.abs().max(1.0),
        "{what}: got {got}, want {want}"
    );
}

/// First fit by nominal size puts `a` and `b` on h-0 (2000 of 2000 units) and `c` on h-1.
/// At 100 s `c` migrates to h-0: 500 MB at half of 1 Gbit/s takes 8 s. During it `c` gets 90%
/// of its 600 units on h-1 (the 60 lost count in PDM; h-1 does not violate: CloudSim counts the
/// penalty as the migration's use of the source), and h-0 is charged 10% of `c` (0.06 cores) and
/// violates (CloudSim counts the incoming VM's whole request against it). From 108 s h-0 holds
/// 2400 units of demand on 2000: proportional shares floored to whole units, 833 + 666 + 500,
/// and violates to the end; h-1, empty, is inactive and draws nothing.
#[test]
fn cloudsim_metrics_of_two_hosts_and_three_vms_match_the_hand_computation() {
    let (dir, text) = two_hosts_three_vms(
        "[[actions]]\nkind = \"migrate\"\nat_s = 100\nvm = \"vm.c\"\nto = \"h-0\"\n",
    );
    let out = run(&text, dir.path());
    let s = &out.summary;
    assert_eq!(s.migrations, 1);
    close(
        "mean migration time",
        s.datacenter.mean_time_before_vm_migration_s,
        8.0,
    );
    // Active: h-0 for 200 s, h-1 until c has left (108 s); violating: h-0 from 100 s on.
    let slatah = 100.0 / 308.0;
    close("slatah", s.datacenter.slatah, slatah);
    // PDM: 60 units × 8 s short while migrating, of 2400 units × 200 s asked for.
    let pdm = 60.0 * 8.0 / (2400.0 * 200.0);
    close("pdm", s.datacenter.pdm, pdm);
    close("slav", s.datacenter.slav, slatah * pdm);
    // Power = 100 W + 100 W × utilisation. h-0: 1800/2000 for 100 s, (1800 + 60)/2000 for 8 s,
    // 1999/2000 for 92 s; h-1: 600/2000 for 108 s (the source keeps the migrating VM's load).
    let joules = 190.0 * 100.0 + 193.0 * 8.0 + 199.95 * 92.0 + 130.0 * 108.0;
    close("energy", s.energy_kwh, joules / 3.6e6);
    close("esv", s.datacenter.esv, joules / 3.6e6 * slatah * pdm);
    assert_eq!(s.datacenter.host_shutdowns, 1);
    close(
        "time before the shutdown",
        s.datacenter.mean_time_before_host_shutdown_s,
        108.0,
    );
    // Unmet: 60 units for 8 s, then (1000 - 833) + (800 - 666) + (600 - 500) = 401 units for
    // 92 s; a core is 1000 units.
    let unmet_core_s = 0.060 * 8.0 + 0.401 * 92.0;
    close(
        "unmet demand",
        s.datacenter.unmet_demand_core_hours,
        unmet_core_s / 3600.0,
    );
    // The second interval alone: h-0 violates 100 s of its 100 active, h-1 none of its 8.
    let last = out.timeseries.last().unwrap();
    close("interval slatah", last.slatah, 100.0 / 108.0);
    assert_eq!(last.active_nodes, 1);
    assert_eq!(last.migrations, 1);
}

/// Without the migration nothing violates, energy is the two hosts' constant power.
#[test]
fn without_migrations_the_two_hosts_draw_constant_power_and_nothing_violates() {
    let (dir, text) = two_hosts_three_vms("");
    let s = run(&text, dir.path()).summary;
    assert_eq!(s.migrations, 0);
    assert_eq!(s.datacenter.slatah, 0.0);
    assert_eq!(s.datacenter.pdm, 0.0);
    assert_eq!(s.datacenter.host_shutdowns, 0);
    close("energy", s.energy_kwh, (190.0 + 130.0) * 200.0 / 3.6e6);
}

/// Pre-copy (a whole NIC, 125 MB/s: 500 MB in 4 s; nothing dirtied, so an empty stop-and-copy):
/// `c` leaves h-1 for h-0 at 100 s and comes back at 150 s. h-1 goes idle once, at 104 s, when
/// `c` has left; when `c` comes back, h-1 is busy with the migration from its start (0.05 cores)
/// until `c` runs there again, so it is never idle in between, even for no time at all (with a
/// resume of 0 ms) or while `c` resumes (10 ms): one host shutdown, not two.
#[test]
fn a_pre_copy_destination_is_not_switched_off_while_its_vm_resumes() {
    for resume_ms in [0.0, 10.0] {
        let (dir, text) = two_hosts_three_vms(
            "[[actions]]\nkind = \"migrate\"\nat_s = 100\nvm = \"vm.c\"\nto = \"h-0\"\n\
             [[actions]]\nkind = \"migrate\"\nat_s = 150\nvm = \"vm.c\"\nto = \"h-1\"\n",
        );
        let text = text.replace(
            "migration = { model = \"simple\" }",
            &format!("migration = {{ model = \"precopy\", resume_ms = {resume_ms} }}"),
        );
        let s = run(&text, dir.path()).summary;
        assert_eq!(s.migrations, 2, "resume {resume_ms} ms");
        assert_eq!(s.datacenter.host_shutdowns, 1, "resume {resume_ms} ms");
        close(
            "time before the shutdown",
            s.datacenter.mean_time_before_host_shutdown_s,
            104.0,
        );
    }
}

/// Every defect of a trace a user can bring is refused at load with the file, the line and the
/// field.
#[test]
fn bad_traces_are_refused_naming_the_file_line_and_field() {
    let (dir, text) = two_hosts_three_vms("");
    let cases: [(&str, &str, &[&str]); 5] = [
        ("vm,time_s\na,0\n", "missing column", &["trace.csv:1:"]),
        (
            "vm,time_s,cpu_fraction\na,0,high\n",
            "non-numeric utilisation",
            &["trace.csv:2:", "cpu_fraction"],
        ),
        (
            "vm,time_s,cpu_fraction\na,0,1.5\n",
            "utilisation above 1",
            &["trace.csv:2:", "cpu_fraction"],
        ),
        (
            "vm,time_s,cpu_fraction\na,0,0.5,7\n",
            "ragged row",
            &["trace.csv:2:"],
        ),
        (
            "vm,time_s,cpu_fraction\na,0,0.5\n",
            "fewer VMs than asked for",
            &["test.toml:", "vms[0].count", "only 1"],
        ),
    ];
    for (trace, what, needles) in cases {
        std::fs::write(dir.path().join("trace.csv"), trace).unwrap();
        let text = text.replace("update_every_s = 100", "update_every_s = 100\ncount = 3");
        let err = load(&text, dir.path()).map(|_| ()).expect_err(what);
        assert_eq!(err.lines().count(), 1, "{what}: {err}");
        for n in needles {
            assert!(err.contains(n), "{what}: `{err}` does not name {n}");
        }
    }
}

/// A scripted migration of a trace-driven VM that the trace does not have is refused at load.
#[test]
fn a_scripted_migration_of_an_unknown_trace_vm_is_refused_at_load() {
    let (dir, text) = two_hosts_three_vms(
        "[[actions]]\nkind = \"migrate\"\nat_s = 100\nvm = \"vm.z\"\nto = \"h-0\"\n",
    );
    let err = load(&text, dir.path()).map(|_| ()).unwrap_err();
    assert!(
        err.contains("actions[0].vm") && err.contains("vm.a"),
        "{err}"
    );
}

/// A VM that first fit cannot place (by nominal size) waits unplaced: its whole demand is unmet,
/// counted in cores of its own vCPUs, and the host it did not get does not violate.
#[test]
fn an_unplaced_vm_counts_its_whole_demand_as_unmet() {
    let (dir, text) = two_hosts_three_vms("");
    // One host: a and b fill it, c has nowhere to go.
    let text = text.replace("count = 2", "count = 1");
    let s = run(&text, dir.path()).summary;
    assert_eq!(s.datacenter.slatah, 0.0);
    // c asks for 600 of its 1000-unit vCPU for 200 s.
    close(
        "unmet demand",
        s.datacenter.unmet_demand_core_hours,
        0.6 * 200.0 / 3600.0,
    );
    close("energy", s.energy_kwh, 190.0 * 200.0 / 3.6e6);
}

/// Places the VMs as first fit would, and restarts every trace-driven VM shown failed on node
/// `to`, from its image.
struct RestartTraceVms {
    to: reconf_api::NodeId,
}

impl reconf_api::Policy for RestartTraceVms {
    fn name(&self) -> &str {
        "test-restart-trace-vms"
    }
    fn decide(&mut self, view: &reconf_api::View) -> Vec<reconf_api::Action> {
        // At time 0, the placement first fit makes without a policy: a and b on h-0, c on h-1.
        let place = view.unplaced().map(|v| reconf_api::Action::Place {
            vm: v.id,
            node: reconf_api::NodeId(u32::from(v.id.0 >= 2)),
        });
        let restart = view.failures.iter().filter_map(|f| match f.failed {
            reconf_api::Failed::Vm(vm) if view.vm(vm).replica.is_none() => {
                Some(reconf_api::Action::RestartVm { vm, node: self.to })
            }
            _ => None,
        });
        place.chain(restart).collect()
    }
}

/// h-1 crashes at 50 s with `c` (600 of its 1000 units); a policy restarts `c` from its image on
/// h-0 at the control instant of the crash; its guest boots in 20 s (the default VM boot), and
/// from 70 s its trace drives it again on h-0: 2400 units of demand on 2000, proportional shares
/// floored to whole units (833 + 666 + 500), 1999 busy.
#[test]
fn a_trace_driven_vm_lost_in_a_crash_restarts_from_its_image_and_follows_its_trace_again() {
    let (dir, text) = two_hosts_three_vms(
        "[policy]\nname = \"static\"\nperiod_s = 10\n\
         [faults]\n[[faults.scripted]]\nat_s = 50\nnode = \"h-1\"\n",
    );
    let text = text.replace("report_interval_s = 100", "report_interval_s = 10");
    let loaded = load(&text, dir.path()).unwrap();
    let policy = RestartTraceVms {
        to: reconf_api::NodeId(0),
    };
    let out = Simulation::from_loaded_with_policy(&loaded, Some(Box::new(policy))).run();
    let row = &out.failures.as_ref().unwrap()[0];
    assert_eq!((row.target.as_str(), row.vms_lost), ("h-1", 1));
    let restarts: Vec<_> = out
        .actions
        .iter()
        .filter(|a| a.kind == "restart-vm")
        .collect();
    assert_eq!(restarts.len(), 1, "{:?}", out.actions);
    let r = restarts[0];
    assert_eq!((r.outcome, r.start_s), ("done", 50.0), "{r:?}");
    close("restart end", r.end_s.unwrap(), 70.0);
    let util = |t: f64| {
        out.nodes
            .iter()
            .find(|n| out.node_names[n.node as usize] == "h-0" && n.time_s == t)
            .unwrap()
            .utilisation
    };
    // a and b alone (1800 of 2000) while c boots; then all three, floored shares.
    close("h-0 at 60-70 s", util(70.0), 0.9);
    close("h-0 at 70-80 s", util(80.0), 1999.0 / 2000.0);
    close("h-0 at 190-200 s", util(200.0), 1999.0 / 2000.0);
    let again = Simulation::from_loaded_with_policy(
        &loaded,
        Some(Box::new(RestartTraceVms {
            to: reconf_api::NodeId(1),
        })),
    )
    .run();
    // Restarting on the crashed node itself is refused, with the reason.
    let refused: Vec<_> = again
        .actions
        .iter()
        .filter(|a| a.kind == "restart-vm")
        .collect();
    assert_eq!(refused[0].outcome, "refused");
    assert_eq!(refused[0].reason, "node is failed");
}

/// `infrastructure.ram_limit`: with 1200 MB hosts the t = 0 first fit is as with 4 GB (a and b,
/// 1000 MB, on h-0; c on h-1), but c's migration to h-0 needs 1500 MB there. With RAM limiting
/// every placement (`always`, the default) it is refused and nothing else happens; with
/// CloudSim's accounting (`at-start`: RAM limits only the placements at t = 0) it runs, and the
/// run is the hand-computed one of the 4 GB hosts, figure for figure.
#[test]
fn ram_limits_migrations_always_or_only_the_placements_at_the_start() {
    let (dir, text) = two_hosts_three_vms(
        "[[actions]]\nkind = \"migrate\"\nat_s = 100\nvm = \"vm.c\"\nto = \"h-0\"\n",
    );
    let small = text.replace("ram_mb = 4096", "ram_mb = 1200");
    let always = run(&small, dir.path());
    assert_eq!(always.summary.migrations, 0);
    assert_eq!(always.actions.len(), 1);
    assert_eq!(always.actions[0].outcome, "refused");
    assert!(
        always.actions[0].reason.contains("200 MB of RAM free"),
        "{}",
        always.actions[0].reason
    );
    let (_, without) = two_hosts_three_vms("");
    let quiet = run(
        &without.replace("ram_mb = 4096", "ram_mb = 1200"),
        dir.path(),
    );
    assert_eq!(always.summary.energy_kwh, quiet.summary.energy_kwh);

    let at_start = small.replace(
        "mode = \"virtualized\"",
        "mode = \"virtualized\"\nram_limit = \"at-start\"",
    );
    let cloudsim = run(&at_start, dir.path());
    let reference = run(&text, dir.path());
    assert_eq!(cloudsim.summary.migrations, 1);
    assert_eq!(cloudsim.actions[0].outcome, "done");
    assert_eq!(cloudsim.summary.energy_kwh, reference.summary.energy_kwh);
    assert_eq!(
        cloudsim.summary.datacenter.slatah,
        reference.summary.datacenter.slatah
    );
    assert_eq!(
        cloudsim.summary.datacenter.pdm,
        reference.summary.datacenter.pdm
    );

    // At t = 0 RAM limits both: 900 MB hosts take one 500 MB VM each, c stays unplaced and its
    // whole demand (600 units of 1000 for 200 s) is unmet.
    for text in [&text, &at_start.replace("ram_mb = 1200", "ram_mb = 4096")] {
        let tiny = text.replace("ram_mb = 4096", "ram_mb = 900");
        let s = run(&tiny, dir.path()).summary;
        close(
            "unmet demand with 900 MB hosts",
            s.datacenter.unmet_demand_core_hours,
            0.6 * 200.0 / 3600.0,
        );
    }
}

/// Places the VMs as first fit would; at its first instant after 0 moves `a` and `b` to h-1
/// and `c` to h-0, all at once, or with a refused power-on between each two (which ends the
/// batch in which the cluster rebalances each node once).
struct SwapHosts {
    interleave: bool,
}

impl reconf_api::Policy for SwapHosts {
    fn name(&self) -> &str {
        "test-swap-hosts"
    }
    fn decide(&mut self, view: &reconf_api::View) -> Vec<reconf_api::Action> {
        use reconf_api::{Action, NodeId, VmId};
        if view.now_s == 0.0 {
            return view
                .unplaced()
                .map(|v| Action::Place {
                    vm: v.id,
                    node: NodeId(u32::from(v.id.0 >= 2)),
                })
                .collect();
        }
        if view.now_s != 100.0 {
            return Vec::new();
        }
        let moves = [(0, 1), (2, 0), (1, 1)].map(|(v, n)| Action::Migrate {
            vm: VmId(v),
            to: NodeId(n),
        });
        let mut actions = Vec::new();
        for m in moves {
            actions.push(m);
            if self.interleave {
                actions.push(Action::PowerOn { node: NodeId(1) });
            }
        }
        actions
    }
}

/// The migrations a control instant asks for start as one batch, each node they touch
/// rebalanced once at the end: the run is the one of rebalancing at every start, figure for
/// figure (over-committed destinations, proportional shares, CloudSim's migration penalty).
#[test]
fn migrations_started_as_one_batch_give_the_run_of_starting_them_one_by_one() {
    let (dir, text) = two_hosts_three_vms("[policy]\nname = \"static\"\nperiod_s = 100\n");
    let loaded = load(&text, dir.path()).unwrap();
    let run_with = |interleave| {
        Simulation::from_loaded_with_policy(&loaded, Some(Box::new(SwapHosts { interleave }))).run()
    };
    let (batched, one_by_one) = (run_with(false), run_with(true));
    let migrations = |o: &RunOutput| {
        o.actions
            .iter()
            .filter(|a| a.kind == "migrate" && a.outcome == "done")
            .count()
    };
    assert_eq!((migrations(&batched), migrations(&one_by_one)), (3, 3));
    assert_eq!(batched.summary.migrations, 3);
    assert_eq!(
        batched.summary.energy_kwh.to_bits(),
        one_by_one.summary.energy_kwh.to_bits()
    );
    assert_eq!(
        format!("{:?}", batched.summary.datacenter),
        format!("{:?}", one_by_one.summary.datacenter)
    );
    assert!(batched.summary.datacenter.slatah > 0.0 && batched.summary.datacenter.pdm > 0.0);
    assert_eq!(batched.nodes, one_by_one.nodes);
    let slatah = |o: &RunOutput| o.timeseries.iter().map(|r| r.slatah).collect::<Vec<_>>();
    assert_eq!(slatah(&batched), slatah(&one_by_one));
}
