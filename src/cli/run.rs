//! `reconf run` and `reconf validate`.

use super::ScenarioArgs;
use crate::scenario::load::{load, Loaded};
use crate::scenario::InputError;
use crate::sim::Simulation;
use std::path::Path;
use std::process::ExitCode;

/// Bad input: one line on stderr, exit code 2.
pub fn input_error(e: &InputError) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(2)
}

fn load_args(args: &ScenarioArgs, seed: Option<u64>) -> Result<Loaded, InputError> {
    crate::scenario::budget::set_limit_mb(args.max_memory_mb);
    let mut sets = args.sets.clone();
    if let Some(seed) = seed {
        sets.push(format!("seed={seed}"));
    }
    load(&args.scenario, &sets)
}

pub fn validate(args: &ScenarioArgs) -> ExitCode {
    match load_args(args, None) {
        Ok(l) => {
            let (bytes, _) = crate::scenario::budget::estimate(&l.scenario);
            println!(
                "{}: valid ({} app(s), {} s simulated, about {:.0} MB of memory)",
                args.scenario.display(),
                l.scenario.apps.len(),
                l.scenario.duration_s,
                bytes / 1e6
            );
            ExitCode::SUCCESS
        }
        Err(e) => input_error(&e),
    }
}

pub fn run(args: &ScenarioArgs, seed: Option<u64>, out: &Path) -> ExitCode {
    let loaded = match load_args(args, seed) {
        Ok(l) => l,
        Err(e) => return input_error(&e),
    };
    // Refuse an --out that a run must not replace before spending the run's time.
    if let Err(e) = crate::report::output::check_run_folder(out) {
        return input_error(&InputError::new("--out", e.to_string()));
    }
    let output = match run_with_progress(Simulation::from_loaded(&loaded)) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {}: {e}", args.scenario.display());
            return ExitCode::from(1);
        }
    };
    if let Err(e) = output.write_to(out, &loaded.resolved_toml()) {
        eprintln!("error: cannot write results to {}: {e}", out.display());
        return ExitCode::from(1);
    }
    let s = &output.summary;
    eprintln!(
        "{}: seed {}, {:.0} s simulated in {:.2} s ({} events, {:.2} M events/s)",
        s.scenario,
        s.seed,
        s.sim_seconds,
        s.wall_seconds,
        s.events,
        s.events_per_s / 1e6
    );
    let line = |who: &str, u: &crate::report::UserFigures| {
        eprintln!(
            "  {who}{} requests completed, {} failed, {:.1} req/s; response mean {:.1} ms, \
p95 {:.1} ms, p99 {:.1} ms; SLA violations {:.2}%",
            u.requests_completed,
            u.requests_failed,
            u.throughput_rps,
            u.mean_response_ms,
            u.p95_response_ms,
            u.p99_response_ms,
            100.0 * u.sla_violation_fraction
        )
    };
    if !loaded.scenario.apps.is_empty() {
        line(if s.apps.len() > 1 { "all: " } else { "" }, &s.users);
    }
    if !loaded.scenario.vms.is_empty() {
        let d = &s.datacenter;
        eprintln!(
            "  energy {:.2} kWh, {} migrations, SLATAH {:.3e}, PDM {:.3e}, SLAV {:.3e}, ESV {:.3e}, \
             {} host shutdowns, {} VMs ended, unmet demand {:.1} core-hours",
            s.energy_kwh,
            s.migrations,
            d.slatah,
            d.pdm,
            d.slav,
            d.esv,
            d.host_shutdowns,
            d.vms_ended,
            d.unmet_demand_core_hours
        );
    }
    if s.apps.len() > 1 {
        for (name, u) in &s.apps {
            line(&format!("{name}: "), u);
        }
    }
    eprintln!("  results in {}", out.display());
    ExitCode::SUCCESS
}

/// Runs `sim`, with a progress bar in simulated time when standard error is a terminal (a
/// datacenter day at scale takes seconds); the outputs do not depend on it.
fn run_with_progress(sim: Simulation) -> Result<crate::report::RunOutput, crate::sim::Stalled> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return sim.try_run();
    }
    let bar = indicatif::ProgressBar::new(1000);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {percent}% of simulated time (eta {eta})",
        )
        .expect("static template"),
    );
    let out = sim.try_run_with_progress(200, |f| bar.set_position((f * 1000.0) as u64));
    bar.finish_and_clear();
    out
}
