//! The records that define the bytes of a device-format file, in postcard's encoding of
//! their declarations: `reader.rs` and `writer.rs` read and write them by hand (code size
//! on a device), and the tests check both against serde's derived code for these
//! declarations (derived in tests only; the header's reader is serde's).
//!
//! These mirror the engine's [`Layer`], [`Activation`], [`Loss`] and [`Sgd`] but carry
//! their own tags, so reordering or extending the in-memory enums never changes the
//! format. postcard writes an enum's tag as the varint of the variant's position in the
//! declaration: the explicit discriminants below document those positions, and a test
//! checks they agree. New variants go at the end, with the next tag.
//!
//! The optimizer record of format 3 stores core's [`Algorithm`], [`Schedule`] and
//! [`Clipping`] as they are declared (their serde form): a test pins every variant's
//! bytes, so reordering them is caught.

use super::{FormatError, Inconsistency, Quantity, ShapeDefect};
use crate::optimizer::{Algorithm, Clipping, Schedule};
use crate::quant::QuantParams;
use crate::{Activation, Inbound, Layer, Loss, Optimizer, Regularizer, Sgd, Source, MAX_INPUTS, MAX_LAYERS};
use serde::Deserialize;
#[cfg(test)]
use serde::Serialize;

/// The first four bytes of every file: `0x89 'M' 'D' 'L'` (the high byte, as in PNG,
/// keeps text tools from taking the file for text and catches 7-bit transfers).
pub const MAGIC: [u8; 4] = [0x89, b'M', b'D', b'L'];

/// Size of the fixed header: magic, version, min_reader, file length, metadata length.
pub const HEADER_LEN: usize = 16;

/// Size of the CRC-32 trailer.
pub const CRC_LEN: usize = 4;

/// The smallest possible file: a header and a CRC.
pub const MIN_FILE_LEN: usize = HEADER_LEN + CRC_LEN;

/// Most dimensions an input shape may have.
pub const MAX_INPUT_DIMS: usize = 8;

/// An input shape as stored: its dimensions, outermost first.
pub(super) type InputShape = heapless::Vec<u32, MAX_INPUT_DIMS>;

/// The fixed 16-byte header (all integers fixed-width little-endian).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[cfg_attr(test, derive(Serialize))]
pub(super) struct Header {
    /// [`MAGIC`].
    pub magic: [u8; 4],
    /// Format version of the writer.
    #[serde(with = "postcard::fixint::le")]
    pub version: u16,
    /// Oldest reader version that can use the file.
    #[serde(with = "postcard::fixint::le")]
    pub min_reader: u16,
    /// Length of the whole file, CRC included.
    #[serde(with = "postcard::fixint::le")]
    pub len: u32,
    /// Length of the metadata block that follows the header.
    #[serde(with = "postcard::fixint::le")]
    pub meta_len: u32,
}

/// The metadata block as read: the architecture and the training state's scalars. `L` is
/// the layer list.
///
/// Later format versions may append fields; readers ignore bytes after the ones they know.
#[derive(Debug)]
pub(super) struct Meta<L> {
    /// Shape of one input sample (without the batch dimension); the network's input
    /// width is the product of the dimensions.
    pub input_shape: InputShape,
    /// The layers, in order.
    pub layers: L,
    /// Number of weights (must equal the architecture's parameter count).
    pub params: u32,
    /// Present when the file carries the state for fine-tuning and it was read.
    pub training: Option<TrainingRecord>,
    /// Number of optimizer state values stored after the weights (the training record's,
    /// also when it was skipped; 0 without one).
    pub state_len: u32,
}

/// The wiring record (format 4), after the metadata of a file whose layers include a
/// merge (a graph other than a chain): per layer, its inputs as bytes, `0` for the
/// network input and `j + 1` for layer `j`'s output.
pub(super) type WiringRecord = heapless::Vec<heapless::Vec<u8, MAX_INPUTS>, MAX_LAYERS>;

/// The [`Inbound`] a [`WiringRecord`] entry names (`None` for an entry without inputs).
pub(super) fn inbound(codes: &[u8]) -> Option<Inbound> {
    let mut sources = [Source::Input; MAX_INPUTS];
    for (slot, &code) in sources.iter_mut().zip(codes) {
        *slot = match code.checked_sub(1) {
            Some(j) => Source::Layer(j),
            None => Source::Input,
        };
    }
    Inbound::new(sources.get(..codes.len())?)
}

