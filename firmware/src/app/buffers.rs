//! The firmware's static buffers, one allocation made by the linker: their sizes are the
//! limits a model must fit (checked at boot with core's own size functions).

use microdense_core::protocol::{MAX_BATCH, MAX_FRAME};

/// Most values per input sample (f32).
pub const MAX_INPUT: usize = 1024;
/// Most f32 of inference scratch: [`Network::inference_scratch_len`]`(1) = 2·W`.
///
/// [`Network::inference_scratch_len`]: microdense_core::Network::inference_scratch_len
pub const MAX_SCRATCH: usize = 1024;
/// Most values a layer may output (`W`), so a split network's middle fits.
pub const MAX_WIDTH: usize = MAX_SCRATCH / 2;
/// Most bytes of int8 inference scratch: [`Int8Body::scratch_len`] `= 2·W`, `W` the
/// widest of the input and the int8 layers.
///
/// [`Int8Body::scratch_len`]: microdense_core::quant::Int8Body::scratch_len
pub const MAX_INT8_SCRATCH: usize = 2 * MAX_INPUT;
/// f32 reserved for fine-tuning: trainable weights, momentum, gradients, the batch's
/// frozen-prefix outputs and the trainer's scratch ([`Trainer::scratch_len`]).
///
/// [`Trainer::scratch_len`]: microdense_core::Trainer::scratch_len
pub const TRAIN_ARENA: usize = 8192;

/// Every buffer the server works in.
pub struct Buffers {
    /// The frame being received.
    pub rx: [u8; MAX_FRAME],
    /// The frame being sent.
    pub tx: [u8; MAX_FRAME],
    /// One decoded input sample.
    pub input: [f32; MAX_INPUT],
    /// Inference scratch (its result lands here).
    pub scratch: [f32; MAX_SCRATCH],
    /// The output of the frozen prefix, the input of the trained suffix (or of an int8
    /// body, the input of the float head).
    pub mid: [f32; MAX_WIDTH],
    /// An int8 body's scratch.
    pub int8: [i8; MAX_INT8_SCRATCH],
    /// Fine-tuning memory.
    pub arena: [f32; TRAIN_ARENA],
    /// The labels of a batch.
    pub labels: [u32; MAX_BATCH],
}

impl Buffers {
    /// All zeros (so the buffers live in `.bss`).
    pub const fn new() -> Self {
        Buffers {
            rx: [0; MAX_FRAME],
            tx: [0; MAX_FRAME],
            input: [0.0; MAX_INPUT],
            scratch: [0.0; MAX_SCRATCH],
            mid: [0.0; MAX_WIDTH],
            int8: [0; MAX_INT8_SCRATCH],
            arena: [0.0; TRAIN_ARENA],
            labels: [0; MAX_BATCH],
        }
    }
}

impl Default for Buffers {
    fn default() -> Self {
        Self::new()
    }
}
