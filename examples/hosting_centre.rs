//! Runs the hosting-centre benchmark once (100 applications, 500 VMs, 200 nodes, 20,000
//! clients, one hour), for profiling and for measuring memory with `/usr/bin/time -v`:
//! `cargo run --release --example hosting_centre [full|one-app] [duration_s]` (the full
//! benchmark for one hour by default; a shorter run suits instruction-counting profilers).

#[path = "../benches/common/mod.rs"]
mod common;

fn main() {
    let which = std::env::args().nth(1).unwrap_or_default();
    let duration_s: f64 = match std::env::args().nth(2) {
        None => 3600.0,
        Some(d) => d.parse().unwrap_or_else(|_| {
            eprintln!("error: duration_s: expected a number of seconds, found {d:?}");
            std::process::exit(2)
        }),
    };
    let loaded = if which == "one-app" {
        common::cluster(1, [10, 25, 15], 20, 2000, duration_s, 60.0)
    } else {
        common::cluster(100, [1, 2, 2], 200, 200, duration_s, 0.0)
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
