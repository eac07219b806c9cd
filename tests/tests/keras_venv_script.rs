//! `scripts/keras-venv.sh` chooses the interpreter for a new venv by running each
//! candidate, so a pyenv shim for a version that is not installed (on PATH, but failing
//! when run) is passed over instead of breaking the interop suite.

use microdense_tests::{repo_root, TempDir};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

/// Writes an executable shell script `name` into `dir`.
fn executable(dir: &Path, name: &str, body: &str) {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Runs `keras-venv.sh --which-python` with `bin` first on PATH (then the system's).
fn which_python(bin: &Path) -> Output {
    let path = format!("{}:/usr/local/bin:/usr/bin:/bin", bin.display());
    Command::new("bash")
        .arg(repo_root().join("scripts/keras-venv.sh"))
        .arg("--which-python")
        .env("PATH", path)
        .env("MICRODENSE_CACHE", bin.join("cache"))
        .output()
        .unwrap()
}

#[test]
fn a_pyenv_shim_that_cannot_run_is_passed_over() {
    let dir = TempDir::new("keras-venv");
    // What pyenv puts on PATH for a version that is not installed.
    executable(
        dir.path(),
        "python3.12",
        "echo 'pyenv: python3.12: command not found' >&2; exit 127",
    );
    // One that runs and has venv and ensurepip (all the script asks of it before choosing).
    executable(dir.path(), "python3.11", "exit 0");
    let out = which_python(dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let chosen = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_eq!(chosen, dir.join("python3.11").display().to_string());
}

#[test]
fn no_runnable_interpreter_is_a_clear_error() {
    let dir = TempDir::new("keras-venv-none");
    for name in ["python3.12", "python3.11", "python3.13", "python3.10", "python3"] {
        executable(dir.path(), name, "exit 127");
    }
    let out = which_python(dir.path());
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no python3 on PATH runs"), "{stderr}");
}
