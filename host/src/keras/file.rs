//! Reading whole files and writing them atomically (temporary name, then rename).

use super::KerasError;
use std::fs;
use std::path::Path;

/// The bytes of `path`.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, KerasError> {
    fs::read(path).map_err(|source| KerasError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `bytes` to `path` atomically (see [`crate::atomic`]).
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), KerasError> {
    crate::atomic::write(path, bytes).map_err(|source| KerasError::Io {
        path: path.to_path_buf(),
        source,
    })
}
