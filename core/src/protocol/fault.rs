//! What went wrong, as data: the device reports a failure as small enums carrying their
//! numbers and names, and the host words them (`Display`). The firmware never formats text,
//! so it carries no formatting code.
//!
//! The engine's and the device format's errors ([`crate::Error`], [`FormatError`],
//! [`Inconsistency`]) hold `&'static str` names, which cannot be read back out of a frame;
//! their wire forms ([`WireError`], [`WireFormatError`], [`WireInconsistency`]) borrow the
//! names from the frame instead. The sentences live with the wire forms, and the engine's
//! own types print through them, so both read the same.

use core::fmt;

use serde::{Deserialize, Serialize};

use super::{ErrorCode, FrameError, SampleError};
use crate::format::{FormatError, Inconsistency};

/// Why a request failed or a frame could not be read: the device's [`super::Response::Error`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Fault<'a> {
    /// The frame could not be read; its bytes were dropped.
    Frame(FrameError),
    /// A frame was cut off: no byte arrived for the device's frame timeout.
    CutOff {
        /// The timeout, in the device's clock ticks.
        timeout_ticks: u64,
    },
    /// The serial port lost bytes (receive overrun) or failed; the frame was dropped.
    Serial,
    /// There is no model in the model region.
    NoModel {
        /// The model region's address.
        address: u32,
    },
    /// The model region holds a damaged or unusable model.
    BadModel(#[serde(borrow)] ModelFault<'a>),
    /// The engine refused (shapes the checks should have caught).
    Engine(#[serde(borrow)] WireError<'a>),
    /// The reply does not fit a frame.
    Reply(FrameError),
    /// A labelled sample's bytes end before its label byte.
    NoLabel {
        /// The sample's index in the request.
        sample: u32,
    },
    /// A sample's values cannot be decoded.
    Sample {
        /// The sample's index in the request.
        sample: u32,
        /// What is wrong with its bytes.
        error: SampleError,
    },
    /// Bytes are left over after the request's samples.
    TrailingBytes {
        /// Bytes left over.
        bytes: u32,
        /// Samples the request declared.
        samples: u16,
    },
    /// The request carries too few or too many samples.
    SampleCount {
        /// Samples the request declared.
        count: u16,
        /// Fewest allowed.
        min: u16,
        /// Most allowed.
        max: u16,
    },
    /// A label is not one of the model's classes.
    Label {
        /// The sample's index in the request.
        sample: u32,
        /// The label.
        label: u32,
        /// The model's outputs (classes).
        outputs: u32,
    },
    /// A Train request gives no hyperparameters and the model has no training state.
    NoHyperparameters,
    /// Fine-tuning of other layers is under way.
    TunedLayers {
        /// The last layers being fine-tuned.
        tuned: u32,
        /// The last layers the request asks to train.
        requested: u32,
    },
    /// The request would switch momentum on or off in the middle of fine-tuning.
    TunedMomentum {
        /// Whether fine-tuning started with momentum.
        momentum: bool,
    },
    /// The request asks to train no layers or more weighted layers than the model has.
    TrainLayers {
        /// The last weighted layers the request asks to train.
        requested: u32,
        /// The model's weighted layers.
        weighted: u32,
    },
    /// Training those layers needs more memory than the firmware reserves.
    TrainMemory {
        /// The last layers to train.
        layers: u32,
        /// f32 for their weights, momentum and gradients.
        needed: u32,
        /// f32 the firmware reserves.
        reserved: u32,
    },
    /// A batch needs more training memory than the firmware reserves.
    BatchMemory {
        /// Samples in the batch.
        batch: u32,
        /// f32 the step needs.
        needed: u32,
        /// f32 the firmware reserves.
        reserved: u32,
    },
    /// The head of the fine-tuned model's file cannot be written.
    ModelHead(#[serde(borrow)] WireFormatError<'a>),
    /// A Pull starts past the end of the model file.
    PullOffset {
        /// The requested offset.
        offset: u32,
        /// The file's length in bytes.
        total: u32,
    },
}

impl Fault<'_> {
    /// The kind of failure.
    pub fn code(&self) -> ErrorCode {
        match *self {
            Fault::Frame(e) => ErrorCode::Frame(e),
            Fault::CutOff { .. } => ErrorCode::Truncated,
            Fault::Serial => ErrorCode::Serial,
            Fault::NoModel { .. } => ErrorCode::NoModel,
            Fault::BadModel(_) => ErrorCode::BadModel,
            Fault::Engine(_) | Fault::Reply(_) => ErrorCode::Engine,
            Fault::Sample { error, .. } => ErrorCode::Samples(error),
            Fault::TrainMemory { .. } | Fault::BatchMemory { .. } | Fault::ModelHead(_) => {
                ErrorCode::TooLarge
            }
            Fault::NoLabel { .. }
            | Fault::TrailingBytes { .. }
            | Fault::SampleCount { .. }
            | Fault::Label { .. }
            | Fault::NoHyperparameters
            | Fault::TunedLayers { .. }
            | Fault::TunedMomentum { .. }
            | Fault::TrainLayers { .. }
            | Fault::PullOffset { .. } => ErrorCode::BadRequest,
        }
    }
}

impl fmt::Display for Fault<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Frame(e) => write!(f, "{e}; its bytes were dropped"),
            Fault::CutOff { timeout_ticks } => write!(
                f,
                "frame cut off: no byte for {timeout_ticks} clock ticks; its bytes were dropped"
            ),
            Fault::Serial => write!(f, "serial port error (receive overrun): frame dropped"),
            Fault::NoModel { address } => write!(
                f,
                "no model in the model region at {address:#010x}; write a .mdl there"
            ),
            Fault::BadModel(why) => write!(f, "{why}"),
            Fault::Engine(e) => write!(f, "engine: {e}"),
            Fault::Reply(e) => write!(f, "reply: {e}"),
            Fault::NoLabel { sample } => write!(f, "sample {sample} has no label byte"),
            Fault::Sample { sample, error } => write!(f, "sample {sample}: {error}"),
            Fault::TrailingBytes { bytes, samples } => {
                write!(f, "{bytes} bytes after the last of {samples} samples")
            }
            Fault::SampleCount { count, min, max } => {
                write!(f, "{count} samples in one request; allowed: {min} to {max}")
            }
            Fault::Label {
                sample,
                label,
                outputs,
            } => write!(
                f,
                "sample {sample}: label {label} is not a class of a model with {outputs} outputs"
            ),
            Fault::NoHyperparameters => write!(
                f,
                "no hyperparameters: the request gives none and the model has no training state"
            ),
            Fault::TunedLayers { tuned, requested } => write!(
                f,
                "the last {tuned} layers are being fine-tuned; Reset before training {requested}"
            ),
            Fault::TunedMomentum { momentum } => write!(
                f,
                "fine-tuning started {} momentum; Reset before changing it",
                if *momentum { "with" } else { "without" }
            ),
            Fault::TrainLayers { requested, weighted } => write!(
                f,
                "cannot train the last {requested} weighted layers: the model has {weighted}"
            ),
            Fault::TrainMemory {
                layers,
                needed,
                reserved,
            } => write!(
                f,
                "training the last {layers} layers needs {needed} f32 for weights, momentum and \
                 gradients; the firmware reserves {reserved}"
            ),
            Fault::BatchMemory {
                batch,
                needed,
                reserved,
            } => write!(
                f,
                "a batch of {batch} needs {needed} f32 of training memory; the firmware reserves \
                 {reserved} (send smaller batches)"
            ),
            Fault::ModelHead(e) => write!(f, "model file head: {e}"),
            Fault::PullOffset { offset, total } => {
                write!(f, "offset {offset} is past the model file's end ({total} bytes)")
            }
        }
    }
}

