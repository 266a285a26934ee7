//! `reconf plot`: the figures exist, are valid SVG and PNG of the expected size, are not blank,
//! carry their axis labels with units and titles that say what they show; legends cover no
//! data; log scales, baselines, differences against axes, per-application figures and fractions
//! are as documented; bad input is one line, exit 2, and no figure folder.
//!
//! Besides real runs and sweeps, hand-written files of the per-application layout (convention
//! 3: `apps.<app>.*` and `tier_utilisation.<app>.<tier>` columns) check what real multi-app
//! outputs will give.

mod common;
use common::{reconf, stderr};
use reconf::plot::figure::{BarFigure, LineFigure};
use reconf::plot::palette;
use reconf::plot::{figures_of, rasterize, Figure, PlotOptions, ScaleChoice};
use std::collections::HashSet;
use std::path::Path;

fn repo(p: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(p)
        .display()
        .to_string()
}

/// Decodes a PNG; returns (width, height, number of distinct colours, share of non-white pixels).
fn png_stats(path: &Path) -> (u32, u32, usize, f64) {
    let file = std::fs::File::open(path).unwrap();
    let mut dec = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut buf = vec![0; dec.output_buffer_size()];
    let info = dec.next_frame(&mut buf).unwrap();
    let bytes = &buf[..info.buffer_size()];
    let px = info.color_type.samples();
    let mut colours = HashSet::new();
    let mut inked = 0usize;
    for p in bytes.chunks(px) {
        colours.insert(p[..3].to_vec());
        if p[..3] != [255, 255, 255] {
            inked += 1;
        }
    }
    let total = (info.width * info.height) as f64;
    (info.width, info.height, colours.len(), inked as f64 / total)
}

fn check_figure(dir: &Path, name: &str, label: &str) {
    let svg = std::fs::read_to_string(dir.join(format!("{name}.svg")))
        .unwrap_or_else(|e| panic!("{name}.svg: {e}"));
    assert!(
        svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
        "{name}.svg"
    );
    assert!(
        svg.contains("width=\"800\"") && svg.contains("height=\"500\""),
        "{name}.svg size"
    );
    assert!(
        svg_texts(&svg).iter().any(|t| t.contains(label)),
        "{name}.svg lacks `{label}`"
    );
    assert!(
        svg.matches("<polyline").count() + svg.matches("<rect").count() > 3,
        "{name}.svg is empty"
    );
    let (w, h, colours, inked) = png_stats(&dir.join(format!("{name}.png")));
    assert_eq!((w, h), (800, 500), "{name}.png");
    assert!(colours > 10, "{name}.png has {colours} colours");
    assert!(
        inked > 0.02 && inked < 0.9,
        "{name}.png: {inked} of the pixels inked"
    );
}

/// The texts of an SVG (`<text ...>content</text>`), unescaped enough for comparisons.
fn svg_texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let start = t.find('>')? + 1;
            let end = t.find("</text>")?;
            Some(
                t[start..end]
                    .trim()
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&#39;", "'")
                    .replace("&apos;", "'")
                    .replace("&quot;", "\"")
                    .replace("&amp;", "&"),
            )
        })
        .collect()
}

/// Every text of every SVG in `dir`, by file.
fn all_texts(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "svg") {
            let svg = std::fs::read_to_string(&p).unwrap();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            out.extend(svg_texts(&svg).into_iter().map(|t| (name.clone(), t)));
        }
    }
    out
}

/// No tick, label, title or legend reads `-0` (or `-0.0`...).
fn assert_no_negative_zero(dir: &Path) {
    for (file, text) in all_texts(dir) {
        for word in text.split(|c: char| c.is_whitespace() || c == ',' || c == '(' || c == ')') {
            let neg_zero = word
                .strip_prefix('-')
                .is_some_and(|r| !r.is_empty() && r.chars().all(|c| c == '0' || c == '.'));
            assert!(!neg_zero, "{file}: `{text}`");
        }
    }
}

fn run_folder(d: &Path, scenario: &str, out: &str, sets: &[&str]) {
    let mut args = vec!["run", scenario, "--out", out];
    for s in sets {
        args.extend(["--set", s]);
    }
    let o = reconf(&args, d);
    assert!(o.status.success(), "{}", stderr(&o));
}

fn figures(dir: &Path) -> Vec<(String, Figure)> {
    figures_of(dir, &PlotOptions::default()).unwrap_or_else(|e| panic!("{e:?}"))
}

fn lines<'a>(figs: &'a [(String, Figure)], name: &str) -> &'a LineFigure {
    match figs.iter().find(|(n, _)| n == name) {
        Some((_, Figure::Lines(f))) => f,
        _ => panic!(
            "no line figure {name} in {:?}",
            figs.iter().map(|f| &f.0).collect::<Vec<_>>()
        ),
    }
}

fn bars<'a>(figs: &'a [(String, Figure)], name: &str) -> &'a BarFigure {
    match figs.iter().find(|(n, _)| n == name) {
        Some((_, Figure::Bars(f))) => f,
        _ => panic!(
            "no bar figure {name} in {:?}",
            figs.iter().map(|f| &f.0).collect::<Vec<_>>()
        ),
    }
}

fn names(figs: &[(String, Figure)]) -> Vec<&str> {
    figs.iter().map(|f| f.0.as_str()).collect()
}

