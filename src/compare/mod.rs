//! The regression gate (`reconf compare`): is a candidate worse than a baseline?
//!
//! Inputs are two `summary.json` (single runs) or two sweeps (their `aggregate.csv`, and the
//! `runs.csv` beside it; configurations are matched by their scenario and axis values). Each
//! checked metric has a direction (lower or higher is better, [`METRICS`]) and a relative
//! tolerance.
//!
//! - Summaries: a metric regresses when it is worse by more than `tolerance × |baseline|`.
//!   Runs are deterministic, so any difference is a real change of behaviour; two single runs
//!   of different seeds are refused (they differ by noise alone).
//! - Sweeps: the seeds of both sides are common random numbers, so the comparison is paired:
//!   per seed, `candidate − baseline`, and the 95% confidence interval of the mean difference
//!   (Student t on the differences). An unchanged candidate gives a zero difference on every seed,
//!   hence a zero-width interval; a real shift shows even when it is small next to the spread
//!   between seeds. Without `runs.csv` on both sides, or with no common seed, the comparison
//!   falls back to Welch's interval from each side's n, mean and sd (and says so). A metric
//!   regresses only when the whole interval lies on the worse side beyond `tolerance × |baseline
//!   mean|`; a change within the noise is reported ("worse, within noise") but does not fail.

use crate::batch::collect::STAT_SUFFIXES;
use crate::batch::files::numeric_keys;
use crate::batch::stats::{welch_diff_ci95, Welford};
use crate::report::output::UNCOMPARED_KEYS;
use crate::scenario::InputError;
use serde::Serialize;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Which way is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Lower,
    Higher,
}

impl Direction {
    pub fn name(self) -> &'static str {
        match self {
            Direction::Lower => "lower",
            Direction::Higher => "higher",
        }
    }
}

/// The metrics with a direction, and their default relative tolerance. Keys not listed (event
/// counts, seeds, utilisations, numbers of migrations or replica starts) have no "better" side
/// and are checked only when `--metric KEY:lower=TOL` or `KEY:higher=TOL` gives one.
pub const METRICS: &[(&str, Direction, f64)] = &[
    ("mean_response_ms", Direction::Lower, 0.05),
    ("p50_response_ms", Direction::Lower, 0.05),
    ("p95_response_ms", Direction::Lower, 0.05),
    ("p99_response_ms", Direction::Lower, 0.05),
    ("max_response_ms", Direction::Lower, 0.10),
    ("sla_violation_fraction", Direction::Lower, 0.05),
    ("requests_failed", Direction::Lower, 0.05),
    ("sessions_lost", Direction::Lower, 0.05),
    ("migration_downtime_s", Direction::Lower, 0.10),
    ("migration_time_s", Direction::Lower, 0.10),
    ("migration_mb", Direction::Lower, 0.10),
    ("actions_failed", Direction::Lower, 0.0),
    ("actions_refused", Direction::Lower, 0.0),
    ("node_hours", Direction::Lower, 0.02),
    ("energy_kwh", Direction::Lower, 0.02),
    ("throughput_rps", Direction::Higher, 0.02),
    ("requests_completed", Direction::Higher, 0.02),
    ("sessions_completed", Direction::Higher, 0.02),
    // Aggregates only: runs of a configuration that failed.
    ("runs_failed", Direction::Lower, 0.0),
];

/// One metric to check.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub key: String,
    pub direction: Direction,
    pub tolerance: f64,
    /// Given with `--metric` (then it must be present), rather than a default.
    pub explicit: bool,
}

