//! Which kinds of layer, activation, optimizer, schedule and loss this build of the engine
//! carries, chosen by cargo features as TensorFlow Lite Micro's op resolver chooses kernels:
//! a firmware built for one model leaves out the code of every kind the model does not use.
//!
//! The feature `all-kinds` (on by default) carries every kind. Without it the engine always
//! has Dense, Activation, Dropout, Flatten, Reshape and Identity layers, the linear, ReLU,
//! sigmoid and softmax activations, SGD (with momentum) at a constant learning rate, and
//! the device format's losses (the categorical, sparse categorical and binary
//! cross-entropies and mean squared error, with Keras's default settings); each other
//! group of kinds ([`Kind`]) comes with its own feature. A model that needs a
//! kind left out is refused where it enters the engine, naming the group and its feature:
//! by [`Network::new`](crate::Network::new) and [`Network::graph`](crate::Network::graph)
//! ([`Error::NotBuiltIn`](crate::Error::NotBuiltIn)) and by the device-format decoder
//! ([`FormatError::NotBuiltIn`](crate::format::FormatError::NotBuiltIn)); nothing left out
//! can run.
//!
//! ```
//! use microdense_core::kinds::{self, Kind};
//! use microdense_core::{Activation, Layer};
//!
//! let dense = Layer::Dense { units: 10, activation: Activation::Softmax, use_bias: true, activity_regularizer: None };
//! assert_eq!(kinds::left_out(&dense), None);
//! // The default build carries every kind.
//! assert_eq!(kinds::left_out(&Layer::Prelu), None);
//! assert_eq!(Kind::Normalization.feature(), "normalization");
//! ```

use crate::error::names;
use crate::format::ModelView;
use crate::optimizer::{Algorithm, Clipping, Optimizer, Schedule};
use crate::{Activation, Error, Layer, Loss, LossFunction};

/// Whether a feature is on (`all-kinds` turns every group's on).
macro_rules! built {
    ($feature:literal) => {
        cfg!(feature = $feature)
    };
}

/// BatchNormalization and LayerNormalization layers.
pub const NORMALIZATION: bool = built!("normalization");
/// Rescaling and Normalization (preprocessing) layers.
pub const PREPROCESSING: bool = built!("preprocessing");
/// ReLU (with its settings), LeakyReLU, PReLU and ELU layers.
pub const ACTIVATION_LAYERS: bool = built!("activation-layers");
/// GaussianNoise, GaussianDropout and AlphaDropout layers.
pub const NOISE: bool = built!("noise");
/// Merge layers and the functional graphs they make.
pub const MERGE: bool = built!("merge");
/// Activity regularization: a Dense layer's `activity_regularizer`, the
/// ActivityRegularization layer.
pub const ACTIVITY_REGULARIZATION: bool = built!("activity-regularization");
/// Activations other than linear, ReLU, sigmoid and softmax.
pub const ACTIVATIONS: bool = built!("activations");
/// Optimizers other than SGD, and weight decay.
pub const OPTIMIZERS: bool = built!("optimizers");
/// Learning-rate schedules other than a constant rate.
pub const SCHEDULES: bool = built!("schedules");
/// Gradient clipping (by value, norm or global norm).
pub const CLIPPING: bool = built!("clipping");
/// An int8 body before the float layers.
pub const INT8: bool = built!("int8");
/// Losses other than the device format's four ([`Loss`]), and loss settings (`from_logits`,
/// `label_smoothing`, Huber's `delta`).
pub const LOSSES: bool = built!("losses");

names! {
    /// A group of kinds that comes with its own cargo feature ([`Kind::feature`]).
    pub enum Kind {
        /// BatchNormalization and LayerNormalization layers.
        Normalization = 0 => "BatchNormalization and LayerNormalization layers (cargo feature `normalization`)",
        /// Rescaling and Normalization layers.
        Preprocessing = 1 => "Rescaling and Normalization layers (cargo feature `preprocessing`)",
        /// ReLU, LeakyReLU, PReLU and ELU layers.
        ActivationLayers = 2 => "ReLU, LeakyReLU, PReLU and ELU layers (cargo feature `activation-layers`)",
        /// GaussianNoise, GaussianDropout and AlphaDropout layers.
        Noise = 3 => "GaussianNoise, GaussianDropout and AlphaDropout layers (cargo feature `noise`)",
        /// Merge layers and functional graphs.
        Merge = 4 => "merge layers and functional graphs (cargo feature `merge`)",
        /// Activity regularization.
        ActivityRegularization = 5 => "activity regularization (cargo feature `activity-regularization`)",
        /// Activations other than linear, ReLU, sigmoid and softmax.
        Activations = 6 => "activations other than linear, relu, sigmoid and softmax (cargo feature `activations`)",
        /// Optimizers other than SGD, and weight decay.
        Optimizers = 7 => "optimizers other than SGD, and weight decay (cargo feature `optimizers`)",
        /// Learning-rate schedules.
        Schedules = 8 => "learning-rate schedules (cargo feature `schedules`)",
        /// Gradient clipping.
        Clipping = 9 => "gradient clipping (cargo feature `clipping`)",
        /// An int8 body.
        Int8 = 10 => "int8 layers (cargo feature `int8`)",
        /// Losses other than the device format's four, and loss settings.
        Losses = 11 => "losses other than the device format's four, and loss settings (cargo feature `losses`)",
    }
}

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

