//! The configs of a Dense layer's regularizers (`L1`, `L2`, `L1L2`, or the names `l1`,
//! `l2`, `l1_l2`) and constraints (`MaxNorm`, `NonNeg`, `UnitNorm`, `MinMaxNorm`, or
//! their snake-case names), as tf_keras and Keras 3 write them; written in the
//! `{"module", "class_name", "config", "registered_name"}` form both read.

use super::json::Node;
use microdense_core::{Constraint, NormAxis, Regularizer};
use serde_json::{Map, Value};

/// A serialized object's config.
type Config = Map<String, Value>;

/// A class name (or its string alias) and its config, from a name or an object.
fn class_and_config(value: &Value) -> Result<(&str, Option<&Config>), String> {
    match value {
        Value::String(s) => Ok((s.as_str(), None)),
        Value::Object(o) => {
            let class = o
                .get("class_name")
                .and_then(Value::as_str)
                .ok_or("an object without class_name")?;
            Ok((class, o.get("config").and_then(Value::as_object)))
        }
        other => Err(format!("{other}")),
    }
}

/// A finite, non-negative float setting, or `default` when absent.
fn setting(config: Option<&Config>, key: &str, default: f32) -> Result<f32, String> {
    match config.and_then(|c| c.get(key)) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v
            .as_f64()
            .map(|x| x as f32)
            .filter(|x| x.is_finite() && *x >= 0.0)
            .ok_or_else(|| format!("{key}={v} (must be a number of at least 0)")),
    }
}

/// Reads a `kernel_regularizer`/`bias_regularizer` value (`None` for null).
pub fn regularizer_from_config(value: &Value) -> Result<Option<Regularizer>, String> {
    if value.is_null() {
        return Ok(None);
    }
    let (class, config) = class_and_config(value)?;
    let (l1, l2) = match class {
        // Keras's defaults: L1(0.01), L2(0.01), L1L2(0, 0).
        "L1" | "l1" => (setting(config, "l1", 0.01)?, 0.0),
        "L2" | "l2" => (0.0, setting(config, "l2", 0.01)?),
        "L1L2" | "l1_l2" => (setting(config, "l1", 0.0)?, setting(config, "l2", 0.0)?),
        other => return Err(format!("{other:?} (microdense has L1, L2 and L1L2)")),
    };
    Ok(Some(Regularizer { l1, l2 }))
}

/// Reads a `kernel_constraint` (`bias` false) or `bias_constraint` value (`None` for null).
pub fn constraint_from_config(value: &Value, bias: bool) -> Result<Option<Constraint>, String> {
    if value.is_null() {
        return Ok(None);
    }
    let (class, config) = class_and_config(value)?;
    let axis = || -> Result<NormAxis, String> {
        match config.and_then(|c| c.get("axis")) {
            None | Some(Value::Null) => Ok(NormAxis::Inputs),
            Some(v) => match v.as_i64() {
                Some(0) => Ok(NormAxis::Inputs),
                Some(-1) if bias => Ok(NormAxis::Inputs),
                Some(1 | -1) if !bias => Ok(NormAxis::Units),
                _ => Err(format!(
                    "axis={v} (a Dense {} has axes 0{})",
                    tensor(bias),
                    if bias { "" } else { " and 1" }
                )),
            },
        }
    };
    Ok(Some(match class {
        "MaxNorm" | "max_norm" => Constraint::MaxNorm {
            max_value: setting(config, "max_value", 2.0)?,
            axis: axis()?,
        },
        "NonNeg" | "non_neg" => Constraint::NonNeg,
        "UnitNorm" | "unit_norm" => Constraint::UnitNorm { axis: axis()? },
        "MinMaxNorm" | "min_max_norm" => Constraint::MinMaxNorm {
            min_value: setting(config, "min_value", 0.0)?,
            max_value: setting(config, "max_value", 1.0)?,
            rate: setting(config, "rate", 1.0)?,
            axis: axis()?,
        },
        other => {
            return Err(format!(
                "{other:?} (microdense has MaxNorm, NonNeg, UnitNorm and MinMaxNorm)"
            ))
        }
    }))
}

fn tensor(bias: bool) -> &'static str {
    if bias {
        "bias"
    } else {
        "kernel"
    }
}

/// A serialized Keras object of `module`.
fn object(module: &str, class: &str, config: Vec<(&str, Node)>) -> Node {
    Node::map([
        ("module", Node::str(module)),
        ("class_name", Node::str(class)),
        ("config", Node::map(config)),
        ("registered_name", Node::Null),
    ])
}

