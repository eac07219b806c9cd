//! Finite-difference checks of every activation, loss and layer, and hand-computed
//! training steps. Finite differences need exact math: with the `micromath` feature the
//! approximations' own slopes differ, and `micromath.rs` checks accuracy instead.
#![cfg(not(feature = "micromath"))]

use microdense_core::{
    Activation, Buffer, Error, Inbound, Layer, LayerDefect, Loss, LossFunction, LossKind, Mat, MatMul, Merge,
    Network, Optimizer, OptimizerScalars, Portable, Regularizer, Rng, Sgd, Source, Targets, Trainer,
};

/// Relative tolerance of the finite-difference checks.
const TOL: f32 = 0.02;

fn close(analytic: f32, numeric: f32, what: &str) {
    let scale = analytic.abs().max(numeric.abs()).max(1e-2);
    assert!(
        (analytic - numeric).abs() <= TOL * scale,
        "{what}: analytic {analytic} vs numeric {numeric}"
    );
}

fn random_row(rng: &mut Rng, n: usize, spread: f32) -> Vec<f32> {
    (0..n).map(|_| (rng.next_f32() * 2.0 - 1.0) * spread).collect()
}

#[test]
fn every_activation_matches_finite_differences() {
    let mut rng = Rng::new(7);
    for act in Activation::ALL {
        for _ in 0..20 {
            let x = random_row(&mut rng, 6, 2.5);
            // Stay away from the kinks of relu and hard_sigmoid where the derivative jumps.
            if x.iter().any(|v| v.abs() < 0.05 || (v.abs() - 3.0).abs() < 0.05) {
                continue;
            }
            let weights = random_row(&mut rng, 6, 1.0);
            let objective = |x: &[f32]| -> f32 {
                let mut y = x.to_vec();
                act.forward(&mut y);
                y.iter().zip(&weights).map(|(a, b)| a * b).sum()
            };
            let mut y = x.clone();
            act.forward(&mut y);
            let mut grad = weights.clone();
            act.backward(&x, &y, &mut grad);
            for i in 0..x.len() {
                let h = 1e-2;
                let (mut hi, mut lo) = (x.clone(), x.clone());
                hi[i] += h;
                lo[i] -= h;
                let numeric = (objective(&hi) - objective(&lo)) / (2.0 * h);
                close(grad[i], numeric, act.keras_name());
            }
        }
    }
}

/// Every loss kind with Keras's defaults, and the settings it takes.
fn every_loss_function() -> Vec<LossFunction> {
    let mut out: Vec<LossFunction> = LossKind::ALL.into_iter().map(LossFunction::new).collect();
    for kind in LossKind::ALL {
        let base = LossFunction::new(kind);
        if kind.has_from_logits() {
            out.push(LossFunction {
                from_logits: true,
                ..base
            });
        }
        if kind.has_label_smoothing() {
            for from_logits in [false, true] {
                out.push(LossFunction {
                    from_logits,
                    label_smoothing: 0.2,
                    ..base
                });
            }
        }
    }
    out.push(LossFunction {
        delta: 0.3,
        ..LossFunction::new(LossKind::Huber)
    });
    out
}

#[test]
fn every_loss_matches_finite_differences() {
    let mut rng = Rng::new(11);
    let mut checked = 0;
    for loss in every_loss_function() {
        for sample in 0..20 {
            let n = 5;
            let mut pred: Vec<f32> = if loss.from_logits {
                random_row(&mut rng, n, 3.0)
            } else if matches!(
                loss.kind,
                LossKind::Hinge | LossKind::SquaredHinge | LossKind::CategoricalHinge
            ) {
                random_row(&mut rng, n, 2.0)
            } else {
                (0..n).map(|_| 0.1 + 0.8 * rng.next_f32()).collect()
            };
            if !loss.from_logits
                && matches!(
                    loss.kind,
                    LossKind::CategoricalCrossentropy | LossKind::SparseCategoricalCrossentropy
                )
            {
                let s: f32 = pred.iter().sum();
                pred.iter_mut().for_each(|p| *p /= s);
            }
            let class = [rng.below(n) as u32];
            let values: Vec<f32> = (0..n).map(|_| rng.next_f32()).collect();
            let targets = match loss.kind {
                LossKind::CategoricalCrossentropy | LossKind::SparseCategoricalCrossentropy => {
                    Targets::Classes(&class)
                }
                _ if sample % 2 == 0 => Targets::Values(&values),
                _ => Targets::Classes(&class),
            };
            let mut grad = vec![0.0; n];
            loss.gradient(&pred, &targets, 0, 1.0, &mut grad);
            for i in 0..n {
                // Logits are spread wider than probabilities: a wider step keeps f32's
                // rounding of values around 3 out of the difference.
                let h = if loss.from_logits { 1e-2 } else { 1e-3 };
                let at = |d: f32| {
                    let mut x = pred.clone();
                    x[i] += d;
                    loss.value(&x, &targets, 0)
                };
                let (left, right) = ((at(0.0) - at(-h)) / h, (at(h) - at(0.0)) / h);
                if (left - right).abs() > 0.1 * left.abs().max(right.abs()).max(0.1) {
                    continue; // a kink of hinge, MAE or Huber within h: no derivative to compare
                }
                close(grad[i], (at(h) - at(-h)) / (2.0 * h), &loss.to_string());
                checked += 1;
            }
        }
    }
    assert!(checked > 2000, "too few smooth points checked: {checked}");
}

