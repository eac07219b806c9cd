//! The Keras layer classes beyond Dense, Activation, Dropout and Flatten: their configs
//! read and written (tf_keras's and Keras 3's keys), and the nearest supported layer for
//! the classes microdense refuses.

use super::json::Node;
use super::KerasError;
use super::Style;
use microdense_core::{Initializer, Layer, Merge};
use serde_json::{Map, Value};

/// Every Keras class microdense reads.
pub const SUPPORTED_CLASSES: &str = "Dense, Activation, Dropout, Flatten, InputLayer, \
BatchNormalization, LayerNormalization, Rescaling, Normalization, ReLU, LeakyReLU, PReLU, ELU, \
Softmax, Identity, GaussianNoise, GaussianDropout, AlphaDropout, Reshape, ActivityRegularization, \
Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate";

/// The supported layer closest to what an unsupported class does.
pub fn nearest_alternative(class: &str) -> &'static str {
    match class {
        c if c.starts_with("Conv")
            || c.starts_with("SeparableConv")
            || c.starts_with("DepthwiseConv")
            || c.starts_with("LocallyConnected") =>
        {
            "Flatten followed by Dense"
        }
        "LSTM" | "GRU" | "SimpleRNN" | "Bidirectional" | "RNN" | "ConvLSTM2D" | "TimeDistributed" => {
            "Flatten followed by Dense"
        }
        c if c.contains("Pooling") => "Flatten (then Dense)",
        "Lambda" => "an Activation, Rescaling or Normalization layer",
        "Embedding" | "CategoryEncoding" => "Dense on one-hot inputs",
        "UnitNormalization" | "GroupNormalization" | "SpectralNormalization" => "LayerNormalization",
        c if c.starts_with("SpatialDropout") => "Dropout",
        "ThresholdedReLU" => "ReLU with threshold",
        "Permute" | "RepeatVector" | "Cropping1D" | "Cropping2D" | "ZeroPadding1D" | "ZeroPadding2D" => {
            "Reshape to one dimension"
        }
        "Dot" => "Multiply followed by Dense",
        "Discretization" | "Hashing" | "StringLookup" | "IntegerLookup" | "TextVectorization" => {
            "Normalization or Rescaling on numeric inputs"
        }
        _ => "Dense with one of the supported activations",
    }
}

/// Reads one of this module's classes from its layer config; `Ok(None)` for other classes.
/// `name` is the layer's name, for errors.
pub(super) fn read(
    class: &str,
    name: &str,
    config: &Map<String, Value>,
    file: &str,
) -> Result<Option<Layer>, KerasError> {
    let r = Reader { name, config, file };
    if let Some(merge) = Merge::ALL.into_iter().find(|m| m.keras_class() == class) {
        if merge == Merge::Concatenate {
            r.last_axis("axis")?;
        }
        return Ok(Some(Layer::Merge(merge)));
    }
    let layer = match class {
        "BatchNormalization" => {
            r.last_axis("axis")?;
            r.refuse_set(&[
                "beta_regularizer",
                "gamma_regularizer",
                "beta_constraint",
                "gamma_constraint",
                "virtual_batch_size",
                "adjustment",
            ])?;
            if r.config.get("renorm").and_then(Value::as_bool) == Some(true) {
                return Err(r.unsupported("BatchNormalization with renorm"));
            }
            Layer::BatchNormalization {
                momentum: r.number("momentum", Some(0.99))?,
                epsilon: r.number("epsilon", Some(1e-3))?,
                center: r.flag("center", true)?,
                scale: r.flag("scale", true)?,
            }
        }
        "LayerNormalization" => {
            r.last_axis("axis")?;
            r.refuse_set(&[
                "beta_regularizer",
                "gamma_regularizer",
                "beta_constraint",
                "gamma_constraint",
            ])?;
            if r.flag("rms_scaling", false)? {
                return Err(r.unsupported("LayerNormalization with rms_scaling"));
            }
            Layer::LayerNormalization {
                epsilon: r.number("epsilon", Some(1e-3))?,
                center: r.flag("center", true)?,
                scale: r.flag("scale", true)?,
            }
        }
        "Rescaling" => Layer::Rescaling {
            scale: r.number("scale", None)?,
            offset: r.number("offset", Some(0.0))?,
        },
        "Normalization" => {
            r.last_axis("axis")?;
            if ["mean", "variance"]
                .iter()
                .any(|k| r.config.get(*k).is_some_and(|v| !v.is_null()))
            {
                return Err(r.unsupported(
                    "Normalization with mean and variance in its config (adapt() it instead, so they are weights)",
                ));
            }
            Layer::Normalization {
                invert: r.flag("invert", false)?,
            }
        }
        "ReLU" => Layer::Relu {
            max_value: match r.config.get("max_value") {
                None | Some(Value::Null) => None,
                Some(_) => Some(r.number("max_value", None)?),
            },
            negative_slope: r.number("negative_slope", Some(0.0))?,
            threshold: r.number("threshold", Some(0.0))?,
        },
        "LeakyReLU" => {
            let key = if r.config.contains_key("negative_slope") {
                "negative_slope"
            } else {
                "alpha"
            };
            Layer::LeakyRelu {
                negative_slope: r.number(key, Some(0.3))?,
            }
        }
        "PReLU" => {
            r.refuse_set(&["alpha_regularizer", "alpha_constraint", "shared_axes"])?;
            Layer::Prelu
        }
        "ELU" => Layer::Elu {
            alpha: r.number("alpha", Some(1.0))?,
        },
        "Softmax" => {
            r.last_axis("axis")?;
            Layer::Softmax
        }
        "Identity" => Layer::Identity,
        "GaussianNoise" => Layer::GaussianNoise {
            stddev: r.number("stddev", None)?,
        },
        "GaussianDropout" => Layer::GaussianDropout {
            rate: r.number("rate", None)?,
        },
        "AlphaDropout" => {
            r.refuse_set(&["noise_shape"])?;
            Layer::AlphaDropout {
                rate: r.number("rate", None)?,
            }
        }
        "Reshape" => Layer::Reshape,
        "ActivityRegularization" => Layer::ActivityRegularization {
            l1: r.number("l1", Some(0.0))?,
            l2: r.number("l2", Some(0.0))?,
        },
        _ => return Ok(None),
    };
    if let Some(reason) = invalid_settings(&layer) {
        return Err(r.config_error(reason));
    }
    Ok(Some(layer))
}

