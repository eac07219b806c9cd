//! Optimizer state ⇄ the per-tensor buffers Keras saves, in Keras's order: the slots
//! (momentum, velocity, ...) of every trainable weight tensor (kernel, bias of each
//! trainable Dense layer, gamma, beta, alpha of the normalisation and PReLU layers, in
//! layer order), grouped as Keras creates them — Adam's and Nadam's `m` and `v`
//! alternate tensor by tensor, then Adam's `vhat`s; every other optimizer keeps one run
//! of tensors per slot (RMSprop: all velocities, then all momentums, then all average
//! gradients). tf_keras 2.21 and Keras 3.15 agree on this.

use super::weights::{checked_tensor, weight_slots, WeightSlot};
use super::KerasError;
use crate::h5::{H5Data, H5Dataset};
use crate::model::{Model, OptimizerState};
use microdense_core::{Algorithm, Optimizer, OptimizerScalars};

/// One optimizer buffer to save: layer name, tensor name (`kernel`/`bias`), slot, shape,
/// values.
pub(crate) struct Buffer {
    /// The layer.
    pub layer: String,
    /// `kernel` or `bias`.
    pub tensor: &'static str,
    /// The slot as Keras 3 names it (`momentum`, `velocity`, `velocity_hat`, ...).
    pub slot: &'static str,
    /// The tensor's shape.
    pub shape: Vec<u64>,
    /// The values.
    pub values: Vec<f32>,
}

/// The trainable layers with trainable weights, whose tensors Keras's optimizer tracks
/// (not BatchNormalization's moving statistics, nor Normalization's weights).
fn trainable_slots(model: &Model, file: &str) -> Result<Vec<WeightSlot>, KerasError> {
    Ok(weight_slots(model, file)?
        .into_iter()
        .filter(|s| model.layers[s.index].trainable && s.trainable_tensors() > 0)
        .collect())
}

/// The slot indices in the groups Keras creates them in (see the module docs).
fn slot_groups(algorithm: &Algorithm) -> Vec<Vec<usize>> {
    let slots = algorithm.slot_names().len();
    match algorithm {
        Algorithm::Adam(_) | Algorithm::AdamW(_) | Algorithm::Nadam { .. } => {
            let mut groups = vec![vec![0, 1]];
            if slots == 3 {
                groups.push(vec![2]);
            }
            groups
        }
        _ => (0..slots).map(|s| vec![s]).collect(),
    }
}

/// Each saved buffer's (slot, layer, tensor name, shape, range in the parameters), in
/// Keras's order.
#[allow(clippy::type_complexity)]
fn file_order(
    model: &Model,
    optimizer: &Optimizer,
    file: &str,
) -> Result<Vec<(usize, usize, &'static str, Vec<u64>, std::ops::Range<usize>)>, KerasError> {
    let slots = trainable_slots(model, file)?;
    let mut out = Vec::new();
    for group in slot_groups(&optimizer.algorithm) {
        for slot in &slots {
            let tensors = slot
                .tensors()
                .into_iter()
                .zip(slot.ranges())
                .take(slot.trainable_tensors());
            for ((tensor, shape), range) in tensors {
                for &s in &group {
                    out.push((s, slot.index, tensor, shape.clone(), range.clone()));
                }
            }
        }
    }
    Ok(out)
}

/// The scalars and buffers to save for `model` compiled with `optimizer` (fresh state
/// when it has none yet).
pub(crate) fn buffers(
    model: &Model,
    optimizer: &Optimizer,
) -> Result<(OptimizerScalars, Vec<Buffer>), KerasError> {
    let state = model.optimizer.clone().unwrap_or_default();
    let k = optimizer.slots();
    let names = optimizer.algorithm.slot_names();
    let fresh = state.slots.len() != optimizer.state_len(model.params.len());
    let mut out = Vec::new();
    for (s, layer, tensor, shape, range) in file_order(model, optimizer, "(model)")? {
        let values = if fresh {
            let mut v = vec![0.0; range.len()];
            optimizer.init_state(&mut v);
            v
        } else {
            range.map(|i| state.slots[i * k + s]).collect()
        };
        out.push(Buffer {
            layer: model.layers[layer].name.clone(),
            tensor,
            slot: names[s],
            shape,
            values,
        });
    }
    Ok((state.scalars, out))
}

/// An optimizer's state as a live Keras optimizer holds it in its variables: the step
/// count, Nadam's product, and the per-weight buffers (momentum, velocity, ...) in the
/// order of `optimizer.variables`, each with its weight's shape.
#[derive(Clone, Debug, PartialEq)]
pub struct KerasOptimizerState {
    /// `optimizer.iterations`.
    pub iterations: u64,
    /// Nadam's running product (Keras 3's last scalar variable; 1 for other optimizers).
    pub u_product: f32,
    /// The buffers, in Keras's order.
    pub buffers: Vec<(Vec<usize>, Vec<f32>)>,
}

