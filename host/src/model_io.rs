//! Keras's file API on [`Model`]: `load`, `save`, `to_json`/`from_json`,
//! `to_yaml`/`from_yaml`, `save_weights`, `load_weights` — the format chosen by the file
//! name as Keras chooses it.
//!
//! | name | `load` / `save` | `load_weights` / `save_weights` |
//! |---|---|---|
//! | `*.weights.h5` | weights only: use `load_weights` / written by `save` too | Keras 3's layout |
//! | `*.h5`, `*.hdf5` | whole model (tf_keras 2.x layout; every flavour read) | Keras 2's layout (a whole-model file's weights are read too) |
//! | `*.keras` | whole model, Keras 3 archive | the archive's weights |
//! | `*.json`, `*.yaml`, `*.yml` | architecture only (fresh weights on load) | — |
//! | `*.mdl` | the device format (training state included when compiled) | — |
//!
//! ```
//! use microdense::model::{Compile, Model};
//! use microdense::model_io::LoadWeights;
//!
//! let dir = std::env::temp_dir().join(format!("model-io-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let mut model = Model::from_spec("784,50,sigmoid,20,sigmoid,10,softmax", 1)?;
//! model.compile(Compile::default());
//!
//! model.save(dir.join("my_model.h5"))?; // tf_keras and Keras 3 load this
//! let back = Model::load(dir.join("my_model.h5"))?;
//! assert_eq!(back.params, model.params);
//!
//! let json = model.to_json(); // what tf_keras's model.to_json() writes
//! assert_eq!(Model::from_json(&model.to_json_keras3())?.layers, model.layers);
//! let fresh = Model::from_json(&json)?; // same layers, new weights
//! assert_eq!(fresh.layers.len(), 6);
//!
//! model.save_weights(dir.join("w.h5"))?; // Keras 2's save_weights layout
//! let mut other = Model::from_yaml(&model.to_yaml()?)?;
//! other.load_weights(dir.join("w.h5"), LoadWeights::default())?;
//! assert_eq!(other.params, model.params);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::budget::ParamBudget;
use crate::device_format::{read_mdl, to_mdl, DeviceFormatError, ExportOptions};
use crate::h5;
use crate::keras::config::{architecture_from_config, model_from_config, model_to_config, Style};
use crate::keras::h5_model::{model_to_h5, read_architecture, read_model};
use crate::keras::json::{self, Node};
use crate::keras::keras3::{
    keras_bytes, load_weights_h5, read_keras, read_keras_architecture, weights_h5, Archive, MAX_CONFIG_BYTES,
};
use crate::keras::training_config::{compile_config, compile_from_config};
use crate::keras::weights::{load_weights_group, weights_group};
use crate::keras::{read_file, yaml, BACKEND, TF_KERAS_VERSION};
use crate::model::Model;
use serde_json::Value;
use std::io::Read;
use std::path::Path;

pub use crate::keras::weights::{LoadWeights, WeightsReport};
pub use crate::keras::KerasError;

/// The seed of the weights a model built from an architecture starts with; call
/// [`Model::initialize`] to draw others.
pub const ARCHITECTURE_SEED: u64 = 0;

/// What a file holds, as its name says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// `*.h5`/`*.hdf5`: a whole model, or Keras 2's weights layout for weights.
    H5,
    /// `*.weights.h5`: weights in Keras 3's layout.
    WeightsH5,
    /// `*.keras`: a Keras 3 archive.
    Keras,
    /// `*.json`: an architecture.
    Json,
    /// `*.yaml`/`*.yml`: an architecture.
    Yaml,
    /// `*.mdl`: microdense's device format.
    DeviceFormat,
}

impl FileKind {
    /// The kind named by `path`'s file name (case-insensitive), if any.
    pub fn of(path: &Path) -> Option<FileKind> {
        let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
        let kind = if name.ends_with(".weights.h5") {
            FileKind::WeightsH5
        } else if name.ends_with(".h5") || name.ends_with(".hdf5") {
            FileKind::H5
        } else if name.ends_with(".keras") {
            FileKind::Keras
        } else if name.ends_with(".json") {
            FileKind::Json
        } else if name.ends_with(".yaml") || name.ends_with(".yml") {
            FileKind::Yaml
        } else if name.ends_with(".mdl") {
            FileKind::DeviceFormat
        } else {
            return None;
        };
        Some(kind)
    }
}

