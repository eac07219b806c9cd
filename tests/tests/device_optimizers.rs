//! Fine-tuning with the optimizer a `.mdl` carries, on the emulated Cortex-M4F: the
//! tutorial model trained with Adam on the host goes to the device with its moments and
//! iteration count; one step and then two more with Adam give the host's weights, moments
//! and iterations bit for bit; the device refuses to switch to an optimizer with another
//! state layout mid-tuning, and a suffix whose Adam state does not fit its training arena,
//! naming the figures; and reports the RAM the steps took. Every other optimizer (AdamW,
//! Adam with amsgrad, Nadam, RMSprop with momentum and centered, Adagrad, SGD with
//! Nesterov momentum), each learning-rate schedule and each kind of clipping steps on the
//! device as on the host, bit for bit.

mod device_common;

use device_common::{
    adam_tutorial_model, assert_steps_match_host, assert_training_matches_host, boot, device_error, mdl,
    train_samples, tutorial_model_trained_with,
};
use microdense::device::ModelState;
use microdense::model::Compile;
use microdense_core::optimizer::{AdamSettings, Clipping, Schedule};
use microdense_core::protocol::ErrorCode;
use microdense_core::{Algorithm, Optimizer, Sgd};

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

/// The optimizer, schedule and clipping of each case of
/// [`every_optimizer_schedule_and_clipping_steps_on_the_device_like_the_host`].
fn optimizer_cases() -> Vec<(&'static str, Optimizer)> {
    let with = |algorithm, learning_rate, clipping| Optimizer {
        learning_rate,
        clipping,
        ..Optimizer::new(algorithm)
    };
    let adam = AdamSettings::default();
    vec![
        (
            "AdamW + PiecewiseConstantDecay",
            with(
                Algorithm::AdamW(adam),
                Schedule::piecewise_constant(&[500.0, 939.0], &[0.002, 0.001, 0.0005]).unwrap(),
                Clipping::None,
            ),
        ),
        (
            "Adam(amsgrad) + ExponentialDecay",
            with(
                Algorithm::Adam(AdamSettings {
                    amsgrad: true,
                    ..adam
                }),
                Schedule::ExponentialDecay {
                    initial_learning_rate: 0.002,
                    decay_steps: 100.0,
                    decay_rate: 0.9,
                    staircase: false,
                },
                Clipping::None,
            ),
        ),
        (
            "Nadam + InverseTimeDecay",
            with(
                Algorithm::Nadam {
                    beta_1: 0.9,
                    beta_2: 0.999,
                    epsilon: 1e-7,
                },
                Schedule::InverseTimeDecay {
                    initial_learning_rate: 0.001,
                    decay_steps: 200.0,
                    decay_rate: 0.5,
                    staircase: true,
                },
                Clipping::None,
            ),
        ),
        (
            "RMSprop(momentum, centered) + clipnorm",
            with(
                Algorithm::RmsProp {
                    rho: 0.9,
                    momentum: 0.5,
                    epsilon: 1e-7,
                    centered: true,
                },
                Schedule::Constant(0.0005),
                Clipping::Norm(1.0),
            ),
        ),
        (
            "Adagrad + CosineDecay + clipvalue",
            with(
                Algorithm::Adagrad {
                    initial_accumulator_value: 0.1,
                    epsilon: 1e-7,
                },
                Schedule::CosineDecay {
                    initial_learning_rate: 0.01,
                    decay_steps: 2000.0,
                    alpha: 0.1,
                    warmup_target: None,
                    warmup_steps: 0.0,
                },
                Clipping::Value(0.5),
            ),
        ),
        (
            "SGD(nesterov) + PolynomialDecay + global_clipnorm",
            with(
                Algorithm::Sgd {
                    momentum: 0.9,
                    nesterov: true,
                },
                Schedule::PolynomialDecay {
                    initial_learning_rate: 0.05,
                    decay_steps: 1000.0,
                    end_learning_rate: 0.001,
                    power: 2.0,
                    cycle: false,
                },
                Clipping::GlobalNorm(2.0),
            ),
        ),
    ]
}

#[test]
fn every_optimizer_schedule_and_clipping_steps_on_the_device_like_the_host() {
    for (name, optimizer) in optimizer_cases() {
        let model = tutorial_model_trained_with(
            Compile {
                optimizer,
                ..Compile::default()
            },
            1,
        );
        let Some(mut booted) = boot(Some(&mdl(&model))) else {
            return;
        };
        let info = booted.device.info().unwrap();
        let ModelState::Ok(summary) = &info.model else {
            panic!("{name}: model not loaded: {info}")
        };
        let carried = &summary.training.as_ref().unwrap().optimizer;
        assert_eq!(carried, &model.compile.as_ref().unwrap().optimizer, "{name}");
        // Three state values per weight (amsgrad's maximum, centered RMSprop's mean
        // gradient and momentum) leave room for a batch of 8 in the 32 KiB arena.
        let last_batch = if carried.slots() == 3 { 8 } else { 16 };
        assert_steps_match_host(&mut booted.device, &model, None, last_batch);
        println!("{name}: 3 steps (batches of 1, 8, {last_batch}) on the device equal the host's");
    }
}
