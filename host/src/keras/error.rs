//! The one error type of the Keras formats: what went wrong, in which file, at which
//! layer or object.

use crate::device_format::DeviceFormatError;
use crate::h5::H5Error;
use crate::model::ModelError;
use std::fmt;
use std::path::PathBuf;

/// Why a Keras file could not be read or written. Every variant names the file (or a
/// label such as `model.keras:config.json`) and, where it applies, the layer.
#[derive(Debug)]
pub enum KerasError {
    /// The file could not be read or written.
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The HDF5 file is unreadable (truncated, not HDF5, ...) or could not be written.
    H5(H5Error),
    /// The JSON text is not valid JSON (NaN and Infinity are not JSON).
    Json {
        /// The file or attribute holding the text.
        file: String,
        /// The parser's message with line and column.
        message: String,
    },
    /// The YAML text is invalid or exceeds the parsing budgets (alias bombs, deep nesting).
    Yaml {
        /// The file.
        file: String,
        /// The parser's message.
        message: String,
    },
    /// Something the file must hold is missing (`model_config`, `model_weights`, ...).
    Missing {
        /// The file.
        file: String,
        /// What is missing.
        what: String,
    },
    /// The model or training configuration is malformed.
    Config {
        /// The file.
        file: String,
        /// Where in the configuration (`layer "dense"`, `training_config`).
        at: String,
        /// What is wrong.
        message: String,
    },
    /// A layer class microdense does not support (Conv2D, LSTM, Lambda, custom classes).
    UnsupportedLayer {
        /// The file.
        file: String,
        /// The Keras class name.
        class: String,
        /// The layer's name.
        layer: String,
    },
    /// A setting microdense does not support (an initializer, activation, regularizer,
    /// optimizer, ...), with where it was found.
    Unsupported {
        /// The file.
        file: String,
        /// Where (`layer "dense"`, `optimizer`).
        at: String,
        /// What is unsupported, e.g. `kernel_initializer "RandomNormal"`.
        what: String,
    },
    /// A weight tensor's shape does not match the architecture.
    WeightShape {
        /// The file.
        file: String,
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
    Weights {
        /// The file.
        file: String,
        /// What does not fit.
        message: String,
    },
    /// The resulting model is invalid.
    Model {
        /// The file.
        file: String,
        /// Why.
        source: ModelError,
    },
    /// The `.keras` archive is not a readable zip or lacks an entry.
    Archive {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// A `.mdl` device-format file could not be read or written.
    DeviceFormat {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: DeviceFormatError,
    },
    /// The file name's extension names no format this operation handles.
    Extension {
        /// The file.
        path: PathBuf,
        /// The operation (`load`, `save`, `save_weights`).
        operation: &'static str,
        /// The extensions it accepts.
        accepted: &'static str,
    },
}

impl fmt::Display for KerasError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KerasError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            KerasError::H5(e) => write!(f, "{e}"),
            KerasError::Json { file, message } => write!(f, "{file}: invalid JSON: {message}"),
            KerasError::Yaml { file, message } => write!(f, "{file}: invalid YAML: {message}"),
            KerasError::Missing { file, what } => write!(f, "{file}: no {what} found"),
            KerasError::Config { file, at, message } => write!(f, "{file}: {at}: {message}"),
            KerasError::UnsupportedLayer { file, class, layer } => {
                write!(
                    f,
                    "{file}: layer {layer:?} is a {class}, which microdense does not support"
                )?;
                if class == "Lambda" {
                    write!(
                        f,
                        " (Lambda layers hold Python code, which microdense never runs)"
                    )?;
                }
                write!(
                    f,
                    "; nearest supported: {}; supported: {}",
                    super::layers::nearest_alternative(class),
                    super::layers::SUPPORTED_CLASSES
                )
            }
            KerasError::Unsupported { file, at, what } => {
                write!(f, "{file}: {at}: {what} is not supported by microdense")
            }
            KerasError::WeightShape {
                file,
                layer,
                weight,
                expected,
                found,
            } => write!(
                f,
                "{file}: layer {layer:?}: {weight} has shape {} in the file, the model needs {}",
                shape(found),
                shape(expected)
            ),
            KerasError::Weights { file, message } => write!(f, "{file}: {message}"),
            KerasError::Model { file, source } => write!(f, "{file}: {source}"),
            KerasError::Archive { file, message } => write!(f, "{file}: {message}"),
            KerasError::DeviceFormat { path, source } => write!(f, "{}: {source}", path.display()),
            KerasError::Extension {
                path,
                operation,
                accepted,
            } => write!(
                f,
                "{}: unsupported extension for {operation} (accepted: {accepted})",
                path.display()
            ),
        }
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

impl std::error::Error for KerasError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            KerasError::Io { source, .. } => Some(source),
            KerasError::H5(e) => Some(e),
            KerasError::Model { source, .. } => Some(source),
            KerasError::DeviceFormat { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<H5Error> for KerasError {
    fn from(e: H5Error) -> Self {
        KerasError::H5(e)
    }
}
