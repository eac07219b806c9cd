//! `BatchNormalization` and `LayerNormalization`, with TensorFlow's formula
//! `y = x · inv + (beta − mean · inv)`, `inv = gamma / sqrt(variance + epsilon)`.

use super::{Backward, Io, Training};
use crate::math;

/// A normalisation layer's weights: `gamma` (if `scale`), `beta` (if `center`), then
/// whatever follows (BatchNormalization's moving mean and variance), each `w` long.
struct Affine<'a> {
    gamma: Option<&'a [f32]>,
    beta: Option<&'a [f32]>,
    rest: &'a [f32],
}

impl<'a> Affine<'a> {
    fn split(params: &'a [f32], w: usize, center: bool, scale: bool) -> Self {
        let (gamma, params) = if scale {
            let (g, r) = params.split_at(w);
            (Some(g), r)
        } else {
            (None, params)
        };
        let (beta, rest) = if center {
            let (b, r) = params.split_at(w);
            (Some(b), r)
        } else {
            (None, params)
        };
        Affine { gamma, beta, rest }
    }

    fn gamma(&self, j: usize) -> f32 {
        self.gamma.map_or(1.0, |g| g[j])
    }

    /// `(inv, offset)` of feature `j` for the given mean and variance.
    fn transform(&self, j: usize, mean: f32, variance: f32, epsilon: f32) -> (f32, f32) {
        let mut inv = 1.0 / math::sqrt(variance + epsilon);
        if let Some(g) = self.gamma {
            inv *= g[j];
        }
        let offset = match self.beta {
            Some(b) => b[j] - mean * inv,
            None => -mean * inv,
        };
        (inv, offset)
    }
}

/// The gradient slots matching [`Affine`]: `gamma`, `beta`, then the rest (zeroed).
fn affine_grads(
    grads: &mut [f32],
    w: usize,
    center: bool,
    scale: bool,
) -> (Option<&mut [f32]>, Option<&mut [f32]>) {
    grads.fill(0.0);
    let (gamma, grads) = if scale {
        let (g, r) = grads.split_at_mut(w);
        (Some(g), r)
    } else {
        (None, grads)
    };
    let beta = center.then(|| &mut grads[..w]);
    (gamma, beta)
}

/// Mean and (biased) variance of feature `j` over a batch of rows `w` wide.
fn column_moments(x: &[f32], w: usize, j: usize) -> (f32, f32) {
    let n = (x.len() / w) as f32;
    let mean = x.iter().skip(j).step_by(w).sum::<f32>() / n;
    let var = x
        .iter()
        .skip(j)
        .step_by(w)
        .map(|v| (v - mean) * (v - mean))
        .sum::<f32>()
        / n;
    (mean, var)
}

/// Mean and (biased) variance of one row.
fn row_moments(row: &[f32]) -> (f32, f32) {
    let n = row.len() as f32;
    let mean = row.iter().sum::<f32>() / n;
    let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
    (mean, var)
}

/// BatchNormalization forward. Trainable in training, it keeps (per batch) the next
/// moving mean and variance, then with batch statistics the batch's mean and variance,
/// and normalises with the batch's moments; otherwise with the moving ones.
pub(super) fn batch_norm_forward(
    io: Io<'_, '_>,
    momentum: f32,
    epsilon: f32,
    center: bool,
    scale: bool,
    train: Option<&mut Training<'_>>,
) {
    let w = io.w_in;
    let affine = Affine::split(io.params, w, center, scale);
    let (moving_mean, moving_var) = affine.rest.split_at(w);
    let mut stats = train
        .filter(|t| !t.stats.is_empty())
        .map(|t| (t.batch_statistics, &mut *t.stats));
    for j in 0..w {
        let (mean, var) = match stats {
            Some((true, ref mut s)) => {
                let (mean, var) = column_moments(io.src, w, j);
                s[j] = moving_mean[j] * momentum + mean * (1.0 - momentum);
                s[w + j] = moving_var[j] * momentum + var * (1.0 - momentum);
                s[2 * w + j] = mean;
                s[3 * w + j] = var;
                (mean, var)
            }
            Some((false, ref mut s)) => {
                s[j] = moving_mean[j];
                s[w + j] = moving_var[j];
                (moving_mean[j], moving_var[j])
            }
            None => (moving_mean[j], moving_var[j]),
        };
        let (inv, offset) = affine.transform(j, mean, var, epsilon);
        for (y, x) in io
            .dst
            .iter_mut()
            .skip(j)
            .step_by(w)
            .zip(io.src.iter().skip(j).step_by(w))
        {
            *y = x * inv + offset;
        }
    }
}