#[test]
fn a_run_folder_gives_time_series_with_actions_marked() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run_folder(
        d,
        &repo("scenarios/examples/scripted-restart.toml"),
        "run",
        &[],
    );
    let o = reconf(&["plot", "run"], d);
    assert!(o.status.success(), "{}", stderr(&o));
    let figs = d.join("run/figures");
    check_figure(&figs, "clients", "active clients (count)");
    check_figure(&figs, "response", "response time (ms)");
    check_figure(
        &figs,
        "cpu_tiers",
        "utilisation of the tier's CPU (fraction)",
    );
    check_figure(&figs, "nodes", "nodes up (count)");
    check_figure(&figs, "power", "energy since start (kWh)");
    check_figure(&figs, "cpu_nodes", "node-0");
    // The scripted replica start and stop are marked, with a legend entry.
    let svg = std::fs::read_to_string(figs.join("response.svg")).unwrap();
    assert!(svg.contains("start-replica") && svg.contains("stop-replica"));
    assert!(svg.contains("time (min)"));
    // Titles say what (application, metric), subtitles which run.
    let texts = svg_texts(&svg);
    assert!(texts.contains(&"rubis: response time per interval, mean and p95".to_string()));
    assert!(
        texts.contains(&"run scripted-restart, seed 1 · values per 10 s interval".to_string()),
        "{texts:?}"
    );
    assert_no_negative_zero(&figs);
    // Atomic writes leave no temporary.
    for e in std::fs::read_dir(&figs).unwrap() {
        let n = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(n.ends_with(".svg") || n.ends_with(".png"), "{n}");
    }
}

#[test]
fn a_sweep_folder_gives_comparisons_with_confidence_intervals() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = reconf(
        &[
            "sweep",
            &repo("scenarios/examples/rubis.toml"),
            "--seeds",
            "3",
            "--set",
            "duration_s=300",
            "--set",
            "apps[0].tiers[1].replicas=1,2,3",
            "--baseline",
            "replicas=2",
            "--out",
            "sw",
            "-q",
        ],
        d,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = reconf(&["plot", "sw", "--out", "figs"], d);
    assert!(o.status.success(), "{}", stderr(&o));
    let figs = d.join("figs");
    check_figure(&figs, "bars_p95_response_ms", "replicas=3");
    check_figure(&figs, "diff_p95_response_ms", "paired by seed");
    check_figure(&figs, "response_percentiles", "p99");
    check_figure(
        &figs,
        "p95_response_ms_vs_replicas",
        "apps[0].tiers[1].replicas (count)",
    );
    check_figure(
        &figs,
        "diff_p95_response_ms_vs_replicas",
        "difference in p95 response time (ms)",
    );
    check_figure(
        &figs,
        "bars_sla_violation_fraction",
        "SLA violations (fraction of requests)",
    );
    // The differences name their baseline and leave it out (it is 0 against itself).
    let diff = std::fs::read_to_string(figs.join("diff_p95_response_ms.svg")).unwrap();
    let texts = svg_texts(&diff);
    assert!(
        texts.contains(&"rubis: p95 response time: difference from replicas=2".to_string()),
        "{texts:?}"
    );
    assert!(texts.contains(&"replicas=1".to_string()));
    assert!(!texts.contains(&"replicas=2".to_string()), "{texts:?}");
    let bars = svg_texts(&std::fs::read_to_string(figs.join("bars_p95_response_ms.svg")).unwrap());
    assert!(bars.contains(&"replicas=2".to_string()));
    assert!(
        bars.contains(&"sweep sw · 3 configurations × 3 seeds · bar: mean, whisker: 95% CI".into()),
        "{bars:?}"
    );
    // A sweep without infrastructure has no node-hours, energy or migrations to show.
    for m in ["node_hours", "energy_kwh", "migrations"] {
        assert!(!figs.join(format!("bars_{m}.png")).exists(), "{m}");
    }
    assert_no_negative_zero(&figs);
    // --metric narrows the figures, and draws what is asked even if all zero.
    let o = reconf(
        &[
            "plot",
            "sw",
            "--out",
            "one",
            "--metric",
            "throughput_rps",
            "--metric",
            "energy_kwh",
        ],
        d,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(d.join("one/bars_throughput_rps.png").is_file());
    assert!(d.join("one/bars_energy_kwh.png").is_file());
    assert!(!d.join("one/bars_p95_response_ms.png").exists());
}

/// Draws `fig` with and without its legend: where the legend goes, the figure without it must
/// show only background (white, light grey grid lines), no data of any colour.
fn assert_legend_covers_no_data(name: &str, fig: &Figure) {
    let with = rasterize(fig, true).unwrap();
    let without = rasterize(fig, false).unwrap();
    let Some((l, t, r, b)) = with.legend else {
        return;
    };
    assert_eq!(without.legend, with.legend, "{name}: same layout");
    let w = with.width as i32;
    let px = |img: &[u8], x: i32, y: i32| {
        let i = ((y * w + x) * 3) as usize;
        [img[i], img[i + 1], img[i + 2]]
    };
    let mut legend_ink = 0;
    for y in t.max(0)..b.min(with.height as i32) {
        for x in l.max(0)..r.min(w) {
            let p = px(&without.rgb, x, y);
            let (lo, hi) = (*p.iter().min().unwrap(), *p.iter().max().unwrap());
            assert!(
                lo >= 215 && hi - lo < 12,
                "{name}: the legend at ({l}, {t})-({r}, {b}) covers {p:?} at ({x}, {y})"
            );
            if px(&with.rgb, x, y) != p {
                legend_ink += 1;
            }
        }
    }
    assert!(legend_ink > 100, "{name}: the legend is drawn");
}

#[test]
fn legends_never_cover_data() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Migrations all over (markers across the plot), replica starts, a sweep with bands of
    // groups, several series.
    run_folder(d, &repo("scenarios/paper/migration-steps.toml"), "mig", &[]);
    run_folder(
        d,
        &repo("scenarios/examples/scripted-restart.toml"),
        "restart",
        &[],
    );
    let o = reconf(
        &[
            "sweep",
            &repo("scenarios/examples/rubis.toml"),
            "--seeds",
            "2",
            "--set",
            "duration_s=120",
            "--set",
            "apps[0].tiers[1].replicas=1,2,3",
            "--set",
            "apps[0].tiers[1].cores=1,2",
            "--baseline",
            "replicas=2",
            "--out",
            "sw",
            "-q",
        ],
        d,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let mut with_legend = 0;
    for run in ["mig", "restart", "sw"] {
        for (name, fig) in figures(&d.join(run)) {
            assert_legend_covers_no_data(&format!("{run}/{name}"), &fig);
            with_legend += rasterize(&fig, true).unwrap().legend.is_some() as usize;
        }
    }
    assert!(with_legend > 10, "{with_legend} figures with a legend");
}

#[test]
fn runs_without_infrastructure_have_no_node_or_power_figures() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run_folder(
        d,
        &repo("scenarios/examples/rubis.toml"),
        "run",
        &["duration_s=120"],
    );
    let o = reconf(&["plot", "run"], d);
    assert!(o.status.success(), "{}", stderr(&o));
    let figs = d.join("run/figures");
    for name in ["clients", "response", "cpu_tiers"] {
        assert!(figs.join(format!("{name}.png")).is_file(), "{name}");
    }
    for name in ["nodes", "power", "cpu_nodes"] {
        assert!(!figs.join(format!("{name}.png")).exists(), "{name}");
    }
    // The run writes `-0` for its zero energy; nothing of it reaches the figures.
    assert_no_negative_zero(&figs);
}

