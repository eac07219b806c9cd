//! The layers a microdense network is built from: what each computes, its weights, and
//! its forward and backward passes (one module per family, forward and backward together).

mod activations;
mod dense;
pub(crate) mod merge;
mod noise;
mod normalization;
mod preprocessing;

use crate::kinds::{self, Kind};
use crate::{Activation, Error, LayerDefect, MatMul, Regularizer, Rng};
use serde::{Deserialize, Serialize};

pub use merge::Merge;

/// One layer of a sequential network. Widths are flat: a network maps a vector of
/// `input` values to a vector of outputs, whatever shape Keras gave the input.
///
/// Per-feature weights (BatchNormalization, LayerNormalization, Normalization, PReLU)
/// act on the last axis, which for a flat network is the whole width: Keras's default
/// `axis=-1` on a `(batch, features)` input.
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
        /// Keras's `activity_regularizer`: adds `(l1 · Σ|y| + l2 · Σy²) / batch` of the
        /// layer's outputs `y` to the training loss, as an `ActivityRegularization` layer
        /// after it would.
        activity_regularizer: Option<crate::Regularizer>,
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
    /// `keras.layers.BatchNormalization`: `gamma · (x − mean) / sqrt(var + epsilon) + beta`
    /// per feature, with the batch's moments in training (updating the moving ones) and
    /// the moving moments at inference. Weights: `gamma` (if `scale`), `beta` (if
    /// `center`), then the non-trainable `moving_mean`, `moving_variance`.
    BatchNormalization {
        /// Weight of the old value in the moving averages (Keras default 0.99).
        momentum: f32,
        /// Added to the variance (Keras default 1e-3).
        epsilon: f32,
        /// Whether there is a `beta` offset.
        center: bool,
        /// Whether there is a `gamma` factor.
        scale: bool,
    },
    /// `keras.layers.LayerNormalization`: each sample normalised over its features, then
    /// `gamma ·` and `+ beta`. Weights: `gamma` (if `scale`), `beta` (if `center`).
    LayerNormalization {
        /// Added to the variance (Keras default 1e-3).
        epsilon: f32,
        /// Whether there is a `beta` offset.
        center: bool,
        /// Whether there is a `gamma` factor.
        scale: bool,
    },
    /// `keras.layers.Rescaling`: `x · scale + offset`.
    Rescaling {
        /// Factor.
        scale: f32,
        /// Offset.
        offset: f32,
    },
    /// `keras.layers.Normalization` (adapted): `(x − mean) / max(sqrt(variance), 1e-7)`,
    /// or with `invert` `mean + x · max(sqrt(variance), 1e-7)`. Weights, non-trainable:
    /// `mean`, `variance` (Keras's `count` is not needed to compute anything).
    Normalization {
        /// Apply the inverse transformation.
        invert: bool,
    },
    /// `keras.layers.ReLU`: `min(x, max_value)` above `threshold`, else
    /// `negative_slope · (x − threshold)`.
    Relu {
        /// Largest output (`None`: unbounded).
        max_value: Option<f32>,
        /// Slope below the threshold.
        negative_slope: f32,
        /// Where the slope changes.
        threshold: f32,
    },
    /// `keras.layers.LeakyReLU`: `x` for `x ≥ 0`, else `negative_slope · x` (tf_keras
    /// calls it `alpha`; default 0.3).
    LeakyRelu {
        /// Slope for negative inputs.
        negative_slope: f32,
    },
    /// `keras.layers.PReLU`: `x` for `x > 0`, else `alpha · x` with a trainable `alpha`
    /// per feature. Weights: `alpha`.
    Prelu,
    /// `keras.layers.ELU`: `x` for `x > 0`, else `alpha · (exp(x) − 1)`.
    Elu {
        /// Scale of the negative part (default 1).
        alpha: f32,
    },
    /// `keras.layers.Softmax` over the features.
    Softmax,
    /// `keras.layers.Identity`.
    Identity,
    /// `keras.layers.GaussianNoise`: adds `N(0, stddev²)` noise in training only.
    GaussianNoise {
        /// Standard deviation of the noise.
        stddev: f32,
    },
    /// `keras.layers.GaussianDropout`: multiplies by `N(1, rate / (1 − rate))` noise in
    /// training only.
    GaussianDropout {
        /// Drop probability, in `[0, 1)`.
        rate: f32,
    },
    /// `keras.layers.AlphaDropout`: SELU-preserving dropout in training only.
    AlphaDropout {
        /// Drop probability, in `[0, 1)`.
        rate: f32,
    },
    /// `keras.layers.Reshape` to one dimension: changes only the shape.
    Reshape,
    /// `keras.layers.ActivityRegularization`: the identity, adding
    /// `(l1 · Σ|x| + l2 · Σx²) / batch` to the training loss.
    ActivityRegularization {
        /// L1 factor.
        l1: f32,
        /// L2 factor.
        l2: f32,
    },
    /// A merge layer (`keras.layers.Add`, ..., `Concatenate`): combines the outputs of
    /// several earlier layers of a graph ([`crate::Network::graph`]).
    Merge(Merge),
}