/// Parses `--metric KEY[:lower|:higher][=TOLERANCE]`.
pub fn parse_rule(arg: &str) -> Result<Rule, InputError> {
    let err = |m: String| InputError::new(format!("--metric {arg}"), m);
    let (name, tol) = match arg.split_once('=') {
        Some((n, t)) => (n.trim(), Some(t.trim())),
        None => (arg.trim(), None),
    };
    let (key, dir) = match name.rsplit_once(':') {
        Some((k, "lower")) => (k, Some(Direction::Lower)),
        Some((k, "higher")) => (k, Some(Direction::Higher)),
        Some((_, d)) => {
            return Err(err(format!(
                "direction `{d}`: expected `lower` or `higher`"
            )))
        }
        None => (name, None),
    };
    let known = METRICS.iter().find(|(k, _, _)| *k == key);
    let direction = match (dir, known) {
        (Some(d), _) => d,
        (None, Some((_, d, _))) => *d,
        (None, None) => {
            return Err(err(format!(
                "unknown metric `{key}` (no direction); give one as `{key}:lower=TOL` or \
`{key}:higher=TOL`, or use a known metric: {}",
                METRICS.iter().map(|m| m.0).collect::<Vec<_>>().join(", ")
            )))
        }
    };
    let tolerance = match tol {
        Some(t) => t
            .parse::<f64>()
            .ok()
            .filter(|t| t.is_finite() && *t >= 0.0)
            .ok_or_else(|| {
                err(format!(
                    "tolerance `{t}`: expected a relative tolerance >= 0, e.g. 0.05 for 5%"
                ))
            })?,
        None => known.map(|m| m.2).unwrap_or(0.0),
    };
    Ok(Rule {
        key: key.to_string(),
        direction,
        tolerance,
        explicit: true,
    })
}

/// The default rules: every metric of the table.
pub fn default_rules() -> Vec<Rule> {
    METRICS
        .iter()
        .map(|&(k, d, t)| Rule {
            key: k.to_string(),
            direction: d,
            tolerance: t,
            explicit: false,
        })
        .collect()
}

/// One side's estimate of a metric: size, mean and sample sd (n = 1, sd NaN for a summary).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    pub n: u64,
    pub mean: f64,
    pub sd: f64,
}

/// One configuration of one input: its label and metric estimates.
#[derive(Clone, Debug, Default)]
pub struct Side {
    pub label: String,
    pub values: HashMap<String, Estimate>,
}

/// Per seed, a configuration's metric values (from `runs.csv`).
pub type PerSeed = HashMap<u64, HashMap<String, f64>>;

/// A loaded input file.
#[derive(Clone, Debug)]
pub enum Input {
    /// A single run and its seed.
    Summary(Side, Option<u64>),
    /// Key columns (scenario and axes) and one side per configuration, keyed by their values;
    /// with the sweep's `runs.csv`, each configuration's values per seed.
    Aggregate {
        key_columns: Vec<String>,
        rows: Vec<(Vec<String>, Side)>,
        runs: Option<HashMap<Vec<String>, PerSeed>>,
    },
}

/// The file to read for `path`: itself, or in a folder `aggregate.csv` (a sweep) or
/// `summary.json` (a run).
pub fn resolve_input(path: &Path) -> Result<PathBuf, InputError> {
    let shown = path.display().to_string();
    if path.is_dir() {
        if let crate::batch::folder::FolderKind::UnfinishedSweep { .. } =
            crate::batch::folder::inspect(path)
        {
            let m = crate::batch::folder::not_ready_message(path).unwrap_or_default();
            return Err(InputError::new(shown, m));
        }
        for f in ["aggregate.csv", "summary.json"] {
            if path.join(f).is_file() {
                return Ok(path.join(f));
            }
        }
        return Err(InputError::new(
            shown,
            "folder has neither aggregate.csv (a sweep) nor summary.json (a run)",
        ));
    }
    if !path.exists() {
        return Err(InputError::new(shown, "no such file"));
    }
    Ok(path.to_path_buf())
}

/// Reads a `summary.json` or an `aggregate.csv` (chosen by extension, `.json` or `.csv`).
pub fn read_input(path: &Path) -> Result<Input, InputError> {
    let path = resolve_input(path)?;
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(&path)
        .map_err(|e| InputError::new(&shown, format!("cannot read: {e}")))?;
    match path.extension().and_then(|e| e.to_str()) {
        Some("json") => read_summary(&text, &shown),
        Some("csv") => {
            let Input::Aggregate {
                key_columns, rows, ..
            } = read_aggregate(&text, &shown)?
            else {
                unreachable!("read_aggregate returns an aggregate")
            };
            let runs_path = path.with_file_name("runs.csv");
            let runs = if runs_path.is_file() {
                Some(read_runs(&runs_path, &key_columns)?)
            } else {
                None
            };
            Ok(Input::Aggregate {
                key_columns,
                rows,
                runs,
            })
        }
        _ => Err(InputError::new(
            shown,
            "expected a summary.json (.json) or an aggregate.csv (.csv), or a run or sweep folder",
        )),
    }
}

