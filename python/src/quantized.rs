//! `microdense.QuantizedModel`: a model quantised to int8 (TensorFlow Lite's scheme) with a
//! float32 head, run by the same integer kernels as the device.

use crate::arrays::{class_labels, dataset, Samples};
use crate::errors::{message, FormatError, TrainingError};
use crate::model::PyModel;
use microdense::dataset::Dataset;
use microdense::device_format::{int8_from_mdl, int8_to_mdl, DeviceFormatError, ExportOptions};
use microdense::int8::Int8Model;
use numpy::{PyArray1, PyArrayMethods};
use pyo3::prelude::*;
use std::path::PathBuf;

/// An int8 body (every layer before the last `trainable_layers` Dense ones) and a float32
/// head: what `Model.quantize` returns.
#[pyclass(name = "QuantizedModel", module = "microdense", frozen)]
pub struct PyQuantizedModel {
    int8: Int8Model,
    /// The head's `.mdl` options: its training state when the model was compiled.
    options: ExportOptions,
}

impl PyQuantizedModel {
    /// Quantises `model` on `calibration`, keeping its last `k` Dense layers float32.
    pub fn new(py: Python<'_>, model: &PyModel, calibration: &Bound<'_, PyAny>, k: usize) -> PyResult<Self> {
        let inner = &model.model;
        let width = inner.input_width();
        let samples = Samples::new(calibration, width)?;
        if samples.len() == 0 {
            return Err(TrainingError::new_err(
                "quantize: give at least one calibration sample",
            ));
        }
        let labels = vec![0u32; samples.len()];
        let data = dataset(samples.features()?, width, &labels)?;
        let int8 = py
            .detach(|| Int8Model::quantize(inner, &data, k))
            .map_err(|e| FormatError::new_err(message(&e)))?;
        let train_head = k > 0 && inner.compile.is_some();
        Ok(PyQuantizedModel {
            int8,
            options: ExportOptions {
                with_training_state: train_head,
                trainable_layers: train_head.then_some(k),
            },
        })
    }

    /// The int8 model a `.mdl` file holds (`None` for a float file), with its training state
    /// when it has one (a device's pulled, fine-tuned model).
    pub fn from_mdl(bytes: &[u8]) -> Result<Option<Self>, DeviceFormatError> {
        Ok(int8_from_mdl(bytes)?.map(PyQuantizedModel::from_int8))
    }

    /// The int8 model of a `.mdl` file, saved back as it was read.
    pub fn from_int8(int8: Int8Model) -> Self {
        PyQuantizedModel {
            options: ExportOptions {
                // The head's trainable layers, marked by the file's training state.
                with_training_state: int8.head.compile.is_some(),
                trainable_layers: None,
            },
            int8,
        }
    }

    /// The samples of `x` with `labels`, as the body reads them.
    fn data<'a>(&self, samples: &'a Samples<'_>, labels: &'a [u32]) -> PyResult<Dataset<'a>> {
        dataset(samples.features()?, self.width(), labels)
    }

    fn width(&self) -> usize {
        self.int8.input_shape.iter().product()
    }

    fn outputs(&self) -> usize {
        let head = &self.int8.head;
        head.layer_shapes(head.layers.len().saturating_sub(1))
            .1
            .iter()
            .product()
    }
}

/// `Model.quantize`, here with the rest of int8 (pyo3's `multiple-pymethods`).
#[pymethods]
impl PyModel {
    /// Post-training int8 quantisation (TensorFlow Lite's scheme, activation ranges as
    /// min/max over `calibration_x`): every layer before the last `trainable_layers` Dense
    /// ones becomes int8; those stay float32, and carry the training state to fine-tune
    /// them on the device when the model is compiled. Returns a `QuantizedModel`.
    #[pyo3(signature = (calibration_x, trainable_layers = 0))]
    fn quantize(
        &self,
        py: Python<'_>,
        calibration_x: &Bound<'_, PyAny>,
        trainable_layers: usize,
    ) -> PyResult<PyQuantizedModel> {
        PyQuantizedModel::new(py, self, calibration_x, trainable_layers)
    }
}