#[test]
fn crossentropy_clips_probabilities_like_keras() {
    let targets = Targets::Classes(&[0]);
    let loss = LossFunction::from(Loss::CategoricalCrossentropy).value(&[0.0, 1.0], &targets, 0);
    assert!(
        (loss - -(1e-7f32).ln()).abs() < 1e-3,
        "clipped at epsilon: {loss}"
    );
    let bce = LossFunction::from(Loss::BinaryCrossentropy).value(&[1.0], &Targets::Values(&[0.0]), 0);
    // In f32, 1 - 1e-7 rounds to 1 - 2^-23 · 1.0: the clip leaves ln(1.19e-7), as in Keras.
    assert!(
        (bce - -(1.0f32 - (1.0 - 1e-7f32)).ln()).abs() < 1e-3,
        "binary clipped at 1 - epsilon: {bce}"
    );
}

/// A network using every layer kind, and its loss on a fixed batch as a function of all weights.
fn all_layers() -> [Layer; 8] {
    [
        Layer::Flatten,
        Layer::Dense {
            units: 6,
            activation: Activation::Tanh,
            use_bias: true,
            activity_regularizer: None,
        },
        Layer::Dropout { rate: 0.3 },
        Layer::Dense {
            units: 5,
            activation: Activation::Linear,
            use_bias: false,
            activity_regularizer: None,
        },
        Layer::Activation(Activation::Swish),
        Layer::Dense {
            units: 4,
            activation: Activation::Elu,
            use_bias: true,
            activity_regularizer: None,
        },
        Layer::Dense {
            units: 3,
            activation: Activation::Linear,
            use_bias: true,
            activity_regularizer: None,
        },
        Layer::Activation(Activation::Softmax),
    ]
}

fn batch_loss(trainer: &Trainer, params: &[f32], x: &[f32], targets: &Targets, seed: u64) -> (f32, Vec<f32>) {
    let first = trainer.first_trainable();
    let net = trainer.network();
    let split = net.param_offset(first);
    let mut grads = vec![0.0; trainer.trainable_param_count()];
    let batch = targets.samples(net.output_width());
    let mut scratch = vec![0.0; trainer.scratch_len(batch)];
    let stats = trainer
        .gradients(
            &Portable,
            &params[..split],
            &params[split..],
            x,
            targets,
            Loss::CategoricalCrossentropy,
            1.0 / batch as f32,
            &mut Rng::new(seed),
            &mut grads,
            &mut scratch,
        )
        .unwrap();
    (stats.loss_sum / batch as f32, grads)
}

#[test]
fn backprop_through_every_layer_matches_finite_differences() {
    let layers = all_layers();
    let net = Network::new(4, &layers).unwrap();
    let mut rng = Rng::new(3);
    let params = random_row(&mut rng, net.param_count(), 0.8);
    let x = random_row(&mut rng, 3 * 4, 1.0);
    let labels = [0u32, 2, 1];
    let targets = Targets::Classes(&labels);
    let full = Trainer::new(net, 0).unwrap();
    let (_, grads) = batch_loss(&full, &params, &x, &targets, 99);
    for i in 0..params.len() {
        let h = 1e-2;
        let (mut hi, mut lo) = (params.clone(), params.clone());
        hi[i] += h;
        lo[i] -= h;
        // The same seed gives the same dropout mask on both sides.
        let numeric = (batch_loss(&full, &hi, &x, &targets, 99).0
            - batch_loss(&full, &lo, &x, &targets, 99).0)
            / (2.0 * h);
        close(grads[i], numeric, &format!("parameter {i}"));
    }
}

#[test]
fn training_a_suffix_gives_the_suffix_of_the_full_gradient() {
    // A frozen prefix draws its dropout sample by sample (`frozen_rows.rs`), not from the
    // stream a trainable layer draws from: compare without dropout.
    let layers = all_layers().map(|l| if l.draws() { Layer::Identity } else { l });
    let net = Network::new(4, &layers).unwrap();
    let mut rng = Rng::new(5);
    let params = random_row(&mut rng, net.param_count(), 0.8);
    let x = random_row(&mut rng, 2 * 4, 1.0);
    let targets = Targets::Classes(&[1, 2]);
    let (full_loss, full) = batch_loss(&Trainer::new(net, 0).unwrap(), &params, &x, &targets, 4);
    for k in 1..=net.weighted_layer_count() {
        let suffix = Trainer::last_weighted(net, k);
        let (loss, grads) = batch_loss(&suffix, &params, &x, &targets, 4);
        assert!(
            (loss - full_loss).abs() < 1e-6,
            "k = {k}: loss {loss} vs {full_loss}"
        );
        let tail = &full[full.len() - grads.len()..];
        for (a, b) in grads.iter().zip(tail) {
            assert!((a - b).abs() <= 1e-6 * a.abs().max(1.0), "k = {k}: {a} vs {b}");
        }
    }
}

