//! The figure kinds `reconf plot` draws, described as data and rendered by plotters on any
//! backend (SVG and bitmap alike, from the same code, so the two files always agree).
//!
//! Every figure has a title saying what it shows and a subtitle saying from which runs; value
//! axes are linear or logarithmic ([`Scale`]); legends sit in a corner of the plot area where
//! nothing is drawn, or outside it ([`super::legend`]).

use super::legend::{free_corner, Legend, Occupancy, Swatch, INSET};
use super::palette::REFERENCE;
use super::scale::{Axis, Scale};
use super::text;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Width of every figure and height of line figures, in pixels: a paper column at 100–150 dpi
/// stays readable. Bar figures grow taller with their number of rows.
pub const WIDTH: u32 = 800;
pub const HEIGHT: u32 = 500;

/// Font sizes (plotters sizes: 1.24 em), for the figure size above.
const TITLE_PX: f64 = 21.0;
const SUBTITLE_PX: f64 = 14.0;
const LABEL_PX: f64 = 15.0;
const DESC_PX: f64 = 16.0;

/// A line of a line figure.
#[derive(Clone, Debug)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub color: RGBColor,
    /// Drawn as steps (a value holds until the next point), e.g. a count of nodes.
    pub steps: bool,
    /// Dashed (a reference such as an SLA target, or the seventh series on).
    pub dashed: bool,
    /// On the secondary (right) y axis.
    pub secondary: bool,
    /// A dot at each point (few points, e.g. the values of a swept axis).
    pub dots: bool,
    /// Vertical whiskers (x, low, high): a confidence interval at each point.
    pub errors: Vec<(f64, f64, f64)>,
    /// Drawn this many pixels to the right (series side by side at the same x values).
    pub dodge_px: f64,
}

impl Series {
    pub fn line(name: impl Into<String>, points: Vec<(f64, f64)>, color: RGBColor) -> Self {
        Series {
            name: name.into(),
            points,
            color,
            steps: false,
            dashed: false,
            secondary: false,
            dots: false,
            errors: Vec::new(),
            dodge_px: 0.0,
        }
    }
}

/// A shaded area between two curves sampled at the same x.
#[derive(Clone, Debug)]
pub struct Band {
    pub name: String,
    /// (x, low, high).
    pub points: Vec<(f64, f64, f64)>,
    pub color: RGBColor,
}

/// A vertical line at `x` (an action: a migration, a replica start...).
#[derive(Clone, Debug)]
pub struct Marker {
    pub x: f64,
    /// The legend entry (one per kind).
    pub kind: String,
    pub color: RGBColor,
}

/// Lines over a continuous x axis, with bands, markers and an optional secondary y axis.
#[derive(Clone, Debug)]
pub struct LineFigure {
    pub title: String,
    /// Which runs the figure comes from.
    pub subtitle: String,
    pub x_desc: String,
    pub y_desc: String,
    pub y2_desc: Option<String>,
    pub series: Vec<Series>,
    pub bands: Vec<Band>,
    pub markers: Vec<Marker>,
    /// Start the y axes at zero (counts, utilisations, times).
    pub y_from_zero: bool,
    /// Fixed y range (e.g. 0–1 for fractions).
    pub y_range: Option<(f64, f64)>,
    /// Label only whole numbers on the x axis (an axis of counts: replicas, cores).
    pub x_integer: bool,
    /// Label only whole numbers on the primary y axis (a count of nodes).
    pub y_integer: bool,
    /// Leave room around the x range (dots at its ends stay whole).
    pub x_pad: bool,
    /// Start the x axis at zero (time: a run starts at 0, its first interval ends later, and
    /// actions at 0 stay on the figure).
    pub x_from_zero: bool,
    /// The scale of the primary y axis.
    pub y_scale: Scale,
    /// A horizontal reference line at y = 0 (differences).
    pub zero_line: bool,
}

impl Default for LineFigure {
    fn default() -> Self {
        LineFigure {
            title: String::new(),
            subtitle: String::new(),
            x_desc: String::new(),
            y_desc: String::new(),
            y2_desc: None,
            series: Vec::new(),
            bands: Vec::new(),
            markers: Vec::new(),
            y_from_zero: false,
            y_range: None,
            x_integer: false,
            y_integer: false,
            x_pad: false,
            x_from_zero: false,
            y_scale: Scale::Linear,
            zero_line: false,
        }
    }
}

/// One bar of a bar figure: a configuration's mean and its 95% confidence interval.
#[derive(Clone, Debug)]
pub struct Bar {
    pub label: String,
    pub mean: f64,
    /// NaN when not computable (fewer than two runs).
    pub ci: (f64, f64),
}

