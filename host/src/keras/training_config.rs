//! What `model.compile(...)` set, as Keras saves it: `training_config` in `.h5` files
//! (optimizer under `optimizer_config`) and `compile_config` in `.keras` archives
//! (optimizer under `optimizer`).
//!
//! Read: the optimizer (see [`optimizer_config`](super::optimizer_config)), the loss
//! (see [`loss_config`](super::loss_config)), metrics as names or metric objects (`acc`
//! is kept as written).
//!
//! Written: configs tf_keras 2.21 (`.h5`) and Keras 3 (`.keras`) deserialize to our
//! loss, optimizer and metrics.

use super::json::Node;
use super::loss_config::{loss_config, loss_from_config};
use super::optimizer_config::{optimizer_config, optimizer_from_config, Flavour};
use super::KerasError;
use crate::model::Compile;
use serde_json::Value;

/// Reads a `training_config` or `compile_config` value. `Ok(None)` when it names no
/// optimizer (Keras 3 then compiles with its default RMSprop, which microdense does not
/// have: the model is loaded uncompiled).
pub fn compile_from_config(value: &Value, file: &str) -> Result<Option<Compile>, KerasError> {
    let at = "training_config";
    let config_err = |message: String| KerasError::Config {
        path: file.to_string(),
        at: at.to_string(),
        message,
    };
    let map = value
        .as_object()
        .ok_or_else(|| config_err("is not a JSON object".into()))?;
    let optimizer = match map.get("optimizer_config").or_else(|| map.get("optimizer")) {
        None | Some(Value::Null) => return Ok(None),
        Some(o) => o,
    };
    let optimizer = optimizer_from_config(optimizer, file)?;
    let loss = match map.get("loss") {
        None | Some(Value::Null) => return Err(config_err("names no loss".into())),
        Some(v) => loss_from_config(v, file)?,
    };
    let mut metrics = Vec::new();
    if let Some(m) = map.get("metrics") {
        metric_names(m, &mut metrics);
    }
    Ok(Some(Compile {
        loss,
        optimizer,
        metrics,
    }))
}

/// Metric names from Keras's nested lists of names or metric objects.
fn metric_names(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| metric_names(v, out)),
        Value::Object(o) => {
            let name = o
                .get("config")
                .and_then(|c| c.get("name"))
                .and_then(Value::as_str)
                .or_else(|| o.get("class_name").and_then(Value::as_str));
            if let Some(name) = name {
                out.push(name.to_string());
            }
        }
        _ => {}
    }
}

/// The metrics as a list of names.
fn metrics(compile: &Compile) -> Node {
    Node::List(compile.metrics.iter().map(Node::str).collect())
}

/// The `training_config` root attribute of a whole-model `.h5` file.
pub fn training_config(compile: &Compile) -> Node {
    Node::map([
        ("loss", loss_config(&compile.loss, Flavour::TfKeras)),
        ("metrics", metrics(compile)),
        ("weighted_metrics", Node::Null),
        ("loss_weights", Node::Null),
        (
            "optimizer_config",
            optimizer_config(&compile.optimizer, Flavour::TfKeras),
        ),
    ])
}

/// The `compile_config` of a `.keras` archive's `config.json`.
pub fn compile_config(compile: &Compile) -> Node {
    Node::map([
        ("optimizer", optimizer_config(&compile.optimizer, Flavour::Keras3)),
        ("loss", loss_config(&compile.loss, Flavour::Keras3)),
        ("loss_weights", Node::Null),
        ("metrics", metrics(compile)),
        ("weighted_metrics", Node::Null),
        ("run_eagerly", Node::Bool(false)),
        ("steps_per_execution", Node::Int(1)),
        ("jit_compile", Node::Bool(false)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use microdense_core::{Loss, Optimizer, Sgd};

    fn parse(text: &str) -> Result<Option<Compile>, KerasError> {
        compile_from_config(&serde_json::from_str(text).unwrap(), "t.h5")
    }

    #[test]
    fn reads_keras2_era_lr_and_acc() {
        let c = parse(
            r#"{"optimizer_config": {"class_name": "SGD", "config": {"lr": 0.009999999776482582, "momentum": 0.0, "decay": 0.0, "nesterov": false}}, "loss": "categorical_crossentropy", "metrics": ["acc"]}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(c.optimizer.as_sgd().unwrap().learning_rate, 0.01);
        assert_eq!(c.metrics, ["acc"]);
        assert_eq!(c.loss, Loss::CategoricalCrossentropy.into());
    }

    #[test]
    fn reads_tf_keras_metric_objects_and_round_trips() {
        let c = parse(
            r#"{"loss": "categorical_crossentropy", "metrics": [[{"class_name": "MeanMetricWrapper", "config": {"name": "accuracy"}}]], "optimizer_config": {"class_name": "Custom>SGD", "config": {"learning_rate": 0.05000000074505806, "momentum": 0.9, "nesterov": true, "weight_decay": null, "clipnorm": null}}}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(c.metrics, ["accuracy"]);
        assert_eq!(
            c.optimizer,
            Optimizer::from(Sgd {
                learning_rate: 0.05,
                momentum: 0.9,
                nesterov: true
            })
        );
        let again = compile_from_config(
            &serde_json::from_str(&training_config(&c).to_json()).unwrap(),
            "x",
        )
        .unwrap();
        assert_eq!(again, Some(c.clone()));
        let k3 =
            compile_from_config(&serde_json::from_str(&compile_config(&c).to_json()).unwrap(), "x").unwrap();
        assert_eq!(k3, Some(c));
    }

    #[test]
    fn refuses_optimizers_it_cannot_train_with_and_reads_no_optimizer_as_uncompiled() {
        let adadelta =
            parse(r#"{"loss": "mse", "optimizer_config": {"class_name": "Adadelta", "config": {}}}"#);
        assert!(adadelta.unwrap_err().to_string().contains("\"Adadelta\""));
        let decay = parse(
            r#"{"loss": "mse", "optimizer_config": {"class_name": "SGD", "config": {"lr": 0.1, "decay": 0.001}}}"#,
        );
        assert!(decay.unwrap_err().to_string().contains("decay"));
        assert_eq!(
            parse(r#"{"loss": "mse", "metrics": ["accuracy"]}"#).unwrap(),
            None
        );
    }
}
