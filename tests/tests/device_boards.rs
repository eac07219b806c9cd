//! One conformance suite, run on every board QEMU emulates (`microdense::device::BOARDS`):
//! the firmware boots and validates the model, Info names the board and its memory, Infer
//! gives the host's outputs bit for bit, Evaluate gives the host's classes on all 10,000 test
//! images (the first [`SOFT_FLOAT_IMAGES`] on a core without FPU), and training steps give the host's weights bit for bit (device_common's
//! `assert_training_matches_host`), with SGD and with the file's Adam state; and while it waits for the host, QEMU stays (nearly)
//! idle: the firmware sleeps. All this on the FPU cores (core's assembly kernel) and the
//! soft-float ones (the portable kernel: the Cortex-M3 and the rv32imac RISC-V hart) alike.
//! The micro:bit (Cortex-M0, 16 KiB of RAM) runs the same checks sized for its buffers
//! (`conforms_in_16_kib`: the last layer fine-tuned, one sample per request), with the int8
//! model as well, and the refusals of what does not fit.
//!
//! The boards run in parallel (one test each): QEMU's UART moves about 16 KB/s, so each
//! board's 10,000 images take about 2 minutes, mostly waiting.

mod device_common;

use device_common::{
    adam_tutorial_model, assert_batches_match_host, assert_training_matches_host, boot_board, classes,
    cpu_share, host_test, labels_u32, mdl, mnist, quantized, test_samples, train_samples, tutorial_model,
    Booted,
};
use microdense::device::{Device, DeviceError, Evaluation, InfoReport, ModelState, QemuBoard, StepResult};
use microdense::device_format::{int8_from_mdl, int8_to_mdl, to_mdl, ExportOptions};
use microdense::model::Model;
use microdense_core::protocol::MAX_BATCH;
use microdense_core::Sgd;
use microdense_tests::qemu::{board_firmware, build_firmware};
use microdense_tests::TempDir;
use std::time::Duration;

/// Test images Infer is compared on, bit for bit.
const INFER_IMAGES: usize = 8;
/// Test images evaluated on a core without FPU. There float32 runs in software (core's
/// integer `soft_fma`, ~70 instructions per multiply-accumulate: 2.7 million per inference
/// of the tutorial model), which QEMU runs too slowly for all 10,000 images in CI time.
const SOFT_FLOAT_IMAGES: usize = 1_000;
/// How long QEMU's idle CPU use is measured.
const IDLE_SPAN: Duration = Duration::from_secs(3);
/// Most of a core an idle QEMU may use: the firmware sleeps (`wfi`) until the UART's receive
/// interrupt, waking only for the clock's (every 0.67 s of virtual time on QEMU's boards).
const IDLE_CPU_LIMIT: f64 = 0.05;

/// The checks of Info every board passes with `file` loaded (a model of `params` weights):
/// the board's name, the model, memory within its budgets, a clock that counts
/// instructions; and while it waits for the host, QEMU stays (nearly) idle.
fn check_booted(name: &str, booted: &mut Booted, file: &[u8], params: u32) -> InfoReport {
    let info = booted.device.info().unwrap();
    assert_eq!(info.board, name, "{info}");
    let ModelState::Ok(summary) = &info.model else {
        panic!("{name}: model not loaded: {info}")
    };
    assert_eq!(summary.file_len as usize, file.len());
    assert_eq!(summary.params, params);
    assert!(info.memory.flash_code > 0 && info.memory.flash_code <= info.memory.flash_budget);
    assert!(info.memory.stack_used > 0 && info.memory.stack_used < info.memory.stack_size);
    // The clock counts instructions: the boot's self-check loop measures what it ran.
    let check = info.measured.clock_check_instructions as u64;
    let ticks = info.measured.clock_check_ticks;
    assert!(
        ticks >= check && ticks <= check + 2 * u64::from(info.clock_resolution),
        "{name}: a {check}-instruction loop took {ticks} ticks"
    );

    // Waiting for the host, the firmware sleeps.
    let idle = cpu_share(booted.qemu.pid(), IDLE_SPAN);
    assert!(
        idle < IDLE_CPU_LIMIT,
        "{name}: QEMU used {:.1}% of a core while idle",
        100.0 * idle
    );
    info
}

