//! One conformance suite, run on every board QEMU emulates (`microdense::device::BOARDS`):
//! the firmware boots and validates the model, Info names the board and its memory, Infer
//! gives the host's outputs bit for bit, Evaluate gives the host's classes on all 10,000 test
//! images (the first [`SOFT_FLOAT_IMAGES`] on a core without FPU), and training steps give the host's weights bit for bit (device_common's
//! `assert_training_matches_host`), with SGD and with the file's Adam state; and while it waits for the host, QEMU stays (nearly)
//! idle: the firmware sleeps. All this on the FPU cores (core's assembly kernel) and the
//! soft-float ones (the portable kernel: the Cortex-M3 and the rv32imac RISC-V hart) alike.
//!
//! The boards run in parallel (one test each): QEMU's UART moves about 16 KB/s, so each
//! board's 10,000 images take about 2 minutes, mostly waiting.

mod device_common;

use device_common::{
    adam_tutorial_model, assert_training_matches_host, boot_board, classes, cpu_share, host_test, labels_u32,
    mdl, mnist, test_samples, tutorial_model,
};
use microdense::device::{ModelState, QemuBoard};
use microdense_core::Sgd;
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

fn conforms(name: &str) {
    let board = QemuBoard::named(name).unwrap();
    let model = tutorial_model();
    let file = mdl(&model);
    let Some(mut booted) = boot_board(board, Some(&file)) else {
        return;
    };
    let device = &mut booted.device;

    let info = device.info().unwrap();
    assert_eq!(info.board, name, "{info}");
    let ModelState::Ok(summary) = &info.model else {
        panic!("{name}: model not loaded: {info}")
    };
    assert_eq!(summary.file_len as usize, file.len());
    assert_eq!(summary.params, 40_480);
    assert_eq!(summary.training.as_ref().unwrap().trainable_layers, 2);
    assert!(info.memory.flash_code > 0 && info.memory.flash_code <= info.memory.flash_budget);
    assert!(info.memory.stack_used > 0 && info.memory.stack_used <= info.memory.stack_size);
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

    let n = if board.target.ends_with("eabihf") {
        mnist().test.labels.len()
    } else {
        SOFT_FLOAT_IMAGES
    };
    let labels = labels_u32(&mnist().test.labels);
    let host_data = host_test(&labels, n);
    let host_outputs = model.predict(&host_data).unwrap();
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
    let host_classes = classes(&host_outputs);
    let differing: Vec<usize> = (0..n)
        .filter(|&i| result.predictions[i] != host_classes[i])
        .collect();
    assert!(
        differing.is_empty(),
        "{name}: images classified differently: {differing:?}"
    );
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
fn every_board_has_a_conformance_test() {
    let source = include_str!("device_boards.rs");
    for board in microdense::device::BOARDS {
        assert!(
            source.contains(&format!("conforms(\"{}\")", board.name)),
            "no conformance test for {}",
            board.name
        );
    }
}