#[test]
fn one_sgd_step_matches_hand_computation() {
    // y = x·w + b with w = [0.5, -0.25], b = 0.1, x = [1, 2], target 1, MSE:
    // y = 0.1, dL/dy = 2(y - t) = -1.8, dw = [-1.8, -3.6], db = -1.8.
    let layers = [Layer::Dense {
        units: 1,
        activation: Activation::Linear,
        use_bias: true,
        activity_regularizer: None,
    }];
    let net = Network::new(2, &layers).unwrap();
    let trainer = Trainer::new(net, 0).unwrap();
    let x = [1.0, 2.0];
    let targets = Targets::Values(&[1.0]);
    let mut scratch = vec![0.0; trainer.scratch_len(1)];
    let mut grads = [0.0; 3];

    let sgd = Sgd {
        learning_rate: 0.1,
        momentum: 0.0,
        nesterov: false,
    };
    let mut params = [0.5, -0.25, 0.1];
    let mut scalars = OptimizerScalars::default();
    let stats = trainer
        .step(
            &Portable,
            &Optimizer::from(sgd),
            &mut scalars,
            &mut [],
            &[],
            &mut params,
            &x,
            &targets,
            Loss::MeanSquaredError,
            &mut Rng::new(0),
            &mut grads,
            &mut scratch,
        )
        .unwrap();
    assert!((stats.loss_sum - 0.81).abs() < 1e-6);
    assert_eq!(grads, [-1.8, -3.6, -1.8]);
    let expected = [0.5 + 0.18, -0.25 + 0.36, 0.1 + 0.18];
    for (p, e) in params.iter().zip(expected) {
        assert!((p - e).abs() < 1e-6, "{params:?}");
    }
    assert_eq!(scalars.iterations, 1);
}

#[test]
fn wrong_buffer_sizes_are_errors_not_panics() {
    let layers = [Layer::Dense {
        units: 3,
        activation: Activation::Softmax,
        use_bias: true,
        activity_regularizer: None,
    }];
    let net = Network::new(2, &layers).unwrap();
    let params = [0.0; 9];
    let mut scratch = [0.0; 6];
    assert!(matches!(
        net.predict(&Portable, &params[..8], &[1.0, 2.0], 1, &mut scratch),
        Err(Error::BufferSize {
            what: Buffer::Parameters,
            expected: 9,
            actual: 8
        })
    ));
    assert!(net.predict(&Portable, &params, &[1.0], 1, &mut scratch).is_err());
    assert!(net
        .predict(&Portable, &params, &[1.0, 2.0], 1, &mut scratch[..5])
        .is_err());
    assert_eq!(
        net.predict(&Portable, &params, &[1.0, 2.0], 1, &mut scratch)
            .unwrap()
            .len(),
        3
    );

    let trainer = Trainer::new(net, 0).unwrap();
    let mut grads = [0.0; 9];
    let mut tscratch = vec![0.0; trainer.scratch_len(1)];
    let r = trainer.gradients(
        &Portable,
        &[],
        &params,
        &[1.0, 2.0],
        &Targets::Values(&[1.0; 4]),
        Loss::MeanSquaredError,
        1.0,
        &mut Rng::new(0),
        &mut grads,
        &mut tscratch,
    );
    assert!(
        matches!(r, Err(Error::BufferSize { .. })),
        "targets of the wrong width: {r:?}"
    );
    assert!(Trainer::new(net, 2).is_err());
    assert!(Network::new(0, &layers).is_err());
    assert!(Network::new(2, &[]).is_err());
    assert!(Network::new(2, &[Layer::Dropout { rate: 1.0 }]).is_err());
    assert!(Network::new(
        2,
        &[Layer::Dense {
            units: 0,
            activation: Activation::Linear,
            use_bias: true,
            activity_regularizer: None,
        }]
    )
    .is_err());
    let mut c = [0.0; 4];
    assert!(Portable
        .matmul(
            2,
            2,
            2,
            Mat::row_major(&[1.0; 3], 2),
            Mat::row_major(&[1.0; 4], 2),
            &mut c
        )
        .is_err());
}

#[test]
fn portable_kernel_is_an_exact_sequential_fma_sum() {
    let mut rng = Rng::new(1);
    let (m, k, n) = (3, 17, 15); // 8-wide, 4-wide and 2-wide blocks and a single tail
    let a = random_row(&mut rng, m * k, 1.0);
    let b = random_row(&mut rng, k * n, 1.0);
    let mut c = vec![0.0; m * n];
    Portable
        .matmul(m, k, n, Mat::row_major(&a, k), Mat::row_major(&b, n), &mut c)
        .unwrap();
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0.0f32;
            for p in 0..k {
                acc = libm::fmaf(a[i * k + p], b[p * n + j], acc);
            }
            assert_eq!(c[i * n + j].to_bits(), acc.to_bits());
        }
    }
    // Transposed views read the same values.
    let mut ct = vec![0.0; n * m];
    Portable
        .matmul(n, k, m, Mat::transposed(&b, n), Mat::transposed(&a, k), &mut ct)
        .unwrap();
    for i in 0..m {
        for j in 0..n {
            assert!((ct[j * m + i] - c[i * n + j]).abs() < 1e-5);
        }
    }
}

