//! Seconds per epoch of the tutorial's default run on full MNIST, microdense beside real
//! Keras (tf_keras 2.21) in the same run.
//!
//! `cargo bench -p microdense --bench train_speed` (Keras part skipped, with a note, when
//! its venv is unavailable). Prints a table; the goal is at least 6× Keras's speed.

use microdense::dataset::{Dataset, Features};
use microdense::fit::FitOptions;
use microdense::mnist::Mnist;
use microdense::model::{Compile, Model, TUTORIAL_SPEC};
use microdense_tests::{keras_python, mnist_dir, repo_root};
use std::process::Command;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let mnist = Mnist::load(&mnist_dir()).expect("MNIST (set MNIST_DIR)");
    let labels: Vec<u32> = mnist.train.labels.iter().map(|&l| l as u32).collect();
    let train = Dataset::new(
        Features::U8 {
            data: &mnist.train.images,
            scale: 1.0,
        },
        784,
        &labels,
    )
    .unwrap();
    let epochs = 5;
    let mut rows = Vec::new();
    for threads in [1, 2] {
        // Three runs per setting (seeds 1–3): on a shared 2-core VM a whole run can be
        // slowed by its neighbours, so report the median over all of them.
        let mut all = Vec::new();
        for seed in 1..=3 {
            let mut model = Model::from_spec(TUTORIAL_SPEC, seed).unwrap();
            model.compile(Compile::default());
            let options = FitOptions {
                epochs,
                threads,
                seed,
                ..FitOptions::default()
            };
            let history = model.fit(&train, None, &options, &mut |_| {}).unwrap();
            // The first epoch warms caches and the thread pool; keep the rest.
            all.extend(history[1..].iter().filter_map(|e| e.seconds));
        }
        let secs = median(all);
        rows.push((
            format!(
                "microdense, {threads} thread{}",
                if threads == 1 { "" } else { "s" }
            ),
            secs,
        ));
    }
    let keras = keras_python().and_then(|python| {
        let out = Command::new(python)
            .arg(repo_root().join("tests/keras/tutorial.py"))
            .args(["--seeds", "1", "--epochs", &epochs.to_string()])
            .env("MNIST_DIR", mnist_dir())
            .output()
            .ok()?;
        let line = String::from_utf8_lossy(&out.stdout).lines().last()?.to_string();
        let run: serde_json::Value = serde_json::from_str(&line).ok()?;
        let secs: Vec<f64> = run["epochs"].as_array()?[1..]
            .iter()
            .filter_map(|e| e["seconds"].as_f64())
            .collect();
        Some(median(secs))
    });
    if let Some(k) = keras {
        rows.push(("Keras (tf_keras 2.21, TensorFlow CPU)".into(), k));
    } else {
        println!("note: real Keras unavailable, its row is skipped");
    }
    println!(
        "| trainer | seconds per epoch (median of epochs 2–{epochs}; microdense: of 3 runs) | vs Keras |"
    );
    println!("|---|---|---|");
    for (name, secs) in &rows {
        let ratio = keras.map_or("–".to_string(), |k| format!("{:.1}× faster", k / secs));
        println!("| {name} | {secs:.3} | {ratio} |");
    }
}
