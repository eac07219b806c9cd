//! Folding frozen BatchNormalization layers into the Dense layer before them, for the
//! device: `BN(x·W + b) = x·(W·inv) + ((b − mean)·inv + beta)` with
//! `inv = gamma / sqrt(moving_variance + epsilon)`, exact within float rounding.

use crate::model::{Model, ModelError};
use microdense_core::{math, Activation, Layer, Network};

/// `model` with every BatchNormalization before layer `first` (the frozen prefix) that
/// directly follows a Dense layer without a fused activation folded into that Dense layer
/// (which gains a bias if it had none). Other layers, and the trainable suffix, are kept.
/// A graph other than a chain is returned as it is.
pub fn fold_frozen_batch_norms(model: &Model, first: usize) -> Result<Model, ModelError> {
    if model.graph.is_some() {
        return Ok(model.clone());
    }
    let layers = model.core_layers();
    let wiring = model.wiring();
    let net = Network::graph(model.input_width(), &layers, &wiring)?;
    let mut out = Model {
        layers: Vec::new(),
        params: Vec::new(),
        ..model.clone()
    };
    let mut i = 0;
    while i < layers.len() {
        let params = &model.params[net.param_range(i)];
        let bn = match (layers[i], layers.get(i + 1)) {
            (
                Layer::Dense {
                    activation: Activation::Linear,
                    ..
                },
                Some(&Layer::BatchNormalization {
                    epsilon,
                    center,
                    scale,
                    ..
                }),
            ) if i + 1 < first => Some((epsilon, center, scale)),
            _ => None,
        };
        // A Dense with an activity regularizer keeps its BatchNormalization: the penalty is
        // on the Dense's own outputs, which folding would replace.
        let (
            Some((epsilon, center, scale)),
            Layer::Dense {
                units,
                use_bias,
                activity_regularizer: None,
                ..
            },
        ) = (bn, layers[i])
        else {
            out.layers.push(model.layers[i].clone());
            out.params.extend_from_slice(params);
            i += 1;
            continue;
        };
        let units = units as usize;
        let fan_in = net.layer_input_width(i);
        let norm = &model.params[net.param_range(i + 1)];
        let (gamma, norm) = norm.split_at(if scale { units } else { 0 });
        let (beta, norm) = norm.split_at(if center { units } else { 0 });
        let (mean, variance) = norm.split_at(units);
        let inv: Vec<f32> = (0..units)
            .map(|j| gamma.get(j).copied().unwrap_or(1.0) / math::sqrt(variance[j] + epsilon))
            .collect();
        let (kernel, bias) = params.split_at(fan_in * units);
        for row in kernel.chunks_exact(units) {
            out.params.extend(row.iter().zip(&inv).map(|(w, s)| w * s));
        }
        out.params.extend((0..units).map(|j| {
            let b = if use_bias { bias[j] } else { 0.0 };
            (b - mean[j]) * inv[j] + beta.get(j).copied().unwrap_or(0.0)
        }));
        let mut dense = model.layers[i].clone();
        dense.layer = Layer::Dense {
            units: units as u32,
            activation: Activation::Linear,
            use_bias: true,
            activity_regularizer: None,
        };
        out.layers.push(dense);
        i += 2;
    }
    if let Some(opt) = out.optimizer.as_mut().filter(|o| !o.slots.is_empty()) {
        // The suffix (from `first`) is unchanged; the folded prefix's state is zero, as
        // nothing trains it. The state holds the same number of values per parameter.
        let per_param = opt.slots.len() / net.param_count().max(1);
        let suffix = &opt.slots[net.param_offset(first.min(layers.len())) * per_param..];
        let mut slots = vec![0.0; out.params.len() * per_param - suffix.len()];
        slots.extend_from_slice(suffix);
        opt.slots = slots;
    }
    out.validate()?;
    Ok(out)
}
