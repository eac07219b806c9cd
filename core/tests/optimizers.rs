//! Every optimizer against steps computed by hand (in float64, from the formulas in
//! Keras's sources written out longhand): two parameters `w = [1, -2]`, learning rate
//! 0.1, gradients `[0.5, -1]` then `[0.1, 0.2]` (then `[0, 0]` where a third step shows
//! something), Keras's other defaults unless named.

use microdense_core::optimizer::{AdamSettings, GradientClip};
use microdense_core::{Algorithm, Buffer, Clipping, Optimizer, OptimizerScalars, Schedule, Sgd};

const GRADIENTS: [[f32; 2]; 3] = [[0.5, -1.0], [0.1, 0.2], [0.0, 0.0]];

/// Runs `steps` steps from `w = [1, -2]` and returns `w` after each.
fn run(optimizer: &Optimizer, steps: usize) -> Vec<[f32; 2]> {
    let mut w = [1.0f32, -2.0];
    let mut state = vec![0.0; optimizer.state_len(2)];
    optimizer.init_state(&mut state);
    let mut scalars = OptimizerScalars::default();
    let mut out = Vec::new();
    for g in &GRADIENTS[..steps] {
        let step = optimizer.begin(&scalars);
        let squares = g.iter().map(|x| x * x).sum();
        let clip = optimizer.clip(squares, squares);
        optimizer.update(&step, clip, &mut w, g, &mut state).unwrap();
        optimizer.end(&step, &mut scalars);
        out.push(w);
    }
    assert_eq!(scalars.iterations, steps as u64);
    out
}

fn with(algorithm: Algorithm) -> Optimizer {
    Optimizer {
        learning_rate: Schedule::Constant(0.1),
        ..Optimizer::new(algorithm)
    }
}

#[track_caller]
fn assert_steps(optimizer: &Optimizer, expected: &[[f64; 2]]) {
    let got = run(optimizer, expected.len());
    for (step, (g, e)) in got.iter().zip(expected).enumerate() {
        for i in 0..2 {
            let (g, e) = (g[i] as f64, e[i]);
            assert!(
                (g - e).abs() <= 2e-6 * e.abs().max(1.0),
                "{optimizer:?}: step {} w[{i}] = {g}, by hand {e}",
                step + 1
            );
        }
    }
}

#[test]
fn sgd_plain_momentum_and_nesterov() {
    let sgd = |momentum, nesterov| with(Algorithm::Sgd { momentum, nesterov });
    assert_steps(&sgd(0.0, false), &[[0.95, -1.9], [0.94, -1.92]]);
    assert_steps(&sgd(0.9, false), &[[0.95, -1.9], [0.895, -1.83]]);
    assert_steps(&sgd(0.9, true), &[[0.905, -1.81], [0.8455, -1.767]]);
}

#[test]
fn adam_amsgrad_and_adamw() {
    let adam = AdamSettings::default();
    let plain = [
        [0.9000006324515321, -1.900000316226766],
        [0.819697032869824, -1.8488978670466378],
        [0.7576221178410162, -1.809395525780889],
    ];
    assert_steps(&with(Algorithm::Adam(adam)), &plain);
    let amsgrad = with(Algorithm::Adam(AdamSettings {
        amsgrad: true,
        ..adam
    }));
    assert_steps(
        &amsgrad,
        &[plain[0], plain[1], [0.7576531628691514, -1.8094152818304945]],
    );
    let adamw = with(Algorithm::AdamW(adam));
    assert_eq!(adamw.weight_decay, 0.004, "Keras's AdamW default");
    assert_steps(
        &adamw,
        &[
            [0.8996006324515321, -1.899200316226766],
            [0.8189371926168434, -1.8473381869201473],
        ],
    );
}

#[test]
fn nadam() {
    let nadam = with(Algorithm::Nadam {
        beta_1: 0.9,
        beta_2: 0.999,
        epsilon: 1e-7,
    });
    assert_steps(
        &nadam,
        &[
            [0.8937212409248747, -1.893721230297],
            [0.8666038573274288, -1.906696393602402],
        ],
    );
}

#[test]
fn rmsprop_plain_and_centered_with_momentum() {
    let rms = |momentum, centered| {
        with(Algorithm::RmsProp {
            rho: 0.9,
            momentum,
            epsilon: 1e-7,
            centered,
        })
    };
    assert_steps(
        &rms(0.0, false),
        &[
            [0.6837728664367966, -1.6837723920969265],
            [0.6185401979242164, -1.7490051647039966],
        ],
    );
    assert_steps(
        &rms(0.5, true),
        &[
            [0.6666674074049382, -1.6666668518516974],
            [0.4301156259862631, -1.5670027611952395],
        ],
    );
    assert_eq!(rms(0.5, true).slots(), 3);
}