fn read_summary(text: &str, shown: &str) -> Result<Input, InputError> {
    if let Err(e) = serde_json::from_str::<serde_json::Value>(text) {
        return Err(InputError::new(shown, format!("malformed JSON: {e}")).at_line(Some(e.line())));
    }
    let seed = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| v["seed"].as_u64());
    let keys = numeric_keys(text, &UNCOMPARED_KEYS).map_err(|e| {
        InputError::new(
            shown,
            format!("not a summary (expected a JSON object): {e}"),
        )
    })?;
    if keys.is_empty() {
        return Err(InputError::new(shown, "not a summary: no numeric key"));
    }
    let values = keys
        .into_iter()
        .filter_map(|(k, v)| {
            v.map(|mean| {
                (
                    k,
                    Estimate {
                        n: 1,
                        mean,
                        sd: f64::NAN,
                    },
                )
            })
        })
        .collect();
    Ok(Input::Summary(
        Side {
            label: "run".into(),
            values,
        },
        seed,
    ))
}

/// Reads a sweep's `runs.csv`: per configuration (its key values), per seed, the values of the
/// finished runs.
fn read_runs(
    path: &Path,
    key_columns: &[String],
) -> Result<HashMap<Vec<String>, PerSeed>, InputError> {
    let shown = path.display().to_string();
    let mut rdr = csv::Reader::from_path(path)
        .map_err(|e| InputError::new(&shown, format!("cannot read: {e}")))?;
    let csv_err = |e: csv::Error| {
        let line = e.position().map(|p| p.line() as usize);
        InputError::new(&shown, format!("malformed CSV: {e}")).at_line(line)
    };
    let header: Vec<String> = rdr
        .headers()
        .map_err(csv_err)?
        .iter()
        .map(String::from)
        .collect();
    let col = |name: &str| {
        header.iter().position(|h| h == name).ok_or_else(|| {
            InputError::new(&shown, format!("not a runs.csv: no `{name}` column"))
                .at_line(Some(1))
                .field(name)
        })
    };
    let keys: Vec<usize> = key_columns
        .iter()
        .map(|k| col(k))
        .collect::<Result<_, _>>()?;
    let (seed_col, status_col, error_col) = (col("seed")?, col("status")?, col("error")?);
    let mut out: HashMap<Vec<String>, PerSeed> = HashMap::new();
    for rec in rdr.records() {
        let rec = rec.map_err(csv_err)?;
        if rec.get(status_col) != Some("ok") {
            continue;
        }
        let line = rec.position().map(|p| p.line() as usize);
        let seed = rec
            .get(seed_col)
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(|| {
                InputError::new(&shown, "the seed is not a whole number")
                    .at_line(line)
                    .field("seed")
            })?;
        let key: Vec<String> = keys
            .iter()
            .map(|&i| rec.get(i).unwrap_or("").to_string())
            .collect();
        let values: HashMap<String, f64> = header
            .iter()
            .enumerate()
            .skip(error_col + 1)
            .filter_map(|(i, h)| {
                let v = rec.get(i)?.trim().parse::<f64>().ok()?;
                Some((h.clone(), v))
            })
            .collect();
        out.entry(key).or_default().insert(seed, values);
    }
    Ok(out)
}

