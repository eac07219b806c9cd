//! Keras 3's native files: the `.weights.h5` layout and `.keras` archives.
//!
//! `.weights.h5` (also `model.weights.h5` inside a `.keras` archive):
//!
//! ```text
//! layers/dense/vars/0        float32 (784, 50)   kernel     (vars @name = layer name)
//! layers/dense/vars/1        float32 (50,)       bias
//! layers/activation/vars/                        (no weights)
//! optimizer/vars/0           int64 ()            iteration  (vars @name = 'sgd')
//! optimizer/vars/1           float32 ()          learning rate (not with a schedule)
//! optimizer/vars/2...        the optimizer's buffers in Keras's order (see `optimizer`),
//!                            then Nadam's product (float32 scalar)
//! vars/                                          (@name = model name)
//! ```
//!
//! Layers are keyed as Keras 3 keys them: the class name in snake case, numbered per
//! class in layer order (`dense`, `dense_1`, `activation`, ...), whatever the layers are
//! named; Functional models list their `input_layer` first. `.keras` archives are zips of
//! `metadata.json`, `config.json` (the Keras 3 model config with its `compile_config`)
//! and `model.weights.h5`.

use super::config::{architecture_from_config, model_from_config, model_to_config, Style};
use super::json::{self, Node};
use super::optimizer::{buffers, iteration_count, state_from_buffers};
use super::optimizer_config::keras3_name;
use super::training_config::{compile_config, compile_from_config};
use super::weights::{checked_tensor, count_value, weight_slots, LoadWeights, WeightsReport};
use super::{KerasError, KERAS3_VERSION};
use crate::budget::ParamBudget;
use crate::h5::{self, H5Attr, H5Data, H5Dataset, H5Group};
use crate::model::{Compile, LayerNamer, Model, ModelKind, OptimizerState};
use microdense_core::{Algorithm, OptimizerScalars, Schedule};
use std::io::{Cursor, Read, Write};

/// Name of the weights file inside a `.keras` archive.
pub const WEIGHTS_ENTRY: &str = "model.weights.h5";
/// Name of the model config inside a `.keras` archive.
pub const CONFIG_ENTRY: &str = "config.json";
/// Name of the metadata inside a `.keras` archive.
pub const METADATA_ENTRY: &str = "metadata.json";

/// The Keras 3 key of every layer (`layers/<key>`), with the index of the model layer
/// it belongs to (`None` for a Functional model's input layer).
fn layer_keys(model: &Model) -> Vec<(String, Option<usize>)> {
    let mut namer = LayerNamer::default();
    let mut keys = Vec::new();
    if model.kind == ModelKind::Functional {
        keys.push((namer.next("input_layer"), None));
    }
    for (i, named) in model.layers.iter().enumerate() {
        keys.push((namer.name_for(&named.layer), Some(i)));
    }
    keys
}

/// A group whose `@name` attribute is `name` (Keras 3 names every `vars` group).
fn named_group(name: &str) -> H5Group {
    let mut g = H5Group::new();
    g.set_attr("name", H5Attr::var_utf8(name));
    g
}

