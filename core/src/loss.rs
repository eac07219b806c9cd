//! Loss functions with Keras semantics, and the accuracy metric that goes with each.

use crate::math;
use serde::{Deserialize, Serialize};

/// Keras's `epsilon()`: probabilities are clipped to `[EPSILON, 1 - EPSILON]` before logs.
pub const EPSILON: f32 = 1e-7;

/// A loss function, reduced as Keras does: per-sample value, then mean over the batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Loss {
    /// `-sum(t * ln(clip(p / sum(p))))` over classes; targets are one-hot (or class indices).
    CategoricalCrossentropy,
    /// Categorical cross-entropy with targets given as class indices.
    SparseCategoricalCrossentropy,
    /// `-mean(t * ln(clip(p)) + (1 - t) * ln(1 - clip(p)))` over outputs.
    BinaryCrossentropy,
    /// `mean((t - p)^2)` over outputs.
    MeanSquaredError,
}

/// The targets of a batch: either one value per output, or one class index per sample.
#[derive(Clone, Copy, Debug)]
pub enum Targets<'a> {
    /// `batch × outputs` values, row-major (one-hot rows for categorical cross-entropy).
    Values(&'a [f32]),
    /// One class index per sample (sparse labels, or one-hot rows given by index).
    Classes(&'a [u32]),
}

impl Targets<'_> {
    /// Number of samples the targets describe for a model with `outputs` outputs.
    pub fn samples(&self, outputs: usize) -> usize {
        match self {
            Targets::Values(v) => v.len().checked_div(outputs).unwrap_or(0),
            Targets::Classes(c) => c.len(),
        }
    }

    /// Target value of output `j` of sample `i`.
    fn value(&self, i: usize, j: usize, outputs: usize) -> f32 {
        match self {
            Targets::Values(v) => v.get(i * outputs + j).copied().unwrap_or(0.0),
            Targets::Classes(c) => {
                if c.get(i).map(|&k| k as usize) == Some(j) {
                    1.0
                } else {
                    0.0
                }
            }
        }
    }

    /// The class of sample `i`: its index, or the arg-max of its target row.
    fn class(&self, i: usize, outputs: usize) -> usize {
        match self {
            Targets::Values(v) => argmax(v.get(i * outputs..(i + 1) * outputs).unwrap_or(&[])),
            Targets::Classes(c) => c.get(i).map(|&k| k as usize).unwrap_or(usize::MAX),
        }
    }
}

impl Loss {
    /// Every loss, in a fixed order (the order of the device format's tags).
    pub const ALL: [Loss; 4] = [
        Loss::CategoricalCrossentropy,
        Loss::SparseCategoricalCrossentropy,
        Loss::BinaryCrossentropy,
        Loss::MeanSquaredError,
    ];