/// Horizontal bars, one per configuration, with CI whiskers; several groups (e.g. mean, p50,
/// p95, p99) are drawn as points side by side instead of bars.
#[derive(Clone, Debug)]
pub struct BarFigure {
    pub title: String,
    pub subtitle: String,
    pub x_desc: String,
    /// Per group: its name and one bar per row label.
    pub groups: Vec<(String, Vec<Bar>)>,
    /// Draw points with whiskers (differences, several groups) rather than filled bars.
    pub points: bool,
    pub scale: Scale,
    /// The values the axis must cover (the parts of a figure split in parts share their axis);
    /// `None`: those of its bars.
    pub value_range: Option<(f64, f64)>,
}

impl BarFigure {
    /// The range of the finite values drawn (means and CI ends; positive ones on a log axis).
    pub fn value_range(&self) -> Option<(f64, f64)> {
        let values = self
            .groups
            .iter()
            .flat_map(|g| g.1.iter().flat_map(|b| [b.mean, b.ci.0, b.ci.1]));
        match self.scale {
            Scale::Log => finite_range(values.filter(|v| *v > 0.0)),
            Scale::Linear => finite_range(values),
        }
    }

    /// Rows of configurations.
    pub fn rows(&self) -> usize {
        self.groups.first().map(|g| g.1.len()).unwrap_or(0)
    }

    /// The height of the figure: 500 px, or more for many configurations (24 px a row).
    pub fn height(&self) -> u32 {
        let groups = self.groups.len().max(1) as u32;
        let row_px = if groups > 2 { 30 } else { 24 };
        HEIGHT.max(150 + row_px * self.rows() as u32)
    }
}

type DrawResult = Result<(), String>;

fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// The title (shrunk to fit the width) and subtitle, centred at the top of `root`; returns the
/// area below them.
fn header<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    subtitle: &str,
) -> Result<DrawingArea<DB, Shift>, String> {
    let (w, _) = root.dim_in_pixel();
    let fit = |s: &str, size: f64| {
        let wide = text::measure(s, size).0 as f64;
        let room = w as f64 - 24.0;
        if wide > room {
            (size * room / wide).max(9.0)
        } else {
            size
        }
    };
    let centre_top = Pos::new(HPos::Center, VPos::Top);
    let mut y = 8;
    let size = fit(title, TITLE_PX);
    root.draw(&Text::new(
        title.to_string(),
        (w as i32 / 2, y),
        ("sans-serif", size)
            .into_font()
            .color(&BLACK)
            .pos(centre_top),
    ))
    .map_err(err)?;
    y += (TITLE_PX / 1.24 * 1.35) as i32;
    if !subtitle.is_empty() {
        let size = fit(subtitle, SUBTITLE_PX);
        root.draw(&Text::new(
            subtitle.to_string(),
            (w as i32 / 2, y),
            ("sans-serif", size)
                .into_font()
                .color(&RGBColor(90, 90, 90))
                .pos(centre_top),
        ))
        .map_err(err)?;
        y += (SUBTITLE_PX / 1.24 * 1.5) as i32;
    }
    Ok(root.split_vertically(y + 4).1)
}

/// A plot area in pixels, left, top, right, bottom (exclusive), absolute.
pub(crate) type Rect = (i32, i32, i32, i32);

fn rect_of<DB: DrawingBackend, CT: CoordTranslate>(area: &DrawingArea<DB, CT>) -> Rect {
    let (xr, yr) = area.get_pixel_range();
    (xr.start, yr.start, xr.end, yr.end)
}

/// From coordinate space to absolute pixels within a plot area.
#[derive(Clone, Copy)]
struct Mapping {
    rect: Rect,
    x: (f64, f64),
    y: (f64, f64),
}

impl Mapping {
    fn px(&self, (x, y): (f64, f64)) -> (f64, f64) {
        let (l, t, r, b) = self.rect;
        (
            l as f64 + (x - self.x.0) / (self.x.1 - self.x.0) * (r - l) as f64,
            b as f64 - (y - self.y.0) / (self.y.1 - self.y.0) * (b - t) as f64,
        )
    }
}

/// Where a legend goes: at a point inside the plot area, or below the chart in columns.
enum Place {
    None,
    Inside((i32, i32)),
    Below(usize),
}

/// Decides where `legend` goes: a free corner of the plot area `rect` (that of a chart over
/// the whole body), else below the chart in as many columns as the body's width allows.
fn place_legend(
    legend: &Legend,
    rect: Rect,
    body_w: u32,
    occ: impl FnOnce(Rect) -> Occupancy,
) -> Place {
    if legend.is_empty() {
        return Place::None;
    }
    match free_corner(&occ(rect), legend.size()) {
        Some(at) => Place::Inside(at),
        None => Place::Below(legend.columns_within(body_w as i32 - 2 * INSET)),
    }
}

/// The chart's area when the legend goes below it, and where the legend goes.
fn above_legend<DB: DrawingBackend>(
    body: &DrawingArea<DB, Shift>,
    legend: &Legend,
    cols: usize,
) -> (DrawingArea<DB, Shift>, (i32, i32)) {
    let (w, h) = body.dim_in_pixel();
    let (lw, lh) = legend.size_in(cols);
    let (chart, below) = body.split_vertically((h as i32 - lh - INSET).max(h as i32 / 2));
    let (bx, by) = below.get_base_pixel();
    (chart, (bx + (w as i32 - lw) / 2, by))
}

