//! TensorFlow's beginner quickstart (Adam, `from_logits` loss) and a variant compiled
//! with Adadelta, as real Keras saves them (tests/keras/make_quickstart.py): they load
//! for inference whatever their training setup, like `load_model(compile=False)`, with
//! one warning line naming what was dropped; only `train --resume` needs the optimizer.
//!
//! And the quickstart end to end (tests/keras/make_quickstart_runs.py): Keras 3 trains it
//! 5 epochs from a file saved before fitting, for 5 seeds; we train the same 5 epochs
//! from the same files; the mean test accuracies agree within 0.005. The same for the
//! tutorial's model compiled with Adam (tests/keras/make_tutorial_adam_runs.py: tf_keras,
//! 3 epochs, batch 64).

mod keras_common;

use keras_common::{max_diff, predict, read_npy};
use microdense::dataset::{Dataset, Features};
use microdense::fit::FitOptions;
use microdense::mnist::Mnist;
use microdense::model::Model;
use microdense_tests::{keras_made, mnist_dir, TempDir};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Fixtures {
    dir: PathBuf,
    manifest: Value,
    x: Vec<f32>,
}

fn fixtures() -> Option<Fixtures> {
    let dir = keras_made("make_quickstart.py")?;
    let manifest = serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let (_, x) = read_npy(&dir.join("x_test.npy"));
    Some(Fixtures { dir, manifest, x })
}

/// Every saved file: (variant, what, file, predictions file).
fn files(f: &Fixtures) -> Vec<(String, String, PathBuf, PathBuf)> {
    let mut out = Vec::new();
    for (variant, flavours) in f.manifest["models"].as_object().unwrap() {
        for (flavour, entry) in flavours.as_object().unwrap() {
            for key in ["h5", "keras"] {
                let Some(file) = entry.get(key).and_then(Value::as_str) else {
                    continue;
                };
                let pred = f.dir.join(entry["pred"].as_str().unwrap());
                out.push((
                    variant.clone(),
                    format!("{flavour}/{file}"),
                    f.dir.join(file),
                    pred,
                ));
            }
        }
    }
    out
}

fn microdense(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_microdense"))
        .args(args)
        .current_dir(dir)
        .env("MNIST_DIR", mnist_dir())
        .output()
        .expect("runs microdense")
}

/// The warning lines on stderr of a command that must succeed.
fn warnings(out: &Output, what: &str) -> Vec<String> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{what}: failed: {stderr}");
    stderr
        .lines()
        .filter(|l| l.starts_with("warning:"))
        .map(str::to_string)
        .collect()
}

#[test]
fn quickstart_loads_for_inference_whatever_its_optimizer_and_predicts_like_keras() {
    let Some(f) = fixtures() else { return };
    let all = files(&f);
    assert_eq!(
        all.len(),
        6,
        "two variants × (tf_keras .h5, Keras 3 .keras and .h5)"
    );
    for (variant, what, file, pred) in all {
        let model = Model::load(&file).unwrap_or_else(|e| panic!("{what}: {e}"));
        let (_, expected) = read_npy(&pred);
        let ours = predict(&model, &f.x);
        // Logits, not probabilities: float32 roundoff relative to their size.
        let scale = expected.iter().fold(1.0f32, |m, v| m.max(v.abs()));
        let diff = max_diff(&ours, &expected);
        assert!(
            diff <= 1e-5 * scale,
            "{what}: logits differ from Keras's by {diff}"
        );
        if model.compile.is_some() {
            continue; // microdense trains with everything this file names
        }
        let why = model
            .dropped_training
            .as_deref()
            .unwrap_or_else(|| panic!("{what}: uncompiled without saying why"));
        assert!(why.contains(&file.display().to_string()), "{what}: {why}");
        assert!(model.optimizer.is_none(), "{what}");
        if variant == "quickstart_adadelta" {
            assert!(
                why.contains("Adadelta"),
                "{what}: the warning names the optimizer: {why}"
            );
        }
    }
}

