//! Shared helpers for microdense's tests: where the repository and MNIST are,
//! temporary directories, and the real-Keras interop environment.
//!
//! Real Keras lives in the virtual environment `scripts/keras-venv.sh` creates
//! (tensorflow-cpu 2.21, tf_keras 2.21, Keras 3, h5py). [`keras_python`] runs
//! that script once per test process and returns the venv's python. When it
//! cannot (no Python, no network for the first install, ...), tests that need
//! Keras print why and skip — unless the environment variable
//! `MICRODENSE_REQUIRE_KERAS` is set, in which case they fail.
//!
//! [`keras_fixtures`] runs `tests/keras/make_fixtures.py` (Keras trains small
//! models and saves every file format; see that script's docstring for the
//! layout) into a directory under the system temp dir, keyed by the script's
//! contents, so all test binaries of one run — and later runs — share it;
//! [`keras_made`] does the same for the other fixture scripts there.
//!
//! Use it from a package's tests with a dev-dependency
//! `microdense-tests = { path = "../tests" }`.

pub mod mnist;
pub mod qemu;

pub use mnist::mnist_dir;

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

/// The repository root (the workspace directory).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent directory")
        .to_path_buf()
}

/// A fresh directory under the system temp dir, removed (with its contents)
/// when dropped.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates `microdense-<label>-<pid>-<n>` under the system temp dir.
    pub fn new(label: &str) -> TempDir {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "microdense-{label}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        TempDir { path }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A path inside the directory.
    pub fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.path.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Whether `MICRODENSE_REQUIRE_KERAS` is set (to anything).
pub fn keras_required() -> bool {
    std::env::var_os("MICRODENSE_REQUIRE_KERAS").is_some()
}

/// Reports that real Keras is unavailable: panics if it is required, else
/// prints the reason (tests then skip) and returns `None`.
fn unavailable<T>(reason: &str) -> Option<T> {
    if keras_required() {
        panic!("real Keras is required (MICRODENSE_REQUIRE_KERAS is set) but unavailable: {reason}");
    }
    eprintln!(
        "SKIPPED: real Keras unavailable ({reason}); set MICRODENSE_REQUIRE_KERAS=1 to make this a failure"
    );
    None
}

/// The python of the real-Keras venv, from `scripts/keras-venv.sh` (run once
/// per process). `None` (after printing why) if it is unavailable and not
/// required; panics if it is required and unavailable.
pub fn keras_python() -> Option<PathBuf> {
    static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let found = PYTHON.get_or_init(|| {
        let script = repo_root().join("scripts").join("keras-venv.sh");
        let out = Command::new("bash")
            .arg(&script)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
        if !out.status.success() {
            return Err(format!(
                "{} failed: {}",
                script.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let python = stdout.lines().last().unwrap_or("").trim().to_string();
        if python.is_empty() || !Path::new(&python).exists() {
            return Err(format!("{} printed no python path", script.display()));
        }
        Ok(PathBuf::from(python))
    });
    match found {
        Ok(p) => Some(p.clone()),
        Err(reason) => unavailable(reason),
    }
}

/// Runs `tests/keras/<script>` with the venv's python and `args`, returning
/// its stdout; panics with its stdout (the scripts' verdicts) and stderr if it fails.
pub fn run_keras_script(python: &Path, script: &str, args: &[&Path]) -> String {
    let path = repo_root().join("tests").join("keras").join(script);
    let out = Command::new(python)
        .arg(&path)
        .args(args)
        .env("TF_CPP_MIN_LOG_LEVEL", "3")
        .env("MNIST_DIR", mnist_dir())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()));
    assert!(
        out.status.success(),
        "{} {:?} failed ({}):\n{}\n{}",
        path.display(),
        args,
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("script output is UTF-8")
}

/// The directory of Keras-made fixtures (see `tests/keras/make_fixtures.py`),
/// generated once and shared by every test process; `None` (after printing
/// why) if Keras is unavailable and not required.
pub fn keras_fixtures() -> Option<PathBuf> {
    keras_made("make_fixtures.py")
}

/// The directory `tests/keras/<script> DIR` fills with files real Keras wrote
/// (ending with its `manifest.json`), generated once per script contents and
/// shared by every test process; `None` (after printing why) if Keras is
/// unavailable and not required.
pub fn keras_made(script: &'static str) -> Option<PathBuf> {
    static DIRS: Mutex<Vec<(&'static str, Option<PathBuf>)>> = Mutex::new(Vec::new());
    let mut dirs = DIRS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, dir)) = dirs.iter().find(|(s, _)| *s == script) {
        return dir.clone();
    }
    let dir = generate(script);
    dirs.push((script, dir.clone()));
    dir
}

/// Runs `tests/keras/<script>` into a directory keyed by its contents, unless
/// an earlier run made it.
fn generate(script: &str) -> Option<PathBuf> {
    let python = keras_python()?;
    let path = repo_root().join("tests").join("keras").join(script);
    let source = std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    source.hash(&mut hasher);
    mnist_dir().hash(&mut hasher);
    let stem = script
        .trim_start_matches("make_")
        .trim_end_matches(".py")
        .replace('_', "-");
    let dir = std::env::temp_dir().join(format!("microdense-keras-{stem}-{:016x}", hasher.finish()));
    if dir.join("manifest.json").exists() {
        return Some(dir);
    }
    // Generate next to the final name and rename, so a concurrent or
    // interrupted run never sees a half-made directory.
    let tmp = PathBuf::from(format!("{}.tmp-{}", dir.display(), std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    run_keras_script(&python, script, &[&tmp]);
    if std::fs::rename(&tmp, &dir).is_err() {
        // Another process got there first; use its directory.
        let _ = std::fs::remove_dir_all(&tmp);
        assert!(
            dir.join("manifest.json").exists(),
            "cannot move fixtures to {}",
            dir.display()
        );
    }
    Some(dir)
}

/// Every file under `dir` (recursively) whose name ends with `suffix`, sorted.
pub fn files_with_suffix(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).unwrap_or_else(|e| panic!("cannot list {}: {e}", d.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.to_string_lossy().ends_with(suffix) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}
