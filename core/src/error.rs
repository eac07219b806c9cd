//! The engine's error type.

use core::fmt;

/// Everything that can go wrong in the engine. Small, `Copy`, and printable without `alloc`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// A caller-provided buffer has the wrong length.
    BufferSize {
        /// Which buffer.
        what: &'static str,
        /// The length the network needs.
        expected: usize,
        /// The length given.
        actual: usize,
    },
    /// The network's layers do not fit together (e.g. zero units, a bad dropout rate).
    InvalidLayer {
        /// Index of the offending layer.
        layer: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The network has no layers or more than the engine supports.
    LayerCount {
        /// Number of layers given.
        count: usize,
    },
    /// A batch size of zero, or targets that do not match the batch.
    Batch {
        /// What is wrong.
        reason: &'static str,
    },
    /// A layer index that is not in the network.
    LayerIndex {
        /// The index given.
        index: usize,
        /// Number of layers in the network.
        layers: usize,
    },
}

/// The sentences are [`WireError`](crate::protocol::WireError)'s, the form a device reports
/// the error in, so host and device word it alike.
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&crate::protocol::WireError::from(*self), f)
    }
}

impl core::error::Error for Error {}
