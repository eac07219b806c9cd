//! Weight initializers with Keras's definitions.

use crate::{math, Rng};
use serde::{Deserialize, Serialize};

/// How a weight tensor is filled before training (`keras.initializers`).
///
/// Loading a trained model never needs its initializers; they are kept so that a model
/// saved again names the ones Keras gave it, and used when a model is trained from scratch.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Initializer {
    /// Uniform in `±sqrt(6 / (fan_in + fan_out))` (Keras's default kernel initializer).
    GlorotUniform,
    /// Truncated normal, stddev `sqrt(2 / (fan_in + fan_out)) / 0.8796...`.
    GlorotNormal,
    /// Uniform in `±sqrt(6 / fan_in)`.
    HeUniform,
    /// Truncated normal, stddev `sqrt(2 / fan_in) / 0.8796...`.
    HeNormal,
    /// Uniform in `±sqrt(3 / fan_in)`.
    LecunUniform,
    /// All zeros (Keras's default bias initializer).
    Zeros,
    /// All ones.
    Ones,
    /// Truncated normal, stddev `sqrt(1 / fan_in) / 0.8796...` (for SELU networks).
    LecunNormal,
    /// Every value `value`.
    Constant {
        /// The value.
        value: f32,
    },
    /// Uniform in `[minval, maxval)` (Keras's defaults: ±0.05).
    RandomUniform {
        /// Lower bound.
        minval: f32,
        /// Upper bound.
        maxval: f32,
    },
    /// Normal (Keras's defaults: mean 0, stddev 0.05).
    RandomNormal {
        /// Mean.
        mean: f32,
        /// Standard deviation.
        stddev: f32,
    },
    /// Normal, values further than two standard deviations from the mean redrawn.
    TruncatedNormal {
        /// Mean.
        mean: f32,
        /// Standard deviation before truncation.
        stddev: f32,
    },
    /// `keras.initializers.VarianceScaling` (Glorot, He and LeCun are it with fixed
    /// settings; a file naming VarianceScaling keeps that name).
    VarianceScaling {
        /// Factor of the variance.
        scale: f32,
        /// Which fan divides it.
        mode: FanMode,
        /// Which distribution is drawn from.
        distribution: VarianceDistribution,
    },
    /// A random orthogonal matrix times `gain` (rows orthonormal if there are fewer rows
    /// than columns, else columns), as Keras's QR of a normal matrix gives.
    Orthogonal {
        /// Factor.
        gain: f32,
    },
    /// `gain` times the identity matrix (ones on the diagonal of a non-square one).
    Identity {
        /// Factor.
        gain: f32,
    },
}

/// `VarianceScaling`'s `mode`: what the variance is divided by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FanMode {
    /// The number of inputs.
    FanIn,
    /// The number of outputs.
    FanOut,
    /// Their mean.
    FanAvg,
}

/// `VarianceScaling`'s `distribution`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum VarianceDistribution {
    /// Normal truncated at two standard deviations, its stddev corrected for the truncation.
    TruncatedNormal,
    /// Normal (`"untruncated_normal"`; tf_keras also reads `"normal"`).
    UntruncatedNormal,
    /// Uniform in `±sqrt(3 · variance)`.
    Uniform,
}

impl FanMode {
    /// Keras's name (`"fan_in"`).
    pub fn keras_name(self) -> &'static str {
        match self {
            FanMode::FanIn => "fan_in",
            FanMode::FanOut => "fan_out",
            FanMode::FanAvg => "fan_avg",
        }
    }

    /// Parses Keras's name.
    pub fn from_keras_name(name: &str) -> Option<FanMode> {
        [FanMode::FanIn, FanMode::FanOut, FanMode::FanAvg]
            .into_iter()
            .find(|m| m.keras_name() == name)
    }
}

impl VarianceDistribution {
    /// Keras's name (`"truncated_normal"`).
    pub fn keras_name(self) -> &'static str {
        match self {
            VarianceDistribution::TruncatedNormal => "truncated_normal",
            VarianceDistribution::UntruncatedNormal => "untruncated_normal",
            VarianceDistribution::Uniform => "uniform",
        }
    }

    /// Parses Keras's name (and tf_keras's `"normal"` for the untruncated one).
    pub fn from_keras_name(name: &str) -> Option<VarianceDistribution> {
        match name {
            "normal" => Some(VarianceDistribution::UntruncatedNormal),
            _ => [
                VarianceDistribution::TruncatedNormal,
                VarianceDistribution::UntruncatedNormal,
                VarianceDistribution::Uniform,
            ]
            .into_iter()
            .find(|d| d.keras_name() == name),
        }
    }
}

