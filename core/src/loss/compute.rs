//! Each loss's per-sample value and gradient, and Keras's `accuracy` metric.
//!
//! Formulas follow Keras 3's `keras/src/losses/losses.py` and its TensorFlow backend
//! (tf_keras computes the same): probabilities are clipped to `[ε, 1 - ε]` before logs,
//! logits go through the stable log-softmax and softplus forms of
//! `softmax_cross_entropy_with_logits` and `sigmoid_cross_entropy_with_logits`.
//!
//! Without the `losses` feature ([`crate::kinds`]) only the device format's four losses
//! with Keras's default settings are built: the others' values and gradients are NaN, and
//! the trainer refuses them.

use super::{argmax, LossFunction, LossKind, Targets, EPSILON};
use crate::{kinds, math};

impl LossFunction {
    /// Loss of one sample: `pred` is the model's output row, `targets`/`sample` select
    /// the target row.
    pub fn value(&self, pred: &[f32], targets: &Targets, sample: usize) -> f32 {
        let row = Row::new(self, pred, targets, sample);
        match self.kind {
            LossKind::CategoricalCrossentropy | LossKind::SparseCategoricalCrossentropy => {
                if self.from_logits && kinds::Kind::Losses.built() {
                    let (max, log_sum) = log_sum_exp(pred);
                    (0..row.n)
                        .map(|j| row.t(j))
                        .zip(pred)
                        .filter(|(t, _)| *t != 0.0)
                        .map(|(t, &x)| t * (max + log_sum - x))
                        .sum()
                } else {
                    let sum: f32 = pred.iter().sum();
                    (0..row.n)
                        .map(|j| row.t(j))
                        .zip(pred)
                        .filter(|(t, _)| *t != 0.0)
                        .map(|(t, &p)| -t * math::ln(clip(p / sum)))
                        .sum()
                }
            }
            LossKind::KlDivergence => (0..row.n).map(|j| self.element(pred[j], row.t(j)).0).sum(),
            LossKind::CategoricalHinge if kinds::Kind::Losses.built() => categorical_hinge(&row, pred).0,
            _ => (0..row.n).map(|j| self.element(pred[j], row.t(j)).0).sum::<f32>() / row.n as f32,
        }
    }