fn read_aggregate(text: &str, shown: &str) -> Result<Input, InputError> {
    let mut rdr = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let csv_err = |e: csv::Error| {
        let line = e.position().map(|p| p.line() as usize);
        InputError::new(shown, format!("malformed CSV: {e}")).at_line(line)
    };
    let header: Vec<String> = rdr
        .headers()
        .map_err(csv_err)?
        .iter()
        .map(String::from)
        .collect();
    let col = |name: &str| header.iter().position(|h| h == name);
    let missing = |name: &str| {
        InputError::new(
            shown,
            format!("not an aggregate.csv: no `{name}` column (line 1)"),
        )
        .at_line(Some(1))
        .field(name)
    };
    let label_col = col("label").ok_or_else(|| missing("label"))?;
    let first_key = col("scenario").ok_or_else(|| missing("scenario"))?;
    let runs_col = col("runs").ok_or_else(|| missing("runs"))?;
    let end_key = col("baseline").unwrap_or(runs_col);
    if end_key < first_key {
        return Err(missing("scenario"));
    }
    let key_columns: Vec<String> = header[first_key..end_key].to_vec();
    // Metrics: columns `KEY.mean` with their `KEY.n` and `KEY.sd`, plus `runs_failed`.
    let mut metrics: Vec<(String, usize, Option<usize>, Option<usize>)> = Vec::new();
    for (i, h) in header.iter().enumerate() {
        if let Some(k) = h.strip_suffix(".mean") {
            metrics.push((
                k.to_string(),
                i,
                col(&format!("{k}.{}", STAT_SUFFIXES[0])),
                col(&format!("{k}.sd")),
            ));
        }
    }
    let failed_col = col("runs_failed");
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(csv_err)?;
        let line = rec.position().map(|p| p.line() as usize);
        let num = |i: usize| -> Result<Option<f64>, InputError> {
            let cell = rec.get(i).unwrap_or("").trim();
            if cell.is_empty() {
                return Ok(None);
            }
            cell.parse::<f64>().map(Some).map_err(|_| {
                InputError::new(shown, format!("`{cell}` is not a number"))
                    .at_line(line)
                    .field(header[i].clone())
            })
        };
        let mut values = HashMap::new();
        for (k, mean_col, n_col, sd_col) in &metrics {
            let Some(mean) = num(*mean_col)? else {
                continue;
            };
            let n = match n_col {
                Some(c) => num(*c)?.unwrap_or(1.0),
                None => 1.0,
            };
            let sd = match sd_col {
                Some(c) => num(*c)?.unwrap_or(f64::NAN),
                None => f64::NAN,
            };
            values.insert(
                k.clone(),
                Estimate {
                    n: n.max(0.0) as u64,
                    mean,
                    sd,
                },
            );
        }
        if let Some(c) = failed_col {
            if let Some(f) = num(c)? {
                values.insert(
                    "runs_failed".into(),
                    Estimate {
                        n: 1,
                        mean: f,
                        sd: f64::NAN,
                    },
                );
            }
        }
        let key: Vec<String> = rec
            .iter()
            .skip(first_key)
            .take(end_key - first_key)
            .map(String::from)
            .collect();
        let label = rec.get(label_col).unwrap_or("").to_string();
        rows.push((key, Side { label, values }));
    }
    if rows.is_empty() {
        return Err(InputError::new(
            shown,
            "aggregate.csv has no configuration row",
        ));
    }
    Ok(Input::Aggregate {
        key_columns,
        rows,
        runs: None,
    })
}

/// The verdict on one metric of one configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Regression,
    /// Worse beyond the tolerance in the means, but within the confidence interval.
    WorseWithinNoise,
    Same,
    Better,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Regression => "regression",
            Verdict::WorseWithinNoise => "worse-within-noise",
            Verdict::Same => "ok",
            Verdict::Better => "better",
        }
    }
}

/// How the interval of a difference was computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Per-seed differences of common seeds (Student t on the differences).
    Paired,
    /// Welch's interval of two independent means (no per-seed values, or no common seed).
    Welch,
    /// Single values, no interval.
    Single,
}

/// One line of the comparison.
#[derive(Clone, Debug)]
pub struct Line {
    pub config: String,
    pub key: String,
    pub direction: Direction,
    pub tolerance: f64,
    pub baseline: Option<Estimate>,
    pub candidate: Option<Estimate>,
    /// candidate − baseline, and its 95% CI (NaN bounds when not computable).
    pub diff: (f64, f64, f64),
    pub method: Method,
    /// The number of paired seeds (paired method only).
    pub pairs: u64,
    pub verdict: Verdict,
}

/// The mean of per-seed differences and its 95% CI, when there are at least two pairs.
pub fn paired_diff(diffs: &Welford) -> Option<(f64, f64, f64)> {
    if diffs.n() < 2 {
        return None;
    }
    let (lo, hi) = diffs.ci95();
    Some((diffs.mean(), lo, hi))
}

