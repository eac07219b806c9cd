//! Models compiled with every loss and trained with every regularizer and constraint by
//! real Keras (tests/keras/make_loss_models.py): we load them compiled, predict what
//! Keras predicted and evaluate the loss Keras evaluated (the regularizers' penalty
//! included); we train them one more epoch and save, and Keras loads what we wrote,
//! compiles it, and predicts and evaluates what we did (tests/keras/check_loss_models.py).

mod keras_common;

use keras_common::{max_diff, mnist_train, read_npy, train_and_save_for_keras};
use microdense::dataset::{Dataset, Features};
use microdense::model::Model;
use microdense_tests::{keras_made, keras_python, run_keras_script, TempDir};
use serde_json::{json, Value};

#[test]
fn keras_trained_loss_and_regularizer_models_round_trip_both_ways() {
    let Some(dir) = keras_made("make_loss_models.py") else {
        return;
    };
    let manifest: Value = serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let (_, x) = read_npy(&dir.join("x_test.npy"));
    let (_, y) = read_npy(&dir.join("y_test.npy"));
    let labels: Vec<u32> = y.iter().map(|&l| l as u32).collect();
    let test = Dataset::new(Features::F32(&x), 784, &labels).unwrap();
    let (x_train, y_train) = mnist_train(1000);
    let train = Dataset::new(Features::F32(&x_train), 784, &y_train).unwrap();
    let out = TempDir::new("loss-models");
    let models = manifest["models"].as_array().unwrap();
    assert_eq!(models.len(), 24, "12 cases in each Keras");
    let mut jobs = Vec::new();
    for (n, m) in models.iter().enumerate() {
        let file = dir.join(m["file"].as_str().unwrap());
        let what = file.display().to_string();
        let mut model = Model::load(&file).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(
            model.dropped_training.is_none(),
            "{what}: {:?}",
            model.dropped_training
        );
        let loss = model.compile.as_ref().expect("compiled").loss;
        let (_, expected) = read_npy(&dir.join(m["pred"].as_str().unwrap()));
        let ours = model.predict(&test).unwrap();
        let scale = expected.iter().fold(1.0f32, |s, v| s.max(v.abs()));
        let diff = max_diff(&ours, &expected);
        assert!(
            diff <= 1e-5 * scale,
            "{what}: outputs differ from Keras's by {diff}"
        );
        let keras_loss = m["test_loss"].as_f64().unwrap();
        let our_loss = model.evaluate(&test).unwrap().loss;
        assert!(
            (our_loss - keras_loss).abs() <= 1e-4 * keras_loss.abs().max(1.0),
            "{what} ({loss}): loss {our_loss} vs Keras {keras_loss}"
        );
        // One more epoch here, saved in the same format for Keras to check.
        let (saved, pred) = train_and_save_for_keras(
            &mut model,
            (&train, &test),
            out.path(),
            (m["flavour"].as_str().unwrap(), &file),
            n as u64,
        );
        jobs.push(json!({
            "file": saved,
            "pred": pred,
            "loss": model.evaluate(&test).unwrap().loss,
            "sparse": loss.kind == microdense_core::LossKind::SparseCategoricalCrossentropy,
        }));
    }
    let job_file = out.join("jobs.json");
    let jobs = json!({"x": dir.join("x_test.npy"), "y": dir.join("y_test.npy"), "models": jobs});
    std::fs::write(&job_file, jobs.to_string()).unwrap();
    let python = keras_python().expect("Keras made the fixtures");
    let report = run_keras_script(&python, "check_loss_models.py", &[&job_file]);
    println!("{report}");
    assert_eq!(
        report.lines().filter(|l| l.starts_with("ok ")).count(),
        24,
        "{report}"
    );
}