/// A linear coordinate in plotters with the ticks of an [`Axis`] (plotters would choose its
/// own): labelled ticks are its bold key points, minor grid lines its light ones.
#[derive(Clone)]
struct Ticked {
    lo: f64,
    hi: f64,
    major: Vec<f64>,
    minor: Vec<f64>,
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let span = self.hi - self.lo;
        if span == 0.0 {
            return (limit.0 + limit.1) / 2;
        }
        let t = (v - self.lo) / span;
        let len = (limit.1 - limit.0) as f64;
        let t = if t.is_finite() {
            t
        } else if t > 0.0 {
            1.0
        } else {
            0.0
        };
        limit.0 + (len * t).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.minor.clone()
        } else {
            self.major.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

type Coord = Cartesian2d<Ticked, Ticked>;

fn ranged(a: &Axis) -> Ticked {
    Ticked {
        lo: a.lo,
        hi: a.hi,
        major: a.major.clone(),
        minor: a.minor.clone(),
    }
}

/// Width of the widest tick label of an axis, in pixels.
fn widest_label(a: &Axis) -> i32 {
    a.major
        .iter()
        .map(|&c| text::measure(&a.label(c), LABEL_PX).0 as i32)
        .max()
        .unwrap_or(0)
}

/// The axes of a line figure, in coordinate space.
struct LineAxes {
    x: Axis,
    y: Axis,
    y2: Option<Axis>,
}

fn finite_range(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    (lo <= hi).then_some((lo, hi))
}

impl LineAxes {
    fn of(fig: &LineFigure) -> LineAxes {
        let xs = fig
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0))
            .chain(fig.bands.iter().flat_map(|b| b.points.iter().map(|p| p.0)));
        let (x0, x1) = finite_range(xs).unwrap_or((0.0, 1.0));
        let x0 = if fig.x_from_zero { x0.min(0.0) } else { x0 };
        let x = if fig.x_pad {
            let m = ((x1 - x0) * 0.04).max(if x1 > x0 { 0.0 } else { 0.5 });
            let mut a = Axis::linear(x0, x1, false, fig.x_integer);
            let inside: Vec<f64> = a
                .major
                .iter()
                .copied()
                .filter(|v| *v >= x0 - m - 1e-9 && *v <= x1 + m + 1e-9)
                .collect();
            a.major = inside;
            a.lo = x0 - m;
            a.hi = x1 + m;
            a
        } else if x1 > x0 {
            let mut a = Axis::linear(x0, x1, false, fig.x_integer);
            // Time starts where the data starts: no empty strip before the first interval.
            a.major.retain(|v| *v >= x0 - 1e-9 && *v <= x1 + 1e-9);
            a.lo = x0;
            a.hi = x1;
            a
        } else {
            Axis::linear(x0, x0 + 1.0, false, fig.x_integer)
        };
        let ys = fig
            .series
            .iter()
            .filter(|s| !s.secondary)
            .flat_map(|s| {
                s.points
                    .iter()
                    .map(|p| p.1)
                    .chain(s.errors.iter().flat_map(|e| [e.1, e.2]))
            })
            .chain(
                fig.bands
                    .iter()
                    .flat_map(|b| b.points.iter().flat_map(|p| [p.1, p.2])),
            )
            .chain(fig.zero_line.then_some(0.0));
        let y = match fig.y_range {
            Some((lo, hi)) => Axis::fixed(lo, hi),
            None => {
                let (lo, hi) = match fig.y_scale {
                    // Bands' lower ends may reach zero or below: they are clipped to the axis.
                    Scale::Log => finite_range(
                        fig.series
                            .iter()
                            .filter(|s| !s.secondary)
                            .flat_map(|s| {
                                s.points
                                    .iter()
                                    .map(|p| p.1)
                                    .chain(s.errors.iter().map(|e| e.2))
                            })
                            .chain(fig.bands.iter().flat_map(|b| b.points.iter().map(|p| p.2)))
                            .filter(|v| *v > 0.0),
                    )
                    .unwrap_or((1.0, 10.0)),
                    Scale::Linear => finite_range(ys).unwrap_or((0.0, 1.0)),
                };
                Axis::of(fig.y_scale, lo, hi, fig.y_from_zero, fig.y_integer)
            }
        };
        let y2 = fig.y2_desc.as_ref().map(|_| {
            let (lo, hi) = finite_range(
                fig.series
                    .iter()
                    .filter(|s| s.secondary)
                    .flat_map(|s| s.points.iter().map(|p| p.1)),
            )
            .unwrap_or((0.0, 1.0));
            Axis::linear(lo, hi, fig.y_from_zero, false)
        });
        LineAxes { x, y, y2 }
    }

    fn mapping(&self, rect: Rect, secondary: bool) -> Mapping {
        let y = if secondary {
            self.y2.as_ref().unwrap_or(&self.y)
        } else {
            &self.y
        };
        Mapping {
            rect,
            x: (self.x.lo, self.x.hi),
            y: (y.lo, y.hi),
        }
    }
}