impl From<crate::Error> for Fault<'static> {
    fn from(e: crate::Error) -> Self {
        Fault::Engine(e.into())
    }
}

/// Why the model region holds no usable model ([`super::ModelStatus::Corrupted`],
/// [`Fault::BadModel`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ModelFault<'a> {
    /// The file cannot be decoded (damaged, another version, inconsistent).
    File(#[serde(borrow)] WireFormatError<'a>),
    /// The file decodes but its layers do not form a network.
    Network(#[serde(borrow)] WireError<'a>),
    /// The model is too large for one of the firmware's buffers.
    TooLarge {
        /// Which buffer.
        buffer: Capacity,
        /// What the model needs.
        needed: u32,
        /// What the firmware has.
        available: u32,
    },
}

impl fmt::Display for ModelFault<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelFault::File(e) => write!(f, "model region: {e}"),
            ModelFault::Network(e) => write!(f, "model region: {e}"),
            ModelFault::TooLarge {
                buffer,
                needed,
                available,
            } => write!(
                f,
                "model does not fit this firmware: {buffer}: needs {needed}, the firmware has {available}"
            ),
        }
    }
}

/// A fixed size of the firmware that a model must fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Capacity {
    /// Values per input sample.
    InputValues,
    /// The model's outputs.
    Outputs,
    /// The widest layer's outputs.
    LayerWidth,
    /// f32 of inference scratch.
    InferenceScratch,
}