/// Judges one metric from each side's estimate and, when the seeds are paired, the per-seed
/// differences.
pub fn judge_paired(
    rule: &Rule,
    b: Estimate,
    c: Estimate,
    paired: Option<&Welford>,
) -> ((f64, f64, f64), Method, Verdict) {
    let (diff, method) = match paired.and_then(paired_diff) {
        Some(d) => (d, Method::Paired),
        None if b.n >= 2 && c.n >= 2 => (
            welch_diff_ci95((b.n, b.mean, b.sd), (c.n, c.mean, c.sd)),
            Method::Welch,
        ),
        None => ((c.mean - b.mean, f64::NAN, f64::NAN), Method::Single),
    };
    (diff, method, verdict_of(rule, b, diff))
}

/// Judges one metric from each side's estimate alone (Welch, or single values).
pub fn judge(rule: &Rule, b: Estimate, c: Estimate) -> ((f64, f64, f64), Verdict) {
    let (diff, _, verdict) = judge_paired(rule, b, c, None);
    (diff, verdict)
}

/// The verdict on a difference (point, low, high) against the rule's tolerance.
fn verdict_of(rule: &Rule, b: Estimate, diff: (f64, f64, f64)) -> Verdict {
    let sign = match rule.direction {
        Direction::Lower => 1.0,
        Direction::Higher => -1.0,
    };
    let threshold = rule.tolerance * b.mean.abs();
    // In "worse" units: positive is worse.
    let worse_point = sign * diff.0;
    let (worse_least, better_least) = if diff.1.is_nan() {
        (worse_point, -worse_point)
    } else {
        // The smallest worsening (resp. improvement) the interval allows.
        let (a, z) = (sign * diff.1, sign * diff.2);
        (a.min(z), -(a.max(z)))
    };
    if worse_least > threshold {
        Verdict::Regression
    } else if worse_point > threshold {
        Verdict::WorseWithinNoise
    } else if better_least > threshold {
        Verdict::Better
    } else {
        Verdict::Same
    }
}

/// What the comparison found besides its lines: warnings to print before the table.
#[derive(Clone, Debug, Default)]
pub struct Comparison {
    pub lines: Vec<Line>,
    pub warnings: Vec<String>,
}

/// Options of a comparison.
#[derive(Clone, Debug, Default)]
pub struct CompareOptions {
    /// Compare two single runs of different seeds anyway (with a warning).
    pub allow_different_seeds: bool,
}

