//! Reading whole files and writing them atomically (temporary name, then rename).

use super::KerasError;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// Distinguishes temporary files made by different calls within one process.
static COUNTER: AtomicU32 = AtomicU32::new(0);

/// The bytes of `path`.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, KerasError> {
    fs::read(path).map_err(|source| KerasError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `bytes` to a temporary file next to `path`, syncs it and renames it to `path`,
/// so an interrupted write never leaves a half-written file nor destroys the old one.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), KerasError> {
    let tmp = temp_path(path);
    let io_err = |source| KerasError::Io {
        path: path.to_path_buf(),
        source,
    };
    let result = (|| {
        let mut file = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        // Best effort: the temporary file may not exist.
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(io_err)
}

/// `dir/.name.tmp-PID-N` for `dir/name`.
fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.tmp-{}-{n}", std::process::id()))
}
