//! What can go wrong reading or writing a device-format file.
//!
//! Like the engine's [`Error`](crate::Error), these are their own wire form: numbers and
//! small enums naming what is wrong, which a device reports as they are and the host words.
//! New variants go at the end (`core/tests/protocol_faults.rs` pins the tags).

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::error::names;

/// An error from [`decode`](super::decode) or [`ModelRef::encode`](super::ModelRef::encode).
/// Small, `Copy`, and printable without `alloc`; offsets are bytes from the file's start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FormatError {
    /// The bytes do not start with the format's magic (and are not a model file whose
    /// magic alone was damaged).
    NotAModel,
    /// The file is a newer format version than this reader supports.
    NewerVersion {
        /// Format version of the writer.
        version: u16,
        /// Oldest reader version that can use the file.
        min_reader: u16,
        /// Newest version this reader supports.
        supported: u16,
    },
    /// The CRC-32 stored at the end does not match the bytes before it.
    Corrupted {
        /// Checksum stored in the file.
        stored: u32,
        /// Checksum computed over the file's bytes.
        computed: u32,
    },
    /// The buffer ends before the file does.
    Truncated {
        /// Bytes the file needs.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// The buffer holds more bytes than the file (use
    /// [`decode_prefix`](super::decode_prefix) for a file at the start of a larger region).
    TrailingBytes {
        /// Length of the file according to its header.
        len: usize,
        /// Bytes available.
        available: usize,
    },
    /// The architecture, or the lengths stored for it, do not fit together.
    InconsistentShapes(Inconsistency),
    /// The file passes its checksum but its structure cannot be parsed (a writer's bug).
    Malformed {
        /// Offset of the part that cannot be parsed.
        offset: usize,
        /// What is wrong.
        what: Malformation,
    },
    /// The weights' address is not a multiple of 4, so they cannot be read as `f32` in
    /// place: load the file at a 4-byte-aligned address.
    Misaligned {
        /// Offset of the weights in the file.
        offset: usize,
        /// Their address modulo 4.
        address_mod_4: usize,
    },
    /// The target is big-endian; the in-place view of little-endian weights needs a
    /// little-endian target.
    BigEndianTarget,
    /// The output buffer of the encoder is too small.
    BufferTooSmall {
        /// Bytes the file needs.
        needed: usize,
        /// Bytes given.
        available: usize,
    },
    /// A count does not fit the format's fields (at most 4 GiB files).
    TooLarge {
        /// Which count.
        what: Quantity,
    },
    /// The model needs a kind of layer, activation, optimizer, schedule or clipping, or an
    /// int8 body, that this reader's build leaves out ([`crate::kinds`]): a firmware built
    /// for other models.
    NotBuiltIn {
        /// The group of kinds, with the cargo feature that brings it in.
        kind: crate::kinds::Kind,
    },
}

/// Why an architecture and its stored lengths are inconsistent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Inconsistency {
    /// The layers do not form a valid network (they do not chain, zero units, a bad
    /// dropout rate, too many layers, ...).
    Layers(crate::Error),
    /// A stored count disagrees with what the architecture implies.
    Count {
        /// Which count.
        what: StoredCount,
        /// The value the architecture implies.
        expected: usize,
        /// The value found.
        found: usize,
    },
    /// The input shape is not usable.
    InputShape {
        /// What is wrong.
        what: ShapeDefect,
    },
    /// The training state does not fit the network.
    Training {
        /// What is wrong.
        what: TrainingDefect,
    },
    /// The int8 body's parameters are invalid (format 4), naming its layer.
    Int8(crate::quant::QuantError),
}

names! {
    /// The part of a file that cannot be parsed ([`FormatError::Malformed`]).
    pub enum Malformation {
        /// The fixed header.
        Header = 0 => "header",
        /// The version fields say `min_reader` is 0 or newer than the version.
        VersionFields = 1 => "version fields (need 1 <= min_reader <= version)",
        /// The metadata length points past the end of the file.
        MetadataLength = 2 => "metadata length runs past the end of the file",
        /// The metadata ends in the middle of a field.
        MetadataEnd = 3 => "metadata ends in the middle of a field",
        /// A varint in the metadata is invalid.
        MetadataVarint = 4 => "metadata has an invalid varint",
        /// A boolean in the metadata is neither 0 nor 1.
        MetadataBool = 5 => "metadata has a boolean other than 0 or 1",
        /// An option tag in the metadata is neither 0 nor 1.
        MetadataOption = 6 => "metadata has an option tag other than 0 or 1",
        /// The metadata has an unknown tag, or more layers than the engine supports.
        MetadataTag = 7 => "metadata has an unknown tag or more than MAX_LAYERS layers",
        /// The metadata cannot be decoded for another reason.
        Metadata = 8 => "metadata cannot be decoded",
        /// Bytes follow the metadata's last field inside the metadata block.
        MetadataTrailingBytes = 9 => "bytes after the metadata's last field",
        /// The padding before the weights is not zero.
        WeightsPadding = 10 => "non-zero padding before the weights",
        /// The encoder wrote a different number of bytes than it planned (a bug).
        PlannedSize = 11 => "encoded size differs from the planned size",
    }
}