/// An aggregate row: label, scenario, the values of the axes, baseline config id.
struct Row {
    label: String,
    scenario: String,
    axes: Vec<String>,
    baseline: Option<usize>,
}

impl Row {
    fn new(label: &str, scenario: &str, axes: &[String], baseline: Option<usize>) -> Row {
        Row {
            label: label.into(),
            scenario: scenario.into(),
            axes: axes.to_vec(),
            baseline,
        }
    }
}

/// A metric's statistics per row: (mean, ci_low, ci_high, diff_mean, diff_ci_low, diff_ci_high).
type Stats = Vec<(f64, f64, f64, f64, f64, f64)>;

/// Writes `aggregate.csv` (the layout `reconf sweep` writes) and a `sweep.json` with `seeds`.
fn write_sweep(dir: &Path, axes: &[&str], rows: &[Row], metrics: &[(&str, Stats)], seeds: u32) {
    std::fs::create_dir_all(dir).unwrap();
    let has_baseline = rows.iter().any(|r| r.baseline.is_some());
    let mut header: Vec<String> = ["config", "label", "scenario"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    header.extend(axes.iter().map(|a| a.to_string()));
    if has_baseline {
        header.push("baseline".into());
    }
    header.extend(["runs", "runs_ok", "runs_failed"].map(String::from));
    for (k, _) in metrics {
        for s in [
            "n",
            "mean",
            "sd",
            "ci_low",
            "ci_high",
            "diff_n",
            "diff_mean",
            "diff_ci_low",
            "diff_ci_high",
        ] {
            header.push(format!("{k}.{s}"));
        }
    }
    let mut w = csv::Writer::from_path(dir.join("aggregate.csv")).unwrap();
    w.write_record(&header).unwrap();
    for (i, r) in rows.iter().enumerate() {
        let mut rec: Vec<String> = vec![i.to_string(), r.label.clone(), r.scenario.clone()];
        rec.extend(r.axes.iter().cloned());
        if has_baseline {
            rec.push(r.baseline.map(|b| b.to_string()).unwrap_or_default());
        }
        rec.extend([seeds.to_string(), seeds.to_string(), "0".into()]);
        for (_, stats) in metrics {
            let (m, lo, hi, dm, dlo, dhi) = stats[i];
            rec.extend([
                seeds.to_string(),
                m.to_string(),
                "1".into(),
                lo.to_string(),
                hi.to_string(),
                seeds.to_string(),
                dm.to_string(),
                dlo.to_string(),
                dhi.to_string(),
            ]);
        }
        w.write_record(&rec).unwrap();
    }
    w.flush().unwrap();
    std::fs::write(
        dir.join("sweep.json"),
        format!("{{\"seeds\": {seeds}, \"configs\": []}}"),
    )
    .unwrap();
}

/// The four strategies of the paper's ramp: p95 from 63 ms to 6.5 s.
fn paper_like(dir: &Path) {
    let rows: Vec<Row> = ["migration", "restart", "static-min", "static-peak"]
        .iter()
        .map(|s| Row::new(s, s, &[], Some(3)))
        .collect();
    let p95: Stats = vec![
        (119.0, 114.0, 124.0, 56.0, 51.0, 61.0),
        (95.0, 92.0, 98.0, 32.0, 29.0, 35.0),
        (6534.0, 6421.0, 6647.0, 6471.0, 6358.0, 6584.0),
        (63.0, 63.0, 63.0, 0.0, 0.0, 0.0),
    ];
    let sla: Stats = vec![
        (0.0018, 0.0007, 0.0029, 0.0018, 0.0007, 0.0029),
        (0.0008, 0.0005, 0.0011, 0.0008, 0.0005, 0.0011),
        (0.426, 0.4226, 0.4294, 0.426, 0.4226, 0.4294),
        (0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
    ];
    // Node-hours within one decade; energy differences that round to zero or below it.
    let nh: Stats = vec![
        (2.59, 2.58, 2.6, -2.41, -2.42, -2.4),
        (4.01, 4.0, 4.02, -0.99, -1.0, -0.98),
        (3.0, 3.0, 3.0, -2.0, -2.0, -2.0),
        (5.0, 5.0, 5.0, -0.0, -0.0, -0.0),
    ];
    let energy: Stats = vec![
        (0.293, 0.292, 0.294, -1e-17, -2e-17, 0.0),
        (0.424, 0.423, 0.425, -0.0, -0.0, -0.0),
        (0.321, 0.321, 0.321, -0.196, -0.197, -0.195),
        (0.517, 0.517, 0.517, 0.0, 0.0, 0.0),
    ];
    write_sweep(
        dir,
        &[],
        &rows,
        &[
            ("p95_response_ms", p95),
            ("sla_violation_fraction", sla),
            ("node_hours", nh),
            ("energy_kwh", energy),
            (
                "tier_utilisation.rubis.app",
                vec![(0.5, 0.4, 0.6, 0.0, 0.0, 0.0); 4],
            ),
        ],
        5,
    );
}

#[test]
fn a_log_scale_is_chosen_when_bars_span_more_than_two_decades() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    paper_like(&d.join("sw"));
    let figs = figures(&d.join("sw"));
    // 63 ms to 6.5 s: log; node-hours 2.6 to 5: linear; SLA fractions include 0: linear.
    let p95 = bars(&figs, "bars_p95_response_ms");
    assert_eq!(p95.scale, reconf::plot::scale::Scale::Log);
    assert_eq!(p95.x_desc, "p95 response time (ms, log scale)");
    let nh = bars(&figs, "bars_node_hours");
    assert_eq!(nh.scale, reconf::plot::scale::Scale::Linear);
    let sla = bars(&figs, "bars_sla_violation_fraction");
    assert_eq!(sla.scale, reconf::plot::scale::Scale::Linear);
    // On the figure: decades as ticks.
    let o = reconf(&["plot", "sw"], d);
    assert!(o.status.success(), "{}", stderr(&o));
    let texts =
        svg_texts(&std::fs::read_to_string(d.join("sw/figures/bars_p95_response_ms.svg")).unwrap());
    for t in [
        "10",
        "100",
        "1000",
        "10000",
        "p95 response time (ms, log scale)",
    ] {
        assert!(texts.contains(&t.to_string()), "{t}: {texts:?}");
    }
    assert_no_negative_zero(&d.join("sw/figures"));
    // --scale linear and --scale log override.
    let linear = figures_of(
        &d.join("sw"),
        &PlotOptions {
            scale: ScaleChoice::Linear,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        bars(&linear, "bars_p95_response_ms").scale,
        reconf::plot::scale::Scale::Linear
    );
    let log = figures_of(
        &d.join("sw"),
        &PlotOptions {
            scale: ScaleChoice::Log,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        bars(&log, "bars_node_hours").scale,
        reconf::plot::scale::Scale::Log
    );
    // Not for values that include zero.
    assert_eq!(
        bars(&log, "bars_sla_violation_fraction").scale,
        reconf::plot::scale::Scale::Linear
    );
    let o = reconf(&["plot", "sw", "--scale", "sideways"], d);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn difference_figures_name_the_baseline_and_leave_it_out() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    paper_like(&d.join("sw"));
    let figs = figures(&d.join("sw"));
    let diff = bars(&figs, "diff_p95_response_ms");
    assert_eq!(
        diff.title,
        "rubis: p95 response time: difference from static-peak"
    );
    let labels: Vec<&str> = diff.groups[0].1.iter().map(|b| b.label.as_str()).collect();
    assert_eq!(labels, ["migration", "restart", "static-min"]);
    assert_eq!(diff.groups[0].1[1].mean, 32.0);
    // Positive differences spanning two decades and more: log too.
    assert_eq!(diff.scale, reconf::plot::scale::Scale::Log);
    // Differences of both signs: linear, with the zero line.
    assert_eq!(
        bars(&figs, "diff_node_hours").scale,
        reconf::plot::scale::Scale::Linear
    );
    assert_eq!(
        bars(&figs, "diff_node_hours").x_desc,
        "difference in node-hours (h)"
    );
    // The configuration axis of bars has every configuration, baseline included.
    assert_eq!(bars(&figs, "bars_p95_response_ms").rows(), 4);
}

/// A sweep of 1, 2, 3 replicas by 1, 2 cores, baseline 2 replicas of the same cores.
fn replicas_by_cores(dir: &Path) {
    let mut rows = Vec::new();
    let mut p95: Stats = Vec::new();
    for (r, c) in [(1, 1), (1, 2), (2, 1), (2, 2), (3, 1), (3, 2)] {
        rows.push(Row::new(
            &format!("replicas={r}, cores={c}"),
            "rubis",
            &[r.to_string(), c.to_string()],
            Some(if c == 1 { 2 } else { 3 }),
        ));
        let mean = 40.0 / r as f64 + 10.0 / c as f64;
        let base = 20.0 + 10.0 / c as f64;
        let d = if r == 2 { 0.0 } else { mean - base };
        p95.push((mean, mean - 2.0, mean + 2.0, d, d - 1.0, d + 1.0));
    }
    write_sweep(
        dir,
        &["apps[0].tiers[1].replicas", "apps[0].tiers[1].cores"],
        &rows,
        &[("p95_response_ms", p95)],
        3,
    );
}

#[test]
fn differences_are_drawn_against_numeric_axes_without_the_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    replicas_by_cores(&d.join("sw"));
    let figs = figures(&d.join("sw"));
    let all = names(&figs);
    for n in [
        "diff_p95_response_ms_vs_replicas",
        "diff_p95_response_ms_vs_cores",
        "p95_response_ms_vs_replicas",
        "p95_response_ms_vs_cores",
    ] {
        assert!(all.contains(&n), "{n}: {all:?}");
    }
    let f = lines(&figs, "diff_p95_response_ms_vs_replicas");
    // One baseline per core count, named by what they share.
    assert_eq!(
        f.title,
        "p95 response time: difference from replicas=2 (same cores), against replicas"
    );
    assert!(f.zero_line);
    assert_eq!(f.x_desc, "apps[0].tiers[1].replicas (count)");
    assert_eq!(f.y_desc, "difference in p95 response time (ms)");
    // Per core count: the differences at 1 and 3 replicas, none at the baseline's 2 (the line
    // breaks there instead of interpolating through it), each with its CI whisker.
    assert_eq!(f.series.len(), 2);
    for (s, c) in f.series.iter().zip([1.0, 2.0]) {
        assert_eq!(s.name, format!("cores={c}"));
        let xs: Vec<f64> = s.points.iter().map(|p| p.0).collect();
        assert_eq!(xs, [1.0, 2.0, 3.0]);
        assert!(s.points[1].1.is_nan(), "{:?}", s.points);
        let expected = 40.0 - 20.0;
        assert!((s.points[0].1 - expected).abs() < 1e-9);
        assert_eq!(s.errors.len(), 2);
        assert_eq!(s.errors[0], (1.0, expected - 1.0, expected + 1.0));
    }
    // Against cores, the groups of 1 and 3 replicas (the baselines' group has nothing).
    let f = lines(&figs, "diff_p95_response_ms_vs_cores");
    let groups: Vec<&str> = f.series.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(groups, ["replicas=1", "replicas=3"]);
    // The raw values against an axis keep every configuration.
    let f = lines(&figs, "p95_response_ms_vs_replicas");
    assert!(f
        .series
        .iter()
        .all(|s| s.points.iter().all(|p| p.1.is_finite())));
    // A non-numeric axis (the scenario) gets no such figure.
    paper_like(&d.join("paper"));
    assert!(!names(&figures(&d.join("paper")))
        .iter()
        .any(|n| n.contains("_vs_")));
}

#[test]
fn configurations_an_axis_does_not_apply_to_are_left_off_its_figures() {
    // A strategy's parameter swept next to a static baseline that has no such parameter
    // (`n/a`, the baseline running once).
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let rows = vec![
        Row::new("restart, for_s=30", "restart", &["30".into()], Some(2)),
        Row::new("restart, for_s=90", "restart", &["90".into()], Some(2)),
        Row::new("static-peak", "static-peak", &["n/a".into()], Some(2)),
    ];
    let p95: Stats = vec![
        (3885.0, 3800.0, 3970.0, 3818.0, 3730.0, 3900.0),
        (4100.0, 4000.0, 4200.0, 4033.0, 3950.0, 4120.0),
        (67.0, 67.0, 67.0, 0.0, 0.0, 0.0),
    ];
    write_sweep(
        &d.join("sw"),
        &["policy.params.for_s"],
        &rows,
        &[("p95_response_ms", p95)],
        5,
    );
    let figs = figures(&d.join("sw"));
    let f = lines(&figs, "p95_response_ms_vs_for_s");
    assert_eq!(f.x_desc, "policy.params.for_s (s)");
    let drawn: Vec<&str> = f.series.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(drawn, ["restart"]);
    assert_eq!(f.series[0].points, [(30.0, 3885.0), (90.0, 4100.0)]);
    let f = lines(&figs, "diff_p95_response_ms_vs_for_s");
    assert_eq!(f.series[0].points, [(30.0, 3818.0), (90.0, 4033.0)]);
    assert_eq!(
        f.title,
        "p95 response time: difference from static-peak, against for_s"
    );
    // The baseline is in the bars, not in the differences.
    assert_eq!(bars(&figs, "bars_p95_response_ms").rows(), 3);
    assert_eq!(bars(&figs, "diff_p95_response_ms").rows(), 2);
}

/// Every axis has its unit in parentheses, and no unit is a placeholder.
fn assert_units(name: &str, desc: &str) {
    let unit = desc
        .rfind(" (")
        .map(|i| &desc[i + 2..])
        .and_then(|u| u.strip_suffix(')'));
    assert!(
        unit.is_some_and(|u| !u.is_empty()),
        "{name}: `{desc}` has no unit"
    );
    assert!(
        !desc.contains("as written") && !desc.contains("as in the scenario"),
        "{name}: `{desc}`"
    );
}

fn assert_all_units(figs: &[(String, Figure)]) {
    for (name, f) in figs {
        match f {
            Figure::Lines(l) => {
                assert_units(name, &l.x_desc);
                assert_units(name, &l.y_desc);
                if let Some(d) = &l.y2_desc {
                    assert_units(name, d);
                }
            }
            Figure::Bars(b) => assert_units(name, &b.x_desc),
        }
    }
}

#[test]
fn every_axis_has_its_unit_and_fractions_stay_fractions() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run_folder(
        d,
        &repo("scenarios/examples/scripted-migration.toml"),
        "run",
        &[],
    );
    let run = figures(&d.join("run"));
    assert_all_units(&run);
    // Utilisations are fractions (0..1) on a 0..1 axis, as in the files.
    let tiers = lines(&run, "cpu_tiers");
    assert_eq!(tiers.y_range, Some((0.0, 1.05)));
    let ts = std::fs::read_to_string(d.join("run/timeseries.csv")).unwrap();
    let header: Vec<&str> = ts.lines().next().unwrap().split(',').collect();
    let first: Vec<&str> = ts.lines().nth(1).unwrap().split(',').collect();
    let col = header
        .iter()
        .position(|h| h.ends_with(".web") && (h.starts_with("util.") || h.starts_with("tier_")))
        .unwrap();
    let web = tiers.series.iter().find(|s| s.name == "web").unwrap();
    assert_eq!(web.points[0].1, first[col].parse::<f64>().unwrap());
    assert!(tiers
        .series
        .iter()
        .all(|s| s.points.iter().all(|p| (0.0..=1.0).contains(&p.1))));
    let nodes = lines(&run, "cpu_nodes");
    assert_eq!(nodes.y_desc, "CPU utilisation of the node (fraction)");
    assert!(nodes
        .series
        .iter()
        .all(|s| s.points.iter().all(|p| (0.0..=1.0).contains(&p.1))));
    // Markers never take a series' colour.
    for (name, f) in &run {
        if let Figure::Lines(l) = f {
            for m in &l.markers {
                assert!(
                    l.series.iter().all(|s| s.color != m.color),
                    "{name}: {}",
                    m.kind
                );
                assert!(!palette::SERIES.contains(&m.color), "{name}: {}", m.kind);
            }
        }
    }
    assert!(!lines(&run, "response").markers.is_empty());
    // Sweeps: metric axes, swept axes, differences.
    replicas_by_cores(&d.join("sw"));
    assert_all_units(&figures(&d.join("sw")));
    paper_like(&d.join("paper"));
    let paper = figures_of(
        &d.join("paper"),
        &PlotOptions {
            metrics: vec![
                "tier_utilisation.rubis.app".into(),
                "sla_violation_fraction".into(),
            ],
            ..Default::default()
        },
    )
    .unwrap();
    assert_all_units(&paper);
    assert_eq!(
        bars(&paper, "bars_tier_utilisation_rubis_app").x_desc,
        "app utilisation of rubis (fraction)"
    );
    assert_eq!(
        bars(&paper, "bars_sla_violation_fraction").x_desc,
        "SLA violations (fraction of requests)"
    );
}

/// A run of two applications in the per-application layout, with infrastructure.
fn two_apps(dir: &Path, tier_prefix: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let mut csv = format!(
        "time_s,active_clients,throughput_rps,mean_response_ms,p95_response_ms,failures,\
apps.shop.active_clients,apps.shop.throughput_rps,apps.shop.mean_response_ms,\
apps.shop.p95_response_ms,apps.shop.failures,\
apps.blog.active_clients,apps.blog.throughput_rps,apps.blog.mean_response_ms,\
apps.blog.p95_response_ms,apps.blog.failures,\
{p}shop.web,{p}shop.db,{p}blog.web,nodes_up,power_w,energy_kwh\n",
        p = tier_prefix
    );
    for k in 1..=30 {
        let t = 10 * k;
        let (sc, bc) = (100 + k, 20);
        let (sm, bm) = (10.0 + k as f64, 200.0);
        csv.push_str(&format!(
            "{t},{},{},{},{},0,{sc},{},{sm},{},0,{bc},{},{bm},{},0,0.{k:02},0.2,0.5,2,190.5,{}\n",
            sc + bc,
            (sc + bc) as f64 / 7.0,
            (sc as f64 * sm + bc as f64 * bm) / (sc + bc) as f64,
            bm * 2.0,
            sc as f64 / 7.0,
            sm * 2.0,
            bc as f64 / 7.0,
            bm * 2.0,
            if k == 1 {
                "-0".to_string()
            } else {
                format!("{}", 0.0005 * k as f64)
            },
        ));
    }
    std::fs::write(dir.join("timeseries.csv"), csv).unwrap();
    std::fs::write(
        dir.join("summary.json"),
        r#"{"scenario": "shop-and-blog", "seed": 7, "sla_target_ms": 500,
            "apps": {"shop": {"sla_target_ms": 300}, "blog": {"sla_target_ms": 500}}}"#,
    )
    .unwrap();
}