/// One layer (read by [`Reader::layers`](super::reader::Reader::layers); serde's derived
/// reader only checks it in tests).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(test, derive(Serialize, Deserialize))]
#[repr(u8)]
pub(super) enum LayerRecord {
    /// `Dense`: units (varint), activation tag, use_bias (byte 0/1).
    Dense {
        /// Output width.
        units: u32,
        /// Fused activation.
        activation: ActivationTag,
        /// Whether there is a bias vector.
        use_bias: bool,
    } = 0,
    /// `Activation`: activation tag.
    Activation(ActivationTag) = 1,
    /// `Dropout`: rate as a little-endian f32.
    Dropout {
        /// Fraction dropped in training.
        rate: f32,
    } = 2,
    /// `Flatten`: no payload.
    Flatten = 3,
    /// `BatchNormalization` (format 2): momentum, epsilon (f32 each), center, scale (bytes).
    BatchNormalization {
        /// Moving-average momentum.
        momentum: f32,
        /// Variance epsilon.
        epsilon: f32,
        /// Has beta.
        center: bool,
        /// Has gamma.
        scale: bool,
    } = 4,
    /// `LayerNormalization` (format 2): epsilon (f32), center, scale (bytes).
    LayerNormalization {
        /// Variance epsilon.
        epsilon: f32,
        /// Has beta.
        center: bool,
        /// Has gamma.
        scale: bool,
    } = 5,
    /// `Rescaling` (format 2): scale, offset (f32 each).
    Rescaling {
        /// Factor.
        scale: f32,
        /// Offset.
        offset: f32,
    } = 6,
    /// `Normalization` (format 2): invert (byte).
    Normalization {
        /// Inverse transformation.
        invert: bool,
    } = 7,
    /// `ReLU` (format 2): max_value (option byte, then f32 if 1), negative_slope, threshold (f32).
    Relu {
        /// Largest output.
        max_value: Option<f32>,
        /// Slope below the threshold.
        negative_slope: f32,
        /// Threshold.
        threshold: f32,
    } = 8,
    /// `LeakyReLU` (format 2): negative_slope (f32).
    LeakyRelu {
        /// Slope for negative inputs.
        negative_slope: f32,
    } = 9,
    /// `PReLU` (format 2): no payload (alpha is a weight).
    Prelu = 10,
    /// `ELU` (format 2): alpha (f32).
    Elu {
        /// Negative-part scale.
        alpha: f32,
    } = 11,
    /// `Softmax` layer (format 2): no payload.
    Softmax = 12,
    /// `Identity` (format 2): no payload.
    Identity = 13,
    /// `GaussianNoise` (format 2): stddev (f32).
    GaussianNoise {
        /// Noise standard deviation.
        stddev: f32,
    } = 14,
    /// `GaussianDropout` (format 2): rate (f32).
    GaussianDropout {
        /// Drop probability.
        rate: f32,
    } = 15,
    /// `AlphaDropout` (format 2): rate (f32).
    AlphaDropout {
        /// Drop probability.
        rate: f32,
    } = 16,
    /// `Reshape` to one dimension (format 2): no payload.
    Reshape = 17,
    /// `ActivityRegularization` (format 2): l1, l2 (f32 each).
    ActivityRegularization {
        /// L1 factor.
        l1: f32,
        /// L2 factor.
        l2: f32,
    } = 18,
    /// A merge layer (format 4): the [`Merge`](crate::Merge) as a varint in its
    /// declaration order (Add 0, ..., Concatenate 6). Only in graphs.
    Merge(crate::Merge) = 19,
    /// A `Dense` with an activity regularizer (format 5): units (varint), activation tag,
    /// use_bias (byte 0/1), then the regularizer's l1 and l2 (f32 each).
    RegularizedDense {
        /// Output width.
        units: u32,
        /// Fused activation.
        activation: ActivationTag,
        /// Whether there is a bias vector.
        use_bias: bool,
        /// The activity regularizer's L1 factor.
        l1: f32,
        /// Its L2 factor.
        l2: f32,
    } = 20,
}

