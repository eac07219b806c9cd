//! Paths to remove when SIGINT, SIGTERM or SIGHUP end the process: the unfinished temporary
//! files of [`crate::atomic`] and the socket directories of QEMUs started for a command.
//!
//! A path is listed by [`Pending::new`] and unlisted when the [`Pending`] is dropped (or
//! settled, see [`Pending::settle`]). [`remove_on_signals`] starts a thread that, when one of
//! those signals arrives, removes every listed path and then ends the process as the signal's
//! default action would (so the exit status still says which signal it was).

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// The listed paths.
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// The list, even if a thread panicked while holding it (a path list stays consistent).
fn pending() -> MutexGuard<'static, Vec<PathBuf>> {
    PENDING.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A path removed (a file, or a directory with its contents) if a signal ends the process
/// while this value lives.
#[derive(Debug)]
pub struct Pending {
    path: PathBuf,
}

impl Pending {
    /// Lists `path`.
    pub fn new(path: &Path) -> Pending {
        pending().push(path.to_path_buf());
        Pending {
            path: path.to_path_buf(),
        }
    }

    /// Runs `finish` (e.g. the rename that gives the temporary file its final name) with the
    /// list locked, then unlists the path: a signal arriving meanwhile waits for `finish`,
    /// so it never removes a path that has just become the result.
    pub fn settle<T>(self, finish: impl FnOnce() -> T) -> T {
        let mut list = pending();
        let result = finish();
        unlist(&mut list, &self.path);
        drop(list);
        std::mem::forget(self);
        result
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        unlist(&mut pending(), &self.path);
    }
}

/// Removes one occurrence of `path` from `list`.
fn unlist(list: &mut Vec<PathBuf>, path: &Path) {
    if let Some(i) = list.iter().rposition(|p| p == path) {
        list.swap_remove(i);
    }
}

/// Starts the thread that removes the listed paths when SIGINT, SIGTERM or SIGHUP arrives and
/// then ends the process by that signal. Call it once, early in `main`.
pub fn remove_on_signals() -> std::io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::Builder::new()
        .name("cleanup on signals".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                // Held until the process ends: no new path is settled or listed meanwhile.
                let list = pending();
                for path in list.iter() {
                    let _ = if path.is_dir() {
                        std::fs::remove_dir_all(path)
                    } else {
                        std::fs::remove_file(path)
                    };
                }
                let _ = signal_hook::low_level::emulate_default_handler(signal);
                std::process::exit(128 + signal);
            }
        })?;
    Ok(())
}
