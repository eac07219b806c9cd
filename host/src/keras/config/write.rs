//! Writing a [`Model`]'s architecture as a `model_config` value in tf_keras 2.x's or
//! Keras 3's style.

use crate::keras::json::Node;
use crate::keras::regularizer_config::{constraint_config, regularizer_config};
use crate::keras::{layers, Style};
use crate::model::{Model, ModelKind};
use microdense_core::{Initializer, Layer, Source};

/// The `model_config` value of `model` in `style`: `{"class_name", "config", ...}`
/// (without `keras_version`/`backend`, which only `to_json` adds).
pub fn model_to_config(model: &Model, style: Style) -> Node {
    let functional = model.kind == ModelKind::Functional;
    let mut layers = vec![input_layer_entry(model, style)];
    for i in 0..model.layers.len() {
        layers.push(layer_entry(model, i, style));
    }
    let input_shape = Node::batch_shape(&model.input_shape);
    let last = model
        .layers
        .last()
        .map_or(model.input_name.as_str(), |l| l.name.as_str());
    match (style, functional) {
        (Style::TfKeras | Style::TfKerasH5, false) => Node::map([
            ("class_name", Node::str("Sequential")),
            (
                "config",
                Node::map([("name", Node::str(&model.name)), ("layers", Node::List(layers))]),
            ),
        ]),
        (Style::TfKeras | Style::TfKerasH5, true) => Node::map([
            ("class_name", Node::str("Functional")),
            (
                "config",
                Node::map([
                    ("name", Node::str(&model.name)),
                    ("trainable", Node::Bool(true)),
                    ("layers", Node::List(layers)),
                    ("input_layers", Node::List(vec![endpoint(&model.input_name)])),
                    ("output_layers", Node::List(vec![endpoint(last)])),
                ]),
            ),
        ]),
        (Style::Keras3, false) => Node::map([
            ("module", Node::str("keras")),
            ("class_name", Node::str("Sequential")),
            (
                "config",
                Node::map([
                    ("name", Node::str(&model.name)),
                    ("trainable", Node::Bool(true)),
                    ("dtype", dtype(style)),
                    ("layers", Node::List(layers)),
                    ("build_input_shape", input_shape.clone()),
                ]),
            ),
            ("registered_name", Node::Null),
            ("build_config", Node::map([("input_shape", input_shape)])),
        ]),
        (Style::Keras3, true) => Node::map([
            ("module", Node::str("keras.src.models.functional")),
            ("class_name", Node::str("Functional")),
            (
                "config",
                Node::map([
                    ("name", Node::str(&model.name)),
                    ("trainable", Node::Bool(true)),
                    ("layers", Node::List(layers)),
                    ("input_layers", endpoint(&model.input_name)),
                    ("output_layers", endpoint(last)),
                ]),
            ),
            ("registered_name", Node::str("Functional")),
            ("build_config", Node::map([("input_shape", Node::Null)])),
        ]),
    }
}

/// `[name, 0, 0]`: a layer's first output tensor.
fn endpoint(name: &str) -> Node {
    Node::List(vec![Node::str(name), Node::Int(0), Node::Int(0)])
}

/// The layer dtype: a string in tf_keras, a `DTypePolicy` object in Keras 3.
fn dtype(style: Style) -> Node {
    match style {
        Style::TfKeras | Style::TfKerasH5 => Node::str("float32"),
        Style::Keras3 => Node::map([
            ("module", Node::str("keras")),
            ("class_name", Node::str("DTypePolicy")),
            ("config", Node::map([("name", Node::str("float32"))])),
            ("registered_name", Node::Null),
        ]),
    }
}

/// The `InputLayer` entry of the layer list.
fn input_layer_entry(model: &Model, style: Style) -> Node {
    let shape_key = match style {
        Style::TfKeras | Style::TfKerasH5 => "batch_input_shape",
        Style::Keras3 => "batch_shape",
    };
    let mut config = Node::map([
        (shape_key, Node::batch_shape(&model.input_shape)),
        ("dtype", Node::str("float32")),
        ("sparse", Node::Bool(false)),
    ]);
    if style != Style::Keras3 {
        config.set("ragged", Node::Bool(false));
    }
    config.set("name", Node::str(&model.input_name));
    if style != Style::Keras3 {
        config.set("optional", Node::Bool(false));
    }
    let mut entry = match style {
        Style::TfKerasH5 => Node::map([("class_name", Node::str("InputLayer")), ("config", config)]),
        _ => Node::map([
            ("module", Node::str("keras.layers")),
            ("class_name", Node::str("InputLayer")),
            ("config", config),
            ("registered_name", Node::Null),
        ]),
    };
    if model.kind == ModelKind::Functional {
        entry.set("name", Node::str(&model.input_name));
        entry.set("inbound_nodes", Node::List(Vec::new()));
    }
    entry
}

