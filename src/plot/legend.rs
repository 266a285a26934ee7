//! Legends that never cover data: a legend goes in a corner of the plot area only if nothing
//! is drawn there (lines, bands, bars, whiskers, markers, reference lines, all rasterised into
//! an occupancy grid), else outside the plot area, below it, in as many columns as fit.

use super::text;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Font size of legend entries (plotters size: 1.24 em).
pub const LEGEND_PX: f64 = 14.0;
const SWATCH_W: i32 = 22;
const GAP: i32 = 6;
const PAD: i32 = 6;
const ROW_H: i32 = 18;
const COL_GAP: i32 = 16;
/// Distance from the plot frame to a legend inside it, and between the frame and a legend
/// outside it.
pub const INSET: i32 = 8;

/// What an entry's sample looks like.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Swatch {
    Line {
        color: RGBColor,
        dashed: bool,
    },
    /// A shaded band.
    Area(RGBColor),
    Bar(RGBColor),
    Dot(RGBColor),
    /// A vertical dashed line (an action marker).
    Marker(RGBColor),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub label: String,
    pub swatch: Swatch,
}

/// A legend: its entries, one per row.
#[derive(Clone, Debug, Default)]
pub struct Legend {
    pub entries: Vec<Entry>,
}

impl Legend {
    pub fn push(&mut self, label: impl Into<String>, swatch: Swatch) {
        self.entries.push(Entry {
            label: label.into(),
            swatch,
        });
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Width of one entry: swatch, gap, the longest label.
    fn entry_w(&self) -> i32 {
        let text_w = self
            .entries
            .iter()
            .map(|e| text::measure(&e.label, LEGEND_PX).0 as i32)
            .max()
            .unwrap_or(0);
        SWATCH_W + GAP + text_w
    }

    /// Width and height in pixels, in one column.
    pub fn size(&self) -> (i32, i32) {
        self.size_in(1)
    }

    /// Width and height in pixels, entries in `cols` columns (filled row by row).
    pub fn size_in(&self, cols: usize) -> (i32, i32) {
        let cols = cols.clamp(1, self.entries.len().max(1));
        let rows = self.entries.len().div_ceil(cols) as i32;
        (
            2 * PAD + cols as i32 * self.entry_w() + (cols as i32 - 1) * COL_GAP,
            PAD * 2 + ROW_H * rows,
        )
    }

    /// The most columns that fit in `width` pixels.
    pub fn columns_within(&self, width: i32) -> usize {
        let per = self.entry_w() + COL_GAP;
        (((width - 2 * PAD + COL_GAP) / per.max(1)).max(1) as usize).min(self.entries.len().max(1))
    }

    /// Draws the legend in `cols` columns with its upper left corner at `at` (pixels of
    /// `area`).
    pub fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        at: (i32, i32),
        cols: usize,
    ) -> Result<(), String> {
        let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        let cols = cols.clamp(1, self.entries.len().max(1));
        let (w, h) = self.size_in(cols);
        let (x0, y0) = at;
        area.draw(&Rectangle::new(
            [(x0, y0), (x0 + w, y0 + h)],
            WHITE.mix(0.9).filled(),
        ))
        .map_err(err)?;
        area.draw(&Rectangle::new(
            [(x0, y0), (x0 + w, y0 + h)],
            RGBColor(160, 160, 160).stroke_width(1),
        ))
        .map_err(err)?;
        let style = ("sans-serif", LEGEND_PX)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Left, VPos::Center));
        for (i, e) in self.entries.iter().enumerate() {
            let (row, col) = ((i / cols) as i32, (i % cols) as i32);
            let cy = y0 + PAD + ROW_H * row + ROW_H / 2;
            let sx = x0 + PAD + col * (self.entry_w() + COL_GAP);
            match e.swatch {
                Swatch::Line { color, dashed } => {
                    let st = color.stroke_width(2);
                    if dashed {
                        for k in 0..3 {
                            let a = sx + k * 8;
                            area.draw(&PathElement::new(vec![(a, cy), (a + 5, cy)], st))
                                .map_err(err)?;
                        }
                    } else {
                        area.draw(&PathElement::new(vec![(sx, cy), (sx + SWATCH_W, cy)], st))
                            .map_err(err)?;
                    }
                }
                Swatch::Area(c) => area
                    .draw(&Rectangle::new(
                        [(sx, cy - 6), (sx + SWATCH_W, cy + 6)],
                        c.mix(0.3).filled(),
                    ))
                    .map_err(err)?,
                Swatch::Bar(c) => area
                    .draw(&Rectangle::new(
                        [(sx, cy - 6), (sx + SWATCH_W, cy + 6)],
                        c.mix(0.75).filled(),
                    ))
                    .map_err(err)?,
                Swatch::Dot(c) => area
                    .draw(&Circle::new((sx + SWATCH_W / 2, cy), 5, c.filled()))
                    .map_err(err)?,
                Swatch::Marker(c) => {
                    let mx = sx + SWATCH_W / 2;
                    for k in 0..3 {
                        let a = cy - 8 + k * 6;
                        area.draw(&PathElement::new(
                            vec![(mx, a), (mx, a + 4)],
                            c.stroke_width(2),
                        ))
                        .map_err(err)?;
                    }
                }
            }
            area.draw(&Text::new(
                e.label.clone(),
                (sx + SWATCH_W + GAP, cy),
                style.clone(),
            ))
            .map_err(err)?;
        }
        Ok(())
    }
}

