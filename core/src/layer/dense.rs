//! `Dense`: `activation(x · kernel + bias)`.

use super::{Backward, Flow, Io, Layer, Training};
use crate::{kinds, Activation, Error, Mat, MatMul, Regularizer};

/// A Dense layer's settings ([`super::Layer::Dense`]).
pub(super) struct Dense {
    pub activation: Activation,
    pub units: usize,
    pub use_bias: bool,
    pub activity_regularizer: Option<Regularizer>,
}

impl Dense {
    /// The settings of `layer`, if it is a Dense layer.
    pub(super) fn of(layer: &Layer) -> Option<Dense> {
        match *layer {
            Layer::Dense {
                units,
                activation,
                use_bias,
                activity_regularizer,
            } => Some(Dense {
                activation,
                units: units as usize,
                use_bias,
                // Left out of this build (crate::kinds): no valid network has one.
                activity_regularizer: activity_regularizer
                    .filter(|_| kinds::Kind::ActivityRegularization.built()),
            }),
            _ => None,
        }
    }

    /// Forward pass; in training keeps the pre-activation when the activation is
    /// non-linear. Returns the activity regularizer's penalty of the outputs (summed over
    /// the batch; 0 without one).
    pub(super) fn forward<K: MatMul>(
        &self,
        kernel: &K,
        io: Io<'_, '_>,
        train: Option<&mut Training<'_>>,
    ) -> Result<f32, Error> {
        let units = self.units;
        linear(
            kernel,
            io.params,
            io.src,
            io.dst,
            io.batch,
            io.w_in,
            units,
            self.use_bias,
        )?;
        if let Some(t) = train.filter(|t| !t.kept.is_empty()) {
            t.kept.copy_from_slice(io.dst);
        }
        self.activation.forward_rows(kernel, io.dst, units);
        Ok(self.activity_regularizer.map_or(0.0, |r| r.loss(io.dst)))
    }

    /// Backward pass: the activity penalty's gradient added to the outputs' gradient, then
    /// through the activation (in place), then kernel and bias gradients, then
    /// `next = grad · kernelᵀ` when the input's gradient is wanted.
    pub(super) fn backward<K: MatMul>(
        &self,
        kernel: &K,
        b: Backward<'_, '_>,
        grad: &mut [f32],
        next: Option<&mut [f32]>,
    ) -> Result<Flow, Error> {
        if let Some(r) = self.activity_regularizer {
            r.add_scaled_gradient(b.output, b.scale, grad);
        }
        backward(kernel, b, self.activation, self.units, self.use_bias, grad, next)
    }
}

/// `dst = src · kernel + bias` for a Dense layer's `params` (kernel then bias).
#[allow(clippy::too_many_arguments)]
pub(crate) fn linear<K: MatMul>(
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

/// Backward through the activation (in place), then kernel and bias gradients, then
/// `next = grad · kernelᵀ` when the input's gradient is wanted.
fn backward<K: MatMul>(
    kernel: &K,
    b: Backward<'_, '_>,
    activation: Activation,
    units: usize,
    use_bias: bool,
    grad: &mut [f32],
    next: Option<&mut [f32]>,
) -> Result<Flow, Error> {
    if activation != Activation::Linear {
        for ((z, y), d) in b
            .kept
            .chunks_exact(units)
            .zip(b.output.chunks_exact(units))
            .zip(grad.chunks_exact_mut(units))
        {
            activation.backward(z, y, d);
        }
    }
    let (d_kernel, d_bias) = b.grads.split_at_mut(b.w_in * units);
    kernel.matmul(
        b.w_in,
        b.batch,
        units,
        Mat::transposed(b.input, b.w_in),
        Mat::row_major(grad, units),
        d_kernel,
    )?;
    if use_bias {
        d_bias.fill(0.0);
        for row in grad.chunks_exact(units) {
            for (g, d) in d_bias.iter_mut().zip(row) {
                *g += d;
            }
        }
    }
    let Some(next) = next else {
        return Ok(Flow::InPlace);
    };
    kernel.matmul(
        b.batch,
        units,
        b.w_in,
        Mat::row_major(grad, units),
        Mat::transposed(&b.params[..b.w_in * units], units),
        next,
    )?;
    Ok(Flow::Next)
}
