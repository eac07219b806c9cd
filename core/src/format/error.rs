//! What can go wrong reading or writing a device-format file.

use core::fmt;

/// An error from [`decode`](super::decode) or [`ModelRef::encode`](super::ModelRef::encode).
/// Small, `Copy`, and printable without `alloc`; offsets are bytes from the file's start.
#[derive(Clone, Copy, Debug, PartialEq)]
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
        what: &'static str,
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
        what: &'static str,
    },
}

/// Why an architecture and its stored lengths are inconsistent.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Inconsistency {
    /// The layers do not form a valid network (they do not chain, zero units, a bad
    /// dropout rate, too many layers, ...).
    Layers(crate::Error),
    /// A stored count disagrees with what the architecture implies.
    Count {
        /// Which count (`"weights"`, `"momentum"`, `"file length"`, ...).
        what: &'static str,
        /// The value the architecture implies.
        expected: usize,
        /// The value found.
        found: usize,
    },
    /// The input shape is not usable.
    InputShape {
        /// What is wrong.
        what: &'static str,
    },
    /// The training state does not fit the network.
    Training {
        /// What is wrong.
        what: &'static str,
    },
}

/// The sentences are [`WireInconsistency`](crate::protocol::WireInconsistency)'s, the form a
/// device reports it in.
impl fmt::Display for Inconsistency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&crate::protocol::WireInconsistency::from(*self), f)
    }
}

/// The sentences are [`WireFormatError`](crate::protocol::WireFormatError)'s, the form a
/// device reports it in.
impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&crate::protocol::WireFormatError::from(*self), f)
    }
}

impl core::error::Error for FormatError {}

impl From<Inconsistency> for FormatError {
    fn from(why: Inconsistency) -> Self {
        FormatError::InconsistentShapes(why)
    }
}