/// Stddev correction of a normal truncated at two standard deviations (Keras's constant).
const TRUNCATION_STDDEV: f32 = 0.879_625_7;

impl Initializer {
    /// The initializers without settings, in a fixed order.
    pub const NAMED: [Initializer; 8] = [
        Initializer::GlorotUniform,
        Initializer::GlorotNormal,
        Initializer::HeUniform,
        Initializer::HeNormal,
        Initializer::LecunUniform,
        Initializer::LecunNormal,
        Initializer::Zeros,
        Initializer::Ones,
    ];

    /// Keras's class name (`"GlorotUniform"`).
    pub fn keras_class(self) -> &'static str {
        match self {
            Initializer::GlorotUniform => "GlorotUniform",
            Initializer::GlorotNormal => "GlorotNormal",
            Initializer::HeUniform => "HeUniform",
            Initializer::HeNormal => "HeNormal",
            Initializer::LecunUniform => "LecunUniform",
            Initializer::LecunNormal => "LecunNormal",
            Initializer::Zeros => "Zeros",
            Initializer::Ones => "Ones",
            Initializer::Constant { .. } => "Constant",
            Initializer::RandomUniform { .. } => "RandomUniform",
            Initializer::RandomNormal { .. } => "RandomNormal",
            Initializer::TruncatedNormal { .. } => "TruncatedNormal",
            Initializer::VarianceScaling { .. } => "VarianceScaling",
            Initializer::Orthogonal { .. } => "Orthogonal",
            Initializer::Identity { .. } => "Identity",
        }
    }

    /// Keras's short name (`"glorot_uniform"`) of an initializer without settings.
    pub fn keras_name(self) -> Option<&'static str> {
        Some(match self {
            Initializer::GlorotUniform => "glorot_uniform",
            Initializer::GlorotNormal => "glorot_normal",
            Initializer::HeUniform => "he_uniform",
            Initializer::HeNormal => "he_normal",
            Initializer::LecunUniform => "lecun_uniform",
            Initializer::LecunNormal => "lecun_normal",
            Initializer::Zeros => "zeros",
            Initializer::Ones => "ones",
            _ => return None,
        })
    }

    /// Parses the short name or class name of an initializer without settings, or of one
    /// with settings at Keras's defaults (`"random_normal"`, `"Orthogonal"`, ...).
    pub fn from_keras_name(name: &str) -> Option<Initializer> {
        if let Some(named) = Initializer::NAMED
            .iter()
            .copied()
            .find(|i| i.keras_name() == Some(name) || i.keras_class() == name)
        {
            return Some(named);
        }
        Some(match name {
            "constant" | "Constant" => Initializer::Constant { value: 0.0 },
            "random_uniform" | "RandomUniform" | "uniform" => Initializer::RandomUniform {
                minval: -0.05,
                maxval: 0.05,
            },
            "random_normal" | "RandomNormal" | "normal" => Initializer::RandomNormal {
                mean: 0.0,
                stddev: 0.05,
            },
            "truncated_normal" | "TruncatedNormal" => Initializer::TruncatedNormal {
                mean: 0.0,
                stddev: 0.05,
            },
            "variance_scaling" | "VarianceScaling" => Initializer::VarianceScaling {
                scale: 1.0,
                mode: FanMode::FanIn,
                distribution: VarianceDistribution::TruncatedNormal,
            },
            "orthogonal" | "Orthogonal" => Initializer::Orthogonal { gain: 1.0 },
            "identity" | "Identity" | "IdentityInitializer" => Initializer::Identity { gain: 1.0 },
            _ => return None,
        })
    }

    /// Fills `out` (a `fan_in × fan_out` kernel, row-major, or a bias with
    /// `fan_in = fan_out = len`).
    ///
    /// ```
    /// use microdense_core::{Initializer, Rng};
    /// let mut kernel = [0.0f32; 6];
    /// Initializer::Identity { gain: 2.0 }.fill(&mut kernel, 2, 3, &mut Rng::new(1));
    /// assert_eq!(kernel, [2.0, 0.0, 0.0, 0.0, 2.0, 0.0]);
    /// ```
    pub fn fill(self, out: &mut [f32], fan_in: usize, fan_out: usize, rng: &mut Rng) {
        let (rows, cols) = (fan_in.max(1), fan_out.max(1));
        let (fan_in, fan_out) = (rows as f32, cols as f32);
        match self {
            Initializer::Zeros => out.fill(0.0),
            Initializer::Ones => out.fill(1.0),
            Initializer::Constant { value } => out.fill(value),
            Initializer::GlorotUniform => symmetric_uniform(out, math::sqrt(6.0 / (fan_in + fan_out)), rng),
            Initializer::HeUniform => symmetric_uniform(out, math::sqrt(6.0 / fan_in), rng),
            Initializer::LecunUniform => symmetric_uniform(out, math::sqrt(3.0 / fan_in), rng),
            Initializer::GlorotNormal => truncated_normal(
                out,
                0.0,
                math::sqrt(2.0 / (fan_in + fan_out)) / TRUNCATION_STDDEV,
                rng,
            ),
            Initializer::HeNormal => {
                truncated_normal(out, 0.0, math::sqrt(2.0 / fan_in) / TRUNCATION_STDDEV, rng)
            }
            Initializer::LecunNormal => {
                truncated_normal(out, 0.0, math::sqrt(1.0 / fan_in) / TRUNCATION_STDDEV, rng)
            }
            Initializer::VarianceScaling {
                scale,
                mode,
                distribution,
            } => {
                let n = match mode {
                    FanMode::FanIn => fan_in,
                    FanMode::FanOut => fan_out,
                    FanMode::FanAvg => (fan_in + fan_out) / 2.0,
                };
                let variance = scale / n;
                match distribution {
                    VarianceDistribution::TruncatedNormal => {
                        truncated_normal(out, 0.0, math::sqrt(variance) / TRUNCATION_STDDEV, rng)
                    }
                    VarianceDistribution::UntruncatedNormal => normal(out, 0.0, math::sqrt(variance), rng),
                    VarianceDistribution::Uniform => symmetric_uniform(out, math::sqrt(3.0 * variance), rng),
                }
            }
            Initializer::RandomUniform { minval, maxval } => uniform(out, minval, maxval, rng),
            Initializer::RandomNormal { mean, stddev } => normal(out, mean, stddev, rng),
            Initializer::TruncatedNormal { mean, stddev } => truncated_normal(out, mean, stddev, rng),
            Initializer::Orthogonal { gain } => orthogonal(out, rows, cols, gain, rng),
            Initializer::Identity { gain } => {
                for (i, v) in out.iter_mut().enumerate() {
                    *v = if i / cols == i % cols { gain } else { 0.0 };
                }
            }
        }
    }
}