#[test]
fn the_model_commands_warn_once_and_only_resume_needs_the_optimizer() {
    let Some(f) = fixtures() else { return };
    let dir = TempDir::new("quickstart-cli");
    for (variant, what, file, _) in files(&f) {
        if variant != "quickstart_adadelta" {
            continue;
        }
        let path = file.to_str().unwrap();
        let predicted = dir.join("scores.npy");
        let mdl = dir.join("q.mdl");
        let h5 = dir.join("q.h5");
        // summary and plot read the architecture only: nothing is dropped, no warning.
        for args in [
            vec!["summary", path],
            vec!["plot", path, "--out", dir.join("q.svg").to_str().unwrap()],
        ] {
            let lines = warnings(&microdense(&args, dir.path()), &format!("{what}: {args:?}"));
            assert!(
                lines.len() <= 1,
                "{what}: {args:?}: at most one warning line: {lines:?}"
            );
        }
        for args in [
            vec!["predict", path, "--out", predicted.to_str().unwrap()],
            vec!["evaluate", path],
            vec!["convert", path, mdl.to_str().unwrap()],
            vec!["convert", path, h5.to_str().unwrap()],
        ] {
            let lines = warnings(&microdense(&args, dir.path()), &format!("{what}: {args:?}"));
            assert_eq!(lines.len(), 1, "{what}: {args:?}: one warning line: {lines:?}");
            assert!(lines[0].contains("Adadelta"), "{what}: {args:?}: {}", lines[0]);
        }
        let (shape, scores) = read_npy(&predicted);
        assert_eq!(shape, [10_000, 10], "{what}");
        assert!(scores.iter().all(|s| s.is_finite()), "{what}");
        // The converted files are inference-only models now: no warning when read back.
        let back = Model::load(&h5).unwrap();
        assert!(
            back.compile.is_none() && back.dropped_training.is_none(),
            "{what}"
        );

        let out = microdense(&["train", "--resume", path, "--epochs", "1"], dir.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{what}: {stderr}");
        assert!(!stderr.contains("panicked"), "{what}: {stderr}");
        for needed in ["cannot resume", "Adadelta", "--weights", path] {
            assert!(stderr.contains(needed), "{what}: {needed:?} in: {stderr}");
        }
    }
}

/// MNIST's images / 255 (as the quickstart scales them) and labels.
fn normalised(split: &microdense::mnist::Split) -> (Vec<f32>, Vec<u32>) {
    let x = split.images.iter().map(|&p| p as f32 / 255.0).collect();
    (x, split.labels.iter().map(|&l| l as u32).collect())
}

#[test]
fn quickstart_trained_from_keras_initial_weights_matches_keras_accuracy_over_5_seeds() {
    matches_keras_over_seeds("make_quickstart_runs.py", 5, 32);
}

#[test]
fn tutorial_compiled_with_adam_matches_keras_accuracy_over_5_seeds() {
    matches_keras_over_seeds("make_tutorial_adam_runs.py", 3, 64);
}

/// The runs `script` made (Keras trained each seed's file, saved before fitting, for
/// `epochs` epochs at `batch_size`, on the pixels / 255, with Adam): we train the same
/// epochs from the same files, and the mean test accuracies agree within 0.005.
fn matches_keras_over_seeds(script: &'static str, epochs: usize, batch_size: usize) {
    let Some(dir) = keras_made(script) else {
        return;
    };
    let manifest: Value = serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let runs = manifest["runs"].as_array().unwrap();
    assert_eq!(
        (manifest["epochs"].as_u64().unwrap() as usize, runs.len()),
        (epochs, 5),
        "{script}: {epochs} epochs, 5 seeds"
    );
    let mnist = Mnist::load_idx_dir(&mnist_dir()).unwrap();
    let (x_train, y_train) = normalised(&mnist.train);
    let (x_test, y_test) = normalised(&mnist.test);
    let train = Dataset::new(Features::F32(&x_train), 784, &y_train).unwrap();
    let test = Dataset::new(Features::F32(&x_test), 784, &y_test).unwrap();
    let (mut ours, mut keras) = (0.0, 0.0);
    for run in runs {
        let file = dir.join(run["file"].as_str().unwrap());
        let mut model = Model::load(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let compile = model.compile.clone().expect("the runs load compiled");
        assert_eq!(compile.optimizer.algorithm.keras_class(), "Adam", "{script}");
        let options = FitOptions {
            epochs,
            batch_size,
            seed: run["seed"].as_u64().unwrap(),
            ..FitOptions::default()
        };
        let history = model.fit(&train, None, &options, &mut |_| {}).unwrap();
        let score = model.evaluate(&test).unwrap();
        let theirs = run["test_accuracy"].as_f64().unwrap();
        println!(
            "{script} seed {}: test accuracy microdense {:.4}, Keras {theirs:.4}; last epoch's loss {:.4} / {:.4}",
            run["seed"],
            score.accuracy,
            history.last().unwrap().loss,
            run["loss"][epochs - 1].as_f64().unwrap()
        );
        ours += score.accuracy / runs.len() as f64;
        keras += theirs / runs.len() as f64;
    }
    println!(
        "{script}: mean test accuracy over {} seeds: microdense {ours:.4}, Keras {keras:.4}",
        runs.len()
    );
    assert!(
        (ours - keras).abs() <= 0.005,
        "{script}: microdense {ours:.4} vs Keras {keras:.4}"
    );
}
