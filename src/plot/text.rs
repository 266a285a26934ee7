//! Text of the figures, laid out glyph by glyph from the shipped font (DejaVu Sans).
//!
//! Why not plotters' own bitmap text: its ab_glyph drawer (plotters 0.3.7,
//! `style/font/ab_glyph.rs`) rasterises each glyph's outline relative to the glyph's pixel
//! bounds and pastes it at the pen position, adding the bounds' top (`px_bounds().min.y`) but
//! not their left edge (`px_bounds().min.x`): every glyph loses its left side bearing, so
//! glyphs with a wide one (`l`, `i`, `b`, `r`) slide left into their neighbour while the pen
//! still advances by the full width. "cl" reads "d" ("active dients") and gaps open after
//! narrow glyphs ("confi guration - b aseline"). It also rounds the pen to whole pixels glyph
//! by glyph, and scales glyphs by the font's ascent-to-descent height where its SVG backend
//! writes `font-size` as an em, so PNG text came out 6.5 % larger than the SVG's.
//!
//! Here the pen advances in fractional pixels (advance widths plus kerning), each glyph is
//! positioned at its pen position and rasterised there (ab_glyph then places the ink at its
//! side bearing, with sub-pixel accuracy), and sizes, anchors and rotations follow plotters'
//! SVG backend exactly (em = size / 1.24; baseline 0.76 em below a top anchor, 0.5 ex below a
//! centre anchor, 0.5 ex above a bottom one), so the PNG and the SVG of a figure agree.
//! [`Typeset`] wraps a drawing backend: text measurement is this module's for both backends
//! (so both are laid out the same), and the bitmap backend's text is drawn here.

use ab_glyph::{point, Font, FontRef, GlyphId, PxScale, ScaleFont};
use plotters::prelude::DrawingBackend;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontTransform;
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind,
};
use std::sync::OnceLock;

/// DejaVu Sans (Bitstream Vera licence, `fonts/LICENSE`), compiled into the binary.
pub static FONT_BYTES: &[u8] = include_bytes!("fonts/DejaVuSans.ttf");

/// The shipped font, parsed once.
pub fn font() -> &'static FontRef<'static> {
    static FONT: OnceLock<FontRef<'static>> = OnceLock::new();
    FONT.get_or_init(|| FontRef::try_from_slice(FONT_BYTES).expect("the shipped font parses"))
}

/// The em of a plotters font size, in pixels: plotters' sizes are 1.24 em (its SVG backend
/// writes `font-size` = size / 1.24).
pub fn em_px(size: f64) -> f32 {
    (size / 1.24) as f32
}

/// The ab_glyph scale (ascent-to-descent height in pixels) of an em of `em` pixels.
fn scale_of_em(em: f32) -> PxScale {
    let f = font();
    let upem = f.units_per_em().unwrap_or(2048.0);
    PxScale::from(em * f.height_unscaled() / upem)
}

/// The x-height of the font, in ems (for centre and bottom anchors, as SVG's `ex`).
fn x_height_em() -> f32 {
    static EX: OnceLock<f32> = OnceLock::new();
    *EX.get_or_init(|| {
        let f = font();
        let upem = f.units_per_em().unwrap_or(2048.0);
        f.outline(f.glyph_id('x'))
            .map(|o| o.bounds.min.y.max(o.bounds.max.y) / upem)
            .unwrap_or(0.5)
    })
}

/// A line of text laid out at a size: each glyph with its pen position (pixels from the start).
pub struct Line {
    pub glyphs: Vec<(GlyphId, f32)>,
    /// Advance width of the whole line, in pixels.
    pub width: f32,
    pub em: f32,
    scale: PxScale,
}

/// Lays out `text` at plotters font size `size`: advances and kerning in fractional pixels.
pub fn layout(text: &str, size: f64) -> Line {
    let f = font();
    let em = em_px(size);
    let scale = scale_of_em(em);
    let sf = f.as_scaled(scale);
    let mut glyphs = Vec::with_capacity(text.len());
    let mut x = 0.0f32;
    let mut prev: Option<GlyphId> = None;
    for c in text.chars() {
        let id = f.glyph_id(c);
        if let Some(p) = prev {
            x += sf.kern(p, id);
        }
        glyphs.push((id, x));
        x += sf.h_advance(id);
        prev = Some(id);
    }
    Line {
        glyphs,
        width: x,
        em,
        scale,
    }
}

/// Width and height (one em) of `text` at size `size`, in whole pixels (rounded up).
pub fn measure(text: &str, size: f64) -> (u32, u32) {
    let l = layout(text, size);
    (l.width.ceil() as u32, l.em.ceil() as u32)
}