names! {
    /// A count too large for the format's fields ([`FormatError::TooLarge`]).
    pub enum Quantity {
        /// The metadata's length.
        Metadata = 0 => "metadata",
        /// The file's length.
        ModelFile = 1 => "model file",
        /// The input shape's dimensions.
        InputDims = 2 => "input shape (more than MAX_INPUT_DIMS dimensions)",
        /// The input width.
        InputWidth = 3 => "input width",
        /// One dimension of the input shape.
        InputDimension = 4 => "input dimension",
        /// The number of trained layers.
        TrainableLayers = 5 => "trainable layer count",
        /// The number of optimizer state values.
        StateLength = 6 => "optimizer state length",
        /// The number of parameters.
        Parameters = 7 => "parameter count",
    }
}

names! {
    /// A stored count that disagrees with the architecture ([`Inconsistency::Count`]).
    pub enum StoredCount {
        /// The weights.
        Weights = 0 => "weights",
        /// The file's length.
        FileLength = 1 => "file length",
        /// The input width against the input shape.
        InputWidth = 2 => "input width (product of the input shape)",
        /// The trained layers.
        TrainableLayers = 3 => "trainable layers (at most the weighted layers)",
        /// The optimizer state values (momentum, moments, accumulators).
        StateValues = 4 => "optimizer state values",
    }
}

names! {
    /// What is wrong with an input shape ([`Inconsistency::InputShape`]).
    pub enum ShapeDefect {
        /// The shape has no dimensions.
        NoDimensions = 0 => "no dimensions",
        /// A dimension is 0.
        ZeroDimension = 1 => "a dimension of 0",
    }
}

names! {
    /// What is wrong with a training state ([`Inconsistency::Training`]).
    pub enum TrainingDefect {
        /// The learning rate is infinite or NaN.
        LearningRate = 0 => "learning rate is not finite",
        /// The momentum is outside `[0, 1]`.
        Momentum = 1 => "momentum outside [0, 1]",
        /// The optimizer's settings are outside Keras's ranges (a non-positive learning
        /// rate, a decay outside `[0, 1)`, a negative epsilon or clipping limit, a
        /// piecewise schedule without one value more than boundaries).
        Optimizer = 2 => "optimizer settings outside Keras's ranges",
    }
}

/// The host's words for what a device reports.
impl fmt::Display for Inconsistency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Inconsistency::Layers(e) => write!(f, "invalid architecture: {e}"),
            Inconsistency::Count {
                what,
                expected,
                found,
            } => write!(
                f,
                "{what}: the architecture implies {expected}, the file has {found}"
            ),
            Inconsistency::InputShape { what } => write!(f, "invalid input shape: {what}"),
            Inconsistency::Training { what } => write!(f, "invalid training state: {what}"),
            Inconsistency::Int8(e) => write!(f, "invalid int8 body: {e}"),
        }
    }
}

/// The host's words for what a device reports.
impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormatError::NotAModel => {
                write!(f, "not a microdense model file (bad magic bytes)")
            }
            FormatError::NewerVersion {
                version,
                min_reader,
                supported,
            } => write!(
                f,
                "model file is format version {version} and needs a reader of version \
                 {min_reader} or newer; this reader supports version {supported}"
            ),
            FormatError::Corrupted { stored, computed } => write!(
                f,
                "model file is corrupted: stored CRC-32 {stored:#010x}, computed {computed:#010x}"
            ),
            FormatError::Truncated { needed, available } => write!(
                f,
                "model file is truncated: needs {needed} bytes, {available} available"
            ),
            FormatError::TrailingBytes { len, available } => write!(
                f,
                "model file is {len} bytes but {available} were given (trailing bytes)"
            ),
            FormatError::InconsistentShapes(why) => {
                write!(f, "model file has inconsistent shapes: {why}")
            }
            FormatError::Malformed { offset, what } => {
                write!(f, "model file is malformed at offset {offset}: {what}")
            }
            FormatError::Misaligned {
                offset,
                address_mod_4,
            } => write!(
                f,
                "weights at file offset {offset} sit at an address ≡ {address_mod_4} (mod 4); \
                 load the file at a 4-byte-aligned address"
            ),
            FormatError::BigEndianTarget => {
                write!(f, "reading weights in place needs a little-endian target")
            }
            FormatError::BufferTooSmall { needed, available } => write!(
                f,
                "output buffer holds {available} bytes, the model file needs {needed}"
            ),
            FormatError::TooLarge { what } => {
                write!(f, "{what} is too large for the device format")
            }
            FormatError::NotBuiltIn { kind } => {
                write!(f, "the model needs {kind}, which this build leaves out")
            }
        }
    }
}

impl core::error::Error for FormatError {}

impl From<Inconsistency> for FormatError {
    fn from(why: Inconsistency) -> Self {
        FormatError::InconsistentShapes(why)
    }
}
