//! Layers active in training only: `Dropout`, `GaussianNoise`, `GaussianDropout`,
//! `AlphaDropout` (the identity at inference). The multiplicative ones keep the factor
//! they applied to each value for the backward pass.

use super::{Backward, Draws, Io, Training};
use crate::activation::{SELU_ALPHA, SELU_SCALE};
use crate::{math, Rng};

/// Applies `value(x, rng) -> (y, factor)` to every value in training, recording the
/// factors when the layer keeps them; copies at inference.
fn apply(
    io: Io<'_, '_>,
    train: Option<&mut Training<'_>>,
    mut value: impl FnMut(f32, &mut Rng) -> (f32, f32),
) {
    let Some(t) = train else {
        io.dst.copy_from_slice(io.src);
        return;
    };
    let mut run = |rng: &mut Rng, dst: &mut [f32], src: &[f32], kept: &mut [f32]| {
        for (i, (y, &x)) in dst.iter_mut().zip(src).enumerate() {
            let (out, factor) = value(x, rng);
            *y = out;
            if let Some(k) = kept.get_mut(i) {
                *k = factor;
            }
        }
    };
    match t.draws {
        Draws::Stream(ref mut rng) => run(rng, io.dst, io.src, t.kept),
        Draws::Keyed {
            seed,
            layer,
            first_sample,
        } => {
            let w = io.w_in;
            for (r, (dst, src)) in io.dst.chunks_exact_mut(w).zip(io.src.chunks_exact(w)).enumerate() {
                let kept = t.kept.get_mut(r * w..).unwrap_or_default();
                run(&mut Rng::keyed(seed, layer, first_sample + r), dst, src, kept);
            }
        }
    }
}

/// Inverted dropout: keeps each value with probability `1 − rate`, scaled by `1 / (1 − rate)`.
pub(super) fn dropout_forward(io: Io<'_, '_>, rate: f32, train: Option<&mut Training<'_>>) {
    let keep = 1.0 / (1.0 - rate);
    apply(io, train, |x, rng| {
        let factor = if rate > 0.0 && rng.next_f32() < rate {
            0.0
        } else {
            keep
        };
        (x * factor, factor)
    });
}

/// `x + N(0, stddev²)`.
pub(super) fn gaussian_noise_forward(io: Io<'_, '_>, stddev: f32, train: Option<&mut Training<'_>>) {
    apply(io, train, |x, rng| {
        if stddev > 0.0 {
            (x + stddev * rng.next_normal(), 1.0)
        } else {
            (x, 1.0)
        }
    });
}

/// `x · N(1, rate / (1 − rate))`.
pub(super) fn gaussian_dropout_forward(io: Io<'_, '_>, rate: f32, train: Option<&mut Training<'_>>) {
    let stddev = math::sqrt(rate / (1.0 - rate));
    apply(io, train, |x, rng| {
        let factor = if rate > 0.0 {
            1.0 + stddev * rng.next_normal()
        } else {
            1.0
        };
        (x * factor, factor)
    });
}

/// Keras's AlphaDropout: dropped values become SELU's saturation value `−alpha·scale`,
/// then `a · x + b` restores the mean and variance.
pub(super) fn alpha_dropout_forward(io: Io<'_, '_>, rate: f32, train: Option<&mut Training<'_>>) {
    let alpha_p = -SELU_ALPHA * SELU_SCALE;
    let a = 1.0 / math::sqrt((1.0 - rate) * (1.0 + rate * alpha_p * alpha_p));
    let b = -a * alpha_p * rate;
    apply(io, train, |x, rng| {
        if rate > 0.0 && rng.next_f32() < rate {
            (a * alpha_p + b, 0.0)
        } else if rate > 0.0 {
            (a * x + b, a)
        } else {
            (x, 1.0)
        }
    });
}

/// Backward of the multiplicative layers: `dx = dy · factor`, in place.
pub(super) fn masked_backward(b: Backward<'_, '_>, grad: &mut [f32]) {
    for (g, k) in grad.iter_mut().zip(b.kept) {
        *g *= k;
    }
}
