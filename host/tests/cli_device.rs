//! `microdense device` against the emulated Cortex-M4F: info, and evaluate with `--json`
//! and `--confusion`; a Keras model compiled with Adam fine-tuned on the device and
//! resumed in Keras; a QEMU kept with `--keep` and served again over `--port SOCKET`; and a
//! real serial port (a pseudo-terminal QEMU's UART is attached to). Skipped with a reason
//! when QEMU or the firmware is missing, unless `MICRODENSE_REQUIRE_QEMU` is set.

use microdense::device::{qemu, QemuBoard, QemuConfig};
use microdense::model::{Compile, Model, TUTORIAL_SPEC};
use microdense_tests::qemu::test_firmware;
use microdense_tests::{mnist_dir, TempDir};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// The release firmware (`$MICRODENSE_FIRMWARE`, else built), when it and QEMU are there.
fn firmware() -> Option<String> {
    test_firmware(&["--release"]).map(|f| f.display().to_string())
}

/// An untrained tutorial model saved as `m.mdl` in `dir`; returns its path.
fn model_file(dir: &TempDir) -> String {
    let mut model = Model::from_spec(TUTORIAL_SPEC, 3).unwrap();
    model.compile(Compile::default());
    let path = dir.join("m.mdl");
    model.save(&path).unwrap();
    path.display().to_string()
}

/// Runs `microdense device ARGS` in `dir`; panics with its output unless it succeeds.
fn device(dir: &TempDir, args: &[&str]) -> Output {
    microdense(dir, &[&["device"], args].concat())
}

/// Runs `microdense ARGS` in `dir`; panics with its output unless it succeeds.
fn microdense(dir: &TempDir, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_microdense"))
        .args(args)
        .current_dir(dir.path())
        .env("MNIST_DIR", mnist_dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "microdense {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn device_evaluate_prints_json_and_draws_the_confusion_matrix() {
    let Some(firmware) = firmware() else { return };
    let dir = TempDir::new("cli-device");
    let model = model_file(&dir);
    let qemu = ["--qemu", "--model", &model, "--firmware", &firmware];
    let info = stdout(&device(&dir, &[&qemu[..], &["info"]].concat()));
    assert!(info.contains("model:          ok"), "{info}");
    let args = ["evaluate", "--limit", "200", "--json", "--confusion", "c.png"];
    let out = stdout(&device(&dir, &[&qemu[..], &args[..]].concat()));
    let json: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(json["samples"], 200);
    assert!(out.contains("precision") && dir.join("c.png").exists(), "{out}");
}

/// The tutorial model trained by tf_keras with Adam goes to the device with its optimizer
/// state (`convert --trainable-layers 2`), which fine-tunes its last 2 Dense layers with
/// Adam (`device finetune` without --lr); the pulled model, back in `.h5`, loads in
/// tf_keras with Adam, the device's iteration count and the device's moments bit for bit,
/// and Keras resumes training it.
#[test]
fn keras_adam_model_fine_tunes_on_the_device_and_resumes_in_keras() {
    let Some(firmware) = firmware() else { return };
    let Some(python) = microdense_tests::keras_python() else {
        return;
    };
    let dir = TempDir::new("cli-device-adam");
    let made = dir.join("adam.h5");
    microdense_tests::run_keras_script(&python, "device_adam.py", &[Path::new("make"), &made]);
    microdense(
        &dir,
        &["convert", "adam.h5", "adam.mdl", "--trainable-layers", "2"],
    );
    let inspected = stdout(&microdense(&dir, &["inspect", "adam.mdl"]));
    assert!(
        inspected.contains("readable by version 3")
            && inspected.contains("training state: Adam(learning_rate=0.001")
            && inspected.contains("16 iterations"),
        "{inspected}"
    );
    let qemu = ["--qemu", "--model", "adam.mdl", "--firmware", &firmware];
    let finetune = [
        "finetune",
        "--layers",
        "2",
        "--limit",
        "64",
        "--batch-size",
        "16",
        "-o",
        "tuned.mdl",
    ];
    device(&dir, &[&qemu[..], &finetune[..]].concat());
    microdense(&dir, &["convert", "tuned.mdl", "tuned.h5"]);

    let tuned = microdense::device_format::read_mdl(&dir.join("tuned.mdl")).unwrap();
    let state = tuned.optimizer.as_ref().unwrap();
    assert_eq!(state.scalars.iterations, 16 + 4);
    let out = microdense_tests::run_keras_script(
        &python,
        "device_adam.py",
        &[Path::new("resume"), &dir.join("tuned.h5")],
    );
    let keras: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(keras["class"], "Adam");
    assert_eq!(keras["iterations"], 20);
    assert_eq!(keras["resumed_iterations"], 22);
    assert!(keras["resumed_loss"].as_f64().unwrap().is_finite(), "{keras}");
    // The last Dense kernel (20 × 10) ends 10 biases before the end; 2 slots per parameter.
    let n = tuned.params.len();
    let kernel = n - 210..n - 10;
    for (slot, name) in [(0, "m"), (1, "v")] {
        let ours: Vec<u32> = kernel
            .clone()
            .map(|p| state.slots[2 * p + slot].to_bits())
            .collect();
        let theirs: Vec<u32> = keras[name]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| (v.as_f64().unwrap() as f32).to_bits())
            .collect();
        assert_eq!(ours, theirs, "Keras's {name} of the last kernel");
        assert!(ours.iter().any(|&b| b != 0), "{name} is all zeros");
    }
}