    /// Writes `scale * dLoss/dpred` of one sample into `grad` (same length as `pred`).
    ///
    /// Pass `scale = 1 / batch` for Keras's mean over the batch. Gradients are exact for
    /// the formulas above (zero where a clip is active).
    pub fn gradient(&self, pred: &[f32], targets: &Targets, sample: usize, scale: f32, grad: &mut [f32]) {
        let row = Row::new(self, pred, targets, sample);
        match self.kind {
            LossKind::CategoricalCrossentropy | LossKind::SparseCategoricalCrossentropy => {
                if self.from_logits && kinds::Kind::Losses.built() {
                    // L = sum_j t_j (lse(x) - x_j): dL/dx_j = softmax_j * sum(t) - t_j.
                    let (max, log_sum) = log_sum_exp(pred);
                    let total: f32 = (0..row.n).map(|j| row.t(j)).sum();
                    for (j, (g, &x)) in grad.iter_mut().zip(pred).enumerate() {
                        let softmax = math::exp(x - max - log_sum);
                        *g = (softmax * total - row.t(j)) * scale;
                    }
                } else {
                    // q = p / S, L = -sum t ln clip(q); dL/dp_j = (g_j - sum_i g_i q_i) / S
                    // with g_i = dL/dq_i = -t_i / q_i where q_i is inside the clip range.
                    let sum: f32 = pred.iter().sum();
                    let mut dot = 0.0;
                    for (j, (g, &p)) in grad.iter_mut().zip(pred).enumerate() {
                        let t = row.t(j);
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
            }
            LossKind::KlDivergence => {
                for (j, g) in grad.iter_mut().enumerate() {
                    *g = self.element(pred[j], row.t(j)).1 * scale;
                }
            }
            LossKind::CategoricalHinge if kinds::Kind::Losses.built() => {
                let (value, negative) = categorical_hinge(&row, pred);
                for (j, g) in grad.iter_mut().enumerate() {
                    let t = row.t(j);
                    *g = if value > 0.0 {
                        (if j == negative { 1.0 - t } else { 0.0 } - t) * scale
                    } else {
                        0.0
                    };
                }
            }
            _ => {
                let k = scale / row.n as f32;
                for (j, g) in grad.iter_mut().enumerate() {
                    *g = self.element(pred[j], row.t(j)).1 * k;
                }
            }
        }
    }

    /// Whether the sample counts as correct for Keras's `accuracy` metric, which Keras
    /// chooses by shape: binary accuracy (`p > 0.5` against `t > 0.5`, on the output as
    /// it is, logits included) for one output, otherwise arg-max against the target class.
    pub fn is_correct(&self, pred: &[f32], targets: &Targets, sample: usize) -> bool {
        let n = pred.len();
        if n == 1 {
            (pred[0] > 0.5) == (targets.value(sample, 0, 1) > 0.5)
        } else {
            argmax(pred) == targets.class(sample, n)
        }
    }

    /// Value and derivative (with respect to `p`) of an element-wise loss at output `p`,
    /// target `t` (label smoothing and hinge's label mapping already applied).
    fn element(&self, p: f32, t: f32) -> (f32, f32) {
        match self.kind {
            // Left out of this build (crate::kinds).
            LossKind::MeanAbsoluteError
            | LossKind::MeanSquaredLogarithmicError
            | LossKind::Huber
            | LossKind::LogCosh
            | LossKind::KlDivergence
            | LossKind::Poisson
            | LossKind::Hinge
            | LossKind::SquaredHinge
            | LossKind::CategoricalHinge
                if !kinds::Kind::Losses.built() =>
            {
                (f32::NAN, f32::NAN)
            }
            LossKind::BinaryCrossentropy if self.from_logits && kinds::Kind::Losses.built() => {
                // max(x, 0) - x t + ln(1 + exp(-|x|)); d/dx = sigmoid(x) - t.
                let value = p.max(0.0) - p * t + math::ln_1p(math::exp(-math::abs(p)));
                (value, sigmoid(p) - t)
            }
            LossKind::BinaryCrossentropy => {
                let c = clip(p);
                let value = -(t * math::ln(c) + (1.0 - t) * math::ln(1.0 - c));
                let inside = p > EPSILON && p < 1.0 - EPSILON;
                (
                    value,
                    if inside {
                        -t / p + (1.0 - t) / (1.0 - p)
                    } else {
                        0.0
                    },
                )
            }
            LossKind::MeanSquaredError => {
                let e = p - t;
                (e * e, 2.0 * e)
            }
            LossKind::MeanAbsoluteError => {
                let e = p - t;
                (math::abs(e), math::sign(e))
            }
            LossKind::MeanSquaredLogarithmicError => {
                let first = math::ln(p.max(EPSILON) + 1.0);
                let d = first - math::ln(t.max(EPSILON) + 1.0);
                let slope = if p > EPSILON { 1.0 / (p + 1.0) } else { 0.0 };
                (d * d, 2.0 * d * slope)
            }
            LossKind::Huber => {
                let e = p - t;
                if math::abs(e) <= self.delta {
                    (0.5 * e * e, e)
                } else {
                    (
                        self.delta * math::abs(e) - 0.5 * self.delta * self.delta,
                        self.delta * math::sign(e),
                    )
                }
            }
            LossKind::LogCosh => {
                let e = p - t;
                (e + softplus(-2.0 * e) - core::f32::consts::LN_2, math::tanh(e))
            }
            LossKind::KlDivergence => {
                let t = t.clamp(EPSILON, 1.0);
                let c = p.clamp(EPSILON, 1.0);
                let inside = p > EPSILON && p < 1.0;
                (t * math::ln(t / c), if inside { -t / p } else { 0.0 })
            }
            LossKind::Poisson => (p - t * math::ln(p + EPSILON), 1.0 - t / (p + EPSILON)),
            LossKind::Hinge => {
                let margin = 1.0 - t * p;
                (margin.max(0.0), if margin > 0.0 { -t } else { 0.0 })
            }
            LossKind::SquaredHinge => {
                let margin = (1.0 - t * p).max(0.0);
                (margin * margin, -2.0 * t * margin)
            }
            LossKind::CategoricalCrossentropy
            | LossKind::SparseCategoricalCrossentropy
            | LossKind::CategoricalHinge => (0.0, 0.0),
        }
    }
}

/// One sample's targets as the loss sees them.
struct Row<'t> {
    targets: &'t Targets<'t>,
    sample: usize,
    n: usize,
    /// `t * scale + offset`: label smoothing, or hinge's 0/1 → -1/1.
    scale: f32,
    offset: f32,
}

impl<'t> Row<'t> {
    fn new(loss: &LossFunction, pred: &[f32], targets: &'t Targets<'t>, sample: usize) -> Row<'t> {
        let n = pred.len();
        let s = if kinds::Kind::Losses.built() {
            loss.label_smoothing
        } else {
            0.0
        };
        let (scale, offset) = match loss.kind {
            LossKind::CategoricalCrossentropy => (1.0 - s, s / n as f32),
            LossKind::BinaryCrossentropy => (1.0 - s, 0.5 * s),
            // Keras maps targets that are all 0 or 1 to -1 or 1.
            LossKind::Hinge | LossKind::SquaredHinge
                if kinds::Kind::Losses.built()
                    && (0..n).all(|j| {
                        let t = targets.value(sample, j, n);
                        t == 0.0 || t == 1.0
                    }) =>
            {
                (2.0, -1.0)
            }
            _ => (1.0, 0.0),
        };
        Row {
            targets,
            sample,
            n,
            scale,
            offset,
        }
    }

    /// Target of output `j`.
    fn t(&self, j: usize) -> f32 {
        self.targets.value(self.sample, j, self.n) * self.scale + self.offset
    }
}

/// The categorical hinge's value and the output its negative term picks.
fn categorical_hinge(row: &Row, pred: &[f32]) -> (f32, usize) {
    let mut positive = 0.0;
    let mut negative = 0;
    let mut best = f32::NEG_INFINITY;
    for (j, &p) in pred.iter().enumerate() {
        let t = row.t(j);
        positive += t * p;
        let v = (1.0 - t) * p;
        if v > best {
            best = v;
            negative = j;
        }
    }
    ((best - positive + 1.0).max(0.0), negative)
}

/// `(max, ln(sum(exp(x - max))))`: the log-sum-exp of `x` is their sum.
fn log_sum_exp(x: &[f32]) -> (f32, f32) {
    let max = x.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    let sum: f32 = x.iter().map(|&v| math::exp(v - max)).sum();
    (max, math::ln(sum))
}

/// `ln(1 + exp(x))`, stable for large `|x|`.
fn softplus(x: f32) -> f32 {
    x.max(0.0) + math::ln_1p(math::exp(-math::abs(x)))
}

/// `1 / (1 + exp(-x))`, stable for large `|x|`.
fn sigmoid(x: f32) -> f32 {
    let e = math::exp(-math::abs(x));
    if x >= 0.0 {
        1.0 / (1.0 + e)
    } else {
        e / (1.0 + e)
    }
}

/// Keras's probability clip to `[EPSILON, 1 - EPSILON]`.
fn clip(p: f32) -> f32 {
    p.clamp(EPSILON, 1.0 - EPSILON)
}
