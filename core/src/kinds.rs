//! Which kinds of layer, activation, optimizer, schedule and loss this build of the engine
//! carries, chosen by cargo features as TensorFlow Lite Micro's op resolver chooses kernels:
//! a firmware built for one model leaves out the code of every kind the model does not use.
//!
//! The feature `all-kinds` (on by default) turns on every group's feature. Without it the engine always
//! has Dense, Activation, Dropout, Flatten, Reshape and Identity layers, the linear, ReLU,
//! sigmoid and softmax activations, SGD (with momentum) at a constant learning rate, and
//! the device format's losses (the categorical, sparse categorical and binary
//! cross-entropies and mean squared error, with Keras's default settings); each other
//! group of kinds ([`Kind`]) comes with its own feature. A model that needs a
//! kind left out is refused where it enters the engine, naming the group and its feature:
//! by [`Network::new`](crate::Network::new) and [`Network::graph`](crate::Network::graph)
//! ([`Error::NotBuiltIn`]) and by the device-format decoder
//! ([`FormatError::NotBuiltIn`](crate::format::FormatError::NotBuiltIn)); nothing left out
//! can run.
//!
//! ```
//! use microdense_core::kinds::{self, Kind};
//! use microdense_core::{Activation, Layer};
//!
//! let dense = Layer::Dense { units: 10, activation: Activation::Gelu, use_bias: true, activity_regularizer: None };
//! assert_eq!(dense.needs(), [Some(Kind::Activations), None]);
//! assert_eq!(Kind::Activations.feature(), "activations");
//! // The default build carries every kind.
//! assert!(Kind::Activations.built());
//! assert_eq!(kinds::left_out(dense.needs()), None);
//! ```

pub use crate::error::Kind;
use crate::Error;

/// BatchNormalization and LayerNormalization layers.
pub const NORMALIZATION: bool = cfg!(feature = "normalization");
/// Rescaling and Normalization (preprocessing) layers.
pub const PREPROCESSING: bool = cfg!(feature = "preprocessing");
/// ReLU (with its settings), LeakyReLU, PReLU and ELU layers.
pub const ACTIVATION_LAYERS: bool = cfg!(feature = "activation-layers");
/// GaussianNoise, GaussianDropout and AlphaDropout layers.
pub const NOISE: bool = cfg!(feature = "noise");
/// Merge layers and the functional graphs they make.
pub const MERGE: bool = cfg!(feature = "merge");
/// Activity regularization: a Dense layer's `activity_regularizer`, the
/// ActivityRegularization layer.
pub const ACTIVITY_REGULARIZATION: bool = cfg!(feature = "activity-regularization");
/// Activations other than linear, ReLU, sigmoid and softmax.
pub const ACTIVATIONS: bool = cfg!(feature = "activations");
/// Optimizers other than SGD, and weight decay.
pub const OPTIMIZERS: bool = cfg!(feature = "optimizers");
/// Learning-rate schedules other than a constant rate.
pub const SCHEDULES: bool = cfg!(feature = "schedules");
/// Gradient clipping (by value, norm or global norm).
pub const CLIPPING: bool = cfg!(feature = "clipping");
/// An int8 body before the float layers.
pub const INT8: bool = cfg!(feature = "int8");
/// Losses other than the device format's four ([`crate::Loss`]), and loss settings (`from_logits`,
/// `label_smoothing`, Huber's `delta`).
pub const LOSSES: bool = cfg!(feature = "losses");

impl Kind {
    /// The cargo feature that brings the group in (of `microdense-core`, and of the
    /// firmware, which passes it on).
    pub fn feature(self) -> &'static str {
        match self {
            Kind::Normalization => "normalization",
            Kind::Preprocessing => "preprocessing",
            Kind::ActivationLayers => "activation-layers",
            Kind::Noise => "noise",
            Kind::Merge => "merge",
            Kind::ActivityRegularization => "activity-regularization",
            Kind::Activations => "activations",
            Kind::Optimizers => "optimizers",
            Kind::Schedules => "schedules",
            Kind::Clipping => "clipping",
            Kind::Int8 => "int8",
            Kind::Losses => "losses",
        }
    }

    /// `Ok` when this build carries the group, else its [`Error::NotBuiltIn`]: checked
    /// where a kind's code runs, so a group left out is not linked.
    #[inline(always)]
    pub fn require(self) -> Result<(), Error> {
        if self.built() {
            Ok(())
        } else {
            Err(Error::NotBuiltIn { kind: self })
        }
    }

    /// Whether this build carries the group.
    pub const fn built(self) -> bool {
        match self {
            Kind::Normalization => NORMALIZATION,
            Kind::Preprocessing => PREPROCESSING,
            Kind::ActivationLayers => ACTIVATION_LAYERS,
            Kind::Noise => NOISE,
            Kind::Merge => MERGE,
            Kind::ActivityRegularization => ACTIVITY_REGULARIZATION,
            Kind::Activations => ACTIVATIONS,
            Kind::Optimizers => OPTIMIZERS,
            Kind::Schedules => SCHEDULES,
            Kind::Clipping => CLIPPING,
            Kind::Int8 => INT8,
            Kind::Losses => LOSSES,
        }
    }
}

/// The first group of `needs` (what a layer, optimizer, loss or model needs: `needs()`
/// on each) that this build leaves out.
#[inline(always)]
pub fn left_out(needs: impl IntoIterator<Item = Option<Kind>>) -> Option<Kind> {
    needs.into_iter().flatten().find(|k| !k.built())
}