#[test]
fn buffer_formulas_match_the_documentation() {
    let layers = [
        Layer::Dense {
            units: 50,
            activation: Activation::Linear,
            use_bias: true,
            activity_regularizer: None,
        },
        Layer::Activation(Activation::Sigmoid),
        Layer::Dense {
            units: 20,
            activation: Activation::Linear,
            use_bias: true,
            activity_regularizer: None,
        },
        Layer::Activation(Activation::Sigmoid),
        Layer::Dense {
            units: 10,
            activation: Activation::Linear,
            use_bias: true,
            activity_regularizer: None,
        },
        Layer::Activation(Activation::Softmax),
    ];
    let net = Network::new(784, &layers).unwrap();
    assert_eq!(net.param_count(), 40_480);
    assert_eq!(net.inference_scratch_len(1), 100);
    let full = Trainer::new(net, 0).unwrap();
    assert_eq!(full.scratch_len(64), 64 * (160 + 100));
    let last_two = Trainer::last_weighted(net, 2);
    assert_eq!(last_two.first_trainable(), 2);
    assert_eq!(last_two.trainable_param_count(), 50 * 20 + 20 + 20 * 10 + 10);
    assert_eq!(last_two.scratch_len(1), 50 + 60 + 100);
}

/// Each layer beyond Dense/Activation/Dropout/Flatten, between two Dense layers.
fn layers_under_test() -> Vec<(&'static str, Layer)> {
    vec![
        (
            "BatchNormalization",
            Layer::BatchNormalization {
                momentum: 0.9,
                epsilon: 1e-3,
                center: true,
                scale: true,
            },
        ),
        (
            "BatchNormalization (no center)",
            Layer::BatchNormalization {
                momentum: 0.99,
                epsilon: 0.01,
                center: false,
                scale: true,
            },
        ),
        (
            "BatchNormalization (no scale)",
            Layer::BatchNormalization {
                momentum: 0.99,
                epsilon: 1e-3,
                center: true,
                scale: false,
            },
        ),
        (
            "LayerNormalization",
            Layer::LayerNormalization {
                epsilon: 1e-3,
                center: true,
                scale: true,
            },
        ),
        (
            "LayerNormalization (no scale)",
            Layer::LayerNormalization {
                epsilon: 1e-3,
                center: true,
                scale: false,
            },
        ),
        (
            "Rescaling",
            Layer::Rescaling {
                scale: 0.5,
                offset: -0.25,
            },
        ),
        ("Normalization", Layer::Normalization { invert: false }),
        ("Normalization (invert)", Layer::Normalization { invert: true }),
        (
            "ReLU",
            Layer::Relu {
                max_value: Some(0.6),
                negative_slope: 0.1,
                threshold: -0.2,
            },
        ),
        ("LeakyReLU", Layer::LeakyRelu { negative_slope: 0.2 }),
        ("PReLU", Layer::Prelu),
        ("ELU", Layer::Elu { alpha: 0.7 }),
        ("Softmax", Layer::Softmax),
        ("Identity", Layer::Identity),
        ("GaussianNoise", Layer::GaussianNoise { stddev: 0.3 }),
        ("GaussianDropout", Layer::GaussianDropout { rate: 0.3 }),
        ("AlphaDropout", Layer::AlphaDropout { rate: 0.3 }),
        ("Reshape", Layer::Reshape),
        (
            "ActivityRegularization",
            Layer::ActivityRegularization { l1: 0.05, l2: 0.1 },
        ),
        (
            "Dense with an activity regularizer",
            Layer::Dense {
                units: 5,
                activation: Activation::Sigmoid,
                use_bias: true,
                activity_regularizer: Some(Regularizer { l1: 0.05, l2: 0.1 }),
            },
        ),
    ]
}

/// Dense(5, tanh) → layer → Dense(3) → softmax over 4 inputs.
fn sandwich(layer: Layer) -> [Layer; 4] {
    [
        Layer::Dense {
            units: 5,
            activation: Activation::Tanh,
            use_bias: true,
            activity_regularizer: None,
        },
        layer,
        Layer::Dense {
            units: 3,
            activation: Activation::Linear,
            use_bias: true,
            activity_regularizer: None,
        },
        Layer::Activation(Activation::Softmax),
    ]
}

/// Random weights, with variances (BatchNormalization's moving variance, Normalization's
/// variance) positive.
fn weights_for(net: &Network, rng: &mut Rng) -> Vec<f32> {
    let mut params = random_row(rng, net.param_count(), 0.8);
    let layer = net.layers()[1];
    if let Some(variance) = layer.weight_names().iter().position(|n| n.ends_with("variance")) {
        let r = net.param_range(1);
        let at = r.start + variance * 5;
        params[at..at + 5].iter_mut().for_each(|v| *v = 0.5 + v.abs());
    }
    params
}

