//! The error type shared by every renderer in [`crate::plot`].

use std::io;
use std::path::{Path, PathBuf};

/// Everything that can go wrong while laying out, drawing or writing a picture.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// The input cannot be drawn (no layers, a dpi out of range, a label outside the classes, ...).
    #[error("cannot plot: {0}")]
    Input(String),
    /// An embedded DejaVu Sans face could not be parsed.
    #[error("embedded font DejaVu Sans {face}: {source}")]
    Font {
        /// `regular` or `bold`.
        face: &'static str,
        /// The parser's error.
        #[source]
        source: ab_glyph::InvalidFont,
    },
    /// plotters refused to register the embedded font.
    #[error("plotters rejected the embedded font DejaVu Sans")]
    FontRegistration,
    /// The picture would need more pixels than [`MAX_PIXELS`](crate::plot::MAX_PIXELS).
    #[error(
        "picture too large: {width}x{height} pixels exceeds the limit of {} pixels; lower the dpi",
        crate::plot::MAX_PIXELS
    )]
    TooLarge {
        /// Width in pixels the picture would have.
        width: u64,
        /// Height in pixels the picture would have.
        height: u64,
    },
    /// A canvas of this size could not be allocated.
    #[error("cannot allocate a {width}x{height} canvas")]
    Canvas {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
    /// The drawing library (plotters) failed.
    #[error("drawing failed: {0}")]
    Draw(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Pixels that are not `width × height` RGB triples.
    #[error("a {width}x{height} image needs {expected} bytes, got {actual}")]
    Pixels {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// Bytes the image needs.
        expected: usize,
        /// Bytes given.
        actual: usize,
    },
    /// Encoding the PNG failed.
    #[error("PNG encoding failed: {0}")]
    Encode(#[from] png::EncodingError),
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file being read or written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

impl PlotError {
    /// Turns a failure to write `path` into [`PlotError::Io`].
    pub(crate) fn writing(path: &Path) -> impl FnOnce(io::Error) -> PlotError + '_ {
        move |source| PlotError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// Wraps a drawing library's error.
    pub(crate) fn draw<E: std::error::Error + Send + Sync + 'static>(error: E) -> PlotError {
        PlotError::Draw(Box::new(error))
    }
}
