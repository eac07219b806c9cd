//! An int8 model back to float32: what Keras can load.

use crate::model::{LayerNamer, Model, ModelError, NamedLayer, OptimizerState};
use microdense_core::quant::{Int8Activation, Int8Body};
use microdense_core::{Activation, Layer};

/// The float model that computes what `body` then `head` compute, within the
/// quantisation error: each int8 Dense layer with its weights dequantised
/// (`w_ij = q_ji · scale_j`, `b_j = q_j · input_scale · scale_j`, non-trainable), its ReLU
/// fused, a table's function as an Activation layer after it, then the head's layers.
pub fn dequantize(body: &Int8Body<'_>, input_shape: &[usize], head: &Model) -> Result<Model, ModelError> {
    let mut namer = LayerNamer::default();
    let mut layers = Vec::new();
    let mut params = Vec::new();
    let mut input = body.input_params();
    for (i, spec) in body.layers().iter().enumerate() {
        let Some(data) = body.layer(i) else { break };
        let d = data.dense;
        let fused = match spec.activation {
            Int8Activation::Relu => Activation::Relu,
            _ => Activation::Linear,
        };
        let dense = Layer::Dense {
            units: spec.units,
            activation: fused,
            use_bias: spec.use_bias,
            activity_regularizer: None,
        };
        for k in 0..d.inputs {
            for (j, &s) in data.weight_scales.iter().enumerate() {
                params.push(f32::from(d.weights[j * d.inputs + k]) * s);
            }
        }
        let bias = d.bias.iter().zip(data.weight_scales);
        params.extend(bias.map(|(&b, &s)| (f64::from(b) * f64::from(input.scale) * f64::from(s)) as f32));
        layers.push(NamedLayer {
            trainable: false,
            ..NamedLayer::new(namer.name_for(&dense), dense)
        });
        if let Int8Activation::Table { function, .. } = spec.activation {
            let activation = Layer::Activation(function);
            layers.push(NamedLayer::new(namer.name_for(&activation), activation));
        }
        input = spec.activated();
    }
    let body_params = params.len();
    for layer in &head.layers {
        layers.push(NamedLayer {
            name: namer.name_for(&layer.layer),
            ..layer.clone()
        });
    }
    params.extend_from_slice(&head.params);
    let optimizer = head
        .optimizer
        .as_ref()
        .zip(head.compile.as_ref())
        .map(|(state, compile)| {
            let mut slots = vec![0.0; compile.optimizer.state_len(body_params)];
            compile.optimizer.init_state(&mut slots);
            slots.extend_from_slice(&state.slots);
            OptimizerState {
                scalars: state.scalars,
                slots,
            }
        });
    let model = Model {
        name: head.name.clone(),
        kind: head.kind,
        input_name: head.input_name.clone(),
        input_shape: input_shape.to_vec(),
        graph: None,
        layers,
        params,
        compile: head.compile.clone(),
        optimizer,
        dropped_training: head.dropped_training.clone(),
    };
    model.validate()?;
    Ok(model)
}