fn check_layer_gradients(name: &str, layer: Layer, batch_statistics: bool) {
    let layers = sandwich(layer);
    let net = Network::new(4, &layers).unwrap();
    let mut rng = Rng::new(21);
    let params = weights_for(&net, &mut rng);
    let x = random_row(&mut rng, 4 * 4, 1.5);
    let labels = [0u32, 2, 1, 2];
    let targets = Targets::Classes(&labels);
    let trainer = Trainer::new(net, 0)
        .unwrap()
        .with_batch_statistics(batch_statistics);
    let (_, grads) = batch_loss(&trainer, &params, &x, &targets, 8);
    let own = net.param_range(1);
    let trainable_end = own.start + layer.trainable_param_count(5);
    for i in 0..params.len() {
        if (trainable_end..own.end).contains(&i) {
            assert_eq!(grads[i], 0.0, "{name}: non-trainable weight {i} has a gradient");
            continue;
        }
        let h = 2e-3;
        let (mut hi, mut lo) = (params.clone(), params.clone());
        hi[i] += h;
        lo[i] -= h;
        let numeric = (batch_loss(&trainer, &hi, &x, &targets, 8).0
            - batch_loss(&trainer, &lo, &x, &targets, 8).0)
            / (2.0 * h);
        close(
            grads[i],
            numeric,
            &format!("{name} (batch statistics {batch_statistics}), weight {i}"),
        );
    }
}

#[test]
fn every_new_layer_matches_finite_differences() {
    for (name, layer) in layers_under_test() {
        check_layer_gradients(name, layer, false);
        if matches!(layer, Layer::BatchNormalization { .. }) {
            check_layer_gradients(name, layer, true);
        }
    }
}

#[test]
fn new_layers_at_inference_are_what_keras_computes() {
    let x = [-1.0f32, 0.5, 2.0, 4.0];
    let run = |layer: Layer, params: &[f32]| -> Vec<f32> {
        let layers = [layer];
        let net = Network::new(4, &layers).unwrap();
        let mut scratch = vec![0.0; net.inference_scratch_len(1)];
        net.predict(&Portable, params, &x, 1, &mut scratch)
            .unwrap()
            .to_vec()
    };
    let near = |a: &[f32], b: &[f32], what: &str| {
        for (p, q) in a.iter().zip(b) {
            assert!((p - q).abs() <= 1e-6 * q.abs().max(1.0), "{what}: {a:?} vs {b:?}");
        }
    };
    let relu = Layer::Relu {
        max_value: Some(3.0),
        negative_slope: 0.1,
        threshold: 1.0,
    };
    near(&run(relu, &[]), &[-0.2, -0.05, 2.0, 3.0], "ReLU");
    near(
        &run(Layer::LeakyRelu { negative_slope: 0.3 }, &[]),
        &[-0.3, 0.5, 2.0, 4.0],
        "LeakyReLU",
    );
    near(
        &run(Layer::Prelu, &[0.5, 0.5, 0.5, 0.5]),
        &[-0.5, 0.5, 2.0, 4.0],
        "PReLU",
    );
    let e = (-1.0f32).exp() - 1.0;
    near(
        &run(Layer::Elu { alpha: 2.0 }, &[]),
        &[2.0 * e, 0.5, 2.0, 4.0],
        "ELU",
    );
    near(
        &run(
            Layer::Rescaling {
                scale: 1.0 / 255.0,
                offset: 0.0,
            },
            &[],
        ),
        &x.map(|v| v / 255.0),
        "Rescaling",
    );
    near(
        &run(
            Layer::Normalization { invert: false },
            &[1.0, 1.0, 1.0, 1.0, 4.0, 4.0, 4.0, 0.0],
        ),
        &[-1.0, -0.25, 0.5, 3.0e7],
        "Normalization (variance 0: stddev floored at 1e-7)",
    );
    // gamma 2, beta 1, moving mean 1, moving variance 3 (+ epsilon 1 = 4): 2·(x − 1)/2 + 1.
    let bn = Layer::BatchNormalization {
        momentum: 0.99,
        epsilon: 1.0,
        center: true,
        scale: true,
    };
    let bn_weights = [[2.0f32; 4], [1.0; 4], [1.0; 4], [3.0; 4]].concat();
    near(&run(bn, &bn_weights), &x, "BatchNormalization at inference");
    // Mean 1.375, variance 3.421875: (x − mean) / sqrt(variance + 1e-3).
    let ln = Layer::LayerNormalization {
        epsilon: 1e-3,
        center: false,
        scale: false,
    };
    let sd = (3.421875f32 + 1e-3).sqrt();
    near(&run(ln, &[]), &x.map(|v| (v - 1.375) / sd), "LayerNormalization");
    for noisy in [
        Layer::GaussianNoise { stddev: 1.0 },
        Layer::GaussianDropout { rate: 0.5 },
        Layer::AlphaDropout { rate: 0.5 },
        Layer::Identity,
        Layer::Reshape,
        Layer::ActivityRegularization { l1: 1.0, l2: 1.0 },
    ] {
        assert_eq!(run(noisy, &[]), x, "{noisy:?} is the identity at inference");
    }
}

