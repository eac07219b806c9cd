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

use crate::device_format::{read_mdl, to_mdl, DeviceFormatError, ExportOptions};
use crate::h5;
use crate::keras::config::{model_from_config, model_to_config, Style};
use crate::keras::h5_model::{model_to_h5, read_model};
use crate::keras::json::{self, Node};
use crate::keras::keras3::{keras_bytes, load_weights_h5, read_keras, weights_h5, WEIGHTS_ENTRY};
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
        message: e.to_string(),
    }
}

/// Turns a failure to write `path` into [`KerasError::Io`].
fn writing(path: &Path) -> impl FnOnce(std::io::Error) -> KerasError + '_ {
    move |source| KerasError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Refuses layer names no Keras file can hold, so that nothing is written that cannot be
/// read back: empty names and names with `/` (Keras 3 refuses both; in HDF5 a `/`
/// separates groups).
fn check_layer_names(model: &Model, path: &Path) -> Result<(), KerasError> {
    match model
        .layers
        .iter()
        .enumerate()
        .find(|(_, l)| l.name.is_empty() || l.name.contains('/'))
    {
        Some((i, layer)) => Err(KerasError::Config {
            file: path.display().to_string(),
            at: format!("layer #{i} ({})", layer.layer.keras_class()),
            message: format!(
                "its name {:?} cannot be saved: a layer name is not empty and holds no '/'",
                layer.name
            ),
        }),
        None => Ok(()),
    }
}

/// The UTF-8 text of `path`.
fn read_text(path: &Path) -> Result<String, KerasError> {
    String::from_utf8(read_file(path)?).map_err(|e| KerasError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
    })
}

/// A model from an architecture value (`model.to_json()`'s object); compiled when the
/// value carries Keras 3's `compile_config`, as Keras 3 does.
fn from_architecture(value: &Value, file: &str) -> Result<Model, KerasError> {
    let mut model = model_from_config(value, file, ARCHITECTURE_SEED)?;
    if let Some(compile) = value.get("compile_config").filter(|c| !c.is_null()) {
        model.compile = compile_from_config(compile, file)?;
    }
    Ok(model)
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
    /// [`ARCHITECTURE_SEED`]).
    pub fn load(path: impl AsRef<Path>) -> Result<Model, KerasError> {
        let path = path.as_ref();
        let label = path.display().to_string();
        match FileKind::of(path) {
            Some(FileKind::H5) => read_model(&h5::read(path)?, &label),
            Some(FileKind::Keras) => read_keras(read_file(path)?, &label),
            Some(FileKind::Json) => from_architecture(&json::parse(&read_text(path)?, &label)?, &label),
            Some(FileKind::Yaml) => from_architecture(&yaml::parse(&read_text(path)?, &label)?, &label),
            Some(FileKind::WeightsH5) => Err(KerasError::Missing {
                file: label,
                what:
                    "architecture (a .weights.h5 file holds weights only: build the model, then load_weights)"
                        .into(),
            }),
            Some(FileKind::DeviceFormat) => read_mdl(path).map_err(|e| device_format_error(path, e)),
            None => Err(extension(path, "load", ".h5, .keras, .json, .yaml, .yml, .mdl")),
        }
    }

    /// Saves the model, the format chosen by the file name: `.h5` (whole model in
    /// tf_keras 2.21's layout, which Keras 3 loads too), `.keras` (Keras 3 archive),
    /// `.json`/`.yaml`/`.yml` (architecture only) or `.weights.h5` (Keras 3 weights).
    /// The file is written under a temporary name and renamed into place.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), KerasError> {
        let path = path.as_ref();
        check_layer_names(self, path)?;
        match FileKind::of(path) {
            Some(FileKind::H5) => Ok(h5::write(path, &model_to_h5(self)?)?),
            Some(FileKind::Keras) => crate::atomic::write(path, &keras_bytes(self)?).map_err(writing(path)),
            Some(FileKind::WeightsH5) => self.save_weights(path),
            Some(FileKind::Json) => {
                crate::atomic::write(path, self.to_json().as_bytes()).map_err(writing(path))
            }
            Some(FileKind::Yaml) => {
                crate::atomic::write(path, self.to_yaml()?.as_bytes()).map_err(writing(path))
            }
            Some(FileKind::DeviceFormat) => {
                // The training state (its trailing trainable Dense layers) goes along when
                // the model is compiled, so a device can fine-tune it.
                let options = ExportOptions {
                    with_training_state: self.compile.is_some(),
                    trainable_layers: None,
                };
                let bytes = to_mdl(self, &options).map_err(|e| device_format_error(path, e))?;
                crate::atomic::write(path, &bytes).map_err(writing(path))
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
        crate::atomic::check(path).map_err(writing(path))
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
        from_architecture(&json::parse(text, "(JSON text)")?, "(JSON text)")
    }

    /// The architecture as YAML with the structure of `to_json()`, as Keras ≤ 2.5's
    /// `to_yaml()` wrote it (`yaml.safe_load` + `model_from_config` rebuild it).
    pub fn to_yaml(&self) -> Result<String, KerasError> {
        yaml::to_yaml(&architecture(self))
    }

    /// A model from YAML of the structure of `to_json()` (data only, within budgets).
    pub fn from_yaml(text: &str) -> Result<Model, KerasError> {
        from_architecture(&yaml::parse(text, "(YAML text)")?, "(YAML text)")
    }

    /// Saves the weights as Keras's `save_weights`: `*.weights.h5` in Keras 3's layout
    /// (with the optimizer state when compiled), any other `*.h5`/`*.hdf5` in Keras 2's.
    pub fn save_weights(&self, path: impl AsRef<Path>) -> Result<(), KerasError> {
        let path = path.as_ref();
        check_layer_names(self, path)?;
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
        match FileKind::of(path) {
            Some(FileKind::WeightsH5) | Some(FileKind::H5) => {
                let root = h5::read(path)?;
                if root.group("layers").is_some() && root.attr("layer_names").is_none() {
                    load_weights_h5(self, &root, &label, how)
                } else if let Some(weights) = root.group("model_weights") {
                    load_weights_group(self, weights, &label, how)
                } else {
                    load_weights_group(self, &root, &label, how)
                }
            }
            Some(FileKind::Keras) => {
                let bytes = read_file(path)?;
                let mut zip =
                    zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| KerasError::Archive {
                        file: label.clone(),
                        message: format!("not a readable .keras (zip) archive: {e}"),
                    })?;
                let mut weights = Vec::new();
                zip.by_name(WEIGHTS_ENTRY)
                    .map_err(|e| e.to_string())
                    .and_then(|mut f| f.read_to_end(&mut weights).map_err(|e| e.to_string()))
                    .map_err(|message| KerasError::Archive {
                        file: label.clone(),
                        message: format!("cannot read {WEIGHTS_ENTRY}: {message}"),
                    })?;
                let inner = format!("{label}:{WEIGHTS_ENTRY}");
                load_weights_h5(self, &h5::read_bytes(weights, &inner)?, &inner, how)
            }
            _ => Err(extension(path, "load_weights", ".weights.h5, .h5, .keras")),
        }
    }
}
