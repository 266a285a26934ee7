//! Figures of a sweep, from its `aggregate.csv`: each metric per configuration (bars with 95%
//! CI whiskers), the paired differences from the baseline when there is one, the response-time
//! percentiles side by side, and each metric against every numeric swept axis with its CI band.

use super::figure::{color, Band, Bar, BarFigure, LineFigure, Series};
use super::{describe, Figure, PlotError, Table};
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

struct Agg {
    t: Table,
    label: usize,
    /// Columns that identify a configuration: `scenario` and the axes.
    keys: Vec<usize>,
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
}

pub fn figures(dir: &Path, metrics: &[String]) -> Result<Vec<(String, Figure)>, PlotError> {
    let t = Table::read(&dir.join("aggregate.csv"))?;
    let label = t.require("label")?;
    let first = t.require("scenario")?;
    let runs = t.require("runs")?;
    let end = t.col("baseline").unwrap_or(runs);
    if t.rows.is_empty() {
        return Err(InputError::new(t.shown.clone(), "no configuration to plot").into());
    }
    let has_baseline = t.col("baseline").is_some();
    let agg = Agg {
        keys: (first..end.max(first)).collect(),
        t,
        label,
    };
    let available = |k: &str| agg.t.col(&format!("{k}.mean")).is_some();
    let metrics: Vec<String> = if metrics.is_empty() {
        DEFAULT_METRICS
            .iter()
            .filter(|k| available(k))
            .map(|k| k.to_string())
            .collect()
    } else {
        for m in metrics {
            if !available(m) {
                return Err(InputError::new(
                    "--metric",
                    format!("`{m}` is not a column of {} (no `{m}.mean`)", agg.t.shown),
                )
                .into());
            }
        }
        metrics.to_vec()
    };
    let n = agg.t.rows.len();
    let mut figs = Vec::new();
    for m in &metrics {
        let bars = (0..n)
            .map(|r| agg.bar(r, m, ""))
            .collect::<Result<Vec<_>, _>>()?;
        figs.push((
            format!("bars_{}", slug(m)),
            Figure::Bars(BarFigure {
                title: format!("{} per configuration", describe_short(m)),
                x_desc: describe(m),
                groups: vec![(describe_short(m), bars)],
                points: false,
            }),
        ));
        if has_baseline && agg.t.col(&format!("{m}.diff_mean")).is_some() {
            let bars = (0..n)
                .map(|r| agg.bar(r, m, "diff_"))
                .collect::<Result<Vec<_>, _>>()?;
            figs.push((
                format!("diff_{}", slug(m)),
                Figure::Bars(BarFigure {
                    title: format!("{}: difference from the baseline", describe_short(m)),
                    x_desc: format!("{}, paired by seed", describe(m)),
                    groups: vec![("configuration - baseline".into(), bars)],
                    points: true,
                }),
            ));
        }
    }
    // Response-time percentiles side by side.
    let present: Vec<(&str, &str)> = PERCENTILES
        .iter()
        .copied()
        .filter(|(k, _)| available(k))
        .collect();
    if !present.is_empty() {
        let groups = present
            .iter()
            .map(|(k, name)| {
                let bars = (0..n)
                    .map(|r| agg.bar(r, k, ""))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((name.to_string(), bars))
            })
            .collect::<Result<Vec<_>, InputError>>()?;
        figs.push((
            "response_percentiles".to_string(),
            Figure::Bars(BarFigure {
                title: "response time: mean and percentiles (95% CI)".into(),
                x_desc: "response time (ms)".into(),
                groups,
                points: true,
            }),
        ));
    }
    // Each metric against each numeric axis of more than one value, one line per combination
    // of the other keys.
    for (ai, &axis_col) in agg.keys.iter().enumerate() {
        let xs: Vec<Option<f64>> = (0..n)
            .map(|r| agg.t.text(r, axis_col).trim().parse::<f64>().ok())
            .collect();
        let mut distinct: Vec<f64> = xs.iter().flatten().cloned().collect();
        distinct.sort_by(f64::total_cmp);
        distinct.dedup();
        if xs.iter().any(Option::is_none) || distinct.len() < 2 {
            continue;
        }
        let axis_name = agg.t.header[axis_col].clone();
        let x_integer = distinct.iter().all(|v| v.fract() == 0.0);
        // Group rows by the values of the other key columns.
        let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
        for r in 0..n {
            let name: Vec<String> = agg
                .keys
                .iter()
                .enumerate()
                .filter(|(i, c)| *i != ai && varies(&agg.t, **c))
                .map(|(_, c)| {
                    let v = agg.t.text(r, *c);
                    if agg.t.header[*c] == "scenario" {
                        v.to_string()
                    } else {
                        format!("{}={v}", crate::batch::spec::short_name(&agg.t.header[*c]))
                    }
                })
                .collect();
            let name = if name.is_empty() {
                "mean".to_string()
            } else {
                name.join(", ")
            };
            match groups.iter_mut().find(|g| g.0 == name) {
                Some(g) => g.1.push(r),
                None => groups.push((name, vec![r])),
            }
        }
        for m in &metrics {
            let mut series = Vec::new();
            let mut bands = Vec::new();
            for (gi, (name, rows)) in groups.iter().enumerate() {
                let mut pts = Vec::new();
                for &r in rows {
                    let b = agg.bar(r, m, "")?;
                    pts.push((xs[r].unwrap_or(f64::NAN), b.mean, b.ci.0, b.ci.1));
                }
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                let c = color(gi);
                let mut line = Series::line(
                    name.clone(),
                    pts.iter()
                        .filter(|p| p.1.is_finite())
                        .map(|p| (p.0, p.1))
                        .collect(),
                    c,
                );
                line.dots = true;
                series.push(line);
                let band: Vec<(f64, f64, f64)> = pts
                    .iter()
                    .filter(|p| p.2.is_finite() && p.3.is_finite())
                    .map(|p| (p.0, p.2, p.3))
                    .collect();
                if band.len() >= 2 {
                    bands.push(Band {
                        name: if groups.len() == 1 {
                            "95% CI".into()
                        } else {
                            format!("{name}: 95% CI")
                        },
                        points: band,
                        color: c,
                    });
                }
            }
            figs.push((
                format!(
                    "{}_vs_{}",
                    slug(m),
                    slug(crate::batch::spec::short_name(&axis_name))
                ),
                Figure::Lines(LineFigure {
                    title: format!(
                        "{} against {}",
                        describe_short(m),
                        crate::batch::spec::short_name(&axis_name)
                    ),
                    x_desc: axis_name.clone(),
                    y_desc: describe(m),
                    series,
                    bands,
                    y_from_zero: true,
                    x_integer,
                    ..Default::default()
                }),
            ));
        }
    }
    Ok(figs)
}

/// Whether a column takes more than one value.
fn varies(t: &Table, c: usize) -> bool {
    let first = t.text(0, c);
    (1..t.rows.len()).any(|r| t.text(r, c) != first)
}

/// The description without its unit, for titles.
fn describe_short(key: &str) -> String {
    let d = describe(key);
    match d.rfind(" (") {
        Some(i) => d[..i].to_string(),
        None => d,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_file_names() {
        assert_eq!(slug("apps[0].tiers[1].replicas"), "apps_0_tiers_1_replicas");
        assert_eq!(slug("p95_response_ms"), "p95_response_ms");
    }
}
