//! Files microdense writes load in real Keras (tf_keras 2.21 and Keras 3): the four test
//! models, trained here, saved in every format, checked by tests/keras/check_ours.py in
//! one Python process (predictions, SGD settings, iteration count, momentum buffers,
//! resumed training, architectures rebuilt from JSON and YAML).

mod keras_common;

use keras_common::{predict, trained_models, write_npy};
use microdense::model::Model;
use microdense_core::Layer;
use serde_json::{json, Value};

/// Test images given to Keras.
const SAMPLES: usize = 200;
/// Training images per model.
const TRAIN: usize = 320;
/// Checks per model the script makes: h5 in tf_keras (4 + buffers with momentum),
/// h5 in Keras 3 (3), .keras (4 + buffers), .weights.h5 (2), Keras 2 weights (1),
/// JSON for tf_keras (1) and for Keras 3 (1), YAML (1).
fn expected_checks(model: &Model) -> usize {
    let momentum = model
        .compile
        .as_ref()
        .unwrap()
        .optimizer
        .as_sgd()
        .unwrap()
        .momentum
        != 0.0;
    4 + 3 + 4 + 2 + 1 + 1 + 1 + 1 + if momentum { 2 } else { 0 }
}

/// The layers as the script lists them: `[class, units or null]`.
fn layer_list(model: &Model) -> Value {
    model
        .layers
        .iter()
        .map(|l| match l.layer {
            Layer::Dense { units, .. } => json!(["Dense", units]),
            other => json!([other.keras_class(), null]),
        })
        .collect()
}

/// How close Keras's predictions must be to ours: float32 roundoff, which grows with
/// the normalisation layers (square roots and divisions in TensorFlow's order) of `zoo`.
fn tolerance(name: &str) -> f32 {
    if name == "zoo" {
        1e-5
    } else {
        1e-6
    }
}

#[test]
fn keras_loads_every_format_we_write() {
    let Some(python) = microdense_tests::keras_python() else {
        return;
    };
    let dir = microdense_tests::TempDir::new("keras-interop");
    let x: Vec<f32> = keras_common::mnist_test(SAMPLES);
    write_npy(&dir.join("x.npy"), &[SAMPLES, 784], &x);
    let mut models = serde_json::Map::new();
    let mut expected = 0;
    for (name, model) in trained_models(TRAIN) {
        let files = json!({
            "h5": format!("{name}.h5"),
            "keras": format!("{name}.keras"),
            "weights_h5": format!("{name}.weights.h5"),
            "keras2_weights": format!("{name}_weights.h5"),
            "json": format!("{name}.json"),
            "json_keras3": format!("{name}.k3.json"),
            "yaml": format!("{name}.yaml"),
        });
        std::fs::write(
            dir.join(files["json_keras3"].as_str().unwrap()),
            model.to_json_keras3(),
        )
        .unwrap();
        for key in ["h5", "keras", "json", "yaml"] {
            model.save(dir.join(files[key].as_str().unwrap())).unwrap();
        }
        model
            .save_weights(dir.join(files["weights_h5"].as_str().unwrap()))
            .unwrap();
        model
            .save_weights(dir.join(files["keras2_weights"].as_str().unwrap()))
            .unwrap();
        let pred = predict(&model, &x);
        write_npy(&dir.join(format!("{name}_pred.npy")), &[SAMPLES, 10], &pred);
        let compile = model.compile.as_ref().unwrap();
        let iterations = model.optimizer.as_ref().unwrap().scalars.iterations;
        let sgd = compile.optimizer.as_sgd().unwrap();
        assert_eq!(iterations, TRAIN.div_ceil(32) as u64);
        models.insert(
            name.to_string(),
            json!({
                "input_shape": model.input_shape,
                "pred": format!("{name}_pred.npy"),
                "learning_rate": sgd.learning_rate,
                "momentum": sgd.momentum,
                "nesterov": sgd.nesterov,
                "iterations": iterations,
                "layers": layer_list(&model),
                "files": files,
                "tolerance": tolerance(name),
            }),
        );
        expected += expected_checks(&model);
    }
    let manifest = json!({"x": "x.npy", "models": models});
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
    let out = microdense_tests::run_keras_script(&python, "check_ours.py", &[dir.path()]);
    print!("{out}");
    let summary: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    assert_eq!(summary["failed"], 0, "{out}");
    assert_eq!(summary["passed"].as_u64().unwrap() as usize, expected, "{out}");
}
