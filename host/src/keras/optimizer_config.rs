//! Optimizer configs ⇄ [`Optimizer`]: `{"class_name": "Adam", "config": {...}}` as
//! tf_keras (`Custom>Adam`, `is_legacy_optimizer`), Keras 2 (`lr`, `decay`) and Keras 3
//! write them, with their learning-rate schedules.
//!
//! Read: SGD, Adam, AdamW, Nadam, RMSprop and Adagrad with `learning_rate` (or `lr`) a
//! number or one of the five schedules, `weight_decay`, one of `clipnorm` /
//! `global_clipnorm` / `clipvalue`. Refused, naming the setting: other optimizers and
//! schedules, Keras 2's `decay`, EMA, gradient accumulation, loss scaling, and the legacy
//! Adagrad and Nadam (whose updates differ from the current ones).
//!
//! Written: plain SGD (constant rate, no clipping or weight decay) as `"SGD"` with the
//! arguments every Keras accepts (tf_keras builds its legacy SGD from it, whose update and
//! saved state are the same); anything else in `.h5` files as tf_keras 2.21 writes its
//! own (`Custom>Adam`, `is_legacy_optimizer: false`, so tf_keras rebuilds the same
//! optimizer and restores its state; Keras 3 falls back to the class's defaults there, as
//! for tf_keras's own files), and in `.keras` archives as Keras 3 writes it.

use super::json::Node;
use super::KerasError;
use microdense_core::optimizer::{AdamSettings, MAX_BOUNDARIES};
use microdense_core::{Algorithm, Clipping, Optimizer, Schedule};
use serde_json::{Map, Value};

/// The optimizer of an optimizer config (an object, or a bare name such as `"adam"`).
pub fn optimizer_from_config(value: &Value, file: &str) -> Result<Optimizer, KerasError> {
    let site = SettingSite {
        path: file,
        at: "optimizer",
    };
    let empty = Map::new();
    let (class, config) = match value {
        Value::String(s) => (s.as_str(), &empty),
        Value::Object(o) => (
            o.get("class_name").and_then(Value::as_str).unwrap_or(""),
            o.get("config").and_then(Value::as_object).unwrap_or(&empty),
        ),
        other => return Err(site.unsupported(format!("optimizer {other}"))),
    };
    let base = class
        .strip_prefix("Custom>")
        .unwrap_or(class)
        .to_ascii_lowercase();
    let legacy = config
        .get("is_legacy_optimizer")
        .and_then(Value::as_bool)
        .unwrap_or(config.contains_key("decay"));
    let c = Settings { site, config };
    let adam = || -> Result<AdamSettings, KerasError> {
        Ok(AdamSettings {
            beta_1: c.number("beta_1", 0.9)?,
            beta_2: c.number("beta_2", 0.999)?,
            epsilon: c.number("epsilon", 1e-7)?,
            amsgrad: c.flag("amsgrad"),
        })
    };
    let algorithm = match base.as_str() {
        "sgd" => Algorithm::Sgd {
            momentum: c.number("momentum", 0.0)?,
            nesterov: c.flag("nesterov"),
        },
        "adam" => Algorithm::Adam(adam()?),
        "adamw" => Algorithm::AdamW(adam()?),
        "nadam" if !legacy => Algorithm::Nadam {
            beta_1: c.number("beta_1", 0.9)?,
            beta_2: c.number("beta_2", 0.999)?,
            epsilon: c.number("epsilon", 1e-7)?,
        },
        "rmsprop" => Algorithm::RmsProp {
            rho: c.number("rho", 0.9)?,
            momentum: c.number("momentum", 0.0)?,
            epsilon: c.number("epsilon", 1e-7)?,
            centered: c.flag("centered"),
        },
        "adagrad" if !legacy => Algorithm::Adagrad {
            initial_accumulator_value: c.number("initial_accumulator_value", 0.1)?,
            epsilon: c.number("epsilon", 1e-7)?,
        },
        "nadam" | "adagrad" => {
            return Err(site.unsupported(format!(
                "the legacy optimizer {class:?} (its update differs from Keras's current {class})"
            )))
        }
        _ => {
            return Err(site.unsupported(format!(
                "optimizer {class:?} (microdense trains with SGD, Adam, AdamW, Nadam, RMSprop, Adagrad)"
            )))
        }
    };
    let learning_rate = match config.get("learning_rate").or_else(|| config.get("lr")) {
        None | Some(Value::Null) => Schedule::Constant(algorithm.default_learning_rate()),
        Some(Value::Object(o)) => schedule_from_config(o, &site)?,
        Some(v) => Schedule::Constant(c.value_number("learning_rate", v)?),
    };
    let default_decay = if matches!(algorithm, Algorithm::AdamW(_)) {
        0.004
    } else {
        0.0
    };
    let weight_decay = c.number("weight_decay", default_decay)?;
    let mut clippings = Vec::new();
    for (key, make) in [
        ("clipnorm", Clipping::Norm as fn(f32) -> Clipping),
        ("global_clipnorm", Clipping::GlobalNorm),
        ("clipvalue", Clipping::Value),
    ] {
        if let Some(v) = c.optional(key)? {
            clippings.push(make(v));
        }
    }
    if clippings.len() > 1 {
        return Err(site.config("sets more than one of clipnorm, global_clipnorm and clipvalue".into()));
    }
    if let Some(d) = c.optional("decay")?.filter(|d| *d != 0.0) {
        return Err(site.unsupported(format!("decay {d} (Keras 2's per-step decay)")));
    }
    if c.flag("use_ema") {
        return Err(site.unsupported("use_ema".into()));
    }
    for key in ["gradient_accumulation_steps", "loss_scale_factor"] {
        if let Some(v) = config.get(key).filter(|v| !v.is_null()) {
            return Err(site.unsupported(format!("{key} {v}")));
        }
    }
    let optimizer = Optimizer {
        algorithm,
        learning_rate,
        weight_decay,
        clipping: clippings.pop().unwrap_or_default(),
    };
    optimizer
        .check()
        .map_err(|why| site.config(format!("invalid {class} settings: {why}")))?;
    Ok(optimizer)
}

