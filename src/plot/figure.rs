//! The figure kinds `reconf plot` draws, described as data and rendered by plotters on any
//! backend (SVG and bitmap alike, from the same code, so the two files always agree).

use plotters::coord::Shift;
use plotters::prelude::*;

/// Width and height of every figure, in pixels: a paper column at 100–150 dpi stays readable.
pub const SIZE: (u32, u32) = (800, 500);

/// Font sizes in pixels, for the figure size above.
const CAPTION_PX: u32 = 22;
const LABEL_PX: u32 = 15;
const DESC_PX: u32 = 16;
const LEGEND_PX: u32 = 14;

/// A colour-blind-safe qualitative palette (Tableau 10).
pub const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

pub fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// A line of a line figure.
#[derive(Clone, Debug)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub color: RGBColor,
    /// Drawn as steps (a value holds until the next point), e.g. a count of nodes.
    pub steps: bool,
    /// Dashed (a reference such as an SLA target).
    pub dashed: bool,
    /// On the secondary (right) y axis.
    pub secondary: bool,
    /// A dot at each point (few points, e.g. the values of a swept axis).
    pub dots: bool,
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
#[derive(Clone, Debug, Default)]
pub struct LineFigure {
    pub title: String,
    pub x_desc: String,
    pub y_desc: String,
    pub y2_desc: Option<String>,
    pub series: Vec<Series>,
    pub bands: Vec<Band>,
    pub markers: Vec<Marker>,
    /// Start the y axes at zero (counts, utilisations, times).
    pub y_from_zero: bool,
    /// Fixed y range (e.g. 0–100 %).
    pub y_range: Option<(f64, f64)>,
    /// Label only whole numbers on the x axis (an axis of counts: replicas, cores).
    pub x_integer: bool,
    /// Label only whole numbers on the primary y axis (a count of nodes).
    pub y_integer: bool,
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
#[derive(Clone, Debug, Default)]
pub struct BarFigure {
    pub title: String,
    pub x_desc: String,
    /// Per group: its name and one bar per row label.
    pub groups: Vec<(String, Vec<Bar>)>,
    /// Draw points with whiskers (several groups) rather than filled bars.
    pub points: bool,
}

type DrawResult = Result<(), String>;

fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
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

/// Pads a value range so that lines do not touch the frame, and gives an empty range a width.
fn pad((lo, hi): (f64, f64), from_zero: bool) -> (f64, f64) {
    let (lo, hi) = if from_zero {
        (lo.min(0.0), hi.max(0.0))
    } else {
        (lo, hi)
    };
    if hi - lo < 1e-12 {
        let w = if hi.abs() > 1e-12 {
            hi.abs() * 0.1
        } else {
            1.0
        };
        return (lo - if from_zero && lo == 0.0 { 0.0 } else { w }, hi + w);
    }
    let m = (hi - lo) * 0.05;
    (if from_zero && lo >= 0.0 { lo } else { lo - m }, hi + m)
}

/// Tick labels without float noise (`0.30000000000000004` → `0.3`).
fn tick(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    let s = if !(1e-3..1e6).contains(&a) {
        format!("{v:.2e}")
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    };
    if s.contains('.') && !s.contains('e') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Renders a line figure.
pub fn draw_lines<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    fig: &LineFigure,
) -> DrawResult {
    root.fill(&WHITE).map_err(err)?;
    let primary: Vec<&Series> = fig.series.iter().filter(|s| !s.secondary).collect();
    let secondary: Vec<&Series> = fig.series.iter().filter(|s| s.secondary).collect();
    let xs = fig
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .chain(fig.bands.iter().flat_map(|b| b.points.iter().map(|p| p.0)));
    let (x0, x1) = finite_range(xs).unwrap_or((0.0, 1.0));
    let (x0, x1) = if x1 > x0 { (x0, x1) } else { (x0, x0 + 1.0) };
    let ys = primary
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .chain(
            fig.bands
                .iter()
                .flat_map(|b| b.points.iter().flat_map(|p| [p.1, p.2])),
        );
    // Headroom above the data for the legend, which sits in the upper left corner.
    let entries = fig.series.len() + fig.bands.len() + {
        let mut kinds: Vec<&str> = fig.markers.iter().map(|m| m.kind.as_str()).collect();
        kinds.sort_unstable();
        kinds.dedup();
        kinds.len()
    };
    let room = (0.07 * entries as f64).clamp(0.15, 0.8);
    let headroom = |(lo, hi): (f64, f64)| (lo, hi + room * (hi - lo));
    let (y0, y1) = fig
        .y_range
        .unwrap_or_else(|| headroom(pad(finite_range(ys).unwrap_or((0.0, 1.0)), fig.y_from_zero)));
    let y2 = finite_range(secondary.iter().flat_map(|s| s.points.iter().map(|p| p.1)))
        .map(|r| headroom(pad(r, fig.y_from_zero)))
        .unwrap_or((0.0, 1.0));

    let mut builder = ChartBuilder::on(root);
    builder
        .caption(&fig.title, ("sans-serif", CAPTION_PX))
        .margin(12)
        .x_label_area_size(48)
        .y_label_area_size(72);
    if fig.y2_desc.is_some() {
        builder.right_y_label_area_size(72);
    }
    let mut chart = builder
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?
        .set_secondary_coord(x0..x1, y2.0..y2.1);
    chart
        .configure_mesh()
        .x_desc(&fig.x_desc)
        .y_desc(&fig.y_desc)
        .label_style(("sans-serif", LABEL_PX))
        .axis_desc_style(("sans-serif", DESC_PX))
        .x_label_formatter(&|v| {
            if fig.x_integer && (v - v.round()).abs() > 1e-9 {
                String::new()
            } else {
                tick(*v)
            }
        })
        .y_label_formatter(&|v| {
            if fig.y_integer && (v - v.round()).abs() > 1e-9 {
                String::new()
            } else {
                tick(*v)
            }
        })
        .light_line_style(WHITE)
        .bold_line_style(RGBColor(225, 225, 225))
        .draw()
        .map_err(err)?;
    if let Some(d) = &fig.y2_desc {
        chart
            .configure_secondary_axes()
            .y_desc(d)
            .label_style(("sans-serif", LABEL_PX))
            .axis_desc_style(("sans-serif", DESC_PX))
            .y_label_formatter(&|v| tick(*v))
            .draw()
            .map_err(err)?;
    }
    for b in &fig.bands {
        let mut poly: Vec<(f64, f64)> = b.points.iter().map(|p| (p.0, p.2)).collect();
        poly.extend(b.points.iter().rev().map(|p| (p.0, p.1)));
        let c = b.color;
        chart
            .draw_series(std::iter::once(Polygon::new(poly, c.mix(0.2).filled())))
            .map_err(err)?
            .label(&b.name)
            .legend(move |(x, y)| {
                Rectangle::new([(x, y - 6), (x + 18, y + 6)], c.mix(0.3).filled())
            });
    }
    // Markers span the primary y range, drawn under the lines; one legend entry per kind.
    let mut kinds: Vec<(String, RGBColor)> = Vec::new();
    for m in &fig.markers {
        if !kinds.iter().any(|(k, _)| *k == m.kind) {
            kinds.push((m.kind.clone(), m.color));
        }
    }
    for (kind, c) in kinds {
        let c2 = c;
        chart
            .draw_series(
                fig.markers
                    .iter()
                    .filter(|m| m.kind == kind && m.x >= x0 && m.x <= x1)
                    .map(move |m| {
                        PathElement::new(vec![(m.x, y0), (m.x, y1)], c.mix(0.7).stroke_width(1))
                    }),
            )
            .map_err(err)?
            .label(kind)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x + 9, y - 7), (x + 9, y + 7)], c2.stroke_width(2))
            });
    }
    for s in &fig.series {
        let pts = if s.steps {
            as_steps(&s.points)
        } else {
            s.points.clone()
        };
        let c = s.color;
        let style = c.stroke_width(2);
        let dashed = s.dashed;
        let mut elements: Vec<DynElement<'_, DB, (f64, f64)>> = if dashed {
            dash(&pts, (x1 - x0) / 80.0)
                .into_iter()
                .map(|seg| PathElement::new(seg, style).into_dyn())
                .collect()
        } else {
            vec![PathElement::new(pts, style).into_dyn()]
        };
        if s.dots {
            elements.extend(
                s.points
                    .iter()
                    .map(|p| Circle::new(*p, 4, c.filled()).into_dyn()),
            );
        }
        let anno = if s.secondary {
            chart.draw_secondary_series(elements).map_err(err)?
        } else {
            chart.draw_series(elements).map_err(err)?
        };
        let name = if s.secondary && fig.y2_desc.is_some() {
            format!("{} (right axis)", s.name)
        } else {
            s.name.clone()
        };
        anno.label(name).legend(move |(x, y)| {
            if dashed {
                PathElement::new(vec![(x, y), (x + 7, y)], style)
            } else {
                PathElement::new(vec![(x, y), (x + 18, y)], style)
            }
        });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(160, 160, 160))
        .label_font(("sans-serif", LEGEND_PX))
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
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