#[test]
fn a_run_of_several_applications_is_plotted_per_application() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    two_apps(&d.join("run"), "tier_utilisation.");
    let figs = figures(&d.join("run"));
    assert_eq!(
        names(&figs),
        [
            "clients",
            "response",
            "clients_shop",
            "response_shop",
            "clients_blog",
            "response_blog",
            "cpu_tiers_shop",
            "cpu_tiers_blog",
            "nodes",
            "power",
        ]
    );
    // Each application's figures show its own columns and its own SLA target.
    let shop = lines(&figs, "response_shop");
    assert_eq!(shop.title, "shop: response time per interval, mean and p95");
    assert_eq!(
        shop.subtitle,
        "run shop-and-blog, seed 7 · values per 10 s interval"
    );
    let p95 = shop.series.iter().find(|s| s.name == "p95").unwrap();
    assert_eq!(p95.points[0], (10.0, 22.0));
    assert!(shop
        .series
        .iter()
        .any(|s| s.name.starts_with("SLA target 300 ms")));
    let blog = lines(&figs, "clients_blog");
    assert_eq!(blog.title, "blog: active clients and throughput");
    assert!(blog.series[0].points.iter().all(|p| p.1 == 20.0));
    // The totals of the load, said to be all applications; response times compared per app.
    assert_eq!(
        lines(&figs, "clients").title,
        "all applications (shop, blog): active clients and throughput"
    );
    let cmp = lines(&figs, "response");
    let apps: Vec<&str> = cmp.series.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(apps, ["shop", "blog"], "targets differ: no common SLA line");
    let tiers = lines(&figs, "cpu_tiers_shop");
    assert_eq!(tiers.title, "shop: CPU utilisation per tier");
    let names: Vec<&str> = tiers.series.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["web", "db"]);
    assert_eq!(tiers.series[0].points[1], (20.0, 0.02));
    // The same with the older `util.` columns.
    two_apps(&d.join("old"), "util.");
    let old = figures(&d.join("old"));
    assert_eq!(
        lines(&old, "cpu_tiers_shop").series[1].points,
        lines(&figs, "cpu_tiers_shop").series[1].points
    );
    // Drawn, with no `-0` from the energy column.
    let o = reconf(&["plot", "run"], d);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(d.join("run/figures/response_blog.png").is_file());
    assert_no_negative_zero(&d.join("run/figures"));
}

