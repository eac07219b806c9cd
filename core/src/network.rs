//! A validated stack of layers: shapes, parameter layout, buffer sizes and inference.

use crate::layer::Io;
use crate::{Buffer, Error, Layer, LayerDefect, MatMul, MAX_LAYERS};
use core::ops::Range;

/// A sequential network over borrowed layers, validated once so every later call can
/// trust its shapes.
///
/// Parameters live in one flat slice: for each layer with weights in order, its weights
/// in Keras's order ([`Layer::weight_names`]) — a Dense layer's kernel (`in × units`,
/// row-major as Keras stores it) then its bias (`units`, if any); a BatchNormalization's
/// `gamma`, `beta`, `moving_mean`, `moving_variance` (`in` each); ...
///
/// # Buffer sizes (in `f32`)
///
/// With `w_i` the output width of layer `i`, `W = max_i w_i` (the network input excluded)
/// and a batch of `N` samples:
///
/// - parameters: [`param_count`](Self::param_count) `= Σ_i` [`Layer::param_count`]`(in_i)`
///   (Dense: `in·units + units·use_bias`; BatchNormalization: `(2 + scale + center)·in`;
///   LayerNormalization: `(scale + center)·in`; Normalization: `2·in`; PReLU: `in`);
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
    /// Errors: no layers or more than [`MAX_LAYERS`], zero input width, a layer whose
    /// settings are invalid (a Dense layer with zero units, a dropout rate outside
    /// `[0, 1)`, a non-positive epsilon, ...), or a parameter count that overflows.
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
            if let Some(reason) = layer.invalid() {
                return Err(Error::InvalidLayer { layer: i, reason });
            }
            // Every layer but Dense holds at most 4 values per input.
            let count = match layer {
                Layer::Dense { units, .. } => {
                    let units = *units as usize;
                    width.checked_mul(units).and_then(|k| k.checked_add(units))
                }
                _ => width.checked_mul(4),
            };
            params = count
                .and_then(|k| params.checked_add(k))
                .ok_or(Error::InvalidLayer {
                    layer: i,
                    reason: LayerDefect::ParameterOverflow,
                })?;
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

    /// Number of layers with trainable weights ([`Layer::has_weights`]).
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
    /// `batch × outputs` result, which lives in `scratch`. Layers active only in
    /// training (dropout, noise) are the identity.
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
        Ok(self.infer(kernel, params, inputs, batch, scratch)?.0)
    }

    /// [`predict`](Self::predict), also returning the sum over the batch of what
    /// ActivityRegularization layers add to the loss.
    pub(crate) fn infer<'s, K: MatMul>(
        &self,
        kernel: &K,
        params: &[f32],
        inputs: &[f32],
        batch: usize,
        scratch: &'s mut [f32],
    ) -> Result<(&'s [f32], f32), Error> {
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
        let mut added_loss = 0.0;
        for (i, layer) in self.layers.iter().enumerate() {
            let out = layer.output_width(width);
            let io = Io {
                params: &params[self.param_range(i)],
                src: if i == 0 { inputs } else { &cur[..batch * width] },
                dst: &mut next[..batch * out],
                batch,
                w_in: width,
            };
            added_loss += layer.forward(kernel, io, None)?;
            core::mem::swap(&mut cur, &mut next);
            width = out;
        }
        let out: &'s [f32] = cur;
        Ok((&out[..batch * width], added_loss))
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
