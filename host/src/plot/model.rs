//! A [`Model`]'s layers as diagram boxes.

use super::DiagramLayer;
use crate::model::{keras_shape, Model};
use microdense_core::{Layer, Source};

/// One [`DiagramLayer`] per layer of `model`, with Keras's shapes, dtype and activation,
/// and a graph's wiring.
pub fn model_layers(model: &Model) -> Vec<DiagramLayer> {
    model
        .layers
        .iter()
        .enumerate()
        .map(|(i, named)| {
            let (input, output) = model.layer_shapes(i);
            let activation = match named.layer {
                Layer::Dense { activation, .. } | Layer::Activation(activation) => {
                    Some(activation.keras_name().to_string())
                }
                _ => None,
            };
            DiagramLayer {
                name: named.name.clone(),
                class_name: named.layer.keras_class().to_string(),
                input_shape: keras_shape(&input),
                output_shape: keras_shape(&output),
                dtype: "float32".into(),
                activation,
                trainable: named.layer.has_weights().then_some(named.trainable),
                inputs: model.graph.as_ref().map(|wiring| {
                    wiring[i]
                        .sources()
                        .iter()
                        .filter_map(|s| match *s {
                            Source::Layer(j) => Some(usize::from(j)),
                            Source::Input => None,
                        })
                        .collect()
                }),
            }
        })
        .collect()
}