impl LayerRecord {
    /// The record's tag: its variant's position in the declaration (its discriminant).
    pub(super) fn tag(&self) -> u8 {
        match self {
            LayerRecord::Dense { .. } => 0,
            LayerRecord::Activation(_) => 1,
            LayerRecord::Dropout { .. } => 2,
            LayerRecord::Flatten => 3,
            LayerRecord::BatchNormalization { .. } => 4,
            LayerRecord::LayerNormalization { .. } => 5,
            LayerRecord::Rescaling { .. } => 6,
            LayerRecord::Normalization { .. } => 7,
            LayerRecord::Relu { .. } => 8,
            LayerRecord::LeakyRelu { .. } => 9,
            LayerRecord::Prelu => 10,
            LayerRecord::Elu { .. } => 11,
            LayerRecord::Softmax => 12,
            LayerRecord::Identity => 13,
            LayerRecord::GaussianNoise { .. } => 14,
            LayerRecord::GaussianDropout { .. } => 15,
            LayerRecord::AlphaDropout { .. } => 16,
            LayerRecord::Reshape => 17,
            LayerRecord::ActivityRegularization { .. } => 18,
            LayerRecord::Merge(_) => 19,
            LayerRecord::RegularizedDense { .. } => 20,
        }
    }

    /// The oldest format version that knows this record: 1 for Dense, Activation,
    /// Dropout and Flatten, 4 for merges, 5 for a Dense with an activity regularizer, 2 for
    /// the rest.
    pub(super) fn min_reader(&self) -> u16 {
        match self {
            LayerRecord::Dense { .. }
            | LayerRecord::Activation(_)
            | LayerRecord::Dropout { .. }
            | LayerRecord::Flatten => 1,
            LayerRecord::Merge(_) => 4,
            LayerRecord::RegularizedDense { .. } => 5,
            _ => 2,
        }
    }
}

/// An activation function's tag (one varint byte).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(test, derive(Serialize, Deserialize))]
#[allow(missing_docs)]
pub(super) enum ActivationTag {
    Linear = 0,
    Relu = 1,
    Sigmoid = 2,
    Tanh = 3,
    Softmax = 4,
    Softplus = 5,
    Softsign = 6,
    Elu = 7,
    Selu = 8,
    HardSigmoid = 9,
    Swish = 10,
    Gelu = 11,
}

impl ActivationTag {
    /// Every tag, at its position.
    pub(super) const ALL: [ActivationTag; 12] = [
        ActivationTag::Linear,
        ActivationTag::Relu,
        ActivationTag::Sigmoid,
        ActivationTag::Tanh,
        ActivationTag::Softmax,
        ActivationTag::Softplus,
        ActivationTag::Softsign,
        ActivationTag::Elu,
        ActivationTag::Selu,
        ActivationTag::HardSigmoid,
        ActivationTag::Swish,
        ActivationTag::Gelu,
    ];
}

/// A loss function's tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(test, derive(Serialize, Deserialize))]
#[allow(missing_docs)]
pub(super) enum LossTag {
    CategoricalCrossentropy = 0,
    SparseCategoricalCrossentropy = 1,
    BinaryCrossentropy = 2,
    MeanSquaredError = 3,
}

impl LossTag {
    /// Every tag, at its position.
    pub(super) const ALL: [LossTag; 4] = [
        LossTag::CategoricalCrossentropy,
        LossTag::SparseCategoricalCrossentropy,
        LossTag::BinaryCrossentropy,
        LossTag::MeanSquaredError,
    ];
}

/// The optimizer and its hyperparameters.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(test, derive(Serialize, Deserialize))]
#[repr(u8)]
pub(super) enum OptimizerRecord {
    /// SGD: learning rate and momentum as little-endian f32, nesterov as a byte.
    Sgd {
        /// Step size.
        learning_rate: f32,
        /// Momentum.
        momentum: f32,
        /// Nesterov momentum.
        nesterov: bool,
    } = 0,
    /// Any of core's optimizers (format 3): the update rule, the learning rate or its
    /// schedule, weight decay, clipping, and Nadam's running product (a state scalar,
    /// 1 for the others).
    Optimizer {
        /// The update rule and its hyperparameters.
        algorithm: Algorithm,
        /// The learning rate or its schedule.
        learning_rate: Schedule,
        /// Decoupled weight decay.
        weight_decay: f32,
        /// Gradient clipping.
        clipping: Clipping,
        /// Nadam's running product of its momentum schedule.
        u_product: f32,
    } = 1,
}

