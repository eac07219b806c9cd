//! SGD state ⇄ the per-tensor buffers Keras saves: the iteration count, then one momentum
//! buffer per trainable weight tensor (kernel, bias of each trainable Dense layer, gamma,
//! beta, alpha of the normalisation and PReLU layers, in layer order) — and none when
//! momentum is off.

use super::weights::{checked_tensor, weight_slots, WeightSlot};
use super::KerasError;
use crate::h5::{H5Data, H5Dataset};
use crate::model::{Model, OptimizerState};
use microdense_core::Sgd;

/// One momentum buffer to save: layer name, tensor name (`kernel`/`bias`), shape, values.
pub(crate) struct Buffer {
    /// The layer.
    pub layer: String,
    /// `kernel` or `bias`.
    pub tensor: &'static str,
    /// The tensor's shape.
    pub shape: Vec<u64>,
    /// The momentum values.
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

/// The iteration count and momentum buffers to save for `model` compiled with `sgd`
/// (zeros when it has no state yet; no buffers when momentum is off).
pub(crate) fn buffers(model: &Model, sgd: &Sgd) -> Result<(u64, Vec<Buffer>), KerasError> {
    let state = model.optimizer.clone().unwrap_or_default();
    if sgd.momentum == 0.0 {
        return Ok((state.iterations, Vec::new()));
    }
    let mut out = Vec::new();
    for slot in trainable_slots(model, "(model)")? {
        let tensors = slot
            .tensors()
            .into_iter()
            .zip(slot.ranges())
            .take(slot.trainable_tensors());
        for ((tensor, shape), range) in tensors {
            let values = match state.momentum.get(range.clone()) {
                Some(v) if state.momentum.len() == model.params.len() => v.to_vec(),
                _ => vec![0.0; range.len()],
            };
            out.push(Buffer {
                layer: model.layers[slot.index].name.clone(),
                tensor,
                shape,
                values,
            });
        }
    }
    Ok((state.iterations, out))
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

/// The optimizer state of `model` (compiled with `sgd`) from `iterations` and the saved
/// momentum buffers, in Keras's order. Buffers are ignored when momentum is off (tf_keras
/// and Keras 2 save them anyway).
pub(crate) fn state_from_buffers(
    model: &Model,
    sgd: &Sgd,
    iterations: u64,
    saved: &[&H5Dataset],
    file: &str,
) -> Result<OptimizerState, KerasError> {
    if sgd.momentum == 0.0 {
        return Ok(OptimizerState {
            iterations,
            momentum: Vec::new(),
        });
    }
    let slots = trainable_slots(model, file)?;
    let wanted: usize = slots.iter().map(WeightSlot::trainable_tensors).sum();
    if saved.len() != wanted {
        return Err(KerasError::Weights {
            file: file.to_string(),
            message: format!(
                "the optimizer state holds {} momentum buffers, the model has {wanted} trainable weight tensors",
                saved.len()
            ),
        });
    }
    let mut momentum = vec![0.0; model.params.len()];
    let mut saved = saved.iter();
    for slot in &slots {
        let layer = &model.layers[slot.index].name;
        let tensors = slot
            .tensors()
            .into_iter()
            .zip(slot.ranges())
            .take(slot.trainable_tensors());
        for ((tensor, shape), range) in tensors {
            let Some(ds) = saved.next() else { break };
            let what = format!("momentum of {tensor}");
            momentum[range].copy_from_slice(&checked_tensor(ds, &shape, file, layer, &what)?);
        }
    }
    Ok(OptimizerState { iterations, momentum })
}
