//! Figures of one run: time series from `timeseries.csv` and `nodes.csv`, with the actions of
//! `actions.csv` (migrations, replica starts and stops, node power) marked as vertical lines.
//!
//! Each application gets its own load, response-time and tier figures (a run of several
//! applications is never plotted as one mixed curve); the infrastructure figures (nodes up,
//! power, per-node CPU) are drawn only for runs that have nodes.

use super::apps::{run_apps, RunApp};
use super::figure::{Band, LineFigure, Marker, Series};
use super::palette::{self, REFERENCE};
use super::scale::{fmt_num, Scale, ScaleChoice};
use super::{Figure, PlotError, PlotOptions, Table};
use crate::scenario::InputError;
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

fn column(t: &Table, c: usize) -> Result<Vec<Option<f64>>, InputError> {
    (0..t.rows.len()).map(|r| t.num(r, c)).collect()
}

fn numeric_column(t: &Table, name: &str) -> Result<Vec<Option<f64>>, InputError> {
    column(t, t.require(name)?)
}

fn points(xs: &[f64], ys: &[Option<f64>]) -> Vec<(f64, f64)> {
    xs.iter()
        .zip(ys)
        .filter_map(|(x, y)| y.map(|y| (*x, y)))
        .collect()
}

/// A series in the `i`-th palette slot (dashed from the seventh on).
fn nth(name: impl Into<String>, pts: Vec<(f64, f64)>, i: usize) -> Series {
    let mut s = Series::line(name, pts, palette::series(i));
    s.dashed = palette::series_dashed(i);
    s
}

/// What every figure of the run shares.
struct Run {
    x: Vec<f64>,
    axis: TimeAxis,
    /// Which run: "run <scenario>, seed <n> · <interval> intervals".
    subtitle: String,
    markers: Vec<Marker>,
    summary: Option<serde_json::Value>,
    scale: ScaleChoice,
}

impl Run {
    fn figure(&self, title: String, y_desc: &str) -> LineFigure {
        LineFigure {
            title,
            subtitle: self.subtitle.clone(),
            x_desc: self.axis.desc.into(),
            y_desc: y_desc.into(),
            markers: self.markers.clone(),
            y_from_zero: true,
            x_from_zero: true,
            ..Default::default()
        }
    }

    /// The SLA target of an application (its own, else the run's), in ms.
    fn sla_ms(&self, app: &str) -> Option<f64> {
        let s = self.summary.as_ref()?;
        s.get("apps")
            .and_then(|a| a.get(app))
            .and_then(|a| a.get("sla_target_ms"))
            .or_else(|| s.get("sla_target_ms"))
            .and_then(|v| v.as_f64())
    }
}

/// "rubis: " (or nothing for a file that names no application).
fn app_prefix(app: &RunApp) -> String {
    if app.name.is_empty() {
        String::new()
    } else {
        format!("{}: ", app.name)
    }
}

