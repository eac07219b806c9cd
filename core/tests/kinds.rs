//! The kinds a build carries (`microdense_core::kinds`): each group's layers, activations,
//! optimizers, schedules, clipping, losses and int8 bodies work when its feature is on, and
//! are refused, naming the group, when it is off; the base kinds always train.
//!
//! Runs with the default features (every group on) and, from scripts/test-all.sh, with
//! `--no-default-features` (every group off) and with single groups on.

mod format_support;

use format_support::{
    golden_adam_model, golden_clipping_model, golden_model, golden_schedule_model, AlignedBytes,
};
use microdense_core::format::{decode_prefix_with, FormatError, TrainingUse};
use microdense_core::kinds::Kind;
use microdense_core::optimizer::{AdamSettings, Algorithm, Clipping, Schedule};
use microdense_core::{
    Activation, Error, Inbound, Layer, LossFunction, LossKind, Merge, Network, Optimizer, OptimizerScalars,
    Portable, Regularizer, Rng, Source, Targets, Trainer,
};

/// `Ok` when `kind` is built, else the refusal naming it.
fn expected(kind: Kind) -> Result<(), Error> {
    if kind.built() {
        Ok(())
    } else {
        Err(Error::NotBuiltIn { kind })
    }
}

#[test]
fn every_layer_kind_builds_a_network_exactly_when_its_group_is_built() {
    let cases = [
        (
            Layer::BatchNormalization {
                momentum: 0.99,
                epsilon: 1e-3,
                center: true,
                scale: true,
            },
            Kind::Normalization,
        ),
        (
            Layer::LayerNormalization {
                epsilon: 1e-3,
                center: true,
                scale: true,
            },
            Kind::Normalization,
        ),
        (
            Layer::Rescaling {
                scale: 0.5,
                offset: 0.0,
            },
            Kind::Preprocessing,
        ),
        (Layer::Normalization { invert: false }, Kind::Preprocessing),
        (
            Layer::Relu {
                max_value: Some(6.0),
                negative_slope: 0.0,
                threshold: 0.0,
            },
            Kind::ActivationLayers,
        ),
        (Layer::LeakyRelu { negative_slope: 0.3 }, Kind::ActivationLayers),
        (Layer::Prelu, Kind::ActivationLayers),
        (Layer::Elu { alpha: 1.0 }, Kind::ActivationLayers),
        (Layer::GaussianNoise { stddev: 0.1 }, Kind::Noise),
        (Layer::GaussianDropout { rate: 0.1 }, Kind::Noise),
        (Layer::AlphaDropout { rate: 0.1 }, Kind::Noise),
        (
            Layer::ActivityRegularization { l1: 0.0, l2: 0.01 },
            Kind::ActivityRegularization,
        ),
        (
            Layer::Dense {
                units: 4,
                activation: Activation::Relu,
                use_bias: true,
                activity_regularizer: Some(Regularizer { l1: 0.0, l2: 0.01 }),
            },
            Kind::ActivityRegularization,
        ),
        (Layer::Activation(Activation::Tanh), Kind::Activations),
        (Layer::dense(4, Activation::Gelu), Kind::Activations),
    ];
    for (layer, kind) in cases {
        assert_eq!(layer.needs().iter().flatten().next(), Some(&kind), "{layer:?}");
        let layers = [
            Layer::dense(4, Activation::Relu),
            layer,
            Layer::dense(2, Activation::Softmax),
        ];
        let built = Network::new(3, &layers).map(|_| ());
        assert_eq!(built, expected(kind), "{layer:?}");
        if let Err(e) = built {
            assert!(
                e.to_string()
                    .contains(&format!("cargo feature `{}`", kind.feature())),
                "{e}"
            );
        }
    }
    // The base kinds, in any build.
    for layer in [
        Layer::dense(4, Activation::Sigmoid),
        Layer::Activation(Activation::Softmax),
        Layer::Dropout { rate: 0.5 },
        Layer::Flatten,
        Layer::Softmax,
        Layer::Identity,
        Layer::Reshape,
    ] {
        assert_eq!(layer.needs(), [None, None], "{layer:?}");
        Network::new(3, &[layer, Layer::dense(2, Activation::Softmax)]).unwrap();
    }
}

#[test]
fn a_graph_needs_the_merge_group() {
    let layers = [
        Layer::dense(4, Activation::Relu),
        Layer::dense(4, Activation::Relu),
        Layer::Merge(Merge::Add),
    ];
    let inbound = [
        Inbound::chain(0),
        Inbound::chain(1),
        Inbound::new(&[Source::Layer(0), Source::Layer(1)]).unwrap(),
    ];
    let graph = Network::graph(3, &layers, &inbound).map(|_| ());
    assert_eq!(graph, expected(Kind::Merge));
    // A graph wired as a chain is a chain in any build.
    let chain = [
        Layer::dense(4, Activation::Relu),
        Layer::dense(2, Activation::Softmax),
    ];
    let wiring = [Inbound::chain(0), Inbound::chain(1)];
    let net = Network::graph(3, &chain, &wiring).unwrap();
    assert!(!net.is_graph());
}

