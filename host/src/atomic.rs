//! The one writer of output files. Every file the host writes goes through here.
//!
//! - A regular file (or a new name) is written under a temporary name in its directory,
//!   synced and renamed into place, so a reader never sees a half-written file, an
//!   interrupted save never destroys the previous one, and a failure — or SIGINT/SIGTERM,
//!   see [`crate::cleanup`] — leaves nothing behind. Its permissions are kept.
//! - A symbolic link is written through: the temporary file goes into its target's
//!   directory and is renamed onto the target, so the link stays a link.
//! - Anything else that exists (a device such as `/dev/null`, a FIFO) is opened and written
//!   directly, and [`STDOUT`] (`-`) is standard output. Write errors (`/dev/full`) are errors.
//! - A write-protected file is not replaced (`cp` refuses it too) unless the process asked
//!   for it with [`replace_write_protected`] (the CLI's `--force`).
//!
//! [`check`] tells whether a path can be written before any long work starts.

use crate::cleanup::Pending;
use std::ffi::OsString;
use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{self, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// The output name meaning standard output.
pub const STDOUT: &str = "-";

/// Symbolic links followed before giving up (Linux's own limit).
const MAX_LINKS: usize = 40;

/// Bytes of the target's name kept in a temporary name, so that with the longest suffix
/// (`.` + name + `.tmp-` + two 10-digit numbers) it stays within the usual 255-byte limit.
const TEMP_NAME_PREFIX: usize = 200;

/// Distinguishes temporary files made by different calls within one process.
static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Whether write-protected files may be replaced.
static FORCE: AtomicBool = AtomicBool::new(false);

/// Lets this process replace write-protected files (the CLI's `--force`).
pub fn replace_write_protected() {
    FORCE.store(true, Ordering::Relaxed);
}

/// How an output path is written.
#[derive(Debug)]
enum Target {
    /// Standard output.
    Stdout,
    /// An existing file that is not a regular file, written in place.
    Direct(PathBuf),
    /// A regular file (the link's target, for a symbolic link), or a new one: temporary
    /// file and rename; the metadata of the file it replaces, if any.
    Replace(PathBuf, Option<Metadata>),
}

/// The error `kind` with `message` (callers name the path).
fn error(kind: io::ErrorKind, message: &str) -> io::Error {
    io::Error::new(kind, message)
}

/// A path that does not exist with the symbolic links of its last component followed: a
/// dangling link gives the path it points at, which is then created.
fn follow_links(path: &Path) -> io::Result<PathBuf> {
    let mut path = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = fs::read_link(&path)?;
                path = match path.parent() {
                    Some(dir) => dir.join(link),
                    None => link,
                };
            }
            _ => return Ok(path),
        }
    }
    Err(error(
        io::ErrorKind::InvalidInput,
        "too many levels of symbolic links",
    ))
}

/// Where and how `path` is written, or why it cannot be.
fn target(path: &Path) -> io::Result<Target> {
    if path.as_os_str() == STDOUT {
        return Ok(Target::Stdout);
    }
    // The kernel follows the links (`/dev/stdout` → `/proc/self/fd/1` → a pipe, too).
    match fs::metadata(path) {
        Ok(meta) if meta.is_dir() => Err(error(io::ErrorKind::IsADirectory, "is a directory")),
        Ok(meta) if !meta.is_file() => Ok(Target::Direct(path.to_path_buf())),
        Ok(meta) => {
            if meta.permissions().readonly() && !FORCE.load(Ordering::Relaxed) {
                return Err(error(
                    io::ErrorKind::PermissionDenied,
                    "is write-protected (--force replaces it)",
                ));
            }
            Ok(Target::Replace(fs::canonicalize(path)?, Some(meta)))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let resolved = follow_links(path)?;
            if resolved.file_name().is_none() {
                return Err(error(io::ErrorKind::InvalidInput, "does not name a file"));
            }
            let dir = match resolved.parent() {
                Some(dir) if !dir.as_os_str().is_empty() => dir,
                _ => Path::new("."),
            };
            if !dir.is_dir() {
                return Err(error(
                    io::ErrorKind::NotFound,
                    &format!("directory {} does not exist", dir.display()),
                ));
            }
            Ok(Target::Replace(resolved, None))
        }
        Err(e) => Err(e),
    }
}

/// Checks that `path` can be written (its directory exists, it is no directory, it is not
/// write-protected), without writing anything.
pub fn check(path: &Path) -> io::Result<()> {
    target(path).map(|_| ())
}

/// Writes `bytes` to `path` (see the module documentation).
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_with(path, |file| file.write_all(bytes), |e| e)
}

/// Lets `fill` write `path` (see the module documentation); `io` turns the I/O errors of
/// the other steps into `E`. When `fill` or any step fails, the temporary file is removed.
pub fn write_with<T, E>(
    path: &Path,
    fill: impl FnOnce(&mut File) -> Result<T, E>,
    io: impl Fn(io::Error) -> E,
) -> Result<T, E> {
    match target(path).map_err(&io)? {
        Target::Stdout => {
            use std::os::fd::AsFd;
            let fd = io::stdout().as_fd().try_clone_to_owned().map_err(&io)?;
            let mut file = File::from(fd);
            let value = fill(&mut file)?;
            file.flush().map_err(&io)?;
            Ok(value)
        }
        Target::Direct(resolved) => {
            let mut file = OpenOptions::new().write(true).open(&resolved).map_err(&io)?;
            let value = fill(&mut file)?;
            file.flush().map_err(&io)?;
            Ok(value)
        }
        Target::Replace(resolved, replaced) => replace(&resolved, replaced, fill, io),
    }
}