#[test]
fn batch_normalization_updates_moving_statistics_only_with_batch_statistics() {
    let layers = [
        Layer::BatchNormalization {
            momentum: 0.75,
            epsilon: 1e-3,
            center: true,
            scale: true,
        },
        Layer::Dense {
            units: 1,
            activation: Activation::Linear,
            use_bias: true,
            activity_regularizer: None,
        },
    ];
    let net = Network::new(2, &layers).unwrap();
    // gamma, beta, moving mean, moving variance (2 each), then the Dense kernel and bias.
    let start = [1.0f32, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.5, -0.5, 0.0];
    let x = [1.0f32, 2.0, 3.0, 6.0];
    let targets = Targets::Values(&[1.0, 0.0]);
    let sgd = Sgd {
        learning_rate: 0.1,
        momentum: 0.9,
        nesterov: false,
    };
    for batch_statistics in [false, true] {
        let trainer = Trainer::new(net, 0)
            .unwrap()
            .with_batch_statistics(batch_statistics);
        let mut params = start;
        let mut momentum = [0.0f32; 11];
        let mut grads = [0.0; 11];
        let mut scratch = vec![0.0; trainer.scratch_len(2)];
        trainer
            .step(
                &Portable,
                &Optimizer::from(sgd),
                &mut OptimizerScalars::default(),
                &mut momentum,
                &[],
                &mut params,
                &x,
                &targets,
                Loss::MeanSquaredError,
                &mut Rng::new(0),
                &mut grads,
                &mut scratch,
            )
            .unwrap();
        assert_eq!(&grads[4..8], &[0.0; 4]);
        let moving = &params[4..8];
        if batch_statistics {
            // Batch means 2 and 4, variances 1 and 4: 0.75·old + 0.25·batch.
            assert_eq!(moving, &[0.5, 1.0, 0.75 + 0.25, 0.75 + 1.0]);
        } else {
            assert_eq!(moving, &start[4..8]);
        }
        assert_ne!(&params[..4], &start[..4], "gamma and beta train");
    }
}

#[test]
fn activity_regularization_adds_its_loss_in_training_and_evaluation() {
    let dense = |activity_regularizer| Layer::Dense {
        units: 2,
        activation: Activation::Linear,
        use_bias: false,
        activity_regularizer,
    };
    let penalty = Regularizer { l1: 0.5, l2: 0.25 };
    // The layer, and Dense's own `activity_regularizer`: the same penalty.
    let as_layer = [
        dense(None),
        Layer::ActivityRegularization {
            l1: penalty.l1,
            l2: penalty.l2,
        },
    ];
    let on_dense = [dense(Some(penalty))];
    for layers in [&as_layer[..], &on_dense[..]] {
        let net = Network::new(2, layers).unwrap();
        let params = [1.0f32, 0.0, 0.0, -2.0];
        let x = [1.0f32, 1.0];
        let targets = Targets::Values(&[1.0, -2.0]);
        // Output (1, −2) hits the targets: the loss is 0.5·3 + 0.25·5 = 2.75.
        let mut scratch = vec![0.0; net.inference_scratch_len(1)];
        let eval = net
            .evaluate(
                &Portable,
                &params,
                &x,
                &targets,
                Loss::MeanSquaredError,
                &mut scratch,
            )
            .unwrap();
        assert!((eval.loss_sum - 2.75).abs() < 1e-6, "{layers:?}: {eval:?}");
        let trainer = Trainer::new(net, 0).unwrap();
        let mut grads = vec![0.0; 4];
        let mut s = vec![0.0; trainer.scratch_len(1)];
        let stats = trainer
            .gradients(
                &Portable,
                &[],
                &params,
                &x,
                &targets,
                Loss::MeanSquaredError,
                1.0,
                &mut Rng::new(0),
                &mut grads,
                &mut s,
            )
            .unwrap();
        assert!((stats.loss_sum - 2.75).abs() < 1e-6, "{layers:?}");
        // dL/dy = (0.5·sign(y) + 0.5·y) = (1, −1.5) at y = (1, −2); dL/dW = x ⊗ dL/dy.
        assert_eq!(grads, [1.0, -1.5, 1.0, -1.5], "{layers:?}");
    }
}

#[test]
fn new_layer_buffer_sizes_follow_the_formulas() {
    let layers = [
        Layer::Dense {
            units: 8,
            activation: Activation::Linear,
            use_bias: true,
            activity_regularizer: None,
        },
        Layer::BatchNormalization {
            momentum: 0.99,
            epsilon: 1e-3,
            center: true,
            scale: true,
        },
        Layer::Relu {
            max_value: None,
            negative_slope: 0.0,
            threshold: 0.0,
        },
        Layer::GaussianDropout { rate: 0.1 },
        Layer::Dense {
            units: 4,
            activation: Activation::Softmax,
            use_bias: true,
            activity_regularizer: None,
        },
    ];
    let net = Network::new(3, &layers).unwrap();
    assert_eq!(net.param_count(), 3 * 8 + 8 + 4 * 8 + 8 * 4 + 4);
    assert_eq!(net.weighted_layer_count(), 3);
    let n = 16;
    // s = 8 + 8 + 8 + (8 + 8) + (4 + 4), W = 8, c = 2·8 frozen statistics or 4·8.
    let full = Trainer::new(net, 0).unwrap();
    assert_eq!(full.scratch_len(n), n * (48 + 16) + 16);
    assert_eq!(
        full.with_batch_statistics(true).scratch_len(n),
        n * (48 + 16) + 32
    );
    let head = Trainer::last_weighted(net, 1);
    assert_eq!(head.scratch_len(n), n * (8 + 8 + 16));
}