/// Kills the kept QEMU and removes its socket's directory when the test ends.
struct Kept {
    pid: u32,
    socket: String,
}

impl Drop for Kept {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.pid.to_string()).status();
        if let Some(dir) = Path::new(&self.socket).parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

#[test]
fn a_kept_qemu_serves_later_commands_over_its_socket() {
    let Some(firmware) = firmware() else { return };
    let dir = TempDir::new("cli-device-keep");
    let model = model_file(&dir);
    let out = device(
        &dir,
        &[
            "--qemu",
            "--model",
            &model,
            "--firmware",
            &firmware,
            "--keep",
            "finetune",
            "--layers",
            "1",
            "--limit",
            "64",
            "--lr",
            "0.1",
            "-o",
            "tuned.mdl",
        ],
    );
    // "QEMU keeps running (pid N); connect with --port SOCKET"
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("QEMU keeps running"))
        .unwrap_or_else(|| panic!("no --keep notice in: {stderr}"));
    let pid: u32 = line
        .split("(pid ")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .unwrap()
        .parse()
        .unwrap();
    let socket = line.rsplit("--port ").next().unwrap().trim().to_string();
    let kept = Kept { pid, socket };
    assert!(Path::new(&kept.socket).exists(), "{line}");

    // The same device, still fine-tuned: later commands see the state the first left.
    let info = stdout(&device(&dir, &["--port", &kept.socket, "info"]));
    assert!(info.contains("fine-tuned:     last 1 Dense layer(s)"), "{info}");
    device(&dir, &["--port", &kept.socket, "pull", "-o", "pulled.mdl"]);
    assert_eq!(
        std::fs::read(dir.join("pulled.mdl")).unwrap(),
        std::fs::read(dir.join("tuned.mdl")).unwrap()
    );
}

/// A QEMU whose UART is a pseudo-terminal; killed when dropped.
struct PtyQemu {
    child: Child,
    pty: String,
}

