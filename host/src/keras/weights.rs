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

/// Where one Dense layer's weights live in the model's flat parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DenseSlot {
    /// Index in `Model::layers`.
    pub index: usize,
    /// Input width.
    pub fan_in: usize,
    /// Output width.
    pub units: usize,
    /// Whether the layer has a bias.
    pub use_bias: bool,
    /// The kernel then the bias in `Model::params`.
    pub range: Range<usize>,
}

impl DenseSlot {
    /// The tensors' names and shapes: `kernel` `[in, units]`, then `bias` `[units]`.
    pub fn tensors(&self) -> Vec<(&'static str, Vec<u64>)> {
        let mut t = vec![("kernel", vec![self.fan_in as u64, self.units as u64])];
        if self.use_bias {
            t.push(("bias", vec![self.units as u64]));
        }
        t
    }

    /// The kernel's then the bias's ranges in `Model::params`.
    pub fn ranges(&self) -> Vec<Range<usize>> {
        let split = self.range.start + self.fan_in * self.units;
        let mut r = Vec::with_capacity(2);
        r.push(self.range.start..split);
        if self.use_bias {
            r.push(split..self.range.end);
        }
        r
    }
}

/// The Dense layers of `model`, in order.
pub(crate) fn dense_slots(model: &Model, file: &str) -> Result<Vec<DenseSlot>, KerasError> {
    model
        .with_network(|net| {
            Ok(model
                .layers
                .iter()
                .enumerate()
                .filter_map(|(i, named)| match named.layer {
                    Layer::Dense { units, use_bias, .. } => Some(DenseSlot {
                        index: i,
                        fan_in: net.layer_input_width(i),
                        units: units as usize,
                        use_bias,
                        range: net.param_range(i),
                    }),
                    _ => None,
                })
                .collect())
        })
        .map_err(|source| KerasError::Model {
            file: file.to_string(),
            source,
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
            file: file.to_string(),
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
            file: file.to_string(),
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
    let slots = dense_slots(model, "(model)")?;
    let mut root = H5Group::new();
    root.set_attr("backend", H5Attr::var_ascii(BACKEND));
    root.set_attr("keras_version", H5Attr::var_ascii(TF_KERAS_VERSION));
    let names = layer_names(model);
    root.set_attr("layer_names", H5Attr::name_list(names.iter().cloned()));
    for name in &names {
        let mut group = H5Group::new();
        let slot = slots.iter().find(|s| &model.layers[s.index].name == name);
        let mut weight_names = Vec::new();
        if let Some(slot) = slot {
            for ((tensor, shape), range) in slot.tensors().into_iter().zip(slot.ranges()) {
                let weight = format!("{name}/{tensor}:0");
                group.insert_dataset(&weight, H5Dataset::f32(shape, model.params[range].to_vec()));
                weight_names.push(weight);
            }
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
        file: file.to_string(),
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
                    file: file.to_string(),
                    what: format!("weight {w:?} of layer {name:?}"),
                })
        })
        .collect()
}

/// Puts one file layer's tensors into `params` at `slot`, checking count and shapes.
fn assign(
    params: &mut [f32],
    slot: &DenseSlot,
    layer: &str,
    tensors: &[(String, &H5Dataset)],
    file: &str,
) -> Result<(), KerasError> {
    let expected = slot.tensors();
    if tensors.len() != expected.len() {
        return Err(KerasError::Weights {
            file: file.to_string(),
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
    Ok(())
}

/// Loads weights in Keras 2's layout from `root` into `model` (unchanged on error).
pub fn load_weights_group(
    model: &mut Model,
    root: &H5Group,
    file: &str,
    how: LoadWeights,
) -> Result<WeightsReport, KerasError> {
    let slots = dense_slots(model, file)?;
    let file_names = root
        .attr_str_list("layer_names")
        .ok_or_else(|| KerasError::Missing {
            file: file.to_string(),
            what: "layer_names attribute (not a Keras weights file)".into(),
        })?;
    let mut params = model.params.clone();
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
                Ok(()) => report.loaded.push(name.clone()),
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
                file: file.to_string(),
                message: format!(
                    "the file holds weights for {} layers, the model has {} layers with weights",
                    with_weights.len(),
                    slots.len()
                ),
            });
        }
        for (slot, (_, tensors)) in slots.iter().zip(&with_weights) {
            let name = &model.layers[slot.index].name;
            assign(&mut params, slot, name, tensors, file)?;
            report.loaded.push(name.clone());
        }
    }
    model.params = params;
    Ok(report)
}