/// Compares two inputs with `rules` (empty: the default table).
pub fn compare(
    baseline: &Input,
    candidate: &Input,
    rules: &[Rule],
    shown: (&str, &str),
    opts: &CompareOptions,
) -> Result<Comparison, InputError> {
    let rules = if rules.is_empty() {
        default_rules()
    } else {
        rules.to_vec()
    };
    let mut warnings = Vec::new();
    type Pair<'a> = (
        String,
        &'a Side,
        &'a Side,
        Option<(&'a PerSeed, &'a PerSeed)>,
    );
    let pairs: Vec<Pair> =
        match (baseline, candidate) {
            (Input::Summary(b, sb), Input::Summary(c, sc)) => {
                if let (Some(sb), Some(sc)) = (sb, sc) {
                    if sb != sc {
                        let msg = format!(
                        "the baseline is seed {sb} and the candidate seed {sc}: two single runs of \
different seeds differ by noise alone, not only by behaviour; compare runs of the same seed, or \
two sweeps (paired per seed)"
                    );
                        if !opts.allow_different_seeds {
                            return Err(InputError::new(
                                shown.1,
                                format!("{msg} (or pass --allow-different-seeds)"),
                            ));
                        }
                        warnings.push(format!("warning: {msg}"));
                    }
                }
                vec![(String::new(), b, c, None)]
            }
            (
                Input::Aggregate {
                    key_columns: kb,
                    rows: rb,
                    runs: runs_b,
                },
                Input::Aggregate {
                    key_columns: kc,
                    rows: rc,
                    runs: runs_c,
                },
            ) => {
                if kb != kc {
                    return Err(InputError::new(
                        shown.1,
                        format!(
                            "the two sweeps have different axes: baseline [{}], candidate [{}]",
                            kb.join(", "),
                            kc.join(", ")
                        ),
                    ));
                }
                if runs_b.is_none() || runs_c.is_none() {
                    warnings.push(
                    "warning: runs.csv is missing beside an aggregate.csv: the seeds cannot be \
paired, so the comparison is unpaired (Welch) and less sensitive"
                        .to_string(),
                );
                }
                let mut pairs = Vec::new();
                for (key, b) in rb {
                    let c = rc.iter().find(|(k, _)| k == key).ok_or_else(|| {
                        InputError::new(
                            shown.1,
                            format!(
                                "no configuration {} (baseline's `{}`)",
                                kb.iter()
                                    .zip(key)
                                    .map(|(c, v)| format!("{c}={v}"))
                                    .collect::<Vec<_>>()
                                    .join(", "),
                                b.label
                            ),
                        )
                    })?;
                    let per_seed = match (runs_b, runs_c) {
                        (Some(rb), Some(rc)) => match (rb.get(key), rc.get(key)) {
                            (Some(x), Some(y)) => Some((x, y)),
                            _ => None,
                        },
                        _ => None,
                    };
                    if let Some((x, y)) = per_seed {
                        if x.keys().all(|s| !y.contains_key(s)) {
                            warnings.push(format!(
                                "warning: `{}`: no seed in common, unpaired (Welch) comparison",
                                b.label
                            ));
                        }
                    }
                    pairs.push((b.label.clone(), b, &c.1, per_seed));
                }
                pairs
            }
            _ => return Err(InputError::new(
                shown.1,
                "compare two summaries (summary.json) or two sweeps (aggregate.csv), not one of \
each",
            )),
        };
    for rule in &rules {
        if rule.explicit
            && !pairs.iter().any(|(_, b, c, _)| {
                b.values.contains_key(&rule.key) || c.values.contains_key(&rule.key)
            })
        {
            return Err(InputError::new(
                shown.0,
                format!("metric `{}` is in neither input", rule.key),
            )
            .field(rule.key.clone()));
        }
    }
    let mut lines = Vec::new();
    for (config, b, c, per_seed) in &pairs {
        for rule in &rules {
            let (bv, cv) = (b.values.get(&rule.key), c.values.get(&rule.key));
            let diffs = per_seed.map(|(x, y)| {
                let mut w = Welford::new();
                let mut seeds: Vec<&u64> = x.keys().filter(|s| y.contains_key(s)).collect();
                seeds.sort();
                for s in seeds {
                    if let (Some(vb), Some(vc)) = (x[s].get(&rule.key), y[s].get(&rule.key)) {
                        w.push(vc - vb);
                    }
                }
                w
            });
            let nan3 = (f64::NAN, f64::NAN, f64::NAN);
            let (diff, method, verdict) = match (bv, cv) {
                (Some(b), Some(c)) => judge_paired(rule, *b, *c, diffs.as_ref()),
                (None, None) => continue,
                // The candidate lost a value the baseline had (e.g. every run failed).
                (Some(_), None) => (nan3, Method::Single, Verdict::Regression),
                (None, Some(_)) => (nan3, Method::Single, Verdict::Same),
            };
            lines.push(Line {
                config: config.clone(),
                key: rule.key.clone(),
                direction: rule.direction,
                tolerance: rule.tolerance,
                baseline: bv.copied(),
                candidate: cv.copied(),
                diff,
                method,
                pairs: if method == Method::Paired {
                    diffs.map_or(0, |d| d.n())
                } else {
                    0
                },
                verdict,
            });
        }
    }
    Ok(Comparison { lines, warnings })
}

/// Counts of a comparison's verdicts.
pub fn counts(lines: &[Line]) -> (usize, usize) {
    let regressions = lines
        .iter()
        .filter(|l| l.verdict == Verdict::Regression)
        .count();
    let noisy = lines
        .iter()
        .filter(|l| l.verdict == Verdict::WorseWithinNoise)
        .count();
    (regressions, noisy)
}

/// A float for JSON: `null` when not finite.
fn json_num(x: f64) -> serde_json::Value {
    serde_json::Number::from_f64(x)
        .map(serde_json::Value::Number)
        .unwrap_or(serde_json::Value::Null)
}