/// A learning-rate schedule object.
fn schedule_from_config(o: &Map<String, Value>, site: &SettingSite) -> Result<Schedule, KerasError> {
    let class = o.get("class_name").and_then(Value::as_str).unwrap_or("object");
    let empty = Map::new();
    let config = o.get("config").and_then(Value::as_object).unwrap_or(&empty);
    let c = Settings {
        site: SettingSite {
            path: site.path,
            at: "learning_rate",
        },
        config,
    };
    let need = |key: &str| {
        c.optional(key)?
            .ok_or_else(|| c.site.config(format!("{class} has no {key}")))
    };
    Ok(match class {
        "ExponentialDecay" => Schedule::ExponentialDecay {
            initial_learning_rate: need("initial_learning_rate")?,
            decay_steps: need("decay_steps")?,
            decay_rate: need("decay_rate")?,
            staircase: c.flag("staircase"),
        },
        "InverseTimeDecay" => Schedule::InverseTimeDecay {
            initial_learning_rate: need("initial_learning_rate")?,
            decay_steps: need("decay_steps")?,
            decay_rate: need("decay_rate")?,
            staircase: c.flag("staircase"),
        },
        "CosineDecay" => Schedule::CosineDecay {
            initial_learning_rate: need("initial_learning_rate")?,
            decay_steps: need("decay_steps")?,
            alpha: c.number("alpha", 0.0)?,
            warmup_target: c.optional("warmup_target")?,
            warmup_steps: c.number("warmup_steps", 0.0)?,
        },
        "PolynomialDecay" => Schedule::PolynomialDecay {
            initial_learning_rate: need("initial_learning_rate")?,
            decay_steps: need("decay_steps")?,
            end_learning_rate: c.number("end_learning_rate", 0.0001)?,
            power: c.number("power", 1.0)?,
            cycle: c.flag("cycle"),
        },
        "PiecewiseConstantDecay" => {
            let list = |key: &str| -> Result<Vec<f32>, KerasError> {
                config
                    .get(key)
                    .and_then(Value::as_array)
                    .ok_or_else(|| c.site.config(format!("{class} has no {key} list")))?
                    .iter()
                    .map(|v| c.value_number(key, v))
                    .collect()
            };
            let (boundaries, values) = (list("boundaries")?, list("values")?);
            Schedule::piecewise_constant(&boundaries, &values).ok_or_else(|| {
                c.site.config(format!(
                    "{class} has {} boundaries and {} values (one more value than boundaries, \
                     at most {MAX_BOUNDARIES} boundaries)",
                    boundaries.len(),
                    values.len()
                ))
            })?
        }
        other => {
            return Err(c.site.unsupported(format!(
                "schedule {other:?} (microdense has ExponentialDecay, PiecewiseConstantDecay, \
                 InverseTimeDecay, CosineDecay, PolynomialDecay)"
            )))
        }
    })
}