impl PtyQemu {
    fn boot(firmware: &str, model: &str) -> PtyQemu {
        let config = QemuConfig {
            board: QemuBoard::default(),
            elf: PathBuf::from(firmware),
            model: Some(PathBuf::from(model)),
        };
        let mut child = qemu::command(&config)
            .unwrap()
            .args(["-chardev", "pty,id=uart0", "-serial", "chardev:uart0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // "char device redirected to /dev/pts/N (label uart0)"
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let pty = line
            .split("redirected to ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .unwrap_or_else(|| panic!("no pty in QEMU's output: {line:?}"))
            .to_string();
        PtyQemu { child, pty }
    }
}

impl Drop for PtyQemu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_serial_port_reaches_the_device() {
    let Some(firmware) = firmware() else { return };
    let dir = TempDir::new("cli-device-pty");
    let model = model_file(&dir);
    let qemu = PtyQemu::boot(&firmware, &model);
    let info = stdout(&device(&dir, &["--port", &qemu.pty, "--baud", "115200", "info"]));
    assert!(info.contains("model:          ok"), "{info}");
    let out = stdout(&device(&dir, &["--port", &qemu.pty, "infer", "--index", "0"]));
    assert!(
        out.contains("test image 0: predicted") && out.contains("scores: ["),
        "{out}"
    );
}

/// The processes whose parent is `pid`.
fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("children")).ok())
        .flat_map(|c| {
            c.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

/// Whether process `pid` runs (exists and is no zombie).
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| stat.rsplit(") ").next().map(|rest| !rest.starts_with('Z')))
        .unwrap_or(false)
}

/// Waits until `done` holds, for at most a minute (a deadline, not a measurement).
fn eventually(mut done: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !done() {
        if std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    true
}

#[test]
fn qemu_dies_with_microdense_whatever_ends_it() {
    let Some(firmware) = firmware() else { return };
    for signal in [libc::SIGKILL, libc::SIGTERM] {
        let dir = TempDir::new("cli-device-signal");
        let model = model_file(&dir);
        let mut microdense = Command::new(env!("CARGO_BIN_EXE_microdense"))
            .args([
                "device",
                "--qemu",
                "--model",
                &model,
                "--firmware",
                &firmware,
                "evaluate",
            ])
            .current_dir(dir.path())
            .env("MNIST_DIR", mnist_dir())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let socket_dir = std::env::temp_dir().join(format!("microdense-qemu-{}-0", microdense.id()));
        let mut qemu = None;
        assert!(
            eventually(|| {
                qemu = children(microdense.id()).into_iter().next();
                qemu.is_some() && socket_dir.join("uart0.sock").exists()
            }),
            "microdense started no QEMU"
        );
        let qemu = qemu.unwrap();
        // SAFETY: kill sends a signal to the process this test started.
        assert_eq!(unsafe { libc::kill(microdense.id() as libc::pid_t, signal) }, 0);
        microdense.wait().unwrap();
        let gone = eventually(|| !running(qemu));
        if !gone {
            // SAFETY: as above, to the QEMU the test found as microdense's child.
            unsafe { libc::kill(qemu as libc::pid_t, libc::SIGKILL) };
        }
        assert!(
            gone,
            "QEMU (pid {qemu}) outlived microdense killed by signal {signal}"
        );
        if signal == libc::SIGTERM {
            assert!(!socket_dir.exists(), "{} is left behind", socket_dir.display());
        } else {
            // Nothing can clean up after SIGKILL.
            let _ = std::fs::remove_dir_all(&socket_dir);
        }
    }
}

/// An int8 model (`quantize --trainable-layers 2`) fine-tuned by `device finetune` (the
/// float head trains, the int8 body stays in flash): the pulled file is an int8 `.mdl`
/// that `inspect` reads, that `evaluate` on the host scores exactly as the device does,
/// and that `convert` turns into a dequantised `.h5`, saying so.
#[test]
fn an_int8_model_fine_tunes_on_the_device_and_the_host_reads_the_pulled_file() {
    let Some(firmware) = firmware() else { return };
    let dir = TempDir::new("cli-device-int8");
    microdense(&dir, &["train", "--epochs", "1", "--out", "tut.h5"]);
    let args = [
        "quantize",
        "tut.h5",
        "q.mdl",
        "--calibrate",
        "500",
        "--trainable-layers",
        "2",
    ];
    microdense(&dir, &args);
    let qemu = |model: &'static str| ["--qemu", "--model", model, "--firmware", &firmware].map(String::from);
    let run = |model, args: &[&str]| {
        let qemu = qemu(model);
        let qemu: Vec<&str> = qemu.iter().map(String::as_str).collect();
        stdout(&device(&dir, &[&qemu[..], args].concat()))
    };
    let args = ["finetune", "--layers", "2", "--limit", "2000", "-o", "tuned.mdl"];
    let tuned = run("q.mdl", &args);
    assert!(tuned.contains("wrote tuned.mdl"), "{tuned}");

    let inspected = stdout(&microdense(&dir, &["inspect", "tuned.mdl"]));
    assert!(
        inspected.contains("int8 body") && inspected.contains("last 2 Dense layer(s) trainable"),
        "{inspected}"
    );
    let correct = |out: &str| {
        let json: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
        (json["accuracy"].as_f64().unwrap() * 10_000.0).round() as u32
    };
    let host = stdout(&microdense(&dir, &["evaluate", "tuned.mdl", "--json"]));
    assert!(host.contains("integer kernels"), "{host}");
    let on_device = run("tuned.mdl", &["evaluate", "--json"]);
    assert_eq!(
        correct(&host),
        correct(&on_device),
        "host: {host}\ndevice: {on_device}"
    );

    let converted = microdense(&dir, &["convert", "tuned.mdl", "tuned.h5"]);
    let said = String::from_utf8_lossy(&converted.stderr);
    assert!(
        said.contains("int8 body") && said.contains("dequantised"),
        "{said}"
    );
    assert!(dir.join("tuned.h5").exists());
}
