//! Figures of a sweep, from its `aggregate.csv`: each metric per configuration (bars with 95%
//! CI whiskers), the paired differences from the baseline when there is one (per configuration
//! and against every numeric axis), the response-time percentiles side by side, and each
//! metric against every numeric swept axis with its CI band.
//!
//! User-facing metrics (response times, throughput, SLA violations, sessions) are drawn per
//! application when the sweep has several (`apps.<app>.<key>` columns); infrastructure metrics
//! (migrations, node-hours, energy) are the cluster's.

use super::apps::sweep_apps;
use super::figure::{Bar, BarFigure, LineFigure, Series};
use super::labels::{describe, describe_axis, describe_short, split_app_key};
use super::palette;
use super::scale::{Scale, ScaleChoice};
use super::{Figure, PlotError, PlotOptions, Table};
use crate::batch::spec::{short_name, NOT_APPLICABLE};
use crate::scenario::InputError;
use std::path::Path;

/// The metrics drawn when `--metric` is not given (those present in the aggregate).
pub const DEFAULT_METRICS: [&str; 8] = [
    "p95_response_ms",
    "mean_response_ms",
    "throughput_rps",
    "sla_violation_fraction",
    "sessions_lost",
    "migrations",
    "node_hours",
    "energy_kwh",
];

/// The metrics users see, reported per application.
const USER_FACING: [&str; 9] = [
    "p95_response_ms",
    "mean_response_ms",
    "p50_response_ms",
    "p99_response_ms",
    "max_response_ms",
    "throughput_rps",
    "sla_violation_fraction",
    "sessions_lost",
    "requests_failed",
];

const PERCENTILES: [(&str, &str); 4] = [
    ("mean_response_ms", "mean"),
    ("p50_response_ms", "p50"),
    ("p95_response_ms", "p95"),
    ("p99_response_ms", "p99"),
];

/// A file-name-safe version of a key.
fn slug(s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    while out.contains("__") {
        out = out.replace("__", "_");
    }
    out.trim_matches('_').to_string()
}

/// A metric to draw: its column key and what it covers, for titles.
#[derive(Clone, Debug, PartialEq)]
struct Metric {
    key: String,
    /// "rubis: ", "all applications together: " or nothing (the cluster's metrics).
    scope: String,
}

impl Metric {
    fn title(&self, what: &str) -> String {
        format!("{}{}{what}", self.scope, describe_short(&self.key))
    }
}

struct Agg {
    t: Table,
    label: usize,
    /// Columns that identify a configuration: `scenario` and the axes.
    keys: Vec<usize>,
    /// Of `keys`, those that take more than one value.
    varying: Vec<bool>,
    /// Per row, the row of its baseline (itself for a baseline), if any.
    baseline_row: Vec<Option<usize>>,
    /// How each key column is named on figures: the last key of its path, or the whole path
    /// when two axes share a last key (`apps[0].tiers[1].cores` and `apps[0].tiers[2].cores`).
    names: Vec<String>,
}

impl Agg {
    fn stat(&self, r: usize, key: &str, stat: &str) -> Result<f64, InputError> {
        match self.t.col(&format!("{key}.{stat}")) {
            Some(c) => Ok(self.t.num(r, c)?.unwrap_or(f64::NAN)),
            None => Ok(f64::NAN),
        }
    }

    fn bar(&self, r: usize, key: &str, prefix: &str) -> Result<Bar, InputError> {
        Ok(Bar {
            label: self.t.text(r, self.label).to_string(),
            mean: self.stat(r, key, &format!("{prefix}mean"))?,
            ci: (
                self.stat(r, key, &format!("{prefix}ci_low"))?,
                self.stat(r, key, &format!("{prefix}ci_high"))?,
            ),
        })
    }

    /// Whether every configuration's mean of `key` is zero (or missing).
    fn all_zero(&self, key: &str) -> bool {
        (0..self.t.rows.len()).all(|r| {
            let v = self.stat(r, key, "mean").unwrap_or(f64::NAN);
            v == 0.0 || !v.is_finite()
        })
    }

    fn has(&self, key: &str) -> bool {
        self.t.col(&format!("{key}.mean")).is_some()
    }

    /// Rows compared with a baseline other than themselves.
    fn compared(&self) -> Vec<usize> {
        (0..self.t.rows.len())
            .filter(|&r| matches!(self.baseline_row[r], Some(b) if b != r))
            .collect()
    }

    /// The figure name of key column `c`.
    fn name_of(&self, c: usize) -> &str {
        self.keys
            .iter()
            .position(|k| *k == c)
            .map(|i| self.names[i].as_str())
            .unwrap_or(&self.t.header[c])
    }

