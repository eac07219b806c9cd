//! Converting a BatchNormalization model to `.mdl`: frozen BatchNormalization layers fold
//! into the Dense layer before them — no predicted class changes on the 10,000 MNIST test
//! images and max |Δp| ≤ 1e-5 — and one in the trainable suffix stays, to fine-tune.

mod keras_common;

use keras_common::{max_diff, mnist_test, mnist_train, predict};
use microdense::dataset::{Dataset, Features};
use microdense::device_format::{from_mdl, to_mdl, ExportOptions};
use microdense::fit::FitOptions;
use microdense::model::{Compile, Model};
use microdense_core::{argmax, Layer, Optimizer, Sgd};

fn bn_count(model: &Model) -> usize {
    model
        .layers
        .iter()
        .filter(|l| matches!(l.layer, Layer::BatchNormalization { .. }))
        .count()
}

/// Dense → BN → relu twice, then softmax, trained one epoch (moving statistics updated).
fn trained() -> Model {
    let mut model = Model::from_spec("784,48:linear:nobias,bn,relu,24,bn:0.9,relu,10:softmax", 21).unwrap();
    model.compile(Compile {
        optimizer: Optimizer::from(Sgd {
            learning_rate: 0.05,
            momentum: 0.9,
            nesterov: false,
        }),
        ..Compile::default()
    });
    let (x, y) = mnist_train(3000);
    let data = Dataset::new(Features::F32(&x), 784, &y).unwrap();
    let options = FitOptions {
        epochs: 1,
        batch_size: 32,
        seed: 3,
        shuffle: true,
        threads: 2,
    };
    model.fit(&data, None, &options, &mut |_| {}).unwrap();
    model
}

#[test]
fn frozen_batch_normalization_folds_exactly() {
    let model = trained();
    let x = mnist_test(10_000);
    let host = predict(&model, &x);
    let folded = from_mdl(&to_mdl(&model, &ExportOptions::default()).unwrap()).unwrap();
    assert_eq!(bn_count(&folded), 0, "every BatchNormalization folds");
    assert_eq!(folded.layers.len(), model.layers.len() - 2);
    let device = predict(&folded, &x);
    let diff = max_diff(&host, &device);
    assert!(diff <= 1e-5, "max |Δp| {diff}");
    let changed = host
        .chunks_exact(10)
        .zip(device.chunks_exact(10))
        .filter(|(a, b)| argmax(a) != argmax(b))
        .count();
    assert_eq!(changed, 0, "classes changed by folding");
    println!("folding: max |Δp| {diff:.2e}, 0 of 10,000 classes changed");

    // The last two weighted layers trainable: the second BatchNormalization stays (its
    // gamma and beta fine-tune on the device), the first folds.
    let options = ExportOptions {
        with_training_state: true,
        trainable_layers: Some(2),
    };
    let tunable = from_mdl(&to_mdl(&model, &options).unwrap()).unwrap();
    assert_eq!(bn_count(&tunable), 1);
    assert!(max_diff(&host, &predict(&tunable, &x)) <= 1e-5);
}