/// Why a layer's settings cannot work, checked as the engine will.
fn invalid_settings(layer: &Layer) -> Option<String> {
    let layers = [*layer];
    microdense_core::Network::new(1, &layers)
        .err()
        .map(|e| e.to_string())
}

/// The target width of a Reshape's `target_shape`, which must be one dimension (`-1`
/// for "all of them").
pub(super) fn reshape_width(config: &Map<String, Value>, width: usize) -> Option<usize> {
    match config.get("target_shape")?.as_array()?.as_slice() {
        [d] if d.as_i64() == Some(-1) => Some(width),
        [d] => d.as_u64().and_then(|d| usize::try_from(d).ok()),
        _ => None,
    }
}

/// Whether the layer holds a value per feature or mixes features, so it must act on a
/// one-dimensional input (Keras's `axis=-1` on a flat input).
pub(super) fn needs_flat_input(layer: &Layer) -> bool {
    matches!(
        layer,
        Layer::BatchNormalization { .. }
            | Layer::LayerNormalization { .. }
            | Layer::Normalization { .. }
            | Layer::Prelu
            | Layer::Softmax
    )
}

/// Config keys of one layer under construction.
struct Reader<'a> {
    name: &'a str,
    config: &'a Map<String, Value>,
    file: &'a str,
}

impl Reader<'_> {
    fn at(&self) -> String {
        format!("layer {:?}", self.name)
    }

    fn config_error(&self, message: impl Into<String>) -> KerasError {
        KerasError::Config {
            path: self.file.to_string(),
            at: self.at(),
            message: message.into(),
        }
    }

    fn unsupported(&self, what: impl Into<String>) -> KerasError {
        KerasError::Unsupported {
            path: self.file.to_string(),
            at: self.at(),
            what: what.into(),
        }
    }

    /// A number setting (`default` when absent or null).
    fn number(&self, key: &str, default: Option<f32>) -> Result<f32, KerasError> {
        match self.config.get(key) {
            None | Some(Value::Null) => default.ok_or_else(|| self.config_error(format!("has no {key}"))),
            Some(v) => v
                .as_f64()
                .map(|x| x as f32)
                .filter(|x| x.is_finite())
                .ok_or_else(|| self.config_error(format!("{key} {v} is not a finite number"))),
        }
    }

    /// A boolean setting (`default` when absent or null).
    fn flag(&self, key: &str, default: bool) -> Result<bool, KerasError> {
        match self.config.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => v
                .as_bool()
                .ok_or_else(|| self.config_error(format!("{key} {v} is not a boolean"))),
        }
    }

    /// Settings microdense does not implement: each must be absent or null.
    fn refuse_set(&self, keys: &[&str]) -> Result<(), KerasError> {
        for key in keys {
            if let Some(v) = self.config.get(*key).filter(|v| !v.is_null()) {
                return Err(self.unsupported(format!("{key} {v}")));
            }
        }
        Ok(())
    }

    /// An axis setting that must be the last axis: `-1`, `[-1]` or `[1]` (tf_keras writes
    /// the resolved axis of a `(batch, features)` input).
    fn last_axis(&self, key: &str) -> Result<(), KerasError> {
        let axis = match self.config.get(key) {
            None | Some(Value::Null) => return Ok(()),
            Some(Value::Array(a)) if a.len() == 1 => &a[0],
            Some(v) => v,
        };
        match axis.as_i64() {
            Some(-1 | 1) => Ok(()),
            _ => Err(self.unsupported(format!("{key} {axis} (only the last axis of a flat input)"))),
        }
    }
}

