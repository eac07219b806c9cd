//! A validated stack of layers: shapes, parameter layout, buffer sizes and inference.

use crate::{Buffer, Error, Layer, LayerDefect, Mat, MatMul, MAX_LAYERS};
use core::ops::Range;

/// A sequential network over borrowed layers, validated once so every later call can
/// trust its shapes.
///
/// Parameters live in one flat slice: for each Dense layer in order, its kernel
/// (`in × units`, row-major as Keras stores it) followed by its bias (`units`, if any).
///
/// # Buffer sizes (in `f32`)
///
/// With `w_i` the output width of layer `i`, `W = max_i w_i` (the network input excluded)
/// and a batch of `N` samples:
///
/// - parameters: [`param_count`](Self::param_count) `= Σ_dense (in·units + units·use_bias)`;
/// - inference scratch: [`inference_scratch_len`](Self::inference_scratch_len)`(N) = 2·N·W`;
/// - training, see [`crate::Trainer`].
///
/// ```
/// use microdense_core::{Activation, Layer, Network};
/// let layers = [
///     Layer::Dense { units: 50, activation: Activation::Linear, use_bias: true },
///     Layer::Activation(Activation::Sigmoid),
///     Layer::Dense { units: 10, activation: Activation::Softmax, use_bias: true },
/// ];
/// let net = Network::new(784, &layers).unwrap();
/// assert_eq!(net.param_count(), 784 * 50 + 50 + 50 * 10 + 10);
/// assert_eq!(net.inference_scratch_len(1), 2 * 50);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Network<'a> {
    input: usize,
    layers: &'a [Layer],
}

impl<'a> Network<'a> {
    /// Validates `layers` applied to inputs of `input` values.
    ///
    /// Errors: no layers or more than [`MAX_LAYERS`], zero input width, a Dense layer
    /// with zero units, a dropout rate outside `[0, 1)`, or a parameter count that
    /// overflows.
    pub fn new(input: usize, layers: &'a [Layer]) -> Result<Self, Error> {
        if layers.is_empty() || layers.len() > MAX_LAYERS {
            return Err(Error::LayerCount { count: layers.len() });
        }
        if input == 0 || input > u32::MAX as usize {
            return Err(Error::InvalidLayer {
                layer: 0,
                reason: LayerDefect::InputWidth,
            });
        }
        let mut width = input;
        let mut params: usize = 0;
        for (i, layer) in layers.iter().enumerate() {
            match layer {
                Layer::Dense { units: 0, .. } => {
                    return Err(Error::InvalidLayer {
                        layer: i,
                        reason: LayerDefect::ZeroUnits,
                    })
                }
                Layer::Dropout { rate } if !(0.0..1.0).contains(rate) => {
                    return Err(Error::InvalidLayer {
                        layer: i,
                        reason: LayerDefect::DropoutRate,
                    })
                }
                _ => {}
            }
            if let Layer::Dense { units, .. } = layer {
                let units = *units as usize;
                let count = width.checked_mul(units).and_then(|k| k.checked_add(units));
                params = count
                    .and_then(|k| params.checked_add(k))
                    .ok_or(Error::InvalidLayer {
                        layer: i,
                        reason: LayerDefect::ParameterOverflow,
                    })?;
            }
            width = layer.output_width(width);
        }
        Ok(Network { input, layers })
    }