/// `model`'s weights (and optimizer state, when compiled) in Keras 3's layout.
pub fn weights_h5(model: &Model) -> Result<H5Group, KerasError> {
    let slots = weight_slots(model, "(model)")?;
    let mut root = H5Group::new();
    for (key, index) in layer_keys(model) {
        let name = index.map_or(model.input_name.as_str(), |i| model.layers[i].name.as_str());
        let mut vars = named_group(name);
        if let Some(slot) = slots.iter().find(|s| Some(s.index) == index) {
            let tensors = slot.tensors();
            for (n, ((_, shape), range)) in tensors.iter().zip(slot.ranges()).enumerate() {
                vars.insert_dataset(
                    &n.to_string(),
                    H5Dataset::f32(shape.clone(), model.params[range].to_vec()),
                );
            }
            if slot.has_count() {
                let count = H5Dataset::scalar_i64(model.layers[slot.index].count);
                vars.insert_dataset(&tensors.len().to_string(), count);
            }
        }
        root.insert_group(&format!("layers/{key}/vars"), vars);
    }
    if let Some(compile) = &model.compile {
        let optimizer = &compile.optimizer;
        let (scalars, saved) = buffers(model, optimizer)?;
        let mut vars = named_group(&keras3_name(optimizer.algorithm.keras_class()));
        let mut values = vec![H5Dataset::scalar_i64(
            i64::try_from(scalars.iterations).unwrap_or(i64::MAX),
        )];
        // A constant rate is a variable; a schedule is not.
        if let Schedule::Constant(rate) = optimizer.learning_rate {
            values.push(H5Dataset::scalar_f32(rate));
        }
        values.extend(saved.into_iter().map(|b| H5Dataset::f32(b.shape, b.values)));
        if matches!(optimizer.algorithm, Algorithm::Nadam { .. }) {
            values.push(H5Dataset::scalar_f32(scalars.u_product));
        }
        for (n, ds) in values.into_iter().enumerate() {
            vars.insert_dataset(&n.to_string(), ds);
        }
        root.insert_group("optimizer/vars", vars);
    }
    root.insert_group("vars", named_group(&model.name));
    Ok(root)
}

/// The datasets `0`, `1`, ... of a `vars` group, in order.
fn numbered(vars: &H5Group) -> Vec<&H5Dataset> {
    (0..).map_while(|n: usize| vars.dataset(&n.to_string())).collect()
}

/// Loads weights in Keras 3's layout from `root` into `model` (unchanged on error). By
/// default layers are matched by Keras 3's keys; `by_name` matches the `vars` groups'
/// `@name` instead, and `skip_mismatch` then skips layers that do not fit.
pub fn load_weights_h5(
    model: &mut Model,
    root: &H5Group,
    file: &str,
    how: LoadWeights,
) -> Result<WeightsReport, KerasError> {
    let layers = root.group("layers").ok_or_else(|| KerasError::Missing {
        path: file.to_string(),
        what: "layers group (not a Keras 3 .weights.h5 file)".into(),
    })?;
    let slots = weight_slots(model, file)?;
    let keys = layer_keys(model);
    let mut params = model.params.clone();
    let mut counts = Vec::new();
    let mut report = WeightsReport::default();
    for slot in &slots {
        let name = &model.layers[slot.index].name;
        let vars = if how.by_name {
            layers
                .groups
                .iter()
                .filter_map(|(_, g)| g.group("vars"))
                .find(|v| v.attr_str("name") == Some(name.as_str()))
        } else {
            keys.iter()
                .find(|(_, i)| *i == Some(slot.index))
                .and_then(|(key, _)| layers.group(&format!("{key}/vars")))
        };
        let Some(vars) = vars else {
            if how.by_name {
                report.skipped.push((name.clone(), "not in the file".into()));
                continue;
            }
            return Err(KerasError::Missing {
                path: file.to_string(),
                what: format!("weights of layer {name:?}"),
            });
        };
        let mut saved = numbered(vars);
        let expected = slot.tensors();
        let count = if slot.has_count() && saved.len() == expected.len() + 1 {
            saved.pop().map(|ds| count_value(ds, file, name)).transpose()?
        } else {
            None
        };
        let result = if saved.len() != expected.len() {
            Err(KerasError::Weights {
                path: file.to_string(),
                message: format!(
                    "layer {name:?} needs {} weights, the file holds {}",
                    expected.len(),
                    saved.len()
                ),
            })
        } else {
            expected
                .iter()
                .zip(&saved)
                .map(|((tensor, shape), ds)| checked_tensor(ds, shape, file, name, tensor))
                .collect::<Result<Vec<_>, _>>()
        };
        match result {
            Ok(values) => {
                for (range, v) in slot.ranges().into_iter().zip(values) {
                    params[range].copy_from_slice(&v);
                }
                counts.extend(count.map(|c| (slot.index, c)));
                report.loaded.push(name.clone());
            }
            Err(e) if how.by_name && how.skip_mismatch => report.skipped.push((name.clone(), e.to_string())),
            Err(e) => return Err(e),
        }
    }
    model.params = params;
    for (index, count) in counts {
        model.layers[index].count = count;
    }
    Ok(report)
}

