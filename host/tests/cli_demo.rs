//! Issue 7: `microdense demo` in a temporary directory — each step's output and files —
//! and every file it writes loads in real Keras with the accuracy the demo reported.

use microdense_tests::{keras_python, mnist_dir, run_keras_script, TempDir};
use std::process::Command;

#[test]
fn demo_runs_every_step_and_real_keras_loads_its_files() {
    let dir = TempDir::new("demo");
    let mut demo = Command::new(env!("CARGO_BIN_EXE_microdense"));
    demo.args(["demo", "--out"])
        .arg(dir.path())
        .args(["--data"])
        .arg(mnist_dir());
    if let Some(firmware) = std::env::var_os("MICRODENSE_FIRMWARE") {
        demo.arg("--firmware").arg(firmware);
    }
    let out = demo.output().expect("runs microdense demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    for step in [
        "== 1. Train the tutorial's model",
        "== 2. load_model('my_model.h5') and train 3 more epochs",
        "== 3. Architecture only",
        "== 4. Weights only",
        "== 5. Rebuild from architecture + weights",
        "== 6. Pictures",
        "== 7. Convert to the device format",
        "== Summary",
    ] {
        assert!(stdout.contains(step), "missing {step:?} in:\n{stdout}");
    }
    assert_eq!(
        stdout
            .matches(": 6 layers (Dense, Activation, Dense, Activation, Dense, Activation)")
            .count(),
        2
    );
    assert!(stdout.contains("loaded dense, dense_1") && stdout.contains("new_head left as initialised"));
    assert!(stdout.contains("CRC-32:") && stdout.contains(" ok"));

    // The first resumed epoch starts from the saved model: better than a fresh first epoch.
    let resumed = stdout
        .lines()
        .find_map(|l| l.strip_prefix("first resumed epoch: accuracy "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|a| a.parse::<f64>().ok())
        .expect("the resumed epoch's accuracy is printed");
    assert!(resumed > 0.75, "first resumed epoch accuracy {resumed}");

    // Summary rows: file name, size, accuracy.
    let summary: Vec<(String, u64, Option<f64>)> = stdout
        .split("== Summary")
        .nth(1)
        .unwrap()
        .lines()
        .skip(2)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            let n = cols.len();
            (
                cols[n - 3].to_string(),
                cols[n - 2].parse().unwrap(),
                cols[n - 1].parse().ok(),
            )
        })
        .collect();
    for name in [
        "my_model.h5",
        "my_model_resumed.h5",
        "my_model_arch.json",
        "my_model_arch.yaml",
        "my_model_weights.h5",
        "my_model_retrained.h5",
        "model.png",
        "history.png",
        "my_model.mdl",
    ] {
        let row = summary
            .iter()
            .find(|r| r.0 == name)
            .unwrap_or_else(|| panic!("{name} not in the summary"));
        let size = std::fs::metadata(dir.join(name)).unwrap().len();
        assert_eq!(row.1, size, "{name}: size in the table");
    }
    let accuracy_of = |name: &str| summary.iter().find(|r| r.0 == name).and_then(|r| r.2).unwrap();
    assert!(accuracy_of("my_model.h5") > 0.7);
    assert!(accuracy_of("my_model_resumed.h5") > accuracy_of("my_model.h5"));

    // The device part runs when QEMU and the firmware are there (scripts/test-all.sh
    // builds it and sets MICRODENSE_REQUIRE_QEMU): the device's accuracy is the host's to
    // the last digit, and fine-tuning on the device raises it.
    let device_ran = stdout.contains("device test accuracy:");
    if std::env::var_os("MICRODENSE_REQUIRE_QEMU").is_some() {
        assert!(device_ran, "the device part was skipped:\n{stdout}");
    }
    if device_ran {
        // Rows for my_model.mdl: the host's accuracy, then the device's.
        let mdl: Vec<f64> = summary
            .iter()
            .filter(|r| r.0 == "my_model.mdl")
            .filter_map(|r| r.2)
            .collect();
        assert_eq!(mdl.len(), 2, "{stdout}");
        let device = mdl[1];
        assert_eq!(device, mdl[0], "device and host accuracy");
        assert!(
            accuracy_of("tuned.h5") > device,
            "fine-tuning on the device raised the accuracy"
        );
    } else {
        assert!(stdout.contains("skipped:"), "{stdout}");
    }

    let Some(python) = keras_python() else { return };
    let report: serde_json::Value =
        serde_json::from_str(run_keras_script(&python, "check_demo.py", &[dir.path()]).trim()).unwrap();
    let whole_models: &[&str] = if device_ran {
        &[
            "my_model.h5",
            "my_model_resumed.h5",
            "my_model_retrained.h5",
            "tuned.h5",
        ]
    } else {
        &["my_model.h5", "my_model_resumed.h5", "my_model_retrained.h5"]
    };
    for &name in whole_models {
        for keras in ["tf_keras", "keras3"] {
            let theirs = report[name][keras].as_f64().unwrap();
            assert!(
                (theirs - accuracy_of(name)).abs() < 5e-4,
                "{name} in {keras}: {theirs} vs ours {}",
                accuracy_of(name)
            );
        }
    }
    for name in ["my_model_arch.json", "my_model_arch.yaml"] {
        assert_eq!(report[name]["layers"], 6, "{name}");
        let theirs = report[name]["tf_keras"].as_f64().unwrap();
        assert!(
            (theirs - accuracy_of("my_model_weights.h5")).abs() < 5e-4,
            "{name}: {theirs}"
        );
    }
}