/// Adds `layer`'s own settings to its config `node` in `style` (Dense, Activation,
/// Dropout and Flatten are written by the caller).
pub(super) fn write(
    layer: &Layer,
    width: usize,
    style: Style,
    node: &mut Node,
    initializer: fn(Initializer) -> Node,
) {
    let keras3 = style == Style::Keras3;
    // The last axis, in the forms both Kerases accept: an int for BatchNormalization and
    // Softmax, a list for LayerNormalization and Normalization.
    let last_axis = || Node::List(vec![Node::Int(-1)]);
    let affine = |node: &mut Node| {
        node.set("beta_initializer", initializer(Initializer::Zeros));
        node.set("gamma_initializer", initializer(Initializer::Ones));
        for key in [
            "beta_regularizer",
            "gamma_regularizer",
            "beta_constraint",
            "gamma_constraint",
        ] {
            node.set(key, Node::Null);
        }
    };
    let no_regularizers = |node: &mut Node, keys: &[&str]| {
        for key in keys {
            node.set(key, Node::Null);
        }
    };
    match *layer {
        Layer::BatchNormalization {
            momentum,
            epsilon,
            center,
            scale,
        } => {
            node.set("axis", Node::Int(-1));
            node.set("momentum", Node::f32(momentum));
            node.set("epsilon", Node::f32(epsilon));
            node.set("center", Node::Bool(center));
            node.set("scale", Node::Bool(scale));
            affine(node);
            node.set("moving_mean_initializer", initializer(Initializer::Zeros));
            node.set("moving_variance_initializer", initializer(Initializer::Ones));
        }
        Layer::LayerNormalization {
            epsilon,
            center,
            scale,
        } => {
            node.set("axis", last_axis());
            node.set("epsilon", Node::f32(epsilon));
            node.set("center", Node::Bool(center));
            node.set("scale", Node::Bool(scale));
            if keras3 {
                node.set("rms_scaling", Node::Bool(false));
            }
            affine(node);
        }
        Layer::Rescaling { scale, offset } => {
            node.set("scale", Node::f32(scale));
            node.set("offset", Node::f32(offset));
        }
        Layer::Normalization { invert } => {
            node.set("axis", last_axis());
            node.set("invert", Node::Bool(invert));
            node.set("mean", Node::Null);
            node.set("variance", Node::Null);
        }
        Layer::Relu {
            max_value,
            negative_slope,
            threshold,
        } => {
            node.set("max_value", max_value.map_or(Node::Null, Node::f32));
            node.set("negative_slope", Node::f32(negative_slope));
            node.set("threshold", Node::f32(threshold));
        }
        Layer::LeakyRelu { negative_slope } => {
            node.set(
                if keras3 { "negative_slope" } else { "alpha" },
                Node::f32(negative_slope),
            );
        }
        Layer::Prelu => {
            node.set("alpha_initializer", initializer(Initializer::Zeros));
            no_regularizers(node, &["alpha_regularizer", "alpha_constraint", "shared_axes"]);
        }
        Layer::Elu { alpha } => node.set("alpha", Node::f32(alpha)),
        Layer::Softmax => node.set("axis", Node::Int(-1)),
        Layer::GaussianNoise { stddev } => {
            node.set("stddev", Node::f32(stddev));
            node.set("seed", Node::Null);
        }
        Layer::GaussianDropout { rate } | Layer::AlphaDropout { rate } => {
            node.set("rate", Node::f32(rate));
            node.set("seed", Node::Null);
        }
        Layer::Reshape => node.set("target_shape", Node::List(vec![Node::Int(width as i64)])),
        Layer::ActivityRegularization { l1, l2 } => {
            node.set("l1", Node::f32(l1));
            node.set("l2", Node::f32(l2));
        }
        Layer::Merge(Merge::Concatenate) => node.set("axis", Node::Int(-1)),
        Layer::Dense { .. }
        | Layer::Activation(_)
        | Layer::Dropout { .. }
        | Layer::Flatten
        | Layer::Identity
        | Layer::Merge(_) => {}
    }
}
