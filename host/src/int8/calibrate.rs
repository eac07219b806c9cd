//! Per-tensor activation ranges (min/max) of a float model on calibration samples.

use super::QuantizeError;
use crate::dataset::Dataset;
use crate::model::Model;
use microdense_core::{Activation, Layer, Network, Portable};

/// A range seen on the calibration samples.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Range {
    /// Smallest value.
    pub min: f32,
    /// Largest value.
    pub max: f32,
}

impl Range {
    /// The range of `values`; NaN bounds when one of them is NaN or infinite.
    fn of(values: &[f32]) -> Range {
        if values.iter().any(|v| !v.is_finite()) {
            return Range {
                min: f32::NAN,
                max: f32::NAN,
            };
        }
        values.iter().fold(
            Range {
                min: f32::INFINITY,
                max: f32::NEG_INFINITY,
            },
            |r, &v| Range {
                min: r.min.min(v),
                max: r.max.max(v),
            },
        )
    }
}

/// The ranges of the input and of layers `0..end`: `linear[i]` is a Dense layer's
/// output before its fused activation (the layer's output for the others), `output[i]`
/// the layer's output.
#[derive(Clone, Debug)]
pub(super) struct Ranges {
    /// The input's.
    pub input: Range,
    /// Before fused activations.
    pub linear: Vec<Range>,
    /// After each layer.
    pub output: Vec<Range>,
}

/// Runs the first `end` layers of `model` over every sample of `data` (the float model's
/// own inference, layer by layer) and records their ranges.
pub(super) fn calibrate(model: &Model, data: &Dataset<'_>, end: usize) -> Result<Ranges, QuantizeError> {
    if data.is_empty() {
        return Err(QuantizeError::NoCalibration);
    }
    let (mut x, _) = data.slice(0, data.len());
    let n = data.len();
    let mut ranges = Ranges {
        input: Range::of(&x),
        linear: Vec::new(),
        output: Vec::new(),
    };
    model.with_network(|net| {
        for i in 0..end {
            let (w_in, layer) = (net.layer_input_width(i), net.layers()[i]);
            let params = &model.params[net.param_range(i)];
            let (first, then) = match layer {
                Layer::Dense {
                    units,
                    activation,
                    use_bias,
                    activity_regularizer: _,
                } => (
                    Layer::Dense {
                        units,
                        activation: Activation::Linear,
                        use_bias,
                        activity_regularizer: None,
                    },
                    Some(Layer::Activation(activation)),
                ),
                other => (other, None),
            };
            x = run(first, w_in, params, &x, n)?;
            ranges.linear.push(Range::of(&x));
            if let Some(activation) = then {
                x = run(activation, first.output_width(w_in), &[], &x, n)?;
            }
            ranges.output.push(Range::of(&x));
        }
        Ok(())
    })?;
    Ok(ranges)
}

/// One layer's inference over `n` samples.
fn run(
    layer: Layer,
    w_in: usize,
    params: &[f32],
    x: &[f32],
    n: usize,
) -> Result<Vec<f32>, crate::model::ModelError> {
    let layers = [layer];
    let net = Network::new(w_in, &layers)?;
    let mut scratch = vec![0.0; net.inference_scratch_len(n)];
    Ok(net.predict(&Portable, params, x, n, &mut scratch)?.to_vec())
}