/// The first of `kinds` that this build leaves out.
#[inline(always)]
fn first_left_out(kinds: impl IntoIterator<Item = Option<Kind>>) -> Option<Kind> {
    kinds.into_iter().flatten().find(|k| !k.built())
}

/// The groups `layer` needs beyond the base (its activation's included), whatever this
/// build carries: at most two (a Dense layer's activation and activity regularizer).
pub fn layer_needs(layer: &Layer) -> [Option<Kind>; 2] {
    let regularized = |r: Option<_>| r.map(|_| Kind::ActivityRegularization);
    let one = |kind| [Some(kind), None];
    match *layer {
        Layer::Dense {
            activation,
            activity_regularizer,
            ..
        } => [activation_needs(activation), regularized(activity_regularizer)],
        Layer::Activation(activation) => [activation_needs(activation), None],
        Layer::BatchNormalization { .. } | Layer::LayerNormalization { .. } => one(Kind::Normalization),
        Layer::Rescaling { .. } | Layer::Normalization { .. } => one(Kind::Preprocessing),
        Layer::Relu { .. } | Layer::LeakyRelu { .. } | Layer::Prelu | Layer::Elu { .. } => {
            one(Kind::ActivationLayers)
        }
        Layer::GaussianNoise { .. } | Layer::GaussianDropout { .. } | Layer::AlphaDropout { .. } => {
            one(Kind::Noise)
        }
        Layer::ActivityRegularization { .. } => one(Kind::ActivityRegularization),
        Layer::Merge(_) => one(Kind::Merge),
        Layer::Dropout { .. } | Layer::Flatten | Layer::Softmax | Layer::Identity | Layer::Reshape => {
            [None, None]
        }
    }
}

/// The group `activation` needs beyond the base, if any.
pub fn activation_needs(activation: Activation) -> Option<Kind> {
    match activation {
        Activation::Linear | Activation::Relu | Activation::Sigmoid | Activation::Softmax => None,
        _ => Some(Kind::Activations),
    }
}

/// The groups `optimizer` needs beyond the base: its algorithm (or weight decay), its
/// schedule, its clipping.
pub fn optimizer_needs(optimizer: &Optimizer) -> [Option<Kind>; 3] {
    let algorithm = match optimizer.algorithm {
        Algorithm::Sgd { .. } if optimizer.weight_decay == 0.0 => None,
        _ => Some(Kind::Optimizers),
    };
    let schedule = match optimizer.learning_rate {
        Schedule::Constant(_) => None,
        _ => Some(Kind::Schedules),
    };
    let clipping = match optimizer.clipping {
        Clipping::None => None,
        _ => Some(Kind::Clipping),
    };
    [algorithm, schedule, clipping]
}

/// The group `loss` needs beyond the base: none for the device format's four losses
/// ([`Loss`]) with Keras's default settings.
pub fn loss_needs(loss: &LossFunction) -> Option<Kind> {
    let device = Loss::ALL.iter().any(|&l| LossFunction::from(l) == *loss);
    (!device).then_some(Kind::Losses)
}

/// The groups a decoded model needs beyond the base (its layers', its training state's
/// optimizer's, its int8 body's), in the model's order and maybe more than once.
pub fn model_needs<'v>(view: &'v ModelView<'_>) -> impl Iterator<Item = Kind> + 'v {
    view.layers()
        .iter()
        .flat_map(layer_needs)
        .chain(
            view.training()
                .into_iter()
                .flat_map(|t| optimizer_needs(&t.optimizer)),
        )
        .chain([view.int8_body().map(|_| Kind::Int8)])
        .flatten()
}

/// The group `layer` needs that this build leaves out, if any.
#[inline(always)]
pub fn left_out(layer: &Layer) -> Option<Kind> {
    first_left_out(layer_needs(layer))
}

/// The group `loss` needs that this build leaves out, if any.
#[inline(always)]
pub fn loss_left_out(loss: &LossFunction) -> Option<Kind> {
    first_left_out([loss_needs(loss)])
}

/// The group `optimizer` needs that this build leaves out, if any.
#[inline(always)]
pub fn optimizer_left_out(optimizer: &Optimizer) -> Option<Kind> {
    first_left_out(optimizer_needs(optimizer))
}