fn json_estimate(e: Option<Estimate>) -> serde_json::Value {
    match e {
        None => serde_json::Value::Null,
        Some(e) => serde_json::json!({ "n": e.n, "mean": json_num(e.mean), "sd": json_num(e.sd) }),
    }
}

/// The machine-readable verdict (`--format json`): `verdict` is `pass` or `regression`, then
/// the counts, the warnings and every line (or, with `failures_only`, the regressions).
pub fn json_report(c: &Comparison, shown: (&str, &str), failures_only: bool) -> String {
    let (regressions, noisy) = counts(&c.lines);
    let lines: Vec<serde_json::Value> = c
        .lines
        .iter()
        .filter(|l| !failures_only || l.verdict == Verdict::Regression)
        .map(|l| {
            serde_json::json!({
                "config": l.config,
                "metric": l.key,
                "better": l.direction.name(),
                "tolerance": l.tolerance,
                "baseline": json_estimate(l.baseline),
                "candidate": json_estimate(l.candidate),
                "diff": json_num(l.diff.0),
                "diff_ci_low": json_num(l.diff.1),
                "diff_ci_high": json_num(l.diff.2),
                "method": l.method,
                "pairs": l.pairs,
                "verdict": l.verdict.name(),
            })
        })
        .collect();
    let report = serde_json::json!({
        "verdict": if regressions > 0 { "regression" } else { "pass" },
        "baseline": shown.0,
        "candidate": shown.1,
        "checks": c.lines.len(),
        "regressions": regressions,
        "worse_within_noise": noisy,
        "warnings": c.warnings,
        "lines": lines,
    });
    serde_json::to_string_pretty(&report).expect("report serialises") + "\n"
}

/// A tolerance as a percentage: `5%`, `2.5%`.
fn pct(t: f64) -> String {
    let s = format!("{:.3}", 100.0 * t);
    format!("{}%", s.trim_end_matches('0').trim_end_matches('.'))
}

/// A number with 4 significant digits, no exponent for everyday magnitudes.
fn num(x: f64) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    if x == 0.0 {
        return "0".into();
    }
    let digits = (3 - x.abs().log10().floor() as i32).clamp(0, 9) as usize;
    format!("{x:.digits$}")
}

fn estimate(e: Option<Estimate>) -> String {
    match e {
        None => "-".into(),
        Some(e) => {
            let (lo, hi) = crate::batch::stats::ci95(e.n, e.mean, e.sd);
            if lo.is_nan() {
                num(e.mean)
            } else {
                format!("{} ±{}", num(e.mean), num((hi - lo) / 2.0))
            }
        }
    }
}

