//! Figures of one run: time series from `timeseries.csv` and `nodes.csv`, with the actions of
//! `actions.csv` (migrations, replica starts and stops, node power) marked as vertical lines.

use super::figure::{color, Band, LineFigure, Marker, Series};
use super::{Figure, PlotError, Table};
use crate::scenario::InputError;
use plotters::style::RGBColor;
use std::path::Path;

/// Time on the x axis: minutes for runs longer than 10 minutes, seconds otherwise.
struct TimeAxis {
    per_s: f64,
    desc: &'static str,
}

fn time_axis(max_s: f64) -> TimeAxis {
    if max_s > 600.0 {
        TimeAxis {
            per_s: 1.0 / 60.0,
            desc: "time (min)",
        }
    } else {
        TimeAxis {
            per_s: 1.0,
            desc: "time (s)",
        }
    }
}

/// The colour of an action kind's markers, the same in every figure.
fn marker_color(kind: &str) -> RGBColor {
    match kind {
        "migrate" => RGBColor(214, 39, 40),
        "start-replica" => RGBColor(44, 160, 44),
        "stop-replica" => RGBColor(148, 103, 189),
        "power-on" => RGBColor(255, 127, 14),
        "power-off" => RGBColor(127, 127, 127),
        _ => RGBColor(23, 190, 207),
    }
}

fn numeric_column(t: &Table, name: &str) -> Result<Vec<Option<f64>>, InputError> {
    let c = t.require(name)?;
    (0..t.rows.len()).map(|r| t.num(r, c)).collect()
}

fn points(xs: &[f64], ys: &[Option<f64>], scale: f64) -> Vec<(f64, f64)> {
    xs.iter()
        .zip(ys)
        .filter_map(|(x, y)| y.map(|y| (*x, y * scale)))
        .collect()
}

