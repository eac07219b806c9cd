//! microdense for Python: the host library (`microdense`) as the extension module
//! `microdense._native`, which the `microdense` package re-exports. Built with maturin
//! (`pip install ./python`); see python/README.md.
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

mod arrays;
mod device;
mod errors;
mod model;
mod quantized;
mod report;
mod watch;

use pyo3::prelude::*;
use std::path::PathBuf;

/// Loads a model from any file the CLI reads: `.h5` (every Keras flavour), `.keras`,
/// `.json`/`.yaml`/`.yml` architectures, `.mdl` (a `QuantizedModel` for an int8 one). A
/// training setup microdense cannot use (an optimizer it does not have) is dropped with a
/// `UserWarning`, as the CLI warns.
#[pyfunction]
pub(crate) fn load(py: Python<'_>, path: PathBuf) -> PyResult<Bound<'_, PyAny>> {
    use microdense::model_io::FileKind;
    if FileKind::of(&path) == Some(FileKind::DeviceFormat) {
        // A float `.mdl`, or one that cannot be read, goes on to `Model::load` and its message.
        if let Ok(Some(int8)) = py.detach(|| microdense::device_format::read_int8_mdl(&path)) {
            return Ok(Bound::new(py, quantized::PyQuantizedModel::from_int8(int8))?.into_any());
        }
    }
    let model = py
        .detach(|| microdense::model::Model::load(&path))
        .map_err(errors::format_error)?;
    if let Some(why) = &model.dropped_training {
        let warning = py.get_type::<pyo3::exceptions::PyUserWarning>();
        PyErr::warn(
            py,
            &warning,
            &std::ffi::CString::new(format!(
                "{}: loaded without its training setup: {why}",
                path.display()
            ))
            .unwrap_or_default(),
            1,
        )?;
    }
    Ok(Bound::new(py, model::PyModel { model })?.into_any())
}

/// MNIST as Keras's `mnist.load_data()` returns it, found as the CLI finds it (`path`,
/// then `$MNIST_DIR`, then `data/mnist`, then the download cache):
/// `((x_train, y_train), (x_test, y_test))`, uint8 arrays of shape `(n, 28, 28)` and `(n,)`.
#[pyfunction]
#[pyo3(signature = (path = None))]
#[allow(clippy::type_complexity)]
fn mnist<'py>(
    py: Python<'py>,
    path: Option<PathBuf>,
) -> PyResult<(
    (Bound<'py, PyAny>, Bound<'py, PyAny>),
    (Bound<'py, PyAny>, Bound<'py, PyAny>),
)> {
    use numpy::{PyArray1, PyArrayMethods};
    let (data, _) = py
        .detach(|| microdense::mnist::Lookup::from_env(path.as_deref()).load())
        .map_err(|e| errors::FormatError::new_err(errors::message(&e)))?;
    let split = |s: microdense::mnist::Split| -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
        let n = s.len();
        let images = PyArray1::from_vec(py, s.images).reshape([n, s.rows, s.cols])?;
        Ok((images.into_any(), PyArray1::from_vec(py, s.labels).into_any()))
    };
    Ok((split(data.train)?, split(data.test)?))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("Error", py.get_type::<errors::Error>())?;
    m.add("FormatError", py.get_type::<errors::FormatError>())?;
    m.add("ShapeError", py.get_type::<errors::ShapeError>())?;
    m.add("TrainingError", py.get_type::<errors::TrainingError>())?;
    m.add("DeviceError", py.get_type::<errors::DeviceError>())?;
    m.add("PlotError", py.get_type::<errors::PlotError>())?;
    m.add_class::<model::PyModel>()?;
    m.add_class::<model::Diagram>()?;
    m.add_class::<quantized::PyQuantizedModel>()?;
    m.add_class::<device::PyDevice>()?;
    m.add_function(wrap_pyfunction!(load, m)?)?;
    m.add_function(wrap_pyfunction!(mnist, m)?)?;
    Ok(())
}
