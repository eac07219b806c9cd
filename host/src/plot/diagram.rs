//! Model diagrams in the manner of Keras's `plot_model`: the entry points that lay a
//! model out and write PNG or SVG (their input and options are in [`super::diagram_input`]).

use std::path::Path;

use super::diagram_input::{DiagramLayer, DiagramOptions, MAX_DPI};
use super::font::Fonts;
use super::layout::Layout;
use super::{png, svg, PlotError};

/// Output format of a diagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiagramFormat {
    /// Anti-aliased raster image at the options' dpi.
    Png,
    /// Vector image with the text as `<text>` elements.
    Svg,
}

impl DiagramFormat {
    /// The format named by a file's extension (`.png` or `.svg`, any case).
    pub fn from_path(path: &Path) -> Result<DiagramFormat, PlotError> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("png") => Ok(DiagramFormat::Png),
            Some("svg") => Ok(DiagramFormat::Svg),
            _ => Err(PlotError::Input(format!(
                "{}: unknown picture format; use a .png or .svg file name",
                path.display()
            ))),
        }
    }
}

/// Lays out `layers` and returns the encoded PNG or SVG bytes.
pub fn render_diagram(
    layers: &[DiagramLayer],
    options: &DiagramOptions,
    format: DiagramFormat,
) -> Result<Vec<u8>, PlotError> {
    if options.dpi == 0 || options.dpi > MAX_DPI {
        return Err(PlotError::Input(format!(
            "dpi {} is outside 1..={MAX_DPI}",
            options.dpi
        )));
    }
    let fonts = Fonts::load()?;
    let layout = Layout::new(layers, options, &fonts)?;
    match format {
        DiagramFormat::Png => png::render(&layout, &fonts, options.dpi),
        DiagramFormat::Svg => Ok(svg::render(&layout).into_bytes()),
    }
}

/// Renders `layers` to `path` (PNG or SVG by extension), atomically.
pub fn write_diagram(
    path: &Path,
    layers: &[DiagramLayer],
    options: &DiagramOptions,
) -> Result<(), PlotError> {
    let bytes = render_diagram(layers, options, DiagramFormat::from_path(path)?)?;
    crate::atomic::write(path, &bytes).map_err(PlotError::writing(path))
}
