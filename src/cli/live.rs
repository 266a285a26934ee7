//! `reconf live`: the scenario's policy against real hosts through libvirt.

use super::ScenarioArgs;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `reconf live`.
#[derive(clap::Args, Debug)]
pub struct LiveArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
    /// A host, as a libvirt URI (`qemu:///system`, `qemu+ssh://root@host2/system`,
    /// `test:///default`); repeat for each node, in order: node k is the k-th --uri.
    #[arg(long = "uri", value_name = "URI", required = true)]
    pub uris: Vec<String>,
    /// Output folder: summary.json, timeseries.csv, nodes.csv, actions.csv, scenario.toml
    /// (rewritten after every control period, so an interrupted run keeps its files).
    #[arg(long, value_name = "DIR", default_value = "out/live")]
    pub out: PathBuf,
    /// Print the policy's actions instead of carrying them out (they are recorded as refused,
    /// "dry run: not carried out").
    #[arg(long)]
    pub dry_run: bool,
    /// How long to run, in seconds of wall-clock time (default: the scenario's `duration_s`).
    #[arg(long, value_name = "S")]
    pub duration_s: Option<f64>,
}

#[cfg(not(feature = "libvirt"))]
pub fn live(_args: &LiveArgs) -> ExitCode {
    eprintln!("error: reconf was built without libvirt support; rebuild with --features libvirt");
    ExitCode::from(2)
}

#[cfg(feature = "libvirt")]
/// The first two hosts with one UUID (one daemon given twice: its capacity would count
/// twice, and its VMs would seem to run on two nodes): (earlier, later, uuid).
pub fn same_host(uuids: &[Option<String>]) -> Option<(usize, usize, String)> {
    for (j, b) in uuids.iter().enumerate() {
        for (i, a) in uuids[..j].iter().enumerate() {
            if let (Some(a), Some(b)) = (a, b) {
                if a == b {
                    return Some((i, j, a.clone()));
                }
            }
        }
    }
    None
}

#[cfg(feature = "libvirt")]
/// Removes the temporaries a killed run left in `out` (`.<file>.<pid>.tmp`, see
/// `report::atomic`): a rerun into the same folder leaves only whole files behind.
fn remove_stale_temporaries(out: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(out) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let ours = [
            "scenario.toml",
            "timeseries.csv",
            "nodes.csv",
            "actions.csv",
            "summary.json",
        ]
        .iter()
        .any(|f| name.starts_with(&format!(".{f}.")) && name.ends_with(".tmp"));
        if ours {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

#[cfg(feature = "libvirt")]
/// Writes a run's files after every period; when the disk is full (or the folder not
/// writable) it says so once, goes on, and retries at the next period (the atomic writes leave
/// no temporary behind, and the previous files stay whole).
struct Checkpoints<'a> {
    out: &'a std::path::Path,
    resolved: &'a str,
    failing: bool,
}

#[cfg(feature = "libvirt")]
impl Checkpoints<'_> {
    fn write(&mut self, o: &crate::report::RunOutput) -> std::io::Result<()> {
        match o.write_to(self.out, self.resolved) {
            Ok(()) => {
                if self.failing {
                    eprintln!("results written again to {}", self.out.display());
                    self.failing = false;
                }
                Ok(())
            }
            Err(e) => {
                if !self.failing {
                    eprintln!(
                        "warning: cannot write results to {}: {e}; the run goes on and retries after every period",
                        self.out.display()
                    );
                    self.failing = true;
                }
                Err(e)
            }
        }
    }
}