/// Infer gives the host's outputs (`host_outputs`, 10 per test image) bit for bit on the
/// first [`INFER_IMAGES`] test images, and Evaluate the host's class on each of the first
/// `n`; returns the evaluation.
fn check_outputs(name: &str, device: &mut Device, host_outputs: &[f32], n: usize) -> Evaluation {
    let set = test_samples();
    for i in 0..INFER_IMAGES {
        let (class, scores, ticks) = device.infer(&set, i).unwrap();
        let host = &host_outputs[i * 10..(i + 1) * 10];
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<u32>>();
        assert_eq!(
            bits(&scores),
            bits(host),
            "{name}: image {i}: {scores:?} vs {host:?}"
        );
        assert_eq!(usize::from(class), microdense_core::argmax(host));
        assert!(ticks > 40_000, "{name}: an inference took {ticks} instructions");
    }

    let indices: Vec<usize> = (0..n).collect();
    let result = device.evaluate(&set, &indices, None, &mut |_, _| {}).unwrap();
    let host_classes = classes(&host_outputs[..n * 10]);
    let differing: Vec<usize> = (0..n)
        .filter(|&i| result.predictions[i] != host_classes[i])
        .collect();
    assert!(
        differing.is_empty(),
        "{name}: images classified differently: {differing:?}"
    );
    result
}

/// Boots board `name` with the tutorial model and passes [`check_booted`]; `None` when the
/// QEMU tests are skipped.
fn boot_tutorial(name: &str) -> Option<(QemuBoard, Model, Booted, InfoReport)> {
    let board = QemuBoard::named(name).unwrap();
    let model = tutorial_model();
    let file = mdl(&model);
    let mut booted = boot_board(board, Some(&file))?;
    let info = check_booted(name, &mut booted, &file, 40_480);
    Some((board, model, booted, info))
}

fn conforms(name: &str) {
    let Some((board, model, mut booted, info)) = boot_tutorial(name) else {
        return;
    };
    assert_eq!(info.limits.max_batch as usize, MAX_BATCH);
    let device = &mut booted.device;

    let n = if board.target.ends_with("eabihf") {
        mnist().test.labels.len()
    } else {
        SOFT_FLOAT_IMAGES
    };
    let labels = labels_u32(&mnist().test.labels);
    let host_data = host_test(&labels, n);
    let host_outputs = model.predict(&host_data).unwrap();
    let result = check_outputs(name, device, &host_outputs, n);
    let host_score = model.evaluate(&host_data).unwrap();
    assert_eq!(f64::from(result.total.correct) / n as f64, host_score.accuracy);
    assert!(
        (f64::from(result.total.loss()) - host_score.loss).abs() < 1e-4,
        "{name}: device loss {} vs host {}",
        result.total.loss(),
        host_score.loss
    );

    device.reset().unwrap();
    let sgd = Sgd {
        learning_rate: 0.05,
        momentum: 0.9,
        nesterov: true,
    };
    assert_training_matches_host(device, &model, Some(sgd));

    // The file's own optimizer: Adam, its moments and iterations read from the .mdl.
    let adam = adam_tutorial_model();
    let Some(mut booted) = boot_board(board, Some(&mdl(&adam))) else {
        return;
    };
    assert_training_matches_host(&mut booted.device, &adam, None);
}

/// Test images a 16 KiB board evaluates: soft float on a Cortex-M0, one image per request.
const SMALL_BOARD_IMAGES: usize = 300;

