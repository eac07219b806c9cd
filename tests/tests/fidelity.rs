//! Issue 2's fidelity check: the tutorial's run in microdense and in real Keras
//! (tf_keras 2.21) over 5 seeds each, on full MNIST; mean epoch-3 training accuracy and
//! mean test accuracy must agree within 0.03.

use microdense::dataset::{Dataset, Features};
use microdense::fit::FitOptions;
use microdense::mnist::Mnist;
use microdense::model::{Compile, Model, TUTORIAL_SPEC};
use microdense_tests::{keras_python, mnist_dir, repo_root};
use serde_json::Value;
use std::process::Command;

const SEEDS: [u64; 5] = [1, 2, 3, 4, 5];

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// (epoch-3 training accuracy, test accuracy, per-epoch losses) of microdense for each seed.
fn microdense_runs() -> Vec<(f64, f64, Vec<f64>)> {
    let mnist = Mnist::load(&mnist_dir()).expect("MNIST loads");
    let widen = |l: &[u8]| l.iter().map(|&x| x as u32).collect::<Vec<u32>>();
    let (train_labels, test_labels) = (widen(&mnist.train.labels), widen(&mnist.test.labels));
    let train = Dataset::new(
        Features::U8 {
            data: &mnist.train.images,
            scale: 1.0,
        },
        784,
        &train_labels,
    )
    .unwrap();
    let test = Dataset::new(
        Features::U8 {
            data: &mnist.test.images,
            scale: 1.0,
        },
        784,
        &test_labels,
    )
    .unwrap();
    SEEDS
        .iter()
        .map(|&seed| {
            let mut model = Model::from_spec(TUTORIAL_SPEC, seed).unwrap();
            model.compile(Compile::default());
            let options = FitOptions {
                seed,
                ..FitOptions::default()
            };
            let history = model.fit(&train, None, &options, &mut |_| {}).unwrap();
            let score = model.evaluate(&test).unwrap();
            (
                history[2].accuracy as f64,
                score.accuracy as f64,
                history.iter().map(|e| e.loss).collect(),
            )
        })
        .collect()
}

#[test]
fn tutorial_run_matches_real_keras_over_five_seeds() {
    let Some(python) = keras_python() else { return };
    let seeds = SEEDS.map(|s| s.to_string()).join(",");
    let out = Command::new(python)
        .arg(repo_root().join("tests/keras/tutorial.py"))
        .args(["--seeds", &seeds])
        .env("MNIST_DIR", mnist_dir())
        .output()
        .expect("runs tests/keras/tutorial.py");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let keras: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line per seed"))
        .collect();
    assert_eq!(keras.len(), SEEDS.len());
    let k_train: Vec<f64> = keras
        .iter()
        .map(|r| r["epochs"][2]["accuracy"].as_f64().unwrap())
        .collect();
    let k_test: Vec<f64> = keras
        .iter()
        .map(|r| r["test"]["accuracy"].as_f64().unwrap())
        .collect();
    let k_loss: Vec<f64> = (0..3)
        .map(|e| {
            mean(
                &keras
                    .iter()
                    .map(|r| r["epochs"][e]["loss"].as_f64().unwrap())
                    .collect::<Vec<_>>(),
            )
        })
        .collect();

    let ours = microdense_runs();
    let o_train: Vec<f64> = ours.iter().map(|r| r.0).collect();
    let o_test: Vec<f64> = ours.iter().map(|r| r.1).collect();
    let o_loss: Vec<f64> = (0..3)
        .map(|e| mean(&ours.iter().map(|r| r.2[e]).collect::<Vec<_>>()))
        .collect();

    println!("| | epoch-3 train accuracy | test accuracy | loss epoch 1 / 2 / 3 |");
    println!("|---|---|---|---|");
    for (name, train, test, loss) in [
        ("Keras (tf_keras 2.21)", &k_train, &k_test, &k_loss),
        ("microdense", &o_train, &o_test, &o_loss),
    ] {
        println!(
            "| {name} | {:.3} | {:.3} | {:.2} / {:.2} / {:.2} |",
            mean(train),
            mean(test),
            loss[0],
            loss[1],
            loss[2]
        );
    }
    assert!(
        (mean(&o_train) - mean(&k_train)).abs() <= 0.03,
        "train accuracy {o_train:?} vs Keras {k_train:?}"
    );
    assert!(
        (mean(&o_test) - mean(&k_test)).abs() <= 0.03,
        "test accuracy {o_test:?} vs Keras {k_test:?}"
    );
}
