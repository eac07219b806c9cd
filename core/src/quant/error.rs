//! What can be wrong with an int8 body: one leaf error, its own wire form.

use crate::error::names;
use core::fmt;
use serde::{Deserialize, Serialize};

names! {
    /// What is wrong with an int8 layer's parameters or buffers.
    pub enum QuantDefect {
        /// An activation's or a weight's scale is zero, negative, NaN or infinite.
        Scale = 0 => "a scale that is not finite and positive",
        /// An activation's zero point is outside −128..=127.
        ZeroPoint = 1 => "a zero point outside -128..=127",
        /// A requantisation multiplier outside [2^30, 2^31) or a shift outside −31..=30.
        Requantizer = 2 => "a requantisation multiplier or shift out of range",
        /// The layer's data is shorter or longer than its shapes need.
        DataLength = 3 => "data of the wrong length for its shapes",
        /// The layer's data does not start at a 4-byte aligned address.
        Misaligned = 4 => "data not 4-byte aligned",
        /// A caller's input, output or scratch buffer has the wrong length.
        BufferLength = 5 => "a buffer of the wrong length",
        /// No layers, too many, or a layer with zero units.
        Shape = 6 => "no layers, more than 8, or zero units",
    }
}

/// An int8 body's error: which of its Dense layers (0-based, in body order) and what.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuantError {
    /// Index of the int8 Dense layer among the body's layers.
    pub layer: usize,
    /// What is wrong with it.
    pub defect: QuantDefect,
}

impl fmt::Display for QuantError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "int8 layer {}: {}", self.layer, self.defect)
    }
}

impl core::error::Error for QuantError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defect_tags_are_their_positions() {
        for (i, d) in QuantDefect::ALL.iter().enumerate() {
            assert_eq!(*d as usize, i);
            let mut buf = [0u8; 4];
            assert_eq!(postcard::to_slice(d, &mut buf).unwrap(), &[i as u8]);
        }
    }
}
