//! The firmware's static buffers, one allocation made by the linker: their sizes are the
//! limits a model must fit (checked at boot with core's own size functions).
//!
//! The sizes come per RAM class ([`sizes`]): parts with 128 KiB of RAM or more (the default),
//! and parts with 16 KiB (feature `ram-16k`: the micro:bit's nRF51822), where they are cut to
//! an MNIST-sized input (784 values), layers up to 64 wide, fine-tuning of the last layer and
//! replies of at most 512 bytes. firmware/README.md tabulates every size per board.

use microdense_core::protocol::{MAX_FRAME, MAX_PAYLOAD};

/// Bytes of a whole frame whose postcard body and CRC take `payload` bytes: COBS's worst case
/// (one code byte per 254 bytes, one more) and the closing zero.
const fn frame_len(payload: usize) -> usize {
    payload + payload / 254 + 2
}

const _: () = assert!(frame_len(MAX_PAYLOAD) == MAX_FRAME);

/// The sizes of one RAM class.
#[cfg(not(feature = "ram-16k"))]
mod sizes {
    use super::{frame_len, MAX_PAYLOAD};
    use microdense_core::protocol::{MAX_BATCH as PROTOCOL_MAX_BATCH, MAX_CHUNK};

    /// Most values per input sample (f32).
    pub const MAX_INPUT: usize = 1024;
    /// Most f32 of inference scratch.
    pub const MAX_SCRATCH: usize = 1024;
    /// f32 reserved for fine-tuning.
    pub const TRAIN_ARENA: usize = 8192;
    /// Most model bytes one Pull reply carries.
    pub const PULL_CHUNK: usize = MAX_CHUNK;
    /// Most bytes of a reply frame.
    pub const TX_FRAME: usize = frame_len(MAX_PAYLOAD);
    /// Most samples one Evaluate or Train request may carry.
    pub const MAX_BATCH: usize = PROTOCOL_MAX_BATCH;
    /// Most bytes of a received frame: any request the protocol allows.
    pub const RX_FRAME: usize = frame_len(MAX_PAYLOAD);
}

/// The sizes of one RAM class.
#[cfg(feature = "ram-16k")]
mod sizes {
    use super::frame_len;
    use microdense_core::protocol::{max_encoded_len, PixelEncoding};

    /// Bytes of a request's body and CRC besides its sample records (id, request fields, the
    /// samples' header, CRC), with room to spare; the host reserves as much when packing.
    const REQUEST_OVERHEAD: usize = 64;

    /// Most bytes of a request body carrying `samples` labelled samples of `width` byte
    /// values, zero-run packed at worst, or raw ([`PixelEncoding::F32`] samples of that
    /// width do not fit: the device answers with a frame error naming its limit).
    const fn request_len(samples: usize, width: usize) -> usize {
        REQUEST_OVERHEAD + samples * (1 + max_encoded_len(PixelEncoding::ZeroRun, width))
    }

    /// Most values per input sample (f32): an MNIST image.
    pub const MAX_INPUT: usize = 784;
    /// Most f32 of inference scratch: layers up to 64 wide.
    pub const MAX_SCRATCH: usize = 128;
    /// f32 reserved for fine-tuning: the last layer of a 784-50-20-10 or 784-32-10 model
    /// with SGD and momentum at small batches.
    pub const TRAIN_ARENA: usize = 768;
    /// Most model bytes one Pull reply carries.
    pub const PULL_CHUNK: usize = 384;
    /// Most bytes of a reply frame: 512 bytes of body and CRC, which hold a Pull chunk, an
    /// Infer reply's 64 scores, an Evaluate reply's 64 predictions and Info.
    pub const TX_FRAME: usize = frame_len(512);
    /// Most samples one Evaluate or Train request may carry (Info reports it; the host packs
    /// no more into a request).
    pub const MAX_BATCH: usize = 1;
    /// Most bytes of a received frame: a request of [`MAX_BATCH`] samples of [`MAX_INPUT`]
    /// bytes each (zero-run packed, or raw), labelled, whatever their values.
    pub const RX_FRAME: usize = frame_len(request_len(MAX_BATCH, MAX_INPUT));
}

pub use sizes::{MAX_BATCH, MAX_INPUT, MAX_SCRATCH, PULL_CHUNK, RX_FRAME, TRAIN_ARENA, TX_FRAME};

const _: () = assert!(RX_FRAME <= MAX_FRAME && TX_FRAME <= MAX_FRAME && MAX_BATCH >= 1);
// A Pull chunk is read into the input buffer (free while pulling).
const _: () = assert!(PULL_CHUNK <= 4 * MAX_INPUT);
/// Most values a layer may output (`W`): [`Network::inference_scratch_len`]`(1) = 2·W`, so a
/// split network's middle fits.
///
/// [`Network::inference_scratch_len`]: microdense_core::Network::inference_scratch_len
pub const MAX_WIDTH: usize = MAX_SCRATCH / 2;
/// Most bytes of int8 inference scratch: [`Int8Body::scratch_len`] `= 2·W`, `W` the
/// widest of the input and the int8 layers.
///
/// [`Int8Body::scratch_len`]: microdense_core::quant::Int8Body::scratch_len
pub const MAX_INT8_SCRATCH: usize = 2 * MAX_INPUT;

/// Every buffer the server works in.
pub struct Buffers {
    /// The frame being received.
    pub rx: [u8; RX_FRAME],
    /// The frame being sent.
    pub tx: [u8; TX_FRAME],
    /// One decoded input sample.
    pub input: [f32; MAX_INPUT],
    /// Inference scratch (its result lands here).
    pub scratch: [f32; MAX_SCRATCH],
    /// The output of the frozen prefix, the input of the trained suffix (or of an int8
    /// body, the input of the float head).
    pub mid: [f32; MAX_WIDTH],
    /// An int8 body's scratch.
    pub int8: [i8; MAX_INT8_SCRATCH],
    /// Fine-tuning memory (not in an inference-only image): trainable weights, optimizer
    /// state, gradients, the batch's frozen-prefix outputs and the trainer's scratch
    /// ([`Trainer::scratch_len`]).
    ///
    /// [`Trainer::scratch_len`]: microdense_core::Trainer::scratch_len
    #[cfg(training)]
    pub arena: [f32; TRAIN_ARENA],
    /// The labels of a batch.
    #[cfg(training)]
    pub labels: [u32; MAX_BATCH],
}

impl Buffers {
    /// All zeros (so the buffers live in `.bss`).
    pub const fn new() -> Self {
        Buffers {
            rx: [0; RX_FRAME],
            tx: [0; TX_FRAME],
            input: [0.0; MAX_INPUT],
            scratch: [0.0; MAX_SCRATCH],
            mid: [0.0; MAX_WIDTH],
            int8: [0; MAX_INT8_SCRATCH],
            #[cfg(training)]
            arena: [0.0; TRAIN_ARENA],
            #[cfg(training)]
            labels: [0; MAX_BATCH],
        }
    }
}

impl Default for Buffers {
    fn default() -> Self {
        Self::new()
    }
}