/// Where the baseline and the start of the line are relative to the anchor point, in the
/// text's own (unrotated) frame, as plotters' SVG backend places them.
fn origin(line: &Line, anchor: Pos) -> (f32, f32) {
    let x = match anchor.h_pos {
        HPos::Left => 0.0,
        HPos::Center => -line.width / 2.0,
        HPos::Right => -line.width,
    };
    let ex = x_height_em() * line.em;
    let y = match anchor.v_pos {
        VPos::Top => 0.76 * line.em,
        VPos::Center => 0.5 * ex,
        VPos::Bottom => -0.5 * ex,
    };
    (x, y)
}

/// The pixel a pixel of the unrotated text lands on, relative to the anchor (pixel (x, y)
/// covers [x, x + 1) × [y, y + 1); the rotations are clockwise, y pointing down).
fn rotate(t: &FontTransform, x: i32, y: i32) -> (i32, i32) {
    match t {
        FontTransform::None => (x, y),
        FontTransform::Rotate90 => (-y - 1, x),
        FontTransform::Rotate180 => (-x - 1, -y - 1),
        FontTransform::Rotate270 => (y, -x - 1),
    }
}

/// Rasterises `text` anchored at the origin: calls `put(x, y, coverage)` for every inked pixel,
/// relative to the anchor point.
pub fn rasterize(
    text: &str,
    size: f64,
    anchor: Pos,
    transform: &FontTransform,
    mut put: impl FnMut(i32, i32, f32),
) {
    let line = layout(text, size);
    let (ox, oy) = origin(&line, anchor);
    let f = font();
    for &(id, x) in &line.glyphs {
        let glyph = id.with_scale_and_position(line.scale, point(ox + x, oy));
        if let Some(outline) = f.outline_glyph(glyph) {
            let b = outline.px_bounds();
            let (bx, by) = (b.min.x as i32, b.min.y as i32);
            outline.draw(|gx, gy, c| {
                if c > 0.0 {
                    let (px, py) = rotate(transform, bx + gx as i32, by + gy as i32);
                    put(px, py, c.min(1.0));
                }
            });
        }
    }
}

/// A drawing backend whose text is measured (and, for bitmaps, drawn) by this module.
pub struct Typeset<B> {
    inner: B,
    /// Draw text as pixels here (bitmaps); otherwise the backend writes it (SVG `<text>`).
    raster: bool,
}

impl<B: DrawingBackend> Typeset<B> {
    /// For a bitmap backend: text is rasterised here.
    pub fn raster(inner: B) -> Self {
        Typeset {
            inner,
            raster: true,
        }
    }

    /// For a vector backend that writes text itself (SVG): only measurement is ours.
    pub fn vector(inner: B) -> Self {
        Typeset {
            inner,
            raster: false,
        }
    }
}

type Drawn<B> = Result<(), DrawingErrorKind<<B as DrawingBackend>::ErrorType>>;

impl<B: DrawingBackend> DrawingBackend for Typeset<B> {
    type ErrorType = B::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Drawn<B> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Drawn<B> {
        self.inner.present()
    }