/// Dashes of length `len` (in x units) along a polyline given by its points (horizontal
/// reference lines only need their two ends).
fn dash(points: &[(f64, f64)], len: f64) -> Vec<Vec<(f64, f64)>> {
    let mut out = Vec::new();
    for w in points.windows(2) {
        let (a, b) = (w[0], w[1]);
        let dx = b.0 - a.0;
        if dx <= 0.0 || len <= 0.0 {
            continue;
        }
        let mut x = a.0;
        while x < b.0 {
            let e = (x + len).min(b.0);
            let y = |x: f64| a.1 + (b.1 - a.1) * (x - a.0) / dx;
            out.push(vec![(x, y(x)), (e, y(e))]);
            x += 2.0 * len;
        }
    }
    out
}

/// Renders a bar figure: rows are configurations (top to bottom in the given order).
pub fn draw_bars<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, fig: &BarFigure) -> DrawResult {
    root.fill(&WHITE).map_err(err)?;
    let labels: Vec<String> = fig
        .groups
        .first()
        .map(|g| g.1.iter().map(|b| b.label.clone()).collect())
        .unwrap_or_default();
    let n = labels.len().max(1);
    let values = fig
        .groups
        .iter()
        .flat_map(|g| g.1.iter().flat_map(|b| [b.mean, b.ci.0, b.ci.1]));
    let (x0, x1) = pad(finite_range(values).unwrap_or((0.0, 1.0)), true);
    let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(4);
    let label_area = ((longest as f64) * LABEL_PX as f64 * 0.58 + 16.0).clamp(60.0, 360.0) as u32;
    // Row i is centred on y = n − 1 − i so that the first configuration is on top.
    let row_y = |i: usize| (n - 1 - i) as f64;
    let labels_for_axis = labels.clone();
    let mut chart = ChartBuilder::on(root)
        .caption(&fig.title, ("sans-serif", CAPTION_PX))
        .margin(12)
        .x_label_area_size(48)
        .y_label_area_size(label_area)
        .build_cartesian_2d(x0..x1, -0.6..(n as f64 - 0.4))
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(&fig.x_desc)
        .label_style(("sans-serif", LABEL_PX))
        .axis_desc_style(("sans-serif", DESC_PX))
        .x_label_formatter(&|v| tick(*v))
        .y_labels(n.min(40) * 2 + 1)
        .y_label_formatter(&move |y| {
            let r = y.round();
            if (y - r).abs() > 1e-6 || r < 0.0 || r > (n - 1) as f64 {
                return String::new();
            }
            let i = n - 1 - r as usize;
            labels_for_axis.get(i).cloned().unwrap_or_default()
        })
        .disable_y_mesh()
        .light_line_style(WHITE)
        .bold_line_style(RGBColor(225, 225, 225))
        .draw()
        .map_err(err)?;
    if x0 < 0.0 && x1 > 0.0 {
        // Zero is the reference of differences.
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(0.0, -0.6), (0.0, n as f64 - 0.4)],
                RGBColor(90, 90, 90).stroke_width(1),
            )))
            .map_err(err)?;
    }
    let groups = fig.groups.len().max(1) as f64;
    for (gi, (name, bars)) in fig.groups.iter().enumerate() {
        let c = if fig.points || fig.groups.len() > 1 {
            color(gi)
        } else {
            color(0)
        };
        // Offset of this group within a row.
        let off = if groups > 1.0 {
            0.35 - 0.7 * (gi as f64 + 0.5) / groups
        } else {
            0.0
        };
        let mut elements: Vec<DynElement<DB, (f64, f64)>> = Vec::new();
        for (i, b) in bars.iter().enumerate() {
            if !b.mean.is_finite() {
                continue;
            }
            let y = row_y(i) + off;
            if fig.points {
                elements.push(Circle::new((b.mean, y), 5, c.filled()).into_dyn());
            } else {
                let h = 0.32 / groups;
                elements.push(
                    Rectangle::new(
                        [(0.0_f64.max(x0), y - h), (b.mean, y + h)],
                        c.mix(0.75).filled(),
                    )
                    .into_dyn(),
                );
            }
            if b.ci.0.is_finite() && b.ci.1.is_finite() {
                let w = if fig.points {
                    0.08
                } else {
                    0.12 / groups.sqrt()
                };
                let wc = if fig.points { c } else { BLACK };
                let st = wc.stroke_width(2);
                elements.push(PathElement::new(vec![(b.ci.0, y), (b.ci.1, y)], st).into_dyn());
                elements
                    .push(PathElement::new(vec![(b.ci.0, y - w), (b.ci.0, y + w)], st).into_dyn());
                elements
                    .push(PathElement::new(vec![(b.ci.1, y - w), (b.ci.1, y + w)], st).into_dyn());
            }
        }
        let anno = chart.draw_series(elements).map_err(err)?;
        if fig.groups.len() > 1 || fig.points {
            anno.label(name.clone())
                .legend(move |(x, y)| Circle::new((x + 9, y), 5, c.filled()));
        } else {
            anno.label(format!("{name} (bar: mean, whisker: 95% CI)"))
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 6), (x + 18, y + 6)], c.mix(0.75).filled())
                });
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(160, 160, 160))
        .label_font(("sans-serif", LEGEND_PX))
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_have_no_float_noise() {
        assert_eq!(tick(0.30000000000000004), "0.3");
        assert_eq!(tick(1200.0), "1200");
        assert_eq!(tick(2.5), "2.5");
        assert_eq!(tick(0.0), "0");
    }

    #[test]
    fn ranges_are_padded_and_never_empty() {
        assert_eq!(pad((0.0, 0.0), true), (0.0, 1.0));
        let (lo, hi) = pad((5.0, 5.0), false);
        assert!(lo < 5.0 && hi > 5.0);
        let (lo, hi) = pad((10.0, 20.0), true);
        assert_eq!(lo, 0.0);
        assert!(hi > 20.0);
    }

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
}
