//! Scenario generators for the benchmarks: large virtualized clusters described in code rather
//! than in thousands of lines of TOML.
#![allow(dead_code)]

use reconf::scenario::load::{load_str, Loaded};
use std::fmt::Write as _;
use std::path::Path;

/// One RUBiS application per `apps`, each with `web`/`app`/`db` VMs spread round-robin over
/// `nodes` nodes, `clients_per_app` constant clients, `duration_s` simulated seconds, and a
/// live migration every `migrate_every_s` seconds (0: none), cycling over the VMs.
pub fn cluster(
    apps: usize,
    replicas: [u32; 3],
    nodes: usize,
    clients_per_app: u32,
    duration_s: f64,
    migrate_every_s: f64,
) -> Loaded {
    let mut s = String::new();
    writeln!(
        s,
        r#"name = "bench"
duration_s = {duration_s}
report_interval_s = 60
[sla]
request_timeout_s = 30
[infrastructure]
mode = "virtualized"
host_reserved_ram_mb = 1024
hypervisor_overhead = 0.05
[[infrastructure.nodes]]
name = "node"
count = {nodes}
cores = 8
ram_mb = 16384
nic_mbps = 1000
"#
    )
    .unwrap();
    let mut next_node = 0usize;
    let mut vm_names = Vec::new();
    for a in 0..apps {
        writeln!(
            s,
            r#"[[apps]]
name = "app{a}"
[apps.clients]
mix = "bidding"
profile = {{ kind = "constant", value = {clients_per_app} }}"#
        )
        .unwrap();
        for (tier, (name, demand_ms, cores)) in [("web", 1.0, 1), ("app", 10.0, 2), ("db", 3.0, 2)]
            .iter()
            .enumerate()
        {
            let n = replicas[tier];
            let placement: Vec<String> = (0..n)
                .map(|_| {
                    let p = format!("\"node-{}\"", next_node % nodes);
                    next_node += 1;
                    p
                })
                .collect();
            for k in 0..n {
                vm_names.push(format!("app{a}.{name}.{k}"));
            }
            writeln!(
                s,
                r#"[[apps.tiers]]
name = "{name}"
replicas = {n}
cores = {cores}
vm_ram_mb = 512
dirty_mb_per_s = 5
dirty_mb_per_cpu_s = 30
balancer = "{balancer}"
placement = [{placement}]
demand = {{ dist = "exponential", mean_ms = {demand_ms} }}"#,
                balancer = if *name == "app" {
                    "sticky"
                } else {
                    "round-robin"
                },
                placement = placement.join(", ")
            )
            .unwrap();
        }
    }
    if migrate_every_s > 0.0 {
        let mut t = migrate_every_s;
        let mut i = 0;
        while t < duration_s {
            let vm = &vm_names[i % vm_names.len()];
            // Move each VM a few nodes along: destinations differ from sources.
            let to = (i * 7 + 3) % nodes;
            writeln!(
                s,
                "[[actions]]\nkind = \"migrate\"\nat_s = {t}\nvm = \"{vm}\"\nto = \"node-{to}\""
            )
            .unwrap();
            t += migrate_every_s;
            i += 1;
        }
    }
    load_str(&s, "bench.toml", Path::new("."), &[]).expect("generated scenario loads")
}