/// The suite of a board with 16 KiB of RAM (the micro:bit), whose buffers take one sample
/// per request, layers up to 64 wide and fine-tuning of the last layer: for the float32
/// tutorial model (in software floating point) and for its int8 quantisation (the last
/// Dense layer float), Info reports the 16 KiB, Infer gives the host's outputs bit for bit,
/// Evaluate the host's classes, fine-tuning steps of the last layer give the host's weights
/// bit for bit (float32) or the host's classes after the pull (int8), the stack never
/// reaches the static buffers; and what does not fit is refused by name: two layers, Adam's
/// state, a batch of 2, a layer 128 wide.
fn conforms_in_16_kib(name: &str) {
    let Some((board, model, mut booted, info)) = boot_tutorial(name) else {
        return;
    };
    assert_eq!(
        info.memory.static_ram + info.memory.stack_size,
        16 * 1024,
        "{info}"
    );
    assert_eq!(info.limits.max_batch, 1, "{info}");
    let device = &mut booted.device;
    let n = SMALL_BOARD_IMAGES;
    let labels = labels_u32(&mnist().test.labels);
    let host_data = host_test(&labels, n);
    check_outputs(name, device, &model.predict(&host_data).unwrap(), n);

    let sgd = Sgd {
        learning_rate: 0.05,
        momentum: 0.9,
        nesterov: true,
    };
    let set = train_samples();
    let refused = |result: Result<StepResult, DeviceError>| result.unwrap_err().to_string();
    let said = refused(device.train_step(2, Some(sgd), None, &set, &[0]));
    assert!(
        said.contains("training the last 2 layers needs") && said.contains("reserves 768"),
        "{said}"
    );
    let said = refused(device.train_step(1, Some(sgd), None, &set, &[0, 1]));
    assert!(said.contains("use a batch size of at most 1"), "{said}");
    device.reset().unwrap();
    assert_batches_match_host(device, &model, Some(sgd), 1, &[vec![0], vec![1], vec![100]]);
    let info = device.info().unwrap();
    assert!(info.memory.stack_used < info.memory.stack_size, "{info}");

    // The int8 models: every Dense layer int8 but the last, which fine-tunes. With Adam's
    // state (the float32 file with it does not fit the 160 KiB model region), two values
    // per weight: the last layer's 210 weights need more than the 768 f32 the firmware
    // reserves.
    let options = ExportOptions {
        with_training_state: true,
        trainable_layers: Some(1),
    };
    let adam = int8_to_mdl(&quantized(&adam_tutorial_model(), 1), &options).unwrap();
    let Some(mut booted) = boot_board(board, Some(&adam)) else {
        return;
    };
    let said = refused(booted.device.train_step(1, None, None, &set, &[0]));
    assert!(said.contains("training the last 1 layers needs"), "{said}");

    let int8 = quantized(&model, 1);
    let file = int8_to_mdl(&int8, &options).unwrap();
    let Some(mut booted) = boot_board(board, Some(&file)) else {
        return;
    };
    check_booted(name, &mut booted, &file, 210);
    let device = &mut booted.device;
    check_outputs(name, device, &int8.predict(&host_data).unwrap(), n);
    for batch in [[0], [1], [100]] {
        device.train_step(1, Some(sgd), None, &set, &batch).unwrap();
    }
    let after = device
        .evaluate(&test_samples(), &(0..n).collect::<Vec<_>>(), None, &mut |_, _| {})
        .unwrap();
    let tuned = int8_from_mdl(&device.pull(&mut |_, _| {}).unwrap())
        .unwrap()
        .expect("the pulled file has an int8 body");
    assert_eq!(
        (&tuned.layers, &tuned.data),
        (&int8.layers, &int8.data),
        "the int8 body changed"
    );
    assert_ne!(tuned.head.params, int8.head.params, "the steps changed nothing");
    assert_eq!(classes(&tuned.predict(&host_data).unwrap()), after.predictions);
    let info = device.info().unwrap();
    assert!(info.memory.stack_used < info.memory.stack_size, "{info}");

    // A layer wider than the buffers: refused at boot, by name (100 inputs, so the file
    // fits the model region).
    let wide = Model::from_spec("100,128,relu,10,softmax", 1).unwrap();
    let Some(mut booted) = boot_board(board, Some(&to_mdl(&wide, &ExportOptions::default()).unwrap())) else {
        return;
    };
    let info = booted.device.info().unwrap();
    let ModelState::Corrupted(why) = &info.model else {
        panic!("{name}: a 128-wide layer was accepted: {info}")
    };
    assert!(why.contains("128") && why.contains("64"), "{why}");
}

/// A model larger than the micro:bit's model region (160 KiB) fails the firmware's link,
/// naming the region (`scripts/firmware-build.sh --board microbit --model FILE`).
#[test]
fn microbit_firmware_refuses_to_link_with_a_model_larger_than_its_flash() {
    if board_firmware(&QemuBoard::named("microbit").unwrap()).is_none() {
        return;
    }
    let dir = TempDir::new("microbit-model");
    let big = dir.join("big.mdl");
    let model = Model::from_spec("784,64,relu,10,softmax", 1).unwrap();
    std::fs::write(&big, to_mdl(&model, &ExportOptions::default()).unwrap()).unwrap();
    let big = big.to_str().unwrap();
    let said = build_firmware(&["--release", "--board", "microbit", "--model", big])
        .unwrap_err()
        .to_string();
    assert!(
        said.contains("does not fit the model region of board microbit (163840 bytes"),
        "{said}"
    );
}

#[test]
fn mps2_an385_cortex_m3_conforms() {
    conforms("mps2-an385");
}

#[test]
fn mps2_an386_cortex_m4f_conforms() {
    conforms("mps2-an386");
}

#[test]
fn mps2_an500_cortex_m7_conforms() {
    conforms("mps2-an500");
}

#[test]
fn mps2_an505_cortex_m33_conforms() {
    conforms("mps2-an505");
}

#[test]
fn riscv32_virt_rv32imac_conforms() {
    conforms("riscv32-virt");
}

#[test]
fn microbit_cortex_m0_conforms_in_16_kib() {
    conforms_in_16_kib("microbit");
}

#[test]
fn every_board_has_a_conformance_test() {
    let source = include_str!("device_boards.rs");
    for board in microdense::device::BOARDS {
        assert!(
            source.contains(&format!("conforms(\"{}\")", board.name))
                || source.contains(&format!("conforms_in_16_kib(\"{}\")", board.name)),
            "no conformance test for {}",
            board.name
        );
    }
}
