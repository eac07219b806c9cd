//! Running the `microdense` binary from the CLI tests.

use microdense_tests::mnist_dir;
use std::path::Path;
use std::process::{Command, Output};

/// Runs `microdense ARGS` in `dir`, with MNIST found as the tests find it.
pub fn microdense(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_microdense"))
        .args(args)
        .current_dir(dir)
        .env("MNIST_DIR", mnist_dir())
        .output()
        .expect("runs microdense")
}

/// Asserts the command succeeded and returns its standard output.
pub fn ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}