/// A series' pieces in coordinate space: steps expanded, split where a point is missing (a
/// NaN value: no line is drawn across it), shifted right by its dodge.
fn series_pieces(s: &Series, axes: &LineAxes, rect: Rect) -> Vec<Vec<(f64, f64)>> {
    let ya = if s.secondary {
        axes.y2.as_ref().unwrap_or(&axes.y)
    } else {
        &axes.y
    };
    let dx = dodge(s, axes, rect);
    let pts = if s.steps {
        as_steps(&s.points)
    } else {
        s.points.clone()
    };
    let mut pieces = Vec::new();
    let mut cur = Vec::new();
    for (x, y) in pts {
        if x.is_finite() && y.is_finite() && (ya.scale == Scale::Linear || y > 0.0) {
            cur.push((axes.x.coord(x) + dx, ya.coord(y)));
        } else if !cur.is_empty() {
            pieces.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        pieces.push(cur);
    }
    pieces
}

/// A series' dodge in x coordinates.
fn dodge(s: &Series, axes: &LineAxes, rect: Rect) -> f64 {
    s.dodge_px * (axes.x.hi - axes.x.lo) / (rect.2 - rect.0).max(1) as f64
}

/// A series' whiskers in coordinate space.
fn error_coords(s: &Series, axes: &LineAxes, rect: Rect) -> Vec<(f64, f64, f64)> {
    let dx = dodge(s, axes, rect);
    s.errors
        .iter()
        .filter(|e| e.0.is_finite() && e.1.is_finite() && e.2.is_finite())
        .map(|&(x, lo, hi)| (axes.x.coord(x) + dx, axes.y.coord(lo), axes.y.coord(hi)))
        .collect()
}

fn band_coords(b: &Band, axes: &LineAxes) -> Vec<(f64, f64, f64)> {
    b.points
        .iter()
        .filter(|p| p.0.is_finite() && p.1.is_finite() && p.2.is_finite())
        .map(|&(x, lo, hi)| (axes.x.coord(x), axes.y.coord(lo), axes.y.coord(hi)))
        .collect()
}

/// The legend of a line figure: bands, markers (one per kind), series.
fn line_legend(fig: &LineFigure) -> Legend {
    let mut l = Legend::default();
    for b in &fig.bands {
        l.push(b.name.clone(), Swatch::Area(b.color));
    }
    for (kind, c) in marker_kinds(&fig.markers) {
        l.push(kind, Swatch::Marker(c));
    }
    // Unnamed series (the only one of its figure) need no entry.
    for s in fig.series.iter().filter(|s| !s.name.is_empty()) {
        let name = if s.secondary && fig.y2_desc.is_some() {
            format!("{} (right axis)", s.name)
        } else {
            s.name.clone()
        };
        let swatch = if s.dots && s.points.len() == 1 {
            Swatch::Dot(s.color)
        } else {
            Swatch::Line {
                color: s.color,
                dashed: s.dashed,
            }
        };
        l.push(name, swatch);
    }
    l
}

/// The marker kinds in order of first appearance, with their colours.
fn marker_kinds(markers: &[Marker]) -> Vec<(String, RGBColor)> {
    let mut kinds: Vec<(String, RGBColor)> = Vec::new();
    for m in markers {
        if !kinds.iter().any(|(k, _)| *k == m.kind) {
            kinds.push((m.kind.clone(), m.color));
        }
    }
    kinds
}

/// What a line figure draws in its plot area, as occupied cells.
fn line_occupancy(fig: &LineFigure, axes: &LineAxes, rect: Rect) -> Occupancy {
    let mut occ = Occupancy::new(rect);
    let m = axes.mapping(rect, false);
    for b in &fig.bands {
        let pts: Vec<(f64, f64, f64)> = band_coords(b, axes)
            .into_iter()
            .map(|(x, lo, hi)| {
                let (px, plo) = m.px((x, lo));
                (px, plo, m.px((x, hi)).1)
            })
            .collect();
        occ.band(&pts);
    }
    for mk in &fig.markers {
        let x = axes.x.coord(mk.x);
        occ.segment(m.px((x, axes.y.lo)), m.px((x, axes.y.hi)), 2.0);
    }
    for s in &fig.series {
        let sm = axes.mapping(rect, s.secondary);
        for piece in series_pieces(s, axes, rect) {
            let px: Vec<(f64, f64)> = piece.into_iter().map(|p| sm.px(p)).collect();
            occ.polyline(&px, 3.0);
            if s.dots {
                for p in &px {
                    occ.point(*p, 5.0);
                }
            }
        }
        for (x, lo, hi) in error_coords(s, axes, rect) {
            occ.segment(sm.px((x, lo)), sm.px((x, hi)), 9.0);
        }
    }
    if fig.zero_line && axes.y.lo < 0.0 && axes.y.hi > 0.0 {
        occ.segment(m.px((axes.x.lo, 0.0)), m.px((axes.x.hi, 0.0)), 1.0);
    }
    occ
}

fn build_line_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    axes: &LineAxes,
) -> Result<ChartContext<'a, DB, Coord>, String> {
    let mut builder = ChartBuilder::on(area);
    builder
        .margin_top(8)
        .margin_left(8)
        .margin_bottom(4)
        .margin_right(if axes.y2.is_some() { 8 } else { 24 })
        .x_label_area_size(46)
        .y_label_area_size(widest_label(&axes.y) + 36);
    if let Some(y2) = &axes.y2 {
        builder.right_y_label_area_size(widest_label(y2) + 36);
    }
    builder
        .build_cartesian_2d(ranged(&axes.x), ranged(&axes.y))
        .map_err(err)
}

