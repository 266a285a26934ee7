//! `reconf compare`: the regression gate.

use super::run::input_error;
use crate::compare::{self, parse_rule, Verdict};
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
    let lines = match compare::compare(&base, &cand, &rules, (&shown.0, &shown.1)) {
        Ok(l) => l,
        Err(e) => return input_error(&e),
    };
    print!("{}", compare::table(&lines));
    let regressions = lines
        .iter()
        .filter(|l| l.verdict == Verdict::Regression)
        .count();
    let noisy = lines
        .iter()
        .filter(|l| l.verdict == Verdict::WorseWithinNoise)
        .count();
    println!(
        "compare: {} checks, {regressions} regression(s), {noisy} worse within noise ({} vs {})",
        lines.len(),
        shown.1,
        shown.0
    );
    if regressions > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