/// One SGD step of `optimizer` on a small base-kind network: `Ok` with the weights moved,
/// or the optimizer's refusal.
fn one_step(optimizer: &Optimizer, loss: LossFunction) -> Result<(), Error> {
    let layers = [
        Layer::dense(4, Activation::Relu),
        Layer::Dropout { rate: 0.25 },
        Layer::dense(3, Activation::Softmax),
    ];
    let net = Network::new(2, &layers).unwrap();
    let trainer = Trainer::new(net, 0).unwrap();
    let n = trainer.trainable_param_count();
    let mut params: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin() * 0.5).collect();
    let before = params.clone();
    let mut state = vec![0.0; optimizer.state_len(n)];
    optimizer.init_state(&mut state);
    let inputs = [0.5, -1.0, 1.5, 0.25, -0.75, 2.0];
    let labels = [0u32, 2, 1];
    let targets = Targets::Classes(&labels);
    let mut grads = vec![0.0; n];
    let mut scratch = vec![0.0; trainer.scratch_len(3)];
    let mut scalars = OptimizerScalars::default();
    let stats = trainer.step(
        &Portable,
        optimizer,
        &mut scalars,
        &mut state,
        &[],
        &mut params,
        &inputs,
        &targets,
        loss,
        &mut Rng::new(1),
        &mut grads,
        &mut scratch,
    )?;
    assert!(stats.loss_sum.is_finite());
    assert_ne!(params, before);
    Ok(())
}

#[test]
fn optimizers_schedules_clipping_and_losses_are_refused_exactly_when_left_out() {
    let sgd = |momentum| Optimizer {
        learning_rate: Schedule::Constant(0.1),
        ..Optimizer::new(Algorithm::Sgd {
            momentum,
            nesterov: false,
        })
    };
    let cce = LossFunction::new(LossKind::SparseCategoricalCrossentropy);
    // The base: SGD with or without momentum, a constant rate, the device format's losses.
    one_step(&sgd(0.0), cce).unwrap();
    one_step(&sgd(0.9), cce).unwrap();
    let cases = [
        (
            Optimizer::new(Algorithm::Adam(AdamSettings::default())),
            Kind::Optimizers,
        ),
        (
            Optimizer {
                weight_decay: 0.01,
                ..sgd(0.0)
            },
            Kind::Optimizers,
        ),
        (
            Optimizer {
                learning_rate: Schedule::InverseTimeDecay {
                    initial_learning_rate: 0.1,
                    decay_steps: 10.0,
                    decay_rate: 0.5,
                    staircase: false,
                },
                ..sgd(0.0)
            },
            Kind::Schedules,
        ),
        (
            Optimizer {
                clipping: Clipping::Value(0.5),
                ..sgd(0.0)
            },
            Kind::Clipping,
        ),
        (
            Optimizer {
                clipping: Clipping::GlobalNorm(1.0),
                ..sgd(0.0)
            },
            Kind::Clipping,
        ),
    ];
    for (optimizer, kind) in cases {
        assert_eq!(optimizer.needs().iter().flatten().next(), Some(&kind));
        assert_eq!(one_step(&optimizer, cce), expected(kind), "{optimizer}");
    }
    for loss in [
        LossFunction {
            from_logits: true,
            ..cce
        },
        LossFunction::new(LossKind::Huber),
        LossFunction {
            label_smoothing: 0.1,
            ..LossFunction::new(LossKind::CategoricalCrossentropy)
        },
    ] {
        assert_eq!(loss.needs(), Some(Kind::Losses));
        if loss.kind == LossKind::CategoricalCrossentropy {
            continue; // Needs one-hot targets; the refusal comes first either way.
        }
        assert_eq!(one_step(&sgd(0.0), loss), expected(Kind::Losses), "{loss}");
    }
}

#[test]
fn the_decoder_names_the_group_a_model_needs() {
    let decoded = |bytes: &[u8], training: TrainingUse| {
        let aligned = AlignedBytes::new(bytes);
        decode_prefix_with(aligned.bytes(), training).map(|_| ())
    };
    decoded(&golden_model().encode(), TrainingUse::Read).unwrap();
    // Files, not encodings: a build without the group cannot write them (below).
    let adam = golden_file("small-adam.mdl");
    assert_eq!(
        decoded(&adam, TrainingUse::Read),
        refused_by_format(Kind::Optimizers)
    );
    // A reader that does not fine-tune skips the optimizer, whatever its kinds.
    decoded(&adam, TrainingUse::Skip).unwrap();
    for (file, kind) in [
        ("small-schedule.mdl", Kind::Schedules),
        ("small-clipping.mdl", Kind::Clipping),
    ] {
        let bytes = golden_file(file);
        assert_eq!(
            decoded(&bytes, TrainingUse::Read),
            refused_by_format(kind),
            "{file}"
        );
        decoded(&bytes, TrainingUse::Skip).unwrap();
    }
    assert_eq!(
        decoded(&golden_file("small-int8.mdl"), TrainingUse::Read),
        refused_by_format(Kind::Int8)
    );
}

#[test]
fn the_encoder_refuses_optimizer_kinds_the_build_leaves_out() {
    let cases = [
        (golden_adam_model(), Kind::Optimizers),
        (golden_schedule_model(), Kind::Schedules),
        (golden_clipping_model(), Kind::Clipping),
    ];
    for (model, kind) in cases {
        let written = model.as_ref().encoded_len().map(|_| ());
        assert_eq!(written, refused_by_format(kind));
    }
}

/// `Ok` when `kind` is built, else the format's refusal naming it.
fn refused_by_format(kind: Kind) -> Result<(), FormatError> {
    expected(kind).map_err(|_| FormatError::NotBuiltIn { kind })
}

/// A golden file of tests/golden (format_golden.rs checks they are the encodings of
/// format_support's models).
fn golden_file(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/golden")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