pub fn figures(dir: &Path) -> Result<Vec<(String, Figure)>, PlotError> {
    let ts = Table::read(&dir.join("timeseries.csv"))?;
    if ts.rows.is_empty() {
        return Err(InputError::new(ts.shown.clone(), "no rows to plot").into());
    }
    let time: Vec<f64> = numeric_column(&ts, "time_s")?
        .into_iter()
        .enumerate()
        .map(|(r, t)| {
            t.ok_or_else(|| {
                InputError::new(ts.shown.clone(), "empty time")
                    .at_line(Some(ts.rows[r].0))
                    .field("time_s")
            })
        })
        .collect::<Result<_, _>>()?;
    let axis = time_axis(time.iter().cloned().fold(0.0, f64::max));
    let x: Vec<f64> = time.iter().map(|t| t * axis.per_s).collect();

    // The scenario name and SLA target, when the summary is there.
    let summary: Option<serde_json::Value> = std::fs::read_to_string(dir.join("summary.json"))
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok());
    let name = summary
        .as_ref()
        .and_then(|s| s.get("scenario")?.as_str().map(String::from))
        .map(|n| {
            let seed = summary
                .as_ref()
                .and_then(|s| s.get("seed")?.as_u64())
                .map(|s| format!(", seed {s}"))
                .unwrap_or_default();
            format!("{n}{seed}: ")
        })
        .unwrap_or_default();
    let sla_ms = summary
        .as_ref()
        .and_then(|s| s.get("sla_target_ms")?.as_f64());

    let markers = read_markers(dir, axis.per_s)?;
    let mut figs = Vec::new();

    // Load: clients and throughput.
    let clients = numeric_column(&ts, "active_clients")?;
    let thr = numeric_column(&ts, "throughput_rps")?;
    let mut thr_series = Series::line("throughput", points(&x, &thr, 1.0), color(1));
    thr_series.secondary = true;
    figs.push((
        "clients".to_string(),
        Figure::Lines(LineFigure {
            title: format!("{name}load"),
            x_desc: axis.desc.into(),
            y_desc: "active clients".into(),
            y2_desc: Some("throughput (requests/s)".into()),
            series: vec![
                Series::line("active clients", points(&x, &clients, 1.0), color(0)),
                thr_series,
            ],
            markers: markers.clone(),
            y_from_zero: true,
            ..Default::default()
        }),
    ));

    // Response time: mean and p95, the band between them, the SLA target.
    let mean = numeric_column(&ts, "mean_response_ms")?;
    let p95 = numeric_column(&ts, "p95_response_ms")?;
    let band: Vec<(f64, f64, f64)> = x
        .iter()
        .zip(mean.iter().zip(&p95))
        .filter_map(|(x, (m, p))| Some((*x, (*m)?, (*p)?)))
        .collect();
    let mut series = vec![
        Series::line("mean", points(&x, &mean, 1.0), color(0)),
        Series::line("p95", points(&x, &p95, 1.0), color(3)),
    ];
    if let Some(sla) = sla_ms {
        // Drawn when it is in the range of the data; far above, it would flatten the curves
        // to the bottom of the figure, so only the legend names it.
        let top = p95.iter().flatten().cloned().fold(0.0, f64::max);
        let (a, b) = (x[0], x[x.len() - 1]);
        let mut s = if sla <= 2.0 * top {
            Series::line(
                format!("SLA target {sla} ms"),
                vec![(a, sla), (b, sla)],
                RGBColor(60, 60, 60),
            )
        } else {
            Series::line(
                format!("SLA target {sla} ms (above the range)"),
                vec![],
                RGBColor(60, 60, 60),
            )
        };
        s.dashed = true;
        series.push(s);
    }
    figs.push((
        "response".to_string(),
        Figure::Lines(LineFigure {
            title: format!("{name}response time per interval"),
            x_desc: axis.desc.into(),
            y_desc: "response time (ms)".into(),
            series,
            bands: vec![Band {
                name: "mean to p95".into(),
                points: band,
                color: color(3),
            }],
            markers: markers.clone(),
            y_from_zero: true,
            ..Default::default()
        }),
    ));

    // Per-tier utilisation (always there).
    let tier_cols: Vec<(usize, String)> = ts
        .header
        .iter()
        .enumerate()
        .filter_map(|(i, h)| {
            h.strip_prefix("tier_utilisation.")
                .or_else(|| h.strip_prefix("util."))
                .map(|t| (i, t.to_string()))
        })
        .collect();
    let mut tiers = Vec::new();
    for (k, (c, t)) in tier_cols.iter().enumerate() {
        let ys: Vec<Option<f64>> = (0..ts.rows.len())
            .map(|r| ts.num(r, *c))
            .collect::<Result<_, _>>()?;
        tiers.push(Series::line(t.clone(), points(&x, &ys, 100.0), color(k)));
    }
    figs.push((
        "cpu_tiers".to_string(),
        Figure::Lines(LineFigure {
            title: format!("{name}CPU utilisation per tier"),
            x_desc: axis.desc.into(),
            y_desc: "utilisation of the tier's CPU (%)".into(),
            series: tiers,
            markers: markers.clone(),
            y_range: Some((0.0, 105.0)),
            ..Default::default()
        }),
    ));

    // Infrastructure figures, when the run has nodes.
    if ts.col("nodes_up").is_some() {
        let up = numeric_column(&ts, "nodes_up")?;
        let mut s = Series::line(
            "nodes up (booting, on or shutting down)",
            points(&x, &up, 1.0),
            color(0),
        );
        s.steps = true;
        figs.push((
            "nodes".to_string(),
            Figure::Lines(LineFigure {
                title: format!("{name}nodes up"),
                x_desc: axis.desc.into(),
                y_desc: "nodes up (count)".into(),
                series: vec![s],
                markers: markers.clone(),
                y_from_zero: true,
                y_integer: true,
                ..Default::default()
            }),
        ));
    }
    if ts.col("power_w").is_some() && ts.col("energy_kwh").is_some() {
        let p = numeric_column(&ts, "power_w")?;
        let e = numeric_column(&ts, "energy_kwh")?;
        let mut es = Series::line("energy since start", points(&x, &e, 1.0), color(2));
        es.secondary = true;
        figs.push((
            "power".to_string(),
            Figure::Lines(LineFigure {
                title: format!("{name}power and energy"),
                x_desc: axis.desc.into(),
                y_desc: "mean power over the interval (W)".into(),
                y2_desc: Some("energy (kWh)".into()),
                series: vec![
                    Series::line("power, all nodes", points(&x, &p, 1.0), color(1)),
                    es,
                ],
                markers: markers.clone(),
                y_from_zero: true,
                ..Default::default()
            }),
        ));
    }
    let nodes_path = dir.join("nodes.csv");
    if nodes_path.is_file() {
        let nt = Table::read(&nodes_path)?;
        let (tc, nc, uc) = (
            nt.require("time_s")?,
            nt.require("node")?,
            nt.require("utilisation")?,
        );
        let mut names: Vec<String> = Vec::new();
        let mut per_node: Vec<Vec<(f64, f64)>> = Vec::new();
        for r in 0..nt.rows.len() {
            let node = nt.text(r, nc).to_string();
            let i = match names.iter().position(|n| *n == node) {
                Some(i) => i,
                None => {
                    names.push(node);
                    per_node.push(Vec::new());
                    names.len() - 1
                }
            };
            if let (Some(t), Some(u)) = (nt.num(r, tc)?, nt.num(r, uc)?) {
                per_node[i].push((t * axis.per_s, 100.0 * u));
            }
        }
        if !names.is_empty() {
            figs.push((
                "cpu_nodes".to_string(),
                Figure::Lines(LineFigure {
                    title: format!("{name}CPU utilisation per node"),
                    x_desc: axis.desc.into(),
                    y_desc: "busy share of the node's cores (%)".into(),
                    series: names
                        .into_iter()
                        .zip(per_node)
                        .enumerate()
                        .map(|(k, (n, p))| Series::line(n, p, color(k)))
                        .collect(),
                    markers,
                    y_range: Some((0.0, 105.0)),
                    ..Default::default()
                }),
            ));
        }
    }
    Ok(figs)
}

/// The actions of `actions.csv` that took place (done, failed or still in progress), as markers
/// at their start. No file, no markers.
fn read_markers(dir: &Path, per_s: f64) -> Result<Vec<Marker>, InputError> {
    let path = dir.join("actions.csv");
    if !path.is_file() {
        return Ok(Vec::new());
    }
    let t = Table::read(&path)?;
    let (sc, kc, oc) = (
        t.require("start_s")?,
        t.require("kind")?,
        t.require("outcome")?,
    );
    let mut out = Vec::new();
    for r in 0..t.rows.len() {
        let outcome = t.text(r, oc);
        if outcome == "refused" {
            continue;
        }
        let kind = t.text(r, kc).to_string();
        let Some(start) = t.num(r, sc)? else {
            continue;
        };
        let label = if outcome == "failed" {
            format!("{kind} (failed)")
        } else {
            kind.clone()
        };
        out.push(Marker {
            x: start * per_s,
            kind: label,
            color: marker_color(&kind),
        });
    }
    Ok(out)
}