/// The optimizer state of a compiled `model` as Keras's variables hold it (the fresh state
/// when it has none yet); `None` when it is not compiled.
pub fn keras_optimizer_state(model: &Model) -> Result<Option<KerasOptimizerState>, KerasError> {
    let Some(compile) = &model.compile else {
        return Ok(None);
    };
    let (scalars, saved) = buffers(model, &compile.optimizer)?;
    Ok(Some(KerasOptimizerState {
        iterations: scalars.iterations,
        u_product: scalars.u_product,
        buffers: saved
            .into_iter()
            .map(|b| (b.shape.into_iter().map(|d| d as usize).collect(), b.values))
            .collect(),
    }))
}

/// Sets the optimizer state of a compiled `model` from a live Keras optimizer's variables;
/// the model is unchanged on error (buffers that do not fit its weights).
pub fn set_keras_optimizer_state(model: &mut Model, state: &KerasOptimizerState) -> Result<(), KerasError> {
    let file = "(the Keras optimizer)";
    let compile = model.compile.as_ref().ok_or_else(|| KerasError::Missing {
        path: file.to_string(),
        what: "compile settings for the optimizer state".into(),
    })?;
    let saved: Vec<H5Dataset> = state
        .buffers
        .iter()
        .map(|(shape, values)| H5Dataset::f32(shape.iter().map(|&d| d as u64).collect(), values.clone()))
        .collect();
    let scalars = OptimizerScalars {
        iterations: state.iterations,
        u_product: state.u_product,
    };
    let refs: Vec<&H5Dataset> = saved.iter().collect();
    let optimizer_state = state_from_buffers(model, &compile.optimizer, scalars, &refs, file)?;
    model.optimizer = Some(optimizer_state);
    Ok(())
}

/// The iteration count held by a scalar dataset (int64, or an integral float as some
/// old files stored it); `None` for anything else.
pub(crate) fn iteration_count(ds: &H5Dataset) -> Result<Option<u64>, KerasError> {
    if !ds.shape.is_empty() {
        return Ok(None);
    }
    Ok(match &*ds.load()? {
        H5Data::I64(v) => v.first().and_then(|&i| u64::try_from(i).ok()),
        H5Data::F32(v) => v
            .first()
            .filter(|x| x.fract() == 0.0 && **x >= 0.0)
            .map(|&x| x as u64),
        H5Data::F64(v) => v
            .first()
            .filter(|x| x.fract() == 0.0 && **x >= 0.0)
            .map(|&x| x as u64),
        H5Data::Stored(_) => None,
    })
}

/// The optimizer state of `model` (compiled with `optimizer`) from its `scalars` and the
/// saved buffers, in Keras's order. Buffers saved for an SGD without momentum (tf_keras
/// saves them) are ignored. An optimizer that never stepped has none (Keras creates them
/// at the first step, so a model saved before fitting holds only the iteration count):
/// its state is the fresh one.
pub(crate) fn state_from_buffers(
    model: &Model,
    optimizer: &Optimizer,
    scalars: OptimizerScalars,
    saved: &[&H5Dataset],
    file: &str,
) -> Result<OptimizerState, KerasError> {
    let order = file_order(model, optimizer, file)?;
    let k = optimizer.slots();
    if k == 0 {
        return Ok(OptimizerState {
            scalars,
            slots: Vec::new(),
        });
    }
    if saved.is_empty() && scalars.iterations == 0 {
        return Ok(OptimizerState {
            scalars,
            slots: vec![0.0; optimizer.state_len(model.params.len())],
        });
    }
    if saved.len() != order.len() {
        return Err(KerasError::Weights {
            path: file.to_string(),
            message: format!(
                "the optimizer state holds {} buffers, {} keeps {} ({} per trainable weight tensor)",
                saved.len(),
                optimizer.algorithm.keras_class(),
                order.len(),
                k
            ),
        });
    }
    let names = optimizer.algorithm.slot_names();
    let mut slots = vec![0.0; optimizer.state_len(model.params.len())];
    for ((s, layer, tensor, shape, range), ds) in order.into_iter().zip(saved) {
        let what = format!("{} of {tensor}", names[s]);
        let values = checked_tensor(ds, &shape, file, &model.layers[layer].name, &what)?;
        for (i, v) in range.zip(values) {
            slots[i * k + s] = v;
        }
    }
    Ok(OptimizerState { scalars, slots })
}
