//! Preprocessing layers: `Rescaling` and `Normalization`.

use super::{Backward, Io, Training};
use crate::math;

/// Keras's `backend.epsilon()`, Normalization's floor for the standard deviation.
const STDDEV_FLOOR: f32 = 1e-7;

/// `Rescaling`: `x · scale + offset`.
pub(super) fn rescaling_forward(io: Io<'_, '_>, scale: f32, offset: f32) {
    for (y, &x) in io.dst.iter_mut().zip(io.src) {
        *y = x * scale + offset;
    }
}

/// `max(sqrt(variance_j), 1e-7)`.
fn stddev(variance: f32) -> f32 {
    math::sqrt(variance).max(STDDEV_FLOOR)
}

/// `Normalization`: `(x − mean) / stddev`, or `mean + x · stddev` with `invert`. In a
/// trainable suffix it keeps its (unchanging) weights as their next values.
pub(super) fn normalization_forward(io: Io<'_, '_>, invert: bool, train: Option<&mut Training<'_>>) {
    let w = io.w_in;
    let (mean, variance) = io.params.split_at(w);
    if let Some(t) = train.filter(|t| !t.stats.is_empty()) {
        t.stats.copy_from_slice(io.params);
    }
    for (row_y, row_x) in io.dst.chunks_exact_mut(w).zip(io.src.chunks_exact(w)) {
        for (((y, &x), &m), &v) in row_y.iter_mut().zip(row_x).zip(mean).zip(variance) {
            *y = if invert {
                m + x * stddev(v)
            } else {
                (x - m) / stddev(v)
            };
        }
    }
}

/// Backward of [`normalization_forward`], in place; its weights get no gradient.
pub(super) fn normalization_backward(b: Backward<'_, '_>, invert: bool, grad: &mut [f32]) {
    let w = b.w_in;
    b.grads.fill(0.0);
    let variance = &b.params[w..2 * w];
    for row in grad.chunks_exact_mut(w) {
        for (g, &v) in row.iter_mut().zip(variance) {
            *g = if invert { *g * stddev(v) } else { *g / stddev(v) };
        }
    }
}
