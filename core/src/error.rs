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

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BufferSize {
                what,
                expected,
                actual,
            } => {
                write!(
                    f,
                    "{what} buffer holds {actual} values, the network needs {expected}"
                )
            }
            Error::InvalidLayer { layer, reason } => write!(f, "layer {layer}: {reason}"),
            Error::LayerCount { count } => {
                write!(
                    f,
                    "a network needs 1 to {} layers, got {count}",
                    crate::MAX_LAYERS
                )
            }
            Error::Batch { reason } => write!(f, "bad batch: {reason}"),
            Error::LayerIndex { index, layers } => {
                write!(
                    f,
                    "layer index {index} is out of range for a network of {layers} layers"
                )
            }
        }
    }
}

impl core::error::Error for Error {}