impl fmt::Display for Capacity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Capacity::InputValues => "input values",
            Capacity::Outputs => "outputs",
            Capacity::LayerWidth => "layer width",
            Capacity::InferenceScratch => "inference scratch (f32)",
        })
    }
}

/// [`crate::Error`] on the wire: its names borrowed, its counts as `u64`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WireError<'a> {
    /// [`crate::Error::BufferSize`].
    BufferSize {
        /// Which buffer.
        what: &'a str,
        /// The length the network needs.
        expected: u64,
        /// The length given.
        actual: u64,
    },
    /// [`crate::Error::InvalidLayer`].
    InvalidLayer {
        /// Index of the offending layer.
        layer: u64,
        /// What is wrong with it.
        reason: &'a str,
    },
    /// [`crate::Error::LayerCount`].
    LayerCount {
        /// Number of layers given.
        count: u64,
    },
    /// [`crate::Error::Batch`].
    Batch {
        /// What is wrong.
        reason: &'a str,
    },
    /// [`crate::Error::LayerIndex`].
    LayerIndex {
        /// The index given.
        index: u64,
        /// Number of layers in the network.
        layers: u64,
    },
}

impl From<crate::Error> for WireError<'static> {
    fn from(e: crate::Error) -> Self {
        use crate::Error as E;
        match e {
            E::BufferSize {
                what,
                expected,
                actual,
            } => WireError::BufferSize {
                what,
                expected: wide(expected),
                actual: wide(actual),
            },
            E::InvalidLayer { layer, reason } => WireError::InvalidLayer {
                layer: wide(layer),
                reason,
            },
            E::LayerCount { count } => WireError::LayerCount { count: wide(count) },
            E::Batch { reason } => WireError::Batch { reason },
            E::LayerIndex { index, layers } => WireError::LayerIndex {
                index: wide(index),
                layers: wide(layers),
            },
        }
    }
}

impl fmt::Display for WireError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::BufferSize {
                what,
                expected,
                actual,
            } => write!(
                f,
                "{what} buffer holds {actual} values, the network needs {expected}"
            ),
            WireError::InvalidLayer { layer, reason } => write!(f, "layer {layer}: {reason}"),
            WireError::LayerCount { count } => write!(
                f,
                "a network needs 1 to {} layers, got {count}",
                crate::MAX_LAYERS
            ),
            WireError::Batch { reason } => write!(f, "bad batch: {reason}"),
            WireError::LayerIndex { index, layers } => write!(
                f,
                "layer index {index} is out of range for a network of {layers} layers"
            ),
        }
    }
}

/// [`FormatError`] on the wire: its names borrowed, its offsets and lengths as `u64`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WireFormatError<'a> {
    /// [`FormatError::NotAModel`].
    NotAModel,
    /// [`FormatError::NewerVersion`].
    NewerVersion {
        /// Format version of the writer.
        version: u16,
        /// Oldest reader version that can use the file.
        min_reader: u16,
        /// Newest version this reader supports.
        supported: u16,
    },
    /// [`FormatError::Corrupted`].
    Corrupted {
        /// Checksum stored in the file.
        stored: u32,
        /// Checksum computed over the file's bytes.
        computed: u32,
    },
    /// [`FormatError::Truncated`].
    Truncated {
        /// Bytes the file needs.
        needed: u64,
        /// Bytes available.
        available: u64,
    },
    /// [`FormatError::TrailingBytes`].
    TrailingBytes {
        /// Length of the file according to its header.
        len: u64,
        /// Bytes available.
        available: u64,
    },
    /// [`FormatError::InconsistentShapes`].
    InconsistentShapes(#[serde(borrow)] WireInconsistency<'a>),
    /// [`FormatError::Malformed`].
    Malformed {
        /// Offset of the part that cannot be parsed.
        offset: u64,
        /// What is wrong.
        what: &'a str,
    },
    /// [`FormatError::Misaligned`].
    Misaligned {
        /// Offset of the weights in the file.
        offset: u64,
        /// Their address modulo 4.
        address_mod_4: u64,
    },
    /// [`FormatError::BigEndianTarget`].
    BigEndianTarget,
    /// [`FormatError::BufferTooSmall`].
    BufferTooSmall {
        /// Bytes the file needs.
        needed: u64,
        /// Bytes given.
        available: u64,
    },
    /// [`FormatError::TooLarge`].
    TooLarge {
        /// Which count.
        what: &'a str,
    },
}