/// A scenario of two applications (shop ramping up, wiki constant), each on two tiers.
fn two_app_scenario(path: &Path) {
    let app = |name: &str, profile: &str, d_ms: [f64; 2]| {
        format!(
            "\n[[apps]]\nname = \"{name}\"\n[apps.clients]\nmix = \"weighted\"\n\
interactions = [{{ name = \"request\", probability = 1.0 }}]\nsession_requests = 1\n\
think = {{ dist = \"exponential\", mean_ms = 1000 }}\nprofile = {profile}\n\
[[apps.tiers]]\nname = \"front\"\ndemand = {{ dist = \"exponential\", mean_ms = {} }}\n\
[[apps.tiers]]\nname = \"back\"\ndemand = {{ dist = \"exponential\", mean_ms = {} }}\n",
            d_ms[0], d_ms[1]
        )
    };
    let text = format!(
        "name = \"two-apps\"\nseed = 3\nduration_s = 600\nreport_interval_s = 10\n\
[sla]\nresponse_target_ms = 100\nrequest_timeout_s = 0\n{}{}",
        app(
            "shop",
            "{ kind = \"ramp\", points = [[0, 5], [600, 45]] }",
            [5.0, 20.0]
        ),
        app("wiki", "{ kind = \"constant\", value = 15 }", [30.0, 2.0])
    );
    std::fs::write(path, text).unwrap();
}

