//! # microdense-core
//!
//! Dense neural networks for microcontrollers and desktops alike, with Keras's semantics
//! and without a heap: `#![no_std]`, no `alloc`. All memory comes from caller slices whose
//! lengths the [`Network`] computes up front, so firmware can size static buffers.
//!
//! - [`Layer`]s (Dense, Activation, Dropout, Flatten, BatchNormalization, LayerNormalization,
//!   Rescaling, Normalization, ReLU, LeakyReLU, PReLU, ELU, Softmax, Identity, GaussianNoise,
//!   GaussianDropout, AlphaDropout, Reshape, ActivityRegularization, and the [`Merge`]
//!   layers Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate) and
//!   [`Activation`]s as Keras defines them, each with its forward and backward pass;
//! - [`Network`]s as chains or functional graphs ([`Inbound`]: each layer's inputs);
//! - [`Loss`]es with Keras's clipping and reduction, and the accuracy metric;
//! - [`Optimizer`]s as Keras has them (SGD, Adam, AdamW, Nadam, RMSprop, Adagrad) with
//!   clipping, weight decay and learning-rate [`Schedule`]s, their state in caller memory;
//! - [`Sgd`], plain SGD's settings (the device format's version-1 optimizer record, a
//!   device request's override);
//! - [`Initializer`]s with a seeded [`Rng`];
//! - a [`MatMul`] kernel trait whose default is the portable [`Portable`] kernel.
#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

mod activation;
mod error;
pub mod format;
mod graph;
mod init;
pub mod kernel;
pub mod kinds;
mod layer;
mod loss;
pub mod math;
mod network;
pub mod optimizer;
pub mod protocol;
pub mod quant;
mod regularizer;
mod rng;
mod sgd;
mod train;

pub use activation::Activation;
pub use error::{BatchDefect, Buffer, Error, LayerDefect};
pub use graph::{Inbound, Source, MAX_INPUTS};
pub use init::{FanMode, Initializer, VarianceDistribution};
pub use kernel::{Mat, MatMul, Portable, Product};
pub use layer::{Layer, Merge};
pub use loss::{argmax, Loss, LossFunction, LossKind, Targets, EPSILON};
pub use network::{Network, Rows};
pub use optimizer::{Algorithm, Clipping, Optimizer, OptimizerScalars, Schedule};
pub use regularizer::{Constraint, NormAxis, PenaltySums, Regularizer};
pub use rng::Rng;
pub use sgd::Sgd;
pub use train::{BatchStats, Trainer};

/// Most layers a network may have (a bound for fixed-size containers on devices).
#[cfg(not(feature = "max-layers-8"))]
pub const MAX_LAYERS: usize = 64;
/// Most layers a network may have (a bound for fixed-size containers on devices): 8 with
/// the feature `max-layers-8`, for parts with 16 KiB of RAM.
#[cfg(feature = "max-layers-8")]
pub const MAX_LAYERS: usize = 8;
