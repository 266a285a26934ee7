//! `reconf live`: the scenario's policy against real hosts through libvirt (the run itself is
//! `live::launch`, which the Python package calls too).

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
    use crate::live::launch::{launch, LiveRequest};
    use crate::scenario::load::load;

    let loaded = match load(&args.scenario.scenario, &args.scenario.sets) {
        Ok(l) => l,
        Err(e) => return super::run::input_error(&e),
    };
    let shown = args.scenario.scenario.display().to_string();
    let base = args
        .scenario
        .scenario
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default();
    let req = LiveRequest {
        loaded: &loaded,
        shown: &shown,
        base_dir: &base,
        uris: &args.uris,
        out: &args.out,
        dry_run: args.dry_run,
        duration_s: args.duration_s,
    };
    match launch(&req, None, None) {
        Ok(finished) => match finished.interrupt.exit_code() {
            Some(code) => ExitCode::from(code),
            None => ExitCode::SUCCESS,
        },
        Err(e) => {
            eprintln!("error: {}", e.message);
            ExitCode::from(e.code)
        }
    }
}
