//! `microdense device` against the emulated Cortex-M4F: info, and evaluate with `--json`
//! and `--confusion` (skipped with a reason when QEMU or the firmware is missing, unless
//! `MICRODENSE_REQUIRE_QEMU` is set).

use microdense::model::{Compile, Model, TUTORIAL_SPEC};
use microdense_tests::{mnist_dir, TempDir};
use std::process::Command;

#[test]
fn device_evaluate_prints_json_and_draws_the_confusion_matrix() {
    let firmware = std::env::var_os("MICRODENSE_FIRMWARE").map(std::path::PathBuf::from);
    let qemu = Command::new("qemu-system-arm")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let Some(firmware) = firmware.filter(|f| f.exists() && qemu) else {
        assert!(
            std::env::var_os("MICRODENSE_REQUIRE_QEMU").is_none(),
            "QEMU and the firmware are required"
        );
        eprintln!("SKIPPED: set MICRODENSE_FIRMWARE (scripts/firmware-build.sh --release) and install qemu-system-arm");
        return;
    };
    let dir = TempDir::new("cli-device");
    let mut model = Model::from_spec(TUTORIAL_SPEC, 3).unwrap();
    model.compile(Compile::default());
    model.save(dir.join("m.mdl")).unwrap();
    let device = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_microdense"))
            .arg("device")
            .arg("--qemu")
            .arg("--model")
            .arg(dir.join("m.mdl"))
            .arg("--firmware")
            .arg(&firmware)
            .args(args)
            .current_dir(dir.path())
            .env("MNIST_DIR", mnist_dir())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    };
    let info = device(&["info"]);
    assert!(info.contains("model:          ok"), "{info}");
    let stdout = device(&["evaluate", "--limit", "200", "--json", "--confusion", "c.png"]);
    let json: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(json["samples"], 200);
    assert!(
        stdout.contains("precision") && dir.join("c.png").exists(),
        "{stdout}"
    );
}
