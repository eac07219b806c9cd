//! Input that is wrong but well-formed gets an error, not a result: option values the
//! options cannot mean (refused when the arguments are parsed), a model whose output does
//! not fit MNIST's classes, empty data sets, architectures without weights, and option
//! combinations that would be silently ignored.

use microdense::model::{Compile, Model, TUTORIAL_SPEC};
mod cli_common;

use cli_common::{microdense, ok};
use microdense_tests::TempDir;
use std::process::Output;

/// Asserts the exit `code` (1: refused by the command, 2: by the argument parser), no
/// panic, `expected` in stderr, and no training or evaluation started.
fn refused(out: &Output, code: i32, expected: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains(expected), "expected {expected:?} in: {stderr}");
    assert!(
        !stdout.contains("Epoch") && !stdout.contains("loss:"),
        "refused only after the work: {stdout}"
    );
}

/// An untrained, compiled tutorial model saved as `name` in `dir`.
fn model(dir: &TempDir, name: &str) {
    let mut model = Model::from_spec(TUTORIAL_SPEC, 1).unwrap();
    model.compile(Compile::default());
    model.save(dir.join(name)).unwrap();
}

#[test]
fn rates_are_checked_when_the_arguments_are_parsed() {
    let dir = TempDir::new("valid-rates");
    for lr in [["--lr", "-1"], ["--lr=-1", ""], ["--lr", "0"]] {
        let args: Vec<&str> = ["train"]
            .iter()
            .chain(lr.iter())
            .copied()
            .filter(|a| !a.is_empty())
            .collect();
        refused(&microdense(&args, dir.path()), 2, "must be positive");
    }
    refused(
        &microdense(&["train", "--lr", "NaN"], dir.path()),
        2,
        "must be a finite number",
    );
    refused(
        &microdense(&["train", "--momentum", "-0.5"], dir.path()),
        2,
        "must be from 0 to 1",
    );
    refused(
        &microdense(&["train", "--batch-size", "0"], dir.path()),
        2,
        "must be at least 1",
    );
}

#[test]
fn loss_options_are_checked_before_any_work() {
    let dir = TempDir::new("valid-loss");
    for (args, code, expected) in [
        (
            &["--loss", "focal"][..],
            2,
            "[possible values: categorical_crossentropy",
        ),
        (&["--loss", "huber", "--huber-delta", "0"], 2, "must be above 0"),
        (&["--label-smoothing", "1.5"], 2, "must be from 0 to 1"),
        (
            &["--loss", "mae", "--from-logits"],
            1,
            "--from-logits does not apply to the loss mean_absolute_error",
        ),
        (
            &[
                "--loss",
                "sparse_categorical_crossentropy",
                "--label-smoothing",
                "0.1",
            ],
            1,
            "--label-smoothing does not apply",
        ),
        (
            &["--loss", "mse", "--huber-delta", "2"],
            1,
            "--huber-delta does not apply",
        ),
    ] {
        let mut all = vec!["train"];
        all.extend_from_slice(args);
        refused(&microdense(&all, dir.path()), code, expected);
    }
}