    /// `k=v` for a key column (the scenario column reads as its value).
    fn key_value(&self, r: usize, c: usize) -> String {
        let v = self.t.text(r, c);
        if self.t.header[c] == "scenario" {
            v.to_string()
        } else {
            format!("{}={v}", self.name_of(c))
        }
    }

    /// The baseline, in words: one configuration's label, or (a baseline per value of the
    /// other axes) the values all baselines share and "same <axis>" for the others.
    fn baseline_name(&self) -> String {
        let mut bases: Vec<usize> = self
            .compared()
            .iter()
            .filter_map(|&r| self.baseline_row[r])
            .collect();
        bases.sort_unstable();
        bases.dedup();
        match bases.as_slice() {
            [] => String::new(),
            [b] => self.t.text(*b, self.label).to_string(),
            _ => {
                let mut fixed = Vec::new();
                let mut same = Vec::new();
                for (i, &c) in self.keys.iter().enumerate() {
                    if !self.varying[i] {
                        continue;
                    }
                    let v0 = self.t.text(bases[0], c);
                    if bases.iter().all(|&b| self.t.text(b, c) == v0) {
                        fixed.push(self.key_value(bases[0], c));
                    } else {
                        same.push(self.name_of(c).to_string());
                    }
                }
                let mut s = fixed.join(", ");
                if !same.is_empty() {
                    s.push_str(&format!(" (same {})", same.join(", ")));
                }
                s
            }
        }
    }
}

fn read_agg(dir: &Path) -> Result<Agg, PlotError> {
    let t = Table::read(&dir.join("aggregate.csv"))?;
    let label = t.require("label")?;
    let first = t.require("scenario")?;
    let runs = t.require("runs")?;
    let end = t.col("baseline").unwrap_or(runs);
    if t.rows.is_empty() {
        return Err(InputError::new(t.shown.clone(), "no configuration to plot").into());
    }
    let keys: Vec<usize> = (first..end.max(first)).collect();
    let varying = keys.iter().map(|&c| varies(&t, c)).collect();
    let baseline_row = match (t.col("baseline"), t.col("config")) {
        (Some(bc), Some(cc)) => {
            let ids: Vec<&str> = (0..t.rows.len()).map(|r| t.text(r, cc)).collect();
            (0..t.rows.len())
                .map(|r| {
                    let b = t.text(r, bc).trim();
                    (!b.is_empty())
                        .then(|| ids.iter().position(|id| id.trim() == b))
                        .flatten()
                })
                .collect()
        }
        _ => vec![None; t.rows.len()],
    };
    let shorts: Vec<&str> = keys.iter().map(|&c| short_name(&t.header[c])).collect();
    let names = keys
        .iter()
        .zip(&shorts)
        .map(|(&c, s)| {
            if shorts.iter().filter(|o| *o == s).count() > 1 {
                t.header[c].clone()
            } else {
                s.to_string()
            }
        })
        .collect();
    Ok(Agg {
        t,
        label,
        keys,
        varying,
        baseline_row,
        names,
    })
}

/// "sweep <name> · 6 configurations × 3 seeds".
fn which_runs(dir: &Path, agg: &Agg) -> String {
    let name = dir
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| dir.display().to_string());
    let seeds = std::fs::read_to_string(dir.join("sweep.json"))
        .ok()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
        .and_then(|v| v.get("seeds")?.as_u64());
    let n = agg.t.rows.len();
    let configs = if n == 1 {
        "1 configuration".to_string()
    } else {
        format!("{n} configurations")
    };
    match seeds {
        Some(1) => format!("sweep {name} · {configs} × 1 seed"),
        Some(s) => format!("sweep {name} · {configs} × {s} seeds"),
        None => format!("sweep {name} · {configs}"),
    }
}

