//! What went wrong, as data: the device reports a failure as small enums carrying their
//! numbers and names, and the host words them (`Display`). The firmware never formats text,
//! so it carries no formatting code.
//!
//! The engine's and the device format's errors ([`crate::Error`], [`FormatError`]) are their
//! own wire form, so a [`Fault`] carries them as they are. postcard writes an enum's tag as
//! the varint of the variant's position: new variants go at the end
//! (`core/tests/protocol_faults.rs` pins the tags).

use core::fmt;

use serde::{Deserialize, Serialize};

use super::{ErrorCode, FrameError, SampleError};
use crate::error::names;
use crate::format::FormatError;

/// Why a request failed or a frame could not be read: the device's [`super::Response::Error`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Fault {
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
    BadModel(ModelFault),
    /// The engine refused (shapes the checks should have caught).
    Engine(crate::Error),
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
    /// The request's optimizer keeps a different number of state values per parameter
    /// than the one fine-tuning started with (momentum on or off, SGD and Adam, ...).
    TunedOptimizer {
        /// State values per parameter of the fine-tuning under way.
        slots: u8,
        /// State values per parameter of the request's optimizer.
        requested: u8,
    },
    /// The request asks to train no layers or more weighted layers than the model has in
    /// float32 (an int8 body's layers are frozen).
    TrainLayers {
        /// The last weighted layers the request asks to train.
        requested: u32,
        /// The model's float32 weighted layers (the head's, after an int8 body).
        weighted: u32,
    },
    /// Training those layers needs more memory than the firmware reserves.
    TrainMemory {
        /// The last layers to train.
        layers: u32,
        /// f32 for their weights, optimizer state and gradients.
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
    ModelHead(FormatError),
    /// A Pull starts past the end of the model file.
    PullOffset {
        /// The requested offset.
        offset: u32,
        /// The file's length in bytes.
        total: u32,
    },
    /// The firmware was built for inference only (its `inference-only` feature): it has
    /// no training code, so it cannot serve this request.
    InferenceOnly(TrainingRequest),
}

impl Fault {
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
            | Fault::TunedOptimizer { .. }
            | Fault::TrainLayers { .. }
            | Fault::PullOffset { .. }
            | Fault::InferenceOnly(_) => ErrorCode::BadRequest,
        }
    }
}

impl fmt::Display for Fault {
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
            Fault::TunedOptimizer { slots, requested } => write!(
                f,
                "fine-tuning keeps {slots} optimizer state value(s) per parameter, the request's \
                 optimizer {requested}; Reset before changing it"
            ),
            Fault::TrainLayers { requested, weighted } => write!(
                f,
                "cannot train the last {requested} weighted layers: the model has {weighted} float32 \
                 weighted layers (an int8 body stays frozen)"
            ),
            Fault::TrainMemory {
                layers,
                needed,
                reserved,
            } => write!(
                f,
                "training the last {layers} layers needs {needed} f32 for weights, optimizer state \
                 and gradients; the firmware reserves {reserved}"
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
            Fault::InferenceOnly(request) => write!(
                f,
                "{request}: the firmware was not built with training (it is the inference-only \
                 image); flash the full firmware to fine-tune or pull"
            ),
        }
    }
}

impl From<crate::Error> for Fault {
    fn from(e: crate::Error) -> Self {
        Fault::Engine(e)
    }
}

/// Why the model region holds no usable model ([`super::ModelStatus::Corrupted`],
/// [`Fault::BadModel`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ModelFault {
    /// The file cannot be decoded (damaged, another version, inconsistent).
    File(FormatError),
    /// The file decodes but its layers do not form a network.
    Network(crate::Error),
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

impl fmt::Display for ModelFault {
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

names! {
    /// A fixed size of the firmware that a model must fit.
    pub enum Capacity {
        /// Values per input sample.
        InputValues = 0 => "input values",
        /// The model's outputs.
        Outputs = 1 => "outputs",
        /// The widest layer's outputs.
        LayerWidth = 2 => "layer width",
        /// f32 of inference scratch.
        InferenceScratch = 3 => "inference scratch (f32)",
    }
}

names! {
    /// A request only firmware with training serves ([`Fault::InferenceOnly`]), named as
    /// the host's command.
    pub enum TrainingRequest {
        /// Train: a fine-tuning step.
        Finetune = 0 => "finetune",
        /// Pull: the fine-tuned model's file.
        Pull = 1 => "pull",
    }
}