impl From<FormatError> for WireFormatError<'static> {
    fn from(e: FormatError) -> Self {
        use FormatError as E;
        match e {
            E::NotAModel => WireFormatError::NotAModel,
            E::NewerVersion {
                version,
                min_reader,
                supported,
            } => WireFormatError::NewerVersion {
                version,
                min_reader,
                supported,
            },
            E::Corrupted { stored, computed } => WireFormatError::Corrupted { stored, computed },
            E::Truncated { needed, available } => WireFormatError::Truncated {
                needed: wide(needed),
                available: wide(available),
            },
            E::TrailingBytes { len, available } => WireFormatError::TrailingBytes {
                len: wide(len),
                available: wide(available),
            },
            E::InconsistentShapes(why) => WireFormatError::InconsistentShapes(why.into()),
            E::Malformed { offset, what } => WireFormatError::Malformed {
                offset: wide(offset),
                what,
            },
            E::Misaligned {
                offset,
                address_mod_4,
            } => WireFormatError::Misaligned {
                offset: wide(offset),
                address_mod_4: wide(address_mod_4),
            },
            E::BigEndianTarget => WireFormatError::BigEndianTarget,
            E::BufferTooSmall { needed, available } => WireFormatError::BufferTooSmall {
                needed: wide(needed),
                available: wide(available),
            },
            E::TooLarge { what } => WireFormatError::TooLarge { what },
        }
    }
}

impl fmt::Display for WireFormatError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireFormatError::NotAModel => {
                write!(f, "not a microdense model file (bad magic bytes)")
            }
            WireFormatError::NewerVersion {
                version,
                min_reader,
                supported,
            } => write!(
                f,
                "model file is format version {version} and needs a reader of version \
                 {min_reader} or newer; this reader supports version {supported}"
            ),
            WireFormatError::Corrupted { stored, computed } => write!(
                f,
                "model file is corrupted: stored CRC-32 {stored:#010x}, computed {computed:#010x}"
            ),
            WireFormatError::Truncated { needed, available } => write!(
                f,
                "model file is truncated: needs {needed} bytes, {available} available"
            ),
            WireFormatError::TrailingBytes { len, available } => write!(
                f,
                "model file is {len} bytes but {available} were given (trailing bytes)"
            ),
            WireFormatError::InconsistentShapes(why) => {
                write!(f, "model file has inconsistent shapes: {why}")
            }
            WireFormatError::Malformed { offset, what } => {
                write!(f, "model file is malformed at offset {offset}: {what}")
            }
            WireFormatError::Misaligned {
                offset,
                address_mod_4,
            } => write!(
                f,
                "weights at file offset {offset} sit at an address ≡ {address_mod_4} (mod 4); \
                 load the file at a 4-byte-aligned address"
            ),
            WireFormatError::BigEndianTarget => {
                write!(f, "reading weights in place needs a little-endian target")
            }
            WireFormatError::BufferTooSmall { needed, available } => write!(
                f,
                "output buffer holds {available} bytes, the model file needs {needed}"
            ),
            WireFormatError::TooLarge { what } => {
                write!(f, "{what} is too large for the device format")
            }
        }
    }
}

/// [`Inconsistency`] on the wire: its names borrowed, its counts as `u64`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WireInconsistency<'a> {
    /// [`Inconsistency::Layers`].
    Layers(#[serde(borrow)] WireError<'a>),
    /// [`Inconsistency::Count`].
    Count {
        /// Which count.
        what: &'a str,
        /// The value the architecture implies.
        expected: u64,
        /// The value found.
        found: u64,
    },
    /// [`Inconsistency::InputShape`].
    InputShape {
        /// What is wrong.
        what: &'a str,
    },
    /// [`Inconsistency::Training`].
    Training {
        /// What is wrong.
        what: &'a str,
    },
}

impl From<Inconsistency> for WireInconsistency<'static> {
    fn from(why: Inconsistency) -> Self {
        use Inconsistency as I;
        match why {
            I::Layers(e) => WireInconsistency::Layers(e.into()),
            I::Count {
                what,
                expected,
                found,
            } => WireInconsistency::Count {
                what,
                expected: wide(expected),
                found: wide(found),
            },
            I::InputShape { what } => WireInconsistency::InputShape { what },
            I::Training { what } => WireInconsistency::Training { what },
        }
    }
}

impl fmt::Display for WireInconsistency<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireInconsistency::Layers(e) => write!(f, "invalid architecture: {e}"),
            WireInconsistency::Count {
                what,
                expected,
                found,
            } => write!(
                f,
                "{what}: the architecture implies {expected}, the file has {found}"
            ),
            WireInconsistency::InputShape { what } => write!(f, "invalid input shape: {what}"),
            WireInconsistency::Training { what } => write!(f, "invalid training state: {what}"),
        }
    }
}

/// `usize` to `u64`, lossless on every target.
fn wide(n: usize) -> u64 {
    n as u64
}