pub fn figures(dir: &Path, opts: &PlotOptions) -> Result<Vec<(String, Figure)>, PlotError> {
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
    // The columns every run has, checked before anything is drawn.
    for c in [
        "active_clients",
        "throughput_rps",
        "mean_response_ms",
        "p95_response_ms",
    ] {
        ts.require(c)?;
    }
    let axis = time_axis(time.iter().cloned().fold(0.0, f64::max));
    let x: Vec<f64> = time.iter().map(|t| t * axis.per_s).collect();
    let summary: Option<serde_json::Value> = std::fs::read_to_string(dir.join("summary.json"))
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok());
    let interval_s = match time.as_slice() {
        [a, b, ..] => b - a,
        [a] => *a,
        [] => 0.0,
    };
    let which = match summary
        .as_ref()
        .and_then(|s| s.get("scenario")?.as_str().map(String::from))
    {
        Some(n) => {
            let seed = summary
                .as_ref()
                .and_then(|s| s.get("seed")?.as_u64())
                .map(|s| format!(", seed {s}"))
                .unwrap_or_default();
            format!("run {n}{seed}")
        }
        None => format!("run {}", dir.display()),
    };
    let run = Run {
        subtitle: format!("{which} · values per {} s interval", fmt_num(interval_s)),
        markers: read_markers(dir, axis.per_s)?,
        x,
        axis,
        summary,
        scale: opts.scale,
    };
    let apps = run_apps(&ts);
    let mut figs = Vec::new();
    let several = apps.len() > 1;
    let all_names = apps
        .iter()
        .map(|a| a.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let per_app: Vec<&RunApp> = apps
        .iter()
        .filter(|a| !several || a.metrics.is_some())
        .collect();
    if several {
        // The totals of the load; response times are never mixed across applications.
        let total = RunApp {
            name: String::new(),
            metrics: None,
            tiers: Vec::new(),
        };
        let mut f = load_figure(&run, &ts, &total)?;
        f.title = format!("all applications ({all_names}): active clients and throughput");
        figs.push(("clients".to_string(), Figure::Lines(f)));
        if per_app.len() > 1 {
            figs.push((
                "response".to_string(),
                Figure::Lines(p95_per_app(&run, &ts, &per_app)?),
            ));
        } else if per_app.is_empty() {
            // Files without per-application columns: only the mixed totals exist, said so.
            let mut f = response_figure(&run, &ts, &total)?;
            f.title = format!("all applications ({all_names}) together: response time");
            figs.push(("response".to_string(), Figure::Lines(f)));
        }
    }
    for app in &per_app {
        let suffix = if several {
            format!("_{}", slug(&app.name))
        } else {
            String::new()
        };
        figs.push((
            format!("clients{suffix}"),
            Figure::Lines(load_figure(&run, &ts, app)?),
        ));
        figs.push((
            format!("response{suffix}"),
            Figure::Lines(response_figure(&run, &ts, app)?),
        ));
    }
    for app in &apps {
        if app.tiers.is_empty() {
            continue;
        }
        let suffix = if several {
            format!("_{}", slug(&app.name))
        } else {
            String::new()
        };
        figs.push((
            format!("cpu_tiers{suffix}"),
            Figure::Lines(tiers_figure(&run, &ts, app)?),
        ));
    }
    infrastructure_figures(&run, &ts, dir, &mut figs)?;
    Ok(figs)
}

/// A file-name-safe version of a name.
fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn app_column(ts: &Table, app: &RunApp, metric: &str) -> Result<Vec<Option<f64>>, InputError> {
    match app.col(ts, metric) {
        Some(c) => column(ts, c),
        None => numeric_column(ts, metric),
    }
}

/// Active clients and throughput of an application (or the totals).
fn load_figure(run: &Run, ts: &Table, app: &RunApp) -> Result<LineFigure, InputError> {
    let clients = app_column(ts, app, "active_clients")?;
    let thr = app_column(ts, app, "throughput_rps")?;
    let mut thr_series = nth("throughput", points(&run.x, &thr), 1);
    thr_series.secondary = true;
    let mut f = run.figure(
        format!("{}active clients and throughput", app_prefix(app)),
        "active clients (count)",
    );
    f.y2_desc = Some("throughput (requests/s)".into());
    f.series = vec![
        nth("active clients", points(&run.x, &clients), 0),
        thr_series,
    ];
    Ok(f)
}

/// The SLA target as a dashed reference line, when it is in the range of the data; far
/// above, it would flatten the curves to the bottom of the figure, so only the legend names it.
fn sla_series(run: &Run, sla: f64, top: f64, scale: Scale) -> Series {
    let (a, b) = (run.x[0], run.x[run.x.len() - 1]);
    let within = match scale {
        Scale::Linear => sla <= 2.0 * top,
        Scale::Log => sla <= 10.0 * top,
    };
    let mut s = if within {
        Series::line(
            format!("SLA target {} ms", fmt_num(sla)),
            vec![(a, sla), (b, sla)],
            REFERENCE,
        )
    } else {
        Series::line(
            format!("SLA target {} ms (above the range)", fmt_num(sla)),
            vec![],
            REFERENCE,
        )
    };
    s.dashed = true;
    s
}

