//! Keras's loss configs: a function name (`"mse"`, `"sparse_categorical_crossentropy"`),
//! a loss object (`{"class_name": "Huber", "config": {"delta": 2.0, ...}}`, with
//! Keras 3's `module`/`registered_name`), or Keras 3's serialized function
//! (`{"class_name": "function", "config": "mae"}`); and the configs each Keras reads back.

use super::json::Node;
use super::optimizer_config::Flavour;
use super::KerasError;
use microdense_core::{LossFunction, LossKind};
use serde_json::{Map, Value};

/// Reads the loss of a training config (at `loss`); unknown losses and settings are
/// [`KerasError::Unsupported`], naming them.
pub fn loss_from_config(value: &Value, file: &str) -> Result<LossFunction, KerasError> {
    let unsupported = |what: String| KerasError::Unsupported {
        path: file.to_string(),
        at: "loss".to_string(),
        what,
    };
    let (name, config) = match value {
        Value::String(s) => (s.as_str(), None),
        Value::Object(o) => match (o.get("class_name").and_then(Value::as_str), o.get("config")) {
            (Some("function"), Some(Value::String(name))) => (name.as_str(), None),
            (Some(class), config) => (class, config.and_then(Value::as_object)),
            (None, _) => return Err(unsupported("a loss object without class_name".into())),
        },
        other => return Err(unsupported(format!("loss {other} (one loss for one output)"))),
    };
    let kind = LossKind::from_keras_name(name).ok_or_else(|| unsupported(format!("loss {name:?}")))?;
    let mut loss = LossFunction::new(kind);
    if let Some(config) = config {
        read_settings(&mut loss, config).map_err(|e| unsupported(format!("{name}: {e}")))?;
    }
    Ok(loss)
}

/// Reads the settings of a loss object's `config` into `loss`.
fn read_settings(loss: &mut LossFunction, config: &Map<String, Value>) -> Result<(), String> {
    let kind = loss.kind;
    for (key, value) in config {
        match (key.as_str(), value) {
            ("name" | "dtype", _) | (_, Value::Null) => {}
            // tf_keras names the loss's function too.
            ("fn", Value::String(f)) if LossKind::from_keras_name(f) == Some(kind) => {}
            ("reduction", Value::String(r)) if matches!(r.as_str(), "auto" | "sum_over_batch_size") => {}
            ("axis", Value::Number(a)) if a.as_i64() == Some(-1) => {}
            ("from_logits", Value::Bool(b)) if kind.has_from_logits() || !b => loss.from_logits = *b,
            ("label_smoothing", Value::Number(s))
                if kind.has_label_smoothing() || s.as_f64() == Some(0.0) =>
            {
                loss.label_smoothing = number(s, |s| (0.0..=1.0).contains(&s), "in [0, 1]", key)?;
            }
            ("delta", Value::Number(d)) if kind == LossKind::Huber => {
                loss.delta = number(d, |d| d > 0.0 && d.is_finite(), "positive", key)?;
            }
            (key, value) => return Err(format!("{key}={value}")),
        }
    }
    Ok(())
}

/// A setting's value as `f32`, checked.
fn number(n: &serde_json::Number, ok: impl Fn(f32) -> bool, must: &str, key: &str) -> Result<f32, String> {
    let v = n.as_f64().unwrap_or(f64::NAN) as f32;
    if ok(v) {
        Ok(v)
    } else {
        Err(format!("{key}={n} (must be {must})"))
    }
}

