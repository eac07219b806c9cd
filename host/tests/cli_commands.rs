//! The `microdense` commands on real MNIST: train's Keras-style output and JSON, the model
//! commands on the files train writes, the device format round trip, and clear errors
//! (non-zero exit, no panic) on bad input.

use microdense::model::Model;
mod cli_common;

use cli_common::{microdense, ok};
use microdense_tests::{mnist_dir, TempDir};
use std::process::Output;

fn fails_cleanly(out: &Output, expected: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains(expected), "expected {expected:?} in: {stderr}");
}

#[test]
fn train_prints_keras_style_epochs_and_json_then_the_model_commands_read_its_file() {
    let dir = TempDir::new("cli-train");
    let stdout = ok(&microdense(
        &[
            "train", "--epochs", "2", "--json", "--out", "m.h5", "--plot", "h.png",
        ],
        dir.path(),
    ));
    assert!(
        stdout.contains("Epoch 1/2\n") && stdout.contains("Epoch 2/2\n"),
        "{stdout}"
    );
    assert_eq!(
        stdout.matches("938/938 [==============================]").count(),
        2,
        "{stdout}"
    );
    assert!(
        !stdout.contains('\r'),
        "no live bar when stdout is not a terminal"
    );
    let json: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let epochs = json["epochs"].as_array().unwrap();
    assert_eq!(epochs.len(), 2);
    for (i, e) in epochs.iter().enumerate() {
        assert_eq!(e["epoch"], i + 1);
        assert!(e["loss"].as_f64().unwrap() > 0.0 && e["seconds"].as_f64().unwrap() > 0.0);
    }
    assert!(epochs[1]["accuracy"].as_f64().unwrap() > epochs[0]["accuracy"].as_f64().unwrap());
    let test_accuracy = json["test"]["accuracy"].as_f64().unwrap();
    assert!(test_accuracy > 0.6, "{test_accuracy}");
    assert!(dir.join("h.png").exists());

    let summary = ok(&microdense(&["summary", "m.h5"], dir.path()));
    assert!(summary.contains("Total params: 40480"), "{summary}");

    let evaluated = ok(&microdense(
        &["evaluate", "m.h5", "--json", "--confusion", "c.png"],
        dir.path(),
    ));
    let score: serde_json::Value = serde_json::from_str(evaluated.lines().last().unwrap()).unwrap();
    assert!(
        (score["accuracy"].as_f64().unwrap() - test_accuracy).abs() < 1e-9,
        "evaluate agrees with train"
    );
    assert!(
        evaluated.contains("precision") && dir.join("c.png").exists(),
        "{evaluated}"
    );

    ok(&microdense(&["predict", "m.h5", "--out", "p.npy"], dir.path()));
    assert_eq!(
        std::fs::metadata(dir.join("p.npy")).unwrap().len(),
        128 + 10_000 * 10 * 4
    );

    // Keras .h5 → .mdl → .h5 keeps every weight bit, and the .mdl evaluates identically.
    ok(&microdense(
        &["convert", "m.h5", "m.mdl", "--trainable-layers", "2"],
        dir.path(),
    ));
    ok(&microdense(&["convert", "m.mdl", "back.h5"], dir.path()));
    let (a, b) = (
        Model::load(dir.join("m.h5")).unwrap(),
        Model::load(dir.join("back.h5")).unwrap(),
    );
    assert_eq!(
        a.params.iter().map(|p| p.to_bits()).collect::<Vec<_>>(),
        b.params.iter().map(|p| p.to_bits()).collect::<Vec<_>>()
    );
    let inspect = ok(&microdense(&["inspect", "m.mdl"], dir.path()));
    assert!(
        inspect.contains("CRC-32:") && inspect.contains("last 2 Dense layer(s) trainable"),
        "{inspect}"
    );
    let on_mdl = ok(&microdense(&["evaluate", "m.mdl", "--json"], dir.path()));
    let mdl_score: serde_json::Value = serde_json::from_str(on_mdl.lines().last().unwrap()).unwrap();
    assert_eq!(mdl_score["accuracy"], score["accuracy"]);

    // Resuming continues from the saved optimizer state: its first epoch beats a fresh one.
    let resumed = ok(&microdense(
        &["train", "--resume", "m.h5", "--epochs", "1", "--json"],
        dir.path(),
    ));
    let resumed: serde_json::Value = serde_json::from_str(resumed.lines().last().unwrap()).unwrap();
    assert!(resumed["epochs"][0]["accuracy"].as_f64().unwrap() > epochs[1]["accuracy"].as_f64().unwrap());

    ok(&microdense(
        &["plot", "m.mdl", "-o", "m.svg", "--show-shapes"],
        dir.path(),
    ));
    let svg = std::fs::read_to_string(dir.join("m.svg")).unwrap();
    assert_eq!(svg.matches("class=\"layer\"").count(), 6);
}

#[test]
fn another_architecture_trains_with_fused_activations_and_dropout() {
    let dir = TempDir::new("cli-arch");
    let stdout = ok(&microdense(
        &[
            "train",
            "--arch",
            "784,64:relu,dropout:0.2,10:softmax",
            "--normalize",
            "--epochs",
            "1",
            "--lr",
            "0.1",
            "--momentum",
            "0.9",
            "--nesterov",
            "--json",
        ],
        dir.path(),
    ));
    let json: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert!(json["test"]["accuracy"].as_f64().unwrap() > 0.9, "{stdout}");
}

#[test]
fn bad_input_gives_a_clear_error_and_exit_code_1() {
    let dir = TempDir::new("cli-bad");
    fails_cleanly(
        &microdense(&["train", "--arch", "784,50:bogus,10"], dir.path()),
        "unknown activation \"bogus\"",
    );
    fails_cleanly(
        &microdense(&["train", "--data", "nowhere"], dir.path()),
        "MNIST was not found",
    );

    // A truncated IDX file is named.
    let data = dir.join("mnist");
    std::fs::create_dir_all(&data).unwrap();
    for name in [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ] {
        std::fs::copy(mnist_dir().join(name), data.join(name)).unwrap();
    }
    let labels = std::fs::read(data.join("t10k-labels-idx1-ubyte.gz")).unwrap();
    std::fs::write(
        data.join("t10k-labels-idx1-ubyte.gz"),
        &labels[..labels.len() / 2],
    )
    .unwrap();
    fails_cleanly(
        &microdense(&["train", "--data", "mnist", "--epochs", "1"], dir.path()),
        "t10k-labels-idx1-ubyte.gz",
    );

    // Bad model files: truncated HDF5, not a model, an unknown layer class, NaN in JSON.
    std::fs::write(dir.join("junk.h5"), b"\x89HDF\r\n\x1a\nnot really").unwrap();
    fails_cleanly(&microdense(&["summary", "junk.h5"], dir.path()), "junk.h5");
    std::fs::write(dir.join("junk.mdl"), b"hello").unwrap();
    fails_cleanly(&microdense(&["summary", "junk.mdl"], dir.path()), "junk.mdl");
    let lambda = r#"{"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 4], "name": "in"}},
        {"class_name": "Lambda", "config": {"name": "sneaky", "function": "os.system"}}]}}"#;
    std::fs::write(dir.join("lambda.json"), lambda).unwrap();
    fails_cleanly(&microdense(&["summary", "lambda.json"], dir.path()), "Lambda");
    let nan = r#"{"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 4], "name": "in"}},
        {"class_name": "Dropout", "config": {"name": "d", "rate": NaN}}]}}"#;
    std::fs::write(dir.join("nan.json"), nan).unwrap();
    let out = microdense(&["summary", "nan.json"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}