impl OptimizerRecord {
    /// The record of `optimizer` with Nadam's product `u_product`: the version-1 SGD
    /// record when plain SGD says it all.
    pub(super) fn new(optimizer: &Optimizer, u_product: f32) -> Self {
        match optimizer.as_sgd() {
            Some(sgd) => OptimizerRecord::Sgd {
                learning_rate: sgd.learning_rate,
                momentum: sgd.momentum,
                nesterov: sgd.nesterov,
            },
            None => OptimizerRecord::Optimizer {
                algorithm: optimizer.algorithm,
                learning_rate: optimizer.learning_rate.clone(),
                weight_decay: optimizer.weight_decay,
                clipping: optimizer.clipping,
                u_product,
            },
        }
    }

    /// The oldest format version that knows this record: 1 for SGD, 3 for the rest.
    pub(super) fn min_reader(&self) -> u16 {
        match self {
            OptimizerRecord::Sgd { .. } => 1,
            OptimizerRecord::Optimizer { .. } => 3,
        }
    }

    /// The optimizer and Nadam's product.
    pub(super) fn optimizer(self) -> (Optimizer, f32) {
        match self {
            OptimizerRecord::Sgd {
                learning_rate,
                momentum,
                nesterov,
            } => (
                Optimizer::from(Sgd {
                    learning_rate,
                    momentum,
                    nesterov,
                }),
                1.0,
            ),
            OptimizerRecord::Optimizer {
                algorithm,
                learning_rate,
                weight_decay,
                clipping,
                u_product,
            } => (
                Optimizer {
                    algorithm,
                    learning_rate,
                    weight_decay,
                    clipping,
                },
                u_product,
            ),
        }
    }
}

/// The training state's scalars; its optimizer state values follow the weights.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(test, derive(Serialize, Deserialize))]
pub(super) struct TrainingRecord {
    /// The optimizer.
    pub optimizer: OptimizerRecord,
    /// The loss.
    pub loss: LossTag,
    /// Updates applied so far.
    pub iterations: u64,
    /// How many of the last weighted layers are trainable.
    pub trainable_layers: u32,
    /// Number of optimizer state values stored after the weights.
    pub state_len: u32,
}

/// The int8 body (format 4), written after [`Meta`] inside the metadata block as
/// `Option<Int8Record>`: absent in float files (which stay readable by older readers),
/// `Some` in int8 files (`min_reader` 4). `L` is the layer list, as in [`Meta`]. The
/// body's data region follows the optimizer state.
#[derive(Debug)]
#[cfg_attr(test, derive(Serialize, Deserialize))]
pub(super) struct Int8Record<L> {
    /// The input's quantisation.
    pub input: QuantParams,
    /// The int8 Dense layers, in order.
    pub layers: L,
}

/// The oldest format version that reads an int8 body.
pub(super) const INT8_MIN_READER: u16 = 4;

/// Where each part of a file lies, from the metadata length and the counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Layout {
    /// End of the metadata block.
    pub meta_end: usize,
    /// Offset of the weights (a multiple of 4).
    pub weights: usize,
    /// Offset of the optimizer state values.
    pub state: usize,
    /// Offset of the int8 body's data region (format 4; the CRC's without one).
    pub int8: usize,
    /// Offset of the CRC (the end of the known data).
    pub crc: usize,
}

impl Layout {
    /// The layout for `meta_len` bytes of metadata, `params` weights and `state`
    /// optimizer state values; `None` when an offset overflows.
    pub fn new(meta_len: usize, params: usize, state: usize) -> Option<Layout> {
        let meta_end = HEADER_LEN.checked_add(meta_len)?;
        let weights = meta_end.checked_add(3)? & !3;
        let state_at = weights.checked_add(params.checked_mul(4)?)?;
        let crc = state_at.checked_add(state.checked_mul(4)?)?;
        crc.checked_add(CRC_LEN)?;
        Some(Layout {
            meta_end,
            weights,
            state: state_at,
            int8: crc,
            crc,
        })
    }

    /// This layout with an int8 data region of `len` bytes before the CRC.
    pub fn with_int8(self, len: usize) -> Option<Layout> {
        let crc = self.int8.checked_add(len)?;
        crc.checked_add(CRC_LEN)?;
        Some(Layout { crc, ..self })
    }

    /// Length of the whole file.
    pub fn file_len(&self) -> usize {
        self.crc + CRC_LEN
    }
}