/// The names [`Model::save`] accepts.
const SAVE_EXTENSIONS: &str = ".h5, .keras, .weights.h5, .json, .yaml, .yml, .mdl";
/// The names [`Model::save_weights`] accepts.
const SAVE_WEIGHTS_EXTENSIONS: &str = ".weights.h5, .h5";

/// The error for loading a model from a `.weights.h5` file, which has no architecture.
fn weights_only(file: String) -> KerasError {
    KerasError::Missing {
        path: file,
        what: "architecture (a .weights.h5 file holds weights only: build the model, then load_weights)"
            .into(),
    }
}

/// The extension error for `operation` on `path`.
fn extension(path: &Path, operation: &'static str, accepted: &'static str) -> KerasError {
    KerasError::Extension {
        path: path.to_path_buf(),
        operation,
        accepted,
    }
}

/// A device-format failure on `path`.
fn device_format_error(path: &Path, e: DeviceFormatError) -> KerasError {
    KerasError::DeviceFormat {
        path: path.to_path_buf(),
        source: e,
    }
}

/// The UTF-8 text of the architecture file `path`, of at most [`MAX_CONFIG_BYTES`].
fn read_text(path: &Path) -> Result<String, KerasError> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(KerasError::io(path))?
        .take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(KerasError::io(path))?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(KerasError::Config {
            path: path.display().to_string(),
            at: "model_config".into(),
            message: format!(
                "the file holds more than the {MAX_CONFIG_BYTES} bytes an architecture may take"
            ),
        });
    }
    String::from_utf8(bytes).map_err(|_| KerasError::Config {
        path: path.display().to_string(),
        at: "model_config".into(),
        message: "the file is not UTF-8 text".into(),
    })
}

/// The architecture value (`model.to_json()`'s object) in the JSON or YAML file `path`.
fn architecture_value(path: &Path, kind: FileKind) -> Result<Value, KerasError> {
    let label = path.display().to_string();
    let text = read_text(path)?;
    match kind {
        FileKind::Yaml => yaml::parse(&text, &label),
        _ => json::parse(&text, &label),
    }
}

/// A model from an architecture value (`model.to_json()`'s object); compiled when the
/// value carries Keras 3's `compile_config`, as Keras 3 does.
fn from_architecture(value: &Value, file: &str, budget: ParamBudget) -> Result<Model, KerasError> {
    let mut model = model_from_config(value, file, ARCHITECTURE_SEED, budget)?;
    if let Some(compile) = value.get("compile_config").filter(|c| !c.is_null()) {
        model.compile = compile_from_config(compile, file)?;
    }
    Ok(model)
}

/// Refuses to write a model whose layer names Keras would not read back (empty, with a
/// `/`, or shared).
fn writable_names(model: &Model, path: &Path) -> Result<(), KerasError> {
    model.validate_names().map_err(|source| KerasError::Model {
        path: path.display().to_string(),
        source,
    })
}

/// Refuses to write a device-format file of weights that are NaN or infinite.
fn check_finite(model: &Model, path: &Path) -> Result<(), KerasError> {
    match model.nonfinite_weights() {
        None => Ok(()),
        Some((layer, count)) => Err(KerasError::Weights {
            path: path.display().to_string(),
            message: format!(
                "layer {layer:?} has {count} weights that are NaN or infinite; a device cannot run them"
            ),
        }),
    }
}

/// The architecture as tf_keras's `to_json()` writes it (with `keras_version`, `backend`).
fn architecture(model: &Model) -> Node {
    let mut node = model_to_config(model, Style::TfKeras);
    node.set("keras_version", Node::str(TF_KERAS_VERSION));
    node.set("backend", Node::str(BACKEND));
    node
}

impl Model {
    /// Loads a model as Keras's `load_model` does, the format chosen by the file name:
    /// `.h5` (any Keras from 2.0 on; weights, compile settings and optimizer state),
    /// `.keras`, or an architecture in `.json`/`.yaml`/`.yml` (fresh weights, seeded with
    /// [`ARCHITECTURE_SEED`]). At most [`DEFAULT_MAX_PARAMS`](crate::budget::DEFAULT_MAX_PARAMS)
    /// parameters; see [`Model::load_with_budget`].
    pub fn load(path: impl AsRef<Path>) -> Result<Model, KerasError> {
        Model::load_with_budget(path, ParamBudget::default())
    }