#[test]
fn device_finetune_refuses_bad_values_before_touching_its_output() {
    let dir = TempDir::new("valid-finetune");
    std::fs::write(dir.join("tuned.mdl"), b"previous").unwrap();
    for bad in [
        &["--lr=-1"][..],
        &["--lr", "-1"],
        &["--batch-size", "0"],
        &["--limit", "0"],
        &["--momentum", "NaN"],
    ] {
        let mut args = vec!["device", "--port", "/dev/null", "finetune", "-o", "tuned.mdl"];
        args.extend_from_slice(bad);
        let out = microdense(&args, dir.path());
        assert_eq!(
            out.status.code(),
            Some(2),
            "{bad:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    refused(
        &microdense(
            &["device", "--port", "/dev/null", "finetune", "-o", "tuned.h5"],
            dir.path(),
        ),
        1,
        ".mdl",
    );
    assert_eq!(std::fs::read(dir.join("tuned.mdl")).unwrap(), b"previous");
}

#[test]
fn an_output_that_does_not_fit_the_classes_is_refused() {
    let dir = TempDir::new("valid-classes");
    refused(
        &microdense(&["train", "--arch", "784,5:softmax", "--epochs", "1"], dir.path()),
        1,
        "MNIST has 10 classes",
    );
    let mut narrow = Model::from_spec("784,5:softmax", 1).unwrap();
    narrow.compile(Compile::default());
    narrow.save(dir.join("narrow.h5")).unwrap();
    refused(
        &microdense(&["evaluate", "narrow.h5"], dir.path()),
        1,
        "10 classes",
    );
}

#[test]
fn empty_data_sets_are_refused() {
    let dir = TempDir::new("valid-empty");
    let data = dir.join("empty");
    std::fs::create_dir(&data).unwrap();
    let header = |magic: u8, dims: &[u32]| {
        let mut bytes = vec![0, 0, 8, magic];
        for d in dims {
            bytes.extend_from_slice(&d.to_be_bytes());
        }
        bytes
    };
    for split in ["train", "t10k"] {
        std::fs::write(
            data.join(format!("{split}-images-idx3-ubyte")),
            header(3, &[0, 28, 28]),
        )
        .unwrap();
        std::fs::write(data.join(format!("{split}-labels-idx1-ubyte")), header(1, &[0])).unwrap();
    }
    refused(
        &microdense(
            &["train", "--data", "empty", "--epochs", "1", "--out", "m.h5"],
            dir.path(),
        ),
        1,
        "has no images",
    );
    assert!(!dir.join("m.h5").exists());
}

#[test]
fn batches_larger_than_the_data_are_clamped_as_keras_does() {
    let dir = TempDir::new("valid-batch");
    for batch in ["1000000000", "9223372036854775807"] {
        let out = ok(&microdense(
            &[
                "train",
                "--arch",
                "784,10:softmax",
                "--normalize",
                "--epochs",
                "1",
                "--batch-size",
                batch,
            ],
            dir.path(),
        ));
        assert!(out.contains("1/1 ["), "one batch of all 60,000 images: {out}");
    }
}

#[test]
fn architectures_without_weights_need_weights_or_random_weights() {
    let dir = TempDir::new("valid-arch");
    model(&dir, "m.h5");
    model(&dir, "arch.json");
    refused(
        &microdense(&["evaluate", "arch.json"], dir.path()),
        1,
        "--weights",
    );
    refused(
        &microdense(&["predict", "arch.json", "--out", "p.npy"], dir.path()),
        1,
        "--weights",
    );
    assert!(!dir.join("p.npy").exists());
    let with_weights = ok(&microdense(
        &["evaluate", "arch.json", "--weights", "m.h5", "--json"],
        dir.path(),
    ));
    let whole = ok(&microdense(&["evaluate", "m.h5", "--json"], dir.path()));
    assert_eq!(with_weights.lines().last(), whole.lines().last());
    ok(&microdense(
        &["evaluate", "arch.json", "--random-weights"],
        dir.path(),
    ));
}

#[test]
fn inspect_batches_outside_the_device_range_are_refused() {
    let dir = TempDir::new("valid-inspect");
    model(&dir, "m.mdl");
    ok(&microdense(&["inspect", "m.mdl", "--batch", "8"], dir.path()));
    for batch in ["0", "65", "18446744073709551615"] {
        refused(
            &microdense(&["inspect", "m.mdl", "--batch", batch], dir.path()),
            2,
            "must be from 1 to 64",
        );
    }
}

#[test]
fn options_that_would_be_ignored_are_errors() {
    let dir = TempDir::new("valid-ignored");
    model(&dir, "m.h5");
    refused(
        &microdense(
            &["convert", "m.h5", "out.h5", "--trainable-layers", "2"],
            dir.path(),
        ),
        1,
        "for a .mdl output",
    );
    refused(
        &microdense(
            &[
                "convert",
                "m.h5",
                "out.h5",
                "--weights",
                "m.h5",
                "--skip-mismatch",
            ],
            dir.path(),
        ),
        2,
        "--by-name",
    );
    assert!(!dir.join("out.h5").exists());
    refused(
        &microdense(&["device", "--qemu", "--model", "m.h5", "info"], dir.path()),
        1,
        "the firmware runs .mdl files",
    );
    refused(
        &microdense(&["device", "--qemu", "--board", "nope", "info"], dir.path()),
        2,
        "[possible values: mps2-an385, mps2-an386",
    );
}