/// The optimizer state in `optimizer/vars` for `model` compiled as `compile`, if saved.
fn read_optimizer(
    model: &Model,
    compile: &Compile,
    root: &H5Group,
    file: &str,
) -> Result<Option<OptimizerState>, KerasError> {
    let Some(vars) = root.group("optimizer/vars") else {
        return Ok(None);
    };
    let saved = numbered(vars);
    let iterations = saved
        .first()
        .map(|ds| iteration_count(ds))
        .transpose()?
        .flatten()
        .ok_or_else(|| KerasError::Missing {
            path: file.to_string(),
            what: "iteration count in optimizer/vars/0".into(),
        })?;
    // Scalars before the buffers are the iteration count and the learning rate; one
    // after them is Nadam's product.
    let tensors: Vec<&H5Dataset> = saved.iter().copied().filter(|ds| !ds.shape.is_empty()).collect();
    let first_tensor = saved
        .iter()
        .position(|ds| !ds.shape.is_empty())
        .unwrap_or(saved.len());
    let mut scalars = OptimizerScalars {
        iterations,
        ..OptimizerScalars::default()
    };
    if matches!(compile.optimizer.algorithm, Algorithm::Nadam { .. }) {
        if let Some(ds) = saved[first_tensor..].iter().rev().find(|ds| ds.shape.is_empty()) {
            if let H5Data::F32(v) = &*ds.load()? {
                scalars.u_product = v.first().copied().unwrap_or(1.0);
            }
        }
    }
    state_from_buffers(model, &compile.optimizer, scalars, &tensors, file).map(Some)
}

/// The most bytes `config.json` of a `.keras` archive may hold (a thousand-layer
/// model's config is about one megabyte).
pub const MAX_CONFIG_BYTES: u64 = 16 << 20;

/// A `.keras` archive opened for reading.
pub(crate) struct Archive<'a> {
    zip: zip::ZipArchive<Cursor<Vec<u8>>>,
    file: &'a str,
}

impl<'a> Archive<'a> {
    /// Opens the archive held in `bytes`; `file` names it in errors.
    pub fn new(bytes: Vec<u8>, file: &'a str) -> Result<Self, KerasError> {
        let zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| KerasError::Archive {
            path: file.to_string(),
            message: format!("not a readable .keras (zip) archive: {e}"),
        })?;
        Ok(Archive { zip, file })
    }

    /// The bytes of entry `name`, refused without reading when it declares more than
    /// `max_bytes`, and read no further than that whatever it declares.
    pub fn entry(&mut self, name: &str, max_bytes: u64) -> Result<Vec<u8>, KerasError> {
        let archive_err = |message: String| KerasError::Archive {
            path: self.file.to_string(),
            message,
        };
        let entry = self
            .zip
            .by_name(name)
            .map_err(|e| archive_err(format!("no {name} in the archive: {e}")))?;
        let declared = entry.size();
        let too_large = |size: u64| {
            archive_err(format!(
                "{name} holds {size} bytes or more, more than the {max_bytes} accepted"
            ))
        };
        if declared > max_bytes {
            return Err(too_large(declared));
        }
        let mut out = Vec::new();
        entry
            .take(max_bytes + 1)
            .read_to_end(&mut out)
            .map_err(|e| archive_err(format!("cannot read {name}: {e}")))?;
        if out.len() as u64 > max_bytes {
            return Err(too_large(out.len() as u64));
        }
        Ok(out)
    }

    /// The model config (`config.json`), parsed, and the label naming it in errors.
    pub fn config(&mut self) -> Result<(serde_json::Value, String), KerasError> {
        let bytes = self.entry(CONFIG_ENTRY, MAX_CONFIG_BYTES)?;
        let label = format!("{}:{CONFIG_ENTRY}", self.file);
        let text = String::from_utf8(bytes).map_err(|_| KerasError::Archive {
            path: self.file.to_string(),
            message: format!("{CONFIG_ENTRY} is not UTF-8 text"),
        })?;
        let config = json::parse(&text, &label)?;
        Ok((config, label))
    }

    /// The weights (`model.weights.h5`), opened within `budget`'s bytes, and the label
    /// naming them in errors.
    pub fn weights(&mut self, budget: ParamBudget) -> Result<(H5Group, String), KerasError> {
        let max_bytes = budget.max_weight_bytes();
        let bytes = self.entry(WEIGHTS_ENTRY, max_bytes)?;
        let label = format!("{}:{WEIGHTS_ENTRY}", self.file);
        let root = h5::open_bytes(bytes, &label, max_bytes)?;
        Ok((root, label))
    }
}