/// Writes a temporary file beside `target`, then renames it onto `target`.
fn replace<T, E>(
    target: &Path,
    replaced: Option<Metadata>,
    fill: impl FnOnce(&mut File) -> Result<T, E>,
    io: impl Fn(io::Error) -> E,
) -> Result<T, E> {
    let tmp = temp_path(target);
    // Listed first, so that no signal can leave it behind once it exists.
    let pending = Pending::new(&tmp);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(&io)?;
    let result = fill(&mut file).and_then(|value| {
        if let Some(meta) = &replaced {
            file.set_permissions(meta.permissions()).map_err(&io)?;
        }
        file.sync_all().map_err(&io)?;
        drop(file);
        pending.settle(|| fs::rename(&tmp, target)).map_err(&io)?;
        Ok(value)
    });
    if result.is_err() {
        // Best effort: the temporary file may already be gone.
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// `dir/.NAME.tmp-PID-N` for `dir/NAME`, with NAME cut to [`TEMP_NAME_PREFIX`] bytes.
fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(OsStrExt::as_bytes).unwrap_or_default();
    let mut temp = b".".to_vec();
    temp.extend_from_slice(&name[..name.len().min(TEMP_NAME_PREFIX)]);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    temp.extend_from_slice(format!(".tmp-{}-{n}", std::process::id()).as_bytes());
    path.with_file_name(OsString::from_vec(temp))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, FileTypeExt, PermissionsExt};

    fn temp_dir(label: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("microdense-atomic-{label}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn replaces_whole_files_and_leaves_nothing_behind_on_failure() {
        let dir = temp_dir("replace");
        let path = dir.join("f.bin");
        write(&path, b"first").unwrap();
        write(&path, b"second").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
        let failed: Result<(), &str> = write_with(&path, |_| Err("fill failed"), |_| "io");
        assert_eq!(failed, Err("fill failed"));
        assert_eq!(fs::read(&path).unwrap(), b"second", "the previous file survives");
        let missing = write(&dir.join("missing-dir").join("f"), b"x").unwrap_err();
        assert!(missing.to_string().contains("does not exist"), "{missing}");
        assert!(check(&dir).unwrap_err().to_string().contains("is a directory"));
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1, "no temporary files left");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn writes_through_symbolic_links_and_into_devices() {
        let dir = temp_dir("links");
        fs::create_dir(dir.join("real")).unwrap();
        symlink("real/target.h5", dir.join("link.h5")).unwrap();
        write(&dir.join("link.h5"), b"through a dangling link").unwrap();
        write(&dir.join("link.h5"), b"through the link").unwrap();
        assert!(fs::symlink_metadata(dir.join("link.h5"))
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read(dir.join("real/target.h5")).unwrap(), b"through the link");
        assert_eq!(fs::read_dir(dir.join("real")).unwrap().count(), 1);

        write(Path::new("/dev/null"), b"nothing").unwrap();
        assert!(
            fs::metadata("/dev/null").unwrap().file_type().is_char_device(),
            "still a device"
        );
        let full = write(Path::new("/dev/full"), b"no room").unwrap_err();
        assert_eq!(full.raw_os_error(), Some(28), "ENOSPC: {full}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn refuses_write_protected_files_and_keeps_permissions() {
        let dir = temp_dir("protected");
        let path = dir.join("best.h5");
        fs::write(&path, b"keep me").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o444)).unwrap();
        let refused = write(&path, b"replaced").unwrap_err();
        assert!(refused.to_string().contains("write-protected"), "{refused}");
        assert_eq!(fs::read(&path).unwrap(), b"keep me");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        write(&path, b"replaced").unwrap();
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o640);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn temporary_names_of_the_longest_legal_names_are_legal() {
        let dir = temp_dir("long");
        let name = format!("{}.h5", "m".repeat(248));
        assert_eq!(name.len(), 251);
        assert!(temp_path(&dir.join(&name)).file_name().unwrap().len() <= 255);
        write(&dir.join(&name), b"long").unwrap();
        assert_eq!(fs::read(dir.join(&name)).unwrap(), b"long");
        fs::remove_dir_all(&dir).unwrap();
    }

    /// Environment variable that makes the test below its own child: the writer it kills.
    const SIGNAL_CHILD: &str = "MICRODENSE_ATOMIC_SIGNAL_CHILD";

    #[test]
    fn a_signal_during_a_write_removes_the_temporary_file() {
        use std::io::Read;
        use std::os::unix::process::ExitStatusExt;
        use std::process::{Command, Stdio};
        if let Some(dir) = std::env::var_os(SIGNAL_CHILD) {
            // The child: a write whose filling waits for its standard input to close.
            crate::cleanup::remove_on_signals().unwrap();
            let _ = write_with(
                &Path::new(&dir).join("model.h5"),
                |_| std::io::stdin().read_to_end(&mut Vec::new()),
                |e| e,
            );
            return;
        }
        let dir = temp_dir("signal");
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "atomic::tests::a_signal_during_a_write_removes_the_temporary_file",
            ])
            .env(SIGNAL_CHILD, &dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while fs::read_dir(&dir).unwrap().count() == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the child made no temporary file"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        // The child's input stays open until it is gone: `wait` would close it first, and
        // the child's write, no longer waiting, could then finish (and exit 0) before its
        // cleanup thread handles the signal.
        let input = child.stdin.take();
        // SAFETY: kill only sends a signal to the child this test started.
        assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) }, 0);
        let status = child.wait().unwrap();
        drop(input);
        assert_eq!(status.signal(), Some(libc::SIGTERM), "{status}");
        let left: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "left behind: {left:?}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