/// The config of an optional regularizer (null for none).
pub fn regularizer_config(regularizer: Option<&Regularizer>) -> Node {
    let Some(r) = regularizer else { return Node::Null };
    let config = vec![("l1", Node::f32(r.l1)), ("l2", Node::f32(r.l2))];
    object("keras.regularizers", "L1L2", config)
}

/// The config of an optional constraint (null for none).
pub fn constraint_config(constraint: Option<&Constraint>) -> Node {
    let Some(c) = constraint else { return Node::Null };
    let axis = |a: NormAxis| Node::Int(if a == NormAxis::Inputs { 0 } else { 1 });
    let (class, config) = match *c {
        Constraint::MaxNorm { max_value, axis: a } => (
            "MaxNorm",
            vec![("max_value", Node::f32(max_value)), ("axis", axis(a))],
        ),
        Constraint::NonNeg => ("NonNeg", vec![]),
        Constraint::UnitNorm { axis: a } => ("UnitNorm", vec![("axis", axis(a))]),
        Constraint::MinMaxNorm {
            min_value,
            max_value,
            rate,
            axis: a,
        } => (
            "MinMaxNorm",
            vec![
                ("min_value", Node::f32(min_value)),
                ("max_value", Node::f32(max_value)),
                ("rate", Node::f32(rate)),
                ("axis", axis(a)),
            ],
        ),
    };
    object("keras.constraints", class, config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn reads_both_kerases_forms_and_names() {
        let l2 = regularizer_from_config(&json(r#"{"class_name": "L2", "config": {"l2": 0.001}}"#)).unwrap();
        assert_eq!(l2, Some(Regularizer { l1: 0.0, l2: 0.001 }));
        let l1 = regularizer_from_config(&json(r#""l1""#)).unwrap();
        assert_eq!(l1, Some(Regularizer { l1: 0.01, l2: 0.0 }));
        let k3 = regularizer_from_config(&json(
            r#"{"module": "keras.regularizers", "class_name": "L1L2", "config": {"l1": 0.5, "l2": 0.25}, "registered_name": null}"#,
        ))
        .unwrap();
        assert_eq!(k3, Some(Regularizer { l1: 0.5, l2: 0.25 }));
        let max = constraint_from_config(
            &json(r#"{"class_name": "MaxNorm", "config": {"max_value": 3, "axis": 1}}"#),
            false,
        );
        assert_eq!(
            max.unwrap(),
            Some(Constraint::MaxNorm {
                max_value: 3.0,
                axis: NormAxis::Units
            })
        );
        assert_eq!(
            constraint_from_config(&json(r#""non_neg""#), true).unwrap(),
            Some(Constraint::NonNeg)
        );
    }

    #[test]
    fn refuses_what_it_does_not_compute_naming_it() {
        for (text, named) in [
            (
                r#"{"class_name": "OrthogonalRegularizer", "config": {}}"#,
                "OrthogonalRegularizer",
            ),
            (r#"{"class_name": "L2", "config": {"l2": -1}}"#, "l2=-1"),
        ] {
            let e = regularizer_from_config(&json(text)).unwrap_err();
            assert!(e.contains(named), "{e}");
        }
        let e = constraint_from_config(
            &json(r#"{"class_name": "UnitNorm", "config": {"axis": 1}}"#),
            true,
        )
        .unwrap_err();
        assert!(e.contains("axis=1") && e.contains("bias"), "{e}");
        let e = constraint_from_config(
            &json(r#"{"class_name": "UnitNorm", "config": {"axis": [0, 1]}}"#),
            false,
        )
        .unwrap_err();
        assert!(e.contains("axis=[0,1]"), "{e}");
    }

    #[test]
    fn what_it_writes_reads_back() {
        let r = Regularizer { l1: 0.001, l2: 0.002 };
        let back = regularizer_from_config(&json(&regularizer_config(Some(&r)).to_json())).unwrap();
        assert_eq!(back, Some(r));
        for c in [
            Constraint::MaxNorm {
                max_value: 1.5,
                axis: NormAxis::Units,
            },
            Constraint::NonNeg,
            Constraint::UnitNorm {
                axis: NormAxis::Inputs,
            },
            Constraint::MinMaxNorm {
                min_value: 0.5,
                max_value: 2.0,
                rate: 0.5,
                axis: NormAxis::Inputs,
            },
        ] {
            let back = constraint_from_config(&json(&constraint_config(Some(&c)).to_json()), false).unwrap();
            assert_eq!(back, Some(c));
        }
        assert_eq!(regularizer_config(None), Node::Null);
    }
}