/// Renders a line figure.
pub fn draw_lines<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    fig: &LineFigure,
) -> DrawResult {
    draw_lines_with(root, fig, true).map(|_| ())
}

/// Where a legend of `legend` drawn at `at` in `cols` columns is, in pixels.
fn legend_rect(legend: &Legend, at: (i32, i32), cols: usize) -> Rect {
    let (w, h) = legend.size_in(cols);
    (at.0, at.1, at.0 + w, at.1 + h)
}

/// Renders a line figure, its legend only if `with_legend` (the layout is the same either
/// way); returns where the legend is.
pub(crate) fn draw_lines_with<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    fig: &LineFigure,
    with_legend: bool,
) -> Result<Option<Rect>, String> {
    root.fill(&WHITE).map_err(err)?;
    let body = header(root, &fig.title, &fig.subtitle)?;
    let axes = LineAxes::of(fig);
    let legend = line_legend(fig);
    let full_rect = rect_of(build_line_chart(&body, &axes)?.plotting_area());
    let place = place_legend(&legend, full_rect, body.dim_in_pixel().0, |r| {
        line_occupancy(fig, &axes, r)
    });
    let (area, at, cols) = match place {
        Place::None => (body.clone(), None, 1),
        Place::Inside(at) => (body.clone(), Some(at), 1),
        Place::Below(cols) => {
            let (area, at) = above_legend(&body, &legend, cols);
            (area, Some(at), cols)
        }
    };
    draw_line_chart(&area, fig, &axes)?;
    if let (Some(at), true) = (at, with_legend) {
        legend.draw(root, at, cols)?;
    }
    root.present().map_err(err)?;
    Ok(at.map(|at| legend_rect(&legend, at, cols)))
}

