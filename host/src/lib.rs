//! microdense on the desktop: Keras-compatible models, MNIST, training, conversion,
//! pictures and talking to a device.
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod atomic;
pub mod budget;
pub mod cleanup;
pub mod dataset;
pub mod denormals;
pub mod device;
pub mod device_format;
pub mod error_report;
pub mod fit;
pub mod fold;
pub mod gemm;
pub mod h5;
pub mod history;
pub mod int8;
pub mod keras;
pub mod keras_order;
pub mod mnist;
pub mod model;
pub mod model_io;
pub mod plot;
pub mod regularization;
pub mod summary;