impl Layer {
    /// Width of the layer's output given the width of its input (for a merge, the common
    /// width of its inputs, or for Concatenate their total width).
    pub fn output_width(&self, input: usize) -> usize {
        match self {
            Layer::Dense { units, .. } => *units as usize,
            _ => input,
        }
    }

    /// Number of weights the layer holds for an input of `input` values: its trainable
    /// ones first, then its non-trainable ones (Keras's weight order in both cases).
    pub fn param_count(&self, input: usize) -> usize {
        self.trainable_param_count(input) + self.non_trainable_param_count(input)
    }

    /// Number of trainable weights (a prefix of the layer's weights).
    pub fn trainable_param_count(&self, input: usize) -> usize {
        match *self {
            Layer::Dense { units, use_bias, .. } => {
                let units = units as usize;
                input * units + if use_bias { units } else { 0 }
            }
            Layer::BatchNormalization { center, scale, .. }
            | Layer::LayerNormalization { center, scale, .. } => {
                input * (usize::from(center) + usize::from(scale))
            }
            Layer::Prelu => input,
            _ => 0,
        }
    }

    /// Number of non-trainable weights (moving statistics, adapted mean and variance),
    /// after the trainable ones.
    pub fn non_trainable_param_count(&self, input: usize) -> usize {
        match self {
            Layer::BatchNormalization { .. } | Layer::Normalization { .. } => 2 * input,
            _ => 0,
        }
    }

    /// True for layers with trainable weights: the layers `Trainer::last_weighted` counts.
    pub fn has_weights(&self) -> bool {
        self.trainable_param_count(1) > 0
    }