fn draw_line_chart<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    fig: &LineFigure,
    axes: &LineAxes,
) -> DrawResult {
    let chart = build_line_chart(area, axes)?;
    let y2 = axes.y2.clone().unwrap_or_else(|| Axis::fixed(0.0, 1.0));
    let mut chart = chart.set_secondary_coord(ranged(&axes.x), ranged(&y2));
    let rect = rect_of(chart.plotting_area());
    let (xa, ya) = (&axes.x, &axes.y);
    let x_fmt = |v: &f64| xa.label(*v);
    let y_fmt = |v: &f64| ya.label(*v);
    chart
        .configure_mesh()
        .x_desc(&fig.x_desc)
        .y_desc(&fig.y_desc)
        .label_style(("sans-serif", LABEL_PX))
        .axis_desc_style(("sans-serif", DESC_PX))
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .light_line_style(RGBColor(242, 242, 242))
        .bold_line_style(RGBColor(222, 222, 222))
        .draw()
        .map_err(err)?;
    if let (Some(d), Some(a2)) = (&fig.y2_desc, &axes.y2) {
        let y2_fmt = |v: &f64| a2.label(*v);
        chart
            .configure_secondary_axes()
            .y_desc(d)
            .label_style(("sans-serif", LABEL_PX))
            .axis_desc_style(("sans-serif", DESC_PX))
            .y_label_formatter(&y2_fmt)
            .draw()
            .map_err(err)?;
    }
    let map = axes.mapping(rect, false);
    for b in &fig.bands {
        let pts = band_coords(b, axes);
        let mut poly: Vec<(f64, f64)> = pts.iter().map(|p| (p.0, p.2)).collect();
        poly.extend(pts.iter().rev().map(|p| (p.0, p.1)));
        chart
            .draw_series(std::iter::once(Polygon::new(
                poly,
                b.color.mix(0.2).filled(),
            )))
            .map_err(err)?;
    }
    // Markers span the plot height, dashed, under the lines.
    for mk in &fig.markers {
        let x = axes.x.coord(mk.x);
        if x < axes.x.lo || x > axes.x.hi {
            continue;
        }
        let segs = dash_px(&[(x, ya.lo), (x, ya.hi)], &map, 5.0, 3.0);
        chart
            .draw_series(
                segs.into_iter()
                    .map(|s| PathElement::new(s, mk.color.mix(0.9).stroke_width(1))),
            )
            .map_err(err)?;
    }
    if fig.zero_line && ya.lo < 0.0 && ya.hi > 0.0 {
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(axes.x.lo, 0.0), (axes.x.hi, 0.0)],
                REFERENCE.stroke_width(1),
            )))
            .map_err(err)?;
    }
    for s in &fig.series {
        let style = s.color.stroke_width(2);
        let sm = axes.mapping(rect, s.secondary);
        let pieces = series_pieces(s, axes, rect);
        let mut elements: Vec<PathElement<(f64, f64)>> = Vec::new();
        for pts in &pieces {
            if s.dashed {
                elements.extend(
                    dash_px(pts, &sm, 7.0, 5.0)
                        .into_iter()
                        .map(|seg| PathElement::new(seg, style)),
                );
            } else {
                elements.push(PathElement::new(pts.clone(), style));
            }
        }
        // Whiskers with caps 4 px either side.
        let cap = 4.0 * (axes.x.hi - axes.x.lo) / (rect.2 - rect.0).max(1) as f64;
        for (x, lo, hi) in error_coords(s, axes, rect) {
            elements.push(PathElement::new(vec![(x, lo), (x, hi)], style));
            elements.push(PathElement::new(vec![(x - cap, lo), (x + cap, lo)], style));
            elements.push(PathElement::new(vec![(x - cap, hi), (x + cap, hi)], style));
        }
        let dots: Vec<Circle<(f64, f64), i32>> = if s.dots {
            pieces
                .iter()
                .flatten()
                .map(|p| Circle::new(*p, 4, s.color.filled()))
                .collect()
        } else {
            Vec::new()
        };
        if s.secondary {
            chart.draw_secondary_series(elements).map_err(err)?;
            chart.draw_secondary_series(dots).map_err(err)?;
        } else {
            chart.draw_series(elements).map_err(err)?;
            chart.draw_series(dots).map_err(err)?;
        }
    }
    Ok(())
}

/// A step curve through `points`: each value holds until the next point's x.
fn as_steps(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(points.len() * 2);
    for (i, p) in points.iter().enumerate() {
        if i > 0 {
            out.push((p.0, points[i - 1].1));
        }
        out.push(*p);
    }
    out
}

/// Dashes along a polyline given in coordinate space: `on` pixels drawn, `off` pixels skipped,
/// measured on the figure (so dashes look the same whatever the slope and the scales).
fn dash_px(points: &[(f64, f64)], map: &Mapping, on: f64, off: f64) -> Vec<Vec<(f64, f64)>> {
    let mut out = Vec::new();
    let mut phase = 0.0; // distance into the current on+off period
    for w in points.windows(2) {
        let (a, b) = (w[0], w[1]);
        let (pa, pb) = (map.px(a), map.px(b));
        let len = ((pb.0 - pa.0).powi(2) + (pb.1 - pa.1).powi(2)).sqrt();
        if len.is_nan() || len <= 0.0 {
            continue;
        }
        let at = |d: f64| {
            let t = (d / len).clamp(0.0, 1.0);
            (a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1))
        };
        // Each step ends a dash or a gap, or the segment; at least 1/1000 px, so that float
        // rounding (a dash ending a hair before `d`) can never stall the walk.
        let mut d = 0.0;
        while d < len {
            let drawing = phase < on;
            let left = if drawing {
                on - phase
            } else {
                on + off - phase
            };
            let step = left.max(1e-3).min(len - d);
            if drawing {
                out.push(vec![at(d), at(d + step)]);
            }
            d += step;
            phase += step;
            if phase >= on + off - 1e-9 {
                phase = 0.0;
            }
        }
    }
    out
}

/// The value axis of a bar figure.
fn bar_axis(fig: &BarFigure) -> Axis {
    match (fig.scale, fig.value_range.or_else(|| fig.value_range())) {
        (Scale::Log, Some((lo, hi))) => Axis::log(lo, hi),
        (Scale::Log, None) => Axis::log(1.0, 10.0),
        (Scale::Linear, r) => {
            let (lo, hi) = r.unwrap_or((0.0, 1.0));
            Axis::linear(lo, hi, true, false)
        }
    }
}

/// The vertical offset of group `gi` of `groups` within a row.
fn group_offset(gi: usize, groups: usize) -> f64 {
    if groups > 1 {
        0.35 - 0.7 * (gi as f64 + 0.5) / groups as f64
    } else {
        0.0
    }
}

/// Row `i` of `n` is centred on y = n − 1 − i, so that the first configuration is on top.
fn row_y(i: usize, n: usize) -> f64 {
    (n - 1 - i) as f64
}

