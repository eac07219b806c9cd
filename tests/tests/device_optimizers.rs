//! Fine-tuning with the optimizer a `.mdl` carries, on the emulated Cortex-M4F: the
//! tutorial model trained with Adam on the host goes to the device with its moments and
//! iteration count; one step and then two more with Adam give the host's weights, moments
//! and iterations bit for bit; the device refuses to switch to an optimizer with another
//! state layout mid-tuning, and a suffix whose Adam state does not fit its training arena,
//! naming the figures; and reports the RAM the steps took.

mod device_common;

use device_common::{adam_tutorial_model, assert_training_matches_host, boot, mdl, train_samples};
use microdense::device::{DeviceError, ModelState};
use microdense_core::protocol::ErrorCode;
use microdense_core::Sgd;

/// The device's error code and message for a request it refused.
fn device_error(result: Result<impl std::fmt::Debug, DeviceError>) -> (ErrorCode, String) {
    match result {
        Err(DeviceError::Device { code, message }) => (code, message),
        other => panic!("expected a device error, got {other:?}"),
    }
}

#[test]
fn adam_steps_on_the_device_are_the_hosts_bit_for_bit() {
    let model = adam_tutorial_model();
    let Some(mut booted) = boot(Some(&mdl(&model))) else {
        return;
    };
    let device = &mut booted.device;
    let info = device.info().unwrap();
    let ModelState::Ok(summary) = &info.model else {
        panic!("model not loaded: {info}")
    };
    assert_eq!(summary.version, microdense_core::format::VERSION);
    let training = summary.training.as_ref().unwrap();
    assert_eq!(training.optimizer.algorithm.keras_class(), "Adam");
    assert_eq!(training.iterations, 938);
    assert!(
        info.to_string()
            .contains("training state: Adam(learning_rate=0.001"),
        "{info}"
    );

    assert_training_matches_host(device, &model, None);
    // Weights, Adam state (2 · 1,230), gradients, the suffix input and the trainer's
    // scratch for the last step's 16 samples, in bytes.
    let info = device.info().unwrap();
    assert_eq!(
        info.measured.train_ram,
        4 * (4 * 1_230 + 16 * 50 + 16 * (20 + 20 + 10 + 10 + 2 * 20))
    );

    // An optimizer with another state layout cannot take over mid-tuning.
    let train = train_samples();
    let sgd = Sgd {
        momentum: 0.9,
        ..Sgd::default()
    };
    let (code, message) = device_error(device.train_step(2, Some(sgd), None, &train, &[0]));
    assert_eq!(code, ErrorCode::BadRequest);
    assert_eq!(
        message,
        "fine-tuning keeps 2 optimizer state value(s) per parameter, the request's optimizer 1; \
         Reset before changing it"
    );
    // Adam over all 40,480 parameters needs 4 · 40,480 f32 before any activation.
    device.reset().unwrap();
    let (code, message) = device_error(device.train_step(3, None, None, &train, &[0]));
    assert_eq!(code, ErrorCode::TooLarge);
    assert_eq!(
        message,
        "training the last 3 layers needs 161920 f32 for weights, optimizer state and \
         gradients; the firmware reserves 8192"
    );
}
