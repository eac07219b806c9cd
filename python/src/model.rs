//! `microdense.Model`: the host's [`Model`] with Keras's methods.

use crate::arrays::{class_labels, dataset, Samples};
use crate::errors::{fit_error, format_error, message, FormatError, PlotError, ShapeError, TrainingError};
use crate::report;
use crate::watch::{self, Job};
use microdense::device_format::{inspect, to_mdl, ExportOptions};
use microdense::fit::{FitError, FitOptions, Progress};
use microdense::history::EpochRecord;
use microdense::keras::training_config::{compile_config, compile_from_config, training_config};
use microdense::keras::weights::{keras_weights, KerasWeight};
use microdense::keras::{keras_optimizer_state, set_keras_optimizer_state, KerasOptimizerState};
use microdense::model::Model;
use microdense::model_io::FileKind;
use microdense::plot::{model_layers, render_diagram, DiagramFormat, DiagramOptions, RankDir};
use microdense::summary::summary;
use microdense_core::protocol::MAX_BATCH;
use numpy::{PyArray1, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How often a running `fit` redraws its progress bar.
const REDRAW: Duration = Duration::from_millis(100);

/// A dense network with its weights and (once compiled) its loss, optimizer and optimizer
/// state: what `md.load`, `md.from_keras`, `Model.from_spec` and `Device.pull` return.
#[pyclass(name = "Model", module = "microdense")]
#[derive(Clone)]
pub struct PyModel {
    pub model: Model,
}

impl PyModel {
    /// The arrays of Keras's `get_weights()`, in its order.
    fn keras_weights(&self) -> PyResult<Vec<KerasWeight>> {
        keras_weights(&self.model).map_err(format_error)
    }

    /// Outputs per sample.
    fn outputs(&self) -> usize {
        let last = self.model.layers.len().saturating_sub(1);
        self.model.layer_shapes(last).1.iter().product()
    }

    /// The compiled model's `.mdl` options: what `save` and `inspect` use.
    fn export_options(
        &self,
        with_training_state: Option<bool>,
        trainable_layers: Option<usize>,
    ) -> ExportOptions {
        ExportOptions {
            with_training_state: with_training_state.unwrap_or(self.model.compile.is_some())
                || trainable_layers.is_some(),
            trainable_layers,
        }
    }
}

#[pymethods]
impl PyModel {
    /// A Sequential model from the CLI's `--arch` spec (`"784,50,sigmoid,10,softmax"`),
    /// its weights drawn with `seed` as `microdense train --seed` draws them.
    #[staticmethod]
    #[pyo3(signature = (spec, seed = 1))]
    fn from_spec(spec: &str, seed: u64) -> PyResult<PyModel> {
        let model = Model::from_spec(spec, seed).map_err(|e| FormatError::new_err(message(&e)))?;
        Ok(PyModel { model })
    }

    /// A model from `model.to_json()` text of tf_keras or Keras 3 (fresh weights; compiled
    /// when the text carries Keras 3's `compile_config`).
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<PyModel> {
        Ok(PyModel {
            model: Model::from_json(text).map_err(format_error)?,
        })
    }

    /// Sets the loss and optimizer as Keras's `compile` does: `optimizer` is `"sgd"`, a
    /// Keras optimizer (its `get_config()` is read) or its config as a dict or JSON text;
    /// `loss` a Keras loss name or loss object. Clears the optimizer state.
    #[pyo3(signature = (optimizer = None, loss = None, metrics = None))]
    fn compile(
        &mut self,
        py: Python<'_>,
        optimizer: Option<Bound<'_, PyAny>>,
        loss: Option<Bound<'_, PyAny>>,
        metrics: Option<Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let config = py
            .import("microdense._keras")?
            .call_method1("training_config_json", (optimizer, loss, metrics))?
            .extract::<String>()?;
        self.compile_json(&config)
    }

    /// The loss, optimizer and metrics as Keras writes them, in JSON: Keras 3's
    /// `compile_config` (`keras3=True`) or tf_keras's `training_config`; `None` when the
    /// model is not compiled.
    fn keras_compile_config(&self, keras3: bool) -> Option<String> {
        self.model.compile.as_ref().map(|c| {
            if keras3 {
                compile_config(c).to_json()
            } else {
                training_config(c).to_json()
            }
        })
    }

    /// The optimizer state as a Keras optimizer's variables hold it:
    /// `(iterations, nadam_product, buffers)`, the buffers (float32 arrays shaped as their
    /// weights) in the order of `optimizer.variables`; `None` when not compiled.
    #[allow(clippy::type_complexity)]
    fn keras_optimizer_state<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<Option<(u64, f32, Vec<Bound<'py, PyAny>>)>> {
        let Some(state) = keras_optimizer_state(&self.model).map_err(format_error)? else {
            return Ok(None);
        };
        let buffers = state
            .buffers
            .into_iter()
            .map(|(shape, values)| Ok(PyArray1::from_vec(py, values).reshape(shape)?.into_any()))
            .collect::<PyResult<Vec<_>>>()?;
        Ok(Some((state.iterations, state.u_product, buffers)))
    }

    /// Sets the optimizer state from a live Keras optimizer's variables: its step count,
    /// Nadam's product (1 for others) and its per-weight buffers in `optimizer.variables`'
    /// order (without the scalars). The model must be compiled with that optimizer.
    fn set_keras_optimizer_state(
        &mut self,
        py: Python<'_>,
        iterations: u64,
        nadam_product: f32,
        buffers: Vec<Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let numpy = py.import("numpy")?;
        let buffers = buffers
            .iter()
            .map(|b| {
                let array = numpy
                    .call_method1("ascontiguousarray", (b, "float32"))?
                    .cast_into::<numpy::PyArrayDyn<f32>>()?;
                let readonly = array.readonly();
                Ok((readonly.shape().to_vec(), readonly.as_slice()?.to_vec()))
            })
            .collect::<PyResult<Vec<_>>>()?;
        let state = KerasOptimizerState {
            iterations,
            u_product: nadam_product,
            buffers,
        };
        set_keras_optimizer_state(&mut self.model, &state).map_err(format_error)
    }

    /// Sets the loss and optimizer from a Keras `training_config`/`compile_config` in JSON.
    fn compile_json(&mut self, config: &str) -> PyResult<()> {
        let value: serde_json::Value =
            serde_json::from_str(config).map_err(|e| FormatError::new_err(format!("compile config: {e}")))?;
        match compile_from_config(&value, "(compile)").map_err(format_error)? {
            Some(compile) => {
                self.model.compile(compile);
                Ok(())
            }
            None => Err(FormatError::new_err(
                "the compile settings name no optimizer (microdense trains with SGD)",
            )),
        }
    }

    /// Whether the model has a loss and optimizer.
    #[getter]
    fn compiled(&self) -> bool {
        self.model.compile.is_some()
    }

    /// The loss, optimizer and metrics (`None` when not compiled), with the optimizer's
    /// step count.
    #[getter]
    fn training_config<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(compile) = &self.model.compile else {
            return Ok(None);
        };
        let d = PyDict::new(py);
        d.set_item("loss", compile.loss.kind.keras_name())?;
        d.set_item("optimizer", compile.optimizer.algorithm.keras_class())?;
        d.set_item("learning_rate", compile.optimizer.learning_rate.at(0))?;
        if let Some(sgd) = compile.optimizer.as_sgd() {
            d.set_item("momentum", sgd.momentum)?;
            d.set_item("nesterov", sgd.nesterov)?;
        }
        d.set_item("metrics", compile.metrics.clone())?;
        d.set_item(
            "iterations",
            self.model.optimizer.as_ref().map_or(0, |o| o.scalars.iterations),
        )?;
        Ok(Some(d))
    }

    /// Why the training setup of the file or Keras model this came from was not taken
    /// (an optimizer or loss microdense does not train with), or `None`.
    #[getter]
    fn dropped_training(&self) -> Option<&str> {
        self.model.dropped_training.as_deref()
    }

    /// The optimizer's step count (Keras's `optimizer.iterations`).
    #[setter]
    fn set_iterations(&mut self, iterations: u64) {
        self.model
            .optimizer
            .get_or_insert_with(Default::default)
            .scalars
            .iterations = iterations;
    }

    /// The model's name.
    #[getter]
    fn name(&self) -> &str {
        &self.model.name
    }

    /// The input shape without the batch dimension.
    #[getter]
    fn input_shape(&self) -> Vec<usize> {
        self.model.input_shape.clone()
    }

    /// `(name, Keras class)` of every layer.
    #[getter]
    fn layers(&self) -> Vec<(String, String)> {
        self.model
            .layers
            .iter()
            .map(|l| (l.name.clone(), l.layer.keras_class().to_string()))
            .collect()
    }

    /// Number of weights.
    fn count_params(&self) -> usize {
        self.model.params.len()
    }

    /// The weights as Keras's `get_weights()`: every weighted layer's arrays in Keras's
    /// order and shapes (Dense: kernel `(inputs, units)`, bias; BatchNormalization: gamma,
    /// beta, moving mean and variance; Normalization: mean, variance, an int64 `count`);
    /// copies.
    fn get_weights<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for w in self.keras_weights()? {
            match w.values {
                Some(range) => {
                    list.append(PyArray1::from_slice(py, &self.model.params[range]).reshape(w.shape)?)?
                }
                None => list.append(
                    py.import("numpy")?
                        .call_method1("asarray", (self.model.layers[w.layer].count, "int64"))?,
                )?,
            }
        }
        Ok(list)
    }

    /// Sets the weights from a list shaped as `get_weights()` returns it (Keras's
    /// `set_weights`): a Dense kernel must have its shape, every other array its number of
    /// values. The model is unchanged on error.
    fn set_weights(&mut self, py: Python<'_>, weights: Vec<Bound<'_, PyAny>>) -> PyResult<()> {
        let expected = self.keras_weights()?;
        if weights.len() != expected.len() {
            return Err(ShapeError::new_err(format!(
                "{} arrays were given; the model has {} weight arrays ({})",
                weights.len(),
                expected.len(),
                expected
                    .iter()
                    .map(|w| w.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let numpy = py.import("numpy")?;
        let mut params = self.model.params.clone();
        let mut counts = Vec::new();
        for (array, w) in weights.iter().zip(&expected) {
            let wrong = |shape: &[usize]| {
                ShapeError::new_err(format!(
                    "{} has shape {shape:?} here; the layer needs {:?}",
                    w.name, w.shape
                ))
            };
            let Some(range) = &w.values else {
                let count = numpy.call_method1("asarray", (array,))?;
                let shape: Vec<usize> = count.getattr("shape")?.extract()?;
                if !shape.is_empty() {
                    return Err(wrong(&shape));
                }
                let count = count
                    .call_method0("item")?
                    .extract::<i64>()
                    .map_err(|_| ShapeError::new_err(format!("{} must be an integer", w.name)))?;
                counts.push((w.layer, count));
                continue;
            };
            let array = numpy
                .call_method1("ascontiguousarray", (array, "float32"))
                .map_err(|e| ShapeError::new_err(format!("{} cannot be read as float32: {e}", w.name)))?
                .cast_into::<numpy::PyArrayDyn<f32>>()?;
            let readonly = array.readonly();
            let is_kernel = w.shape.len() == 2;
            if (is_kernel && readonly.shape() != w.shape.as_slice()) || readonly.len() != range.len() {
                return Err(wrong(readonly.shape()));
            }
            params[range.clone()].copy_from_slice(readonly.as_slice()?);
        }
        self.model.params = params;
        for (layer, count) in counts {
            self.model.layers[layer].count = count;
        }
        Ok(())
    }

    /// Saves the model, the format chosen by the file name as `microdense convert` and
    /// Keras choose it: `.h5`, `.keras`, `.weights.h5`, `.json`, `.yaml`/`.yml`, `.mdl`.
    /// For `.mdl`, the training state goes along when the model is compiled (or
    /// `with_training_state=True`); `trainable_layers=K` marks the last K Dense layers
    /// trainable on the device (`convert --trainable-layers K`).
    #[pyo3(signature = (path, with_training_state = None, trainable_layers = None))]
    fn save(
        &self,
        py: Python<'_>,
        path: PathBuf,
        with_training_state: Option<bool>,
        trainable_layers: Option<usize>,
    ) -> PyResult<()> {
        let is_mdl = FileKind::of(&path) == Some(FileKind::DeviceFormat);
        if !is_mdl && (with_training_state.is_some() || trainable_layers.is_some()) {
            return Err(FormatError::new_err(format!(
                "{}: with_training_state and trainable_layers are options of the .mdl format",
                path.display()
            )));
        }
        py.detach(|| {
            if is_mdl {
                let bytes = to_mdl(
                    &self.model,
                    &self.export_options(with_training_state, trainable_layers),
                )
                .map_err(|e| FormatError::new_err(format!("{}: {}", path.display(), message(&e))))?;
                microdense::atomic::write(&path, &bytes).map_err(|e| {
                    FormatError::new_err(format!("cannot write {}: {}", path.display(), message(&e)))
                })
            } else {
                self.model.save(&path).map_err(format_error)
            }
        })
    }

    /// The `.mdl` file `save` writes, as bytes.
    #[pyo3(signature = (with_training_state = None, trainable_layers = None))]
    fn to_mdl(
        &self,
        with_training_state: Option<bool>,
        trainable_layers: Option<usize>,
    ) -> PyResult<Vec<u8>> {
        to_mdl(
            &self.model,
            &self.export_options(with_training_state, trainable_layers),
        )
        .map_err(|e| FormatError::new_err(message(&e)))
    }

    /// The architecture as tf_keras's `model.to_json()` writes it.
    fn to_json(&self) -> String {
        self.model.to_json()
    }

    /// The architecture as Keras 3's `model.to_json()` writes it.
    fn to_json_keras3(&self) -> String {
        self.model.to_json_keras3()
    }

    /// Prints the layer table as Keras's `model.summary()` does (through `print_fn` when
    /// given, as Keras).
    #[pyo3(signature = (print_fn = None))]
    fn summary(&self, py: Python<'_>, print_fn: Option<Bound<'_, PyAny>>) -> PyResult<()> {
        let text = summary(&self.model);
        let text = text.trim_end_matches('\n');
        match print_fn {
            Some(f) => f.call1((text,))?,
            None => py.import("builtins")?.getattr("print")?.call1((text,))?,
        };
        Ok(())
    }

    /// The outputs for `x` (`(n, outputs)` float32), computed as a device computes them.
    /// `x`: `(n, *input_shape)` or `(n, width)`; float32 and uint8 arrays are read in place.
    /// Ctrl-C stops it and raises `KeyboardInterrupt`.
    #[pyo3(signature = (x, batch_size = None, verbose = 0))]
    fn predict<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        batch_size: Option<usize>,
        verbose: u8,
    ) -> PyResult<Bound<'py, PyAny>> {
        let _ = (batch_size, verbose); // Keras's arguments; the engine picks its own chunks.
        let width = self.model.input_width();
        let samples = Samples::new(x, width)?;
        let n = samples.len();
        let labels = vec![0u32; n];
        let data = dataset(samples.features()?, width, &labels)?;
        let model = &self.model;
        let result = watch::run(
            py,
            |job: &Job<'_, ()>| model.predict_until(&data, job.stop_flag()),
            |_, ()| Ok(()),
        )?
        .map_err(fit_error)?;
        Ok(PyArray1::from_vec(py, result)
            .reshape([n, self.outputs()])?
            .into_any())
    }

    /// Loss and accuracy on `x` with labels `y` (integers or one-hot rows), as Keras's
    /// `evaluate`: `[loss, accuracy]`, or a dict with `return_dict=True`. Ctrl-C stops it
    /// and raises `KeyboardInterrupt`.
    #[pyo3(signature = (x, y, return_dict = false))]
    fn evaluate<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        y: &Bound<'py, PyAny>,
        return_dict: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let width = self.model.input_width();
        let samples = Samples::new(x, width)?;
        let labels = class_labels(y, samples.len(), self.outputs())?.readonly();
        let data = dataset(samples.features()?, width, labels.as_slice()?)?;
        let model = &self.model;
        let score = watch::run(
            py,
            |job: &Job<'_, ()>| model.evaluate_until(&data, job.stop_flag()),
            |_, ()| Ok(()),
        )?
        .map_err(fit_error)?;
        crate::report::score(py, &score, return_dict)
    }

    /// Trains as Keras's `fit` (the engine of `microdense train`: the same seed gives the
    /// same weights bit for bit). Shows Keras's progress (`verbose=1` a bar, `2` a line per
    /// epoch, `0` nothing; a live bar in Jupyter). Ctrl-C stops before the next batch,
    /// keeping the steps made, and raises `KeyboardInterrupt`. Returns a `History`.
    #[pyo3(signature = (x, y, epochs = 1, batch_size = 32, seed = 1, shuffle = true,
                        validation_data = None, verbose = 1, threads = 2))]
    #[allow(clippy::too_many_arguments)]
    fn fit<'py>(
        &mut self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        y: &Bound<'py, PyAny>,
        epochs: usize,
        batch_size: usize,
        seed: u64,
        shuffle: bool,
        validation_data: Option<(Bound<'py, PyAny>, Bound<'py, PyAny>)>,
        verbose: u8,
        threads: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        if self.model.compile.is_none() {
            return Err(TrainingError::new_err(message(&FitError::NotCompiled)));
        }
        let width = self.model.input_width();
        let outputs = self.outputs();
        let samples = Samples::new(x, width)?;
        let labels = class_labels(y, samples.len(), outputs)?.readonly();
        let data = dataset(samples.features()?, width, labels.as_slice()?)?;
        let validation = match &validation_data {
            Some((vx, vy)) => {
                let vs = Samples::new(vx, width)?;
                let vl = class_labels(vy, vs.len(), outputs)?.readonly();
                Some((vs, vl))
            }
            None => None,
        };
        let validation = match &validation {
            Some((vs, vl)) => Some(dataset(vs.features()?, width, vl.as_slice()?)?),
            None => None,
        };
        let options = FitOptions {
            epochs,
            batch_size,
            seed,
            shuffle,
            threads,
        };
        let printer: Py<PyAny> = py
            .import("microdense._progress")?
            .call_method1("FitProgress", (verbose,))?
            .unbind();
        let model = &mut self.model;
        let mut last_draw: Option<Instant> = None;
        let outcome = watch::run(
            py,
            |job: &Job<'_, Progress>| {
                model.fit_until(
                    &data,
                    validation.as_ref(),
                    &options,
                    &mut |p| job.report(p.clone()),
                    job.stop_flag(),
                )
            },
            |py, event| show_progress(printer.bind(py), event, &mut last_draw),
        )?;
        let records = outcome.map_err(fit_error)?;
        history(py, &records)
    }

    /// The device memory report of the model's `.mdl` file (`microdense inspect`) as a
    /// dict; `batch` is the N of the fine-tuning figures.
    #[pyo3(signature = (batch = 32, with_training_state = None, trainable_layers = None))]
    fn inspect<'py>(
        &self,
        py: Python<'py>,
        batch: usize,
        with_training_state: Option<bool>,
        trainable_layers: Option<usize>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let batch = device_batch("batch", batch)?;
        let bytes = self.to_mdl(with_training_state, trainable_layers)?;
        report::inspection(py, &inspect(&bytes, batch))
    }

    /// A diagram of the model as Keras's `plot_model` draws it; Jupyter shows it
    /// (`_repr_png_`, `_repr_svg_`), `.save(path)` writes `.png` or `.svg`.
    #[pyo3(signature = (show_shapes = false, show_dtype = false, show_layer_names = true,
                        show_layer_activations = false, show_trainable = false, rankdir = "TB", dpi = 96))]
    #[allow(clippy::too_many_arguments)]
    fn plot(
        &self,
        show_shapes: bool,
        show_dtype: bool,
        show_layer_names: bool,
        show_layer_activations: bool,
        show_trainable: bool,
        rankdir: &str,
        dpi: u32,
    ) -> PyResult<Diagram> {
        let rankdir = match rankdir {
            "TB" => RankDir::TopToBottom,
            "LR" => RankDir::LeftToRight,
            other => {
                return Err(PlotError::new_err(format!(
                    "rankdir {other:?}: use \"TB\" or \"LR\""
                )))
            }
        };
        let options = DiagramOptions {
            show_shapes,
            show_dtype,
            show_layer_names,
            show_layer_activations,
            show_trainable,
            rankdir,
            dpi,
        };
        let layers = model_layers(&self.model);
        let png = render_diagram(&layers, &options, DiagramFormat::Png)
            .map_err(|e| PlotError::new_err(message(&e)))?;
        let svg = render_diagram(&layers, &options, DiagramFormat::Svg)
            .map_err(|e| PlotError::new_err(message(&e)))?;
        Ok(Diagram {
            png,
            svg: String::from_utf8_lossy(&svg).into_owned(),
        })
    }

    /// A live Keras model with this architecture, weights and compile settings.
    /// `keras`: `"keras"` (Keras 3), `"tf_keras"`, a module, or `None` for the Keras the
    /// session already imported (else Keras 3 when installed, else tf_keras).
    #[pyo3(signature = (keras = None))]
    fn to_keras<'py>(
        slf: &Bound<'py, Self>,
        keras: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        slf.py()
            .import("microdense._keras")?
            .call_method1("to_keras", (slf, keras))
    }

    fn __repr__(&self) -> String {
        format!(
            "<microdense.Model {:?}: {} layers, {} parameters, input {:?}{}>",
            self.model.name,
            self.model.layers.len(),
            self.model.params.len(),
            self.model.input_shape,
            if self.model.compile.is_some() {
                ", compiled"
            } else {
                ""
            }
        )
    }
}

