//! Keras 2's weight layout: the root of `save_weights('w.h5')` and the `model_weights`
//! group of a whole-model `.h5` file.
//!
//! ```text
//! @layer_names = ['dense', 'activation', ...]        (@backend, @keras_version)
//! dense/          @weight_names = ['dense/kernel:0', 'dense/bias:0']
//! dense/dense/kernel:0   float32 (784, 50)
//! dense/dense/bias:0     float32 (50,)
//! activation/     @weight_names = []                  (float64 array of shape (0,))
//! top_level_model_weights/  @weight_names = []
//! ```
//!
//! Reading follows `weight_names`, so Keras 3's legacy `.h5`
//! (`dense/sequential/dense/kernel`) and Keras 2.0's files read the same way. Loading is
//! by layer order (Keras's default: the i-th layer with weights in the file goes to the
//! i-th layer with weights in the model) or by name, optionally skipping layers whose
//! shapes do not match.

use super::{KerasError, BACKEND, TF_KERAS_VERSION};
use crate::h5::{H5Attr, H5Data, H5Dataset, H5Group};
use crate::model::{Model, ModelKind};
use microdense_core::Layer;
use std::ops::Range;

/// How `load_weights` matches the file's layers to the model's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadWeights {
    /// Match layers by name (others are left alone) instead of by order.
    pub by_name: bool,
    /// With `by_name`: skip layers whose weights do not fit instead of failing.
    pub skip_mismatch: bool,
}

/// What a `load_weights` call did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WeightsReport {
    /// Model layers whose weights were loaded.
    pub loaded: Vec<String>,
    /// Model layers left unchanged, each with the reason.
    pub skipped: Vec<(String, String)>,
}

/// Where one layer's weights live in the model's flat parameters.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct WeightSlot {
    /// Index in `Model::layers`.
    pub index: usize,
    /// The layer.
    pub layer: Layer,
    /// Input width.
    pub fan_in: usize,
    /// The layer's weights in `Model::params`.
    pub range: Range<usize>,
}

impl WeightSlot {
    /// The float tensors' names and shapes in Keras's order: a Dense layer's `kernel`
    /// `[in, units]` and `bias` `[units]`; every other layer's weights `[in]` each.
    pub fn tensors(&self) -> Vec<(&'static str, Vec<u64>)> {
        let fan_in = self.fan_in as u64;
        self.layer
            .weight_names()
            .iter()
            .map(|&name| {
                let shape = match (self.layer, name) {
                    (Layer::Dense { units, .. }, "kernel") => vec![fan_in, units.into()],
                    (Layer::Dense { units, .. }, _) => vec![units.into()],
                    _ => vec![fan_in],
                };
                (name, shape)
            })
            .collect()
    }

    /// The tensors' ranges in `Model::params`, in the order of [`tensors`](Self::tensors).
    pub fn ranges(&self) -> Vec<Range<usize>> {
        let mut start = self.range.start;
        self.tensors()
            .iter()
            .map(|(_, shape)| {
                let len = shape.iter().product::<u64>() as usize;
                start += len;
                start - len..start
            })
            .collect()
    }

    /// How many of the leading tensors are trainable (those an optimizer tracks).
    pub fn trainable_tensors(&self) -> usize {
        let trainable = self.layer.trainable_param_count(self.fan_in);
        let ranges = self.ranges();
        ranges
            .iter()
            .take_while(|r| r.end <= self.range.start + trainable)
            .count()
    }

    /// Whether Keras also saves an int64 scalar `count` after the float tensors
    /// (Normalization).
    pub fn has_count(&self) -> bool {
        matches!(self.layer, Layer::Normalization { .. })
    }
}

/// The layers of `model` with weights, in order.
pub(crate) fn weight_slots(model: &Model, file: &str) -> Result<Vec<WeightSlot>, KerasError> {
    model
        .with_network(|net| {
            Ok(model
                .layers
                .iter()
                .enumerate()
                .filter(|(i, _)| !net.param_range(*i).is_empty())
                .map(|(i, named)| WeightSlot {
                    index: i,
                    layer: named.layer,
                    fan_in: net.layer_input_width(i),
                    range: net.param_range(i),
                })
                .collect())
        })
        .map_err(|source| KerasError::Model {
            path: file.to_string(),
            source,
        })
}

/// One array of Keras's `model.get_weights()`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KerasWeight {
    /// Index of its layer in `Model::layers`.
    pub layer: usize,
    /// `layer/weight`, as Keras names it (`dense/kernel`, `batch_normalization/gamma`).
    pub name: String,
    /// Keras's shape: Dense's kernel `[in, units]`, every other float tensor `[in]` or
    /// `[units]`, a Normalization's `count` `[]`.
    pub shape: Vec<usize>,
    /// Its values in `Model::params`; `None` for a Normalization's `count` (an int64 kept
    /// in the layer: `Model::layers[layer].count`).
    pub values: Option<Range<usize>>,
}