/// Which pixels of a plot area something is drawn on, in cells of `CELL` pixels.
pub struct Occupancy {
    /// The plot area, in pixels: left, top, right, bottom (exclusive).
    pub rect: (i32, i32, i32, i32),
    cols: i32,
    rows: i32,
    cells: Vec<bool>,
}

const CELL: i32 = 4;

impl Occupancy {
    pub fn new(rect: (i32, i32, i32, i32)) -> Self {
        let cols = ((rect.2 - rect.0) / CELL + 1).max(1);
        let rows = ((rect.3 - rect.1) / CELL + 1).max(1);
        Occupancy {
            rect,
            cols,
            rows,
            cells: vec![false; (cols * rows) as usize],
        }
    }

    fn cell(&self, x: f64, y: f64) -> Option<usize> {
        let cx = ((x - self.rect.0 as f64) / CELL as f64).floor();
        let cy = ((y - self.rect.1 as f64) / CELL as f64).floor();
        if !cx.is_finite() || !cy.is_finite() {
            return None;
        }
        let (cx, cy) = (cx as i64, cy as i64);
        (cx >= 0 && cy >= 0 && cx < self.cols as i64 && cy < self.rows as i64)
            .then(|| (cy * self.cols as i64 + cx) as usize)
    }

    /// Marks a disc of `radius` pixels around a point.
    pub fn point(&mut self, (x, y): (f64, f64), radius: f64) {
        let r = radius.max(0.0);
        let mut dy = -r;
        while dy <= r {
            let mut dx = -r;
            while dx <= r {
                if let Some(c) = self.cell(x + dx, y + dy) {
                    self.cells[c] = true;
                }
                dx += (CELL as f64 / 2.0).min(r.max(0.5));
            }
            dy += (CELL as f64 / 2.0).min(r.max(0.5));
        }
        if let Some(c) = self.cell(x, y) {
            self.cells[c] = true;
        }
    }