fn bar_legend(fig: &BarFigure) -> Legend {
    let mut l = Legend::default();
    if fig.groups.len() > 1 {
        for (gi, (name, _)) in fig.groups.iter().enumerate() {
            l.push(name.clone(), Swatch::Dot(super::palette::series(gi)));
        }
    }
    l
}

fn bar_occupancy(fig: &BarFigure, x: &Axis, rect: Rect) -> Occupancy {
    let mut occ = Occupancy::new(rect);
    let n = fig.rows().max(1);
    let m = Mapping {
        rect,
        x: (x.lo, x.hi),
        y: (-0.6, n as f64 - 0.4),
    };
    let groups = fig.groups.len().max(1);
    for (gi, (_, bars)) in fig.groups.iter().enumerate() {
        for (i, b) in bars.iter().enumerate() {
            if !b.mean.is_finite() {
                continue;
            }
            let y = row_y(i, n) + group_offset(gi, groups);
            let h = 0.32 / groups as f64;
            if fig.points {
                occ.point(m.px((x.coord(b.mean), y)), 6.0);
            } else {
                occ.rect(m.px((x.base(), y - h)), m.px((x.coord(b.mean), y + h)));
            }
            if b.ci.0.is_finite() && b.ci.1.is_finite() {
                occ.rect(
                    m.px((x.coord(b.ci.0), y - 0.1)),
                    m.px((x.coord(b.ci.1), y + 0.1)),
                );
            }
        }
    }
    if x.lo < 0.0 && x.hi > 0.0 {
        occ.segment(m.px((0.0, -0.6)), m.px((0.0, n as f64 - 0.4)), 1.0);
    }
    occ
}

fn build_bar_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    fig: &BarFigure,
    x: &Axis,
) -> Result<ChartContext<'a, DB, Coord>, String> {
    let n = fig.rows().max(1);
    let longest = fig
        .groups
        .first()
        .map(|g| {
            g.1.iter()
                .map(|b| text::measure(&b.label, LABEL_PX).0 as i32)
                .max()
                .unwrap_or(0)
        })
        .unwrap_or(0);
    let rows: Vec<f64> = (0..n).map(|i| i as f64).collect();
    ChartBuilder::on(area)
        .margin_top(8)
        .margin_left(8)
        .margin_bottom(4)
        .margin_right(24)
        .x_label_area_size(46)
        .y_label_area_size((longest + 16).clamp(40, 420))
        .build_cartesian_2d(
            ranged(x),
            Ticked {
                lo: -0.6,
                hi: n as f64 - 0.4,
                major: rows,
                minor: Vec::new(),
            },
        )
        .map_err(err)
}

/// Renders a bar figure: rows are configurations (top to bottom in the given order).
pub fn draw_bars<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, fig: &BarFigure) -> DrawResult {
    draw_bars_with(root, fig, true).map(|_| ())
}

