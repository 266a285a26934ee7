//! Figures of runs and sweeps (`reconf plot`), with plotters, in SVG and PNG.
//!
//! Nothing is looked up on the machine or downloaded: plotters is built without its font-kit
//! feature (which needs fontconfig and system fonts) and with `ab_glyph`, and text is set in
//! DejaVu Sans, shipped in `src/plot/fonts/` (Bitstream Vera licence, redistributable) and
//! compiled into the binary; its glyphs are laid out by [`text`] (plotters' own bitmap text
//! misplaces them). PNGs are encoded with the `png` crate from an in-memory bitmap, and every
//! figure is written atomically like the rest of the outputs.

mod apps;
pub mod figure;
mod labels;
pub mod legend;
pub mod palette;
mod run;
pub mod scale;
mod sweep;
pub mod text;

use crate::report::atomic::write_atomic;
use crate::scenario::InputError;
use figure::{BarFigure, LineFigure, HEIGHT, WIDTH};
pub use labels::describe;
use plotters::prelude::*;
use rayon::prelude::*;
pub use scale::ScaleChoice;
use std::collections::HashMap;
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

impl Figure {
    /// Width and height in pixels.
    pub fn size(&self) -> (u32, u32) {
        match self {
            Figure::Lines(_) => (WIDTH, HEIGHT),
            Figure::Bars(b) => (WIDTH, b.height()),
        }
    }

    pub fn title(&self) -> &str {
        match self {
            Figure::Lines(f) => &f.title,
            Figure::Bars(f) => &f.title,
        }
    }
}

/// Draws `fig`, its legend only if `with_legend` (same layout either way); returns where the
/// legend is (pixels: left, top, right, bottom).
fn render<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    fig: &Figure,
    with_legend: bool,
) -> Result<Option<(i32, i32, i32, i32)>, String> {
    match fig {
        Figure::Lines(f) => figure::draw_lines_with(&root, f, with_legend),
        Figure::Bars(f) => figure::draw_bars_with(&root, f, with_legend),
    }
}

/// A figure drawn into RGB pixels, as in its PNG.
pub struct Raster {
    pub width: u32,
    pub height: u32,
    /// Row-major RGB, 3 bytes a pixel.
    pub rgb: Vec<u8>,
    /// Where the legend is (pixels: left, top, right, bottom), if the figure has one.
    pub legend: Option<(i32, i32, i32, i32)>,
}

/// Draws `fig` into pixels (what its PNG holds); without its legend if `with_legend` is false,
/// the rest laid out the same, so that what the legend would cover can be inspected.
pub fn rasterize(fig: &Figure, with_legend: bool) -> Result<Raster, String> {
    register_font();
    let (w, h) = fig.size();
    let mut rgb = vec![255u8; (w * h * 3) as usize];
    let legend = render(
        Typeset::raster(BitMapBackend::with_buffer(&mut rgb, (w, h))).into_drawing_area(),
        fig,
        with_legend,
    )?;
    Ok(Raster {
        width: w,
        height: h,
        rgb,
        legend,
    })
}

/// Renders `fig` as `out/name.svg` and `out/name.png`; returns both paths.
pub fn save(fig: &Figure, out: &Path, name: &str) -> Result<Vec<PathBuf>, PlotError> {
    register_font();
    let fail = |what: &str, e: String| PlotError::Io(format!("{what} {name}: {e}"));
    let mut svg = String::new();
    render(
        Typeset::vector(SVGBackend::with_string(&mut svg, fig.size())).into_drawing_area(),
        fig,
        true,
    )
    .map_err(|e| fail("cannot draw", e))?;
    let raster = rasterize(fig, true).map_err(|e| fail("cannot draw", e))?;
    let png = encode_png(&raster.rgb, raster.width, raster.height)
        .map_err(|e| fail("cannot encode", e))?;
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

/// What `reconf plot` is asked for.
#[derive(Clone, Debug, Default)]
pub struct PlotOptions {
    /// The summary keys of sweep figures (empty: the defaults).
    pub metrics: Vec<String>,
    /// Linear or log value axes.
    pub scale: ScaleChoice,
}

/// The figures of `dir` (a run folder or a sweep folder), by file name, without drawing them.
pub fn figures_of(dir: &Path, opts: &PlotOptions) -> Result<Vec<(String, Figure)>, PlotError> {
    let shown = dir.display().to_string();
    if !dir.is_dir() {
        return Err(
            InputError::new(shown, "not a folder (give a run folder or a sweep folder)").into(),
        );
    }
    use crate::batch::folder::{inspect, not_ready_message, FolderKind};
    let kind = inspect(dir);
    let aggregate = dir.join("aggregate.csv").is_file();
    let timeseries = dir.join("timeseries.csv").is_file();
    match kind {
        // A finished sweep, or an aggregate.csv on its own (copied out of its sweep).
        FolderKind::Sweep => sweep::figures(dir, opts),
        FolderKind::Other if aggregate => sweep::figures(dir, opts),
        FolderKind::Run | FolderKind::Other if timeseries => {
            if !opts.metrics.is_empty() {
                return Err(InputError::new("--metric", "applies to sweep folders only").into());
            }
            run::figures(dir, opts)
        }
        FolderKind::Run => Err(InputError::new(
            shown,
            "a run folder without timeseries.csv, nothing to draw over time (a sweep run kept \
as its summary only: `reconf sweep --keep-full SEEDS` keeps every file of those seeds)",
        )
        .into()),
        _ => Err(InputError::new(
            shown,
            not_ready_message(dir).unwrap_or_else(|| "not a run or sweep folder".into()),
        )
        .into()),
    }
}

/// Draws the figures of `dir` (a run folder or a sweep folder) into `out`; returns the files.
/// Figures are independent: they are drawn in parallel, each into its own files.
pub fn plot_dir(dir: &Path, out: &Path, opts: &PlotOptions) -> Result<Vec<PathBuf>, PlotError> {
    let figures = figures_of(dir, opts)?;
    std::fs::create_dir_all(out)
        .map_err(|e| PlotError::Io(format!("cannot create {}: {e}", out.display())))?;
    let files: Vec<Vec<PathBuf>> = figures
        .par_iter()
        .map(|(name, fig)| save(fig, out, name))
        .collect::<Result<_, _>>()?;
    Ok(files.into_iter().flatten().collect())
}

/// A CSV file read whole (run files and aggregates are small), with located errors.
pub(crate) struct Table {
    pub shown: String,
    pub header: Vec<String>,
    /// (line number, cells).
    pub rows: Vec<(usize, Vec<String>)>,
    /// Column of each name (the first, if a name repeats): sweep aggregates have hundreds of
    /// columns, looked up for every configuration and metric.
    index: HashMap<String, usize>,
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
        Ok(Table::new(shown, header, rows))
    }

    pub fn new(shown: String, header: Vec<String>, rows: Vec<(usize, Vec<String>)>) -> Table {
        let mut index = HashMap::with_capacity(header.len());
        for (i, h) in header.iter().enumerate() {
            index.entry(h.clone()).or_insert(i);
        }
        Table {
            shown,
            header,
            rows,
            index,
        }
    }

    pub fn col(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
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
