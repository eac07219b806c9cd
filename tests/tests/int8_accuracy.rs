//! int8 accuracy on all 10,000 MNIST test images: the tutorial model (3 epochs, raw
//! pixels) and a relu model (784-128-relu-10-softmax, normalised pixels, 5 epochs),
//! every Dense layer int8 (K = 0) and with the last Dense layer float (K = 1), each
//! within 0.5 percentage points of the float32 model. Calibrated on 1,000 training images.
//!
//! `cargo test -p microdense-tests --test int8_accuracy -- --nocapture` prints the figures.

mod device_common;

use device_common::{labels_u32, mnist, model_trained};
use microdense::dataset::{Dataset, Features};
use microdense::int8::Int8Model;
use microdense::model::{Compile, TUTORIAL_SPEC};

/// Calibration samples.
const CALIBRATION: usize = 1000;

fn check(name: &str, spec: &str, scale: f32, epochs: usize) {
    let model = model_trained(spec, scale, Compile::default(), epochs);
    let (train, test) = (&mnist().train, &mnist().test);
    let test_labels = labels_u32(&test.labels);
    let train_labels = labels_u32(&train.labels[..CALIBRATION]);
    let features = |data| Features::U8 { data, scale };
    let test_set = Dataset::new(features(&test.images), 784, &test_labels).unwrap();
    let calibration = Dataset::new(features(&train.images[..CALIBRATION * 784]), 784, &train_labels).unwrap();
    let float = model.evaluate(&test_set).unwrap().accuracy;
    for k in [0, 1] {
        let int8 = Int8Model::quantize(&model, &calibration, k).unwrap();
        let accuracy = int8.evaluate(&test_set).unwrap().accuracy;
        let pp = 100.0 * (accuracy - float);
        println!("{name}: float32 {float:.4}, int8 (K = {k}) {accuracy:.4}, difference {pp:+.2} pp");
        assert!(
            pp.abs() <= 0.5,
            "{name}, K = {k}: int8 {accuracy} vs float32 {float}"
        );
    }
}

#[test]
fn tutorial_model_int8_is_within_half_a_point_of_float32() {
    check("tutorial (3 epochs)", TUTORIAL_SPEC, 1.0, 3);
}

#[test]
fn relu_model_int8_is_within_half_a_point_of_float32() {
    check(
        "relu 784-128-10 (5 epochs)",
        "784,128:relu,10:softmax",
        1.0 / 255.0,
        5,
    );
}
