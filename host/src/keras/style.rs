//! Which Keras a config is written for: tf_keras 2.x or Keras 3, whose JSON differs.

/// Which Keras's conventions a written config follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// tf_keras 2.x's `to_json()` (Keras 2): `batch_input_shape`, dtype strings,
    /// list-style `inbound_nodes`, each layer with `module` and `build_config`.
    TfKeras,
    /// tf_keras 2.x's `model_config` attribute of `.h5` files: as [`Style::TfKeras`]
    /// but each layer only `class_name` and `config` (Keras 3's legacy-h5 loader needs
    /// this form to read Keras 2 configs).
    TfKerasH5,
    /// Keras 3: `batch_shape`, dtype-policy objects, `__keras_tensor__` `inbound_nodes`.
    Keras3,
}
