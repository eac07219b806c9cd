//! Activation functions with Keras's exact definitions, forward and backward.

use crate::{kinds, math, MatMul, Portable};
use serde::{Deserialize, Serialize};

/// An element-wise (or, for softmax, row-wise) activation function.
///
/// Names and formulas follow `keras.activations`; [`Activation::keras_name`] gives the
/// string Keras writes in a layer config.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Activation {
    /// `x`.
    Linear,
    /// `max(x, 0)`.
    Relu,
    /// `1 / (1 + exp(-x))`.
    Sigmoid,
    /// `tanh(x)`.
    Tanh,
    /// `exp(x - max) / sum(exp(x - max))` over the row.
    Softmax,
    /// `ln(1 + exp(x))`.
    Softplus,
    /// `x / (1 + |x|)`.
    Softsign,
    /// `x` for `x > 0`, else `exp(x) - 1` (alpha = 1).
    Elu,
    /// `scale * elu(x, alpha)` with Keras's self-normalising constants.
    Selu,
    /// Keras 3 / tf_keras ≥ 2.11 definition: `clip(x / 6 + 0.5, 0, 1)`.
    HardSigmoid,
    /// `x * sigmoid(x)` (Keras's `swish`, also called `silu`).
    Swish,
    /// `0.5 * x * (1 + erf(x / sqrt(2)))` (Keras's default `approximate=False`).
    Gelu,
}

/// SELU's alpha, as in Keras.
pub const SELU_ALPHA: f32 = 1.673_263_2;
/// SELU's scale, as in Keras.
pub const SELU_SCALE: f32 = 1.050_701;

impl Activation {
    /// Every activation, in a fixed order (the order of the device format's tags).
    pub const ALL: [Activation; 12] = [
        Activation::Linear,
        Activation::Relu,
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Softmax,
        Activation::Softplus,
        Activation::Softsign,
        Activation::Elu,
        Activation::Selu,
        Activation::HardSigmoid,
        Activation::Swish,
        Activation::Gelu,
    ];

    /// The name Keras writes in a layer config (`"relu"`, `"hard_sigmoid"`, ...).
    pub fn keras_name(self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Relu => "relu",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Softmax => "softmax",
            Activation::Softplus => "softplus",
            Activation::Softsign => "softsign",
            Activation::Elu => "elu",
            Activation::Selu => "selu",
            Activation::HardSigmoid => "hard_sigmoid",
            Activation::Swish => "swish",
            Activation::Gelu => "gelu",
        }
    }

    /// Parses a Keras activation name; accepts the aliases `silu` (swish) and
    /// `None`-like spellings are left to the caller.
    pub fn from_keras_name(name: &str) -> Option<Activation> {
        match name {
            "silu" => Some(Activation::Swish),
            _ => Activation::ALL.iter().copied().find(|a| a.keras_name() == name),
        }
    }

    /// The group of kinds the activation needs beyond the base (linear, ReLU, sigmoid,
    /// softmax), if any ([`kinds`]).
    pub fn needs(self) -> Option<kinds::Kind> {
        match self {
            Activation::Linear | Activation::Relu | Activation::Sigmoid | Activation::Softmax => None,
            _ => Some(kinds::Kind::Activations),
        }
    }

    /// True when the activation needs the whole row (softmax), false when element-wise.
    pub fn is_row_wise(self) -> bool {
        self == Activation::Softmax
    }

    /// Applies the activation to one row in place.
    pub fn forward(self, row: &mut [f32]) {
        self.forward_with(&Portable, row);
    }

    /// Applies the activation in place to `values`, rows of `width` values (a batch):
    /// row by row for softmax, all at once for the element-wise ones.
    pub fn forward_rows<K: MatMul + ?Sized>(self, kernel: &K, values: &mut [f32], width: usize) {
        if self.is_row_wise() {
            for row in values.chunks_exact_mut(width.max(1)) {
                self.forward_with(kernel, row);
            }
        } else {
            self.forward_with(kernel, values);
        }
    }

    /// Applies the activation to one row in place, taking the exponentials of sigmoid
    /// and softmax from `kernel` (same bits as [`forward`](Self::forward), maybe faster).
    /// An activation this build leaves out ([`kinds`]) gives NaN.
    pub fn forward_with<K: MatMul + ?Sized>(self, kernel: &K, row: &mut [f32]) {
        match self {
            Activation::Linear => {}
            Activation::Softmax => softmax(kernel, row),
            Activation::Sigmoid => {
                for chunk in row.chunks_mut(SIGMOID_CHUNK) {
                    sigmoid_in_place(kernel, chunk);
                }
            }
            // The most common one in a loop of its own, which the compiler vectorises.
            Activation::Relu => {
                for v in row.iter_mut() {
                    *v = relu(*v);
                }
            }
            // Left out of this build (crate::kinds): no valid network holds it.
            _ if !kinds::Kind::Activations.built() => row.fill(f32::NAN),
            _ => {
                for v in row.iter_mut() {
                    *v = self.scalar(*v);
                }
            }
        }
    }

    /// The activation of one value (softmax excluded: it is row-wise and returns `x`).
    fn scalar(self, x: f32) -> f32 {
        match self {
            Activation::Linear | Activation::Softmax => x,
            Activation::Relu => relu(x),
            Activation::Sigmoid => sigmoid(x),
            Activation::Tanh => math::tanh(x),
            Activation::Softplus => softplus(x),
            Activation::Softsign => x / (1.0 + math::abs(x)),
            Activation::Elu => {
                if x > 0.0 {
                    x
                } else {
                    math::exp(x) - 1.0
                }
            }
            Activation::Selu => {
                if x > 0.0 {
                    SELU_SCALE * x
                } else {
                    SELU_SCALE * SELU_ALPHA * (math::exp(x) - 1.0)
                }
            }
            Activation::HardSigmoid => clamp01(x / 6.0 + 0.5),
            Activation::Swish => x * sigmoid(x),
            Activation::Gelu => 0.5 * x * (1.0 + math::erf(x * core::f32::consts::FRAC_1_SQRT_2)),
        }
    }

    /// Back-propagates through the activation for one row.
    ///
    /// `input` is the row before the activation, `output` the row after it, and `grad`
    /// holds dL/d`output` on entry and dL/d`input` on return. All three have the same length.
    pub fn backward(self, input: &[f32], output: &[f32], grad: &mut [f32]) {
        match self {
            Activation::Linear => {}
            Activation::Softmax => {
                let dot: f32 = output.iter().zip(grad.iter()).map(|(y, g)| y * g).sum();
                for (g, y) in grad.iter_mut().zip(output) {
                    *g = y * (*g - dot);
                }
            }
            // The most common ones in loops of their own, which the compiler vectorises.
            Activation::Relu => {
                for (g, &x) in grad.iter_mut().zip(input) {
                    *g *= relu_derivative(x);
                }
            }
            Activation::Sigmoid => {
                for (g, &y) in grad.iter_mut().zip(output) {
                    *g *= sigmoid_derivative(y);
                }
            }
            _ if !kinds::Kind::Activations.built() => grad.fill(f32::NAN),
            _ => {
                for ((g, &x), &y) in grad.iter_mut().zip(input).zip(output) {
                    *g *= self.derivative(x, y);
                }
            }
        }
    }

    /// dy/dx of an element-wise activation at input `x` with output `y`.
    fn derivative(self, x: f32, y: f32) -> f32 {
        match self {
            Activation::Linear | Activation::Softmax => 1.0,
            Activation::Relu => relu_derivative(x),
            Activation::Sigmoid => sigmoid_derivative(y),
            Activation::Tanh => 1.0 - y * y,
            Activation::Softplus => sigmoid(x),
            Activation::Softsign => {
                let d = 1.0 + math::abs(x);
                1.0 / (d * d)
            }
            Activation::Elu => {
                if x > 0.0 {
                    1.0
                } else {
                    y + 1.0
                }
            }
            Activation::Selu => {
                if x > 0.0 {
                    SELU_SCALE
                } else {
                    y + SELU_SCALE * SELU_ALPHA
                }
            }
            Activation::HardSigmoid => {
                if x > -3.0 && x < 3.0 {
                    1.0 / 6.0
                } else {
                    0.0
                }
            }
            Activation::Swish => {
                let s = sigmoid(x);
                s + x * s * (1.0 - s)
            }
            Activation::Gelu => {
                let cdf = 0.5 * (1.0 + math::erf(x * core::f32::consts::FRAC_1_SQRT_2));
                let pdf = math::exp(-0.5 * x * x) * 0.398_942_3;
                cdf + x * pdf
            }
        }
    }
}