/// The metrics to draw: the defaults (per application where the sweep has several), or the
/// keys asked for.
fn choose_metrics(agg: &Agg, asked: &[String]) -> Result<Vec<Metric>, InputError> {
    let apps = sweep_apps(&agg.t);
    let single_app = match apps.as_slice() {
        [a] => format!("{a}: "),
        _ => String::new(),
    };
    let scope_of = |key: &str| -> String {
        if let Some((app, _)) = split_app_key(key) {
            return format!("{app}: ");
        }
        if USER_FACING.contains(&key) {
            if apps.len() > 1 {
                return "all applications together: ".into();
            }
            return single_app.clone();
        }
        String::new()
    };
    if !asked.is_empty() {
        for m in asked {
            if !agg.has(m) {
                return Err(InputError::new(
                    "--metric",
                    format!("`{m}` is not a column of {} (no `{m}.mean`)", agg.t.shown),
                ));
            }
        }
        return Ok(asked
            .iter()
            .map(|k| Metric {
                key: k.clone(),
                scope: scope_of(k),
            })
            .collect());
    }
    let mut out = Vec::new();
    for k in DEFAULT_METRICS {
        let per_app: Vec<String> = if apps.len() > 1 && USER_FACING.contains(&k) {
            apps.iter()
                .map(|a| format!("apps.{a}.{k}"))
                .filter(|key| agg.has(key))
                .collect()
        } else {
            Vec::new()
        };
        if per_app.is_empty() {
            // Sweeps without infrastructure have no migrations, node-hours or energy: zeros
            // everywhere would be empty figures.
            if !USER_FACING.contains(&k) && agg.all_zero(k) {
                continue;
            }
            if agg.has(k) {
                out.push(Metric {
                    key: k.to_string(),
                    scope: scope_of(k),
                });
            }
        } else {
            out.extend(per_app.into_iter().map(|key| Metric {
                scope: scope_of(&key),
                key,
            }));
        }
    }
    Ok(out)
}

pub fn figures(dir: &Path, opts: &PlotOptions) -> Result<Vec<(String, Figure)>, PlotError> {
    let agg = read_agg(dir)?;
    let metrics = choose_metrics(&agg, &opts.metrics)?;
    let which = which_runs(dir, &agg);
    let n = agg.t.rows.len();
    let compared = agg.compared();
    let baseline = agg.baseline_name();
    let mut figs = Vec::new();
    for m in &metrics {
        let bars = (0..n)
            .map(|r| agg.bar(r, &m.key, ""))
            .collect::<Result<Vec<_>, _>>()?;
        if bars.iter().any(|b| b.mean.is_finite()) {
            let scale = opts.scale.pick(bars.iter().map(|b| b.mean));
            push_bars(
                &mut figs,
                format!("bars_{}", slug(&m.key)),
                BarFigure {
                    title: m.title(" per configuration"),
                    subtitle: format!("{which} · bar: mean, whisker: 95% CI"),
                    x_desc: with_scale(describe(&m.key), scale),
                    groups: vec![(describe_short(&m.key), bars)],
                    points: false,
                    scale,
                    value_range: None,
                },
            );
        }
        if !compared.is_empty() && agg.t.col(&format!("{}.diff_mean", m.key)).is_some() {
            let bars = compared
                .iter()
                .map(|&r| agg.bar(r, &m.key, "diff_"))
                .collect::<Result<Vec<_>, _>>()?;
            if bars.iter().any(|b| b.mean.is_finite()) {
                // Log only if every difference and its whole interval are positive (zero, the
                // reference of differences, is then off the axis anyway).
                let scale = opts
                    .scale
                    .pick(bars.iter().flat_map(|b| [b.mean, b.ci.0, b.ci.1]));
                push_bars(
                    &mut figs,
                    format!("diff_{}", slug(&m.key)),
                    BarFigure {
                        title: m.title(&format!(": difference from {baseline}")),
                        subtitle: format!(
                            "{which} · configuration − baseline, paired by seed: mean and 95% CI"
                        ),
                        x_desc: with_scale(format!("difference in {}", describe(&m.key)), scale),
                        groups: vec![("configuration − baseline".into(), bars)],
                        points: true,
                        scale,
                        value_range: None,
                    },
                );
            }
        }
    }
    percentile_figures(&agg, &metrics, &which, opts.scale, &mut figs)?;
    axis_figures(&agg, &metrics, &which, &baseline, opts.scale, &mut figs)?;
    Ok(figs)
}

/// An axis description, marked when its scale is logarithmic.
fn with_scale(desc: String, scale: Scale) -> String {
    match scale {
        Scale::Linear => desc,
        Scale::Log => match desc.strip_suffix(')') {
            Some(d) => format!("{d}, log scale)"),
            None => format!("{desc} (log scale)"),
        },
    }
}