    /// [`Model::load`] of a model of at most `budget` parameters: the count is checked
    /// before any weight is allocated, and only the datasets the model needs are read.
    pub fn load_with_budget(path: impl AsRef<Path>, budget: ParamBudget) -> Result<Model, KerasError> {
        let path = path.as_ref();
        let label = path.display().to_string();
        match FileKind::of(path) {
            Some(FileKind::H5) => read_model(&h5::open(path, budget.max_weight_bytes())?, &label, budget),
            Some(FileKind::Keras) => read_keras(read_file(path)?, &label, budget),
            Some(kind @ (FileKind::Json | FileKind::Yaml)) => {
                from_architecture(&architecture_value(path, kind)?, &label, budget)
            }
            Some(FileKind::WeightsH5) => Err(weights_only(label)),
            Some(FileKind::DeviceFormat) => read_mdl(path).map_err(|e| device_format_error(path, e)),
            None => Err(extension(path, "load", ".h5, .keras, .json, .yaml, .yml, .mdl")),
        }
    }

    /// The architecture of any model file [`Model::load`] reads, checked against
    /// `budget`, without allocating or reading weights: the result's `params` are empty
    /// (a `.mdl` file's weights excepted). Enough for [`summary`](crate::summary),
    /// diagrams and `to_json`/`to_yaml`; [`Model::allocate_weights`] makes it trainable.
    pub fn load_architecture(path: impl AsRef<Path>, budget: ParamBudget) -> Result<Model, KerasError> {
        let path = path.as_ref();
        let label = path.display().to_string();
        match FileKind::of(path) {
            Some(FileKind::H5) => read_architecture(&h5::open(path, 0)?, &label, budget),
            Some(FileKind::Keras) => read_keras_architecture(read_file(path)?, &label, budget),
            Some(kind @ (FileKind::Json | FileKind::Yaml)) => {
                let value = architecture_value(path, kind)?;
                let mut model = architecture_from_config(&value, &label, budget)?;
                if let Some(compile) = value.get("compile_config").filter(|c| !c.is_null()) {
                    model.compile = compile_from_config(compile, &label)?;
                }
                Ok(model)
            }
            _ => Model::load_with_budget(path, budget),
        }
    }