/// The scale of a response-time time series: linear unless `--scale log` (intervals without
/// requests have no response time, so `auto` keeps a linear axis for time series).
fn time_series_scale(choice: ScaleChoice, values: impl IntoIterator<Item = f64>) -> Scale {
    match choice {
        ScaleChoice::Log => ScaleChoice::Log.pick(values),
        _ => Scale::Linear,
    }
}

/// Mean and p95 response time per interval, the band between them, the SLA target.
fn response_figure(run: &Run, ts: &Table, app: &RunApp) -> Result<LineFigure, InputError> {
    let mean = app_column(ts, app, "mean_response_ms")?;
    let p95 = app_column(ts, app, "p95_response_ms")?;
    let band: Vec<(f64, f64, f64)> = run
        .x
        .iter()
        .zip(mean.iter().zip(&p95))
        .filter_map(|(x, (m, p))| Some((*x, (*m)?, (*p)?)))
        .collect();
    let scale = time_series_scale(run.scale, p95.iter().chain(&mean).flatten().copied());
    let mut series = vec![
        nth("mean", points(&run.x, &mean), 0),
        nth("p95", points(&run.x, &p95), 3),
    ];
    if let Some(sla) = run.sla_ms(&app.name) {
        let top = p95.iter().flatten().cloned().fold(0.0, f64::max);
        series.push(sla_series(run, sla, top, scale));
    }
    let mut f = run.figure(
        format!(
            "{}response time per interval, mean and p95",
            app_prefix(app)
        ),
        if scale == Scale::Log {
            "response time (ms, log scale)"
        } else {
            "response time (ms)"
        },
    );
    f.series = series;
    f.bands = vec![Band {
        name: "mean to p95".into(),
        points: band,
        color: palette::series(3),
    }];
    f.y_scale = scale;
    Ok(f)
}

/// The p95 response time of every application, one line each, for comparison.
fn p95_per_app(run: &Run, ts: &Table, apps: &[&RunApp]) -> Result<LineFigure, InputError> {
    let mut series = Vec::new();
    let mut top = 0.0f64;
    let mut values = Vec::new();
    for (i, app) in apps.iter().enumerate() {
        let p95 = app_column(ts, app, "p95_response_ms")?;
        top = p95.iter().flatten().cloned().fold(top, f64::max);
        values.extend(p95.iter().flatten().copied());
        series.push(nth(app.name.clone(), points(&run.x, &p95), i));
    }
    let scale = time_series_scale(run.scale, values);
    // One target for all, when they share it.
    let targets: Vec<Option<f64>> = apps.iter().map(|a| run.sla_ms(&a.name)).collect();
    if let Some(Some(sla)) = targets.first() {
        if targets.iter().all(|t| *t == Some(*sla)) {
            series.push(sla_series(run, *sla, top, scale));
        }
    }
    let mut f = run.figure(
        "p95 response time per interval, per application".to_string(),
        "p95 response time (ms)",
    );
    f.series = series;
    f.y_scale = scale;
    Ok(f)
}

/// CPU utilisation of each tier of an application, as fractions.
fn tiers_figure(run: &Run, ts: &Table, app: &RunApp) -> Result<LineFigure, InputError> {
    let mut tiers = Vec::new();
    for (k, (tier, c)) in app.tiers.iter().enumerate() {
        tiers.push(nth(tier.clone(), points(&run.x, &column(ts, *c)?), k));
    }
    let mut f = run.figure(
        format!("{}CPU utilisation per tier", app_prefix(app)),
        "utilisation of the tier's CPU (fraction)",
    );
    f.series = tiers;
    f.y_range = Some((0.0, 1.05));
    Ok(f)
}

