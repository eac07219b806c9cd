//! `microdense.Device`: a device running the microdense firmware, over a serial port or
//! a QEMU started for it, as `microdense device` talks to it.

use crate::arrays::{class_labels, Samples};
use crate::errors::{device_error, DeviceError, ShapeError, TrainingError};
use crate::model::{device_batch, show_progress, PyModel};
use crate::quantized::PyQuantizedModel;
use crate::report;
use crate::watch::{self, Job};
use microdense::device::{
    open_port, qemu, Device, Qemu, QemuBoard, QemuConfig, SampleSet, QEMU_TIMEOUT, SERIAL_TIMEOUT,
};
use microdense::fit::Progress;
use microdense::history::{EpochRecord, Evaluation};
use microdense::model_io::FileKind;
use microdense_core::protocol::Tally;
use microdense_core::Rng;
use numpy::PyArrayMethods;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Samples per `Device.evaluate` request group between two looks for Ctrl-C.
const EVALUATE_CHUNK: usize = 1000;

/// Environment variable naming the firmware ELF QEMU boots (as the tests use it).
const FIRMWARE_ENV: &str = "MICRODENSE_FIRMWARE";

/// A connected device: `port` is a serial port (or the UART socket of a QEMU kept with
/// `microdense device --qemu --keep`); with `qemu=True` the firmware runs under QEMU
/// (mps2-an386) with `model` (a `Model`, a `QuantizedModel` or any model file's path) in its
/// model region, until `close()`.
#[pyclass(name = "Device", module = "microdense")]
pub struct PyDevice {
    /// The connection (in a mutex because a Python object must be `Sync`; methods take
    /// `&mut self`, so it is never contended).
    device: Mutex<Option<Device>>,
    qemu: Option<Qemu>,
    /// Holds the `.mdl` file QEMU was given while QEMU runs.
    _model_dir: Option<tempfile::TempDir>,
}

/// The model QEMU is given: a `.mdl` file, used as it is, or a model saved as one.
enum GivenModel<'py> {
    Mdl(PathBuf),
    Object(Bound<'py, PyAny>),
}

/// The labelled bytes a device receives.
struct Labelled<'py> {
    samples: Samples<'py>,
    labels: Vec<u8>,
    width: usize,
}

impl<'py> Labelled<'py> {
    fn new(x: &Bound<'py, PyAny>, y: &Bound<'py, PyAny>, width: usize, classes: usize) -> PyResult<Self> {
        let samples = Samples::new(x, width)?;
        samples.bytes()?;
        let labels = class_labels(y, samples.len(), classes)?.readonly();
        let labels = labels
            .as_slice()?
            .iter()
            .map(|&l| {
                u8::try_from(l).map_err(|_| ShapeError::new_err(format!("label {l} does not fit a byte")))
            })
            .collect::<PyResult<Vec<u8>>>()?;
        Ok(Labelled {
            samples,
            labels,
            width,
        })
    }

    fn set(&self, scale: f32) -> PyResult<SampleSet<'_>> {
        SampleSet::new(self.samples.bytes()?, self.width, &self.labels, scale).map_err(device_error)
    }
}

/// The mean figures of a tally.
fn evaluation(t: &Tally) -> Evaluation {
    Evaluation {
        loss: t.loss() as f64,
        accuracy: t.accuracy() as f64,
    }
}

impl PyDevice {
    fn device(&mut self) -> PyResult<&mut Device> {
        self.device
            .get_mut()
            .map_err(|_| DeviceError::new_err("an earlier call on this device panicked"))?
            .as_mut()
            .ok_or_else(|| DeviceError::new_err("the device is closed"))
    }

    /// The input width and output count of the device's model.
    fn model_shape(&mut self, py: Python<'_>) -> PyResult<(usize, usize)> {
        let device = self.device()?;
        let info = py.detach(|| device.info()).map_err(device_error)?;
        match info.model {
            microdense::device::ModelState::Ok(m) => Ok((m.input_width as usize, m.output_width as usize)),
            other => Err(DeviceError::new_err(format!(
                "the device has no usable model: {other:?}"
            ))),
        }
    }
}

