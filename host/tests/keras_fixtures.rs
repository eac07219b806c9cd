//! Files real Keras wrote (tf_keras 2.21, Keras 3, a Keras 2.1-era file; see
//! tests/keras/make_fixtures.py) load here and predict what Keras predicted, and
//! training resumes from the optimizer state they hold, its next epoch within 1% of the
//! loss Keras gets continuing the same file.

mod keras_common;

use keras_common::{assert_close_loss, assert_resumes, epoch_in_order, max_diff, predict, read_npy};
use microdense::model::Model;
use microdense::model_io::LoadWeights;
use microdense_core::argmax;
use serde_json::Value;
use std::path::Path;

/// Keras's predictions and ours may differ by float rounding only.
const TOLERANCE: f32 = 1e-5;

struct Fixtures {
    dir: std::path::PathBuf,
    manifest: Value,
    x: Vec<f32>,
}

fn fixtures() -> Option<Fixtures> {
    let dir = microdense_tests::keras_fixtures()?;
    let manifest: Value = serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let (_, x) = read_npy(&dir.join("x_test.npy"));
    Some(Fixtures { dir, manifest, x })
}

/// Iterations Keras ran while making the fixtures: `ceil(train / batch) × epochs`.
fn keras_iterations(manifest: &Value) -> u64 {
    let get = |k: &str| manifest[k].as_u64().unwrap();
    get("train_images").div_ceil(get("batch_size")) * get("epochs")
}

fn check_predictions(model: &Model, x: &[f32], expected_file: &Path, what: &str) -> Vec<u32> {
    let (shape, expected) = read_npy(expected_file);
    let ours = predict(model, x);
    let diff = max_diff(&ours, &expected);
    assert!(
        diff <= TOLERANCE,
        "{what}: predictions differ from Keras's by {diff}"
    );
    expected.chunks(shape[1]).map(|row| argmax(row) as u32).collect()
}

#[test]
fn whole_model_files_of_every_flavour_predict_like_keras_and_resume() {
    let Some(f) = fixtures() else { return };
    let iterations = keras_iterations(&f.manifest);
    let mut checked = 0;
    for (name, entry) in f.manifest["models"].as_object().unwrap() {
        for flavour in ["tf_keras", "keras3", "keras2_legacy"] {
            let Some(files) = entry.get(flavour) else { continue };
            for key in ["h5", "keras"] {
                let Some(file) = files.get(key).and_then(Value::as_str) else {
                    continue;
                };
                let what = format!("{flavour}/{name} ({file})");
                let model = Model::load(f.dir.join(file)).unwrap_or_else(|e| panic!("{what}: {e}"));
                let labels =
                    check_predictions(&model, &f.x, &f.dir.join(files["pred"].as_str().unwrap()), &what);
                let compile = model
                    .compile
                    .as_ref()
                    .unwrap_or_else(|| panic!("{what}: not compiled"));
                assert!(
                    compile.metrics.iter().any(|m| m == "accuracy" || m == "acc"),
                    "{what}"
                );
                let state = model
                    .optimizer
                    .as_ref()
                    .unwrap_or_else(|| panic!("{what}: no optimizer state"));
                assert_eq!(state.scalars.iterations, iterations, "{what}: iteration count");
                let n = 64.min(labels.len());
                assert_resumes(&model, &f.x[..n * 784], &labels[..n], &what);
                checked += 1;
            }
        }
    }
    // 11 models (8 chains, 3 graphs) × (tf_keras .h5, Keras 3 .h5, .keras) + the Keras
    // 2.1-era file.
    assert_eq!(checked, 34);
}

/// Every whole-model file with an optimizer (tf_keras `.h5`, Keras 3 `.keras`; chains,
/// BatchNormalization, preprocessing, normalization, activation and noise layers, merge
/// graphs): one more epoch in order lands within 1% of the loss Keras got continuing the
/// same file. Dropout and noise draw from another generator than Keras's, so those
/// models' losses differ by sampling, not by arithmetic: they are held to 3%.
#[test]
fn whole_model_files_resume_like_keras() {
    let Some(f) = fixtures() else { return };
    let (_, x_train) = read_npy(&f.dir.join("x_train.npy"));
    let (_, y) = read_npy(&f.dir.join("y_train.npy"));
    let labels: Vec<u32> = y.iter().map(|&l| l as u32).collect();
    let mut checked = 0;
    for (name, entry) in f.manifest["models"].as_object().unwrap() {
        for (flavour, key) in [("tf_keras", "h5"), ("keras3", "keras")] {
            let files = &entry[flavour];
            let file = files[key].as_str().unwrap();
            let what = format!("{flavour}/{name} ({file})");
            let mut model = Model::load(f.dir.join(file)).unwrap_or_else(|e| panic!("{what}: {e}"));
            let keras = files["continued_loss"].as_f64().unwrap();
            let ours = epoch_in_order(&mut model, &x_train, &labels);
            if model.layers.iter().any(|l| l.layer.draws()) {
                let off = (ours - keras).abs() / keras;
                assert!(off <= 0.03, "{what}: resumed loss {ours:.5}, Keras {keras:.5}");
            } else {
                assert_close_loss(ours, keras, &what);
            }
            println!("{what}: resumed loss {ours:.5}, Keras {keras:.5}");
            checked += 1;
        }
    }
    assert_eq!(checked, 22, "11 models × 2 Kerases");
}

