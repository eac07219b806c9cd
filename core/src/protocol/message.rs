//! The requests a host sends and the responses a device gives.

use super::{Fault, FrameError, ModelFault, PixelEncoding, SampleError, MAX_BATCH, MAX_OUTPUTS};
use crate::{BatchStats, Loss, Optimizer, Sgd};
use serde::{Deserialize, Serialize};

/// Samples packed into a request: `count` records back to back in `data`, each a label
/// byte (Evaluate, Train; not Infer) followed by the sample's values in `encoding`, which
/// become `byte as f32 * scale` on the device.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Samples<'a> {
    /// How the values are packed.
    pub encoding: PixelEncoding,
    /// Factor applied to each value.
    pub scale: f32,
    /// Number of records.
    pub count: u16,
    /// The records.
    #[serde(borrow)]
    pub data: &'a [u8],
}

/// A request from the host.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Request<'a> {
    /// What the device is, what model it holds and what it measured: [`Response::Info`].
    Info,
    /// Class scores of one unlabelled sample: [`Response::Inferred`].
    Infer(#[serde(borrow)] Samples<'a>),
    /// Loss and accuracy of labelled samples, added to running totals:
    /// [`Response::Evaluated`].
    Evaluate {
        /// Start new running totals with these samples.
        reset: bool,
        /// The loss to report; `None`: the model's training loss, else categorical
        /// cross-entropy.
        loss: Option<Loss>,
        /// The labelled samples.
        #[serde(borrow)]
        samples: Samples<'a>,
    },
    /// One optimizer step on the last `layers` weighted layers over the labelled samples
    /// (one batch): [`Response::Trained`].
    Train {
        /// How many of the last weighted layers to train (fixed until a Reset once
        /// training started).
        layers: u8,
        /// Plain SGD with these hyperparameters; `None`: the model's training state's
        /// optimizer (any of core's).
        sgd: Option<Sgd>,
        /// The loss; `None`: the model's training loss, else categorical cross-entropy.
        loss: Option<Loss>,
        /// The batch.
        #[serde(borrow)]
        samples: Samples<'a>,
    },
    /// Bytes `offset..offset + len` of the current model as a `.mdl` file:
    /// [`Response::Chunk`].
    Pull {
        /// First byte.
        offset: u32,
        /// Most bytes wanted (the device sends at most [`super::MAX_CHUNK`]).
        len: u16,
    },
    /// Drops fine-tuned weights and running totals, back to the model in flash:
    /// [`Response::Reset`].
    Reset,
}

/// Running figures over samples.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    /// Samples counted.
    pub samples: u32,
    /// Samples classified correctly.
    pub correct: u32,
    /// Sum of the samples' losses.
    pub loss_sum: f32,
}

impl Tally {
    /// Fraction classified correctly (0 without samples).
    pub fn accuracy(&self) -> f32 {
        if self.samples == 0 {
            0.0
        } else {
            self.correct as f32 / self.samples as f32
        }
    }

    /// Mean loss (0 without samples).
    pub fn loss(&self) -> f32 {
        if self.samples == 0 {
            0.0
        } else {
            self.loss_sum / self.samples as f32
        }
    }

    /// Adds another tally.
    pub fn merge(&mut self, other: Tally) {
        self.samples += other.samples;
        self.correct += other.correct;
        self.loss_sum += other.loss_sum;
    }
}

impl From<BatchStats> for Tally {
    fn from(s: BatchStats) -> Self {
        Tally {
            samples: s.samples,
            correct: s.correct,
            loss_sum: s.loss_sum,
        }
    }
}

/// A response from the device.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Response<'a> {
    /// Answer to [`Request::Info`].
    Info(#[serde(borrow)] DeviceInfo<'a>),
    /// Answer to [`Request::Infer`].
    Inferred {
        /// The arg-max of the scores.
        class: u8,
        /// The model's outputs.
        scores: heapless::Vec<f32, MAX_OUTPUTS>,
        /// Clock ticks the inference took.
        ticks: u64,
    },
    /// Answer to [`Request::Evaluate`].
    Evaluated {
        /// This request's samples.
        batch: Tally,
        /// Since the last reset.
        total: Tally,
        /// The predicted class of each sample, in order.
        predictions: heapless::Vec<u8, MAX_BATCH>,
    },
    /// Answer to [`Request::Train`].
    Trained {
        /// The batch's figures before the step.
        batch: Tally,
        /// SGD steps applied to the model so far.
        iterations: u64,
    },
    /// Answer to [`Request::Pull`].
    Chunk {
        /// Offset of `bytes` in the file.
        offset: u32,
        /// Length of the whole file.
        total: u32,
        /// CRC-32 of the whole file (its last four bytes).
        crc: u32,
        /// The bytes.
        #[serde(borrow)]
        bytes: &'a [u8],
    },
    /// Answer to [`Request::Reset`].
    Reset,
    /// The request failed (or the frame could not be read); the device keeps serving. What
    /// went wrong, as data: [`Fault::code`] classifies it, its `Display` words it.
    Error(Fault),
}

