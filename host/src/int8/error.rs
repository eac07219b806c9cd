//! Why a float model cannot be quantised, or an int8 model not run.

use crate::dataset::DatasetError;
use crate::fit::FitError;
use crate::model::ModelError;
use microdense_core::quant::QuantError;

/// Why quantisation failed, naming the layer at fault.
#[derive(Debug, thiserror::Error)]
pub enum QuantizeError {
    /// A layer the int8 body cannot compute.
    #[error("layer {name:?} ({class}) cannot be quantised to int8: {why}")]
    Unsupported {
        /// Keras layer name.
        name: String,
        /// Keras class.
        class: &'static str,
        /// What is missing.
        why: &'static str,
    },
    /// `--trainable-layers` leaves no Dense layer for the int8 body.
    #[error("--trainable-layers {k} leaves no Dense layer to quantise (the model has {dense})")]
    EmptyBody {
        /// The number of float layers asked for.
        k: usize,
        /// Dense layers in the model.
        dense: usize,
    },
    /// A weight, bias or calibrated activation that is NaN or infinite.
    #[error("layer {name:?}: NaN or infinity in its {what}")]
    NonFinite {
        /// Keras layer name (or "input").
        name: String,
        /// Which values.
        what: &'static str,
    },
    /// A requantisation scale a Q31 multiplier and shift cannot hold.
    #[error("layer {name:?}, unit {unit}: requantisation scale {scale:e} is out of range")]
    Requantizer {
        /// Keras layer name.
        name: String,
        /// Output unit.
        unit: usize,
        /// `input_scale · weight_scale / output_scale`.
        scale: f64,
    },
    /// No calibration samples.
    #[error("calibration needs at least one sample")]
    NoCalibration,
    /// The float model is invalid.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The engine refused a buffer or network.
    #[error("{0}")]
    Engine(#[from] microdense_core::Error),
    /// The int8 body's parameters are invalid.
    #[error("{0}")]
    Body(#[from] QuantError),
    /// The data does not fit the model.
    #[error(transparent)]
    Data(#[from] DatasetError),
    /// The float head refused to run.
    #[error(transparent)]
    Fit(#[from] FitError),
}
