//! Keras's weight regularizers (`L1`, `L2`, `L1L2`) and constraints (`MaxNorm`,
//! `NonNeg`, `UnitNorm`, `MinMaxNorm`) for a Dense layer's kernel and bias.

use crate::math;
use serde::{Deserialize, Serialize};

/// Keras's `epsilon()` in the norm constraints' denominators.
const EPSILON: f32 = 1e-7;

/// `l1 * sum(|w|) + l2 * sum(w^2)`, added to the training loss (Keras's `L1L2`; `L1` and
/// `L2` are it with the other factor 0).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Regularizer {
    /// The L1 factor.
    pub l1: f32,
    /// The L2 factor.
    pub l2: f32,
}

/// The running sums a [`Regularizer`]'s penalty is made of, `sum(|w|)` and `sum(w^2)`:
/// summed slice after slice, in order, they give the bits of [`Regularizer::loss`] of the
/// slices joined (an activity penalty over a batch its samples run one by one).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PenaltySums {
    abs: f32,
    square: f32,
}

impl Regularizer {
    /// The penalty of the weights `w`.
    pub fn loss(&self, w: &[f32]) -> f32 {
        let mut sums = PenaltySums::default();
        Self::accumulate(w, &mut sums);
        self.penalty(sums)
    }

    /// Adds `w` to the running `sums`.
    pub fn accumulate(w: &[f32], sums: &mut PenaltySums) {
        for &x in w {
            sums.abs += math::abs(x);
            sums.square += x * x;
        }
    }

    /// The penalty of everything accumulated in `sums`.
    pub fn penalty(&self, sums: PenaltySums) -> f32 {
        self.l1 * sums.abs + self.l2 * sums.square
    }

    /// Adds the penalty's gradient to `grad` (same length as `w`; the sign of 0 is 0, as
    /// TensorFlow's gradient of `abs`).
    pub fn add_gradient(&self, w: &[f32], grad: &mut [f32]) {
        self.add_scaled_gradient(w, 1.0, grad);
    }

    /// Adds `scale ×` the penalty's gradient to `grad`: an activity regularizer's, whose
    /// penalty joins a loss that is a mean over the batch (`scale = 1 / N`).
    pub fn add_scaled_gradient(&self, w: &[f32], scale: f32, grad: &mut [f32]) {
        for (g, &x) in grad.iter_mut().zip(w) {
            *g += scale * (self.l1 * math::sign(x) + 2.0 * self.l2 * x);
        }
    }
}

/// Which norms a norm constraint takes, as Keras's `axis` for a Dense kernel of shape
/// `(inputs, units)`: `0` (Keras's default) one per unit over its inputs, `1` one per
/// input over the units. A bias has one axis: its norm is the whole vector's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NormAxis {
    /// `axis=0`: over each column (the inputs of one unit).
    Inputs,
    /// `axis=1` (or `-1` for a kernel): over each row (one input's weights to every unit).
    Units,
}

/// A projection applied to a weight tensor after each optimizer step.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Constraint {
    /// Norms above `max_value` are scaled down to it.
    MaxNorm {
        /// The largest norm.
        max_value: f32,
        /// Which norms.
        axis: NormAxis,
    },
    /// Negative weights become 0.
    NonNeg,
    /// Every norm is scaled to 1.
    UnitNorm {
        /// Which norms.
        axis: NormAxis,
    },
    /// Norms move into `[min_value, max_value]` at `rate` (1: all the way).
    MinMaxNorm {
        /// The smallest norm.
        min_value: f32,
        /// The largest norm.
        max_value: f32,
        /// How far to move: `rate * clip(norm) + (1 - rate) * norm`.
        rate: f32,
        /// Which norms.
        axis: NormAxis,
    },
}

impl Constraint {
    /// Applies the constraint to a `rows × cols` tensor stored row-major (a kernel is
    /// `inputs × units`; a bias is `units × 1`).
    pub fn apply(&self, w: &mut [f32], rows: usize, cols: usize) {
        let (axis, target): (NormAxis, &dyn Fn(f32) -> f32) = match *self {
            Constraint::NonNeg => {
                w.iter_mut().filter(|x| **x < 0.0).for_each(|x| *x = 0.0);
                return;
            }
            Constraint::MaxNorm { max_value, axis } => (axis, &move |n: f32| n.clamp(0.0, max_value)),
            Constraint::UnitNorm { axis } => (axis, &|_| 1.0),
            Constraint::MinMaxNorm {
                min_value,
                max_value,
                rate,
                axis,
            } => (axis, &move |n: f32| {
                rate * n.clamp(min_value, max_value) + (1.0 - rate) * n
            }),
        };
        // A one-column tensor (a bias) has a single norm whatever the axis.
        let axis = if cols == 1 { NormAxis::Inputs } else { axis };
        let (groups, len, stride, step) = match axis {
            NormAxis::Inputs => (cols, rows, cols, 1),
            NormAxis::Units => (rows, cols, 1, cols),
        };
        for g in 0..groups {
            let at = |i: usize| g * step + i * stride;
            let norm = math::sqrt((0..len).map(|i| w[at(i)] * w[at(i)]).sum());
            // Keras: w * desired / (epsilon + norm).
            let factor = target(norm) / (EPSILON + norm);
            (0..len).for_each(|i| w[at(i)] *= factor);
        }
    }
}
