//! `microdense quantize`, `convert --int8`, `evaluate` and `inspect` of int8 models, and
//! converting an int8 `.mdl` back to Keras, on real MNIST.

mod cli_common;

use cli_common::{microdense, ok};
use microdense_tests::{keras_python, run_keras_script, TempDir};

/// The accuracy `evaluate` prints.
fn accuracy(stdout: &str) -> f64 {
    let at = stdout.rfind("accuracy: ").expect("an accuracy line") + "accuracy: ".len();
    stdout[at..].split_whitespace().next().unwrap().parse().unwrap()
}

#[test]
fn quantize_evaluate_inspect_and_convert_back() {
    let dir = TempDir::new("cli-int8");
    let d = dir.path();
    ok(&microdense(&["train", "--epochs", "1", "--out", "tut.h5"], d));
    let quantized = ok(&microdense(
        &["quantize", "tut.h5", "int8.mdl", "--calibrate", "500"],
        d,
    ));
    assert!(
        quantized.contains("min/max over 500 training images"),
        "{quantized}"
    );
    let flash = std::fs::metadata(dir.join("int8.mdl")).unwrap().len();
    assert!(flash <= 44_000, "int8 tutorial model: {flash} bytes");
    ok(&microdense(
        &[
            "convert",
            "tut.h5",
            "k2.mdl",
            "--int8",
            "--calibrate",
            "500",
            "--trainable-layers",
            "2",
        ],
        d,
    ));
    let inspected = ok(&microdense(&["inspect", "k2.mdl"], d));
    assert!(
        inspected.contains("readable by version 4")
            && inspected.contains("int8 body")
            && inspected.contains("last 2 Dense layer(s) trainable"),
        "{inspected}"
    );

    let float = accuracy(&ok(&microdense(&["evaluate", "tut.h5"], d)));
    let int8_out = ok(&microdense(&["evaluate", "int8.mdl"], d));
    assert!(int8_out.contains("integer kernels"), "{int8_out}");
    let int8 = accuracy(&int8_out);
    let k2 = accuracy(&ok(&microdense(&["evaluate", "k2.mdl"], d)));
    assert!(
        (float - int8).abs() <= 0.01 && (float - k2).abs() <= 0.01,
        "{float} {int8} {k2}"
    );

    let back = microdense(&["convert", "int8.mdl", "back.h5"], d);
    ok(&back);
    let warning = String::from_utf8_lossy(&back.stderr);
    assert!(warning.contains("dequantised to float32"), "{warning}");
    let dequantised = accuracy(&ok(&microdense(&["evaluate", "back.h5"], d)));
    assert!((dequantised - int8).abs() <= 0.01, "{dequantised} vs {int8}");
    // Real Keras loads the dequantised file and predicts what microdense predicts from it.
    if let Some(python) = keras_python() {
        ok(&microdense(&["predict", "back.h5", "--out", "back.npy"], d));
        let report = run_keras_script(
            &python,
            "predict_mnist.py",
            &[&dir.join("back.h5"), &dir.join("back.npy")],
        );
        println!("{report}");
        assert_eq!(
            report.lines().filter(|l| l.starts_with("ok ")).count(),
            2,
            "{report}"
        );
    }

    for (args, says) in [
        (
            &["quantize", "tut.h5", "x.mdl", "--calibrate", "0"][..],
            "--calibrate 0",
        ),
        (
            &[
                "quantize",
                "tut.h5",
                "x.mdl",
                "--calibrate",
                "10",
                "--trainable-layers",
                "3",
            ],
            "leaves no Dense layer",
        ),
        (
            &["convert", "tut.h5", "x.h5", "--int8", "--calibrate", "10"],
            "--int8 is for a .mdl output",
        ),
    ] {
        let out = microdense(args, d);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && stderr.contains(says),
            "{args:?}: {stderr}"
        );
        assert!(!dir.join("x.mdl").exists());
    }
}
