//! The one error type of the Keras formats: what went wrong, in which file, at which
//! layer or object.

use crate::device_format::DeviceFormatError;
use crate::h5::H5Error;
use crate::model::ModelError;
use std::path::{Path, PathBuf};

/// Why a Keras file could not be read or written. Every variant names the file (or a
/// label such as `model.keras:config.json`) and, where it applies, the layer.
#[derive(Debug, thiserror::Error)]
pub enum KerasError {
    /// The file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file (or a label such as `model.keras:config.json`).
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The HDF5 file is unreadable (truncated, not HDF5, ...) or could not be written.
    #[error("{0}")]
    H5(#[from] H5Error),
    /// The JSON text is not valid JSON (NaN and Infinity are not JSON).
    #[error("{path}: invalid JSON: {message}")]
    Json {
        /// The file or attribute holding the text.
        path: String,
        /// The parser's message with line and column.
        message: String,
    },
    /// The YAML text is invalid or exceeds the parsing budgets (alias bombs, deep nesting).
    #[error("{path}: invalid YAML: {message}")]
    Yaml {
        /// The file (or a label such as `model.keras:config.json`).
        path: String,
        /// The parser's message.
        message: String,
    },
    /// Something the file must hold is missing (`model_config`, `model_weights`, ...).
    #[error("{path}: no {what} found")]
    Missing {
        /// The file (or a label such as `model.keras:config.json`).
        path: String,
        /// What is missing.
        what: String,
    },
    /// The model or training configuration is malformed.
    #[error("{path}: {at}: {message}")]
    Config {
        /// The file (or a label such as `model.keras:config.json`).
        path: String,
        /// Where in the configuration (`layer "dense"`, `training_config`).
        at: String,
        /// What is wrong.
        message: String,
    },
    /// A layer class microdense does not support (Conv2D, LSTM, Lambda, custom classes).
    #[error("{path}: layer {layer:?} is a {class}, which microdense does not support{}; nearest supported: {}; supported: {}", lambda_note(class), super::layers::nearest_alternative(class), super::layers::SUPPORTED_CLASSES)]
    UnsupportedLayer {
        /// The file (or a label such as `model.keras:config.json`).
        path: String,
        /// The Keras class name.
        class: String,
        /// The layer's name.
        layer: String,
    },
    /// A setting microdense does not support (an initializer, activation, regularizer,
    /// optimizer, ...), with where it was found.
    #[error("{path}: {at}: {what} is not supported by microdense")]
    Unsupported {
        /// The file (or a label such as `model.keras:config.json`).
        path: String,
        /// Where (`layer "dense"`, `optimizer`).
        at: String,
        /// What is unsupported, e.g. `kernel_initializer "RandomNormal"`.
        what: String,
    },
    /// A weight tensor's shape does not match the architecture.
    #[error(
        "{path}: layer {layer:?}: {weight} has shape {} in the file, the model needs {}",
        shape(found),
        shape(expected)
    )]
    WeightShape {
        /// The file (or a label such as `model.keras:config.json`).
        path: String,
        /// The layer.
        layer: String,
        /// Which tensor (`kernel`, `bias`, `momentum of kernel`).
        weight: String,
        /// The shape the model needs.
        expected: Vec<u64>,
        /// The shape in the file.
        found: Vec<u64>,
    },
    /// The weights in the file do not fit the model (counts, missing tensors, types).
    #[error("{path}: {message}")]
    Weights {
        /// The file (or a label such as `model.keras:config.json`).
        path: String,
        /// What does not fit.
        message: String,
    },
    /// The resulting model is invalid.
    #[error("{path}: {source}")]
    Model {
        /// The file (or a label such as `model.keras:config.json`).
        path: String,
        /// Why.
        source: ModelError,
    },
    /// The `.keras` archive is not a readable zip or lacks an entry.
    #[error("{path}: {message}")]
    Archive {
        /// The file (or a label such as `model.keras:config.json`).
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A `.mdl` device-format file could not be read or written.
    #[error("{}: {source}", path.display())]
    DeviceFormat {
        /// The file (or a label such as `model.keras:config.json`).
        path: PathBuf,
        /// What went wrong.
        source: DeviceFormatError,
    },
    /// The file name's extension names no format this operation handles.
    #[error("{}: unsupported extension for {operation} (accepted: {accepted})", path.display())]
    Extension {
        /// The file (or a label such as `model.keras:config.json`).
        path: PathBuf,
        /// The operation (`load`, `save`, `save_weights`).
        operation: &'static str,
        /// The extensions it accepts.
        accepted: &'static str,
    },
}

impl KerasError {
    /// Turns a failure to read or write `path` into [`KerasError::Io`]: the one place an
    /// I/O error gets its path, for `map_err`.
    pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KerasError + '_ {
        move |source| KerasError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Why Lambda layers in particular are refused, or nothing for other classes.
fn lambda_note(class: &str) -> &'static str {
    if class == "Lambda" {
        " (Lambda layers hold Python code, which microdense never runs)"
    } else {
        ""
    }
}

/// A shape as NumPy prints it: `(784, 50)`, `(10,)`, `()`.
fn shape(dims: &[u64]) -> String {
    match dims {
        [d] => format!("({d},)"),
        _ => format!(
            "({})",
            dims.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
        ),
    }
}