#[test]
fn real_runs_and_sweeps_of_two_applications_are_plotted_per_application() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let scenario = d.join("two-apps.toml");
    two_app_scenario(&scenario);
    run_folder(d, &scenario.display().to_string(), "run", &[]);
    let figs = figures(&d.join("run"));
    assert_eq!(
        names(&figs),
        [
            "clients",
            "response",
            "clients_shop",
            "response_shop",
            "clients_wiki",
            "response_wiki",
            "cpu_tiers_shop",
            "cpu_tiers_wiki",
        ]
    );
    // The shop's figure is the shop's column.
    let ts = std::fs::read_to_string(d.join("run/timeseries.csv")).unwrap();
    let mut rows = ts.lines();
    let header: Vec<&str> = rows.next().unwrap().split(',').collect();
    let col = header
        .iter()
        .position(|h| *h == "apps.shop.p95_response_ms")
        .unwrap();
    let shop_p95: Vec<f64> = rows
        .map(|l| l.split(',').nth(col).unwrap().parse().unwrap())
        .collect();
    let f = lines(&figs, "response_shop");
    let p95 = f.series.iter().find(|s| s.name == "p95").unwrap();
    let drawn: Vec<f64> = p95.points.iter().map(|p| p.1).collect();
    assert_eq!(drawn, shop_p95);
    assert_eq!(
        f.subtitle,
        "run two-apps, seed 3 · values per 10 s interval"
    );
    assert_all_units(&figs);
    let o = reconf(&["plot", "run"], d);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_no_negative_zero(&d.join("run/figures"));
    // A sweep of it: user-facing metrics per application, never mixed by default.
    let o = reconf(
        &[
            "sweep",
            &scenario.display().to_string(),
            "--seeds",
            "2",
            "--set",
            "duration_s=120",
            "--set",
            "apps[0].tiers[1].replicas=1,2",
            "--baseline",
            "replicas=1",
            "--out",
            "sw",
            "-q",
        ],
        d,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let figs = figures(&d.join("sw"));
    let all = names(&figs);
    for n in [
        "bars_apps_shop_p95_response_ms",
        "bars_apps_wiki_p95_response_ms",
        "diff_apps_wiki_p95_response_ms",
        "apps_shop_p95_response_ms_vs_replicas",
        "response_percentiles_shop",
    ] {
        assert!(all.contains(&n), "{n}: {all:?}");
    }
    assert!(!all.contains(&"bars_p95_response_ms"));
    assert_eq!(
        bars(&figs, "bars_apps_wiki_p95_response_ms").title,
        "wiki: p95 response time per configuration"
    );
    assert_all_units(&figs);
}

