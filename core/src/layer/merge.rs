//! Merge layers: several inputs of one batch combined into one output, forward, and the
//! share of the output's gradient each input gets backward.

use serde::{Deserialize, Serialize};

/// How a merge layer combines its inputs (`keras.layers.Add`, ..., `Concatenate`), in
/// Keras's order: the first input, then each next one folded in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Merge {
    /// `x₀ + x₁ + …`.
    Add,
    /// `x₀ − x₁` (exactly two inputs).
    Subtract,
    /// `x₀ · x₁ · …`.
    Multiply,
    /// `(x₀ + x₁ + …) / n`.
    Average,
    /// Element-wise maximum.
    Maximum,
    /// Element-wise minimum.
    Minimum,
    /// The inputs side by side on the last (flat) axis.
    Concatenate,
}

impl Merge {
    /// Every merge, in declaration order.
    pub const ALL: [Merge; 7] = [
        Merge::Add,
        Merge::Subtract,
        Merge::Multiply,
        Merge::Average,
        Merge::Maximum,
        Merge::Minimum,
        Merge::Concatenate,
    ];

    /// The Keras class name.
    pub fn keras_class(self) -> &'static str {
        match self {
            Merge::Add => "Add",
            Merge::Subtract => "Subtract",
            Merge::Multiply => "Multiply",
            Merge::Average => "Average",
            Merge::Maximum => "Maximum",
            Merge::Minimum => "Minimum",
            Merge::Concatenate => "Concatenate",
        }
    }

    /// Whether `count` inputs are allowed: exactly 2 for Subtract, else at least 2.
    pub(crate) fn takes(self, count: usize) -> bool {
        match self {
            Merge::Subtract => count == 2,
            _ => count >= 2,
        }
    }

    /// Folds `v` into the running result `acc` (Concatenate does not fold).
    fn fold(self, acc: f32, v: f32) -> f32 {
        match self {
            Merge::Add | Merge::Average => acc + v,
            Merge::Subtract => acc - v,
            Merge::Multiply => acc * v,
            Merge::Maximum => {
                if v > acc {
                    v
                } else {
                    acc
                }
            }
            Merge::Minimum => {
                if v < acc {
                    v
                } else {
                    acc
                }
            }
            Merge::Concatenate => acc,
        }
    }
}

/// `dst = merge(inputs)` over `batch` samples; each input is `batch × w_k` row-major.
pub(crate) fn forward(merge: Merge, inputs: &[&[f32]], batch: usize, dst: &mut [f32]) {
    if merge == Merge::Concatenate {
        let w_out = dst.len() / batch.max(1);
        let mut at = 0;
        for x in inputs {
            let w = x.len() / batch.max(1);
            for (row, part) in dst.chunks_exact_mut(w_out).zip(x.chunks_exact(w)) {
                row[at..at + w].copy_from_slice(part);
            }
            at += w;
        }
        return;
    }
    dst.copy_from_slice(inputs[0]);
    for x in &inputs[1..] {
        for (d, &v) in dst.iter_mut().zip(*x) {
            *d = merge.fold(*d, v);
        }
    }
    if merge == Merge::Average {
        let n = inputs.len() as f32;
        dst.iter_mut().for_each(|d| *d /= n);
    }
}

/// Adds input `k`'s share of the output gradient `grad` to `acc` (dL/d`input k`).
/// Maximum and Minimum pass the gradient to the input they selected, the first one on
/// ties, as Keras's pairwise fold does.
pub(crate) fn backward(
    merge: Merge,
    k: usize,
    inputs: &[&[f32]],
    batch: usize,
    grad: &[f32],
    acc: &mut [f32],
) {
    match merge {
        Merge::Add => acc.iter_mut().zip(grad).for_each(|(a, &g)| *a += g),
        Merge::Subtract => {
            let sign = if k == 0 { 1.0 } else { -1.0 };
            acc.iter_mut().zip(grad).for_each(|(a, &g)| *a += sign * g);
        }
        Merge::Average => {
            let n = inputs.len() as f32;
            acc.iter_mut().zip(grad).for_each(|(a, &g)| *a += g / n);
        }
        Merge::Multiply => {
            for (e, (a, &g)) in acc.iter_mut().zip(grad).enumerate() {
                let others = inputs
                    .iter()
                    .enumerate()
                    .filter(|&(j, _)| j != k)
                    .fold(1.0, |p, (_, x)| p * x[e]);
                *a += g * others;
            }
        }
        Merge::Maximum | Merge::Minimum => {
            for (e, (a, &g)) in acc.iter_mut().zip(grad).enumerate() {
                let mut best = 0;
                for j in 1..inputs.len() {
                    if merge.fold(inputs[best][e], inputs[j][e]) != inputs[best][e] {
                        best = j;
                    }
                }
                if best == k {
                    *a += g;
                }
            }
        }
        Merge::Concatenate => {
            let w_out = grad.len() / batch.max(1);
            let at: usize = inputs[..k].iter().map(|x| x.len() / batch.max(1)).sum();
            let w = acc.len() / batch.max(1);
            for (a, g) in acc.chunks_exact_mut(w).zip(grad.chunks_exact(w_out)) {
                a.iter_mut().zip(&g[at..at + w]).for_each(|(a, &g)| *a += g);
            }
        }
    }
}