/// Passes a training event to the Python progress printer (batches at most every [`REDRAW`]).
pub fn show_progress(
    printer: &Bound<'_, PyAny>,
    event: Progress,
    last_draw: &mut Option<Instant>,
) -> PyResult<()> {
    match event {
        Progress::EpochStart { epoch, epochs, steps } => {
            *last_draw = None;
            printer.call_method1("epoch_start", (epoch, epochs, steps))?;
        }
        Progress::Batch { step, steps, score } => {
            if step == steps || last_draw.is_none_or(|t| t.elapsed() >= REDRAW) {
                *last_draw = Some(Instant::now());
                printer.call_method1("batch", (step, steps, score.loss, score.accuracy))?;
            }
        }
        Progress::EpochEnd(record) => {
            printer.call_method1(
                "epoch_end",
                (
                    record.epoch,
                    record.loss,
                    record.accuracy,
                    record.seconds,
                    record.val_loss,
                    record.val_accuracy,
                ),
            )?;
        }
    }
    Ok(())
}

/// A Keras-style `History` of `records`.
pub fn history<'py>(py: Python<'py>, records: &[EpochRecord]) -> PyResult<Bound<'py, PyAny>> {
    let d = PyDict::new(py);
    d.set_item("loss", records.iter().map(|r| r.loss).collect::<Vec<_>>())?;
    d.set_item("accuracy", records.iter().map(|r| r.accuracy).collect::<Vec<_>>())?;
    if records.iter().any(|r| r.val_loss.is_some()) {
        d.set_item("val_loss", records.iter().map(|r| r.val_loss).collect::<Vec<_>>())?;
        d.set_item(
            "val_accuracy",
            records.iter().map(|r| r.val_accuracy).collect::<Vec<_>>(),
        )?;
    }
    let epochs: Vec<usize> = records.iter().map(|r| r.epoch - 1).collect();
    py.import("microdense._progress")?
        .call_method1("History", (d, epochs))
}

