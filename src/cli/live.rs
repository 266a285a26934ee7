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
pub fn live(args: &LiveArgs) -> ExitCode {
    use super::run::input_error;
    use crate::live::run::{config_from_scenario, LiveRun};
    use crate::live::virt::{uri_label, Libvirt};
    use crate::live::Backend;
    use crate::scenario::load::load;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

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
    let cfg = match config_from_scenario(sc, &shown, &base, args.uris.len(), args.dry_run) {
        Ok(c) => c,
        Err(e) => return input_error(&e),
    };
    let mut policy = match &sc.policy {
        Some(p) => {
            let params = crate::scenario::validate::policy_params(p);
            match reconf_policies::build(&p.name, &params) {
                Ok(p) => Some(p),
                Err(e) => {
                    eprintln!("error: {shown}: field `policy.{}`: {}", e.field, e.message);
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
    let hv = match Libvirt::connect(&args.uris) {
        Ok(h) => h,
        Err((i, e)) => {
            eprintln!(
                "error: cannot connect to --uri {} (node {i}): {e}",
                uri_label(&args.uris[i])
            );
            return ExitCode::from(1);
        }
    };
    let epoch = Instant::now();
    let mut backend = Backend::new(Arc::new(hv), cfg, epoch);
    let run = LiveRun {
        scenario_name: sc.name.clone(),
        seed: sc.seed,
        period: Duration::from_secs_f64(period_s),
        duration: Duration::from_secs_f64(duration_s),
        drain_limit: Duration::from_secs(120),
    };
    let resolved = loaded.resolved_toml();
    let mut write_error = None;
    eprintln!(
        "{}: {} on {} host(s), every {period_s} s for {duration_s} s{}",
        sc.name,
        sc.policy
            .as_ref()
            .map_or("monitoring only", |p| p.name.as_str()),
        args.uris.len(),
        if args.dry_run { " (dry run)" } else { "" }
    );
    let output = run.run(&mut backend, policy.as_mut(), epoch, |o| {
        if let Err(e) = o.write_to(&args.out, &resolved) {
            write_error.get_or_insert(e.to_string());
        }
    });
    if let Err(e) = output.write_to(&args.out, &resolved) {
        eprintln!("error: cannot write results to {}: {e}", args.out.display());
        return ExitCode::from(1);
    }
    if let Some(e) = write_error {
        eprintln!("warning: a checkpoint could not be written ({e}); the final files were");
    }
    let s = &output.summary;
    eprintln!(
        "  {} migration(s) in {:.1} s, {} replica(s) started, {} stopped, {} action(s) refused, {} failed",
        s.migrations, s.migration_time_s, s.replicas_started, s.replicas_stopped,
        s.actions_refused, s.actions_failed
    );
    eprintln!("  results in {}", args.out.display());
    ExitCode::SUCCESS
}
