//! The serial protocol between a host and a device running microdense: requests and
//! responses as postcard messages, each sent as one frame.
//!
//! A frame is `COBS(postcard((id, message)) ++ CRC-32 LE) ++ 0x00`:
//!
//! - `id` (a varint `u16`) pairs a response with its request; the device echoes it, and
//!   replies to frames it cannot read with [`UNKNOWN_ID`];
//! - the CRC-32 (the device format's, [`crate::format::crc32`]) covers the postcard bytes;
//! - COBS removes every zero byte, so `0x00` ends a frame and a receiver resynchronises
//!   after garbage at the next zero.
//!
//! Failures travel as data, not text: [`Response::Error`] carries a [`Fault`] with the
//! numbers and names of what went wrong, which the host words (`Display`), so a device
//! needs no formatting code.
//!
//! The postcard body and its CRC are at most [`MAX_PAYLOAD`] bytes, a whole frame at most
//! [`MAX_FRAME`]. Samples travel as bytes ([`PixelEncoding`]) and are turned into `f32` on
//! the device with a scale factor, so a 28×28 MNIST image costs about 200 bytes
//! ([`PixelEncoding::ZeroRun`]) instead of 3,136.
//!
//! ```
//! use microdense_core::protocol::{decode_frame, encode_frame, Request, MAX_FRAME};
//! let mut frame = [0u8; MAX_FRAME];
//! let len = encode_frame(7, &Request::Info, &mut frame).unwrap();
//! assert_eq!(frame[len - 1], 0);
//! let (id, request): (u16, Request) = decode_frame(&mut frame[..len - 1]).unwrap();
//! assert_eq!((id, request), (7, Request::Info));
//! ```

mod fault;
mod frame;
mod message;
mod pixels;
mod reply;

pub use fault::{Capacity, Fault, ModelFault, TrainingRequest};
pub use frame::{decode_frame, encode_frame, open_frame, FrameError, OpenFrame};
pub use message::{
    ClockUnit, DeviceInfo, ErrorCode, Limits, Measured, MemoryUse, ModelStatus, ModelSummary, Request,
    Response, Samples, Tally, TrainingSummary, TunedSummary,
};
pub use pixels::{decode_values, encode_values, max_encoded_len, PixelEncoding, SampleError};
pub use reply::encode_response;

/// The protocol version both sides must speak (reported in [`DeviceInfo`]). Version 4:
/// a model's [`TrainingSummary`] names its optimizer (any of core's), Train steps it, and
/// [`Fault::TunedOptimizer`] replaced the momentum switch fault.
pub const PROTOCOL_VERSION: u16 = 4;

/// Most bytes of a frame's postcard body plus its 4-byte CRC.
pub const MAX_PAYLOAD: usize = 4096;

/// Most bytes of a whole frame: COBS's worst case for [`MAX_PAYLOAD`] and the `0x00`.
pub const MAX_FRAME: usize = cobs::max_encoding_length(MAX_PAYLOAD) + 1;

/// Most samples one Evaluate or Train request may carry.
pub const MAX_BATCH: usize = 64;

/// Most class scores an Infer response carries.
pub const MAX_OUTPUTS: usize = 64;

/// Most model bytes one Pull response carries.
pub const MAX_CHUNK: usize = 3072;

/// Seed of the generator a device's fine-tuning draws dropout and noise from, restarted
/// at boot and by Reset: its steps are the host [`crate::Trainer`]'s with `Rng::new` of it
/// carried from step to step.
pub const DROPOUT_SEED: u64 = 0x6d69_6372_6f64_656e;

/// The id of replies to frames whose id could not be read.
pub const UNKNOWN_ID: u16 = u16::MAX;
