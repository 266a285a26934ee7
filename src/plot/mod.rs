//! Figures of runs and sweeps (`reconf plot`), with plotters, in SVG and PNG.
//!
//! Nothing is looked up on the machine or downloaded: plotters is built without its font-kit
//! feature (which needs fontconfig and system fonts) and with `ab_glyph`, and text is set in
//! DejaVu Sans, shipped in `src/plot/fonts/` (Bitstream Vera licence, redistributable) and
//! compiled into the binary; its glyphs are laid out by [`text`] (plotters' own bitmap text
//! misplaces them). PNGs are encoded with the `png` crate from an in-memory bitmap, and every
//! figure is written atomically like the rest of the outputs.

pub mod figure;
mod run;
mod sweep;
pub mod text;

use crate::report::atomic::write_atomic;
use crate::scenario::InputError;
use figure::{draw_bars, draw_lines, BarFigure, LineFigure, SIZE};
use plotters::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Once;
use text::Typeset;

/// Why figures could not be drawn.
#[derive(Debug)]
pub enum PlotError {
    /// Bad input (missing or malformed files): exit code 2.
    Input(InputError),
    /// Drawing or writing failed: exit code 1.
    Io(String),
}

impl From<InputError> for PlotError {
    fn from(e: InputError) -> Self {
        PlotError::Input(e)
    }
}

/// Registers the shipped font with plotters, which measures text with it in places (legend
/// boxes, multi-line text) and refuses text styles of an unknown family.
pub(crate) fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, text::FONT_BYTES)
            .unwrap_or_else(|_| panic!("the shipped font parses"));
    });
}

/// A figure of either kind.
pub enum Figure {
    Lines(LineFigure),
    Bars(BarFigure),
}

fn render<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    fig: &Figure,
) -> Result<(), String> {
    match fig {
        Figure::Lines(f) => draw_lines(&root, f),
        Figure::Bars(f) => draw_bars(&root, f),
    }
}

/// Renders `fig` as `out/name.svg` and `out/name.png`; returns both paths.
pub fn save(fig: &Figure, out: &Path, name: &str) -> Result<Vec<PathBuf>, PlotError> {
    register_font();
    let fail = |what: &str, e: String| PlotError::Io(format!("{what} {name}: {e}"));
    let mut svg = String::new();
    render(
        Typeset::vector(SVGBackend::with_string(&mut svg, SIZE)).into_drawing_area(),
        fig,
    )
    .map_err(|e| fail("cannot draw", e))?;
    let (w, h) = SIZE;
    let mut rgb = vec![255u8; (w * h * 3) as usize];
    render(
        Typeset::raster(BitMapBackend::with_buffer(&mut rgb, SIZE)).into_drawing_area(),
        fig,
    )
    .map_err(|e| fail("cannot draw", e))?;
    let png = encode_png(&rgb, w, h).map_err(|e| fail("cannot encode", e))?;
    let svg_path = out.join(format!("{name}.svg"));
    let png_path = out.join(format!("{name}.png"));
    write_atomic(&svg_path, svg.as_bytes())
        .map_err(|e| PlotError::Io(format!("cannot write {}: {e}", svg_path.display())))?;
    write_atomic(&png_path, &png)
        .map_err(|e| PlotError::Io(format!("cannot write {}: {e}", png_path.display())))?;
    Ok(vec![svg_path, png_path])
}

fn encode_png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(rgb).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

/// Draws the figures of `dir` (a run folder or a sweep folder) into `out`; returns the files.
/// `metrics` chooses the summary keys of sweep figures (empty: the defaults).
pub fn plot_dir(dir: &Path, out: &Path, metrics: &[String]) -> Result<Vec<PathBuf>, PlotError> {
    let shown = dir.display().to_string();
    if !dir.is_dir() {
        return Err(
            InputError::new(shown, "not a folder (give a run folder or a sweep folder)").into(),
        );
    }
    let figures = if dir.join("aggregate.csv").is_file() {
        sweep::figures(dir, metrics)?
    } else if dir.join("timeseries.csv").is_file() {
        if !metrics.is_empty() {
            return Err(InputError::new("--metric", "applies to sweep folders only").into());
        }
        run::figures(dir)?
    } else {
        return Err(InputError::new(
            shown,
            "neither a run folder (timeseries.csv) nor a sweep folder (aggregate.csv)",
        )
        .into());
    };
    std::fs::create_dir_all(out)
        .map_err(|e| PlotError::Io(format!("cannot create {}: {e}", out.display())))?;
    let mut files = Vec::new();
    for (name, fig) in &figures {
        files.extend(save(fig, out, name)?);
    }
    Ok(files)
}