    fn draw_pixel(&mut self, point: BackendCoord, color: BackendColor) -> Drawn<B> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Drawn<B> {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Drawn<B> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Drawn<B> {
        self.inner.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Drawn<B> {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Drawn<B> {
        self.inner.fill_polygon(vert, style)
    }

    fn blit_bitmap(&mut self, pos: BackendCoord, size: (u32, u32), src: &[u8]) -> Drawn<B> {
        self.inner.blit_bitmap(pos, size, src)
    }

    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> Drawn<B> {
        if !self.raster {
            return self.inner.draw_text(text, style, pos);
        }
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        let (w, h) = self.inner.get_size();
        let mut result = Ok(());
        rasterize(
            text,
            style.size(),
            style.anchor(),
            &style.transform(),
            |x, y, c| {
                let (x, y) = (pos.0 + x, pos.1 + y);
                if result.is_ok() && x >= 0 && y >= 0 && (x as u32) < w && (y as u32) < h {
                    result = self.inner.draw_pixel((x, y), color.mix(c as f64));
                }
            },
        );
        result
    }

    fn estimate_text_size<S: BackendTextStyle>(
        &self,
        text: &str,
        style: &S,
    ) -> Result<(u32, u32), DrawingErrorKind<Self::ErrorType>> {
        Ok(measure(text, style.size()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plotters::style::{IntoFont, TextStyle};

    /// Columns of `text` with visible ink (over 5 % coverage), drawn at size 15 (the tick
    /// labels' size), left anchored.
    fn ink_columns(text: &str) -> Vec<bool> {
        let mut cols = vec![false; 400];
        rasterize(
            text,
            15.0,
            Pos::new(HPos::Left, VPos::Top),
            &FontTransform::None,
            |x, _, c| {
                if c > 0.05 {
                    cols[(x + 10) as usize] = true;
                }
            },
        );
        cols
    }

    /// Runs of inked columns (glyphs that touch count as one).
    fn ink_runs(cols: &[bool]) -> usize {
        cols.windows(2).filter(|w| !w[0] && w[1]).count()
    }

    #[test]
    fn neighbouring_glyphs_keep_their_side_bearings() {
        // "c" then "l": two separate marks, not a "d".
        assert_eq!(ink_runs(&ink_columns("cl")), 2);
        assert_eq!(ink_runs(&ink_columns("ll")), 2);
        // A glyph's ink starts at its left side bearing: DejaVu's "l" has 193 of 2048 units,
        // 1.8 px at 15 / 1.24 px per em.
        let first = ink_columns("l").iter().position(|&c| c).unwrap() as i32 - 10;
        assert_eq!(first, 1);
    }

    #[test]
    fn plotters_own_drawer_drops_the_left_side_bearing() {
        // The defect worked around (plotters 0.3.7): its "l" starts at the pen position. If
        // this fails, plotters has fixed it and `Typeset` could draw with its text again.
        crate::plot::register_font();
        let style: TextStyle = ("sans-serif", 15.0).into_font().into();
        let upstream = |text: &str| {
            let mut cols = vec![false; 400];
            style
                .draw(text, (0, 0), |x, _, c| {
                    if c.alpha > 0.05 {
                        cols[(x + 10) as usize] = true;
                    }
                    Ok::<(), ()>(())
                })
                .unwrap()
                .unwrap();
            cols
        };
        let first = upstream("l").iter().position(|&c| c).unwrap() as i32 - 10;
        assert_eq!(first, 0);
        // Hence its "cl" is one mark: the "d" of "active dients".
        assert_eq!(ink_runs(&upstream("cl")), 1);
    }

    #[test]
    fn the_line_width_is_the_sum_of_advances_and_kerning() {
        let f = font();
        let upem = f.units_per_em().unwrap();
        let em = em_px(15.0);
        // "l" alone: its advance, 569 of 2048 units.
        let l = layout("l", 15.0);
        assert!((l.width - 569.0 / upem * em).abs() < 1e-4, "{}", l.width);
        // Text widths add up (no kerning between these glyphs in DejaVu's kern table).
        let a = layout("active", 15.0).width;
        let b = layout(" clients", 15.0).width;
        let ab = layout("active clients", 15.0).width;
        assert!((a + b - ab).abs() < 1e-3);
        assert_eq!(measure("active clients", 15.0).0, ab.ceil() as u32);
    }

    #[test]
    fn anchors_and_rotations_follow_the_svg_backend() {
        let collect = |t: FontTransform, anchor: Pos| {
            let mut v = Vec::new();
            rasterize("Ag", 20.0, anchor, &t, |x, y, _| v.push((x, y)));
            v
        };
        let plain = collect(FontTransform::None, Pos::new(HPos::Left, VPos::Top));
        // A top anchor puts the baseline 0.76 em down: the capital's top is near the anchor,
        // the descender of "g" below the baseline.
        let top = plain.iter().map(|p| p.1).min().unwrap();
        let bottom = plain.iter().map(|p| p.1).max().unwrap();
        let em = em_px(20.0);
        assert!((top as f32) < 0.2 * em && top >= 0, "{top}");
        assert!((bottom as f32) > 0.76 * em, "{bottom}");
        // Rotating by 270° (a y axis label, reading upwards) maps (x, y) to (y, -x - 1).
        let rotated = collect(FontTransform::Rotate270, Pos::new(HPos::Left, VPos::Top));
        let mut expected: Vec<(i32, i32)> = plain.iter().map(|&(x, y)| (y, -x - 1)).collect();
        let mut got = rotated.clone();
        expected.sort_unstable();
        got.sort_unstable();
        assert_eq!(got, expected);
        // A right anchor ends the text at the anchor.
        let right = collect(FontTransform::None, Pos::new(HPos::Right, VPos::Top));
        let max_x = right.iter().map(|p| p.0).max().unwrap();
        assert!((-3..=0).contains(&max_x), "{max_x}");
    }
}