/// The architecture in a `.keras` archive (its bytes; `file` names it in errors),
/// without weights (see [`architecture_from_config`]): only `config.json` is read.
pub fn read_keras_architecture(bytes: Vec<u8>, file: &str, budget: ParamBudget) -> Result<Model, KerasError> {
    let (config, label) = Archive::new(bytes, file)?.config()?;
    architecture_from_config(&config, &label, budget)
}

/// Reads a `.keras` archive (its bytes; `file` names it in errors) of at most `budget`
/// parameters.
pub fn read_keras(bytes: Vec<u8>, file: &str, budget: ParamBudget) -> Result<Model, KerasError> {
    let mut archive = Archive::new(bytes, file)?;
    let (config, config_label) = archive.config()?;
    let mut model = model_from_config(&config, &config_label, 0, budget)?;
    let (root, weights_label) = archive.weights(budget)?;
    load_weights_h5(&mut model, &root, &weights_label, LoadWeights::default())?;
    let training = match config.get("compile_config").filter(|c| !c.is_null()) {
        Some(compile) => compile_from_config(compile, &config_label).and_then(|compile| {
            compile
                .map(|compile| {
                    let state = read_optimizer(&model, &compile, &root, &weights_label)?;
                    Ok((compile, state))
                })
                .transpose()
        }),
        None => Ok(None),
    };
    model.set_training(training);
    Ok(model)
}

/// The bytes of a `.keras` archive of `model`.
pub fn keras_bytes(model: &Model) -> Result<Vec<u8>, KerasError> {
    let mut config = model_to_config(model, Style::Keras3);
    if let Some(compile) = &model.compile {
        config.set("compile_config", compile_config(compile));
    }
    let metadata = Node::map([
        ("keras_version", Node::str(KERAS3_VERSION)),
        ("date_saved", Node::str(date_saved())),
    ]);
    let weights = h5::to_bytes(&weights_h5(model)?, WEIGHTS_ENTRY)?;
    let zip_err = |e: &dyn std::fmt::Display| KerasError::Archive {
        path: "(output)".into(),
        message: format!("cannot build the archive: {e}"),
    };
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, bytes) in [
        (METADATA_ENTRY, metadata.to_json().into_bytes()),
        (CONFIG_ENTRY, config.to_json().into_bytes()),
        (WEIGHTS_ENTRY, weights),
    ] {
        zip.start_file(name, options).map_err(|e| zip_err(&e))?;
        zip.write_all(&bytes).map_err(|e| zip_err(&e))?;
    }
    Ok(zip.finish().map_err(|e| zip_err(&e))?.into_inner())
}

/// Now in UTC as Keras writes `date_saved`: `2026-11-27@17:59:07`.
fn date_saved() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil-from-days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}@{:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}