/// The loss as `flavour` writes it: its function name when every setting is Keras's
/// default, else the loss object.
pub fn loss_config(loss: &LossFunction, flavour: Flavour) -> Node {
    let kind = loss.kind;
    if *loss == LossFunction::new(kind) {
        return Node::str(kind.keras_name());
    }
    let reduction = match flavour {
        Flavour::TfKeras => "auto",
        Flavour::Keras3 => "sum_over_batch_size",
    };
    let mut config = vec![
        ("name", Node::str(kind.keras_name())),
        ("reduction", Node::str(reduction)),
    ];
    if kind.has_from_logits() {
        config.push(("from_logits", Node::Bool(loss.from_logits)));
    }
    if kind.has_label_smoothing() {
        config.push(("label_smoothing", Node::f32(loss.label_smoothing)));
    }
    if kind == LossKind::Huber {
        config.push(("delta", Node::f32(loss.delta)));
    }
    let config = Node::map(config);
    match flavour {
        Flavour::TfKeras => Node::map([("class_name", Node::str(kind.class_name())), ("config", config)]),
        Flavour::Keras3 => Node::map([
            ("module", Node::str("keras.losses")),
            ("class_name", Node::str(kind.class_name())),
            ("config", config),
            ("registered_name", Node::Null),
        ]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<LossFunction, KerasError> {
        loss_from_config(&serde_json::from_str(text).unwrap(), "t.h5")
    }

    #[test]
    fn reads_names_aliases_objects_and_keras3_functions() {
        assert_eq!(read(r#""mae""#).unwrap(), LossKind::MeanAbsoluteError.into());
        assert_eq!(read(r#""huber""#).unwrap(), LossKind::Huber.into());
        assert_eq!(
            read(r#"{"module": "keras.losses", "class_name": "function", "config": "kld", "registered_name": "function"}"#)
                .unwrap(),
            LossKind::KlDivergence.into()
        );
        let quickstart = read(
            r#"{"class_name": "SparseCategoricalCrossentropy", "config": {"reduction": "auto", "name": "sparse_categorical_crossentropy", "from_logits": true, "ignore_class": null, "fn": "sparse_categorical_crossentropy"}}"#,
        )
        .unwrap();
        assert!(quickstart.from_logits);
        let huber = read(
            r#"{"module": "keras.losses", "class_name": "Huber", "config": {"name": "huber_loss", "reduction": "sum_over_batch_size", "delta": 2.5}, "registered_name": null}"#,
        )
        .unwrap();
        assert_eq!(huber.delta, 2.5);
    }

    #[test]
    fn refuses_settings_it_does_not_compute_naming_them() {
        for (text, named) in [
            (
                r#"{"class_name": "MeanSquaredError", "config": {"reduction": "sum"}}"#,
                "reduction",
            ),
            (r#"{"class_name": "Huber", "config": {"delta": -1}}"#, "delta=-1"),
            (
                r#"{"class_name": "Hinge", "config": {"from_logits": true}}"#,
                "from_logits",
            ),
            (
                r#"{"class_name": "SparseCategoricalCrossentropy", "config": {"ignore_class": 3}}"#,
                "ignore_class",
            ),
            (
                r#"{"class_name": "BinaryFocalCrossentropy", "config": {}}"#,
                "BinaryFocalCrossentropy",
            ),
            (r#""cosine_similarity""#, "cosine_similarity"),
        ] {
            let e = read(text).unwrap_err().to_string();
            assert!(e.contains(named), "{text}: {e}");
        }
    }

    #[test]
    fn writes_names_for_defaults_and_objects_that_read_back() {
        assert_eq!(
            loss_config(&LossKind::MeanSquaredError.into(), Flavour::Keras3),
            Node::str("mean_squared_error")
        );
        let losses = [
            LossFunction {
                from_logits: true,
                label_smoothing: 0.1,
                ..LossKind::CategoricalCrossentropy.into()
            },
            LossFunction {
                delta: 0.5,
                ..LossKind::Huber.into()
            },
            LossFunction {
                from_logits: true,
                ..LossKind::SparseCategoricalCrossentropy.into()
            },
        ];
        for loss in losses {
            for flavour in [Flavour::TfKeras, Flavour::Keras3] {
                let text = loss_config(&loss, flavour).to_json();
                assert_eq!(read(&text).unwrap(), loss, "{text}");
            }
        }
    }
}
