//! The error type shared by every renderer in [`crate::plot`].

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Everything that can go wrong while laying out, drawing or writing a picture.
#[derive(Debug)]
pub enum PlotError {
    /// The input cannot be drawn (no layers, a dpi out of range, a label outside the classes, ...).
    Input(String),
    /// The embedded font could not be parsed or registered.
    Font(String),
    /// The picture would need more pixels than [`MAX_PIXELS`](crate::plot::MAX_PIXELS).
    TooLarge {
        /// Width in pixels the picture would have.
        width: u64,
        /// Height in pixels the picture would have.
        height: u64,
    },
    /// The drawing library failed (plotters or tiny-skia).
    Draw(String),
    /// Encoding the PNG failed.
    Encode(String),
    /// Reading or writing a file failed.
    Io {
        /// The file being read or written.
        path: PathBuf,
        /// The underlying error.
        error: io::Error,
    },
}

impl fmt::Display for PlotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlotError::Input(message) => write!(f, "cannot plot: {message}"),
            PlotError::Font(message) => write!(f, "embedded font: {message}"),
            PlotError::TooLarge { width, height } => write!(
                f,
                "picture too large: {width}x{height} pixels exceeds the limit of {} pixels; lower the dpi",
                crate::plot::MAX_PIXELS
            ),
            PlotError::Draw(message) => write!(f, "drawing failed: {message}"),
            PlotError::Encode(message) => write!(f, "PNG encoding failed: {message}"),
            PlotError::Io { path, error } => write!(f, "{}: {error}", path.display()),
        }
    }
}

impl PlotError {
    /// Turns a failure to write `path` into [`PlotError::Io`].
    pub(crate) fn writing(path: &Path) -> impl FnOnce(io::Error) -> PlotError + '_ {
        move |error| PlotError::Io {
            path: path.to_path_buf(),
            error,
        }
    }
}

impl std::error::Error for PlotError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PlotError::Io { error, .. } => Some(error),
            _ => None,
        }
    }
}
