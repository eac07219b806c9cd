//! Whole models in HDF5 (`model.save('my_model.h5')` / `load_model`).
//!
//! Read, in all three flavours Keras has written: tf_keras 2.x
//! (`model_weights/dense/dense/kernel:0`, optimizer state `iteration:0`,
//! `SGD/m/dense/kernel:0`, ...), Keras 3's legacy h5 (`model_weights/dense/sequential/
//! dense/kernel`, `sgd/iteration`, `sgd/learning_rate`, `sgd/..._momentum`) and Keras
//! 2.0–2.2 (bare-list Sequential config, `lr`, `acc`, byte-string attributes,
//! `SGD/iterations:0` and `training/SGD/Variable_i:0`). The optimizer state is read by
//! position as Keras does: the first integer scalar is the iteration count, other scalars
//! (learning rate and such) are skipped, and the remaining tensors are the momentum
//! buffers in trainable-weight order.
//!
//! Written in tf_keras 2.21's layout, with a `training_config` (see
//! [`optimizer_config`](super::optimizer_config)) and optimizer weights
//! `[iteration:0, Adam/m/<layer>/<tensor>:0, Adam/v/... ...]` in tf_keras's order (see
//! `keras::optimizer`; SGD's buffers only with momentum): tf_keras restores
//! all of it. Keras 3.15 loads the model and its compile settings and restores
//! the iteration count, but (for its own `.h5` files too) builds the optimizer over no
//! variables, so `fit` after loading an `.h5` with optimizer state fails there; Keras 3
//! resumes training from `.keras` archives.

use super::config::{architecture_from_config, model_from_config, model_to_config, Style};
use super::optimizer::{buffers, iteration_count, state_from_buffers};
use super::training_config::{compile_from_config, training_config};
use super::weights::{load_weights_group, weights_group, LoadWeights};
use super::{json, KerasError, BACKEND, TF_KERAS_VERSION};
use crate::budget::ParamBudget;
use crate::h5::{H5Attr, H5Dataset, H5Group};
use crate::model::{Model, OptimizerState, Training};
use microdense_core::{Algorithm, Optimizer, OptimizerScalars};

/// The `model_config` attribute of a whole-model HDF5 tree, parsed.
fn model_config(root: &H5Group, file: &str) -> Result<serde_json::Value, KerasError> {
    let config_text = root.attr_str("model_config").ok_or_else(|| KerasError::Missing {
        path: file.to_string(),
        what:
            "model_config attribute (not a whole-model Keras file; weights-only files load with load_weights)"
                .into(),
    })?;
    json::parse(config_text, &format!("{file} (model_config)"))
}

/// The architecture of a whole-model HDF5 tree read from `file`, without weights (see
/// [`architecture_from_config`]): no dataset is read.
pub fn read_architecture(root: &H5Group, file: &str, budget: ParamBudget) -> Result<Model, KerasError> {
    architecture_from_config(&model_config(root, file)?, file, budget)
}

/// The model in a whole-model HDF5 tree read from `file`: architecture, weights and,
/// when present, compile settings and optimizer state; at most `budget` parameters.
pub fn read_model(root: &H5Group, file: &str, budget: ParamBudget) -> Result<Model, KerasError> {
    let mut model = model_from_config(&model_config(root, file)?, file, 0, budget)?;
    let weights = root.group("model_weights").ok_or_else(|| KerasError::Missing {
        path: file.to_string(),
        what: "model_weights group".into(),
    })?;
    load_weights_group(&mut model, weights, file, LoadWeights::default())?;
    let training = read_training(&model, root, file);
    model.set_training(training);
    Ok(model)
}