#[test]
fn a_single_application_run_of_either_layout_names_its_application() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (name, prefix, per_app) in [("new", "tier_utilisation.", true), ("old", "util.", false)] {
        let run = d.join(name);
        std::fs::create_dir_all(&run).unwrap();
        let mut csv = String::from(
            "time_s,active_clients,throughput_rps,mean_response_ms,p95_response_ms,failures",
        );
        if per_app {
            csv.push_str(
                ",apps.rubis.active_clients,apps.rubis.throughput_rps,\
apps.rubis.mean_response_ms,apps.rubis.p95_response_ms,apps.rubis.failures",
            );
        }
        csv.push_str(&format!(
            ",{prefix}rubis.web,{prefix}rubis.app,nodes_up,power_w,energy_kwh\n"
        ));
        for k in 1..=10 {
            csv.push_str(&format!("{},50,7,20,{}", 60 * k, 40 + k));
            csv.push_str(",0");
            if per_app {
                csv.push_str(&format!(",50,7,20,{},0", 40 + k));
            }
            csv.push_str(",0.1,0.3,0,0,-0\n");
        }
        std::fs::write(run.join("timeseries.csv"), csv).unwrap();
        let figs = figures(&run);
        assert_eq!(
            names(&figs),
            ["clients", "response", "cpu_tiers"],
            "{name}: no infrastructure figures for zeros"
        );
        let r = lines(&figs, "response");
        assert_eq!(r.title, "rubis: response time per interval, mean and p95");
        assert!(r.subtitle.starts_with("run "), "{}", r.subtitle);
        assert_eq!(r.x_desc, "time (s)");
        assert_eq!(r.series[1].points[9], (600.0, 50.0));
    }
}