/// Uniform in `±limit`.
fn symmetric_uniform(out: &mut [f32], limit: f32, rng: &mut Rng) {
    for v in out {
        *v = (rng.next_f32() * 2.0 - 1.0) * limit;
    }
}

fn uniform(out: &mut [f32], low: f32, high: f32, rng: &mut Rng) {
    for v in out {
        *v = low + rng.next_f32() * (high - low);
    }
}

fn normal(out: &mut [f32], mean: f32, stddev: f32, rng: &mut Rng) {
    for v in out {
        *v = mean + rng.next_normal() * stddev;
    }
}

/// Normal values redrawn until within two standard deviations, as Keras's truncated normal.
fn truncated_normal(out: &mut [f32], mean: f32, stddev: f32, rng: &mut Rng) {
    for v in out {
        let mut z = rng.next_normal();
        while !(-2.0..=2.0).contains(&z) {
            z = rng.next_normal();
        }
        *v = mean + z * stddev;
    }
}

/// A `rows × cols` row-major matrix of normal values made orthogonal in place by modified
/// Gram–Schmidt — the `Q` of a QR decomposition with a positive diagonal `R`, which is what
/// Keras's `q · sign(diag(r))` gives — over its columns when `rows ≥ cols`, else over its
/// rows; then times `gain`. No memory beyond `out`.
fn orthogonal(out: &mut [f32], rows: usize, cols: usize, gain: f32, rng: &mut Rng) {
    normal(out, 0.0, 1.0, rng);
    // Vector k of the side being orthonormalised has element i at `at(k, i)`.
    let (count, len) = if rows >= cols { (cols, rows) } else { (rows, cols) };
    let at = |k: usize, i: usize| if rows >= cols { i * cols + k } else { k * cols + i };
    for k in 0..count {
        for j in 0..k {
            let dot: f32 = (0..len).map(|i| out[at(k, i)] * out[at(j, i)]).sum();
            for i in 0..len {
                out[at(k, i)] -= dot * out[at(j, i)];
            }
        }
        let norm = math::sqrt((0..len).map(|i| out[at(k, i)] * out[at(k, i)]).sum());
        // A zero vector (probability 0 for normal draws) stays zero.
        let scale = if norm > 0.0 { 1.0 / norm } else { 0.0 };
        for i in 0..len {
            out[at(k, i)] *= scale;
        }
    }
    for v in out {
        *v *= gain;
    }
}
