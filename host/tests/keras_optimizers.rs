//! Every optimizer and learning-rate schedule against real Keras, both ways
//! (tests/keras/make_optimizers.py, check_optimizers.py), in tf_keras 2.21 `.h5` files
//! and Keras 3 `.keras` archives:
//!
//! - Keras trains and saves → we predict like Keras (float32 roundoff) and one resumed
//!   epoch lands within 1% of the loss Keras gets continuing the same file;
//! - we train on and save → Keras loads it, predicts what we predict, restores the
//!   optimizer and its step count, and its next epoch lands within 1% of ours.

mod keras_common;

use keras_common::{assert_close_loss, epoch_in_order, max_diff, predict, read_npy, write_npy};
use microdense::model::Model;
use microdense_tests::{keras_made, keras_python, run_keras_script, TempDir};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// Predictions may differ from Keras's by float32 roundoff.
const TOLERANCE: f32 = 1e-5;

struct Made {
    dir: PathBuf,
    manifest: Value,
    x_train: Vec<f32>,
    y_train: Vec<u32>,
    x_test: Vec<f32>,
}

fn made() -> Option<Made> {
    let dir = keras_made("make_optimizers.py")?;
    let manifest = serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let (_, x_train) = read_npy(&dir.join("x_train.npy"));
    let (_, y) = read_npy(&dir.join("y_train.npy"));
    let (_, x_test) = read_npy(&dir.join("x_test.npy"));
    let y_train = y.iter().map(|&l| l as u32).collect();
    Some(Made {
        dir,
        manifest,
        x_train,
        y_train,
        x_test,
    })
}

/// Every (case, Keras, entry) of a manifest.
fn entries(manifest: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (case, flavours) in manifest.as_object().unwrap() {
        for (flavour, entry) in flavours.as_object().unwrap() {
            out.push((case.clone(), flavour.clone(), entry.clone()));
        }
    }
    out
}

/// One epoch as the scripts run it (batches of 32 in order); its mean loss.
fn epoch(model: &mut Model, m: &Made) -> f64 {
    epoch_in_order(model, &m.x_train, &m.y_train)
}

/// tf_keras 2.21's Nadam is not followed when resuming: in graph mode it advances its
/// momentum-schedule product once per weight tensor per step (a Python counter fixed at
/// trace time decides), and restarts it at 1 when loading a file. microdense follows
/// Keras 3's Nadam (one advance per step, the product saved in `.keras` archives); the
/// predictions of tf_keras Nadam files are still checked.
fn resumes_like_keras(case: &str, flavour: &str) -> bool {
    !(case == "nadam" && flavour == "tf_keras")
}

fn load(dir: &Path, entry: &Value, what: &str) -> Model {
    let model =
        Model::load(dir.join(entry["file"].as_str().unwrap())).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        model.compile.is_some(),
        "{what}: dropped its training setup: {:?}",
        model.dropped_training
    );
    model
}

#[test]
fn keras_trained_files_predict_like_keras_and_resume_like_keras() {
    let Some(m) = made() else { return };
    let all = entries(&m.manifest);
    assert_eq!(all.len(), 24, "12 cases × 2 Kerases");
    for (case, flavour, entry) in all {
        let what = format!("{flavour}/{case}");
        let mut model = load(&m.dir, &entry, &what);
        let (_, expected) = read_npy(&m.dir.join(entry["pred"].as_str().unwrap()));
        let diff = max_diff(&predict(&model, &m.x_test), &expected);
        assert!(
            diff <= TOLERANCE,
            "{what}: predictions differ from Keras's by {diff}"
        );
        assert_eq!(model.optimizer.as_ref().unwrap().scalars.iterations, 20, "{what}");
        let loss = epoch(&mut model, &m);
        if resumes_like_keras(&case, &flavour) {
            assert_close_loss(loss, entry["continued_loss"].as_f64().unwrap(), &what);
        }
    }
}

#[test]
fn keras_loads_what_we_trained_predicts_it_and_resumes_like_us() {
    let (Some(m), Some(python)) = (made(), keras_python()) else {
        return;
    };
    let dir = TempDir::new("keras-optimizers");
    for name in ["x_train.npy", "y_train.npy", "x_test.npy"] {
        std::fs::copy(m.dir.join(name), dir.join(name)).unwrap();
    }
    let mut manifest = serde_json::Map::new();
    let mut ours = Vec::new();
    for (case, flavour, entry) in entries(&m.manifest) {
        let what = format!("{flavour}/{case}");
        let mut model = load(&m.dir, &entry, &what);
        epoch(&mut model, &m);
        let file = format!("{case}.{}", if flavour == "tf_keras" { "h5" } else { "keras" });
        let file = format!("{flavour}_{file}");
        model
            .save(dir.join(&file))
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let pred = format!("{flavour}_{case}_pred.npy");
        write_npy(
            &dir.join(&pred),
            &[m.x_test.len() / 784, 10],
            &predict(&model, &m.x_test),
        );
        let class = model.compile.as_ref().unwrap().optimizer.algorithm.keras_class();
        let next = epoch(&mut model.clone(), &m);
        ours.push((case.clone(), flavour.clone(), class, next));
        manifest
            .entry(case)
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .unwrap()
            .insert(flavour, json!({"file": file, "pred": pred}));
    }
    std::fs::write(dir.join("manifest.json"), Value::Object(manifest).to_string()).unwrap();
    let out = run_keras_script(&python, "check_optimizers.py", &[dir.path()]);
    let keras: Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    for (case, flavour, class, next) in ours {
        let what = format!("{flavour}/{case}");
        let k = &keras[&case][&flavour];
        let diff = k["max_diff"].as_f64().unwrap();
        assert!(
            diff <= TOLERANCE as f64,
            "{what}: Keras predicts ours off by {diff}"
        );
        assert_eq!(k["optimizer"], class, "{what}: Keras rebuilt another optimizer");
        assert_eq!(k["iterations"], 40, "{what}: Keras restored another step count");
        if resumes_like_keras(&case, &flavour) {
            assert_close_loss(next, k["continued_loss"].as_f64().unwrap(), &what);
        }
    }
}