#[test]
fn a_sweep_of_several_applications_is_plotted_per_application() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let rows: Vec<Row> = ["a", "b"]
        .iter()
        .map(|s| Row::new(s, s, &[], Some(0)))
        .collect();
    let v = |m: f64| -> Stats {
        vec![
            (m, m - 1.0, m + 1.0, 0.0, 0.0, 0.0),
            (2.0 * m, 2.0 * m - 1.0, 2.0 * m + 1.0, m, m - 1.0, m + 1.0),
        ]
    };
    write_sweep(
        &d.join("sw"),
        &[],
        &rows,
        &[
            ("p95_response_ms", v(50.0)),
            ("apps.shop.p95_response_ms", v(30.0)),
            ("apps.blog.p95_response_ms", v(90.0)),
            ("apps.shop.mean_response_ms", v(10.0)),
            ("apps.blog.mean_response_ms", v(40.0)),
            ("node_hours", v(3.0)),
        ],
        4,
    );
    let figs = figures(&d.join("sw"));
    let all = names(&figs);
    for n in [
        "bars_apps_shop_p95_response_ms",
        "bars_apps_blog_p95_response_ms",
        "diff_apps_blog_p95_response_ms",
        "bars_node_hours",
        "response_percentiles_shop",
        "response_percentiles_blog",
    ] {
        assert!(all.contains(&n), "{n}: {all:?}");
    }
    // User-facing metrics are not mixed over applications by default.
    assert!(!all.contains(&"bars_p95_response_ms"), "{all:?}");
    let shop = bars(&figs, "bars_apps_shop_p95_response_ms");
    assert_eq!(shop.title, "shop: p95 response time per configuration");
    assert_eq!(shop.groups[0].1[1].mean, 60.0);
    assert_eq!(
        bars(&figs, "diff_apps_blog_p95_response_ms").title,
        "blog: p95 response time: difference from a"
    );
    // The cluster's metrics carry no application.
    assert_eq!(
        bars(&figs, "bars_node_hours").title,
        "node-hours per configuration"
    );
    assert_eq!(
        bars(&figs, "response_percentiles_blog").title,
        "blog: response time, mean and percentiles, per configuration"
    );
    // Asked for by name, the totals say they mix the applications.
    let total = figures_of(
        &d.join("sw"),
        &PlotOptions {
            metrics: vec!["p95_response_ms".into()],
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        bars(&total, "bars_p95_response_ms").title,
        "all applications together: p95 response time per configuration"
    );
}

#[test]
fn many_configurations_are_split_into_readable_figures() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let labels: Vec<String> = (0..90).map(|i| format!("c{i}")).collect();
    let rows: Vec<Row> = labels.iter().map(|l| Row::new(l, "s", &[], None)).collect();
    let stats: Stats = (0..90)
        .map(|i| {
            let m = 10.0 + i as f64;
            (m, m - 1.0, m + 1.0, 0.0, 0.0, 0.0)
        })
        .collect();
    write_sweep(&d.join("sw"), &[], &rows, &[("p95_response_ms", stats)], 2);
    let figs = figures(&d.join("sw"));
    let parts: Vec<&BarFigure> = (1..=3)
        .map(|p| bars(&figs, &format!("bars_p95_response_ms_part{p}")))
        .collect();
    assert_eq!(parts.iter().map(|p| p.rows()).sum::<usize>(), 90);
    assert!(parts.iter().all(|p| p.rows() == 30));
    assert_eq!(parts[1].groups[0].1[0].label, "c30");
    assert_eq!(
        parts[2].title,
        "p95 response time per configuration (part 3 of 3)"
    );
    // All parts on the same value axis.
    assert!(parts.iter().all(|p| p.value_range == Some((9.0, 100.0))));
    let o = reconf(&["plot", "sw"], d);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(d
        .join("sw/figures/bars_p95_response_ms_part3.png")
        .is_file());
}

fn assert_bad(d: &Path, args: &[&str], expected: &str, no_dir: &str) {
    let o = reconf(args, d);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    assert!(err.contains(expected), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!d.join(no_dir).exists(), "{args:?} wrote {no_dir}");
}

#[test]
fn bad_input_is_one_line_exit_2_and_draws_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_bad(d, &["plot", "nowhere"], "nowhere: not a folder", "nowhere");
    std::fs::create_dir_all(d.join("empty")).unwrap();
    assert_bad(
        d,
        &["plot", "empty"],
        "neither a run folder",
        "empty/figures",
    );
    // A malformed time series names its file, line and column.
    std::fs::create_dir_all(d.join("run")).unwrap();
    std::fs::write(
        d.join("run/timeseries.csv"),
        "time_s,active_clients,throughput_rps,mean_response_ms,p95_response_ms,failures\n\
10,5,1,2,3,0\n20,5,x,2,3,0\n",
    )
    .unwrap();
    assert_bad(
        d,
        &["plot", "run"],
        "timeseries.csv:3: field `throughput_rps`",
        "run/figures",
    );
    std::fs::write(
        d.join("run/timeseries.csv"),
        "time_s,active_clients\n10,5\n",
    )
    .unwrap();
    assert_bad(
        d,
        &["plot", "run"],
        "no `throughput_rps` column",
        "run/figures",
    );
    // A per-application column that is not a number, located too.
    std::fs::write(
        d.join("run/timeseries.csv"),
        "time_s,active_clients,throughput_rps,mean_response_ms,p95_response_ms,failures,\
apps.a.active_clients,apps.a.throughput_rps,apps.a.mean_response_ms,apps.a.p95_response_ms,\
apps.a.failures\n10,5,1,2,3,0,5,1,2,3,0\n20,5,1,2,3,0,5,1,2,?,0\n",
    )
    .unwrap();
    assert_bad(
        d,
        &["plot", "run"],
        "timeseries.csv:3: field `apps.a.p95_response_ms`",
        "run/figures",
    );
    // A sweep folder whose sweep has not finished (no tables yet) says so.
    std::fs::create_dir_all(d.join("unfinished/runs")).unwrap();
    assert_bad(
        d,
        &["plot", "unfinished"],
        "a sweep folder whose sweep has not finished",
        "unfinished/figures",
    );
    // A sweep run kept as its summary only has no time series.
    std::fs::create_dir_all(d.join("summary-only")).unwrap();
    std::fs::write(d.join("summary-only/summary.json"), "{}").unwrap();
    assert_bad(
        d,
        &["plot", "summary-only"],
        "a run folder without timeseries.csv",
        "summary-only/figures",
    );
    std::fs::create_dir_all(d.join("sw")).unwrap();
    std::fs::write(
        d.join("sw/aggregate.csv"),
        "config,label,scenario,runs\n0,a,a,2\n",
    )
    .unwrap();
    assert_bad(
        d,
        &["plot", "sw", "--metric", "nope"],
        "`nope` is not a column",
        "sw/figures",
    );
}