    /// The name Keras writes in a training config.
    pub fn keras_name(self) -> &'static str {
        match self {
            Loss::CategoricalCrossentropy => "categorical_crossentropy",
            Loss::SparseCategoricalCrossentropy => "sparse_categorical_crossentropy",
            Loss::BinaryCrossentropy => "binary_crossentropy",
            Loss::MeanSquaredError => "mean_squared_error",
        }
    }

    /// Parses a Keras loss name, including the short aliases (`mse`) and class names.
    pub fn from_keras_name(name: &str) -> Option<Loss> {
        match name {
            "categorical_crossentropy" | "CategoricalCrossentropy" => Some(Loss::CategoricalCrossentropy),
            "sparse_categorical_crossentropy" | "SparseCategoricalCrossentropy" => {
                Some(Loss::SparseCategoricalCrossentropy)
            }
            "binary_crossentropy" | "BinaryCrossentropy" => Some(Loss::BinaryCrossentropy),
            "mean_squared_error" | "mse" | "MeanSquaredError" => Some(Loss::MeanSquaredError),
            _ => None,
        }
    }

    /// Loss of one sample: `pred` is the model's output row, `targets`/`sample` select
    /// the target row.
    pub fn value(self, pred: &[f32], targets: &Targets, sample: usize) -> f32 {
        let n = pred.len();
        match self {
            Loss::CategoricalCrossentropy | Loss::SparseCategoricalCrossentropy => {
                let sum: f32 = pred.iter().sum();
                let mut loss = 0.0;
                for (j, &p) in pred.iter().enumerate() {
                    let t = targets.value(sample, j, n);
                    if t != 0.0 {
                        loss -= t * math::ln(clip(p / sum));
                    }
                }
                loss
            }
            Loss::BinaryCrossentropy => {
                let mut loss = 0.0;
                for (j, &p) in pred.iter().enumerate() {
                    let t = targets.value(sample, j, n);
                    let p = clip(p);
                    loss -= t * math::ln(p) + (1.0 - t) * math::ln(1.0 - p);
                }
                loss / n as f32
            }
            Loss::MeanSquaredError => {
                let mut loss = 0.0;
                for (j, &p) in pred.iter().enumerate() {
                    let d = targets.value(sample, j, n) - p;
                    loss += d * d;
                }
                loss / n as f32
            }
        }
    }

    /// Writes `scale * dLoss/dpred` of one sample into `grad` (same length as `pred`).
    ///
    /// Pass `scale = 1 / batch` for Keras's mean over the batch. Gradients are exact
    /// for the clipped, normalised formulas above (zero where clipping is active).
    pub fn gradient(self, pred: &[f32], targets: &Targets, sample: usize, scale: f32, grad: &mut [f32]) {
        let n = pred.len();
        match self {
            Loss::CategoricalCrossentropy | Loss::SparseCategoricalCrossentropy => {
                // q = p / S, L = -sum t ln clip(q); dL/dp_j = (g_j - sum_i g_i q_i) / S
                // with g_i = dL/dq_i = -t_i / q_i where q_i is inside the clip range.
                let sum: f32 = pred.iter().sum();
                let mut dot = 0.0;
                for (j, (g, &p)) in grad.iter_mut().zip(pred).enumerate() {
                    let t = targets.value(sample, j, n);
                    let q = p / sum;
                    *g = if t != 0.0 && q > EPSILON && q < 1.0 - EPSILON {
                        -t / q
                    } else {
                        0.0
                    };
                    dot += *g * q;
                }
                for g in grad.iter_mut() {
                    *g = (*g - dot) / sum * scale;
                }
            }
            Loss::BinaryCrossentropy => {
                let inv_n = scale / n as f32;
                for (j, (g, &p)) in grad.iter_mut().zip(pred).enumerate() {
                    let t = targets.value(sample, j, n);
                    *g = if p > EPSILON && p < 1.0 - EPSILON {
                        (-t / p + (1.0 - t) / (1.0 - p)) * inv_n
                    } else {
                        0.0
                    };
                }
            }
            Loss::MeanSquaredError => {
                let k = 2.0 * scale / n as f32;
                for (j, (g, &p)) in grad.iter_mut().zip(pred).enumerate() {
                    *g = k * (p - targets.value(sample, j, n));
                }
            }
        }
    }

    /// Whether the sample counts as correct for Keras's `accuracy` metric under this loss:
    /// arg-max match for the categorical losses, `p > 0.5` per output for binary
    /// cross-entropy (all outputs must match), arg-max match for mean squared error.
    pub fn is_correct(self, pred: &[f32], targets: &Targets, sample: usize) -> bool {
        let n = pred.len();
        match self {
            Loss::BinaryCrossentropy => pred
                .iter()
                .enumerate()
                .all(|(j, &p)| (p > 0.5) == (targets.value(sample, j, n) > 0.5)),
            _ => argmax(pred) == targets.class(sample, n),
        }
    }
}

/// Keras's probability clip to `[EPSILON, 1 - EPSILON]`.
fn clip(p: f32) -> f32 {
    p.clamp(EPSILON, 1.0 - EPSILON)
}

/// Index of the largest value (the first one on ties, as NumPy's `argmax`).
pub fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}