/// The width of an input shape: the product of its dimensions, each at least 1.
pub(super) fn shape_width(shape: &[u32]) -> Result<usize, FormatError> {
    if shape.is_empty() {
        return Err(Inconsistency::InputShape {
            what: ShapeDefect::NoDimensions,
        }
        .into());
    }
    shape.iter().try_fold(1usize, |width, &d| {
        if d == 0 {
            return Err(Inconsistency::InputShape {
                what: ShapeDefect::ZeroDimension,
            }
            .into());
        }
        width
            .checked_mul(d as usize)
            .filter(|&w| w <= u32::MAX as usize)
            .ok_or(FormatError::TooLarge {
                what: Quantity::InputWidth,
            })
    })
}

impl From<Activation> for ActivationTag {
    fn from(a: Activation) -> Self {
        match a {
            Activation::Linear => ActivationTag::Linear,
            Activation::Relu => ActivationTag::Relu,
            Activation::Sigmoid => ActivationTag::Sigmoid,
            Activation::Tanh => ActivationTag::Tanh,
            Activation::Softmax => ActivationTag::Softmax,
            Activation::Softplus => ActivationTag::Softplus,
            Activation::Softsign => ActivationTag::Softsign,
            Activation::Elu => ActivationTag::Elu,
            Activation::Selu => ActivationTag::Selu,
            Activation::HardSigmoid => ActivationTag::HardSigmoid,
            Activation::Swish => ActivationTag::Swish,
            Activation::Gelu => ActivationTag::Gelu,
        }
    }
}

impl From<ActivationTag> for Activation {
    fn from(t: ActivationTag) -> Self {
        match t {
            ActivationTag::Linear => Activation::Linear,
            ActivationTag::Relu => Activation::Relu,
            ActivationTag::Sigmoid => Activation::Sigmoid,
            ActivationTag::Tanh => Activation::Tanh,
            ActivationTag::Softmax => Activation::Softmax,
            ActivationTag::Softplus => Activation::Softplus,
            ActivationTag::Softsign => Activation::Softsign,
            ActivationTag::Elu => Activation::Elu,
            ActivationTag::Selu => Activation::Selu,
            ActivationTag::HardSigmoid => Activation::HardSigmoid,
            ActivationTag::Swish => Activation::Swish,
            ActivationTag::Gelu => Activation::Gelu,
        }
    }
}

impl From<Loss> for LossTag {
    fn from(l: Loss) -> Self {
        match l {
            Loss::CategoricalCrossentropy => LossTag::CategoricalCrossentropy,
            Loss::SparseCategoricalCrossentropy => LossTag::SparseCategoricalCrossentropy,
            Loss::BinaryCrossentropy => LossTag::BinaryCrossentropy,
            Loss::MeanSquaredError => LossTag::MeanSquaredError,
        }
    }
}

impl From<LossTag> for Loss {
    fn from(t: LossTag) -> Self {
        match t {
            LossTag::CategoricalCrossentropy => Loss::CategoricalCrossentropy,
            LossTag::SparseCategoricalCrossentropy => Loss::SparseCategoricalCrossentropy,
            LossTag::BinaryCrossentropy => Loss::BinaryCrossentropy,
            LossTag::MeanSquaredError => Loss::MeanSquaredError,
        }
    }
}

impl From<&Layer> for LayerRecord {
    fn from(layer: &Layer) -> Self {
        match *layer {
            Layer::Dense {
                units,
                activation,
                use_bias,
                activity_regularizer: None,
            } => LayerRecord::Dense {
                units,
                activation: activation.into(),
                use_bias,
            },
            Layer::Dense {
                units,
                activation,
                use_bias,
                activity_regularizer: Some(Regularizer { l1, l2 }),
            } => LayerRecord::RegularizedDense {
                units,
                activation: activation.into(),
                use_bias,
                l1,
                l2,
            },
            Layer::Activation(a) => LayerRecord::Activation(a.into()),
            Layer::Dropout { rate } => LayerRecord::Dropout { rate },
            Layer::Flatten => LayerRecord::Flatten,
            Layer::BatchNormalization {
                momentum,
                epsilon,
                center,
                scale,
            } => LayerRecord::BatchNormalization {
                momentum,
                epsilon,
                center,
                scale,
            },
            Layer::LayerNormalization {
                epsilon,
                center,
                scale,
            } => LayerRecord::LayerNormalization {
                epsilon,
                center,
                scale,
            },
            Layer::Rescaling { scale, offset } => LayerRecord::Rescaling { scale, offset },
            Layer::Normalization { invert } => LayerRecord::Normalization { invert },
            Layer::Relu {
                max_value,
                negative_slope,
                threshold,
            } => LayerRecord::Relu {
                max_value,
                negative_slope,
                threshold,
            },
            Layer::LeakyRelu { negative_slope } => LayerRecord::LeakyRelu { negative_slope },
            Layer::Prelu => LayerRecord::Prelu,
            Layer::Elu { alpha } => LayerRecord::Elu { alpha },
            Layer::Softmax => LayerRecord::Softmax,
            Layer::Identity => LayerRecord::Identity,
            Layer::GaussianNoise { stddev } => LayerRecord::GaussianNoise { stddev },
            Layer::GaussianDropout { rate } => LayerRecord::GaussianDropout { rate },
            Layer::AlphaDropout { rate } => LayerRecord::AlphaDropout { rate },
            Layer::Reshape => LayerRecord::Reshape,
            Layer::ActivityRegularization { l1, l2 } => LayerRecord::ActivityRegularization { l1, l2 },
            Layer::Merge(m) => LayerRecord::Merge(m),
        }
    }
}

