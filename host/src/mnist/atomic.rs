//! Writing a file under a temporary name in its directory and renaming it into place, so a
//! reader never sees a half-written file and a failure leaves nothing behind.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use super::error::MnistError;

/// Distinguishes temporary files made by different calls within one process.
static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Creates a temporary file next to `path`, lets `fill` write it, flushes it to disk and
/// renames it to `path`. When `fill` or any step fails, the temporary file is removed.
pub(crate) fn write_atomically<T>(
    path: &Path,
    fill: impl FnOnce(&mut File) -> Result<T, MnistError>,
) -> Result<T, MnistError> {
    let tmp = temp_path(path);
    let write_err = |error| MnistError::Write {
        path: path.to_path_buf(),
        error,
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(write_err)?;
    let result = fill(&mut file).and_then(|value| {
        file.sync_all().map_err(write_err)?;
        drop(file);
        fs::rename(&tmp, path).map_err(write_err)?;
        Ok(value)
    });
    if result.is_err() {
        // Best effort: the temporary file may already be gone.
        let _ = fs::remove_file(&tmp);
    }
    result
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
