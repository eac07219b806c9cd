//! The targets of a batch, as the losses and the accuracy metric read them.

use super::argmax;

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
    pub(super) fn value(&self, i: usize, j: usize, outputs: usize) -> f32 {
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
    pub(super) fn class(&self, i: usize, outputs: usize) -> usize {
        match self {
            Targets::Values(v) => argmax(v.get(i * outputs..(i + 1) * outputs).unwrap_or(&[])),
            Targets::Classes(c) => c.get(i).map(|&k| k as usize).unwrap_or(usize::MAX),
        }
    }
}