    /// Saves the model, the format chosen by the file name: `.h5` (whole model in
    /// tf_keras 2.21's layout, which Keras 3 loads too), `.keras` (Keras 3 archive),
    /// `.json`/`.yaml`/`.yml` (architecture only) or `.weights.h5` (Keras 3 weights).
    /// The file is written under a temporary name and renamed into place.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), KerasError> {
        let path = path.as_ref();
        writable_names(self, path)?;
        match FileKind::of(path) {
            Some(FileKind::H5) => Ok(h5::write(path, &model_to_h5(self)?)?),
            Some(FileKind::Keras) => {
                crate::atomic::write(path, &keras_bytes(self)?).map_err(KerasError::io(path))
            }
            Some(FileKind::WeightsH5) => self.save_weights(path),
            Some(FileKind::Json) => {
                crate::atomic::write(path, self.to_json().as_bytes()).map_err(KerasError::io(path))
            }
            Some(FileKind::Yaml) => {
                crate::atomic::write(path, self.to_yaml()?.as_bytes()).map_err(KerasError::io(path))
            }
            Some(FileKind::DeviceFormat) => {
                // The training state (its trailing trainable Dense layers) goes along when
                // the model is compiled with an optimizer the device steps (plain SGD), so
                // a device can fine-tune it.
                check_finite(self, path)?;
                let options = ExportOptions {
                    with_training_state: self
                        .compile
                        .as_ref()
                        .is_some_and(|c| c.optimizer.as_sgd().is_some()),
                    trainable_layers: None,
                };
                let bytes = to_mdl(self, &options).map_err(|e| device_format_error(path, e))?;
                crate::atomic::write(path, &bytes).map_err(KerasError::io(path))
            }
            None => Err(extension(path, "save", SAVE_EXTENSIONS)),
        }
    }

    /// Checks, before any long work, that [`save`](Self::save) (or
    /// [`save_weights`](Self::save_weights) when `weights_only`) would accept `path`: its
    /// name says a format, and a file can be written there ([`crate::atomic::check`]).
    pub fn check_save_path(path: impl AsRef<Path>, weights_only: bool) -> Result<(), KerasError> {
        let path = path.as_ref();
        match FileKind::of(path) {
            Some(FileKind::WeightsH5 | FileKind::H5) => {}
            _ if weights_only => return Err(extension(path, "save_weights", SAVE_WEIGHTS_EXTENSIONS)),
            Some(_) => {}
            None => return Err(extension(path, "save", SAVE_EXTENSIONS)),
        }
        crate::atomic::check(path).map_err(KerasError::io(path))
    }

    /// The architecture as JSON, exactly as tf_keras's `model.to_json()` writes it
    /// (`tf_keras.models.model_from_json` rebuilds it).
    pub fn to_json(&self) -> String {
        architecture(self).to_json()
    }

    /// The architecture as JSON in Keras 3's style, as Keras 3's `model.to_json()`
    /// writes it (with its `compile_config` when compiled): what Keras 3's
    /// `model_from_json` reads, which does not read tf_keras's style (nor tf_keras ours).
    pub fn to_json_keras3(&self) -> String {
        let mut node = model_to_config(self, Style::Keras3);
        if let Some(compile) = &self.compile {
            node.set("compile_config", compile_config(compile));
        }
        node.to_json()
    }

    /// A model from `to_json()` text of any Keras (fresh weights, seeded with
    /// [`ARCHITECTURE_SEED`]).
    pub fn from_json(text: &str) -> Result<Model, KerasError> {
        let label = "(JSON text)";
        from_architecture(&json::parse(text, label)?, label, ParamBudget::default())
    }

    /// The architecture as YAML with the structure of `to_json()`, as Keras ≤ 2.5's
    /// `to_yaml()` wrote it (`yaml.safe_load` + `model_from_config` rebuild it).
    pub fn to_yaml(&self) -> Result<String, KerasError> {
        yaml::to_yaml(&architecture(self))
    }

    /// A model from YAML of the structure of `to_json()` (data only, within budgets).
    pub fn from_yaml(text: &str) -> Result<Model, KerasError> {
        let label = "(YAML text)";
        from_architecture(&yaml::parse(text, label)?, label, ParamBudget::default())
    }

    /// Saves the weights as Keras's `save_weights`: `*.weights.h5` in Keras 3's layout
    /// (with the optimizer state when compiled), any other `*.h5`/`*.hdf5` in Keras 2's.
    pub fn save_weights(&self, path: impl AsRef<Path>) -> Result<(), KerasError> {
        let path = path.as_ref();
        writable_names(self, path)?;
        match FileKind::of(path) {
            Some(FileKind::WeightsH5) => Ok(h5::write(path, &weights_h5(self)?)?),
            Some(FileKind::H5) => Ok(h5::write(path, &weights_group(self)?)?),
            _ => Err(extension(path, "save_weights", SAVE_WEIGHTS_EXTENSIONS)),
        }
    }

    /// Loads weights as Keras's `load_weights`: from `*.weights.h5` (Keras 3's layout),
    /// `*.h5` (Keras 2's layout, or the weights of a whole-model file of any flavour) or
    /// a `.keras` archive. By layer order unless `how.by_name`; the model is unchanged on
    /// error. A shape mismatch names the layer and both shapes.
    pub fn load_weights(
        &mut self,
        path: impl AsRef<Path>,
        how: LoadWeights,
    ) -> Result<WeightsReport, KerasError> {
        let path = path.as_ref();
        let label = path.display().to_string();
        // The file is read no further than the weights this model needs.
        let needed = ParamBudget::new(self.params.len());
        match FileKind::of(path) {
            Some(FileKind::WeightsH5) | Some(FileKind::H5) => {
                let root = h5::open(path, needed.max_weight_bytes())?;
                if root.group("layers").is_some() && root.attr("layer_names").is_none() {
                    load_weights_h5(self, &root, &label, how)
                } else if let Some(weights) = root.group("model_weights") {
                    load_weights_group(self, weights, &label, how)
                } else {
                    load_weights_group(self, &root, &label, how)
                }
            }
            Some(FileKind::Keras) => {
                let (root, inner) = Archive::new(read_file(path)?, &label)?.weights(needed)?;
                load_weights_h5(self, &root, &inner, how)
            }
            _ => Err(extension(path, "load_weights", ".weights.h5, .h5, .keras")),
        }
    }
}
