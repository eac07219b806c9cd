//! Keras's file formats: whole models (`.h5` in the three flavours Keras has written,
//! `.keras` archives), architectures (`to_json`, `to_yaml`) and weights (`save_weights`
//! in Keras 2's and Keras 3's layouts), read and written so real Keras loads what we
//! write and we load what any Keras from 2.0 to 3.x wrote.
//!
//! The Keras-like API lives on [`Model`](crate::model::Model) (see
//! [`model_io`](crate::model_io)); this module holds the formats themselves:
//!
//! - [`config`]: `model_config` JSON ⇄ the model's architecture (Sequential, Functional
//!   chains; Keras 2.0–2.2, tf_keras 2.x and Keras 3 styles);
//! - [`layers`]: the configs of the layers beyond Dense, Activation, Dropout and Flatten,
//!   and the nearest supported layer for the refused ones;
//! - [`training_config`]: loss, optimizer and metrics (`lr`/`learning_rate`, `acc`);
//! - [`loss_config`]: every Keras's loss configs (names, aliases, loss objects);
//! - [`optimizer_config`]: every Keras's optimizer configs and learning-rate schedules;
//! - [`regularizer_config`]: Dense's regularizers and constraints;
//! - [`yaml`]: YAML ⇄ JSON values, readable by PyYAML, with parsing budgets;
//! - [`weights`]: Keras 2's weight layout (`save_weights('w.h5')`, `model_weights/`);
//! - [`h5_model`]: whole-model HDF5 files with optimizer state;
//! - [`keras3`]: Keras 3's `.weights.h5` layout and `.keras` archives.
//!
//! Every file is written under a temporary name in its directory and renamed into place.

pub mod config;
mod error;
mod file;
pub mod h5_model;
pub mod json;
pub mod keras3;
pub mod layers;
pub mod loss_config;
mod optimizer;
pub mod optimizer_config;
pub mod regularizer_config;
mod style;
pub mod training_config;
pub mod weights;
pub mod yaml;

pub use error::KerasError;
pub(crate) use file::read_file;
pub use optimizer::{keras_optimizer_state, set_keras_optimizer_state, KerasOptimizerState};
pub use style::Style;

/// The tf_keras version whose layout we write in `.h5` files and JSON (`keras_version`).
pub const TF_KERAS_VERSION: &str = "2.21.0";
/// The Keras 3 version whose layout we write in `.keras` archives.
pub const KERAS3_VERSION: &str = "3.15.1";
/// The backend we name in files (`backend`): Keras files carry it; TensorFlow is what
/// both tf_keras and Keras 3 default to.
pub const BACKEND: &str = "tensorflow";