/// A model diagram: PNG and SVG, shown by Jupyter.
#[pyclass(module = "microdense", frozen)]
pub struct Diagram {
    png: Vec<u8>,
    svg: String,
}

#[pymethods]
impl Diagram {
    /// The PNG bytes (Jupyter's rich display).
    fn _repr_png_(&self) -> &[u8] {
        &self.png
    }

    /// The SVG text (Jupyter's rich display).
    fn _repr_svg_(&self) -> &str {
        &self.svg
    }

    /// Writes the diagram to a `.png` or `.svg` file.
    fn save(&self, path: PathBuf) -> PyResult<()> {
        let bytes = match DiagramFormat::from_path(&path).map_err(|e| PlotError::new_err(message(&e)))? {
            DiagramFormat::Png => self.png.as_slice(),
            DiagramFormat::Svg => self.svg.as_bytes(),
        };
        microdense::atomic::write(&path, bytes)
            .map_err(|e| PlotError::new_err(format!("cannot write {}: {e}", path.display())))
    }
}

/// `batch` when a device takes it: 1 to the protocol's [`MAX_BATCH`] samples, as the
/// CLI's `--batch` and `--batch-size` check it.
pub fn device_batch(name: &str, batch: usize) -> PyResult<usize> {
    if (1..=MAX_BATCH).contains(&batch) {
        Ok(batch)
    } else {
        Err(TrainingError::new_err(format!(
            "{name}={batch}: must be from 1 to {MAX_BATCH} (the most samples a device takes in one step)"
        )))
    }
}
