//! Activation layers: `Activation`, `Softmax`, `ReLU`, `LeakyReLU`, `PReLU`, `ELU`.

use super::{Backward, Io};
use crate::{math, Activation, MatMul};

/// `Activation(a)` and `Softmax`: the activation over each row.
pub(super) fn forward<K: MatMul>(kernel: &K, io: Io<'_, '_>, activation: Activation) {
    io.dst.copy_from_slice(io.src);
    activation.forward_rows(kernel, io.dst, io.w_in);
}

/// Backward of [`forward`], in place.
pub(super) fn backward(b: Backward<'_, '_>, activation: Activation, grad: &mut [f32]) {
    let w = b.w_in;
    for ((x, y), d) in b
        .input
        .chunks_exact(w)
        .zip(b.output.chunks_exact(w))
        .zip(grad.chunks_exact_mut(w))
    {
        activation.backward(x, y, d);
    }
}

/// Keras's `relu(x, negative_slope, max_value, threshold)`: `x` above the threshold
/// (clipped to `[0, max_value]` when there is a maximum), plus
/// `negative_slope · (x − threshold)` below it.
fn relu(x: f32, max_value: Option<f32>, negative_slope: f32, threshold: f32) -> f32 {
    let mut y = if x > threshold { x } else { 0.0 };
    if let Some(max) = max_value {
        y = y.clamp(0.0, max);
    }
    if x < threshold {
        y += negative_slope * (x - threshold);
    }
    y
}

/// dy/dx of [`relu`] (TensorFlow's choices at the kinks: 0 at the threshold, the clip
/// passing its bounds).
fn relu_slope(x: f32, max_value: Option<f32>, negative_slope: f32, threshold: f32) -> f32 {
    if x > threshold {
        match max_value {
            Some(max) if !(0.0..=max).contains(&x) => 0.0,
            _ => 1.0,
        }
    } else if x < threshold {
        negative_slope
    } else {
        0.0
    }
}

/// `ReLU` and `LeakyReLU`.
pub(super) fn relu_forward(io: Io<'_, '_>, max_value: Option<f32>, negative_slope: f32, threshold: f32) {
    for (y, &x) in io.dst.iter_mut().zip(io.src) {
        *y = relu(x, max_value, negative_slope, threshold);
    }
}

/// Backward of [`relu_forward`], in place.
pub(super) fn relu_backward(
    b: Backward<'_, '_>,
    max_value: Option<f32>,
    negative_slope: f32,
    threshold: f32,
    grad: &mut [f32],
) {
    for (g, &x) in grad.iter_mut().zip(b.input) {
        *g *= relu_slope(x, max_value, negative_slope, threshold);
    }
}

/// `PReLU`: `x` for `x > 0`, else `alpha_j · x`.
pub(super) fn prelu_forward(io: Io<'_, '_>) {
    let alpha = &io.params[..io.w_in];
    for (row_y, row_x) in io.dst.chunks_exact_mut(io.w_in).zip(io.src.chunks_exact(io.w_in)) {
        for ((y, &x), &a) in row_y.iter_mut().zip(row_x).zip(alpha) {
            *y = if x > 0.0 { x } else { a * x };
        }
    }
}

/// Backward of [`prelu_forward`]: `dalpha_j = Σ dy · x` over negative `x`, in place.
pub(super) fn prelu_backward(b: Backward<'_, '_>, grad: &mut [f32]) {
    let w = b.w_in;
    let alpha = &b.params[..w];
    let d_alpha = &mut b.grads[..w];
    d_alpha.fill(0.0);
    for (row_g, row_x) in grad.chunks_exact_mut(w).zip(b.input.chunks_exact(w)) {
        for (((g, &x), &a), da) in row_g.iter_mut().zip(row_x).zip(alpha).zip(d_alpha.iter_mut()) {
            if x < 0.0 {
                *da += *g * x;
                *g *= a;
            } else if x == 0.0 {
                *g = 0.0;
            }
        }
    }
}

/// `ELU`: `x` for `x > 0`, else `alpha · (exp(x) − 1)`.
pub(super) fn elu_forward(io: Io<'_, '_>, alpha: f32) {
    for (y, &x) in io.dst.iter_mut().zip(io.src) {
        *y = if x > 0.0 { x } else { alpha * (math::exp(x) - 1.0) };
    }
}

/// Backward of [`elu_forward`] (`y + alpha` below zero), in place.
pub(super) fn elu_backward(b: Backward<'_, '_>, alpha: f32, grad: &mut [f32]) {
    for ((g, &x), &y) in grad.iter_mut().zip(b.input).zip(b.output) {
        if x <= 0.0 {
            *g *= y + alpha;
        }
    }
}