#[test]
fn adagrad_starts_from_its_initial_accumulator() {
    let adagrad = with(Algorithm::Adagrad {
        initial_accumulator_value: 0.1,
        epsilon: 1e-7,
    });
    assert_steps(
        &adagrad,
        &[
            [0.9154845866007779, -1.9046537454093613],
            [0.8988179222489255, -1.9233854608194287],
        ],
    );
}

#[test]
fn clipping_by_value_by_tensor_norm_and_by_global_norm() {
    let adam = Optimizer {
        clipping: Clipping::Value(0.3),
        ..with(Algorithm::Adam(AdamSettings::default()))
    };
    assert_steps(
        &adam,
        &[
            [0.9000010540814424, -1.9000010540814425],
            [0.8128955304564847, -1.8855491279054712],
        ],
    );
    let sgd = |clipping| Optimizer {
        clipping,
        ..with(Algorithm::Sgd {
            momentum: 0.0,
            nesterov: false,
        })
    };
    assert_steps(
        &sgd(Clipping::Norm(0.5)),
        &[[0.9776393202250021, -1.9552786404500042]],
    );
    // A norm under the limit leaves the gradient as it is.
    assert_steps(&sgd(Clipping::Norm(5.0)), &[[0.95, -1.9]]);

    // Global: two tensors [0.5, -1] and [2], norm sqrt(5.25), limit 1.
    let global = sgd(Clipping::GlobalNorm(1.0));
    assert!(global.needs_norms());
    let clip = global.clip(0.0, 5.25);
    let (mut a, mut b) = ([1.0f32, -2.0], [3.0f32]);
    let step = global.begin(&OptimizerScalars::default());
    global.update(&step, clip, &mut a, &[0.5, -1.0], &mut []).unwrap();
    global.update(&step, clip, &mut b, &[2.0], &mut []).unwrap();
    let expected = [0.9781782109764008, -1.9563564219528016, 2.912712843905603];
    for (g, e) in a.iter().chain(&b).zip(expected) {
        assert!((*g as f64 - e).abs() < 1e-6, "{g} vs {e}");
    }
    assert_eq!(global.clip(0.0, 0.0), GradientClip::Scale(1.0), "zero gradients");
}

#[test]
fn a_schedule_sets_each_steps_rate_from_the_iterations_before_it() {
    let decayed = Optimizer {
        learning_rate: Schedule::ExponentialDecay {
            initial_learning_rate: 0.1,
            decay_steps: 1.0,
            decay_rate: 0.5,
            staircase: false,
        },
        ..with(Algorithm::Sgd {
            momentum: 0.0,
            nesterov: false,
        })
    };
    // Step 1 at rate 0.1, step 2 at 0.05.
    assert_steps(&decayed, &[[0.95, -1.9], [0.945, -1.91]]);
}

#[test]
fn sgd_settings_are_the_sgd_optimizer_and_state_lengths_are_checked() {
    let sgd = Sgd {
        learning_rate: 0.1,
        momentum: 0.9,
        nesterov: true,
    };
    let mut w = [1.0f32, -2.0];
    assert_eq!(Optimizer::from(sgd).as_sgd(), Some(sgd));
    assert_eq!(with(Algorithm::Adam(AdamSettings::default())).as_sgd(), None);

    let adam = with(Algorithm::Adam(AdamSettings::default()));
    let step = adam.begin(&OptimizerScalars::default());
    let err = adam
        .update(&step, GradientClip::None, &mut w, &[0.0; 2], &mut [0.0; 3])
        .unwrap_err();
    assert_eq!(
        err,
        microdense_core::Error::BufferSize {
            what: Buffer::OptimizerState,
            expected: 4,
            actual: 3
        }
    );
}

#[test]
fn keras_checks_hold() {
    let mut bad = with(Algorithm::RmsProp {
        rho: 1.0,
        momentum: 0.0,
        epsilon: 1e-7,
        centered: false,
    });
    assert!(bad.check().is_err());
    bad.algorithm = Algorithm::Adagrad {
        initial_accumulator_value: 0.1,
        epsilon: 1e-7,
    };
    assert!(bad.check().is_ok());
    bad.learning_rate = Schedule::Constant(0.0);
    assert!(bad.check().is_err());
}