/// The compile settings in `training_config` and, when compiled, the optimizer state in
/// `optimizer_weights`.
fn read_training(model: &Model, root: &H5Group, file: &str) -> Result<Training, KerasError> {
    let Some(text) = root.attr_str("training_config") else {
        return Ok(None);
    };
    let value = json::parse(text, &format!("{file} (training_config)"))?;
    let Some(compile) = compile_from_config(&value, file)? else {
        return Ok(None);
    };
    let state = match root.group("optimizer_weights") {
        Some(group) => Some(read_optimizer_weights(model, &compile.optimizer, group, file)?),
        None => None,
    };
    Ok(Some((compile, state)))
}

/// The optimizer state in an `optimizer_weights` group, by position.
fn read_optimizer_weights(
    model: &Model,
    optimizer: &Optimizer,
    group: &H5Group,
    file: &str,
) -> Result<OptimizerState, KerasError> {
    let names = group
        .attr_str_list("weight_names")
        .ok_or_else(|| KerasError::Missing {
            path: file.to_string(),
            what: "weight_names attribute of optimizer_weights".into(),
        })?;
    let mut iterations = None;
    let mut saved = Vec::new();
    for name in names {
        let ds = group.dataset(name).ok_or_else(|| KerasError::Missing {
            path: file.to_string(),
            what: format!("optimizer weight {name:?}"),
        })?;
        if !ds.shape.is_empty() {
            saved.push(ds);
        } else if iterations.is_none() {
            iterations = iteration_count(ds)?;
        }
    }
    let iterations = iterations.ok_or_else(|| KerasError::Missing {
        path: file.to_string(),
        what: "iteration count in optimizer_weights".into(),
    })?;
    // tf_keras does not save Nadam's product: it resumes from 1, and so do we.
    let scalars = OptimizerScalars {
        iterations,
        ..OptimizerScalars::default()
    };
    state_from_buffers(model, optimizer, scalars, &saved, file)
}

/// `model` as a whole-model HDF5 tree in tf_keras 2.21's layout.
pub fn model_to_h5(model: &Model) -> Result<H5Group, KerasError> {
    let mut root = H5Group::new();
    root.set_attr("backend", H5Attr::var_ascii(BACKEND));
    root.set_attr("keras_version", H5Attr::var_ascii(TF_KERAS_VERSION));
    root.set_attr(
        "model_config",
        H5Attr::var_ascii(model_to_config(model, Style::TfKerasH5).to_json()),
    );
    if let Some(compile) = &model.compile {
        root.set_attr(
            "training_config",
            H5Attr::var_ascii(training_config(compile).to_json()),
        );
    }
    root.insert_group("model_weights", weights_group(model)?);
    if let Some(compile) = &model.compile {
        let optimizer = &compile.optimizer;
        let (scalars, saved) = buffers(model, optimizer)?;
        let mut group = H5Group::new();
        let mut names = vec!["iteration:0".to_string()];
        group.insert_dataset(
            "iteration:0",
            H5Dataset::scalar_i64(i64::try_from(scalars.iterations).unwrap_or(i64::MAX)),
        );
        let class = optimizer.algorithm.keras_class();
        for b in saved {
            let slot = tf_keras_slot(&optimizer.algorithm, b.slot);
            let name = format!("{class}/{slot}/{}/{}:0", b.layer, b.tensor);
            group.insert_dataset(&name, H5Dataset::f32(b.shape, b.values));
            names.push(name);
        }
        group.set_attr("weight_names", H5Attr::name_list(names));
        root.insert_group("optimizer_weights", group);
    }
    Ok(root)
}

/// tf_keras's name for a slot: `m`, `v` and `vhat` for Adam's, Nadam's and SGD's
/// moments, Keras 3's name otherwise (`velocity`, `accumulator`, ...).
fn tf_keras_slot(algorithm: &Algorithm, slot: &'static str) -> &'static str {
    match (algorithm, slot) {
        (Algorithm::RmsProp { .. }, _) => slot,
        (_, "momentum") => "m",
        (_, "velocity") => "v",
        (_, "velocity_hat") => "vhat",
        _ => slot,
    }
}
