//! `microdense.Error` and its subclasses, and the host's errors turned into them with the
//! CLI's messages.

use microdense::device::DeviceError as HostDeviceError;
use microdense::fit::FitError;
use microdense::model_io::KerasError;
use pyo3::exceptions::PyException;
use pyo3::{create_exception, PyErr};

create_exception!(
    microdense,
    Error,
    PyException,
    "Base class of every microdense error."
);
create_exception!(
    microdense,
    FormatError,
    Error,
    "A model file or configuration that cannot be read or written (Keras files, .mdl, unsupported layers or settings)."
);
create_exception!(
    microdense,
    ShapeError,
    Error,
    "Arrays or weights whose shape or type does not fit the model."
);
create_exception!(
    microdense,
    TrainingError,
    Error,
    "Training or evaluation refused: the model is not compiled, the loss diverged, bad options."
);
create_exception!(
    microdense,
    DeviceError,
    Error,
    "Talking to a device (a serial port or QEMU) failed, or the device reported an error."
);
create_exception!(microdense, PlotError, Error, "A picture could not be drawn.");

pub use microdense::error_report::message;

/// A Keras-file or `.mdl` error.
pub fn format_error(e: KerasError) -> PyErr {
    FormatError::new_err(message(&e))
}

/// A `fit`/`evaluate`/`predict` error: data that does not fit is a [`ShapeError`].
pub fn fit_error(e: FitError) -> PyErr {
    match e {
        FitError::Data(_) => ShapeError::new_err(message(&e)),
        FitError::Model(_) => FormatError::new_err(message(&e)),
        _ => TrainingError::new_err(message(&e)),
    }
}

/// A device error.
pub fn device_error(e: HostDeviceError) -> PyErr {
    DeviceError::new_err(message(&e))
}
