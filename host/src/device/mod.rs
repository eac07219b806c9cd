//! Talking to a device that runs the microdense firmware: over a serial port or a QEMU this
//! module starts itself, with the protocol of `microdense_core::protocol`.
//!
//! - [`Device`]: requests and replies (ids, timeouts, skipping stale replies), and the
//!   long operations built on them (evaluating, fine-tuning, pulling the model);
//! - [`SampleSet`]: labelled byte samples (MNIST images) packed into frames;
//! - [`Transport`]: the byte pipe, [`SerialTransport`] or [`SocketTransport`];
//! - [`Qemu`]: the firmware under QEMU with a model in its model region.

mod client;
pub mod elf;
pub mod qemu;
mod report;
mod samples;
mod transport;

pub use client::{Device, Evaluation, StepResult, DEFAULT_TIMEOUT};
pub use qemu::{Qemu, QemuBoard, QemuConfig, QemuExit, BOARDS};
pub use report::{InfoReport, ModelState};
pub use samples::{SampleSet, PACK_OVERHEAD};
pub use transport::{SerialTransport, SocketTransport, Transport};

use microdense_core::protocol::{ErrorCode, FrameError};
use std::fmt;
use std::io;

/// What went wrong talking to a device.
#[derive(Debug)]
pub enum DeviceError {
    /// Reading or writing the line failed.
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        source: io::Error,
    },
    /// Nothing (or no complete reply) arrived in time.
    Timeout {
        /// What was awaited.
        what: String,
    },
    /// The device's reply could not be read.
    Frame(FrameError),
    /// The device answered with an error.
    Device {
        /// The kind of error.
        code: ErrorCode,
        /// What went wrong: the device's report ([`microdense_core::protocol::Fault`]) in
        /// words.
        message: String,
    },
    /// The device answered with a reply of the wrong kind.
    Unexpected {
        /// The request.
        request: &'static str,
        /// What came back.
        reply: String,
    },
    /// The request cannot be made as asked (bad arguments, a model too large, ...).
    Usage(String),
    /// The firmware image could not be read.
    Elf(elf::ElfError),
    /// QEMU failed.
    Qemu(String),
}

impl fmt::Display for DeviceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceError::Io { what, source } => write!(f, "{what}: {source}"),
            DeviceError::Timeout { what } => write!(f, "timed out waiting for {what}"),
            DeviceError::Frame(e) => write!(f, "unreadable reply from the device: {e}"),
            DeviceError::Device { code, message } => write!(f, "device error ({code:?}): {message}"),
            DeviceError::Unexpected { request, reply } => {
                write!(f, "the device answered {request} with {reply}")
            }
            DeviceError::Usage(message) | DeviceError::Qemu(message) => write!(f, "{message}"),
            DeviceError::Elf(e) => write!(f, "firmware image: {e}"),
        }
    }
}

impl std::error::Error for DeviceError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DeviceError::Io { source, .. } => Some(source),
            DeviceError::Frame(e) => Some(e),
            DeviceError::Elf(e) => Some(e),
            _ => None,
        }
    }
}