/// `summary` of every tf_keras file is the text tf_keras's `model.summary()` printed for
/// it, character for character: chains, a Functional chain's InputLayer row,
/// BatchNormalization's non-trainable statistics, and graphs' "Connected to" column.
#[test]
fn summaries_are_what_tf_keras_prints() {
    let Some(f) = fixtures() else { return };
    for (name, entry) in f.manifest["models"].as_object().unwrap() {
        let files = &entry["tf_keras"];
        let model = Model::load(f.dir.join(files["h5"].as_str().unwrap())).unwrap();
        let keras = std::fs::read_to_string(f.dir.join(files["summary"].as_str().unwrap())).unwrap();
        assert_eq!(microdense::summary::summary(&model), keras, "{name}");
    }
}

#[test]
fn keras2_era_file_reads_lr_acc_and_numbering() {
    let Some(f) = fixtures() else { return };
    let model = Model::load(f.dir.join("keras2_legacy/tutorial.h5")).unwrap();
    let names: Vec<&str> = model.layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "dense_1",
            "activation_1",
            "dense_2",
            "activation_2",
            "dense_3",
            "activation_3"
        ]
    );
    assert_eq!(model.input_name, "dense_1_input");
    let compile = model.compile.unwrap();
    assert_eq!(compile.optimizer.as_sgd().unwrap().learning_rate, 0.01);
    assert_eq!(compile.metrics, ["acc"]);
}

#[test]
fn architectures_plus_weights_files_predict_like_keras() {
    let Some(f) = fixtures() else { return };
    let mut checked = 0;
    for (name, entry) in f.manifest["models"].as_object().unwrap() {
        for flavour in ["tf_keras", "keras3"] {
            let files = &entry[flavour];
            let what = format!("{flavour}/{name}");
            let json = f.dir.join(files["json"].as_str().unwrap());
            let mut model = Model::load(&json).unwrap_or_else(|e| panic!("{what}.json: {e}"));
            let text = std::fs::read_to_string(&json).unwrap();
            assert_eq!(Model::from_json(&text).unwrap().layers, model.layers, "{what}");
            let weights = f.dir.join(files["weights_h5"].as_str().unwrap());
            let report = model
                .load_weights(&weights, LoadWeights::default())
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            assert!(report.skipped.is_empty());
            check_predictions(&model, &f.x, &f.dir.join(files["pred"].as_str().unwrap()), &what);
            // By name gives the same here (the names match).
            let mut by_name = Model::load(&json).unwrap();
            by_name
                .load_weights(
                    &weights,
                    LoadWeights {
                        by_name: true,
                        skip_mismatch: false,
                    },
                )
                .unwrap();
            assert_eq!(by_name.params, model.params, "{what}");
            checked += 1;
        }
    }
    assert_eq!(checked, 22, "11 models × 2 Kerases");
}

#[test]
fn layers_read_as_keras_defined_them() {
    let Some(f) = fixtures() else { return };
    use microdense_core::{Activation, Layer};
    for flavour in ["tf_keras", "keras3"] {
        let nobias = Model::load(f.dir.join(format!("{flavour}/nobias_dropout.h5"))).unwrap();
        assert_eq!(
            nobias.core_layers(),
            [
                Layer::Dense {
                    units: 40,
                    activation: Activation::Sigmoid,
                    use_bias: false,
                    activity_regularizer: None,
                },
                Layer::Dropout { rate: 0.2 },
                Layer::Dense {
                    units: 10,
                    activation: Activation::Linear,
                    use_bias: false,
                    activity_regularizer: None,
                },
                Layer::Activation(Activation::Softmax),
            ]
        );
        let sgd = nobias.compile.unwrap().optimizer.as_sgd().unwrap();
        assert_eq!((sgd.learning_rate, sgd.momentum, sgd.nesterov), (0.1, 0.8, true));
        let functional = Model::load(f.dir.join(format!("{flavour}/functional.h5"))).unwrap();
        assert_eq!(functional.kind, microdense::model::ModelKind::Functional);
        assert_eq!(functional.input_shape, [28, 28]);
        assert_eq!(functional.input_name, "pixels");
        assert_eq!(functional.name, "chain");
        let names: Vec<&str> = functional.layers.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["flatten", "dense", "dropout", "probs"]);
        let bn = Model::load(f.dir.join(format!("{flavour}/bn_relu.h5"))).unwrap();
        assert_eq!(
            bn.core_layers()[1],
            Layer::BatchNormalization {
                momentum: 0.99,
                epsilon: 1e-3,
                center: true,
                scale: true
            }
        );
        let pre = Model::load(f.dir.join(format!("{flavour}/preprocessing.h5"))).unwrap();
        assert_eq!(
            pre.core_layers(),
            [
                Layer::Rescaling {
                    scale: 2.0,
                    offset: -1.0
                },
                Layer::Dense {
                    units: 32,
                    activation: Activation::Linear,
                    use_bias: true,
                    activity_regularizer: None,
                },
                Layer::LeakyRelu { negative_slope: 0.2 },
                Layer::Dense {
                    units: 10,
                    activation: Activation::Linear,
                    use_bias: true,
                    activity_regularizer: None,
                },
                Layer::Softmax,
            ]
        );
    }
}