/// A CSV file read whole (run files and aggregates are small), with located errors.
pub(crate) struct Table {
    pub shown: String,
    pub header: Vec<String>,
    /// (line number, cells).
    pub rows: Vec<(usize, Vec<String>)>,
}

impl Table {
    pub fn read(path: &Path) -> Result<Table, InputError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| InputError::new(&shown, format!("cannot read: {e}")))?;
        let mut rdr = csv::ReaderBuilder::new().from_reader(text.as_bytes());
        let csv_err = |e: csv::Error| {
            let line = e.position().map(|p| p.line() as usize);
            InputError::new(&shown, format!("malformed CSV: {e}")).at_line(line)
        };
        let header = rdr
            .headers()
            .map_err(csv_err)?
            .iter()
            .map(String::from)
            .collect();
        let mut rows = Vec::new();
        for rec in rdr.records() {
            let rec = rec.map_err(csv_err)?;
            let line = rec.position().map(|p| p.line() as usize).unwrap_or(0);
            rows.push((line, rec.iter().map(String::from).collect()));
        }
        Ok(Table {
            shown,
            header,
            rows,
        })
    }

    pub fn col(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    pub fn require(&self, name: &str) -> Result<usize, InputError> {
        self.col(name).ok_or_else(|| {
            InputError::new(&self.shown, format!("no `{name}` column"))
                .at_line(Some(1))
                .field(name)
        })
    }

    /// The number in column `c` of row `r`; empty cells are `None`.
    pub fn num(&self, r: usize, c: usize) -> Result<Option<f64>, InputError> {
        let (line, cells) = &self.rows[r];
        let cell = cells.get(c).map(|s| s.trim()).unwrap_or("");
        if cell.is_empty() {
            return Ok(None);
        }
        cell.parse::<f64>().map(Some).map_err(|_| {
            InputError::new(&self.shown, format!("`{cell}` is not a number"))
                .at_line(Some(*line))
                .field(self.header[c].clone())
        })
    }

    pub fn text(&self, r: usize, c: usize) -> &str {
        self.rows[r].1.get(c).map(String::as_str).unwrap_or("")
    }
}

/// How a summary key reads on an axis: a name and its unit.
pub fn describe(key: &str) -> String {
    let known = [
        ("mean_response_ms", "mean response time (ms)"),
        ("p50_response_ms", "median response time (ms)"),
        ("p95_response_ms", "p95 response time (ms)"),
        ("p99_response_ms", "p99 response time (ms)"),
        ("max_response_ms", "maximum response time (ms)"),
        ("throughput_rps", "throughput (requests/s)"),
        (
            "sla_violation_fraction",
            "SLA violations (fraction of requests)",
        ),
        ("sessions_lost", "sessions lost (count)"),
        ("requests_failed", "failed requests (count)"),
        ("node_hours", "node-hours (h)"),
        ("energy_kwh", "energy (kWh)"),
        ("migrations", "migrations (count)"),
        ("migration_downtime_s", "migration downtime (s)"),
        ("migration_time_s", "migration time (s)"),
        ("migration_mb", "data migrated (MB)"),
    ];
    if let Some((_, d)) = known.iter().find(|(k, _)| *k == key) {
        return d.to_string();
    }
    let units = [
        ("_ms", "ms"),
        ("_s", "s"),
        ("_kwh", "kWh"),
        ("_mb", "MB"),
        ("_rps", "requests/s"),
        ("_w", "W"),
        ("_fraction", "fraction"),
    ];
    for (suffix, unit) in units {
        if let Some(base) = key.strip_suffix(suffix) {
            return format!("{} ({unit})", base.replace('_', " "));
        }
    }
    if let Some(tier) = key.strip_prefix("tier_utilisation.") {
        return format!("{tier} utilisation (fraction)");
    }
    key.replace('_', " ")
}