/// The arrays of Keras's `model.get_weights()` for `model`, in Keras's order (the layers'
/// order, each layer's tensors as its `weights`): what `set_weights` takes.
pub fn keras_weights(model: &Model) -> Result<Vec<KerasWeight>, KerasError> {
    let mut out = Vec::new();
    for slot in weight_slots(model, "(model)")? {
        let layer = &model.layers[slot.index].name;
        for ((tensor, shape), range) in slot.tensors().into_iter().zip(slot.ranges()) {
            out.push(KerasWeight {
                layer: slot.index,
                name: format!("{layer}/{tensor}"),
                shape: shape.into_iter().map(|d| d as usize).collect(),
                values: Some(range),
            });
        }
        if slot.has_count() {
            out.push(KerasWeight {
                layer: slot.index,
                name: format!("{layer}/count"),
                shape: Vec::new(),
                values: None,
            });
        }
    }
    Ok(out)
}

/// A Normalization's `count`: an integer scalar (int64, or an integral float).
pub(crate) fn count_value(ds: &H5Dataset, file: &str, layer: &str) -> Result<i64, KerasError> {
    let value = match (&*ds.load()?, ds.shape.is_empty()) {
        (H5Data::I64(v), true) => v.first().copied(),
        (H5Data::F32(v), true) => v.first().filter(|x| x.fract() == 0.0).map(|&x| x as i64),
        (H5Data::F64(v), true) => v.first().filter(|x| x.fract() == 0.0).map(|&x| x as i64),
        _ => None,
    };
    value.ok_or_else(|| KerasError::Weights {
        path: file.to_string(),
        message: format!("layer {layer:?}: count is not an integer scalar"),
    })
}

/// Checks `ds` has `expected` shape and float values, and returns them (read from the
/// file only once the shape is right).
pub(crate) fn checked_tensor(
    ds: &H5Dataset,
    expected: &[u64],
    file: &str,
    layer: &str,
    weight: &str,
) -> Result<Vec<f32>, KerasError> {
    if ds.shape != expected {
        return Err(KerasError::WeightShape {
            path: file.to_string(),
            layer: layer.to_string(),
            weight: weight.to_string(),
            expected: expected.to_vec(),
            found: ds.shape.clone(),
        });
    }
    let values = match &*ds.load()? {
        H5Data::F32(v) => Some(v.clone()),
        H5Data::F64(v) => Some(v.iter().map(|&x| x as f32).collect()),
        H5Data::I64(_) | H5Data::Stored(_) => None,
    };
    values
        .filter(|v| v.len() == ds.shape_len().unwrap_or(usize::MAX))
        .ok_or_else(|| KerasError::Weights {
            path: file.to_string(),
            message: format!(
                "layer {layer:?}: {weight} holds {} values, not floats",
                ds.data.dtype_name()
            ),
        })
}

/// The names Keras lists in `layer_names`: the input layer too in Functional models.
pub(crate) fn layer_names(model: &Model) -> Vec<String> {
    let input = (model.kind == ModelKind::Functional).then(|| model.input_name.clone());
    input
        .into_iter()
        .chain(model.layers.iter().map(|l| l.name.clone()))
        .collect()
}

/// The weights of `model` in Keras 2's layout (tf_keras 2.21 names: `dense/kernel:0`).
pub fn weights_group(model: &Model) -> Result<H5Group, KerasError> {
    let weights = keras_weights(model)?;
    let mut root = H5Group::new();
    root.set_attr("backend", H5Attr::var_ascii(BACKEND));
    root.set_attr("keras_version", H5Attr::var_ascii(TF_KERAS_VERSION));
    let names = layer_names(model);
    root.set_attr("layer_names", H5Attr::name_list(names.iter().cloned()));
    for name in &names {
        let mut group = H5Group::new();
        let mut weight_names = Vec::new();
        for w in weights.iter().filter(|w| &model.layers[w.layer].name == name) {
            let weight = format!("{}:0", w.name);
            let dataset = match &w.values {
                Some(range) => H5Dataset::f32(
                    w.shape.iter().map(|&d| d as u64).collect(),
                    model.params[range.clone()].to_vec(),
                ),
                None => H5Dataset::scalar_i64(model.layers[w.layer].count),
            };
            group.insert_dataset(&weight, dataset);
            weight_names.push(weight);
        }
        group.set_attr("weight_names", H5Attr::name_list(weight_names));
        root.insert_group(name, group);
    }
    let mut top = H5Group::new();
    top.set_attr("weight_names", H5Attr::name_list(Vec::<String>::new()));
    root.insert_group("top_level_model_weights", top);
    Ok(root)
}