/// BatchNormalization backward, in place. With batch statistics the gradient flows
/// through the batch's mean and variance too.
pub(super) fn batch_norm_backward(
    b: Backward<'_, '_>,
    epsilon: f32,
    center: bool,
    scale: bool,
    grad: &mut [f32],
) {
    let w = b.w_in;
    let n = b.batch as f32;
    let affine = Affine::split(b.params, w, center, scale);
    let (moving_mean, moving_var) = affine.rest.split_at(w);
    let (mut d_gamma, mut d_beta) = affine_grads(b.grads, w, center, scale);
    for j in 0..w {
        let (mean, var) = if b.batch_statistics {
            (b.stats[2 * w + j], b.stats[3 * w + j])
        } else {
            (moving_mean[j], moving_var[j])
        };
        let inv_std = 1.0 / math::sqrt(var + epsilon);
        let (mut sum, mut sum_xhat) = (0.0, 0.0);
        for (g, x) in grad
            .iter()
            .skip(j)
            .step_by(w)
            .zip(b.input.iter().skip(j).step_by(w))
        {
            sum += g;
            sum_xhat += g * (x - mean) * inv_std;
        }
        if let Some(d) = d_gamma.as_deref_mut() {
            d[j] = sum_xhat;
        }
        if let Some(d) = d_beta.as_deref_mut() {
            d[j] = sum;
        }
        let factor = affine.gamma(j) * inv_std;
        for (g, x) in grad
            .iter_mut()
            .skip(j)
            .step_by(w)
            .zip(b.input.iter().skip(j).step_by(w))
        {
            *g = if b.batch_statistics {
                let xhat = (x - mean) * inv_std;
                factor * (*g - sum / n - xhat * sum_xhat / n)
            } else {
                factor * *g
            };
        }
    }
}

/// LayerNormalization forward: each row normalised over its features.
pub(super) fn layer_norm_forward(io: Io<'_, '_>, epsilon: f32, center: bool, scale: bool) {
    let w = io.w_in;
    let affine = Affine::split(io.params, w, center, scale);
    for (row_y, row_x) in io.dst.chunks_exact_mut(w).zip(io.src.chunks_exact(w)) {
        let (mean, var) = row_moments(row_x);
        let inv_std = 1.0 / math::sqrt(var + epsilon);
        for (j, (y, &x)) in row_y.iter_mut().zip(row_x).enumerate() {
            let inv = inv_std * affine.gamma(j);
            let offset = -mean * inv + affine.beta.map_or(0.0, |b| b[j]);
            *y = x * inv + offset;
        }
    }
}

/// LayerNormalization backward, in place (moments recomputed from the input).
pub(super) fn layer_norm_backward(
    b: Backward<'_, '_>,
    epsilon: f32,
    center: bool,
    scale: bool,
    grad: &mut [f32],
) {
    let w = b.w_in;
    let n = w as f32;
    let affine = Affine::split(b.params, w, center, scale);
    let (mut d_gamma, mut d_beta) = affine_grads(b.grads, w, center, scale);
    for (row_g, row_x) in grad.chunks_exact_mut(w).zip(b.input.chunks_exact(w)) {
        let (mean, var) = row_moments(row_x);
        let inv_std = 1.0 / math::sqrt(var + epsilon);
        let (mut sum, mut sum_xhat) = (0.0, 0.0);
        for (j, (g, &x)) in row_g.iter().zip(row_x).enumerate() {
            let xhat = (x - mean) * inv_std;
            if let Some(d) = d_gamma.as_deref_mut() {
                d[j] += g * xhat;
            }
            if let Some(d) = d_beta.as_deref_mut() {
                d[j] += g;
            }
            let dxhat = g * affine.gamma(j);
            sum += dxhat;
            sum_xhat += dxhat * xhat;
        }
        for (j, (g, &x)) in row_g.iter_mut().zip(row_x).enumerate() {
            let xhat = (x - mean) * inv_std;
            *g = inv_std * (*g * affine.gamma(j) - sum / n - xhat * sum_xhat / n);
        }
    }
}
