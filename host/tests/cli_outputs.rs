//! Output files respect the file system: symbolic links are written through, devices are
//! written in place (and their write errors reported), write-protected files are refused
//! unless `--force`, long legal names work, and every output is checked before the work.

use microdense::model::{Compile, Model, TUTORIAL_SPEC};
mod cli_common;

use cli_common::{microdense, ok};
use microdense_tests::TempDir;
use std::fs;
use std::os::unix::fs::{symlink, FileTypeExt, PermissionsExt};
use std::process::Output;

/// Asserts exit code 1, no panic, `expected` in stderr and no training started.
fn fails_cleanly(out: &Output, expected: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains(expected), "expected {expected:?} in: {stderr}");
    assert!(!stdout.contains("Epoch"), "failed only after training: {stdout}");
}

/// An untrained, compiled tutorial model saved as `m.h5` in `dir`.
fn model(dir: &TempDir) {
    let mut model = Model::from_spec(TUTORIAL_SPEC, 1).unwrap();
    model.compile(Compile::default());
    model.save(dir.join("m.h5")).unwrap();
}

#[test]
fn symbolic_links_are_written_through_to_their_target() {
    let dir = TempDir::new("out-link");
    model(&dir);
    fs::create_dir(dir.join("real")).unwrap();
    fs::write(dir.join("real/target.h5"), b"stale").unwrap();
    symlink("real/target.h5", dir.join("link.h5")).unwrap();
    ok(&microdense(&["convert", "m.h5", "link.h5"], dir.path()));
    assert!(fs::symlink_metadata(dir.join("link.h5"))
        .unwrap()
        .file_type()
        .is_symlink());
    let written = Model::load(dir.join("real/target.h5")).unwrap();
    assert_eq!(written.params, Model::load(dir.join("m.h5")).unwrap().params);
    assert_eq!(
        fs::read_dir(dir.join("real")).unwrap().count(),
        1,
        "no temporary files left"
    );
}

#[test]
fn devices_are_written_in_place_and_their_errors_reported() {
    let dir = TempDir::new("out-device");
    model(&dir);
    // Through a link of our own, so that a writer that replaces files cannot harm /dev.
    symlink("/dev/full", dir.join("full.npy")).unwrap();
    let out = microdense(&["predict", "m.h5", "--out", "full.npy"], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert!(fs::symlink_metadata(dir.join("full.npy"))
        .unwrap()
        .file_type()
        .is_symlink());

    symlink("/dev/stdout", dir.join("stdout.npy")).unwrap();
    let out = microdense(&["predict", "m.h5", "--out", "stdout.npy"], dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.starts_with(b"\x93NUMPY"), "the scores went to stdout");
    assert_eq!(out.stdout.len(), 128 + 10_000 * 10 * 4, "nothing else on stdout");
    assert!(fs::symlink_metadata(dir.join("stdout.npy"))
        .unwrap()
        .file_type()
        .is_symlink());

    let out = microdense(&["predict", "m.h5", "--out", "-"], dir.path());
    assert!(out.status.success() && out.stdout.starts_with(b"\x93NUMPY"));
    assert!(fs::metadata("/dev/full").unwrap().file_type().is_char_device());
}

#[test]
fn write_protected_files_are_refused_unless_forced() {
    let dir = TempDir::new("out-protected");
    model(&dir);
    fs::write(dir.join("best.h5"), b"keep me").unwrap();
    fs::set_permissions(dir.join("best.h5"), fs::Permissions::from_mode(0o444)).unwrap();
    fails_cleanly(
        &microdense(&["train", "--epochs", "3", "--out", "best.h5"], dir.path()),
        "best.h5: is write-protected",
    );
    fails_cleanly(
        &microdense(&["convert", "m.h5", "best.h5"], dir.path()),
        "write-protected",
    );
    assert_eq!(fs::read(dir.join("best.h5")).unwrap(), b"keep me");
    ok(&microdense(
        &["convert", "--force", "m.h5", "best.h5"],
        dir.path(),
    ));
    Model::load(dir.join("best.h5")).unwrap();
}

#[test]
fn outputs_are_checked_before_training() {
    let dir = TempDir::new("out-early");
    fails_cleanly(
        &microdense(&["train", "--epochs", "3", "--out", "model.txt"], dir.path()),
        "model.txt",
    );
    fails_cleanly(
        &microdense(&["train", "--epochs", "3", "--out", "nodir/m.h5"], dir.path()),
        "directory nodir does not exist",
    );
    fails_cleanly(
        &microdense(&["train", "--epochs", "3", "--plot", "nodir/h.png"], dir.path()),
        "nodir/h.png",
    );
    fs::create_dir(dir.join("m.h5")).unwrap();
    fails_cleanly(
        &microdense(&["train", "--epochs", "3", "--out", "m.h5"], dir.path()),
        "is a directory",
    );
}

#[test]
fn the_longest_legal_file_name_is_written() {
    let dir = TempDir::new("out-long");
    model(&dir);
    let name = format!("{}.h5", "m".repeat(248));
    assert_eq!(name.len(), 251);
    ok(&microdense(&["convert", "m.h5", &name], dir.path()));
    Model::load(dir.join(&name)).unwrap();
}

#[test]
fn layer_names_a_file_cannot_hold_are_refused_not_written() {
    let dir = TempDir::new("out-names");
    let json = r#"{"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 4], "name": "in"}},
        {"class_name": "Dense", "config": {"name": "", "units": 3, "activation": "softmax"}}]}}"#;
    fs::write(dir.join("empty.json"), json).unwrap();
    fails_cleanly(
        &microdense(&["convert", "empty.json", "e.h5"], dir.path()),
        "has no name (or an empty one)",
    );
    let mut model = Model::from_spec("4,3:softmax", 1).unwrap();
    for name in ["", "a/b"] {
        model.layers[0].name = name.into();
        for file in ["m.h5", "m.keras", "m.weights.h5", "m.json"] {
            let error = model.save(dir.join(file)).unwrap_err().to_string();
            assert!(error.contains("is empty or holds a"), "{file}: {error}");
        }
        assert!(model.save_weights(dir.join("w.h5")).is_err());
    }
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "nothing written");
}
