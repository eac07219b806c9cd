//! Writing a file under a temporary name in its directory and renaming it into place, so
//! a reader never sees a half-written file, an interrupted save never destroys the
//! previous one, and a failure leaves nothing behind. Every file the host writes goes
//! through here.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// Distinguishes temporary files made by different calls within one process.
static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Writes `bytes` to `path` atomically.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_with(path, |file| file.write_all(bytes), |e| e)
}

/// Creates a temporary file next to `path`, lets `fill` write it, syncs it to disk and
/// renames it to `path`; `io` turns the I/O errors of those steps into `E`. When `fill`
/// or any step fails, the temporary file is removed.
pub fn write_with<T, E>(
    path: &Path,
    fill: impl FnOnce(&mut File) -> Result<T, E>,
    io: impl Fn(io::Error) -> E,
) -> Result<T, E> {
    let tmp = temp_path(path).map_err(&io)?;
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(&io)?;
    let result = fill(&mut file).and_then(|value| {
        file.sync_all().map_err(&io)?;
        drop(file);
        fs::rename(&tmp, path).map_err(&io)?;
        Ok(value)
    });
    if result.is_err() {
        // Best effort: the temporary file may already be gone.
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// `dir/.name.tmp-PID-N` for `dir/name`.
fn temp_path(path: &Path) -> io::Result<PathBuf> {
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} does not name a file", path.display()),
        )
    })?;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    Ok(path.with_file_name(format!(
        ".{}.tmp-{}-{n}",
        name.to_string_lossy(),
        std::process::id()
    )))
}

#[cfg(test)]
mod tests {
    #[test]
    fn replaces_whole_files_and_leaves_nothing_behind_on_failure() {
        let dir = std::env::temp_dir().join(format!("microdense-atomic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f.bin");
        super::write(&path, b"first").unwrap();
        super::write(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        let failed: Result<(), &str> = super::write_with(&path, |_| Err("fill failed"), |_| "io");
        assert_eq!(failed, Err("fill failed"));
        assert_eq!(
            std::fs::read(&path).unwrap(),
            b"second",
            "the previous file survives"
        );
        assert!(super::write(&dir.join("missing-dir").join("f"), b"x").is_err());
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "no temporary files left"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