/// The comparison as an aligned text table.
pub fn table(lines: &[Line]) -> String {
    let mut rows: Vec<[String; 8]> = vec![[
        "configuration".into(),
        "metric".into(),
        "better".into(),
        "baseline".into(),
        "candidate".into(),
        "change (95% CI, method)".into(),
        "tolerance".into(),
        "verdict".into(),
    ]];
    for l in lines {
        let rel = match l.baseline {
            Some(b) if b.mean != 0.0 && l.diff.0.is_finite() => {
                format!(" ({:+.1}%)", 100.0 * l.diff.0 / b.mean.abs())
            }
            _ => String::new(),
        };
        let change = if l.diff.1.is_finite() {
            let how = match l.method {
                Method::Paired => format!("paired, {} seeds", l.pairs),
                Method::Welch => "unpaired".to_string(),
                Method::Single => String::new(),
            };
            format!(
                "{}{rel} [{}, {}] {how}",
                num(l.diff.0),
                num(l.diff.1),
                num(l.diff.2)
            )
        } else {
            format!("{}{rel}", num(l.diff.0))
        };
        rows.push([
            if l.config.is_empty() {
                "-".into()
            } else {
                l.config.clone()
            },
            l.key.clone(),
            l.direction.name().into(),
            estimate(l.baseline),
            estimate(l.candidate),
            change,
            pct(l.tolerance),
            match l.verdict {
                Verdict::Regression => "REGRESSION".into(),
                Verdict::WorseWithinNoise => "worse, within noise".into(),
                Verdict::Same => "ok".into(),
                Verdict::Better => "better".into(),
            },
        ]);
    }
    let mut widths = [0usize; 8];
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in &rows {
        let cells: Vec<String> = r
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
    out
}

/// The metric table as text, for `reconf compare --list`.
pub fn metric_list() -> String {
    let mut out = String::from("metric                   better  default tolerance\n");
    for (k, d, t) in METRICS {
        let _ = writeln!(out, "{k:<24} {:<7} {}", d.name(), pct(*t));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn est(n: u64, mean: f64, sd: f64) -> Estimate {
        Estimate { n, mean, sd }
    }

    #[test]
    fn rules_parse_with_direction_and_tolerance() {
        let r = parse_rule("p95_response_ms=0.1").unwrap();
        assert_eq!((r.direction, r.tolerance), (Direction::Lower, 0.1));
        let r = parse_rule("throughput_rps").unwrap();
        assert_eq!((r.direction, r.tolerance), (Direction::Higher, 0.02));
        let r = parse_rule("tier_utilisation.rubis.app:higher=0").unwrap();
        assert_eq!(r.direction, Direction::Higher);
        let e = parse_rule("events=0.1").unwrap_err().to_string();
        assert!(e.starts_with("--metric events=0.1: unknown metric"), "{e}");
        assert!(parse_rule("p95_response_ms=-1").is_err());
        assert!(parse_rule("p95_response_ms=x").is_err());
        assert!(parse_rule("x:sideways=1").is_err());
    }

    #[test]
    fn noise_is_not_a_regression_but_a_real_shift_is() {
        let rule = parse_rule("p95_response_ms=0.05").unwrap();
        // +3% mean shift, sd 10% of the mean, 10 seeds each: within the CI.
        let (_, v) = judge(&rule, est(10, 100.0, 10.0), est(10, 103.0, 10.0));
        assert_eq!(v, Verdict::Same);
        // +8%: beyond the tolerance in the means, but the CI reaches below +5%.
        let (_, v) = judge(&rule, est(10, 100.0, 10.0), est(10, 108.0, 10.0));
        assert_eq!(v, Verdict::WorseWithinNoise);
        // +30%: the whole CI is above +5%.
        let (d, v) = judge(&rule, est(10, 100.0, 10.0), est(10, 130.0, 10.0));
        assert_eq!(v, Verdict::Regression);
        assert!(d.1 > 5.0 && d.2 > d.1);
        // -30% is better.
        assert_eq!(
            judge(&rule, est(10, 100.0, 10.0), est(10, 70.0, 10.0)).1,
            Verdict::Better
        );
        // Higher is better: a throughput drop is the regression.
        let rule = parse_rule("throughput_rps=0.02").unwrap();
        assert_eq!(
            judge(&rule, est(10, 100.0, 1.0), est(10, 90.0, 1.0)).1,
            Verdict::Regression
        );
        assert_eq!(
            judge(&rule, est(10, 100.0, 1.0), est(10, 110.0, 1.0)).1,
            Verdict::Better
        );
    }

    #[test]
    fn single_runs_compare_against_the_tolerance() {
        let rule = parse_rule("energy_kwh=0.02").unwrap();
        let one = |x| est(1, x, f64::NAN);
        assert_eq!(judge(&rule, one(1.0), one(1.01)).1, Verdict::Same);
        assert_eq!(judge(&rule, one(1.0), one(1.03)).1, Verdict::Regression);
        // A zero baseline: any worsening counts.
        let rule = parse_rule("sessions_lost=0.05").unwrap();
        assert_eq!(judge(&rule, one(0.0), one(1.0)).1, Verdict::Regression);
        assert_eq!(judge(&rule, one(0.0), one(0.0)).1, Verdict::Same);
    }

    #[test]
    fn numbers_print_with_four_significant_digits() {
        assert_eq!(num(123.456), "123.5");
        assert_eq!(num(0.012345), "0.01235");
        assert_eq!(num(0.0), "0");
        assert_eq!(num(f64::NAN), "-");
        assert_eq!(pct(0.05), "5%");
        assert_eq!(pct(0.025), "2.5%");
        assert_eq!(pct(0.0), "0%");
    }
}
