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

pub use client::{Device, Evaluation, StepResult, QEMU_TIMEOUT, SERIAL_TIMEOUT};
pub use qemu::{Qemu, QemuBoard, QemuConfig, QemuExit, BOARDS};
pub use report::{InfoReport, ModelState};
pub use samples::{SampleSet, PACK_OVERHEAD};
pub use transport::{open_port, SerialTransport, SocketTransport, Transport};

use microdense_core::protocol::{ErrorCode, FrameError};
use std::io;

/// What went wrong talking to a device.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// Reading or writing the line failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        #[source]
        source: io::Error,
    },
    /// Nothing (or no complete reply) arrived in time.
    #[error("timed out waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
    },
    /// The device's reply could not be read.
    #[error("unreadable reply from the device: {0}")]
    Frame(#[source] FrameError),
    /// The device answered with an error.
    #[error("device error ({code:?}): {message}")]
    Device {
        /// The kind of error.
        code: ErrorCode,
        /// What went wrong: the device's report ([`microdense_core::protocol::Fault`]) in
        /// words.
        message: String,
    },
    /// The device answered with a reply of the wrong kind.
    #[error("the device answered {request} with {reply}")]
    Unexpected {
        /// The request.
        request: &'static str,
        /// What came back.
        reply: String,
    },
    /// The request cannot be made as asked (bad arguments, a model too large, ...).
    #[error("{0}")]
    Usage(String),
    /// The firmware image could not be read.
    #[error("firmware image: {0}")]
    Elf(#[source] elf::ElfError),
    /// QEMU failed.
    #[error("{0}")]
    Qemu(String),
}