/// Inbound entries from source lists (`None`: the network input, `Some(j)`: layer `j`).
fn wiring(sources: &[&[Option<u8>]]) -> Vec<Inbound> {
    sources
        .iter()
        .map(|s| {
            let s: Vec<Source> = s.iter().map(|j| j.map_or(Source::Input, Source::Layer)).collect();
            Inbound::new(&s).unwrap()
        })
        .collect()
}

/// Two Dense branches from one input of 4, merged, then Dense(3) → softmax.
fn merged_branches(merge: Merge) -> (Vec<Layer>, Vec<Inbound>) {
    let layers = vec![
        Layer::dense(5, Activation::Tanh),
        Layer::dense(5, Activation::Sigmoid),
        Layer::Merge(merge),
        Layer::dense(3, Activation::Linear),
        Layer::Activation(Activation::Softmax),
    ];
    let inbound = wiring(&[&[None], &[None], &[Some(0), Some(1)], &[Some(2)], &[Some(3)]]);
    (layers, inbound)
}

/// A residual MLP: Dense(5) → Dense(5) → Add with the skip → Dense(3) → softmax.
fn residual() -> (Vec<Layer>, Vec<Inbound>) {
    let layers = vec![
        Layer::dense(5, Activation::Tanh),
        Layer::dense(5, Activation::Tanh),
        Layer::Merge(Merge::Add),
        Layer::dense(3, Activation::Linear),
        Layer::Activation(Activation::Softmax),
    ];
    let inbound = wiring(&[&[None], &[Some(0)], &[Some(1), Some(0)], &[Some(2)], &[Some(3)]]);
    (layers, inbound)
}

/// Wide and deep: the input itself (wide) beside two Dense layers (deep), concatenated,
/// a merge taking one output twice (`Add(x, x, y)`), then Dense(3) → softmax.
fn wide_and_deep() -> (Vec<Layer>, Vec<Inbound>) {
    let layers = vec![
        Layer::dense(6, Activation::Tanh),
        Layer::dense(4, Activation::Tanh),
        Layer::Merge(Merge::Concatenate),
        Layer::dense(8, Activation::Tanh),
        Layer::dense(8, Activation::Sigmoid),
        Layer::Merge(Merge::Add),
        Layer::dense(3, Activation::Softmax),
    ];
    let inbound = wiring(&[
        &[None],
        &[Some(0)],
        &[None, Some(1)],
        &[Some(2)],
        &[Some(2)],
        &[Some(3), Some(3), Some(4)],
        &[Some(5)],
    ]);
    (layers, inbound)
}

/// Finite differences of every parameter of a graph trained from layer `first`.
fn check_graph_gradients(name: &str, layers: &[Layer], inbound: &[Inbound], first: usize) {
    let net = Network::graph(4, layers, inbound).unwrap();
    assert!(net.is_graph(), "{name}");
    let mut rng = Rng::new(31);
    let params = random_row(&mut rng, net.param_count(), 0.8);
    let x = random_row(&mut rng, 3 * 4, 1.5);
    let labels = [0u32, 2, 1];
    let targets = Targets::Classes(&labels);
    let trainer = Trainer::new(net, first).unwrap();
    let (loss, grads) = batch_loss(&trainer, &params, &x, &targets, 1);
    // The trainer's forward pass and inference agree.
    let mut scratch = vec![0.0; net.inference_scratch_len(3)];
    let eval = net
        .evaluate(
            &Portable,
            &params,
            &x,
            &targets,
            Loss::CategoricalCrossentropy,
            &mut scratch,
        )
        .unwrap();
    assert_eq!(
        eval.loss_sum / 3.0,
        loss,
        "{name}: inference and training disagree"
    );
    let split = params.len() - grads.len();
    for (i, &analytic) in grads.iter().enumerate() {
        let h = 2e-3;
        let (mut hi, mut lo) = (params.clone(), params.clone());
        hi[split + i] += h;
        lo[split + i] -= h;
        let numeric = (batch_loss(&trainer, &hi, &x, &targets, 1).0
            - batch_loss(&trainer, &lo, &x, &targets, 1).0)
            / (2.0 * h);
        close(
            analytic,
            numeric,
            &format!("{name} from layer {first}, weight {}", split + i),
        );
    }
}

#[test]
fn every_merge_matches_finite_differences() {
    for merge in Merge::ALL {
        let (layers, inbound) = merged_branches(merge);
        check_graph_gradients(merge.keras_class(), &layers, &inbound, 0);
    }
}