/// The tensors a file's layer group holds, read through its `weight_names`.
fn file_layer_tensors<'g>(
    root: &'g H5Group,
    name: &str,
    file: &str,
) -> Result<Vec<(String, &'g H5Dataset)>, KerasError> {
    let group = root.group(name).ok_or_else(|| KerasError::Missing {
        path: file.to_string(),
        what: format!("group for layer {name:?} (listed in layer_names)"),
    })?;
    let names = group.attr_str_list("weight_names").unwrap_or_default();
    names
        .into_iter()
        .map(|w| {
            group
                .dataset(w)
                .map(|ds| (w.to_string(), ds))
                .ok_or_else(|| KerasError::Missing {
                    path: file.to_string(),
                    what: format!("weight {w:?} of layer {name:?}"),
                })
        })
        .collect()
}

/// Puts one file layer's tensors into `params` at `slot`, checking count and shapes;
/// returns a Normalization's `count`.
fn assign(
    params: &mut [f32],
    slot: &WeightSlot,
    layer: &str,
    tensors: &[(String, &H5Dataset)],
    file: &str,
) -> Result<Option<i64>, KerasError> {
    let expected = slot.tensors();
    let (tensors, count) = match tensors.split_last() {
        Some(((_, ds), floats)) if slot.has_count() && floats.len() == expected.len() => {
            (floats, Some(count_value(ds, file, layer)?))
        }
        _ => (tensors, None),
    };
    if tensors.len() != expected.len() {
        return Err(KerasError::Weights {
            path: file.to_string(),
            message: format!(
                "layer {layer:?} needs {} weights ({}), the file holds {}",
                expected.len(),
                expected.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "),
                tensors.len()
            ),
        });
    }
    let mut values = Vec::with_capacity(expected.len());
    for ((tensor, shape), (_, ds)) in expected.iter().zip(tensors) {
        values.push(checked_tensor(ds, shape, file, layer, tensor)?);
    }
    for (range, v) in slot.ranges().into_iter().zip(values) {
        params[range].copy_from_slice(&v);
    }
    Ok(count)
}

/// Loads weights in Keras 2's layout from `root` into `model` (unchanged on error).
pub fn load_weights_group(
    model: &mut Model,
    root: &H5Group,
    file: &str,
    how: LoadWeights,
) -> Result<WeightsReport, KerasError> {
    let slots = weight_slots(model, file)?;
    let file_names = root
        .attr_str_list("layer_names")
        .ok_or_else(|| KerasError::Missing {
            path: file.to_string(),
            what: "layer_names attribute (not a Keras weights file)".into(),
        })?;
    let mut params = model.params.clone();
    let mut counts = Vec::new();
    let mut report = WeightsReport::default();
    if how.by_name {
        for slot in &slots {
            let name = &model.layers[slot.index].name;
            if !file_names.contains(&name.as_str()) {
                report.skipped.push((name.clone(), "not in the file".into()));
                continue;
            }
            let tensors = file_layer_tensors(root, name, file)?;
            match assign(&mut params, slot, name, &tensors, file) {
                Ok(count) => {
                    counts.push((slot.index, count));
                    report.loaded.push(name.clone())
                }
                Err(e @ (KerasError::WeightShape { .. } | KerasError::Weights { .. }))
                    if how.skip_mismatch =>
                {
                    report.skipped.push((name.clone(), e.to_string()))
                }
                Err(e) => return Err(e),
            }
        }
    } else {
        let mut with_weights = Vec::new();
        for name in &file_names {
            let tensors = file_layer_tensors(root, name, file)?;
            if !tensors.is_empty() {
                with_weights.push((name.to_string(), tensors));
            }
        }
        if with_weights.len() != slots.len() {
            return Err(KerasError::Weights {
                path: file.to_string(),
                message: format!(
                    "the file holds weights for {} layers, the model has {} layers with weights",
                    with_weights.len(),
                    slots.len()
                ),
            });
        }
        for (slot, (_, tensors)) in slots.iter().zip(&with_weights) {
            let name = &model.layers[slot.index].name;
            counts.push((slot.index, assign(&mut params, slot, name, tensors, file)?));
            report.loaded.push(name.clone());
        }
    }
    model.params = params;
    for (index, count) in counts {
        if let Some(count) = count {
            model.layers[index].count = count;
        }
    }
    Ok(report)
}