/// Where a setting is read (the file and the part of the configuration), for errors.
#[derive(Clone, Copy)]
struct SettingSite<'a> {
    path: &'a str,
    at: &'static str,
}

impl SettingSite<'_> {
    fn unsupported(&self, what: String) -> KerasError {
        KerasError::Unsupported {
            path: self.path.to_string(),
            at: self.at.to_string(),
            what,
        }
    }

    fn config(&self, message: String) -> KerasError {
        KerasError::Config {
            path: self.path.to_string(),
            at: self.at.to_string(),
            message,
        }
    }
}

/// A config object's settings.
struct Settings<'a> {
    site: SettingSite<'a>,
    config: &'a Map<String, Value>,
}

impl Settings<'_> {
    /// A number, `None` when absent or null.
    fn optional(&self, key: &str) -> Result<Option<f32>, KerasError> {
        match self.config.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => self.value_number(key, v).map(Some),
        }
    }

    /// A number, `default` when absent or null.
    fn number(&self, key: &str, default: f32) -> Result<f32, KerasError> {
        Ok(self.optional(key)?.unwrap_or(default))
    }

    /// A finite number.
    fn value_number(&self, key: &str, v: &Value) -> Result<f32, KerasError> {
        match v {
            Value::Number(n) => n
                .as_f64()
                .map(|x| x as f32)
                .filter(|x| x.is_finite())
                .ok_or_else(|| self.site.config(format!("{key} {n} is out of range"))),
            Value::Object(o) => {
                let class = o.get("class_name").and_then(Value::as_str).unwrap_or("object");
                Err(self.site.unsupported(format!("{key} given by {class:?}")))
            }
            other => Err(self.site.config(format!("{key} {other} is not a number"))),
        }
    }

    /// A boolean, false when absent.
    fn flag(&self, key: &str) -> bool {
        self.config.get(key).and_then(Value::as_bool).unwrap_or(false)
    }
}

/// Which Keras a written config is for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// tf_keras 2.21 (`.h5` files' `training_config`).
    TfKeras,
    /// Keras 3 (`.keras` archives' `compile_config`).
    Keras3,
}

/// The optimizer config of `optimizer` for `flavour`.
pub fn optimizer_config(optimizer: &Optimizer, flavour: Flavour) -> Node {
    let class = optimizer.algorithm.keras_class();
    if let Some(sgd) = optimizer.as_sgd() {
        // Every Keras's SGD accepts exactly these.
        let name = if flavour == Flavour::TfKeras { "SGD" } else { "sgd" };
        let config = Node::map([
            ("name", Node::str(name)),
            ("learning_rate", Node::f32(sgd.learning_rate)),
            ("momentum", Node::f32(sgd.momentum)),
            ("nesterov", Node::Bool(sgd.nesterov)),
        ]);
        return wrap(flavour, class, config);
    }
    let optional = |key: Clipping| match (optimizer.clipping, key) {
        (Clipping::Norm(v), Clipping::Norm(_))
        | (Clipping::GlobalNorm(v), Clipping::GlobalNorm(_))
        | (Clipping::Value(v), Clipping::Value(_)) => Node::f32(v),
        _ => Node::Null,
    };
    let name = match flavour {
        Flavour::TfKeras => class.to_string(),
        Flavour::Keras3 => keras3_name(class),
    };
    let weight_decay = if optimizer.weight_decay > 0.0 {
        Node::f32(optimizer.weight_decay)
    } else {
        Node::Null
    };
    let mut pairs: Vec<(&str, Node)> = vec![
        ("name", Node::Str(name)),
        ("learning_rate", schedule_config(&optimizer.learning_rate)),
        ("weight_decay", weight_decay),
        ("clipnorm", optional(Clipping::Norm(0.0))),
        ("global_clipnorm", optional(Clipping::GlobalNorm(0.0))),
        ("clipvalue", optional(Clipping::Value(0.0))),
        ("use_ema", Node::Bool(false)),
        ("ema_momentum", Node::Float(0.99)),
        ("ema_overwrite_frequency", Node::Null),
    ];
    match flavour {
        Flavour::TfKeras => {
            pairs.push(("jit_compile", Node::Bool(false)));
            pairs.push(("is_legacy_optimizer", Node::Bool(false)));
        }
        Flavour::Keras3 => {
            pairs.push(("loss_scale_factor", Node::Null));
            pairs.push(("gradient_accumulation_steps", Node::Null));
        }
    }
    match optimizer.algorithm {
        Algorithm::Sgd { momentum, nesterov } => {
            pairs.push(("momentum", Node::f32(momentum)));
            pairs.push(("nesterov", Node::Bool(nesterov)));
        }
        Algorithm::Adam(a) | Algorithm::AdamW(a) => {
            pairs.push(("beta_1", Node::f32(a.beta_1)));
            pairs.push(("beta_2", Node::f32(a.beta_2)));
            pairs.push(("epsilon", Node::f32(a.epsilon)));
            pairs.push(("amsgrad", Node::Bool(a.amsgrad)));
        }
        Algorithm::Nadam {
            beta_1,
            beta_2,
            epsilon,
        } => {
            pairs.push(("beta_1", Node::f32(beta_1)));
            pairs.push(("beta_2", Node::f32(beta_2)));
            pairs.push(("epsilon", Node::f32(epsilon)));
        }
        Algorithm::RmsProp {
            rho,
            momentum,
            epsilon,
            centered,
        } => {
            pairs.push(("rho", Node::f32(rho)));
            pairs.push(("momentum", Node::f32(momentum)));
            pairs.push(("epsilon", Node::f32(epsilon)));
            pairs.push(("centered", Node::Bool(centered)));
        }
        Algorithm::Adagrad {
            initial_accumulator_value,
            epsilon,
        } => {
            pairs.push(("initial_accumulator_value", Node::f32(initial_accumulator_value)));
            pairs.push(("epsilon", Node::f32(epsilon)));
        }
    }
    let class = match flavour {
        Flavour::TfKeras => format!("Custom>{class}"),
        Flavour::Keras3 => class.to_string(),
    };
    wrap(flavour, &class, Node::map(pairs))
}

