//! Reports as Python objects: `Model.inspect()` (what `microdense inspect` prints) and
//! `Device.info()` (what `microdense device info` prints), built as JSON values, and the
//! scores `evaluate` returns.

use microdense::device::{InfoReport, ModelState};
use microdense::device_format::Inspection;
use microdense::history::Evaluation;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde_json::{json, Value};

/// An evaluation as Keras's `evaluate` returns it: `[loss, accuracy]`, or with
/// `return_dict=True` a dict.
pub fn score<'py>(py: Python<'py>, score: &Evaluation, return_dict: bool) -> PyResult<Bound<'py, PyAny>> {
    if return_dict {
        let d = PyDict::new(py);
        d.set_item("loss", score.loss)?;
        d.set_item("accuracy", score.accuracy)?;
        Ok(d.into_any())
    } else {
        Ok(PyList::new(py, [score.loss, score.accuracy])?.into_any())
    }
}

/// `value` as Python objects (through `json.loads`).
fn to_python<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyDict>> {
    let object = py.import("json")?.call_method1("loads", (value.to_string(),))?;
    Ok(object.cast_into::<PyDict>()?)
}

/// The `.mdl` inspection: file size and CRC, layers, parameters, training state, and the
/// device RAM for inference and for fine-tuning the last K Dense layers.
pub fn inspection<'py>(py: Python<'py>, report: &Inspection) -> PyResult<Bound<'py, PyDict>> {
    let model = report.model.as_ref().map(|m| {
        json!({
            "input_shape": m.input_shape,
            "layers": m.layers.iter().map(|l| json!({
                "name": l.name,
                "class_name": l.layer.keras_class(),
                "output_width": l.output_width,
                "params": l.params,
                "trainable": l.trainable,
            })).collect::<Vec<_>>(),
            "params": m.params,
            "weight_bytes": 4 * m.params,
            "training": m.training.as_ref().map(|(optimizer, loss, iterations, trainable_layers)| json!({
                "optimizer": optimizer,
                "loss": loss.keras_name(),
                "iterations": iterations,
                "trainable_layers": trainable_layers,
            })),
            "inference_ram": m.inference_ram,
            "fine_tune_optimizer": m.fine_tune_optimizer,
            "fine_tune": m.fine_tune.iter().map(|f| json!({
                "layers": f.k,
                "params": f.params,
                "weights": f.weights,
                "grads": f.grads,
                "optimizer_state": f.state,
                "scratch_1": f.scratch_1,
                "scratch_n": f.scratch_n,
                "total_1": f.total_1(),
                "total_n": f.total_n(),
            })).collect::<Vec<_>>(),
            "ignored_bytes": m.ignored_bytes,
            "firmware_kinds": m.kinds.iter().map(|k| k.feature()).collect::<Vec<_>>(),
        })
    });
    let value = json!({
        "flash": report.file_len,
        "version": report.header.as_ref().map(|h| h.version),
        "min_reader": report.header.as_ref().map(|h| h.min_reader),
        "crc": report.status.as_ref().ok(),
        "status": match &report.status {
            Ok(_) => "ok".to_string(),
            Err(e) => e.to_string(),
        },
        "batch": report.batch,
        "model": model,
        "text": report.to_string(),
    });
    to_python(py, &value)
}

/// A device's Info reply.
pub fn info<'py>(py: Python<'py>, info: &InfoReport) -> PyResult<Bound<'py, PyDict>> {
    let (state, model) = match &info.model {
        ModelState::None => ("none", Value::Null),
        ModelState::Corrupted(why) => ("corrupted", json!({ "problem": why })),
        ModelState::Ok(summary) => ("ok", json!(summary)),
    };
    let value = json!({
        "protocol": info.protocol,
        "firmware": info.firmware,
        "board": info.board,
        "model_address": info.model_address,
        "model_region": info.model_region,
        "model_state": state,
        "model": model,
        "memory": info.memory,
        "ram_used": info.ram_used(),
        "clock": info.unit(),
        "clock_resolution": info.clock_resolution,
        "limits": info.limits,
        "measured": info.measured,
        "text": info.to_string(),
    });
    to_python(py, &value)
}
