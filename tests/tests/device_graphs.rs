//! A Functional graph on the device: a residual MLP (Dense → Dense → Add with the skip →
//! Dense → Dense) trained on the host, converted to `.mdl` (format 4: merge and wiring
//! records) with its last 2 Dense layers trainable, gives the host's outputs bit for bit
//! and the host's fine-tuning steps bit for bit (weights, optimizer state, losses); with
//! an activity regularizer on a trainable Dense (format 5), the same; and a graph holding
//! every other merge, the same.

mod device_common;

use device_common::{
    assert_outputs_match_host, assert_training_matches_host, boot, host_test, labels_u32, mdl, mnist,
    MOMENTUM_SGD,
};
use microdense::budget::ParamBudget;
use microdense::dataset::{Dataset, Features};
use microdense::fit::FitOptions;
use microdense::model::{Compile, Model};
use microdense_core::format::decode;
use microdense_core::{Activation, Layer, Merge, Regularizer, Source};

/// Test images compared bit for bit.
const INFER_IMAGES: usize = 8;
/// Training images the host trains the model on before conversion.
const TRAIN_IMAGES: usize = 5_000;

/// The residual MLP, trained for one epoch on the first training images.
fn residual_model() -> Model {
    // On raw pixels, as the tutorial's model (sigmoids, plain SGD).
    trained(&[
        (Layer::dense(32, Activation::Sigmoid), &[Source::Input]),
        (Layer::dense(32, Activation::Sigmoid), &[Source::Layer(0)]),
        (Layer::Merge(Merge::Add), &[Source::Layer(1), Source::Layer(0)]),
        (Layer::dense(16, Activation::Sigmoid), &[Source::Layer(2)]),
        (Layer::dense(10, Activation::Softmax), &[Source::Layer(3)]),
    ])
}

/// The model of `graph`, trained for one epoch on the first training images.
fn trained(graph: &[(Layer, &[Source])]) -> Model {
    let mut model = Model::from_graph(vec![784], graph, 3, ParamBudget::default()).unwrap();
    model.compile(Compile::default());
    let train = &mnist().train;
    let labels = labels_u32(&train.labels[..TRAIN_IMAGES]);
    let data = Dataset::new(
        Features::U8 {
            data: &train.images[..TRAIN_IMAGES * 784],
            scale: 1.0,
        },
        784,
        &labels,
    )
    .unwrap();
    model
        .fit(&data, None, &FitOptions::default(), &mut |_| {})
        .unwrap();
    model
}

#[test]
fn a_residual_model_infers_and_fine_tunes_on_the_device_as_on_the_host() {
    let model = residual_model();
    let labels = labels_u32(&mnist().test.labels);
    let accuracy = model.evaluate(&host_test(&labels, 1000)).unwrap().accuracy;
    // Above chance (0.1): finite weights that learned, so the device's steps change them.
    assert!(accuracy > 0.2, "the host-trained model reaches only {accuracy}");
    let file = mdl(&model);
    let aligned = microdense::device_format::AlignedBytes::new(&file);
    let view = decode(aligned.bytes()).unwrap();
    assert_eq!(view.header().min_reader, 4);
    assert!(view.network().unwrap().is_graph());
    let Some(mut booted) = boot(Some(&file)) else {
        return;
    };
    let device = &mut booted.device;
    assert_outputs_match_host(device, &model, INFER_IMAGES);
    assert_training_matches_host(device, &model, Some(MOMENTUM_SGD));
}

/// Keras's `activity_regularizer` on the first trainable Dense: its penalty's gradient
/// enters the device's steps exactly as the host's.
#[test]
fn a_dense_activity_regularizer_fine_tunes_on_the_device_as_on_the_host() {
    let mut model = residual_model();
    let Layer::Dense {
        activity_regularizer, ..
    } = &mut model.layers[3].layer
    else {
        panic!("layer 3 of the residual model is a Dense layer")
    };
    *activity_regularizer = Some(Regularizer { l1: 1e-3, l2: 1e-2 });
    let file = mdl(&model);
    let aligned = microdense::device_format::AlignedBytes::new(&file);
    assert_eq!(decode(aligned.bytes()).unwrap().header().min_reader, 5);
    let Some(mut booted) = boot(Some(&file)) else {
        return;
    };
    assert_training_matches_host(&mut booted.device, &model, Some(MOMENTUM_SGD));
}

/// Every other merge — Subtract, Multiply, Average (of three), Maximum, Minimum,
/// Concatenate — in one graph of three branches from the input: outputs bit for bit, and
/// the host's fine-tuning steps of the chain after the last merge.
#[test]
fn every_merge_infers_and_fine_tunes_on_the_device_as_on_the_host() {
    let merge = |m| Layer::Merge(m);
    let model = trained(&[
        (Layer::dense(16, Activation::Tanh), &[Source::Input]),
        (Layer::dense(16, Activation::Sigmoid), &[Source::Input]),
        (Layer::dense(16, Activation::Relu), &[Source::Input]),
        (merge(Merge::Subtract), &[Source::Layer(0), Source::Layer(1)]),
        (merge(Merge::Multiply), &[Source::Layer(0), Source::Layer(2)]),
        (
            merge(Merge::Average),
            &[Source::Layer(3), Source::Layer(4), Source::Layer(1)],
        ),
        (merge(Merge::Maximum), &[Source::Layer(5), Source::Layer(0)]),
        (merge(Merge::Minimum), &[Source::Layer(6), Source::Layer(2)]),
        (merge(Merge::Concatenate), &[Source::Layer(7), Source::Layer(0)]),
        (Layer::dense(16, Activation::Sigmoid), &[Source::Layer(8)]),
        (Layer::dense(10, Activation::Softmax), &[Source::Layer(9)]),
    ]);
    let Some(mut booted) = boot(Some(&mdl(&model))) else {
        return;
    };
    assert_outputs_match_host(&mut booted.device, &model, INFER_IMAGES);
    assert_training_matches_host(&mut booted.device, &model, Some(MOMENTUM_SGD));
}