#[pymethods]
impl PyDevice {
    #[new]
    #[pyo3(signature = (port = None, baud = 115_200, qemu = false, model = None, firmware = None, timeout = None))]
    fn new(
        py: Python<'_>,
        port: Option<PathBuf>,
        baud: u32,
        qemu: bool,
        model: Option<Bound<'_, PyAny>>,
        firmware: Option<PathBuf>,
        timeout: Option<f64>,
    ) -> PyResult<PyDevice> {
        // How long a reply may take: the CLI's defaults (longer under QEMU, which slows
        // down with the machine's load), or `timeout` seconds.
        let timeout = match timeout {
            None if qemu => QEMU_TIMEOUT,
            None => SERIAL_TIMEOUT,
            Some(seconds) => Duration::try_from_secs_f64(seconds)
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or_else(|| DeviceError::new_err(format!("timeout={seconds}: give seconds above 0")))?,
        };
        if !qemu {
            if model.is_some() || firmware.is_some() {
                return Err(DeviceError::new_err("model= and firmware= need qemu=True"));
            }
            let port = port.ok_or_else(|| {
                DeviceError::new_err(
                    "say where the device is: Device(port=...), or Device(qemu=True, model=...)",
                )
            })?;
            let transport = py
                .detach(|| open_port(&port.to_string_lossy(), baud))
                .map_err(device_error)?;
            return Ok(PyDevice {
                device: Mutex::new(Some(Device::new(transport, timeout))),
                qemu: None,
                _model_dir: None,
            });
        }
        if port.is_some() {
            return Err(DeviceError::new_err("port= and qemu=True exclude each other"));
        }
        let given = match model {
            None => None,
            Some(m) if m.is_instance_of::<PyModel>() || m.is_instance_of::<PyQuantizedModel>() => {
                Some(GivenModel::Object(m))
            }
            Some(m) => {
                let path = m.extract::<PathBuf>().map_err(|_| {
                    DeviceError::new_err("model= takes a Model, a QuantizedModel or a model file's path")
                })?;
                Some(if FileKind::of(&path) == Some(FileKind::DeviceFormat) {
                    GivenModel::Mdl(path)
                } else {
                    // Another model file is read as `md.load` reads it.
                    GivenModel::Object(crate::load(py, path)?)
                })
            }
        };
        let (model_path, model_dir) = match given {
            None => (None, None),
            Some(GivenModel::Mdl(path)) => (Some(path), None),
            Some(GivenModel::Object(m)) => {
                let dir = tempfile::tempdir().map_err(|e| {
                    DeviceError::new_err(format!("cannot create a directory for the model: {e}"))
                })?;
                let path = dir.path().join("model.mdl");
                m.call_method1("save", (&path,))?;
                (Some(path), Some(dir))
            }
        };
        let elf = firmware
            .or_else(|| std::env::var_os(FIRMWARE_ENV).map(PathBuf::from))
            .unwrap_or_else(qemu::default_firmware);
        let config = QemuConfig {
            board: QemuBoard::default(),
            elf,
            model: model_path,
        };
        let (qemu, transport) = py
            .detach(|| -> Result<_, microdense::device::DeviceError> {
                let qemu = Qemu::boot(&config)?;
                let transport = qemu.connect()?;
                Ok((qemu, transport))
            })
            .map_err(device_error)?;
        Ok(PyDevice {
            device: Mutex::new(Some(Device::new(Box::new(transport), timeout))),
            qemu: Some(qemu),
            _model_dir: model_dir,
        })
    }