/// `{"class_name", "config"}`, with Keras 3's `module` and `registered_name`.
fn wrap(flavour: Flavour, class: &str, config: Node) -> Node {
    match flavour {
        Flavour::TfKeras => Node::map([("class_name", Node::str(class)), ("config", config)]),
        Flavour::Keras3 => Node::map([
            ("module", Node::str("keras.optimizers")),
            ("class_name", Node::str(class)),
            ("config", config),
            ("registered_name", Node::Null),
        ]),
    }
}

/// Keras 3's automatic optimizer name: the class in snake case as Keras's
/// `to_snake_case` makes it (`AdamW` → `adam_w`, `RMSprop` → `rm_sprop`).
pub(crate) fn keras3_name(class: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = class.chars().collect();
    for (i, &ch) in chars.iter().enumerate() {
        let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
        let prev_lower = i > 0 && chars[i - 1].is_ascii_lowercase();
        if ch.is_ascii_uppercase() && i > 0 && (next_lower || prev_lower) {
            out.push('_');
        }
        out.push(ch.to_ascii_lowercase());
    }
    out
}

/// A learning rate: a number, or a schedule object.
fn schedule_config(schedule: &Schedule) -> Node {
    let Some(class) = schedule.keras_class() else {
        return Node::f32(schedule.at(0));
    };
    let list = |v: &[f32]| Node::List(v.iter().map(|&x| Node::f32(x)).collect());
    let mut pairs: Vec<(&str, Node)> = match schedule {
        Schedule::Constant(_) => Vec::new(),
        Schedule::ExponentialDecay {
            initial_learning_rate,
            decay_steps,
            decay_rate,
            staircase,
        }
        | Schedule::InverseTimeDecay {
            initial_learning_rate,
            decay_steps,
            decay_rate,
            staircase,
        } => vec![
            ("initial_learning_rate", Node::f32(*initial_learning_rate)),
            ("decay_steps", Node::f32(*decay_steps)),
            ("decay_rate", Node::f32(*decay_rate)),
            ("staircase", Node::Bool(*staircase)),
        ],
        Schedule::PiecewiseConstantDecay { boundaries, values } => {
            vec![("boundaries", list(boundaries)), ("values", list(values))]
        }
        Schedule::CosineDecay {
            initial_learning_rate,
            decay_steps,
            alpha,
            warmup_target,
            warmup_steps,
        } => vec![
            ("initial_learning_rate", Node::f32(*initial_learning_rate)),
            ("decay_steps", Node::f32(*decay_steps)),
            ("alpha", Node::f32(*alpha)),
            ("warmup_target", warmup_target.map_or(Node::Null, Node::f32)),
            ("warmup_steps", Node::f32(*warmup_steps)),
        ],
        Schedule::PolynomialDecay {
            initial_learning_rate,
            decay_steps,
            end_learning_rate,
            power,
            cycle,
        } => vec![
            ("initial_learning_rate", Node::f32(*initial_learning_rate)),
            ("decay_steps", Node::f32(*decay_steps)),
            ("end_learning_rate", Node::f32(*end_learning_rate)),
            ("power", Node::f32(*power)),
            ("cycle", Node::Bool(*cycle)),
        ],
    };
    pairs.push(("name", Node::str(class)));
    Node::map([
        ("module", Node::str("keras.optimizers.schedules")),
        ("class_name", Node::str(class)),
        ("config", Node::map(pairs)),
        ("registered_name", Node::Null),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Optimizer, KerasError> {
        optimizer_from_config(&serde_json::from_str(text).unwrap(), "t.h5")
    }

    fn round_trips(optimizer: &Optimizer) {
        for flavour in [Flavour::TfKeras, Flavour::Keras3] {
            let text = optimizer_config(optimizer, flavour).to_json();
            assert_eq!(&parse(&text).unwrap(), optimizer, "{text}");
        }
    }

    #[test]
    fn reads_what_tf_keras_and_keras3_write_and_round_trips() {
        let adamw = parse(
            r#"{"class_name": "Custom>AdamW", "config": {"name": "AdamW", "weight_decay": 0.004, "clipnorm": 1.0, "global_clipnorm": null, "clipvalue": null, "use_ema": false, "ema_momentum": 0.99, "ema_overwrite_frequency": null, "jit_compile": false, "is_legacy_optimizer": false, "learning_rate": 0.0010000000474974513, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": false}}"#,
        )
        .unwrap();
        assert_eq!(adamw.clipping, Clipping::Norm(1.0));
        assert_eq!(adamw.weight_decay, 0.004);
        assert!(matches!(adamw.algorithm, Algorithm::AdamW(_)));
        round_trips(&adamw);
        let sched = parse(
            r#"{"module": "keras.optimizers", "class_name": "SGD", "config": {"name": "sgd", "learning_rate": {"module": "keras.optimizers.schedules", "class_name": "ExponentialDecay", "config": {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5, "staircase": false, "name": "ExponentialDecay"}, "registered_name": null}, "weight_decay": null, "clipnorm": null, "global_clipnorm": null, "clipvalue": null, "use_ema": false, "ema_momentum": 0.99, "ema_overwrite_frequency": null, "loss_scale_factor": null, "gradient_accumulation_steps": null, "momentum": 0.0, "nesterov": false}, "registered_name": null}"#,
        )
        .unwrap();
        assert_eq!(sched.learning_rate.at(10), 0.05);
        round_trips(&sched);
        for name in ["adam", "nadam", "rmsprop", "adagrad", "sgd", "adamw"] {
            let o = parse(&format!("{name:?}")).unwrap();
            assert_eq!(o.algorithm.keras_class().to_ascii_lowercase(), name);
            round_trips(&o);
        }
        assert_eq!(keras3_name("RMSprop"), "rm_sprop");
        assert_eq!(keras3_name("AdamW"), "adam_w");
    }

    #[test]
    fn refuses_what_it_cannot_train_with() {
        let cases = [
            (r#"{"class_name": "Adadelta", "config": {}}"#, "Adadelta"),
            (
                r#"{"class_name": "Adagrad", "config": {"lr": 0.01, "decay": 0.0}}"#,
                "legacy",
            ),
            (
                r#"{"class_name": "SGD", "config": {"lr": 0.1, "decay": 0.001}}"#,
                "decay",
            ),
            (
                r#"{"class_name": "Adam", "config": {"clipnorm": 1, "clipvalue": 1}}"#,
                "more than one",
            ),
            (
                r#"{"class_name": "Adam", "config": {"learning_rate": {"class_name": "CosineDecayRestarts", "config": {}}}}"#,
                "CosineDecayRestarts",
            ),
            (
                r#"{"class_name": "Adam", "config": {"use_ema": true}}"#,
                "use_ema",
            ),
            (r#"{"class_name": "RMSprop", "config": {"rho": 1.5}}"#, "invalid"),
        ];
        for (text, needle) in cases {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }
}
