//! Raster writer for a diagram [`Layout`]: tiny-skia for boxes and arrows, the
//! embedded font rasterised with ab_glyph for text, all anti-aliased.

use ab_glyph::Font;
use tiny_skia::{FillRule, LineJoin, Paint, PathBuilder, Pixmap, Rect as SkiaRect, Stroke, Transform};

use super::font::Fonts;
use super::layout::{Edge, Layout, Rgb, TextLine, PEN_WIDTH};
use super::output::encode_png;
use super::{PlotError, MAX_PIXELS};

/// Pixels per point at `dpi`.
fn scale_for(dpi: u32) -> f32 {
    dpi as f32 / 72.0
}

/// Size in pixels of a layout drawn at `dpi`.
pub fn pixel_size(layout: &Layout, dpi: u32) -> (u32, u32) {
    let scale = scale_for(dpi);
    (
        (layout.width * scale).ceil() as u32,
        (layout.height * scale).ceil() as u32,
    )
}

fn paint(color: Rgb, anti_alias: bool) -> Paint<'static> {
    let mut paint = Paint::default();
    paint.set_color_rgba8(color.0, color.1, color.2, 255);
    paint.anti_alias = anti_alias;
    paint
}

/// Fills the pixel-aligned rectangle whose edges are nearest to the given ones.
fn fill_snapped(pixmap: &mut Pixmap, left: f32, top: f32, right: f32, bottom: f32, color: Rgb) {
    let (l, t, r, b) = (left.round(), top.round(), right.round(), bottom.round());
    if let Some(rect) = SkiaRect::from_ltrb(l, t, r.max(l + 1.0), b.max(t + 1.0)) {
        pixmap.fill_rect(rect, &paint(color, false), Transform::identity(), None);
    }
}

fn draw_edge(pixmap: &mut Pixmap, edge: &Edge, scale: f32) {
    let pen = (PEN_WIDTH * scale).round().max(1.0);
    let (sx, sy) = (edge.start.0 * scale, edge.start.1 * scale);
    let (ex, ey) = (edge.shaft_end().0 * scale, edge.shaft_end().1 * scale);
    // The shaft is a pixel-aligned bar; the head is centred on the bar.
    let (offset_x, offset_y) = if (sx - ex).abs() < f32::EPSILON {
        let left = (sx - pen / 2.0).round();
        fill_snapped(pixmap, left, sy, left + pen, ey + 1.0, Rgb::BLACK);
        (left + pen / 2.0 - sx, 0.0)
    } else {
        let top = (sy - pen / 2.0).round();
        fill_snapped(pixmap, sx, top, ex + 1.0, top + pen, Rgb::BLACK);
        (0.0, top + pen / 2.0 - sy)
    };
    let corners = edge.head();
    let mut path = PathBuilder::new();
    for (i, (x, y)) in corners.iter().enumerate() {
        let (x, y) = (x * scale + offset_x, y * scale + offset_y);
        if i == 0 {
            path.move_to(x, y);
        } else {
            path.line_to(x, y);
        }
    }
    path.close();
    if let Some(path) = path.finish() {
        let black = paint(Rgb::BLACK, true);
        pixmap.fill_path(&path, &black, FillRule::Winding, Transform::identity(), None);
        let stroke = Stroke {
            width: PEN_WIDTH * scale,
            line_join: LineJoin::Round,
            ..Stroke::default()
        };
        pixmap.stroke_path(&path, &black, &stroke, Transform::identity(), None);
    }
}

/// Blends `coverage` of `color` into the opaque pixel at (`x`, `y`).
fn blend(pixmap: &mut Pixmap, x: i32, y: i32, coverage: f32, color: Rgb) {
    if x < 0 || y < 0 || x as u32 >= pixmap.width() || y as u32 >= pixmap.height() {
        return;
    }
    let index = (y as usize * pixmap.width() as usize + x as usize) * 4;
    let alpha = coverage.clamp(0.0, 1.0);
    let data = pixmap.data_mut();
    for (channel, value) in [color.0, color.1, color.2].into_iter().enumerate() {
        let dst = data[index + channel] as f32;
        data[index + channel] = (dst + (value as f32 - dst) * alpha).round() as u8;
    }
}

fn draw_text(pixmap: &mut Pixmap, fonts: &Fonts, text: &TextLine, scale: f32) {
    let size = text.size * scale;
    let mut x = (text.center_x - text.width / 2.0) * scale;
    let baseline = (text.baseline * scale).round();
    for span in &text.spans {
        let placed = fonts.place(&span.text, size, span.bold, x, baseline);
        for glyph in placed.glyphs {
            if let Some(outlined) = fonts.face(span.bold).outline_glyph(glyph) {
                let bounds = outlined.px_bounds();
                let (left, top) = (bounds.min.x as i32, bounds.min.y as i32);
                outlined.draw(|gx, gy, coverage| {
                    blend(pixmap, left + gx as i32, top + gy as i32, coverage, text.color)
                });
            }
        }
        x += placed.advance;
    }
}

/// Draws `layout` at `dpi` and encodes it as an opaque PNG.
pub fn render(layout: &Layout, fonts: &Fonts, dpi: u32) -> Result<Vec<u8>, PlotError> {
    let scale = scale_for(dpi);
    let (width, height) = pixel_size(layout, dpi);
    if width as u64 * height as u64 > MAX_PIXELS {
        return Err(PlotError::TooLarge {
            width: width as u64,
            height: height as u64,
        });
    }
    let mut pixmap = Pixmap::new(width, height).ok_or(PlotError::Canvas { width, height })?;
    pixmap.fill(tiny_skia::Color::WHITE);
    for node in &layout.nodes {
        let f = node.frame;
        fill_snapped(
            &mut pixmap,
            f.x * scale,
            f.y * scale,
            f.right() * scale,
            f.bottom() * scale,
            Rgb::BLACK,
        );
        for cell in &node.cells {
            let r = cell.fill_rect;
            fill_snapped(
                &mut pixmap,
                r.x * scale,
                r.y * scale,
                r.right() * scale,
                r.bottom() * scale,
                cell.fill,
            );
            draw_text(&mut pixmap, fonts, &cell.text, scale);
        }
    }
    for edge in &layout.edges {
        draw_edge(&mut pixmap, edge, scale);
    }
    let rgb: Vec<u8> = pixmap
        .data()
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    encode_png(width, height, &rgb, Some(dpi as f32))
}
