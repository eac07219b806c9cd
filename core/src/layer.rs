//! The layers a microdense network is built from.

use crate::Activation;
use serde::{Deserialize, Serialize};

/// One layer of a sequential network. Widths are flat: a network maps a vector of
/// `input` values to a vector of outputs, whatever shape Keras gave the input.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Layer {
    /// `keras.layers.Dense`: `activation(x · kernel + bias)`, kernel `[in, units]` row-major.
    Dense {
        /// Output width.
        units: u32,
        /// Fused activation (`Dense(50, activation="relu")`); `Linear` for none.
        activation: Activation,
        /// Whether the layer has a bias vector.
        use_bias: bool,
    },
    /// `keras.layers.Activation`: an activation as a layer of its own.
    Activation(Activation),
    /// `keras.layers.Dropout`: identity at inference, inverted dropout in training.
    Dropout {
        /// Fraction of inputs dropped in training, in `[0, 1)`.
        rate: f32,
    },
    /// `keras.layers.Flatten`: changes only the shape, not the flat values.
    Flatten,
}

impl Layer {
    /// Width of the layer's output given the width of its input.
    pub fn output_width(&self, input: usize) -> usize {
        match self {
            Layer::Dense { units, .. } => *units as usize,
            _ => input,
        }
    }

    /// Number of parameters (kernel, then bias) the layer holds for an input of `input` values.
    pub fn param_count(&self, input: usize) -> usize {
        match self {
            Layer::Dense { units, use_bias, .. } => {
                let units = *units as usize;
                input * units + if *use_bias { units } else { 0 }
            }
            _ => 0,
        }
    }

    /// True for layers with weights (Dense).
    pub fn has_weights(&self) -> bool {
        matches!(self, Layer::Dense { .. })
    }

    /// The Keras class name (`"Dense"`, `"Activation"`, `"Dropout"`, `"Flatten"`).
    pub fn keras_class(&self) -> &'static str {
        match self {
            Layer::Dense { .. } => "Dense",
            Layer::Activation(_) => "Activation",
            Layer::Dropout { .. } => "Dropout",
            Layer::Flatten => "Flatten",
        }
    }

    /// The activation the layer applies, if any (`Linear` counts as none).
    pub fn activation(&self) -> Option<Activation> {
        match self {
            Layer::Dense { activation, .. } | Layer::Activation(activation) => {
                Some(*activation).filter(|a| *a != Activation::Linear)
            }
            _ => None,
        }
    }
}
