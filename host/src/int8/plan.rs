//! Which float layers become the int8 body and which stay the float head.

use super::QuantizeError;
use crate::model::{Model, NamedLayer};
use microdense_core::{Activation, Layer};

/// One int8 Dense layer of the body and the float layers it stands for.
#[derive(Clone, Debug)]
pub(super) struct BodyDense {
    /// Index of the Dense layer in the float model.
    pub layer: usize,
    /// Its output width.
    pub units: usize,
    /// Whether it has a bias.
    pub use_bias: bool,
    /// The activation after it (fused or an Activation layer), if not linear.
    pub activation: Option<Activation>,
    /// Index of the layer whose output is the activation's (the Dense itself when fused).
    pub activated_at: usize,
}

/// The split of a float model: int8 body, then float head.
#[derive(Clone, Debug)]
pub(super) struct Plan {
    /// The body's Dense layers, in order.
    pub body: Vec<BodyDense>,
    /// The float head's layers: everything from the first trainable Dense, preceded by a
    /// softmax the body cannot compute (a last Dense's), or Identity if nothing is left.
    pub head: Vec<NamedLayer>,
    /// Index of the first head layer in the float model.
    pub head_start: usize,
}

/// Layers that compute nothing at inference (skipped by the body).
fn is_inference_identity(layer: &Layer) -> bool {
    matches!(
        layer,
        Layer::Dropout { .. }
            | Layer::Flatten
            | Layer::Identity
            | Layer::GaussianNoise { .. }
            | Layer::GaussianDropout { .. }
            | Layer::AlphaDropout { .. }
            | Layer::Reshape
            | Layer::ActivityRegularization { .. }
    )
}

/// Splits `model`: the last `k` Dense layers (and what follows) stay float.
pub(super) fn plan(model: &Model, k: usize) -> Result<Plan, QuantizeError> {
    let layers = model.core_layers();
    let dense = layers.iter().filter(|l| matches!(l, Layer::Dense { .. })).count();
    let head_start = model.with_network(|net| Ok(net.first_trainable_layer(k)))?;
    let unsupported = |i: usize, why| QuantizeError::Unsupported {
        name: model.layers[i].name.clone(),
        class: layers[i].keras_class(),
        why,
    };
    if model.graph.is_some() {
        let merge = layers
            .iter()
            .position(|l| matches!(l, Layer::Merge(_)))
            .unwrap_or(0);
        return Err(unsupported(
            merge,
            "int8 bodies are chains; a functional graph with merges stays float32",
        ));
    }
    let mut body: Vec<BodyDense> = Vec::new();
    let mut softmax = None;
    for (i, layer) in layers[..head_start].iter().enumerate() {
        if softmax.is_some() && !is_inference_identity(layer) {
            return Err(unsupported(
                i,
                "it follows a softmax, which only the last int8 layer may have",
            ));
        }
        let (activation, fused) = match *layer {
            Layer::Dense {
                units,
                activation,
                use_bias,
                ..
            } => {
                body.push(BodyDense {
                    layer: i,
                    units: units as usize,
                    use_bias,
                    activation: None,
                    activated_at: i,
                });
                (activation, true)
            }
            Layer::Activation(a) => (a, false),
            _ if is_inference_identity(layer) => continue,
            _ => {
                return Err(unsupported(
                    i,
                    "the int8 body holds Dense and Activation layers only",
                ))
            }
        };
        if activation == Activation::Linear {
            continue;
        }
        let Some(last) = body.last_mut().filter(|d| fused || d.activation.is_none()) else {
            return Err(unsupported(
                i,
                "an int8 activation must follow a Dense layer without one",
            ));
        };
        if activation == Activation::Softmax {
            softmax = Some(i);
            continue;
        }
        last.activation = Some(activation);
        last.activated_at = i;
    }
    if body.is_empty() {
        return Err(QuantizeError::EmptyBody { k, dense });
    }
    let mut head: Vec<NamedLayer> = Vec::new();
    if let Some(i) = softmax {
        head.push(NamedLayer::new(
            format!("{}_softmax", model.layers[i].name),
            Layer::Activation(Activation::Softmax),
        ));
    }
    head.extend(model.layers[head_start..].iter().cloned());
    if head.is_empty() {
        head.push(NamedLayer::new("identity", Layer::Identity));
    }
    Ok(Plan {
        body,
        head,
        head_start,
    })
}
