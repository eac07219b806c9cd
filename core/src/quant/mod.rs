//! int8 inference in TensorFlow Lite's scheme, without allocating.
//!
//! - weights: int8, symmetric per output channel (zero point 0), one scale per unit;
//! - activations: int8, asymmetric per tensor (`real = scale · (q − zero_point)`);
//! - biases: int32 at `input_scale · weight_scale[j]`;
//! - requantisation: `input_scale · weight_scale[j] / output_scale` as a Q31 multiplier
//!   and a shift per unit ([`Requantizer`]), applied with gemmlowp's rounding
//!   ([`fixed_point`]), so every platform computes the same bits;
//! - activations: ReLU by clamping, other element-wise ones by a 256-entry table.
//!
//! The sums are [`kernel`]'s: portable, or the DSP extension's on Cortex-M4/M7.
//! An [`Int8Body`] chains such layers over one borrowed data region (a file's, in flash).

mod body;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
mod dense;
mod error;
pub mod fixed_point;
pub mod kernel;
mod multiplier;
mod params;

pub use body::{
    Int8Activation, Int8Body, Int8Layer, Int8LayerData, Int8LayerLayout, MAX_INT8_LAYERS, TABLE_LEN,
};
pub use dense::Int8Dense;
pub use error::{QuantDefect, QuantError};
pub use multiplier::{Requantizer, MAX_SHIFT, MIN_SHIFT};
pub use params::QuantParams;
