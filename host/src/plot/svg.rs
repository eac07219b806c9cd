//! SVG writer for a diagram [`Layout`]: the same geometry as the PNG, in points,
//! with every label as a `<text>` element so the file stays searchable.

use std::fmt::Write;

use super::font::SVG_FONT_FAMILY;
use super::layout::{Layout, Rect, Rgb, TextLine, PEN_WIDTH};

/// Escapes the XML special characters of `text`.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    out
}

fn rect(out: &mut String, r: &Rect, fill: Rgb, class: &str) {
    // Writing to a String cannot fail.
    let _ = writeln!(
        out,
        r#"<rect class="{class}" x="{:.2}" y="{:.2}" width="{:.2}" height="{:.2}" fill="{}"/>"#,
        r.x,
        r.y,
        r.width,
        r.height,
        fill.hex()
    );
}

fn text(out: &mut String, line: &TextLine) {
    let _ = write!(
        out,
        r#"<text x="{:.2}" y="{:.2}" text-anchor="middle" font-family="{SVG_FONT_FAMILY}" font-size="{:.2}" fill="{}">"#,
        line.center_x,
        line.baseline,
        line.size,
        line.color.hex()
    );
    for span in &line.spans {
        let weight = if span.bold { "bold" } else { "normal" };
        let _ = write!(
            out,
            r#"<tspan font-weight="{weight}" xml:space="preserve">{}</tspan>"#,
            escape(&span.text)
        );
    }
    out.push_str("</text>\n");
}

/// Writes `layout` as a standalone SVG document (1 user unit = 1 point).
pub fn render(layout: &Layout) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{w:.2}pt" height="{h:.2}pt" viewBox="0 0 {w:.2} {h:.2}">
<rect class="background" x="0" y="0" width="{w:.2}" height="{h:.2}" fill="white"/>"#,
        w = layout.width,
        h = layout.height
    );
    for (index, node) in layout.nodes.iter().enumerate() {
        let _ = writeln!(
            out,
            r#"<g class="layer" id="layer{index}" data-name="{}" data-class="{}">"#,
            escape(&node.layer_name),
            escape(&node.class_name)
        );
        let _ = writeln!(out, "<title>{}</title>", escape(&node.layer_name));
        rect(&mut out, &node.frame, Rgb::BLACK, "frame");
        for cell in &node.cells {
            rect(&mut out, &cell.fill_rect, cell.fill, "cell");
            text(&mut out, &cell.text);
        }
        out.push_str("</g>\n");
    }
    for (index, edge) in layout.edges.iter().enumerate() {
        let (sx, sy) = edge.start;
        let (ex, ey) = edge.shaft_end();
        let head = edge.head();
        let _ = writeln!(
            out,
            r#"<g class="edge" id="edge{index}">
<path d="M{sx:.2},{sy:.2} L{ex:.2},{ey:.2}" fill="none" stroke="black" stroke-width="{PEN_WIDTH}"/>
<polygon points="{:.2},{:.2} {:.2},{:.2} {:.2},{:.2}" fill="black" stroke="black" stroke-width="{PEN_WIDTH}" stroke-linejoin="round"/>
</g>"#,
            head[0].0, head[0].1, head[1].0, head[1].1, head[2].0, head[2].1
        );
    }
    out.push_str("</svg>\n");
    out
}
