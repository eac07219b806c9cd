//! The firmware built for the tutorial's kinds only (`scripts/firmware-build.sh --release
//! --kinds base`: no other layer, activation, optimizer, schedule, clipping, loss or int8
//! code) runs the tutorial model as the full image does, bit for bit with the host in
//! inference and fine-tuning, and refuses at boot a model that needs a left-out group,
//! naming the group and its cargo feature.

mod device_common;

use device_common::{
    adam_tutorial_model, assert_outputs_match_host, assert_training_matches_host, boot_firmware, mdl,
    model_trained, tutorial_model,
};
use microdense::device::ModelState;
use microdense::model::Compile;

/// The base-kinds image's build arguments.
const BASE: [&str; 3] = ["--release", "--kinds", "base"];

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
