//! The embedded DejaVu Sans font: text measurement and glyph placement for the
//! diagram, and registration with plotters for the charts. No system font is used.

use ab_glyph::{point, Font, FontRef, Glyph, PxScale, ScaleFont};

use super::PlotError;

/// Family name written into SVG files (viewers fall back to similar sans fonts).
pub const SVG_FONT_FAMILY: &str = "DejaVu Sans,Helvetica,Arial,sans-serif";

/// Family name under which the embedded font is registered with plotters.
pub const PLOTTERS_FAMILY: &str = "sans-serif";

/// DejaVu Sans regular and bold, parsed from the bytes embedded in the binary.
pub struct Fonts {
    regular: FontRef<'static>,
    bold: FontRef<'static>,
}

/// Glyphs placed on a line of text, and where the line ends.
pub struct PlacedText {
    /// Glyphs positioned in the caller's coordinates (baseline origin).
    pub glyphs: Vec<Glyph>,
    /// Horizontal advance of the whole run.
    pub advance: f32,
}

impl Fonts {
    /// Parses the embedded regular and bold faces.
    pub fn load() -> Result<Fonts, PlotError> {
        let parse = |bytes: &'static [u8], face: &'static str| {
            FontRef::try_from_slice(bytes).map_err(|source| PlotError::Font { face, source })
        };
        Ok(Fonts {
            regular: parse(dejavu::sans::regular(), "regular")?,
            bold: parse(dejavu::sans::bold(), "bold")?,
        })
    }

    /// The regular or bold face.
    pub fn face(&self, bold: bool) -> &FontRef<'static> {
        if bold {
            &self.bold
        } else {
            &self.regular
        }
    }

    /// The ab_glyph scale for an em size of `size` (points or pixels alike).
    pub fn scale(&self, size: f32, bold: bool) -> PxScale {
        let face = self.face(bold);
        let units_per_em = face.units_per_em().unwrap_or(2048.0);
        PxScale::from(size * face.height_unscaled() / units_per_em)
    }

    /// Places `text` at em size `size` starting at (`x`, `baseline`), with kerning.
    pub fn place(&self, text: &str, size: f32, bold: bool, x: f32, baseline: f32) -> PlacedText {
        let face = self.face(bold);
        let scaled = face.as_scaled(self.scale(size, bold));
        let mut glyphs = Vec::with_capacity(text.len());
        let mut caret = x;
        let mut previous = None;
        for c in text.chars() {
            let id = scaled.glyph_id(c);
            if let Some(prev) = previous {
                caret += scaled.kern(prev, id);
            }
            glyphs.push(id.with_scale_and_position(scaled.scale(), point(caret, baseline)));
            caret += scaled.h_advance(id);
            previous = Some(id);
        }
        PlacedText {
            glyphs,
            advance: caret - x,
        }
    }

    /// Width of `text` at em size `size`.
    pub fn width(&self, text: &str, size: f32, bold: bool) -> f32 {
        self.place(text, size, bold, 0.0, 0.0).advance
    }
}

/// Registers the embedded font with plotters under [`PLOTTERS_FAMILY`] (regular and
/// bold); safe to call more than once.
pub fn register_with_plotters() -> Result<(), PlotError> {
    use plotters::style::FontStyle;
    for (style, bytes) in [
        (FontStyle::Normal, dejavu::sans::regular()),
        (FontStyle::Bold, dejavu::sans::bold()),
    ] {
        plotters::style::register_font(PLOTTERS_FAMILY, style, bytes)
            .map_err(|_| PlotError::FontRegistration)?;
    }
    Ok(())
}