    /// The layers.
    pub fn layers(&self) -> &'a [Layer] {
        self.layers
    }

    /// Number of inputs per sample.
    pub fn input_width(&self) -> usize {
        self.input
    }

    /// Width of the input of layer `i` (the network input for `i = 0`).
    pub fn layer_input_width(&self, i: usize) -> usize {
        self.layers[..i.min(self.layers.len())]
            .iter()
            .fold(self.input, |w, l| l.output_width(w))
    }

    /// Width of the output of layer `i`.
    pub fn layer_output_width(&self, i: usize) -> usize {
        let w = self.layer_input_width(i);
        self.layers.get(i).map_or(w, |l| l.output_width(w))
    }

    /// Number of outputs per sample.
    pub fn output_width(&self) -> usize {
        self.layer_input_width(self.layers.len())
    }

    /// `W`: the widest layer output (the network input excluded).
    pub fn max_output_width(&self) -> usize {
        (0..self.layers.len())
            .map(|i| self.layer_output_width(i))
            .max()
            .unwrap_or(0)
    }

    /// Total number of parameters.
    pub fn param_count(&self) -> usize {
        self.param_offset(self.layers.len())
    }

    /// Offset of layer `i`'s parameters in the flat parameter slice (the total for `i = len`).
    pub fn param_offset(&self, i: usize) -> usize {
        let mut width = self.input;
        let mut offset = 0;
        for layer in &self.layers[..i.min(self.layers.len())] {
            offset += layer.param_count(width);
            width = layer.output_width(width);
        }
        offset
    }

    /// Range of layer `i`'s parameters (kernel then bias) in the flat parameter slice.
    pub fn param_range(&self, i: usize) -> Range<usize> {
        let start = self.param_offset(i);
        let count = self
            .layers
            .get(i)
            .map_or(0, |l| l.param_count(self.layer_input_width(i)));
        start..start + count
    }

    /// Number of layers with weights.
    pub fn weighted_layer_count(&self) -> usize {
        self.layers.iter().filter(|l| l.has_weights()).count()
    }

    /// Index of the first layer to train when the last `k` weighted layers are trainable
    /// (`0` when `k` covers them all; the layer count when `k = 0`).
    pub fn first_trainable_layer(&self, k: usize) -> usize {
        if k == 0 {
            return self.layers.len();
        }
        let mut seen = 0;
        for (i, layer) in self.layers.iter().enumerate().rev() {
            if layer.has_weights() {
                seen += 1;
                if seen == k {
                    return i;
                }
            }
        }
        0
    }

    /// f32 of scratch [`predict`](Self::predict) needs for `batch` samples: `2·batch·W`.
    pub fn inference_scratch_len(&self, batch: usize) -> usize {
        2 * batch * self.max_output_width()
    }

    /// Runs `batch` samples (row-major in `inputs`) through the network and returns the
    /// `batch × outputs` result, which lives in `scratch`. Dropout is the identity.
    ///
    /// Errors when `params`, `inputs` or `scratch` have the wrong length.
    pub fn predict<'s, K: MatMul>(
        &self,
        kernel: &K,
        params: &[f32],
        inputs: &[f32],
        batch: usize,
        scratch: &'s mut [f32],
    ) -> Result<&'s [f32], Error> {
        check_len(Buffer::Parameters, self.param_count(), params.len())?;
        check_len(Buffer::Inputs, batch * self.input, inputs.len())?;
        check_len(
            Buffer::InferenceScratch,
            self.inference_scratch_len(batch),
            scratch.len(),
        )?;
        let half = batch * self.max_output_width();
        let (mut cur, mut next) = scratch.split_at_mut(half);
        let mut width = self.input;
        for (i, layer) in self.layers.iter().enumerate() {
            let out = layer.output_width(width);
            let src: &[f32] = if i == 0 { inputs } else { &cur[..batch * width] };
            let dst = &mut next[..batch * out];
            forward_layer(
                kernel,
                layer,
                &params[self.param_range(i)],
                src,
                dst,
                batch,
                width,
            )?;
            core::mem::swap(&mut cur, &mut next);
            width = out;
        }
        let out: &'s [f32] = cur;
        Ok(&out[..batch * width])
    }
}

/// Errors unless a buffer has exactly the length the network needs.
pub(crate) fn check_len(what: Buffer, expected: usize, actual: usize) -> Result<(), Error> {
    if expected == actual {
        Ok(())
    } else {
        Err(Error::BufferSize {
            what,
            expected,
            actual,
        })
    }
}

/// Inference-mode forward pass of one layer over a batch: `dst = layer(src)`.
pub(crate) fn forward_layer<K: MatMul>(
    kernel: &K,
    layer: &Layer,
    params: &[f32],
    src: &[f32],
    dst: &mut [f32],
    batch: usize,
    width: usize,
) -> Result<(), Error> {
    match layer {
        Layer::Dense {
            units,
            activation,
            use_bias,
        } => {
            dense_linear(kernel, params, src, dst, batch, width, *units as usize, *use_bias)?;
            activation.forward_rows(kernel, dst, *units as usize);
        }
        Layer::Activation(activation) => {
            dst.copy_from_slice(src);
            activation.forward_rows(kernel, dst, width);
        }
        Layer::Dropout { .. } | Layer::Flatten => dst.copy_from_slice(src),
    }
    Ok(())
}

/// `dst = src · kernel + bias` for a Dense layer's `params` (kernel then bias).
#[allow(clippy::too_many_arguments)]
pub(crate) fn dense_linear<K: MatMul>(
    kernel: &K,
    params: &[f32],
    src: &[f32],
    dst: &mut [f32],
    batch: usize,
    width: usize,
    units: usize,
    use_bias: bool,
) -> Result<(), Error> {
    let (weights, bias) = params.split_at(width * units);
    kernel.matmul(
        batch,
        width,
        units,
        Mat::row_major(src, width),
        Mat::row_major(weights, units),
        dst,
    )?;
    if use_bias {
        for row in dst.chunks_exact_mut(units) {
            for (v, b) in row.iter_mut().zip(bias) {
                *v += b;
            }
        }
    }
    Ok(())
}
