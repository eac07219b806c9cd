//! Weight initializers with Keras's definitions.

use crate::{math, Rng};
use serde::{Deserialize, Serialize};

/// How a weight tensor is filled before training (`keras.initializers`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
}

/// Stddev correction of a normal truncated at two standard deviations (Keras's constant).
const TRUNCATION_STDDEV: f32 = 0.879_625_7;

impl Initializer {
    /// Every initializer, in a fixed order.
    pub const ALL: [Initializer; 7] = [
        Initializer::GlorotUniform,
        Initializer::GlorotNormal,
        Initializer::HeUniform,
        Initializer::HeNormal,
        Initializer::LecunUniform,
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
            Initializer::Zeros => "Zeros",
            Initializer::Ones => "Ones",
        }
    }

    /// Keras's short name (`"glorot_uniform"`).
    pub fn keras_name(self) -> &'static str {
        match self {
            Initializer::GlorotUniform => "glorot_uniform",
            Initializer::GlorotNormal => "glorot_normal",
            Initializer::HeUniform => "he_uniform",
            Initializer::HeNormal => "he_normal",
            Initializer::LecunUniform => "lecun_uniform",
            Initializer::Zeros => "zeros",
            Initializer::Ones => "ones",
        }
    }

    /// Parses a short name or class name.
    pub fn from_keras_name(name: &str) -> Option<Initializer> {
        Initializer::ALL
            .iter()
            .copied()
            .find(|i| i.keras_name() == name || i.keras_class() == name)
    }

    /// Fills `out` (a `fan_in × fan_out` kernel, or a bias with `fan_in = fan_out = len`).
    pub fn fill(self, out: &mut [f32], fan_in: usize, fan_out: usize, rng: &mut Rng) {
        let (fan_in, fan_out) = (fan_in.max(1) as f32, fan_out.max(1) as f32);
        match self {
            Initializer::Zeros => out.fill(0.0),
            Initializer::Ones => out.fill(1.0),
            Initializer::GlorotUniform => uniform(out, math::sqrt(6.0 / (fan_in + fan_out)), rng),
            Initializer::HeUniform => uniform(out, math::sqrt(6.0 / fan_in), rng),
            Initializer::LecunUniform => uniform(out, math::sqrt(3.0 / fan_in), rng),
            Initializer::GlorotNormal => {
                truncated_normal(out, math::sqrt(2.0 / (fan_in + fan_out)) / TRUNCATION_STDDEV, rng)
            }
            Initializer::HeNormal => truncated_normal(out, math::sqrt(2.0 / fan_in) / TRUNCATION_STDDEV, rng),
        }
    }
}

fn uniform(out: &mut [f32], limit: f32, rng: &mut Rng) {
    for v in out {
        *v = (rng.next_f32() * 2.0 - 1.0) * limit;
    }
}

/// Normal values redrawn until within two standard deviations, as Keras's truncated normal.
fn truncated_normal(out: &mut [f32], stddev: f32, rng: &mut Rng) {
    for v in out {
        let mut z = rng.next_normal();
        while !(-2.0..=2.0).contains(&z) {
            z = rng.next_normal();
        }
        *v = z * stddev;
    }
}
