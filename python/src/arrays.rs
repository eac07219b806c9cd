//! NumPy arrays in and out: samples borrowed without a copy when they are C-contiguous
//! float32 (or uint8, taken as `byte as f32` like the CLI's MNIST pixels), class labels
//! from integer labels or one-hot rows.

use crate::errors::ShapeError;
use microdense::dataset::{Dataset, Features};
use numpy::{PyArray1, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::prelude::*;

/// Samples held by a NumPy array for as long as this lives.
pub enum Samples<'py> {
    /// float32 values, used as they are.
    F32(PyReadonlyArrayDyn<'py, f32>),
    /// Bytes, used as `byte as f32`.
    U8(PyReadonlyArrayDyn<'py, u8>),
}

impl<'py> Samples<'py> {
    /// `x` as samples of `width` values: borrowed when it is a C-contiguous float32 or
    /// uint8 array, otherwise converted to a float32 copy by NumPy. The first axis counts
    /// samples; the others must hold `width` values (`(n, 784)` or `(n, 28, 28)`).
    pub fn new(x: &Bound<'py, PyAny>, width: usize) -> PyResult<Samples<'py>> {
        let contiguous = |x: &Bound<'py, PyAny>| -> PyResult<Bound<'py, PyAny>> {
            let numpy = x.py().import("numpy")?;
            numpy.call_method1("ascontiguousarray", (x,))
        };
        let samples = if let Ok(a) = x.extract::<PyReadonlyArrayDyn<'py, f32>>() {
            if a.is_c_contiguous() {
                Samples::F32(a)
            } else {
                Samples::F32(contiguous(x)?.extract()?)
            }
        } else if let Ok(a) = x.extract::<PyReadonlyArrayDyn<'py, u8>>() {
            if a.is_c_contiguous() {
                Samples::U8(a)
            } else {
                Samples::U8(contiguous(x)?.extract()?)
            }
        } else {
            let numpy = x.py().import("numpy")?;
            let x = numpy
                .call_method1("asarray", (x,))
                .map_err(|e| ShapeError::new_err(format!("x is not an array of samples: {e}")))?;
            let dtype = x.getattr("dtype")?;
            // Booleans, integers and floats are numbers; complex values, strings, objects
            // would be cast with a loss NumPy only warns about, or not at all.
            if !"biuf".contains(dtype.getattr("kind")?.extract::<char>()?) {
                return Err(ShapeError::new_err(format!(
                    "x has dtype {dtype}; samples are numbers (float32 and uint8 are read in place, other real types converted)"
                )));
            }
            let converted = numpy
                .call_method1("asarray", (&x, "float32", "C"))
                .map_err(|e| ShapeError::new_err(format!("x cannot be read as float32 samples: {e}")))?;
            Samples::F32(converted.extract()?)
        };
        let shape = samples.shape().to_vec();
        let per_sample: usize = shape.iter().skip(1).product();
        if shape.len() < 2 || per_sample != width {
            return Err(ShapeError::new_err(format!(
                "x has shape {shape:?}; the model takes samples of {width} values: (n, {width}) or (n, *input_shape)"
            )));
        }
        Ok(samples)
    }

    fn shape(&self) -> &[usize] {
        match self {
            Samples::F32(a) => a.shape(),
            Samples::U8(a) => a.shape(),
        }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.shape()[0]
    }

    /// The values as the engine reads them.
    pub fn features(&self) -> PyResult<Features<'_>> {
        let not_contiguous = |e: numpy::AsSliceError| ShapeError::new_err(format!("x: {e}"));
        Ok(match self {
            Samples::F32(a) => Features::F32(a.as_slice().map_err(not_contiguous)?),
            Samples::U8(a) => Features::U8 {
                data: a.as_slice().map_err(not_contiguous)?,
                scale: 1.0,
            },
        })
    }

    /// The raw bytes a device receives (uint8 samples only: the device protocol carries
    /// bytes that it scales itself).
    pub fn bytes(&self) -> PyResult<&[u8]> {
        match self {
            Samples::U8(a) => a
                .as_slice()
                .map_err(|e| ShapeError::new_err(format!("x: {e}"))),
            Samples::F32(_) => Err(ShapeError::new_err(
                "a device receives samples as bytes: pass x as a uint8 array (the device multiplies each by `scale`)",
            )),
        }
    }
}

/// Class labels for `n` samples of a model with `classes` outputs: `y` as integer labels
/// `(n,)` or one-hot rows `(n, classes)`, checked by `microdense._data.class_labels`.
pub fn class_labels<'py>(
    y: &Bound<'py, PyAny>,
    n: usize,
    classes: usize,
) -> PyResult<Bound<'py, PyArray1<u32>>> {
    let labels = y
        .py()
        .import("microdense._data")?
        .call_method1("class_labels", (y, n, classes))?;
    Ok(labels.cast_into::<PyArray1<u32>>()?)
}

/// A data set of `samples` with `labels` (the labels of `class_labels`).
pub fn dataset<'a>(features: Features<'a>, width: usize, labels: &'a [u32]) -> PyResult<Dataset<'a>> {
    Dataset::new(features, width, labels).map_err(|e| ShapeError::new_err(e.to_string()))
}