/// `max(x, 0)` (0 for NaN).
fn relu(x: f32) -> f32 {
    if x > 0.0 {
        x
    } else {
        0.0
    }
}

/// The derivative of [`relu`] at `x`: 1 above 0, else 0.
fn relu_derivative(x: f32) -> f32 {
    if x > 0.0 {
        1.0
    } else {
        0.0
    }
}

/// The derivative of the sigmoid, from its output `y`.
fn sigmoid_derivative(y: f32) -> f32 {
    y * (1.0 - y)
}

fn clamp01(x: f32) -> f32 {
    x.clamp(0.0, 1.0)
}

/// The logistic sigmoid, computed without overflow for large |x|.
fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + math::exp(-x))
    } else {
        let e = math::exp(x);
        e / (1.0 + e)
    }
}

/// Values per [`sigmoid_in_place`] call (one bit each of its sign mask).
const SIGMOID_CHUNK: usize = 64;

/// [`sigmoid`] of up to [`SIGMOID_CHUNK`] values, their exponentials `exp(-|x|)` taken
/// together.
fn sigmoid_in_place<K: MatMul + ?Sized>(kernel: &K, values: &mut [f32]) {
    // Bit i: `x >= 0` for value i (false for NaN, as in `sigmoid`).
    let mut at_least_zero = 0u64;
    for (i, v) in values.iter_mut().enumerate() {
        at_least_zero |= u64::from(*v >= 0.0) << i;
        *v = -v.abs();
    }
    kernel.exp_in_place(values);
    for (i, e) in values.iter_mut().enumerate() {
        *e = if at_least_zero >> i & 1 == 1 {
            1.0 / (1.0 + *e)
        } else {
            *e / (1.0 + *e)
        };
    }
}

/// `ln(1 + exp(x))` without overflow.
fn softplus(x: f32) -> f32 {
    if x > 0.0 {
        x + math::ln_1p(math::exp(-x))
    } else {
        math::ln_1p(math::exp(x))
    }
}

/// Numerically stable softmax of one row, in place.
fn softmax<K: MatMul + ?Sized>(kernel: &K, row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    for v in row.iter_mut() {
        *v -= max;
    }
    kernel.exp_in_place(row);
    let mut sum = 0.0;
    for v in row.iter() {
        sum += *v;
    }
    for v in row.iter_mut() {
        *v /= sum;
    }
}