#[test]
fn residual_and_wide_and_deep_graphs_match_finite_differences() {
    let (layers, inbound) = residual();
    for first in [0, 1, 3] {
        check_graph_gradients("residual", &layers, &inbound, first);
    }
    let (layers, inbound) = wide_and_deep();
    for first in [0, 3] {
        check_graph_gradients("wide and deep", &layers, &inbound, first);
    }
}

#[test]
fn graph_buffer_sizes_follow_the_formulas() {
    let (layers, inbound) = residual();
    let net = Network::graph(4, &layers, &inbound).unwrap();
    // Outputs 5, 5, 5, 3, 3: layers 0 and 1 live until the Add, which goes after them
    // (offset 10); Dense(3) reuses offset 0, the softmax goes after it: L = 15.
    assert_eq!(net.inference_scratch_len(2), 2 * 15);
    // s = 21 outputs + 5 + 5 pre-activations, W = 5, a = 21.
    assert_eq!(Trainer::new(net, 0).unwrap().scratch_len(2), 2 * (31 + 5 + 21));
    // From layer 3: s = 21, a = 6.
    assert_eq!(Trainer::new(net, 3).unwrap().scratch_len(2), 2 * (21 + 5 + 6));
    // A chain given as a graph is that chain: same sizes and the chain's fast path.
    let chain = all_layers();
    let sources: Vec<Vec<Option<u8>>> = (0..chain.len())
        .map(|i| vec![i.checked_sub(1).map(|j| j as u8)])
        .collect();
    let sources: Vec<&[Option<u8>]> = sources.iter().map(|s| s.as_slice()).collect();
    let inbound = wiring(&sources);
    let as_graph = Network::graph(4, &chain, &inbound).unwrap();
    let as_chain = Network::new(4, &chain).unwrap();
    assert!(!as_graph.is_graph());
    assert_eq!(
        as_graph.inference_scratch_len(3),
        as_chain.inference_scratch_len(3)
    );
    assert_eq!(
        Trainer::new(as_graph, 0).unwrap().scratch_len(3),
        Trainer::new(as_chain, 0).unwrap().scratch_len(3)
    );
}

#[test]
fn bad_graphs_are_errors_naming_the_layer() {
    let (layers, inbound) = residual();
    let fails = |layers: &[Layer], inbound: &[Inbound]| Network::graph(4, layers, inbound).unwrap_err();
    let invalid = |layer, reason| Error::InvalidLayer { layer, reason };
    let mut cycle = inbound.clone();
    cycle[1] = wiring(&[&[Some(3)]])[0];
    assert_eq!(fails(&layers, &cycle), invalid(1, LayerDefect::GraphSource));
    let mut out_of_range = inbound.clone();
    out_of_range[2] = wiring(&[&[Some(1), Some(60)]])[0];
    assert_eq!(
        fails(&layers, &out_of_range),
        invalid(2, LayerDefect::GraphSource)
    );
    let mut widths = layers.clone();
    widths[1] = Layer::dense(4, Activation::Tanh);
    assert_eq!(fails(&widths, &inbound), invalid(2, LayerDefect::MergeWidths));
    let mut one_input = inbound.clone();
    one_input[2] = wiring(&[&[Some(1)]])[0];
    assert_eq!(fails(&layers, &one_input), invalid(2, LayerDefect::MergeInputs));
    let mut unused = inbound.clone();
    unused[2] = wiring(&[&[Some(0), Some(0)]])[0];
    assert_eq!(fails(&layers, &unused), invalid(1, LayerDefect::UnusedOutput));
    let mut two_into_dense = inbound.clone();
    two_into_dense[3] = wiring(&[&[Some(2), Some(1)]])[0];
    assert_eq!(
        fails(&layers, &two_into_dense),
        invalid(3, LayerDefect::MergeInputs)
    );
    let mut subtract3 = merged_branches(Merge::Subtract);
    subtract3.1[2] = wiring(&[&[Some(0), Some(1), Some(1)]])[0];
    assert_eq!(
        fails(&subtract3.0, &subtract3.1),
        invalid(2, LayerDefect::MergeInputs)
    );
    assert_eq!(fails(&layers, &inbound[..4]), invalid(4, LayerDefect::Wiring));
    assert!(Inbound::new(&[Source::Input; 9]).is_none());
    // A merge in a chain has a single input.
    assert_eq!(
        Network::new(4, &[Layer::Merge(Merge::Add)]).unwrap_err(),
        invalid(0, LayerDefect::MergeInputs)
    );
    let many = vec![Layer::Identity; 65];
    let long: Vec<Inbound> = (0..65).map(Inbound::chain).collect();
    assert_eq!(fails(&many, &long), Error::LayerCount { count: 65 });
    // A suffix that merges branches cannot be fine-tuned on its own.
    let net = Network::graph(4, &layers, &inbound).unwrap();
    let sgd = Optimizer::from(Sgd::default());
    assert_eq!(
        Trainer::new(net, 1).unwrap().fine_tune_len(&sgd, 1).unwrap_err(),
        invalid(2, LayerDefect::BranchingSuffix)
    );
    assert!(Trainer::new(net, 3).unwrap().fine_tune_len(&sgd, 1).is_ok());
}