    /// Marks a segment `width` pixels wide.
    pub fn segment(&mut self, a: (f64, f64), b: (f64, f64), width: f64) {
        let len = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
        if !len.is_finite() {
            return;
        }
        let steps = (len / (CELL as f64 / 2.0)).ceil().max(1.0) as usize;
        for k in 0..=steps {
            let t = k as f64 / steps as f64;
            self.point((a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1)), width / 2.0);
        }
    }

    /// Marks a polyline.
    pub fn polyline(&mut self, pts: &[(f64, f64)], width: f64) {
        for w in pts.windows(2) {
            self.segment(w[0], w[1], width);
        }
        if pts.len() == 1 {
            self.point(pts[0], width / 2.0);
        }
    }

    /// Marks a filled rectangle given by two corners.
    pub fn rect(&mut self, a: (f64, f64), b: (f64, f64)) {
        let (x0, x1) = (a.0.min(b.0), a.0.max(b.0));
        let (y0, y1) = (a.1.min(b.1), a.1.max(b.1));
        let mut y = y0;
        while y <= y1 + CELL as f64 / 2.0 {
            self.segment((x0, y.min(y1)), (x1, y.min(y1)), 1.0);
            y += CELL as f64 / 2.0;
        }
    }

    /// Marks the area between two curves sampled at the same x (a band).
    pub fn band(&mut self, pts: &[(f64, f64, f64)]) {
        for w in pts.windows(2) {
            let (a, b) = (w[0], w[1]);
            let steps = ((b.0 - a.0).abs() / (CELL as f64 / 2.0)).ceil().max(1.0) as usize;
            for k in 0..=steps {
                let t = k as f64 / steps as f64;
                let x = a.0 + t * (b.0 - a.0);
                let lo = a.1 + t * (b.1 - a.1);
                let hi = a.2 + t * (b.2 - a.2);
                self.segment((x, lo), (x, hi), 1.0);
            }
        }
    }

    /// Whether nothing is drawn in the rectangle (pixels, left, top, right, bottom).
    pub fn is_free(&self, (x0, y0, x1, y1): (i32, i32, i32, i32)) -> bool {
        let c0 = ((x0 - self.rect.0) / CELL).max(0);
        let c1 = ((x1 - self.rect.0) / CELL).min(self.cols - 1);
        let r0 = ((y0 - self.rect.1) / CELL).max(0);
        let r1 = ((y1 - self.rect.1) / CELL).min(self.rows - 1);
        for r in r0..=r1 {
            for c in c0..=c1 {
                if self.cells[(r * self.cols + c) as usize] {
                    return false;
                }
            }
        }
        true
    }
}

/// The upper left corner of a legend of `size` in a free corner of the plot area, tried in
/// the order upper right, upper left, lower right, lower left; `None` if every corner has
/// data (or the legend does not fit): the legend then goes outside.
pub fn free_corner(occ: &Occupancy, size: (i32, i32)) -> Option<(i32, i32)> {
    let (l, t, r, b) = occ.rect;
    let (w, h) = size;
    if w + 2 * INSET > r - l || h + 2 * INSET > b - t {
        return None;
    }
    let xs = [r - INSET - w, l + INSET];
    let ys = [t + INSET, b - INSET - h];
    let corners = [
        (xs[0], ys[0]),
        (xs[1], ys[0]),
        (xs[0], ys[1]),
        (xs[1], ys[1]),
    ];
    // A margin around the legend, so that data does not touch its frame either.
    corners
        .into_iter()
        .find(|&(x, y)| occ.is_free((x - 3, y - 3, x + w + 3, y + h + 3)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_legend_takes_a_corner_without_data() {
        let mut occ = Occupancy::new((100, 50, 700, 450));
        // A line along the top: both upper corners are taken.
        occ.segment((100.0, 60.0), (700.0, 60.0), 2.0);
        let at = free_corner(&occ, (120, 60)).unwrap();
        assert_eq!(at, (700 - INSET - 120, 450 - INSET - 60));
        // A band over the lower right corner too: lower left remains.
        occ.band(&[(600.0, 300.0, 450.0), (700.0, 300.0, 450.0)]);
        assert_eq!(
            free_corner(&occ, (120, 60)),
            Some((100 + INSET, 450 - INSET - 60))
        );
        // A vertical marker through the left: nowhere inside.
        occ.segment((130.0, 50.0), (130.0, 450.0), 1.0);
        assert_eq!(free_corner(&occ, (120, 60)), None);
    }

    #[test]
    fn a_legend_too_big_for_the_plot_goes_outside() {
        let occ = Occupancy::new((0, 0, 200, 100));
        assert_eq!(free_corner(&occ, (190, 40)), None);
        assert!(free_corner(&occ, (100, 40)).is_some());
    }

    #[test]
    fn legend_size_grows_with_entries_and_text() {
        let mut l = Legend::default();
        l.push("a", Swatch::Dot(BLACK));
        let (w1, h1) = l.size();
        l.push("a much longer label", Swatch::Dot(BLACK));
        let (w2, h2) = l.size();
        assert!(w2 > w1 && h2 == h1 + ROW_H);
        // Side by side: one row, twice as wide (and a gap).
        assert_eq!(l.size_in(2), (2 * w2 - 2 * PAD + COL_GAP, h1));
        assert_eq!(l.columns_within(w2 * 2 + COL_GAP), 2);
        assert_eq!(l.columns_within(w2), 1);
    }
}
