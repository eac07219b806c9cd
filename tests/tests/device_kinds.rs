//! The firmware built for the tutorial's kinds only (`scripts/firmware-build.sh --release
//! --kinds base`: no other layer, activation, optimizer, schedule, clipping, loss or int8
//! code) runs the tutorial model as the full image does, bit for bit with the host in
//! inference and fine-tuning, and refuses at boot a model that needs a left-out group,
//! naming the group and its cargo feature; built for such a model (`--model FILE`), it fails
//! to build, naming the groups to add. Without the training code it runs such a model: the
//! optimizer is what it would not carry.

mod device_common;

use device_common::{
    adam_tutorial_model, assert_outputs_match_host, assert_training_matches_host, boot_firmware, mdl,
    model_trained, tutorial_model,
};
use microdense::device::ModelState;
use microdense::model::Compile;
use microdense_tests::qemu::{build_firmware, test_firmware};
use microdense_tests::TempDir;

/// The base-kinds image's build arguments.
const BASE: [&str; 3] = ["--release", "--kinds", "base"];
/// The same without the training code.
const BASE_INFERENCE_ONLY: [&str; 5] = ["--release", "--kinds", "base", "--features", "inference-only"];

#[test]
fn the_base_kinds_image_infers_and_fine_tunes_the_tutorial_model_as_the_host_does() {
    let model = tutorial_model();
    let Some(mut booted) = boot_firmware(&BASE, Some(&mdl(&model))) else {
        return;
    };
    assert_outputs_match_host(&mut booted.device, &model, 8);
    assert_training_matches_host(&mut booted.device, &model, None);
}

#[test]
fn the_base_kinds_image_refuses_models_that_need_other_kinds_by_name() {
    let batch_norm = model_trained("784,32:relu,bn,10:softmax", 1.0, Compile::default(), 1);
    let cases = [
        (adam_tutorial_model(), "optimizers other than SGD", "optimizers"),
        (
            batch_norm,
            "BatchNormalization and LayerNormalization layers",
            "normalization",
        ),
    ];
    for (model, group, feature) in cases {
        let Some(mut booted) = boot_firmware(&BASE, Some(&mdl(&model))) else {
            return;
        };
        let info = booted.device.info().unwrap();
        let ModelState::Corrupted(why) = &info.model else {
            panic!("a model that needs {group} was accepted: {info}")
        };
        assert!(why.contains(group), "{why}");
        assert!(why.contains(&format!("cargo feature `{feature}`")), "{why}");
        assert!(why.ends_with("which this build leaves out"), "{why}");
    }
}

#[test]
fn building_the_base_kinds_image_for_a_model_that_needs_more_fails_naming_the_groups() {
    if test_firmware(&BASE).is_none() {
        return;
    }
    let dir = TempDir::new("kinds-model");
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path.to_str().unwrap().to_string()
    };
    let adam = write("adam.mdl", &mdl(&adam_tutorial_model()));
    let said = build_firmware(&["--release", "--kinds", "base", "--model", &adam])
        .unwrap_err()
        .to_string();
    assert!(
        said.contains("needs optimizers other than SGD, and weight decay (cargo feature `optimizers`)")
            && said.contains("build it with `scripts/firmware-build.sh --kinds optimizers`"),
        "{said}"
    );
    // The tutorial model needs nothing more: the same build succeeds.
    let tutorial = write("tutorial.mdl", &mdl(&tutorial_model()));
    build_firmware(&["--release", "--kinds", "base", "--model", &tutorial]).unwrap();
}

/// An image that does not fine-tune needs no optimizer: the base inference-only image builds
/// for and runs a model trained with Adam, bit for bit with the host.
#[test]
fn the_base_kinds_inference_only_image_runs_a_model_trained_with_adam() {
    let model = adam_tutorial_model();
    let Some(mut booted) = boot_firmware(&BASE_INFERENCE_ONLY, Some(&mdl(&model))) else {
        return;
    };
    assert_outputs_match_host(&mut booted.device, &model, 8);
    let dir = TempDir::new("kinds-inference-only");
    let path = dir.join("adam.mdl");
    std::fs::write(&path, mdl(&model)).unwrap();
    let mut args = BASE_INFERENCE_ONLY.to_vec();
    args.extend(["--model", path.to_str().unwrap()]);
    build_firmware(&args).unwrap();
}