/// Response-time percentiles side by side, for each scope of the response metrics drawn.
fn percentile_figures(
    agg: &Agg,
    metrics: &[Metric],
    which: &str,
    choice: ScaleChoice,
    figs: &mut Vec<(String, Figure)>,
) -> Result<(), InputError> {
    // The scopes (application prefixes of the keys) of the response-time metrics drawn.
    let mut scopes: Vec<(String, String)> = Vec::new();
    for m in metrics {
        let (prefix, key) = match split_app_key(&m.key) {
            Some((app, k)) => (format!("apps.{app}."), k),
            None => (String::new(), m.key.as_str()),
        };
        if key.ends_with("_response_ms") && !scopes.iter().any(|s| s.0 == prefix) {
            scopes.push((prefix, m.scope.clone()));
        }
    }
    let n = agg.t.rows.len();
    let several = scopes.len() > 1;
    for (prefix, scope) in scopes {
        let present: Vec<(String, &str)> = PERCENTILES
            .iter()
            .map(|(k, name)| (format!("{prefix}{k}"), *name))
            .filter(|(k, _)| agg.has(k))
            .collect();
        if present.is_empty() {
            continue;
        }
        let groups = present
            .iter()
            .map(|(k, name)| {
                let bars = (0..n)
                    .map(|r| agg.bar(r, k, ""))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((name.to_string(), bars))
            })
            .collect::<Result<Vec<_>, InputError>>()?;
        let scale = choice.pick(groups.iter().flat_map(|g| g.1.iter().map(|b| b.mean)));
        let name = if several {
            format!(
                "response_percentiles_{}",
                slug(prefix.trim_start_matches("apps."))
            )
        } else {
            "response_percentiles".to_string()
        };
        push_bars(
            figs,
            name,
            BarFigure {
                title: format!("{scope}response time, mean and percentiles, per configuration"),
                subtitle: format!("{which} · dot: mean over the seeds, whisker: 95% CI"),
                x_desc: with_scale("response time (ms)".into(), scale),
                groups,
                points: true,
                scale,
                value_range: None,
            },
        );
    }
    Ok(())
}

/// Configurations per bar figure: more rows would not be readable, so a sweep of many
/// configurations gets its bars in parts (`NAME_part1`, `NAME_part2`, ...), all on the same
/// value axis.
pub const ROWS_PER_FIGURE: usize = 40;

fn push_bars(figs: &mut Vec<(String, Figure)>, name: String, fig: BarFigure) {
    let rows = fig.rows();
    if rows <= ROWS_PER_FIGURE {
        figs.push((name, Figure::Bars(fig)));
        return;
    }
    let parts = rows.div_ceil(ROWS_PER_FIGURE);
    let per = rows.div_ceil(parts);
    let range = fig.value_range();
    for p in 0..parts {
        let (a, b) = (p * per, ((p + 1) * per).min(rows));
        let mut part = fig.clone();
        part.title = format!("{} (part {} of {parts})", fig.title, p + 1);
        for g in &mut part.groups {
            g.1 = g.1[a..b].to_vec();
        }
        part.value_range = range;
        figs.push((format!("{name}_part{}", p + 1), Figure::Bars(part)));
    }
}

