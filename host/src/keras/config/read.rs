//! Reading a `model_config` value into a [`Model`]: Sequential models and Functional
//! graphs (one input, one output, merges) in the styles of Keras 2.0–2.2, tf_keras 2.x
//! and Keras 3.

use crate::budget::ParamBudget;
use crate::keras::{layers, regularizer_config, KerasError};
use crate::keras_order::keras_order;
use crate::model::{DenseRegularization, Model, ModelKind, NamedLayer};
use microdense_core::{
    Activation, FanMode, Inbound, Initializer, Layer, Merge, Source, VarianceDistribution, MAX_INPUTS,
    MAX_LAYERS,
};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Builds a model from a Keras `model_config` value, its weights drawn from the layers'
/// initializers with a generator seeded by `seed`, once their count is checked against
/// `budget`. `file` names the source in errors.
pub fn model_from_config(
    config: &Value,
    file: &str,
    seed: u64,
    budget: ParamBudget,
) -> Result<Model, KerasError> {
    let mut model = architecture_from_config(config, file, budget)?;
    model
        .allocate_weights(seed, budget)
        .map_err(|source| KerasError::Model {
            path: file.to_string(),
            source,
        })?;
    Ok(model)
}

/// The architecture a Keras `model_config` value describes, checked against `budget`,
/// without weights: its `params` are empty (see [`Model::allocate_weights`]). What
/// `summary`, `plot` and conversions between architecture formats need.
pub fn architecture_from_config(
    config: &Value,
    file: &str,
    budget: ParamBudget,
) -> Result<Model, KerasError> {
    let parser = ConfigParser { file };
    let top = config.as_object().ok_or_else(|| {
        let what = if config.is_null() {
            "is empty (no model configuration)"
        } else {
            "is not a mapping of class_name and config"
        };
        parser.config("model_config", what)
    })?;
    let class = top
        .get("class_name")
        .and_then(Value::as_str)
        .ok_or_else(|| parser.config("model_config", "has no class_name"))?;
    let inner = top
        .get("config")
        .ok_or_else(|| parser.config("model_config", "has no config"))?;
    let arch = match class {
        "Sequential" => parser.sequential(inner)?,
        "Functional" | "Model" => parser.functional(inner)?,
        other => {
            return Err(KerasError::Unsupported {
                path: file.to_string(),
                at: "model_config".into(),
                what: format!("model class {other:?} (only Sequential and Functional)"),
            })
        }
    };
    let model = Model {
        name: arch.name,
        kind: arch.kind,
        input_name: arch.input_name,
        input_shape: arch.input_shape,
        layers: arch.layers,
        graph: arch.graph,
        params: Vec::new(),
        compile: None,
        optimizer: None,
        dropped_training: None,
    };
    let model_err = |source| KerasError::Model {
        path: file.to_string(),
        source,
    };
    model.with_network(|_| Ok(())).map_err(model_err)?;
    budget
        .check(&model.input_shape, &model.core_layers(), &model.wiring())
        .map_err(|e| model_err(e.into()))?;
    model.validate_names().map_err(model_err)?;
    Ok(model)
}

/// What a parsed config describes, before weights.
struct Architecture {
    name: String,
    kind: ModelKind,
    input_name: String,
    input_shape: Vec<usize>,
    layers: Vec<NamedLayer>,
    graph: Option<Vec<Inbound>>,
}

/// The wiring of a chain of `n` layers.
fn chain_wiring(n: usize) -> Vec<Inbound> {
    (0..n).map(Inbound::chain).collect()
}

/// One entry of a config's layer list.
struct Entry<'a> {
    class: &'a str,
    name: String,
    config: &'a Map<String, Value>,
    entry: &'a Map<String, Value>,
}

/// Settings that change what a Dense layer computes or how it trains; any non-null
/// value is refused.
const DENSE_UNSUPPORTED: [&str; 2] = ["quantization_config", "lora_rank"];

/// Parses one file's `model_config`; the file is named in its errors.
struct ConfigParser<'a> {
    file: &'a str,
}

