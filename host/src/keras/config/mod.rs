//! `model_config` ⇄ architecture: the JSON object Keras writes for `model.to_json()`,
//! in `.h5` files' `model_config` and in `.keras` archives' `config.json`.
//!
//! - reading ([`model_from_config`], [`architecture_from_config`]): Sequential models
//!   (Keras 2.0–2.2's bare list of layers with `batch_input_shape` on the first, tf_keras
//!   2.x's `{"name", "layers"}` with an `InputLayer`, Keras 3's `batch_shape` and
//!   dtype-policy objects) and Functional models (`Functional`, Keras 2's `Model`) that are
//!   a plain chain, with Keras 2's or Keras 3's `inbound_nodes`. Layers: Dense, Activation,
//!   Dropout, Flatten, InputLayer and those of [`layers`](super::layers); anything else is
//!   refused, naming the class, the layer and the nearest supported alternative.
//! - writing ([`model_to_config`]): tf_keras 2.21's style ([`Style::TfKeras`], which
//!   `tf_keras.models.model_from_json` and Keras 3's legacy-h5 loader accept) or Keras 3's
//!   ([`Style::Keras3`], for `.keras` archives).

mod read;
mod write;

pub use super::Style;
pub use read::{architecture_from_config, model_from_config};
pub use write::model_to_config;