/// The entry of layer `i` (class, config, build config and, in Functional models, its
/// inbound node).
fn layer_entry(model: &Model, i: usize, style: Style) -> Node {
    let named = &model.layers[i];
    let (input_shape, _) = model.layer_shapes(i);
    let build_shape = match named.layer {
        Layer::Merge(_) => Node::List(
            inputs_of(model, i)
                .iter()
                .map(|(_, shape)| Node::batch_shape(shape))
                .collect(),
        ),
        _ => Node::batch_shape(&input_shape),
    };
    let mut config = Node::map([
        ("name", Node::str(&named.name)),
        ("trainable", Node::Bool(named.trainable)),
        ("dtype", dtype(style)),
    ]);
    match named.layer {
        Layer::Dense {
            units,
            activation,
            use_bias,
            activity_regularizer,
        } => {
            config.set("units", Node::Int(units.into()));
            config.set("activation", Node::str(activation.keras_name()));
            config.set("use_bias", Node::Bool(use_bias));
            config.set("kernel_initializer", initializer(named.kernel_initializer));
            config.set("bias_initializer", initializer(named.bias_initializer));
            let r = &named.regularization;
            config.set(
                "kernel_regularizer",
                regularizer_config(r.kernel_regularizer.as_ref()),
            );
            config.set(
                "bias_regularizer",
                regularizer_config(r.bias_regularizer.as_ref()),
            );
            // Keras 3 writes the key only when there is a regularizer; tf_keras always.
            if style != Style::Keras3 || activity_regularizer.is_some() {
                config.set(
                    "activity_regularizer",
                    regularizer_config(activity_regularizer.as_ref()),
                );
            }
            config.set(
                "kernel_constraint",
                constraint_config(r.kernel_constraint.as_ref()),
            );
            config.set("bias_constraint", constraint_config(r.bias_constraint.as_ref()));
        }
        Layer::Activation(activation) => config.set("activation", Node::str(activation.keras_name())),
        Layer::Dropout { rate } => {
            config.set("rate", Node::f32(rate));
            config.set("noise_shape", Node::Null);
            config.set("seed", Node::Null);
        }
        Layer::Flatten => config.set("data_format", Node::str("channels_last")),
        other => layers::write(
            &other,
            input_shape.iter().product(),
            style,
            &mut config,
            initializer,
        ),
    }
    let class = Node::str(named.layer.keras_class());
    let mut entry = match style {
        Style::TfKerasH5 => Node::map([("class_name", class), ("config", config)]),
        _ => Node::map([
            ("module", Node::str("keras.layers")),
            ("class_name", class),
            ("config", config),
            ("registered_name", Node::Null),
            ("build_config", Node::map([("input_shape", build_shape)])),
        ]),
    };
    if model.kind == ModelKind::Functional {
        entry.set("name", Node::str(&named.name));
        entry.set("inbound_nodes", Node::List(vec![inbound_node(model, i, style)]));
    }
    entry
}

/// The one call of layer `i` as `inbound_nodes` records it: tf_keras's
/// `[[name, 0, 0, {}], ...]`, or Keras 3's `{"args": [tensor], "kwargs": {}}` whose
/// argument is a list of tensors for a merge.
fn inbound_node(model: &Model, i: usize, style: Style) -> Node {
    let sources = inputs_of(model, i);
    match style {
        Style::TfKeras | Style::TfKerasH5 => Node::List(
            sources
                .iter()
                .map(|(name, _)| {
                    Node::List(vec![
                        Node::str(*name),
                        Node::Int(0),
                        Node::Int(0),
                        Node::map::<&str>([]),
                    ])
                })
                .collect(),
        ),
        Style::Keras3 => {
            let mut tensors: Vec<Node> = sources
                .iter()
                .map(|(name, shape)| {
                    Node::map([
                        ("class_name", Node::str("__keras_tensor__")),
                        (
                            "config",
                            Node::map([
                                ("shape", Node::batch_shape(shape)),
                                ("dtype", Node::str("float32")),
                                ("keras_history", endpoint(name)),
                            ]),
                        ),
                    ])
                })
                .collect();
            let arg = match model.layers[i].layer {
                Layer::Merge(_) => Node::List(tensors),
                _ => tensors.remove(0),
            };
            Node::map([("args", Node::List(vec![arg])), ("kwargs", Node::map::<&str>([]))])
        }
    }
}

/// The name and output shape of each input of layer `i`.
fn inputs_of(model: &Model, i: usize) -> Vec<(&str, Vec<usize>)> {
    model.wiring()[i]
        .sources()
        .iter()
        .map(|s| match *s {
            Source::Input => (model.input_name.as_str(), model.input_shape.clone()),
            Source::Layer(j) => {
                let j = usize::from(j);
                (model.layers[j].name.as_str(), model.layer_shapes(j).1)
            }
        })
        .collect()
}

/// An initializer as Keras serializes it.
fn initializer(init: Initializer) -> Node {
    let num = Node::f32;
    let mut config = match init {
        Initializer::Constant { value } => vec![("value", num(value))],
        Initializer::RandomUniform { minval, maxval } => {
            vec![("minval", num(minval)), ("maxval", num(maxval))]
        }
        Initializer::RandomNormal { mean, stddev } | Initializer::TruncatedNormal { mean, stddev } => {
            vec![("mean", num(mean)), ("stddev", num(stddev))]
        }
        Initializer::VarianceScaling {
            scale,
            mode,
            distribution,
        } => vec![
            ("scale", num(scale)),
            ("mode", Node::str(mode.keras_name())),
            ("distribution", Node::str(distribution.keras_name())),
        ],
        Initializer::Orthogonal { gain } | Initializer::Identity { gain } => vec![("gain", num(gain))],
        _ => Vec::new(),
    };
    // Keras's random initializers carry a seed (none: a fresh one each time).
    if !matches!(
        init,
        Initializer::Zeros | Initializer::Ones | Initializer::Constant { .. } | Initializer::Identity { .. }
    ) {
        config.push(("seed", Node::Null));
    }
    Node::map([
        ("module", Node::str("keras.initializers")),
        ("class_name", Node::str(init.keras_class())),
        ("config", Node::map(config)),
        ("registered_name", Node::Null),
    ])
}