    /// What the device is and holds: firmware, board, model, flash and RAM use, limits and
    /// measurements (`microdense device info`), as a dict.
    fn info<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let device = self.device()?;
        let info = py.detach(|| device.info()).map_err(device_error)?;
        report::info(py, &info)
    }

    /// Loss and accuracy of the device's model on `x` (uint8, `(n, width)`; the device
    /// multiplies each value by `scale`) with labels `y`: `[loss, accuracy]`, or a dict
    /// with the predicted classes too with `return_dict=True`.
    #[pyo3(signature = (x, y, scale = 1.0, return_dict = false))]
    fn evaluate<'py>(
        &mut self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        y: &Bound<'py, PyAny>,
        scale: f32,
        return_dict: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (width, classes) = self.model_shape(py)?;
        let data = Labelled::new(x, y, width, classes)?;
        let set = data.set(scale)?;
        let device = self.device()?;
        let (total, predictions) = watch::run(
            py,
            |job: &Job<'_, ()>| -> Result<(Tally, Vec<u8>), microdense::device::DeviceError> {
                let mut total = Tally::default();
                let mut predictions = Vec::with_capacity(set.len());
                let indices: Vec<usize> = (0..set.len()).collect();
                for chunk in indices.chunks(EVALUATE_CHUNK) {
                    if job.stopped() {
                        break;
                    }
                    let part = device.evaluate(&set, chunk, None, &mut |_, _| {})?;
                    total.merge(part.total);
                    predictions.extend(part.predictions);
                }
                Ok((total, predictions))
            },
            |_, ()| Ok(()),
        )?
        .map_err(device_error)?;
        let score = evaluation(&total);
        if return_dict {
            let d = PyDict::new(py);
            d.set_item("loss", score.loss)?;
            d.set_item("accuracy", score.accuracy)?;
            d.set_item("samples", total.samples)?;
            d.set_item("predictions", numpy::PyArray1::from_vec(py, predictions))?;
            Ok(d.into_any())
        } else {
            Ok(PyList::new(py, [score.loss, score.accuracy])?.into_any())
        }
    }

    /// Fine-tunes the last `layers` Dense layers on the device with SGD (the model's
    /// training state, or `learning_rate`/`momentum`), `batch_size` samples per step,
    /// shuffled with `seed` as `microdense device finetune` does; Ctrl-C stops before the
    /// next step. Returns a `History` (each batch's figures taken before its step).
    #[pyo3(signature = (x, y, layers = 2, epochs = 1, batch_size = 16, learning_rate = None,
                        momentum = None, seed = 1, scale = 1.0, verbose = 1))]
    #[allow(clippy::too_many_arguments)]
    fn finetune<'py>(
        &mut self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        y: &Bound<'py, PyAny>,
        layers: u8,
        epochs: usize,
        batch_size: usize,
        learning_rate: Option<f32>,
        momentum: Option<f32>,
        seed: u64,
        scale: f32,
        verbose: u8,
    ) -> PyResult<Bound<'py, PyAny>> {
        let batch_size = device_batch("batch_size", batch_size)?;
        // As the CLI's --lr and --momentum.
        if let Some(rate) = learning_rate.filter(|r| !(r.is_finite() && *r > 0.0)) {
            return Err(TrainingError::new_err(format!(
                "learning_rate={rate}: must be positive (a learning rate above 0)"
            )));
        }
        if let Some(m) = momentum.filter(|m| !(0.0..=1.0).contains(m)) {
            return Err(TrainingError::new_err(format!(
                "momentum={m}: must be from 0 to 1"
            )));
        }
        let (width, classes) = self.model_shape(py)?;
        let data = Labelled::new(x, y, width, classes)?;
        let set = data.set(scale)?;
        let device = self.device()?;
        let info = py.detach(|| device.info()).map_err(device_error)?;
        let sgd = info
            .model
            .sgd_override(learning_rate, momentum)
            .map_err(device_error)?;
        let printer: Py<PyAny> = py
            .import("microdense._progress")?
            .call_method1("FitProgress", (verbose,))?
            .unbind();
        let mut last_draw = None;
        let records = watch::run(
            py,
            |job: &Job<'_, Progress>| -> Result<Vec<EpochRecord>, microdense::device::DeviceError> {
                let mut order: Vec<usize> = (0..set.len()).collect();
                let mut rng = Rng::new(seed);
                let steps = order.len().div_ceil(batch_size);
                let mut records = Vec::new();
                for epoch in 1..=epochs {
                    for i in (1..order.len()).rev() {
                        order.swap(i, rng.below(i + 1));
                    }
                    job.report(Progress::EpochStart { epoch, epochs, steps });
                    let started = Instant::now();
                    let mut seen = Tally::default();
                    for (step, batch) in order.chunks(batch_size).enumerate() {
                        if job.stopped() {
                            return Ok(records);
                        }
                        seen.merge(device.train_step(layers, sgd, None, &set, batch)?.batch);
                        job.report(Progress::Batch {
                            step: step + 1,
                            steps,
                            score: evaluation(&seen),
                        });
                    }
                    let score = evaluation(&seen);
                    let record = EpochRecord {
                        epoch,
                        loss: score.loss,
                        accuracy: score.accuracy,
                        seconds: Some(started.elapsed().as_secs_f64()),
                        val_loss: None,
                        val_accuracy: None,
                    };
                    job.report(Progress::EpochEnd(record.clone()));
                    records.push(record);
                }
                Ok(records)
            },
            |py, event| show_progress(printer.bind(py), event, &mut last_draw),
        )?
        .map_err(device_error)?;
        crate::model::history(py, &records)
    }

    /// The device's current model, fine-tuned weights included (`microdense device pull`):
    /// a `Model`, or for an int8 model a `QuantizedModel` (the same int8 body, the tuned
    /// head and its training state).
    fn pull<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let device = self.device()?;
        let bytes = watch::run(py, |_: &Job<'_, ()>| device.pull(&mut |_, _| {}), |_, ()| Ok(()))?
            .map_err(device_error)?;
        let invalid = |e: microdense::device_format::DeviceFormatError| {
            crate::errors::FormatError::new_err(format!("the pulled model: {}", crate::errors::message(&e)))
        };
        if let Some(int8) = PyQuantizedModel::from_mdl(&bytes).map_err(invalid)? {
            return Ok(Bound::new(py, int8)?.into_any());
        }
        let model = microdense::device_format::from_mdl(&bytes).map_err(invalid)?;
        Ok(Bound::new(py, PyModel { model })?.into_any())
    }

    /// Drops the device's fine-tuning and running totals.
    fn reset(&mut self, py: Python<'_>) -> PyResult<()> {
        let device = self.device()?;
        py.detach(|| device.reset()).map_err(device_error)
    }

    /// Disconnects, and stops QEMU when this object started it.
    fn close(&mut self) {
        self.device = Mutex::new(None);
        self.qemu = None;
        self._model_dir = None;
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&mut self, _args: &Bound<'_, pyo3::types::PyTuple>) {
        self.close();
    }

    fn __repr__(&self) -> String {
        let open = self.device.lock().is_ok_and(|d| d.is_some());
        match (open, &self.qemu) {
            (false, _) => "<microdense.Device (closed)>".into(),
            (true, Some(q)) => format!("<microdense.Device on QEMU (pid {})>", q.pid()),
            (true, None) => "<microdense.Device>".into(),
        }
    }
}