/// Kinds of failures a device reports ([`Fault::code`]).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum ErrorCode {
    /// The frame could not be read.
    Frame(FrameError),
    /// A frame was cut off: no byte arrived for the device's frame timeout.
    Truncated,
    /// The serial port lost bytes (receive overrun) or failed.
    Serial,
    /// There is no model in the model region.
    NoModel,
    /// The model region holds a damaged or unusable model.
    BadModel,
    /// The model, or the request, needs more memory than the firmware reserved.
    TooLarge,
    /// The samples cannot be decoded.
    Samples(SampleError),
    /// The request is not valid for this model or state.
    BadRequest,
    /// The engine refused (shapes the checks should have caught).
    Engine,
}

/// What a device reports about itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeviceInfo<'a> {
    /// Protocol version ([`super::PROTOCOL_VERSION`]).
    pub protocol: u16,
    /// Firmware version.
    pub firmware: &'a str,
    /// Board name.
    pub board: &'a str,
    /// Address of the model region.
    pub model_address: u32,
    /// Size of the model region in bytes.
    pub model_region: u32,
    /// The model in the region.
    pub model: ModelStatus,
    /// Flash and RAM use.
    pub memory: MemoryUse,
    /// The clock measurements are in.
    pub clock: ClockUnit,
    /// The clock's resolution in ticks.
    pub clock_resolution: u32,
    /// The firmware's static limits.
    pub limits: Limits,
    /// Measurements of the latest work.
    pub measured: Measured,
}

/// The state of the model region.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ModelStatus {
    /// Nothing was written to the region.
    None,
    /// The region holds something that is not a usable model (damaged, wrong version, or
    /// too large for the firmware's buffers), and why.
    Corrupted(ModelFault),
    /// A valid model.
    Ok(ModelSummary),
}

/// A valid model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelSummary {
    /// File length in bytes.
    pub file_len: u32,
    /// The file's CRC-32.
    pub crc: u32,
    /// Format version.
    pub version: u16,
    /// Values per input sample.
    pub input_width: u32,
    /// Outputs.
    pub output_width: u32,
    /// Layers.
    pub layers: u16,
    /// Layers with weights.
    pub weighted_layers: u16,
    /// Parameters.
    pub params: u32,
    /// The file's training state.
    pub training: Option<TrainingSummary>,
    /// The fine-tuning in RAM, if any.
    pub tuned: Option<TunedSummary>,
}

/// A model file's training state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainingSummary {
    /// Optimizer.
    pub optimizer: Optimizer,
    /// Loss.
    pub loss: Loss,
    /// Steps so far.
    pub iterations: u64,
    /// Trainable weighted layers.
    pub trainable_layers: u16,
}

/// The fine-tuned state in RAM.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TunedSummary {
    /// Trained weighted layers.
    pub layers: u16,
    /// Parameters copied to RAM.
    pub params: u32,
    /// Steps so far (counting the file's).
    pub iterations: u64,
}

/// Flash and RAM use in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryUse {
    /// Flash taken by the firmware (code, read-only data, `.data`'s image).
    pub flash_code: u32,
    /// Flash the firmware may use.
    pub flash_budget: u32,
    /// Flash taken by the model file (0 without a model).
    pub flash_model: u32,
    /// Statically allocated RAM (all buffers).
    pub static_ram: u32,
    /// RAM left for the stack.
    pub stack_size: u32,
    /// The stack's high-water mark since reset.
    pub stack_used: u32,
}

/// What a clock tick is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClockUnit {
    /// Executed instructions (QEMU with `-icount shift=0`).
    Instructions,
    /// Core clock cycles.
    Cycles,
}

/// The firmware's fixed buffer sizes, which a model must fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Most values per input sample.
    pub max_input: u32,
    /// Most f32 of inference scratch (`Network::inference_scratch_len(1)`).
    pub max_inference_scratch: u32,
    /// f32 reserved for fine-tuning: trainable weights, gradients, momentum, batch (0: an
    /// inference-only image, which refuses Train and Pull).
    pub train_arena: u32,
    /// Most samples per request: [`super::MAX_BATCH`], or fewer on a device with little RAM,
    /// whose receive buffer holds only that many (the host packs no more into a request).
    pub max_batch: u32,
}

/// Figures of the latest work, in clock ticks and bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measured {
    /// Ticks of the latest single inference (decoding excluded).
    pub infer_ticks: u64,
    /// Ticks per sample of the latest training step (decoding excluded).
    pub train_ticks_per_sample: u64,
    /// Samples in that step.
    pub train_batch: u32,
    /// RAM used for inference: input and scratch buffers, in bytes.
    pub infer_ram: u32,
    /// RAM used by that step: trainable weights, gradients, momentum, batch buffers.
    pub train_ram: u32,
    /// A boot-time check of the clock: a busy loop of this many instructions …
    pub clock_check_instructions: u32,
    /// … took this many ticks.
    pub clock_check_ticks: u64,
}