/// Renders a bar figure, its legend only if `with_legend`; returns where the legend is.
pub(crate) fn draw_bars_with<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    fig: &BarFigure,
    with_legend: bool,
) -> Result<Option<Rect>, String> {
    root.fill(&WHITE).map_err(err)?;
    let body = header(root, &fig.title, &fig.subtitle)?;
    let x = bar_axis(fig);
    let legend = bar_legend(fig);
    let full_rect = rect_of(build_bar_chart(&body, fig, &x)?.plotting_area());
    let place = place_legend(&legend, full_rect, body.dim_in_pixel().0, |r| {
        bar_occupancy(fig, &x, r)
    });
    let (area, legend_at, cols) = match place {
        Place::None => (body.clone(), None, 1),
        Place::Inside(at) => (body.clone(), Some(at), 1),
        Place::Below(cols) => {
            let (area, at) = above_legend(&body, &legend, cols);
            (area, Some(at), cols)
        }
    };
    let mut chart = build_bar_chart(&area, fig, &x)?;
    let n = fig.rows().max(1);
    let labels: Vec<String> = fig
        .groups
        .first()
        .map(|g| g.1.iter().map(|b| b.label.clone()).collect())
        .unwrap_or_default();
    let y_fmt = |y: &f64| {
        let r = y.round();
        if (y - r).abs() > 1e-6 || r < 0.0 || r > (n - 1) as f64 {
            return String::new();
        }
        labels.get(n - 1 - r as usize).cloned().unwrap_or_default()
    };
    let x_fmt = |v: &f64| x.label(*v);
    chart
        .configure_mesh()
        .x_desc(&fig.x_desc)
        .label_style(("sans-serif", LABEL_PX))
        .axis_desc_style(("sans-serif", DESC_PX))
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .disable_y_mesh()
        .light_line_style(RGBColor(242, 242, 242))
        .bold_line_style(RGBColor(222, 222, 222))
        .draw()
        .map_err(err)?;
    if x.lo < 0.0 && x.hi > 0.0 {
        // Zero is the reference of differences.
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(0.0, -0.6), (0.0, n as f64 - 0.4)],
                REFERENCE.stroke_width(1),
            )))
            .map_err(err)?;
    }
    let groups = fig.groups.len().max(1);
    for (gi, (_, bars)) in fig.groups.iter().enumerate() {
        let c = super::palette::series(gi);
        let off = group_offset(gi, groups);
        let mut elements: Vec<DynElement<DB, (f64, f64)>> = Vec::new();
        for (i, b) in bars.iter().enumerate() {
            if !b.mean.is_finite() {
                continue;
            }
            let y = row_y(i, n) + off;
            let mean = x.coord(b.mean);
            if fig.points {
                elements.push(Circle::new((mean, y), 5, c.filled()).into_dyn());
            } else {
                let h = 0.32 / groups as f64;
                elements.push(
                    Rectangle::new([(x.base(), y - h), (mean, y + h)], c.mix(0.75).filled())
                        .into_dyn(),
                );
            }
            if b.ci.0.is_finite() && b.ci.1.is_finite() {
                let w = if fig.points {
                    0.08
                } else {
                    0.12 / (groups as f64).sqrt()
                };
                let wc = if fig.points { c } else { BLACK };
                let st = wc.stroke_width(2);
                let (lo, hi) = (x.coord(b.ci.0), x.coord(b.ci.1));
                elements.push(PathElement::new(vec![(lo, y), (hi, y)], st).into_dyn());
                // A whisker cut by a log axis (its low end at or below zero) has no cap there.
                if b.ci.0 > 0.0 || x.scale == Scale::Linear {
                    elements.push(PathElement::new(vec![(lo, y - w), (lo, y + w)], st).into_dyn());
                }
                elements.push(PathElement::new(vec![(hi, y - w), (hi, y + w)], st).into_dyn());
            }
        }
        chart.draw_series(elements).map_err(err)?;
    }
    if let (Some(at), true) = (legend_at, with_legend) {
        legend.draw(root, at, cols)?;
    }
    root.present().map_err(err)?;
    Ok(legend_at.map(|at| legend_rect(&legend, at, cols)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_hold_values_until_the_next_point() {
        assert_eq!(
            as_steps(&[(0.0, 1.0), (10.0, 2.0), (20.0, 1.0)]),
            [
                (0.0, 1.0),
                (10.0, 1.0),
                (10.0, 2.0),
                (20.0, 2.0),
                (20.0, 1.0)
            ]
        );
    }

    #[test]
    fn dashes_are_measured_in_pixels() {
        let map = Mapping {
            rect: (0, 0, 100, 100),
            x: (0.0, 10.0),
            y: (0.0, 1.0),
        };
        // 100 px long: 7 on, 5 off -> 9 dashes (the last one cut at the end).
        let d = dash_px(&[(0.0, 0.5), (10.0, 0.5)], &map, 7.0, 5.0);
        assert_eq!(d.len(), 9);
        assert!((d[0][1].0 - 0.7).abs() < 1e-9);
        assert!((d[1][0].0 - 1.2).abs() < 1e-9);
    }

    #[test]
    fn dashing_never_stalls_on_float_rounding() {
        // Segment lengths (pixels) on which a dash ending a rounding error before the pen
        // made the walk loop for ever (a sweep of 300 configurations never finished plotting).
        // One pixel per unit, exactly (x / 1 * 1).
        let map = Mapping {
            rect: (0, 0, 1, 1),
            x: (0.0, 1.0),
            y: (0.0, 1.0),
        };
        let lens = [11.949875600231234, 753.7384269786044, 233.49267749377407];
        let mut pts = vec![(0.0, 0.0)];
        for l in lens {
            let last = pts[pts.len() - 1];
            pts.push((last.0 + l, 0.0));
        }
        let d = dash_px(&pts, &map, 7.0, 5.0);
        let total: f64 = lens.iter().sum();
        // A dash per 12 px, plus the ones cut at segment ends.
        assert!(d.len() as f64 <= total / 12.0 + 4.0, "{}", d.len());
        let drawn: f64 = d.iter().map(|s| s[1].0 - s[0].0).sum();
        assert!((drawn - total * 7.0 / 12.0).abs() < 7.0, "{drawn}");
    }

    #[test]
    fn bar_figures_grow_with_their_rows() {
        let bars = |n: usize| BarFigure {
            title: String::new(),
            subtitle: String::new(),
            x_desc: String::new(),
            groups: vec![(
                "m".into(),
                (0..n)
                    .map(|i| Bar {
                        label: format!("c{i}"),
                        mean: 1.0,
                        ci: (f64::NAN, f64::NAN),
                    })
                    .collect(),
            )],
            points: false,
            scale: Scale::Linear,
            value_range: None,
        };
        assert_eq!(bars(6).height(), HEIGHT);
        assert!(bars(60).height() >= 60 * 24);
    }
}