#[pymethods]
impl PyQuantizedModel {
    /// The outputs for `x` (`(n, outputs)` float32): the body's integer inference, then the
    /// head's, bit for bit what the device computes.
    fn predict<'py>(&self, py: Python<'py>, x: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let samples = Samples::new(x, self.width())?;
        let n = samples.len();
        let labels = vec![0u32; n];
        let data = self.data(&samples, &labels)?;
        let int8 = &self.int8;
        let out = py
            .detach(|| int8.predict(&data))
            .map_err(|e| TrainingError::new_err(message(&e)))?;
        Ok(PyArray1::from_vec(py, out)
            .reshape([n, self.outputs()])?
            .into_any())
    }

    /// Loss and accuracy on `x` with labels `y`, as `Model.evaluate`.
    #[pyo3(signature = (x, y, return_dict = false))]
    fn evaluate<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        y: &Bound<'py, PyAny>,
        return_dict: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let samples = Samples::new(x, self.width())?;
        let labels = class_labels(y, samples.len(), self.outputs())?.readonly();
        let data = self.data(&samples, labels.as_slice()?)?;
        let int8 = &self.int8;
        let score = py
            .detach(|| int8.evaluate(&data))
            .map_err(|e| TrainingError::new_err(message(&e)))?;
        crate::report::score(py, &score, return_dict)
    }

    /// The `.mdl` file (format version 4) the device runs, as bytes.
    fn to_mdl(&self) -> PyResult<Vec<u8>> {
        int8_to_mdl(&self.int8, &self.options).map_err(|e| FormatError::new_err(message(&e)))
    }

    /// Writes the `.mdl` file; int8 models have no Keras form (`dequantized().save(...)`
    /// writes a float copy).
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        if microdense::model_io::FileKind::of(&path) != Some(microdense::model_io::FileKind::DeviceFormat) {
            return Err(FormatError::new_err(format!(
                "{}: an int8 model is saved as .mdl (dequantized() gives a float model for Keras files)",
                path.display()
            )));
        }
        let bytes = self.to_mdl()?;
        py.detach(|| microdense::atomic::write(&path, &bytes))
            .map_err(|e| FormatError::new_err(format!("cannot write {}: {}", path.display(), message(&e))))
    }

    /// A float model computing what the int8 one does, within its quantisation error.
    fn dequantized(&self) -> PyResult<PyModel> {
        let model = self
            .int8
            .dequantized()
            .map_err(|e| FormatError::new_err(message(&e)))?;
        Ok(PyModel { model })
    }

    /// The dequantised float model ([`dequantized`](Self::dequantized)) as a live Keras
    /// model (`keras` as `Model.to_keras`), with a `UserWarning` saying it is dequantised,
    /// as `microdense convert` warns.
    #[pyo3(signature = (keras = None))]
    fn to_keras<'py>(
        &self,
        py: Python<'py>,
        keras: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let warning = py.get_type::<pyo3::exceptions::PyUserWarning>();
        PyErr::warn(
            py,
            &warning,
            c"an int8 model goes to Keras dequantised to float32, which predicts what the int8 model predicts within its quantisation error",
            1,
        )?;
        Bound::new(py, self.dequantized()?)?.call_method1("to_keras", (keras,))
    }

    /// Dense layers in the int8 body.
    #[getter]
    fn int8_layers(&self) -> usize {
        self.int8.layers.len()
    }

    /// Dense layers of the float32 head.
    #[getter]
    fn float_layers(&self) -> usize {
        self.int8
            .head
            .layers
            .iter()
            .filter(|l| matches!(l.layer, microdense_core::Layer::Dense { .. }))
            .count()
    }

    fn __repr__(&self) -> String {
        format!(
            "<microdense.QuantizedModel: {} int8 Dense layers, {} float32 Dense layers>",
            self.int8_layers(),
            self.float_layers()
        )
    }
}
