//! The error of every HDF5 operation: which file, which object inside it, what.

use std::fmt;

/// What kind of failure an [`H5Error`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum H5ErrorKind {
    /// The file could not be read from or written to disk.
    Io,
    /// The bytes are not a readable HDF5 file: not HDF5 at all, truncated, or
    /// internally inconsistent.
    Corrupt,
    /// The file is valid HDF5 but uses something this module does not model
    /// (a dataset datatype other than f32/f64/i64, a too-deep hierarchy, ...).
    Unsupported,
    /// A tree handed to the writer cannot be written as asked (bad name, data
    /// that does not fill its shape, an attribute that was only read).
    Invalid,
}

/// An HDF5 failure naming the file and the object (group, dataset or
/// attribute path) inside it.
#[derive(Debug)]
pub struct H5Error {
    /// The file, or a label for in-memory bytes (e.g. `model.keras:model.weights.h5`).
    pub path: String,
    /// The path inside the file (`/model_weights/dense`, `/@layer_names`), or
    /// empty when the failure concerns the file as a whole.
    pub object: String,
    /// What kind of failure this is.
    pub kind: H5ErrorKind,
    /// What went wrong, in words.
    pub message: String,
    source: Option<std::io::Error>,
}

impl H5Error {
    /// An error of `kind` about `object` in `file`.
    pub(crate) fn new(file: &str, object: &str, kind: H5ErrorKind, message: impl Into<String>) -> Self {
        H5Error {
            path: file.to_string(),
            object: object.to_string(),
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// An I/O failure on `file`, keeping the underlying error as the source.
    pub(crate) fn io(file: &str, what: &str, err: std::io::Error) -> Self {
        H5Error {
            path: file.to_string(),
            object: String::new(),
            kind: H5ErrorKind::Io,
            message: format!("{what}: {err}"),
            source: Some(err),
        }
    }
}

impl fmt::Display for H5Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.object.is_empty() {
            write!(f, "{}: {}", self.path, self.message)
        } else {
            write!(f, "{}: {}: {}", self.path, self.object, self.message)
        }
    }
}

impl std::error::Error for H5Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}
