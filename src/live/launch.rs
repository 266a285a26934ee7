//! One live run from a loaded scenario: connect the hosts, run the control loop, write the run
//! folder after every period and at the end. `reconf live` and the Python package's
//! `reconf.live` both call [`launch`]; they differ only in where the policy comes from (the
//! scenario's, or one given as a value) and in who notes the interruptions.

use super::interrupt::{self, Interrupt};
use super::run::{config_from_scenario, LiveRun};
use super::virt::{uri_label, Libvirt};
use super::{Backend, Clock};
use crate::report::RunOutput;
use crate::scenario::load::Loaded;
use reconf_api::Policy;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// What to run, beyond the policy.
pub struct LiveRequest<'a> {
    pub loaded: &'a Loaded,
    /// How messages name the scenario (its path).
    pub shown: &'a str,
    /// Where the scenario's relative file names (`live.templates`) start from.
    pub base_dir: &'a Path,
    /// One libvirt URI per node, in order.
    pub uris: &'a [String],
    /// The run folder, rewritten after every control period.
    pub out: &'a Path,
    /// Record the policy's actions as refused ("dry run: not carried out") instead of carrying
    /// them out.
    pub dry_run: bool,
    /// Wall-clock seconds to run (default: the scenario's `duration_s`).
    pub duration_s: Option<f64>,
}

/// Why a live run could not start or finish: `message` is the one line the CLI prints after
/// `error: `, `code` its exit code (2: bad input; 1: a host that does not answer, a run folder
/// that cannot be written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveFailure {
    pub code: u8,
    pub message: String,
}

impl LiveFailure {
    fn input(message: impl Into<String>) -> Self {
        LiveFailure {
            code: 2,
            message: message.into(),
        }
    }
    fn runtime(message: impl Into<String>) -> Self {
        LiveFailure {
            code: 1,
            message: message.into(),
        }
    }
}

/// A finished live run: its output (also written to the run folder) and the interruptions
/// it saw (a run ended by SIGINT exits 130).
pub struct Finished {
    pub output: RunOutput,
    pub interrupt: Arc<Interrupt>,
}

/// Runs `req` with `policy` in place of the scenario's (`None`: the scenario's own, or none to
/// only monitor). `interrupt`: the caller notes in it what ends the run early (the Python
/// package: Ctrl-C, a policy that raised); `None` catches SIGINT and SIGTERM from the moment
/// the hosts are connected (the CLI). Prints its progress on stderr.
pub fn launch(
    req: &LiveRequest<'_>,
    policy: Option<Box<dyn Policy>>,
    interrupt: Option<Arc<Interrupt>>,
) -> Result<Finished, LiveFailure> {
    let sc = &req.loaded.scenario;
    let shown = req.shown;
    let duration_s = req.duration_s.unwrap_or(sc.duration_s);
    if !(duration_s > 0.0 && duration_s.is_finite()) {
        return Err(LiveFailure::input(format!(
            "--duration-s: must be a positive number of seconds, got {duration_s}"
        )));
    }
    // The scenario's text, to point at the line of a field only known bad here.
    let src = std::fs::read_to_string(shown).unwrap_or_default();
    let mut cfg = config_from_scenario(sc, &src, shown, req.base_dir, req.uris.len(), req.dry_run)
        .map_err(|e| LiveFailure::input(e.to_string()))?;
    let policy = match policy {
        Some(p) => Some(p),
        None => match &sc.policy {
            Some(p) => {
                // The first policy's seed is the scenario's, as before composition; composed
                // ones get the next seeds.
                let seed = |i: usize| sc.seed.wrapping_add(i as u64);
                Some(
                    crate::scenario::validate::build_policy(p, &seed).map_err(|e| {
                        LiveFailure::input(format!("{shown}: field `{}`: {}", e.path, e.message))
                    })?,
                )
            }
            None => None,
        },
    };
    let period_s = sc
        .policy
        .as_ref()
        .map_or(sc.report_interval_s, |p| p.period_s);
    // From now on a signal ends the run cleanly instead of killing the process.
    let interrupt = match interrupt {
        Some(i) => i,
        None => interrupt::catch()
            .map_err(|e| LiveFailure::runtime(format!("cannot catch SIGINT and SIGTERM: {e}")))?,
    };
    let hv = Libvirt::connect(req.uris, cfg.call_timeout).map_err(|(i, e)| {
        LiveFailure::runtime(format!(
            "cannot connect to --uri {} (node {i}): {e}",
            uri_label(&req.uris[i])
        ))
    })?;
    if let Some((i, j, uuid)) = same_host(hv.host_uuids()) {
        return Err(LiveFailure::input(format!(
            "--uri {} (node {j}) and --uri {} (node {i}) are the same host (host UUID {uuid}): give each host once",
            uri_label(&req.uris[j]),
            uri_label(&req.uris[i])
        )));
    }
    remove_stale_temporaries(req.out);
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
    let resolved = req.loaded.resolved_toml();
    eprintln!(
        "{}: {} on {} host(s), every {period_s} s for {duration_s} s{}",
        sc.name,
        policy.as_ref().map_or("monitoring only", |p| p.name()),
        req.uris.len(),
        if req.dry_run { " (dry run)" } else { "" }
    );
    let mut files = Checkpoints {
        out: req.out,
        resolved: &resolved,
        failing: false,
    };
    let mut policy = policy;
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
        return Err(LiveFailure::runtime(format!(
            "cannot write the final results to {}: {e}",
            req.out.display()
        )));
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
    if s.energy_kwh > 0.0 {
        eprintln!(
            "  {:.6} kWh estimated from the [live] power models",
            s.energy_kwh
        );
    }
    eprintln!("  results in {}", req.out.display());
    Ok(Finished { output, interrupt })
}

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

/// Removes the temporaries a killed run left in `out` (`.<file>.<pid>.tmp`, see
/// `report::atomic`): a rerun into the same folder leaves only whole files behind.
fn remove_stale_temporaries(out: &Path) {
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

/// Writes a run's files after every period; when the disk is full (or the folder not
/// writable) it says so once, goes on, and retries at the next period (the atomic writes leave
/// no temporary behind, and the previous files stay whole).
struct Checkpoints<'a> {
    out: &'a Path,
    resolved: &'a str,
    failing: bool,
}

impl Checkpoints<'_> {
    fn write(&mut self, o: &RunOutput) -> std::io::Result<()> {
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