/// What a record stands for (the reader builds the [`Layer`] directly; the tests check the two
/// agree).
#[cfg(test)]
impl From<LayerRecord> for Layer {
    fn from(record: LayerRecord) -> Self {
        match record {
            LayerRecord::Dense {
                units,
                activation,
                use_bias,
            } => Layer::Dense {
                units,
                activation: activation.into(),
                use_bias,
                activity_regularizer: None,
            },
            LayerRecord::RegularizedDense {
                units,
                activation,
                use_bias,
                l1,
                l2,
            } => Layer::Dense {
                units,
                activation: activation.into(),
                use_bias,
                activity_regularizer: Some(Regularizer { l1, l2 }),
            },
            LayerRecord::Activation(a) => Layer::Activation(a.into()),
            LayerRecord::Dropout { rate } => Layer::Dropout { rate },
            LayerRecord::Flatten => Layer::Flatten,
            LayerRecord::BatchNormalization {
                momentum,
                epsilon,
                center,
                scale,
            } => Layer::BatchNormalization {
                momentum,
                epsilon,
                center,
                scale,
            },
            LayerRecord::LayerNormalization {
                epsilon,
                center,
                scale,
            } => Layer::LayerNormalization {
                epsilon,
                center,
                scale,
            },
            LayerRecord::Rescaling { scale, offset } => Layer::Rescaling { scale, offset },
            LayerRecord::Normalization { invert } => Layer::Normalization { invert },
            LayerRecord::Relu {
                max_value,
                negative_slope,
                threshold,
            } => Layer::Relu {
                max_value,
                negative_slope,
                threshold,
            },
            LayerRecord::LeakyRelu { negative_slope } => Layer::LeakyRelu { negative_slope },
            LayerRecord::Prelu => Layer::Prelu,
            LayerRecord::Elu { alpha } => Layer::Elu { alpha },
            LayerRecord::Softmax => Layer::Softmax,
            LayerRecord::Identity => Layer::Identity,
            LayerRecord::GaussianNoise { stddev } => Layer::GaussianNoise { stddev },
            LayerRecord::GaussianDropout { rate } => Layer::GaussianDropout { rate },
            LayerRecord::AlphaDropout { rate } => Layer::AlphaDropout { rate },
            LayerRecord::Reshape => Layer::Reshape,
            LayerRecord::ActivityRegularization { l1, l2 } => Layer::ActivityRegularization { l1, l2 },
            LayerRecord::Merge(m) => Layer::Merge(m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode<T: Serialize>(value: &T, buf: &mut [u8; 16]) -> usize {
        postcard::to_slice(value, buf).unwrap().len()
    }

    #[test]
    fn activation_tags_are_their_discriminants() {
        let mut buf = [0u8; 16];
        for (i, tag) in ActivationTag::ALL.into_iter().enumerate() {
            assert_eq!(tag as usize, i);
        }
        for a in Activation::ALL {
            let tag = ActivationTag::from(a);
            assert_eq!(Activation::from(tag), a);
            let n = encode(&tag, &mut buf);
            assert_eq!(&buf[..n], &[tag as u8], "{a:?}");
        }
    }

    #[test]
    fn loss_tags_are_their_discriminants() {
        let mut buf = [0u8; 16];
        for (i, tag) in LossTag::ALL.into_iter().enumerate() {
            assert_eq!(tag as usize, i);
        }
        for l in Loss::ALL {
            let tag = LossTag::from(l);
            assert_eq!(Loss::from(tag), l);
            let n = encode(&tag, &mut buf);
            assert_eq!(&buf[..n], &[tag as u8], "{l:?}");
        }
    }

    #[test]
    fn layer_records_encode_as_documented() {
        let mut buf = [0u8; 16];
        let cases: [(Layer, &[u8]); 5] = [
            (
                Layer::Dense {
                    units: 300,
                    activation: Activation::Softmax,
                    use_bias: true,
                    activity_regularizer: None,
                },
                &[0, 0xAC, 0x02, 4, 1],
            ),
            (Layer::Activation(Activation::Gelu), &[1, 11]),
            (Layer::Dropout { rate: 0.5 }, &[2, 0, 0, 0, 0x3F]),
            (Layer::Flatten, &[3]),
            (
                Layer::Dense {
                    units: 1,
                    activation: Activation::Linear,
                    use_bias: false,
                    activity_regularizer: None,
                },
                &[0, 1, 0, 0],
            ),
        ];
        for (layer, bytes) in cases {
            let n = encode(&LayerRecord::from(&layer), &mut buf);
            assert_eq!(&buf[..n], bytes, "{layer:?}");
            let back: LayerRecord = postcard::from_bytes(bytes).unwrap();
            assert_eq!(Layer::from(back), layer);
        }
    }

    #[test]
    fn version_2_layer_records_encode_as_documented() {
        let mut buf = [0u8; 16];
        let cases: [(Layer, &[u8]); 4] = [
            (
                Layer::BatchNormalization {
                    momentum: 0.5,
                    epsilon: 1.0,
                    center: true,
                    scale: false,
                },
                &[4, 0, 0, 0, 0x3F, 0, 0, 0x80, 0x3F, 1, 0],
            ),
            (
                Layer::Relu {
                    max_value: Some(2.0),
                    negative_slope: 0.0,
                    threshold: 0.0,
                },
                &[8, 1, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0, 0],
            ),
            (Layer::Prelu, &[10]),
            (
                Layer::ActivityRegularization { l1: 0.0, l2: 2.0 },
                &[18, 0, 0, 0, 0, 0, 0, 0, 0x40],
            ),
        ];
        for (layer, bytes) in cases {
            let record = LayerRecord::from(&layer);
            assert_eq!(record.min_reader(), 2, "{layer:?}");
            let n = encode(&record, &mut buf);
            assert_eq!(&buf[..n], bytes, "{layer:?}");
            let back: LayerRecord = postcard::from_bytes(bytes).unwrap();
            assert_eq!(Layer::from(back), layer);
        }
        assert_eq!(LayerRecord::from(&Layer::Flatten).min_reader(), 1);
    }

    #[test]
    fn optimizer_and_header_encode_as_documented() {
        let mut buf = [0u8; 16];
        let sgd = OptimizerRecord::new(
            &Optimizer::from(Sgd {
                learning_rate: 1.0,
                momentum: 0.5,
                nesterov: true,
            }),
            1.0,
        );
        assert_eq!(sgd.min_reader(), 1);
        let n = encode(&sgd, &mut buf);
        assert_eq!(&buf[..n], &[0, 0, 0, 0x80, 0x3F, 0, 0, 0, 0x3F, 1]);
        let header = Header {
            magic: MAGIC,
            version: 0x0102,
            min_reader: 1,
            len: 0x0A0B_0C0D,
            meta_len: 7,
        };
        let n = encode(&header, &mut buf);
        assert_eq!(n, HEADER_LEN);
        assert_eq!(
            buf,
            [0x89, b'M', b'D', b'L', 2, 1, 1, 0, 0x0D, 0x0C, 0x0B, 0x0A, 7, 0, 0, 0]
        );
    }

    #[test]
    fn optimizer_records_encode_as_documented() {
        use crate::optimizer::AdamSettings;
        let mut buf = [0u8; 64];
        let adam = OptimizerRecord::new(&Optimizer::new(Algorithm::Adam(AdamSettings::default())), 1.0);
        assert_eq!(adam.min_reader(), 3);
        let n = postcard::to_slice(&adam, &mut buf).unwrap().len();
        // Optimizer (1), Adam (1), betas and epsilon, amsgrad false, Constant (0) rate,
        // weight decay 0, no clipping (0), u_product 1.
        let mut want = heapless::Vec::<u8, 64>::new();
        want.extend_from_slice(&[1, 1]).unwrap();
        for x in [0.9f32, 0.999, 1e-7] {
            want.extend_from_slice(&x.to_le_bytes()).unwrap();
        }
        want.extend_from_slice(&[0, 0]).unwrap();
        want.extend_from_slice(&0.001f32.to_le_bytes()).unwrap();
        want.extend_from_slice(&[0, 0, 0, 0, 0]).unwrap();
        want.extend_from_slice(&1.0f32.to_le_bytes()).unwrap();
        assert_eq!(&buf[..n], &want[..]);
        let (back, u_product) = postcard::from_bytes::<OptimizerRecord>(&want)
            .unwrap()
            .optimizer();
        assert_eq!(
            (back, u_product),
            (Optimizer::new(Algorithm::Adam(AdamSettings::default())), 1.0)
        );

        // The tags of core's enums, as the format stores them: in declaration order.
        fn tag<T: Serialize>(value: &T, buf: &mut [u8; 64]) -> u8 {
            postcard::to_slice(value, buf).unwrap()[0]
        }
        let algorithms = [
            Algorithm::Sgd {
                momentum: 0.5,
                nesterov: false,
            },
            Algorithm::Adam(AdamSettings::default()),
            Algorithm::AdamW(AdamSettings::default()),
            Algorithm::Nadam {
                beta_1: 0.9,
                beta_2: 0.999,
                epsilon: 1e-7,
            },
            Algorithm::RmsProp {
                rho: 0.9,
                momentum: 0.0,
                epsilon: 1e-7,
                centered: true,
            },
            Algorithm::Adagrad {
                initial_accumulator_value: 0.1,
                epsilon: 1e-7,
            },
        ];
        for (i, a) in algorithms.iter().enumerate() {
            assert_eq!(tag(a, &mut buf), i as u8, "{a:?}");
        }
        let schedules = [
            Schedule::Constant(0.1),
            Schedule::ExponentialDecay {
                initial_learning_rate: 0.1,
                decay_steps: 10.0,
                decay_rate: 0.5,
                staircase: false,
            },
            Schedule::piecewise_constant(&[1.0], &[0.1, 0.01]).unwrap(),
            Schedule::InverseTimeDecay {
                initial_learning_rate: 0.1,
                decay_steps: 10.0,
                decay_rate: 0.5,
                staircase: true,
            },
            Schedule::CosineDecay {
                initial_learning_rate: 0.1,
                decay_steps: 10.0,
                alpha: 0.0,
                warmup_target: None,
                warmup_steps: 0.0,
            },
            Schedule::PolynomialDecay {
                initial_learning_rate: 0.1,
                decay_steps: 10.0,
                end_learning_rate: 0.0,
                power: 1.0,
                cycle: false,
            },
        ];
        for (i, s) in schedules.iter().enumerate() {
            assert_eq!(tag(s, &mut buf), i as u8, "{s:?}");
        }
        let clippings = [
            Clipping::None,
            Clipping::Norm(1.0),
            Clipping::GlobalNorm(1.0),
            Clipping::Value(1.0),
        ];
        for (i, c) in clippings.iter().enumerate() {
            assert_eq!(tag(c, &mut buf), i as u8, "{c:?}");
        }
        let n = postcard::to_slice(&schedules[2], &mut buf).unwrap().len();
        assert_eq!(
            &buf[..n],
            &[2, 1, 0, 0, 0x80, 0x3F, 2, 0xCD, 0xCC, 0xCC, 0x3D, 0x0A, 0xD7, 0x23, 0x3C]
        );
    }

    #[test]
    fn layout_pads_weights_to_four_bytes() {
        for meta_len in 0..8 {
            let l = Layout::new(meta_len, 3, 2).unwrap();
            assert_eq!(l.weights % 4, 0);
            assert!(l.weights >= HEADER_LEN + meta_len && l.weights < HEADER_LEN + meta_len + 4);
            assert_eq!(l.state, l.weights + 12);
            assert_eq!(l.file_len(), l.weights + 20 + CRC_LEN);
        }
        assert_eq!(Layout::new(usize::MAX - 10, 0, 0), None);
        assert_eq!(Layout::new(0, usize::MAX / 2, 0), None);
    }
}
