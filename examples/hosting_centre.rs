//! Runs the hosting-centre benchmark once (100 applications, 500 VMs, 200 nodes, 20,000
//! clients, one hour), for profiling and for measuring memory with `/usr/bin/time -v`:
//! `cargo run --release --example hosting_centre`.

#[path = "../benches/common/mod.rs"]
mod common;

fn main() {
    let which = std::env::args().nth(1).unwrap_or_default();
    let loaded = if which == "one-app" {
        common::cluster(1, [10, 25, 15], 20, 2000, 3600.0, 60.0)
    } else {
        common::cluster(100, [1, 2, 2], 200, 200, 3600.0, 0.0)
    };
    let out = reconf::sim::Simulation::from_loaded(&loaded).run();
    let s = &out.summary;
    println!(
        "{} events in {:.2} s ({:.2} M events/s), {} requests, {} migrations",
        s.events,
        s.wall_seconds,
        s.events_per_s / 1e6,
        s.users.requests_completed,
        s.migrations
    );
}
