//! Every loss against real Keras (tests/keras/make_losses.py): for each loss object in
//! tf_keras and Keras 3, the config Keras serializes reads back as our loss, and our
//! per-sample values and gradients match what Keras computes on the same batch.

use microdense::keras::loss_config::loss_from_config;
use microdense_core::Targets;
use microdense_tests::keras_made;
use serde_json::Value;

fn floats(v: &Value) -> Vec<f32> {
    match v {
        Value::Array(items) => items.iter().flat_map(floats).collect(),
        other => vec![other.as_f64().expect("a number") as f32],
    }
}

/// `|a - b|` relative to `b`'s size (at least 1).
fn relative(a: f32, b: f32) -> f32 {
    (a - b).abs() / b.abs().max(1.0)
}

#[test]
fn every_loss_reads_from_keras_and_computes_what_keras_computes() {
    let Some(dir) = keras_made("make_losses.py") else {
        return;
    };
    let cases: Vec<Value> = serde_json::from_slice(&std::fs::read(dir.join("losses.json")).unwrap()).unwrap();
    assert_eq!(cases.len(), 46, "23 loss objects in each Keras");
    let (mut worst_value, mut worst_grad) = (0.0f32, 0.0f32);
    for case in &cases {
        let what = format!("{} {}", case["flavour"], case["config"]);
        let mut loss =
            loss_from_config(&case["config"], "losses.json").unwrap_or_else(|e| panic!("{what}: {e}"));
        if let Some(delta) = case["kwargs"].get("delta") {
            // Keras 3's Huber.get_config() leaves delta out (Keras itself reloads 1.0);
            // tf_keras keeps it.
            let written = case["config"]["config"].get("delta").is_some();
            assert_eq!(written, case["flavour"] == "tf_keras", "{what}");
            loss.delta = delta.as_f64().unwrap() as f32;
        }
        let pred = floats(&case["y_pred"]);
        let values = floats(&case["values"]);
        let keras_grad = floats(&case["grad"]);
        let batch = values.len();
        let outputs = pred.len() / batch;
        let classes: Vec<u32>;
        let true_values: Vec<f32>;
        let targets = if case["sparse"].as_bool().unwrap() {
            classes = floats(&case["y_true"]).iter().map(|&c| c as u32).collect();
            Targets::Classes(&classes)
        } else {
            true_values = floats(&case["y_true"]);
            Targets::Values(&true_values)
        };
        let mut grad = vec![0.0; outputs];
        for (s, row) in pred.chunks_exact(outputs).enumerate() {
            let value = loss.value(row, &targets, s);
            worst_value = worst_value.max(relative(value, values[s]));
            assert!(
                relative(value, values[s]) <= 1e-5,
                "{what}: sample {s}: ours {value}, Keras {}",
                values[s]
            );
            loss.gradient(row, &targets, s, 1.0 / batch as f32, &mut grad);
            for (j, &g) in grad.iter().enumerate() {
                let k = keras_grad[s * outputs + j];
                // Gradients of a batch mean are ~1/batch: compare relative to that scale.
                let diff = (g - k).abs() * batch as f32 / k.abs().mul_add(batch as f32, 1.0).max(1.0);
                worst_grad = worst_grad.max(diff);
                assert!(diff <= 1e-5, "{what}: sample {s} output {j}: ours {g}, Keras {k}");
            }
        }
    }
    println!("worst relative difference: values {worst_value:e}, gradients {worst_grad:e}");
}