    /// The weights' names, as Keras names them, in the order of the layer's weights; each
    /// covers `units` values (Dense's kernel covers `input × units`).
    pub fn weight_names(&self) -> &'static [&'static str] {
        match *self {
            Layer::Dense { use_bias: true, .. } => &["kernel", "bias"],
            Layer::Dense { use_bias: false, .. } => &["kernel"],
            Layer::BatchNormalization { center, scale, .. } => match (scale, center) {
                (true, true) => &["gamma", "beta", "moving_mean", "moving_variance"],
                (true, false) => &["gamma", "moving_mean", "moving_variance"],
                (false, true) => &["beta", "moving_mean", "moving_variance"],
                (false, false) => &["moving_mean", "moving_variance"],
            },
            Layer::LayerNormalization { center, scale, .. } => match (scale, center) {
                (true, true) => &["gamma", "beta"],
                (true, false) => &["gamma"],
                (false, true) => &["beta"],
                (false, false) => &[],
            },
            Layer::Normalization { .. } => &["mean", "variance"],
            Layer::Prelu => &["alpha"],
            _ => &[],
        }
    }

    /// The Keras class name (`"Dense"`, `"BatchNormalization"`, ...).
    pub fn keras_class(&self) -> &'static str {
        match self {
            Layer::Dense { .. } => "Dense",
            Layer::Activation(_) => "Activation",
            Layer::Dropout { .. } => "Dropout",
            Layer::Flatten => "Flatten",
            Layer::BatchNormalization { .. } => "BatchNormalization",
            Layer::LayerNormalization { .. } => "LayerNormalization",
            Layer::Rescaling { .. } => "Rescaling",
            Layer::Normalization { .. } => "Normalization",
            Layer::Relu { .. } => "ReLU",
            Layer::LeakyRelu { .. } => "LeakyReLU",
            Layer::Prelu => "PReLU",
            Layer::Elu { .. } => "ELU",
            Layer::Softmax => "Softmax",
            Layer::Identity => "Identity",
            Layer::GaussianNoise { .. } => "GaussianNoise",
            Layer::GaussianDropout { .. } => "GaussianDropout",
            Layer::AlphaDropout { .. } => "AlphaDropout",
            Layer::Reshape => "Reshape",
            Layer::ActivityRegularization { .. } => "ActivityRegularization",
            Layer::Merge(m) => m.keras_class(),
        }
    }

    /// The activation the layer applies, if any (`Linear` counts as none).
    pub fn activation(&self) -> Option<Activation> {
        match self {
            Layer::Dense { activation, .. } | Layer::Activation(activation) => {
                Some(*activation).filter(|a| *a != Activation::Linear)
            }
            Layer::Softmax => Some(Activation::Softmax),
            _ => None,
        }
    }

    /// Why the layer's settings are invalid, if they are.
    pub(crate) fn invalid(&self) -> Option<LayerDefect> {
        let finite = |v: f32| v.is_finite();
        match *self {
            Layer::Dense { units: 0, .. } => Some(LayerDefect::ZeroUnits),
            Layer::Dense {
                activity_regularizer: Some(r),
                ..
            } if !(r.l1 >= 0.0 && r.l2 >= 0.0 && finite(r.l1) && finite(r.l2)) => {
                Some(LayerDefect::ActivityRegularization)
            }
            Layer::Dropout { rate } | Layer::GaussianDropout { rate } | Layer::AlphaDropout { rate }
                if !(0.0..1.0).contains(&rate) =>
            {
                Some(LayerDefect::DropoutRate)
            }
            Layer::BatchNormalization {
                momentum, epsilon, ..
            } if !((0.0..=1.0).contains(&momentum) && epsilon > 0.0 && finite(epsilon)) => {
                Some(LayerDefect::BatchNormalization)
            }
            Layer::LayerNormalization { epsilon, .. } if !(epsilon > 0.0 && finite(epsilon)) => {
                Some(LayerDefect::LayerNormalization)
            }
            Layer::Rescaling { scale, offset } if !finite(scale) || !finite(offset) => {
                Some(LayerDefect::Rescaling)
            }
            Layer::Relu {
                max_value,
                negative_slope,
                threshold,
            } if max_value.is_some_and(|m| m.is_nan() || m < 0.0)
                || !finite(negative_slope)
                || !finite(threshold) =>
            {
                Some(LayerDefect::Relu)
            }
            Layer::LeakyRelu { negative_slope } if !finite(negative_slope) => Some(LayerDefect::LeakyRelu),
            Layer::Elu { alpha } if !finite(alpha) => Some(LayerDefect::Elu),
            Layer::GaussianNoise { stddev } if !(stddev >= 0.0 && finite(stddev)) => {
                Some(LayerDefect::GaussianNoise)
            }
            Layer::ActivityRegularization { l1, l2 }
                if !(l1 >= 0.0 && l2 >= 0.0 && finite(l1) && finite(l2)) =>
            {
                Some(LayerDefect::ActivityRegularization)
            }
            _ => None,
        }
    }

    /// `Dense(units, activation)` with Keras's other defaults: a bias, no activity regularizer.
    pub const fn dense(units: u32, activation: Activation) -> Layer {
        Layer::Dense {
            units,
            activation,
            use_bias: true,
            activity_regularizer: None,
        }
    }

    /// The groups of kinds the layer needs beyond the base ([`kinds`]; its activation's
    /// included), whatever this build carries: at most two (a Dense layer's activation and
    /// activity regularizer).
    pub fn needs(&self) -> [Option<Kind>; 2] {
        let regularized = |r: Option<Regularizer>| r.map(|_| Kind::ActivityRegularization);
        let one = |kind| [Some(kind), None];
        match *self {
            Layer::Dense {
                activation,
                activity_regularizer,
                ..
            } => [activation.needs(), regularized(activity_regularizer)],
            Layer::Activation(activation) => [activation.needs(), None],
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

    /// Whether the layer draws random numbers in training (dropout and noise).
    pub fn draws(&self) -> bool {
        matches!(
            self,
            Layer::Dropout { .. }
                | Layer::GaussianNoise { .. }
                | Layer::GaussianDropout { .. }
                | Layer::AlphaDropout { .. }
        )
    }

    /// The penalty the layer adds to the loss from its outputs: a Dense layer's
    /// `activity_regularizer`, an ActivityRegularization layer's factors.
    pub fn activity_regularizer(&self) -> Option<Regularizer> {
        match *self {
            Layer::Dense {
                activity_regularizer, ..
            } => activity_regularizer,
            Layer::ActivityRegularization { l1, l2 } => Some(Regularizer { l1, l2 }),
            _ => None,
        }
    }

    /// Per-sample values the layer keeps between its training forward and backward
    /// passes besides its input and output (`e_i` in [`crate::Trainer`]'s sizes).
    pub(crate) fn kept_per_sample(&self, input: usize) -> usize {
        match self {
            Layer::Dense {
                units, activation, ..
            } if *activation != Activation::Linear => *units as usize,
            Layer::Dropout { .. } | Layer::GaussianDropout { .. } | Layer::AlphaDropout { .. } => input,
            _ => 0,
        }
    }

    /// Per-batch values the layer keeps when trainable (`c_i` in [`crate::Trainer`]'s
    /// sizes): the next values of its non-trainable weights, and with batch statistics
    /// a BatchNormalization's batch mean and variance.
    pub(crate) fn kept_per_batch(&self, input: usize, batch_statistics: bool) -> usize {
        let moments = match self {
            Layer::BatchNormalization { .. } if batch_statistics => 2 * input,
            _ => 0,
        };
        self.non_trainable_param_count(input) + moments
    }

    /// Runs the layer forward over a batch: `io.dst = layer(io.src)`. `train` is `None`
    /// at inference. Returns the layer's addition to the summed batch loss (activity
    /// regularization; 0 for other layers). Built `inference-only`, `train` is ignored.
    pub(crate) fn forward<K: MatMul>(
        &self,
        kernel: &K,
        io: Io<'_, '_>,
        train: Option<&mut Training<'_>>,
    ) -> Result<f32, Error> {
        let train = train.filter(|_| !cfg!(feature = "inference-only"));
        if let Some(dense) = dense::Dense::of(self) {
            return dense.forward(kernel, io, train);
        }
        // A kind left out of this build (crate::kinds) answers with its error, and its
        // code is not linked; no valid network holds one.
        use kinds::Kind::{ActivationLayers, ActivityRegularization, Noise, Normalization, Preprocessing};
        match *self {
            // Run above.
            Layer::Dense { .. } => {}
            Layer::Activation(activation) => activations::forward(kernel, io, activation),
            Layer::Softmax => activations::forward(kernel, io, Activation::Softmax),
            Layer::Relu {
                max_value,
                negative_slope,
                threshold,
            } => {
                ActivationLayers.require()?;
                activations::relu_forward(io, max_value, negative_slope, threshold)
            }
            Layer::LeakyRelu { negative_slope } => {
                ActivationLayers.require()?;
                activations::relu_forward(io, None, negative_slope, 0.0)
            }
            Layer::Prelu => {
                ActivationLayers.require()?;
                activations::prelu_forward(io)
            }
            Layer::Elu { alpha } => {
                ActivationLayers.require()?;
                activations::elu_forward(io, alpha)
            }
            Layer::BatchNormalization {
                momentum,
                epsilon,
                center,
                scale,
            } => {
                Normalization.require()?;
                normalization::batch_norm_forward(io, momentum, epsilon, center, scale, train)
            }
            Layer::LayerNormalization {
                epsilon,
                center,
                scale,
            } => {
                Normalization.require()?;
                normalization::layer_norm_forward(io, epsilon, center, scale)
            }
            Layer::Rescaling { scale, offset } => {
                Preprocessing.require()?;
                preprocessing::rescaling_forward(io, scale, offset)
            }
            Layer::Normalization { invert } => {
                Preprocessing.require()?;
                preprocessing::normalization_forward(io, invert, train)
            }
            Layer::Dropout { rate } => noise::dropout_forward(io, rate, train),
            Layer::GaussianNoise { stddev } => {
                Noise.require()?;
                noise::gaussian_noise_forward(io, stddev, train)
            }
            Layer::GaussianDropout { rate } => {
                Noise.require()?;
                noise::gaussian_dropout_forward(io, rate, train)
            }
            Layer::AlphaDropout { rate } => {
                Noise.require()?;
                noise::alpha_dropout_forward(io, rate, train)
            }
            Layer::ActivityRegularization { l1, l2 } => {
                ActivityRegularization.require()?;
                io.dst.copy_from_slice(io.src);
                return Ok(Regularizer { l1, l2 }.loss(io.src));
            }
            // Networks run merges themselves (`merge::forward`); of one input, a merge is it.
            Layer::Flatten | Layer::Identity | Layer::Reshape | Layer::Merge(_) => {
                io.dst.copy_from_slice(io.src)
            }
        }
        Ok(0.0)
    }

    /// Back-propagates through the layer: `grad` holds dL/d`output` on entry; the
    /// layer's weight gradients go to `b.grads` (zeros for non-trainable weights) and
    /// dL/d`input` either stays in `grad` ([`Flow::InPlace`]) or, when `next` is given,
    /// may go to `next` ([`Flow::Next`]). With `next = None` dL/d`input` is not needed.
    pub(crate) fn backward<K: MatMul>(
        &self,
        kernel: &K,
        b: Backward<'_, '_>,
        grad: &mut [f32],
        next: Option<&mut [f32]>,
    ) -> Result<Flow, Error> {
        if let Some(dense) = dense::Dense::of(self) {
            return dense.backward(kernel, b, grad, next);
        }
        use kinds::Kind::{ActivationLayers, ActivityRegularization, Noise, Normalization, Preprocessing};
        match *self {
            // Run above.
            Layer::Dense { .. } => {}
            Layer::Activation(activation) => activations::backward(b, activation, grad),
            Layer::Softmax => activations::backward(b, Activation::Softmax, grad),
            Layer::Relu {
                max_value,
                negative_slope,
                threshold,
            } => {
                ActivationLayers.require()?;
                activations::relu_backward(b, max_value, negative_slope, threshold, grad)
            }
            Layer::LeakyRelu { negative_slope } => {
                ActivationLayers.require()?;
                activations::relu_backward(b, None, negative_slope, 0.0, grad)
            }
            Layer::Prelu => {
                ActivationLayers.require()?;
                activations::prelu_backward(b, grad)
            }
            Layer::Elu { alpha } => {
                ActivationLayers.require()?;
                activations::elu_backward(b, alpha, grad)
            }
            Layer::BatchNormalization {
                epsilon,
                center,
                scale,
                ..
            } => {
                Normalization.require()?;
                normalization::batch_norm_backward(b, epsilon, center, scale, grad)
            }
            Layer::LayerNormalization {
                epsilon,
                center,
                scale,
            } => {
                Normalization.require()?;
                normalization::layer_norm_backward(b, epsilon, center, scale, grad)
            }
            Layer::Rescaling { scale, .. } => {
                Preprocessing.require()?;
                grad.iter_mut().for_each(|g| *g *= scale)
            }
            Layer::Normalization { invert } => {
                Preprocessing.require()?;
                preprocessing::normalization_backward(b, invert, grad)
            }
            Layer::Dropout { .. } | Layer::GaussianDropout { .. } | Layer::AlphaDropout { .. } => {
                if !matches!(self, Layer::Dropout { .. }) {
                    Noise.require()?;
                }
                noise::masked_backward(b, grad)
            }
            Layer::ActivityRegularization { l1, l2 } => {
                ActivityRegularization.require()?;
                Regularizer { l1, l2 }.add_scaled_gradient(b.input, b.scale, grad)
            }
            Layer::GaussianNoise { .. } => Noise.require()?,
            Layer::Flatten | Layer::Identity | Layer::Reshape | Layer::Merge(_) => {}
        }
        Ok(Flow::InPlace)
    }
}

/// A layer's inputs and outputs for one forward pass over a batch.
pub(crate) struct Io<'a, 'b> {
    /// The layer's weights.
    pub params: &'a [f32],
    /// `batch × w_in` inputs, row-major.
    pub src: &'a [f32],
    /// `batch × w_out` outputs.
    pub dst: &'b mut [f32],
    /// Samples.
    pub batch: usize,
    /// Input width.
    pub w_in: usize,
}

/// What a training forward pass adds to [`Io`].
pub(crate) struct Training<'a> {
    /// Where dropout masks and noise come from.
    pub draws: Draws<'a>,
    /// The layer's [`Layer::kept_per_sample`] values for a batch (empty in a frozen prefix).
    pub kept: &'a mut [f32],
    /// The layer's [`Layer::kept_per_batch`] values (empty in a frozen prefix).
    pub stats: &'a mut [f32],
    /// Whether BatchNormalization normalises with the batch's moments (Keras's fit) or
    /// its moving ones (frozen statistics, as when fine-tuning).
    pub batch_statistics: bool,
}

