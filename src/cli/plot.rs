//! `reconf plot`: figures of a run or a sweep folder.

use super::run::input_error;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug, Clone)]
pub struct PlotArgs {
    /// A run folder (summary.json, timeseries.csv, ...) or a sweep folder (aggregate.csv, ...).
    pub dir: PathBuf,
    /// Where the figures go [default: DIR/figures].
    #[arg(long, value_name = "FOLDER")]
    pub out: Option<PathBuf>,
    /// For sweeps, the metrics to draw (summary keys) [default: response times, throughput,
    /// SLA violations, lost sessions, node-hours, energy].
    #[arg(long = "metric", value_name = "KEY")]
    pub metrics: Vec<String>,
    /// Value axes: `auto` is logarithmic for bars and sweep curves whose positive values span
    /// more than two decades, `log` wherever the values are all positive (time series of
    /// response times included), `linear` everywhere.
    #[arg(long, value_enum, default_value_t = crate::plot::ScaleChoice::Auto)]
    pub scale: crate::plot::ScaleChoice,
}

pub fn plot(args: &PlotArgs) -> ExitCode {
    let out = args.out.clone().unwrap_or_else(|| args.dir.join("figures"));
    let opts = crate::plot::PlotOptions {
        metrics: args.metrics.clone(),
        scale: args.scale,
    };
    match crate::plot::plot_dir(&args.dir, &out, &opts) {
        Ok(files) => {
            eprintln!(
                "plot: {} figures (SVG and PNG) in {}",
                files.len() / 2,
                out.display()
            );
            ExitCode::SUCCESS
        }
        Err(crate::plot::PlotError::Input(e)) => input_error(&e),
        Err(crate::plot::PlotError::Io(e)) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