#[cfg(feature = "libvirt")]
pub fn live(args: &LiveArgs) -> ExitCode {
    use super::run::input_error;
    use crate::live::interrupt;
    use crate::live::run::{config_from_scenario, LiveRun};
    use crate::live::virt::{uri_label, Libvirt};
    use crate::live::{Backend, Clock};
    use crate::scenario::load::load;
    use std::sync::Arc;
    use std::time::Duration;

    let loaded = match load(&args.scenario.scenario, &args.scenario.sets) {
        Ok(l) => l,
        Err(e) => return input_error(&e),
    };
    let sc = &loaded.scenario;
    let shown = args.scenario.scenario.display().to_string();
    let duration_s = args.duration_s.unwrap_or(sc.duration_s);
    if !(duration_s > 0.0 && duration_s.is_finite()) {
        eprintln!("error: --duration-s: must be a positive number of seconds, got {duration_s}");
        return ExitCode::from(2);
    }
    let base = args
        .scenario
        .scenario
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default();
    let mut cfg = match config_from_scenario(sc, &shown, &base, args.uris.len(), args.dry_run) {
        Ok(c) => c,
        Err(e) => return input_error(&e),
    };
    let mut policy = match &sc.policy {
        Some(p) => {
            // The first policy's seed is the scenario's, as before composition; composed ones
            // get the next seeds.
            let seed = |i: usize| sc.seed.wrapping_add(i as u64);
            match crate::scenario::validate::build_policy(p, &seed) {
                Ok(p) => Some(p),
                Err(e) => {
                    eprintln!("error: {shown}: field `{}`: {}", e.path, e.message);
                    return ExitCode::from(2);
                }
            }
        }
        None => None,
    };
    let period_s = sc
        .policy
        .as_ref()
        .map_or(sc.report_interval_s, |p| p.period_s);
    // From now on a signal ends the run cleanly instead of killing the process.
    let interrupt = match interrupt::catch() {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: cannot catch SIGINT and SIGTERM: {e}");
            return ExitCode::from(1);
        }
    };
    let hv = match Libvirt::connect(&args.uris, cfg.call_timeout) {
        Ok(h) => h,
        Err((i, e)) => {
            eprintln!(
                "error: cannot connect to --uri {} (node {i}): {e}",
                uri_label(&args.uris[i])
            );
            return ExitCode::from(1);
        }
    };
    if let Some((i, j, uuid)) = same_host(hv.host_uuids()) {
        eprintln!(
            "error: --uri {} (node {j}) and --uri {} (node {i}) are the same host (host UUID {uuid}): give each host once",
            uri_label(&args.uris[j]),
            uri_label(&args.uris[i])
        );
        return ExitCode::from(2);
    }
    remove_stale_temporaries(&args.out);
    // Each view waits for the hosts at most half a period: the loop keeps its period.
    cfg.poll_wait = Duration::from_secs_f64(period_s / 2.0).min(cfg.call_timeout);
    let mut backend = Backend::new(Arc::new(hv), cfg, Clock::wall());
    let run = LiveRun {
        scenario_name: sc.name.clone(),
        seed: sc.seed,
        period: Duration::from_secs_f64(period_s),
        duration: Duration::from_secs_f64(duration_s),
        drain_limit: Duration::from_secs(120),
        scripted: sc.actions.clone(),
        interrupt: interrupt.clone(),
    };
    let resolved = loaded.resolved_toml();
    eprintln!(
        "{}: {} on {} host(s), every {period_s} s for {duration_s} s{}",
        sc.name,
        sc.policy
            .as_ref()
            .map_or("monitoring only", |p| p.name.as_str()),
        args.uris.len(),
        if args.dry_run { " (dry run)" } else { "" }
    );
    let mut files = Checkpoints {
        out: &args.out,
        resolved: &resolved,
        failing: false,
    };
    let output = run.run(&mut backend, policy.as_mut(), |o| {
        let _ = files.write(o);
    });
    if let Some(s) = interrupt.signal() {
        eprintln!("interrupted (signal {s}): migrations in flight aborted, final files written");
    }
    // The final files: retried for a while (a disk that frees up in time still gets them).
    let mut written = files.write(&output);
    for _ in 0..10 {
        if written.is_ok() || interrupt.count() > 1 {
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
        written = files.write(&output);
    }
    if let Err(e) = written {
        eprintln!(
            "error: cannot write the final results to {}: {e}",
            args.out.display()
        );
        return ExitCode::from(1);
    }
    let s = &output.summary;
    eprintln!(
        "  {} migration(s) in {:.1} s, {} replica(s) started, {} stopped, {} action(s) refused, {} failed",
        s.migrations, s.migration_time_s, s.replicas_started, s.replicas_stopped,
        s.actions_refused, s.actions_failed
    );
    eprintln!(
        "  {} failure(s) noticed, {} replica(s) back after one",
        s.faults.failures.unwrap_or(0),
        s.faults.repairs.unwrap_or(0)
    );
    eprintln!("  results in {}", args.out.display());
    match interrupt.exit_code() {
        Some(code) => ExitCode::from(code),
        None => ExitCode::SUCCESS,
    }
}