impl Training<'_> {
    /// A frozen prefix's layer `layer` in training: dropout and noise drawn per sample from
    /// `seed` (the batch's first sample is `first_sample`), nothing kept, BatchNormalization
    /// with its moving statistics.
    pub(crate) fn frozen(seed: u64, layer: usize, first_sample: usize) -> Self {
        Training {
            draws: Draws::Keyed {
                seed,
                layer,
                first_sample,
            },
            kept: &mut [],
            stats: &mut [],
            batch_statistics: false,
        }
    }
}

/// Where a training pass's dropout masks and noise come from.
pub(crate) enum Draws<'a> {
    /// One stream, value after value over the batch (the trainable layers).
    Stream(&'a mut Rng),
    /// A generator per sample, [`Rng::keyed`]`(seed, layer, first_sample + row)` (a frozen
    /// prefix, so that it gives the same bits run sample by sample as over the batch).
    Keyed {
        seed: u64,
        layer: usize,
        first_sample: usize,
    },
}

/// What a layer's backward pass reads, and where its weight gradients go.
pub(crate) struct Backward<'a, 'g> {
    /// The layer's weights.
    pub params: &'a [f32],
    /// The layer's input in the forward pass.
    pub input: &'a [f32],
    /// Its output.
    pub output: &'a [f32],
    /// Its [`Layer::kept_per_sample`] values.
    pub kept: &'a [f32],
    /// Its [`Layer::kept_per_batch`] values.
    pub stats: &'a [f32],
    /// Gradients of the layer's weights (overwritten).
    pub grads: &'g mut [f32],
    /// Samples.
    pub batch: usize,
    /// Input width.
    pub w_in: usize,
    /// The loss's scale (`1 / N` for Keras's mean), for terms the layer adds to it.
    pub scale: f32,
    /// As in [`Training`].
    pub batch_statistics: bool,
}

/// Where a backward pass left dL/d`input`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flow {
    /// In the gradient buffer it was given.
    InPlace,
    /// In the `next` buffer.
    Next,
}