/// Each metric against each numeric axis of more than one value (one line per combination of
/// the other keys), and its difference from the baseline against the axis.
fn axis_figures(
    agg: &Agg,
    metrics: &[Metric],
    which: &str,
    baseline: &str,
    choice: ScaleChoice,
    figs: &mut Vec<(String, Figure)>,
) -> Result<(), InputError> {
    let n = agg.t.rows.len();
    for (ai, &axis_col) in agg.keys.iter().enumerate() {
        // Configurations where the axis does not apply (`n/a`, e.g. a static baseline without
        // the policy parameter swept) are not drawn against it.
        let applies: Vec<bool> = (0..n)
            .map(|r| agg.t.text(r, axis_col).trim() != NOT_APPLICABLE)
            .collect();
        let xs: Vec<Option<f64>> = (0..n)
            .map(|r| agg.t.text(r, axis_col).trim().parse::<f64>().ok())
            .collect();
        let mut distinct: Vec<f64> = xs.iter().flatten().cloned().collect();
        distinct.sort_by(f64::total_cmp);
        distinct.dedup();
        if (0..n).any(|r| applies[r] && xs[r].is_none()) || distinct.len() < 2 {
            continue;
        }
        let axis_name = agg.t.header[axis_col].clone();
        let short = agg.names[ai].clone();
        let x_integer = distinct.iter().all(|v| v.fract() == 0.0);
        // Group rows by the values of the other varying key columns.
        let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
        for r in 0..n {
            let name: Vec<String> = agg
                .keys
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != ai && agg.varying[*i])
                .map(|(_, c)| agg.key_value(r, *c))
                .collect();
            // One group (no other axis varies): no name, and no legend (the subtitle says
            // what dots and whiskers are).
            let name = name.join(", ");
            match groups.iter_mut().find(|g| g.0 == name) {
                Some(g) => g.1.push(r),
                None => groups.push((name, vec![r])),
            }
        }
        let compared: Vec<bool> = {
            let c = agg.compared();
            (0..n).map(|r| c.contains(&r)).collect()
        };
        for m in metrics {
            // One series per group: dots at the means, whiskers for the CIs, side by side;
            // rows left out (baselines, in differences) break the line where they would be.
            let lines = |prefix: &str, keep: &dyn Fn(usize) -> bool| {
                let mut series = Vec::new();
                let g = groups.len() as f64;
                let step_px = (6.0f64).min(36.0 / g.max(1.0));
                for (gi, (name, rows)) in groups.iter().enumerate() {
                    let mut pts = Vec::new();
                    for &r in rows.iter().filter(|&&r| applies[r]) {
                        let x = xs[r].unwrap_or(f64::NAN);
                        if keep(r) {
                            let b = agg.bar(r, &m.key, prefix)?;
                            pts.push((x, b.mean, b.ci.0, b.ci.1));
                        } else {
                            pts.push((x, f64::NAN, f64::NAN, f64::NAN));
                        }
                    }
                    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                    let mut line = Series::line(
                        name.clone(),
                        pts.iter().map(|p| (p.0, p.1)).collect(),
                        palette::series(gi),
                    );
                    if !line.points.iter().any(|p| p.1.is_finite()) {
                        continue;
                    }
                    line.dots = true;
                    line.dashed = palette::series_dashed(gi);
                    line.errors = pts
                        .iter()
                        .filter(|p| p.2.is_finite() && p.3.is_finite())
                        .map(|p| (p.0, p.2, p.3))
                        .collect();
                    line.dodge_px = (gi as f64 - (g - 1.0) / 2.0) * step_px;
                    series.push(line);
                }
                Ok::<_, InputError>(series)
            };
            let series = lines("", &|_| true)?;
            if !series.is_empty() {
                let scale = choice.pick(series.iter().flat_map(|s| s.points.iter().map(|p| p.1)));
                figs.push((
                    format!("{}_vs_{}", slug(&m.key), slug(&short)),
                    Figure::Lines(LineFigure {
                        title: m.title(&format!(" against {short}")),
                        subtitle: format!("{which} · dot: mean over the seeds, whisker: 95% CI"),
                        x_desc: describe_axis(&axis_name),
                        y_desc: with_scale(describe(&m.key), scale),
                        series,
                        y_from_zero: true,
                        x_integer,
                        x_pad: true,
                        y_scale: scale,
                        ..Default::default()
                    }),
                ));
            }
            if agg.t.col(&format!("{}.diff_mean", m.key)).is_none() {
                continue;
            }
            let series = lines("diff_", &|r| compared[r])?;
            let xs_left: Vec<f64> = {
                let mut v: Vec<f64> = series
                    .iter()
                    .flat_map(|s| s.points.iter().filter(|p| p.1.is_finite()).map(|p| p.0))
                    .collect();
                v.sort_by(f64::total_cmp);
                v.dedup();
                v
            };
            if xs_left.len() >= 2 {
                figs.push((
                    format!("diff_{}_vs_{}", slug(&m.key), slug(&short)),
                    Figure::Lines(LineFigure {
                        title: m.title(&format!(": difference from {baseline}, against {short}")),
                        subtitle: format!(
                            "{which} · configuration − baseline, paired by seed: mean and 95% CI"
                        ),
                        x_desc: describe_axis(&axis_name),
                        y_desc: format!("difference in {}", describe(&m.key)),
                        series,
                        y_from_zero: true,
                        x_integer,
                        x_pad: true,
                        zero_line: true,
                        ..Default::default()
                    }),
                ));
            }
        }
    }
    Ok(())
}

/// Whether a column takes more than one value.
fn varies(t: &Table, c: usize) -> bool {
    let first = t.text(0, c);
    (1..t.rows.len()).any(|r| t.text(r, c) != first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_file_names() {
        assert_eq!(slug("apps[0].tiers[1].replicas"), "apps_0_tiers_1_replicas");
        assert_eq!(slug("p95_response_ms"), "p95_response_ms");
        assert_eq!(
            slug("apps.shop.p95_response_ms"),
            "apps_shop_p95_response_ms"
        );
    }

    #[test]
    fn log_scales_are_named_on_the_axis() {
        assert_eq!(
            with_scale("p95 response time (ms)".into(), Scale::Log),
            "p95 response time (ms, log scale)"
        );
        assert_eq!(with_scale("x (s)".into(), Scale::Linear), "x (s)");
    }
}
