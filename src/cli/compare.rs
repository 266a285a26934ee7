//! `reconf compare`: the regression gate.

use super::run::input_error;
use crate::compare::{self, parse_rule, CompareOptions, Verdict};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug, Clone)]
pub struct CompareArgs {
    /// The reference: a summary.json, an aggregate.csv, or a run or sweep folder.
    #[arg(required_unless_present = "list")]
    pub baseline: Option<PathBuf>,
    /// What to judge, of the same kind as BASELINE.
    #[arg(required_unless_present = "list")]
    pub candidate: Option<PathBuf>,
    /// A metric to check: `KEY=TOLERANCE` (relative, 0.05 = 5%), `KEY` (its default
    /// tolerance), or `KEY:lower=TOL` / `KEY:higher=TOL` for a key with no known direction.
    /// Repeatable; without it every known metric is checked with its default tolerance.
    #[arg(long = "metric", value_name = "KEY=TOLERANCE")]
    pub metrics: Vec<String>,
    /// Print the known metrics, their direction and default tolerance, and exit.
    #[arg(long)]
    pub list: bool,
    /// Output: `text` (an aligned table) or `json` (a machine-readable verdict: `verdict`,
    /// counts, warnings and every line with its interval and method).
    #[arg(long, value_name = "text|json", default_value = "text")]
    pub format: Format,
    /// Show only the regressions (the summary line and the exit code are unchanged).
    #[arg(long = "failures-only")]
    pub failures_only: bool,
    /// Compare two single runs of different seeds anyway (refused by default: they differ by
    /// noise alone).
    #[arg(long = "allow-different-seeds")]
    pub allow_different_seeds: bool,
}

/// `--format`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

pub fn compare(args: &CompareArgs) -> ExitCode {
    if args.list {
        print!("{}", compare::metric_list());
        return ExitCode::SUCCESS;
    }
    let (Some(b), Some(c)) = (&args.baseline, &args.candidate) else {
        eprintln!("error: give BASELINE and CANDIDATE");
        return ExitCode::from(2);
    };
    let mut rules = Vec::new();
    for m in &args.metrics {
        match parse_rule(m) {
            Ok(r) => rules.push(r),
            Err(e) => return input_error(&e),
        }
    }
    let load = |p: &PathBuf| compare::read_input(p);
    let (base, cand) = match (load(b), load(c)) {
        (Ok(x), Ok(y)) => (x, y),
        (Err(e), _) | (_, Err(e)) => return input_error(&e),
    };
    let shown = (b.display().to_string(), c.display().to_string());
    let opts = CompareOptions {
        allow_different_seeds: args.allow_different_seeds,
    };
    let result = match compare::compare(&base, &cand, &rules, (&shown.0, &shown.1), &opts) {
        Ok(l) => l,
        Err(e) => return input_error(&e),
    };
    let (regressions, noisy) = compare::counts(&result.lines);
    match args.format {
        Format::Json => print!(
            "{}",
            compare::json_report(&result, (&shown.0, &shown.1), args.failures_only)
        ),
        Format::Text => {
            for w in &result.warnings {
                eprintln!("{w}");
            }
            let shown_lines: Vec<compare::Line> = result
                .lines
                .iter()
                .filter(|l| !args.failures_only || l.verdict == Verdict::Regression)
                .cloned()
                .collect();
            if !shown_lines.is_empty() {
                print!("{}", compare::table(&shown_lines));
            }
            println!(
                "compare: {} checks, {regressions} regression(s), {noisy} worse within noise ({} vs {})",
                result.lines.len(),
                shown.1,
                shown.0
            );
        }
    }
    if regressions > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
