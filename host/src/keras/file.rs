//! Reading whole files.

use super::KerasError;
use std::fs;
use std::path::Path;

/// The bytes of `path`.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, KerasError> {
    fs::read(path).map_err(KerasError::io(path))
}