impl<'a> ConfigParser<'a> {
    fn config(&self, at: &str, message: impl Into<String>) -> KerasError {
        KerasError::Config {
            path: self.file.to_string(),
            at: at.to_string(),
            message: message.into(),
        }
    }

    fn unsupported(&self, layer: &str, what: impl Into<String>) -> KerasError {
        KerasError::Unsupported {
            path: self.file.to_string(),
            at: format!("layer {layer:?}"),
            what: what.into(),
        }
    }

    /// One layer-list entry: class, name and config.
    fn entry<'v>(&self, value: &'v Value, index: usize) -> Result<Entry<'v>, KerasError> {
        let at = format!("layer #{index}");
        let entry = value
            .as_object()
            .ok_or_else(|| self.config(&at, "is not a JSON object"))?;
        let class = entry
            .get("class_name")
            .and_then(Value::as_str)
            .ok_or_else(|| self.config(&at, "has no class_name"))?;
        let config = entry
            .get("config")
            .and_then(Value::as_object)
            .ok_or_else(|| self.config(&at, "has no config object"))?;
        let name = config
            .get("name")
            .or_else(|| entry.get("name"))
            .and_then(Value::as_str)
            .filter(|name| !name.is_empty())
            .ok_or_else(|| self.config(&at, format!("({class}) has no name (or an empty one)")))?;
        Ok(Entry {
            class,
            name: name.to_string(),
            config,
            entry,
        })
    }

    fn entries<'v>(&self, list: &'v [Value]) -> Result<Vec<Entry<'v>>, KerasError> {
        list.iter().enumerate().map(|(i, v)| self.entry(v, i)).collect()
    }

    fn sequential(&self, inner: &Value) -> Result<Architecture, KerasError> {
        // Keras 2.0–2.2: the config is the bare list of layers.
        let (name, list, build_shape) = match inner {
            Value::Array(list) => ("sequential", list, None),
            Value::Object(map) => (
                map.get("name").and_then(Value::as_str).unwrap_or("sequential"),
                map.get("layers")
                    .and_then(Value::as_array)
                    .ok_or_else(|| self.config("model_config", "Sequential config has no layers list"))?,
                map.get("build_input_shape"),
            ),
            _ => {
                return Err(self.config(
                    "model_config",
                    "Sequential config is neither a list nor an object",
                ))
            }
        };
        let entries = self.entries(list)?;
        let first = entries
            .first()
            .ok_or_else(|| self.config("model_config", "the model has no layers"))?;
        let (input_name, input_shape, rest) = if first.class == "InputLayer" {
            (first.name.clone(), self.input_layer_shape(first)?, &entries[1..])
        } else {
            let shape = ["batch_input_shape", "batch_shape"]
                .iter()
                .find_map(|k| first.config.get(*k).filter(|v| !v.is_null()))
                .or(build_shape.filter(|v| !v.is_null()))
                .or_else(|| {
                    first
                        .entry
                        .get("build_config")
                        .and_then(|b| b.get("input_shape"))
                        .filter(|v| !v.is_null())
                })
                .ok_or_else(|| {
                    self.config(
                        &format!("layer {:?}", first.name),
                        "the model's input shape is unknown (no InputLayer, batch_input_shape or build_input_shape)",
                    )
                })?;
            (
                format!("{}_input", first.name),
                self.shape(shape, &first.name)?,
                &entries[..],
            )
        };
        Ok(Architecture {
            name: name.to_string(),
            kind: ModelKind::Sequential,
            input_name,
            layers: self.layers(rest, &chain_wiring(rest.len()), &input_shape)?,
            graph: None,
            input_shape,
        })
    }

    fn functional(&self, inner: &Value) -> Result<Architecture, KerasError> {
        let map = inner
            .as_object()
            .ok_or_else(|| self.config("model_config", "Functional config is not an object"))?;
        let name = map.get("name").and_then(Value::as_str).unwrap_or("model");
        let list = map
            .get("layers")
            .and_then(Value::as_array)
            .ok_or_else(|| self.config("model_config", "Functional config has no layers list"))?;
        let entries = self.entries(list)?;
        let inputs = self.endpoints(map.get("input_layers"), "input_layers")?;
        let outputs = self.endpoints(map.get("output_layers"), "output_layers")?;
        if inputs.len() != 1 || outputs.len() != 1 {
            return Err(KerasError::Unsupported {
                path: self.file.to_string(),
                at: "model_config".into(),
                what: format!(
                    "a Functional model with {} inputs and {} outputs (only plain chains)",
                    inputs.len(),
                    outputs.len()
                ),
            });
        }
        let input = entries.iter().find(|e| e.name == inputs[0]).ok_or_else(|| {
            self.config(
                "input_layers",
                format!("names {:?}, which is not a layer", inputs[0]),
            )
        })?;
        if input.class != "InputLayer" {
            return Err(self.config(
                &format!("layer {:?}", input.name),
                "the model input is not an InputLayer",
            ));
        }
        let input_shape = self.input_layer_shape(input)?;
        if entries.len() > MAX_LAYERS + 1 {
            return Err(self.config(
                "model_config",
                format!(
                    "has {} layers (at most {MAX_LAYERS} besides the input)",
                    entries.len() - 1
                ),
            ));
        }
        // Each layer's inputs, by name, from its one call.
        let mut pending: Vec<(usize, Vec<String>)> = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            if e.name == input.name {
                continue;
            }
            if e.class == "InputLayer" {
                return Err(self.unsupported(&e.name, "a second InputLayer (only one input)"));
            }
            let nodes = self.inbound_nodes(e)?;
            let [node] = nodes.as_slice() else {
                return Err(self.unsupported(
                    &e.name,
                    format!(
                        "a layer called {} times (shared layers are not supported)",
                        nodes.len()
                    ),
                ));
            };
            pending.push((i, node.clone()));
        }
        // Topological order: again and again, the first listed layer whose inputs are placed.
        let mut placed: HashMap<&str, Source> = HashMap::from([(input.name.as_str(), Source::Input)]);
        let mut order: Vec<usize> = Vec::new();
        let mut wiring: Vec<Inbound> = Vec::new();
        while !pending.is_empty() {
            let ready = pending
                .iter()
                .position(|(_, names)| names.iter().all(|n| placed.contains_key(n.as_str())));
            let Some(p) = ready else {
                let (i, names) = &pending[0];
                let name = &entries[*i].name;
                let missing = names.iter().find(|n| !placed.contains_key(n.as_str()));
                let missing = missing.map_or("", String::as_str);
                return Err(if entries.iter().any(|e| e.name == missing) {
                    self.config(
                        &format!("layer {name:?}"),
                        format!("is in a cycle through {missing:?}"),
                    )
                } else {
                    self.config(
                        &format!("layer {name:?}"),
                        format!("takes an input from {missing:?}, which is not a layer"),
                    )
                });
            };
            let (i, names) = pending.remove(p);
            let sources: Vec<Source> = names
                .iter()
                .filter_map(|n| placed.get(n.as_str()).copied())
                .collect();
            let inbound = Inbound::new(&sources).ok_or_else(|| {
                self.unsupported(
                    &entries[i].name,
                    format!("a layer with {} inputs (1 to {MAX_INPUTS})", sources.len()),
                )
            })?;
            placed.insert(&entries[i].name, Source::Layer(order.len() as u8));
            order.push(i);
            wiring.push(inbound);
        }
        let output = order.last().map(|&i| entries[i].name.as_str());
        if output != Some(outputs[0].as_str()) {
            return Err(self.config(
                "output_layers",
                format!(
                    "names {:?}, but the last layer is {:?} (only one output, which every layer reaches)",
                    outputs[0],
                    output.unwrap_or_default()
                ),
            ));
        }
        let ordered: Vec<Entry> = order
            .iter()
            .map(|&i| Entry {
                class: entries[i].class,
                name: entries[i].name.clone(),
                config: entries[i].config,
                entry: entries[i].entry,
            })
            .collect();
        // Keras's own order (which its files list), whatever order a config gave.
        let (ordered, wiring) = keras_order(ordered, &wiring);
        let chain = wiring.iter().enumerate().all(|(i, w)| *w == Inbound::chain(i));
        Ok(Architecture {
            name: name.to_string(),
            kind: ModelKind::Functional,
            input_name: input.name.clone(),
            layers: self.layers(&ordered, &wiring, &input_shape)?,
            graph: (!chain).then_some(wiring),
            input_shape,
        })
    }

    /// `input_layers`/`output_layers`: `[["x", 0, 0], ...]` (Keras 2) or `["x", 0, 0]`
    /// (Keras 3, one endpoint).
    fn endpoints(&self, value: Option<&Value>, key: &str) -> Result<Vec<String>, KerasError> {
        let list = value
            .and_then(Value::as_array)
            .ok_or_else(|| self.config("model_config", format!("Functional config has no {key}")))?;
        if list.first().is_some_and(Value::is_string) {
            return Ok(vec![list[0].as_str().unwrap_or_default().to_string()]);
        }
        list.iter()
            .map(|e| {
                e.get(0)
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .ok_or_else(|| {
                        self.config("model_config", format!("{key} has an entry without a layer name"))
                    })
            })
            .collect()
    }

    /// The layers each call of `e` takes its inputs from, one list per call.
    fn inbound_nodes(&self, e: &Entry) -> Result<Vec<Vec<String>>, KerasError> {
        let at = format!("layer {:?}", e.name);
        let nodes = e
            .entry
            .get("inbound_nodes")
            .and_then(Value::as_array)
            .ok_or_else(|| self.config(&at, "has no inbound_nodes"))?;
        nodes
            .iter()
            .map(|node| match node {
                // Keras 2: [[name, node_index, tensor_index, kwargs], ...]
                Value::Array(tensors) => tensors
                    .iter()
                    .map(|t| {
                        t.get(0)
                            .and_then(Value::as_str)
                            .map(str::to_string)
                            .ok_or_else(|| self.config(&at, "has an inbound tensor without a layer name"))
                    })
                    .collect(),
                // Keras 3: {"args": [...], "kwargs": {...}} holding __keras_tensor__ objects.
                Value::Object(call) => {
                    let mut names = Vec::new();
                    call.values().for_each(|v| keras_histories(v, &mut names));
                    Ok(names)
                }
                _ => Err(self.config(&at, "has an inbound node that is neither a list nor an object")),
            })
            .collect()
    }

    /// The shape (without the batch dimension) of an InputLayer.
    fn input_layer_shape(&self, e: &Entry) -> Result<Vec<usize>, KerasError> {
        let shape = ["batch_input_shape", "batch_shape"]
            .iter()
            .find_map(|k| e.config.get(*k).filter(|v| !v.is_null()))
            .ok_or_else(|| {
                self.config(
                    &format!("layer {:?}", e.name),
                    "InputLayer has no batch_input_shape or batch_shape",
                )
            })?;
        self.shape(shape, &e.name)
    }

    /// `[null, 28, 28]` → `[28, 28]`; every dimension after the batch must be known.
    fn shape(&self, value: &Value, layer: &str) -> Result<Vec<usize>, KerasError> {
        let at = format!("layer {layer:?}");
        let dims = value
            .as_array()
            .filter(|d| d.len() >= 2)
            .ok_or_else(|| self.config(&at, format!("input shape {value} is not [batch, dims...]")))?;
        dims[1..]
            .iter()
            .map(|d| {
                d.as_u64()
                    .filter(|&d| d > 0)
                    .and_then(|d| usize::try_from(d).ok())
                    .ok_or_else(|| {
                        self.config(
                            &at,
                            format!("input shape {value} has an unknown or invalid dimension"),
                        )
                    })
            })
            .collect()
    }

    /// Converts an ordered chain of entries, checking each layer fits its input's shape.
    fn layers(
        &self,
        entries: &[Entry],
        wiring: &[Inbound],
        input_shape: &[usize],
    ) -> Result<Vec<NamedLayer>, KerasError> {
        let mut shapes: Vec<Vec<usize>> = Vec::with_capacity(entries.len());
        let mut layers = Vec::with_capacity(entries.len());
        for (e, inbound) in entries.iter().zip(wiring) {
            let named = self.layer(e)?;
            let inputs: Vec<&[usize]> = inbound
                .sources()
                .iter()
                .map(|s| match *s {
                    Source::Input => input_shape,
                    Source::Layer(j) => shapes[usize::from(j)].as_slice(),
                })
                .collect();
            let mut shape = inputs[0].to_vec();
            match named.layer {
                Layer::Merge(Merge::Concatenate) => {
                    if let Some(bad) = inputs.iter().find(|s| s.len() != 1) {
                        return Err(self.unsupported(
                            &e.name,
                            format!("Concatenate of an input of shape {bad:?} (add a Flatten first)"),
                        ));
                    }
                    shape = vec![inputs.iter().map(|s| s[0]).sum()];
                }
                Layer::Dense { units, .. } => {
                    if shape.len() != 1 {
                        return Err(self.unsupported(
                            &e.name,
                            format!("Dense on an input of shape {shape:?} (add a Flatten first)"),
                        ));
                    }
                    shape = vec![units as usize];
                }
                Layer::Flatten => {
                    let format = e.config.get("data_format").and_then(Value::as_str);
                    if format == Some("channels_first") && shape.len() > 1 {
                        return Err(self.unsupported(&e.name, "Flatten with data_format \"channels_first\""));
                    }
                    shape = vec![shape.iter().product()];
                }
                Layer::Reshape => {
                    let width = shape.iter().product();
                    if layers::reshape_width(e.config, width) != Some(width) {
                        let target = e.config.get("target_shape").cloned().unwrap_or(Value::Null);
                        return Err(self.unsupported(
                            &e.name,
                            format!("Reshape of {shape:?} to {target} (only to one dimension, [{width}])"),
                        ));
                    }
                    shape = vec![width];
                }
                ref layer if layers::needs_flat_input(layer) && shape.len() != 1 => {
                    return Err(self.unsupported(
                        &e.name,
                        format!("{} on an input of shape {shape:?} (add a Flatten first)", e.class),
                    ));
                }
                _ => {}
            }
            shapes.push(shape);
            layers.push(named);
        }
        Ok(layers)
    }

    /// One layer from its entry.
    fn layer(&self, e: &Entry) -> Result<NamedLayer, KerasError> {
        let at = format!("layer {:?}", e.name);
        self.check_dtype(e)?;
        let layer = match e.class {
            "Dense" => {
                for key in DENSE_UNSUPPORTED {
                    match e.config.get(key) {
                        None | Some(Value::Null) => {}
                        Some(Value::Number(n)) if key == "lora_rank" && n.as_u64() == Some(0) => {}
                        Some(v) => return Err(self.unsupported(&e.name, format!("{key} {v}"))),
                    }
                }
                let units = e
                    .config
                    .get("units")
                    .and_then(Value::as_u64)
                    .filter(|&u| u > 0)
                    .and_then(|u| u32::try_from(u).ok())
                    .ok_or_else(|| self.config(&at, "Dense has no valid units"))?;
                let activity_regularizer = e.config.get("activity_regularizer").unwrap_or(&Value::Null);
                let activity_regularizer = regularizer_config::regularizer_from_config(activity_regularizer)
                    .map_err(|what| self.unsupported(&e.name, format!("activity_regularizer {what}")))?;
                Layer::Dense {
                    units,
                    activation: self.activation(e)?,
                    use_bias: match e.config.get("use_bias") {
                        None | Some(Value::Null) => true,
                        Some(v) => v
                            .as_bool()
                            .ok_or_else(|| self.config(&at, format!("use_bias {v} is not a boolean")))?,
                    },
                    activity_regularizer,
                }
            }
            "Activation" => Layer::Activation(self.activation(e)?),
            "Dropout" => {
                if e.config.get("noise_shape").is_some_and(|v| !v.is_null()) {
                    return Err(self.unsupported(&e.name, "Dropout with a noise_shape"));
                }
                let rate = e
                    .config
                    .get("rate")
                    .and_then(Value::as_f64)
                    .filter(|r| (0.0..1.0).contains(r))
                    .ok_or_else(|| self.config(&at, "Dropout has no rate in [0, 1)"))?;
                Layer::Dropout { rate: rate as f32 }
            }
            "Flatten" => Layer::Flatten,
            "InputLayer" => return Err(self.config(&at, "an InputLayer can only start the model")),
            other => layers::read(other, &e.name, e.config, self.file)?.ok_or_else(|| {
                KerasError::UnsupportedLayer {
                    path: self.file.to_string(),
                    class: other.to_string(),
                    layer: e.name.clone(),
                }
            })?,
        };
        let mut named = NamedLayer::new(e.name.clone(), layer);
        named.trainable = e.config.get("trainable").and_then(Value::as_bool).unwrap_or(true);
        if e.class == "Dense" {
            named.kernel_initializer =
                self.initializer(e, "kernel_initializer", Initializer::GlorotUniform)?;
            named.bias_initializer = self.initializer(e, "bias_initializer", Initializer::Zeros)?;
            named.regularization = self.regularization(e)?;
        }
        Ok(named)
    }

    /// A Dense layer's regularizers and constraints.
    fn regularization(&self, e: &Entry) -> Result<DenseRegularization, KerasError> {
        let get = |key: &str| e.config.get(key).unwrap_or(&Value::Null);
        let refuse = |key: &str, what: String| self.unsupported(&e.name, format!("{key} {what}"));
        let regularizer = |key: &str| {
            regularizer_config::regularizer_from_config(get(key)).map_err(|what| refuse(key, what))
        };
        let constraint = |key: &str, bias| {
            regularizer_config::constraint_from_config(get(key), bias).map_err(|what| refuse(key, what))
        };
        Ok(DenseRegularization {
            kernel_regularizer: regularizer("kernel_regularizer")?,
            bias_regularizer: regularizer("bias_regularizer")?,
            kernel_constraint: constraint("kernel_constraint", false)?,
            bias_constraint: constraint("bias_constraint", true)?,
        })
    }

    /// Only float32 layers: `"float32"`, a `DTypePolicy`/`Policy` named float32, or none.
    fn check_dtype(&self, e: &Entry) -> Result<(), KerasError> {
        let name = match e.config.get("dtype") {
            None | Some(Value::Null) => return Ok(()),
            Some(Value::String(s)) => Some(s.as_str()),
            Some(Value::Object(policy)) => policy
                .get("config")
                .and_then(|c| c.get("name"))
                .and_then(Value::as_str),
            Some(_) => None,
        };
        match name {
            Some("float32") => Ok(()),
            Some(other) => Err(self.unsupported(&e.name, format!("dtype {other:?} (only float32)"))),
            None => Err(self.config(&format!("layer {:?}", e.name), "has an unreadable dtype")),
        }
    }

    /// The `activation` of a Dense or Activation layer; absent or null is linear.
    fn activation(&self, e: &Entry) -> Result<Activation, KerasError> {
        let name = match e.config.get("activation") {
            None | Some(Value::Null) => return Ok(Activation::Linear),
            Some(Value::String(s)) => s.as_str(),
            // Keras 3 may serialize a function as {"class_name": "function", "config": "relu"}.
            Some(Value::Object(o)) => match o.get("config") {
                Some(Value::String(s)) => s.as_str(),
                _ => {
                    return Err(self.unsupported(&e.name, format!("activation {}", Value::Object(o.clone()))))
                }
            },
            Some(v) => return Err(self.unsupported(&e.name, format!("activation {v}"))),
        };
        match name {
            "softmax_v2" => Ok(Activation::Softmax),
            _ => Activation::from_keras_name(name)
                .ok_or_else(|| self.unsupported(&e.name, format!("activation {name:?}"))),
        }
    }

    /// An initializer setting: a name, a `{class_name, config}` object, or absent.
    fn initializer(&self, e: &Entry, key: &str, default: Initializer) -> Result<Initializer, KerasError> {
        let unknown = |what: String| self.unsupported(&e.name, format!("{key} {what}"));
        let (class, config) = match e.config.get(key) {
            None | Some(Value::Null) => return Ok(default),
            Some(Value::String(s)) => (s.as_str(), None),
            Some(Value::Object(o)) => (
                o.get("class_name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| unknown("without class_name".into()))?,
                o.get("config"),
            ),
            Some(v) => return Err(unknown(v.to_string())),
        };
        let at_defaults = Initializer::from_keras_name(class).ok_or_else(|| unknown(format!("{class:?}")))?;
        let cfg = config.and_then(Value::as_object);
        // A setting, or the default's when the config leaves it out.
        let number = |key: &str, default: f32| -> Result<f32, KerasError> {
            match cfg.and_then(|c| c.get(key)) {
                None | Some(Value::Null) => Ok(default),
                Some(v) => v
                    .as_f64()
                    .map(|x| x as f32)
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| unknown(format!("{class} with {key} {v}"))),
            }
        };
        let name = |key: &str| cfg.and_then(|c| c.get(key)).and_then(Value::as_str);
        Ok(match at_defaults {
            Initializer::Constant { value } => Initializer::Constant {
                value: number("value", value)?,
            },
            Initializer::RandomUniform { minval, maxval } => Initializer::RandomUniform {
                minval: number("minval", minval)?,
                maxval: number("maxval", maxval)?,
            },
            Initializer::RandomNormal { mean, stddev } => Initializer::RandomNormal {
                mean: number("mean", mean)?,
                stddev: number("stddev", stddev)?,
            },
            Initializer::TruncatedNormal { mean, stddev } => Initializer::TruncatedNormal {
                mean: number("mean", mean)?,
                stddev: number("stddev", stddev)?,
            },
            Initializer::Orthogonal { gain } => Initializer::Orthogonal {
                gain: number("gain", gain)?,
            },
            Initializer::Identity { gain } => Initializer::Identity {
                gain: number("gain", gain)?,
            },
            Initializer::VarianceScaling { .. } => {
                let scale = number("scale", 1.0)?;
                let mode = name("mode").unwrap_or("fan_in");
                let distribution = name("distribution").unwrap_or("truncated_normal");
                // Keras 3's custom fan axes (null: the usual fans of a Dense kernel).
                let axes = ["input_axes", "output_axes"]
                    .iter()
                    .any(|k| cfg.and_then(|c| c.get(*k)).is_some_and(|v| !v.is_null()));
                match (FanMode::from_keras_name(mode), VarianceDistribution::from_keras_name(distribution)) {
                    (Some(mode), Some(distribution)) if scale > 0.0 && !axes => Initializer::VarianceScaling {
                        scale,
                        mode,
                        distribution,
                    },
                    _ => {
                        return Err(unknown(format!(
                            "VarianceScaling(scale={scale}, mode={mode:?}, distribution={distribution:?}) with its settings"
                        )))
                    }
                }
            }
            named => named,
        })
    }
}

/// Collects the layer names of every `__keras_tensor__`'s `keras_history` in `value`.
fn keras_histories(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(o) => {
            let history = o
                .get("config")
                .and_then(|c| c.get("keras_history"))
                .and_then(|h| h.get(0))
                .and_then(Value::as_str);
            match history {
                Some(name) => out.push(name.to_string()),
                None => o.values().for_each(|v| keras_histories(v, out)),
            }
        }
        Value::Array(items) => items.iter().for_each(|v| keras_histories(v, out)),
        _ => {}
    }
}