/// Nodes up, power and energy, CPU per node: only for runs that have nodes (a run without
/// infrastructure writes zeros, which would be empty figures).
fn infrastructure_figures(
    run: &Run,
    ts: &Table,
    dir: &Path,
    figs: &mut Vec<(String, Figure)>,
) -> Result<(), PlotError> {
    let ever_positive = |v: &[Option<f64>]| v.iter().flatten().any(|x| *x > 0.0 && x.is_finite());
    if ts.col("nodes_up").is_some() {
        let up = numeric_column(ts, "nodes_up")?;
        if ever_positive(&up) {
            let mut s = nth("nodes booting, on or shutting down", points(&run.x, &up), 0);
            s.steps = true;
            let mut f = run.figure("nodes up".into(), "nodes up (count)");
            f.series = vec![s];
            f.y_integer = true;
            figs.push(("nodes".to_string(), Figure::Lines(f)));
        }
    }
    if ts.col("power_w").is_some() && ts.col("energy_kwh").is_some() {
        let p = numeric_column(ts, "power_w")?;
        let e = numeric_column(ts, "energy_kwh")?;
        if ever_positive(&p) {
            let mut es = nth("energy since start", points(&run.x, &e), 2);
            es.secondary = true;
            let mut f = run.figure(
                "power and energy of all nodes".into(),
                "mean power over the interval (W)",
            );
            f.y2_desc = Some("energy since start (kWh)".into());
            f.series = vec![nth("power", points(&run.x, &p), 1), es];
            figs.push(("power".to_string(), Figure::Lines(f)));
        }
    }
    let nodes_path = dir.join("nodes.csv");
    if nodes_path.is_file() {
        let nt = Table::read(&nodes_path)?;
        let (tc, nc, uc) = (
            nt.require("time_s")?,
            nt.require("node")?,
            nt.require("utilisation")?,
        );
        let state = nt.col("state");
        let mut names: Vec<String> = Vec::new();
        let mut per_node: Vec<Vec<(f64, f64)>> = Vec::new();
        let mut ever_up: Vec<bool> = Vec::new();
        for r in 0..nt.rows.len() {
            let node = nt.text(r, nc).to_string();
            let i = match names.iter().position(|n| *n == node) {
                Some(i) => i,
                None => {
                    names.push(node);
                    per_node.push(Vec::new());
                    ever_up.push(false);
                    names.len() - 1
                }
            };
            let u = nt.num(r, uc)?;
            ever_up[i] |= match state {
                Some(sc) => nt.text(r, sc) != "off",
                None => u.is_some_and(|u| u > 0.0),
            };
            if let (Some(t), Some(u)) = (nt.num(r, tc)?, u) {
                per_node[i].push((t * run.axis.per_s, u));
            }
        }
        // Nodes off all along would be flat lines at zero, on top of each other.
        let total = names.len();
        let shown: Vec<(String, Vec<(f64, f64)>)> = names
            .into_iter()
            .zip(per_node)
            .zip(&ever_up)
            .filter(|(_, up)| **up)
            .map(|(np, _)| np)
            .collect();
        if !shown.is_empty() {
            let title = if shown.len() < total {
                format!(
                    "CPU utilisation per node ({} of {total} nodes never on, not drawn)",
                    total - shown.len()
                )
            } else {
                "CPU utilisation per node".to_string()
            };
            let mut f = run.figure(title, "CPU utilisation of the node (fraction)");
            f.series = shown
                .into_iter()
                .enumerate()
                .map(|(k, (n, p))| nth(n, p, k))
                .collect();
            f.y_range = Some((0.0, 1.05));
            figs.push(("cpu_nodes".to_string(), Figure::Lines(f)));
        }
    }
    Ok(())
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
            color: palette::marker(&kind),
        });
    }
    Ok(out)
}
